"""Confidence routing: which answers go straight through, to human review, or to a full human workflow.

A team rarely trusts every answer of a tuned model equally. Each prediction carries a
confidence (for a label set, the chosen label's share of the probability over the labels; for
a JSON schema with enum or boolean fields, the joint probability of those fields' values;
otherwise the geometric mean of its token probabilities; see studio.models.generation); two
thresholds split predictions into three bands, and the held-out set shows how accurate
each band would have been. The coverage curve shows the whole trade-off at once: how
accurate the answers are if only the most confident share of them goes through.

Pure Python, so the app and the CLI can use it without loading torch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from studio.settings import setting

STRAIGHT_THROUGH = "straight through"
HUMAN_REVIEW = "human review"
FULL_HUMAN_WORKFLOW = "full human workflow"


@dataclass(frozen=True)
class RoutingConfig:
    """The two confidence thresholds that split predictions into three bands."""

    high: float = setting("answers at or above this confidence go straight through", 0.9)
    low: float = setting("answers below this confidence go to the full human workflow; the rest to review", 0.7)

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ValueError(f"the low threshold ({self.low}) must not exceed the high one ({self.high})")


def route(
    confidences: Sequence[float], correct: Sequence[float], config: RoutingConfig = RoutingConfig()
) -> list[dict]:
    """One dict per band, most confident first: its share, count, accuracy and bounding thresholds.

    `correct` holds each prediction's score on the task's primary metric, in [0, 1]. A band
    takes confidences from `at_least` (inclusive) to `below` (exclusive); None leaves that
    side open. A band's accuracy is None when no prediction falls in it.
    """
    _check_inputs(confidences, correct)
    bands = [
        (STRAIGHT_THROUGH, config.high, None),
        (HUMAN_REVIEW, config.low, config.high),
        (FULL_HUMAN_WORKFLOW, None, config.low),
    ]
    return [_band(name, at_least, below, confidences, correct) for name, at_least, below in bands]


def coverage_curve(confidences: Sequence[float], correct: Sequence[float]) -> list[dict]:
    """Accuracy against coverage: [{"coverage", "accuracy", "threshold", "count"}], most confident first.

    Each point is what a threshold would let through: every prediction whose confidence is
    at least `threshold`. Tied confidences make one point, since no threshold can split
    them. The last point has coverage 1.0 and the overall accuracy; no input, no points.
    """
    _check_inputs(confidences, correct)
    ranked = sorted(zip(confidences, correct), key=lambda pair: -pair[0])
    points, total = [], 0.0
    for count, (confidence, score) in enumerate(ranked, start=1):
        total += score
        if count < len(ranked) and ranked[count][0] == confidence:
            continue
        points.append(
            {
                "coverage": count / len(ranked),
                "accuracy": total / count,
                "threshold": confidence,
                "count": count,
            }
        )
    return points


def _band(name: str, at_least: float | None, below: float | None, confidences, correct) -> dict:
    scores = [
        score
        for confidence, score in zip(confidences, correct)
        if (at_least is None or confidence >= at_least) and (below is None or confidence < below)
    ]
    return {
        "band": name,
        "share": len(scores) / len(confidences) if confidences else 0.0,
        "count": len(scores),
        "accuracy": sum(scores) / len(scores) if scores else None,
        "at_least": at_least,
        "below": below,
    }


def _check_inputs(confidences: Sequence[float], correct: Sequence[float]) -> None:
    if len(confidences) != len(correct):
        raise ValueError(f"{len(confidences)} confidences but {len(correct)} scores")
    # A missing confidence (an answer from before confidences were recorded) would fall in no band.
    if any(c is None or math.isnan(c) for c in confidences):
        raise ValueError("every prediction needs a confidence; some are missing")
