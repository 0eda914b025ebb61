"""The test set on the pages (Streamlit AppTest): import into it, mark one example on Write, move many on Examples."""

from __future__ import annotations

import json

from app_kit import open_page

from studio.dataset.examples import count_by_split, list_examples
from studio.project.confinement import import_roots

GOOD = json.dumps({"category": "billing", "priority": "low", "needs_human": False})


def test_the_import_page_can_put_a_file_into_the_test_set(db, demo):
    path = import_roots()[0] / "gold.jsonl"
    path.write_text(json.dumps({"id": "G-1", "prompt": "Charged twice for one order", "completion": GOOD}) + "\n")
    app = open_page("pages/transfer.py")
    app.text_input(key="import_path").input(str(path)).run()
    app.selectbox(key="import_status").select("approved").run()
    app.radio(key="import_into").set_value("test").run()
    app.button(key="run_import").click().run()
    assert not app.exception, app.exception
    assert "test set" in app.success[0].value
    assert [e["split"] for e in list_examples(db, demo) if e["external_id"] == "G-1"] == ["test"]


def test_the_write_page_switch_puts_an_example_in_the_test_set(db, demo):
    app = open_page("pages/write.py")
    app.text_area(key="user_new").input("I was charged twice for March, please refund one.").run()
    app.text_area(key="answer_new").input(GOOD).run()
    app.toggle(key="test_set_new").set_value(True).run()
    app.button(key="save").click().run()
    assert not app.exception, app.exception
    assert count_by_split(db, demo)["test"]["draft"] == 1
    assert any("**test set**" in m.value for m in app.markdown)  # the reopened example says where it is


def test_the_examples_page_moves_every_selected_example_into_the_test_set(db, demo):
    app = open_page()
    app.selectbox(key="filter_status").select("draft").run()
    app.selectbox(key="bulk_action").select("set split").run()
    app.selectbox(key="bulk_split").select("test").run()
    app.checkbox(key="bulk_sure").check().run()
    app.button(key="bulk_apply").click().run()
    assert not app.exception, app.exception
    assert count_by_split(db, demo)["test"]["draft"] == 10
    assert "10 of 10 selected examples changed" in app.success[0].value


def test_the_train_page_shows_what_a_run_would_train_on_and_be_judged_on_per_label(db, demo):
    from studio.dataset.bulk import apply_bulk
    from studio.dataset.search import ExampleFilter

    app = open_page("pages/train.py")
    assert not app.exception, app.exception
    [split] = [e for e in app.expander if "judged on the seeded 10% split" in e.label]
    table = split.dataframe[0].value
    assert list(table.columns) == ["label", "trained on", "held out"] and table["held out"].sum() == 22
    apply_bulk(db, demo, ExampleFilter(status="approved", text="refund"), "set split", "test", "ann")
    test_set = count_by_split(db, demo)["test"]["approved"]
    app = open_page("pages/train.py")
    [kept] = [e for e in app.expander if "judged on the project's test set" in e.label]
    assert kept.dataframe[0].value["held out"].sum() == test_set > 0
