"""The Import & export page in a real browser (Debian's Chromium): upload, map, dry run, import.

A CSV of new support tickets is uploaded through the file uploader; its ticket and triage
columns are mapped by hand, the dry run names the one bad row and keeps Import disabled; the fixed
file imports, and the preview then shows every row as already there. Set
STUDIO_SCREENSHOTS=docs/screenshots to refresh docs/screenshots/import.png.
"""

from __future__ import annotations

import csv
import json

from browser_kit import BROWSER_MARKS, assert_no_exception, settle, shot

pytestmark = BROWSER_MARKS

TICKETS = [
    (
        "N-101",
        "I was billed twice for the annual backup plan this month. Please refund the duplicate charge.",
        {"category": "billing", "priority": "high", "needs_human": True},
        "billing",
    ),
    (
        "N-102",
        'How do I schedule a nightly backup of the NAS-400\'s photo share?\nIt only runs when I click "Back up now".',
        {"category": "technical", "priority": "low", "needs_human": False},
        "technical, nas",
    ),
    (
        "N-103",
        "The NAS-200 I ordered arrived with a cracked front panel, can you send a replacement?",
        {"category": "shipping", "priority": "high", "needs_human": True},
        "shipping",
    ),
    (
        "N-104",
        "Someone logged into my account from another country last night and changed my email.",
        {"category": "security", "priority": "urgent", "needs_human": True},
        "security",
    ),
]


def write_tickets(path, broken: bool) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ticket_id", "ticket", "triage", "tags"])
        for number, (ticket_id, text, answer, tags) in enumerate(TICKETS):
            triage = json.dumps(answer)
            if broken and number == 2:
                triage = triage.replace('"high"', '"very high"')
            writer.writerow([ticket_id, text, triage, tags])


def expect_metric(page, label: str, value: str) -> None:
    """Wait until the metric called `label` shows `value`: an upload reruns the page, slowly on a busy machine."""
    from playwright.sync_api import expect

    box = page.locator("[data-testid='stMetric']").filter(has_text=label)
    expect(box.locator("[data-testid='stMetricValue']")).to_have_text(value, timeout=60_000)


def choose_exactly(page, label: str, option: str) -> None:
    from playwright.sync_api import expect

    box = page.get_by_label(label, exact=True)
    expect(box).to_have_count(1, timeout=60_000)  # a rerun briefly keeps the stale copy of a moved widget
    box.click()
    page.get_by_role("option", name=option, exact=True).click()


def test_upload_map_preview_and_import(server, page, tmp_path):  # noqa: F811
    path = tmp_path / "new_tickets.csv"
    write_tickets(path, broken=True)
    page.goto(server.url)
    page.get_by_role("heading", name="Examples").wait_for()
    page.get_by_role("link", name="Import & export").click()
    page.get_by_role("heading", name="Import", exact=True).wait_for()
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(path))
    page.get_by_text("Read as csv").wait_for()
    choose_exactly(page, "input", "ticket")
    choose_exactly(page, "output", "triage")
    choose_exactly(page, "Status of the new examples", "approved")
    expect_metric(page, "Bad rows", "1")
    expect_metric(page, "New", "3")
    page.get_by_text("nothing will be imported until every one is fixed").wait_for()
    assert page.get_by_role("button", name="Import 3 examples").is_disabled()
    cells = page.locator("[data-testid^='glide-cell']")  # the grid draws on a canvas; its cells stay hidden
    cells.filter(has_text="row 4").first.wait_for(state="attached")
    cells.filter(has_text="'very high' is not one of").first.wait_for(state="attached")
    assert_no_exception(page)
    page.set_viewport_size({"width": 1400, "height": 1500})
    shot(page, "import")

    fixed = tmp_path / "fixed" / path.name  # the expert fixed row 4 and saved the file again
    fixed.parent.mkdir()
    write_tickets(fixed, broken=False)
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(fixed))
    expect_metric(page, "New", "4")
    page.get_by_role("button", name="Import 4 examples").click()
    page.get_by_text("Imported 4 examples into demo as approved").wait_for()
    expect_metric(page, "Already there", "4")
    assert_no_exception(page)

    choose_exactly(page, "Export format", "Parquet")
    page.get_by_text("227 examples match · demo-approved.parquet").wait_for()
    settle(page)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download 227 examples").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    import pyarrow.parquet as pq

    table = pq.read_table(saved)
    assert saved.name == "demo-approved.parquet" and table.num_rows == 227
    assert "N-104" in table.column("id").to_pylist()
