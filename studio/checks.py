"""Consistency checks over a project's examples: each check is a function in CHECKS.

Every check takes the examples (dicts with id, external_id, messages, status) and the
project's output spec, and returns findings. Rejected examples are not checked.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from storage import findings as finding_table
from storage.db import connect
from studio.examples import list_examples
from studio.messages import answer_text, input_text, normalise
from studio.formats import OutputSpec, validate_output
from studio.projects import Project


@dataclass(frozen=True)
class Finding:
    """One problem: its kind, how bad it is, the examples involved and why."""

    kind: str
    severity: str
    example_ids: tuple[int, ...]
    score: float
    explanation: str


def canonical_answer(spec: OutputSpec, text: str) -> str:
    """An answer in a form where formatting differences do not count (JSON re-serialised)."""
    if spec.kind == "json":
        try:
            return json.dumps(json.loads(text), sort_keys=True)
        except json.JSONDecodeError:
            pass
    return text.strip()


def _groups_by_input(examples: list[dict]) -> list[list[dict]]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for example in examples:
        groups[normalise(input_text(example["messages"]))].append(example)
    return [group for group in groups.values() if len(group) > 1]


def find_exact_duplicates(examples: list[dict], spec: OutputSpec) -> list[Finding]:
    """Exact duplicates: the same input (ignoring case and whitespace) with the same answer.

    A duplicate over-weights one example in training and, across the split, leaks it
    into the held-out set.
    """
    findings = []
    for group in _groups_by_input(examples):
        by_answer: dict[str, list[dict]] = defaultdict(list)
        for example in group:
            by_answer[canonical_answer(spec, answer_text(example["messages"]))].append(example)
        for same in (members for members in by_answer.values() if len(members) > 1):
            findings.append(Finding(
                kind="duplicate", severity="warning", example_ids=tuple(e["id"] for e in same), score=1.0,
                explanation=f"{len(same)} examples have the same input and the same answer: keep one.",
            ))
    return findings


def find_contradictions(examples: list[dict], spec: OutputSpec) -> list[Finding]:
    """Contradictions: the same input (ignoring case and whitespace) with different answers.

    One contradictory pair teaches the model noise; decide which answer is right.
    """
    findings = []
    for group in _groups_by_input(examples):
        answers = {canonical_answer(spec, answer_text(e["messages"])) for e in group}
        if len(answers) > 1:
            findings.append(Finding(
                kind="contradiction", severity="error", example_ids=tuple(e["id"] for e in group), score=1.0,
                explanation=_describe_difference(spec, group),
            ))
    return findings


def _describe_difference(spec: OutputSpec, group: list[dict]) -> str:
    texts = [answer_text(e["messages"]) for e in group]
    if spec.kind == "json":
        try:
            values = [json.loads(t) for t in texts]
        except json.JSONDecodeError:
            values = []
        if values and all(isinstance(v, dict) for v in values):
            keys = sorted({k for v in values for k in v})
            differing = [k for k in keys if len({json.dumps(v.get(k)) for v in values}) > 1]
            return f"Same input, different answers: the fields {', '.join(differing)} differ."
    return f"Same input, {len(set(texts))} different answers."


def find_format_breaks(examples: list[dict], spec: OutputSpec) -> list[Finding]:
    """Format breaks: answers that do not follow the project's output spec."""
    findings = []
    for example in examples:
        problem = validate_output(spec, answer_text(example["messages"]))
        if problem:
            findings.append(Finding(
                kind="format", severity="error", example_ids=(example["id"],), score=1.0,
                explanation=f"The answer breaks the output format: {problem}.",
            ))
    return findings


CHECKS = [find_exact_duplicates, find_contradictions, find_format_breaks]


def run_checks(examples: list[dict], spec: OutputSpec) -> list[Finding]:
    """Run every check over the examples that are not rejected."""
    live = [e for e in examples if e["status"] != "rejected"]
    return [finding for check in CHECKS for finding in check(live, spec)]


def check_project(db: Path, project: Project) -> list[dict]:
    """Run the checks on a project, store the findings, and return them with their examples."""
    examples = list_examples(db, project)
    findings = run_checks(examples, project.output_spec)
    with connect(db) as con:
        finding_table.replace_open_findings(con, project.id, [f.__dict__ | {"example_ids": list(f.example_ids)} for f in findings])
    return describe_findings(findings, {e["id"]: e for e in examples})


def describe_findings(findings: list[Finding], examples_by_id: dict[int, dict]) -> list[dict]:
    """Findings as plain dicts that carry the examples involved (with external ids)."""
    return [
        {
            "kind": f.kind, "severity": f.severity, "score": f.score, "explanation": f.explanation,
            "examples": [_example_summary(examples_by_id[i]) for i in f.example_ids],
        }
        for f in findings
    ]


def load_findings(db: Path, project: Project) -> list[dict]:
    """The project's open findings from the last check, with their examples."""
    with connect(db) as con:
        rows = finding_table.fetch_findings(con, project.id)
    examples = {e["id"]: e for e in list_examples(db, project)}
    findings = [
        Finding(r["kind"], r["severity"], tuple(i for i in r["example_ids"] if i in examples), r["score"], r["explanation"])
        for r in rows
    ]
    return describe_findings([f for f in findings if f.example_ids], examples)


def _example_summary(example: dict) -> dict:
    return {
        "id": example["id"], "external_id": example["external_id"], "status": example["status"],
        "input": input_text(example["messages"]), "answer": answer_text(example["messages"]),
    }
