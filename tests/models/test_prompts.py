"""Prompts: what the model sees, and how the baseline's few-shot examples are chosen."""

from __future__ import annotations

from studio.dataset.messages import answer_text, single_turn
from studio.models.prompts import choose_few_shot, prompt_messages
from studio.project.formats import parse_output_spec, stratum_of

LABELS = parse_output_spec({"kind": "labels", "labels": ["pos", "neg", "neutral"]})
TRAIN = [
    {"id": index, "messages": single_turn(f"review number {index}", label)}
    for index, label in enumerate(["pos"] * 5 + ["neg"] * 3 + ["neutral"] * 2, start=1)
]


def test_the_system_prompt_comes_first_and_the_answer_is_dropped():
    assert prompt_messages("Label the sentiment.", single_turn("Too loud", "neg")) == [
        {"role": "system", "content": "Label the sentiment."},
        {"role": "user", "content": "Too loud"},
    ]


def test_an_examples_own_system_message_is_what_the_model_sees():
    own = {"role": "system", "content": "Answer with one of: pos, neg."}
    example = [own, *single_turn("Too loud", "neg")]
    assert prompt_messages("Label the sentiment.", example) == [own, {"role": "user", "content": "Too loud"}]
    assert prompt_messages("", example) == [own, {"role": "user", "content": "Too loud"}]
    shots = [{"id": 1, "messages": [{"role": "system", "content": "other"}, *single_turn("Great", "pos")]}]
    assert prompt_messages("S", example, shots) == [
        own,
        *single_turn("Great", "pos"),
        {"role": "user", "content": "Too loud"},
    ]


def test_training_sequences_keep_the_examples_own_system_message():
    from studio.training.sequences import conversation_parts

    own = {"role": "system", "content": "Answer with one of: pos, neg."}
    prompt, answer = conversation_parts("Project description", [own, *single_turn("Too loud", "neg")])
    assert prompt[0] == own and answer == [{"role": "assistant", "content": "neg"}]


def test_a_multi_turn_example_keeps_its_earlier_turns():
    example = single_turn("Is it good?", "Which one?") + single_turn("The blue one.", "pos")
    assert prompt_messages("S", example)[1:] == example[:3]


def test_few_shot_turns_come_between_the_system_prompt_and_the_input_in_order():
    shots = [TRAIN[0], TRAIN[6]]
    messages = prompt_messages("S", single_turn("Too loud", "neg"), few_shot=shots)
    assert messages == [
        {"role": "system", "content": "S"},
        *TRAIN[0]["messages"],
        *TRAIN[6]["messages"],
        {"role": "user", "content": "Too loud"},
    ]


def test_few_shot_picks_one_example_per_stratum():
    for seed in range(10):
        chosen = choose_few_shot(TRAIN, LABELS, k=3, seed=seed)
        assert len(chosen) == 3
        assert {stratum_of(LABELS, answer_text(e["messages"])) for e in chosen} == {"pos", "neg", "neutral"}, seed


def test_few_shot_with_more_shots_than_strata_still_returns_k_distinct_examples():
    chosen = choose_few_shot(TRAIN, LABELS, k=5, seed=7)
    assert len({e["id"] for e in chosen}) == 5
    assert len(choose_few_shot(TRAIN, LABELS, k=50, seed=7)) == len(TRAIN)


def test_few_shot_is_deterministic_for_a_seed():
    first = [e["id"] for e in choose_few_shot(TRAIN, LABELS, k=3, seed=7)]
    again = [e["id"] for e in choose_few_shot(list(reversed(TRAIN)), LABELS, k=3, seed=7)]
    assert first == again
    others = {tuple(e["id"] for e in choose_few_shot(TRAIN, LABELS, k=3, seed=seed)) for seed in range(10)}
    assert len(others) > 1
