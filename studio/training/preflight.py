"""The pre-flight: what a run will train on and whether it fits, shown before launch.

- `loss_view`: an example rendered by the chat template, split into runs of tokens that
  carry loss and runs that do not (from studio/training/sequences.py, the very mask the trainer uses);
- `length_profile`: every example's token length and which ones the max length cuts (of the
  rows as trained, `rows_as_trained`: with their retrieved examples when the run retrieves);
- `estimate_fit`: peak memory and run time (training and evaluation) from the model's size,
  refined by a real calibration run (studio/training/calibration.py) when one is cached for these settings;
- `blocking_findings`: open contradictions and other errors from the checks.
It loads the tokenizer and the model's config, never its weights (torch only to ask how
much memory the GPU has).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from studio.training.config import TrainConfig, total_steps
from studio.training.recipe import DeviceRecipe, recipe_for
from studio.training.sequences import encode_example, encode_rows
from studio.training.shape import gpu_memory_mb, load_lock, model_shape

if TYPE_CHECKING:
    from studio.checks.findings import StoredFinding

SEVERE = ("error", "severe", "critical", "high")


@dataclass(frozen=True)
class Segment:
    """Consecutive tokens of one example that all do, or all do not, carry loss."""

    text: str
    trained: bool
    tokens: int


@lru_cache(maxsize=8)
def tokenizer_for(model_path: str, trust_remote_code: bool = False):
    from studio.models.loading import load_tokenizer

    with load_lock:  # transformers imports lazily and not thread-safely; Streamlit runs pages in threads
        return load_tokenizer(model_path, trust_remote_code)


def loss_view(tokenizer, system_prompt: str, messages: list[dict], max_length: int) -> list[Segment]:
    """The rendered example as segments; trained segments are exactly the loss-carrying tokens."""
    sequence = encode_example(tokenizer, system_prompt, messages, max_length)
    segments: list[Segment] = []
    for token, trained in zip(sequence.input_ids, sequence.completion_mask):
        text = tokenizer.decode([token])
        if segments and segments[-1].trained == bool(trained):
            last = segments[-1]
            segments[-1] = Segment(last.text + text, last.trained, last.tokens + 1)
        else:
            segments.append(Segment(text, bool(trained), 1))
    return segments


def length_profile(tokenizer, system_prompt: str, rows: list[dict], max_length: int) -> dict:
    """Token lengths before truncation, and the examples the max length would cut (by external id)."""
    sequences = encode_rows(tokenizer, system_prompt, rows, max_length)
    cut = [_name(row) for row, s in zip(rows, sequences) if s.truncated]
    lost = [_name(row) for row, s in zip(rows, sequences) if not any(s.completion_mask)]
    return {
        "lengths": [s.full_length for s in sequences],
        "max_length": max_length,
        "truncated": len(cut),
        "truncated_examples": cut,
        "answer_lost": lost,
        "trained_tokens": sum(sum(s.completion_mask) for s in sequences),
        "tokens": sum(len(s.input_ids) for s in sequences),
    }


def rows_as_trained(rows: list[dict], config: TrainConfig) -> list[dict]:
    """The rows as the trainer sees them: with `config.retrieved_examples` retrieved examples in each prompt
    (studio.models.retrieval), so the lengths, the loss view, the calibration and the time estimate count their tokens."""
    from studio.models.retrieval import retrieval_rows

    return retrieval_rows(rows, config.retrieved_examples)


def _name(row: dict) -> str:
    return str(row.get("external_id") or row["id"])


def training_count(examples: list[dict], spec, seed: int) -> int:
    """How many of these approved examples a run trains on: the test set or the held-out split is set aside first."""
    from studio.dataset.snapshots import evaluation_split

    return len(evaluation_split(examples, spec, seed)[0])


def static_memory_mb(model_path: str, config: TrainConfig, recipe: DeviceRecipe, longest: int) -> dict:
    """Peak memory from the model's shape alone, under the recipe the run will train with: its base weights (4-bit,
    or bf16 or fp32 under the CPU recipe), the adapter with its gradient and Adam moments in the recipe's adapter
    dtype, and activations (with or without gradient checkpointing and padding, as the recipe decided)."""
    shape = model_shape(model_path)
    hidden, layers = shape.hidden_size, shape.num_hidden_layers
    inter, vocab = getattr(shape, "intermediate_size", 4 * hidden), shape.vocab_size
    per_layer = 4 * hidden * hidden + 3 * hidden * inter
    quantized = recipe.quantization != "none"
    if quantized:
        weights = layers * per_layer * 0.53 + vocab * hidden * 2  # NF4 + double-quant scales; embeddings in bf16
    else:
        weights = (layers * per_layer + vocab * hidden) * (2 if recipe.weights_dtype == "bfloat16" else 4)
    bf16_adapter = recipe.adapter_dtype == "bfloat16"
    lora = layers * config.lora_r * (4 * 2 * hidden + 3 * (hidden + inter)) * (8 if bf16_adapter else 16)  # 4 copies
    tokens = config.batch_size * min(longest, config.max_length or longest)
    checkpointing, padding_free = recipe.gradient_checkpointing, recipe.padding_free
    per_token = hidden * 2 * (2 if checkpointing else 18) * layers + vocab * 4 * (0 if padding_free else 2)
    return {
        "weights_mb": weights / 2**20,
        "adapter_mb": lora / 2**20,
        "activations_mb": tokens * per_token / 2**20,
        "total_mb": (weights + lora + tokens * per_token) / 2**20 + 300,
    }


def available_memory_mb() -> tuple[float, str]:
    """Memory a run can use here: the GPU's total, or the machine's available RAM."""
    import psutil

    gpu = gpu_memory_mb()
    if gpu:
        return gpu, "GPU"
    return psutil.virtual_memory().available / 2**20, "RAM"


def estimate_fit(
    model_path: str,
    config: TrainConfig,
    profile: dict,
    calibration: dict | None,
    n_train: int | None = None,
    few_shot_k: int = 3,
) -> dict:
    """Peak memory, run time and whether it fits, from the calibration when there is one.

    `n_train` is the size of the training split (see training_count); without it every
    example in the profile counts as a training example, and none is held out. The run
    time covers the whole run: training, then every model answering the held-out examples
    (the rest of the profile; `few_shot_k` retrieved examples in the k-shot baseline's
    prompts) and the round trip (studio.training.run_view.evaluation_seconds).
    """
    lengths = profile["lengths"] or [1]
    n = len(lengths) if n_train is None else n_train
    # a token budget's steps come from the rows' lengths (the profile's first n stand in for the training split)
    steps = total_steps(n, config, lengths=[min(length, config.max_length) for length in lengths[:n]])
    longest = max(lengths)
    recipe = recipe_for(
        model_path, config, len(lengths) if n_train is None else n_train, min(longest, config.max_length)
    )
    static = static_memory_mb(model_path, config, recipe, longest)
    available, where = available_memory_mb()
    estimate = {
        "steps": steps,
        "static": static,
        "available_mb": available,
        "where": where,
        "measured": calibration is not None,
    }
    if calibration:
        from studio.training.run_view import evaluation_seconds  # the live view's estimate, so the two agree

        mean_tokens = sum(min(n, config.max_length) for n in lengths) / len(lengths)
        tokens = steps * config.batch_size * config.gradient_accumulation * mean_tokens
        rate, load = calibration["tokens_per_second"], calibration["load_seconds"]
        n_eval = 0 if n_train is None else max(len(lengths) - n_train, 0)
        training = tokens / rate + load
        evaluation = evaluation_seconds(n_eval, mean_tokens, rate, few_shot_k, load) if n_eval else 0.0
        estimate.update(
            peak_mb=calibration["peak_mb"],
            seconds=training + evaluation,
            train_seconds=training,
            eval_seconds=evaluation,
        )
    else:
        estimate.update(peak_mb=static["total_mb"], seconds=None, train_seconds=None, eval_seconds=None)
    estimate["fits"] = estimate["peak_mb"] < 0.9 * available
    return estimate


def blocking_findings(db, project) -> list[StoredFinding]:
    """Open findings the checks rate severe (contradictions, format breaks): fix them before training."""
    from studio.checks.runner import load_findings

    return [f for f in load_findings(db, project) if f.severity.lower() in SEVERE]


def check_model(model_path: str, trust_remote_code: bool = False) -> None:
    """Raise ModelUnavailable, with the reason, when the base model's config or tokenizer will not load.

    Cheap (no weights are read), so a launch refuses a broken model at once rather than
    a worker failing minutes later.
    """
    from studio.models.loading import ModelUnavailable

    try:
        shape = model_shape(model_path, trust_remote_code)
    except (OSError, ValueError) as error:
        raise ModelUnavailable(f"base model {model_path} cannot be loaded: {error}") from error
    if not getattr(shape, "is_decoder", True) and not shape.architectures:
        raise ModelUnavailable(f"base model {model_path} is not a causal language model")
    try:
        tokenizer_for(model_path, trust_remote_code)
    except (OSError, ValueError) as error:
        raise ModelUnavailable(f"the tokenizer of {model_path} cannot be loaded: {error}") from error
