"""Evaluate page: the leaderboard of a finished run's tuned model against the prompting baseline."""

import pandas as pd
import plotly.express as px
import streamlit as st

from studio import ui
from studio.evaluation import describe_metric, leaderboard, margin_sentence, predictions_for
from studio.jobs import list_runs, sync_runs

project = ui.require_project()
db = ui.db()
st.title("Evaluate")
sync_runs(db)
finished = [r for r in list_runs(db, project) if r["status"] == "succeeded"]
if not finished:
    st.info("No finished run yet. Start one on the Train page; its held-out examples are answered when it ends.")
    st.page_link("pages/train.py", label="Go to Train", icon=":material/model_training:")
    st.stop()

labels = {r["id"]: f"{r['id']} · {r['n_train']} train / {r['n_eval']} held-out" for r in finished}
run_id = st.selectbox("Run", list(labels), format_func=labels.get, key="eval_run")
run = next(r for r in finished if r["id"] == run_id)
board = leaderboard(db, run_id)
metric = board[0]["primary_metric"]

st.subheader("Leaderboard")
st.markdown(margin_sentence(board))
st.caption(f"Ranked by **{metric}**: {describe_metric(metric)}. Held-out set {run['config']['held_out_hash']}.")
table = pd.DataFrame([
    {"rank": r["rank"], "model": r["model"], **{k: round(v, 3) for k, v in r["metrics"].items()}, "n": r["n"]}
    for r in board
])
st.dataframe(table, hide_index=True, width="stretch")
chart = px.bar(table, x="model", y=metric, color="model", text_auto=".3f", range_y=[0, 1],
               title=f"{metric} on {board[0]['n']} held-out examples (best first)")
chart.update_layout(showlegend=False, height=360)
st.plotly_chart(chart, width="stretch")

st.subheader("Side by side")
predictions = pd.DataFrame(predictions_for(db, run_id))
predictions["example"] = predictions["external_id"].fillna(predictions["example_id"].astype(str))
predictions["score"] = predictions["scores"].map(lambda s: s.get(metric, 0.0))
wide = predictions.pivot_table(index=["example", "expected"], columns="model", values="output", aggfunc="first")
scores = predictions.pivot_table(index=["example", "expected"], columns="model", values="score", aggfunc="first")
side = wide.join(scores.add_suffix(f" {metric}")).reset_index()
st.dataframe(side, hide_index=True, width="stretch")
