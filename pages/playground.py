"""Playground page: chat with a run's tuned model and its base model side by side."""

import streamlit as st

from app import ui
from studio.models.playground import answer_one, decodes_in_format, load_chat_model, playable_runs, retrieved_shots
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


FORMAT_WORDS = {"labels": "one of the labels", "json": "JSON under the schema"}

runs = playable_runs(list_runs(db, project))
if not runs:
    st.info("No finished run yet: train one on the Train page.")
    st.page_link(ui.page_file("train.py"), label="Go to Train", icon=":material/model_training:")
    st.stop()
run = next(r for r in runs if r["id"] == st.selectbox("Run", [r["id"] for r in runs], key="playground_run"))
history_key = f"chat_{run['id']}"
history = st.session_state.setdefault(history_key, [])
max_new_tokens = st.slider("Longest answer (tokens)", 16, 512, 128, key="playground_max_tokens")
spec = project.output_spec.to_dict()
constrained = decodes_in_format(spec) and st.toggle(
    f"Answer as Evaluate does ({FORMAT_WORDS[project.output_spec.kind]})",
    value=True,
    key="playground_constrained",
    help="Evaluate scores every model with its answers held to the project's format: a label set's labels are "
    "scored and the likeliest is the answer; a JSON answer is decoded under the schema. Off: free text, "
    "as a chat model answers when nothing holds it.",
)
if decodes_in_format(spec):
    st.caption(
        ":material/info: "
        + (
            "Both answers are held to the project's format, as Evaluate scores them. Switch it off to see what each "
            "model writes freely: a base model never taught the format often rambles then."
            if constrained
            else "Free text: a base model never taught the format often rambles here, while Evaluate, which holds "
            "every answer to the format, may still score it well. Switch it on to see the answers Evaluate scores."
        )
    )
if run["config"]["train"].get("retrieved_examples"):
    st.caption(
        f":material/info: This run trained with {run['config']['train']['retrieved_examples']} retrieved examples in "
        "each prompt: the tuned side sees them too, as served (the training examples nearest to your messages)."
    )
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
    shots = retrieved_shots(run["run_dir"], turns)  # a run trained with retrieved examples answers with them
    for column, side in ((tuned_column, "tuned"), (base_column, "base")):
        with column.chat_message("assistant"):
            with st.spinner(f"The {side} model is answering..."):
                model, tokenizer = chat_model(
                    run["run_dir"], run["config"]["model_path"], run["config"].get("trust_remote_code") is True
                )
                answers[side] = answer_one(
                    model,
                    tokenizer,
                    project.description,
                    turns,
                    max_new_tokens,
                    tuned=side == "tuned",
                    output_spec=spec if constrained else None,
                    shots=shots if side == "tuned" else (),
                )
            st.write(answers[side])
    history.append({"user": message, **answers})
if history and st.button("Clear the conversation", key="playground_clear"):
    st.session_state[history_key] = []
    st.rerun()
