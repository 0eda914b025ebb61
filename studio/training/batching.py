"""Batches filled to a token budget rather than a fixed count of examples (TrainConfig.tokens_per_step).

A fixed count of examples makes a step's work swing with the rows' lengths: eight 70-token
rows launch as many kernels as eight 1,000-token rows for a fourteenth of the work. A token
budget keeps every step about equally full, so short rows go through in larger batches.

Rows are taken longest first and each batch is filled until the next row would pass the
budget, so a batch holds rows of similar length (little padding on the padded CPU recipe,
where a batch costs its row count times its longest row; on the padding-free GPU recipe it
costs the sum of its rows). A row longer than the budget trains alone. Which rows share a
batch depends only on the lengths, so the number of steps is known before training (the
pre-flight, the recipe and the trainer count the same); the order of the batches is shuffled
afresh every epoch from the run's seed. Pure Python: the sampler plugs into a torch
DataLoader as its batch_sampler, and accelerate shards its batches across processes.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence


def token_batches(lengths: Sequence[int], budget: int, padded: bool = False) -> list[list[int]]:
    """Indices of `lengths` in batches of at most `budget` tokens (one over-long row alone), longest rows first.

    `padded`: a batch costs its row count times its longest row (padded batches) rather than the sum of its rows.
    """
    if budget <= 0:
        raise ValueError(f"a token budget must be above 0, not {budget}")
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    cost = 0
    for index in order:
        length = max(int(lengths[index]), 1)
        # longest first: a padded batch's longest row is its first one
        grown = (len(current) + 1) * lengths[current[0]] if padded and current else cost + length
        if current and grown > budget:
            batches.append(current)
            current, cost = [], 0
        current.append(index)
        cost = (len(current) * max(int(lengths[current[0]]), 1)) if padded else cost + length
    if current:
        batches.append(current)
    return batches


def batches_per_epoch(lengths: Sequence[int], budget: int, padded: bool = False) -> int:
    return len(token_batches(lengths, budget, padded))


class TokenBudgetSampler:
    """A DataLoader batch_sampler yielding token_batches in a seeded order that changes every epoch."""

    def __init__(self, lengths: Sequence[int], budget: int, seed: int = 0, padded: bool = False) -> None:
        self.batches = token_batches(lengths, budget, padded)
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[list[int]]:
        order = list(range(len(self.batches)))
        random.Random(self.seed * 100_003 + self.epoch).shuffle(order)
        self.epoch += 1  # a trainer that never calls set_epoch still sees a new order each pass
        for index in order:
            yield list(self.batches[index])
