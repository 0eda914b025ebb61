"""Train / held-out splits: seeded, about 10%, stratified, leakage-free and stable."""

from __future__ import annotations

from collections import Counter

from conftest import PLANTED

from studio.dataset.examples import add_example, list_examples
from studio.dataset.messages import answer_text, input_text, normalise, single_turn
from studio.dataset.splits import split_examples
from studio.project.formats import stratum_of


def _ids(examples: list[dict]) -> set[int]:
    return {e["id"] for e in examples}


def _approved(db, demo) -> list[dict]:
    return list_examples(db, demo, status="approved")


def test_the_same_seed_gives_the_same_split(db, demo):
    examples = _approved(db, demo)
    first = split_examples(examples, demo.output_spec, seed=13)
    second = split_examples(list(reversed(examples)), demo.output_spec, seed=13)
    assert [e["id"] for e in first[1]] == [e["id"] for e in second[1]]
    assert [e["id"] for e in first[0]] == [e["id"] for e in second[0]]


def test_another_seed_gives_another_split(db, demo):
    examples = _approved(db, demo)
    _, held_13 = split_examples(examples, demo.output_spec, seed=13)
    _, held_14 = split_examples(examples, demo.output_spec, seed=14)
    assert _ids(held_13) != _ids(held_14)


def test_held_out_is_about_a_tenth_of_the_distinct_inputs(db, demo):
    examples = _approved(db, demo)
    train, held_out = split_examples(examples, demo.output_spec, seed=13)
    distinct_inputs = {normalise(input_text(e["messages"])) for e in examples}
    held_inputs = {normalise(input_text(e["messages"])) for e in held_out}
    assert len(held_inputs) == round(0.1 * len(distinct_inputs))
    assert _ids(train) | _ids(held_out) == _ids(examples)
    assert not _ids(train) & _ids(held_out)


def test_every_category_is_held_out_in_proportion(db, demo):
    examples = _approved(db, demo)
    _, held_out = split_examples(examples, demo.output_spec, seed=13)

    def category(example):
        return stratum_of(demo.output_spec, answer_text(example["messages"]))

    sizes, held = Counter(map(category, examples)), Counter(map(category, held_out))
    big = [name for name, size in sizes.items() if size >= 10]
    assert len(big) == 6
    for name in big:
        assert held[name] >= 1, name
        assert abs(held[name] / sizes[name] - 0.1) <= 0.05, (name, held[name], sizes[name])


def test_examples_sharing_an_input_never_straddle_the_split(db, demo):
    by_external = {e["external_id"]: e["id"] for e in _approved(db, demo)}
    pairs = [(by_external[a], by_external[b]) for a, b in PLANTED["duplicates"] + PLANTED["contradictions"]]
    examples = _approved(db, demo)
    pairs_held_out = 0
    for seed in range(20):
        _, held_out = split_examples(examples, demo.output_spec, seed=seed)
        held = _ids(held_out)
        for a, b in pairs:
            assert (a in held) == (b in held), (seed, a, b)
            pairs_held_out += a in held
    assert pairs_held_out > 0, "no planted pair was ever held out, so the test proves nothing"


def test_adding_an_example_moves_few_existing_ones(db, demo):
    before = _approved(db, demo)
    _, held_before = split_examples(before, demo.output_spec, seed=13)
    answer = '{"category": "technical", "priority": "low", "needs_human": false}'
    add_example(
        db,
        demo,
        single_turn("Can the NAS-200 fan run quieter at night?", answer),
        "ann",
        status="approved",
        external_id="T-9001",
    )
    after = _approved(db, demo)
    _, held_after = split_examples(after, demo.output_spec, seed=13)
    old = _ids(before)
    moved = _ids(held_before) ^ (_ids(held_after) & old)
    assert len(after) == len(before) + 1
    assert len(moved) <= 2


def test_near_duplicate_inputs_never_straddle_the_split():
    from studio.project.formats import parse_output_spec

    spec = parse_output_spec({"kind": "labels", "labels": ["login", "shipping"]})
    texts = [f"Question {n} about my parcel number {n * 7}" for n in range(40)]
    examples = [{"id": i, "messages": single_turn(t, "shipping")} for i, t in enumerate(texts, start=1)]
    paraphrases = [
        ("How do I reset my password?", "How can I reset my password?"),
        ("My account is locked after too many attempts", "My account got locked after too many attempts"),
    ]
    for a, b in paraphrases:
        examples += [
            {"id": len(examples) + 1, "messages": single_turn(a, "shipping")},
            {"id": len(examples) + 2, "messages": single_turn(b, "shipping")},
        ]
    pair_ids = [(41, 42), (43, 44)]
    held_pairs = 0
    for seed in range(30):
        _, held_out = split_examples(examples, spec, seed=seed)
        held = _ids(held_out)
        for a, b in pair_ids:
            assert (a in held) == (b in held), (seed, a, b)
            held_pairs += a in held
    assert held_pairs > 0, "no paraphrase pair was ever held out, so the test proves nothing"
