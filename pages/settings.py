"""Settings page (admins): people, their roles and passwords; the project's review rule and per-tag
targets; whether the base model may run its own code."""

import pandas as pd
import streamlit as st

from app import ui
from studio.dataset.search import tag_progress
from studio.models.trust import allow_remote_code, remote_code_allowed
from studio.project.people import ROLES, NotAllowed, can, list_people, save_person
from studio.project.projects import update_project_settings
from studio.project.signin import MIN_PASSWORD_LENGTH, set_password

project = ui.require_project()
db = ui.db()
person = ui.current_person()
st.title("Settings")
ui.show_flash()
is_admin = can(person, "manage")
if not is_admin:
    st.info(f"You are {person.name}, {person.role}: only admins change these settings.")

st.subheader("People")
st.dataframe(pd.DataFrame([{"name": p.name, "role": p.role} for p in list_people(db)]), hide_index=True)
with st.form("person", clear_on_submit=True):
    name_column, role_column, password_column = st.columns(3)
    name = name_column.text_input(
        "Name",
        key="person_name",
        help="A new name adds a person; an existing one changes their role. With single sign-on, "
        "use the person's e-mail address.",
    )
    role = role_column.selectbox(
        "Role",
        ROLES,
        key="person_role",
        help="annotator: writes and submits · reviewer: also approves, rejects and deletes · "
        "admin: also manages people, settings and training",
    )
    password = password_column.text_input(
        "Password",
        type="password",
        key="person_password",
        help=f"Sets or resets their password for signing in (at least {MIN_PASSWORD_LENGTH} "
        "characters); leave empty to keep the one they have.",
    )
    if st.form_submit_button("Save person", disabled=not is_admin, key="save_person"):
        try:
            save_person(db, person, name, role)
            if password:
                set_password(db, person, name, password)
        except (NotAllowed, ValueError, LookupError) as error:
            st.error(str(error))
        else:
            ui.flash(f"{name.strip()} is now {role}.")
            st.rerun()

st.subheader(f"Project {project.name}")
must_differ = st.toggle(
    "A reviewer may not approve or reject their own examples",
    project.reviewer_must_differ,
    key="reviewer_must_differ",
    disabled=not is_admin,
)
st.markdown("**Examples wanted per tag** (progress shows on the Examples page)")
targets = pd.DataFrame(
    [{"tag": row["tag"], "target": row["target"]} for row in tag_progress(db, project)], columns=["tag", "target"]
)
edited = st.data_editor(
    targets,
    num_rows="dynamic",
    hide_index=True,
    key="tag_targets",
    disabled=not is_admin,
    column_config={"target": st.column_config.NumberColumn(min_value=0, step=1)},
)
if st.button("Save project settings", type="primary", disabled=not is_admin, key="save_project"):
    wanted = {
        str(r["tag"]).strip(): r["target"]
        for r in edited.to_dict("records")
        if str(r["tag"] or "").strip() and pd.notna(r["target"])
    }
    try:
        update_project_settings(db, project, person, reviewer_must_differ=must_differ, coverage_targets=wanted)
    except (NotAllowed, ValueError) as error:
        st.error(f"Not saved: {error}")
    else:
        ui.flash("Project settings saved.")
        st.rerun()

st.subheader("Base model code")
trusted = remote_code_allowed(db, project.base_model)
allow = st.toggle(
    f"Let {project.base_model} run its own code when it loads (trust_remote_code)",
    trusted,
    key="trust_remote_code",
    disabled=not is_admin,
    help="Some models ship Python that transformers runs on load: code from whoever made the model. "
    "Off unless an admin allows it for this model; runs launched afterwards load with it.",
)
if allow != trusted:
    try:
        allow_remote_code(db, person, project.base_model, allow)
    except (NotAllowed, ValueError) as error:
        st.error(f"Not changed: {error}")
    else:
        ui.flash(f"{project.base_model} may {'now' if allow else 'no longer'} run its own code.")
        st.rerun()
