"""Freezing the examples a run trains and evaluates on into its run folder.

A snapshot is the approved examples at launch, split into train and held-out, with a
hash of each part: runs whose held-out hashes match were evaluated on the same set.
When the project has a test set (examples the experts marked 'test'), that is the
held-out set and every other approved example trains; otherwise the seeded split of
studio.dataset.splits holds out about 10%. `source` says which.
The baseline's few-shot examples are not frozen here: the worker retrieves them from the
training split for each held-out input.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from studio.dataset.splits import LabelCount, label_counts, split_examples
from studio.jsonl import write_jsonl
from studio.project.formats import OutputSpec

TEST_SET, SPLIT, FOLDS = "test set", "split", "folds"


@dataclass(frozen=True)
class Snapshot:
    train: list[dict]
    held_out: list[dict]
    snapshot_hash: str
    held_out_hash: str
    source: str = SPLIT  # where the held-out examples come from: TEST_SET or SPLIT


def _row(example: dict) -> dict:
    return {key: example[key] for key in ("id", "external_id", "messages", "tags")}


def rows_hash(rows: list[dict]) -> str:
    """The hash that names a set of frozen rows (ids and messages), as a snapshot's held-out hash does."""
    return _digest(rows)


def _digest(rows: list[dict]) -> str:
    canonical = json.dumps([[r["id"], r["messages"]] for r in rows], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def evaluation_split(examples: list[dict], spec: OutputSpec, seed: int) -> tuple[list[dict], list[dict], str]:
    """(train, held_out, source): the test set where the project has one, else the seeded split."""
    test = [e for e in examples if e.get("split") == "test"]
    if test:
        return [e for e in examples if e.get("split") != "test"], test, TEST_SET
    train, held_out = split_examples(examples, spec, seed)
    return train, held_out, SPLIT


@dataclass(frozen=True)
class PlannedSplit:
    """What a run launched now would train on and be judged on, per label (the Train page shows it)."""

    source: str  # TEST_SET or SPLIT
    train: int
    held_out: int
    counts: list[LabelCount]

    def describe(self) -> str:
        return describe_source(self.source, self.held_out)


def planned_split(examples: list[dict], spec: OutputSpec, seed: int) -> PlannedSplit:
    """The split of these approved examples a launch would freeze, counted per label."""
    train, held_out, source = evaluation_split(examples, spec, seed)
    return PlannedSplit(source, len(train), len(held_out), label_counts(train, held_out, spec))


def freeze_snapshot(examples: list[dict], spec: OutputSpec, seed: int) -> Snapshot:
    """Split the examples into train and held-out, with the hashes that identify each."""
    train, held_out, source = evaluation_split(examples, spec, seed)
    train_rows, held_rows = [_row(e) for e in train], [_row(e) for e in held_out]
    return Snapshot(
        train=train_rows,
        held_out=held_rows,
        snapshot_hash=_digest(train_rows + held_rows),
        held_out_hash=_digest(held_rows),
        source=source,
    )


def write_snapshot(snapshot: Snapshot, run_dir: Path) -> None:
    write_jsonl(run_dir / "train.jsonl", snapshot.train)
    write_jsonl(run_dir / "eval.jsonl", snapshot.held_out)


def describe_source(source: str, n: int) -> str:
    """Where a run's numbers come from, in words for the leaderboard, the page and the report."""
    if source == TEST_SET:
        return f"the project's test set: {n} examples the experts keep, never trained on"
    if source == FOLDS:
        return f"cross-validation: all {n} examples, each answered by an adapter that did not train on it"
    return f"the seeded 10% split: {n} held-out examples"
