"""Training runs from the app's side: launch, queue, watch, cancel, reattach, record.

A launch freezes the approved examples into data/runs/<run_id>/ and starts
`python -m studio.training.worker <run_dir>` in its own session, so the run outlives the browser
tab and the app. One run trains at a time; later launches wait in a queue. `sync_runs`
(called by the pages and the CLI) reads the workers' files, records outcomes in DuckDB,
marks dead workers failed with their last words, and starts the next queued run (or
adopts its worker, found by RUN_DIR/worker.pid, when the app died just after starting it).
`resume_run` queues a failed or cancelled run again; its worker picks up from the last
checkpoint. With STUDIO_GPUS set to more than 1, workers start under `accelerate launch`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

from storage import runs as run_table
from storage.db import connect
from studio.dataset.examples import list_examples
from studio.dataset.snapshots import freeze_snapshot, write_snapshot
from studio.evaluation.endpoint import EndpointConfig
from studio.evaluation.leaderboard import record_evaluation
from studio.models.loading import resolve_model
from studio.models.trust import remote_code_allowed
from studio.paths import SOURCE_ROOT, data_home, runs_dir
from studio.project.people import Person, authorize
from studio.project.projects import Project, get_project
from studio.training.manifest import read_manifest
from studio.training.modelcard import write_model_card
from studio.training.preflight import check_model
from studio.training.progress import append_event, latest, log_tail, read_events, read_status
from studio.training.run_config import EvalSettings, RunConfig
from studio.training.trainer import TrainConfig, last_checkpoint

ACTIVE = ("queued", "running")
WORKER_PID = "worker.pid"
MIN_APPROVED = 10
FEW_SHOT_K = 3
_start_lock = threading.Lock()


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


def sync_runs(db: Path) -> None:
    """Record what finished or died, then start the oldest queued run if none is running."""
    with connect(db) as con:
        active = run_table.fetch_runs(con, statuses=ACTIVE)
    for run in active:
        if run["status"] == "running":
            _settle(db, run)
    with _start_lock:
        with connect(db) as con:
            running = run_table.fetch_runs(con, statuses=("running",))
            queued = run_table.fetch_runs(con, statuses=("queued",))
        if not running and queued:
            _adopt_or_start_worker(db, queued[-1])


def _adopt_or_start_worker(db: Path, run: dict) -> None:
    """Start the run's worker, unless one is already at work on it (an app killed right after starting it)."""
    pid = live_worker(Path(run["run_dir"]))
    if pid is None:
        _start_worker(db, run)
        return
    with connect(db) as con:
        run_table.update_run(con, run["id"], status="running", pid=pid, started_at=datetime.now())


def _settle(db: Path, run: dict) -> None:
    run_dir = Path(run["run_dir"])
    status = read_status(run_dir)
    if status is None:
        if _alive(run["pid"]):
            return
        status = (
            {"status": "cancelled", "error": None}  # the cancel reached the worker before its handler was in place
            if _cancel_requested(read_events(run_dir))
            else {
                "status": "failed",
                "error": "the worker stopped without a word. Its last lines:\n" + log_tail(run_dir),
            }
        )
    fields = _figures(read_events(run_dir))
    if status["status"] == "succeeded":
        try:
            record_evaluation(db, run)
            _write_card(db, run)
        except (OSError, ValueError, KeyError) as error:
            status = {"status": "failed", "error": f"could not score the predictions: {error}"}
    with connect(db) as con:
        run_table.update_run(
            con, run["id"], status=status["status"], error=status.get("error"), finished_at=datetime.now(), **fields
        )


def _cancel_requested(events: list[dict]) -> bool:
    """Whether someone cancelled this attempt of the run (since its last resume)."""
    names = [event["event"] for event in events]
    since = len(names) - names[::-1].index("resume_requested") if "resume_requested" in names else 0
    return "cancel_requested" in names[since:]


def _write_card(db: Path, run: dict) -> None:
    """The model card again, now with the leaderboard of the held-out evaluation."""
    from studio.evaluation.leaderboard import leaderboard

    manifest = read_manifest(Path(run["run_dir"]))
    if manifest is not None:
        write_model_card(Path(run["run_dir"]), manifest, leaderboard(db, get_project(db, run["project"]), run))


def _figures(events: list[dict]) -> dict:
    started, step = latest(events, "started"), latest(events, "step")
    return {
        "device": started["device"] if started else None,
        "tokens_per_second": step["tokens_per_second"] if step else None,
        "peak_memory_mb": max((e.get("memory_mb", 0) for e in events if e["event"] == "step"), default=None),
    }


def _start_worker(db: Path, run: dict) -> None:
    run_dir = Path(run["run_dir"])
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    with open(run_dir / "worker.log", "ab") as log:
        process = subprocess.Popen(
            worker_command(run_dir),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=SOURCE_ROOT,
            env=env,
            start_new_session=True,
        )
    (run_dir / WORKER_PID).write_text(str(process.pid))  # before the database knows: see live_worker
    # Wait for the worker in the background so its exit status is collected the moment it
    # ends: otherwise a long-lived server keeps every finished worker as a zombie process.
    threading.Thread(target=process.wait, name=f"reap-{run['id']}", daemon=True).start()
    with connect(db) as con:
        run_table.update_run(con, run["id"], status="running", pid=process.pid, started_at=datetime.now())


def live_worker(run_dir: Path) -> int | None:
    """The pid of a worker alive on this run folder (from its worker.pid and command line), else None."""
    import psutil

    try:
        pid = int((run_dir / WORKER_PID).read_text())
        process = psutil.Process(pid)
        if process.status() != psutil.STATUS_ZOMBIE and str(run_dir) in process.cmdline():
            return pid
    except (OSError, ValueError, psutil.Error):
        pass
    return None


def worker_command(run_dir: Path) -> list[str]:
    """`python -m studio.training.worker RUN_DIR`, under `accelerate launch` across STUDIO_GPUS GPUs when above 1."""
    gpus = int(os.environ.get("STUDIO_GPUS", "1") or 1)
    if gpus > 1:
        return [
            sys.executable,
            "-m",
            "accelerate.commands.launch",
            "--num_processes",
            str(gpus),
            "-m",
            "studio.training.worker",
            str(run_dir),
        ]
    return [sys.executable, "-m", "studio.training.worker", str(run_dir)]


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)  # reap our own child so it is not a zombie
        if finished:
            return False
    except ChildProcessError:
        pass
    import psutil

    try:  # a worker whose app was killed belongs to init; if nobody reaps it, it lingers as a zombie
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def cancel_run(db: Path, run_id: str, actor: Person | None = None) -> None:
    """Cancel a queued run at once, or ask a running worker to stop, which it does within moments (admins)."""
    authorize(actor, "train")
    run = get_run(db, run_id)
    if run["status"] == "queued":
        with connect(db) as con:
            run_table.update_run(con, run_id, status="cancelled", finished_at=datetime.now())
    elif run["status"] == "running" and _alive(run["pid"]):
        append_event(Path(run["run_dir"]), "cancel_requested")
        os.killpg(run["pid"], signal.SIGTERM)


def resume_run(db: Path, run_id: str, actor: Person | None = None) -> None:
    """Queue a failed or cancelled run again; its worker resumes from the last checkpoint (admins)."""
    authorize(actor, "train")
    run = get_run(db, run_id)
    run_dir = Path(run["run_dir"])
    if run["status"] in ACTIVE or run["status"] == "succeeded":
        raise LaunchRefused(f"run {run_id} is {run['status']}; only a failed or cancelled run resumes")
    if last_checkpoint(run_dir) is None:
        raise LaunchRefused(f"run {run_id} saved no checkpoint before it stopped; start a new run instead")
    status = run_dir / "status.json"
    if status.exists():
        status.replace(run_dir / f"status.{int(time.time())}.json")
    append_event(run_dir, "resume_requested", checkpoint=Path(last_checkpoint(run_dir)).name)
    with connect(db) as con:
        run_table.update_run(con, run_id, status="queued", error=None, finished_at=None, pid=None)
    sync_runs(db)


def can_resume(run: dict) -> bool:
    return run["status"] in ("failed", "cancelled") and last_checkpoint(Path(run["run_dir"])) is not None


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
    """Block until the run ends, passing each new progress event to `on_event`; return the run."""
    seen = 0
    while True:
        sync_runs(db)
        run = get_run(db, run_id)
        events = read_events(Path(run["run_dir"]))
        for event in events[seen:]:
            on_event(event)
        seen = len(events)
        if run["status"] not in ACTIVE:
            return run
        time.sleep(poll_seconds)


def run_progress(run: dict) -> dict:
    """What the Train page shows: step/total, losses, elapsed, remaining, answering progress."""
    events = read_events(Path(run["run_dir"]))
    steps = _latest_per_step([e for e in events if e["event"] == "step"])
    last = steps[-1] if steps else None
    answering = latest(events, "answering")
    phase = _phase(run, events)
    return {
        "learning_rates": [(e["step"], e.get("learning_rate", 0.0)) for e in steps],
        "eval_losses": [
            (e["step"], e["eval_loss"]) for e in _latest_per_step([e for e in events if e["event"] == "eval"])
        ],
        "validation": [
            (e["step"], e["value"], e["metric"])
            for e in _latest_per_step([e for e in events if e["event"] == "validation"])
        ],
        "memory_mb": last.get("memory_mb") if last else None,
        "resumes": sum(e["event"] == "resume_requested" for e in events),
        "phase": phase,
        "step": last["step"] if last else 0,
        "total": last["total"] if last else (latest(events, "train_started") or {}).get("total", 0),
        "elapsed": last["elapsed"] if last else 0.0,
        # only while training: a finished, cancelled or evaluating run has no training time left to guess
        "eta": last["eta"] if last and phase == "training" else None,
        "losses": [(e["step"], e["loss"]) for e in steps],
        "tokens_per_second": last["tokens_per_second"] if last else None,
        "answering": answering,
        "cancel_requested": _cancel_pending(events),
        "log_tail": log_tail(Path(run["run_dir"]), 12),
    }


def _latest_per_step(events: list[dict]) -> list[dict]:
    """One event per step, the newest: a resumed run repeats the steps after its checkpoint."""
    by_step = {e["step"]: e for e in events}
    return [by_step[k] for k in sorted(by_step)]


def _cancel_pending(events: list[dict]) -> bool:
    """A cancel was asked for since the run last started or resumed."""
    for event in reversed(events):
        if event["event"] in ("cancel_requested", "resume_requested"):
            return event["event"] == "cancel_requested"
    return False


def _phase(run: dict, events: list[dict]) -> str:
    if run["status"] not in ACTIVE:
        return run["status"]
    if run["status"] == "queued":
        return "queued"
    if _cancel_pending(events):
        return "cancelling..."
    if latest(events, "answering") or latest(events, "trained"):
        return "evaluating"
    return "training" if latest(events, "step") else "starting"
