"""Defining a task from the command line, in a real `studio` subprocess: an import infers it, `studio project` edits it."""

from __future__ import annotations

import json
from collections import Counter

from test_cli import studio, studio_json

from studio.paths import SOURCE_ROOT

CLINC = SOURCE_ROOT / "tests" / "data" / "clinc20_chat.jsonl"


def test_importing_a_labelled_chat_file_into_a_new_project_infers_its_labels_and_description(home):
    rows = [json.loads(line) for line in CLINC.read_text().splitlines()]
    dry = studio_json(home, "import", str(CLINC), "--project", "intents", "--dry-run")
    assert dry["inferred"]["output_spec"]["kind"] == "labels" and studio_json(home, "project", "list") == []
    done = studio_json(home, "import", str(CLINC), "--project", "intents")
    assert done["imported"] == 300
    shown = studio_json(home, "project", "show", "intents")
    present = Counter(row["messages"][-1]["content"] for row in rows)
    assert shown["output_spec"] == {"kind": "labels", "labels": sorted(present)}
    assert done["inferred"]["label_counts"] == dict(present) and len(present) == 20
    assert shown["description"] == rows[0]["messages"][0]["content"]


def test_the_shared_system_message_is_not_stored_twice_and_an_export_writes_it_back(home, db, tmp_path):
    from studio.dataset.examples import list_examples
    from studio.project.projects import get_project

    source = tmp_path / "mixed.jsonl"
    lines = CLINC.read_text().splitlines()[:40]
    odd = json.loads(lines[0])
    odd["id"], odd["messages"][0]["content"] = "odd-one", "Answer in capitals."
    source.write_text("\n".join([*lines, json.dumps(odd)]) + "\n")
    studio_json(home, "import", str(source), "--project", "p", "--status", "approved")
    examples = {e["external_id"]: e for e in list_examples(db, get_project(db, "p"))}
    assert examples["odd-one"]["messages"][0] == {"role": "system", "content": "Answer in capitals."}
    assert all(m["role"] != "system" for e in examples.values() if e["external_id"] != "odd-one" for m in e["messages"])
    out = tmp_path / "out.jsonl"
    studio_json(home, "export", str(out), "--project", "p")
    exported = [json.loads(line)["messages"][0]["content"] for line in out.read_text().splitlines()]
    assert Counter(exported) == {json.loads(lines[0])["messages"][0]["content"]: 40, "Answer in capitals.": 1}


def test_json_answers_give_a_json_schema_listing_the_values_of_few_valued_strings(home, tmp_path):
    source = tmp_path / "tickets.jsonl"
    rows = [
        {
            "messages": [
                {"role": "user", "content": f"ticket {n}: printer {n % 7} is broken"},
                {
                    "role": "assistant",
                    "content": json.dumps(
                        {
                            "category": ["hardware", "billing", "account"][n % 3],
                            "priority": ["low", "high"][n % 2],
                            "summary": f"printer number {n} broken",
                            "needs_human": n % 4 == 0,
                        }
                    ),
                },
            ]
        }
        for n in range(30)
    ]
    source.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    studio_json(home, "import", str(source), "--project", "tickets")
    spec = studio_json(home, "project", "show", "tickets")["output_spec"]
    assert spec["kind"] == "json"
    properties = spec["schema"]["properties"]
    assert properties["category"]["enum"] == ["account", "billing", "hardware"]
    assert properties["priority"]["enum"] == ["high", "low"]
    assert "enum" not in properties["summary"] and properties["needs_human"]["type"] == "boolean"
    assert sorted(spec["schema"]["required"]) == ["category", "needs_human", "priority", "summary"]


def test_no_infer_keeps_free_text(home):
    studio_json(home, "import", str(CLINC), "--project", "plain", "--no-infer")
    shown = studio_json(home, "project", "show", "plain")
    assert shown["output_spec"] == {"kind": "text"} and shown["description"] == ""


def test_free_text_answers_stay_free_text(home, tmp_path):
    source = tmp_path / "notes.jsonl"
    source.write_text(
        "\n".join(json.dumps({"prompt": f"note {n}", "completion": f"A summary of note {n}."}) for n in range(20))
    )
    assert studio_json(home, "import", str(source), "--project", "notes")["inferred"]["output_spec"] == {"kind": "text"}


def test_project_create_set_show_list_and_archive(home, db, tmp_path):
    from studio.checks.runner import load_findings
    from studio.dataset.examples import example_history, list_examples
    from studio.project.projects import get_project

    guidelines = tmp_path / "guide.md"
    guidelines.write_text("# Intents\nPick the **closest** intent.\n")
    created = studio_json(
        home,
        "project",
        "create",
        "triage",
        "--description",
        "Route the ticket.",
        "--labels",
        "billing,tech,other",
        "--guidelines",
        str(guidelines),
    )
    assert created["output_spec"] == {"kind": "labels", "labels": ["billing", "tech", "other"]}
    assert created["guidelines"].startswith("# Intents") and created["description"] == "Route the ticket."
    source = tmp_path / "t.csv"
    source.write_text("input,output\nmy invoice is wrong,billing\nlaptop will not boot,tech\nhello,other\n")
    studio_json(home, "import", str(source), "--project", "triage", "--status", "approved")
    renamed = studio_json(home, "project", "set", "triage", "--rename-label", "other=misc")
    assert renamed["output_spec"]["labels"] == ["billing", "tech", "misc"] and renamed["relabelled_examples"] == 1
    project = get_project(db, "triage")
    [misc] = [e for e in list_examples(db, project) if e["messages"][-1]["content"] == "misc"]
    assert misc["revision"] == 2 and len(example_history(db, misc["id"])) == 2
    changed = studio_json(home, "project", "set", "triage", "--regex", "billing|misc")
    assert changed["format_breaks"] == 1  # only "tech" is outside the new pattern
    [finding] = [f for f in load_findings(db, project) if f.kind == "format"]
    assert finding.examples[0].answer == "tech"
    assert studio_json(home, "project", "set", "triage", "--archive")["archived"] is True
    assert studio_json(home, "project", "list") == []
    assert [p["name"] for p in studio_json(home, "project", "list", "--all")] == ["triage"]
    studio_json(home, "project", "set", "triage", "--restore", "--rename", "triage2")
    assert [p["name"] for p in studio_json(home, "project", "list")] == ["triage2"]


def test_bad_project_options_say_why(home, tmp_path):
    studio_json(home, "project", "create", "a")
    taken = studio(home, "project", "create", "a")
    assert taken.returncode == 2 and "already exists" in taken.stderr
    schema = tmp_path / "s.json"
    schema.write_text("{not json")
    bad = studio(home, "project", "set", "a", "--json-schema", str(schema))
    assert bad.returncode == 2 and "not valid JSON" in bad.stderr
    missing = studio(home, "project", "show", "nope")
    assert missing.returncode == 2 and "no project called 'nope'" in missing.stderr


def test_a_suspect_label_finding_names_the_accused_example_first(home, tmp_path):
    rows = [json.loads(line) for line in CLINC.read_text().splitlines()]
    accused = rows[7]
    wrong = next(
        label
        for label in sorted({r["messages"][-1]["content"] for r in rows})
        if label != accused["messages"][-1]["content"]
    )
    accused["messages"][-1]["content"] = wrong
    source = tmp_path / "swapped.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    studio_json(home, "import", str(source), "--project", "intents", "--status", "approved")
    findings = [
        f for f in studio_json(home, "check", "--project", "intents")["findings"] if f["kind"] == "suspect-output"
    ]
    [mine] = [f for f in findings if accused["id"] in f["external_ids"]]
    assert mine["external_ids"][0] == accused["id"] and len(mine["external_ids"]) > 1
    assert f"Labelled {wrong!r}" in mine["message"]
