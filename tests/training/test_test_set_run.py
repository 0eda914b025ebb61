"""A run of a project with a test set: it trains on none of the test set, its baselines retrieve none
of it, it is evaluated on exactly the test set, its manifest names the test set's hash, and the
dashboard and the report say the numbers come from the test set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from studio.dataset.examples import edit_example, list_examples
from studio.evaluation.dashboard import build_dashboard
from studio.evaluation.leaderboard import predictions_for
from studio.evaluation.report import render_report
from studio.jsonl import read_jsonl
from studio.training.launch import launch_run, wait_for_run
from studio.training.trainer import TrainConfig


@pytest.mark.slow
def test_a_run_with_a_test_set_trains_on_none_of_it_and_is_judged_on_it(db, tiny_demo):
    approved = list_examples(db, tiny_demo, status="approved")
    kept = approved[-5:]
    for example in kept:
        edit_example(db, tiny_demo, example["id"], example["revision"], "ann", split="test")
    test_ids = {e["id"] for e in kept}
    run_id = launch_run(db, tiny_demo, TrainConfig(max_steps=2), few_shot_k=2)
    run = wait_for_run(db, run_id, poll_seconds=0.5)
    assert run["status"] == "succeeded", run["error"]
    run_dir = Path(run["run_dir"])
    trained = {row["id"] for row in read_jsonl(run_dir / "train.jsonl")}
    assert len(trained) == 15 and not trained & test_ids  # every other approved example trains
    assert {row["id"] for row in read_jsonl(run_dir / "eval.jsonl")} == test_ids
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["held_out_source"] == "test set"
    assert manifest["test_set_hash"] == run["config"]["held_out_hash"]
    predictions = predictions_for(db, run_id)
    assert {p["example_id"] for p in predictions} == test_ids
    external = {e["external_id"] or e["id"] for e in kept}
    shown = {shot for p in predictions for shot in p.get("few_shot_ids") or []}
    assert shown and not shown & external, "a baseline was shown a test example"
    board = build_dashboard(db, tiny_demo, run)
    assert (board.held_out_source, board.numbers_from) == (
        "test set",
        "the project's test set: 5 examples the experts keep, never trained on",
    )
    assert sum(c.held_out for c in board.split_counts) == 5 and sum(c.train for c in board.split_counts) == 15
    assert "test set: 5 examples the experts keep" in render_report(board)
