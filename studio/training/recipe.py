"""How a run trains on the device it got: the per-device choices, resolved once and recorded.

On a GPU the studio trains QLoRA, as the field does: the base in 4-bit NF4 with double
quantization, bf16 compute, paged 8-bit AdamW, gradient checkpointing, padding-free
batches. On a CPU that recipe is slow and learns worse for the small models a CPU can
train (docs/benchmarks.md): bitsandbytes' CPU kernels dequantize every weight on every
step, bf16 autocast runs slower than fp32 on the CPU's matrix kernels, and padding-free
rows pay for a block-diagonal attention mask over the whole packed row. So on a CPU the
base is unquantized and batches are padded to their longest member, with examples of
similar length grouped together. The base is stored in bf16 where the CPU has bf16 matrix
units (AMX or AVX-512 BF16: 1.1x to 1.8x faster than fp32 there, `bench/cpu_dtype.py`) and in
fp32 elsewhere. The LoRA weights follow the base's dtype: fp32 LoRA weights on a bf16 base
cast every adapter's input and output between the two dtypes, about a tenth of a step, so
they train in bf16 there, as TRL trains a quantized base's adapters. Answering, merging and
serving read the base (and the adapter) in fp32. Rows of at most 128
tokens train with eager attention: SDPA's CPU backward costs about 11 ms a layer even for
80-token rows. Gradient checkpointing (recomputing each layer's forward in the backward
pass, about a third of a step) is turned off on a CPU when the longest batch's activations
fit in half of the memory free when the run starts, and kept as configured otherwise:
without it a batch of 8 examples of about 310 tokens held 10 GB.

The learning rate, when a config leaves it at 0, follows the model's size: a small model's
LoRA adapter needs a larger step to move in a few hundred updates. A minimum number of
optimizer steps keeps a tiny set from ending training before the adapter has learnt.

`device_recipe` is pure (no torch); the worker writes its result into the run manifest.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from studio.training.config import total_steps
from studio.training.shape import model_shape

# Learning rate by parameter count: (largest size, rate). Measured on SmolLM2-135M (1e-3
# learns 10 CLINC intents from 40 examples each; 2e-4 barely moves in the same steps);
# the larger sizes follow the usual LoRA range (QLoRA's paper used 2e-4 for 7B and up).
LEARNING_RATES = ((500e6, 1e-3), (3e9, 5e-4), (math.inf, 2e-4))
# Without checkpointing on a CPU, a batch may hold activations up to this share of the memory free at launch
# (the rest covers the model, the optimizer, the estimate's error and whatever else the machine runs).
CPU_ACTIVATION_SHARE = 0.5
# On a CPU, rows up to this many tokens train faster with eager attention than with SDPA, whose CPU backward
# (flash attention) costs about 11 ms a layer even for 80-token rows; longer rows keep SDPA (docs/benchmarks.md).
CPU_EAGER_ATTENTION_TOKENS = 128


@dataclass(frozen=True)
class DeviceRecipe:
    """The settings a run actually trains with on its device, and why."""

    device: str  # "cuda" or "cpu"
    quantization: str  # "4-bit NF4, double quantization" or "none"
    weights_dtype: str  # the base weights' dtype while training
    optimizer: str
    gradient_checkpointing: bool
    padding_free: bool
    batching: str  # "padding-free" or "length-grouped padded"
    learning_rate: float
    max_steps: int  # the optimizer steps the run takes (studio.training.config.total_steps)
    parameters: int  # the base model's parameter count (estimated from its config)
    why: str
    attention: str = "sdpa"  # transformers' attention implementation while training: "sdpa" or "eager"
    adapter_dtype: str = "float32"  # the LoRA weights' dtype while training (the optimizer steps them in it)
    liger: bool = False  # Liger's Triton kernels patched into the base (studio.training.kernels)
    liger_why: str = ""  # why they are on, or why they were skipped
    tokens_per_step: int = 0  # batches filled to this many tokens per device (0: batch_size examples)

    def to_dict(self) -> dict:
        return asdict(self)


def device_recipe(
    config,
    cuda: bool,
    parameters: int,
    n_train: int,
    activations_mb: float = math.inf,
    memory_mb: float = 0.0,
    cpu_bf16: bool = False,
    longest: int = 0,
    lengths: list[int] | None = None,
    liger: tuple[bool, str] = (False, "not asked"),
) -> DeviceRecipe:
    """The recipe for `config` (a TrainConfig) on this device, for a model of `parameters` and `n_train` rows
    (the training split, before the validation slice is carved). `activations_mb` is what the longest batch
    holds without gradient checkpointing (activation_mb), `memory_mb` the memory free when the run starts,
    `cpu_bf16` whether the CPU has bf16 matrix units (studio.models.loading.cpu_bf16_units) and `longest` the
    longest training sequence in tokens (0: unknown), `lengths` every training sequence's (for a token budget's
    step count) and `liger` whether Liger's kernels apply and why (studio.training.kernels.liger_status)."""
    rate = config.learning_rate or auto_learning_rate(parameters)
    padded = not (cuda or not config.cpu_recipe) or not config.padding_free
    steps = total_steps(n_train, config, lengths=lengths, padded=padded)
    if cuda or not config.cpu_recipe:
        return DeviceRecipe(
            "cuda" if cuda else "cpu",
            "4-bit NF4, double quantization",
            "nf4 (bf16 compute)",
            "paged_adamw_8bit" if cuda else "adamw_torch",
            config.gradient_checkpointing,
            config.padding_free,
            "padding-free" if config.padding_free else "length-grouped padded",
            rate,
            steps,
            parameters,
            "QLoRA: the GPU recipe" + ("" if cuda else " on CPU, because cpu_recipe is off"),
            adapter_dtype="bfloat16",  # TRL casts a quantized base's adapters to bf16, as the QLoRA paper does
            liger=liger[0],
            liger_why=liger[1],
            tokens_per_step=config.tokens_per_step,
        )
    fits = activations_mb <= CPU_ACTIVATION_SHARE * memory_mb
    checkpointing = config.gradient_checkpointing and not fits
    dtype = "bfloat16" if cpu_bf16 else "float32"
    eager = 0 < longest <= CPU_EAGER_ATTENTION_TOKENS
    return DeviceRecipe(
        "cpu",
        "none",
        dtype,
        "adamw_torch",
        checkpointing,
        False,
        "length-grouped padded",
        rate,
        steps,
        parameters,
        f"CPU recipe: {_BASE_WHY[cpu_bf16]}, length-grouped padded batches (faster and better-learning than 4-bit "
        "QLoRA on CPU; docs/benchmarks.md), gradient checkpointing "
        + (
            "on: the longest batch's activations "
            if checkpointing
            else ("off: the longest batch's activations " if config.gradient_checkpointing else "off as configured: ")
        )
        + f"(about {activations_mb:,.0f} MB) against half of the {memory_mb:,.0f} MB free at launch, "
        + (
            f"eager attention (rows of at most {longest} tokens, where it beats SDPA's CPU backward)"
            if eager
            else "SDPA attention"
        ),
        "eager" if eager else "sdpa",
        dtype,
        False,
        liger[1] if not liger[0] else "not on the CPU recipe",
        config.tokens_per_step,
    )


_BASE_WHY = {
    True: "bf16 base and LoRA weights (the CPU has bf16 matrix units; answers are read from the fp32 base)",
    False: "fp32 base (the CPU has no bf16 matrix units)",
}


def auto_learning_rate(parameters: int) -> float:
    return next(rate for size, rate in LEARNING_RATES if parameters <= size)


def activation_mb(shape, batch_size: int, longest: int, bytes_per_value: int = 4) -> float:
    """Activations one batch of `longest`-token rows keeps for the backward pass without checkpointing, at
    `bytes_per_value` (4 on an fp32 base, 2 on a bf16 one).

    Per token and layer: about 22 hidden-sized and 7 intermediate-sized tensors (norms, projections, the
    LoRA path's dropped-out inputs, the MLP's gate and product) and one attention row per head. The answer
    head's logits are left out: the CPU recipe projects only the answer positions (trainer.py). On the demo's
    tickets (8 of up to 390 tokens) it estimates 9.4 GB in fp32 and 4.7 GB in bf16, where the training
    worker's whole resident memory peaked at 10.8 GB and 5.8 GB.
    """
    hidden, layers = shape.hidden_size, shape.num_hidden_layers
    inter = getattr(shape, "intermediate_size", None) or 4 * hidden
    heads = getattr(shape, "num_attention_heads", None) or 1
    per_token = layers * (22 * hidden + 7 * inter + heads * longest) * bytes_per_value
    return batch_size * longest * per_token / 2**20


def estimate_parameters(shape) -> int:
    """A causal LM's parameter count from its config (no weights): layers plus embeddings."""
    hidden, layers = shape.hidden_size, shape.num_hidden_layers
    inter = getattr(shape, "intermediate_size", None) or 4 * hidden
    embeddings = shape.vocab_size * hidden * (1 if getattr(shape, "tie_word_embeddings", False) else 2)
    return int(layers * (4 * hidden * hidden + 3 * hidden * inter) + embeddings)


def recipe_for(
    model_path: str,
    config,
    n_train: int,
    longest: int,
    trust_remote_code: bool = False,
    lengths: list[int] | None = None,
) -> DeviceRecipe:
    """device_recipe for this machine and this model folder; `longest` is the longest training sequence in tokens,
    `lengths` every training sequence's length (the token budget's step count needs them)."""
    import psutil
    import torch

    from studio.models.loading import cpu_bf16_units
    from studio.training.kernels import liger_status

    shape = model_shape(model_path, trust_remote_code)
    bf16 = cpu_bf16_units()
    cuda = torch.cuda.is_available()
    # a token budget's batch holds about that many tokens, whatever its count of examples
    batch = max(1, config.tokens_per_step // max(longest, 1)) if config.tokens_per_step > 0 else config.batch_size
    return device_recipe(
        config,
        cuda,
        estimate_parameters(shape),
        n_train,
        activation_mb(shape, batch, longest, 2 if bf16 else 4),
        psutil.virtual_memory().available / 2**20,
        bf16,
        longest,
        lengths,
        liger_status(cuda, getattr(shape, "model_type", ""), config.liger_kernels),
    )
