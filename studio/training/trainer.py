"""LoRA training of one adapter with TRL's SFTTrainer, reporting progress to the run folder.

The device decides the recipe (studio.training.recipe, recorded in the run manifest): on a GPU,
QLoRA (the base in 4-bit NF4 with double quantization, paged 8-bit AdamW, gradient
checkpointing, padding-free batches: one flat row with position ids); on a CPU, an unquantized
base (bf16 where the CPU has bf16 units, else fp32), length-grouped padded batches and no checkpointing when the batch fits in memory,
which trains faster and learns better there. LoRA adapters go on every linear layer; loss
falls on the assistant answer only (the sequences of studio/training/sequences.py, one mask
for the trainer and the pre-flight); checkpoints are saved every `save_steps` so that a
killed run resumes; an optional validation slice picks the checkpoint kept by the task metric.
TensorBoard event files go to run_dir/tensorboard; MLflow or W&B join in when configured.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from studio.training.callbacks import progress_callback, validation_callback
from studio.training.config import TrainConfig, carve_validation, total_steps
from studio.training.sequences import encode_rows, longest_sequence

# Liger's layer kernels on the GPU recipe. Its fused linear cross-entropy replaces the model's forward, which
# TRL's SFTTrainer refuses: TRL computes the loss through its own chunked LM head, which never holds the full logits.
LIGER_KERNELS = {
    "rms_norm": True,
    "swiglu": True,
    "rope": True,
    "cross_entropy": False,
    "fused_linear_cross_entropy": False,
}


def training_rows(system_prompt: str, rows: list[dict]) -> list[dict]:
    """Snapshot rows as TRL prompt/completion conversations (loss on the completion only)."""
    from studio.training.sequences import conversation_parts

    return [dict(zip(("prompt", "completion"), conversation_parts(system_prompt, row["messages"]))) for row in rows]


@dataclass(frozen=True)
class TrainingJob:
    """What one adapter is trained from and into, read by build_trainer and train_adapter alike."""

    model_path: str  # the base model's folder (or hub id)
    system_prompt: str  # the project's task description, the system message of every example without its own
    config: TrainConfig
    run_dir: Path  # checkpoints, TensorBoard events and the adapter go here
    output_spec: dict = field(default_factory=lambda: {"kind": "text"})  # scores the validation slice
    trust_remote_code: bool = False  # an admin let this base model run its own code


def build_trainer(job: TrainingJob, rows: list[dict], should_stop: Callable[[], bool] = lambda: False):
    """A TRL SFTTrainer over the device's base model (studio.training.recipe) with fresh LoRA adapters on every
    linear layer, for `job` on these training rows; `should_stop` is asked between steps (a cancel)."""
    from peft import LoraConfig
    from trl import SFTTrainer

    from studio.models.loading import load_base, load_tokenizer
    from studio.training.recipe import recipe_for

    if not rows:
        raise ValueError("the snapshot has no approved training examples: approve some on the Examples page")
    model_path, system_prompt, config, run_dir = job.model_path, job.system_prompt, job.config, job.run_dir
    trust_remote_code = job.trust_remote_code
    tokenizer = load_tokenizer(model_path, trust_remote_code)
    validation_rows = carve_validation(rows, config.validation_share, config.seed)[1]
    train_sequences, validation_sequences = training_sequences(tokenizer, system_prompt, rows, config)
    os.environ["TENSORBOARD_LOGGING_DIR"] = str(Path(run_dir) / "tensorboard")
    lengths = [len(s.input_ids) for s in train_sequences]
    recipe = recipe_for(model_path, config, len(rows), longest_sequence(train_sequences), trust_remote_code, lengths)
    callbacks = [progress_callback(run_dir, should_stop)]
    if validation_rows:
        callbacks.append(validation_callback(run_dir, system_prompt, validation_rows, job.output_spec, tokenizer))
    trainer_class = SFTTrainer if recipe.padding_free else _answer_head_trainer()
    if config.tokens_per_step > 0:
        trainer_class = _token_budget_trainer(
            trainer_class, config.tokens_per_step, config.seed, not recipe.padding_free
        )
    trainer = trainer_class(
        model=load_base(
            model_path, recipe.quantization != "none", trust_remote_code, recipe.weights_dtype, recipe.attention
        ),
        args=_sft_config(config, recipe, run_dir, bool(validation_rows), len(rows), lengths),
        train_dataset=_dataset(train_sequences),
        eval_dataset=_dataset(validation_sequences) if validation_sequences else None,
        processing_class=tokenizer,
        peft_config=LoraConfig(
            r=config.lora_r,
            lora_alpha=config.lora_alpha,
            lora_dropout=config.lora_dropout,
            target_modules="all-linear",
            task_type="CAUSAL_LM",
        ),
        callbacks=callbacks,
    )
    if recipe.quantization == "none":  # TRL casts a quantized base's adapters itself
        _cast_adapters(trainer.model, recipe.adapter_dtype)
    return trainer


def _cast_adapters(model, dtype: str) -> None:
    """The trainable (LoRA) weights in `dtype`, before the optimizer is made, so it steps them in it."""
    import torch

    wanted = getattr(torch, dtype)
    for parameter in model.parameters():
        if parameter.requires_grad and parameter.dtype != wanted:
            parameter.data = parameter.data.to(wanted)


def training_sequences(tokenizer, system_prompt: str, rows: list[dict], config: TrainConfig) -> tuple[list, list]:
    """(training, validation) token sequences of a run's training split, after the validation slice is carved."""
    train_rows, validation_rows = carve_validation(rows, config.validation_share, config.seed)
    return tuple(
        encode_rows(tokenizer, system_prompt, part, config.max_length) for part in (train_rows, validation_rows)
    )


def _answer_head_trainer():
    """SFTTrainer whose loss projects only the answer positions onto the vocabulary.

    On padded batches most positions are prompt, and the language-model head (vocabulary
    x hidden) costs about a third of a small model's compute per position: computing its
    logits only where a next token carries loss, over the union of those positions in the
    batch, gives the same cross-entropy for a fraction of the work. It also skips TRL's
    per-step entropy and token-accuracy metrics, which read the full logits.
    """
    import torch
    from trl import SFTTrainer

    class AnswerHeadTrainer(SFTTrainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            labels = inputs["labels"]
            targets = labels[:, 1:]
            keep = (targets != -100).any(dim=0).nonzero().squeeze(-1)  # positions whose next token is trained
            outputs = model(
                input_ids=inputs["input_ids"], attention_mask=inputs.get("attention_mask"), logits_to_keep=keep
            )
            logits = outputs.logits.float()
            kept = targets[:, keep]
            loss = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), kept.reshape(-1), ignore_index=-100, reduction="sum"
            )
            count = num_items_in_batch if num_items_in_batch is not None else (kept != -100).sum()
            loss = loss / count
            if num_items_in_batch is not None and self.accelerator.num_processes > 1:
                # the count is every process's answer tokens and DDP averages the gradients: scale back, as Trainer does
                loss = loss * self.accelerator.num_processes
            if model.training:  # TRL's running count of real tokens (every process's), turned into tokens/s
                self._total_train_tokens += int(
                    self.accelerator.gather_for_metrics(inputs["attention_mask"].sum()).sum()
                )
                self._metrics["train"]["num_tokens"] = [self._total_train_tokens]
            return (loss, outputs) if return_outputs else loss

    return AnswerHeadTrainer


def _token_budget_trainer(base, budget: int, seed: int, padded: bool):
    """`base` (a trainer class) whose training batches are filled to `budget` tokens (studio.training.batching)."""
    from torch.utils.data import DataLoader

    from studio.training.batching import TokenBudgetSampler

    class TokenBudgetTrainer(base):
        def get_train_dataloader(self):
            dataset = self._remove_unused_columns(self.train_dataset, description="training")
            lengths = [len(ids) for ids in dataset["input_ids"]]
            loader = DataLoader(
                dataset,
                batch_sampler=TokenBudgetSampler(lengths, budget, seed, padded),
                collate_fn=self.data_collator,
                num_workers=self.args.dataloader_num_workers,
                pin_memory=self.args.dataloader_pin_memory,
            )
            return self.accelerator.prepare(loader)  # each process takes whole batches in turn

    return TokenBudgetTrainer


def _dataset(sequences):
    from datasets import Dataset

    return Dataset.from_dict(
        {
            "input_ids": [s.input_ids for s in sequences],
            "completion_mask": [s.completion_mask for s in sequences],
        }
    )


def train_adapter(trainer, job: TrainingJob) -> Path:
    """Train (or resume) the adapter of `job`'s trainer from build_trainer; save the best one, with the tokenizer,
    to run_dir/adapter."""
    run_dir = job.run_dir
    trainer.train(resume_from_checkpoint=last_checkpoint(run_dir))
    adapter_dir = Path(run_dir) / "adapter"
    if not trainer.is_world_process_zero():
        return adapter_dir
    best = best_checkpoint(run_dir)
    trainer.model.save_pretrained(adapter_dir)
    if best is not None:  # the validation slice preferred an earlier checkpoint: ship that one
        for name in ("adapter_model.safetensors", "adapter_config.json"):
            shutil.copy2(best / name, adapter_dir / name)
    trainer.processing_class.save_pretrained(adapter_dir)
    return adapter_dir


def last_checkpoint(run_dir: Path) -> str | None:
    """The newest complete checkpoint of this run, if a previous attempt left one.

    The trainer writes `trainer_state.json` last, so a folder without a readable one was cut short mid-save
    (the worker was killed while saving) and is passed over for the one before it.
    """
    import json

    folder = Path(run_dir) / "trainer"
    if not folder.is_dir():
        return None
    for checkpoint in sorted(folder.glob("checkpoint-*"), key=_checkpoint_step, reverse=True):
        try:
            json.loads((checkpoint / "trainer_state.json").read_text())
        except (OSError, ValueError):
            continue
        return str(checkpoint)
    return None


def _checkpoint_step(path: Path) -> int:
    suffix = path.name.removeprefix("checkpoint-")
    return int(suffix) if suffix.isdigit() else -1


def best_checkpoint(run_dir: Path) -> Path | None:
    import json

    path = Path(run_dir) / "trainer" / "best.json"
    if not path.exists():
        return None
    best = Path(json.loads(path.read_text())["checkpoint"])
    return best if (best / "adapter_model.safetensors").exists() else None


def reporters() -> list[str]:
    """TensorBoard always; MLflow and Weights & Biases when the environment configures them."""
    wanted = ["tensorboard"]
    if os.environ.get("MLFLOW_TRACKING_URI") and importlib.util.find_spec("mlflow"):
        wanted.append("mlflow")
    if (os.environ.get("WANDB_API_KEY") or os.environ.get("WANDB_MODE")) and importlib.util.find_spec("wandb"):
        wanted.append("wandb")
    return wanted


def _sft_config(
    config: TrainConfig, recipe, run_dir: Path, validating: bool, n_rows: int, lengths: list[int] | None = None
):
    import torch
    from trl import SFTConfig

    cuda = recipe.device == "cuda"
    every = max(1, config.save_steps)
    return SFTConfig(
        output_dir=str(Path(run_dir) / "trainer"),
        num_train_epochs=config.epochs,
        max_steps=total_steps(
            n_rows, config, int(os.environ.get("WORLD_SIZE", "1") or 1), lengths, padded=not recipe.padding_free
        ),
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        gradient_accumulation_steps=config.gradient_accumulation,
        learning_rate=recipe.learning_rate,
        weight_decay=config.weight_decay,
        warmup_steps=config.warmup_ratio,
        lr_scheduler_type="cosine",
        max_length=None if recipe.padding_free else config.max_length,  # sequences arrive truncated
        padding_free=recipe.padding_free,
        train_sampling_strategy="random" if recipe.padding_free else "group_by_length",
        completion_only_loss=True,
        gradient_checkpointing=recipe.gradient_checkpointing,
        use_liger_kernel=recipe.liger,  # its layer kernels; TRL's own fused LM head stands in for Liger's fused loss
        liger_kernel_config=LIGER_KERNELS if recipe.liger else None,
        optim=recipe.optimizer,
        bf16=cuda and torch.cuda.is_bf16_supported(),
        use_cpu=not cuda,
        seed=config.seed,
        logging_steps=1,
        save_strategy="steps",
        save_steps=every,
        save_total_limit=2,
        eval_strategy="steps" if validating else "no",
        eval_steps=every,
        report_to=reporters(),
        disable_tqdm=True,
        dataloader_num_workers=0,
    )
