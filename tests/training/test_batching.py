"""Batches filled to a token budget (TrainConfig.tokens_per_step): within the budget, every row once an epoch,
the step count known before training, and the trainer's own data loader built from them."""

from __future__ import annotations

import random

import pytest

from studio.training.batching import TokenBudgetSampler, token_batches
from studio.training.config import TrainConfig, total_steps

LENGTHS = [random.Random(7).randint(20, 400) for _ in range(300)] + [900]  # one row longer than the budget


@pytest.mark.parametrize("padded", [False, True])
def test_batches_keep_to_the_budget_and_cover_every_row_once_an_epoch(padded):
    sampler = TokenBudgetSampler(LENGTHS, 1024, seed=3, padded=padded)
    epochs = [list(sampler) for _ in range(2)]
    for batches in epochs:
        seen = sorted(i for batch in batches for i in batch)
        assert seen == list(range(len(LENGTHS)))  # every row exactly once
        for batch in batches:
            cost = len(batch) * max(LENGTHS[i] for i in batch) if padded else sum(LENGTHS[i] for i in batch)
            assert cost <= 1024 or batch == [300], (batch, cost)  # only the 900-token row... and it trains alone
        assert [300] in batches
    assert epochs[0] != epochs[1] and sorted(map(tuple, epochs[0])) == sorted(map(tuple, epochs[1]))
    # short rows go together: far fewer steps than a fixed 8 rows a step would take
    assert len(epochs[0]) < len(LENGTHS) / 2


def test_the_budget_fills_batches_rather_than_splitting_them_early():
    batches = token_batches([100] * 10, 300)
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    assert token_batches([300, 10, 10], 300, padded=True) == [[0], [1, 2]]
    with pytest.raises(ValueError, match="above 0"):
        token_batches([1], 0)


def test_the_step_count_follows_the_budget_and_the_processes():
    config = TrainConfig(tokens_per_step=1024, epochs=2, processes=2)
    per_epoch = len(token_batches(LENGTHS, 1024))
    assert total_steps(len(LENGTHS), config, lengths=LENGTHS) == 2 * -(-per_epoch // 2)
    assert total_steps(len(LENGTHS), TrainConfig(epochs=1, batch_size=8)) == -(-len(LENGTHS) // 8)


def test_the_trainer_draws_its_batches_within_the_budget(demo, tiny_llama, tmp_path, db):
    from studio.dataset.examples import list_examples
    from studio.training.trainer import TrainingJob, build_trainer

    rows = [{"messages": e["messages"]} for e in list_examples(db, demo, status="approved")][:40]
    config = TrainConfig(tokens_per_step=2048)
    trainer = build_trainer(TrainingJob(str(tiny_llama), demo.description, config, tmp_path), rows)
    assert len(trainer.train_dataset) == len(rows)
    loader = trainer.get_train_dataloader()
    seen = 0
    for batch in loader:
        mask = batch["attention_mask"]
        assert mask.shape[0] * mask.shape[1] <= 2048 or mask.shape[0] == 1  # padded rows count on the CPU recipe
        seen += mask.shape[0]
    assert seen == len(rows) and trainer.args.max_steps == total_steps(
        len(rows), config, lengths=[len(ids) for ids in trainer.train_dataset["input_ids"]], padded=True
    )
