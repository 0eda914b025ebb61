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

from studio.dataset.splits import split_examples
from studio.jsonl import write_jsonl
from studio.project.formats import OutputSpec

TEST_SET, SPLIT = "test set", "split"


@dataclass(frozen=True)
class Snapshot:
    train: list[dict]
    held_out: list[dict]
    snapshot_hash: str
    held_out_hash: str
    source: str = SPLIT  # where the held-out examples come from: TEST_SET or SPLIT


def _row(example: dict) -> dict:
    return {key: example[key] for key in ("id", "external_id", "messages", "tags")}


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
