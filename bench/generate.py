"""Benchmark batched generation against one prompt at a time on the packaged model.

Run it (from the repository root, after `make install`):

    .venv/bin/python bench/generate.py [--n 32] [--max-new-tokens 24] [--json]

It loads the default base model (SmolLM2-135M-Instruct) in 4-bit NF4 exactly as
evaluation does (studio.models.load_quantized), builds n prompts from the demo tickets
with the demo project's system prompt, warms up once, then times
studio.generation.generate_answers on the same prompts with batch_size 16 and with
batch_size 1, in this one process, and reports generated tokens per second for each and
their ratio. The prompts go in rounds of 16, each timed both ways back to back (the
order alternating), so a burst of load from elsewhere on a shared machine hits both
sides alike. Results go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from importlib.metadata import version

from machine import describe_machine
from studio.demo import DEMO_DIR
from studio.generation import generate_answers
from studio.models import device_name, ensure_default_model, load_quantized, load_tokenizer
from studio.prompts import prompt_messages

BATCHED = 16
WARM_UP_PROMPTS = 2
WARM_UP_TOKENS = 4


def demo_conversations(n: int) -> list[list[dict]]:
    """The first n demo tickets as the messages a model sees: the demo system prompt, then the ticket."""
    system = json.loads((DEMO_DIR / "project.json").read_text())["description"]
    lines = (DEMO_DIR / "tickets.jsonl").read_text().splitlines()
    if n > len(lines):
        raise SystemExit(f"--n {n} is more than the {len(lines)} demo tickets")
    return [prompt_messages(system, json.loads(line)["messages"]) for line in lines[:n]]


def prompt_lengths(tokenizer, conversations: list[list[dict]]) -> dict:
    """Prompt sizes in tokens after the chat template (the work each prefill does)."""
    texts = [tokenizer.apply_chat_template(c, add_generation_prompt=True, tokenize=False) for c in conversations]
    counts = [len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts]
    return {"mean": sum(counts) / len(counts), "min": min(counts), "max": max(counts)}


def time_generation(model, tokenizer, conversations: list[list[dict]], max_new_tokens: int, batch_size: int) -> dict:
    """One timed generate_answers call: wall seconds, answers, tokens generated and tokens per second."""
    began, cpu_began = time.perf_counter(), time.process_time()
    answers = generate_answers(model, tokenizer, conversations, max_new_tokens, batch_size=batch_size)
    seconds, cpu_seconds = time.perf_counter() - began, time.process_time() - cpu_began
    tokens = sum(a["new_tokens"] for a in answers)
    return {
        "batch_size": batch_size, "seconds": seconds, "cpu_seconds": cpu_seconds, "answers": answers,
        "new_tokens": tokens, "tokens_per_s": tokens / seconds,
    }


def compare_in_rounds(model, tokenizer, conversations: list[list[dict]], max_new_tokens: int) -> list[dict]:
    """Time each round of BATCHED prompts batched and one at a time, back to back, alternating which goes first."""
    rounds = []
    for index, start in enumerate(range(0, len(conversations), BATCHED)):
        chunk = conversations[start : start + BATCHED]
        order = (BATCHED, 1) if index % 2 == 0 else (1, BATCHED)
        rounds.append({size: time_generation(model, tokenizer, chunk, max_new_tokens, size) for size in order})
    return rounds


def combine_runs(runs: list[dict]) -> dict:
    """Several timed calls with one batch size as one: answers in prompt order, totals, overall tokens per second."""
    seconds, tokens = sum(r["seconds"] for r in runs), sum(r["new_tokens"] for r in runs)
    cpu_seconds = sum(r["cpu_seconds"] for r in runs)
    return {
        "batch_size": runs[0]["batch_size"], "seconds": seconds, "new_tokens": tokens, "tokens_per_s": tokens / seconds,
        "cpu_seconds": cpu_seconds, "cores_busy": cpu_seconds / seconds,
        "answers": [a for r in runs for a in r["answers"]],
    }


def load_model() -> tuple[object, object, float]:
    """The packaged default model in 4-bit and its tokenizer, and the seconds loading took."""
    began = time.perf_counter()
    path = str(ensure_default_model())
    model, tokenizer = load_quantized(path), load_tokenizer(path)
    return model, tokenizer, time.perf_counter() - began


def software() -> dict:
    """The device, torch's thread count and the versions that decide generation speed."""
    import torch

    return {
        "device": device_name(), "torch_threads": torch.get_num_threads(),
        **{name: version(name) for name in ("torch", "transformers", "bitsandbytes")},
    }


def run_benchmark(n: int, max_new_tokens: int) -> dict:
    """Warm up once, then time batch_size 16 and batch_size 1 on the same prompts."""
    conversations = demo_conversations(n)
    model, tokenizer, load_seconds = load_model()
    generate_answers(model, tokenizer, conversations[:WARM_UP_PROMPTS], WARM_UP_TOKENS, batch_size=WARM_UP_PROMPTS)
    rounds = compare_in_rounds(model, tokenizer, conversations, max_new_tokens)
    batched, single = (combine_runs([r[size] for r in rounds]) for size in (BATCHED, 1))
    if len(batched["answers"]) != len(single["answers"]) or len(batched["answers"]) != n:
        raise SystemExit(f"answer counts differ: {len(batched['answers'])} batched, {len(single['answers'])} one at a time, {n} prompts")
    same = sum(b["output"] == s["output"] for b, s in zip(batched["answers"], single["answers"]))
    return {
        "model": ensure_default_model().name, "quantization": "4-bit NF4, double quantization",
        "prompts": n, "max_new_tokens": max_new_tokens, "prompt_tokens": prompt_lengths(tokenizer, conversations),
        "load_s": load_seconds, "machine": describe_machine(), "software": software(),
        "runs": [{k: v for k, v in run.items() if k != "answers"} for run in (batched, single)],
        "speedup": batched["tokens_per_s"] / single["tokens_per_s"],
        "speedup_per_round": [r[BATCHED]["tokens_per_s"] / r[1]["tokens_per_s"] for r in rounds],
        "answers_each": len(batched["answers"]), "identical_outputs": same,
    }


def render_table(result: dict) -> str:
    """The result as a few aligned lines for a terminal."""
    machine, soft, prompt = result["machine"], result["software"], result["prompt_tokens"]
    lines = [
        f"{result['model']} ({result['quantization']}), loaded in {result['load_s']:.1f} s",
        f"machine: {machine['cpu_cores']} cores, {machine['cpu_model']}; device {soft['device']}, "
        f"{soft['torch_threads']} torch threads; torch {soft['torch']}, transformers {soft['transformers']}, "
        f"bitsandbytes {soft['bitsandbytes']}",
        f"{result['prompts']} prompts of {prompt['min']}-{prompt['max']} tokens (mean {prompt['mean']:.0f}), "
        f"up to {result['max_new_tokens']} new tokens each",
        "",
        f"{'batch_size':>10}{'seconds':>10}{'new tokens':>12}{'tokens/s':>10}{'cores busy':>12}",
    ]
    for run in result["runs"]:
        lines.append(
            f"{run['batch_size']:>10}{run['seconds']:>10.1f}{run['new_tokens']:>12}{run['tokens_per_s']:>10.1f}"
            f"{run['cores_busy']:>12.2f}"
        )
    lines += [
        "",
        f"speed-up of batch_size {BATCHED} over 1: {result['speedup']:.2f}x "
        f"(per round of {BATCHED}: {', '.join(f'{x:.2f}x' for x in result['speedup_per_round'])})",
        f"answers: {result['answers_each']} each; identical outputs: {result['identical_outputs']} of {result['answers_each']}",
        f"(cores busy = this process's CPU seconds / wall seconds; well under {result['software']['torch_threads']} "
        "means other work shared the cores)",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=32, help="prompts (the first n demo tickets)")
    parser.add_argument("--max-new-tokens", type=int, default=24, help="the most tokens generated per answer")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of a table")
    return parser.parse_args(argv)


def quiet_libraries() -> None:
    """Keep the report readable: no download attempts, no progress bars from loading."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from transformers.utils import logging

    logging.disable_progress_bar()
    logging.set_verbosity_error()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    quiet_libraries()
    result = run_benchmark(args.n, args.max_new_tokens)
    print(json.dumps(result, indent=2) if args.json else render_table(result))


if __name__ == "__main__":
    main()
