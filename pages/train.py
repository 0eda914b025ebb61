"""Train page: pre-flight (what will be trained, how long, whether it fits), presets, launch, live run."""

from dataclasses import fields
from html import escape

import plotly.graph_objects as go
import streamlit as st

from app import ui
from studio.dataset.examples import list_examples
from studio.dataset.snapshots import planned_split
from studio.evaluation.endpoint import EndpointConfig
from studio.models.loading import ModelUnavailable, resolve_allowed_model, resolve_model
from studio.models.trust import remote_code_allowed
from studio.project.confinement import OutsideAllowedFolders
from studio.project.people import NotAllowed
from studio.project.projects import update_project_settings
from studio.training.calibration import cached_calibration, calibrate
from studio.training.launch import FEW_SHOT_K, LaunchRefused, can_resume, cancel_run, launch_run, list_runs, resume_run
from studio.training.preflight import (
    blocking_findings,
    check_model,
    estimate_fit,
    length_profile,
    loss_view,
    rows_as_trained,
    tokenizer_for,
    training_count,
)
from studio.training.presets import DEFAULT_PRESET, PRESETS, preset_named
from studio.training.run_view import run_progress
from studio.training.supervisor import sync_runs
from studio.training.trainer import TrainConfig

project = ui.require_project()
db = ui.db()
person = ui.current_person()
trusted = remote_code_allowed(db, project.base_model)
st.title("Train")
ui.show_flash()
top = st.container()  # while a run is active, a link to it, above the settings and the pre-flight
approved = list_examples(db, project, status="approved")
st.markdown(
    "Fine-tune a LoRA adapter on every linear layer (QLoRA on a GPU: a 4-bit NF4 base; on a CPU an unquantized base, "
    f"bf16 where the CPU has bf16 units, which trains faster and better there) on the **{len(approved)} approved examples** "
    f"of {project.name}. The project's test set, where it has one, or else about 10% held out (seeded, stratified) "
    "compares the tuned model with the prompted baseline when training ends."
)


def base_model_setting() -> str | None:
    """The project's base model: a folder under data/models, a model folder path, or a cached hub id."""
    with st.form("base_model_form", border=False):
        name = st.text_input(
            "Base model",
            project.base_model,
            key="base_model",
            help="A folder under data/models or a folder an admin allowed (STUDIO_ALLOWED_DIRS), or a hub id in the local cache.",
        )
        if st.form_submit_button("Use this base model") and name.strip() != project.base_model:
            try:
                check_model(resolve_allowed_model(name.strip()), remote_code_allowed(db, name.strip()))
                update_project_settings(db, project, person, base_model=name.strip())
                ui.flash(f"Base model set to {name.strip()}")
                st.rerun()
            except (ModelUnavailable, NotAllowed, OutsideAllowedFolders) as error:
                st.error(str(error))
    try:
        path = resolve_model(project.base_model)
        check_model(path, trusted)
        return path
    except ModelUnavailable as error:
        st.error(f"{error}. Pick another base model before training.")
        return None


def chosen_config() -> TrainConfig:
    """A preset, then every TrainConfig field under Advanced (starting from the preset's values)."""
    names = [p.name for p in PRESETS]
    choice = st.radio("Preset", names, index=names.index(DEFAULT_PRESET), horizontal=True, key="preset")
    for preset in PRESETS:
        st.caption(f"**{preset.name}**: {preset.explanation}")
    base, values = preset_named(choice).config, {}
    with st.expander("Advanced settings"):
        columns = st.columns(3)
        for index, spec in enumerate(fields(TrainConfig)):
            column, default, key = columns[index % 3], getattr(base, spec.name), f"cfg_{choice}_{spec.name}"
            label, help_text = spec.metadata["label"], spec.metadata["help"]
            if isinstance(default, bool):
                values[spec.name] = column.checkbox(label, default, help=help_text, key=key)
            elif isinstance(default, int):
                values[spec.name] = int(
                    column.number_input(label, min_value=0, value=default, step=1, help=help_text, key=key)
                )
            else:
                values[spec.name] = float(
                    column.number_input(label, min_value=0.0, value=default, format="%g", help=help_text, key=key)
                )
    return TrainConfig(**values)


def baseline_settings() -> tuple[int, EndpointConfig | None]:
    """The prompted baselines: k retrieved examples, and optionally a hosted model with the same prompts."""
    with st.expander("Baselines to compare against"):
        k = int(
            st.number_input(
                "Few-shot examples per prompt (k)",
                0,
                16,
                FEW_SHOT_K,
                key="few_shot_k",
                help="The baseline sees the k training examples nearest to each held-out input.",
            )
        )
        url = st.text_input(
            "OpenAI-compatible URL (optional)", key="endpoint_url", placeholder="http://localhost:8000/v1"
        )
        model = st.text_input("Model name", key="endpoint_model")
        key_env = st.text_input(
            "Environment variable with the API key",
            "OPENAI_API_KEY",
            key="endpoint_key_env",
            help="The key itself is never stored; the worker reads it from this variable.",
        )
    return k, EndpointConfig(url.strip(), model.strip(), key_env.strip()) if url.strip() else None


def segments_html(segments) -> str:
    spans = "".join(
        f'<span style="background:#c8f7c5;border-bottom:2px solid #2e7d32">{escape(s.text)}</span>'
        if s.trained
        else f'<span style="color:#777">{escape(s.text)}</span>'
        for s in segments
    )
    return f'<pre style="white-space:pre-wrap;font-size:0.8rem;padding:0.5rem;border:1px solid #ddd">{spans}</pre>'


def length_histogram(profile: dict) -> go.Figure:
    figure = go.Figure(go.Histogram(x=profile["lengths"], nbinsx=40, name="examples"))
    figure.add_vline(x=profile["max_length"], line_dash="dash", line_color="red", annotation_text="max length")
    figure.update_layout(
        height=260,
        margin=dict(t=30, b=30),
        xaxis_title="tokens per example",
        yaxis_title="examples",
        title="Token lengths of the approved examples",
    )
    return figure


def held_out_counts() -> None:
    plan = planned_split(approved, project.output_spec, project.split_seed)
    with st.expander(f"Trains on {plan.train}; judged on {plan.describe()}"):
        rows = [{"label": c.label or "(all)", "trained on": c.train, "held out": c.held_out} for c in plan.counts]
        st.dataframe(rows, hide_index=True)


def preflight(model_path: str, config: TrainConfig) -> None:
    """What the run will see and need, before it starts."""
    st.subheader("Pre-flight")
    findings = blocking_findings(db, project)
    if findings:
        st.warning(
            f"{len(findings)} open problem(s) the checks rate severe; a contradictory pair teaches the model noise. Fix them first:\n\n"
            + "\n".join(f"- **{f.kind}**: {f.explanation}" for f in findings[:5])
        )
        st.page_link(ui.page_file("quality.py"), label="Open the Quality page", icon=":material/fact_check:")
    if not approved:
        st.info("No approved examples yet: approve some on the Examples page.")
        return
    held_out_counts()
    tokenizer = tokenizer_for(model_path, trusted)
    rows = rows_as_trained(approved, config)  # with their retrieved examples, when the run retrieves
    profile = length_profile(tokenizer, project.description, rows, config.max_length)
    st.markdown(
        "**What the model is trained on** — the chat template renders each example; "
        "<span style='background:#c8f7c5'>highlighted tokens</span> carry the loss, grey ones are context only.",
        unsafe_allow_html=True,
    )
    for example in rows[:3]:
        st.html(segments_html(loss_view(tokenizer, project.description, example["messages"], config.max_length)))
    st.plotly_chart(length_histogram(profile), width="stretch", key="length_histogram")
    cut = profile["truncated"]
    (st.warning if cut else st.caption)(
        f"{cut} of {len(profile['lengths'])} examples are longer than the max length ({config.max_length} tokens) and would be truncated"
        + (f": {', '.join(profile['truncated_examples'][:10])}" if cut else ".")
        + (f" {len(profile['answer_lost'])} would lose their whole answer." if profile["answer_lost"] else "")
    )
    fit_estimate(model_path, config, profile, rows)


def fit_estimate(model_path: str, config: TrainConfig, profile: dict, rows: list[dict]) -> None:
    calibration = cached_calibration(model_path, config, rows, profile["lengths"])
    if st.button(
        "Measure on this machine" if calibration is None else "Measured",
        key="calibrate",
        disabled=calibration is not None,
        help="Trains three real steps on the longest examples in a separate process (cached per model and settings).",
    ):
        with st.spinner("Measuring a few real training steps..."):
            try:
                calibrate(model_path, project.description, config, rows, profile["lengths"])
                st.rerun()
            except (RuntimeError, OSError) as error:
                st.error(str(error))
    n_train = training_count(approved, project.output_spec, project.split_seed)
    fit = estimate_fit(model_path, config, profile, calibration, n_train, few_shot_k)
    memory, duration, steps = st.columns(3)
    memory.metric(
        "Peak memory" + ("" if fit["measured"] else " (rough guess)"),
        f"{fit['peak_mb'] / 1024:.2f} GB",
        help=f"{fit['where']} available: {fit['available_mb'] / 1024:.1f} GB."
        + (
            ""
            if fit["measured"]
            else " A rough guess from the model's size alone: the real peak can be several times higher "
            "(seen 4.5 times on a CPU). Measure on this machine for a real figure."
        ),
    )
    split = f"Training {ui.duration(fit['train_seconds'])}, then evaluation {ui.duration(fit['eval_seconds'])}."
    duration.metric("Run time", ui.duration(fit["seconds"]) if fit["seconds"] else "measure first", help=split)
    steps.metric("Steps", fit["steps"])
    if not fit["fits"]:
        st.error(
            f"This will likely not fit: about {fit['peak_mb'] / 1024:.1f} GB needed, {fit['available_mb'] / 1024:.1f} GB of "
            f"{fit['where']} available. Lower the batch size or max length, or turn gradient checkpointing on."
        )


model_path = base_model_setting()
config = chosen_config()
few_shot_k, endpoint = baseline_settings()
if model_path:
    preflight(model_path, config)
active_runs = [r for r in list_runs(db, project) if r["status"] in ("queued", "running")]
st.session_state["train_drawn_with_active_run"] = bool(active_runs)  # the live view reruns the page when it ends
waiting = (
    f"Run {active_runs[0]['id']} of this project is {active_runs[0]['status']}: start another when it ends, "
    "or cancel it below."
    if active_runs
    else None
)
if st.button(
    "Start training",
    type="primary",
    key="start_training",
    disabled=model_path is None or bool(active_runs),
    help=waiting or ("Pick a base model first." if model_path is None else None),
):
    try:
        run_id = launch_run(db, project, config, few_shot_k, endpoint, actor=person)
    except (LaunchRefused, ModelUnavailable, NotAllowed) as error:
        st.error(str(error))
    else:
        ui.flash(f"Run {run_id} started: watch it below.")
        st.rerun()  # draw the page again with the button off while the run goes
if waiting:
    st.caption(f":material/hourglass_top: {waiting}")


def series_chart(title: str, series: dict[str, list[tuple]], y_title: str) -> go.Figure:
    figure = go.Figure(
        [
            go.Scatter(x=[p[0] for p in points], y=[p[1] for p in points], mode="lines+markers", name=name)
            for name, points in series.items()
            if points
        ]
    )
    figure.update_layout(height=280, margin=dict(t=30, b=30), xaxis_title="step", yaxis_title=y_title, title=title)
    return figure


def refused_shown(action, *args) -> None:
    """Run a run action; a refusal (role, state) is shown rather than raised."""
    try:
        action(*args)
    except (LaunchRefused, NotAllowed) as error:
        st.error(str(error))


def cancel_clicked(run_id: str) -> None:
    """Runs before the page draws again, so the button says "Cancelling..." at once."""
    try:
        cancel_run(db, run_id, person)
    except (LaunchRefused, NotAllowed) as error:
        ui.flash(str(error), "error")


def run_actions(run: dict, progress: dict) -> None:
    if run["status"] in ("queued", "running"):
        label = "Cancelling..." if progress["cancel_requested"] else "Cancel run"
        st.button(
            label,
            key=f"cancel_{run['id']}",
            disabled=progress["cancel_requested"],
            on_click=cancel_clicked,
            args=(run["id"],),
        )
    elif run["status"] == "succeeded":
        st.success("Training and evaluation finished.")
        st.page_link(ui.page_file("evaluate.py"), label="See the leaderboard", icon=":material/leaderboard:")
        st.page_link(ui.page_file("playground.py"), label="Chat with the tuned model", icon=":material/forum:")
    else:
        if run["status"] == "failed":
            st.error(run["error"] or "The run failed.")
        if can_resume(run) and st.button("Resume from the last checkpoint", key=f"resume_{run['id']}"):
            refused_shown(resume_run, db, run["id"], person)


@st.fragment(run_every=2)
def live_run() -> None:
    """The newest run of this project, refreshed every two seconds."""
    sync_runs(db)
    runs = list_runs(db, project)
    if not runs:
        st.info("No run yet.")
        return
    run = runs[0]
    if st.session_state.get("train_drawn_with_active_run") and run["status"] not in ("queued", "running"):
        st.session_state["train_drawn_with_active_run"] = False
        st.rerun()  # the whole page: Start training comes back on once the run has ended
    progress = run_progress(run)
    st.subheader(f"Run {run['id']} · {progress['phase']}", anchor="live-run")
    total = max(progress["total"], 1)
    st.progress(min(progress["step"] / total, 1.0), text=f"step {progress['step']}/{progress['total']}")
    elapsed, remaining, speed, memory = st.columns(4)
    elapsed.metric("Elapsed", ui.duration(progress["elapsed"]))
    remaining.metric("Remaining", ui.duration(progress["eta"]), help="Training, then every model answering.")
    speed.metric("Tokens/s", f"{progress['tokens_per_second']:.0f}" if progress["tokens_per_second"] else "–")
    memory.metric("Memory", f"{progress['memory_mb'] / 1024:.2f} GB" if progress["memory_mb"] else "–")
    if progress["answering"] and run["status"] == "running":
        a = progress["answering"]
        st.progress(
            a["done"] / max(a["total"], 1),
            text=f"answering held-out examples with {a['model']}: {a['done']}/{a['total']}",
        )
    if progress["losses"]:
        loss, rate = st.columns(2)
        loss.plotly_chart(
            series_chart("Loss", {"train loss": progress["losses"], "eval loss": progress["eval_losses"]}, "loss"),
            width="stretch",
            key=f"loss_{run['id']}",
        )
        rate.plotly_chart(
            series_chart("Learning rate", {"learning rate": progress["learning_rates"]}, "rate"),
            width="stretch",
            key=f"lr_{run['id']}",
        )
    if progress["validation"]:
        best = max(progress["validation"], key=lambda v: v[1])
        st.caption(
            f"Validation {best[2]} by checkpoint: "
            + ", ".join(f"step {s}: {v:.3f}" for s, v, _ in progress["validation"])
            + f" — the run keeps step {best[0]}."
        )
    run_actions(run, progress)
    with st.expander("Worker log"):
        st.code(progress["log_tail"] or "(empty)")


@st.fragment(run_every=2)
def live_run_link() -> None:
    """While a run is active, a link from the top of the page to it (the live run below redraws in place)."""
    active = [r for r in list_runs(db, project) if r["status"] in ("queued", "running")]
    if active:
        st.info(
            f"Run {active[0]['id']} is {active[0]['status']}: [watch it live below](#live-run).",
            icon=":material/model_training:",
        )


with top:
    live_run_link()
live_run()

with st.expander("All runs"):
    st.dataframe(
        [
            {
                k: r[k]
                for k in (
                    "id",
                    "status",
                    "n_train",
                    "n_eval",
                    "device",
                    "tokens_per_second",
                    "created_at",
                    "finished_at",
                )
            }
            for r in list_runs(db, project)
        ],
        hide_index=True,
        width="stretch",
    )
