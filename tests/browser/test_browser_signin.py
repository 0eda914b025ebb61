"""Signing in, a role refused an action, and signing out, in a real browser (Debian's Chromium).

The server runs with STUDIO_SIGN_IN=1: until someone signs in, the sign-in form is all
there is, and a page's own address shows only "Sign in first". A wrong password gets the same message as an
unknown name; an annotator who tries to start training is refused by the studio layer
with a plain message (no traceback); after signing out, no data page is reachable.
"""

from __future__ import annotations

import pytest
from browser_kit import BROWSER_MARKS, Server, assert_no_exception, settle, shot
from playwright.sync_api import expect

from studio.project.people import save_person
from studio.project.signin import WRONG, set_password

pytestmark = BROWSER_MARKS
PASSWORD = "correct horse battery"


@pytest.fixture
def signin_server(tmp_path, monkeypatch):
    """The studio with sign-in on, an admin and an annotator who have passwords."""
    from studio.paths import db_path

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("STUDIO_HOME", str(home))
    admin = save_person(db_path(), None, "ada", "admin")
    save_person(db_path(), admin, "ann", "annotator")
    for name in ("ada", "ann"):
        set_password(db_path(), admin, name, PASSWORD)
    running = Server(home, env={"STUDIO_SIGN_IN": "1"})
    running.start()
    yield running
    running.stop()


def expect_sign_in_form(tab) -> None:
    tab.get_by_role("heading", name="Sign in", exact=True).wait_for()
    settle(tab)
    tab.get_by_label("Password", exact=True).wait_for()
    expect(tab.get_by_text("Signed in as")).to_have_count(0)
    expect(tab.get_by_role("heading", name="Examples", exact=True)).to_have_count(0)
    expect(tab.get_by_role("heading", name="Review", exact=True)).to_have_count(0)


def expect_no_data(tab) -> None:
    """A page's own address, signed out: the sign-in form in its place, or (on a first visit,
    when Streamlit runs the page's file directly) just "Sign in first"; no page, no sidebar data."""
    refused = tab.get_by_text("Sign in first.").or_(tab.get_by_role("heading", name="Sign in", exact=True))
    refused.first.wait_for()
    settle(tab)
    expect(tab.get_by_text("Signed in as")).to_have_count(0)
    expect(tab.locator("h1").filter(has_not_text="Sign in")).to_have_count(0)
    expect(tab.get_by_label("Project")).to_have_count(0)
    assert_no_exception(tab)


def sign_in(tab, name: str, password: str) -> None:
    tab.get_by_label("Name", exact=True).fill(name)
    tab.get_by_label("Name", exact=True).press("Tab")
    tab.get_by_label("Password", exact=True).fill(password)
    tab.get_by_label("Password", exact=True).press("Tab")
    tab.get_by_role("button", name="Sign in", exact=True).click()
    settle(tab)


def test_sign_in_a_refused_action_and_sign_out(signin_server, page):
    page.goto(f"{signin_server.url}/review")  # a data page's own address shows no data either
    expect_no_data(page)
    page.goto(signin_server.url)
    expect_sign_in_form(page)
    shot(page, "signin")

    sign_in(page, "ann", "not the password")
    page.get_by_text(WRONG).wait_for()
    expect_sign_in_form(page)

    sign_in(page, "ann", PASSWORD)
    page.get_by_role("heading", name="Examples", exact=True).wait_for()
    page.get_by_text("Signed in as ann (annotator)").wait_for()
    expect(page.get_by_label("You are")).to_have_count(0)
    assert_no_exception(page)

    page.get_by_role("link", name="Train").click()
    page.get_by_role("heading", name="Train", exact=True).wait_for()
    settle(page)
    start = page.get_by_role("button", name="Start training")
    start.wait_for()
    expect(start).to_be_enabled(timeout=60_000)
    start.click()
    settle(page)
    page.get_by_text("ann is an annotator; only admins may launch, cancel or resume training runs").wait_for()
    assert_no_exception(page)
    shot(page, "signin-refused")

    page.get_by_role("button", name="Sign out").click()
    expect_sign_in_form(page)
    for path in ("review", "settings", "train"):
        page.goto(f"{signin_server.url}/{path}")
        expect_no_data(page)
    page.goto(signin_server.url)
    expect_sign_in_form(page)
