"""`studio check --project P --json` from the worktree's own code: every kind, and each finding's fields."""

from __future__ import annotations

import json

from cli_kit import studio_cli

from studio.checks.runner import KINDS


def test_check_json_reports_every_kind_and_each_findings_ids_score_and_message(tmp_path):
    def studio(*args: str) -> dict:
        result = studio_cli(tmp_path / "home", *args, "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    studio("demo")
    document = studio("check", "--project", "demo")
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
    again = studio("check", "--project", "demo")
    assert again["embedded"] == 0 and again["compared"] == 0
