"""Duplicates, near duplicates and leakage, and the pair helpers the contradiction check shares.

Exact pairs share an input once case and whitespace are ignored; near pairs have
inputs whose embeddings are at least the configured similarity apart, taken from the
neighbour graph (so no check ever builds an all-pairs matrix).
"""

from __future__ import annotations

import json
from collections import defaultdict

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from studio.checks.findings import CheckInput, Finding, canonical_answer
from studio.dataset.messages import normalise


def exact_groups(data: CheckInput) -> list[list[int]]:
    """Positions of examples sharing an input (ignoring case and whitespace), two or more per group."""
    groups: dict[str, list[int]] = defaultdict(list)
    for position, text in enumerate(data.inputs):
        groups[normalise(text)].append(position)
    return [group for group in groups.values() if len(group) > 1]


def near_pairs(data: CheckInput, threshold: float) -> list[tuple[int, int, float]]:
    """Pairs of positions whose inputs differ in wording but are at least `threshold` alike."""
    return [
        (i, j, s)
        for i, j, s in data.graph.pairs_at_least(threshold)
        if normalise(data.inputs[i]) != normalise(data.inputs[j])
    ]


def answer_difference(data: CheckInput, i: int, j: int) -> str | None:
    """Why the answers of two examples differ, or None when they say the same thing."""
    a, b = (canonical_answer(data.spec, data.answers[k]) for k in (i, j))
    if a == b:
        return None
    fields = _differing_fields(a, b)
    if fields is not None:
        return f"the fields {', '.join(fields)} differ" if fields else None
    if data.spec.kind == "text" and data.answer_vectors is not None:
        similarity = float(data.answer_vectors[i] @ data.answer_vectors[j])
        if similarity >= data.config.different_answer_similarity:
            return None
        return f"the answers mean different things (similarity {similarity:.2f})"
    return f"answered {_short(a)} and {_short(b)}"


def _differing_fields(a: str, b: str) -> list[str] | None:
    try:
        left, right = json.loads(a), json.loads(b)
    except (ValueError, RecursionError):  # bad syntax, a number too long, nesting too deep
        return None
    if not (isinstance(left, dict) and isinstance(right, dict)):
        return None
    return [k for k in sorted(set(left) | set(right)) if json.dumps(left.get(k)) != json.dumps(right.get(k))]


def _short(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def find_exact_duplicates(data: CheckInput) -> list[Finding]:
    """Exact duplicates: the same input (ignoring case and whitespace) with the same answer.

    A duplicate over-weights one example in training and, across the split, leaks it
    into the held-out set. Keep one.
    """
    findings = []
    for group in exact_groups(data):
        by_answer: dict[str, list[int]] = defaultdict(list)
        for position in group:
            by_answer[canonical_answer(data.spec, data.answers[position])].append(position)
        for same in (members for members in by_answer.values() if len(members) > 1):
            findings.append(
                Finding(
                    "duplicate",
                    "warning",
                    tuple(same),
                    1.0,
                    f"{len(same)} examples have the same input and the same answer: keep one.",
                )
            )
    return findings


def find_near_duplicates(data: CheckInput) -> list[Finding]:
    """Near duplicates: inputs that say the same thing in other words, with the same answer.

    Alike means the cosine similarity of the inputs' all-MiniLM-L6-v2 embeddings is at
    least `near_duplicate_similarity` (0.92 by default); a few rewordings help, many
    over-weight one case. Groups are joined through shared members.
    """
    pairs = [
        (i, j, s)
        for i, j, s in near_pairs(data, data.config.near_duplicate_similarity)
        if answer_difference(data, i, j) is None
    ]
    findings = []
    for members, similarity in _components(pairs, len(data.examples)):
        findings.append(
            Finding(
                "near-duplicate",
                "info",
                members,
                round(similarity, 4),
                f"{len(members)} inputs say nearly the same thing (similarity ≥ {similarity:.2f}) "
                "with the same answer: keep the ones that add something.",
            )
        )
    return findings


def _components(pairs: list[tuple[int, int, float]], size: int) -> list[tuple[tuple[int, ...], float]]:
    """Connected groups of positions, each with the lowest similarity that joins it."""
    if not pairs:
        return []
    rows, cols, sims = (np.array(column) for column in zip(*pairs))
    _, labels = connected_components(coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(size, size)), directed=False)
    weakest: dict[int, float] = {}
    for i, s in zip(rows.tolist(), sims.tolist()):
        weakest[labels[i]] = min(weakest.get(labels[i], 1.0), s)
    members: dict[int, list[int]] = defaultdict(list)
    for position in sorted(set(rows.tolist()) | set(cols.tolist())):
        members[labels[position]].append(position)
    return [(tuple(group), weakest[label]) for label, group in members.items()]


def find_leakage(data: CheckInput) -> list[Finding]:
    """Leakage: held-out examples that duplicate or nearly duplicate a training example.

    The model would be graded on answers it saw in training, so its score would be too
    good. The studio's split keeps such groups together; this check guards any split.
    """
    approved = {p for p, e in enumerate(data.examples) if e["status"] == "approved"}
    train = approved - data.held_out
    pairs = [(a, b, 1.0) for group in exact_groups(data) for a in group for b in group if a < b]
    pairs += near_pairs(data, data.config.near_duplicate_similarity)
    findings = []
    for i, j, similarity in pairs:
        if (i in data.held_out and j in train) or (j in data.held_out and i in train):
            held, trained = (i, j) if i in data.held_out else (j, i)
            findings.append(
                Finding(
                    "leakage",
                    "error",
                    (held, trained),
                    round(similarity, 4),
                    f"A held-out example is {similarity:.0%} alike a training example: "
                    "its score would measure memory, not skill.",
                )
            )
    return findings
