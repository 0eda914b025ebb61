"""Cross-validation of a run's settings for a small project: K adapters on K folds, as one job.

`launch_cross_validation` takes a finished run's examples (its training and held-out
examples; a run judged on a test set: its training examples only, so the test set stays
untouched), deals them into K leakage-aware, stratified folds (studio.dataset.splits.
assign_folds) and freezes one run folder per fold under RUN_DIR/folds/: fold i trains on
the other folds with the run's settings and answers fold i, and its baselines retrieve
their few-shot examples from the other folds only. The job is queued like a run, and
`python -m studio.training.crossval RUN_DIR` works through the folds in one process
(a fold is the run worker's own `run`), skipping folds that already succeeded, so a
restarted job (or one resumed with `studio train --resume JOB`) carries on where it
stopped, the unfinished fold from its last checkpoint. When every fold is done, their
predictions are pooled into RUN_DIR/predictions.jsonl: every example answered by an adapter that did not
train on it, and by each baseline, so the paired comparison pools all n examples. The
adapter that ships stays the source run's, trained on every training example.
"""

from __future__ import annotations

import os
import sys
import threading
import uuid
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from storage import runs as run_table
from storage.db import connect
from studio.dataset.snapshots import FOLDS, TEST_SET, rows_hash
from studio.dataset.splits import assign_folds
from studio.jsonl import read_jsonl, write_jsonl
from studio.paths import runs_dir
from studio.project.formats import parse_output_spec
from studio.project.people import Person, authorize
from studio.project.projects import Project
from studio.training.progress import append_event, read_events, read_status, write_status
from studio.training.run_config import RunConfig

FOLDS_DIR = "folds"
MIN_PER_FOLD = 2


def launch_cross_validation(db: Path, project: Project, run: dict, k: int, actor: Person | None = None) -> str:
    """Freeze K fold run folders from a finished run's examples and queue the job; return its run id."""
    from studio.training.supervisor import sync_runs

    authorize(actor, "train")
    source = Path(run["run_dir"])
    config = RunConfig.read(source)
    examples = read_jsonl(source / "train.jsonl")
    if config.held_out_source != TEST_SET:
        examples += read_jsonl(source / "eval.jsonl")
    if len(examples) < k * MIN_PER_FOLD:
        raise ValueError(f"{len(examples)} examples cannot fill {k} folds; choose fewer folds")
    folds = assign_folds(examples, parse_output_spec(config.output_spec), project.split_seed, k)
    run_id = f"{datetime.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:4]}-cv{k}"
    run_dir = runs_dir() / run_id
    for number, fold in enumerate(folds, start=1):
        others = [e for f in folds if f is not fold for e in f]
        fold_config = replace(config, run_id=f"{run_id}-fold{number}", held_out_hash=rows_hash(fold))
        _freeze(run_dir / FOLDS_DIR / f"fold-{number}", fold_config, others, fold)
    ordered = sorted(examples, key=lambda e: e["id"])
    parent = replace(config, run_id=run_id, held_out_source=FOLDS, held_out_hash=rows_hash(ordered))
    _freeze(run_dir, parent, ordered, ordered)
    with connect(db) as con:
        run_table.insert_run(
            con,
            {
                "id": run_id,
                "project_id": project.id,
                "status": "queued",
                "config": parent.to_dict() | {"cross_validates": run["id"], "folds": k},
                "snapshot_hash": config.snapshot_hash,
                "n_train": len(ordered) - len(ordered) // k,  # what each adapter trains on, about
                "n_eval": len(ordered),
                "run_dir": str(run_dir),
            },
        )
    sync_runs(db)
    return run_id


def _freeze(run_dir: Path, config: RunConfig, train: list[dict], held_out: list[dict]) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)  # the job's own folder already holds its folds
    write_jsonl(run_dir / "train.jsonl", train)
    write_jsonl(run_dir / "eval.jsonl", held_out)
    config.write(run_dir)


def is_cross_validation(run_dir: Path) -> bool:
    return (Path(run_dir) / FOLDS_DIR).is_dir()


def fold_dirs(run_dir: Path) -> list[Path]:
    return sorted((Path(run_dir) / FOLDS_DIR).iterdir(), key=lambda path: int(path.name.split("-")[1]))


def next_fold(run_dir: Path) -> str | None:
    """The first fold not yet done (a resumed job starts there), or None when every fold succeeded."""
    for fold_dir in fold_dirs(run_dir):
        done = read_status(fold_dir)
        if not done or done["status"] != "succeeded":
            return fold_dir.name
    return None


def run_folds(run_dir: Path) -> str:
    """Train and answer every fold not yet done, in order, then pool their predictions; the final status."""
    from studio.models.loading import device_name
    from studio.training.worker import run as run_fold

    folds = fold_dirs(run_dir)
    append_event(run_dir, "started", pid=os.getpid(), device=device_name(), resumed_from=None, processes=1)
    for number, fold_dir in enumerate(folds, start=1):
        done = read_status(fold_dir)
        if done and done["status"] == "succeeded":
            continue
        if done:  # a fold that stopped: its worker resumes from its last checkpoint
            (fold_dir / "status.json").replace(fold_dir / f"status.{int(datetime.now().timestamp())}.json")
        append_event(run_dir, "fold", fold=number, folds=len(folds))
        relay = Relay(run_dir, fold_dir, number, len(folds))
        relay.start()
        try:
            status = run_fold(fold_dir)
        finally:
            relay.finish()
        if status != "succeeded":
            error = (read_status(fold_dir) or {}).get("error")
            write_status(run_dir, status, error=f"fold {number} of {len(folds)}: {error}" if error else None)
            return status
        append_event(run_dir, "fold_done", fold=number, folds=len(folds))
    pooled = [row for fold_dir in folds for row in read_jsonl(fold_dir / "predictions.jsonl")]
    write_jsonl(run_dir / "predictions.jsonl", pooled)
    append_event(run_dir, "trained")
    write_status(run_dir, "succeeded")
    return "succeeded"


class Relay(threading.Thread):
    """Copies the running fold's steps and answering progress into the job's own events (every 2 s), so the
    live view and `--wait` follow it; a step's ETA counts the folds still to come at this fold's pace."""

    def __init__(self, run_dir: Path, fold_dir: Path, number: int, folds: int) -> None:
        super().__init__(name=f"relay-fold-{number}", daemon=True)
        self.run_dir, self.fold_dir, self.number, self.folds = run_dir, fold_dir, number, folds
        self.done, self.seen = threading.Event(), 0

    def run(self) -> None:
        while not self.done.wait(2.0):
            self.copy()

    def finish(self) -> None:
        self.done.set()
        self.join()
        self.copy()

    def copy(self) -> None:
        events = read_events(self.fold_dir)
        for event in events[self.seen :]:
            if event["event"] not in ("step", "answering"):
                continue
            fields = {k: v for k, v in event.items() if k not in ("event", "time")}
            if event["event"] == "step" and fields.get("eta") is not None:
                fold_seconds = fields.get("elapsed", 0.0) + fields["eta"]
                fields["eta"] += (self.folds - self.number) * fold_seconds
            append_event(self.run_dir, event["event"], fold=self.number, folds=self.folds, **fields)
        self.seen = len(events)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    return 0 if run_folds(Path(args[0])) == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
