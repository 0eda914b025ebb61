"""The expert workspace: roles, the review rule, filters and search, bulk actions, history, trash, comments."""

from __future__ import annotations

import pytest

from studio.dataset.bulk import apply_bulk
from studio.dataset.examples import (
    NotAllowed,
    StaleRevision,
    add_comment,
    add_example,
    count_by_status,
    edit_example,
    get_example,
    list_comments,
    restore_examples,
)
from studio.dataset.history import describe_revisions, restore_revision
from studio.dataset.messages import answer_text, single_turn
from studio.dataset.review import decide, neighbour, review_queue
from studio.dataset.search import ExampleFilter, PageRequest, find_examples, matching_ids, overview, tag_progress
from studio.project.people import save_person
from studio.project.projects import update_project_settings


@pytest.fixture
def team(db):
    """An annotator, a reviewer and an admin."""
    admin = save_person(db, None, "ada", "admin")
    return {
        "ann": save_person(db, admin, "ann", "annotator"),
        "rui": save_person(db, admin, "rui", "reviewer"),
        "ada": admin,
    }


def test_an_annotator_may_write_and_submit_but_not_approve(db, label_project, team):
    example_id = add_example(db, label_project, single_turn("Lovely", "pos"), "ann", "submitted")
    with pytest.raises(NotAllowed, match="ann is an annotator; only reviewers or admins may approve"):
        edit_example(db, label_project, example_id, 1, "ann", status="approved")
    with pytest.raises(NotAllowed):
        add_example(db, label_project, single_turn("Awful", "neg"), "ann", "approved")
    assert edit_example(db, label_project, example_id, 1, "rui", status="approved") == 2
    assert get_example(db, example_id)["reviewer"] == "rui"


def test_only_an_admin_manages_people_and_the_last_admin_stays(db, team):
    with pytest.raises(NotAllowed, match="only admins may manage"):
        save_person(db, team["rui"], "eve", "admin")
    with pytest.raises(ValueError, match="only admin"):
        save_person(db, team["ada"], "ada", "reviewer")
    with pytest.raises(ValueError, match="role must be one of"):
        save_person(db, team["ada"], "eve", "boss")


def test_a_project_can_require_the_reviewer_not_to_be_the_author(db, label_project, team):
    project = update_project_settings(db, label_project, reviewer_must_differ=True)
    example_id = add_example(db, project, single_turn("Fine", "neutral"), "rui", "submitted")
    with pytest.raises(NotAllowed, match="another reviewer must approve"):
        edit_example(db, project, example_id, 1, "rui", status="approved")
    edit_example(db, project, example_id, 1, "ada", status="approved")


def test_project_settings_are_for_admins_and_targets_are_whole_numbers(db, label_project, team):
    with pytest.raises(NotAllowed):
        update_project_settings(db, label_project, team["ann"], coverage_targets={"billing": 5})
    with pytest.raises(ValueError, match="target for tag 'billing' must be a whole number"):
        update_project_settings(db, label_project, team["ada"], coverage_targets={"billing": 2.5})
    project = update_project_settings(db, label_project, team["ada"], coverage_targets={"billing": 4, "returns": 2})
    add_example(db, project, single_turn("Refund me", "neg"), "ann", tags=["billing"])
    add_example(db, project, single_turn("Refund me now", "neg"), "ada", "approved", tags=["billing"])
    progress = {row["tag"]: row for row in tag_progress(db, project)}
    assert (progress["billing"]["examples"], progress["billing"]["approved"], progress["billing"]["progress"]) == (
        2,
        1,
        0.25,
    )
    assert progress["returns"]["examples"] == 0


def test_filters_combine_and_count_every_page(db, demo):
    submitted = find_examples(db, demo, ExampleFilter(status="submitted"), PageRequest(page_size=5))
    assert submitted.total == 14 and len(submitted.rows) == 5
    second = find_examples(db, demo, ExampleFilter(status="submitted"), PageRequest(page=2, page_size=5))
    assert not {r["id"] for r in submitted.rows} & {r["id"] for r in second.rows}
    newest = find_examples(db, demo, ExampleFilter(), PageRequest(sort="id", descending=True, page_size=3)).rows
    assert [r["id"] for r in newest] == sorted((r["id"] for r in newest), reverse=True)
    tagged = find_examples(db, demo, ExampleFilter(tag="billing", status="approved"), PageRequest(page_size=500))
    assert tagged.total and all("billing" in r["tags"] and r["status"] == "approved" for r in tagged.rows)
    assert find_examples(db, demo, ExampleFilter(author="nobody")).total == 0


def test_full_text_search_finds_words_and_sees_edits_made_after_indexing(db, demo):
    assert overview(db, demo).search_mode == "full-text"
    found = find_examples(db, demo, ExampleFilter(text="charged twice"), PageRequest(page_size=500))
    assert found.total and all({"charged", "twice"} <= set(_words(r)) for r in found.rows)
    target = found.rows[0]
    edit_example(
        db,
        demo,
        target["id"],
        target["revision"],
        "ann",
        messages=single_turn("The zyxwv gadget squeaks", answer_text(target["messages"])),
    )
    after = find_examples(db, demo, ExampleFilter(text="zyxwv"))
    assert [r["id"] for r in after.rows] == [target["id"]]
    assert target["id"] not in {
        r["id"] for r in find_examples(db, demo, ExampleFilter(text="charged twice"), PageRequest(page_size=500)).rows
    }


def _words(row: dict) -> list[str]:
    import re

    text = " ".join(m["content"] for m in row["messages"]).lower()
    return [w[:6] for w in re.findall(r"[a-z]+", text)] + re.findall(r"[a-z]+", text)


def test_a_finding_kind_filter_selects_the_examples_it_names(db, demo):
    from studio.checks.runner import check_project

    check_project(db, demo)
    contradicting = find_examples(db, demo, ExampleFilter(finding_kind="contradiction"), PageRequest(page_size=50))
    assert contradicting.total == 6


def test_a_bulk_tag_reaches_every_page_and_records_a_revision_each(db, demo, team):
    chosen = ExampleFilter(status="approved")
    result = apply_bulk(db, demo, chosen, "add tag", "checked", "ann")
    assert (result.selected, result.changed) == (223, 223)
    assert find_examples(db, demo, ExampleFilter(tag="checked")).total == 223
    one = matching_ids(db, demo, chosen)[-1]
    history = describe_revisions(db, one)
    assert history[0]["author"] == "ann" and "tags +checked" in history[0]["summary"]
    assert apply_bulk(db, demo, chosen, "add tag", "checked", "ann").changed == 0
    assert apply_bulk(db, demo, chosen, "remove tag", "checked", "ann").changed == 223


def test_a_bulk_status_change_skips_and_names_examples_it_would_break(db, demo, team):
    bad = add_example(db, demo, single_turn("Where is my parcel?", '{"category": "shipping"'), "ann", "draft")
    result = apply_bulk(db, demo, ExampleFilter(status="draft"), "set status", "submitted", "ann")
    assert result.selected == 11 and result.changed == 10
    assert "breaks the format" in result.skipped[bad]
    with pytest.raises(NotAllowed):
        apply_bulk(db, demo, ExampleFilter(status="submitted"), "set status", "approved", "ann")
    waiting = matching_ids(db, demo, ExampleFilter(status="submitted"))
    assert apply_bulk(db, demo, ExampleFilter(status="submitted"), "set status", "approved", "rui").changed == 24
    assert {get_example(db, i)["reviewer"] for i in waiting} == {"rui"}


def test_delete_goes_to_the_trash_and_restore_brings_it_back(db, demo, team):
    with pytest.raises(NotAllowed):
        apply_bulk(db, demo, ExampleFilter(status="draft"), "delete", "", "ann")
    assert apply_bulk(db, demo, ExampleFilter(status="draft"), "delete", "", "rui").changed == 10
    assert count_by_status(db, demo)["draft"] == 0
    trash = find_examples(db, demo, ExampleFilter(deleted=True), PageRequest(page_size=50))
    assert trash.total == 10
    assert get_example(db, trash.rows[0]["id"]) is None
    assert get_example(db, trash.rows[0]["id"], include_deleted=True)["deleted_by"] == "rui"
    assert restore_examples(db, demo, [r["id"] for r in trash.rows], "rui") == 10
    assert count_by_status(db, demo)["draft"] == 10
    assert "restored from the trash" in describe_revisions(db, trash.rows[0]["id"])[0]["summary"]


def test_an_old_revision_can_be_restored_as_a_new_revision(db, label_project):
    example_id = add_example(db, label_project, single_turn("So-so", "neutral"), "ann", tags=["first"])
    edit_example(db, label_project, example_id, 1, "bob", messages=single_turn("So-so", "neg"), tags=["second"])
    history = describe_revisions(db, example_id)
    assert [r["revision"] for r in history] == [2, 1]
    assert "answer edited" in history[0]["summary"] and "-assistant: neutral" in history[0]["diff"]
    assert restore_revision(db, label_project, example_id, 1, "ann") == 3
    restored = get_example(db, example_id)
    assert (answer_text(restored["messages"]), restored["tags"]) == ("neutral", ["first"])
    assert len(describe_revisions(db, example_id)) == 3


def test_the_review_queue_walks_submitted_examples_and_decides_with_a_comment(db, demo, team):
    queue = review_queue(db, demo)
    assert len(queue) == 14
    assert neighbour(queue, queue[-1], 1) == queue[0] and neighbour(queue, None, 0) == queue[0]
    example = get_example(db, queue[0])
    decide(db, demo, example["id"], example["revision"], "reject", "rui", "the priority should be high")
    assert get_example(db, queue[0])["status"] == "rejected"
    assert list_comments(db, queue[0])[0]["body"] == "rejected: the priority should be high"
    assert queue[0] not in review_queue(db, demo)
    with pytest.raises(StaleRevision):
        decide(db, demo, example["id"], example["revision"], "approve", "rui")


def test_comments_need_text_and_a_person_who_may_write(db, label_project, team):
    example_id = add_example(db, label_project, single_turn("Nice", "pos"), "ann")
    add_comment(db, example_id, "ann", "  Is this really positive?  ")
    assert [c["body"] for c in list_comments(db, example_id)] == ["Is this really positive?"]
    with pytest.raises(ValueError):
        add_comment(db, example_id, "ann", "   ")


def test_the_tokens_of_an_example_are_counted_with_the_chat_template(default_model):
    from studio.models.tokens import count_tokens
    from studio.paths import DEFAULT_MODEL_NAME

    short = count_tokens(DEFAULT_MODEL_NAME, single_turn("Hi", "pos"))
    long = count_tokens(DEFAULT_MODEL_NAME, single_turn("word " * 600, "pos"))
    assert short.context_length == 8192 and 5 < short.tokens < 40
    assert long.tokens > 600 and "training truncates at 512" in long.verdict()


def test_an_annotator_may_import_drafts_but_not_approved_examples(db, label_project, team, tmp_path):
    from studio.transfer.imports import ImportOptions, import_file

    path = tmp_path / "rows.jsonl"
    path.write_text('{"prompt": "Nice", "completion": "pos"}\n')
    with pytest.raises(NotAllowed):
        import_file(db, label_project, path, "ann", ImportOptions(status="approved"))
    assert import_file(db, label_project, path, "ann")["imported"] == 1
