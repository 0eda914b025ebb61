"""Defining a task in a real browser (Debian's Chromium): a new project with a label set and guidelines,
an example written by pressing a number key, a CSV imported into it with the format enforced; and a chat
JSONL whose rows share a system message, whose inferred description and labels show before the import."""

from __future__ import annotations

import json

from browser_kit import BROWSER_MARKS, assert_no_exception, settle, shot
from playwright.sync_api import expect

from studio.paths import SOURCE_ROOT

pytestmark = BROWSER_MARKS
CLINC = SOURCE_ROOT / "tests" / "data" / "clinc20_chat.jsonl"


def fill(tab, label: str, text: str) -> None:
    box = tab.get_by_label(label, exact=True)
    box.fill(text)
    box.press("Tab")
    settle(tab)


def new_project(tab, server, name: str) -> None:
    tab.goto(server.url)
    tab.get_by_role("heading", name="Examples").wait_for()
    tab.get_by_role("link", name="New project").first.click()
    tab.get_by_role("heading", name="New project").wait_for()
    fill(tab, "Name", name)


def test_a_new_label_project_written_with_a_number_key_and_a_csv_imported(server, page, tmp_path):
    tab = page
    new_project(tab, server, "intents")
    fill(tab, "Task description", "Name the intent of the customer's message.")
    tab.get_by_text("Label set", exact=True).click()
    settle(tab)
    fill(tab, "Labels, one per line", "refund\ndelivery\nother")
    fill(tab, "Annotation guidelines (markdown)", "Choose **delivery** for anything about a parcel.")
    shot(tab, "new-project")
    tab.get_by_role("button", name="Create and write the first example").click()
    tab.get_by_role("heading", name="Write").wait_for()
    tab.get_by_text("Project intents created").wait_for()
    expect(tab.get_by_text("for anything about a parcel")).to_be_visible()
    fill(tab, "User message", "Where is my parcel? It was due on Monday.")
    tab.get_by_role("heading", name="Write").click()  # out of the text field: digits pick labels
    tab.keyboard.press("2")
    settle(tab)
    expect(tab.get_by_label("delivery", exact=True)).to_be_checked()
    tab.get_by_text("The answer fits the project's labels format").wait_for()
    tab.get_by_role("button", name="Submit for review").click()
    tab.get_by_text("saved as submitted").wait_for()
    assert_no_exception(tab)

    csv = tmp_path / "more.csv"
    csv.write_text("question,answer\nI want my money back,refund\nParcel never came,delivery\nhello there,greeting\n")
    tab.get_by_role("link", name="Import & export").click()
    tab.get_by_role("heading", name="Import & export").wait_for()
    tab.locator("input[type=file]").first.set_input_files(str(csv))
    settle(tab)
    tab.get_by_role("combobox", name="Status of the new examples", exact=True).click()
    tab.get_by_role("option", name="approved", exact=True).click()
    settle(tab)
    tab.get_by_text("1 bad row: nothing will be imported").wait_for()  # the format is enforced
    expect(tab.locator("[role=gridcell]").filter(has_text="'greeting' is not one of the labels")).to_have_count(1)
    expect(tab.get_by_role("button", name="Import 2 examples")).to_be_disabled()
    tab.get_by_role("combobox", name="Status of the new examples", exact=True).click()
    tab.get_by_role("option", name="draft", exact=True).click()
    settle(tab)
    tab.get_by_role("button", name="Import 3 examples").click()
    tab.get_by_text("Imported 3 examples into intents").wait_for()
    assert_no_exception(tab)


def test_an_imported_chat_file_shows_the_inferred_description_and_labels_first(server, page, tmp_path):
    tab = page
    rows = [json.loads(line) for line in CLINC.read_text().splitlines()]
    new_project(tab, server, "clinc")
    tab.get_by_role("button", name="Create and import a file").click()
    tab.get_by_role("heading", name="Import & export").wait_for()
    tab.locator("input[type=file]").first.set_input_files(str(CLINC))
    settle(tab)
    proposal = tab.locator(".st-key-task_proposal")
    proposal.get_by_text("The data suggests this task").wait_for()
    expect(proposal.get_by_text("300 answers use 20 short labels")).to_be_visible()
    description = proposal.get_by_label("Task description (the system message most rows share)")
    expect(description).to_have_value(rows[0]["messages"][0]["content"])
    expect(proposal.get_by_role("textbox", name="Output format")).to_have_value(
        json.dumps({"kind": "labels", "labels": sorted({r["messages"][-1]["content"] for r in rows})}, indent=2)
    )
    proposal.scroll_into_view_if_needed()
    shot(tab, "import-inferred")
    tab.get_by_role("button", name="Import 300 examples").click()
    tab.get_by_text("Imported 300 examples into clinc").wait_for()
    tab.get_by_text("The project's format is now labels").wait_for()
    assert_no_exception(tab)
