"""Seeded, stratified, leakage-aware train / held-out splits.

Examples that share an input (after normalising case and whitespace) always land on
the same side. Near-duplicate inputs (embeddings at least NEAR_DUPLICATE_SIMILARITY
alike) join into groups too, closest pairs first, but a group never grows past
GROUP_CAP distinct inputs: joined through chains of paraphrases, whole labels would
otherwise become one group and land on one side, and the held-out set would stop being
stratified. A group a pair could not join is "open" (a paraphrase of it stays outside),
so it is held out only when its stratum has no closed group left (the least open first);
the leakage check names any pair that then straddles the line.

Within each stratum (the label, where the output spec has one) about `eval_fraction`
of the distinct inputs are held out, whole groups chosen by a hash of the seed and the
group's normalised input: the same seed always gives the same split, and a later copy
of a held-out input stays held out.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from dataclasses import dataclass

from studio.checks.findings import CheckConfig
from studio.dataset.messages import answer_text, input_text, normalise
from studio.models.similarity import similar_input_pairs
from studio.project.formats import OutputSpec, stratum_of

EVAL_FRACTION = 0.1
NEAR_DUPLICATE_SIMILARITY = CheckConfig.near_duplicate_similarity
# A near-duplicate group holds at most this many distinct inputs (see the module's docstring).
GROUP_CAP = 3


def _rank(seed: int, key: str) -> str:
    return hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()


def split_examples(
    examples: list[dict],
    spec: OutputSpec,
    seed: int,
    eval_fraction: float = EVAL_FRACTION,
    near_duplicates: list[tuple] | None = None,
) -> tuple[list[dict], list[dict]]:
    """Return (train, held_out), each ordered by id.

    `near_duplicates` are pairs of example ids, (a, b) or (a, b, similarity), to keep on
    one side where the group cap allows; when None they are found by embedding the inputs
    (the Quality checks pass the pairs they already have).
    """
    if near_duplicates is None:
        near_duplicates = _near_duplicate_ids(examples)
    strata: dict[str, list[Group]] = defaultdict(list)
    for group in near_duplicate_groups(examples, near_duplicates):
        strata[stratum_of(spec, answer_text(group.members[0]["messages"]))].append(group)
    sizes = {name: sum(g.inputs for g in groups) for name, groups in strata.items()}
    quotas = _allocate(sizes, round(eval_fraction * sum(sizes.values())))
    held_out: list[dict] = []
    for name, groups in strata.items():
        held_out.extend(_fill(groups, quotas[name], seed))
    held_ids = {e["id"] for e in held_out}
    train = [e for e in examples if e["id"] not in held_ids]
    return sorted(train, key=lambda e: e["id"]), sorted(held_out, key=lambda e: e["id"])


@dataclass(frozen=True)
class Group:
    """Examples that go to one side together, named by their smallest normalised input."""

    key: str
    members: list[dict]
    inputs: int  # distinct normalised inputs: what the quota counts
    outside: int  # near-duplicate pairs the cap kept from joining it: a paraphrase of a member stays outside


def _fill(groups: list[Group], quota: int, seed: int) -> list[dict]:
    """Whole groups in seeded order, closed ones first (then the least open), up to `quota` distinct inputs."""
    ordered = sorted(groups, key=lambda g: (g.outside, _rank(seed, g.key)))
    taken: list[dict] = []
    for group in ordered:
        if quota <= 0:
            break
        if group.inputs <= quota:
            taken.extend(group.members)
            quota -= group.inputs
    return taken


def _near_duplicate_ids(examples: list[dict]) -> list[tuple[int, int, float]]:
    texts = tuple(normalise(input_text(e["messages"])) for e in examples)
    pairs = similar_input_pairs(texts, NEAR_DUPLICATE_SIMILARITY)
    return [(examples[i]["id"], examples[j]["id"], s) for i, j, s in pairs]


def near_duplicate_groups(examples: list[dict], near_duplicates: list[tuple]) -> list[Group]:
    """Examples grouped by shared input, then near-duplicate pairs joined closest first, up to GROUP_CAP inputs."""
    text = {e["id"]: normalise(input_text(e["messages"])) for e in examples}
    parent = {e["id"]: e["id"] for e in examples}
    inputs: dict[int, set[str]] = {e["id"]: {text[e["id"]]} for e in examples}
    outside: dict[int, int] = defaultdict(int)

    def root(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def join(a: int, b: int) -> None:
        a, b = root(a), root(b)
        if a != b:
            parent[a] = b
            inputs[b] |= inputs.pop(a)
            outside[b] += outside.pop(a, 0)

    first_with_input: dict[str, int] = {}
    for example in examples:
        join(example["id"], first_with_input.setdefault(text[example["id"]], example["id"]))
    for a, b in _closest_first(near_duplicates, text):
        ra, rb = root(a), root(b)
        if ra == rb:
            continue
        if len(inputs[ra] | inputs[rb]) <= GROUP_CAP:
            join(ra, rb)
        else:
            outside[ra] += 1
            outside[rb] += 1
    return _collect(examples, root, outside, text)


def _closest_first(near_duplicates: list[tuple], text: dict[int, str]) -> list[tuple[int, int]]:
    """Pairs among these examples, most alike first; ties broken by their inputs, so input order never matters."""
    scored = [(pair[0], pair[1], pair[2] if len(pair) > 2 else 1.0) for pair in near_duplicates]
    kept = [(a, b, s) for a, b, s in scored if a in text and b in text]
    kept.sort(key=lambda p: (-p[2], *sorted((text[p[0]], text[p[1]]))))
    return [(a, b) for a, b, _ in kept]


def _collect(examples: list[dict], root, outside: dict[int, int], text: dict[int, str]) -> list[Group]:
    members: dict[int, list[dict]] = defaultdict(list)
    for example in sorted(examples, key=lambda e: e["id"]):
        members[root(example["id"])].append(example)
    return [
        Group(
            key=min(text[e["id"]] for e in group),
            members=group,
            inputs=len({text[e["id"]] for e in group}),
            outside=outside.get(head, 0),
        )
        for head, group in members.items()
    ]


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


@dataclass(frozen=True)
class LabelCount:
    """How many examples of one stratum (a label, or '' where the spec has none) train, and how many are held out."""

    label: str
    train: int
    held_out: int


def label_counts(train: list[dict], held_out: list[dict], spec: OutputSpec) -> list[LabelCount]:
    """Each stratum's training and held-out counts side by side, largest first, so a skewed split shows."""
    count = defaultdict(lambda: [0, 0])
    for side, examples in enumerate((train, held_out)):
        for example in examples:
            count[stratum_of(spec, answer_text(example["messages"]))][side] += 1
    ordered = sorted(count.items(), key=lambda item: (-sum(item[1]), item[0]))
    return [LabelCount(label, train_n, held_n) for label, (train_n, held_n) in ordered]


def assign_folds(
    examples: list[dict], spec: OutputSpec, seed: int, k: int, near_duplicates: list[tuple] | None = None
) -> list[list[dict]]:
    """K folds for cross-validation, each ordered by id: the split's groups (shared inputs, bounded near-duplicate
    groups) stay whole, and each label's groups are dealt in seeded order to the fold holding fewest of that label."""
    if k < 2:
        raise ValueError(f"cross-validation needs at least 2 folds, not {k}")
    if near_duplicates is None:
        near_duplicates = _near_duplicate_ids(examples)
    strata: dict[str, list[Group]] = defaultdict(list)
    for group in near_duplicate_groups(examples, near_duplicates):
        strata[stratum_of(spec, answer_text(group.members[0]["messages"]))].append(group)
    folds: list[list[dict]] = [[] for _ in range(k)]
    sizes = [0] * k  # all labels together, so that the folds come out about equal in size too
    for name in sorted(strata):
        in_label = [0] * k
        for group in sorted(strata[name], key=lambda g: _rank(seed, g.key)):
            fold = min(range(k), key=lambda f: (in_label[f], sizes[f], f))
            folds[fold].extend(group.members)
            in_label[fold] += group.inputs
            sizes[fold] += group.inputs
    return [sorted(fold, key=lambda e: e["id"]) for fold in folds]
