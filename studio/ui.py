"""Streamlit glue shared by the pages: start-up, the project picker, the current user.

The only module in studio/ that imports streamlit.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from storage.db import DatabaseLocked
from studio.demo import load_demo_if_empty
from studio.jobs import sync_runs
from studio.models import ModelUnavailable, ensure_default_model
from studio.paths import db_path
from studio.people import Person, ensure_local_admin, list_people
from studio.projects import Project, list_projects


def db() -> Path:
    return db_path()


@st.cache_resource(show_spinner="Preparing the studio (first start converts the default model)...")
def bootstrap(home: str) -> str:
    """Once per server and data home: default model, demo project, reattach to live runs."""
    try:
        ensure_default_model()
    except ModelUnavailable as error:
        st.warning(f"The default base model is not ready: {error}")
    loaded = load_demo_if_empty(db())
    ensure_local_admin(db())
    sync_runs(db())
    return "demo loaded" if loaded else "ready"


def run_page(navigation) -> None:
    """Run the chosen page; a database held by another process gets a message, not a traceback."""
    try:
        navigation.run()
    except DatabaseLocked as error:
        text = str(error)
        st.error(f"{text[:1].upper()}{text[1:]}. Reload this page once it is free.")


def sidebar() -> Project | None:
    """Draw the person and project pickers; return the chosen project."""
    projects = list_projects(db())
    people = {person.name: person for person in list_people(db())}
    with st.sidebar:
        names = list(people)
        if st.session_state.get("user") not in people:
            st.session_state["user"] = ensure_local_admin(db()).name if names else None
        st.session_state["acting_as"] = st.selectbox("You are", names, key="user", format_func=lambda name: f"{name} ({people[name].role})",
                     help="Every change is recorded under this name; your role decides what you may do. "
                          "Admins add people on the Settings page.")
        if not projects:
            st.info("No project yet: import one with `studio import FILE --project NAME`.")
            return None
        names = [p.name for p in projects]
        chosen = st.selectbox("Project", names, key="project_name")
    return next(p for p in projects if p.name == chosen)


def current_user() -> str:
    return st.session_state.get("acting_as") or "anonymous"


def current_person() -> Person:
    """The person chosen in the sidebar, with their role."""
    people = {person.name: person for person in list_people(db())}
    return people.get(current_user()) or Person(current_user(), "annotator")


def require_project() -> Project:
    """The project chosen in the sidebar; stop the page when there is none."""
    project = st.session_state.get("project")
    if project is None:
        st.stop()
    return project


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = int(seconds)
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m {seconds % 60:02d}s"


def flash(message: str, kind: str = "success") -> None:
    """Keep a message for the next run of the page (callbacks run before the page draws)."""
    st.session_state["_flash"] = (kind, message)


def show_flash() -> None:
    """Show the kept message in a slot that is always there, so the page layout (and an
    open tab) does not shift when a message comes and goes."""
    slot = st.container()
    kind, message = st.session_state.pop("_flash", (None, None))
    if kind == "success":
        slot.success(message)
    elif kind == "error":
        slot.error(message)


def split_tags(text: str) -> list[str]:
    return [tag.strip() for tag in text.split(",") if tag.strip()]


_SHORTCUTS_IN_FIELDS = """
<script>
if (!window.studioAltKeys) {
  window.studioAltKeys = true;
  document.addEventListener("keydown", (event) => {
    const field = event.target;
    if (!event.altKey || event.ctrlKey || event.metaKey || !/^Key[A-Z]$/.test(event.code)) return;
    if (!field || !["INPUT", "TEXTAREA"].includes(field.tagName)) return;
    const hint = "Alt + " + event.code.slice(3);
    const button = [...document.querySelectorAll("button")].find(
      (b) => !b.disabled && b.innerText.replace(/\\s+/g, " ").includes(hint));
    if (!button) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    // once the field lets go of the focus, Streamlit's own shortcut would fire on the key's release too
    const swallow = (up) => {
      if (up.code !== event.code) return;
      up.stopImmediatePropagation();
      up.preventDefault();
      document.removeEventListener("keyup", swallow, true);
    };
    document.addEventListener("keyup", swallow, true);
    field.blur();  // Streamlit keeps the typed text on blur, then the click runs with it
    setTimeout(() => button.click(), 100);
  }, true);
}
</script>
"""


def shortcuts_in_text_fields() -> None:
    """Let Alt+key button shortcuts work while typing in a text field too.

    Streamlit's own shortcuts ignore keys pressed in inputs, which would force an expert
    to reach for the mouse after every answer they type."""
    st.html(_SHORTCUTS_IN_FIELDS, unsafe_allow_javascript=True)
