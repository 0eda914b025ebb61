"""Examples page: browse the project's examples a page at a time, add one, edit one."""

import math

import pandas as pd
import streamlit as st

from studio import ui
from studio.examples import (
    STATUSES, InvalidExample, StaleRevision, add_example, count_by_status, edit_example, get_example, list_examples,
)
from studio.messages import answer_text, input_text, last_user_text, single_turn, with_last_turn

project = ui.require_project()
db = ui.db()
st.title("Examples")
ui.show_flash()
st.caption(f"Project **{project.name}** · answers must be **{project.output_spec.kind}** · base model {project.base_model}")

counts = count_by_status(db, project)
for column, status in zip(st.columns(len(STATUSES)), STATUSES):
    column.metric(status.capitalize(), counts[status])

left, middle, right = st.columns([2, 1, 1])
status_filter = left.selectbox("Status", ["all", *STATUSES], key="status_filter")
page_size = middle.selectbox("Rows per page", [25, 50, 100], key="page_size")
total = sum(counts.values()) if status_filter == "all" else counts[status_filter]
pages = max(1, math.ceil(total / page_size))
page = right.number_input(f"Page (of {pages})", min_value=1, max_value=pages, value=1, key="page")
status = None if status_filter == "all" else status_filter
rows = list_examples(db, project, status=status, limit=page_size, offset=(page - 1) * page_size)
table = pd.DataFrame([
    {"id": r["id"], "external id": r["external_id"], "status": r["status"], "input": input_text(r["messages"]),
     "answer": answer_text(r["messages"]), "tags": ", ".join(r["tags"]), "revision": r["revision"],
     "updated": r["updated_at"]}
    for r in rows
])
st.dataframe(table, hide_index=True, width="stretch", height=min(38 + 35 * len(rows), 460))



def add_new_example() -> None:
    state = st.session_state
    try:
        new_id = add_example(db, project, single_turn(state.new_user, state.new_answer), ui.current_user(),
                             state.new_status, ui.split_tags(state.new_tags))
    except InvalidExample as error:
        ui.flash(f"Not saved: {error}", "error")
        return
    ui.flash(f"Example {new_id} added as {state.new_status}.")
    state.new_user, state.new_answer = "", ""


def save_edit(example: dict) -> None:
    state, key = st.session_state, f"{example['id']}_{example['revision']}"
    try:
        revision = edit_example(
            db, project, example["id"], example["revision"], ui.current_user(),
            messages=with_last_turn(example["messages"], state[f"user_{key}"], state[f"answer_{key}"]),
            status=state[f"status_{key}"], tags=ui.split_tags(state[f"tags_{key}"]),
        )
    except (InvalidExample, StaleRevision) as error:
        ui.flash(f"Not saved: {error}", "error")
        return
    ui.flash(f"Saved example {example['id']} as revision {revision}.")


add_tab, edit_tab = st.tabs(["Add an example", "Edit an example"])

with add_tab, st.form("add_example"):
    st.text_area("User message", key="new_user", placeholder="What the user sends")
    st.text_area("Expected answer", key="new_answer", placeholder="What the model should answer")
    st.text_input("Tags (comma separated)", key="new_tags")
    st.selectbox("Status", STATUSES[:3], key="new_status")
    st.form_submit_button("Add example", type="primary", on_click=add_new_example)

with edit_tab:
    choices = {r["id"]: f"{r['id']} · {r['external_id'] or 'new'} · {input_text(r['messages'])[:70]}" for r in rows}
    chosen = st.selectbox("Example (on this page)", list(choices), format_func=choices.get, key="edit_choice")
    example = get_example(db, chosen) if chosen else None
    if example:
        key = f"{example['id']}_{example['revision']}"
        with st.form(f"edit_{key}"):
            st.text_area("User message", last_user_text(example["messages"]), key=f"user_{key}")
            st.text_area("Expected answer", answer_text(example["messages"]), key=f"answer_{key}")
            st.text_input("Tags (comma separated)", ", ".join(example["tags"]), key=f"tags_{key}")
            st.selectbox("Status", STATUSES, index=STATUSES.index(example["status"]), key=f"status_{key}")
            st.caption(f"Revision {example['revision']} · author {example['author']} · reviewer {example['reviewer'] or '–'}")
            st.form_submit_button("Save changes", type="primary", on_click=save_edit, args=(example,))
