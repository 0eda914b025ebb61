"""Importing and exporting JSONL: both row shapes, all-or-nothing, idempotent, round trip.

The other formats, the mapping and the dry run are in tests/transfer/test_importers.py."""

from __future__ import annotations

import json

import pytest

from studio.dataset.examples import list_examples
from studio.dataset.messages import single_turn
from studio.project.projects import ensure_project
from studio.transfer.imports import FROM_FILE, ImportRefused, import_jsonl
from studio.transfer.writers import export_examples


def _write(path, lines: list) -> object:
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    return path


ROWS = [
    {"id": "A-1", "messages": single_turn("Best purchase ever", "pos"), "tags": ["gadgets"]},
    {"id": 2, "prompt": "Broke after a day", "completion": "neg"},
]


def test_import_reads_messages_and_prompt_completion_rows(db, label_project, tmp_path):
    counts = import_jsonl(db, label_project, _write(tmp_path / "in.jsonl", ROWS), "ann")
    examples = list_examples(db, label_project)
    assert counts == {"imported": 2, "skipped": 0}
    assert [e["messages"] for e in examples] == [ROWS[0]["messages"], single_turn("Broke after a day", "neg")]
    assert [e["external_id"] for e in examples] == ["A-1", "2"]
    assert [e["tags"] for e in examples] == [["gadgets"], []]
    assert {(e["status"], e["source"], e["author"]) for e in examples} == {("draft", "import", "ann")}


def test_import_can_approve_the_rows(db, label_project, tmp_path):
    import_jsonl(db, label_project, _write(tmp_path / "in.jsonl", ROWS), "ann", status="approved")
    assert {e["status"] for e in list_examples(db, label_project)} == {"approved"}


def test_importing_the_same_file_twice_imports_nothing_new(db, label_project, tmp_path):
    path = _write(tmp_path / "in.jsonl", ROWS + [{"prompt": "No id here", "completion": "neutral"}])
    assert import_jsonl(db, label_project, path, "ann")["imported"] == 3
    assert import_jsonl(db, label_project, path, "ann") == {"imported": 0, "skipped": 3}
    assert len(list_examples(db, label_project)) == 3


def test_bad_rows_are_each_reported_and_nothing_is_written(db, label_project, tmp_path):
    path = _write(
        tmp_path / "in.jsonl",
        [
            ROWS[0],
            "",
            {"id": "A-3", "text": "no messages or prompt"},
            {"id": "A-4", "prompt": "Meh", "completion": "so-so"},
            ROWS[1],
        ],
    )
    with pytest.raises(ImportRefused) as refused:
        import_jsonl(db, label_project, path, "ann", status="approved")
    problems = refused.value.problems
    assert len(problems) == 2
    assert problems[0].startswith("line 3:") and "'prompt' and 'completion'" in problems[0]
    assert problems[1].startswith("line 4:") and "'so-so' is not one of the labels" in problems[1]
    assert list_examples(db, label_project) == []


def test_a_line_that_is_not_json_refuses_the_whole_file(db, label_project, tmp_path):
    path = _write(tmp_path / "in.jsonl", [ROWS[0], '{"prompt": "cut off', ROWS[1]])
    with pytest.raises(ImportRefused, match="line 2"):
        import_jsonl(db, label_project, path, "ann")
    assert list_examples(db, label_project) == []


def test_a_non_json_line_is_reported_with_every_other_bad_row(db, label_project, tmp_path):
    path = _write(
        tmp_path / "in.jsonl",
        [
            ROWS[0],
            '{"prompt": "cut off',
            {"id": "A-3", "text": "no messages or prompt"},
            {"id": "A-4", "prompt": "Meh", "completion": "so-so"},
        ],
    )
    with pytest.raises(ImportRefused) as refused:
        import_jsonl(db, label_project, path, "ann", status="approved")
    lines = [problem.split(":")[0] for problem in refused.value.problems]
    assert [line.rsplit(" ", 1)[-1] for line in lines] == ["2", "3", "4"]


def test_export_then_import_gives_back_the_same_examples(db, label_project, tmp_path):
    conversation = [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": "Is it good?"},
        {"role": "assistant", "content": "Which one?"},
        {"role": "user", "content": "The blue one."},
        {"role": "assistant", "content": "neutral"},
    ]
    rows = ROWS + [{"id": "A-5", "messages": conversation, "tags": ["multi", "turn"]}]
    import_jsonl(db, label_project, _write(tmp_path / "in.jsonl", rows), "ann", status="approved")
    assert export_examples(db, label_project, tmp_path / "out.jsonl") == 3
    exported = [json.loads(line)["messages"][0] for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    # the description travels as the system message of every example without its own
    assert [m["content"] for m in exported] == ["Label the sentiment."] * 2 + ["Be terse."]
    copy = ensure_project(db, "copy", "Label the sentiment.", {"kind": "labels", "labels": ["pos", "neg", "neutral"]})
    assert import_jsonl(db, copy, tmp_path / "out.jsonl", "bob", status=FROM_FILE)["imported"] == 3

    def contents(project):
        return [(e["external_id"], e["messages"], e["tags"], e["status"]) for e in list_examples(db, project)]

    assert contents(copy) == contents(label_project)
