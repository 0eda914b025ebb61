"""Examples: validation on save, the status flow, concurrent edits, and multi-turn messages."""

from __future__ import annotations

import pytest

from studio.dataset.examples import (
    InvalidExample,
    StaleRevision,
    add_example,
    edit_example,
    example_history,
    get_example,
    list_examples,
)
from studio.dataset.messages import answer_text, input_text, single_turn, with_last_turn

CONVERSATION = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "My backup failed."},
    {"role": "assistant", "content": "Which error code?"},
    {"role": "user", "content": "E42."},
    {"role": "assistant", "content": "neg"},
]


def test_add_refuses_an_example_without_a_user_message(db, label_project):
    messages = [{"role": "system", "content": "x"}, {"role": "assistant", "content": "pos"}]
    with pytest.raises(InvalidExample, match="no user message"):
        add_example(db, label_project, messages, "ann")
    assert list_examples(db, label_project) == []


def test_add_refuses_an_invalid_answer_past_draft(db, label_project):
    with pytest.raises(InvalidExample, match="breaks the project's format"):
        add_example(db, label_project, single_turn("So-so", "meh"), "ann", status="submitted")
    assert list_examples(db, label_project) == []


def test_add_keeps_an_invalid_answer_as_a_draft(db, label_project):
    example_id = add_example(db, label_project, single_turn("So-so", "meh"), "ann", status="draft")
    assert get_example(db, example_id)["status"] == "draft"


def test_add_stores_a_valid_example(db, label_project):
    example_id = add_example(
        db, label_project, single_turn("Lovely", "pos"), "ann", status="submitted", tags=["short"], external_id="X-1"
    )
    example = get_example(db, example_id)
    assert example["messages"] == single_turn("Lovely", "pos")
    assert (example["status"], example["tags"], example["external_id"], example["author"]) == (
        "submitted",
        ["short"],
        "X-1",
        "ann",
    )
    assert example["revision"] == 1


def test_approving_changes_status_and_records_the_reviewer(db, label_project):
    example_id = add_example(db, label_project, single_turn("Lovely", "pos"), "ann", status="submitted")
    revision = edit_example(db, label_project, example_id, 1, "rita", status="approved")
    example = get_example(db, example_id)
    assert revision == 2
    assert (example["status"], example["reviewer"], example["revision"]) == ("approved", "rita", 2)
    assert example_history(db, example_id)[-1]["after"]["reviewer"] == "rita"


def test_editing_cannot_approve_an_invalid_answer(db, label_project):
    example_id = add_example(db, label_project, single_turn("So-so", "meh"), "ann", status="draft")
    with pytest.raises(InvalidExample):
        edit_example(db, label_project, example_id, 1, "rita", status="approved")
    assert get_example(db, example_id)["status"] == "draft"


def test_the_second_expert_saving_from_the_same_revision_is_refused(db, label_project):
    example_id = add_example(db, label_project, single_turn("Lovely", "pos"), "ann", status="submitted")
    opened_at = get_example(db, example_id)["revision"]
    edit_example(db, label_project, example_id, opened_at, "ann", messages=single_turn("Lovely!", "pos"))
    with pytest.raises(StaleRevision):
        edit_example(db, label_project, example_id, opened_at, "bob", messages=single_turn("Lovely", "neg"))
    example = get_example(db, example_id)
    assert example["messages"] == single_turn("Lovely!", "pos")
    assert len(example_history(db, example_id)) == 2


def test_with_last_turn_keeps_the_earlier_turns():
    edited = with_last_turn(CONVERSATION, "Error E43.", "pos")
    assert edited[:4] == [*CONVERSATION[:3], {"role": "user", "content": "Error E43."}]
    assert edited[4] == {"role": "assistant", "content": "pos"}
    assert len(edited) == 5
    assert CONVERSATION[3]["content"] == "E42."


def test_with_last_turn_on_no_messages_makes_a_single_turn():
    assert with_last_turn([], "Hi", "pos") == single_turn("Hi", "pos")


def test_input_and_answer_of_a_multi_turn_example():
    assert input_text(CONVERSATION) == "My backup failed.\nE42."
    assert answer_text(CONVERSATION) == "neg"
    assert answer_text(CONVERSATION[:2]) == ""
    assert input_text(CONVERSATION[:2]) == "My backup failed."
