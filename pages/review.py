"""Review page: the submitted examples one at a time, with their open findings and comments.

Keyboard: Alt+A approve, Alt+X reject, Alt+N next, Alt+P previous.
"""

from pathlib import Path

import streamlit as st

from app import editors, ui
from studio.dataset.examples import InvalidExample, NotAllowed, StaleRevision, get_example, list_comments
from studio.dataset.review import DECISIONS, decide, neighbour, open_findings, review_queue
from studio.project.people import can
from studio.serving.drafts import draft_from_recorded, waiting_answers
from studio.training.launch import list_runs

project = ui.require_project()
db = ui.db()
state = st.session_state
person = ui.current_person()
st.title("Review")
ui.show_flash()
ui.open_draft_button("taken_draft")
editors.shortcuts_in_text_fields()
editors.show_guidelines(project)


def take_served(recorded) -> None:
    """A served answer the model was unsure of, as a draft pre-filled with that answer."""
    try:
        new_id = draft_from_recorded(db, project, recorded, ui.current_user())
    except (InvalidExample, NotAllowed) as error:
        ui.flash(f"Not taken: {error}", "error")
        return
    ui.flash(f"Draft example {new_id} holds the model's answer: correct it in the editor, then submit it.")
    state["taken_draft"] = new_id


served = waiting_answers(db, project, [Path(r["run_dir"]) for r in list_runs(db, project)])
if served:
    with st.expander(f"From production: {len(served)} served answer(s) the model was unsure of", expanded=True):
        for number, recorded in enumerate(served[:20]):
            text, button = st.columns([5, 1], vertical_alignment="center")
            asked = next((m["content"] for m in reversed(recorded.messages) if m["role"] == "user"), "")
            text.markdown(
                f"**{recorded.band}** · confidence {recorded.confidence:.2f} · {asked}  \n"
                f":gray[model: {recorded.answer}]"
            )
            button.button("Take as draft", key=f"served_{number}", on_click=take_served, args=(recorded,))

queue = review_queue(db, project)
if not queue:
    st.success("Nothing waits for review: every submitted example has been decided.", icon=":material/done_all:")
    st.stop()
current = neighbour(queue, state.get("review_id"), 0)
state["review_id"] = current
example = get_example(db, current)


def step(offset: int) -> None:
    state["review_id"] = neighbour(queue, state.get("review_id"), offset)


def decide_shown(decision: str, example_id: int, revision: int) -> None:
    """Decide the example the button was drawn with, even if a later run has moved on."""
    try:
        decide(db, project, example_id, revision, decision, ui.current_user(), state.get("review_comment", ""))
    except (InvalidExample, NotAllowed, StaleRevision) as error:
        ui.flash(f"Not {DECISIONS[decision]}: {error}", "error")
        return
    ui.flash(f"Example {example_id} {DECISIONS[decision]}.")
    state["review_comment"] = ""
    remaining = [i for i in queue if i != example_id]
    state["review_id"] = neighbour(remaining, example_id, 0)


may_review = can(person, "review")
st.caption(
    f"{len(queue)} submitted example(s) wait · this is number {queue.index(current) + 1} · "
    "keys: Alt+A approve, Alt+X reject, Alt+N next, Alt+P previous"
)
if not may_review:
    st.info(f"You are {person.name}, an {person.role}: you can read and comment; a reviewer or admin approves.")

left, right = st.columns([3, 2])
with left, st.container(border=True):
    st.markdown(
        f"**Example {example['id']}** · {example['external_id'] or 'written in the studio'} · by "
        f"**{example['author']}** · revision {example['revision']} · tags: {', '.join(example['tags']) or '–'}"
    )
    for message in example["messages"]:
        with st.chat_message(message["role"]):
            if message["role"] == "assistant" and project.output_spec.kind == "json":
                st.code(message["content"], language="json", wrap_lines=True)
            else:
                st.markdown(message["content"])
with right:
    findings = open_findings(db, example["id"])
    st.markdown(f"**Open findings** ({len(findings)})")
    for finding in findings:
        icon = ":material/error:" if finding.severity == "error" else ":material/warning:"
        st.markdown(f"{icon} **{finding.kind}** · {finding.explanation}")
    if not findings:
        st.caption("The checks found nothing about this example (run them on the Quality page).")
    st.markdown("**Comments**")
    for comment in list_comments(db, example["id"]):
        st.markdown(f"**{comment['author']}** · {comment['created_at']:%m-%d %H:%M}: {comment['body']}")
    st.text_input(
        "Comment with your decision (optional)",
        key="review_comment",
        placeholder="why: the author sees this in the example's thread",
    )

row = st.container(horizontal=True)
row.button(
    "Approve",
    key="approve",
    type="primary",
    shortcut="Alt+A",
    on_click=decide_shown,
    args=("approve", example["id"], example["revision"]),
    disabled=not may_review,
)
row.button(
    "Reject",
    key="reject",
    shortcut="Alt+X",
    on_click=decide_shown,
    args=("reject", example["id"], example["revision"]),
    disabled=not may_review,
)
row.button("Previous", key="review_prev", shortcut="Alt+P", on_click=step, args=(-1,))
row.button("Next", key="review_next", shortcut="Alt+N", on_click=step, args=(1,))
if row.button("Edit", key="review_edit"):
    st.switch_page(ui.page_file("write.py"), query_params={"id": example["id"]})
