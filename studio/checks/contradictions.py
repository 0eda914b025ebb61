"""Contradictions: the same or nearly the same input with a different answer.

Pairs come from `duplicates` (exact groups, and near pairs from the neighbour graph);
what differs between two answers is said by `duplicates.answer_difference`.
"""

from __future__ import annotations

from studio.checks.duplicates import answer_difference, exact_groups, near_pairs
from studio.checks.findings import CheckInput, Finding, canonical_answer


def find_contradictions(data: CheckInput) -> list[Finding]:
    """Contradictions: the same or nearly the same input with a different answer.

    Labels differ, JSON answers name the fields that differ, free-text answers are less
    alike than `different_answer_similarity`. Ranked by how sure the studio is: the
    same input scores 1.0, nearly the same input scores its similarity. One
    contradictory pair teaches the model noise; decide which answer is right.
    """
    findings = []
    for group in exact_groups(data):
        answers = {canonical_answer(data.spec, data.answers[p]) for p in group}
        if len(answers) > 1:
            findings.append(
                Finding(
                    "contradiction",
                    "error",
                    tuple(group),
                    1.0,
                    f"Same input, different answers: {_group_difference(data, group)}.",
                )
            )
    for i, j, similarity in near_pairs(data, data.config.contradiction_similarity):
        reason = answer_difference(data, i, j)
        if reason:
            findings.append(
                Finding(
                    "contradiction",
                    "error" if similarity >= 0.97 else "warning",
                    (i, j),
                    round(similarity, 4),
                    f"Inputs {similarity:.0%} alike, but {reason}.",
                )
            )
    return findings


def _group_difference(data: CheckInput, group: list[int]) -> str:
    reasons = (answer_difference(data, group[0], other) for other in group[1:])
    return next((reason for reason in reasons if reason), "the answers differ in wording")
