"""An optional baseline answered by any OpenAI-compatible chat-completions endpoint.

It lets a team set its small tuned model against a large prompted one (a hosted API, or
vLLM / Ollama / llama.cpp on another machine) on the same held-out set. The API key is
read from an environment variable named in the config at call time, so it never lands in
a run folder. Standard library only: the worker stays light and needs no SDK.
"""

from __future__ import annotations

import json
import math
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate

from studio.models.constrained import spelt_decisions


@dataclass(frozen=True)
class EndpointConfig:
    url: str  # base URL up to the API version, e.g. https://api.openai.com/v1; /chat/completions is appended
    model: str  # the model name the endpoint serves, e.g. gpt-4o-mini
    api_key_env: str = "OPENAI_API_KEY"  # environment variable holding the key; unset or empty sends no key
    timeout_s: float = 60  # seconds to wait for one answer before giving up

    @classmethod
    def from_dict(cls, settings: dict) -> EndpointConfig:
        """From a run config's eval.endpoint, ignoring keys this version does not know."""
        known = {name: settings[name] for name in ("url", "model", "api_key_env", "timeout_s") if name in settings}
        return cls(**known)

    @property
    def completions_url(self) -> str:
        return self.url.rstrip("/") + "/chat/completions"


class EndpointError(RuntimeError):
    """An endpoint that did not answer; the message names the URL and the HTTP status."""


def answer_with_endpoint(
    config: EndpointConfig,
    conversations: list[list[dict]],
    max_new_tokens: int,
    on_batch: Callable[[int, int], None] = lambda done, total: None,
    schema: dict | None = None,
) -> list[dict]:
    """Answer each conversation greedily; [{"output", "latency_s", "new_tokens", "confidence"}] in order.

    With a JSON `schema`, the confidence is measured as the local models measure it (studio.models.constrained).
    """
    answers = []
    for done, messages in enumerate(conversations, start=1):
        began = time.perf_counter()
        response = _post(
            config, {"model": config.model, "messages": messages, "max_tokens": max_new_tokens, "temperature": 0}
        )
        answers.append(_answer(config, response, time.perf_counter() - began, schema))
        on_batch(done, len(conversations))
    return answers


def _post(config: EndpointConfig, payload: dict) -> dict:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    key = os.environ.get(config.api_key_env, "")
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(
        config.completions_url, data=json.dumps(payload).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=config.timeout_s) as reply:
            return json.loads(reply.read())
    except urllib.error.HTTPError as error:
        raise EndpointError(_http_failure(config, error, bool(key))) from error
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise EndpointError(f"{config.completions_url} could not be reached: {reason}") from error
    except json.JSONDecodeError as error:
        raise EndpointError(f"{config.completions_url} answered with something that is not JSON: {error}") from error


def _http_failure(config: EndpointConfig, error: urllib.error.HTTPError, sent_key: bool) -> str:
    body = error.read().decode("utf-8", "replace")[:300].strip()
    message = f"{config.completions_url} answered HTTP {error.code} {error.reason}"
    if error.code in (401, 403):
        hint = "check the key in" if sent_key else "no key was sent: set"
        message += f" ({hint} the environment variable {config.api_key_env})"
    return f"{message}: {body}" if body else message


def _answer(config: EndpointConfig, response: dict, seconds: float, schema: dict | None = None) -> dict:
    try:
        choice = response["choices"][0]
        output = choice["message"]["content"] or ""
    except (KeyError, IndexError, TypeError) as error:
        raise EndpointError(f"{config.completions_url} answered without choices[0].message.content") from error
    usage = response.get("usage") or {}
    return {
        "output": output.strip(),
        "latency_s": seconds,
        "new_tokens": int(usage.get("completion_tokens") or 0),
        "confidence": _confidence(choice.get("logprobs"), schema),
    }


def _confidence(logprobs: dict | None, schema: dict | None = None) -> float | None:
    """When the endpoint sent token log-probabilities: with a JSON schema, the joint probability of the answer's
    enum and boolean values (studio.models.constrained.spelt_decisions); otherwise, or when it spells none, the
    geometric mean of the answer's token probabilities."""
    tokens = (logprobs or {}).get("content") or []
    scored = [t for t in tokens if isinstance(t, dict) and isinstance(t.get("logprob"), (int, float))]
    if not scored:
        return None
    values = [t["logprob"] for t in scored]
    if schema is not None:
        texts = [str(t.get("token", "")) for t in scored]
        decisions = spelt_decisions("".join(texts), list(accumulate(map(len, texts))), values, schema)
        if decisions is not None:
            return decisions
    return math.exp(sum(values) / len(values))
