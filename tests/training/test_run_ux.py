"""What a run shows while it trains, evaluates, is cancelled or ends: no stale guesses, a prompt cancel, no zombies."""

from __future__ import annotations

import json
import time
from pathlib import Path

import psutil
import pytest
from app_kit import finished_tiny_run, open_page
from streamlit.testing.v1 import AppTest

from studio.training.launch import get_run, launch_run, wait_for_run
from studio.training.progress import append_event, read_events, read_status
from studio.training.run_view import remaining, run_progress
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


def _event(run_dir: Path, at: float, event: str, **fields) -> None:
    """An event at a chosen time, so the estimate's arithmetic can be checked by hand."""
    with open(run_dir / "events.jsonl", "a") as handle:
        handle.write(json.dumps({"event": event, "time": at, **fields}) + "\n")


def test_remaining_covers_the_evaluation_and_moves_through_it(tmp_path):
    t0 = 1_000_000.0
    run = {"status": "running", "run_dir": str(tmp_path), "n_eval": 10, "config": {"train": {"batch_size": 2}}}
    _event(tmp_path, t0, "started")
    _event(tmp_path, t0 + 20, "train_started", total=60, resumed_at=0)
    # 10 steps of 2 examples in 100 s at 10 tokens/s: 50 tokens an example
    _event(tmp_path, t0 + 120, "step", step=10, total=60, loss=2.0, elapsed=100.0, eta=500.0, tokens_per_second=10.0)
    training = remaining(run, read_events(tmp_path), "training", now=t0 + 120)
    # 10 held-out x 50 tokens x (1 + 1 + 4 for the 3-shot baseline) at 3 x 10 tokens/s, and two loads of 20 s
    assert training == pytest.approx(500 + 3000 / 30 + 40)
    assert run_progress({**run, "status": "succeeded"})["eta"] is None
    _event(tmp_path, t0 + 620, "trained")
    _event(
        tmp_path,
        t0 + 640,
        "evaluation_plan",
        models=[{"model": "tuned", "tokens": 400}, {"model": "b", "tokens": 1600}],
    )
    _event(tmp_path, t0 + 640, "answering", model="tuned", done=0, total=10)
    _event(tmp_path, t0 + 680, "answering", model="tuned", done=5, total=10)
    events = read_events(tmp_path)
    # 200 tokens in 40 s: the other 200 and b's 1600 at 0.2 s a token, and a 20 s round trip
    assert remaining(run, events, "evaluating", now=t0 + 680) == pytest.approx(360 + 20)
    later = remaining(run, events, "evaluating", now=t0 + 690)  # no new answer for 10 s: a slower pace
    assert later > 0 and later != pytest.approx(380)
    _event(tmp_path, t0 + 1100, "round_trip")
    assert remaining(run, read_events(tmp_path), "evaluating", now=t0 + 1110) == pytest.approx(10)


def test_elapsed_and_remaining_keep_moving_while_a_run_evaluates(tmp_path):
    append_event(tmp_path, "started")
    append_event(tmp_path, "step", step=1, total=1, loss=2.0, elapsed=1.0, eta=0.0, tokens_per_second=10.0)
    append_event(tmp_path, "trained")
    append_event(tmp_path, "evaluation_plan", models=[{"model": "tuned", "tokens": 100}])
    append_event(tmp_path, "answering", model="tuned", done=4, total=24)
    run = {"status": "running", "run_dir": str(tmp_path), "n_eval": 24, "config": {}}
    first = run_progress(run)
    time.sleep(0.05)
    second = run_progress(run)
    assert first["phase"] == second["phase"] == "evaluating"
    assert second["elapsed"] > first["elapsed"] and first["eta"] is not None and second["eta"] is not None
    for status in ("succeeded", "cancelled", "failed"):
        assert run_progress({**run, "status": status})["eta"] is None


@pytest.mark.slow
def test_a_tiny_run_shows_a_remaining_figure_and_a_moving_clock_during_evaluation(db, tiny_demo):
    run_id = launch_run(db, tiny_demo, TrainConfig(max_steps=2, batch_size=2))
    run = get_run(db, run_id)
    run_dir = Path(run["run_dir"])
    _wait_for_event(run_dir, "trained")
    seen = []
    deadline = time.monotonic() + 180
    # the worker's final status file, not the runs table: only the supervisor's sync moves the table on
    while read_status(run_dir) is None and time.monotonic() < deadline:
        progress = run_progress(get_run(db, run_id))
        if progress["phase"] == "evaluating":
            seen.append((progress["elapsed"], progress["eta"]))
        time.sleep(0.1)
    assert wait_for_run(db, run_id, poll_seconds=0.2)["status"] == "succeeded"
    assert len(seen) >= 2 and all(eta is not None for _, eta in seen)
    assert seen[-1][0] > seen[0][0]  # the clock moved while the models answered


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
