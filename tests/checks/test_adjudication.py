"""Deciding findings (keep one, reject one, edit an answer, dismiss) and re-checking only what changed."""

from __future__ import annotations

import pytest

from studio.checks.adjudication import (
    FindingNotOpen,
    dismiss_finding,
    edit_answer,
    highlight_differences,
    keep_example,
    reject_examples,
)
from studio.checks.runner import load_findings, run_project_checks
from studio.dataset.examples import edit_example, get_example, list_examples
from studio.dataset.messages import with_last_turn


def _contradiction(findings: list[dict], external_ids: set[str]) -> dict:
    return next(
        f for f in findings if f.kind == "contradiction" and {e.external_id for e in f.examples} == external_ids
    )


def _by_external(db, demo) -> dict[str, dict]:
    return {e["external_id"]: e for e in list_examples(db, demo)}


def test_keeping_one_side_rejects_the_other_and_resolves_the_finding(db, demo):
    finding = _contradiction(run_project_checks(db, demo).findings, {"T-0037", "T-0180"})
    keep = next(e.id for e in finding.examples if e.external_id == "T-0037")
    keep_example(db, demo, finding.id, keep, "carol")
    examples = _by_external(db, demo)
    assert examples["T-0180"]["status"] == "rejected" and examples["T-0037"]["status"] == "approved"
    [resolved] = [f for f in load_findings(db, demo, "resolved") if f.id == finding.id]
    assert resolved.decided_by == "carol" and "kept" in resolved.reason
    again = run_project_checks(db, demo).findings
    assert not any("T-0180" in {e.external_id for e in f.examples} for f in again if f.kind == "contradiction")


def test_rejecting_one_side_resolves_the_finding(db, demo):
    finding = _contradiction(run_project_checks(db, demo).findings, {"T-0098", "T-0187"})
    rejected = finding.examples[1].id
    reject_examples(db, demo, finding.id, [rejected], "carol")
    assert get_example(db, rejected)["status"] == "rejected"
    with pytest.raises(FindingNotOpen):
        dismiss_finding(db, demo, finding.id, "changed my mind", "carol")


def test_editing_an_answer_to_agree_resolves_the_contradiction(db, demo):
    finding = _contradiction(run_project_checks(db, demo).findings, {"T-0153", "T-0225"})
    right, wrong = finding.examples
    edit_answer(db, demo, finding.id, wrong.id, wrong.revision, right.answer, "carol")
    assert get_example(db, wrong.id)["revision"] == wrong.revision + 1
    kinds = {
        f.kind for f in run_project_checks(db, demo).findings if {e.id for e in f.examples} == {right.id, wrong.id}
    }
    assert kinds == {"duplicate"}  # they now agree, so only the duplication is left to decide


def test_a_dismissed_finding_stays_dismissed_until_an_example_changes(db, demo):
    finding = _contradiction(run_project_checks(db, demo).findings, {"T-0037", "T-0180"})
    with pytest.raises(ValueError, match="say why"):
        dismiss_finding(db, demo, finding.id, "  ", "carol")
    dismiss_finding(db, demo, finding.id, "both priorities are defensible", "carol")
    rerun = run_project_checks(db, demo)
    assert rerun.already_decided >= 1
    assert not any(
        f.id == finding.id or {e.external_id for e in f.examples} == {"T-0037", "T-0180"}
        for f in rerun.findings
        if f.kind == "contradiction"
    )
    [dismissed] = load_findings(db, demo, "dismissed")
    assert dismissed.reason == "both priorities are defensible"

    changed = _by_external(db, demo)["T-0180"]
    edit_example(db, demo, changed["id"], changed["revision"], "dave", tags=[*changed["tags"], "reviewed"])
    back = run_project_checks(db, demo).findings
    assert _contradiction(back, {"T-0037", "T-0180"}).state == "open"


def test_a_second_check_embeds_and_compares_nothing_new(db, demo):
    first = run_project_checks(db, demo)
    distinct_inputs = {e["messages"][0]["content"] for e in list_examples(db, demo)}
    assert first.embedded == len(distinct_inputs) and first.compared == first.examples
    second = run_project_checks(db, demo)
    assert (second.embedded, second.compared) == (0, 0)
    assert sorted(f.explanation for f in second.findings) == sorted(f.explanation for f in first.findings)


def test_after_a_few_edits_only_what_changed_is_embedded_and_compared_again(db, demo, tmp_path, monkeypatch):
    run_project_checks(db, demo)
    examples = list_examples(db, demo)
    for example in examples[:3]:
        messages = with_last_turn(
            example["messages"],
            example["messages"][0]["content"] + " Please hurry.",
            example["messages"][-1]["content"],
        )
        edit_example(db, demo, example["id"], example["revision"], "ann", messages=messages)
    patched = run_project_checks(db, demo)
    assert patched.embedded == 3
    assert patched.compared == 3

    # the patched neighbour graph finds exactly what a full run from an empty cache finds
    from studio.demo import load_demo

    monkeypatch.setenv("STUDIO_HOME", str(tmp_path / "fresh"))
    from studio.paths import db_path

    fresh_db = db_path()
    fresh, _ = load_demo(fresh_db)
    for old, new in zip(examples[:3], list_examples(fresh_db, fresh)[:3]):
        edit_example(
            fresh_db, fresh, new["id"], new["revision"], "ann", messages=get_example(db, old["id"])["messages"]
        )
    full = run_project_checks(fresh_db, fresh)
    assert full.compared == full.examples

    def summary(findings):
        return sorted((f.kind, tuple(sorted(e.external_id for e in f.examples)), f.score) for f in findings)

    assert summary(patched.findings) == summary(full.findings)


def test_differences_are_marked_and_html_is_escaped():
    left, right = highlight_differences("Refund <b>now</b> please", "Refund later please")
    assert left == "Refund <mark>&lt;b&gt;now&lt;/b&gt;</mark> please"
    assert right == "Refund <mark>later</mark> please"


CRASH_MID_KEEP = """
import os, sys
from pathlib import Path
import storage.findings
from studio.checks.adjudication import keep_example
from studio.project.projects import get_project

def crash(*args, **kwargs):  # the process dies after the rejections ran, before the decision is recorded
    os._exit(9)

storage.findings.decide_finding = crash
db = Path(sys.argv[1])
keep_example(db, get_project(db, "demo"), int(sys.argv[2]), int(sys.argv[3]), "carol")
"""


def test_a_crash_in_the_middle_of_keeping_an_example_applies_nothing(db, demo):
    """One user action, one transaction: a process that dies between rejecting the other
    side and recording the decision leaves both examples as they were and the finding open."""
    import subprocess
    import sys

    finding = _contradiction(run_project_checks(db, demo).findings, {"T-0037", "T-0180"})
    keep = next(e.id for e in finding.examples if e.external_id == "T-0037")
    before = {k: (e["status"], e["revision"]) for k, e in _by_external(db, demo).items()}
    done = subprocess.run(
        [sys.executable, "-c", CRASH_MID_KEEP, str(db), str(finding.id), str(keep)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 9, done.stderr[-2000:]
    after = {k: (e["status"], e["revision"]) for k, e in _by_external(db, demo).items()}
    assert after == before
    assert finding.id in {f.id for f in load_findings(db, demo, "open")}
