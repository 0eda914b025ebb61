"""Benchmark the consistency checks and the split on CLINC150 with planted noise.

Run it (from the repository root):

    .venv/bin/python bench/checks.py --clinc ../shared/datasets/clinc150/data_full.json [--json]

It builds studio-shaped examples in memory from CLINC150's 15,000 training rows
(Larson et al. 2019, CC BY 3.0; 150 intents), plants 100 exact-input conflicts and 100
exact duplicates (copies whose input differs only in case and whitespace), then times
studio.checks.run_checks and studio.splits.split_examples over the 15,200 examples and
scores the contradiction and duplicate findings against the planted pairs. No DuckDB is
involved. Results go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from machine import describe_machine
from studio.checks import Finding, run_checks
from studio.formats import OutputSpec, parse_output_spec
from studio.splits import split_examples

SPLIT_SEED = 0


def load_clinc(path: Path) -> tuple[list[list[str]], list[str]]:
    """CLINC150's training rows ([text, intent]) and its sorted intents."""
    rows = json.loads(path.read_text())["train"]
    return rows, sorted({intent for _, intent in rows})


def make_example(example_id: int, external_id: str, text: str, intent: str) -> dict:
    """An approved single-turn example shaped like the studio's."""
    return {
        "id": example_id, "external_id": external_id, "status": "approved", "tags": [intent],
        "messages": [{"role": "user", "content": text}, {"role": "assistant", "content": intent}],
    }


def perturb(text: str, rng: random.Random) -> str:
    """The same input as far as the checks go: only its case and whitespace change."""
    cases = [str.upper, str.title, str.swapcase, lambda t: t[:1].upper() + t[1:]]
    spaces = [lambda t: f"  {t} ", lambda t: t.replace(" ", "  ", 1), lambda t: t.replace(" ", "\t", 1), lambda t: t + "\n"]
    changed = text
    while changed == text:
        changed = rng.choice(spaces)(rng.choice(cases)(text))
    return changed


def plant_noise(
    examples: list[dict], intents: list[str], rng: random.Random, conflicts: int, duplicates: int
) -> tuple[list[dict], list[tuple[int, int]], list[tuple[int, int]]]:
    """A copy of the examples with planted conflicts and duplicates, and the planted (source, copy) id pairs.

    Every planted copy has its own source example, so no two planted pairs share a group.
    """
    sources = rng.sample(examples, conflicts + duplicates)
    noisy = list(examples)
    planted: dict[str, list[tuple[int, int]]] = {"conflict": [], "duplicate": []}
    next_id = max(e["id"] for e in examples) + 1
    for index, source in enumerate(sources):
        kind = "conflict" if index < conflicts else "duplicate"
        text, intent = source["messages"][0]["content"], source["messages"][1]["content"]
        if kind == "conflict":
            intent = rng.choice([other for other in intents if other != intent])
        noisy.append(make_example(next_id, f"planted-{kind}-{index}", perturb(text, rng), intent))
        planted[kind].append((source["id"], next_id))
        next_id += 1
    return noisy, planted["conflict"], planted["duplicate"]


def time_call(call: Callable[[], object], repeats: int) -> tuple[object, list[float]]:
    """Run `call` `repeats` times; return its last result and every wall time in seconds."""
    seconds = []
    for _ in range(repeats):
        began = time.perf_counter()
        result = call()
        seconds.append(time.perf_counter() - began)
    return result, seconds


def score_findings(findings: list[Finding], kind: str, planted: list[tuple[int, int]]) -> dict:
    """Recall: planted pairs that one finding holds both sides of. Precision: findings holding a planted pair."""
    groups = [set(f.example_ids) for f in findings if f.kind == kind]
    found = sum(any({a, b} <= group for group in groups) for a, b in planted)
    true_findings = sum(any({a, b} <= group for a, b in planted) for group in groups)
    return {
        "planted": len(planted), "findings": len(groups), "found": found,
        "recall": found / len(planted) if planted else None,
        "precision": true_findings / len(groups) if groups else None,
    }


def count_split_leaks(train: list[dict], planted: list[tuple[int, int]]) -> int:
    """Planted pairs whose two examples landed on different sides of the split."""
    train_ids = {e["id"] for e in train}
    return sum((a in train_ids) != (b in train_ids) for a, b in planted)


def timing_summary(seconds: list[float], examples: int) -> dict:
    median = statistics.median(seconds)
    return {
        "repeats": len(seconds), "median_s": median, "min_s": min(seconds), "max_s": max(seconds),
        "examples_per_s": examples / median,
    }


def run_benchmark(clinc: Path, conflicts: int, duplicates: int, repeats: int, seed: int) -> dict:
    """Build the noisy examples, time the checks and the split, score the findings."""
    rows, intents = load_clinc(clinc)
    spec: OutputSpec = parse_output_spec({"kind": "labels", "labels": intents})
    clean = [make_example(i, f"clinc-train-{i}", text, intent) for i, (text, intent) in enumerate(rows, start=1)]
    noisy, planted_conflicts, planted_duplicates = plant_noise(clean, intents, random.Random(seed), conflicts, duplicates)
    findings, check_seconds = time_call(lambda: run_checks(noisy, spec), repeats)
    (train, held_out), split_seconds = time_call(lambda: split_examples(noisy, spec, SPLIT_SEED), repeats)
    return {
        "dataset": {"source": str(clinc), "clean_examples": len(clean), "examples": len(noisy), "intents": len(intents), "noise_seed": seed},
        "machine": describe_machine(),
        "run_checks": timing_summary(check_seconds, len(noisy)),
        "split_examples": {**timing_summary(split_seconds, len(noisy)), "train": len(train), "held_out": len(held_out),
                           "planted_pairs_split_apart": count_split_leaks(train, planted_conflicts + planted_duplicates)},
        "contradictions": score_findings(findings, "contradiction", planted_conflicts),
        "duplicates": score_findings(findings, "duplicate", planted_duplicates),
        "format_findings": sum(f.kind == "format" for f in findings),
    }


def render_table(result: dict) -> str:
    """The result as a few aligned lines for a terminal."""
    data, machine = result["dataset"], result["machine"]
    lines = [
        f"CLINC150 train: {data['clean_examples']} examples + planted noise = {data['examples']} ({data['intents']} intents)",
        f"machine: {machine['cpu_cores']} cores, {machine['cpu_model']}, Python {machine['python']}",
        "",
        f"{'step':<16}{'median s':>10}{'min s':>10}{'max s':>10}{'examples/s':>14}",
    ]
    for step in ("run_checks", "split_examples"):
        t = result[step]
        lines.append(f"{step:<16}{t['median_s']:>10.3f}{t['min_s']:>10.3f}{t['max_s']:>10.3f}{t['examples_per_s']:>14,.0f}")
    lines += ["", f"{'finding':<16}{'planted':>9}{'findings':>10}{'found':>7}{'recall':>8}{'precision':>11}"]
    for kind in ("contradictions", "duplicates"):
        s = result[kind]
        lines.append(f"{kind:<16}{s['planted']:>9}{s['findings']:>10}{s['found']:>7}{s['recall']:>8.3f}{s['precision']:>11.3f}")
    split = result["split_examples"]
    lines += [
        "",
        f"format findings: {result['format_findings']} (every answer is a valid label)",
        f"split: {split['train']} train / {split['held_out']} held out; planted pairs split apart: {split['planted_pairs_split_apart']}",
        f"(timings over {result['run_checks']['repeats']} repeats each)",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clinc", type=Path, required=True, help="path to CLINC150's data_full.json")
    parser.add_argument("--conflicts", type=int, default=100, help="exact-input conflicts to plant")
    parser.add_argument("--duplicates", type=int, default=100, help="exact duplicates to plant")
    parser.add_argument("--repeats", type=int, default=20, help="timed runs of each step (the median is reported)")
    parser.add_argument("--seed", type=int, default=0, help="seed for choosing and changing the planted copies")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of a table")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    result = run_benchmark(args.clinc, args.conflicts, args.duplicates, args.repeats, args.seed)
    print(json.dumps(result, indent=2) if args.json else render_table(result))


if __name__ == "__main__":
    main()
