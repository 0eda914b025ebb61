"""Scoring answers per output format, and averaging the scores."""

from __future__ import annotations

import pytest

from studio.formats import parse_output_spec
from studio.metrics import primary_metric, score_answer, summarise_scores

LABELS = parse_output_spec({"kind": "labels", "labels": ["pos", "neg"]})
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
    assert score_answer(TEXT, "The backup finished at noon.", "The backup finished at noon.")["chrf"] == pytest.approx(1.0)


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
