"""A real run with retrieval-augmented fine-tuning, end to end on the tiny Llama: training rows, leaderboard, verdict."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.evaluation.dashboard import build_dashboard
from studio.jsonl import read_jsonl
from studio.training.launch import launch_run, wait_for_run
from studio.training.preflight import estimate_fit, length_profile, rows_as_trained, tokenizer_for
from studio.training.run_config import RunConfig
from studio.training.trainer import TrainConfig
from studio.training.worker import train_rows


@pytest.mark.slow
def test_a_retrieval_run_trains_on_k_retrieved_examples_and_ranks_its_candidate(db, tiny_demo):
    run = wait_for_run(db, launch_run(db, tiny_demo, TrainConfig(max_steps=2, retrieved_examples=2)), poll_seconds=0.5)
    assert run["status"] == "succeeded", run["error"]
    run_dir = Path(run["run_dir"])
    frozen = read_jsonl(run_dir / "train.jsonl")
    trained = train_rows(run_dir, RunConfig.read(run_dir))
    assert [r["id"] for r in trained] == [r["id"] for r in frozen]
    for row, plain in zip(trained, frozen):
        assert len(row["retrieved_ids"]) == 2 and row["id"] not in row["retrieved_ids"]
        assert set(row["retrieved_ids"]) <= {r["id"] for r in frozen}  # the frozen training split, nothing held out
        assert len(row["messages"]) == len(plain["messages"]) + 4 and row["messages"][-1] == plain["messages"][-1]

    board = build_dashboard(db, tiny_demo, run)
    labels = {row.label for row in board.leaderboard}
    assert {f"tuned · {run['id']}", f"tuned + 2 retrieved · {run['id']}", "baseline-0shot", "baseline-3shot"} <= labels
    assert board.comparison["baseline"].startswith("baseline")  # the other tuned candidate is never the bar
    assert board.comparison["candidate"] in ("tuned", "tuned + 2 retrieved")
    assert f"Candidate: {board.comparison['candidate']}" in board.verdict.headline


def test_the_preflight_counts_the_retrieved_examples_tokens(db, tiny_demo):
    from studio.dataset.examples import list_examples

    approved = list_examples(db, tiny_demo, status="approved")
    tokenizer = tokenizer_for(tiny_demo.base_model)
    config = TrainConfig(max_length=4096)
    plain = length_profile(tokenizer, tiny_demo.description, approved, 4096)
    with_three = length_profile(
        tokenizer, tiny_demo.description, rows_as_trained(approved, TrainConfig(retrieved_examples=3)), 4096
    )
    assert rows_as_trained(approved, config) is approved
    # each prompt grows by about three examples' turns (other examples of the same set, with their template tokens)
    turns = [
        len(tokenizer(m["content"])["input_ids"]) for e in approved for m in e["messages"] if m["role"] != "system"
    ]
    mean = sum(turns) / len(approved)
    growth = (with_three["tokens"] - plain["tokens"]) / len(approved)
    assert 2.5 * mean < growth < 3 * mean + 3 * 2 * 8, (mean, growth)
    assert with_three["trained_tokens"] == plain["trained_tokens"]  # the loss stays on each example's own answer
    calibration = {"peak_mb": 100.0, "tokens_per_second": 1000.0, "load_seconds": 0.0}
    slower = estimate_fit(tiny_demo.base_model, config, with_three, calibration, len(approved))
    faster = estimate_fit(tiny_demo.base_model, config, plain, calibration, len(approved))
    # the time estimate grows with the tokens (the demo's long task description is in every prompt either way)
    assert slower["seconds"] / faster["seconds"] == pytest.approx(with_three["tokens"] / plain["tokens"])
    assert slower["seconds"] > 1.3 * faster["seconds"]
