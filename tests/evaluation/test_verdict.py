"""The decision logic: paired comparison with the best baseline, the verdict, slices, side-by-side filters."""

from __future__ import annotations

import pytest

from studio.evaluation.dashboard import side_by_side
from studio.evaluation.significance import examples_needed
from studio.evaluation.slices import length_bucket, slice_dimensions, slice_scores, weakest_slices
from studio.evaluation.verdict import RunFacts, compare_with_best_baseline, decide


def predictions(tuned: list[float], baseline: list[float], other: list[float] | None = None, tags=None) -> list[dict]:
    rows = []
    for model, scores in (
        ("tuned", tuned),
        ("baseline-3shot", baseline),
        ("baseline-0shot", other or [0.0] * len(tuned)),
    ):
        for i, score in enumerate(scores):
            rows.append(
                {
                    "model": model,
                    "example_id": i,
                    "external_id": f"E-{i}",
                    "expected": "a",
                    "output": "a" if score else "b",
                    "scores": {"exact_match": score},
                    "tags": [tags[i]] if tags else ["x"],
                    "input": "word " * (5 + i),
                }
            )
    return rows


def test_the_best_baseline_is_the_one_compared():
    rows = predictions([1.0] * 10, [1.0] * 5 + [0.0] * 5, [0.0] * 10)
    comparison = compare_with_best_baseline(rows, "exact_match")
    assert comparison["baseline"] == "baseline-3shot"
    assert comparison["difference"] == 0.5 and comparison["n"] == 10
    assert comparison["mcnemar"]["a_only"] == 5 and comparison["mcnemar"]["b_only"] == 0


def test_a_clear_win_by_more_than_the_margin_ships():
    rows = predictions([1.0] * 90 + [0.0] * 10, [1.0] * 50 + [0.0] * 50)
    verdict = decide(compare_with_best_baseline(rows, "exact_match"), 0.05, [], 0, 300)
    assert verdict.decision == "ship" and verdict.headline.startswith("Ship it")


def test_a_tie_is_not_proven_and_names_a_way_out():
    rows = predictions([1.0, 0.0] * 10, [0.0, 1.0] * 10, tags=["billing", "shipping"] * 10)
    comparison = compare_with_best_baseline(rows, "exact_match")
    weak = weakest_slices(slice_scores(rows, "exact_match"), "tuned")
    verdict = decide(comparison, 0.05, weak, open_contradictions=3, trained=120, facts=RunFacts("r-7", 300.0))
    assert verdict.decision == "not yet" and "Not proven" in verdict.headline
    steps = " ".join(verdict.next_steps)
    assert "shipping (0.00 on 10)" in steps and "3 open contradiction" in steps
    assert "The run trained on 120 examples: more careful ones" in steps and "approved" not in steps
    # The tie is 5 points from the margin: Connor's n for a 0.05 distance at full disagreement (s = 1).
    needed = examples_needed(0.05, 1.0, 0.0)
    assert (
        verdict.next_steps[0]
        == f"Add about {needed - 20} test examples ({needed} held out in all) to decide at 80% power."
    )
    assert "`studio eval r-7 --folds 5` trains 5 adapters and judges all 140 examples" in steps
    assert "(about 25 minutes here)" in steps  # five times the run's own 300 s
    assert verdict.resolution.startswith("20 held-out examples resolve a difference of about")
    assert "disagree on 100% of the 20 answers" in verdict.resolution


def test_a_gain_whose_whole_interval_is_under_the_margin_is_a_decisive_no():
    # 1,000 examples, the tuned model right on 12 more than the baseline and wrong on 2 it got: +1 point.
    tuned = [1.0] * 500 + [1.0] * 12 + [0.0] * 2 + [0.0] * 486
    baseline = [1.0] * 500 + [0.0] * 12 + [1.0] * 2 + [0.0] * 486
    comparison = compare_with_best_baseline(predictions(tuned, baseline), "exact_match")
    assert 0 < comparison["low"] and comparison["high"] < 0.05
    verdict = decide(comparison, 0.05, [], 0, 600)
    assert verdict.decision == "do not ship"
    assert "too small to be worth it" in verdict.headline and "1.0 points of exact match above" in verdict.headline
    assert not any("test examples" in step for step in verdict.next_steps)


def test_a_loss_reads_as_points_below_the_baseline_in_words():
    rows = predictions([0.0] * 7 + [1.0] * 23, [1.0] * 30)
    verdict = decide(compare_with_best_baseline(rows, "exact_match"), 0.05, [], 0, 209)
    assert verdict.decision == "do not ship"
    assert (
        "23.3 points of exact match below the base model with 3 retrieved examples (95% interval -" in verdict.headline
    )
    assert "over baseline" not in verdict.headline and "-23.3" not in verdict.headline.split("(")[0]


def test_a_perfect_baseline_does_not_collapse_the_paired_interval():
    rows = predictions([1.0] * 30, [1.0] * 30)
    comparison = compare_with_best_baseline(rows, "exact_match")
    assert comparison["low"] < 0 < comparison["high"] and comparison["method"] == "newcombe"
    assert comparison["disagreement"] == 0.0


def test_json_answers_pool_every_field_as_a_paired_judgement():
    """Three fields an answer: whole-answer exact match sees 2 wins in 40; the fields see 40 wins in 120."""
    import json

    want = {"category": "billing", "priority": "low", "needs_human": False}
    rows = []
    for i in range(40):
        tuned = dict(want) if i < 20 else {**want, "priority": "high"}
        base = dict(want, priority="high") if i < 20 else {**want, "priority": "high"}
        if i < 2:
            base = {**want, "priority": "high", "category": "other"}
        for model, answer in (("tuned", tuned), ("baseline-3shot", base)):
            got = sum(answer[k] == v for k, v in want.items()) / 3
            rows.append(
                {
                    "model": model,
                    "example_id": i,
                    "expected": json.dumps(want),
                    "output": json.dumps(answer),
                    "scores": {"field_accuracy": got, "exact_match": float(answer == want)},
                }
            )
    fields = compare_with_best_baseline(rows, "field_accuracy")
    assert fields["judgements"] == 120 and fields["n"] == 40
    assert fields["difference"] == pytest.approx(22 / 120)  # 20 priorities and 2 categories the baseline missed
    assert fields["disagreement"] == pytest.approx(22 / 120)
    assert 0 < fields["low"] < fields["difference"] < fields["high"]
    whole = compare_with_best_baseline(rows, "exact_match")
    assert fields["high"] - fields["low"] < whole["high"] - whole["low"]
    assert decide(fields, 0.05, [], 0, 300).decision == "ship"


def test_a_small_sure_win_below_the_margin_is_not_yet():
    rows = predictions([1.0] * 103 + [0.0] * 97, [1.0] * 97 + [0.0] * 103)
    rows = [r for r in rows if r["model"] != "baseline-0shot"]
    for r in rows:  # make the pairs concordant except for six examples the tuned model wins
        if r["model"] == "baseline-3shot":
            r["scores"]["exact_match"] = 1.0 if r["example_id"] < 97 else 0.0
    verdict = decide(compare_with_best_baseline(rows, "exact_match"), 0.05, [], 0, 600)
    assert verdict.decision == "not yet" and "margin" in verdict.headline


def test_a_losing_fine_tune_is_not_shipped():
    rows = predictions([0.0] * 40, [1.0] * 40)
    assert decide(compare_with_best_baseline(rows, "exact_match"), 0.05, [], 0, 600).decision == "do not ship"


def test_slices_cover_tags_and_length_buckets():
    rows = slice_scores(predictions([1.0, 0.0, 1.0], [0.0, 0.0, 1.0], tags=["a", "b", "a"]), "exact_match")
    tuned = {(r["dimension"], r["slice"]): (r["score"], r["n"]) for r in rows if r["model"] == "tuned"}
    assert tuned[("tag", "a")] == (1.0, 2) and tuned[("tag", "b")] == (0.0, 1)
    assert sum(n for (dimension, _), (_, n) in tuned.items() if dimension == "input length") == 3
    assert length_bucket("one two") == "short (up to 15 words)" and length_bucket("w " * 50).startswith("long")


def test_side_by_side_filters():
    rows = predictions([1.0, 0.0, 0.0, 1.0], [0.0, 1.0, 0.0, 1.0])
    comparison = compare_with_best_baseline(rows, "exact_match")

    def ids(show):
        return [r["example"] for r in side_by_side(rows, "exact_match", comparison, show)]

    assert ids("all") == ["E-0", "E-1", "E-2", "E-3"]
    assert ids("tuned wins") == ["E-0"] and ids("tuned loses") == ["E-1"] and ids("all wrong") == ["E-2"]


def test_the_difference_from_the_expected_answer_names_json_fields():
    from studio.evaluation.dashboard import difference

    expected = '{"category": "billing", "priority": "low", "needs_human": false}'
    assert difference(expected, expected) == ""
    assert (
        difference(expected, '{"category": "billing", "priority": "high", "needs_human": 0}') == "needs_human, priority"
    )
    assert difference(expected, "I think this is billing") == "not JSON"
    assert difference("pos", "neg") == "different"


def test_slices_hold_every_metric():
    rows = slice_scores(predictions([1.0, 0.0], [0.0, 0.0]), "exact_match")
    assert all("exact_match" in row and row["score"] == row["exact_match"] for row in rows)


def test_untagged_examples_are_sliced_by_their_expected_label_and_the_advice_names_the_weak_label():
    """Imported data often carries no tags: the weakest slices are then the labels the tuned model misses."""
    from studio.project.formats import OutputSpec

    rows = predictions([1.0, 1.0, 0.0, 0.0, 1.0, 1.0], [1.0] * 6)
    for row in rows:
        row["tags"], row["expected"] = (
            [],
            ["refund", "refund", "transfer", "transfer", "balance", "balance"][row["example_id"]],
        )
    slices = slice_scores(rows, "exact_match", spec=OutputSpec(kind="labels", labels=("refund", "transfer", "balance")))
    assert slice_dimensions(slices) == ["expected answer", "input length"]  # no lone "(untagged)" bar
    weak = weakest_slices(slices, "tuned")
    assert [(row["slice"], row["score"], row["n"]) for row in weak] == [("transfer", 0.0, 2)]  # not the perfect ones
    verdict = decide(compare_with_best_baseline(rows, "exact_match"), 0.05, weak, 0, 120)
    assert "weakest: transfer (0.00 on 2)" in " ".join(verdict.next_steps)
    tagged = slice_scores(predictions([1.0, 0.0], [1.0, 1.0], tags=["billing", "shipping"]), "exact_match")
    assert slice_dimensions(tagged) == ["tag", "input length"]  # no spec given: no expected-answer slices
    assert {row["dimension"] for row in weakest_slices(tagged, "tuned")} == {"tag"}


def test_a_verdict_without_instructions_says_the_baselines_had_none():
    rows = predictions([1.0] * 90 + [0.0] * 10, [1.0] * 50 + [0.0] * 50)
    comparison = compare_with_best_baseline(rows, "exact_match")
    told = decide(comparison, 0.05, [], 0, 300)
    untold = decide(comparison, 0.05, [], 0, 300, instructed=False)
    assert told.caveat == "" and untold.decision == told.decision == "ship"
    assert "no instructions" in untold.caveat and untold.next_steps[0] == untold.caveat


def test_the_dashboard_knows_whether_the_baselines_were_instructed(tmp_path):
    from studio.evaluation.dashboard import baselines_instructed
    from studio.jsonl import write_jsonl

    run = {"config": {"system_prompt": ""}, "run_dir": str(tmp_path)}
    write_jsonl(
        tmp_path / "eval.jsonl",
        [{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}],
    )
    assert not baselines_instructed(run)
    write_jsonl(
        tmp_path / "eval.jsonl",
        [
            {
                "messages": [
                    {"role": "system", "content": "Label it."},
                    {"role": "user", "content": "q"},
                    {"role": "assistant", "content": "a"},
                ]
            }
        ],
    )
    assert baselines_instructed(run)
    assert baselines_instructed({"config": {"system_prompt": "Label it."}, "run_dir": str(tmp_path / "none")})


def _run(max_steps: int = 0, n_train: int = 200) -> dict:
    from dataclasses import asdict

    from studio.training.trainer import TrainConfig

    return {"n_train": n_train, "config": {"train": asdict(TrainConfig(max_steps=max_steps))}}


def _planned_steps(n_train: int = 200) -> int:
    """The steps the default config's epochs take on n_train examples (it follows the default batch size)."""
    from studio.training.trainer import TrainConfig, total_steps

    return total_steps(n_train, TrainConfig())


def _json_spec():
    from studio.project.formats import parse_output_spec

    return parse_output_spec({"kind": "json", "schema": {"type": "object", "required": ["category"]}})


def _answered(rows: list[dict], tuned_outputs: list[str]) -> list[dict]:
    tuned = iter(tuned_outputs)
    return [{**r, "output": next(tuned)} if r["model"] == "tuned" else r for r in rows]


def test_a_tuned_model_with_no_valid_answer_is_said_first_and_never_sent_to_add_examples():
    from studio.evaluation.verdict import run_health

    rows = _answered(predictions([0.0] * 30, [1.0] * 15 + [0.0] * 15, tags=["billing"] * 30), ["I think billing"] * 30)
    weak = weakest_slices(slice_scores(rows, "exact_match"), "tuned")
    health = run_health(rows, _json_spec(), _run(max_steps=3))
    verdict = decide(compare_with_best_baseline(rows, "exact_match"), 0.05, weak, 0, 120, health)
    assert verdict.decision == "do not ship"
    assert (
        verdict.headline
        == "Do not ship: none of the tuned model's 30 answers fits the json format (30 are not valid JSON)."
    )
    assert (
        "cut short: it trained 3 steps" in verdict.warnings[0]
        and f"of the {_planned_steps()} its epochs take" in verdict.warnings[0]
    )
    advice = " ".join(verdict.next_steps)
    assert f"Train the full {_planned_steps()} steps" in advice
    assert "Add examples" not in advice and "approved examples" not in advice and "more examples" not in advice


def test_some_broken_answers_are_counted_before_the_scores():
    from studio.evaluation.verdict import run_health

    outputs = ['{"category": "billing"}'] * 20 + ["billing"] * 3 + ['{"priority": "low"}'] * 2
    rows = _answered(predictions([1.0] * 20 + [0.0] * 5, [1.0] * 10 + [0.0] * 15), outputs)
    health = run_health(rows, _json_spec(), _run())
    verdict = decide(compare_with_best_baseline(rows, "exact_match"), 0.05, [], 0, 600, health)
    assert verdict.warnings[0].startswith(
        "20 of the tuned model's 25 answers fit the project's json format: 5 break it (3 not valid JSON)"
    )
    assert not health.cut_short and not any("cut short" in w for w in verdict.warnings)


def test_a_failed_template_round_trip_is_a_warning_in_words_without_none():
    from studio.evaluation.verdict import run_health

    rows = predictions([1.0] * 90 + [0.0] * 10, [1.0] * 50 + [0.0] * 50)
    trip = {"checked": 3, "matches": 1, "mismatches": [], "template_ok": False, "merged_dir": None}
    verdict = decide(
        compare_with_best_baseline(rows, "exact_match"), 0.05, [], 0, 600, run_health(rows, _json_spec(), _run(), trip)
    )
    said = " ".join(verdict.warnings)
    assert "Template round trip failed" in said and "end-of-sequence token" in said
    assert "2 of 3 checked examples differently" in said and "None" not in said


def test_slices_by_input_cluster_when_the_clusters_are_known():
    rows = predictions([1.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 0.0])
    clusters = {0: "refund · charge", 1: "refund · charge", 2: "password · reset", 3: "password · reset"}
    tuned = {
        r["slice"]: (r["score"], r["n"])
        for r in slice_scores(rows, "exact_match", clusters)
        if r["model"] == "tuned" and r["dimension"] == "input cluster"
    }
    assert tuned == {"refund · charge": (0.5, 2), "password · reset": (1.0, 2)}
