"""Examples page: find examples (filters, full-text search, sort, pages), act on all of them, the trash."""

import pandas as pd
import streamlit as st

from app import ui
from studio.dataset.bulk import ACTIONS, apply_bulk
from studio.dataset.examples import SPLITS, STATUSES, NotAllowed, restore_examples
from studio.dataset.messages import answer_text, input_text
from studio.dataset.search import SORTS, ExampleFilter, Overview, Page, PageRequest, browse, find_examples

project = ui.require_project()
db = ui.db()
st.title("Examples")
ui.show_flash()
st.caption(
    f"Project **{project.name}** · answers must be **{project.output_spec.kind}** · base model {project.base_model}"
)


def table_of(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "id": r["id"],
                "external id": r["external_id"] or "",
                "status": r["status"],
                "input": input_text(r["messages"]),
                "answer": answer_text(r["messages"]),
                "tags": ", ".join(r["tags"]),
                "author": r["author"],
                "revision": r["revision"],
                "updated": r["updated_at"],
            }
            for r in rows
        ],
        columns=["id", "external id", "status", "input", "answer", "tags", "author", "revision", "updated"],
    )


def chosen_filter() -> tuple[ExampleFilter, str, bool, int]:
    """The filter, sort and page size as the widgets below hold them (read before drawing them,
    so that one database visit serves the whole page)."""
    state = st.session_state
    chosen = ExampleFilter(
        status=_none(state.get("filter_status", "all")),
        tag=_none(state.get("filter_tag", "all")),
        author=_none(state.get("filter_author", "all")),
        finding_kind=_none(state.get("filter_finding", "all")),
        text=state.get("search_text", ""),
    )
    return chosen, state.get("sort_by", "id"), state.get("sort_desc", False), state.get("page_size", 25)


def filter_bar(summary: Overview) -> None:
    st.text_input(
        "Search",
        key="search_text",
        placeholder="words that must all appear (input, answer, external id)",
        help=f"Search mode: {summary.search_mode}.",
    )
    if summary.search_mode != "full-text":
        st.caption(
            ":material/info: Full-text search is unavailable on this machine (the duckdb-extension-fts "
            "package did not load), so search matches words as substrings: slower on large projects."
        )
    status, tag, author, kind, sort, size = st.columns([1, 1, 1, 1, 1, 1])
    status.selectbox("Status", ["all", *STATUSES], key="filter_status")
    tag.selectbox("Tag", ["all", *(row["tag"] for row in summary.tags)], key="filter_tag")
    author.selectbox("Author", ["all", *summary.authors], key="filter_author")
    kind.selectbox("Open finding", ["all", *summary.finding_kinds], key="filter_finding")
    sort.selectbox("Sort by", SORTS, key="sort_by")
    sort.toggle("Descending", key="sort_desc")
    size.selectbox("Rows per page", [25, 50, 100], key="page_size")


def _none(value: str) -> str | None:
    return None if value == "all" else value


def show_page(found: Page) -> None:
    """The page number (clamped to the pages the filter gives) and the table of that page."""
    st.session_state["page"] = found.number
    st.number_input(f"Page (of {found.pages}) · {found.total} matching", 1, found.pages, key="page")
    show_table(found.rows)


def show_table(rows: list[dict]) -> None:
    """The rows, one selectable; the selected one opens in the editor."""
    picked = st.dataframe(
        table_of(rows),
        hide_index=True,
        width="stretch",
        key="example_table",
        height=min(38 + 35 * len(rows), 460),
        on_select="rerun",
        selection_mode="single-row",
    )
    selected = [i for i in picked.selection.rows if i < len(rows)]
    if selected and st.button("Open in the editor", type="primary", key="open_editor"):
        st.switch_page(ui.page_file("write.py"), query_params={"id": rows[selected[0]]["id"]})
    if not selected:
        st.caption("Select a row to open it in the editor.")


def bulk_bar(total: int) -> None:
    with st.expander(f"Bulk action on all {total} matching examples (every page)"):
        action_column, value_column = st.columns(2)
        action = action_column.selectbox("Action", ACTIONS, key="bulk_action")
        if action == "set status":
            value = value_column.selectbox("New status", STATUSES, key="bulk_status")
        elif action == "set split":
            value = value_column.selectbox(
                "New split", SPLITS, key="bulk_split", help="test: the project's test set, never trained on"
            )
        elif action == "delete":
            value = value_column.text_input("Value", "moves them to the trash", disabled=True, key="bulk_none")
        else:
            value = value_column.text_input("Tag", key="bulk_tag")
        sure = st.checkbox(
            f"Yes, {action} {value if action != 'delete' else ''} on all {total} examples", key="bulk_sure"
        )
        st.button("Apply", disabled=not sure or total == 0, key="bulk_apply", on_click=run_bulk)


def bulk_value(action: str) -> str:
    """The value the bar's second box holds for `action`, read from its widget's state (a callback runs
    before the bar is drawn again, with what the user last typed)."""
    state = st.session_state
    if action == "set status":
        return state.get("bulk_status", STATUSES[0])
    if action == "set split":
        return state.get("bulk_split", SPLITS[0])
    return "" if action == "delete" else state.get("bulk_tag", "")


def run_bulk() -> None:
    """The Apply button's callback: it runs before the page draws, so the counters, the table and the
    message below the title already show the change, and the confirmation box can be cleared."""
    state = st.session_state
    action = state.get("bulk_action", ACTIONS[0])
    value = bulk_value(action)
    state["bulk_sure"] = False
    try:
        with st.spinner(f"Applying '{action}' to every matching example..."):
            result = apply_bulk(db, project, chosen_filter()[0], action, value, ui.current_user())
    except (NotAllowed, ValueError) as error:
        ui.flash(f"Nothing changed: {error}", "error")
        return
    skipped = list(result.skipped.items())
    detail = "".join(f"\n- example {i}: {why}" for i, why in skipped[:10]) + ("\n- ..." if len(skipped) > 10 else "")
    ui.flash(result.summary() + detail)


def trash() -> None:
    found = find_examples(db, project, ExampleFilter(deleted=True), PageRequest("updated", True, 1, 200))
    if not found.total:
        st.info("The trash is empty. Deleted examples wait here until someone restores them.")
        return
    st.caption(f"{found.total} examples in the trash (newest first; showing up to 200).")
    table = table_of(found.rows).assign(**{"deleted at": [r["deleted_at"] for r in found.rows]})
    picked = st.dataframe(
        table, hide_index=True, width="stretch", key="trash_table", on_select="rerun", selection_mode="multi-row"
    )
    chosen_ids = [found.rows[i]["id"] for i in picked.selection.rows]
    if st.button(f"Restore {len(chosen_ids)} selected", disabled=not chosen_ids, key="restore_selected"):
        try:
            restored = restore_examples(db, project, chosen_ids, ui.current_user())
        except NotAllowed as error:
            st.error(str(error))
            return
        ui.flash(f"Restored {restored} examples.")
        st.rerun()


chosen, order, descending, page_size = chosen_filter()
if st.session_state.get("last_filter") != (chosen, order, descending, page_size):  # a new filter starts on page 1
    st.session_state["last_filter"], st.session_state["page"] = (chosen, order, descending, page_size), 1
summary, found = browse(db, project, chosen, PageRequest(order, descending, st.session_state.get("page", 1), page_size))
for column, status in zip(st.columns(len(STATUSES)), STATUSES):
    column.metric(status.capitalize(), summary.counts[status])
with st.expander("Examples per tag, against the project's targets"):
    st.dataframe(
        pd.DataFrame(summary.tags, columns=["tag", "examples", "approved", "target", "progress"]),
        hide_index=True,
        width="stretch",
        column_config={"progress": st.column_config.ProgressColumn("approved / target", min_value=0, max_value=1)},
    )
    st.caption("Admins set targets per tag on the Settings page.")

if (
    st.segmented_control("View", ["Browse", "Trash"], default="Browse", key="view", label_visibility="collapsed")
    == "Trash"
):
    trash()
else:
    filter_bar(summary)
    st.session_state["browse_filter"] = chosen
    show_page(found)
    bulk_bar(found.total)
