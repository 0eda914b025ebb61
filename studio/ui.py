"""Streamlit glue shared by the pages: start-up, the sign-in gate, the project picker, the current user.

The only module in studio/ that imports streamlit. The rules of signing in (hashes, when
it is required, who a sign-on identity is) live in studio/signin.py.
"""

from __future__ import annotations

import json
from importlib.util import find_spec
from pathlib import Path

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from storage.db import DatabaseLocked
from studio.demo import load_demo_if_empty
from studio.jobs import sync_runs
from studio.models import ModelUnavailable, ensure_default_model
from studio.paths import db_path
from studio.people import Person, ensure_local_admin, find_person, list_people
from studio.formats import FIELD_TYPES, OutputSpec, fields_of_schema, schema_from_fields
from studio.projects import Project, list_projects
from studio.signin import (
    FIRST_ADMIN, WRONG, SignInFailed, anyone_can_sign_in, has_password, local_address, person_for_identity, sign_in, sign_in_required,
)


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
        st.error(f"Sign-in is required, and nobody has a password yet. On the server, create the first admin with "
                 f"`{FIRST_ADMIN}`, then sign in here.")
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
    st.error(f"{st.user.get('email') or st.user.get('name')} is signed in with single sign-on but is not a person of this "
             "studio. Ask an admin to add you under your e-mail address.")
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
        st.page_link("pages/new_project.py", label="New project", icon=":material/add_circle:")
        if not projects:
            st.info("No project yet: create one above, or import a file with `studio import FILE --project NAME`.")
            return None
        names = [p.name for p in projects]
        pending = st.session_state.pop("_choose_project", None)  # a page just created or renamed it
        if pending in names:
            st.session_state["project_name"] = pending
        chosen = st.selectbox("Project", names, key="project_name")
    return next(p for p in projects if p.name == chosen)


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
        "You are", names, key="user", format_func=lambda name: f"{name} ({people[name].role})",
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
    on and nobody is signed in (a first visit to a page's own address runs its file without
    app.py, because Streamlit also finds the pages/ folder: every page calls this first)."""
    require_signed_in()
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


FORMAT_NAMES = {"labels": "Label set", "json": "JSON schema", "regex": "Regular expression", "text": "Free text"}


def output_spec_editor(key: str, spec: OutputSpec) -> dict:
    """The output format's editors: labels one per line, a JSON schema as a field list or raw JSON, a regex, or
    free text. Returns the spec as a dict (checked when saved); a raw schema that is not JSON raises ValueError."""
    kinds = list(FORMAT_NAMES)
    kind = st.radio("Output format", kinds, index=kinds.index(spec.kind), format_func=FORMAT_NAMES.get, horizontal=True,
                    key=f"{key}_kind", help="What every answer must look like; Write checks it as you type.")
    if kind == "labels":
        text = st.text_area("Labels, one per line", "\n".join(spec.labels), key=f"{key}_labels", height=140,
                            help="Each answer is exactly one of these. The keys 1 to 9 pick the first nine on Write.")
        return {"kind": "labels", "labels": [line.strip() for line in text.splitlines() if line.strip()]}
    if kind == "json":
        return {"kind": "json", "schema": _schema_editor(key, spec.schema or {"type": "object", "properties": {}})}
    if kind == "regex":
        return {"kind": "regex", "pattern": st.text_input("Regular expression (the whole answer must match)", spec.pattern,
                                                          key=f"{key}_pattern")}
    return {"kind": "text"}


def _schema_editor(key: str, schema: dict) -> dict:
    """Raw JSON, or a field list; a schema the field list cannot hold exactly (descriptions, nesting, ...) opens raw,
    and an untouched field list gives back the schema as it was."""
    rows = fields_of_schema(schema)
    try:
        exact = not rows or schema_from_fields(rows) == schema
    except ValueError:
        exact = False
    if st.toggle("Edit the schema as raw JSON", value=not exact, key=f"{key}_raw"):
        text = st.text_area("JSON Schema", json.dumps(schema, indent=2), key=f"{key}_schema", height=220)
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"the schema is not valid JSON: {error.msg} at line {error.lineno}") from None
    st.caption("One row per field: allowed values (comma separated) make a string field a choice.")
    fields = st.data_editor(
        rows or [{"name": "", "type": "string", "allowed": "", "required": True}],
        num_rows="dynamic", key=f"{key}_fields", width="stretch",
        column_config={"type": st.column_config.SelectboxColumn(options=list(FIELD_TYPES), required=True),
                       "required": st.column_config.CheckboxColumn()})
    return schema if list(fields) == rows else schema_from_fields(list(fields))


def show_guidelines(project: Project) -> None:
    """The project's annotation guidelines in the sidebar, beside whatever the page shows."""
    if project.guidelines.strip():
        with st.sidebar.expander("Guidelines", expanded=True, icon=":material/menu_book:"):
            st.markdown(project.guidelines)


_LABEL_KEYS = """
<script>
if (!window.studioLabelKeys) {
  window.studioLabelKeys = true;
  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey || !/^(Digit|Numpad)[1-9]$/.test(event.code)) return;
    const field = event.target;
    const typing = field && (field.tagName === "TEXTAREA" || field.isContentEditable ||
      (field.tagName === "INPUT" && !["radio", "checkbox"].includes(field.type)));
    if (typing) return;
    const group = document.querySelector('[class*="st-key-answer_label_"] [role="radiogroup"]');
    const option = group && group.querySelectorAll("label")[Number(event.code.slice(-1)) - 1];
    if (!option) return;
    event.preventDefault();
    option.click();
  }, true);
}
</script>
"""


def answer_input(spec: OutputSpec, value: str, key: str) -> str:
    """The answer editor the format calls for: a label set as radio buttons (keys 1 to 9 pick one), else a text area."""
    if spec.kind == "labels":
        labels = list(spec.labels)
        if value.strip() and value.strip() not in labels:
            st.warning(f"The current answer {value.strip()!r} is not one of the labels; pick one.")
        st.html(_LABEL_KEYS, unsafe_allow_javascript=True)
        picked = st.radio("Expected answer", labels, index=labels.index(value.strip()) if value.strip() in labels else None,
                          key=f"answer_label_{key}", horizontal=True,
                          captions=None, help="Keys 1 to 9 pick the first nine labels (outside a text field).")
        st.caption("Keys: " + " · ".join(f"**{n}** {label}" for n, label in enumerate(labels[:9], start=1)))
        return picked or ""
    if spec.kind == "json" and _form_fits(spec.schema) and st.toggle(
            "Answer with form fields", key=f"answer_form_{key}", help="One field per key of the schema; off: raw JSON"):
        return _json_form(spec.schema, value, key)
    height = 220 if spec.kind == "json" else 140
    return st.text_area("Expected answer", value, key=f"answer_{key}", placeholder="What the model should answer",
                        height=height)


def _form_fits(schema: dict) -> bool:
    """Whether every top-level field of the schema has a form widget (a choice, a boolean, a number or a string)."""
    properties = schema.get("properties") or {}
    return bool(properties) and all(isinstance(p, dict) and ("enum" in p or p.get("type") in FIELD_TYPES)
                                    for p in properties.values())


def _json_form(schema: dict, value: str, key: str) -> str:
    """The answer as form fields: allowed values as selects, booleans as checkboxes, numbers as number inputs,
    strings as text; keys the schema does not list are kept as they were."""
    try:
        current = json.loads(value) if value.strip() else {}
    except ValueError:
        current = {}
    current = current if isinstance(current, dict) else {}
    required, answer = set(schema.get("required", [])), {}
    columns = st.columns(2)
    for number, (name, prop) in enumerate(schema["properties"].items()):
        column, label, widget = columns[number % 2], name + (" *" if name in required else ""), f"answer_field_{key}_{name}"
        given = current.get(name)
        if "enum" in prop:
            options = list(prop["enum"])
            picked = column.selectbox(label, options, index=options.index(given) if given in options else None, key=widget)
            answer.update({name: picked} if picked is not None else {})
        elif prop.get("type") == "boolean":
            answer[name] = column.checkbox(label, bool(given), key=widget)
        elif prop.get("type") in ("number", "integer"):
            whole = prop.get("type") == "integer"
            start = given if isinstance(given, (int, float)) and not isinstance(given, bool) else None
            number_value = column.number_input(label, value=start, step=1 if whole else None, key=widget)
            answer.update({name: int(number_value) if whole else number_value} if number_value is not None else {})
        else:
            text = column.text_input(label, given if isinstance(given, str) else "", key=widget)
            answer.update({name: text} if text or name in required else {})
    kept = {k: v for k, v in current.items() if k not in schema["properties"]}
    return json.dumps({**kept, **answer}, ensure_ascii=False)
