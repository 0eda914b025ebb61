"""Supervising the run workers: start the next queued run, notice the ones that ended or died, record them.

`sync_runs` (called by the pages, the CLI and `wait_for_run`) reads each running worker's
files, records its outcome in DuckDB (scoring a finished run's predictions and rewriting its
model card), marks a dead worker failed with its last words, and starts the oldest queued run
(or adopts its worker, found by RUN_DIR/worker.pid, when the app died just after starting it).
Workers run `python -m studio.training.worker RUN_DIR` in their own session, under
`accelerate launch` when the run's config asks for several processes (`processes`, one per GPU).
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
from studio.training.progress import cancel_requested, latest, log_tail, read_events, read_status

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
            if cancel_requested(read_events(run_dir))
            else {"status": "failed", "error": _stopped_without_a_word(run_dir)}
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


def _stopped_without_a_word(run_dir: Path) -> str:
    """Why a worker that wrote no status ended: the launcher's report on which process ended and how, when the run
    trained in several (the others were stopped by the launcher), else the worker's last lines."""
    log = (run_dir / "worker.log").read_text(errors="replace") if (run_dir / "worker.log").exists() else ""
    report = _launcher_report(log)
    if report is None:
        return "the worker stopped without a word. Its last lines:\n" + log_tail(run_dir)
    rank, how = report
    return (
        f"training process rank {rank} of {run_processes(run_dir)} ended ({how}), so the launcher stopped the "
        "others; resume the run to go on from its last checkpoint. The log's last lines:\n" + log_tail(run_dir)
    )


def _launcher_report(log: str) -> tuple[int, str] | None:
    """(rank, how it ended) from torchrun's report of the first process of a run to fail, if the log has one."""
    import re

    cause = log.rfind("Root Cause (first observed failure)")
    if cause < 0:
        return None
    block = log[cause:]
    rank = re.search(r"rank\s*:\s*(\d+)", block)
    if rank is None:
        return None
    signal_line = re.search(r"traceback\s*:\s*(Signal \d+ \(\w+\))", block)
    exitcode = re.search(r"exitcode\s*:\s*(-?\d+)", block)
    how = signal_line.group(1) if signal_line else f"exit code {exitcode.group(1) if exitcode else 'unknown'}"
    return int(rank.group(1)), how


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
    """`python -m studio.training.worker RUN_DIR`, under `accelerate launch` when the run trains in several
    processes (its config's `processes`, one per GPU; gloo on a CPU).

    `--multi_gpu` picks accelerate's torchrun launcher, which starts the N processes on GPUs and CPUs alike
    (without it, a CPU machine gets one process). STUDIO_ACCELERATE_CONFIG names an `accelerate config` file
    (FSDP, other layouts) to launch with instead.
    """
    if (Path(run_dir) / "folds").is_dir():  # cross-validation (studio.training.crossval): K folds, one process
        return [sys.executable, "-m", "studio.training.crossval", str(run_dir)]
    processes = run_processes(run_dir)
    if processes <= 1:
        return [sys.executable, "-m", "studio.training.worker", str(run_dir)]
    layout = os.environ.get("STUDIO_ACCELERATE_CONFIG")
    return [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        *(["--config_file", layout] if layout else ["--multi_gpu"]),
        "--num_processes",
        str(processes),
        "--main_process_port",
        str(_free_port()),  # two runs' launchers (or a test's) never fight over accelerate's default port
        "-m",
        "studio.training.worker",
        str(run_dir),
    ]


def run_processes(run_dir: Path) -> int:
    """The run's training processes, from its frozen config."""
    from studio.training.run_config import RunConfig

    return max(1, RunConfig.read(run_dir).train.processes)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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
