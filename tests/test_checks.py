"""Consistency checks: duplicates, contradictions and format breaks, stored as findings."""

from __future__ import annotations

from conftest import PLANTED
from studio.checks import check_project, load_findings
from studio.examples import add_example, edit_example, get_example
from studio.messages import single_turn
from studio.projects import ensure_project


def _pairs(findings: list[dict], kind: str) -> list[frozenset[str]]:
    return [frozenset(e["external_id"] for e in f["examples"]) for f in findings if f["kind"] == kind]


def test_the_demo_has_exactly_the_planted_duplicates(db, demo):
    duplicates = _pairs(check_project(db, demo), "duplicate")
    assert sorted(map(sorted, duplicates)) == sorted(map(sorted, PLANTED["duplicates"]))


def test_the_demo_has_exactly_the_planted_contradictions(db, demo):
    contradictions = _pairs(check_project(db, demo), "contradiction")
    assert sorted(map(sorted, contradictions)) == sorted(map(sorted, PLANTED["contradictions"]))


def test_distinct_inputs_have_no_findings(db, text_project):
    add_example(db, text_project, single_turn("The meeting moved to Tuesday.", "Meeting now Tuesday."), "ann", "approved")
    add_example(db, text_project, single_turn("The invoice was paid twice.", "Double payment."), "ann", "approved")
    assert check_project(db, text_project) == []


def test_the_same_input_with_another_label_is_one_contradiction(db, label_project):
    first = add_example(db, label_project, single_turn("I love this phone", "pos"), "ann", "approved")
    second = add_example(db, label_project, single_turn("  i LOVE this\tphone ", "neg"), "bob", "approved")
    findings = check_project(db, label_project)
    assert [f["kind"] for f in findings] == ["contradiction"]
    assert {e["id"] for e in findings[0]["examples"]} == {first, second}
    assert findings[0]["severity"] == "error"


def test_a_json_contradiction_names_the_field_that_differs(db):
    schema = {"type": "object", "properties": {"category": {"enum": ["billing", "technical"]},
                                               "priority": {"enum": ["low", "high"]}}}
    project = ensure_project(db, "triage", "Triage the ticket.", {"kind": "json", "schema": schema})
    add_example(db, project, single_turn("My card was charged twice", '{"category": "billing", "priority": "high"}'),
                "ann", "approved")
    add_example(db, project, single_turn("my card was charged twice", '{"priority": "low", "category": "billing"}'),
                "bob", "approved")
    [finding] = check_project(db, project)
    assert finding["kind"] == "contradiction"
    assert "priority" in finding["explanation"]
    assert "category" not in finding["explanation"]


def test_an_answer_that_breaks_the_spec_is_a_format_finding(db, label_project):
    broken = add_example(db, label_project, single_turn("It was fine, I guess", "meh"), "ann", status="draft")
    add_example(db, label_project, single_turn("Awful service", "neg"), "ann", status="approved")
    [finding] = check_project(db, label_project)
    assert finding["kind"] == "format"
    assert [e["id"] for e in finding["examples"]] == [broken]
    assert "'meh' is not one of the labels" in finding["explanation"]


def test_rejected_examples_are_not_checked(db, label_project):
    add_example(db, label_project, single_turn("Great value", "pos"), "ann", "approved")
    other = add_example(db, label_project, single_turn("great value", "neg"), "bob", "submitted")
    assert [f["kind"] for f in check_project(db, label_project)] == ["contradiction"]
    edit_example(db, label_project, other, get_example(db, other)["revision"], "carol", status="rejected")
    assert check_project(db, label_project) == []


def test_findings_are_stored_and_loaded_back(db, demo):
    found = check_project(db, demo)
    loaded = load_findings(db, demo)

    def summary(findings):
        return sorted((f["kind"], tuple(sorted(e["external_id"] for e in f["examples"]))) for f in findings)

    assert len(found) >= 6
    assert summary(loaded) == summary(found)
