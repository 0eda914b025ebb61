"""Seeded, stratified, leakage-aware train / held-out splits.

Examples that share an input (after normalising case and whitespace) always land on
the same side, so a duplicate never leaks into the held-out set. Within each stratum
(the label, where the output spec has one) about `eval_fraction` of the inputs are
held out, chosen by a hash of the seed and the normalised input itself: the same seed
always gives the same split, and a later copy of a held-out input stays held out.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict

from studio.messages import answer_text, input_text, normalise
from studio.formats import OutputSpec, stratum_of

EVAL_FRACTION = 0.1


def _rank(seed: int, key: str) -> str:
    return hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()


def split_examples(
    examples: list[dict], spec: OutputSpec, seed: int, eval_fraction: float = EVAL_FRACTION
) -> tuple[list[dict], list[dict]]:
    """Return (train, held_out), each ordered by id."""
    units: dict[str, list[dict]] = defaultdict(list)
    for example in examples:
        units[normalise(input_text(example["messages"]))].append(example)
    strata: dict[str, list[list[dict]]] = defaultdict(list)
    for unit in units.values():
        strata[stratum_of(spec, answer_text(unit[0]["messages"]))].append(unit)
    quotas = _allocate(
        {name: len(members) for name, members in strata.items()}, round(eval_fraction * len(units))
    )
    held_out: list[dict] = []
    for name, members in strata.items():
        members.sort(key=lambda unit: _rank(seed, normalise(input_text(unit[0]["messages"]))))
        for unit in members[: quotas[name]]:
            held_out.extend(unit)
    held_ids = {e["id"] for e in held_out}
    train = [e for e in examples if e["id"] not in held_ids]
    return sorted(train, key=lambda e: e["id"]), sorted(held_out, key=lambda e: e["id"])


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
