"""The OpenAI-compatible HTTP server of a run: `studio model serve RUN`.

Standard library only (http.server's ThreadingHTTPServer): one thread per connection
reads and checks the request, a Batcher answers the requests that arrive together in one
batch through studio.serving.engine, and the thread writes the answer back whole or as
server-sent events. Endpoints: GET /v1/models, GET /v1/models/{id}, POST
/v1/chat/completions, and GET /health (no token, says only "ok").

Safe by default: it listens on localhost; on any other address every request but
/health needs `Authorization: Bearer TOKEN` (studio.serving.tokens). Bodies, messages,
prompt tokens and answer tokens are limited (protocol.Limits). Every refusal and every
failure is an OpenAI-shaped JSON error; a traceback goes to the server's log, never to
the client.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import traceback
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from studio.evaluation.routing import RoutingConfig
from studio.serving.batcher import Batcher, Busy
from studio.serving.engine import (
    Retriever,
    ServedRun,
    answer_conversations,
    count_prompt_tokens,
    default_max_tokens,
    load_served_model,
    served_run,
    with_system_prompt,
)
from studio.serving.protocol import (
    ApiError,
    ChatRequest,
    Limits,
    completion,
    model_entry,
    models_list,
    parse_chat_request,
    stream_chunks,
)
from studio.serving.recording import Recorder


@dataclass(frozen=True)
class ServeOptions:
    """How a run is served; every field has a safe default."""

    address: str = "127.0.0.1"
    port: int = 8000
    routing: RoutingConfig = RoutingConfig()
    limits: Limits = Limits()
    token_digest: str | None = None  # required on every request when set
    record: bool = False  # append review/human-band answers to the run's served/recorded.jsonl
    max_batch: int = 64  # requests gathered into one call; generation splits it into the run's evaluation batches
    batch_window_s: float = 0.02
    request_timeout_s: float = 600.0


class Served:
    """Everything a request handler needs: the run, its model behind the batcher, the options."""

    def __init__(self, run: ServedRun, model, tokenizer, options: ServeOptions):
        from studio.models.loading import load_tokenizer

        self.run, self.options, self.created = run, options, int(run.adapter_dir.stat().st_mtime)
        self.default_budget = min(default_max_tokens(run, tokenizer), options.limits.max_new_tokens)
        # The request threads count prompt tokens on their own copy: a fast tokenizer is not
        # safe to share with the batching thread's generation.
        self._counter, self._counter_lock = (
            load_tokenizer(str(run.adapter_dir), run.trust_remote_code),
            threading.Lock(),
        )
        self.recorder = Recorder(run.run_dir, run.run_id, options.record)
        self.retriever = Retriever(run)  # a run trained with retrieved examples is served with them
        self.batcher = Batcher(
            lambda conversations, budget: answer_conversations(
                model, tokenizer, conversations, budget, options.routing, run.batch_size, run.output_spec
            ),
            options.max_batch,
            options.batch_window_s,
        ).start()

    def prompt_tokens(self, conversation: list[dict]) -> int:
        with self._counter_lock:
            return count_prompt_tokens(self._counter, conversation)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FineTuningStudio"
    timeout = 60  # seconds a connection may sit idle or half-sent before its thread gives up on it
    served: Served  # set on the subclass that build_server makes

    def do_GET(self) -> None:
        self._guarded(self._get)

    def do_POST(self) -> None:
        self._guarded(self._post)

    def _refuse_method(self) -> None:
        self._guarded(lambda: _raise(ApiError(405, f"{self.command} is not served here", code="method_not_allowed")))

    do_PUT = do_DELETE = do_PATCH = _refuse_method

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (a malformed request line, an unknown method) as JSON too."""
        self.close_connection = True
        self._send_json(code, ApiError(code, message or self.responses.get(code, ("error",))[0]).body())

    def log_message(self, format: str, *args) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def _guarded(self, action) -> None:
        try:
            if self.path != "/health":
                self._check_token()
            action()
        except ApiError as error:
            self.close_connection = True
            self._send_json(error.status, error.body())
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:  # noqa: BLE001 - the client gets a JSON error, the log gets the traceback
            traceback.print_exc(file=sys.stderr)
            self.close_connection = True
            self._send_json(
                500, ApiError(500, "the server failed to answer; its log says why", kind="server_error").body()
            )

    def _check_token(self) -> None:
        from studio.serving.tokens import token_matches

        digest = self.served.options.token_digest
        if digest and not token_matches(self.headers.get("Authorization"), digest):
            raise ApiError(
                401,
                "this server needs 'Authorization: Bearer TOKEN' (the token `studio model serve` showed)",
                code="invalid_api_key",
                kind="authentication_error",
            )

    def _get(self) -> None:
        name, created = self.served.run.model_name, self.served.created
        if self.path == "/health":
            self._send_json(200, {"status": "ok"})
        elif self.path == "/v1/models":
            self._send_json(200, models_list(name, created))
        elif self.path == f"/v1/models/{name}":
            self._send_json(200, model_entry(name, created))
        elif self.path.startswith("/v1/models/"):
            raise ApiError(
                404,
                f"no model {self.path.removeprefix('/v1/models/')!r}; this server serves {name}",
                code="model_not_found",
            )
        else:
            raise ApiError(
                404, f"nothing at {self.path}; try /v1/models or POST /v1/chat/completions", code="not_found"
            )

    def _post(self) -> None:
        if self.path != "/v1/chat/completions":
            raise ApiError(404, f"nothing to POST at {self.path}; try /v1/chat/completions", code="not_found")
        request = parse_chat_request(self._body(), self.served.options.limits)
        self._answer(request)

    def _body(self) -> bytes:
        limit = self.served.options.limits.max_body_bytes
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise ApiError(411, "send the body with a Content-Length header", code="length_required")
        if int(length) > limit:
            raise ApiError(
                413, f"the body is {int(length)} bytes; at most {limit} per request", code="request_too_large"
            )
        return self.rfile.read(int(length))

    def _answer(self, request: ChatRequest) -> None:
        served, options = self.served, self.served.options
        if request.model != served.run.model_name:
            raise ApiError(
                404,
                f"no model {request.model!r}; this server serves {served.run.model_name}",
                param="model",
                code="model_not_found",
            )
        messages = list(request.messages)
        conversation = with_system_prompt(served.run, messages, served.retriever.shots(messages))
        tokens = served.prompt_tokens(conversation)
        if tokens > options.limits.max_prompt_tokens:
            raise ApiError(
                400,
                f"the prompt is {tokens} tokens; at most {options.limits.max_prompt_tokens} are served",
                param="messages",
                code="context_length_exceeded",
            )
        try:
            future = served.batcher.submit(conversation, request.max_new_tokens or served.default_budget)
        except Busy as error:
            raise ApiError(503, str(error), code="server_busy", kind="server_error") from None
        try:
            answer = future.result(timeout=options.request_timeout_s)
        except FutureTimeout:
            raise ApiError(
                504, f"no answer within {options.request_timeout_s:.0f} s", code="timeout", kind="server_error"
            ) from None
        # recorded without the retrieved examples: a recording becomes a draft example, whose input is the request's
        served.recorder.record(with_system_prompt(served.run, messages), answer)
        if request.stream:
            self._send_stream(stream_chunks(served.run.model_name, answer, options.routing, request.include_usage))
        else:
            self._send_json(200, completion(served.run.model_name, answer, options.routing))

    def _send_json(self, status: int, document: dict) -> None:
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _send_stream(self, chunks: list[dict]) -> None:
        self.close_connection = True  # the stream ends when the connection does: no chunked encoding needed
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        for chunk in chunks:
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


def _raise(error: Exception):
    raise error


def build_server(served: Served) -> ThreadingHTTPServer:
    """An HTTP server bound to the options' address and port (port 0: any free port)."""
    import socket

    handler = type("ServedHandler", (Handler,), {"served": served})
    kind = ThreadingHTTPServer
    if ":" in served.options.address:  # an IPv6 address such as ::1
        kind = type("ServerV6", (ThreadingHTTPServer,), {"address_family": socket.AF_INET6})
    server = kind((served.options.address.strip("[]"), served.options.port), handler)
    server.daemon_threads = True
    return server


def serve_run(run_dir: Path, options: ServeOptions, on_ready=lambda url: None) -> None:
    """Load the run's model and serve it until interrupted (Ctrl+C or SIGTERM)."""
    import signal

    run = served_run(run_dir)
    began = time.perf_counter()
    model, tokenizer = load_served_model(run)
    served = Served(run, model, tokenizer, options)
    server = build_server(served)
    host, port = server.server_address[:2]
    signal.signal(signal.SIGTERM, lambda signum, frame: threading.Thread(target=server.shutdown, daemon=True).start())
    print(f"model loaded in {time.perf_counter() - began:.1f} s", file=sys.stderr)
    on_ready(f"http://{_url_host(str(host))}:{port}/v1")
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        served.batcher.stop()


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
