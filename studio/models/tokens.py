"""Counting an example's tokens as the base model sees it: its chat template rendered.

The editor shows the count against the model's context length and the training
sequence length, so an expert sees before saving that an example would be truncated.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from studio.models.loading import ModelUnavailable, load_tokenizer, resolve_model
from studio.training.trainer import TrainConfig


@dataclass(frozen=True)
class TokenCount:
    tokens: int
    context_length: int | None  # what the base model can read at all
    training_length: int  # where training truncates (TrainConfig.max_length)

    def verdict(self) -> str:
        if self.context_length and self.tokens > self.context_length:
            return f"{self.tokens} tokens: longer than the model's context of {self.context_length}"
        if self.tokens > self.training_length:
            return f"{self.tokens} tokens: training truncates at {self.training_length}"
        return f"{self.tokens} tokens of {self.context_length or '?'} context · training reads up to {self.training_length}"


def count_tokens(base_model: str, messages: list[dict], system_prompt: str = "") -> TokenCount:
    """Tokens of the rendered example (with the project's system prompt when it has none)."""
    path = resolve_model(base_model)
    if system_prompt and not any(m["role"] == "system" for m in messages):
        messages = [{"role": "system", "content": system_prompt}, *messages]
    return TokenCount(_render_length(path, json.dumps(messages)), _context_length(path), TrainConfig().max_length)


def _tokenizer(path: str):
    """The tokenizer, loaded once in a worker thread of its own: the first load imports
    transformers (seconds), and a Streamlit rerun that interrupts a page mid-import would
    leave transformers half-imported for the whole server."""
    with _lock:
        future = _loading.get(path)
        if future is None:
            future = _loading[path] = Future()
            threading.Thread(target=_load_into, args=(future, path), name="tokenizer-loader", daemon=True).start()
    try:
        return future.result()
    except Exception:
        with _lock:
            _loading.pop(path, None)
        raise


def _load_into(future: Future, path: str) -> None:
    try:
        future.set_result(load_tokenizer(path))
    except Exception as error:  # handed to whoever waits on the future
        future.set_exception(error)


_lock = threading.Lock()
_loading: dict[str, Future] = {}


@lru_cache(maxsize=256)
def _render_length(path: str, messages_json: str) -> int:
    ids = _tokenizer(path).apply_chat_template(json.loads(messages_json), tokenize=True)
    return len(ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "keys") else ids)


@lru_cache(maxsize=4)
def _context_length(path: str) -> int | None:
    config = Path(path) / "config.json"
    if not config.exists():
        return None
    return json.loads(config.read_text()).get("max_position_embeddings")


__all__ = ["TokenCount", "count_tokens", "ModelUnavailable"]
