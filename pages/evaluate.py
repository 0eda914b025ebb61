"""Evaluate page: is the fine-tune worth shipping? Leaderboard, verdict, slices, side by side, routing."""

from pathlib import Path

import pandas as pd
import streamlit as st

from app import ui
from studio.dataset.examples import draft_from_failure
from studio.evaluation import charts
from studio.evaluation.dashboard import SIDE_FILTERS, build_dashboard, side_by_side
from studio.evaluation.leaderboard import describe_metric
from studio.evaluation.report import render_report
from studio.evaluation.routing import RoutingConfig
from studio.evaluation.slices import slice_dimensions
from studio.evaluation.thresholds import save_routing, saved_routing
from studio.project.people import NotAllowed, can
from studio.training.crossval import launch_cross_validation
from studio.training.launch import list_runs
from studio.training.manifest import read_manifest
from studio.training.supervisor import sync_runs

project = ui.require_project()
db = ui.db()
st.title("Evaluate")
ui.show_flash()
ui.open_draft_button("failure_draft")
sync_runs(db)
finished = [r for r in list_runs(db, project) if r["status"] == "succeeded"]
if not finished:
    st.info("No finished run yet. Start one on the Train page; its held-out examples are answered when it ends.")
    st.page_link(ui.page_file("train.py"), label="Go to Train", icon=":material/model_training:")
    st.stop()

labels = {r["id"]: f"{r['id']} · {r['n_train']} train / {r['n_eval']} held-out" for r in finished}
run = next(r for r in finished if r["id"] == st.selectbox("Run", list(labels), format_func=labels.get, key="eval_run"))


def keep_routing(run_id: str) -> None:
    """Save the thresholds just moved with the run: the Deploy page serves with them."""
    high = st.session_state[f"route_high_{run_id}"]
    save_routing(
        db, run_id, RoutingConfig(high, min(st.session_state[f"route_low_{run_id}"], high)), ui.current_person()
    )


saved, saving = saved_routing(run), can(ui.current_person(), "train")
keep = {"on_change": keep_routing, "args": (run["id"],)} if saving else {}
with st.sidebar.expander("Routing thresholds", expanded=False):
    high = st.slider(
        "Straight through at confidence ≥", 0.0, 1.0, saved.high, 0.01, key=f"route_high_{run['id']}", **keep
    )
    low = st.slider(
        "Human review at confidence ≥",
        0.0,
        1.0,
        saved.low,
        0.01,
        key=f"route_low_{run['id']}",
        help="Kept at or below the straight-through threshold.",
        **keep,
    )
    st.caption(
        "Saved with this run; the Deploy page serves with them."
        if saving
        else "These apply on this page only: only an admin saves them for the Deploy page."
    )
board = build_dashboard(db, project, run, RoutingConfig(high=high, low=min(low, high)))
metric = board.metric

verdict = board.verdict
show = {"ship": st.success, "do not ship": st.error}.get(verdict.decision, st.warning)
show(
    f"**{verdict.headline}**\n\n"
    + "".join(f"**{warning}**\n\n" for warning in verdict.warnings)
    + (f"{verdict.resolution}\n\n" if verdict.resolution else "")
    + "\n".join(f"- {step}" for step in verdict.next_steps)
)

st.subheader("Leaderboard")
st.caption(
    f"Ranked by **{metric}**: {describe_metric(metric)}. Held-out set {board.held_out_hash}; "
    f"ship margin {100 * project.ship_margin:.0f} points."
)
st.dataframe(
    pd.DataFrame(
        [
            {
                "rank": r.rank,
                "model": r.label,
                metric: round(r.primary_value, 3),
                "95% interval": f"{r.low:.3f} – {r.high:.3f}",
                "n": r.n,
                "tokens/s": round(r.metrics["tokens_per_second"] or 0, 1),
                "latency s": round(r.metrics["latency_s"], 3),
            }
            for r in board.leaderboard
        ]
    ),
    hide_index=True,
    width="stretch",
)
st.plotly_chart(charts.leaderboard_chart(board.leaderboard), width="stretch", key="leaderboard_chart")
st.caption(f"The numbers come from {board.numbers_from}.")
if board.split_counts:
    with st.expander("Examples per label: trained on and held out"):
        st.dataframe(
            pd.DataFrame(
                [
                    {"label": c.label or "(all)", "trained on": c.train, "held out": c.held_out}
                    for c in board.split_counts
                ]
            ),
            hide_index=True,
        )


def cross_validate() -> None:
    """The button's callback: queue K-fold cross-validation of this run's settings (one job, like a run)."""
    k = st.session_state.get("cv_folds", 5)
    try:
        job = launch_cross_validation(db, project, run, k, ui.current_person())
    except (ValueError, NotAllowed) as error:
        ui.flash(f"Cross-validation not started: {error}", "error")
        return
    ui.flash(f"Cross-validation {job} queued: {k} adapters; pick it in Run when it ends (Train shows it going).")


if board.held_out_source != "folds":
    with st.expander("Cross-validate: a tighter estimate for a small project"):
        st.number_input("Folds", 2, 10, 5, key="cv_folds")
        st.button("Cross-validate", key="cross_validate", on_click=cross_validate)
for other in board.not_ranked:
    st.caption(f"Not ranked here: run {other['run_id']}, {other['why']} ({other['held_out_hash']}).")
if board.comparison:
    c = board.comparison
    mcnemar = f" · McNemar p = {c['mcnemar']['p_value']:.3f}" if "mcnemar" in c else ""
    st.caption(
        f"Paired difference, {c.get('candidate', 'tuned')} − {c['baseline']}: {100 * c['difference']:+.1f} points "
        f"(95% interval {100 * c['low']:+.1f} to {100 * c['high']:+.1f}){mcnemar}, on {c['n']} examples."
    )

slices_tab, side_tab, routing_tab, detail_tab = st.tabs(["Slices", "Side by side", "Confidence routing", "Details"])
with slices_tab:
    left, right = st.columns(2)
    dimension = left.radio(
        "Slice by",
        slice_dimensions(board.slices),
        horizontal=True,
        key="slice_dimension",
        help="Expected answer groups the held-out examples by their label (or a JSON answer's first field with a "
        "fixed set of values). Input clusters group the held-out inputs by meaning, named by their most telling "
        "words, as on the Coverage page.",
    )
    metrics = sorted({k for row in board.slices for k in row} - {"dimension", "slice", "model", "n", "score"})
    shown = right.selectbox("Metric", metrics, index=metrics.index(metric), key="slice_metric")
    st.plotly_chart(charts.slice_chart(board.slices, dimension, shown), width="stretch", key="slice_chart")


def side_table(rows: list[dict], ranked: list[str], differences: bool) -> tuple[pd.DataFrame, dict]:
    """The side-by-side table with the tuned model's answer first, then the others by rank, each answer beside
    its score, in widths that keep every model's answer on screen (the inputs and answers wrap on hover)."""
    table = pd.DataFrame(rows)
    models = [c.removesuffix(" score") for c in table.columns if c.endswith(" score")]
    models = sorted(models, key=lambda m: (m != "tuned", ranked.index(m) if m in ranked else len(ranked), m))
    per_model = [[m, f"{m} score", *([f"{m} differs in"] if differences else [])] for m in models]
    columns = ["example", "input", "expected", *(c for group in per_model for c in group)]
    # about 900 pixels: the page's width beside the sidebar on a laptop screen
    answer_width = max(100, (900 - 80 - 200 - 120 - len(models) * (60 + 90 * differences)) // max(len(models), 1))
    widths = {
        "example": st.column_config.TextColumn(width=80, pinned=True),
        "input": st.column_config.TextColumn(width=200),
        "expected": st.column_config.TextColumn(width=120),
        **{m: st.column_config.TextColumn(width=answer_width) for m in models},
        **{f"{m} score": st.column_config.NumberColumn("score", width=60, help=f"{m}'s score") for m in models},
        **{f"{m} differs in": st.column_config.TextColumn("differs in", width=90) for m in models},
    }
    return table.reindex(columns=[c for c in columns if c in table.columns]), widths


with side_tab:
    show_rows = st.radio("Show", SIDE_FILTERS, horizontal=True, key="side_filter")
    rows = side_by_side(board.predictions, metric, board.comparison, show_rows)
    differences = st.toggle("Show where each answer differs", key="side_differences")
    st.caption(f"{len(rows)} held-out examples.")
    table, widths = side_table(rows, [r.model for r in board.leaderboard], differences)
    st.dataframe(table, hide_index=True, width="stretch", key="side_table", column_config=widths)
    by_name = {row["example"]: row for row in rows}
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    pick = left.selectbox("Held-out example", list(by_name), key="failure_pick")
    if pick and right.button("Turn into a draft example", key="make_draft"):
        new_id = draft_from_failure(db, project, by_name[pick], ui.current_user())
        ui.flash(f"Draft example {new_id} created from {pick}: reword it in the editor.")
        st.session_state["failure_draft"] = new_id
        st.rerun()

with routing_tab:
    routing = board.routing
    if not routing["bands"]:
        st.info("This run's predictions carry no confidences.")
    else:
        st.table(
            pd.DataFrame(
                [
                    {
                        "band": b["band"],
                        "share": f"{100 * b['share']:.0f}%",
                        "count": b["count"],
                        "accuracy": "–" if b["accuracy"] is None else f"{b['accuracy']:.2f}",
                    }
                    for b in routing["bands"]
                ]
            ).set_index("band")
        )
        st.plotly_chart(charts.coverage_chart(routing["curve"], high, low), width="stretch", key="coverage_chart")


def evaluated_adapter(run: dict) -> str:
    """What the merged model was compared with: the adapter on the base the run trained and answered on, as its
    manifest's recipe says (4-bit NF4 on a GPU; unquantized under the CPU recipe)."""
    recipe = (read_manifest(Path(run["run_dir"])) or {}).get("recipe") or {}
    quantization = recipe.get("quantization")
    if quantization is None:
        return "the adapter as evaluated"
    if quantization == "none":
        return "the adapter on its unquantized base (the CPU recipe), as evaluated"
    return f"the adapter on its {quantization.split(',')[0]} base, as evaluated"


with detail_tab:
    for row in board.leaderboard:
        with st.expander(f"{row.label}: every metric"):
            st.json({name: value for name, value in row.metrics.items() if name != "confusion"}, expanded=False)
            if row.model == "tuned" and row.metrics.get("confusion"):
                st.plotly_chart(
                    charts.confusion_chart(row.metrics["confusion"]),
                    width="stretch",
                    key=f"confusion_{row.run_id}",
                )
    trip = board.round_trip
    if trip and "error" in trip:
        st.warning(f"The template round-trip check could not run: {trip['error']}")
    elif trip:
        kept = (
            f"kept in `{trip['merged_dir']}`"
            if trip.get("merged_dir")
            else "checked, then removed (the Merge model setting keeps it)"
        )
        template = (
            "the chat template survived and every answer ended with the end-of-sequence token"
            if trip["template_ok"]
            else "it did not keep the chat template or end its answers with the end-of-sequence token (see the verdict)"
        )
        st.markdown(
            f"**Template round trip**: the adapter merged into the base model, saved, and loaded fresh ({kept}): "
            f"{template}. Same answers as {evaluated_adapter(run)} on {trip['matches']} of {trip['checked']}; "
            "merging rounds the weights, which can change a token here and there."
        )

st.download_button(
    "Download the HTML report",
    render_report(board),
    file_name=f"evaluation-{run['id']}.html",
    mime="text/html",
    key="download_report",
)
