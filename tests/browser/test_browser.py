"""The main flow in a real browser (Debian's Chromium): steps 2 to 5 of the walking skeleton.

Add and edit examples (surviving a server restart), run the checks, train a tiny real
QLoRA run of the packaged model with live progress, and read the leaderboard. Set
STUDIO_SCREENSHOTS=docs/screenshots to refresh the documentation's screenshots.
"""

from __future__ import annotations

import json

from browser_kit import BROWSER_MARKS, assert_no_exception, expect_metric, settle, shot

pytestmark = BROWSER_MARKS
ANSWER = json.dumps({"category": "billing", "priority": "medium", "needs_human": True})


def add_and_edit_examples(page) -> None:
    page.get_by_role("link", name="Write").click()
    for label, text in (
        ("User message", "I was charged twice for my March invoice, please refund one of them."),
        ("Expected answer", ANSWER),
    ):
        field = page.get_by_label(label, exact=True)
        field.fill(text)
        field.press("Tab")
    page.get_by_text("The answer fits the project's json format").wait_for()
    page.get_by_role("button", name="Submit for review").click()
    page.get_by_text("saved as submitted").wait_for()
    page.get_by_role("link", name="Review").click()
    page.get_by_text("15 submitted example(s) wait").wait_for()
    page.get_by_role("button", name="Reject").click()
    page.get_by_text("rejected.").first.wait_for()
    page.get_by_role("link", name="Examples").click()
    expect_metric(page, "Submitted", "14")
    expect_metric(page, "Rejected", "1")


def run_checks(page) -> None:
    page.get_by_role("link", name="Quality").click()
    page.get_by_role("button", name="Run checks").click()
    # a cold run embeds every example with MiniLM: a minute or more on a loaded 2-core machine
    page.get_by_text("Same input, different answers: the fields priority differ.").wait_for(timeout=300_000)
    for external_id in ("T-0037", "T-0180", "T-0014", "T-0077"):
        page.get_by_text(external_id, exact=False).first.wait_for()
    assert_no_exception(page)
    shot(page, "quality")


def train_tiny_run(page) -> None:
    page.get_by_role("link", name="Train").click()
    page.get_by_text("Advanced settings").click()
    for label, value in (("Stop after this many steps (0: no cap)", "2"), ("Examples per step (batch size)", "2")):
        box = page.get_by_role("spinbutton", name=label, exact=True)
        box.fill(value)
        box.press("Enter")
        page.wait_for_timeout(800)
        settle(page)
    page.get_by_role("button", name="Start training").click()
    page.get_by_role("button", name="Cancel run").wait_for(timeout=300_000)
    page.get_by_text("step 1/2").or_(page.get_by_text("step 2/2")).first.wait_for(timeout=600_000)
    page.locator(".js-plotly-plot").first.wait_for()
    assert (
        page.get_by_text("Remaining").count() + page.get_by_text("Evaluation", exact=True).count() == 1
    )  # training, or answering
    shot(page, "train")
    page.get_by_text("Training and evaluation finished.").wait_for(timeout=900_000)
    assert_no_exception(page)


def read_leaderboard(page) -> None:
    page.get_by_role("link", name="Evaluate").click()
    page.get_by_text("Leaderboard", exact=True).wait_for()
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
    page.get_by_test_id("stTabs").get_by_text("held-out examples.").wait_for()  # not the verdict's source line
    page.get_by_role("button", name="Turn into a draft example").click()
    page.get_by_text("reword it in the editor").wait_for()


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
    """Add and review examples (surviving a server restart), check, train, evaluate."""
    page.goto(server.url)
    page.get_by_role("heading", name="Examples").wait_for()
    expect_metric(page, "Approved", "223")
    add_and_edit_examples(page)
    shot(page, "examples")

    server.stop()
    server.start()
    page.goto(server.url)
    page.get_by_role("heading", name="Examples").wait_for()
    expect_metric(page, "Submitted", "14")
    expect_metric(page, "Rejected", "1")

    run_checks(page)
    train_tiny_run(page)
    page.reload()
    page.get_by_text("Training and evaluation finished.").wait_for()
    read_leaderboard(page)
    look_at_slices(page)
    move_a_routing_threshold(page)
    turn_a_failure_into_a_draft(page)
