"""Training runs from the app's side: launch, cancel, resume, read and wait for them.

A launch freezes the approved examples into data/runs/<run_id>/ and starts
`python -m studio.training.worker <run_dir>` in its own session, so the run outlives the browser
tab and the app. One run trains at a time; later launches wait in a queue, which
`studio.training.supervisor.sync_runs` works through. `resume_run` queues a failed or cancelled run again; its worker picks up from the last
checkpoint. A run whose config asks for several `processes` (or any run, with STUDIO_GPUS above 1) trains
under `accelerate launch`, one process per GPU.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from storage import runs as run_table
from storage.db import connect
from studio.dataset.examples import list_examples
from studio.dataset.snapshots import freeze_snapshot, write_snapshot
from studio.evaluation.endpoint import EndpointConfig
from studio.models.loading import resolve_model
from studio.models.trust import remote_code_allowed
from studio.paths import data_home, runs_dir
from studio.project.people import Person, authorize
from studio.project.projects import Project
from studio.training.config import TrainConfig
from studio.training.preflight import check_model
from studio.training.progress import append_event, read_events, read_status
from studio.training.run_config import EvalSettings, RunConfig
from studio.training.supervisor import ACTIVE, sync_runs, worker_alive
from studio.training.trainer import last_checkpoint

MIN_APPROVED = 10
FEW_SHOT_K = 3


class LaunchRefused(ValueError):
    """A run that cannot start; the message says what to do."""


def launch_run(
    db: Path,
    project: Project,
    config: TrainConfig = TrainConfig(),
    few_shot_k: int = FEW_SHOT_K,
    endpoint: EndpointConfig | None = None,
    actor: Person | None = None,
) -> str:
    """Freeze a snapshot of the approved examples, queue a run, start it if the GPU is free.

    The baselines see few_shot_k retrieved training examples per held-out input; `endpoint`
    adds an OpenAI-compatible model answering the same prompts (its key stays in the environment).
    Only an admin (or the local user, `actor` None) may launch.
    """
    authorize(actor, "train")
    gpus = int(os.environ.get("STUDIO_GPUS", "1") or 1)
    if config.processes <= 1 and gpus > 1:  # the machine's default, kept in the run's config like any setting
        config = replace(config, processes=gpus)
    approved = list_examples(db, project, status="approved")
    if len(approved) < MIN_APPROVED:
        raise LaunchRefused(
            f"{project.name} has {len(approved)} approved examples; approve at least {MIN_APPROVED} "
            "(50 or more is the usual floor for a useful fine-tune)"
        )
    model_path = resolve_model(project.base_model)
    trusted = remote_code_allowed(db, project.base_model)
    check_model(model_path, trusted)
    snapshot = freeze_snapshot(approved, project.output_spec, project.split_seed)
    if len(snapshot.train) < MIN_APPROVED:
        raise LaunchRefused(
            f"{project.name} has {len(snapshot.train)} approved training examples besides its test set; "
            f"approve at least {MIN_APPROVED}"
        )
    run_id = f"{datetime.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:4]}"
    run_dir = runs_dir() / run_id
    run_dir.mkdir(parents=True)
    write_snapshot(snapshot, run_dir)
    run_config = RunConfig(
        run_id=run_id,
        project=project.name,
        base_model=project.base_model,
        model_path=model_path,
        system_prompt=project.description,
        output_spec=project.output_spec.to_dict(),
        train=config,
        eval=EvalSettings(
            few_shot_k=max(0, int(few_shot_k)),
            cache_dir=str(data_home() / "cache" / "predictions"),
            endpoint=endpoint,
        ),
        snapshot_hash=snapshot.snapshot_hash,
        held_out_hash=snapshot.held_out_hash,
        held_out_source=snapshot.source,
        trust_remote_code=trusted,
    )
    run_config.write(run_dir)
    with connect(db) as con:
        run_table.insert_run(
            con,
            {
                "id": run_id,
                "project_id": project.id,
                "status": "queued",
                "config": run_config.to_dict(),
                "snapshot_hash": snapshot.snapshot_hash,
                "n_train": len(snapshot.train),
                "n_eval": len(snapshot.held_out),
                "run_dir": str(run_dir),
            },
        )
    sync_runs(db)
    return run_id


def cancel_run(db: Path, run_id: str, actor: Person | None = None) -> None:
    """Cancel a queued run at once, or ask a running worker to stop, which it does within moments (admins)."""
    authorize(actor, "train")
    run = get_run(db, run_id)
    if run["status"] == "queued":
        with connect(db) as con:
            run_table.update_run(con, run_id, status="cancelled", finished_at=datetime.now())
    elif run["status"] == "running" and worker_alive(run["pid"]):
        append_event(Path(run["run_dir"]), "cancel_requested")
        os.killpg(run["pid"], signal.SIGTERM)


def resume_run(db: Path, run_id: str, actor: Person | None = None) -> None:
    """Queue a failed or cancelled run again; its worker resumes from the last checkpoint (admins)."""
    authorize(actor, "train")
    run = get_run(db, run_id)
    run_dir = Path(run["run_dir"])
    if run["status"] in ACTIVE or run["status"] == "succeeded":
        raise LaunchRefused(f"run {run_id} is {run['status']}; only a failed or cancelled run resumes")
    point = resume_point(run_dir)
    if point is None:
        raise LaunchRefused(f"run {run_id} saved no checkpoint before it stopped; start a new run instead")
    status = run_dir / "status.json"
    if status.exists():
        status.replace(run_dir / f"status.{int(time.time())}.json")
    append_event(run_dir, "resume_requested", checkpoint=point)
    with connect(db) as con:
        run_table.update_run(con, run_id, status="queued", error=None, finished_at=None, pid=None)
    sync_runs(db)


def can_resume(run: dict) -> bool:
    return run["status"] in ("failed", "cancelled") and resume_point(Path(run["run_dir"])) is not None


def resume_point(run_dir: Path) -> str | None:
    """Where a resumed run starts: its last checkpoint, or a cross-validation job's first unfinished fold."""
    if (run_dir / "folds").is_dir():
        from studio.training.crossval import next_fold

        return next_fold(run_dir)
    checkpoint = last_checkpoint(run_dir)
    return Path(checkpoint).name if checkpoint else None


def get_run(db: Path, run_id: str) -> dict:
    with connect(db) as con:
        run = run_table.fetch_run(con, run_id)
    if run is None:
        raise LookupError(f"no run called {run_id!r}; `studio runs` lists them")
    return run


def list_runs(db: Path, project: Project | None = None) -> list[dict]:
    with connect(db) as con:
        return run_table.fetch_runs(con, project.id if project else None)


def wait_for_run(db: Path, run_id: str, poll_seconds: float = 2.0, on_event=lambda event: None) -> dict:
    """Block until the run ends, passing each new progress event to `on_event`; return the run.

    While the run's worker is alive and has written no final status, a poll reads only the run folder;
    the database (about 70 ms of CPU a poll) is read when something may have changed."""
    seen, run = 0, None
    while True:
        if run is None or not _quietly_running(run):
            sync_runs(db)
            run = get_run(db, run_id)
        events = read_events(Path(run["run_dir"]))
        for event in events[seen:]:
            on_event(event)
        seen = len(events)
        if run["status"] not in ACTIVE:
            return run
        time.sleep(poll_seconds)


def _quietly_running(run: dict) -> bool:
    """A running run whose worker is alive and has not written its final status: nothing to record yet."""
    return run["status"] == "running" and read_status(Path(run["run_dir"])) is None and worker_alive(run["pid"])
