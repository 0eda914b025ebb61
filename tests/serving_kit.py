"""Helpers shared by the serving tests and the Deploy page's browser test: what evaluation answered,
and the OpenAI client asking a served run."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from studio.dataset.messages import input_text
from studio.evaluation.answering import TUNED
from studio.jsonl import read_jsonl


def evaluated(run: dict) -> list[tuple[str, dict]]:
    """(held-out input, the tuned model's evaluated prediction) pairs."""
    run_dir = Path(run["run_dir"])
    held_out = {row["id"]: row for row in read_jsonl(run_dir / "eval.jsonl")}
    return [
        (input_text(held_out[p["example_id"]]["messages"]), p)
        for p in read_jsonl(run_dir / "predictions.jsonl")
        if p["model"] == TUNED
    ]


def ask(client, model: str, text: str, **extra):
    return client.chat.completions.create(model=model, messages=[{"role": "user", "content": text}], **extra)


def ask_together(client, model: str, texts: list[str], **extra) -> list:
    """Every text at once, each from its own thread, sent in order (a few ms apart) so that the
    server's batch holds them in the order evaluation answered them."""
    with ThreadPoolExecutor(len(texts)) as pool:
        futures = []
        for text in texts:
            futures.append(pool.submit(lambda text=text: ask(client, model, text, **extra)))
            time.sleep(0.03)
        return [f.result() for f in futures]
