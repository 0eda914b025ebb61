"""Real training: QLoRA (4-bit NF4 base through bitsandbytes, the GPU recipe) and the CPU recipe
(fp32 base, padded batches), LoRA on every linear layer, answer-only loss."""

from __future__ import annotations

import json

import pytest
import torch

from studio.demo import DEMO_DIR
from studio.jsonl import read_jsonl
from studio.training.trainer import TrainConfig, build_trainer, training_rows

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
        str(tiny_llama), SYSTEM, _demo_rows(4), TrainConfig(max_steps=1, cpu_recipe=False), tmp_path
    )
    batch = next(iter(trainer.get_train_dataloader()))
    tokenizer = trainer.processing_class
    assert batch["input_ids"].shape[0] == 1  # padding-free: the four examples in one flat row, no pad tokens
    trained = tokenizer.decode([t for t, label in zip(batch["input_ids"][0], batch["labels"][0]) if label != -100])
    answers = [r["messages"][-1]["content"] for r in _demo_rows(4)]
    assert sorted(t for t in trained.split("<|im_end|>\n") if t) == sorted(answers)


@pytest.mark.slow
def test_qlora_on_packaged_model_moves_adapter_and_keeps_base(tmp_path, default_model):
    trainer = build_trainer(
        str(default_model), SYSTEM, _demo_rows(16), TrainConfig(max_steps=3, batch_size=2, cpu_recipe=False), tmp_path
    )
    model = trainer.model
    quantized = [m for m in model.modules() if type(m).__name__ == "Linear4bit"]
    assert quantized and all(m.weight.quant_type == "nf4" for m in quantized)
    assert sum("lora_" in n for n, _ in model.named_parameters()) >= 2 * 7 * 30  # q,k,v,o,gate,up,down x 30 layers
    lora_before, base_before = _lora_and_base(model)
    trainer.train()
    lora_after, base_after = _lora_and_base(model)
    moved = [n for n in lora_before if not torch.equal(lora_before[n], lora_after[n])]
    assert len(moved) > len(lora_before) // 2
    assert all(torch.equal(base_before[n], base_after[n]) for n in base_before)
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    assert len(losses) == 3 and all(loss > 0 for loss in losses)


@pytest.mark.slow
def test_the_cpu_recipe_trains_an_fp32_base_and_its_loss_is_the_models_own(tmp_path, tiny_llama):
    """The CPU recipe: no 4-bit layers, padded rows, and a loss that projects only the answer
    positions onto the vocabulary yet equals the model's full cross-entropy on the same labels."""
    trainer = build_trainer(str(tiny_llama), SYSTEM, _demo_rows(6), TrainConfig(max_steps=2, batch_size=3), tmp_path)
    model = trainer.model
    assert not [m for m in model.modules() if type(m).__name__ == "Linear4bit"]
    assert next(p for n, p in model.named_parameters() if "lora_" not in n).dtype == torch.float32
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
