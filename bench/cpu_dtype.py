"""The base weights' dtype on a CPU: fp32 against bf16, for LoRA training of the packaged model.

    .venv/bin/python bench/cpu_dtype.py [--lengths 96 384] [--batch-size 8] [--steps 3] [--json]

For each sequence length, the same LoRA setup (rank 16 on every linear layer, AdamW at 1e-3, LoRA
weights kept in fp32 as peft does by default) trains on the same random token batches over the base
loaded in fp32 and in bf16, one after the other in this process: a warm-up step, then `--steps` timed
steps of forward, backward and optimizer step. It reports tokens/s over the timed steps' wall time, the
CPU seconds this process spent, the machine's cores busy meanwhile (from /proc/stat: a figure well above
what this process used says other work shared the cores), the losses (the two dtypes should agree to
about a hundredth) and the CPU's bf16 features (AMX tiles, AVX-512 BF16: the units that make bf16 fast on a CPU).

It measures the model's own forward and backward only: no studio trainer, no data pipeline.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from machine import CoresBusy, describe_machine  # noqa: E402


def time_training(model_path: str, dtype_name: str, length: int, batch_size: int, steps: int) -> dict:
    """Tokens/s of LoRA training steps over the base in `dtype_name`, on fixed random batches."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(model_path, dtype=getattr(torch, dtype_name), device_map="cpu")
    lora = LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", lora_dropout=0.0, task_type="CAUSAL_LM")
    model = get_peft_model(base, lora)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    ids = torch.randint(100, base.config.vocab_size - 100, (batch_size, length))

    def step() -> float:
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        return loss.item()

    step()  # warm-up
    busy, wall, cpu = CoresBusy(), time.perf_counter(), time.process_time()
    losses = [round(step(), 3) for _ in range(steps)]
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "dtype": dtype_name,
        "length": length,
        "tokens_per_s": round(steps * batch_size * length / wall, 1),
        "wall_s": round(wall, 1),
        "own_cpu_s": round(cpu, 1),
        "machine_cores_busy": busy.stop(),
        "losses": losses,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[96, 384])
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    from studio.models.loading import cpu_bf16_features, ensure_default_model

    model_path = str(ensure_default_model())
    rows = [
        time_training(model_path, dtype, length, args.batch_size, args.steps)
        for length in args.lengths
        for dtype in ("float32", "bfloat16")
    ]
    speedups = {
        fp32["length"]: round(bf16["tokens_per_s"] / fp32["tokens_per_s"], 2)
        for fp32, bf16 in zip(rows[::2], rows[1::2])
    }
    result = {
        "machine": describe_machine(),
        "bf16_hardware": list(cpu_bf16_features()),
        "runs": rows,
        "bf16_speedup_by_length": speedups,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for row in rows:
            print(f"{row['dtype']:>8} length {row['length']:>4}: {row['tokens_per_s']:>7} tokens/s {row['losses']}")
        print("bf16 / fp32:", speedups, "bf16 hardware:", result["bf16_hardware"])
    return result


if __name__ == "__main__":
    main()
