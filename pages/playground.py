"""Playground page: chat with a run's tuned model and its base model side by side."""

import streamlit as st

from app import ui
from studio.models.playground import answer_one, load_chat_model, playable_runs
from studio.training.launch import list_runs

project = ui.require_project()
db = ui.db()
st.title("Playground")
st.markdown(
    "Ask both models the same thing: the **tuned** model (base + the run's adapter) and the **base** model with "
    "the adapter switched off, both under the project's task description as the system prompt."
)


@st.cache_resource(max_entries=2, show_spinner="Loading the model...")
def chat_model(run_dir: str, model_path: str, trust_remote_code: bool):
    return load_chat_model(run_dir, model_path, trust_remote_code)


runs = playable_runs(list_runs(db, project))
if not runs:
    st.info("No finished run yet: train one on the Train page.")
    st.page_link(ui.page_file("train.py"), label="Go to Train", icon=":material/model_training:")
    st.stop()
run = next(r for r in runs if r["id"] == st.selectbox("Run", [r["id"] for r in runs], key="playground_run"))
history_key = f"chat_{run['id']}"
history = st.session_state.setdefault(history_key, [])
max_new_tokens = st.slider("Longest answer (tokens)", 16, 512, 128, key="playground_max_tokens")
tuned_column, base_column = st.columns(2)
tuned_column.subheader("Tuned")
base_column.subheader("Base")
for turn in history:
    for column, side in ((tuned_column, "tuned"), (base_column, "base")):
        column.chat_message("user").write(turn["user"])
        column.chat_message("assistant").write(turn[side])
message = st.chat_input("Ask both models", key="playground_input")
if message:
    # the question shows at once, and each side says it is working until its answer comes (20 s and more on a CPU)
    for column in (tuned_column, base_column):
        column.chat_message("user").write(message)
    # each side continues its own conversation, so the tuned side never sees the base model's answers
    tuned_turns = [
        m
        for t in history
        for m in ({"role": "user", "content": t["user"]}, {"role": "assistant", "content": t["tuned"]})
    ]
    turns, answers = tuned_turns + [{"role": "user", "content": message}], {}
    for column, side in ((tuned_column, "tuned"), (base_column, "base")):
        with column.chat_message("assistant"):
            with st.spinner(f"The {side} model is answering..."):
                model, tokenizer = chat_model(
                    run["run_dir"], run["config"]["model_path"], run["config"].get("trust_remote_code") is True
                )
                answers[side] = answer_one(
                    model, tokenizer, project.description, turns, max_new_tokens, tuned=side == "tuned"
                )
            st.write(answers[side])
    history.append({"user": message, **answers})
if history and st.button("Clear the conversation", key="playground_clear"):
    st.session_state[history_key] = []
    st.rerun()
