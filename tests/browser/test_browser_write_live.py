"""The Write page checks the answer as it is typed, without the expert leaving the field (Chromium)."""

from __future__ import annotations

import json

from browser_kit import BROWSER_MARKS, assert_no_exception, new_tab
from playwright.sync_api import expect

pytestmark = BROWSER_MARKS
VALID = json.dumps({"category": "billing", "priority": "low", "needs_human": False})


def test_the_format_check_follows_each_edit_while_the_field_keeps_the_focus(server, browser):
    tab = new_tab(browser)
    tab.goto(server.url)
    tab.get_by_role("heading", name="Examples").wait_for()
    tab.get_by_role("link", name="Write").click()
    tab.get_by_role("heading", name="Write").wait_for()
    tab.get_by_label("User message", exact=True).press_sequentially("Charged twice for March, please refund.", delay=10)
    answer = tab.get_by_label("Expected answer", exact=True)
    answer.click()
    answer.press_sequentially('{"category": "billing"', delay=10)  # typed, never left: no blur, no Ctrl+Enter
    expect(tab.get_by_text("The answer breaks the json format")).to_be_visible(timeout=30_000)
    answer.fill(VALID)
    expect(tab.get_by_text("The answer fits the project's json format")).to_be_visible(timeout=30_000)
    expect(answer).to_be_focused()
    expect(answer).to_have_value(VALID)
    assert_no_exception(tab)
