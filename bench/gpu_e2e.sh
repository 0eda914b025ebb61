#!/usr/bin/env bash
# The whole path on a GPU, as a user takes it, in a fresh data home: `studio setup`, `studio demo`,
# `studio train --preset Quick --wait` (QLoRA on a GPU: 4-bit NF4 through bitsandbytes), `studio eval`,
# `studio model serve` with one request through the OpenAI client. Prints one JSON summary (also written
# to $OUT/gpu_e2e.json when OUT is set): the card, the steps, tokens/s, peak memory, the recipe the run
# trained with, the leaderboard, the served answer and each stage's seconds.
#
#   bash bench/gpu_e2e.sh                         here: the checkout's .venv (a CPU dry run: MAX_STEPS=2)
#   PYTHON=python3 bash bench/gpu_e2e.sh          on a bare GPU machine, as the last of the calls that
#                                                 bench/gpu_carry.sh pack prints (it installs the carried
#                                                 wheels first, then runs)
#
# MAX_STEPS caps training (a dry run); PORT is the served port (default 8765).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
BEGAN=$(date +%s)
if ! "$PY" -c "import trl, duckdb" 2>/dev/null && compgen -G ".gpu/call*/piece.*" >/dev/null; then
    # a bare GPU machine, and the last carried piece came with this call: install what the earlier calls stashed
    for folder in .gpu/call*; do bash bench/gpu_carry.sh stash "$folder" >/dev/null; done
    bash bench/gpu_carry.sh install >/dev/null
    export PYTHONPATH=/tmp/studio-site
fi
INSTALLED=$(date +%s)
WORK="$(mktemp -d)"
STUDIO_HOME="$WORK/home"
PORT="${PORT:-8765}"
export STUDIO_HOME PORT HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
LOG="$WORK/e2e.log"
studio() { "$PY" -m studio.cli "$@"; }
trap 'echo "gpu_e2e.sh failed; the end of $LOG:" >&2; tail -n 40 "$LOG" >&2' ERR
stamp() { echo "$1=$(date +%s)" >>"$WORK/stamps"; }

stamp setup && studio setup >>"$LOG" 2>&1
stamp demo && studio demo >>"$LOG" 2>&1
stamp train
studio train --project demo --preset Quick --wait --json ${MAX_STEPS:+--max-steps "$MAX_STEPS"} \
    >"$WORK/train.json" 2>>"$LOG" || true
RUN=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["run_id"])' "$WORK/train.json")
stamp eval && studio eval "$RUN" --json >"$WORK/eval.json" 2>>"$LOG" || true
stamp serve
"$PY" -m studio.cli model serve "$RUN" --port "$PORT" --json >"$WORK/serve.json" 2>>"$LOG" &  # not the function: $! is the server
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
export RUN BEGAN INSTALLED
"$PY" - <<'PYEOF'
import json, os, time
from pathlib import Path

home = Path(os.environ["STUDIO_HOME"])
work = home.parent
run_dir = home / "runs" / os.environ["RUN"]
summary = {"device": None, "run": os.environ["RUN"]}
try:
    import torch

    summary["card"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu (dry run)"
except Exception as error:  # noqa: BLE001 - the summary says what broke rather than stopping
    summary["card"] = f"unknown: {error}"
train = json.loads((work / "train.json").read_text())
summary["train_status"], summary["train_error"] = train["status"], train.get("error")
events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines() if line.strip()]
steps = [e for e in events if e["event"] == "step"]
started = next((e for e in events if e["event"] == "started"), {})
summary["device"] = started.get("device")
summary["steps"] = steps[-1]["step"] if steps else 0
summary["loss_first_last"] = [steps[0]["loss"], steps[-1]["loss"]] if steps else None
summary["tokens_per_second"] = steps[-1]["tokens_per_second"] if steps else None
summary["peak_memory_mb"] = max((e.get("memory_mb", 0) for e in steps), default=None)
manifest = run_dir / "manifest.json"
if manifest.exists():
    recipe = json.loads(manifest.read_text())["recipe"]
    summary["recipe"] = {k: recipe.get(k) for k in ("device", "quantization", "optimizer", "batching", "liger_why")}
try:
    board = json.loads((work / "eval.json").read_text())
    rows = board.get("leaderboard", board)
    summary["leaderboard"] = [
        {k: r.get(k) for k in ("rank", "label", "primary_metric", "primary_value", "low", "high", "n")} for r in rows
    ]
    summary["verdict"] = (board.get("verdict") or {}).get("headline") if isinstance(board.get("verdict"), dict) else board.get("verdict")
except (OSError, ValueError, AttributeError) as error:
    summary["leaderboard"] = f"studio eval gave no JSON: {error}"
deadline = time.monotonic() + 300
url = None
while time.monotonic() < deadline and url is None:
    text = (work / "serve.json").read_text() if (work / "serve.json").exists() else ""
    url = json.loads(text.splitlines()[0])["url"] if text.strip() else None
    time.sleep(0.5)
served = {"url": url}
if url:
    import openai

    from studio.dataset.messages import input_text

    ticket = json.loads((run_dir / "eval.jsonl").read_text().splitlines()[0])
    client = openai.OpenAI(base_url=url.rstrip("/") + ("" if url.rstrip("/").endswith("/v1") else "/v1"), api_key="local", timeout=600)
    model = client.models.list().data[0].id
    began = time.perf_counter()
    answer = client.chat.completions.create(model=model, messages=[{"role": "user", "content": input_text(ticket["messages"])}])
    served |= {
        "model": model,
        "answer": answer.choices[0].message.content,
        "routing": (answer.choices[0].model_extra or {}).get("routing"),
        "seconds": round(time.perf_counter() - began, 2),
    }
summary["served"] = served
stamps = dict(line.split("=") for line in (work / "stamps").read_text().split())
stamps = {k: int(v) for k, v in stamps.items()}
order = ["setup", "demo", "train", "eval", "serve"]
now = int(time.time())
summary["seconds"] = {
    "install": int(os.environ["INSTALLED"]) - int(os.environ["BEGAN"]),
    **{name: (stamps[order[i + 1]] if i + 1 < len(order) else now) - stamps[name] for i, name in enumerate(order)},
    "total": now - int(os.environ["BEGAN"]),
}
document = json.dumps(summary, indent=2)
print(document)
if os.environ.get("OUT"):
    Path(os.environ["OUT"], "gpu_e2e.json").write_text(document)
PYEOF
