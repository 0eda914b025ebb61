"""Every page from a cold start, in Chromium: what a newcomer meets on a fresh machine.

Set STUDIO_SCREENSHOTS=docs/screenshots to refresh docs/screenshots/cold-*.png from the walk.
Each server runs with a fresh data home and an empty HOME (so no cache of an earlier run
helps). One walk opens every page and `/write?id=N` in turn; then, for every page, a
server of its own gets that page's address as its very first request, which must run
through the entry script (sign-in gate, sidebar, data home prepared) like any other visit.
"""

from __future__ import annotations

import pytest
from browser_kit import BROWSER_MARKS, Server, shot

pytestmark = BROWSER_MARKS
# url path -> the page's title (st.navigation's address for each file in pages/)
PAGES = {
    "": "Examples",
    "write": "Write",
    "review": "Review",
    "quality": "Quality",
    "coverage": "Coverage",
    "transfer": "Import & export",
    "train": "Train",
    "evaluate": "Evaluate",
    "playground": "Playground",
    "deploy": "Deploy",
    "project": "Project",
    "new_project": "New project",
    "settings": "Settings",
}
BROKEN_TEXT = ("Traceback (most recent call last)", "Error:", "Exception:")
# the script is running (any running icon), an element is stale, or a spinner turns
BUSY = (
    "[data-testid^='stStatusWidgetRunning'], [data-stale='true'], [data-testid='stSpinner'], [data-testid='stSkeleton']"
)


def fresh_server(tmp_path, name: str) -> Server:
    root = tmp_path / name
    (root / "home").mkdir(parents=True)
    (root / "user").mkdir()
    env = {"HOME": str(root / "user"), "XDG_CACHE_HOME": str(root / "user" / ".cache"), "HF_HOME": str(root / "hf")}
    server = Server(root / "home", env=env)
    server.start()
    return server


def assert_page_works(page, title: str) -> None:
    """No exception box, no traceback text, a title and some content, and no spinner left running."""
    page.get_by_role("heading", name=title).first.wait_for(timeout=300_000)
    wait_until_idle(page)
    main = page.locator("[data-testid='stMain']")
    text = main.inner_text()
    assert page.locator("[data-testid='stException']").count() == 0, text[-2000:]
    assert not [marker for marker in BROKEN_TEXT if marker in text], text[-2000:]
    assert len(text.strip()) > len(title) + 20, f"the {title} page shows almost nothing: {text!r}"
    sidebar = page.locator("[data-testid='stSidebar']").inner_text()
    assert "Examples" in sidebar and "Settings" in sidebar and ".py" not in sidebar, sidebar


def wait_until_idle(page, timeout_ms: int = 300_000) -> None:
    """Wait until the page has been idle for 2 s in a row; a spinner still turning after
    `timeout_ms` fails the test (a page that never finishes is a dead end too)."""
    page.wait_for_function(
        """([busy]) => {
            if (document.querySelector(busy)) { window.__idleSince = undefined; return false; }
            window.__idleSince = window.__idleSince || Date.now();
            return Date.now() - window.__idleSince > 2000;
        }""",
        arg=[BUSY],
        timeout=timeout_ms,
        polling=250,
    )


def test_every_page_opens_after_a_cold_start(tmp_path, browser):
    server = fresh_server(tmp_path, "walk")
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for path, title in PAGES.items():
            page.goto(f"{server.url}/{path}")
            assert_page_works(page, title)
            shot(page, f"cold-{path or 'examples'}")
        page.goto(f"{server.url}/write?id=3")
        assert_page_works(page, "Write")
        assert page.get_by_text("Example 3", exact=True).count() == 1
    finally:
        server.stop()


@pytest.mark.parametrize("path", [path for path in PAGES if path] + ["write?id=3"])
def test_a_page_address_works_as_the_servers_first_request(tmp_path, browser, path):
    server = fresh_server(tmp_path, "first")
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{server.url}/{path}")
        assert_page_works(page, PAGES[path.split("?")[0]])
        if path == "write?id=3":
            assert page.get_by_text("Example 3", exact=True).count() == 1
    finally:
        server.stop()
