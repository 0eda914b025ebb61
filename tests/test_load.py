"""Load: 20 browser sessions reading and writing at once against one server; every write counted.

One Chromium drives STUDIO_LOAD_SESSIONS (20) browser contexts concurrently (Playwright's
async API), each a separate Streamlit session. Each repeats, for STUDIO_LOAD_SECONDS
(12 in the suite, 300 for the figure in docs/reliability.md): open the Examples page and
search it (a read), then write a new example with a unique marker on the Write page and
save it (a write), confirmed only when the page shows "saved". Paced with a short pause
between actions, so the test measures correctness under concurrency on a small machine.
Afterwards: no exception box was seen, the server logged no traceback, and the database
holds exactly as many marked examples as the sessions saw confirmed.

    STUDIO_LOAD_SECONDS=300 .venv/bin/python -m pytest -s tests/test_load.py
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from dataclasses import dataclass, field

import duckdb
from browser_kit import BROWSER_MARKS, CHROMIUM, Server

pytestmark = BROWSER_MARKS
SESSIONS = int(os.environ.get("STUDIO_LOAD_SESSIONS", "20"))
SECONDS = float(os.environ.get("STUDIO_LOAD_SECONDS", "12"))
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
    await page.goto(f"{url}/")
    await page.get_by_role("heading", name="Examples").wait_for()
    await _settle(page)
    search = page.get_by_role("textbox", name="Search", exact=True)
    await search.fill(SEARCHES[number % len(SEARCHES)])
    await search.press("Enter")
    await _settle(page)
    await _check(page, tally, "examples page")
    tally.reads += 1


async def _write(page, url: str, tally: Tally, session: int, number: int) -> None:
    await page.goto(f"{url}/write")
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
        while time.monotonic() < deadline:
            await _read(page, url, tally, number)
            await page.wait_for_timeout(PAUSE_MS)
            await _write(page, url, tally, session, number)
            await page.wait_for_timeout(PAUSE_MS)
            number += 1
    except Exception as error:  # noqa: BLE001 - any failure is a finding of the load test, reported with its session
        tally.problems.append(f"session {session}, round {number}: {type(error).__name__}: {str(error)[:300]}")
    finally:
        await context.close()
    return tally


async def _drive(url: str) -> tuple[list[Tally], float]:
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
        tallies = await asyncio.gather(*(_session(browser, url, n, started + SECONDS) for n in range(SESSIONS)))
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


def test_twenty_sessions_read_and_write_for_a_while_and_every_write_is_there(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    server = Server(home)
    server.start()
    try:
        tallies, elapsed = asyncio.run(_drive(server.url))
    finally:
        server.stop()
    log = (tmp_path / f"server-{server.port}.log").read_text(errors="replace")
    reads, writes = sum(t.reads for t in tallies), sum(t.writes for t in tallies)
    minutes = elapsed / 60
    print(
        f"\nload: {SESSIONS} sessions for {elapsed:.0f} s: {reads} reads ({reads / minutes:.0f}/min), "
        f"{writes} confirmed writes ({writes / minutes:.0f}/min), {_marked_examples(home / 'studio.duckdb')} in the database"
    )
    problems = [p for t in tallies for p in t.problems]
    assert not problems, "\n".join(problems[:20])
    assert "Traceback" not in log, log[-3000:]
    assert all(t.writes > 0 and t.reads > 0 for t in tallies)
    assert _marked_examples(home / "studio.duckdb") == writes
