"""The web app's glue shared by the pages: start-up, the sign-in gate, the project picker, the current user.

It lives beside the pages (app/), not in the domain: nothing in studio/ imports streamlit.
The rules of signing in (hashes, when it is required, who a sign-on identity is) live in
studio/project/signin.py; the editors a page draws are in app/editors.py.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from studio.demo import load_demo_if_empty
from studio.models.loading import ModelUnavailable, ensure_default_model
from studio.paths import SOURCE_ROOT, db_path
from studio.project.people import NotAllowed, Person, ensure_local_admin, find_person, list_people
from studio.project.projects import DatabaseLocked, Project, archive_project, list_projects
from studio.project.signin import (
    FIRST_ADMIN,
    WRONG,
    SignInFailed,
    anyone_can_sign_in,
    has_password,
    local_address,
    person_for_identity,
    sign_in,
    sign_in_required,
)
from studio.training.supervisor import sync_runs


def db() -> Path:
    return db_path()


def page_file(name: str) -> Path:
    """A page's file, for st.page_link and st.switch_page (their relative paths start at app/, not here)."""
    return SOURCE_ROOT / "pages" / name


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


def sign_in_on() -> bool:
    return sign_in_required(st.get_option("server.address"))


def sign_on_configured() -> bool:
    """Whether .streamlit/secrets.toml has an [auth] section (Streamlit's OIDC single sign-on)."""
    try:
        return "auth" in st.secrets
    except (StreamlitSecretNotFoundError, FileNotFoundError):
        return False


def sign_in_gate(pages: dict[str, list]) -> bool:
    """True when the page may render: sign-in is off, or someone is signed in.

    Otherwise the sign-in form stands in for every page (so a page's address shows the
    form, and after signing in, that page) and the caller stops. Beyond localhost, errors
    show no details to the browser."""
    if not sign_in_on():
        return True
    if not local_address(st.get_option("server.address")):
        st.set_option("client.showErrorDetails", "none")
    person = signed_in_person()
    if person is not None:
        st.session_state["acting_as"] = person.name
        return True
    for key in ("acting_as", "project"):
        st.session_state.pop(key, None)
    paths = [page.url_path for section in pages.values() for page in section if page.url_path]
    stand_ins = [st.Page(_sign_in_page, title="Sign in", default=True)]
    stand_ins += [st.Page(_sign_in_page, title="Sign in", url_path=path) for path in paths]
    st.navigation(stand_ins, position="hidden").run()
    return False


def signed_in_person() -> Person | None:
    """Who is signed in: by password in this session, or by single sign-on mapped to a person."""
    name = st.session_state.get("signed_in")
    if name:
        person = find_person(db(), name)
        if person is not None and has_password(db(), name):
            return person
        st.session_state.pop("signed_in", None)  # removed, or their password withdrawn since
    if sign_on_configured() and st.user.is_logged_in:
        return person_for_identity(db(), st.user.get("email"))
    return None


def _sign_in_page() -> None:
    st.title("Sign in")
    st.caption("Fine-Tuning Studio: sign in with the name and password an admin gave you.")
    if sign_on_configured():
        _single_sign_on()
    if not anyone_can_sign_in(db()):
        st.error(
            f"Sign-in is required, and nobody has a password yet. On the server, create the first admin with "
            f"`{FIRST_ADMIN}`, then sign in here."
        )
        return
    with st.form("sign_in"):
        name = st.text_input("Name", key="sign_in_name")
        password = st.text_input("Password", type="password", key="sign_in_password")
        if st.form_submit_button("Sign in", type="primary"):
            try:
                st.session_state["signed_in"] = sign_in(db(), name, password).name
            except SignInFailed:
                st.error(WRONG)
            else:
                st.rerun()


def _single_sign_on() -> None:
    if find_spec("authlib") is None:
        st.warning("Single sign-on is configured but Authlib is missing on the server: `pip install -e '.[sso]'`.")
        return
    if not st.user.is_logged_in:
        st.button("Sign in with single sign-on", on_click=st.login, key="single_sign_on")
        return
    st.error(
        f"{st.user.get('email') or st.user.get('name')} is signed in with single sign-on but is not a person of this "
        "studio. Ask an admin to add you under your e-mail address."
    )
    st.button("Sign out", on_click=st.logout, key="single_sign_out")


def sign_out() -> None:
    """Forget this session's sign-in (and end a single sign-on one)."""
    for key in ("signed_in", "acting_as", "user", "project"):
        st.session_state.pop(key, None)
    if sign_on_configured() and st.user.is_logged_in:
        st.logout()


def sidebar() -> Project | None:
    """Draw who is working (the signed-in person, or a picker) and the project picker; return the chosen project."""
    projects = list_projects(db())
    with st.sidebar:
        if sign_in_on():
            person = current_person()
            st.markdown(f"Signed in as **{person.name}** ({person.role})")
            st.button("Sign out", on_click=sign_out, key="sign_out", icon=":material/logout:")
        else:
            _person_picker()
        st.page_link(page_file("new_project.py"), label="New project", icon=":material/add_circle:")
        if not projects:
            if not _offer_archived():
                st.info("No project yet: create one above, or import a file with `studio import FILE --project NAME`.")
            return None
        names = [p.name for p in projects]
        pending = st.session_state.pop("_choose_project", None)  # a page just created or renamed it
        if pending in names:
            st.session_state["project_name"] = pending
        chosen = st.selectbox("Project", names, key="project_name")
    return next(p for p in projects if p.name == chosen)


def _offer_archived() -> bool:
    """With every project archived, the sidebar offers them back (the Project page, where a project is restored
    otherwise, needs a live project to open); return whether there were any."""
    archived = [p for p in list_projects(db(), include_archived=True) if p.archived]
    if archived:
        st.info("Every project is archived. Restore one to work on it (admins), or create a new one above.")
    for project in archived:
        if st.button(f"Restore {project.name}", key=f"restore_archived_{project.id}", icon=":material/unarchive:"):
            try:
                archive_project(db(), project, False, current_person())
            except NotAllowed as error:
                st.error(str(error))
                continue
            choose_project(project.name)
            flash(f"{project.name} restored.")
            st.rerun()
    return bool(archived)


def choose_project(name: str) -> None:
    """Make `name` the sidebar's project from the next run on."""
    st.session_state["_choose_project"] = name


def _person_picker() -> None:
    """With sign-in off (localhost), whoever sits at the machine says who they are."""
    people = {person.name: person for person in list_people(db())}
    names = list(people)
    if st.session_state.get("user") not in people:
        st.session_state["user"] = ensure_local_admin(db()).name if names else None
    st.session_state["acting_as"] = st.selectbox(
        "You are",
        names,
        key="user",
        format_func=lambda name: f"{name} ({people[name].role})",
        help="Every change is recorded under this name; your role decides what you may do. Admins add people on the Settings page.",
    )


def current_user() -> str:
    return st.session_state.get("acting_as") or "anonymous"


def current_person() -> Person:
    """The person chosen in the sidebar, with their role."""
    people = {person.name: person for person in list_people(db())}
    return people.get(current_user()) or Person(current_user(), "annotator")


def require_signed_in() -> None:
    """Stop the page when sign-in is on and nobody is signed in."""
    if sign_in_on() and signed_in_person() is None:
        st.session_state.pop("project", None)
        st.warning("Sign in first.")
        st.markdown("[Go to the sign-in form](./)")
        st.stop()


def require_project() -> Project:
    """The project chosen in the sidebar; stop the page when there is none, or when sign-in is
    on and nobody is signed in (app/main.py's gate stops first; every page checks again)."""
    require_signed_in()
    project = st.session_state.get("project")
    if project is None:
        st.stop()
    return project


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = int(seconds)
    return (
        f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
        if seconds >= 3600
        else f"{seconds // 60}m {seconds % 60:02d}s"
    )


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


def open_draft_button(key: str) -> None:
    """A button that opens the draft a callback just made (its id kept under `key` in the session) in the
    Write page's editor, in this session (a plain link would start a new one)."""
    draft = st.session_state.get(key)
    if draft is not None and st.button(
        f"Open draft example {draft} in the editor", key=f"{key}_open", icon=":material/edit_note:", type="primary"
    ):
        st.session_state.pop(key, None)
        st.switch_page(page_file("write.py"), query_params={"id": draft})


def split_tags(text: str) -> list[str]:
    return [tag.strip() for tag in text.split(",") if tag.strip()]
