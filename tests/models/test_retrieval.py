"""Retrieval-augmented fine-tuning's training rows: k retrieved examples each, never the example or a near-duplicate.

Real embeddings from the packaged all-MiniLM-L6-v2, on a handful of real-looking inputs.
"""

from __future__ import annotations

from studio.dataset.messages import input_text, normalise, single_turn
from studio.dataset.splits import NEAR_DUPLICATE_SIMILARITY
from studio.models import retrieval
from studio.models.embeddings import embed
from studio.models.prompts import prompt_messages
from studio.models.retrieval import retrieval_rows, training_shots, with_shots

INPUTS = [
    ("My card was stolen", "lost_card"),
    ("my card was stolen", "lost_card"),  # the same input after normalising
    ("My card was stolen!", "lost_card"),  # a near-duplicate by embedding
    ("Someone took my wallet with the card in it", "lost_card"),
    ("I can't find my debit card anywhere", "lost_card"),
    ("What is my balance?", "balance"),
    ("How much money is in my account", "balance"),
    ("Show me what I have left to spend", "balance"),
    ("I want to close my account", "close_account"),
    ("Please shut down my checking account", "close_account"),
]


def _rows() -> list[dict]:
    return [
        {"id": i, "external_id": f"E{i}", "messages": single_turn(text, label), "tags": []}
        for i, (text, label) in enumerate(INPUTS, start=1)
    ]


def test_each_training_row_carries_k_retrieved_examples_never_itself_or_a_near_duplicate():
    rows = _rows()
    vectors = embed([input_text(r["messages"]) for r in rows])
    similarity = vectors @ vectors.T
    assert similarity[0, 2] >= NEAR_DUPLICATE_SIMILARITY  # the fixture holds a real near-duplicate
    augmented = retrieval_rows(rows, 3)
    for i, row in enumerate(augmented):
        ids = row["retrieved_ids"]
        assert len(ids) == 3 and row["id"] not in ids
        for j in (r - 1 for r in ids):
            assert normalise(INPUTS[j][0]) != normalise(INPUTS[i][0])
            assert similarity[i, j] < NEAR_DUPLICATE_SIMILARITY, (INPUTS[i][0], INPUTS[j][0])
        # nearest last: right before the input, where a model attends to it most
        assert [similarity[i, j - 1] for j in ids] == sorted(similarity[i, j - 1] for j in ids)
    # the first row's same-input twin and its near-duplicate are left out, its next nearest kept
    assert {2, 3} & set(augmented[0]["retrieved_ids"]) == set()
    assert augmented[0]["retrieved_ids"][-1] in (4, 5)


def test_the_augmented_messages_are_the_k_shot_prompt_plus_the_answer():
    rows = _rows()
    shots = training_shots(rows, 2)
    for row, shown, augmented in zip(rows, shots, retrieval_rows(rows, 2)):
        assert [s["id"] for s in shown] == augmented["retrieved_ids"]
        assert prompt_messages("Sort it.", augmented["messages"]) == prompt_messages("Sort it.", row["messages"], shown)
        assert augmented["messages"][-1] == row["messages"][-1]  # the answer, which carries the loss, is its own
        assert augmented["id"] == row["id"] and augmented["external_id"] == row["external_id"]


def test_an_example_with_its_own_system_message_keeps_it_first():
    own = {"id": 1, "messages": [{"role": "system", "content": "Own rules."}, *single_turn("a", "b")]}
    shot = {"id": 2, "messages": [{"role": "system", "content": "Other rules."}, *single_turn("c", "d")]}
    assert with_shots(own["messages"], [shot]) == [
        {"role": "system", "content": "Own rules."},
        *single_turn("c", "d"),
        *single_turn("a", "b"),
    ]


def test_training_leaves_out_what_the_split_calls_a_near_duplicate():
    assert retrieval.NEAR_DUPLICATE_SIMILARITY == NEAR_DUPLICATE_SIMILARITY


def test_no_retrieval_leaves_the_rows_as_they_are():
    rows = _rows()
    assert retrieval_rows(rows, 0) is rows
    assert training_shots(rows[:1], 3) == [[]]  # nothing else to retrieve
