"""Pre-flight: the highlighted tokens are exactly the loss-carrying ones; lengths, truncation and presets."""

from __future__ import annotations

import json
from dataclasses import fields

import pytest

from studio.demo import DEMO_DIR
from studio.jsonl import read_jsonl
from studio.training.preflight import estimate_fit, length_profile, loss_view, total_steps
from studio.training.presets import PRESETS, config_from_preset, preset_named
from studio.training.sequences import encode_rows
from studio.training.trainer import TrainConfig, TrainingJob, build_trainer, training_rows

SYSTEM = json.loads((DEMO_DIR / "project.json").read_text())["description"]


def _demo_rows(n: int) -> list[dict]:
    rows = read_jsonl(DEMO_DIR / "tickets.jsonl")[:n]
    return [{"id": i, "external_id": r["id"], "messages": r["messages"], "tags": r["tags"]} for i, r in enumerate(rows)]


@pytest.fixture(scope="module")
def tokenizer(tiny_llama):
    from studio.models.loading import load_tokenizer

    return load_tokenizer(str(tiny_llama))


def test_sequences_match_trl_own_prompt_completion_tokenisation(tiny_llama, tokenizer, tmp_path):
    """TRL tokenises the raw prompt/completion rows itself; our sequences must be identical."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM
    from trl import SFTConfig, SFTTrainer

    rows = _demo_rows(12)
    trainer = SFTTrainer(
        model=AutoModelForCausalLM.from_pretrained(tiny_llama),
        processing_class=tokenizer,
        args=SFTConfig(output_dir=str(tmp_path), max_length=4096, report_to=[], use_cpu=True),
        train_dataset=Dataset.from_list(training_rows(SYSTEM, rows)),
    )
    ours = encode_rows(tokenizer, SYSTEM, rows, 4096)
    theirs = trainer.train_dataset
    assert [s.input_ids for s in ours] == theirs["input_ids"]
    assert [[int(m) for m in s.completion_mask] for s in ours] == [
        [int(label != -100) for label in labels] for labels in theirs["labels"]
    ]


@pytest.mark.parametrize("cpu_recipe", [False, True])
def test_highlighted_tokens_are_exactly_the_ones_the_trainer_puts_loss_on(tiny_llama, tokenizer, tmp_path, cpu_recipe):
    rows = _demo_rows(4)
    trainer = build_trainer(
        TrainingJob(str(tiny_llama), SYSTEM, TrainConfig(max_steps=1, batch_size=4, cpu_recipe=cpu_recipe), tmp_path),
        rows,
    )
    batch = next(iter(trainer.get_train_dataloader()))
    if cpu_recipe:  # the CPU recipe: one padded row per example
        assert batch["input_ids"].shape[0] == 4
    else:  # QLoRA's padding-free batches: one flat row, no pads
        assert batch["input_ids"].shape[0] == 1 and "position_ids" in batch
    trained_ids = sorted(
        int(t)
        for ids, labels in zip(batch["input_ids"], batch["labels"])
        for t, label in zip(ids, labels)
        if label != -100
    )
    highlighted = []
    for row in rows:
        segments = loss_view(tokenizer, SYSTEM, row["messages"], 512)
        assert "".join(s.text for s in segments) == tokenizer.apply_chat_template(
            [{"role": "system", "content": SYSTEM}, *row["messages"]], tokenize=False
        )
        highlighted += [
            t for s in segments if s.trained for t in tokenizer(s.text, add_special_tokens=False)["input_ids"]
        ]
        assert [s.text for s in segments if s.trained] == [row["messages"][-1]["content"] + "<|im_end|>\n"]
    assert sorted(highlighted) == trained_ids


def test_length_profile_counts_the_examples_the_max_length_cuts(tokenizer):
    rows = _demo_rows(40)
    full = [
        len(
            tokenizer.apply_chat_template([{"role": "system", "content": SYSTEM}, *r["messages"]], tokenize=True)[
                "input_ids"
            ]
        )
        for r in rows
    ]
    limit = sorted(full)[len(full) // 2]
    profile = length_profile(tokenizer, SYSTEM, rows, limit)
    assert profile["lengths"] == full
    assert profile["truncated"] == sum(n > limit for n in full) > 0
    assert profile["truncated_examples"] == [r["external_id"] for r, n in zip(rows, full) if n > limit]
    assert length_profile(tokenizer, SYSTEM, rows, max(full))["truncated"] == 0


def test_a_prompt_longer_than_the_max_length_loses_its_whole_answer(tokenizer):
    profile = length_profile(tokenizer, SYSTEM, _demo_rows(3), 8)
    assert profile["answer_lost"] == [r["external_id"] for r in _demo_rows(3)]


def test_estimate_uses_the_calibration_when_there_is_one(tiny_llama, tokenizer):
    profile = length_profile(tokenizer, SYSTEM, _demo_rows(20), 512)
    config = TrainConfig(batch_size=4, epochs=2)
    guess = estimate_fit(str(tiny_llama), config, profile, None)
    assert guess["steps"] == total_steps(20, config) == 10 and guess["seconds"] is None and guess["peak_mb"] > 0
    measured = estimate_fit(
        str(tiny_llama), config, profile, {"peak_mb": 1e9, "tokens_per_second": 100.0, "load_seconds": 5.0}
    )
    tokens = 10 * 4 * sum(profile["lengths"]) / 20
    assert measured["seconds"] == pytest.approx(tokens / 100 + 5) and not measured["fits"]


def test_presets_are_three_explained_in_one_line_within_the_working_range():
    assert [p.name for p in PRESETS] == ["Quick", "Balanced", "Thorough"]
    for preset in PRESETS:
        assert preset.explanation and "\n" not in preset.explanation
        assert 8 <= preset.config.lora_r <= 32 and preset.config.lora_alpha == 2 * preset.config.lora_r
        assert preset.config.learning_rate == 0  # picked by the model's size (studio.training.recipe)
        assert preset.config.min_steps > 0
    assert [p.config.epochs for p in PRESETS] == sorted(p.config.epochs for p in PRESETS)
    assert preset_named("balanced").config.validation_share > 0
    assert config_from_preset("Quick", max_length=128).max_length == 128
    with pytest.raises(ValueError, match="Quick, Balanced, Thorough"):
        preset_named("Fast")
    with pytest.raises(TypeError):
        config_from_preset("Quick", no_such_setting=1)


def test_every_setting_has_a_default_and_help():
    assert all(f.metadata["help"] and f.default is not None for f in fields(TrainConfig))


@pytest.mark.slow
def test_calibration_measures_real_steps_once_and_caches_them(home, tiny_llama):
    from datetime import datetime

    from studio.training.calibration import cached_calibration, calibrate

    rows = [{**r, "created_at": datetime.now()} for r in _demo_rows(12)]  # as list_examples returns them
    config = TrainConfig(batch_size=2)
    lengths = [len(r["messages"][0]["content"]) for r in rows]
    assert cached_calibration(str(tiny_llama), config, rows, lengths) is None
    measured = calibrate(str(tiny_llama), SYSTEM, config, rows, lengths)
    assert measured["tokens_per_second"] > 0 and measured["peak_mb"] > 0 and measured["device"] == "cpu"
    assert cached_calibration(str(tiny_llama), config, rows, lengths) == measured


def test_the_pre_flight_shows_the_step_count_the_trainer_is_given(db, demo, tmp_path):
    from streamlit.testing.v1 import AppTest

    from studio.dataset.examples import list_examples
    from studio.dataset.snapshots import freeze_snapshot
    from studio.paths import APP_SCRIPT, SOURCE_ROOT
    from studio.training.presets import DEFAULT_PRESET, preset_named
    from studio.training.recipe import device_recipe
    from studio.training.trainer import _sft_config

    approved = list_examples(db, demo, status="approved")
    n_train = len(freeze_snapshot(approved, demo.output_spec, demo.split_seed).train)
    config = preset_named(DEFAULT_PRESET).config
    app = AppTest.from_file(str(APP_SCRIPT), default_timeout=120)
    app.run()
    app.switch_page(str(SOURCE_ROOT / "pages" / "train.py"))
    app.run()
    shown = int(next(m.value for m in app.metric if m.label == "Steps"))
    assert (
        shown == total_steps(n_train, config) != total_steps(len(approved), config)
    )  # held-out examples are not trained on
    recipe = device_recipe(config, False, 135_000_000, n_train)
    assert recipe.max_steps == shown  # the manifest records the same count
    assert (
        _sft_config(config, recipe, tmp_path, False, n_train).max_steps == shown
    )  # the trainer runs exactly that many
