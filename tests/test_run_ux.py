"""What a run shows while it trains, evaluates, is cancelled or ends: no stale guesses, a prompt cancel, no zombies."""

from __future__ import annotations

import time

import psutil

from studio.jobs import launch_run, wait_for_run
from studio.training import TrainConfig


def _reaped(pid: int, timeout: float = 10) -> bool:
    """True once the process is gone for good (not left behind as a zombie)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                time.sleep(0.2)
                continue
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.2)
    return False


def test_a_finished_worker_is_reaped(db, demo, tiny_llama):
    from studio.projects import update_project_settings

    project = update_project_settings(db, demo, base_model=str(tiny_llama))
    run = wait_for_run(db, launch_run(db, project, TrainConfig(max_steps=1)), poll_seconds=0.5)
    assert run["status"] == "succeeded", run["error"]
    assert _reaped(run["pid"]), "the finished worker lingers as a zombie"
