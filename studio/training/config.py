"""What a run trains with: `TrainConfig`, every training setting, and `total_steps`, the one count of
optimizer steps that the recipe, the pre-flight and the trainer all read.

Pure (no torch): the recipe and the pre-flight are computed from this config and the model's shape
(studio.training.shape), and the trainer consumes them; nothing here imports them back.
"""

from __future__ import annotations

from dataclasses import dataclass

from studio.settings import setting


@dataclass(frozen=True)
class TrainConfig:
    """Every training setting, with a default fit for a few hundred expert examples."""

    lora_r: int = setting("LoRA rank: capacity of the adapter (8 to 32 is typical)", 16, "Adapter size (LoRA rank)")
    lora_alpha: int = setting(
        "LoRA alpha: scale of the adapter's update (usually 2 x rank)", 32, "Adapter strength (LoRA alpha)"
    )
    lora_dropout: float = setting(
        "dropout on the LoRA path, against overfitting small sets; off by default: on a CPU drawing its masks took "
        "27% of a step (docs/benchmarks.md), and the validation slice already keeps an overfit checkpoint from shipping",
        0.0,
        "Adapter dropout",
    )
    learning_rate: float = setting(
        "peak learning rate; 0 picks by the model's size (1e-3 under 0.5B parameters, 5e-4 to 3B, 2e-4 above)",
        0.0,
        "Learning rate (0: by model size)",
    )
    epochs: float = setting(
        "passes over the training split (about 3 is typical)", 3.0, "Passes over the examples (epochs)"
    )
    max_steps: int = setting(
        "stop after this many optimizer steps; 0 trains for `epochs`", 0, "Stop after this many steps (0: no cap)"
    )
    min_steps: int = setting(
        "at least this many optimizer steps: a tiny set trains more epochs rather than stopping before it learns",
        0,
        "Train at least this many steps",
    )
    batch_size: int = setting("examples per device per step", 8, "Examples per step (batch size)")
    tokens_per_step: int = setting(
        "fill each device's batch to this many tokens instead of a fixed count of examples (rows of similar length "
        "together; padded tokens count on the CPU recipe's padded batches); a longer row trains alone. 0: off, "
        "batch_size examples a step",
        0,
        "Tokens per step and device (0: batch size)",
    )
    gradient_accumulation: int = setting(
        "steps whose gradients add up before one update", 1, "Steps per update (gradient accumulation)"
    )
    processes: int = setting(
        "training processes, one per GPU: data-parallel through `accelerate launch` (gloo on a CPU), each process "
        "taking its own batch, so an update sees processes x batch; 1: one process",
        1,
        "Training processes (one per GPU)",
    )
    max_length: int = setting(
        "longest rendered example in tokens; longer ones are truncated", 512, "Longest example, in tokens"
    )
    warmup_ratio: float = setting(
        "share of steps spent ramping the learning rate up", 0.03, "Share of steps warming up"
    )
    weight_decay: float = setting("decoupled weight decay on the adapter weights", 0.0, "Weight decay")
    gradient_checkpointing: bool = setting(
        "recompute activations to save memory (about a third slower); on a CPU it is turned off when the longest "
        "batch fits in half of the memory free when the run starts",
        True,
        "Save memory, train slower (gradient checkpointing)",
    )
    padding_free: bool = setting(
        "GPU recipe: train on flat, pad-free batches (same loss as padding); the CPU recipe groups padded batches by length",
        True,
        "Pack examples without padding (GPU)",
    )
    liger_kernels: bool = setting(
        "GPU recipe: Liger's Triton kernels (fused linear cross-entropy, RMSNorm, SwiGLU, RoPE) on a Llama-family base "
        "when CUDA, Triton and liger-kernel are installed; otherwise skipped, the reason in the run manifest",
        True,
        "Fused Liger kernels (GPU, when installed)",
    )
    cpu_recipe: bool = setting(
        "on a CPU, train an unquantized base (bf16 where the CPU has bf16 units) without 4-bit (faster and better there); "
        "off trains 4-bit QLoRA on CPU too",
        True,
        "On a CPU, train without 4-bit (faster there)",
    )
    validation_share: float = setting(
        "share of the training split held back to keep the checkpoint best by the task metric; 0 keeps the last",
        0.0,
        "Share set aside to pick the best checkpoint",
    )
    save_steps: int = setting(
        "steps between checkpoints (and validation scores); a killed run resumes from the last",
        20,
        "Steps between checkpoints",
    )
    retrieved_examples: int = setting(
        "retrieval-augmented fine-tuning: each training prompt carries this many training examples with the nearest "
        "inputs (never the example itself or a near-duplicate), and the tuned model also answers with them as "
        "'tuned + k retrieved'; prompts grow by about k examples' tokens. 0: off",
        0,
        "Retrieved examples in each prompt (0: off)",
    )
    merge_model: bool = setting(
        "also write a merged full model to run_dir/merged (large; the adapter is always written)",
        False,
        "Also save a merged full model",
    )
    seed: int = setting("seed for the data order, the validation slice and adapter initialisation", 0, "Random seed")


def carve_validation(rows: list[dict], share: float, seed: int) -> tuple[list[dict], list[dict]]:
    """(train, validation): a seeded slice of the training split, at least 2 rows when share > 0."""
    import random

    if share <= 0 or len(rows) < 4:
        return rows, []
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    n = min(max(2, round(share * len(rows))), len(rows) // 2)
    held = set(order[:n])
    return [r for i, r in enumerate(rows) if i not in held], [r for i, r in enumerate(rows) if i in held]


def total_steps(
    n_train: int,
    config: TrainConfig,
    devices: int | None = None,
    lengths: list[int] | None = None,
    padded: bool = False,
) -> int:
    """Optimizer steps a run on n_train training examples takes (after the validation slice is carved).

    The one count: the pre-flight shows it and the trainer is told it (SFTConfig.max_steps),
    so the two cannot disagree. `devices` is the number of processes sharing each step's batches
    (default: the config's `processes`). With a token budget (tokens_per_step), the batches per epoch
    come from the training rows' token `lengths` (after the validation slice), which fix them
    (studio.training.batching); without the lengths they are estimated from the batch size.
    """
    import math

    from studio.training.batching import batches_per_epoch

    if config.max_steps > 0:
        return config.max_steps
    devices = max(config.processes, 1) if devices is None else max(devices, 1)
    if config.tokens_per_step > 0 and lengths:
        batches = batches_per_epoch(lengths, config.tokens_per_step, padded)
    else:
        train, _ = carve_validation(list(range(n_train)), config.validation_share, config.seed)
        batches = math.ceil(max(len(train), 1) / config.batch_size)
    per_epoch = math.ceil(batches / config.gradient_accumulation / devices)
    # min_steps: a tiny set trains more epochs rather than stopping before the adapter has learnt
    return max(1, math.ceil(per_epoch * config.epochs), config.min_steps)
