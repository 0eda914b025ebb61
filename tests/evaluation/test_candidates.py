"""The verdict's tuned candidate: of "tuned" and "tuned + k retrieved", the better one is judged, and named."""

from __future__ import annotations

from studio.evaluation.candidates import as_candidate, is_tuned, name_candidate, ship_candidate
from studio.evaluation.verdict import Verdict, compare_with_best_baseline

RETRIEVED = "tuned + 3 retrieved"


def _predictions(scores: dict[str, list[float]]) -> list[dict]:
    return [
        {"model": model, "example_id": i, "scores": {"exact_match": value}}
        for model, values in scores.items()
        for i, value in enumerate(values)
    ]


def test_the_better_tuned_candidate_is_judged_against_the_baselines_never_as_one():
    predictions = _predictions(
        {"tuned": [1, 0, 0, 0], RETRIEVED: [1, 1, 1, 0], "baseline-3shot": [1, 1, 0, 0], "baseline-0shot": [0] * 4}
    )
    assert ship_candidate(predictions, "exact_match") == RETRIEVED
    judged = as_candidate(predictions, RETRIEVED)
    assert sorted({p["model"] for p in judged}) == ["baseline-0shot", "baseline-3shot", "tuned"]
    assert [p["scores"]["exact_match"] for p in judged if p["model"] == "tuned"] == [1, 1, 1, 0]
    comparison = compare_with_best_baseline(judged, "exact_match")
    assert comparison["baseline"] == "baseline-3shot" and comparison["difference"] == 0.25
    # without the choice, the plain tuned model (0.25) would be held against the retrieval candidate as a "baseline"
    assert compare_with_best_baseline(predictions, "exact_match")["baseline"] == RETRIEVED


def test_plain_tuned_wins_when_it_scores_better_and_a_tie_goes_to_the_served_candidate():
    better = _predictions({"tuned": [1, 1], RETRIEVED: [1, 0], "baseline-0shot": [0, 0]})
    assert ship_candidate(better, "exact_match") == "tuned"
    assert {p["model"] for p in as_candidate(better, "tuned")} == {"tuned", "baseline-0shot"}
    tie = _predictions({"tuned": [1, 0], RETRIEVED: [0, 1]})
    assert ship_candidate(tie, "exact_match") == RETRIEVED
    assert ship_candidate(_predictions({"baseline-0shot": [1]}), "exact_match") == "tuned"


def test_the_headline_names_the_candidate_only_when_there_was_a_choice():
    verdict = Verdict("ship", "Ship it: the fine-tune wins.")
    assert name_candidate(verdict, "tuned", 1) == verdict
    named = name_candidate(verdict, RETRIEVED, 2)
    assert named.headline.startswith("Ship it") and f"Candidate: {RETRIEVED}" in named.headline
    assert "train again with 0 retrieved examples" in name_candidate(verdict, "tuned", 2).headline
    assert is_tuned(RETRIEVED) and is_tuned("tuned") and not is_tuned("baseline-3shot")
