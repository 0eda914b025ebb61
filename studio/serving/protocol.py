"""The OpenAI chat completions protocol: requests read and checked, responses and errors written.

A request becomes a frozen ChatRequest or an ApiError naming the field and the reason;
the server turns an ApiError into OpenAI's error shape ({"error": {"message", "type",
"param", "code"}}) with its HTTP status. Answers are greedy, as they were at evaluation:
`temperature`, `top_p` and `seed` are accepted and have no effect, and `n` must be 1.

Each choice carries one extra field, `routing`: {"confidence", "band", "high", "low"}.
Standard clients keep unknown fields (the openai package exposes it as
`choice.model_extra["routing"]`), so nothing breaks for a client that ignores it.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from studio.evaluation.routing import RoutingConfig
from studio.jsonl import NotJson, load_json
from studio.serving.engine import Answer

ROLES = ("system", "user", "assistant", "developer")


class ApiError(Exception):
    """A request the server refuses; `status` is the HTTP status, the rest OpenAI's error fields."""

    def __init__(
        self,
        status: int,
        message: str,
        param: str | None = None,
        code: str | None = None,
        kind: str = "invalid_request_error",
    ):
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.kind = status, message, param, code, kind

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}


@dataclass(frozen=True)
class Limits:
    """What one request may ask of the server."""

    max_body_bytes: int = 256 * 1024
    max_messages: int = 64
    max_prompt_tokens: int = 2048
    max_new_tokens: int = 1024


@dataclass(frozen=True)
class ChatRequest:
    model: str
    messages: tuple[dict, ...]
    max_new_tokens: int | None  # None: the run's evaluation budget
    stream: bool
    include_usage: bool


def parse_chat_request(raw: bytes, limits: Limits) -> ChatRequest:
    """Read a /v1/chat/completions body, or raise ApiError saying what is wrong with it."""
    try:
        body = load_json(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise ApiError(400, f"the request body is not UTF-8 text ({error.reason} at byte {error.start})") from None
    except NotJson as error:
        raise ApiError(400, f"the request body is {error}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise ApiError(400, "'model' is required: the name /v1/models lists", param="model")
    if body.get("n", 1) != 1:
        raise ApiError(400, "only n=1 is served: answers are greedy, so every choice would be the same", param="n")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise ApiError(400, "'stream' must be true or false", param="stream")
    options = body.get("stream_options") or {}
    return ChatRequest(
        model=model,
        messages=tuple(_messages(body.get("messages"), limits)),
        max_new_tokens=_budget(body, limits),
        stream=stream,
        include_usage=bool(isinstance(options, dict) and options.get("include_usage")),
    )


def _messages(messages, limits: Limits) -> list[dict]:
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "'messages' must be a non-empty list of {role, content}", param="messages")
    if len(messages) > limits.max_messages:
        raise ApiError(400, f"{len(messages)} messages; at most {limits.max_messages} per request", param="messages")
    read = [_message(message, number) for number, message in enumerate(messages)]
    if read[-1]["role"] != "user":
        raise ApiError(400, "the last message must be the user's: the model answers it", param="messages")
    return read


def _message(message, number: int) -> dict:
    where = f"messages[{number}]"
    if not isinstance(message, dict):
        raise ApiError(400, f"{where} must be an object with a role and content", param=where)
    role, content = message.get("role"), message.get("content")
    if role not in ROLES:
        raise ApiError(400, f"{where}.role must be one of {', '.join(ROLES)}, not {role!r}", param=f"{where}.role")
    if isinstance(content, list):  # content parts: only text is understood
        if not all(isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str) for p in content):
            raise ApiError(400, f"{where}.content: only text parts are served", param=f"{where}.content")
        content = "".join(p["text"] for p in content)
    if not isinstance(content, str):
        raise ApiError(400, f"{where}.content must be text", param=f"{where}.content")
    return {"role": "system" if role == "developer" else role, "content": content}


def _budget(body: dict, limits: Limits) -> int | None:
    name = "max_completion_tokens" if body.get("max_completion_tokens") is not None else "max_tokens"
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ApiError(400, f"'{name}' must be a positive whole number", param=name)
    if value > limits.max_new_tokens:
        raise ApiError(
            400, f"'{name}' is {value}; this server answers with at most {limits.max_new_tokens} tokens", param=name
        )
    return value


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def routing_field(answer: Answer, routing: RoutingConfig) -> dict:
    return {"confidence": round(answer.confidence, 6), "band": answer.band, "high": routing.high, "low": routing.low}


def completion(model: str, answer: Answer, routing: RoutingConfig) -> dict:
    """A whole chat.completion object for one answer."""
    return {
        "id": completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer.text},
                "finish_reason": answer.finish_reason,
                "logprobs": None,
                "routing": routing_field(answer, routing),
            }
        ],
        "usage": usage(answer),
    }


def usage(answer: Answer) -> dict:
    return {
        "prompt_tokens": answer.prompt_tokens,
        "completion_tokens": answer.completion_tokens,
        "total_tokens": answer.prompt_tokens + answer.completion_tokens,
    }


def stream_chunks(
    model: str, answer: Answer, routing: RoutingConfig, include_usage: bool, piece_chars: int = 24
) -> list[dict]:
    """The chat.completion.chunk objects of a streamed answer: role, text in pieces, then the finish.

    The answer is generated in a batch before it streams (batched generation has no
    per-request token stream), so the pieces arrive together; clients see the standard shape.
    """
    ident, created = completion_id(), int(time.time())

    def chunk(delta: dict, finish: str | None = None, **extra) -> dict:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None, **extra}
        return {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model, "choices": [choice]}

    text = answer.text
    chunks = [chunk({"role": "assistant", "content": ""})]
    chunks += [chunk({"content": text[i : i + piece_chars]}) for i in range(0, len(text), piece_chars)]
    chunks.append(chunk({}, answer.finish_reason, routing=routing_field(answer, routing)))
    if include_usage:
        chunks.append(
            {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [],
                "usage": usage(answer),
            }
        )
    return chunks


def models_list(model: str, created: int) -> dict:
    return {"object": "list", "data": [model_entry(model, created)]}


def model_entry(model: str, created: int) -> dict:
    return {"id": model, "object": "model", "created": created, "owned_by": "fine-tuning-studio"}
