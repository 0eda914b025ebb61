"""The token sequences a run trains on: each example rendered by the chat template, with its loss mask.

This is the one place that turns examples into training tokens. The trainer trains on
exactly these sequences and the pre-flight shows exactly these, so what the expert sees
highlighted is what carries loss. The masking follows TRL's prompt/completion rule: the
prompt is the conversation before the answer rendered with the generation prompt; the
completion is whatever prompt+answer adds after the longest common prefix of the two
(tests/training/test_training_preflight.py checks the result against TRL's own tokenisation).
"""

from __future__ import annotations

from dataclasses import dataclass

from studio.models.prompts import prompt_messages


@dataclass(frozen=True)
class Sequence:
    """One training example as tokens: ids, which of them carry loss, and the length before truncation."""

    input_ids: list[int]
    completion_mask: list[int]
    full_length: int

    @property
    def truncated(self) -> bool:
        return self.full_length > len(self.input_ids)


def conversation_parts(system_prompt: str, messages: list[dict]) -> tuple[list[dict], list[dict]]:
    """(prompt messages, [answer message]): the answer is the example's last assistant turn."""
    last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
    return prompt_messages(system_prompt, messages[:last]), [messages[last]]


def encode_example(tokenizer, system_prompt: str, messages: list[dict], max_length: int) -> Sequence:
    """Render one example with the chat template and mark its answer tokens; keep the first max_length."""
    prompt, answer = conversation_parts(system_prompt, messages)
    prompt_ids = _ids(tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=True))
    full_ids = _ids(tokenizer.apply_chat_template(prompt + answer, tokenize=True))
    start = _common_prefix(prompt_ids, full_ids)
    mask = [0] * start + [1] * (len(full_ids) - start)
    keep = max_length if max_length > 0 else len(full_ids)
    return Sequence(full_ids[:keep], mask[:keep], len(full_ids))


def encode_rows(tokenizer, system_prompt: str, rows: list[dict], max_length: int) -> list[Sequence]:
    return [encode_example(tokenizer, system_prompt, row["messages"], max_length) for row in rows]


def longest_sequence(sequences: list[Sequence]) -> int:
    """Tokens in the longest sequence (after truncation): what sets a batch's peak memory."""
    return max((len(s.input_ids) for s in sequences), default=1)


def _ids(encoded) -> list[int]:
    # transformers 5 returns a BatchEncoding from apply_chat_template(tokenize=True)
    return list(encoded["input_ids"] if hasattr(encoded, "keys") else encoded)


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n
