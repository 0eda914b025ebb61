"""The main flow in a real browser (Debian's Chromium): steps 2 to 5 of the walking skeleton.

Add and edit examples (surviving a server restart), run the checks, train a tiny real
QLoRA run of the packaged model with live progress, and read the leaderboard. Set
STUDIO_SCREENSHOTS=docs/screenshots to refresh the documentation's screenshots.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from studio.paths import SOURCE_ROOT

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (make browser)"),
]
ANSWER = json.dumps({"category": "billing", "priority": "medium", "needs_human": True})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`streamlit run app.py` on a free port with its own data home."""

    def __init__(self, home: Path):
        self.home, self.port, self.process = home, _free_port(), None

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    def start(self) -> None:
        env = {**os.environ, "STUDIO_HOME": str(self.home)}
        command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(self.port), "--server.headless", "true"]
        self.log = open(self.home.parent / f"server-{self.port}.log", "ab")
        self.process = subprocess.Popen(command, cwd=SOURCE_ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=1)
                return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError("the studio did not start within 60 s")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


@pytest.fixture
def server(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    running = Server(home)
    running.start()
    yield running
    running.stop()


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        tab = browser.new_page(viewport={"width": 1400, "height": 1000})
        tab.set_default_timeout(60_000)
        yield tab
        browser.close()


def shot(page, name: str) -> None:
    folder = os.environ.get("STUDIO_SCREENSHOTS")
    if folder:
        page.wait_for_timeout(1500)
        page.screenshot(path=str(SOURCE_ROOT / folder / f"{name}.png"), full_page=True)


def assert_no_exception(page) -> None:
    assert page.locator("[data-testid='stException']").count() == 0


def choose(page, scope, label: str, option: str) -> None:
    scope.get_by_label(label).click()
    page.get_by_role("option", name=option, exact=True).click()


def expect_metric(page, label: str, value: str) -> None:
    """Wait until the metric called `label` shows `value` (the page redraws progressively)."""
    from playwright.sync_api import expect

    box = page.locator("[data-testid='stMetric']").filter(has_text=label)
    expect(box.locator("[data-testid='stMetricValue']")).to_have_text(value)


def add_and_edit_examples(page) -> None:
    forms = page.locator("[data-testid='stForm']")
    add = forms.nth(0)
    add.get_by_label("User message").fill("I was charged twice for my March invoice, please refund one of them.")
    add.get_by_label("Expected answer").fill(ANSWER)
    choose(page, add, "Status", "submitted")
    add.get_by_role("button", name="Add example").click()
    page.get_by_text("added as submitted").wait_for()
    expect_metric(page, "Submitted", "15")
    page.get_by_role("tab", name="Edit an example").click()
    edit = forms.nth(1)
    choose(page, edit, "Status", "rejected")
    edit.get_by_role("button", name="Save changes").click()
    page.get_by_text("as revision 2").wait_for()
    expect_metric(page, "Rejected", "1")


def run_checks(page) -> None:
    page.get_by_role("link", name="Quality").click()
    page.get_by_role("button", name="Run checks").click()
    page.get_by_text("Same input, different answers: the fields priority differ.").wait_for()
    for external_id in ("T-0037", "T-0180", "T-0014", "T-0077"):
        page.get_by_text(external_id, exact=False).first.wait_for()
    assert_no_exception(page)
    shot(page, "quality")


def train_tiny_run(page) -> None:
    page.get_by_role("link", name="Train").click()
    page.get_by_text("Advanced settings").click()
    steps = page.get_by_role("spinbutton", name="Max steps", exact=True)
    steps.fill("2")
    steps.press("Enter")
    page.get_by_role("button", name="Start training").click()
    page.get_by_role("button", name="Cancel run").wait_for(timeout=120_000)
    page.get_by_text("step 1/2").or_(page.get_by_text("step 2/2")).first.wait_for(timeout=180_000)
    page.locator(".js-plotly-plot").first.wait_for()
    assert page.get_by_text("Remaining").count() == 1
    shot(page, "train")
    page.get_by_text("Training and evaluation finished.").wait_for(timeout=400_000)
    assert_no_exception(page)


def read_leaderboard(page) -> None:
    page.get_by_role("link", name="Evaluate").click()
    page.get_by_text("Leaderboard").wait_for()
    page.get_by_text("Ranked by field_accuracy").wait_for()
    page.get_by_text("95% interval").first.wait_for()
    verdict = page.locator("[data-testid='stAlert']").first.inner_text()
    assert any(word in verdict for word in ("Ship it", "Not proven", "Do not ship", "Better, but"))
    chart = page.locator(".js-plotly-plot").first
    chart.wait_for()
    assert "tuned" in chart.inner_text() and "baseline-3shot" in chart.inner_text()
    assert_no_exception(page)
    shot(page, "evaluate")


def look_at_slices(page) -> None:
    page.get_by_role("tab", name="Slices").click()
    page.get_by_text("field_accuracy per tag").wait_for()
    page.get_by_text("input length", exact=True).click()
    page.get_by_text("field_accuracy per input length").wait_for()


def turn_a_failure_into_a_draft(page) -> None:
    page.get_by_role("tab", name="Side by side").click()
    page.get_by_text("all wrong", exact=True).click()
    page.get_by_text("held-out examples.").wait_for()
    page.get_by_role("button", name="Turn into a draft example").click()
    page.get_by_text("reword it on the Examples page").wait_for()


def move_a_routing_threshold(page) -> None:
    page.get_by_role("tab", name="Confidence routing").click()
    straight = page.locator("[data-testid='stTable'] tr").filter(has_text="straight through")
    straight.wait_for()
    page.get_by_text("Routing thresholds").click()
    for label in ("Human review at confidence", "Straight through at confidence"):
        thumb = page.get_by_role("slider", name=label)
        thumb.focus()
        thumb.press("Home")
    from playwright.sync_api import expect

    expect(page.get_by_role("slider", name="Straight through at confidence")).to_have_value("0", timeout=30_000)
    expect(straight).to_contain_text("100%", timeout=60_000)  # each threshold move reruns the dashboard
    shot(page, "routing")
    assert_no_exception(page)


def test_examples_checks_training_and_leaderboard_in_chromium(server, page):
    page.goto(server.url)
    page.get_by_role("heading", name="Examples").wait_for()
    expect_metric(page, "Approved", "223")
    add_and_edit_examples(page)
    shot(page, "examples")

    server.stop()
    server.start()
    page.goto(server.url)
    page.get_by_role("heading", name="Examples").wait_for()
    expect_metric(page, "Submitted", "15")
    expect_metric(page, "Rejected", "1")

    run_checks(page)
    train_tiny_run(page)
    page.reload()
    page.get_by_text("Training and evaluation finished.").wait_for()
    read_leaderboard(page)
    look_at_slices(page)
    move_a_routing_threshold(page)
    turn_a_failure_into_a_draft(page)
