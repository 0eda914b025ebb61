"""Which of a run's tuned candidates the verdict judges, and names.

A run trained with retrieved examples (TrainConfig.retrieved_examples k) answers the held-out
set twice: as "tuned" and as "tuned + k retrieved" (studio.evaluation.answering). The verdict
(studio.evaluation.verdict) compares one tuned model with the best baseline; these functions
pick the better candidate, let it stand as "tuned" there, and say in the headline which one it is.
Choosing between two candidates on the held-out set favours the winner slightly; with two it is small.
"""

from __future__ import annotations

from dataclasses import replace

from studio.evaluation.verdict import TUNED, Verdict


def is_tuned(model: str) -> bool:
    """A run's own candidate ("tuned", "tuned + 3 retrieved"), as opposed to a baseline shared by runs."""
    return model == TUNED or model.startswith(f"{TUNED} + ")


def ship_candidate(predictions: list[dict], metric: str) -> str:
    """The run's tuned candidate with the best mean `metric`; on a tie, the one with retrieval (the one served)."""
    scores: dict[str, list[float]] = {}
    for row in predictions:
        if is_tuned(row["model"]):
            scores.setdefault(row["model"], []).append(row["scores"].get(metric, 0.0))
    if not scores:
        return TUNED
    return max(sorted(scores, key=lambda name: name == TUNED), key=lambda name: sum(scores[name]) / len(scores[name]))


def as_candidate(predictions: list[dict], candidate: str) -> list[dict]:
    """The predictions with `candidate` standing as "tuned" and the run's other tuned candidates left out."""
    return [
        {**p, "model": TUNED} if p["model"] == candidate else p
        for p in predictions
        if not is_tuned(p["model"]) or p["model"] == candidate
    ]


def name_candidate(verdict: Verdict, candidate: str, candidates: int) -> Verdict:
    """The verdict saying which candidate it judged, when the run had more than one."""
    if candidates < 2:
        return verdict
    how = (
        "the tuned model with its retrieved examples in the prompt, as the export and `studio model serve` answer"
        if candidate != TUNED
        else "the tuned model without retrieved examples; the export and `studio model serve` answer with them, "
        "so train again with 0 retrieved examples to ship this one"
    )
    return replace(verdict, headline=f"{verdict.headline} Candidate: {candidate} ({how}).")
