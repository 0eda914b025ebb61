"""Batched greedy generation with the base model's chat template, and each answer's confidence.

Prompts are sorted by length and generated in left-padded batches with the KV cache;
answers come back in the order the prompts were given.

Prompts usually open with the same tokens: the chat template's system block with the
project's task description, often most of each prompt. When every prompt of a call
shares at least MIN_SHARED_PREFIX such tokens, the model reads them once, and each batch
starts from a copy of that KV cache, so only each prompt's own suffix is prefilled. On a
CPU, where prefill is compute-bound and batching does not speed it up, that is most of
the work of answering short prompts (docs/benchmarks.md).

An answer's confidence is the geometric mean of the probabilities the model gave the tokens
it chose, up to and including the first end-of-sequence token: exp of their mean
log-probability. A JSON answer decoded under a schema with enum or boolean fields takes
instead the joint probability of those fields' values (studio.models.constrained.
decision_confidence), where the uncertainty of a structured answer sits. It is what lets a
team route answers (see studio.evaluation.routing).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable

from studio.models.constrained import decision_confidence, json_schema_processor, schema_of

# A shorter common start (a chat template's opening tokens, say) saves too little to be
# worth a forward pass of its own and a copy of its cache for every batch.
MIN_SHARED_PREFIX = 32


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
    model,
    tokenizer,
    conversations: list[list[dict]],
    max_new_tokens: int,
    batch_size: int = 16,
    on_batch: Callable[[int, int], None] = lambda done, total: None,
    reuse_prefix: bool = True,
    schema: dict | None = None,
) -> list[dict]:
    """Answer each conversation greedily; return [{"output", "latency_s", "new_tokens", "confidence"}] in order.

    With a JSON `schema`, decoding is constrained to it (studio.models.constrained).

    With reuse_prefix, a prefix that all the prompts share is read once for the whole call
    (see the module docstring); False gives plain generation of every prompt in full.
    """
    prompts = prompt_token_ids(tokenizer, conversations)
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    results: list[dict | None] = [None] * len(prompts)
    model.eval()
    began = time.perf_counter()
    prefix = shared_prefix(prompts) if reuse_prefix else []
    prefix_cache = encode_prefix(model, prefix) if prefix else None
    # Every answer was generated from the prefix, so each bears an equal share of reading it.
    prefix_share = (time.perf_counter() - began) / max(len(prompts), 1)
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        began = time.perf_counter()
        encoded = left_padded(tokenizer, prefix, [prompts[i][len(prefix) :] for i in batch], model.device)
        new, log_probs = generate_batch(
            model, tokenizer, encoded, max_new_tokens, expanded(prefix_cache, len(batch)), schema
        )
        latency = (time.perf_counter() - began) / len(batch) + prefix_share
        for row, index in enumerate(batch):
            results[index] = _answer(tokenizer, new[row].tolist(), log_probs[row].tolist(), latency, schema)
        on_batch(min(start + batch_size, len(order)), len(order))
    return results


def prompt_token_ids(tokenizer, conversations: list[list[dict]]) -> list[list[int]]:
    """Each conversation through the chat template, ready for the answer, as token ids."""
    texts = [tokenizer.apply_chat_template(c, add_generation_prompt=True, tokenize=False) for c in conversations]
    return tokenizer(texts, add_special_tokens=False)["input_ids"] if texts else []


def shared_prefix(prompts: list[list[int]]) -> list[int]:
    """The token ids that every prompt starts with, if at least MIN_SHARED_PREFIX of them; else [].

    It stops one token short of the shortest prompt: generation needs the logits of each
    prompt's last token, so every prompt keeps a suffix to prefill. A single prompt shares
    nothing: reading its prefix apart would save no work.
    """
    if len(prompts) < 2:
        return []
    first, limit = prompts[0], min(len(p) for p in prompts) - 1
    length = 0
    while length < limit and all(p[length] == first[length] for p in prompts):
        length += 1
    return first[:length] if length >= MIN_SHARED_PREFIX else []


def encode_prefix(model, prefix: list[int]):
    """The KV cache (a transformers DynamicCache) of the model having read `prefix`, for one row."""
    import torch

    # Only the cache is wanted: skip projecting every prefix position onto the vocabulary.
    supports = getattr(model, "_supports_logits_to_keep", lambda: False)()
    with torch.inference_mode():
        out = model(
            input_ids=torch.tensor([prefix], device=model.device),
            use_cache=True,
            **({"logits_to_keep": 1} if supports else {}),
        )
    return out.past_key_values


def expanded(prefix_cache, rows: int):
    """A copy of the prefix's cache repeated for a batch of `rows`, or None without a prefix.

    A copy, because generate appends each batch's tokens to the cache it is given.
    """
    if prefix_cache is None:
        return None
    cache = copy.deepcopy(prefix_cache)
    cache.batch_repeat_interleave(rows)
    return cache


def left_padded(tokenizer, prefix: list[int], suffixes: list[list[int]], device) -> dict:
    """One batch as input ids [prefix][padding][suffix], with an attention mask that hides the padding.

    Without a prefix this is ordinary left padding. With one, generate reads only the
    tokens past the cached prefix, and the position ids it counts from the mask give each
    suffix token the position it has in its whole prompt, as plain left padding would.
    """
    import torch

    width = max(len(s) for s in suffixes)
    ids = [prefix + [tokenizer.pad_token_id] * (width - len(s)) + s for s in suffixes]
    mask = [[1] * len(prefix) + [0] * (width - len(s)) + [1] * len(s) for s in suffixes]
    return {"input_ids": torch.tensor(ids, device=device), "attention_mask": torch.tensor(mask, device=device)}


def generate_batch(model, tokenizer, encoded, max_new_tokens: int, prefix_cache=None, schema: dict | None = None):
    """Greedily extend one left-padded batch; return its new token ids and their log-probabilities.

    `prefix_cache`, when given, holds the first tokens of every row already read (see
    left_padded), expanded to the batch; generate then prefills only the rest. Both
    results come back on the CPU as (batch, steps) tensors; after a row's end-of-sequence
    token its ids are padding and its log-probabilities mean nothing.
    """
    import torch
    from transformers import LogitsProcessorList

    recorder = ChosenTokenLogProbs()
    processors = [recorder]
    if schema is not None:
        mask = json_schema_processor(tokenizer, schema, encoded["input_ids"].shape[0])
        processors = [mask, recorder] if mask is not None else processors  # the recorder sees the masked scores
    cached = {} if prefix_cache is None else {"past_key_values": prefix_cache}
    with torch.inference_mode():
        generated = model.generate(
            **encoded,
            **cached,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            use_cache=True,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
            logits_processor=LogitsProcessorList(processors),
        )
    new = generated[:, encoded["input_ids"].shape[1] :]
    return new.cpu(), recorder.stacked().cpu()


def answer_confidence(tokens: list[int], log_probs: list[float], eos_token_id: int) -> float:
    """exp of the mean log-probability of the chosen tokens, through the first end-of-sequence token."""
    kept = tokens.index(eos_token_id) + 1 if eos_token_id in tokens else len(tokens)
    if kept == 0:  # nothing was chosen, so there was nothing to be unsure of
        return 1.0
    return math.exp(sum(log_probs[:kept]) / kept)


def _answer(tokenizer, new: list[int], log_probs: list[float], latency_s: float, schema: dict | None = None) -> dict:
    tokens = [t for t in new if t != tokenizer.pad_token_id]
    decisions = decision_confidence(tokenizer, new, log_probs, schema) if schema is not None else None
    return {
        "output": tokenizer.decode(tokens, skip_special_tokens=True).strip(),
        "latency_s": latency_s,
        "new_tokens": len(tokens),
        "confidence": decisions if decisions is not None else answer_confidence(new, log_probs, tokenizer.eos_token_id),
    }


def label_continuations(tokenizer, conversation: list[dict], prompt: list[int], labels: list[str]) -> list[list[int]]:
    """Each label as the tokens that follow the prompt when it is the answer, through the end-of-turn token.

    Rendered through the chat template exactly as training renders an answer (studio.training.sequences),
    so the scored tokens are the ones a tuned model learnt; ending at the end-of-turn token
    makes a label's score the probability of the whole answer being that label and nothing more.
    """
    from studio.training.sequences import _common_prefix, _ids

    continuations = []
    for label in labels:
        full = _ids(
            tokenizer.apply_chat_template(conversation + [{"role": "assistant", "content": label}], tokenize=True)
        )
        tail = full[_common_prefix(prompt, full) :]
        if tokenizer.eos_token_id in tail:
            tail = tail[: tail.index(tokenizer.eos_token_id) + 1]
        continuations.append(tail or [tokenizer.eos_token_id])
    return continuations


def score_labels(
    model,
    tokenizer,
    conversations: list[list[dict]],
    labels: list[str],
    on_batch: Callable[[int, int], None] = lambda done, total: None,
    reuse_prefix: bool = True,
) -> list[dict]:
    """Answer each conversation with the label the model finds likeliest; [{"output", ..., "confidence"}] in order.

    Each label's score is the summed log-probability of its answer tokens through the
    end-of-turn token: the probability of the whole answer, so a long label is not favoured
    or penalised for its length beyond what the model itself says. The confidence is the
    chosen label's share of the probability over the label set (a softmax of the scores),
    and `label_probabilities` lists every label's share. The prompt is read once (after the
    prefix every prompt shares, see generate_answers) and every label is scored in one
    batched forward pass from a copy of its KV cache.
    """
    import torch

    prompts = prompt_token_ids(tokenizer, conversations)
    model.eval()
    began = time.perf_counter()
    prefix = shared_prefix(prompts) if reuse_prefix else []
    prefix_cache = encode_prefix(model, prefix) if prefix else None
    prefix_share = (time.perf_counter() - began) / max(len(prompts), 1)
    results = []
    for index, (conversation, prompt) in enumerate(zip(conversations, prompts)):
        began = time.perf_counter()
        continuations = label_continuations(tokenizer, conversation, prompt, labels)
        scores = _label_log_probs(
            model, prompt[len(prefix) :], continuations, expanded(prefix_cache, 1), tokenizer.pad_token_id
        )
        shares = torch.softmax(scores, dim=0).tolist()
        best = max(range(len(labels)), key=lambda i: scores[i])
        results.append(
            {
                "output": labels[best],
                "latency_s": time.perf_counter() - began + prefix_share,
                "new_tokens": len(continuations[best]),
                "confidence": shares[best],
                "label_probabilities": dict(zip(labels, shares)),
            }
        )
        on_batch(index + 1, len(prompts))
    return results


def _label_log_probs(model, suffix: list[int], continuations: list[list[int]], cache, pad_token_id: int):
    """Summed log-probabilities of each continuation after prompt `suffix` (read on top of `cache`), as a tensor."""
    import torch

    device = model.device
    past = cache.get_seq_length() if cache is not None else 0
    with torch.inference_mode():
        # Only the prompt's last position predicts a label token: skip projecting the others onto the vocabulary.
        keep = {"logits_to_keep": 1} if getattr(model, "_supports_logits_to_keep", lambda: False)() else {}
        out = model(input_ids=torch.tensor([suffix], device=device), past_key_values=cache, use_cache=True, **keep)
        first = out.logits[0, -1].float().log_softmax(-1)
        cache = out.past_key_values
        width = max(len(c) for c in continuations)
        scores = [first[c[0]].item() for c in continuations]
        if width == 1:
            return torch.tensor(scores)
        cache.batch_repeat_interleave(len(continuations))
        ids = [c[:-1] + [pad_token_id] * (width - len(c)) for c in continuations]
        mask = [[1] * (past + len(suffix)) + [1] * (len(c) - 1) + [0] * (width - len(c)) for c in continuations]
        out = model(
            input_ids=torch.tensor(ids, device=device),
            attention_mask=torch.tensor(mask, device=device),
            past_key_values=cache,
            use_cache=True,
        )
        log_probs = out.logits.float().log_softmax(-1)
    return torch.tensor(
        [
            score + sum(log_probs[row, j, c[j + 1]].item() for j in range(len(c) - 1))
            for row, (score, c) in enumerate(zip(scores, continuations))
        ]
    )


def answer_in_format(
    model,
    tokenizer,
    conversations: list[list[dict]],
    output_spec: dict | None,
    max_new_tokens: int,
    batch_size: int = 16,
    on_batch: Callable[[int, int], None] = lambda done, total: None,
    reuse_prefix: bool = True,
) -> list[dict]:
    """Every model's one way of answering: labels scored for a label set, JSON decoded under its schema, else greedy.

    The tuned model and the baselines all answer through here, so they are compared on the
    same decoding, and a label project's answers are always one of its labels.
    """
    spec = output_spec or {}
    if spec.get("kind") == "labels" and spec.get("labels"):
        return score_labels(model, tokenizer, conversations, list(spec["labels"]), on_batch, reuse_prefix)
    return generate_answers(
        model, tokenizer, conversations, max_new_tokens, batch_size, on_batch, reuse_prefix, schema_of(spec)
    )
