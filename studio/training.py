"""QLoRA training of one adapter with TRL's SFTTrainer, reporting progress to the run folder.

The base model is loaded in 4-bit NF4 with double quantization (bitsandbytes, on CUDA
and CPU alike); LoRA adapters go on every linear layer; loss falls on the assistant
answer only (TRL's completion-only loss on prompt/completion rows); the base model's
own chat template renders every example.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from studio.progress import append_event
from studio.prompts import prompt_messages


def _help(text: str, default):
    return field(default=default, metadata={"help": text})


@dataclass(frozen=True)
class TrainConfig:
    """Every training setting, with a default fit for a few hundred expert examples."""

    lora_r: int = _help("LoRA rank: capacity of the adapter (8 to 32 is typical)", 16)
    lora_alpha: int = _help("LoRA alpha: scale of the adapter's update (usually 2 x rank)", 32)
    lora_dropout: float = _help("dropout on the LoRA path, against overfitting small sets", 0.05)
    learning_rate: float = _help("peak learning rate (1e-4 to 2e-4 is typical for LoRA)", 2e-4)
    epochs: float = _help("passes over the training split (about 3 is typical)", 3.0)
    max_steps: int = _help("stop after this many optimizer steps; 0 trains for `epochs`", 0)
    batch_size: int = _help("examples per device per step", 4)
    gradient_accumulation: int = _help("steps whose gradients add up before one update", 1)
    max_length: int = _help("longest rendered example in tokens; longer ones are truncated", 512)
    warmup_ratio: float = _help("share of steps spent ramping the learning rate up", 0.03)
    gradient_checkpointing: bool = _help("recompute activations to save memory", True)
    seed: int = _help("seed for the data order and adapter initialisation", 0)


def training_rows(system_prompt: str, rows: list[dict]) -> list[dict]:
    """Snapshot rows as TRL prompt/completion conversations (loss on the completion only)."""
    out = []
    for row in rows:
        messages = row["messages"]
        last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
        out.append({
            "prompt": prompt_messages(system_prompt, messages[:last]),
            "completion": [messages[last]],
        })
    return out


def build_trainer(
    model_path: str, system_prompt: str, rows: list[dict], config: TrainConfig, run_dir: Path,
    should_stop: Callable[[], bool] = lambda: False,
):
    """A TRL SFTTrainer over a 4-bit base model with fresh LoRA adapters on every linear layer."""
    from datasets import Dataset
    from peft import LoraConfig
    from trl import SFTTrainer

    from studio.models import load_quantized, load_tokenizer

    return SFTTrainer(
        model=load_quantized(model_path),
        args=_sft_config(config, run_dir),
        train_dataset=Dataset.from_list(training_rows(system_prompt, rows)),
        processing_class=load_tokenizer(model_path),
        peft_config=LoraConfig(
            r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
            target_modules="all-linear", task_type="CAUSAL_LM",
        ),
        callbacks=[_progress_callback(run_dir, should_stop)],
    )


def train_adapter(
    model_path: str, system_prompt: str, rows: list[dict], config: TrainConfig, run_dir: Path,
    should_stop: Callable[[], bool] = lambda: False,
) -> Path:
    """Train a LoRA adapter; save it (with the tokenizer) to run_dir/adapter and return that path."""
    trainer = build_trainer(model_path, system_prompt, rows, config, run_dir, should_stop)
    trainer.train()
    adapter_dir = Path(run_dir) / "adapter"
    trainer.model.save_pretrained(adapter_dir)
    trainer.processing_class.save_pretrained(adapter_dir)
    return adapter_dir


def _sft_config(config: TrainConfig, run_dir: Path):
    import torch
    from trl import SFTConfig

    cuda = torch.cuda.is_available()
    return SFTConfig(
        output_dir=str(Path(run_dir) / "trainer"),
        num_train_epochs=config.epochs,
        max_steps=config.max_steps if config.max_steps > 0 else -1,
        per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.gradient_accumulation,
        learning_rate=config.learning_rate,
        warmup_steps=config.warmup_ratio,
        lr_scheduler_type="cosine",
        max_length=config.max_length,
        gradient_checkpointing=config.gradient_checkpointing,
        optim="paged_adamw_8bit" if cuda else "adamw_torch",
        bf16=cuda and torch.cuda.is_bf16_supported(),
        use_cpu=not cuda,
        seed=config.seed,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        disable_tqdm=True,
        dataloader_num_workers=0,
    )


def _progress_callback(run_dir: Path, should_stop: Callable[[], bool]):
    from transformers import TrainerCallback

    class ProgressCallback(TrainerCallback):
        """Appends a step event per log line and honours a cancel request."""

        def on_train_begin(self, args, state, control, **kwargs):
            self.started = time.time()
            append_event(run_dir, "train_started", total=state.max_steps)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not logs or "loss" not in logs:
                return
            elapsed = time.time() - self.started
            done = max(state.global_step, 1)
            append_event(
                run_dir, "step", step=state.global_step, total=state.max_steps, loss=float(logs["loss"]),
                learning_rate=float(logs.get("learning_rate", 0.0)), elapsed=elapsed,
                eta=elapsed / done * (state.max_steps - state.global_step),
                tokens_per_second=float(logs.get("num_tokens", 0.0)) / elapsed if elapsed else 0.0,
                memory_mb=_peak_memory_mb(),
            )

        def on_step_end(self, args, state, control, **kwargs):
            if should_stop():
                control.should_training_stop = True

    return ProgressCallback()


def _peak_memory_mb() -> float:
    import resource

    import torch

    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
