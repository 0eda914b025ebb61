"""A first project on real-looking data, end to end in a real browser (Debian's Chromium), as issue 27 walked it.

A bank's support lead creates a project, uploads a CSV of customer messages (columns
customer_message,intent: names the studio does not know) and imports it with the mapping the
page proposes, approves every draft with one bulk action, runs the checks, trains and
evaluates on the tiny test model (chosen through the Train page's base model field), and opens
Deploy. After every action no page shows an exception, and every count on screen is the
database's count, without a reload.
"""

from __future__ import annotations

import csv
from collections import Counter

import pytest
from browser_kit import BROWSER_MARKS, Server, assert_no_exception, settle, shot
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

pytestmark = BROWSER_MARKS

MESSAGES = {
    "card_lost": [
        "I lost my debit card on the train this morning, can you block it?",
        "My card is gone, I think it fell out of my wallet at the supermarket.",
        "Please cancel my card, I can't find it anywhere since Friday.",
        "I left my credit card in a taxi last night, what should I do?",
        "How do I freeze my card? I misplaced it somewhere at home.",
    ],
    "card_declined": [
        "My card was declined at the petrol station even though I have money.",
        "Why does my payment keep getting refused online?",
        "The shop terminal said 'declined' twice, my balance is fine.",
        "I tried to pay for groceries and the card didn't go through.",
        "Every contactless payment fails since yesterday, is my card broken?",
    ],
    "refund_request": [
        "I was charged twice for the same order, I want one of them back.",
        "A merchant promised a refund two weeks ago and it never arrived.",
        "Can you reverse the fee you took for the overdraft last month?",
        "I returned the shoes but the money is still not on my account.",
        "Please refund the annual card fee, I closed that card in January.",
    ],
    "balance": [
        "How much money do I have left on my current account?",
        "What's my balance right now, the app won't load.",
        "Can you tell me the available balance on my savings?",
        "I need to know how much is in my account before I pay rent.",
        "Is my salary already in? What does my balance show?",
    ],
    "transfer_failed": [
        "My transfer to my landlord bounced back, why?",
        "I sent money to my sister yesterday and she still hasn't got it.",
        "The international transfer says failed, the IBAN is correct.",
        "Why was my standing order not executed this month?",
        "A payment I made to a friend shows as rejected, what happened?",
    ],
    "change_address": [
        "I moved house, how do I update my address with you?",
        "Please change the postal address on my account to my new flat.",
        "Where in the app can I edit my home address?",
        "My statements still go to my old address, can you fix that?",
        "I need to register a new address before my new card is sent.",
    ],
    "open_account": [
        "I'd like to open a savings account, what do I need?",
        "Can my teenage son get his own current account?",
        "How long does it take to open a business account with you?",
        "I want a second account just for holidays, is that possible?",
        "What documents do I bring to open a joint account?",
    ],
    "fraud_report": [
        "There are payments on my statement I never made.",
        "Someone used my card in another country, I'm at home.",
        "I got a text asking for my PIN and I think I answered it, help.",
        "Three transactions from a shop I've never heard of appeared today.",
        "My account was emptied overnight and it wasn't me.",
    ],
}


def write_messages(path) -> int:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer_message", "intent"])
        rows = [(message, intent) for intent, messages in MESSAGES.items() for message in messages]
        rows = [rows[(7 * n) % len(rows)] for n in range(len(rows))]  # interleaved, as an export would be
        writer.writerows(rows)
    return len(rows)


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_llama):
    """This module's studio, with the tiny Llama's folder allowed to the app (STUDIO_ALLOWED_DIRS)."""
    home = tmp_path_factory.mktemp("journey") / "home"
    home.mkdir()
    running = Server(home, env={"STUDIO_ALLOWED_DIRS": str(tiny_llama)})
    running.start()
    yield running
    running.stop()


@pytest.fixture
def database(server, monkeypatch):
    """What the server's database holds, read by this process (short connections, as the server's own)."""
    from studio.paths import db_path

    monkeypatch.setenv("STUDIO_HOME", str(server.home))
    return db_path()


def counts(database) -> dict:
    from studio.dataset.examples import count_by_status
    from studio.project.projects import get_project

    return count_by_status(database, get_project(database, "bank"))


def expect_metric(page, label: str, value: str) -> None:
    """Wait until the metric labelled exactly `label` shows `value` ("Duplicates" is not "Near duplicates")."""
    label_text = page.locator("[data-testid='stMetricLabel']").get_by_text(label, exact=True)
    box = page.locator("[data-testid='stMetric']").filter(has=label_text)
    expect(box.locator("[data-testid='stMetricValue']")).to_have_text(value)


def go_to(page, link: str, heading: str) -> None:
    page.get_by_role("link", name=link, exact=True).click()
    page.get_by_role("heading", name=heading, exact=True).first.wait_for()
    settle(page)


def choose(page, label: str, option: str) -> None:
    """Pick `option` in the selectbox labelled `label`; a rerun that lands on the click closes its list, so reopen it."""
    box = page.get_by_label(label, exact=True)
    expect(box).to_have_count(1)
    choice = page.get_by_role("option", name=option, exact=True)
    for _ in range(5):
        box.click()
        try:
            choice.wait_for(timeout=10_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
            settle(page)
    choice.click()
    settle(page)


def create_and_import(page, server, database, path, rows: int) -> None:
    page.goto(server.url)
    page.get_by_role("heading", name="Examples").wait_for()
    page.get_by_role("link", name="New project").first.click()
    page.get_by_role("heading", name="New project").wait_for()
    name = page.get_by_label("Name", exact=True)
    name.fill("bank")
    name.press("Tab")
    settle(page)
    page.get_by_role("button", name="Create and import a file").click()
    page.get_by_role("heading", name="Import & export").wait_for()
    page.locator("input[type=file]").first.set_input_files(str(path))
    page.get_by_text("Read as csv").wait_for()
    settle(page)
    assert page.locator("[data-testid='stAlertContentError']").count() == 0  # nothing is wrong yet
    expect(page.get_by_label("input", exact=True)).to_have_value("customer_message")  # the proposed mapping
    expect(page.get_by_label("output", exact=True)).to_have_value("intent")
    expect_metric(page, "New", str(rows))
    page.get_by_text("becomes the system prompt").wait_for()  # the file has no system message
    page.get_by_text("Only approved examples are trained on").wait_for()
    shot(page, "journey-import")
    page.get_by_role("button", name=f"Import {rows} examples").click()
    page.get_by_text(f"Imported {rows} examples into bank as draft").wait_for()
    page.get_by_text("Drafts are not trained on").wait_for()
    expect_metric(page, "Already there", str(rows))
    assert_no_exception(page)
    assert counts(database)["draft"] == rows


def approve_all(page, database, rows: int) -> None:
    go_to(page, "Examples", "Examples")
    expect_metric(page, "Draft", str(counts(database)["draft"]))
    page.get_by_text(f"Bulk action on all {rows} matching examples").click()
    choose(page, "Action", "set status")
    choose(page, "New status", "approved")
    page.get_by_text(f"Yes, set status approved on all {rows} examples").click()
    settle(page)
    page.get_by_role("button", name="Apply").click()
    page.get_by_text(f"{rows} of {rows} selected examples changed").wait_for()
    in_database = counts(database)
    assert in_database["approved"] == rows and in_database["draft"] == 0
    for status, number in in_database.items():  # on the same page, with no reload
        expect_metric(page, status.capitalize(), str(number))
    shot(page, "journey-approved")
    assert_no_exception(page)


def run_checks(page, database) -> None:
    from studio.checks.runner import CHECK_KINDS, load_findings
    from studio.project.projects import get_project

    go_to(page, "Quality", "Quality")
    page.get_by_role("button", name="Run checks").click()
    page.get_by_text("open findings ·").first.wait_for()  # the toast once the checks are done
    settle(page)
    found = Counter(f.kind for f in load_findings(database, get_project(database, "bank"), "open"))
    for kind in CHECK_KINDS:
        if found[kind.name]:
            expect_metric(page, kind.title, str(found[kind.name]))
    assert_no_exception(page)


def train_and_evaluate(page, database, tiny_llama) -> dict:
    from studio.project.projects import get_project
    from studio.training.launch import list_runs

    go_to(page, "Train", "Train")
    page.get_by_role("textbox", name="Base model").fill(str(tiny_llama))
    page.get_by_role("button", name="Use this base model").click()
    page.get_by_text(f"Base model set to {tiny_llama}").wait_for()
    page.locator("[data-testid='stRadio']").get_by_text("Quick", exact=True).click()
    settle(page)
    page.get_by_text("Advanced settings").click()
    steps = page.get_by_role("spinbutton", name="Stop after this many steps (0: no cap)", exact=True)
    steps.fill("2")
    steps.press("Enter")
    settle(page)
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("started: watch it below").wait_for()
    expect(page.get_by_role("button", name="Start training")).to_be_disabled()  # one run at a time
    shot(page, "journey-training")
    page.get_by_text("Training and evaluation finished.").wait_for(timeout=600_000)
    expect(page.get_by_role("button", name="Start training")).to_be_enabled()  # back on, with no reload
    assert_no_exception(page)
    [run] = list_runs(database, get_project(database, "bank"))
    assert run["status"] == "succeeded" and run["n_train"] + run["n_eval"] == counts(database)["approved"]
    go_to(page, "Evaluate", "Evaluate")
    runs = page.get_by_label("Run", exact=True)
    expect(runs).to_have_value(f"{run['id']} · {run['n_train']} train / {run['n_eval']} held-out")
    page.get_by_role("heading", name="Leaderboard").wait_for()
    page.get_by_role("tab", name="Side by side").click()
    page.get_by_text(f"{run['n_eval']} held-out examples.", exact=True).wait_for()  # one row per held-out example
    shot(page, "journey-evaluate")
    assert_no_exception(page)
    return run


def test_a_first_project_from_an_imported_csv_to_deploy(server, database, page, tmp_path, tiny_llama):
    page.set_default_timeout(180_000)
    path = tmp_path / "support_messages.csv"
    rows = write_messages(path)
    create_and_import(page, server, database, path, rows)
    approve_all(page, database, rows)
    run_checks(page, database)
    run = train_and_evaluate(page, database, tiny_llama)
    go_to(page, "Deploy", "Deploy")
    page.get_by_text(f"Evaluate's verdict on run {run['id']}").wait_for()
    expect(page.get_by_role("button", name="Export")).to_be_enabled()  # the verdict informs, it does not block
    shot(page, "journey-deploy")
    assert_no_exception(page)
