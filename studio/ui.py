"""Streamlit glue shared by the pages: start-up, the project picker, the current user.

The only module in studio/ that imports streamlit.
"""

from __future__ import annotations

import getpass
from pathlib import Path

import streamlit as st

from storage.db import DatabaseLocked
from studio.demo import load_demo_if_empty
from studio.jobs import sync_runs
from studio.models import ModelUnavailable, ensure_default_model
from studio.paths import db_path
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
    sync_runs(db())
    return "demo loaded" if loaded else "ready"


def run_page(navigation) -> None:
    """Run the chosen page; a database held by another process gets a message, not a traceback."""
    try:
        navigation.run()
    except DatabaseLocked as error:
        st.error(f"{error} Reload this page once it is free.")


def sidebar() -> Project | None:
    """Draw the project picker and the user field; return the chosen project."""
    projects = list_projects(db())
    with st.sidebar:
        st.text_input("You are", key="user", value=st.session_state.get("user") or _default_user(),
                      help="Your name, recorded on every change you make.")
        if not projects:
            st.info("No project yet: import one with `studio import FILE --project NAME`.")
            return None
        names = [p.name for p in projects]
        chosen = st.selectbox("Project", names, key="project_name")
    return next(p for p in projects if p.name == chosen)


def current_user() -> str:
    return (st.session_state.get("user") or _default_user()).strip() or "anonymous"


def _default_user() -> str:
    try:
        return getpass.getuser()
    except OSError:
        return "expert"


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
