"""The chat messages a model sees: the tuned prompt and the few-shot baseline prompt.

Both use the project's task description as the system prompt, so the only difference
between the tuned model and the baseline is what the fine-tune learned; an example that
carries its own system message keeps it instead (no message is dropped silently: what
the expert wrote for that example is what the model sees, in training, in the baselines
and in evaluation). The baseline's
few-shot examples are retrieved per input: the training examples whose inputs are
nearest by sentence embedding, which is the strongest cheap prompting baseline.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict

from studio.dataset.messages import answer_text, input_text
from studio.models.embeddings import embed, nearest
from studio.project.formats import OutputSpec, stratum_of


def prompt_messages(system_prompt: str, messages: list[dict], few_shot: list[dict] = ()) -> list[dict]:
    """The messages before the answer: system prompt, then few-shot turns, then the input turns.

    `messages` is a whole example; everything from its last assistant message on is dropped.
    The example's own leading system message, when it has one, takes the place of
    `system_prompt` (the project's description); a system message later in the
    conversation stays where it is. The few-shot examples lend only their turns.
    """
    turns = list(messages)
    while turns and turns[-1]["role"] == "assistant":
        turns = turns[:-1]
    own = []
    while turns and turns[0]["role"] == "system":
        own.append(turns.pop(0))
    shots = [m for shot in few_shot for m in shot["messages"] if m["role"] != "system"]
    system = own or ([{"role": "system", "content": system_prompt}] if system_prompt else [])
    return system + shots + turns


def system_prompt_of(system_prompt: str, messages: list[dict]) -> str:
    """The system prompt the model sees for this example: its own, else the project's."""
    own = [m["content"] for m in messages if m["role"] == "system"]
    return own[0] if own else system_prompt


def choose_few_shot(train: list[dict], spec: OutputSpec, k: int, seed: int) -> list[dict]:
    """Pick k training examples, one per stratum in turn, in a seeded order."""
    by_stratum: dict[str, list[dict]] = defaultdict(list)
    ordered = sorted(train, key=lambda e: hashlib.sha256(f"{seed}:shot:{e['id']}".encode()).hexdigest())
    for example in ordered:
        by_stratum[stratum_of(spec, answer_text(example["messages"]))].append(example)
    queues = [by_stratum[name] for name in sorted(by_stratum)]
    chosen: list[dict] = []
    while len(chosen) < min(k, len(train)):
        for queue in queues:
            if queue and len(chosen) < k:
                chosen.append(queue.pop(0))
    return chosen


def retrieve_few_shot(train: list[dict], held_out: list[dict], k: int) -> list[list[dict]]:
    """For each held-out example, the k training examples with the most similar inputs.

    Each list is in prompt order: the nearest example comes last, right before the input,
    where a model attends to it most.
    """
    if k <= 0 or not train:
        return [[] for _ in held_out]
    corpus = embed([input_text(row["messages"]) for row in train])
    queries = embed([input_text(row["messages"]) for row in held_out])
    return [[train[int(i)] for i in reversed(row)] for row in nearest(queries, corpus, k)]
