"""The pages that define a task (New project, Project), the answer editor a format calls for, and the
Import page's proposal, through Streamlit's AppTest on a real database."""

from __future__ import annotations

import json

from test_pages import open_page

from studio.dataset.examples import add_example, example_history, list_examples
from studio.dataset.messages import single_turn
from studio.paths import SOURCE_ROOT
from studio.project.projects import get_project, list_projects

CLINC = SOURCE_ROOT / "tests" / "data" / "clinc20_chat.jsonl"


def test_a_new_project_with_a_label_set_and_guidelines(db, demo):
    app = open_page("pages/new_project.py")
    app.text_input(key="new_name").input("intents").run()
    app.text_area(key="new_description").input("Name the intent.").run()
    app.radio(key="new_spec_kind").set_value("labels").run()
    app.text_area(key="new_spec_labels").input("refund\ndelivery\nother").run()
    app.text_area(key="new_guidelines").input("Pick **refund** for any money back.").run()
    app.button(key="create_write").click().run()
    assert not app.exception, app.exception
    project = get_project(db, "intents")
    assert project.output_spec.labels == ("refund", "delivery", "other") and project.guidelines.startswith("Pick")
    assert project.description == "Name the intent." and app.title[0].value == "Write"


def test_write_offers_the_labels_as_radio_buttons_beside_the_guidelines(db):
    from studio.project.projects import create_project

    project = create_project(
        db,
        "intents",
        "Name the intent.",
        {"kind": "labels", "labels": ["refund", "delivery"]},
        guidelines="Pick **refund** for any money back.",
    )
    app = open_page("pages/write.py")
    assert app.radio(key="answer_label_new").options == ["refund", "delivery"]
    assert any("money back" in m.value for m in app.sidebar.markdown)
    app.text_area(key="user_new").input("I want my money back").run()
    app.radio(key="answer_label_new").set_value("refund").run()
    app.button(key="submit").click().run()
    [example] = list_examples(db, project)
    assert example["messages"][-1]["content"] == "refund" and example["status"] == "submitted"


def test_a_json_schema_from_the_field_list(db, demo):
    app = open_page("pages/new_project.py")
    app.text_input(key="new_name").input("tickets").run()
    app.radio(key="new_spec_kind").set_value("json").run()
    app.toggle(key="new_spec_raw").set_value(True).run()
    app.text_area(key="new_spec_schema").input('{"type": "object", "properties": {"a": {"type": "string"}}}').run()
    app.button(key="create_import").click().run()
    assert not app.exception, app.exception
    assert get_project(db, "tickets").output_spec.schema["properties"] == {"a": {"type": "string"}}
    assert app.title[0].value == "Import & export"


def test_the_project_page_changes_the_format_and_renames_a_label(db, label_project):
    kept = add_example(db, label_project, single_turn("Great", "pos"), "ann", "approved")
    add_example(db, label_project, single_turn("Meh", "neutral"), "ann", "approved")
    app = open_page("pages/project.py")
    key = f"task_{label_project.id}"
    app.multiselect(key="merge_sources").set_value(["pos"]).run()
    app.text_input(key="merge_target").input("positive").run()
    app.button(key="merge_labels").click().run()
    assert get_project(db, "sentiment").output_spec.labels == ("positive", "neg", "neutral")
    assert [r["revision"] for r in example_history(db, kept)] == [1, 2]
    assert not app.exception, app.exception
    assert app.text_area(key=f"{key}_spec_labels").value == "positive\nneg\nneutral"  # at once, no reload
    assert app.multiselect(key="merge_sources").options == ["positive", "neg", "neutral"]
    assert "1 example(s) rewritten" in app.success[0].value
    app.text_area(key=f"{key}_spec_labels").input("positive\nneg").run()
    app.button(key="save_task").click().run()
    assert not app.exception, app.exception
    assert "1 example(s) break the new format" in app.error[0].value
    app.button(key="archive_project").click().run()
    assert list_projects(db) == [] and list_projects(db, include_archived=True)[0].archived


def test_the_import_page_proposes_the_task_and_applies_the_edited_one(db, home, text_project):
    import shutil

    (home / "imports").mkdir(parents=True, exist_ok=True)
    shutil.copy(CLINC, home / "imports" / CLINC.name)
    app = open_page("pages/transfer.py")
    app.text_input(key="import_path").input(CLINC.name).run()
    assert not app.exception, app.exception
    proposal = next(e for e in app.text_area if e.key.startswith("proposal_spec_"))
    spec = json.loads(proposal.value)
    assert spec["kind"] == "labels" and len(spec["labels"]) == 20
    app.button(key="run_import").click().run()
    project = get_project(db, "notes")
    assert project.output_spec.kind == "labels" and len(list_examples(db, project)) == 300
    assert project.description == "Summarise the note in one line."  # it had one: kept
    # the rows' own system message differs from the kept description, so each keeps it
    assert list_examples(db, project)[0]["messages"][0]["role"] == "system"


def test_a_json_answer_from_form_fields(db, demo):
    app = open_page("pages/write.py")
    app.text_area(key="user_new").input("I was charged twice for March, please refund one.").run()
    app.toggle(key="answer_form_new").set_value(True).run()
    app.selectbox(key="answer_field_new_category").select("billing").run()
    assert "breaks the json format" in app.error[0].value  # priority is still missing
    app.selectbox(key="answer_field_new_priority").select("high").run()
    app.checkbox(key="answer_field_new_needs_human").check().run()
    assert "fits the project's json format" in app.success[0].value
    app.button(key="submit").click().run()
    [mine] = [
        e for e in list_examples(db, demo) if e["messages"][-2]["content"].startswith("I was charged twice for March")
    ]
    assert json.loads(mine["messages"][-1]["content"]) == {
        "category": "billing",
        "priority": "high",
        "needs_human": True,
    }


def test_the_project_page_edits_a_json_schema_as_a_field_list(db, demo):
    app = open_page("pages/project.py")
    assert not app.exception, app.exception
    key = f"task_{demo.id}"
    assert app.radio(key=f"{key}_spec_kind").value == "json"
    app.text_area(key=f"{key}_guidelines").input("Escalate anything about security.").run()
    app.button(key="save_task").click().run()
    assert not app.exception, app.exception
    saved = get_project(db, "demo")
    assert saved.guidelines == "Escalate anything about security." and saved.output_spec.kind == "json"
    assert saved.output_spec == demo.output_spec  # the schema is untouched, not rebuilt from a field list
