"""Benchmark the studio's batched generation against one prompt at a time on the packaged model.

Run it (from the repository root, after `make install`):

    .venv/bin/python bench/generate.py [--n 32] [--max-new-tokens 24] [--schema] [--json]

It loads the default base model (SmolLM2-135M-Instruct) in 4-bit NF4 exactly as
evaluation does (studio.models.loading.load_quantized), builds n prompts from the demo tickets
with the demo project's system prompt, warms up once, then times
studio.models.generation.generate_answers on the same prompts, in this one process, four ways:
as the studio runs it (batch_size 16, the shared prompt prefix read once), batch_size 16
without that prefix reuse, one at a time with it, and plain one at a time (batch_size 1,
every prompt read in full: the reference). It reports generated tokens per second for
each and their ratios to the reference. The prompts go in rounds of 16, each timed all
four ways back to back (the order reversed every other round), so a burst of load from
elsewhere on a shared machine hits every side alike. With --schema every side decodes under
the demo project's JSON schema (studio.models.constrained), and the report adds what the
answers' confidence (decision_confidence: the enum and boolean values' joint probability)
costs per answer, against the time the studio took to generate one. Results go to
docs/benchmarks.md.
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
from studio.models.generation import generate_answers, prompt_token_ids, shared_prefix
from studio.models.loading import device_name, ensure_default_model, load_quantized, load_tokenizer
from studio.models.prompts import prompt_messages

BATCHED = 16
# (label, batch_size, reuse_prefix): the studio's way first; the reference, which every side
# is compared with, last.
SIDES = [
    ("studio: batched, prefix reused", BATCHED, True),
    ("batched, prefix read per prompt", BATCHED, False),
    ("one at a time, prefix reused", 1, True),
    ("one at a time, plain", 1, False),
]
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
    counts = [len(ids) for ids in prompt_token_ids(tokenizer, conversations)]
    return {"mean": sum(counts) / len(counts), "min": min(counts), "max": max(counts)}


def demo_schema() -> dict:
    return json.loads((DEMO_DIR / "project.json").read_text())["output_spec"]["schema"]


def time_generation(
    model, tokenizer, conversations: list[list[dict]], max_new_tokens: int, side: tuple, schema: dict | None
) -> dict:
    """One timed generate_answers call: wall seconds, answers, tokens generated and tokens per second."""
    label, batch_size, reuse_prefix = side
    began, cpu_began = time.perf_counter(), time.process_time()
    answers = generate_answers(
        model, tokenizer, conversations, max_new_tokens, batch_size=batch_size, reuse_prefix=reuse_prefix, schema=schema
    )
    seconds, cpu_seconds = time.perf_counter() - began, time.process_time() - cpu_began
    tokens = sum(a["new_tokens"] for a in answers)
    return {
        "side": label,
        "batch_size": batch_size,
        "reuse_prefix": reuse_prefix,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "answers": answers,
        "new_tokens": tokens,
        "tokens_per_s": tokens / seconds,
    }


def compare_in_rounds(
    model, tokenizer, conversations: list[list[dict]], max_new_tokens: int, schema: dict | None
) -> list[dict]:
    """Time each round of BATCHED prompts every way in SIDES, back to back, reversing the order every other round."""
    rounds = []
    for index, start in enumerate(range(0, len(conversations), BATCHED)):
        chunk = conversations[start : start + BATCHED]
        order = SIDES if index % 2 == 0 else SIDES[::-1]
        rounds.append(
            {side[0]: time_generation(model, tokenizer, chunk, max_new_tokens, side, schema) for side in order}
        )
    return rounds


def combine_runs(runs: list[dict]) -> dict:
    """Several timed calls of one side as one: answers in prompt order, totals, overall tokens per second."""
    seconds, tokens = sum(r["seconds"] for r in runs), sum(r["new_tokens"] for r in runs)
    cpu_seconds = sum(r["cpu_seconds"] for r in runs)
    return {
        **{k: runs[0][k] for k in ("side", "batch_size", "reuse_prefix")},
        "seconds": seconds,
        "new_tokens": tokens,
        "tokens_per_s": tokens / seconds,
        "cpu_seconds": cpu_seconds,
        "cores_busy": cpu_seconds / seconds,
        "answers": [a for r in runs for a in r["answers"]],
    }


def shared_prefix_tokens(tokenizer, conversations: list[list[dict]]) -> list[int]:
    """Per round, how many prompt tokens the studio reads once for the whole round (0: none)."""
    return [
        len(shared_prefix(prompt_token_ids(tokenizer, conversations[start : start + BATCHED])))
        for start in range(0, len(conversations), BATCHED)
    ]


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
        "device": device_name(),
        "torch_threads": torch.get_num_threads(),
        **{name: version(name) for name in ("torch", "transformers", "bitsandbytes")},
    }


def confidence_cost(tokenizer, studio: dict, schema: dict) -> dict:
    """What decision_confidence costs per answer (on each studio answer's tokens), against the studio's
    generation time per answer."""
    from studio.models.constrained import decision_confidence

    encoded = [tokenizer.encode(a["output"], add_special_tokens=False) for a in studio["answers"]]
    began = time.perf_counter()
    for tokens in encoded:
        decision_confidence(tokenizer, tokens, [0.0] * len(tokens), schema)
    per_answer = (time.perf_counter() - began) / len(encoded)
    generation = studio["seconds"] / len(encoded)
    return {"confidence_ms_per_answer": 1000 * per_answer, "share_of_generation": per_answer / generation}


def run_benchmark(n: int, max_new_tokens: int, schema: dict | None = None) -> dict:
    """Warm up once, then time every side of SIDES on the same prompts, against the last (plain one at a time)."""
    conversations = demo_conversations(n)
    model, tokenizer, load_seconds = load_model()
    generate_answers(
        model, tokenizer, conversations[:WARM_UP_PROMPTS], WARM_UP_TOKENS, batch_size=WARM_UP_PROMPTS, schema=schema
    )
    rounds = compare_in_rounds(model, tokenizer, conversations, max_new_tokens, schema)
    runs = [combine_runs([r[label] for r in rounds]) for label, _, _ in SIDES]
    reference = runs[-1]
    if any(len(run["answers"]) != n for run in runs):
        raise SystemExit(f"answer counts differ: {[len(run['answers']) for run in runs]} for {n} prompts")
    for run in runs:
        run["speedup"] = run["tokens_per_s"] / reference["tokens_per_s"]
        run["speedup_per_round"] = [
            r[run["side"]]["tokens_per_s"] / r[reference["side"]]["tokens_per_s"] for r in rounds
        ]
        run["identical_outputs"] = sum(a["output"] == b["output"] for a, b in zip(run["answers"], reference["answers"]))
    return {
        "model": ensure_default_model().name,
        "quantization": "4-bit NF4, double quantization",
        "prompts": n,
        "max_new_tokens": max_new_tokens,
        "prompt_tokens": prompt_lengths(tokenizer, conversations),
        "shared_prefix_tokens": shared_prefix_tokens(tokenizer, conversations),
        "load_s": load_seconds,
        "machine": describe_machine(),
        "software": software(),
        "runs": [{k: v for k, v in run.items() if k != "answers"} for run in runs],
        "speedup": runs[0]["speedup"],
        "answers_each": n,
        "schema": schema is not None,
        **(confidence_cost(tokenizer, runs[0], schema) if schema is not None else {}),
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
        f"up to {result['max_new_tokens']} new tokens each; shared prefix per round of {BATCHED}: "
        f"{', '.join(str(t) for t in result['shared_prefix_tokens'])} tokens",
        "",
        f"{'side':<34}{'seconds':>8}{'new tokens':>12}{'tokens/s':>10}{'cores busy':>12}{'speed-up':>10}{'identical':>11}",
    ]
    for run in result["runs"]:
        lines.append(
            f"{run['side']:<34}{run['seconds']:>8.1f}{run['new_tokens']:>12}{run['tokens_per_s']:>10.1f}"
            f"{run['cores_busy']:>12.2f}{run['speedup']:>9.2f}x{run['identical_outputs']:>8} of {result['answers_each']}"
        )
    studio = result["runs"][0]
    lines += [
        "",
        f"speed-up of the studio's batched generation over plain one at a time: {result['speedup']:.2f}x "
        f"(per round of {BATCHED}: {', '.join(f'{x:.2f}x' for x in studio['speedup_per_round'])})",
        "(speed-up and identical: against plain one at a time; cores busy = this process's CPU seconds / wall "
        f"seconds, well under {soft['torch_threads']} means other work shared the cores)",
    ]
    if result["schema"]:
        lines.append(
            f"under the demo's JSON schema; the confidence took {result['confidence_ms_per_answer']:.2f} ms an answer, "
            f"{100 * result['share_of_generation']:.2f}% of the studio's generation time per answer"
        )
    return "\n".join(lines)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=32, help="prompts (the first n demo tickets)")
    parser.add_argument("--max-new-tokens", type=int, default=24, help="the most tokens generated per answer")
    parser.add_argument("--schema", action="store_true", help="decode under the demo project's JSON schema")
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
    result = run_benchmark(args.n, args.max_new_tokens, demo_schema() if args.schema else None)
    print(json.dumps(result, indent=2) if args.json else render_table(result))


if __name__ == "__main__":
    main()
