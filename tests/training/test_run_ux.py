"""What a run shows while it trains, evaluates, is cancelled or ends: no stale guesses, a prompt cancel, no zombies."""

from __future__ import annotations

import time
from pathlib import Path

import psutil
import pytest
from app_kit import finished_tiny_run, open_page
from streamlit.testing.v1 import AppTest

from studio.training.launch import get_run, launch_run, wait_for_run
from studio.training.progress import append_event, read_events
from studio.training.run_view import run_progress
from studio.training.trainer import TrainConfig


def _open_train_page() -> AppTest:
    return open_page("pages/train.py", timeout=180)


def _wait_for_event(run_dir: Path, name: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not any(e["event"] == name for e in read_events(run_dir)):
        assert time.monotonic() < deadline, f"no {name} event within {timeout}s"
        time.sleep(0.2)


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


def test_progress_guesses_no_time_for_a_run_that_is_not_training(tmp_path):
    append_event(tmp_path, "step", step=1, total=60, loss=2.0, elapsed=60.0, eta=3660.0, tokens_per_second=10.0)
    run = {"status": "running", "run_dir": str(tmp_path)}
    assert run_progress(run)["phase"] == "training" and run_progress(run)["eta"] == 3660.0
    append_event(tmp_path, "trained")
    append_event(tmp_path, "answering", model="tuned", done=4, total=24)
    evaluating = run_progress(run)
    assert evaluating["phase"] == "evaluating" and evaluating["eta"] is None and evaluating["answering"]["done"] == 4
    for status in ("succeeded", "cancelled", "failed"):
        assert run_progress({**run, "status": status})["eta"] is None


@pytest.mark.slow
def test_a_cancel_shows_at_once_and_stops_within_seconds_in_the_middle_of_a_long_step(db, demo):
    # One long optimizer step (24 micro-batches of 8 on the packaged model): the old worker waited for its end.
    run_id = launch_run(db, demo, TrainConfig(max_steps=2, batch_size=8, gradient_accumulation=24, save_steps=1))
    run = get_run(db, run_id)
    run_dir = Path(run["run_dir"])
    _wait_for_event(run_dir, "train_started")
    app = _open_train_page()
    headings = [s.value for s in app.subheader]
    assert any(f"Run {run_id}" in h for h in headings)
    assert (
        f"Run {run_id}" in app.info[0].value and "(#live-run)" in app.info[0].value
    )  # the top of the page links to it
    asked = time.monotonic()
    app.button(key=f"cancel_{run_id}").click().run()
    assert not app.exception, app.exception
    # in the very answer to the click: cancelling, or already cancelled (it stops that fast)
    heading = next(s.value for s in app.subheader if f"Run {run_id}" in s.value)
    assert heading.endswith(("cancelling...", "cancelled")), heading
    if heading.endswith("cancelling..."):
        assert app.button(key=f"cancel_{run_id}").label == "Cancelling..."
    run = wait_for_run(db, run_id, poll_seconds=0.2)
    took = time.monotonic() - asked
    assert run["status"] == "cancelled", run["error"]
    assert took < 15, f"the cancel took {took:.0f} s"
    assert not any(e["event"] == "step" for e in read_events(run_dir))  # it stopped inside the first step
    assert _reaped(run["pid"]), "the finished worker lingers as a zombie"
    app = _open_train_page()
    shown = {m.label: m.value for m in app.metric}
    assert shown.get("Remaining", "–") == "–"  # no time left to guess on a cancelled run


@pytest.mark.slow
def test_a_finished_worker_is_reaped(db, demo, tiny_llama):
    run = finished_tiny_run(db, demo, tiny_llama)
    assert _reaped(run["pid"]), "the finished worker lingers as a zombie"
