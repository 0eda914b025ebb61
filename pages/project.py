"""Project page (admins): the task (description, output format, guidelines, base model), label renames and
merges, the project's name, and archiving (soft) or restoring projects."""

import streamlit as st

from app import editors, ui
from studio.project.people import NotAllowed, can
from studio.project.projects import archive_project, list_projects, rename_project
from studio.project.taskdef import merge_labels, set_task

project = ui.require_project()
db = ui.db()
person = ui.current_person()
st.title(f"Project {project.name}")
ui.show_flash()
is_admin = can(person, "manage")
if not is_admin:
    st.info(f"You are {person.name}, {person.role}: only admins change the task.")

st.subheader("Task")
key = f"task_{project.id}"
description = st.text_area(
    "Task description (the system prompt)", project.description, key=f"{key}_description", height=110
)
try:
    spec, problem = editors.output_spec_editor(f"{key}_spec", project.output_spec), None
except ValueError as error:
    spec, problem = None, str(error)
guidelines = st.text_area("Annotation guidelines (markdown)", project.guidelines, key=f"{key}_guidelines", height=160)
base_model = st.text_input("Base model", project.base_model, key=f"{key}_base_model")
if problem:
    st.error(problem)
if st.button("Save the task", type="primary", key="save_task", disabled=spec is None or not is_admin):
    changes = {"description": description.strip(), "guidelines": guidelines, "base_model": base_model.strip()}
    if spec != project.output_spec.to_dict():
        changes["output_spec"] = spec
    try:
        change = set_task(db, project, person, **changes)
    except (ValueError, NotAllowed) as error:
        st.error(f"Not saved: {error}")
    else:
        breaks = (
            f" {change.format_breaks} example(s) break the new format: see the format findings on the Quality page."
            if "output_spec" in changes
            else ""
        )
        ui.flash(f"Task saved.{breaks}", "error" if change.format_breaks else "success")
        st.rerun()


def rename_labels() -> None:
    """The Rename / merge button's callback: before the page draws, so the Labels box above and the choices
    here show the new label set at once (and Save the task cannot put the old one back)."""
    state = st.session_state
    sources, target = list(state.get("merge_sources", [])), state.get("merge_target", "")
    try:
        change = merge_labels(db, project, sources, target, ui.current_user())
    except (ValueError, NotAllowed) as error:
        ui.flash(f"Not renamed: {error}", "error")
        return
    state["merge_sources"], state["merge_target"] = [], ""
    state.pop(f"{key}_spec_labels", None)  # the Labels box starts again from the saved label set
    ui.flash(f"{', '.join(sources)} → {target.strip()}: {change.relabelled} example(s) rewritten.")


if project.output_spec.kind == "labels":
    st.subheader("Rename or merge labels")
    st.caption(
        "Every example that uses a renamed label is rewritten, as a new revision. Renaming to a label that "
        "exists merges the two."
    )
    left, right = st.columns(2)
    sources = left.multiselect("Labels", list(project.output_spec.labels), key="merge_sources")
    target = right.text_input("New name", key="merge_target")
    st.button(
        "Rename / merge",
        key="merge_labels",
        disabled=not (is_admin and sources and target.strip()),
        on_click=rename_labels,
    )

st.subheader("Name and archive")
new_name = st.text_input("Project name", project.name, key=f"{key}_name")
row = st.container(horizontal=True)
if row.button("Rename", key="rename_project", disabled=not is_admin or new_name.strip() == project.name):
    try:
        renamed = rename_project(db, project, new_name, person)
    except (ValueError, NotAllowed) as error:
        st.error(f"Not renamed: {error}")
    else:
        ui.choose_project(renamed.name)
        ui.flash(f"Renamed to {renamed.name}.")
        st.rerun()
if row.button(
    "Archive this project",
    key="archive_project",
    disabled=not is_admin,
    help="Soft: its examples, runs and findings stay, and Restore brings it back.",
):
    archive_project(db, project, True, person)
    others = [p.name for p in list_projects(db)]
    if others:
        ui.choose_project(others[0])
    ui.flash(f"{project.name} archived; restore it on this page" + ("." if others else " or in the sidebar."))
    st.rerun()
archived = [p for p in list_projects(db, include_archived=True) if p.archived]
for old in archived:
    line = st.container(horizontal=True, vertical_alignment="center")
    line.markdown(f"Archived: **{old.name}** ({old.output_spec.kind})")
    if line.button("Restore", key=f"restore_{old.id}", disabled=not is_admin):
        archive_project(db, old, False, person)
        ui.choose_project(old.name)
        ui.flash(f"{old.name} restored.")
        st.rerun()
