"""Real training: QLoRA (4-bit NF4 base through bitsandbytes, the GPU recipe) and the CPU recipe
(fp32 base, padded batches), LoRA on every linear layer, answer-only loss."""

from __future__ import annotations

import json

import pytest
import torch

from studio.demo import DEMO_DIR
from studio.jsonl import read_jsonl
from studio.models.loading import cpu_bf16_units
from studio.training.trainer import TrainConfig, TrainingJob, build_trainer, training_rows

SYSTEM = json.loads((DEMO_DIR / "project.json").read_text())["description"]


def _demo_rows(n: int) -> list[dict]:
    rows = read_jsonl(DEMO_DIR / "tickets.jsonl")[:n]
    return [{"id": i, "external_id": r["id"], "messages": r["messages"], "tags": r["tags"]} for i, r in enumerate(rows)]


def _lora_and_base(model) -> tuple[dict, dict]:
    lora, base = {}, {}
    for name, param in model.named_parameters():
        (lora if "lora_" in name else base)[name] = param.detach().float().clone()
    return lora, base


def test_training_rows_put_the_answer_in_the_completion():
    rows = training_rows("Be brief.", _demo_rows(1))
    assert rows[0]["prompt"][0] == {"role": "system", "content": "Be brief."}
    assert rows[0]["prompt"][-1]["role"] == "user"
    assert rows[0]["completion"][0]["role"] == "assistant"


@pytest.mark.slow
def test_loss_falls_on_the_answer_tokens_only(tmp_path, tiny_llama):
    trainer = build_trainer(
        TrainingJob(str(tiny_llama), SYSTEM, TrainConfig(max_steps=1, cpu_recipe=False), tmp_path), _demo_rows(4)
    )
    batch = next(iter(trainer.get_train_dataloader()))
    tokenizer = trainer.processing_class
    assert batch["input_ids"].shape[0] == 1  # padding-free: the four examples in one flat row, no pad tokens
    trained = tokenizer.decode([t for t, label in zip(batch["input_ids"][0], batch["labels"][0]) if label != -100])
    answers = [r["messages"][-1]["content"] for r in _demo_rows(4)]
    assert sorted(t for t in trained.split("<|im_end|>\n") if t) == sorted(answers)


@pytest.mark.slow
def test_qlora_moves_adapter_and_keeps_base(tmp_path, tiny_llama):
    """The 4-bit path on the tiny Llama: it asserts what QLoRA does to the weights, not that the model learned."""
    trainer = build_trainer(
        TrainingJob(str(tiny_llama), SYSTEM, TrainConfig(max_steps=3, batch_size=2, cpu_recipe=False), tmp_path),
        _demo_rows(16),
    )
    model = trainer.model
    quantized = [m for m in model.modules() if type(m).__name__ == "Linear4bit"]
    assert quantized and all(m.weight.quant_type == "nf4" for m in quantized)
    assert sum("lora_" in n for n, _ in model.named_parameters()) >= 2 * 7 * 2  # q,k,v,o,gate,up,down x 2 layers
    assert all(p.dtype == torch.bfloat16 for n, p in model.named_parameters() if "lora_" in n)  # as the recipe says
    lora_before, base_before = _lora_and_base(model)
    trainer.train()
    lora_after, base_after = _lora_and_base(model)
    moved = [n for n in lora_before if not torch.equal(lora_before[n], lora_after[n])]
    assert len(moved) > len(lora_before) // 2
    assert all(torch.equal(base_before[n], base_after[n]) for n in base_before)
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    assert len(losses) == 3 and all(loss > 0 for loss in losses)


@pytest.mark.slow
def test_the_cpu_recipe_trains_an_unquantized_base_and_its_loss_is_the_models_own(tmp_path, tiny_llama):
    """The CPU recipe: no 4-bit layers, padded rows, and a loss that projects only the answer
    positions onto the vocabulary yet equals the model's full cross-entropy on the same labels."""
    trainer = build_trainer(
        TrainingJob(str(tiny_llama), SYSTEM, TrainConfig(max_steps=2, batch_size=3), tmp_path), _demo_rows(6)
    )
    model = trainer.model
    assert not [m for m in model.modules() if type(m).__name__ == "Linear4bit"]
    base_dtype = torch.bfloat16 if cpu_bf16_units() else torch.float32  # the base's dtype follows the CPU's bf16 units
    assert next(p for n, p in model.named_parameters() if "lora_" not in n).dtype == base_dtype
    assert all(p.dtype == base_dtype for n, p in model.named_parameters() if "lora_" in n)  # no casts between them
    batch = next(iter(trainer.get_train_dataloader()))
    assert batch["input_ids"].shape[0] == 3 and (batch["attention_mask"] == 0).any()  # padded rows
    with torch.no_grad():
        ours = trainer.compute_loss(model, dict(batch))
        full = model(**batch).loss
    assert ours.item() == pytest.approx(full.item(), rel=1e-4)
    lora_before, base_before = _lora_and_base(model)
    trainer.train()
    lora_after, base_after = _lora_and_base(model)
    assert any(not torch.equal(lora_before[n], lora_after[n]) for n in lora_before)
    assert all(torch.equal(base_before[n], base_after[n]) for n in base_before)
    tokens = [e["num_tokens"] for e in trainer.state.log_history if "num_tokens" in e]
    assert tokens and tokens[-1] > tokens[0] > 0  # real tokens counted, for the live tokens/s


def test_the_cpu_recipe_drops_gradient_checkpointing_only_when_the_batch_fits():
    from studio.training.recipe import device_recipe

    config = TrainConfig()
    fits = device_recipe(config, False, 135_000_000, 400, activations_mb=3_000, memory_mb=24_000)
    too_big = device_recipe(config, False, 135_000_000, 400, activations_mb=13_000, memory_mb=24_000)
    assert not fits.gradient_checkpointing and "off: " in fits.why and "3,000 MB" in fits.why
    assert too_big.gradient_checkpointing and "on: " in too_big.why
    assert not device_recipe(
        TrainConfig(gradient_checkpointing=False), False, 135_000_000, 400, activations_mb=9_000, memory_mb=24_000
    ).gradient_checkpointing  # a user who turned it off keeps it off
    gpu = device_recipe(config, True, 135_000_000, 400, activations_mb=3_000, memory_mb=24_000)
    assert gpu.gradient_checkpointing  # QLoRA on a GPU keeps it as configured


def test_the_cpu_recipe_trains_a_bf16_base_only_where_the_cpu_has_bf16_units():
    from studio.training.recipe import device_recipe

    config = TrainConfig()
    with_units = device_recipe(config, False, 135_000_000, 400, activations_mb=3_000, memory_mb=24_000, cpu_bf16=True)
    without = device_recipe(config, False, 135_000_000, 400, activations_mb=3_000, memory_mb=24_000, cpu_bf16=False)
    assert with_units.weights_dtype == with_units.adapter_dtype == "bfloat16"
    assert "bf16 base and LoRA weights (the CPU has bf16 matrix units" in with_units.why
    assert without.weights_dtype == without.adapter_dtype == "float32"
    assert "fp32 base (the CPU has no bf16 matrix units)" in without.why
    gpu = device_recipe(config, True, 135_000_000, 400, cpu_bf16=True)
    assert gpu.quantization.startswith("4-bit") and gpu.weights_dtype == "nf4 (bf16 compute)"
    assert gpu.adapter_dtype == "bfloat16"  # TRL's cast of a quantized base's adapters


def test_the_cpu_recipe_trains_short_rows_with_eager_attention_and_long_ones_with_sdpa():
    from studio.training.recipe import CPU_EAGER_ATTENTION_TOKENS, device_recipe

    def attention(longest: int) -> str:
        return device_recipe(TrainConfig(), False, 135_000_000, 400, 3_000, 24_000, True, longest).attention

    assert attention(90) == attention(CPU_EAGER_ATTENTION_TOKENS) == "eager"
    assert attention(CPU_EAGER_ATTENTION_TOKENS + 1) == attention(390) == "sdpa"
    assert attention(0) == "sdpa"  # the longest row unknown: the safe default
    short = device_recipe(TrainConfig(), False, 135_000_000, 400, 3_000, 24_000, True, 90)
    assert "eager attention (rows of at most 90 tokens" in short.why


def test_activation_estimate_matches_the_measured_demo_batch():
    """SmolLM2-135M's shape, 8 demo tickets of about 310 tokens: 10 GB measured without checkpointing on an fp32
    base, 5.8 GB on a bf16 one (the whole worker)."""
    from types import SimpleNamespace

    from studio.training.recipe import activation_mb

    smol = SimpleNamespace(hidden_size=576, num_hidden_layers=30, intermediate_size=1536, num_attention_heads=9)
    assert 6_000 < activation_mb(smol, 8, 310) < 14_000
    assert 3_000 < activation_mb(smol, 8, 310, bytes_per_value=2) < 7_000
    assert activation_mb(smol, 8, 620) > 2 * activation_mb(smol, 8, 310)  # attention grows with the square


@pytest.mark.slow
def test_a_small_cpu_batch_trains_without_gradient_checkpointing(tmp_path, tiny_llama):
    trainer = build_trainer(
        TrainingJob(str(tiny_llama), SYSTEM, TrainConfig(max_steps=1, batch_size=2), tmp_path), _demo_rows(4)
    )
    assert not trainer.args.gradient_checkpointing
    trainer.train()
