"""Answering the held-out set: the tuned model, the 0-shot and retrieved k-shot baselines, an endpoint.

Each test builds a run folder by hand, as launch_run and the training worker leave it,
on the tiny random Llama with a tiny LoRA adapter, so the answers are nonsense but every
path they take is the real one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_endpoint import ChatHandler, chat_server

from studio.dataset.messages import single_turn
from studio.dataset.snapshots import Snapshot, write_snapshot
from studio.evaluation.answering import answer_held_out, plan_models
from studio.jsonl import read_jsonl
from studio.training.progress import read_events

SYSTEM = "Answer the support ticket in one line."
CLUSTERS = {
    "printer": [
        "The printer on floor 3 is jammed",
        "Floor three printer has a paper jam",
        "Paper stuck in the office printer",
    ],
    "invoice": [
        "My invoice total is wrong",
        "The amount on my bill is incorrect",
        "I was overcharged on this month's invoice",
    ],
    "password": ["I forgot my password", "How do I reset my login password?", "The password reset email never came"],
}
OTHERS = ["Where is my parcel?", "Can I change my delivery address?", "Do you ship to Norway?"]
HELD_OUT = {
    "printer": "The printer on floor 3 is jammed again",
    "invoice": "My invoice total is wrong again",
    "password": "I forgot my password again",
}


def _row(index: int, external_id: str, user: str, answer: str) -> dict:
    return {"id": index, "external_id": external_id, "messages": single_turn(user, answer), "tags": []}


def _snapshot() -> Snapshot:
    inputs = [(f"{topic}-{n}", text) for topic, texts in CLUSTERS.items() for n, text in enumerate(texts)]
    inputs += [(f"other-{n}", text) for n, text in enumerate(OTHERS)]
    train = [_row(i, ext, text, f"Reply about {ext}") for i, (ext, text) in enumerate(inputs, start=1)]
    held = [
        _row(100 + i, f"H-{topic}", text, f"Reply about {topic}") for i, (topic, text) in enumerate(HELD_OUT.items())
    ]
    return Snapshot(train=train, held_out=held, snapshot_hash="s", held_out_hash="h")


def _save_adapter(base: Path, target: Path) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(base),
        LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"),
    )
    model.save_pretrained(target)
    AutoTokenizer.from_pretrained(base).save_pretrained(target)


@pytest.fixture(scope="module")
def adapter(tiny_llama, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("adapter") / "adapter"
    _save_adapter(tiny_llama, path)
    return path


def make_run(run_dir: Path, tiny_llama: Path, adapter: Path, output_spec: dict, **eval_settings) -> dict:
    """A run folder as the worker sees it once training is done: config, snapshot, adapter."""
    import shutil

    run_dir.mkdir(parents=True)
    write_snapshot(_snapshot(), run_dir)
    shutil.copytree(adapter, run_dir / "adapter")
    config = {
        "run_id": run_dir.name,
        "project": "tickets",
        "base_model": str(tiny_llama),
        "model_path": str(tiny_llama),
        "system_prompt": SYSTEM,
        "output_spec": output_spec,
        "train": {},
        "eval": {"few_shot_k": 3, "batch_size": 16, "max_new_tokens": 4, **eval_settings},
        "snapshot_hash": "s",
        "held_out_hash": "h",
    }
    (run_dir / "config.json").write_text(json.dumps(config))
    return config


def _by_model(rows: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for row in rows:
        grouped.setdefault(row["model"], []).append(row)
    return grouped


@pytest.fixture(scope="module")
def text_run(tiny_llama, adapter, tmp_path_factory) -> Path:
    """A free-text run answered once, shared by the tests that only read its predictions."""
    run_dir = tmp_path_factory.mktemp("text") / "run"
    answer_held_out(run_dir, make_run(run_dir, tiny_llama, adapter, {"kind": "text"}))
    return run_dir


def test_every_model_answers_every_held_out_example(text_run):
    rows = _by_model(read_jsonl(text_run / "predictions.jsonl"))
    assert list(rows) == ["tuned", "baseline-0shot", "baseline-3shot"]
    for name, predictions in rows.items():
        assert [p["external_id"] for p in predictions] == [f"H-{topic}" for topic in HELD_OUT], name
        assert {"model", "example_id", "external_id", "expected", "output", "latency_s", "new_tokens"} <= set(
            predictions[0]
        )
        assert all(-1 <= p["embedding_similarity"] <= 1 for p in predictions)
        assert predictions[0]["expected"] == "Reply about printer"
    assert "few_shot_ids" not in rows["tuned"][0]
    assert all(p["few_shot_ids"] == [] for p in rows["baseline-0shot"])
    answering = [e for e in read_events(text_run) if e["event"] == "answering"]
    assert {(e["model"], e["done"]) for e in answering} >= {("tuned", 3), ("baseline-0shot", 3), ("baseline-3shot", 3)}


def test_the_k_shot_baseline_sees_the_nearest_training_inputs_nearest_last(text_run):
    rows = _by_model(read_jsonl(text_run / "predictions.jsonl"))
    for prediction, topic in zip(rows["baseline-3shot"], HELD_OUT):
        assert sorted(prediction["few_shot_ids"]) == [f"{topic}-{n}" for n in range(3)]
        assert prediction["few_shot_ids"][-1] == f"{topic}-0"  # the near-identical wording, right before the input


def test_the_k_shot_prompt_holds_the_shots_between_system_prompt_and_input():
    snapshot = _snapshot()
    config = {"system_prompt": SYSTEM, "eval": {"few_shot_k": 3}}
    plans = {plan.name: plan for plan in plan_models(config, snapshot.held_out, snapshot.train)}
    prompt = plans["baseline-3shot"].conversations[0]
    assert prompt[0] == {"role": "system", "content": SYSTEM}
    assert [m["role"] for m in prompt[1:]] == ["user", "assistant"] * 3 + ["user"]
    assert prompt[-2:] == [
        *single_turn(CLUSTERS["printer"][0], "Reply about printer-0")[1:],
        {"role": "user", "content": HELD_OUT["printer"]},
    ]
    assert plans["tuned"].conversations == plans["baseline-0shot"].conversations


def test_a_label_run_without_shots_has_no_k_shot_baseline_and_no_similarity(tmp_path, tiny_llama, adapter):
    spec = {"kind": "labels", "labels": ["printer", "invoice", "password"]}
    config = make_run(tmp_path / "run", tiny_llama, adapter, spec, few_shot_k=0)
    rows = read_jsonl(answer_held_out(tmp_path / "run", config))
    assert [r["model"] for r in rows] == ["tuned"] * 3 + ["baseline-0shot"] * 3
    assert not any("embedding_similarity" in r for r in rows)


def test_an_endpoint_answers_the_same_k_shot_prompts(tmp_path, tiny_llama, adapter, monkeypatch):
    monkeypatch.setenv("STUDIO_TEST_KEY", "test-key")
    ChatHandler.seen = []
    with chat_server() as url:
        endpoint = {"url": f"{url}/v1", "model": "big-model", "api_key_env": "STUDIO_TEST_KEY"}
        config = make_run(tmp_path / "run", tiny_llama, adapter, {"kind": "text"}, endpoint=endpoint)
        rows = _by_model(read_jsonl(answer_held_out(tmp_path / "run", config)))
    assert list(rows) == ["tuned", "baseline-0shot", "baseline-3shot", "endpoint:big-model"]
    # The test server echoes the input upper-cased, cut at max_tokens (4) words.
    assert [p["output"] for p in rows["endpoint:big-model"]] == [
        " ".join(t.upper().split()[:4]) for t in HELD_OUT.values()
    ]
    assert [p["few_shot_ids"] for p in rows["endpoint:big-model"]] == [
        p["few_shot_ids"] for p in rows["baseline-3shot"]
    ]
    assert len(ChatHandler.seen[0]["body"]["messages"]) == 1 + 6 + 1
    assert all(p["confidence"] is None and -1 <= p["embedding_similarity"] <= 1 for p in rows["endpoint:big-model"])


def test_a_failing_endpoint_is_skipped_and_the_local_models_still_count(tmp_path, tiny_llama, adapter):
    with chat_server() as url:
        endpoint = {"url": f"{url}/broken/v1", "model": "big-model"}
        config = make_run(tmp_path / "run", tiny_llama, adapter, {"kind": "text"}, endpoint=endpoint)
        rows = _by_model(read_jsonl(answer_held_out(tmp_path / "run", config)))
    assert list(rows) == ["tuned", "baseline-0shot", "baseline-3shot"]
    [failed] = [e for e in read_events(tmp_path / "run") if e["event"] == "answering_failed"]
    assert failed["model"] == "endpoint:big-model" and "HTTP 500" in failed["error"]


def test_baseline_answers_are_cached_across_runs(tmp_path, tiny_llama):
    """A second run on the same held-out set reuses the baselines' answers instead of generating them."""
    from studio.evaluation.answering import Plan, cached_answers

    config = {"model_path": str(tiny_llama), "eval": {"cache_dir": str(tmp_path / "cache")}}
    plan = Plan("baseline-0shot", [[{"role": "user", "content": "hi"}]], [[]], "base")
    calls = []

    def produce():
        calls.append(1)
        return [{"output": "hello", "latency_s": 0.1, "new_tokens": 2, "confidence": 0.5}]

    first = cached_answers(plan, config, 16, produce)
    second = cached_answers(plan, config, 16, produce)
    assert first == second and len(calls) == 1
    cached_answers(plan, config, 32, produce)  # another budget is another key
    tuned = Plan("tuned", plan.conversations, None, "adapter")
    cached_answers(tuned, config, 16, produce)
    cached_answers(tuned, config, 16, produce)
    assert len(calls) == 4
