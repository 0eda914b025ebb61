"""Answering a run's held-out examples with the tuned model and the prompting baselines.

The models share one 4-bit base model in memory: "tuned" is the base with the run's
adapter; a run trained with retrieved examples (TrainConfig.retrieved_examples k) also
answers as "tuned + k retrieved", the adapter on the k-shot baseline's prompts; "baseline-0shot" is the same base with the adapter switched off and only the
system prompt; "baseline-{k}shot" adds, for each held-out input, the k training examples
whose inputs are nearest by embedding. When the run config names an OpenAI-compatible
endpoint (`RunConfig.eval.endpoint`), that model answers the same k-shot prompts too.

Every local model answers through studio.models.generation.answer_in_format: a label project's
labels are scored by likelihood (the answer is always a label, the confidence its share of
the probability over the set); other formats are generated greedily.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from studio.dataset.messages import answer_text
from studio.evaluation.endpoint import EndpointConfig, EndpointError, answer_with_endpoint
from studio.jsonl import read_jsonl, write_jsonl
from studio.models.constrained import schema_of
from studio.models.embeddings import embed, paired_similarity
from studio.models.prompts import prompt_messages, retrieve_few_shot
from studio.training.progress import append_event
from studio.training.run_config import RunConfig

if TYPE_CHECKING:
    import numpy as np

TUNED = "tuned"
# Bumped when the way answers are decoded changes, so cached baseline answers of the old way are not reused.
DECODING = "labels-scored-json-decisions-v2"  # v2: a JSON answer's confidence is its decisions' joint probability
DEFAULT_FEW_SHOT_K = 3


def tuned_name(k: int) -> str:
    """The tuned model answering with k retrieved training examples in its prompt (a run trained that way)."""
    return f"{TUNED} + {k} retrieved" if k else TUNED


def baseline_name(k: int) -> str:
    return f"baseline-{k}shot" if k else "baseline-0shot"


def endpoint_name(config: EndpointConfig) -> str:
    return f"endpoint:{config.model}"


@dataclass(frozen=True)
class Plan:
    """One model's pass over the held-out set."""

    name: str
    conversations: list[list[dict]]
    shots: list[list[dict]] | None  # the examples each prompt showed; None for the plain tuned model
    source: str  # "adapter" (tuned), "base" (adapter off) or "endpoint"


def answer_held_out(run_dir: Path, config: RunConfig | dict, should_stop: Callable[[], bool] = lambda: False) -> Path:
    """Write run_dir/predictions.jsonl: every held-out example answered by every model."""
    run_dir, config = Path(run_dir), RunConfig.coerce(config)
    held_out, train = read_jsonl(run_dir / "eval.jsonl"), read_jsonl(run_dir / "train.jsonl")
    plans = plan_models(config, held_out, train)
    model, tokenizer = _load_tuned(run_dir, config)
    announce_plan(run_dir, plans, tokenizer)
    max_new_tokens = config.eval.max_new_tokens or _answer_budget(tokenizer, train)
    # Free-text answers are also scored by meaning; every model shares the expected answers' vectors.
    free_text = config.output_spec.get("kind") == "text"
    expected = embed([answer_text(row["messages"]) for row in held_out]) if free_text else None
    predictions = []
    for plan in plans:
        if should_stop():
            break
        try:
            answers = cached_answers(
                plan,
                config,
                max_new_tokens,
                lambda plan=plan: _answer(plan, run_dir, model, tokenizer, max_new_tokens, config),
            )
        except EndpointError as error:
            # The endpoint is an optional extra: the tuned model and the local baselines still count.
            print(f"{plan.name} skipped: {error}", file=sys.stderr)
            append_event(run_dir, "answering_failed", model=plan.name, error=str(error))
            continue
        predictions += _rows(plan, held_out, answers, expected)
    path = run_dir / "predictions.jsonl"
    write_jsonl(path, predictions)
    return path


def announce_plan(run_dir: Path, plans: list[Plan], tokenizer) -> None:
    """The models about to answer, in order, with the prompt tokens each reads: the live view's evaluation estimate."""
    from studio.models.generation import prompt_token_ids

    models = [{"model": p.name, "tokens": sum(map(len, prompt_token_ids(tokenizer, p.conversations)))} for p in plans]
    append_event(run_dir, "evaluation_plan", models=models)


def plan_models(config: RunConfig | dict, held_out: list[dict], train: list[dict]) -> list[Plan]:
    """The models that answer, in order, with the prompts each sees."""
    config = RunConfig.coerce(config)
    system = config.system_prompt
    k = max(0, min(config.eval.few_shot_k, len(train)))
    zero_shot = [prompt_messages(system, row["messages"]) for row in held_out]
    plans = [Plan(TUNED, zero_shot, None, "adapter")]
    retrieved = max(0, min(config.train.retrieved_examples, len(train)))
    if retrieved:  # trained with retrieved examples: it answers with them too (the same retrieval as the baseline's)
        plans.append(retrieval_plan(system, held_out, train, retrieved))
    plans.append(Plan(baseline_name(0), zero_shot, [[] for _ in held_out], "base"))
    shots = retrieve_few_shot(train, held_out, k)
    k_shot = [prompt_messages(system, row["messages"], examples) for row, examples in zip(held_out, shots)]
    if k:
        plans.append(Plan(baseline_name(k), k_shot, shots, "base"))
    if config.eval.endpoint is not None:
        plans.append(Plan(endpoint_name(config.eval.endpoint), k_shot, shots, "endpoint"))
    return plans


def retrieval_plan(system: str, held_out: list[dict], train: list[dict], k: int) -> Plan:
    """The "tuned + k retrieved" candidate: the adapter on prompts with the k training examples nearest to each input, nearest last."""
    shots = retrieve_few_shot(train, held_out, k)
    conversations = [prompt_messages(system, row["messages"], examples) for row, examples in zip(held_out, shots)]
    return Plan(tuned_name(k), conversations, shots, "adapter")


def cached_answers(
    plan: Plan, config: RunConfig | dict, max_new_tokens: int, produce: Callable[[], list[dict]]
) -> list[dict]:
    """A baseline's answers from the prediction cache, or produced and stored there.

    The key covers everything that decides the answers: the base model, the exact prompts
    (system prompt, few-shot examples, held-out inputs) and the token budget. The tuned
    model is never cached: its adapter is new with every run.
    """
    config = RunConfig.coerce(config)
    cache_dir = config.eval.cache_dir
    if plan.source != "base" or not cache_dir:
        return produce()
    key = json.dumps(
        [
            config.model_path,
            plan.conversations,
            max_new_tokens,
            config.output_spec,
            DECODING,
            _quantized(config),
        ],
        sort_keys=True,
    )
    path = Path(cache_dir) / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.jsonl"
    if path.exists():
        cached = read_jsonl(path)
        if len(cached) == len(plan.conversations):
            return cached
    answers = produce()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_jsonl(path, answers)
    return answers


def _quantized(config: RunConfig) -> bool:
    from studio.models.loading import quantized_for

    return quantized_for(config.train.cpu_recipe)


def _load_tuned(run_dir: Path, config: RunConfig):
    from peft import PeftModel

    from studio.models.loading import load_base, load_tokenizer, quantized_for

    trusted = config.trust_remote_code
    tokenizer = load_tokenizer(str(run_dir / "adapter"), trusted)
    # The base the adapter was trained on: 4-bit under QLoRA, fp32 under the CPU recipe (trained on its bf16 copy where
    # the CPU has bf16 units).
    base = load_base(config.model_path, quantized_for(config.train.cpu_recipe), trusted)
    model = PeftModel.from_pretrained(base, str(run_dir / "adapter"))
    return model, tokenizer


def _answer(plan: Plan, run_dir: Path, model, tokenizer, max_new_tokens: int, config: RunConfig) -> list[dict]:
    from studio.models.generation import answer_in_format

    append_event(run_dir, "answering", model=plan.name, done=0, total=len(plan.conversations))

    def progress(done: int, total: int) -> None:
        append_event(run_dir, "answering", model=plan.name, done=done, total=total)

    if plan.source == "endpoint":
        schema = schema_of(config.output_spec)
        return answer_with_endpoint(config.eval.endpoint, plan.conversations, max_new_tokens, progress, schema)
    with model.disable_adapter() if plan.source == "base" else nullcontext():
        return answer_in_format(
            model, tokenizer, plan.conversations, config.output_spec, max_new_tokens, config.eval.batch_size, progress
        )


def _answer_budget(tokenizer, train: list[dict]) -> int:
    """Room for the longest training answer and then some, so no right answer is cut off."""
    longest = max(
        (
            len(tokenizer(m["content"], add_special_tokens=False)["input_ids"])
            for row in train
            for m in row["messages"]
            if m["role"] == "assistant"
        ),
        default=64,
    )
    return int(longest * 1.25) + 8


def _rows(plan: Plan, held_out: list[dict], answers: list[dict], expected: np.ndarray | None) -> list[dict]:
    rows = [_prediction(plan.name, row, answer) for row, answer in zip(held_out, answers)]
    if plan.shots is not None:
        for row, shown in zip(rows, plan.shots):
            row["few_shot_ids"] = [shot.get("external_id") or shot["id"] for shot in shown]
    if expected is not None:
        for row, similarity in zip(rows, paired_similarity(embed([row["output"] for row in rows]), expected)):
            row["embedding_similarity"] = similarity
    return rows


def _prediction(model: str, row: dict, answer: dict) -> dict:
    return {
        "model": model,
        "example_id": row["id"],
        "external_id": row.get("external_id"),
        "expected": answer_text(row["messages"]),
        **answer,
    }
