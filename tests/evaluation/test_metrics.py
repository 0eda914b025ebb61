"""Scoring answers per output format, averaging the scores, and the whole-set metrics."""

from __future__ import annotations

import pytest

from studio.evaluation.metrics import METRIC_HELP, aggregate_metrics, primary_metric, score_answer, summarise_scores
from studio.project.formats import parse_output_spec

LABELS = parse_output_spec({"kind": "labels", "labels": ["pos", "neg"]})
THREE_LABELS = parse_output_spec({"kind": "labels", "labels": ["pos", "neg", "neutral"]})
JSON = parse_output_spec({"kind": "json", "schema": {"type": "object"}})
TEXT = parse_output_spec({"kind": "text"})
EXPECTED = '{"category": "billing", "priority": "low", "needs_human": false}'


def test_labels_score_exact_match_ignoring_surrounding_whitespace():
    assert score_answer(LABELS, "pos", " pos\n") == {"exact_match": 1.0}
    assert score_answer(LABELS, "pos", "neg") == {"exact_match": 0.0}


def test_json_with_two_of_three_fields_right_gets_two_thirds():
    scores = score_answer(JSON, EXPECTED, '{"category": "billing", "priority": "high", "needs_human": false}')
    assert scores["json_valid"] == 1.0
    assert scores["field_accuracy"] == pytest.approx(2 / 3)
    assert scores["exact_match"] == 0.0


def test_json_with_every_field_right_in_another_order_is_an_exact_match():
    scores = score_answer(JSON, EXPECTED, '{"needs_human": false,  "priority": "low", "category": "billing"}')
    assert scores == {"exact_match": 1.0, "json_valid": 1.0, "field_accuracy": 1.0}


def test_invalid_json_scores_zero():
    scores = score_answer(JSON, EXPECTED, '{"category": "billing", "priority": ')
    assert scores == {"exact_match": 0.0, "json_valid": 0.0, "field_accuracy": 0.0}


def test_text_identical_answer_has_chrf_one():
    assert score_answer(TEXT, "The backup finished at noon.", "The backup finished at noon.")["chrf"] == pytest.approx(
        1.0
    )


def test_text_chrf_ranks_partial_between_unrelated_and_identical():
    expected = "The nightly backup failed because the disk is full."
    partial = score_answer(TEXT, expected, "The nightly backup failed.")["chrf"]
    unrelated = score_answer(TEXT, expected, "Quarterly revenue grew in Norway.")["chrf"]
    assert unrelated < 0.2
    assert unrelated < partial < 1.0
    assert partial > 0.3


def test_summarise_averages_each_metric():
    per_example = [
        {"exact_match": 1.0, "json_valid": 1.0, "field_accuracy": 1.0},
        {"exact_match": 0.0, "json_valid": 1.0, "field_accuracy": 2 / 3},
        {"exact_match": 0.0, "json_valid": 0.0, "field_accuracy": 0.0},
    ]
    summary = summarise_scores(JSON, per_example)
    assert summary["exact_match"] == pytest.approx(1 / 3)
    assert summary["json_valid"] == pytest.approx(2 / 3)
    assert summary["field_accuracy"] == pytest.approx(5 / 9)


def test_summarise_of_nothing_gives_zero_for_the_primary_metric():
    assert summarise_scores(TEXT, []) == {"chrf": 0.0}
    assert primary_metric(LABELS) == "exact_match"


def test_text_identical_answer_has_rouge_l_one():
    scores = score_answer(TEXT, "The backup finished at noon.", "the backup finished at noon")
    assert scores["rouge_l"] == pytest.approx(1.0)


def test_text_rouge_l_of_a_partial_answer_follows_the_longest_common_word_sequence():
    expected = "The nightly backup failed because the disk is full."
    # 4 of the 9 expected words, in order, and nothing else: precision 1, recall 4/9, F 8/13.
    assert score_answer(TEXT, expected, "The nightly backup failed.")["rouge_l"] == pytest.approx(8 / 13)
    assert score_answer(TEXT, expected, "Quarterly revenue grew in Norway.")["rouge_l"] == 0.0


def test_rouge_l_keeps_words_outside_ascii():
    # rouge-score's default tokenizer keeps only [a-z0-9] and would score these 0 against themselves.
    cyrillic = score_answer(TEXT, "Резервное копирование завершено", "резервное копирование завершено")
    assert cyrillic["rouge_l"] == pytest.approx(1.0)
    # Only "für" is shared: 1 of 4 words either way.
    german = score_answer(TEXT, "Überweisung für März fällig", "Rechnung für Mai bezahlt")
    assert german["rouge_l"] == pytest.approx(0.25)


def test_every_metric_has_help():
    assert {"rouge_l", "chrf", "macro_f1", "confusion", "fields"} <= METRIC_HELP.keys()


def test_labels_macro_f1_and_confusion_matrix_by_hand():
    expected = ["pos", "pos", "neg", "neg", "pos"]
    outputs = ["pos", "neg", "neg", "maybe", " pos "]
    result = aggregate_metrics(THREE_LABELS, expected, outputs)
    # pos: tp 2, fn 1 -> P 1, R 2/3, F1 0.8.  neg: tp 1, fp 1, fn 1 -> F1 0.5.
    # (invalid): predicted once, never right -> F1 0.  neutral: never seen -> left out.
    assert result["macro_f1"] == pytest.approx((0.8 + 0.5 + 0.0) / 3)
    assert result["confusion"] == {
        "labels": ["pos", "neg", "neutral", "(invalid)"],
        "matrix": [[2, 1, 0, 0], [0, 1, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]],
    }


def test_labels_all_right_is_macro_f1_one_even_with_an_unseen_label():
    assert aggregate_metrics(THREE_LABELS, ["pos", "neg"], ["pos", "neg"])["macro_f1"] == 1.0


def test_many_different_invalid_answers_pool_into_one_class():
    one_kind = aggregate_metrics(LABELS, ["pos", "pos", "neg"], ["pos", "??", "??"])
    many_kinds = aggregate_metrics(LABELS, ["pos", "pos", "neg"], ["pos", "??", "!!"])
    assert one_kind == many_kinds
    assert one_kind["confusion"]["matrix"] == [[1, 0, 1], [0, 0, 1], [0, 0, 0]]


def test_json_per_field_precision_and_recall_by_hand():
    expected = [
        '{"category": "billing", "priority": "low"}',
        '{"category": "tech", "priority": "high"}',
        '{"category": "billing"}',
        '{"category": "tech", "priority": "low"}',
        '{"priority": "low"}',
    ]
    outputs = [
        '{"category": "billing", "priority": "high"}',  # priority wrong: fp and fn
        '{"category": "tech", "extra": 1}',  # priority missing: fn; extra is not an expected field
        '{"category": "billing", "priority": "low"}',  # priority not expected here: fp
        "not json at all",  # no fields: fn for both
        '{"priority": "low"}',  # tp
    ]
    fields = aggregate_metrics(JSON, expected, outputs)["fields"]
    assert set(fields) == {"category", "priority"}
    # category: tp 3, fp 0, fn 1.
    assert fields["category"] == pytest.approx({"precision": 1.0, "recall": 0.75, "f1": 6 / 7, "support": 4})
    # priority: tp 1, fp 2, fn 3 -> P 1/3, R 1/4, F1 2/7.
    assert fields["priority"] == pytest.approx({"precision": 1 / 3, "recall": 1 / 4, "f1": 2 / 7, "support": 4})


def test_text_and_regex_have_no_aggregate_metrics_and_lengths_must_match():
    assert aggregate_metrics(TEXT, ["a"], ["b"]) == {}
    with pytest.raises(ValueError, match="2 expected, 1 outputs"):
        aggregate_metrics(LABELS, ["pos", "neg"], ["pos"])


def test_json_booleans_are_not_numbers():
    spec = parse_output_spec({"kind": "json", "schema": {"type": "object"}})
    scores = score_answer(spec, '{"needs_human": false, "n": 1}', '{"needs_human": 0, "n": true}')
    assert scores["field_accuracy"] == 0.0 and scores["exact_match"] == 0.0


def test_field_judgements_are_one_per_expected_field():
    from studio.evaluation.metrics import field_judgements

    # sorted by name: category, needs_human, priority
    assert field_judgements(EXPECTED, '{"category": "billing", "priority": "high", "needs_human": false}') == [
        True,
        True,
        False,
    ]
    assert field_judgements(EXPECTED, "not json") == [False, False, False]
    assert field_judgements(EXPECTED, '["billing"]') == [False, False, False]
    assert field_judgements('"billing"', '"billing"') == [True]
    assert field_judgements("{}", "{}") == [True]
