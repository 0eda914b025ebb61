"""Runs an expert can trust: resume after a kill, manifest, model card, friendly errors, TensorBoard."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch

from studio.models.loading import ModelUnavailable, cpu_bf16_units
from studio.paths import SOURCE_ROOT
from studio.project.projects import update_project_settings
from studio.training.launch import LaunchRefused, can_resume, get_run, launch_run, list_runs, resume_run, wait_for_run
from studio.training.manifest import chat_template_hash
from studio.training.modelcard import render_model_card
from studio.training.progress import read_events
from studio.training.run_view import run_progress
from studio.training.supervisor import sync_runs
from studio.training.trainer import TrainConfig, last_checkpoint
from studio.training.worker import explain_failure
from studio.training.worker import run as run_worker


def _wait_for(run_dir: Path, predicate, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not predicate(read_events(run_dir)):
        assert time.monotonic() < deadline, f"timed out; events: {read_events(run_dir)[-3:]}"
        time.sleep(0.3)


@pytest.mark.slow
def test_a_killed_run_resumes_from_its_last_checkpoint_and_finishes(db, tiny_demo):
    run_id = launch_run(db, tiny_demo, TrainConfig(max_steps=10, save_steps=2, batch_size=2))
    run_dir = Path(get_run(db, run_id)["run_dir"])
    _wait_for(run_dir, lambda events: any(e["event"] == "step" and e["step"] >= 3 for e in events))
    assert (run_dir / "trainer" / "checkpoint-2").is_dir()
    os.killpg(get_run(db, run_id)["pid"], signal.SIGKILL)
    time.sleep(0.5)
    sync_runs(db)
    run = get_run(db, run_id)
    assert run["status"] == "failed" and can_resume(run)
    resume_run(db, run_id)
    run = wait_for_run(db, run_id, poll_seconds=0.5)
    assert run["status"] == "succeeded", run["error"]
    events = read_events(run_dir)
    starts = [e for e in events if e["event"] == "train_started"]
    assert starts[0]["resumed_at"] == 0 and starts[1]["resumed_at"] >= 2
    assert [e for e in events if e["event"] == "started"][1]["resumed_from"].endswith(
        "checkpoint-" + str(starts[1]["resumed_at"])
    )
    steps = [e["step"] for e in events if e["event"] == "step"]
    assert steps[-1] == 10 and set(steps) == set(range(1, 11))
    assert run_progress(run)["resumes"] == 1
    assert (run_dir / "adapter" / "adapter_model.safetensors").exists()
    assert not (run_dir / "merged").exists()  # merged models are opt-in; the round trip still checked one
    trip = json.loads((run_dir / "round_trip.json").read_text())
    assert trip["checked"] >= 1 and trip["merged_dir"] is None
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))


def test_a_checkpoint_cut_short_mid_save_is_passed_over_for_the_one_before(tmp_path):
    trainer = tmp_path / "trainer"
    for step in (2, 4, 10):
        (trainer / f"checkpoint-{step}").mkdir(parents=True)
    (trainer / "checkpoint-2" / "trainer_state.json").write_text('{"global_step": 2}')
    (trainer / "checkpoint-4" / "trainer_state.json").write_text('{"global_step": 4}')
    (trainer / "checkpoint-10" / "adapter_model.safetensors").write_bytes(b"half")  # killed before its state
    assert last_checkpoint(tmp_path) == str(trainer / "checkpoint-4")
    (trainer / "checkpoint-4" / "trainer_state.json").write_text('{"global_st')  # killed mid-write
    assert last_checkpoint(tmp_path) == str(trainer / "checkpoint-2")
    assert last_checkpoint(tmp_path / "nothing") is None


@pytest.mark.slow
def test_a_running_or_finished_run_does_not_resume(db, tiny_demo):
    run = wait_for_run(db, launch_run(db, tiny_demo, TrainConfig(max_steps=1)), poll_seconds=0.5)
    with pytest.raises(LaunchRefused, match="only a failed or cancelled run resumes"):
        resume_run(db, run["id"])


@pytest.mark.slow
def test_manifest_and_model_card_record_what_reproduces_the_run(db, tiny_demo):
    run = wait_for_run(db, launch_run(db, tiny_demo, TrainConfig(max_steps=2, seed=7)), poll_seconds=0.5)
    assert run["status"] == "succeeded", run["error"]
    run_dir = Path(run["run_dir"])
    manifest = json.loads((run_dir / "manifest.json").read_text())
    from transformers import AutoTokenizer

    template = AutoTokenizer.from_pretrained(run["config"]["model_path"]).chat_template
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=SOURCE_ROOT, capture_output=True, text=True).stdout.strip()
    assert manifest["seed"] == 7 and manifest["snapshot_hash"] == run["snapshot_hash"]
    assert manifest["chat_template_hash"] == chat_template_hash(template) and len(manifest["chat_template_hash"]) == 16
    assert manifest["git"]["commit"] == head and manifest["device"] == "cpu"
    assert manifest["libraries"]["torch"] == torch.__version__ and manifest["libraries"]["trl"]
    assert manifest["config"]["train"] == run["config"]["train"]
    # No GPU here: the CPU recipe was chosen, and the manifest says so and why.
    recipe = manifest["recipe"]
    assert recipe["device"] == "cpu" and recipe["quantization"] == "none"
    assert recipe["weights_dtype"] == ("bfloat16" if cpu_bf16_units() else "float32")
    assert run["config"]["train"]["gradient_checkpointing"]  # asked for, and dropped: a tiny batch fits in memory
    assert recipe["gradient_checkpointing"] is False and "gradient checkpointing off: " in recipe["why"]
    assert recipe["batching"] == "length-grouped padded"
    assert recipe["learning_rate"] == 1e-3 and recipe["max_steps"] == 2 and "CPU recipe" in recipe["why"]
    card = (run_dir / "README.md").read_text()
    assert manifest["snapshot_hash"] in card and manifest["chat_template_hash"] in card and head in card
    assert "| rank | model | field_accuracy |" in card and "tuned" in card and "baseline-0shot" in card
    assert "gradient checkpointing off. Why: CPU recipe" in card  # what the device did, not only what was asked


@pytest.mark.slow
def test_the_manifest_counts_the_steps_the_trainer_takes_with_a_validation_slice(db, tiny_whole_demo):
    """The recipe in the manifest and the trainer count from the same split (it once carved validation twice)."""
    config = TrainConfig(epochs=1.0, min_steps=0, batch_size=16, validation_share=0.2, save_steps=50)
    run = wait_for_run(db, launch_run(db, tiny_whole_demo, config), poll_seconds=0.5)
    assert run["status"] == "succeeded", run["error"]
    run_dir = Path(run["run_dir"])
    trained = max(e["step"] for e in read_events(run_dir) if e["event"] == "step")
    assert json.loads((run_dir / "manifest.json").read_text())["recipe"]["max_steps"] == trained


def test_model_card_before_evaluation_says_it_is_pending():
    card = render_model_card(_manifest(git={"commit": "abc", "dirty": True}))
    assert "Evaluation pending" in card and "uncommitted changes" in card and "| lora_r | 16 |" in card


def test_an_unloadable_base_model_is_refused_before_any_run_exists(db, demo, tmp_path):
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    project = update_project_settings(db, demo, base_model=str(broken))
    with pytest.raises(ModelUnavailable, match="cannot be loaded"):
        launch_run(db, project)
    assert list_runs(db, project) == []


def test_a_snapshot_without_examples_fails_at_once_with_a_clear_message(tmp_path, tiny_llama):
    (tmp_path / "train.jsonl").write_text("")
    (tmp_path / "config.json").write_text(json.dumps({"model_path": str(tiny_llama), "system_prompt": "", "train": {}}))
    started = time.monotonic()
    assert run_worker(tmp_path) == "failed"
    status = json.loads((tmp_path / "status.json").read_text())
    assert "no approved training examples" in status["error"] and time.monotonic() - started < 30


def test_out_of_memory_names_the_settings_and_what_to_lower():
    config = {"train": {"batch_size": 16, "max_length": 2048, "lora_r": 32, "gradient_checkpointing": False}}
    message = explain_failure(torch.OutOfMemoryError("CUDA out of memory"), config)
    assert "batch size 16" in message and "max length 2048" in message and "rank 32" in message
    assert "lower the batch size" in message and "gradient checkpointing on" in message
    cpu = explain_failure(
        RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 1 bytes"), config
    )
    assert cpu.startswith("Out of memory")


def test_the_model_card_says_what_the_device_trained_with_beside_what_was_asked():
    from studio.training.modelcard import render_model_card
    from studio.training.recipe import device_recipe

    asked = TrainConfig()
    recipe = device_recipe(asked, False, 135_000_000, 400, activations_mb=2_000, memory_mb=24_000)
    card = render_model_card(
        _manifest(
            config={"project": "intents", "system_prompt": "Label it.", "train": asked.__dict__},
            base_model="SmolLM2-135M-Instruct",
            recipe=recipe.to_dict(),
        )
    )
    assert "Trained on cpu with 150 optimizer steps at learning rate 0.001" in card
    assert "base weights float32 (quantization: none)" in card and "length-grouped padded batches" in card
    assert "gradient checkpointing off. Why: CPU recipe" in card
    assert "| gradient_checkpointing | True |" in card  # the setting as asked stays in the table below


def _manifest(**overrides) -> dict:
    """A run manifest as the worker writes it, with `overrides` for the fields a test is about."""
    return {
        "run_id": "r1",
        "seed": 0,
        "snapshot_hash": "s",
        "held_out_hash": "h",
        "chat_template_hash": "c",
        "base_model": "m",
        "device": "cpu",
        "git": {"commit": "abc", "dirty": False},
        "libraries": {"torch": "2"},
        "config": {"project": "p", "system_prompt": "Do it.", "train": {"lora_r": 16}},
    } | overrides
