"""The serving pieces that need no model: the protocol, bands, tokens, the batcher and the commands."""

from __future__ import annotations

import json
import shlex
import threading
import time

import pytest

from studio.evaluation.routing import RoutingConfig
from studio.serving.batcher import Batcher, Busy
from studio.serving.commands import VLLM_LORA_RANKS, ollama_modelfile, vllm_lora_command, vllm_merged_command
from studio.serving.engine import Answer, band_of, model_name
from studio.serving.protocol import ApiError, Limits, completion, parse_chat_request, stream_chunks
from studio.serving.tokens import is_loopback, token_matches

USER = [{"role": "user", "content": "hello"}]


def body(**fields) -> bytes:
    return json.dumps({"model": "m", "messages": USER, **fields}).encode()


def test_a_chat_request_is_read_with_its_budget_and_stream_options():
    request = parse_chat_request(
        body(max_completion_tokens=12, stream=True, stream_options={"include_usage": True}, temperature=0.7), Limits()
    )
    assert request.max_new_tokens == 12 and request.stream and request.include_usage
    parts = [
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "hi"}]},
    ]
    assert parse_chat_request(body(messages=parts), Limits()).messages == (
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
    )


@pytest.mark.parametrize(
    "raw, words",
    [
        (b"", "not valid JSON"),
        (b"[1]", "JSON object"),
        (json.dumps({"messages": USER}).encode(), "'model'"),
        (body(messages=[]), "non-empty"),
        (body(messages=[{"role": "user"}]), "must be text"),
        (body(messages=[{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]), "last message"),
        (body(messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]), "only text"),
        (body(max_tokens=0), "positive"),
        (body(max_tokens=True), "positive"),
        (body(max_tokens=5000), "at most 1024"),
        (body(n=2), "n=1"),
        (body(stream="yes"), "true or false"),
        (body(messages=USER * 65), "at most 64"),
        (b"[" * 50_000, "nested too deeply"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_a_bad_request_is_refused_with_a_reason(raw, words):
    with pytest.raises(ApiError) as refused:
        parse_chat_request(raw, Limits())
    assert refused.value.status == 400 and words in refused.value.message
    assert set(refused.value.body()["error"]) == {"message", "type", "param", "code"}


def test_bands_follow_the_routing_thresholds_inclusive_at_the_bottom_of_each_band():
    routing = RoutingConfig(0.9, 0.7)
    assert [band_of(c, routing) for c in (0.95, 0.9, 0.89, 0.7, 0.69, 0.0)] == [
        "auto",
        "auto",
        "review",
        "review",
        "human",
        "human",
    ]
    assert band_of(0.5, RoutingConfig(0.6, 0.4)) == "review"


def test_a_completion_and_its_stream_carry_the_answer_usage_and_routing():
    answer = Answer("a" * 50, 0.8, "review", 10, 7, "stop")
    whole = completion("m", answer, RoutingConfig())
    assert whole["choices"][0]["message"]["content"] == "a" * 50
    assert whole["choices"][0]["routing"] == {"confidence": 0.8, "band": "review", "high": 0.9, "low": 0.7}
    assert whole["usage"] == {"prompt_tokens": 10, "completion_tokens": 7, "total_tokens": 17}
    chunks = stream_chunks("m", answer, RoutingConfig(), include_usage=True)
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"]) == "a" * 50
    assert chunks[-2]["choices"][0]["routing"]["band"] == "review" and chunks[-1]["usage"]["total_tokens"] == 17


def test_model_names_are_safe_in_urls_and_commands():
    assert model_name("Support Tickets (EU)!", "20261126-1400-ab12") == "support-tickets-eu-20261126-1400-ab12"


def test_only_loopback_addresses_count_as_local_and_a_token_must_match_exactly():
    assert all(is_loopback(a) for a in ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"))
    assert not any(is_loopback(a) for a in ("0.0.0.0", "::", "192.168.1.5", "example.org"))
    import hashlib

    digest = hashlib.sha256(b"sk-good").hexdigest()
    assert token_matches("Bearer sk-good", digest) and token_matches("bearer  sk-good ", digest)
    assert not any(token_matches(h, digest) for h in (None, "", "Bearer", "Bearer sk-bad", "Basic sk-good", "sk-good"))


def test_a_new_token_is_shown_once_and_only_its_hash_kept(home):
    from studio.serving.tokens import create_token, stored_digest, token_file

    token = create_token()
    assert token not in token_file().read_text() and token_matches(f"Bearer {token}", stored_digest())
    assert oct(token_file().stat().st_mode & 0o777) == "0o600"
    assert not token_matches(f"Bearer {token}", (create_token(), stored_digest())[1])  # replaced


def test_requests_arriving_together_are_answered_in_one_batch_grouped_by_budget():
    calls: list[tuple[int, int]] = []
    gate = threading.Event()

    def answer_many(conversations, budget):
        gate.wait(5)  # hold the first batch so the rest queue up behind it
        calls.append((len(conversations), budget))
        return [Answer(c[-1]["content"], 1.0, "auto", 1, 1, "stop") for c in conversations]

    batcher = Batcher(answer_many, max_batch=8, window_s=0.05).start()
    first = batcher.submit([{"role": "user", "content": "first"}], 5)
    time.sleep(0.2)  # the first batch is now being answered, alone
    futures = [batcher.submit([{"role": "user", "content": str(n)}], 5 if n % 3 else 9) for n in range(10)]
    gate.set()
    assert first.result(5).text == "first"
    assert [f.result(5).text for f in futures] == [str(n) for n in range(10)]
    batcher.stop()
    assert calls[0] == (1, 5)
    assert sum(size for size, _ in calls[1:]) == 10 and len(calls) <= 5  # 8 then 2, each split by budget
    assert {budget for _, budget in calls[1:]} == {5, 9}


def test_a_failing_batch_fails_its_requests_and_the_batcher_lives_on():
    def answer_many(conversations, budget):
        if conversations[0][-1]["content"] == "boom":
            raise RuntimeError("model exploded")
        return [Answer("ok", 1.0, "auto", 1, 1, "stop") for _ in conversations]

    batcher = Batcher(answer_many, window_s=0.0).start()
    with pytest.raises(RuntimeError, match="exploded"):
        batcher.submit([{"role": "user", "content": "boom"}], 4).result(5)
    assert batcher.submit([{"role": "user", "content": "fine"}], 4).result(5).text == "ok"
    batcher.stop()


def test_a_full_queue_refuses_at_once():
    gate = threading.Event()
    batcher = Batcher(
        lambda cs, b: gate.wait(5) and [Answer("", 1, "auto", 0, 0, "stop")] * len(cs),
        max_batch=1,
        window_s=0.0,
        max_waiting=2,
    ).start()
    futures = [batcher.submit(USER, 1)]
    time.sleep(0.1)
    futures += [batcher.submit(USER, 1), batcher.submit(USER, 1)]
    with pytest.raises(Busy, match="2 requests are already waiting"):
        batcher.submit(USER, 1)
    gate.set()
    assert all(f.result(5) for f in futures)
    batcher.stop()


def test_the_vllm_commands_are_well_formed(tmp_path):
    adapter = tmp_path / "run dir" / "adapter"
    words = shlex.split(vllm_lora_command("/models/Smol LM", "demo-run", adapter, rank=12, port=9000))
    assert words[:3] == ["vllm", "serve", "/models/Smol LM"]
    options = (
        dict(zip(words[3::2], words[4::2])) if words[3] != "--enable-lora" else dict(zip(words[4::2], words[5::2]))
    )
    assert words[3] == "--enable-lora"
    assert options["--lora-modules"] == f"demo-run={adapter}" and options["--port"] == "9000"
    assert int(options["--max-lora-rank"]) == 16 and 16 in VLLM_LORA_RANKS
    merged = shlex.split(vllm_merged_command(tmp_path / "m", "demo-run"))
    assert (
        merged[:3] == ["vllm", "serve", str(tmp_path / "m")]
        and merged[merged.index("--served-model-name") + 1] == "demo-run"
    )
    try:  # where vLLM is installed, its own parser must accept the command
        from vllm.entrypoints.openai.cli_args import make_arg_parser
        from vllm.utils import FlexibleArgumentParser
    except ImportError:
        return
    make_arg_parser(FlexibleArgumentParser()).parse_args(words[2:])


def test_the_ollama_modelfile_is_greedy_with_the_task_and_a_chatml_template():
    text = ollama_modelfile(".", 'Label it. Say """only""" the label.', "{{ '<|im_start|>' }}", "<|im_end|>", 40)
    lines = text.splitlines()
    assert lines[0] == "FROM ." and lines[1].startswith('TEMPLATE """') and "<|im_start|>assistant" in text
    assert (
        "PARAMETER temperature 0" in lines
        and "PARAMETER num_predict 40" in lines
        and 'PARAMETER stop "<|im_end|>"' in lines
    )
    assert text.count('"""') == 4  # the system prompt's own triple quotes cannot end its block early
    adapter = ollama_modelfile("/models/base", "", None, None, 10, adapter=".").splitlines()
    assert adapter[:2] == ["FROM /models/base", "ADAPTER ."] and not any(
        line.startswith(("TEMPLATE", "SYSTEM")) for line in adapter
    )


def test_serve_help_shows_the_vllm_command():
    from studio.cli.main import build_parser

    parser = build_parser()
    model = next(a for a in parser._subparsers._group_actions).choices["model"]
    serve = next(a for a in model._subparsers._group_actions).choices["serve"]
    assert "vllm serve BASE_MODEL --enable-lora --lora-modules NAME=RUN_DIR/adapter" in serve.format_help()


def test_a_recorded_answer_becomes_one_draft_however_often_it_is_taken(db, demo):
    """Check and insert in one transaction: a second click (or a second session) gets the same draft back."""
    from studio.dataset.examples import list_examples
    from studio.serving.drafts import draft_from_recorded, waiting_answers
    from studio.serving.recording import Recorded

    recorded = Recorded("rec-1", "run-1", 0.0, [{"role": "user", "content": "My NAS-200 reboots"}], "{}", 0.4, "human")
    first = draft_from_recorded(db, demo, recorded, "admin")
    assert draft_from_recorded(db, demo, recorded, "admin") == first
    drafts = [e for e in list_examples(db, demo) if e["external_id"] == "rec-1"]
    assert [(e["id"], e["status"], e["source"]) for e in drafts] == [(first, "draft", "served")]
    assert drafts[0]["messages"][-1] == {"role": "assistant", "content": "{}"}
    assert waiting_answers(db, demo, []) == []
