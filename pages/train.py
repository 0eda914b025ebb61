"""Train page: one click starts a QLoRA run; its progress, loss and ETA update live."""

from dataclasses import fields

import plotly.graph_objects as go
import streamlit as st

from studio import ui
from studio.endpoint import EndpointConfig
from studio.examples import count_by_status
from studio.jobs import FEW_SHOT_K, LaunchRefused, cancel_run, launch_run, list_runs, run_progress, sync_runs
from studio.models import ModelUnavailable
from studio.training import TrainConfig

project = ui.require_project()
db = ui.db()
st.title("Train")
approved = count_by_status(db, project)["approved"]
st.markdown(
    f"Fine-tune **{project.base_model}** with QLoRA (4-bit NF4 base, LoRA on every linear layer) on the "
    f"**{approved} approved examples** of {project.name}. About 10% are held out (seeded, stratified) to compare "
    "the tuned model with the prompted baseline when training ends."
)


def advanced_settings() -> TrainConfig:
    """Every TrainConfig field as a widget, defaulting to the Balanced preset."""
    values = {}
    with st.expander("Advanced settings"):
        columns = st.columns(3)
        for index, spec in enumerate(fields(TrainConfig)):
            column = columns[index % 3]
            label, help_text = spec.name.replace("_", " ").capitalize(), spec.metadata["help"]
            if spec.type == "bool" or isinstance(spec.default, bool):
                values[spec.name] = column.checkbox(label, spec.default, help=help_text, key=f"cfg_{spec.name}")
            elif isinstance(spec.default, int):
                values[spec.name] = int(column.number_input(label, min_value=0, value=spec.default, step=1, help=help_text, key=f"cfg_{spec.name}"))
            else:
                values[spec.name] = float(column.number_input(label, min_value=0.0, value=spec.default, format="%g", help=help_text, key=f"cfg_{spec.name}"))
    return TrainConfig(**values)


def baseline_settings() -> tuple[int, EndpointConfig | None]:
    """The prompted baselines: k retrieved examples, and optionally a hosted model with the same prompts."""
    with st.expander("Baselines to compare against"):
        k = int(st.number_input("Few-shot examples per prompt (k)", 0, 16, FEW_SHOT_K, key="few_shot_k",
                                help="The baseline sees the k training examples nearest to each held-out input."))
        url = st.text_input("OpenAI-compatible URL (optional)", key="endpoint_url", placeholder="http://localhost:8000/v1")
        model = st.text_input("Model name", key="endpoint_model")
        key_env = st.text_input("Environment variable with the API key", "OPENAI_API_KEY", key="endpoint_key_env",
                                help="The key itself is never stored; the worker reads it from this variable.")
    return k, EndpointConfig(url.strip(), model.strip(), key_env.strip()) if url.strip() else None


config = advanced_settings()
few_shot_k, endpoint = baseline_settings()
if st.button("Start training", type="primary", key="start_training"):
    try:
        run_id = launch_run(db, project, config, few_shot_k, endpoint)
        st.toast(f"Run {run_id} started")
    except (LaunchRefused, ModelUnavailable) as error:
        st.error(str(error))


def loss_chart(losses: list[tuple[int, float]]) -> go.Figure:
    figure = go.Figure(go.Scatter(x=[s for s, _ in losses], y=[l for _, l in losses], mode="lines+markers", name="train loss"))
    figure.update_layout(height=300, margin=dict(t=30, b=30), xaxis_title="step", yaxis_title="loss", title="Training loss")
    return figure


@st.fragment(run_every=2)
def live_run() -> None:
    """The newest run of this project, refreshed every two seconds."""
    sync_runs(db)
    runs = list_runs(db, project)
    if not runs:
        st.info("No run yet.")
        return
    run = runs[0]
    progress = run_progress(run)
    st.subheader(f"Run {run['id']} · {progress['phase']}")
    total = max(progress["total"], 1)
    st.progress(min(progress["step"] / total, 1.0), text=f"step {progress['step']}/{progress['total']}")
    elapsed, remaining, speed = st.columns(3)
    elapsed.metric("Elapsed", ui.duration(progress["elapsed"]))
    remaining.metric("Remaining", ui.duration(progress["eta"]))
    speed.metric("Tokens/s", f"{progress['tokens_per_second']:.0f}" if progress["tokens_per_second"] else "–")
    if progress["answering"] and run["status"] == "running":
        a = progress["answering"]
        st.progress(a["done"] / max(a["total"], 1), text=f"answering held-out examples with {a['model']}: {a['done']}/{a['total']}")
    if progress["losses"]:
        st.plotly_chart(loss_chart(progress["losses"]), width="stretch", key=f"loss_{run['id']}")
    if run["status"] in ("queued", "running"):
        label = "Cancelling..." if progress["cancel_requested"] else "Cancel run"
        if st.button(label, key=f"cancel_{run['id']}", disabled=progress["cancel_requested"]):
            cancel_run(db, run["id"])
    elif run["status"] == "succeeded":
        st.success("Training and evaluation finished.")
        st.page_link("pages/evaluate.py", label="See the leaderboard", icon=":material/leaderboard:")
    elif run["status"] == "failed":
        st.error(run["error"] or "The run failed.")
    with st.expander("Worker log"):
        st.code(progress["log_tail"] or "(empty)")


live_run()

with st.expander("All runs"):
    st.dataframe(
        [{k: r[k] for k in ("id", "status", "n_train", "n_eval", "device", "tokens_per_second", "created_at", "finished_at")}
         for r in list_runs(db, project)],
        hide_index=True, width="stretch",
    )
