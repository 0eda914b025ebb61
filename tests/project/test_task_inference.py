"""Inferring a task from examples, and defining one: description, format, guidelines, label renames, archive."""

from __future__ import annotations

import json

import pytest

from studio.dataset.examples import add_example, example_history, list_examples
from studio.dataset.messages import single_turn
from studio.project.formats import answer_problems, fields_of_schema, parse_output_spec, schema_from_fields
from studio.project.people import NotAllowed, Person
from studio.project.projects import archive_project, create_project, get_project, list_projects, rename_project
from studio.project.task_inference import propose_task, shared_system_message
from studio.project.taskdef import merge_labels, rename_label, set_task


def rows(answers, system: str | None = None):
    head = [{"role": "system", "content": system}] if system else []
    return [{"messages": head + single_turn(f"input {n}", answer)} for n, answer in enumerate(answers)]


def test_short_repeating_answers_are_a_label_set_with_counts():
    proposal = propose_task(rows(["pos"] * 5 + ["neg"] * 3 + ["neutral"] * 2))
    assert proposal.output_spec == {"kind": "labels", "labels": ["neg", "neutral", "pos"]}
    assert proposal.label_counts == {"pos": 5, "neg": 3, "neutral": 2} and "3 short labels" in proposal.reason


@pytest.mark.parametrize(
    "answers, why",
    [
        ([f"answer number {n}" for n in range(20)], "do not repeat"),
        (["same"] * 10, "every answer is the same"),
        (
            ["A long sentence that explains in detail what the customer should do next, step by step."] * 2
            + ["no"] * 2,
            "longer",
        ),
        (["a"] * 9 + ["b"] * 9 + ["c"] * 9 + ["d", "e"], "occur only once"),
    ],
)
def test_answers_that_are_not_a_closed_set_stay_free_text(answers, why):
    proposal = propose_task(rows(answers))
    assert proposal.output_spec == {"kind": "text"} and why in proposal.reason


def test_json_answers_give_a_schema_with_required_keys_and_enums_of_few_values():
    answers = [
        json.dumps(
            {
                "category": ["a", "b"][n % 2],
                "note": f"free text {n}",
                "score": n / 2,
                **({"extra": True} if n % 3 == 0 else {}),
            }
        )
        for n in range(12)
    ]
    spec = propose_task(rows(answers)).output_spec
    assert spec["kind"] == "json"
    properties = spec["schema"]["properties"]
    assert properties["category"] == {"type": "string", "enum": ["a", "b"]}
    assert "enum" not in properties["note"] and properties["score"]["type"] == "number"
    assert sorted(spec["schema"]["required"]) == ["category", "note", "score"]  # `extra` is only on some
    parsed = parse_output_spec(spec)
    assert all(not answer_problems(parsed, a) for a in answers)


def test_the_shared_system_message_is_the_description_only_when_most_rows_share_it():
    shared = rows(["x", "y"] * 3, system="Label it.")
    assert shared_system_message([r["messages"] for r in shared]) == ("Label it.", 6)
    mixed = shared[:2] + rows(["x", "y"] * 2)
    assert shared_system_message([r["messages"] for r in mixed]) == ("", 0)
    assert propose_task(shared).description == "Label it."


def test_a_json_schema_from_a_field_list_and_back():
    fields = [
        {"name": "category", "type": "string", "allowed": "billing, tech", "required": True},
        {"name": "urgent", "type": "boolean", "allowed": "", "required": False},
        {"name": "", "type": "string"},
    ]
    schema = schema_from_fields(fields)
    assert schema == {
        "type": "object",
        "properties": {"category": {"type": "string", "enum": ["billing", "tech"]}, "urgent": {"type": "boolean"}},
        "required": ["category"],
    }
    assert fields_of_schema(schema) == fields[:2]
    with pytest.raises(ValueError, match="at least one field"):
        schema_from_fields([{"name": " "}])


def test_every_json_error_is_listed_not_just_the_first():
    spec = parse_output_spec(
        {
            "kind": "json",
            "schema": schema_from_fields(
                [
                    {"name": "a", "type": "string", "allowed": "x,y", "required": True},
                    {"name": "b", "type": "integer", "required": True},
                ]
            ),
        }
    )
    problems = answer_problems(spec, json.dumps({"a": "z", "b": "one"}))
    assert len(problems) == 2 and problems[0].startswith("a:") and problems[1].startswith("b:")


def test_create_rename_archive_and_restore(db):
    project = create_project(db, " intents ", "Name it.", {"kind": "labels", "labels": ["a", "b"]}, guidelines="# G")
    assert (project.name, project.guidelines) == ("intents", "# G")
    with pytest.raises(ValueError, match="already exists"):
        create_project(db, "intents")
    with pytest.raises(NotAllowed):
        create_project(db, "other", actor=Person("ann", "annotator"))
    renamed = rename_project(db, project, "intents-v2")
    archive_project(db, renamed)
    assert list_projects(db) == [] and get_project(db, "intents-v2").archived
    assert not archive_project(db, renamed, archived=False).archived


def test_renaming_and_merging_labels_rewrites_the_examples_as_revisions(db, label_project):
    ids = [
        add_example(db, label_project, single_turn(f"text {n}", label), "ann", "approved")
        for n, label in enumerate(["pos", "neg", "neutral", "pos"])
    ]
    change = rename_label(db, label_project, "pos", "positive", "admin")
    assert change.relabelled == 2 and change.project.output_spec.labels == ("positive", "neg", "neutral")
    assert [r["revision"] for r in example_history(db, ids[0])] == [1, 2]
    merged = merge_labels(db, change.project, ["neutral"], "neg", "admin")
    assert merged.project.output_spec.labels == ("positive", "neg") and merged.format_breaks == 0
    answers = [e["messages"][-1]["content"] for e in list_examples(db, label_project)]
    assert answers == ["positive", "neg", "neg", "positive"]


CRASH_MID_MERGE = """
import os, sys
from pathlib import Path
import storage.findings
from studio.project.projects import get_project
from studio.project.taskdef import merge_labels

def crash(*args, **kwargs):  # the process dies after the examples and the label set were rewritten
    os._exit(9)

storage.findings.replace_open_findings = crash
db = Path(sys.argv[1])
merge_labels(db, get_project(db, "sentiment"), ["neutral", "neg"], "other", "admin")
"""


def test_a_crash_in_the_middle_of_merging_labels_applies_nothing(db, label_project):
    """One user action, one transaction: a process that dies after rewriting the examples and the label set, before
    the format findings are stored, leaves every example, its history and the label set as they were."""
    import subprocess
    import sys

    ids = [
        add_example(db, label_project, single_turn(f"text {n}", label), "ann", "approved")
        for n, label in enumerate(["pos", "neg", "neutral", "neg"])
    ]
    done = subprocess.run([sys.executable, "-c", CRASH_MID_MERGE, str(db)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 9, done.stderr[-2000:]
    assert [e["messages"][-1]["content"] for e in list_examples(db, label_project)] == ["pos", "neg", "neutral", "neg"]
    assert all(len(example_history(db, i)) == 1 for i in ids)
    assert get_project(db, "sentiment").output_spec.labels == ("pos", "neg", "neutral")
    merged = merge_labels(db, get_project(db, "sentiment"), ["neutral", "neg"], "other", "admin")  # then it works
    assert merged.relabelled == 3 and merged.project.output_spec.labels == ("pos", "other")


def test_a_new_format_rechecks_every_example_into_format_findings(db, label_project):
    from studio.checks.runner import load_findings

    add_example(db, label_project, single_turn("Great", "pos"), "ann", "approved")
    add_example(db, label_project, single_turn("Awful", "neg"), "ann", "approved")
    change = set_task(db, label_project, None, output_spec={"kind": "regex", "pattern": "pos"}, guidelines="Be kind.")
    assert change.format_breaks == 1 and change.project.guidelines == "Be kind."
    [finding] = load_findings(db, label_project)
    assert finding.kind == "format" and finding.examples[0].answer == "neg"
    assert set_task(db, change.project, None, output_spec={"kind": "text"}).format_breaks == 0
    assert load_findings(db, label_project) == []


def test_a_format_that_an_approved_row_would_break_is_not_proposed(db, tmp_path):
    from studio.transfer.imports import ImportOptions, import_inferring

    source = tmp_path / "mostly.jsonl"
    lines = [{"prompt": f"q{n}", "completion": json.dumps({"k": "v"})} for n in range(12)] + [
        {"prompt": "q", "completion": "plain"}
    ]
    source.write_text("\n".join(json.dumps(line) for line in lines))
    approved = import_inferring(db, "strict", source, "ann", ImportOptions(status="approved"))
    assert (
        approved["inferred"]["output_spec"] == {"kind": "text"}
        and "past draft would break it" in approved["inferred"]["reason"]
    )
    drafts = import_inferring(db, "loose", source, "ann", ImportOptions())
    assert drafts["imported"] == 13 and get_project(db, "loose").output_spec.kind == "json"


def _labelled_file(tmp_path, bad_row: bool = False):
    lines = [{"prompt": f"message {n}", "completion": ["pos", "neg"][n % 2]} for n in range(12)]
    if bad_row:
        lines.append({"prompt": "no answer here"})
    source = tmp_path / "labelled.jsonl"
    source.write_text("\n".join(json.dumps(line) for line in lines))
    return source


def test_a_refused_import_into_a_new_project_leaves_no_project_behind(db, tmp_path):
    from studio.transfer.imports import ImportOptions, ImportRefused, import_inferring

    with pytest.raises(ImportRefused, match="1 bad row"):
        import_inferring(db, "fresh", _labelled_file(tmp_path, bad_row=True), "ann", ImportOptions(), infer=False)
    assert [p.name for p in list_projects(db, include_archived=True)] == []
    done = import_inferring(db, "fresh", _labelled_file(tmp_path), "ann", ImportOptions(), infer=False)
    assert done["imported"] == 12 and get_project(db, "fresh").output_spec.kind == "text"


CRASH_MID_IMPORT = """
import os, sys
from pathlib import Path
import storage.examples
from studio.transfer.imports import ImportOptions, import_inferring

insert = storage.examples.insert_examples

def crash(*args, **kwargs):  # the process dies after the project and its examples were written, before the commit
    insert(*args, **kwargs)
    os._exit(9)

storage.examples.insert_examples = crash
import_inferring(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), "ann", ImportOptions())
"""


@pytest.mark.parametrize("name", ["fresh", "notes"])
def test_a_crash_in_the_middle_of_an_inferring_import_leaves_no_project_and_no_new_format(
    db, text_project, tmp_path, name
):
    """One user action, one transaction: creating the project (or giving a free-text one the proposed label set)
    and importing its examples land together or not at all."""
    import subprocess
    import sys

    source = _labelled_file(tmp_path)
    before = [p.name for p in list_projects(db, include_archived=True)]
    done = subprocess.run(
        [sys.executable, "-c", CRASH_MID_IMPORT, str(db), name, str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 9, done.stderr[-2000:]
    assert [p.name for p in list_projects(db, include_archived=True)] == before
    if name in before:
        assert get_project(db, name).output_spec.kind == "text" and list_examples(db, get_project(db, name)) == []
    from studio.transfer.imports import ImportOptions, import_inferring

    again = import_inferring(db, name, source, "ann", ImportOptions())  # then it works
    assert again["imported"] == 12 and get_project(db, name).output_spec.labels == ("neg", "pos")
