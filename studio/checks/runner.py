"""Consistency checks over a project's examples: the plain list CHECKS, and running it.

Every check takes a CheckInput (studio.checks.findings) and returns findings. check_project
builds the input (embeddings from the cache, the neighbour graph patched where inputs
changed, the split, token counts), runs every check over the examples that are not
rejected, and stores the findings; a finding an expert dismissed or resolved stays so
while its examples keep the same revisions.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from storage import findings as finding_table
from storage.db import connect
from studio.checks.contradictions import find_contradictions
from studio.checks.duplicates import find_exact_duplicates, find_leakage, find_near_duplicates
from studio.checks.findings import (
    CheckConfig,
    CheckInput,
    Finding,
    FindingExample,
    StoredFinding,
    canonical_answer,
)
from studio.checks.kinds import CHECK_KINDS, KINDS
from studio.checks.label_noise import find_suspect_outputs
from studio.checks.pii import find_pii
from studio.checks.shapes import find_dataset_size, find_format_breaks, find_length_outliers
from studio.dataset.examples import list_examples
from studio.dataset.messages import answer_text, input_text
from studio.dataset.splits import split_examples
from studio.models.similarity import build_graph, cached_vectors, text_hash
from studio.project.projects import Project, get_project

__all__ = [
    "CHECKS",
    "CHECK_KINDS",
    "KINDS",
    "CheckConfig",
    "CheckInput",
    "Finding",
    "canonical_answer",
    "check_project",
    "load_findings",
]

CHECKS = [
    find_exact_duplicates,
    find_near_duplicates,
    find_contradictions,
    find_suspect_outputs,
    find_format_breaks,
    find_length_outliers,
    find_leakage,
    find_pii,
    find_dataset_size,
]
# Bytes a chat template adds around three messages, generously (SmolLM2's adds about 60).
TEMPLATE_BYTES = 200


def run_checks(data: CheckInput) -> list[Finding]:
    """Run every check in CHECKS over the input."""
    return [finding for check in CHECKS for finding in check(data)]


@dataclass(frozen=True)
class CheckRun:
    """One run of the checks on a project: its findings and what it cost."""

    findings: list[StoredFinding]
    examples: int
    embedded: int
    compared: int
    already_decided: int
    seconds: float
    timings: dict = field(default_factory=dict)


def prepare_input(
    db: Path, project: Project, examples: list[dict], config: CheckConfig, timings: dict
) -> tuple[CheckInput, int]:
    """Everything the checks read about these examples, and how many texts had to be embedded.

    `timings` receives the seconds each stage took (embed, neighbours, tokens, split).
    """
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        timings[f"{stage}_s"], clock = time.perf_counter() - clock, time.perf_counter()

    inputs = [input_text(e["messages"]) for e in examples]
    answers = [answer_text(e["messages"]) for e in examples]
    vectors = cached_vectors(db, inputs)
    answer_vectors = cached_vectors(db, answers) if project.output_spec.kind == "text" else None
    lap("embed")
    graph = build_graph(
        db, project.id, [e["id"] for e in examples], [text_hash(t) for t in inputs], vectors.matrix, config.neighbours
    )
    lap("neighbours")
    long = long_examples(project, inputs, answers, config.max_tokens)
    lap("tokens")
    targets = get_project(db, project.name).coverage_targets
    data = CheckInput(
        examples=examples,
        spec=project.output_spec,
        config=config,
        inputs=inputs,
        answers=answers,
        input_vectors=vectors.matrix,
        graph=graph,
        answer_vectors=answer_vectors.matrix if answer_vectors else None,
        long_examples=long,
        tag_targets=targets,
    )
    data = replace(data, held_out=held_out_positions(data, project.split_seed))
    lap("split")
    return data, vectors.embedded + (answer_vectors.embedded if answer_vectors else 0)


def held_out_positions(data: CheckInput, seed: int) -> frozenset[int]:
    """Positions of the approved examples a run would hold out: the project's test set where it has one
    (so a near-duplicate across its line is leakage), else the studio's split."""
    approved = [e for e in data.examples if e["status"] == "approved"]
    test = [p for p, e in enumerate(data.examples) if e["status"] == "approved" and e.get("split") == "test"]
    if test:
        return frozenset(test)
    ids = [e["id"] for e in data.examples]
    pairs = [(ids[i], ids[j], s) for i, j, s in data.graph.pairs_at_least(data.config.near_duplicate_similarity)]
    _, held_out = split_examples(approved, data.spec, seed, near_duplicates=pairs)
    position = {example_id: p for p, example_id in enumerate(ids)}
    return frozenset(position[e["id"]] for e in held_out)


def long_examples(project: Project, inputs: list[str], answers: list[str], max_tokens: int) -> dict[int, int]:
    """Tokens of each example over `max_tokens`, as the base model would see it (system prompt and chat template included).

    A byte-level BPE token covers at least one byte, so an example whose bytes fit
    cannot have more tokens than that: only the others are tokenized, and the tokenizer
    is not even loaded when none could be too long. Empty when the base model's
    tokenizer cannot be loaded.
    """
    system = len(project.description.encode())
    candidates = [
        p
        for p, (q, a) in enumerate(zip(inputs, answers))
        if system + len(q.encode()) + len(a.encode()) + TEMPLATE_BYTES > max_tokens
    ]
    if not candidates:
        return {}
    from studio.models.loading import ModelUnavailable, load_tokenizer, resolve_model

    try:
        tokenizer = load_tokenizer(resolve_model(project.base_model))
    except (ModelUnavailable, OSError, ValueError):
        return {}
    counts = {}
    for position in candidates:
        messages = [
            {"role": "system", "content": project.description},
            {"role": "user", "content": inputs[position]},
            {"role": "assistant", "content": answers[position]},
        ]
        tokens = len(
            tokenizer(tokenizer.apply_chat_template(messages, tokenize=False), add_special_tokens=False)["input_ids"]
        )
        if tokens > max_tokens:
            counts[position] = tokens
    return counts


def fingerprint(finding: Finding, examples: list[dict]) -> str:
    """The finding's kind and its examples at their current revisions (or its text, for dataset-wide ones)."""
    members = sorted(f"{examples[p]['id']}@{examples[p]['revision']}" for p in finding.positions)
    return f"{finding.kind}|{','.join(members) if members else finding.explanation}"


def run_project_checks(db: Path, project: Project, config: CheckConfig = CheckConfig()) -> CheckRun:
    """Check a project's live examples, store the findings, and say what it cost."""
    began, timings = time.perf_counter(), {}
    examples = [e for e in list_examples(db, project) if e["status"] != "rejected"]
    data, embedded = prepare_input(db, project, examples, config, timings)
    checked = time.perf_counter()
    findings = run_checks(data)
    timings["checks_s"] = time.perf_counter() - checked
    rows = [_row(f, examples) for f in findings]
    with connect(db) as con:
        decided = finding_table.replace_open_findings(con, project.id, rows)
    return CheckRun(
        findings=load_findings(db, project, examples=examples),
        examples=len(examples),
        embedded=embedded,
        compared=data.graph.compared,
        already_decided=decided,
        seconds=time.perf_counter() - began,
        timings=timings,
    )


def check_project(db: Path, project: Project, config: CheckConfig = CheckConfig()) -> list[StoredFinding]:
    """Run the checks on a project, store the findings, and return the open ones with their examples."""
    return run_project_checks(db, project, config).findings


def _row(finding: Finding, examples: list[dict]) -> dict:
    return {
        "kind": finding.kind,
        "severity": finding.severity,
        "score": finding.score,
        "explanation": finding.explanation,
        "example_ids": [examples[p]["id"] for p in finding.positions],
        "fingerprint": fingerprint(finding, examples),
    }


def load_findings(
    db: Path, project: Project, state: str = "open", examples: list[dict] | None = None
) -> list[StoredFinding]:
    """The project's findings in one state from the last check, surest first, with their examples.

    `examples` saves reading the project's examples again when the caller has them.
    """
    with connect(db) as con:
        rows = finding_table.fetch_findings(con, project.id, state)
    examples = {e["id"]: e for e in (examples if examples is not None else list_examples(db, project))}
    described = []
    for row in rows:
        members = [examples[i] for i in row["example_ids"] if i in examples]
        if row["example_ids"] and not members:
            continue
        described.append(
            StoredFinding(
                id=row["id"],
                kind=row["kind"],
                severity=row["severity"],
                score=row["score"],
                explanation=row["explanation"],
                state=row["state"],
                reason=row["reason"],
                decided_by=row["decided_by"],
                examples=tuple(_example_summary(e) for e in members),
            )
        )
    return described


def _example_summary(example: dict) -> FindingExample:
    return FindingExample(
        id=example["id"],
        external_id=example["external_id"],
        status=example["status"],
        revision=example["revision"],
        tags=tuple(example["tags"] or []),
        input=input_text(example["messages"]),
        answer=answer_text(example["messages"]),
    )
