"""Chat messages of one example: its input, its answer, and edits to its last turn.

An example's messages are chat messages (system, user, assistant); the input is every
user message before the last assistant message, and the answer is that last message.
Pure functions, safe for the training worker to import.
"""

from __future__ import annotations


def input_text(messages: list[dict]) -> str:
    """The input of an example: the user turns before its last answer, joined."""
    cut = _last_assistant_index(messages)
    return "\n".join(m["content"] for m in messages[:cut] if m["role"] == "user")


def answer_text(messages: list[dict]) -> str:
    """The answer of an example: its last assistant message ('' when it has none)."""
    cut = _last_assistant_index(messages)
    return messages[cut]["content"] if cut < len(messages) else ""


def normalise(text: str) -> str:
    """Lower case with runs of whitespace collapsed: how inputs are compared."""
    return " ".join(text.lower().split())


def _last_assistant_index(messages: list[dict]) -> int:
    for index in range(len(messages) - 1, -1, -1):
        if messages[index]["role"] == "assistant":
            return index
    return len(messages)


def single_turn(user: str, answer: str) -> list[dict]:
    return [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]


def last_user_text(messages: list[dict]) -> str:
    """The user message the answer replies to."""
    cut = _last_assistant_index(messages)
    return next((m["content"] for m in reversed(messages[:cut]) if m["role"] == "user"), "")


def with_last_turn(messages: list[dict], user: str, answer: str) -> list[dict]:
    """A copy of `messages` whose last user message and answer are replaced; earlier turns are kept."""
    cut = _last_assistant_index(messages)
    head = list(messages[:cut])
    last_user = max((i for i, m in enumerate(head) if m["role"] == "user"), default=None)
    if last_user is None:
        return head + single_turn(user, answer)
    head[last_user] = {"role": "user", "content": user}
    return head + [{"role": "assistant", "content": answer}] + list(messages[cut + 1 :])
