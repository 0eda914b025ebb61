"""Seeded, stratified, leakage-aware train / held-out splits.

Examples that share an input (after normalising case and whitespace), and groups of
near-duplicate inputs (embeddings at least NEAR_DUPLICATE_SIMILARITY alike, joined
through shared members), always land on the same side, so neither a duplicate nor a
paraphrase leaks into the held-out set. Within each stratum
(the label, where the output spec has one) about `eval_fraction` of the inputs are
held out, chosen by a hash of the seed and the normalised input itself: the same seed
always gives the same split, and a later copy of a held-out input stays held out.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict

from studio.checks.findings import CheckConfig
from studio.dataset.messages import answer_text, input_text, normalise
from studio.models.similarity import similar_input_pairs
from studio.project.formats import OutputSpec, stratum_of

EVAL_FRACTION = 0.1
NEAR_DUPLICATE_SIMILARITY = CheckConfig.near_duplicate_similarity


def _rank(seed: int, key: str) -> str:
    return hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()


def split_examples(
    examples: list[dict],
    spec: OutputSpec,
    seed: int,
    eval_fraction: float = EVAL_FRACTION,
    near_duplicates: list[tuple[int, int]] | None = None,
) -> tuple[list[dict], list[dict]]:
    """Return (train, held_out), each ordered by id.

    `near_duplicates` are pairs of example ids to keep on one side; when None they are
    found by embedding the inputs (the Quality checks pass the pairs they already have).
    """
    if near_duplicates is None:
        near_duplicates = _near_duplicate_ids(examples)
    units = _units(examples, near_duplicates)
    strata: dict[str, list[tuple[str, list[dict]]]] = defaultdict(list)
    for key, unit in units.items():
        strata[stratum_of(spec, answer_text(unit[0]["messages"]))].append((key, unit))
    quotas = _allocate({name: len(members) for name, members in strata.items()}, round(eval_fraction * len(units)))
    held_out: list[dict] = []
    for name, members in strata.items():
        members.sort(key=lambda member: _rank(seed, member[0]))
        for _, unit in members[: quotas[name]]:
            held_out.extend(unit)
    held_ids = {e["id"] for e in held_out}
    train = [e for e in examples if e["id"] not in held_ids]
    return sorted(train, key=lambda e: e["id"]), sorted(held_out, key=lambda e: e["id"])


def _near_duplicate_ids(examples: list[dict]) -> list[tuple[int, int]]:
    texts = tuple(normalise(input_text(e["messages"])) for e in examples)
    return [(examples[i]["id"], examples[j]["id"]) for i, j in similar_input_pairs(texts, NEAR_DUPLICATE_SIMILARITY)]


def _units(examples: list[dict], near_duplicates: list[tuple[int, int]]) -> dict[str, list[dict]]:
    """Examples grouped so that a shared input or a near-duplicate pair joins one group.

    A group is named by its smallest normalised input, so its place in the ranking does
    not depend on which member arrived first.
    """
    parent = {e["id"]: e["id"] for e in examples}

    def root(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    first_with_input: dict[str, int] = {}
    for example in examples:
        key = normalise(input_text(example["messages"]))
        parent[root(example["id"])] = root(first_with_input.setdefault(key, example["id"]))
    for a, b in near_duplicates:
        if a in parent and b in parent:
            parent[root(a)] = root(b)
    groups: dict[int, list[dict]] = defaultdict(list)
    for example in examples:
        groups[root(example["id"])].append(example)
    for group in groups.values():
        group.sort(key=lambda e: e["id"])
    return {min(normalise(input_text(e["messages"])) for e in group): group for group in groups.values()}


def _allocate(sizes: dict[str, int], total: int) -> dict[str, int]:
    """Share `total` across strata in proportion to their sizes (largest remainder)."""
    count = sum(sizes.values())
    if count == 0:
        return {}
    exact = {name: total * size / count for name, size in sizes.items()}
    quotas = {name: math.floor(value) for name, value in exact.items()}
    leftover = total - sum(quotas.values())
    for name in sorted(exact, key=lambda n: (exact[n] - quotas[n], sizes[n], n), reverse=True)[:leftover]:
        quotas[name] += 1
    return quotas
