"""Retrieval-augmented fine-tuning: the k training examples each prompt carries, in training and after.

A run with `TrainConfig.retrieved_examples` k > 0 trains on prompts that hold, between the
system prompt and the input, the k examples of its training split (the run folder's
train.jsonl, the very examples the k-shot baseline retrieves from) whose inputs are nearest
by the packaged sentence embedding, nearest last. In training an example never sees itself
among them, nor an example with the same input (after normalising case and spaces), nor a
near-duplicate (inputs at least the split's NEAR_DUPLICATE_SIMILARITY alike): a shot that
repeats the example's own answer would teach the model to copy rather than to decide.

After training, evaluation, the export check and the served engine retrieve for an input
with `studio.models.prompts.retrieve_few_shot` from the same frozen train.jsonl: the
k-shot baseline's own retrieval, so "tuned + k retrieved" and the baseline read the same
prompt. Held-out inputs have no near-duplicate in the training split (the split keeps
near-duplicates on one side), so there the two rules pick the same examples; a served input
that repeats a training example may see it, which helps it.
"""

from __future__ import annotations

import numpy as np

from studio.dataset.messages import input_text, normalise
from studio.models.embeddings import embed

# The split's near-duplicate threshold (studio.dataset.splits, from CheckConfig; a test keeps them equal). Not imported:
# that import chain reaches the DuckDB cache of embeddings, and the training worker never loads storage.
NEAR_DUPLICATE_SIMILARITY = 0.92
# Rows of queries scored against the whole pool at once: memory is CHUNK x pool floats.
CHUNK = 512


def training_shots(rows: list[dict], k: int) -> list[list[dict]]:
    """For each training row, the k other rows with the nearest inputs, nearest last; never itself or a near-duplicate."""
    if k <= 0 or len(rows) < 2:
        return [[] for _ in rows]
    texts = [input_text(row["messages"]) for row in rows]
    vectors = embed(texts)
    same_input = _same_input_groups([normalise(t) for t in texts])
    shots = []
    for start in range(0, len(rows), CHUNK):
        scores = vectors[start : start + CHUNK] @ vectors.T
        for offset, row_scores in enumerate(scores):
            i = start + offset
            excluded = row_scores >= NEAR_DUPLICATE_SIMILARITY
            excluded[i] = True
            excluded[same_input[i]] = True
            order = [j for j in np.argsort(-row_scores, kind="stable") if not excluded[j]][:k]
            shots.append([rows[int(j)] for j in reversed(order)])
    return shots


def _same_input_groups(normalised: list[str]) -> list[list[int]]:
    """For each position, every position whose normalised input is the same (itself included)."""
    positions: dict[str, list[int]] = {}
    for i, text in enumerate(normalised):
        positions.setdefault(text, []).append(i)
    return [positions[text] for text in normalised]


def with_shots(messages: list[dict], shots: list[dict]) -> list[dict]:
    """The example's messages with the shots' turns placed after its own leading system message(s).

    `prompt_messages(system, with_shots(messages, shots))` is `prompt_messages(system, messages, shots)`:
    what the trainer, the pre-flight and the validation slice read is what evaluation shows.
    """
    turns = list(messages)
    own = []
    while turns and turns[0]["role"] == "system":
        own.append(turns.pop(0))
    lent = [m for shot in shots for m in shot["messages"] if m["role"] != "system"]
    return own + lent + turns


def retrieval_rows(rows: list[dict], k: int) -> list[dict]:
    """The training rows as a run with k retrieved examples trains on them (the rows themselves when k is 0).

    Each row keeps its id and gains `retrieved_ids`, the ids of the examples its prompt shows.
    """
    if k <= 0:
        return rows
    return [
        {**row, "messages": with_shots(row["messages"], shots), "retrieved_ids": [s["id"] for s in shots]}
        for row, shots in zip(rows, training_shots(rows, k))
    ]
