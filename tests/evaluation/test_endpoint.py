"""The endpoint baseline against a real local HTTP server: the one network boundary we mock.

The server speaks the OpenAI chat-completions shape: it answers with the last user
message upper-cased, demands `Bearer test-key`, and fails on purpose under /broken.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from studio.evaluation.endpoint import EndpointConfig, EndpointError, answer_with_endpoint

KEY = "test-key"


class ChatHandler(BaseHTTPRequestHandler):
    seen: list[dict] = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.seen.append({"path": self.path, "authorization": self.headers.get("Authorization"), "body": body})
        if self.path == "/broken/v1/chat/completions":
            return self._reply(500, {"error": {"message": "the model fell over"}})
        if self.path != "/v1/chat/completions":
            return self._reply(404, {"error": {"message": "no such route"}})
        if self.headers.get("Authorization") != f"Bearer {KEY}":
            return self._reply(401, {"error": {"message": "invalid api key"}})
        self._reply(200, completion(body))

    def _reply(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def completion(body: dict) -> dict:
    """A deterministic answer: the last user message upper-cased, one token per word."""
    last = next(m["content"] for m in reversed(body["messages"]) if m["role"] == "user")
    words = last.upper().split()[: body["max_tokens"]]
    choice = {"index": 0, "message": {"role": "assistant", "content": " ".join(words)}, "finish_reason": "stop"}
    if body["model"] == "with-logprobs":
        choice["logprobs"] = {"content": [{"token": w, "logprob": math.log(0.5)} for w in words]}
    if body["model"] == "json-with-logprobs":
        pieces = [('{"category": ', 1.0), ('"billing"', 0.6), (', "note": "call back"}', 0.2)]
        choice["message"]["content"] = "".join(text for text, _ in pieces)
        choice["logprobs"] = {"content": [{"token": text, "logprob": math.log(p)} for text, p in pieces]}
    return {"choices": [choice], "usage": {"prompt_tokens": 7, "completion_tokens": len(words)}}


@contextmanager
def chat_server() -> Iterator[str]:
    """A chat-completions server on a free local port; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), ChatHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def server(monkeypatch) -> Iterator[str]:
    monkeypatch.setenv("STUDIO_TEST_KEY", KEY)
    ChatHandler.seen = []
    with chat_server() as url:
        yield url


def config(url: str, **overrides) -> EndpointConfig:
    return EndpointConfig(**{"url": f"{url}/v1", "model": "big-model", "api_key_env": "STUDIO_TEST_KEY", **overrides})


CONVERSATIONS = [
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "printer jammed"}],
    [
        {"role": "user", "content": "ignored"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "refund please now"},
    ],
]


def test_answers_come_back_in_order_with_the_generation_keys(server):
    progress = []
    answers = answer_with_endpoint(
        config(server), CONVERSATIONS, 16, lambda done, total: progress.append((done, total))
    )
    assert [a["output"] for a in answers] == ["PRINTER JAMMED", "REFUND PLEASE NOW"]
    assert [a["new_tokens"] for a in answers] == [2, 3]
    assert all(a["latency_s"] > 0 and a["confidence"] is None for a in answers)
    assert set(answers[0]) == {"output", "latency_s", "new_tokens", "confidence"}
    assert progress == [(1, 2), (2, 2)]


def test_the_request_is_greedy_chat_completions_with_the_key_from_the_environment(server):
    answer_with_endpoint(config(server + "/"), CONVERSATIONS[:1], 5)
    [request] = ChatHandler.seen
    assert request["path"] == "/v1/chat/completions"
    assert request["authorization"] == f"Bearer {KEY}"
    assert request["body"] == {"model": "big-model", "messages": CONVERSATIONS[0], "max_tokens": 5, "temperature": 0}


def test_logprobs_become_a_confidence(server):
    [answer] = answer_with_endpoint(config(server, model="with-logprobs"), CONVERSATIONS[:1], 16)
    assert answer["confidence"] == pytest.approx(0.5)


def test_a_json_answers_confidence_is_its_decisions_probability_as_for_local_models(server):
    schema = {"properties": {"category": {"enum": ["billing", "technical"]}, "note": {"type": "string"}}}
    [answer] = answer_with_endpoint(config(server, model="json-with-logprobs"), CONVERSATIONS[:1], 16, schema=schema)
    assert answer["output"] == '{"category": "billing", "note": "call back"}'
    assert answer["confidence"] == pytest.approx(0.6)  # the category's value; the free-text note does not count
    [plain] = answer_with_endpoint(config(server, model="json-with-logprobs"), CONVERSATIONS[:1], 16)
    assert plain["confidence"] == pytest.approx((0.6 * 0.2) ** (1 / 3))  # no schema: the geometric mean


def test_a_wrong_key_names_the_url_the_status_and_the_variable(server, monkeypatch):
    monkeypatch.setenv("STUDIO_TEST_KEY", "wrong")
    with pytest.raises(EndpointError, match=r"127\.0\.0\.1:\d+/v1/chat/completions answered HTTP 401.*STUDIO_TEST_KEY"):
        answer_with_endpoint(config(server), CONVERSATIONS, 16)


def test_a_missing_key_sends_no_authorization_and_says_so(server, monkeypatch):
    monkeypatch.delenv("STUDIO_TEST_KEY")
    with pytest.raises(EndpointError, match="HTTP 401.*no key was sent: set the environment variable STUDIO_TEST_KEY"):
        answer_with_endpoint(config(server), CONVERSATIONS, 16)
    assert ChatHandler.seen[0]["authorization"] is None


def test_a_server_error_names_the_url_and_the_status(server):
    with pytest.raises(EndpointError, match=r"/broken/v1/chat/completions answered HTTP 500.*fell over"):
        answer_with_endpoint(config(server + "/broken"), CONVERSATIONS, 16)


def test_an_unreachable_endpoint_names_the_url(server):
    with chat_server() as gone:
        pass  # closed again: nothing listens on this port now
    with pytest.raises(EndpointError, match=rf"{gone}/v1/chat/completions could not be reached"):
        answer_with_endpoint(config(gone, timeout_s=5), CONVERSATIONS, 16)


def test_the_config_reads_a_run_configs_endpoint_and_ignores_unknown_keys():
    settings = {"url": "http://x/v1", "model": "m", "api_key_env": "K", "comment": "from the UI"}
    assert EndpointConfig.from_dict(settings) == EndpointConfig("http://x/v1", "m", "K")
