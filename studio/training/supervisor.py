"""Supervising the run workers: start the next queued run, notice the ones that ended or died, record them.

`sync_runs` (called by the pages, the CLI and `wait_for_run`) reads each running worker's
files, records its outcome in DuckDB (scoring a finished run's predictions and rewriting its
model card), marks a dead worker failed with its last words, and starts the oldest queued run
(or adopts its worker, found by RUN_DIR/worker.pid, when the app died just after starting it).
Workers run `python -m studio.training.worker RUN_DIR` in their own session, under
`accelerate launch` across STUDIO_GPUS GPUs when above 1.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path

from storage import runs as run_table
from storage.db import connect
from studio.evaluation.leaderboard import record_evaluation
from studio.paths import SOURCE_ROOT
from studio.project.projects import get_project
from studio.training.manifest import read_manifest
from studio.training.modelcard import write_model_card
from studio.training.progress import latest, log_tail, read_events, read_status

ACTIVE = ("queued", "running")
WORKER_PID = "worker.pid"
_start_lock = threading.Lock()


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
        if worker_alive(run["pid"]):
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


def worker_alive(pid: int | None) -> bool:
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
