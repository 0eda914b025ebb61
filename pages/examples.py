"""Examples page: find examples (filters, full-text search, sort, pages), act on all of them, the trash."""

import pandas as pd
import streamlit as st

from studio import ui
from studio.bulk import ACTIONS, apply_bulk
from studio.examples import STATUSES, NotAllowed, count_by_status, restore_examples
from studio.messages import answer_text, input_text
from studio.search import SORTS, ExampleFilter, authors, find_examples, finding_kinds, search_mode, tag_progress

project = ui.require_project()
db = ui.db()
st.title("Examples")
ui.show_flash()
st.caption(f"Project **{project.name}** · answers must be **{project.output_spec.kind}** · base model {project.base_model}")

counts = count_by_status(db, project)
for column, status in zip(st.columns(len(STATUSES)), STATUSES):
    column.metric(status.capitalize(), counts[status])
with st.expander("Examples per tag, against the project's targets"):
    st.dataframe(pd.DataFrame(tag_progress(db, project), columns=["tag", "examples", "target", "progress"]),
                 hide_index=True, width="stretch",
                 column_config={"progress": st.column_config.ProgressColumn("progress to target", min_value=0, max_value=1)})
    st.caption("Admins set targets per tag on the Settings page.")


def table_of(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([
        {"id": r["id"], "external id": r["external_id"], "status": r["status"], "input": input_text(r["messages"]),
         "answer": answer_text(r["messages"]), "tags": ", ".join(r["tags"]), "author": r["author"],
         "revision": r["revision"], "updated": r["updated_at"]}
        for r in rows
    ], columns=["id", "external id", "status", "input", "answer", "tags", "author", "revision", "updated"])


def filter_bar() -> tuple[ExampleFilter, str, bool, int]:
    progress = tag_progress(db, project)
    text = st.text_input("Search", key="search_text", placeholder="words that must all appear (input, answer, external id)",
                         help=f"Search mode: {search_mode(db)}.")
    status, tag, author, kind, sort, size = st.columns([1, 1, 1, 1, 1, 1])
    chosen = ExampleFilter(
        status=_none(status.selectbox("Status", ["all", *STATUSES], key="filter_status")),
        tag=_none(tag.selectbox("Tag", ["all", *(row["tag"] for row in progress)], key="filter_tag")),
        author=_none(author.selectbox("Author", ["all", *authors(db, project)], key="filter_author")),
        finding_kind=_none(kind.selectbox("Open finding", ["all", *finding_kinds(db, project)], key="filter_finding")),
        text=text,
    )
    order = sort.selectbox("Sort by", SORTS, key="sort_by")
    descending = sort.toggle("Descending", key="sort_desc")
    page_size = size.selectbox("Rows per page", [25, 50, 100], key="page_size")
    return chosen, order, descending, page_size


def _none(value: str) -> str | None:
    return None if value == "all" else value


def show_page(chosen: ExampleFilter, order: str, descending: bool, page_size: int) -> None:
    total = find_examples(db, project, chosen, page_size=1).total
    pages = max(1, -(-total // page_size))
    page = st.number_input(f"Page (of {pages}) · {total} matching", 1, pages, 1, key="page")
    found = find_examples(db, project, chosen, order, descending, page, page_size)
    picked = st.dataframe(table_of(found.rows), hide_index=True, width="stretch", key="example_table",
                          height=min(38 + 35 * len(found.rows), 460), on_select="rerun", selection_mode="single-row")
    selected = picked.selection.rows
    if selected and st.button("Open in the editor", type="primary", key="open_editor"):
        st.switch_page("pages/write.py", query_params={"id": found.rows[selected[0]]["id"]})
    if not selected:
        st.caption("Select a row to open it in the editor.")


def bulk_bar(chosen: ExampleFilter) -> None:
    total = find_examples(db, project, chosen, page_size=1).total
    with st.expander(f"Bulk action on all {total} matching examples (every page)"):
        action_column, value_column = st.columns(2)
        action = action_column.selectbox("Action", ACTIONS, key="bulk_action")
        if action == "set status":
            value = value_column.selectbox("New status", STATUSES, key="bulk_status")
        elif action == "delete":
            value = value_column.text_input("Value", "moves them to the trash", disabled=True, key="bulk_none")
        else:
            value = value_column.text_input("Tag", key="bulk_tag")
        sure = st.checkbox(f"Yes, {action} {value if action != 'delete' else ''} on all {total} examples", key="bulk_sure")
        if st.button("Apply", disabled=not sure or total == 0, key="bulk_apply"):
            run_bulk(chosen, action, value)


def run_bulk(chosen: ExampleFilter, action: str, value: str) -> None:
    try:
        with st.spinner(f"Applying '{action}' to every matching example..."):
            result = apply_bulk(db, project, chosen, action, value, ui.current_user())
    except (NotAllowed, ValueError) as error:
        st.error(f"Nothing changed: {error}")
        return
    skipped = list(result.skipped.items())
    detail = "".join(f"\n- example {i}: {why}" for i, why in skipped[:10]) + ("\n- ..." if len(skipped) > 10 else "")
    ui.flash(result.summary() + detail)
    st.session_state["bulk_sure"] = False
    st.rerun()


def trash() -> None:
    found = find_examples(db, project, ExampleFilter(deleted=True), "updated", True, 1, 200)
    if not found.total:
        st.info("The trash is empty. Deleted examples wait here until someone restores them.")
        return
    st.caption(f"{found.total} examples in the trash (newest first; showing up to 200).")
    table = table_of(found.rows).assign(**{"deleted at": [r["deleted_at"] for r in found.rows]})
    picked = st.dataframe(table, hide_index=True, width="stretch", key="trash_table",
                          on_select="rerun", selection_mode="multi-row")
    chosen_ids = [found.rows[i]["id"] for i in picked.selection.rows]
    if st.button(f"Restore {len(chosen_ids)} selected", disabled=not chosen_ids, key="restore_selected"):
        try:
            restored = restore_examples(db, project, chosen_ids, ui.current_user())
        except NotAllowed as error:
            st.error(str(error))
            return
        ui.flash(f"Restored {restored} examples.")
        st.rerun()


browse_tab, trash_tab = st.tabs(["Browse", "Trash"])
with browse_tab:
    chosen, order, descending, page_size = filter_bar()
    st.session_state["browse_filter"] = chosen
    show_page(chosen, order, descending, page_size)
    bulk_bar(chosen)
with trash_tab:
    trash()
