"""`studio check --project P --json` from the worktree's own code: every kind, each finding's fields, the planted pairs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_kit import studio_cli
from conftest import PLANTED

from studio.checks.runner import KINDS


def studio(home: Path, *args: str) -> dict:
    result = studio_cli(home, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def checked_demo(tmp_path_factory, worker_id) -> tuple[Path, dict]:
    """A data home where `studio demo` and then `studio check --project demo --json` ran once, and what the
    check printed: one cold check for both tests, even when pytest-xdist runs them in two processes (the
    first to take the lock runs it; the other reads what it printed)."""
    from filelock import FileLock

    # under xdist the base folder's parent is this session's own; alone, the base folder is
    shared = tmp_path_factory.getbasetemp() if worker_id == "master" else tmp_path_factory.getbasetemp().parent
    home, printed = shared / "checked-demo" / "home", shared / "checked-demo.json"
    with FileLock(str(printed) + ".lock"):
        if not printed.exists():
            studio(home, "demo")
            printed.write_text(json.dumps(studio(home, "check", "--project", "demo")))
    return home, json.loads(printed.read_text())


def test_check_json_reports_every_kind_and_each_findings_ids_score_and_message(checked_demo):
    home, document = checked_demo
    assert set(document["kinds"]) == set(KINDS)
    assert document["kinds"]["contradiction"] == 3 and document["kinds"]["duplicate"] == 3
    assert document["kinds"]["pii"] >= 1
    sizes = sorted(f["message"] for f in document["findings"] if f["kind"] == "size")
    assert len(sizes) == 6  # the dataset against the field's guidance, and the 5 demo tags under their targets
    assert "Tag 'security' has 20 approved examples, under its target of 30." in sizes
    for finding in document["findings"]:
        assert set(finding) >= {"kind", "severity", "score", "external_ids", "message"}
        assert finding["kind"] in KINDS and finding["severity"] in ("error", "warning", "info")
        assert 0 <= finding["score"] <= 1 and finding["message"]
    contradictions = sorted(sorted(f["external_ids"]) for f in document["findings"] if f["kind"] == "contradiction")
    assert contradictions == [["T-0037", "T-0180"], ["T-0098", "T-0187"], ["T-0153", "T-0225"]]
    again = studio(home, "check", "--project", "demo")
    assert again["embedded"] == 0 and again["compared"] == 0


def test_check_names_exactly_the_planted_pairs(checked_demo):
    _, document = checked_demo

    def pairs(kind):
        return sorted(
            sorted(e["external_id"] for e in f["examples"]) for f in document["findings"] if f["kind"] == kind
        )

    assert document["project"] == "demo"
    assert pairs("duplicate") == sorted(map(sorted, PLANTED["duplicates"]))
    assert pairs("contradiction") == sorted(map(sorted, PLANTED["contradictions"]))
