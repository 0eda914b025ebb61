"""A run trained with retrieved examples: evaluation's "tuned + k retrieved", the served engine and the export agree.

The run folder is built by hand, as the worker leaves it, on the tiny random Llama with a
random (non-zero) LoRA adapter: the answers are nonsense, but a prompt with other retrieved
examples gives other answers, so a path that retrieved differently, or not at all, fails here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from studio.dataset.messages import input_text, single_turn
from studio.dataset.snapshots import Snapshot, write_snapshot
from studio.evaluation.answering import answer_held_out
from studio.jsonl import read_jsonl

K = 2
CANDIDATE = f"tuned + {K} retrieved"
TRAIN = [
    ("The printer on floor 3 is jammed", "printer"),
    ("Paper stuck in the office printer", "printer"),
    ("The printer prints blank pages", "printer"),
    ("My invoice total is wrong", "billing"),
    ("I was overcharged this month", "billing"),
    ("Why was I billed twice?", "billing"),
    ("I forgot my password", "account"),
    ("The password reset email never came", "account"),
    ("My account is locked", "account"),
]
HELD_OUT = [("Printer on the second floor is out of paper", "printer"), ("Refund the double charge", "billing")]


def _snapshot() -> Snapshot:
    def row(i, text, label):
        return {"id": i, "external_id": f"E{i}", "messages": single_turn(text, label), "tags": []}

    return Snapshot(
        train=[row(i, t, a) for i, (t, a) in enumerate(TRAIN, start=1)],
        held_out=[row(100 + i, t, a) for i, (t, a) in enumerate(HELD_OUT)],
        snapshot_hash="s",
        held_out_hash="h",
    )


@pytest.fixture(scope="module")
def run_dir(tiny_llama, tmp_path_factory) -> Path:
    """A finished run trained with K retrieved examples, its held-out set answered by every candidate."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    run_dir = tmp_path_factory.mktemp("retrieval") / "run"
    run_dir.mkdir()
    write_snapshot(_snapshot(), run_dir)
    model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(tiny_llama),
        LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False),
    )
    model.save_pretrained(run_dir / "adapter")
    AutoTokenizer.from_pretrained(tiny_llama).save_pretrained(run_dir / "adapter")
    config = {
        "run_id": "run",
        "project": "tickets",
        "model_path": str(tiny_llama),
        "system_prompt": "Name the ticket's team.",
        "output_spec": {"kind": "text"},
        "train": {"retrieved_examples": K, "cpu_recipe": True},
        "eval": {"few_shot_k": 3, "batch_size": 16, "max_new_tokens": 8},
        "held_out_hash": "h",
    }
    (run_dir / "config.json").write_text(json.dumps(config))
    answer_held_out(run_dir, config)
    return run_dir


def _predictions(run_dir: Path, model: str) -> list[dict]:
    return [p for p in read_jsonl(run_dir / "predictions.jsonl") if p["model"] == model]


def test_the_retrieval_candidate_answers_beside_tuned_with_the_k_nearest_training_examples(run_dir):
    models = list(dict.fromkeys(p["model"] for p in read_jsonl(run_dir / "predictions.jsonl")))
    assert models == ["tuned", CANDIDATE, "baseline-0shot", "baseline-3shot"]
    retrieved, baseline = _predictions(run_dir, CANDIDATE), _predictions(run_dir, "baseline-3shot")
    for mine, theirs in zip(retrieved, baseline):
        # the baseline's own retrieval: its 3 nearest, nearest last, so the candidate's K are its last K
        assert mine["few_shot_ids"] == theirs["few_shot_ids"][-K:]
    assert [p["few_shot_ids"][-1] for p in retrieved] == ["E1", "E6"]
    assert "few_shot_ids" not in _predictions(run_dir, "tuned")[0]
    # the retrieved examples change the answers: a serving path without them could not pass the tests below
    assert [p["output"] for p in retrieved] != [p["output"] for p in _predictions(run_dir, "tuned")]


def test_the_served_engine_retrieves_from_the_frozen_examples_and_answers_as_evaluated(run_dir):
    from studio.serving.engine import (
        Retriever,
        answer_conversations,
        default_max_tokens,
        load_served_model,
        served_run,
        with_system_prompt,
    )

    run = served_run(run_dir)
    assert run.retrieved_examples == K
    model, tokenizer = load_served_model(run)
    retriever = Retriever(run)
    held_out = read_jsonl(run_dir / "eval.jsonl")
    requests = [[{"role": "user", "content": input_text(row["messages"])}] for row in held_out]
    shots = [retriever.shots(messages) for messages in requests]
    evaluated = _predictions(run_dir, CANDIDATE)
    assert [[s["external_id"] for s in shown] for shown in shots] == [p["few_shot_ids"] for p in evaluated]
    conversations = [with_system_prompt(run, m, s) for m, s in zip(requests, shots)]
    answers = answer_conversations(
        model, tokenizer, conversations, default_max_tokens(run, tokenizer), batch_size=run.batch_size
    )
    assert [a.text for a in answers] == [p["output"] for p in evaluated]
    assert [a.confidence for a in answers] == pytest.approx([p["confidence"] for p in evaluated], abs=1e-4)


def test_the_export_carries_the_examples_says_what_to_send_and_checks_with_retrieval(run_dir, tmp_path):
    from studio.serving.export import export_run

    result = export_run(run_dir, "merged", tmp_path / "merged")
    folder = tmp_path / "merged"
    exported = read_jsonl(folder / "retrieval.jsonl")
    assert [r["messages"] for r in exported] == [r["messages"] for r in read_jsonl(run_dir / "train.jsonl")]
    assert "retrieval.jsonl" in result.commands["client"] and f"{K} retrieved examples" in result.commands["client"]
    assert result.commands["client"] in (folder / "README.md").read_text()
    check = result.check
    assert check["checked"] == len(HELD_OUT) and check["template_ok"]
    # compared with the retrieval candidate's answers; a merge may flip a late near-tie token on a random model
    evaluated = {p["example_id"]: p["output"] for p in _predictions(run_dir, CANDIDATE)}
    assert check["matches"] >= 1, check["mismatches"]
    for mismatch in check["mismatches"]:
        assert mismatch["evaluated"] == evaluated[mismatch["example_id"]]
        assert len(os.path.commonprefix([mismatch["evaluated"], mismatch["export"]])) >= 8, mismatch


def test_the_http_server_answers_each_request_with_its_retrieved_examples_as_evaluated(run_dir):
    """The real server in this process, asked over loopback the way a client asks: only the user's text."""
    import threading
    import time
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    from studio.serving.engine import count_prompt_tokens, load_served_model, served_run, with_system_prompt
    from studio.serving.server import Served, ServeOptions, build_server

    run = served_run(run_dir)
    model, tokenizer = load_served_model(run)
    # a long batching window: the held-out inputs sent together are answered in one batch, as at evaluation
    served = Served(run, model, tokenizer, ServeOptions(port=0, batch_window_s=3.0))
    server = build_server(served)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1/chat/completions"

    def ask(text: str) -> dict:
        body = json.dumps({"model": run.model_name, "messages": [{"role": "user", "content": text}]}).encode()
        request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read())

    try:
        texts = [input_text(row["messages"]) for row in read_jsonl(run_dir / "eval.jsonl")]
        with ThreadPoolExecutor(len(texts)) as pool:
            futures = []
            for text in texts:
                futures.append(pool.submit(ask, text))
                time.sleep(0.05)
            answers = [f.result() for f in futures]
    finally:
        server.shutdown()
        server.server_close()
        served.batcher.stop()
    evaluated = _predictions(run_dir, CANDIDATE)
    assert [a["choices"][0]["message"]["content"] for a in answers] == [p["output"] for p in evaluated]
    # the prompt the server counted is the one with the retrieved examples
    requests = [[{"role": "user", "content": text}] for text in texts]
    counted = [count_prompt_tokens(tokenizer, with_system_prompt(run, m, served.retriever.shots(m))) for m in requests]
    assert [a["usage"]["prompt_tokens"] for a in answers] == counted
    assert all(n > count_prompt_tokens(tokenizer, with_system_prompt(run, m)) for n, m in zip(counted, requests))


def test_the_playground_shows_the_tuned_side_the_examples_the_server_would(run_dir):
    from studio.models.playground import retrieved_shots

    held_out = read_jsonl(run_dir / "eval.jsonl")
    shown = [retrieved_shots(str(run_dir), [{"role": "user", "content": input_text(r["messages"])}]) for r in held_out]
    assert [[s["external_id"] for s in shots] for shots in shown] == [
        p["few_shot_ids"] for p in _predictions(run_dir, CANDIDATE)
    ]
