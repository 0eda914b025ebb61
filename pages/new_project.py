"""New project page: name the task, describe it, set its output format, base model and guidelines;
then write the first example or import a file."""

import streamlit as st

from app import editors, ui
from studio.paths import DEFAULT_MODEL_NAME
from studio.project.formats import parse_output_spec
from studio.project.people import NotAllowed, can
from studio.project.projects import create_project

ui.require_signed_in()
db = ui.db()
person = ui.current_person()
st.title("New project")
ui.show_flash()
if not can(person, "manage"):
    st.info(f"You are {person.name}, {person.role}: only admins create projects.")

st.text_input("Name", key="new_name", placeholder="e.g. ticket-intents")
st.text_area(
    "Task description",
    key="new_description",
    height=110,
    placeholder="What the model should do, as you would tell a new colleague. It is the system prompt of training, "
    "the tuned model and the baselines.",
)
try:
    spec = editors.output_spec_editor("new_spec", parse_output_spec(None))
    problem = None
except ValueError as error:
    spec, problem = None, str(error)
st.text_input(
    "Base model",
    DEFAULT_MODEL_NAME,
    key="new_base_model",
    help="The default folder name, a Hugging Face model folder, or a hub id in the local cache.",
)
st.text_area(
    "Annotation guidelines (markdown)",
    key="new_guidelines",
    height=140,
    help="Shown beside every example on Write and Review.",
)
if problem:
    st.error(problem)


def create(then: str) -> None:
    # the widgets' values as sent with the click (a value typed just before it is not in this run's variables yet)
    typed = st.session_state
    try:
        project = create_project(
            db,
            typed["new_name"],
            typed["new_description"],
            spec,
            typed["new_base_model"],
            typed["new_guidelines"],
            actor=person,
        )
    except (ValueError, NotAllowed) as error:
        ui.flash(f"Not created: {error}", "error")
        return
    ui.choose_project(project.name)
    st.session_state["_after_create"] = (then, project.name)


row = st.container(horizontal=True)
disabled = spec is None or not can(person, "manage")
row.button(
    "Create and write the first example",
    type="primary",
    key="create_write",
    on_click=create,
    args=("write",),
    disabled=disabled,
)
row.button("Create and import a file", key="create_import", on_click=create, args=("import",), disabled=disabled)
after = st.session_state.pop("_after_create", None)
if after:  # the flash is kept for the next page (this run already drew its own)
    then, created = after
    ui.flash(
        f"Project {created} created: " + ("write its first example." if then == "write" else "import a file into it.")
    )
    st.switch_page(ui.page_file("write.py" if then == "write" else "transfer.py"))
