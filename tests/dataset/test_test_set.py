"""The test set the experts keep: examples marked 'test' are held out for good, checked like the rest."""

from __future__ import annotations

import pytest

from studio.checks.runner import check_project
from studio.dataset.bulk import ACTIONS, apply_bulk
from studio.dataset.examples import (
    InvalidExample,
    add_example,
    count_by_split,
    edit_example,
    get_example,
    list_examples,
)
from studio.dataset.history import describe_revisions
from studio.dataset.messages import single_turn
from studio.dataset.search import ExampleFilter
from studio.dataset.snapshots import SPLIT, TEST_SET, freeze_snapshot

TRAIN = [
    ("I love this phone, it is wonderful", "pos"),
    ("Terrible service, I want a refund", "neg"),
    ("The parcel arrived on Tuesday", "neutral"),
    ("Best purchase I made all year", "pos"),
    ("The screen cracked after one day", "neg"),
    ("The manual has twelve pages", "neutral"),
]


def _add(db, project, rows, split="train") -> list[int]:
    return [add_example(db, project, single_turn(q, a), "ann", "approved", split=split) for q, a in rows]


def test_examples_train_unless_marked_test_and_the_counts_say_so(db, label_project):
    trained = _add(db, label_project, TRAIN)
    [kept] = _add(db, label_project, [("Awful battery life", "neg")], split="test")
    assert get_example(db, trained[0])["split"] == "train" and get_example(db, kept)["split"] == "test"
    counts = count_by_split(db, label_project)
    assert counts["train"]["approved"] == 6 and counts["test"]["approved"] == 1
    with pytest.raises(InvalidExample, match="split must be"):
        add_example(db, label_project, single_turn("Fine", "pos"), "ann", split="validation")


def test_moving_an_example_into_the_test_set_is_a_revision(db, label_project):
    [example_id] = _add(db, label_project, TRAIN[:1])
    edit_example(db, label_project, example_id, 1, "ann", split="test")
    assert get_example(db, example_id)["split"] == "test"
    assert describe_revisions(db, example_id)[0]["summary"] == "moved to the test set"


def test_the_bulk_action_sets_the_split_of_everything_selected(db, label_project):
    ids = _add(db, label_project, TRAIN)
    assert "set split" in ACTIONS
    for example_id in ids[:2]:
        edit_example(db, label_project, example_id, 1, "ann", tags=["gold"])
    result = apply_bulk(db, label_project, ExampleFilter(tag="gold"), "set split", "test", "ann")
    assert (result.selected, result.changed) == (2, 2)
    assert [e["id"] for e in list_examples(db, label_project) if e["split"] == "test"] == ids[:2]
    assert apply_bulk(db, label_project, ExampleFilter(tag="gold"), "set split", "test", "ann").changed == 0
    with pytest.raises(ValueError, match="split must be"):
        apply_bulk(db, label_project, ExampleFilter(), "set split", "holdout", "ann")


def test_a_snapshot_holds_out_the_test_set_and_trains_on_everything_else(db, label_project):
    _add(db, label_project, TRAIN * 2)  # 12 approved, six inputs twice each
    test_ids = _add(db, label_project, [("Awful battery life", "neg"), ("It works as described", "neutral")], "test")
    snapshot = freeze_snapshot(list_examples(db, label_project, "approved"), label_project.output_spec, 13)
    assert snapshot.source == TEST_SET
    assert [e["id"] for e in snapshot.held_out] == test_ids
    assert len(snapshot.train) == 12 and not {e["id"] for e in snapshot.train} & set(test_ids)
    without = freeze_snapshot(
        [e for e in list_examples(db, label_project, "approved") if e["id"] not in test_ids],
        label_project.output_spec,
        13,
    )
    # one of the six distinct inputs, with its copy
    assert without.source == SPLIT and len(without.held_out) == 2 and without.held_out_hash != snapshot.held_out_hash


def test_a_paraphrase_across_the_test_line_is_leakage_and_a_different_label_a_contradiction(db, label_project):
    trained = _add(db, label_project, TRAIN)
    [echo] = _add(db, label_project, [("I love this phone, it is wonderful!", "pos")], split="test")
    [clash] = _add(db, label_project, [("Terrible service, I want a refund now", "neutral")], split="test")
    findings = check_project(db, label_project)

    def named(kind: str) -> list[set[int]]:
        return [{e.id for e in f.examples} for f in findings if f.kind == kind]

    assert {echo, trained[0]} in named("leakage")
    assert {clash, trained[1]} in named("contradiction")
