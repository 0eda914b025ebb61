"""Scoring one model's answers against the expected ones, by output format.

Labels and regex answers get exact match; JSON answers get validity, exact match
and field accuracy; free text gets chrF (sacrebleu). Each spec has one primary
metric, the one the leaderboard ranks by.
"""

from __future__ import annotations

import json
from statistics import fmean

from studio.formats import OutputSpec

PRIMARY_METRIC = {"labels": "exact_match", "regex": "exact_match", "json": "field_accuracy", "text": "chrf"}
METRIC_HELP = {
    "exact_match": "share of answers identical to the expected one (after trimming whitespace)",
    "json_valid": "share of answers that parse as JSON",
    "field_accuracy": "share of expected JSON fields the answer gets exactly right",
    "chrf": "chrF character n-gram overlap with the expected answer, 0 to 100, scaled to 0 to 1",
}


def primary_metric(spec: OutputSpec) -> str:
    return PRIMARY_METRIC[spec.kind]


def score_answer(spec: OutputSpec, expected: str, output: str) -> dict[str, float]:
    """Score one answer; every value lies in [0, 1]."""
    scores = {"exact_match": float(output.strip() == expected.strip())}
    if spec.kind == "json":
        scores.update(_json_scores(expected, output))
    if spec.kind == "text":
        from sacrebleu.metrics import CHRF

        scores["chrf"] = CHRF().sentence_score(output.strip(), [expected.strip()]).score / 100.0
    return scores


def _json_scores(expected: str, output: str) -> dict[str, float]:
    want = json.loads(expected)
    try:
        got = json.loads(output)
    except json.JSONDecodeError:
        return {"json_valid": 0.0, "field_accuracy": 0.0, "exact_match": 0.0}
    if not isinstance(want, dict) or not isinstance(got, dict):
        return {"json_valid": 1.0, "field_accuracy": float(want == got), "exact_match": float(want == got)}
    right = sum(1 for key, value in want.items() if key in got and got[key] == value)
    return {
        "json_valid": 1.0,
        "field_accuracy": right / len(want) if want else float(not got),
        "exact_match": float(want == got),
    }


def summarise_scores(spec: OutputSpec, per_example: list[dict[str, float]]) -> dict[str, float]:
    """Average each metric over the examples (an empty list gives zeros)."""
    names = sorted({name for scores in per_example for name in scores} | {primary_metric(spec)})
    return {name: (fmean(s.get(name, 0.0) for s in per_example) if per_example else 0.0) for name in names}
