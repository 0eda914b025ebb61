"""Liger's kernels behind an import guard: on this CPU machine the guard says no, with the reason, the manifest's
recipe records it and training is unchanged (transformers' own layers, no Liger in the trainer's arguments)."""

from __future__ import annotations

import importlib.util

import torch

from studio.training.config import TrainConfig
from studio.training.kernels import liger_status
from studio.training.recipe import recipe_for


def test_the_guard_names_what_is_missing_and_says_yes_only_with_all_of_it(monkeypatch):
    assert liger_status(False, "llama") == (
        False,
        "Liger kernels skipped: no CUDA device (they are Triton GPU kernels)",
    )
    assert liger_status(True, "llama", wanted=False)[1].startswith("Liger kernels off")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert "triton and liger_kernel not installed" in liger_status(True, "llama")[1]
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: object())
    assert liger_status(True, "llama")[0] is True
    assert liger_status(True, "gpt2") == (False, "Liger kernels skipped: no Liger kernels for a gpt2 model")


def test_on_this_cpu_machine_the_recipe_records_liger_skipped_and_training_is_unchanged(tiny_llama, tmp_path):
    from transformers.models.llama.modeling_llama import LlamaRMSNorm

    from studio.training.trainer import TrainingJob, build_trainer

    assert not torch.cuda.is_available()
    recipe = recipe_for(str(tiny_llama), TrainConfig(), 20, 100)
    assert recipe.liger is False and recipe.liger_why == liger_status(False, "llama")[1]
    assert recipe.to_dict()["liger_why"].startswith("Liger kernels skipped: no CUDA")
    rows = [
        {"messages": [{"role": "user", "content": f"question {i}"}, {"role": "assistant", "content": f"answer {i}"}]}
        for i in range(6)
    ]
    trainer = build_trainer(TrainingJob(str(tiny_llama), "Answer.", TrainConfig(max_steps=1), tmp_path), rows)
    assert trainer.args.use_liger_kernel is False
    norms = [m for m in trainer.model.modules() if "RMSNorm" in type(m).__name__]
    # transformers' own layers, their forward not patched by Liger (it patches each instance)
    assert norms and all(type(m) is LlamaRMSNorm and "forward" not in vars(m) for m in norms)
    trainer.train()
    assert trainer.state.log_history[0]["loss"] > 0
