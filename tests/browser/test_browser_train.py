"""Training in a real browser (Debian's Chromium): pre-flight, launch, live curve, cancel, resume after a kill.

A tiny random Llama (the default model's tokenizer and chat template) stands in as the
project's base model so the runs take seconds; it is chosen through the page's own base
model field. Set STUDIO_SCREENSHOTS=docs/screenshots to refresh the screenshots.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from browser_kit import BROWSER_MARKS, Server, assert_no_exception, new_tab, settle, shot

pytestmark = BROWSER_MARKS


@pytest.fixture
def page(browser):
    tab = new_tab(browser)
    tab.set_default_timeout(90_000)
    return tab


def set_number(page, label: str, value: int) -> None:
    box = page.get_by_role("spinbutton", name=label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    page.wait_for_timeout(800)
    settle(page, 180_000)  # the rerun redraws the settings; a busy machine can take longer than the pause


def newest_run_dir(home: Path) -> Path:
    return max((home / "runs").iterdir(), key=lambda p: p.name)


def new_run_dir(home: Path, earlier: set[Path], timeout: float = 60) -> Path:
    """The run folder a launch made: not one of `earlier` (the cancelled run's page can still show its button)."""
    deadline = time.monotonic() + timeout
    while not (fresh := set((home / "runs").iterdir()) - earlier):
        assert time.monotonic() < deadline, "the launch made no run folder"
        time.sleep(0.1)
    return max(fresh, key=lambda p: p.name)


def wait_for_event(run_dir: Path, predicate, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = (
            [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
            if (run_dir / "events.jsonl").exists()
            else []
        )
        if any(predicate(e) for e in events):
            return
        time.sleep(0.1)
    raise AssertionError(f"no such event in {run_dir} within {timeout}s")


def loss_points(page) -> int:
    """How many points the live loss chart draws."""
    return page.locator(".js-plotly-plot").filter(has_text="Loss").first.locator("path.point").count()


def check_preflight(page, tiny_llama: Path) -> None:
    page.get_by_role("link", name="Train").click()
    page.get_by_role("textbox", name="Base model").fill(str(tiny_llama))
    page.get_by_role("button", name="Use this base model").click()
    page.get_by_text(f"Base model set to {tiny_llama}").wait_for()
    page.get_by_role("heading", name="Pre-flight").wait_for()
    page.get_by_text("What the model is trained on").wait_for()
    highlighted = page.locator("span[style*='c8f7c5']")
    highlighted.first.wait_for()
    assert '"category"' in highlighted.nth(1).inner_text()  # the answer JSON carries the loss
    page.locator(".js-plotly-plot").filter(has_text="Token lengths").wait_for()
    page.get_by_text("would be truncated").wait_for()
    page.get_by_role("button", name="Measure on this machine").click()
    page.get_by_role("button", name="Measured").wait_for(timeout=240_000)
    assert page.get_by_text("measure first").count() == 0
    assert_no_exception(page)
    shot(page, "train-preflight")


def launch_watch_and_cancel(page, home: Path) -> None:
    page.locator("[data-testid='stRadio']").get_by_text(
        "Quick", exact=True
    ).click()  # no validation slice: short tiny runs
    page.wait_for_timeout(800)
    settle(page, 180_000)  # until the rerun is done, the old preset's settings stand beside the new ones
    page.get_by_text("Advanced settings").click()
    set_number(page, "Stop after this many steps (0: no cap)", 200)
    set_number(page, "Steps between checkpoints", 2)
    set_number(page, "Examples per step (batch size)", 2)
    page.get_by_role("button", name="Start training").click()
    page.get_by_role("button", name="Cancel run").wait_for(timeout=120_000)
    page.get_by_text("step ").first.wait_for()
    page.locator(".js-plotly-plot").filter(has_text="Loss").first.wait_for(timeout=180_000)
    first = loss_points(page)
    deadline = time.monotonic() + 120
    while loss_points(page) <= first + 1:
        assert time.monotonic() < deadline, "the loss curve did not move"
        page.wait_for_timeout(1000)
    assert page.get_by_text("Tokens/s").count() == 1 and page.get_by_text("Memory", exact=True).count() == 1
    shot(page, "train-live")
    page.get_by_role("button", name="Cancel run").click()
    page.get_by_text("· cancelled").wait_for(timeout=120_000)
    assert_no_exception(page)


def kill_and_resume(page, home: Path) -> None:
    # long enough that the kill lands mid-run even where the tiny model trains a step in 50 ms
    set_number(page, "Stop after this many steps (0: no cap)", 60)
    earlier = set((home / "runs").iterdir())
    page.get_by_role("button", name="Start training").click()
    page.get_by_role("button", name="Cancel run").wait_for(timeout=120_000)
    run_dir = new_run_dir(home, earlier)
    wait_for_event(run_dir, lambda e: e["event"] == "step" and e["step"] >= 3)
    pid = next(
        json.loads(line)["pid"] for line in (run_dir / "events.jsonl").read_text().splitlines() if '"started"' in line
    )
    os.killpg(pid, signal.SIGKILL)
    page.get_by_text("the worker stopped without a word").wait_for(timeout=60_000)
    page.get_by_role("button", name="Resume from the last checkpoint").click()
    page.get_by_text("· training").wait_for(timeout=120_000)
    wait_for_event(run_dir, lambda e: e["event"] == "train_started" and e.get("resumed_at", 0) >= 2)
    page.get_by_text("Training and evaluation finished.").wait_for(timeout=600_000)
    assert_no_exception(page)


def chat_in_playground(page) -> None:
    page.get_by_role("link", name="Playground").click()
    page.get_by_role("heading", name="Playground").wait_for()
    page.get_by_placeholder("Ask both models").fill("My invoice was charged twice.")
    page.get_by_placeholder("Ask both models").press("Enter")
    page.locator("[data-testid='stChatMessage']").nth(3).wait_for(timeout=180_000)
    assert page.locator("[data-testid='stChatMessage']").count() == 4  # the question and an answer, on each side
    assert_no_exception(page)
    shot(page, "playground")


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_llama):
    """This module's studio, with the tiny Llama's folder allowed to the app (STUDIO_ALLOWED_DIRS)."""
    home = tmp_path_factory.mktemp("train") / "home"
    home.mkdir()
    running = Server(home, env={"STUDIO_ALLOWED_DIRS": str(tiny_llama)})
    running.start()
    yield running
    running.stop()


def test_preflight_launch_live_cancel_and_resume_in_chromium(server, page, tiny_llama):
    page.goto(server.url)
    page.get_by_role("heading", name="Examples").wait_for()
    check_preflight(page, tiny_llama)
    launch_watch_and_cancel(page, server.home)
    kill_and_resume(page, server.home)
    run_dir = newest_run_dir(server.home)
    assert (run_dir / "manifest.json").exists() and (run_dir / "README.md").exists()
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    chat_in_playground(page)
