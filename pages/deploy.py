"""Deploy page (admins): export a finished run, serve it over an OpenAI-compatible API, and the
commands that serve it elsewhere (vLLM, Ollama). A switch records the inputs the server is
unsure of for the Review page."""

from pathlib import Path

import streamlit as st

from app import ui
from studio.evaluation.dashboard import build_dashboard
from studio.evaluation.thresholds import saved_routing
from studio.evaluation.verdict import Verdict
from studio.project.people import can
from studio.serving import commands
from studio.serving.engine import model_name
from studio.serving.export import FORMATS, default_export_dir, zip_folder
from studio.serving.process import export_in_subprocess, running_server, start_server, stop_server
from studio.training.launch import list_runs
from studio.training.supervisor import sync_runs

project = ui.require_project()
db = ui.db()
person = ui.current_person()
st.title("Deploy")
ui.show_flash()
if not can(person, "train"):
    st.info(f"You are {person.name}, {person.role}: only admins export and serve models.")
    st.stop()
sync_runs(db)
finished = [r for r in list_runs(db, project) if r["status"] == "succeeded"]
if not finished:
    st.info("No finished run yet: train one on the Train page, then ship it from here.")
    st.stop()
run = next(r for r in finished if r["id"] == st.selectbox("Run", [r["id"] for r in finished], key="deploy_run"))
run_dir, name = Path(run["run_dir"]), model_name(project.name, run["id"])


@st.cache_data(show_spinner="Reading the run's verdict...", max_entries=16)
def run_verdict(run_id: str, finished_at: str, ship_margin: float, _project, _run) -> Verdict:
    """The Evaluate page's verdict on the run (built once per run, finish time and ship margin)."""
    return build_dashboard(db, _project, _run).verdict


def show_verdict() -> None:
    """What Evaluate concluded, before anything is exported or served; it informs and does not block."""
    verdict = run_verdict(run["id"], str(run.get("finished_at")), project.ship_margin, project, run)
    if verdict.decision == "ship":
        st.success(f"**Evaluate's verdict on run {run['id']}: ship.** {verdict.headline}")
        return
    worry = {
        "do not ship": "do not ship it",
        "not yet": "not yet",
    }.get(verdict.decision, "no decision, the numbers cannot tell")
    st.warning(
        f"**Evaluate's verdict on run {run['id']}: {worry}.** {verdict.headline}\n\n"
        + "".join(f"{warning}\n\n" for warning in verdict.warnings)
        + "You can still export and serve it (to try it, or to compare it elsewhere); the Evaluate page says why "
        "and what would change the verdict.",
        icon=":material/gpp_maybe:",
    )
    st.page_link(ui.page_file("evaluate.py"), label="See the evaluation", icon=":material/leaderboard:")


show_verdict()

st.subheader("Export")
st.caption(
    "**merged**: one model folder (safetensors, tokenizer, chat template, greedy generation config, model card, "
    "Ollama Modelfile) that plain transformers loads; checked by reloading it and re-answering held-out inputs. "
    "**adapter**: the small PEFT folder to put on the base model."
)
format = st.radio("Format", FORMATS, index=1, horizontal=True, key="deploy_format")
if st.button("Export", key="deploy_export"):
    with st.spinner(f"Exporting the {format} model..."):
        try:
            st.session_state[f"export_{run['id']}_{format}"] = export_in_subprocess(run["id"], format)
        except RuntimeError as error:
            st.error(str(error))
done = st.session_state.get(f"export_{run['id']}_{format}")
if done:
    folder = Path(done["folder"])
    check = done.get("check")
    st.success(f"Exported to `{folder}`: {', '.join(done['files'])}")
    if check:
        st.markdown(
            f"Reloaded with plain transformers: **{check['matches']} of {check['checked']}** held-out answers "
            f"as evaluated; chat template kept: **{'yes' if check['template_ok'] else 'no'}**."
        )
    # Zipped only when clicked (a merged model is hundreds of MB), on Streamlit's download thread.
    st.download_button(
        "Download the export (.zip)",
        lambda: zip_folder(folder, folder.with_suffix(".zip")).read_bytes(),
        file_name=f"{name}-{format}.zip",
        mime="application/zip",
        key="deploy_download",
    )

st.subheader("Serve")
server = running_server(run["id"])
if server:
    band = f"auto at ≥ {server.high}, review at ≥ {server.low}, human below"
    st.success(f"Serving **{name}** at `{server.url}` ({band}; recording {'on' if server.record else 'off'}).")
    token = st.session_state.pop("deploy_token", None)
    if token:
        st.warning("The bearer token, shown this once (only its hash is kept):")
        st.code(token, language=None)
    st.code(
        f'from openai import OpenAI\nclient = OpenAI(base_url="{server.url}", api_key="TOKEN or anything on localhost")\n'
        f'answer = client.chat.completions.create(model="{name}", messages=[{{"role": "user", "content": "..."}}])\n'
        'print(answer.choices[0].message.content, answer.choices[0].model_extra["routing"])',
        language="python",
    )
    if st.button("Stop the server", key="deploy_stop"):
        stop_server(run["id"])
        st.rerun()
else:
    high, low = saved_routing(run).high, saved_routing(run).low
    st.caption(
        f"Routing thresholds saved with this run on the Evaluate page: auto at confidence ≥ {high:.2f}, "
        f"review at ≥ {low:.2f}, human below."
    )
    left, right = st.columns(2)
    address = left.text_input(
        "Address",
        "127.0.0.1",
        key="deploy_address",
        help="127.0.0.1 serves this machine only; any other address requires a bearer token.",
    )
    port = right.number_input("Port (0: any free port)", 0, 65535, 0, key="deploy_port")
    record = st.toggle(
        "Record review- and human-band inputs for the experts",
        value=False,
        key="deploy_record",
        help="The Review page offers them as drafts pre-filled with the model's answer.",
    )
    window = st.number_input(
        "Batching window (ms)",
        0,
        5000,
        20,
        key="deploy_window_ms",
        help="How long a request waits for others to be answered in the same batch.",
    )
    if st.button("Start the server", type="primary", key="deploy_start"):
        with st.spinner("Loading the model and starting the server..."):
            try:
                _, token = start_server(
                    run["id"], int(port), address.strip(), high, low, record, batch_window_ms=window
                )
            except (RuntimeError, OSError, ValueError) as error:
                st.error(str(error))
                st.stop()
        st.session_state["deploy_token"] = token
        st.rerun()

st.subheader("Serve it elsewhere")
adapter_dir = run_dir / "adapter"
merged_dir = default_export_dir(run_dir, "merged")
st.markdown("**vLLM** (GPUs), the adapter as a LoRA module on the base model:")
st.code(
    commands.vllm_lora_command(run["config"]["model_path"], name, adapter_dir, commands.adapter_rank(adapter_dir)),
    language="bash",
)
st.markdown("**Ollama**, from the merged export (its Modelfile is in the folder):")
st.code(commands.ollama_create_command(name, merged_dir), language="bash")
st.markdown("**The studio's own server**, with confidence and routing band:")
st.code(commands.studio_serve_command(run["id"]), language="bash")
retrieved = int(run["config"]["train"].get("retrieved_examples") or 0)
if retrieved:  # vLLM and Ollama do not retrieve: the client must
    st.info(commands.retrieval_instructions(retrieved))
st.caption(
    "GGUF for llama.cpp: the studio does not convert (no well-kept offline converter on PyPI); run llama.cpp's "
    "convert_hf_to_gguf.py on the merged export."
)
