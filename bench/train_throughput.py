"""Training throughput: the studio's trainer against the plain recipe, same data, same model.

    .venv/bin/python bench/train_throughput.py --clinc ../shared/datasets/clinc150/data_full.json [--json]
    .venv/bin/python bench/train_throughput.py --row-tokens 256,512,1024 --tokens-per-step 8192,16384,32768 --json

With --row-tokens and --tokens-per-step it measures every pair (row length, budget): rows of about
that many tokens (consecutive CLINC150 pairs joined into one conversation, the loss on its last
answer), the studio's batches filled to the budget (TrainConfig.tokens_per_step) and the plain
recipe's batch the budget's worth of rows (budget // row length), and reports each pair's real
tokens/s, peak memory and model FLOPs utilisation (MFU = 6 x parameters x real tokens/s over
--peak-tflops, the card's dense bf16 peak; none on a CPU).

The studio's side is `studio.training.trainer.build_trainer` exactly as a run uses it, with the
device's recipe (studio.training.recipe: on a CPU an unquantized base, bf16 where the CPU has bf16
units, eager attention for short rows, length-grouped padded batches and a loss that projects only
answer positions; on a GPU QLoRA, padding-free). The reference
is the plain recipe on the same device: transformers' Trainer over PEFT LoRA, batches
padded to their longest member, no packing; on a GPU over the same bitsandbytes 4-bit NF4
base (prepared with peft's prepare_model_for_kbit_training, as the QLoRA examples do) with
gradient checkpointing, on a CPU over the fp32 base without it (transformers' default SDPA attention).
Both train on the same
token sequences (the same examples, the same loss mask) with the same batch size, learning
rate and LoRA settings. Rounds of the two alternate so that
machine noise hits both. A step's real tokens are its non-padding tokens; tokens/s is
their sum over the timed steps (the first of each round is warm-up) over those steps'
wall time. Peak memory is CUDA's max allocated where there is a GPU, else the peak
resident set size sampled during training (on CPU both sides share one process, so a
later round's figure includes what earlier rounds left allocated: read it as a bound).

On a shared machine, each side reports the cores its own process kept busy over its timed
steps (CPU seconds over wall seconds) and how many of the machine's cores everything was
keeping busy meanwhile. When the two sides' own cores differ by more than
COMPARABLE_CORES (relative), they did not get comparable CPU, and no ratio is printed (on a
GPU the ratio is always printed: the card, not the host's cores, does the timed work).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import cpu_times, describe_machine  # noqa: E402

# The most the two sides' own cores-busy figures may differ, relative, for a ratio to mean something.
COMPARABLE_CORES = 0.15

SYSTEM = (
    "Name the intent of the user's request with one of the 150 CLINC150 intent labels, in snake_case, nothing else."
)


def load_rows(path: Path, n: int, seed: int) -> list[dict]:
    """n CLINC150 training rows (seeded sample) as single-turn examples: utterance in, intent out."""
    pairs = json.loads(path.read_text())["train"]
    random.Random(seed).shuffle(pairs)
    return [
        {"id": i, "messages": [{"role": "user", "content": text}, {"role": "assistant", "content": intent}]}
        for i, (text, intent) in enumerate(pairs[:n])
    ]


def long_rows(rows: list[dict], tokenizer, row_tokens: int, n: int) -> list[dict]:
    """n conversations of about `row_tokens` rendered tokens each: consecutive CLINC rows joined turn by turn."""
    longer, turns, cursor = [], [], 0
    while len(longer) < n:
        turns += rows[cursor % len(rows)]["messages"]
        cursor += 1
        text = tokenizer.apply_chat_template([{"role": "system", "content": SYSTEM}, *turns], tokenize=False)
        if len(tokenizer(text, add_special_tokens=False)["input_ids"]) >= row_tokens:
            longer.append({"id": len(longer), "messages": turns})
            turns = []
    return longer


class Meter:
    """Real tokens and wall time per step, and the peak memory while training."""

    def __init__(self):
        self.tokens: list[int] = []
        self.seconds: list[float] = []
        self.cpu_seconds: list[float] = []  # this process's CPU time per step
        self.machine: list[tuple[float, float]] = []  # the machine's (busy, total) jiffies per step
        self.peak_mb = 0.0

    def collator(self, inner):
        def collate(features):
            batch = inner(features)
            real = batch["attention_mask"].sum() if "attention_mask" in batch else batch["input_ids"].numel()
            self.tokens.append(int(real))
            return batch

        return collate

    def callback(self):
        from transformers import TrainerCallback

        meter = self

        class Timer(TrainerCallback):
            def on_step_begin(self, args, state, control, **kwargs):
                meter.began, meter.cpu_began, meter.machine_began = (
                    time.perf_counter(),
                    time.process_time(),
                    cpu_times(),
                )

            def on_step_end(self, args, state, control, **kwargs):
                meter.seconds.append(time.perf_counter() - meter.began)
                meter.cpu_seconds.append(time.process_time() - meter.cpu_began)
                busy, total = cpu_times()
                meter.machine.append((busy - meter.machine_began[0], total - meter.machine_began[1]))

        return Timer()

    def watch(self, train):
        import torch

        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
            train()
            self.peak_mb = torch.cuda.max_memory_allocated() / 2**20
            return
        import psutil

        done, process = threading.Event(), psutil.Process()

        def sample():
            while not done.is_set():
                self.peak_mb = max(self.peak_mb, process.memory_info().rss / 2**20)
                time.sleep(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            train()
        finally:
            done.set()
            sampler.join()

    def summary(self, warmup: int) -> dict:
        # with gradient accumulation 1, batch i is consumed by step i
        import os

        tokens, seconds = sum(self.tokens[warmup : len(self.seconds)]), sum(self.seconds[warmup:])
        busy, total = (sum(x[i] for x in self.machine[warmup:]) for i in (0, 1))
        return {
            "tokens": tokens,
            "seconds": seconds,
            "tokens_per_second": tokens / seconds,
            "peak_memory_mb": self.peak_mb,
            "own_cores_busy": round(sum(self.cpu_seconds[warmup:]) / seconds, 2),
            "machine_cores_busy": round((os.cpu_count() or 1) * busy / total, 2) if total else None,
        }


def studio_round(model_path: str, rows: list[dict], config, meter: Meter) -> None:
    from studio.training.trainer import TrainingJob, build_trainer

    with tempfile.TemporaryDirectory() as run_dir:
        trainer = build_trainer(TrainingJob(model_path, SYSTEM, config, Path(run_dir)), rows)
        trainer.data_collator = meter.collator(trainer.data_collator)
        trainer.add_callback(meter.callback())
        meter.watch(trainer.train)


def reference_round(model_path: str, rows: list[dict], config, meter: Meter) -> None:
    """transformers Trainer + PEFT, padded to the longest, no packing; 4-bit QLoRA on a GPU, the fp32 base on a CPU."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    from transformers import DataCollatorForSeq2Seq, Trainer, TrainingArguments

    from studio.models.loading import load_base, load_tokenizer
    from studio.training.sequences import encode_rows

    tokenizer = load_tokenizer(model_path)
    sequences = encode_rows(tokenizer, SYSTEM, rows, config.max_length)
    dataset = Dataset.from_list(
        [
            {
                "input_ids": s.input_ids,
                "attention_mask": [1] * len(s.input_ids),
                "labels": [t if m else -100 for t, m in zip(s.input_ids, s.completion_mask)],
            }
            for s in sequences
        ]
    )
    cuda = torch.cuda.is_available()
    checkpointing = config.gradient_checkpointing and cuda
    model = load_base(model_path, quantized=cuda)
    if cuda:
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=checkpointing)
    model = get_peft_model(
        model,
        LoraConfig(
            r=config.lora_r,
            lora_alpha=config.lora_alpha,
            lora_dropout=config.lora_dropout,
            target_modules="all-linear",
            task_type="CAUSAL_LM",
        ),
    )
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(
            output_dir=out,
            max_steps=config.max_steps,
            per_device_train_batch_size=config.batch_size,
            learning_rate=config.learning_rate,
            lr_scheduler_type="cosine",
            gradient_checkpointing=checkpointing,
            optim="paged_adamw_8bit" if cuda else "adamw_torch",
            bf16=cuda and torch.cuda.is_bf16_supported(),
            use_cpu=not cuda,
            seed=config.seed,
            logging_steps=1,
            save_strategy="no",
            report_to=[],
            disable_tqdm=True,
            remove_unused_columns=False,
        )
        collator = DataCollatorForSeq2Seq(tokenizer, padding="longest", label_pad_token_id=-100)
        trainer = Trainer(
            model=model,
            args=args,
            train_dataset=dataset,
            data_collator=meter.collator(collator),
            callbacks=[meter.callback()],
        )
        meter.watch(trainer.train)


def run(args) -> dict:
    if args.row_tokens:
        return sweep(args)
    return one_cell(args, load_rows(Path(args.clinc), args.examples, args.seed))


def sweep(args) -> dict:
    """Every (row length, token budget) pair: rows of about that length, the studio's batches filled to the budget,
    the plain recipe's batch the budget's worth of rows; real tokens/s, peak memory and MFU of each side."""
    from studio.models.loading import load_tokenizer

    tokenizer = load_tokenizer(args.model)
    clinc = load_rows(Path(args.clinc), 15_000, args.seed)
    cells = []
    for row_tokens in parse_list(args.row_tokens):
        for budget in parse_list(args.tokens_per_step):
            batch = max(1, budget // row_tokens)
            rows = long_rows(clinc, tokenizer, row_tokens, batch * (args.steps + 1))
            cell_args = argparse.Namespace(**{**vars(args), "batch_size": batch, "examples": len(rows)})
            cell = one_cell(cell_args, rows, tokens_per_step=budget, max_length=2 * row_tokens)
            cell |= {"row_tokens": row_tokens, "tokens_per_step": budget, "reference_batch": batch}
            add_mfu(cell, args)
            cells.append(cell)
            print(f"cell {row_tokens} tokens, budget {budget}: ratio {cell['ratio']}", file=sys.stderr)
    return {"model": args.model, "cells": cells}


def parse_list(text: str) -> list[int]:
    return [int(part) for part in str(text).split(",") if part.strip()]


def add_mfu(cell: dict, args) -> None:
    """MFU of each side: 6 x parameters x real tokens/s over the card's dense bf16 peak (none on a CPU)."""
    import torch
    from transformers import AutoConfig

    from studio.training.recipe import estimate_parameters

    parameters = estimate_parameters(AutoConfig.from_pretrained(args.model))
    cell["parameters"] = parameters
    for side in ("studio", "reference"):
        tokens = cell[side]["tokens_per_second"]
        cell[side]["mfu"] = 6 * parameters * tokens / (args.peak_tflops * 1e12) if torch.cuda.is_available() else None


def one_cell(args, rows: list[dict], tokens_per_step: int = 0, max_length: int = 512) -> dict:
    from studio.training.trainer import TrainConfig

    config = TrainConfig(
        max_steps=args.steps,
        batch_size=args.batch_size,
        save_steps=10**6,
        seed=args.seed,
        learning_rate=1e-3,
        padding_free=not args.padded,
        tokens_per_step=tokens_per_step,
        max_length=max_length,
    )
    results = {"studio": [], "reference": []}
    for _ in range(args.rounds):
        for name, one_round in (("studio", studio_round), ("reference", reference_round)):
            meter = Meter()
            with contextlib.redirect_stdout(sys.stderr):  # the trainers print their logs; stdout is for the result
                one_round(args.model, rows, config, meter)
            results[name].append(meter.summary(warmup=1))
            print(f"{name}: {results[name][-1]}", file=sys.stderr)
    return summarise(results, args)


def summarise(results: dict, args) -> dict:
    import torch

    def side(name):
        rounds = results[name]
        return {
            "tokens_per_second": statistics.median(r["tokens_per_second"] for r in rounds),
            "peak_memory_mb": max(r["peak_memory_mb"] for r in rounds),
            "own_cores_busy": statistics.median(r["own_cores_busy"] for r in rounds),
            "machine_cores_busy": statistics.median(r["machine_cores_busy"] or 0 for r in rounds),
            "rounds": rounds,
        }

    studio, reference = side("studio"), side("reference")
    per_round = [
        s["tokens_per_second"] / r["tokens_per_second"] for s, r in zip(results["studio"], results["reference"])
    ]
    # On a GPU the card does the work being timed: the host cores each side kept busy say nothing of it.
    comparable = torch.cuda.is_available() or comparable_cpu(studio["own_cores_busy"], reference["own_cores_busy"])
    return {
        "model": args.model,
        "examples": args.examples,
        "steps_per_round": args.steps,
        "batch_size": args.batch_size,
        "studio_batching": "length-grouped padded" if args.padded or not torch.cuda.is_available() else "padding-free",
        "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
        "machine": describe_machine(),
        "studio": studio,
        "reference": reference,
        "comparable_cpu": comparable,
        "ratio": studio["tokens_per_second"] / reference["tokens_per_second"] if comparable else None,
        "ratio_per_round": per_round if comparable else None,
        "memory_ratio": studio["peak_memory_mb"] / reference["peak_memory_mb"],
    }


def comparable_cpu(studio_cores: float, reference_cores: float) -> bool:
    """Whether the two sides' processes kept about as many cores busy (within COMPARABLE_CORES, relative)."""
    high = max(studio_cores, reference_cores)
    return high > 0 and abs(studio_cores - reference_cores) / high <= COMPARABLE_CORES


def main() -> int:
    from studio.paths import DEFAULT_MODEL_NAME, models_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--clinc",
        default=str(Path(__file__).resolve().parents[2] / "shared" / "datasets" / "clinc150" / "data_full.json"),
        help="CLINC150 data_full.json (default: ../shared/datasets beside the checkout)",
    )
    parser.add_argument("--model", default=str(models_dir() / DEFAULT_MODEL_NAME), help="base model folder or hub id")
    parser.add_argument("--examples", type=int, default=512, help="CLINC150 rows to train on")
    parser.add_argument("--steps", type=int, default=6, help="optimizer steps per round (the first is warm-up)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of studio and reference")
    parser.add_argument("--batch-size", type=int, default=8, help="examples per step, both sides")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--padded",
        action="store_true",
        help="the studio's GPU side with length-grouped padded batches, not padding-free",
    )
    parser.add_argument(
        "--row-tokens", default="", help="comma-separated row lengths in tokens (e.g. 256,512,1024): a sweep"
    )
    parser.add_argument(
        "--tokens-per-step", default="16384", help="comma-separated token budgets a step for the sweep (the studio's)"
    )
    parser.add_argument(
        "--peak-tflops", type=float, default=989.0, help="the card's dense bf16 peak for MFU (989: H100 SXM, H200)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args()
    result = run(args)
    if args.json or "cells" in result:
        print(json.dumps(result, indent=2))
    else:
        for name in ("studio", "reference"):
            side = result[name]
            print(
                f"{name:9} {side['tokens_per_second']:8.1f} tok/s  peak {side['peak_memory_mb']:.0f} MB  "
                f"own cores busy {side['own_cores_busy']:.2f}, machine {side['machine_cores_busy']:.2f} of {result['machine']['cpu_cores']}"
            )
        if result["ratio"] is None:
            print(
                "no ratio: the two sides did not get comparable CPU (own cores busy "
                f"{result['studio']['own_cores_busy']:.2f} against {result['reference']['own_cores_busy']:.2f}); rerun on a quieter machine"
            )
        else:
            print(
                f"ratio {result['ratio']:.2f}x (per round {', '.join(f'{r:.2f}' for r in result['ratio_per_round'])}); memory {result['memory_ratio']:.2f}x"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
