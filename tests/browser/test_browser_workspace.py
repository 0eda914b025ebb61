"""The expert workspace in a real browser (Debian's Chromium).

An invalid JSON answer is refused before it can be submitted; an example is submitted,
reviewed and approved with the keyboard alone; an old revision is restored; and of two
experts editing the same example, the second save is refused with the first one's
change shown.
"""

from __future__ import annotations

import json
import re

from browser_kit import BROWSER_MARKS, assert_no_exception, expect_metric, new_tab, settle, shot
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

pytestmark = BROWSER_MARKS
USER = "My invoice for March shows the Business plan but we are on Personal. Please fix it."
FIRST = json.dumps({"category": "billing", "priority": "medium", "needs_human": True})
SECOND = json.dumps({"category": "billing", "priority": "low", "needs_human": True})


def type_into(tab, label: str, text: str) -> None:
    """Fill a text area and leave it, which is when Streamlit reruns the page with the new text."""
    box = tab.get_by_label(label, exact=True)
    box.fill(text)
    box.press("Tab")
    settle(tab)


def expect_field(tab, label: str, value: str) -> None:
    """Wait for the page to settle on one field called `label` (a rerun briefly shows the old one too)."""
    field = tab.get_by_label(label, exact=True)
    expect(field).to_have_count(1, timeout=30_000)
    expect(field).to_have_value(value)


def write_and_submit(tab) -> None:
    tab.get_by_role("link", name="Write").click()
    tab.get_by_role("heading", name="Write").wait_for()
    type_into(tab, "User message", USER)
    type_into(tab, "Expected answer", '{"category": "billing"')
    tab.get_by_text("The answer breaks the json format").wait_for()
    expect(tab.get_by_role("button", name="Submit for review")).to_be_disabled(timeout=30_000)
    tab.get_by_label("Expected answer", exact=True).press("Alt+U")  # refused: the button is disabled
    shot(tab, "write-invalid")
    type_into(tab, "Expected answer", FIRST)
    tab.get_by_text("The answer fits the project's json format").wait_for()
    expect(tab.get_by_role("button", name="Submit for review")).to_be_enabled(timeout=30_000)
    tab.get_by_label("Expected answer", exact=True).press("Alt+U")  # straight from the text field
    tab.get_by_text("saved as submitted").wait_for()
    assert_no_exception(tab)


def press_until(tab, key: str, shown: str, tries: int = 3) -> None:
    """Press a shortcut until its result is on the page.

    On a loaded machine a key pressed while Streamlit is still mounting the page's buttons
    can be dropped (it is a no-op, never a wrong action: each button decides the example
    it was drawn with), so the test presses again, as a person would."""
    for _ in range(tries - 1):
        settle(tab)
        tab.keyboard.press(key)
        try:
            tab.get_by_text(shown).first.wait_for(timeout=20_000)
            return
        except PlaywrightTimeout:
            continue
    settle(tab)
    tab.keyboard.press(key)
    tab.get_by_text(shown).first.wait_for()


def review_with_the_keyboard(tab, new_id: int) -> None:
    tab.get_by_role("link", name="Review").click()
    tab.get_by_text("15 submitted example(s) wait").wait_for()
    press_until(tab, "Alt+P", f"Example {new_id} ·")  # from the first in the queue back to the last: the new one
    tab.get_by_text(USER).wait_for()
    shot(tab, "review")
    expect(tab.get_by_role("button", name="Approve")).to_be_enabled(timeout=30_000)
    press_until(tab, "Alt+A", f"Example {new_id} approved.")
    tab.get_by_text("14 submitted example(s) wait").wait_for()
    tab.get_by_role("link", name="Examples").click()
    expect_metric(tab, "Approved", "224")


def open_example(tab, url: str, example_id: int) -> None:
    tab.goto(f"{url}/write?id={example_id}")
    tab.get_by_text(f"Example {example_id}", exact=False).first.wait_for()
    expect(tab.get_by_role("button", name="Save")).to_be_enabled(timeout=30_000)


def edit_and_restore(tab, url: str, example_id: int) -> None:
    open_example(tab, url, example_id)
    answer = tab.get_by_label("Expected answer", exact=True)
    answer.fill(SECOND)
    expect(answer).to_have_value(SECOND)
    answer.press("Alt+S")  # saves what was just typed, without leaving the field first
    tab.get_by_text(f"Saved example {example_id} as revision 3").wait_for()
    settle(tab)  # the history below the message is still being redrawn with revision 3 on top
    tab.get_by_role("tab", name="History").click()
    tab.get_by_text(re.compile(r"^Revision 2 · ")).click()
    settle(tab)
    tab.get_by_role("button", name="Restore revision 2").click()
    tab.get_by_text("Restored revision 2 as revision 4").wait_for()
    expect_field(tab, "Expected answer", FIRST)
    assert_no_exception(tab)


def refuse_a_conflicting_edit(first, second, url: str, example_id: int) -> None:
    open_example(first, url, example_id)
    open_example(second, url, example_id)
    type_into(first, "Expected answer", SECOND)
    first.get_by_role("button", name="Save").click()
    first.get_by_text(f"Saved example {example_id} as revision 5").wait_for()
    type_into(second, "User message", USER + " Thanks!")
    second.get_by_role("button", name="Save").click()
    second.get_by_text(f"Someone else saved example {example_id} after you opened it").wait_for()
    second.get_by_text("Revision 5", exact=False).first.wait_for()
    expect_field(second, "User message", USER + " Thanks!")
    shot(second, "conflict")
    open_example(first, url, example_id)
    expect_field(first, "User message", USER)  # the second save wrote nothing
    expect_field(first, "Expected answer", SECOND)


def test_write_review_restore_and_conflict_in_chromium(server, browser):
    tab = new_tab(browser)
    tab.goto(server.url)
    tab.get_by_role("heading", name="Examples").wait_for()
    write_and_submit(tab)
    new_id = 248  # the demo has 247 examples
    review_with_the_keyboard(tab, new_id)
    edit_and_restore(tab, server.url, new_id)
    refuse_a_conflicting_edit(tab, new_tab(browser), server.url, new_id)
