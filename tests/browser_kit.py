"""Shared pieces of the browser tests: a real `streamlit run app/main.py` server and Chromium helpers.

The `server` and `page` fixtures live in conftest.py; set STUDIO_SCREENSHOTS=docs/screenshots
to refresh the documentation's screenshots while the browser tests run.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from studio.paths import APP_SCRIPT, SOURCE_ROOT

CHROMIUM = "/usr/bin/chromium"
# expect() waits 5 s by default; a loaded CI machine can take longer to redraw a page
expect.set_options(timeout=60_000)
BROWSER_MARKS = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (make browser)"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`streamlit run app/main.py` on a free port with its own data home (and `env` on top of ours)."""

    def __init__(self, home: Path, env: dict[str, str] | None = None):
        self.home, self.port, self.process = home, _free_port(), None
        self.env = env or {}

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    def start(self) -> None:
        env = {**os.environ, "STUDIO_HOME": str(self.home), **self.env}
        command = [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(APP_SCRIPT),
            "--server.port",
            str(self.port),
            "--server.headless",
            "true",
        ]
        self.log = open(self.home.parent / f"server-{self.port}.log", "ab")
        self.process = subprocess.Popen(command, cwd=SOURCE_ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=1)
                return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError("the studio did not start within 90 s")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:  # a loaded machine can take long to shut down; the test is not about that
            self.process.kill()
            self.process.wait(timeout=30)
        self.log.close()


def launch_chromium(playwright):
    """Debian's Chromium, headless, with a tab of the size the screenshots use."""
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    )
    return browser


def new_tab(browser):
    tab = browser.new_page(viewport={"width": 1400, "height": 1000})
    tab.set_default_timeout(60_000)
    return tab


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


def describe_tabs(browser, test_name: str) -> None:
    """Print the text of every open tab and save a screenshot, so a failure in CI can be read afterwards."""
    folder = SOURCE_ROOT / "test-failures"
    folder.mkdir(exist_ok=True)
    for context_number, context in enumerate(browser.contexts):
        for page_number, page in enumerate(context.pages):
            name = f"{test_name}-{context_number}-{page_number}"
            try:
                page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
                text = page.locator("body").inner_text(timeout=5_000)
            except Exception as error:  # a crashed tab still lets the others be described
                text = f"(could not read the tab: {error})"
            print(f"\n--- tab {name} at {page.url} ---\n{text[-3000:]}")


def settle(page, timeout: float = 60_000, quiet_ms: int = 500) -> None:
    """Wait until the page's script run has finished, no element is stale (greyed out from the last run), and
    it has stayed so for `quiet_ms`: on a busy machine the rerun a change asks for can take a moment to start,
    and a check made in that moment passes before the server has the new value."""
    page.evaluate("window.__settledSince = undefined")
    page.wait_for_function(
        """([busy, quiet]) => {
            if (document.querySelector(busy)) { window.__settledSince = undefined; return false; }
            window.__settledSince = window.__settledSince || Date.now();
            return Date.now() - window.__settledSince >= quiet;
        }""",
        arg=["[data-testid='stStatusWidgetRunningIcon'], [data-stale='true']", quiet_ms],
        timeout=timeout,
        polling=100,
    )
