"""Slices: each model's score per tag, per input-length bucket, per input cluster and per expected answer
(the label, or a JSON answer's first enum field) of the held-out set.

A fine-tune can win on average and still lose on the inputs a team cares about most;
slices show where, and tell the expert which kinds of examples to add.
"""

from __future__ import annotations

from collections import defaultdict
from statistics import fmean

from studio.project.formats import OutputSpec, stratum_of

UNTAGGED = "(untagged)"
LENGTH_BUCKETS = ((15, "short (up to 15 words)"), (40, "medium (16 to 40 words)"), (None, "long (over 40 words)"))


def length_bucket(text: str) -> str:
    words = len(text.split())
    return next(label for limit, label in LENGTH_BUCKETS if limit is None or words <= limit)


def slice_scores(
    predictions: list[dict], metric: str, clusters: dict | None = None, spec: OutputSpec | None = None
) -> list[dict]:
    """Rows of {dimension, slice, model, n, score, <every metric>}: means per slice and model.

    `score` is the mean of `metric` (the one the leaderboard ranks by); every other
    per-example metric is there too under its own name. `clusters` maps an example id to
    the name of its input's cluster (studio/checks/coverage.py), for the "input cluster" slices; `spec`, the
    project's output format, gives the "expected answer" slices (studio.project.formats.stratum_of).
    """
    groups: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for row in predictions:
        for tag in row.get("tags") or [UNTAGGED]:
            groups[("tag", tag, row["model"])].append(row["scores"])
        groups[("input length", length_bucket(row.get("input", "")), row["model"])].append(row["scores"])
        if clusters and row["example_id"] in clusters:
            groups[("input cluster", clusters[row["example_id"]], row["model"])].append(row["scores"])
        if spec is not None and (expected := stratum_of(spec, row.get("expected") or "")):
            groups[("expected answer", expected, row["model"])].append(row["scores"])
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


DIMENSIONS = ("tag", "expected answer", "input length", "input cluster")


def slice_dimensions(rows: list[dict]) -> list[str]:
    """The dimensions worth a chart, in DIMENSIONS' order: those with slices, and "tag" only when some example
    has a tag (a lone "(untagged)" bar says nothing)."""
    present = {row["dimension"] for row in rows if not (row["dimension"] == "tag" and row["slice"] == UNTAGGED)}
    return [d for d in DIMENSIONS if d in present]


def weakest_slices(rows: list[dict], model: str, limit: int = 3) -> list[dict]:
    """The tags where `model` scores lowest (ties broken by size, bigger first); where no held-out example has a
    tag, the expected answers where it scores lowest (a label, or a JSON answer's category). Slices that score as
    well as the best one are left out."""
    own = [row for row in rows if row["model"] == model]
    tags = [row for row in own if row["dimension"] == "tag" and row["slice"] != UNTAGGED]
    chosen = tags or [row for row in own if row["dimension"] == "expected answer"]
    best = max((row["score"] for row in chosen), default=0.0)
    weaker = [row for row in chosen if row["score"] < best]  # a slice as good as the best is no place to add to
    return sorted(weaker, key=lambda row: (row["score"], -row["n"]))[:limit]
