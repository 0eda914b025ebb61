"""The real `studio` command in a subprocess: demo, check, import, export, runs, help, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from studio.paths import SOURCE_ROOT

_SCRIPT = Path(sys.executable).with_name("studio")
STUDIO = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "studio.cli"]
COMMANDS = [
    "setup",
    "demo",
    "import",
    "export",
    "check",
    "train",
    "eval",
    "runs",
    "backup",
    "restore",
    "serve",
    "project",
]


def studio(home: Path, *args: str) -> subprocess.CompletedProcess:
    # PYTHONPATH: run this checkout's code even where the installed `studio` points at another one
    env = {
        **os.environ,
        "STUDIO_HOME": str(home),
        "STUDIO_MODELS": os.environ["STUDIO_MODELS"],
        "PYTHONPATH": str(SOURCE_ROOT),
    }
    return subprocess.run([*STUDIO, *args], env=env, capture_output=True, text=True, timeout=120)


def studio_json(home: Path, *args: str):
    result = studio(home, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory) -> tuple[Path, dict]:
    """A data home where `studio demo --json` has run once."""
    home = tmp_path_factory.mktemp("cli") / "home"
    return home, studio_json(home, "demo")


def test_demo_loads_the_demo_project(demo_home):
    _, document = demo_home
    assert document == {"project": "demo", "imported": 247, "skipped": 0}


def test_export_writes_the_approved_examples(demo_home, tmp_path):
    home, _ = demo_home
    out = tmp_path / "demo.jsonl"
    document = studio_json(home, "export", str(out), "--project", "demo")
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert document["exported"] == len(rows) == 223
    assert {row["status"] for row in rows} == {"approved"}
    assert rows[0]["id"] == "T-0001"


def test_import_creates_the_project(home, db, tmp_path):
    from studio.dataset.examples import list_examples
    from studio.project.projects import get_project

    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"id": "n-1", "prompt": "Long note", "completion": "Short."}) + "\n")
    document = studio_json(home, "import", str(path), "--project", "new")
    assert document == {
        "project": "new",
        "imported": 1,
        "skipped": 0,
        "inferred": {
            "description": "",
            "description_rows": 0,
            "rows": 1,
            "output_spec": {"kind": "text"},
            "label_counts": {},
            "reason": "free text: every answer is the same",
        },
    }
    [example] = list_examples(db, get_project(db, "new"))
    assert (example["external_id"], example["status"]) == ("n-1", "draft")


def test_runs_on_a_fresh_home_is_an_empty_list(home):
    assert studio_json(home, "runs") == []


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_a_description(home, command):
    result = studio(home, command, "--help")
    assert result.returncode == 0, result.stderr
    blocks = result.stdout.split("\n\n")
    assert blocks[0].startswith("usage: studio " + command)
    description = blocks[1].strip()
    assert description and not description.startswith(("options:", "positional arguments:")), result.stdout


def test_top_level_help_lists_every_command(home):
    result = studio(home, "--help")
    assert result.returncode == 0
    for command in COMMANDS:
        assert command in result.stdout


@pytest.mark.parametrize(
    "args", [["check", "--project", "no-such-project"], ["export", "out.jsonl", "--project", "no-such-project"]]
)
def test_an_unknown_project_exits_2_naming_it(home, args):
    result = studio(home, *args)
    assert result.returncode == 2
    assert "no-such-project" in result.stderr
    assert result.stdout == ""


def test_people_adds_a_reviewer_as_the_local_admin(home, capsys):
    from studio.cli.main import main

    assert main(["people", "--add", "rui", "--role", "reviewer", "--json"]) == 0
    assert {"name": "rui", "role": "reviewer"} in json.loads(capsys.readouterr().out)
    with pytest.raises(SystemExit):
        main(["people", "--add", "eve", "--role", "boss"])
    assert "eve" not in capsys.readouterr().out


def test_import_dry_run_lists_every_bad_row_and_writes_nothing(home, db, tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text("question,answer\nLong note,Short.\n,Empty input.\nAnother note,\n")
    result = studio(home, "import", str(path), "--project", "notes", "--dry-run", "--json")
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    assert (document["dry_run"], document["format"], document["new"], document["bad"]) == (True, "csv", 1, 2)
    assert document["mapping"] == {"input": "question", "output": "answer"}
    assert [(b["where"], b["number"]) for b in document["bad_rows"]] == [("row", 3), ("row", 4)]
    assert (
        "row 4: the answer ('answer') is empty"
        in studio(home, "import", str(path), "--project", "notes", "--dry-run").stdout
    )
    assert not _project_exists(db, "notes")


def _project_exists(db, name) -> bool:
    from studio.project.projects import list_projects

    return name in [p.name for p in list_projects(db)]


def test_import_with_a_format_and_a_mapping_then_export_as_parquet(home, db, tmp_path):
    path = tmp_path / "notes.data"
    path.write_text("n,body,short,status\nn-1,Long note,Short.,approved\nn-2,Other note,Other.,draft\n")
    args = ["import", str(path), "--project", "notes", "--format", "csv", "--map", "id=n,input=body,output=short"]
    assert studio_json(home, *args, "--dry-run")["new"] == 2
    assert (
        studio_json(home, *args, "--status", "from-file").items()
        >= {"project": "notes", "imported": 2, "skipped": 0}.items()
    )
    out = tmp_path / "approved"
    document = studio_json(home, "export", "--project", "notes", "--out", str(out), "--format", "hf")
    assert document == {"file": str(out), "format": "hf", "exported": 1}
    again = studio_json(home, "import", str(out), "--project", "notes", "--dry-run")
    assert (again["format"], again["new"], again["skipped"]) == ("hf", 0, 1)
