"""Write page: the editor for one example, checked as the expert types, with its history and comments.

Keyboard: Alt+S save, Alt+U submit for review, Alt+N next, Alt+P previous (in the
Examples page's current filter), Alt+E a new example.
"""

import streamlit as st

from app import editors, ui
from studio.dataset.examples import (
    InvalidExample,
    NotAllowed,
    StaleRevision,
    add_comment,
    add_example,
    edit_example,
    get_example,
    list_comments,
)
from studio.dataset.history import describe_revisions, restore_revision
from studio.dataset.messages import answer_text, last_user_text, single_turn, with_last_turn
from studio.dataset.review import neighbour
from studio.dataset.search import ExampleFilter, matching_ids
from studio.models.tokens import ModelUnavailable, count_tokens
from studio.project.formats import answer_problems

project = ui.require_project()
db = ui.db()
state = st.session_state
st.title("Write")
ui.show_flash()
editors.shortcuts_in_text_fields()
editors.show_guidelines(project)
editors.check_as_typed(["User message", "Expected answer"])  # the format check follows every edit, not the last blur

linked = st.query_params.get("id")  # /write?id=N opens example N (a link to share)
if linked and linked.isdigit() and int(linked) != state.get("editing_id"):
    state["editing_id"] = int(linked)
example = get_example(db, state["editing_id"]) if state.get("editing_id") else None
opened = state.setdefault("opened_revision", {})  # example id -> the revision this editor started from
if example:
    opened.setdefault(example["id"], example["revision"])
base = f"{example['id']}_{opened[example['id']]}" if example else "new"


def go(step: int) -> None:
    ids = matching_ids(db, project, state.get("browse_filter") or ExampleFilter())
    opened.pop(state.get("editing_id"), None)
    state["editing_id"] = neighbour(ids, state.get("editing_id"), step)
    st.query_params["id"] = str(state["editing_id"])


def start_new() -> None:
    opened.pop(state.get("editing_id"), None)
    state["editing_id"] = None
    st.query_params.pop("id", None)
    for key in ("user_new", "answer_new", "answer_label_new", "tags_new", "test_set_new"):
        state.pop(key, None)


nav = st.container(horizontal=True, vertical_alignment="center")
nav.button("Previous", key="prev", shortcut="Alt+P", on_click=go, args=(-1,))
nav.button("Next", key="next", shortcut="Alt+N", on_click=go, args=(1,))
nav.button("New example", key="new", shortcut="Alt+E", on_click=start_new)
if example:
    nav.markdown(
        f"**Example {example['id']}** · {example['external_id'] or 'written here'} · **{example['status']}** · "
        f"revision {example['revision']} · by {example['author']}"
        + (" · **test set**" if example["split"] == "test" else "")
        + (f" · reviewed by {example['reviewer']}" if example["reviewer"] else "")
    )
else:
    nav.markdown("**A new example** · saved as a draft or submitted for review")

for earlier in example["messages"][:-2] if example and len(example["messages"]) > 2 else []:
    st.chat_message(earlier["role"]).markdown(earlier["content"])
user = st.text_area(
    "User message",
    last_user_text(example["messages"]) if example else "",
    key=f"user_{base}",
    placeholder="What the user sends",
    height=120,
)
answer = editors.answer_input(project.output_spec, answer_text(example["messages"]) if example else "", base)
tags = st.text_input("Tags (comma separated)", ", ".join(example["tags"]) if example else "", key=f"tags_{base}")
in_test_set = st.toggle(
    "In the test set",
    bool(example) and example["split"] == "test",
    key=f"test_set_{base}",
    help="Held out for good: never trained on, never shown to a baseline as an example. When the project has a "
    "test set, evaluation uses it instead of the seeded 10% split.",
)
split = "test" if in_test_set else "train"


def show_format_check(left, user: str, answer: str) -> bool:
    """The format check of the example as typed; True when it may be submitted."""
    problems = answer_problems(project.output_spec, answer)
    problem = "; ".join(problems)
    if not user.strip():
        left.warning("Write the user message first.", icon=":material/edit:")
    elif problems:
        left.error(
            f"The answer breaks the {project.output_spec.kind} format: {problem}. "
            "It can be saved as a draft, not submitted.",
            icon=":material/block:",
        )
    else:
        left.success(
            f"The answer fits the project's {project.output_spec.kind} format.", icon=":material/check_circle:"
        )
    return bool(user.strip()) and not problem


def show_token_count(right, user: str, answer: str) -> None:
    """Tokens of the example as the base model reads it (drawn last: the first count loads the tokenizer)."""
    try:
        counted = count_tokens(project.base_model, single_turn(user, answer), project.description)
    except ModelUnavailable as error:
        right.warning(f"Cannot count tokens: {error}")
        return
    warn = counted.tokens > counted.training_length
    (right.warning if warn else right.info)(counted.verdict(), icon=":material/token:")


format_column, token_column = st.columns(2)
submittable = show_format_check(format_column, user, answer)


def save(status: str | None) -> None:
    messages = single_turn(user, answer) if example is None else with_last_turn(example["messages"], user, answer)
    try:
        if example is None:
            new_id = add_example(
                db, project, messages, ui.current_user(), status or "draft", ui.split_tags(tags), split=split
            )
            state["editing_id"] = new_id
            st.query_params["id"] = str(new_id)
            ui.flash(f"Example {new_id} saved as {status or 'draft'}.")
            return
        changes = {"messages": messages, "tags": ui.split_tags(tags), "split": split}
        changes |= {"status": status} if status else {}
        new_revision = edit_example(db, project, example["id"], opened[example["id"]], ui.current_user(), **changes)
        opened[example["id"]] = new_revision
        ui.flash(f"Saved example {example['id']} as revision {new_revision}.")
    except (InvalidExample, NotAllowed, StaleRevision) as error:
        ui.flash(f"Not saved: {error}", "error")


buttons = st.container(horizontal=True)
if buttons.button("Save", key="save", shortcut="Alt+S", type="primary"):
    save(None)
    st.rerun()
if buttons.button("Submit for review", key="submit", shortcut="Alt+U", disabled=not submittable):
    save("submitted")
    st.rerun()
show_token_count(token_column, user, answer)


def show_conflict() -> None:
    """Another person saved this example after it was opened: show their change, keep ours."""
    mine = opened[example["id"]]
    theirs = [r for r in describe_revisions(db, example["id"]) if r["revision"] > mine]
    with st.container(border=True):
        st.error(
            f"Someone else saved example {example['id']} after you opened it (you started from revision "
            f"{mine}; it is now at {example['revision']}). Saving now is refused so that nothing is overwritten; "
            "your text stays in the editor. Their change:"
        )
        for revision in theirs:
            st.markdown(
                f"**Revision {revision['revision']}** by **{revision['author']}** at {revision['changed_at']:%H:%M:%S}: "
                f"{revision['summary']}"
            )
            st.code(revision["diff"], language="diff")
        if st.button("Load their version (discard my edits)", key="take_theirs"):
            opened[example["id"]] = example["revision"]
            st.rerun()


if example and opened[example["id"]] < example["revision"]:
    show_conflict()

if example:
    history_tab, comments_tab = st.tabs(["History", f"Comments ({len(list_comments(db, example['id']))})"])
    with history_tab:
        for revision in describe_revisions(db, example["id"]):
            with st.expander(
                f"Revision {revision['revision']} · {revision['author']} · "
                f"{revision['changed_at']:%Y-%m-%d %H:%M} · {revision['summary']}",
                key=f"revision_{example['id']}_{revision['revision']}",  # open state follows the revision, not its place
            ):
                st.code(revision["diff"] or "(no change to the text)", language="diff")
                if revision["revision"] != example["revision"] and st.button(
                    f"Restore revision {revision['revision']}", key=f"restore_{revision['revision']}"
                ):
                    try:
                        new = restore_revision(db, project, example["id"], revision["revision"], ui.current_user())
                        opened[example["id"]] = new
                        ui.flash(f"Restored revision {revision['revision']} as revision {new}.")
                    except (InvalidExample, StaleRevision, NotAllowed) as error:
                        ui.flash(f"Not restored: {error}", "error")
                    st.rerun()
    with comments_tab:
        for comment in list_comments(db, example["id"]):
            st.chat_message("user", avatar=":material/person:").markdown(
                f"**{comment['author']}** · {comment['created_at']:%Y-%m-%d %H:%M}\n\n{comment['body']}"
            )
        with st.form("comment", clear_on_submit=True):
            body = st.text_area("Add a comment", key="comment_body", height=80)
            if st.form_submit_button("Post comment"):
                try:
                    add_comment(db, example["id"], ui.current_user(), body)
                except (InvalidExample, NotAllowed) as error:
                    st.error(str(error))
                else:
                    st.rerun()
