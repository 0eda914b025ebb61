"""Cross-validation of a run's settings: `studio eval RUN --folds K` trains K adapters on K folds as one job,
each answering its own fold, the baselines retrieving only from the other folds, the answers pooled."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_kit import studio_cli

from studio.evaluation.leaderboard import predictions_for
from studio.jsonl import read_jsonl
from studio.training.crossval import fold_dirs, run_folds
from studio.training.launch import get_run, launch_run, list_runs, wait_for_run
from studio.training.progress import read_events
from studio.training.trainer import TrainConfig


@pytest.mark.slow
def test_three_fold_cross_validation_answers_every_example_once_with_an_adapter_that_did_not_train_on_it(
    db, home, tiny_demo
):
    run_id = launch_run(db, tiny_demo, TrainConfig(max_steps=2), few_shot_k=2)
    source = wait_for_run(db, run_id, poll_seconds=0.5)
    assert source["status"] == "succeeded", source["error"]
    done = studio_cli(home, "eval", run_id, "--folds", "3", "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    board = json.loads(done.stdout)
    assert board["held_out_source"] == "folds"
    assert board["numbers_from"].startswith("cross-validation: all 20 examples")
    [job] = [r for r in list_runs(db, tiny_demo) if r["id"] == board["run_id"]]
    assert job["config"]["cross_validates"] == run_id and "fold 3 of 3" in done.stderr
    relayed = [e for e in read_events(Path(job["run_dir"])) if e["event"] == "step"]
    assert {e["fold"] for e in relayed} == {1, 2, 3}  # the live view follows each fold's steps
    assert "step 2/2" in done.stderr
    folds = fold_dirs(Path(job["run_dir"]))
    every = set()
    for fold in folds:
        trained = {row["id"] for row in read_jsonl(fold / "train.jsonl")}
        answered = {row["id"] for row in read_jsonl(fold / "eval.jsonl")}
        assert not trained & answered
        every |= answered
        external = {row["external_id"] for row in read_jsonl(fold / "train.jsonl")}
        shots = {s for p in read_jsonl(fold / "predictions.jsonl") for s in p.get("few_shot_ids") or []}
        assert shots and shots <= external, "a baseline retrieved an example of the fold it answers"
    assert len(every) == 20
    pooled = predictions_for(db, job["id"])
    tuned = [p["example_id"] for p in pooled if p["model"] == "tuned"]
    assert sorted(tuned) == sorted(every)  # each example answered once, by the adapter of its own fold
    assert {m["n"] for m in board["leaderboard"]} == {20}
    # a restarted job skips the folds that succeeded and pools the same answers again
    before = (Path(job["run_dir"]) / "predictions.jsonl").read_text()
    assert run_folds(Path(job["run_dir"])) == "succeeded"
    assert (Path(job["run_dir"]) / "predictions.jsonl").read_text() == before
    assert get_run(db, run_id)["status"] == "succeeded"  # the source run (the adapter to ship) is untouched


def test_a_stopped_cross_validation_resumes_at_its_first_unfinished_fold(tmp_path):
    from studio.training.launch import can_resume, resume_point
    from studio.training.progress import write_status

    job = tmp_path / "job"
    for number in (1, 2, 3):
        (job / "folds" / f"fold-{number}").mkdir(parents=True)
    write_status(job / "folds" / "fold-1", "succeeded")
    write_status(job / "folds" / "fold-2", "cancelled")
    assert resume_point(job) == "fold-2"
    assert can_resume({"status": "cancelled", "run_dir": str(job)})
    write_status(job / "folds" / "fold-2", "succeeded")
    write_status(job / "folds" / "fold-3", "succeeded")
    assert resume_point(job) is None  # nothing left to train: the job only failed in pooling
    (tmp_path / "plain").mkdir()
    assert resume_point(tmp_path / "plain") is None  # an ordinary run without a checkpoint
