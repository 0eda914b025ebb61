"""Batched greedy generation with the base model's chat template, and each answer's confidence.

Prompts are sorted by length and generated in left-padded batches with the KV cache;
answers come back in the order the prompts were given.

An answer's confidence is the geometric mean of the probabilities the model gave the tokens
it chose, up to and including the first end-of-sequence token: exp of their mean
log-probability. It is what lets a team route answers (see studio.routing).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class ChosenTokenLogProbs:
    """A logits processor that records, at each step, the log-probability of the greedy choice.

    Passed last to `generate`, it sees the scores greedy decoding takes its argmax of, so the
    maximum of their log-softmax is the log-probability of the token that will be chosen: the
    same number `compute_transition_scores(..., normalize_logits=True)` gives, without keeping
    a vocabulary-wide score tensor for every step (gigabytes for long answers and big vocabularies).
    """

    def __init__(self) -> None:
        self.steps: list = []

    def __call__(self, input_ids, scores):
        self.steps.append(scores.float().log_softmax(dim=-1).max(dim=-1).values)
        return scores

    def stacked(self):
        """The recorded log-probabilities as a (batch, steps) tensor."""
        import torch

        return torch.stack(self.steps, dim=1)


def generate_answers(
    model, tokenizer, conversations: list[list[dict]], max_new_tokens: int, batch_size: int = 16,
    on_batch: Callable[[int, int], None] = lambda done, total: None,
) -> list[dict]:
    """Answer each conversation greedily; return [{"output", "latency_s", "new_tokens", "confidence"}] in order."""
    texts = [tokenizer.apply_chat_template(c, add_generation_prompt=True, tokenize=False) for c in conversations]
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    results: list[dict | None] = [None] * len(texts)
    tokenizer.padding_side = "left"
    model.eval()
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        encoded = tokenizer([texts[i] for i in batch], return_tensors="pt", padding=True, add_special_tokens=False)
        began = time.perf_counter()
        new, log_probs = generate_batch(model, tokenizer, encoded.to(model.device), max_new_tokens)
        seconds = time.perf_counter() - began
        for row, index in enumerate(batch):
            results[index] = _answer(tokenizer, new[row].tolist(), log_probs[row].tolist(), seconds / len(batch))
        on_batch(min(start + batch_size, len(order)), len(order))
    return results


def generate_batch(model, tokenizer, encoded, max_new_tokens: int):
    """Greedily extend one left-padded batch; return its new token ids and their log-probabilities.

    Both come back on the CPU as (batch, steps) tensors; after a row's end-of-sequence token
    its ids are padding and its log-probabilities mean nothing.
    """
    import torch
    from transformers import LogitsProcessorList

    recorder = ChosenTokenLogProbs()
    with torch.inference_mode():
        generated = model.generate(
            **encoded, max_new_tokens=max_new_tokens, do_sample=False, use_cache=True,
            pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
            logits_processor=LogitsProcessorList([recorder]),
        )
    new = generated[:, encoded["input_ids"].shape[1] :]
    return new.cpu(), recorder.stacked().cpu()


def answer_confidence(tokens: list[int], log_probs: list[float], eos_token_id: int) -> float:
    """exp of the mean log-probability of the chosen tokens, through the first end-of-sequence token."""
    kept = tokens.index(eos_token_id) + 1 if eos_token_id in tokens else len(tokens)
    if kept == 0:  # nothing was chosen, so there was nothing to be unsure of
        return 1.0
    return math.exp(sum(log_probs[:kept]) / kept)


def _answer(tokenizer, new: list[int], log_probs: list[float], latency_s: float) -> dict:
    tokens = [t for t in new if t != tokenizer.pad_token_id]
    return {
        "output": tokenizer.decode(tokens, skip_special_tokens=True).strip(),
        "latency_s": latency_s,
        "new_tokens": len(tokens),
        "confidence": answer_confidence(new, log_probs, tokenizer.eos_token_id),
    }
