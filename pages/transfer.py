"""Import & export page: preview a file's import (every bad row listed), import it all-or-nothing, download an export."""

import functools
import json
from dataclasses import replace

import pandas as pd
import streamlit as st

from app import ui
from studio.dataset.examples import STATUSES
from studio.dataset.messages import answer_text, input_text
from studio.project.confinement import OutsideAllowedFolders, import_roots
from studio.project.people import NotAllowed
from studio.transfer.columns import PART_HELP, PARTS, ColumnMapping, guess_mapping, maps_examples
from studio.transfer.imports import (
    FROM_FILE,
    ImportOptions,
    ImportRefused,
    app_import_path,
    import_proposed,
    plan_source,
    propose_for_plan,
    stage_upload,
)
from studio.transfer.readers import FORMATS, UnreadableFile, read_source
from studio.transfer.writers import (
    EXPORT_FORMATS,
    count_selected,
    download_mime,
    download_name,
    export_bytes,
    project_tags,
)

project = ui.require_project()
db = ui.db()
st.title("Import & export")
ui.show_flash()

st.subheader("Import")
uploaded = st.file_uploader(
    "A file to import",
    type=["jsonl", "json", "ndjson", "csv", "tsv", "parquet", "zip"],
    key="import_upload",
    help="OpenAI chat, prompt/completion or Alpaca JSONL (or a JSON array), CSV, Parquet, or a zipped datasets folder.",
)
typed_path = st.text_input(
    "…or a path on this machine (a file, or a Hugging Face datasets folder)",
    key="import_path",
    help=f"In {import_roots()[0]} (a name alone looks there) or a folder an admin allowed.",
)
try:
    path = (
        stage_upload(uploaded.name, uploaded.getvalue())
        if uploaded
        else (typed_path.strip() and app_import_path(typed_path))
    )
except OutsideAllowedFolders as error:
    st.error(str(error))
    path = None


def run_import(options: ImportOptions, proposal=None) -> None:
    try:
        # the proposed task and the examples land together, or neither does
        target, counts = import_proposed(db, project, path, ui.current_user(), options, proposal, ui.current_person())
    except (ImportRefused, UnreadableFile, ValueError, FileNotFoundError, NotAllowed) as error:
        ui.flash(f"Nothing was imported: {error}", "error")
        return
    status = "their own status" if options.status == FROM_FILE else options.status
    task = f" The project's format is now {target.output_spec.kind}." if proposal else ""
    drafts = (
        " Drafts are not trained on: approve them on the Examples page (Bulk action, set status approved)."
        if options.status in (None, "draft") and counts["imported"]
        else ""
    )
    test_set = " They are the project's test set: never trained on, evaluated on." if options.into == "test" else ""
    ui.flash(
        f"Imported {counts['imported']} examples into {project.name} as {status}; {counts['skipped']} were already "
        f"there.{task}{test_set}{drafts}"
    )


def show_proposal(plan, key: str):
    """What the data says the task is, in boxes to edit; None when the project keeps its own task."""
    proposal = propose_for_plan(db, project, plan)
    if proposal is None:
        return None
    with st.container(border=True, key="task_proposal"):
        st.markdown("**The data suggests this task** (set when you import, unless you untick it)")
        st.caption(proposal.reason)
        if proposal.label_counts:
            st.dataframe(
                pd.DataFrame([{"label": k, "examples": n} for k, n in proposal.label_counts.items()]),
                hide_index=True,
                height=min(400, 38 + 35 * len(proposal.label_counts)),
            )
        description = project.description
        if not project.description.strip():
            description = st.text_area(
                "Task description (the system message most rows share)",
                proposal.description,
                key=f"proposal_description_{key}",
                height=100,
                placeholder="e.g. Name the intent of the customer's message.",
            )
            if not description.strip():
                st.info(
                    "The file has no system message, so the task description is empty. The description becomes "
                    "the system prompt the model is trained with and the prompt the baselines are scored with: "
                    "write one or two sentences saying what the model must do.",
                    icon=":material/edit_note:",
                )
        spec_text = st.text_area(
            "Output format",
            json.dumps(proposal.output_spec, indent=2),
            key=f"proposal_spec_{key}",
            height=160,
            help='{"kind": "labels", "labels": [...]}, {"kind": "json", "schema": {...}}, '
            '{"kind": "regex", "pattern": "..."} or {"kind": "text"}',
        )
        if not st.checkbox("Set this task when importing", True, key=f"proposal_apply_{key}"):
            return None
    try:
        spec = json.loads(spec_text)
    except json.JSONDecodeError as error:
        st.error(f"The output format is not valid JSON: {error.msg} at line {error.lineno}")
        return None
    return replace(proposal, description=description.strip(), output_spec=spec)


def mapping_widgets(source, key: str) -> ColumnMapping:
    """One box per part, pre-filled with the guess from the column names and, where they say nothing, the values."""
    columns = source.columns
    guessed = guess_mapping(columns, [record.values for record in source.records]).to_dict()
    choices = ["—", *columns]
    chosen = {}
    for column, part in zip(st.columns(4) * 2, PARTS):
        default = choices.index(guessed[part]) if part in guessed else 0
        value = column.selectbox(part, choices, index=default, key=f"map_{part}_{key}", help=PART_HELP[part])
        chosen[part] = None if value == "—" else value
    return ColumnMapping(**chosen)


def show_preview(source, options: ImportOptions) -> None:
    plan = plan_source(db, project, source, options)
    counts = st.columns(3)
    counts[0].metric("New", len(plan.new))
    counts[1].metric("Already there", plan.skipped)
    counts[2].metric("Bad rows", len(plan.bad_rows))
    if plan.bad_rows:
        n_bad = len(plan.bad_rows)
        st.error(f"{n_bad} bad row{'s' * (n_bad != 1)}: nothing will be imported until every one is fixed.")
        st.dataframe(
            pd.DataFrame([{"where": f"{b.where} {b.number}", "reason": b.reason} for b in plan.bad_rows]),
            hide_index=True,
            width="stretch",
            column_config={"where": st.column_config.TextColumn(width="small")},
        )
    if plan.new:
        st.caption(f"The first {min(len(plan.new), 10)} of {len(plan.new)} new examples")
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "external id": e["external_id"] or "",
                        "input": input_text(e["messages"]),
                        "answer": answer_text(e["messages"]),
                        "turns": len(e["messages"]),
                        "tags": ", ".join(e["tags"]),
                        "status": e["status"],
                    }
                    for e in plan.new[:10]
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    proposal = show_proposal(plan, f"{source.path.name}_{len(plan.new)}")
    st.button(
        f"Import {len(plan.new)} examples",
        type="primary",
        key="run_import",
        on_click=run_import,
        args=(options, proposal),
        disabled=bool(plan.bad_rows) or not plan.new,
    )


def show_import() -> None:
    left, middle, right = st.columns(3)
    chosen_format = left.selectbox("File format", ["detect", *FORMATS], key="import_format")
    split = middle.text_input("Split (datasets folder)", "train", key="import_split")
    status = right.selectbox(
        "Status of the new examples",
        [*STATUSES, FROM_FILE],
        key="import_status",
        format_func=lambda s: "as in the file" if s == FROM_FILE else s,
        help="Only approved examples are trained on and evaluated.",
    )
    into = st.radio(
        "Use the new examples for",
        ["train", "test"],
        horizontal=True,
        key="import_into",
        format_func=lambda s: "training" if s == "train" else "the test set (held out for good)",
        help="A test set the experts keep is never trained on and never shown to a baseline as an example; "
        "when a project has one, evaluation uses it instead of the seeded 10% split.",
    )
    st.caption(
        ":material/info: Only **approved** examples are trained on. New examples come in as **draft** so that "
        "someone looks at them first; approve them on the Examples page (one bulk action for all of them). Choose "
        "approved here when the file is already checked."
    )
    try:
        source = read_source(path, None if chosen_format == "detect" else chosen_format, split)
        st.caption(
            f"Read as **{source.format}** · columns: {', '.join(source.columns) or 'none'}"
            + (f" · splits: {', '.join(source.splits)}" if source.splits else "")
        )
        with st.expander("Column mapping", expanded=True):
            mapping = mapping_widgets(source, f"{source.path.name}_{source.format}")
        if source.records and not maps_examples(mapping):
            st.info(
                "Choose the column that holds each example's input (the user's message) and the column that holds "
                "its answer, or one column that holds whole conversations.",
                icon=":material/table_chart:",
            )
            return
        show_preview(
            source, ImportOptions(format=source.format, mapping=mapping, split=split, status=status, into=into)
        )
    except (UnreadableFile, ValueError, FileNotFoundError) as error:
        st.error(str(error))


if path:
    show_import()

st.subheader("Export")
left, middle, right = st.columns(3)
export_format = left.selectbox(
    "Export format",
    EXPORT_FORMATS,
    key="export_format",
    format_func={
        "jsonl": "OpenAI chat JSONL",
        "hf": "Hugging Face datasets folder (zip)",
        "parquet": "Parquet",
        "csv": "CSV",
    }.get,
)
export_status = middle.selectbox(
    "Status", ["approved", "all", *[s for s in STATUSES if s != "approved"]], key="export_status"
)
export_tag = right.selectbox("Tag", ["any", *project_tags(db, project)], key="export_tag")
status_filter = None if export_status == "all" else export_status
tag_filter = None if export_tag == "any" else export_tag
selected = count_selected(db, project, status_filter, tag_filter)
file_name = download_name(project, export_format, status_filter, tag_filter)
st.caption(f"{selected} examples match · {file_name}")
st.download_button(
    f"Download {selected} examples",
    key="export_download",
    disabled=not selected,
    data=functools.partial(export_bytes, db, project, export_format, status_filter, tag_filter),
    file_name=file_name,
    mime=download_mime(export_format),
)
