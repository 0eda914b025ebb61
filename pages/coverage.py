"""Coverage page: clusters of inputs on a map, counts against targets, and production inputs no example covers."""

from pathlib import Path

import pandas as pd
import streamlit as st

from app import ui
from studio.checks.coverage import (
    COVERED_SIMILARITY,
    coverage_map,
    draft_from_production,
    map_figure,
    production_gaps,
    set_coverage_targets,
)
from studio.checks.runner import load_findings
from studio.project.people import NotAllowed
from studio.serving.recording import recorded_inputs
from studio.training.launch import list_runs
from studio.transfer.production import ProductionSample, read_sample

project = ui.require_project()
db = ui.db()
st.title("Coverage")
ui.show_flash()

with st.spinner("Clustering the inputs..."):
    view = coverage_map(db, project, load_findings(db, project))
if view.points.empty:
    st.info("No examples yet: add some on the Examples page.")
    st.stop()

colour = st.segmented_control("Colour by", ["cluster", "tag", "status", "findings"], default="cluster", key="colour_by")
st.plotly_chart(map_figure(view.points, colour or "cluster"), key="coverage_map")
left, right = st.columns(2)
with left:
    st.subheader("Clusters")
    st.dataframe(view.clusters, hide_index=True, width="stretch")
with right:
    st.subheader("Tags against targets")
    edited = st.data_editor(
        view.tags,
        hide_index=True,
        width="stretch",
        key="tag_targets",
        num_rows="dynamic",
        disabled=["examples", "approved", "missing"],
        column_config={"target": st.column_config.NumberColumn(min_value=0, step=1)},
    )


def save_targets() -> None:
    rows = edited.dropna(subset=["tag"])
    try:
        set_coverage_targets(
            db,
            project,
            {row.tag: row.target if pd.notna(row.target) else 0 for row in rows.itertuples()},
            ui.current_person(),
        )
    except (NotAllowed, ValueError) as error:
        ui.flash(f"Not saved: {error}", "error")
        return
    ui.flash("Targets saved.")


right.button("Save targets", on_click=save_targets, key="save_targets")

st.header("Production coverage")
st.caption(
    "Upload real, unlabelled inputs (a .txt with one per line, a .csv column, or .jsonl); "
    "the studio shows which are far from every example."
)
upload = st.file_uploader("Production sample", type=["txt", "csv", "jsonl"], key="production_file")
served = recorded_inputs([Path(r["run_dir"]) for r in list_runs(db, project)])
use_served = bool(served) and st.toggle(
    f"Compare the {len(served)} inputs the served model was unsure of instead",
    key="production_served",
    help="Recorded by `studio model serve --record` (Deploy page).",
)
column, threshold_column = st.columns(2)
field = column.text_input("CSV column or JSONL field (optional)", key="production_field")
threshold = threshold_column.slider(
    "Covered when the nearest example is at least this alike",
    0.2,
    0.9,
    COVERED_SIMILARITY,
    0.05,
    key="covered_threshold",
)


def make_draft(text: str) -> None:
    new_id = draft_from_production(db, project, text, ui.current_user())
    ui.flash(f"Draft example {new_id} created from a production input: answer it on the Examples page.")


if upload is not None or use_served:
    sample = (
        ProductionSample(served, [])
        if use_served
        else read_sample(upload.name, upload.getvalue(), field.strip() or None)
    )
    for problem in sample.problems[:10]:
        st.warning(f"Skipped {problem}")
    if sample.inputs:
        with st.spinner(f"Comparing {len(sample.inputs)} production inputs with the examples..."):
            gaps = production_gaps(db, project, sample.inputs, threshold)
        uncovered = gaps.inputs[~gaps.inputs["covered"]]
        a, b = st.columns(2)
        a.metric("Production inputs", len(gaps.inputs))
        b.metric("Far from every example", len(uncovered))
        for number, cluster in enumerate(gaps.clusters.itertuples()):
            with st.container(border=True, key=f"gap_{number}"):
                st.markdown(f"**{cluster.cluster}** · {cluster.inputs} uncovered inputs")
                for index, row in uncovered[uncovered["cluster"] == cluster.cluster].head(5).iterrows():
                    text, button = st.columns([5, 1], vertical_alignment="center")
                    text.markdown(
                        f"{row['input']}  \n:gray[nearest example {row['nearest example']}, "
                        f"similarity {row['similarity']:.2f}]"
                    )
                    button.button("Make draft", key=f"draft_{index}", on_click=make_draft, args=(row["input"],))
        with st.expander("Every production input"):
            st.dataframe(gaps.inputs, hide_index=True, width="stretch")
