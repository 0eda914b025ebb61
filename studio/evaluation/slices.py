"""Slices: each model's score per tag, per input-length bucket and per input cluster of the held-out set.

A fine-tune can win on average and still lose on the inputs a team cares about most;
slices show where, and tell the expert which kinds of examples to add.
"""

from __future__ import annotations

from collections import defaultdict
from statistics import fmean

LENGTH_BUCKETS = ((15, "short (up to 15 words)"), (40, "medium (16 to 40 words)"), (None, "long (over 40 words)"))


def length_bucket(text: str) -> str:
    words = len(text.split())
    return next(label for limit, label in LENGTH_BUCKETS if limit is None or words <= limit)


def slice_scores(predictions: list[dict], metric: str, clusters: dict | None = None) -> list[dict]:
    """Rows of {dimension, slice, model, n, score, <every metric>}: means per slice and model.

    `score` is the mean of `metric` (the one the leaderboard ranks by); every other
    per-example metric is there too under its own name. `clusters` maps an example id to
    the name of its input's cluster (studio/checks/coverage.py), for the "input cluster" slices.
    """
    groups: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for row in predictions:
        for tag in row.get("tags") or ["(untagged)"]:
            groups[("tag", tag, row["model"])].append(row["scores"])
        groups[("input length", length_bucket(row.get("input", "")), row["model"])].append(row["scores"])
        if clusters and row["example_id"] in clusters:
            groups[("input cluster", clusters[row["example_id"]], row["model"])].append(row["scores"])
    return [
        {
            "dimension": dimension,
            "slice": name,
            "model": model,
            "n": len(scores),
            **{m: fmean(s.get(m, 0.0) for s in scores) for m in sorted({m for s in scores for m in s})},
            "score": fmean(s.get(metric, 0.0) for s in scores),
        }
        for (dimension, name, model), scores in sorted(groups.items())
    ]


def weakest_slices(rows: list[dict], model: str, limit: int = 3) -> list[dict]:
    """The tags where `model` scores lowest (ties broken by size, bigger first)."""
    tags = [row for row in rows if row["model"] == model and row["dimension"] == "tag"]
    return sorted(tags, key=lambda row: (row["score"], -row["n"]))[:limit]
