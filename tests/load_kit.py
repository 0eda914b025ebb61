"""The load driver: browser sessions reading and writing at once against one server; every write counted.

One Chromium drives `sessions` browser contexts concurrently (Playwright's async API), each a
separate Streamlit session. Each does rounds until `seconds` have passed, at least one: open the
Examples page and search it (a read), then go to the Write page by the sidebar's link, write a new
example with a unique marker and save it (a write), confirmed only when the page shows "saved". Only
the first read loads the page; the rest follow the sidebar's links within the session, as a user does
(20 tabs each parsing the whole frontend again would measure Chromium, not the studio). Paced with a short pause
between actions, so it measures correctness under concurrency on a small machine. tests/test_load.py
runs one round in each of 20 sessions; bench/load.py soaks for minutes (docs/reliability.md).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from browser_kit import CHROMIUM, Server

PAUSE_MS = 1000
WAIT_MS = 180_000  # a busy 2-core machine can take minutes to serve 20 sessions at once
MARKER = "LOADTEST"
ANSWER = json.dumps({"category": "billing", "priority": "low", "needs_human": False})
SETTLED = "() => !document.querySelector(\"[data-testid='stStatusWidgetRunningIcon'], [data-stale='true']\")"
SEARCHES = ("invoice", "backup", "password", "NAS-200", "refund")


@dataclass
class Tally:
    """What one session did and saw."""

    reads: int = 0
    writes: int = 0
    problems: list[str] = field(default_factory=list)


async def _settle(page) -> None:
    await page.wait_for_function(SETTLED, timeout=WAIT_MS)


async def _check(page, tally: Tally, where: str) -> None:
    for box in await page.locator("[data-testid='stException']").all_inner_texts():
        tally.problems.append(f"{where}: exception box: {box[:300]}")
    if await page.get_by_text("Not saved").count():
        tally.problems.append(f"{where}: a save was refused")


async def _read(page, url: str, tally: Tally, number: int) -> None:
    if number == 0:
        await page.goto(f"{url}/")
    else:  # the sidebar's link: a rerun in the same session, not a reload of the whole frontend
        await page.get_by_role("link", name="Examples", exact=True).click()
    await page.get_by_role("heading", name="Examples").wait_for()
    await _settle(page)
    search = page.get_by_role("textbox", name="Search", exact=True)
    await search.fill(SEARCHES[number % len(SEARCHES)])
    await search.press("Enter")
    await _settle(page)
    await _check(page, tally, "examples page")
    tally.reads += 1


async def _write(page, tally: Tally, session: int, number: int) -> None:
    await page.get_by_role("link", name="Write", exact=True).click()
    await page.get_by_role("heading", name="Write").wait_for()
    await _settle(page)
    await page.get_by_role("button", name="New example").click()  # the session still holds its last save open
    await page.get_by_text("A new example").wait_for()
    await _settle(page)
    user = page.get_by_label("User message", exact=True)
    await user.fill(f"{MARKER} session {session} write {number}: my invoice looks wrong, please check it.")
    await user.press("Tab")
    await _settle(page)
    answer = page.get_by_label("Expected answer", exact=True)
    await answer.fill(ANSWER)
    await answer.press("Tab")
    await _settle(page)
    await page.get_by_role("button", name=re.compile(r"^Save")).click()
    await page.get_by_text("saved as draft").wait_for(timeout=WAIT_MS)
    tally.writes += 1  # counted only once the page confirmed it
    await _settle(page)
    await _check(page, tally, "write page")


async def _session(browser, url: str, session: int, deadline: float) -> Tally:
    tally = Tally()
    context = await browser.new_context(viewport={"width": 1200, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    number = 0
    try:
        while number == 0 or time.monotonic() < deadline:  # every session does at least one round
            await _read(page, url, tally, number)
            await page.wait_for_timeout(PAUSE_MS)
            await _write(page, tally, session, number)
            await page.wait_for_timeout(PAUSE_MS)
            number += 1
    except Exception as error:  # noqa: BLE001 - any failure is a finding of the load test, reported with its session
        tally.problems.append(f"session {session}, round {number}: {type(error).__name__}: {str(error)[:300]}")
    finally:
        await context.close()
    return tally


async def _drive(url: str, sessions: int, seconds: float) -> tuple[list[Tally], float]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        warm = await browser.new_page()
        await warm.goto(url)  # the first session prepares the studio (demo project, default model)
        await warm.get_by_role("heading", name="Examples").wait_for(timeout=300_000)
        await warm.close()
        started = time.monotonic()
        tallies = await asyncio.gather(*(_session(browser, url, n, started + seconds) for n in range(sessions)))
        elapsed = time.monotonic() - started
        await browser.close()
    return list(tallies), elapsed


def _marked_examples(db) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(
            "SELECT count(*) FROM examples WHERE CAST(messages AS VARCHAR) LIKE ?", [f"%{MARKER}%"]
        ).fetchone()[0]
    finally:
        con.close()


@dataclass(frozen=True)
class LoadResult:
    """What a load run saw: each session's tally, the seconds of load, the server's log, the marked examples
    the database holds afterwards."""

    tallies: list[Tally]
    elapsed: float
    log: str
    stored: int

    @property
    def reads(self) -> int:
        return sum(t.reads for t in self.tallies)

    @property
    def writes(self) -> int:
        return sum(t.writes for t in self.tallies)

    @property
    def problems(self) -> list[str]:
        return [p for t in self.tallies for p in t.problems]

    def summary(self) -> str:
        minutes = self.elapsed / 60
        return (
            f"load: {len(self.tallies)} sessions for {self.elapsed:.0f} s: {self.reads} reads "
            f"({self.reads / minutes:.0f}/min), {self.writes} confirmed writes ({self.writes / minutes:.0f}/min), "
            f"{self.stored} in the database"
        )


def run_load(root: Path, sessions: int, seconds: float) -> LoadResult:
    """Serve a fresh data home under `root`, drive `sessions` sessions for `seconds` (at least one round each)."""
    home = root / "home"
    home.mkdir(parents=True)
    server = Server(home)
    server.start()
    try:
        tallies, elapsed = asyncio.run(_drive(server.url, sessions, seconds))
    finally:
        server.stop()
    log = (root / f"server-{server.port}.log").read_text(errors="replace")
    return LoadResult(tallies, elapsed, log, _marked_examples(home / "studio.duckdb"))
