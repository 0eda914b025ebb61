"""Benchmark `studio model serve`: concurrent OpenAI clients against a real run's server.

Run it (from the repository root):

    .venv/bin/python bench/serve.py [--model default|tiny] [--clients 20] [--seconds 60] [--steps 10] [--json]

In a fresh data home it loads the demo project (support tickets answered with a JSON
object), trains a short real run on the chosen base model (default: the packaged
SmolLM2-135M-Instruct; tiny: a 2-layer random Llama that measures the server, not the
model), starts the run's server as the Deploy page does, and lets --clients threads, each
with its own openai client, ask the demo's ticket texts one after another for --seconds.
Every request must come back with an answer and a routing band: nothing may be lost.
It reports p50/p95 latency, requests/s, answer tokens/s and how many cores the server
process kept busy (its CPU seconds over wall seconds). Results go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from machine import describe_machine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def finished_run(model: str, steps: int) -> dict:
    """The demo project trained for `steps` steps on the chosen base model, evaluated."""
    from studio.demo import load_demo
    from studio.paths import db_path
    from studio.project.projects import update_project_settings
    from studio.training.launch import launch_run, wait_for_run
    from studio.training.trainer import TrainConfig

    project, _ = load_demo(db_path())
    if model == "tiny":
        project = update_project_settings(
            db_path(), project, base_model=str(tiny_llama(Path(os.environ["STUDIO_HOME"])))
        )
    began = time.perf_counter()
    config = TrainConfig(max_steps=steps, validation_share=0.0)
    run = wait_for_run(db_path(), launch_run(db_path(), project, config), poll_seconds=1.0)
    if run["status"] != "succeeded":
        raise SystemExit(f"the run failed: {run['error']}")
    print(f"run {run['id']} trained and evaluated in {time.perf_counter() - began:.0f} s", file=sys.stderr)
    return {"run": run, "project": project}


def tiny_llama(home: Path) -> Path:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from studio.models.loading import ensure_default_model

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(ensure_default_model())
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    path = home / "tiny-llama"
    LlamaForCausalLM(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def load(url: str, model: str, texts: list[str], clients: int, seconds: float) -> dict:
    """`clients` threads asking in turn until the time is up; every outcome is kept."""
    import openai

    results: list[dict] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client_loop(number: int) -> None:
        client = openai.OpenAI(base_url=url, api_key="local", max_retries=0, timeout=600)
        turn = number
        while time.monotonic() < stop_at:
            text = texts[turn % len(texts)]
            turn += clients
            began = time.perf_counter()
            try:
                answer = client.chat.completions.create(model=model, messages=[{"role": "user", "content": text}])
                choice = answer.choices[0]
                outcome = {
                    "ok": bool(choice.model_extra.get("routing", {}).get("band")),
                    "tokens": answer.usage.completion_tokens,
                    "band": choice.model_extra["routing"]["band"],
                }
            except Exception as error:  # noqa: BLE001 - a lost request is the figure this bench exists for
                outcome = {"ok": False, "error": f"{type(error).__name__}: {error}"[:200], "tokens": 0}
            outcome["latency_s"] = time.perf_counter() - began
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"results": results, "wall_s": time.perf_counter() - began}


def fidelity(url: str, model: str, run_dir: Path) -> dict:
    """How many held-out inputs get exactly their evaluated answer: asked one at a time, and all together."""
    import openai

    from studio.dataset.messages import input_text
    from studio.evaluation.answering import TUNED
    from studio.jsonl import read_jsonl

    held_out = {row["id"]: row for row in read_jsonl(run_dir / "eval.jsonl")}
    pairs = [
        (input_text(held_out[p["example_id"]]["messages"]), p["output"])
        for p in read_jsonl(run_dir / "predictions.jsonl")
        if p["model"] == TUNED
    ]
    client = openai.OpenAI(base_url=url, api_key="local", max_retries=0, timeout=600)

    def ask(text: str) -> str:
        return (
            client.chat.completions.create(model=model, messages=[{"role": "user", "content": text}])
            .choices[0]
            .message.content
        )

    alone = sum(ask(text) == expected for text, expected in pairs)
    results: dict[int, str] = {}
    threads = [
        threading.Thread(target=lambda n=n, text=text: results.__setitem__(n, ask(text)))
        for n, (text, _) in enumerate(pairs)
    ]
    for thread in threads:
        thread.start()
        time.sleep(0.03)  # in held-out order, as evaluation batched them
    for thread in threads:
        thread.join()
    together = sum(results[n] == expected for n, (_, expected) in enumerate(pairs))
    return {"held_out": len(pairs), "identical_alone": alone, "identical_together": together}


def summarise(outcome: dict, cpu_seconds: float) -> dict:
    results, wall = outcome["results"], outcome["wall_s"]
    latencies = sorted(r["latency_s"] for r in results if r["ok"])
    cut = statistics.quantiles(latencies, n=20) if len(latencies) >= 2 else latencies * 19
    bands = {}
    for r in results:
        if r.get("band"):
            bands[r["band"]] = bands.get(r["band"], 0) + 1
    return {
        "requests": len(results),
        "answered": sum(r["ok"] for r in results),
        "lost": [r["error"] for r in results if not r["ok"]][:5],
        "wall_s": wall,
        "p50_s": statistics.median(latencies) if latencies else None,
        "p95_s": cut[18] if cut else None,
        "requests_per_s": len(latencies) / wall,
        "answer_tokens_per_s": sum(r["tokens"] for r in results) / wall,
        "server_cores_busy": cpu_seconds / wall,
        "bands": bands,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["default", "tiny"], default="default")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--window-ms", type=float, default=20, help="the loaded server's batching window (its default)")
    parser.add_argument(
        "--export-check", action="store_true", help="also export the merged model and re-answer every held-out input"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ["STUDIO_HOME"] = tempfile.mkdtemp(prefix="bench-serve-")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import psutil

    from studio.dataset.messages import input_text
    from studio.jsonl import read_jsonl
    from studio.serving.engine import model_name
    from studio.serving.process import start_server, stop_server

    made = finished_run(args.model, args.steps)
    run = made["run"]
    run_dir = Path(run["run_dir"])
    texts = [
        input_text(row["messages"]) for row in read_jsonl(run_dir / "eval.jsonl") + read_jsonl(run_dir / "train.jsonl")
    ]
    name = model_name(made["project"].name, run["id"])
    server, _ = start_server(run["id"], batch_window_ms=3000)  # inputs sent together land in one batch
    try:
        same = fidelity(server.url, name, run_dir)
    finally:
        stop_server(run["id"])
    print(f"identical to the evaluated answers: {same}", file=sys.stderr)
    server, _ = start_server(run["id"], batch_window_ms=args.window_ms)
    try:
        process = psutil.Process(server.pid)
        before = sum(process.cpu_times()[:2])
        outcome = load(server.url, name, texts, args.clients, args.seconds)
        cpu = sum(process.cpu_times()[:2]) - before
    finally:
        stop_server(run["id"])
    result = {
        "machine": describe_machine(),
        "model": args.model,
        "clients": args.clients,
        "seconds": args.seconds,
        "steps": args.steps,
        "window_ms": args.window_ms,
        "fidelity": same,
        **summarise(outcome, cpu),
    }
    if args.export_check:
        from studio.serving.export import export_run

        began = time.perf_counter()
        check = export_run(run_dir, "merged", check=same["held_out"]).check
        result["merged_export"] = {k: check[k] for k in ("checked", "matches", "template_ok")} | {
            "seconds": time.perf_counter() - began
        }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"{result['clients']} clients for {result['seconds']:.0f} s on the {args.model} model: "
            f"{result['answered']} of {result['requests']} answered, p50 {result['p50_s']:.2f} s, p95 {result['p95_s']:.2f} s, "
            f"{result['requests_per_s']:.2f} requests/s, {result['answer_tokens_per_s']:.1f} answer tokens/s, "
            f"server cores busy {result['server_cores_busy']:.2f}, bands {result['bands']}; identical to evaluation "
            f"{same['identical_alone']}/{same['held_out']} asked alone, {same['identical_together']}/{same['held_out']} together"
            + (f"; merged export {result['merged_export']}" if "merged_export" in result else "")
        )
    return 0 if result["answered"] == result["requests"] else 1


if __name__ == "__main__":
    sys.exit(main())
