"""Answering a run's held-out examples with the tuned model and the prompting baseline.

Both share one 4-bit base model in memory: the tuned model is the base with the run's
adapter; the baseline is the same base with the adapter switched off and k few-shot
examples from the training split in its prompt.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from studio.jsonl import read_jsonl, write_jsonl
from studio.progress import append_event
from studio.prompts import prompt_messages

TUNED = "tuned"


def baseline_name(k: int) -> str:
    return f"baseline-{k}shot" if k else "baseline-0shot"


def answer_held_out(run_dir: Path, config: dict, should_stop: Callable[[], bool] = lambda: False) -> Path:
    """Write run_dir/predictions.jsonl: every held-out example answered by both models."""
    from peft import PeftModel

    from studio.generation import generate_answers
    from studio.models import load_quantized, load_tokenizer

    run_dir = Path(run_dir)
    held_out = read_jsonl(run_dir / "eval.jsonl")
    few_shot = read_jsonl(run_dir / "few_shot.jsonl")
    settings = config["eval"]
    tokenizer = load_tokenizer(str(run_dir / "adapter"))
    model = PeftModel.from_pretrained(load_quantized(config["model_path"]), str(run_dir / "adapter"))
    system = config["system_prompt"]
    max_new_tokens = settings["max_new_tokens"] or _answer_budget(tokenizer, read_jsonl(run_dir / "train.jsonl"))
    plans = [
        (TUNED, [prompt_messages(system, row["messages"]) for row in held_out], False),
        (baseline_name(len(few_shot)), [prompt_messages(system, row["messages"], few_shot) for row in held_out], True),
    ]
    predictions = []
    for name, conversations, adapter_off in plans:
        if should_stop():
            break
        append_event(run_dir, "answering", model=name, done=0, total=len(held_out))

        def progress(done: int, total: int, name: str = name) -> None:
            append_event(run_dir, "answering", model=name, done=done, total=total)

        if adapter_off:
            with model.disable_adapter():
                answers = generate_answers(model, tokenizer, conversations, max_new_tokens, settings["batch_size"], progress)
        else:
            answers = generate_answers(model, tokenizer, conversations, max_new_tokens, settings["batch_size"], progress)
        predictions += [_prediction(name, row, answer) for row, answer in zip(held_out, answers)]
    path = run_dir / "predictions.jsonl"
    write_jsonl(path, predictions)
    return path


def _answer_budget(tokenizer, train: list[dict]) -> int:
    """Room for the longest training answer and then some, so no right answer is cut off."""
    longest = max(
        (len(tokenizer(m["content"], add_special_tokens=False)["input_ids"]) for row in train
         for m in row["messages"] if m["role"] == "assistant"),
        default=64,
    )
    return int(longest * 1.25) + 8


def _prediction(model: str, row: dict, answer: dict) -> dict:
    expected = next(m["content"] for m in reversed(row["messages"]) if m["role"] == "assistant")
    return {
        "model": model, "example_id": row["id"], "external_id": row.get("external_id"),
        "expected": expected, **answer,
    }
