"""The Quality and Coverage pages in a real browser (Debian's Chromium).

Resolve a contradiction side by side; dismiss a finding and see it stay dismissed after
a reload and a new check; upload a production sample and turn an uncovered input into a
draft example. Set STUDIO_SCREENSHOTS=docs/screenshots to refresh the screenshots.
"""

from __future__ import annotations

import os

import pytest
from browser_kit import BROWSER_MARKS, Server, assert_no_exception, new_tab, settle

from studio.paths import SOURCE_ROOT

pytestmark = BROWSER_MARKS
PRODUCTION = "\n".join(
    [
        "My backups have failed every night since Tuesday with an upload timeout",
        "What is a good recipe for lasagna with spinach?",
        "How long should I bake a lasagna at 200 degrees?",
        "Which football team won the league last season?",
    ]
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("quality") / "home"
    home.mkdir()
    running = Server(home)
    running.start()
    yield running
    running.stop()


@pytest.fixture
def page(server, browser):
    tab = new_tab(browser)
    tab.set_default_timeout(240_000)
    tab.goto(server.url)
    tab.get_by_role("heading", name="Examples").wait_for()
    return tab


def shot(locator, name: str) -> None:
    folder = os.environ.get("STUDIO_SCREENSHOTS")
    if folder:
        locator.page.wait_for_timeout(1500)
        locator.screenshot(path=str(SOURCE_ROOT / folder / f"{name}.png"))


def finding_box(page, *external_ids: str):
    """The contradiction naming these examples (the same pair can also be an exact duplicate of input)."""
    boxes = page.locator("[class*='st-key-fbox_']").filter(has_text="Contradictions · ")
    for external_id in external_ids:
        boxes = boxes.filter(has_text=external_id)
    return boxes


def open_quality(page, run: bool) -> None:
    page.get_by_role("link", name="Quality").click()
    page.get_by_role("heading", name="Quality").wait_for()
    if run:
        page.get_by_role("button", name="Run checks").click()
        page.get_by_text("texts embedded").wait_for()
        settle(page)
    finding_box(page, "T-0153", "T-0225").wait_for()  # a contradiction no test decides


def test_a_contradiction_is_resolved_side_by_side(page):
    open_quality(page, run=True)
    box = finding_box(page, "T-0037", "T-0180")
    box.wait_for()
    assert box.get_by_text("the fields priority differ").count() == 1
    box.locator("mark").first.wait_for()
    assert box.locator("mark").count() >= 2  # the differing words are marked on both sides
    shot(box, "quality-contradiction")
    side = box.locator("[class*='st-key-side_']").filter(has_text="T-0037")
    side.get_by_role("button", name="Keep this one").click()
    page.get_by_text("Kept T-0037; the others are rejected.").wait_for()
    from playwright.sync_api import expect

    expect(finding_box(page, "T-0037", "T-0180")).to_have_count(0)
    page.get_by_text("resolved", exact=True).click()
    finding_box(page, "T-0037", "T-0180").get_by_text("kept example").wait_for()
    assert_no_exception(page)


def test_a_dismissed_finding_stays_dismissed(page):
    open_quality(page, run=True)
    box = finding_box(page, "T-0098", "T-0187")
    reason = box.get_by_label("Reason to dismiss")
    reason.fill("both answers are defensible for this customer")
    reason.press("Enter")  # commit the text before the click, or the rerun it causes swallows the click
    settle(page)
    box.get_by_role("button", name="Dismiss").click()
    page.get_by_text("Dismissed: it stays dismissed").wait_for()
    page.reload()  # a new session: nothing is remembered in the browser
    page.get_by_role("heading", name="Quality").wait_for()
    open_quality(page, run=True)
    from playwright.sync_api import expect

    expect(finding_box(page, "T-0098", "T-0187")).to_have_count(0)
    page.get_by_text("dismissed", exact=True).click()
    finding_box(page, "T-0098", "T-0187").get_by_text("both answers are defensible for this customer").wait_for()
    assert_no_exception(page)


def test_an_uncovered_production_input_becomes_a_draft(page, tmp_path):
    sample = tmp_path / "production.txt"
    sample.write_text(PRODUCTION)
    drafts = int(
        page.locator("[data-testid='stMetric']")
        .filter(has_text="Draft")
        .locator("[data-testid='stMetricValue']")
        .inner_text()
    )
    page.get_by_role("link", name="Coverage").click()
    page.get_by_role("heading", name="Coverage").wait_for()
    page.locator(".js-plotly-plot").first.wait_for()
    page.locator("input[type='file']").set_input_files(str(sample))
    page.get_by_text("Far from every example").wait_for()
    gaps = page.locator("[class*='st-key-gap_']")
    gaps.filter(has_text="lasagna").first.wait_for()
    assert gaps.filter(has_text="backups have failed").count() == 0
    shot(page.locator("[data-testid='stMain']"), "coverage")
    gaps.filter(has_text="lasagna").first.get_by_role("button", name="Make draft").first.click()
    page.get_by_text("created from a production input").wait_for()
    page.get_by_role("link", name="Examples").click()
    page.get_by_role("heading", name="Examples").wait_for()
    from playwright.sync_api import expect

    draft = page.locator("[data-testid='stMetric']").filter(has_text="Draft").locator("[data-testid='stMetricValue']")
    expect(draft).to_have_text(str(drafts + 1), timeout=120_000)
    assert_no_exception(page)
