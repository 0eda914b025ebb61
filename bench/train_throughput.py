"""Training throughput: the studio's trainer against the plain QLoRA recipe, same data, same model.

    .venv/bin/python bench/train_throughput.py --clinc ../shared/datasets/clinc150/data_full.json [--json]

The studio's side is `studio.training.build_trainer` exactly as a run uses it (TRL's
SFTTrainer, padding-free batches, completion-only loss, TRL's chunked LM head). The
reference is the plain recipe: transformers' Trainer over PEFT LoRA on the same
bitsandbytes 4-bit NF4 base (prepared with peft's prepare_model_for_kbit_training, as
the QLoRA examples do), batches padded to their longest member, no packing. Both train
on the same token sequences (the same examples, the same loss mask) with the same batch
size, LoRA settings and gradient checkpointing. Rounds of the two alternate so that
machine noise hits both. A step's real tokens are its non-padding tokens; tokens/s is
their sum over the timed steps (the first of each round is warm-up) over those steps'
wall time. Peak memory is CUDA's max allocated where there is a GPU, else the peak
resident set size sampled during training (on CPU both sides share one process, so a
later round's figure includes what earlier rounds left allocated: read it as a bound).
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

from machine import describe_machine  # noqa: E402

SYSTEM = "Name the intent of the user's request with one of the 150 CLINC150 intent labels, in snake_case, nothing else."


def load_rows(path: Path, n: int, seed: int) -> list[dict]:
    """n CLINC150 training rows (seeded sample) as single-turn examples: utterance in, intent out."""
    pairs = json.loads(path.read_text())["train"]
    random.Random(seed).shuffle(pairs)
    return [
        {"id": i, "messages": [{"role": "user", "content": text}, {"role": "assistant", "content": intent}]}
        for i, (text, intent) in enumerate(pairs[:n])
    ]


class Meter:
    """Real tokens and wall time per step, and the peak memory while training."""

    def __init__(self):
        self.tokens: list[int] = []
        self.seconds: list[float] = []
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
                meter.began = time.perf_counter()

            def on_step_end(self, args, state, control, **kwargs):
                meter.seconds.append(time.perf_counter() - meter.began)

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
        tokens, seconds = sum(self.tokens[warmup : len(self.seconds)]), sum(self.seconds[warmup:])
        return {"tokens": tokens, "seconds": seconds, "tokens_per_second": tokens / seconds, "peak_memory_mb": self.peak_mb}


def studio_round(model_path: str, rows: list[dict], config, meter: Meter) -> None:
    from studio.training import build_trainer

    with tempfile.TemporaryDirectory() as run_dir:
        trainer = build_trainer(model_path, SYSTEM, rows, config, Path(run_dir))
        trainer.data_collator = meter.collator(trainer.data_collator)
        trainer.add_callback(meter.callback())
        meter.watch(trainer.train)


def reference_round(model_path: str, rows: list[dict], config, meter: Meter) -> None:
    """transformers Trainer + PEFT + bitsandbytes 4-bit, padded to the longest, no packing."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    from transformers import DataCollatorForSeq2Seq, Trainer, TrainingArguments

    from studio.models import load_quantized, load_tokenizer
    from studio.sequences import encode_rows

    tokenizer = load_tokenizer(model_path)
    sequences = encode_rows(tokenizer, SYSTEM, rows, config.max_length)
    dataset = Dataset.from_list([
        {"input_ids": s.input_ids, "attention_mask": [1] * len(s.input_ids),
         "labels": [t if m else -100 for t, m in zip(s.input_ids, s.completion_mask)]}
        for s in sequences
    ])
    model = prepare_model_for_kbit_training(load_quantized(model_path), use_gradient_checkpointing=config.gradient_checkpointing)
    model = get_peft_model(model, LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                                             target_modules="all-linear", task_type="CAUSAL_LM"))
    cuda = torch.cuda.is_available()
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(
            output_dir=out, max_steps=config.max_steps, per_device_train_batch_size=config.batch_size,
            learning_rate=config.learning_rate, lr_scheduler_type="cosine", gradient_checkpointing=config.gradient_checkpointing,
            optim="paged_adamw_8bit" if cuda else "adamw_torch", bf16=cuda and torch.cuda.is_bf16_supported(), use_cpu=not cuda,
            seed=config.seed, logging_steps=1, save_strategy="no", report_to=[], disable_tqdm=True, remove_unused_columns=False,
        )
        collator = DataCollatorForSeq2Seq(tokenizer, padding="longest", label_pad_token_id=-100)
        trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=meter.collator(collator), callbacks=[meter.callback()])
        meter.watch(trainer.train)


def run(args) -> dict:
    from studio.training import TrainConfig

    rows = load_rows(Path(args.clinc), args.examples, args.seed)
    config = TrainConfig(max_steps=args.steps, batch_size=args.batch_size, save_steps=10**6, seed=args.seed)
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
        return {"tokens_per_second": statistics.median(r["tokens_per_second"] for r in rounds),
                "peak_memory_mb": max(r["peak_memory_mb"] for r in rounds), "rounds": rounds}

    studio, reference = side("studio"), side("reference")
    per_round = [s["tokens_per_second"] / r["tokens_per_second"] for s, r in zip(results["studio"], results["reference"])]
    return {
        "model": args.model, "examples": args.examples, "steps_per_round": args.steps, "batch_size": args.batch_size,
        "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu", "machine": describe_machine(),
        "studio": studio, "reference": reference,
        "ratio": studio["tokens_per_second"] / reference["tokens_per_second"], "ratio_per_round": per_round,
        "memory_ratio": studio["peak_memory_mb"] / reference["peak_memory_mb"],
    }


def main() -> int:
    from studio.paths import DEFAULT_MODEL_NAME, models_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clinc", default=str(Path(__file__).resolve().parents[2] / "shared" / "datasets" / "clinc150" / "data_full.json"), help="CLINC150 data_full.json (default: ../shared/datasets beside the checkout)")
    parser.add_argument("--model", default=str(models_dir() / DEFAULT_MODEL_NAME), help="base model folder or hub id")
    parser.add_argument("--examples", type=int, default=512, help="CLINC150 rows to train on")
    parser.add_argument("--steps", type=int, default=6, help="optimizer steps per round (the first is warm-up)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of studio and reference")
    parser.add_argument("--batch-size", type=int, default=8, help="examples per step, both sides")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args()
    result = run(args)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"studio    {result['studio']['tokens_per_second']:8.1f} tok/s  peak {result['studio']['peak_memory_mb']:.0f} MB")
        print(f"reference {result['reference']['tokens_per_second']:8.1f} tok/s  peak {result['reference']['peak_memory_mb']:.0f} MB")
        print(f"ratio {result['ratio']:.2f}x (per round {', '.join(f'{r:.2f}' for r in result['ratio_per_round'])}); memory {result['memory_ratio']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
