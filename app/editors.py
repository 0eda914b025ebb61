"""The editors and keyboard helpers the pages draw: the answer editor a project's format calls
for (labels with number keys, JSON as form fields, text), the output-format editor, the
guidelines beside an example, and the scripts that make text fields keyboard-friendly.
"""

from __future__ import annotations

import json

import streamlit as st

from studio.project.formats import FIELD_TYPES, OutputSpec, fields_of_schema, schema_from_fields
from studio.project.projects import Project

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
    kind = st.radio(
        "Output format",
        kinds,
        index=kinds.index(spec.kind),
        format_func=FORMAT_NAMES.get,
        horizontal=True,
        key=f"{key}_kind",
        help="What every answer must look like; Write checks it as you type.",
    )
    if kind == "labels":
        text = st.text_area(
            "Labels, one per line",
            "\n".join(spec.labels),
            key=f"{key}_labels",
            height=140,
            help="Each answer is exactly one of these. The keys 1 to 9 pick the first nine on Write.",
        )
        return {"kind": "labels", "labels": [line.strip() for line in text.splitlines() if line.strip()]}
    if kind == "json":
        return {"kind": "json", "schema": _schema_editor(key, spec.schema or {"type": "object", "properties": {}})}
    if kind == "regex":
        return {
            "kind": "regex",
            "pattern": st.text_input(
                "Regular expression (the whole answer must match)", spec.pattern, key=f"{key}_pattern"
            ),
        }
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
        num_rows="dynamic",
        key=f"{key}_fields",
        width="stretch",
        column_config={
            "type": st.column_config.SelectboxColumn(options=list(FIELD_TYPES), required=True),
            "required": st.column_config.CheckboxColumn(),
        },
    )
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


_CHECK_AS_TYPED = """
<script>
window.studioLiveLabels = %s;
if (!window.studioLiveFields) {
  window.studioLiveFields = true;
  const timers = new WeakMap();
  document.addEventListener("input", (event) => {
    const field = event.target;
    if (!field || field.tagName !== "TEXTAREA" || !window.studioLiveLabels.includes(field.getAttribute("aria-label"))) return;
    clearTimeout(timers.get(field));
    // Ctrl+Enter is how a Streamlit text area hands its text to the script without losing the focus
    timers.set(field, setTimeout(() => field.dispatchEvent(new KeyboardEvent("keydown", {
      key: "Enter", code: "Enter", keyCode: 13, which: 13, ctrlKey: true, bubbles: true, cancelable: true,
    })), %d));
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
        picked = st.radio(
            "Expected answer",
            labels,
            index=labels.index(value.strip()) if value.strip() in labels else None,
            key=f"answer_label_{key}",
            horizontal=True,
            captions=None,
            help="Keys 1 to 9 pick the first nine labels (outside a text field).",
        )
        st.caption("Keys: " + " · ".join(f"**{n}** {label}" for n, label in enumerate(labels[:9], start=1)))
        return picked or ""
    if (
        spec.kind == "json"
        and _form_fits(spec.schema)
        and st.toggle(
            "Answer with form fields", key=f"answer_form_{key}", help="One field per key of the schema; off: raw JSON"
        )
    ):
        return _json_form(spec.schema, value, key)
    height = 220 if spec.kind == "json" else 140
    return st.text_area(
        "Expected answer", value, key=f"answer_{key}", placeholder="What the model should answer", height=height
    )


def _form_fits(schema: dict) -> bool:
    """Whether every top-level field of the schema has a form widget (a choice, a boolean, a number or a string)."""
    properties = schema.get("properties") or {}
    return bool(properties) and all(
        isinstance(p, dict) and ("enum" in p or p.get("type") in FIELD_TYPES) for p in properties.values()
    )


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
        column, label, widget = (
            columns[number % 2],
            name + (" *" if name in required else ""),
            f"answer_field_{key}_{name}",
        )
        given = current.get(name)
        if "enum" in prop:
            options = list(prop["enum"])
            picked = column.selectbox(
                label, options, index=options.index(given) if given in options else None, key=widget
            )
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


def check_as_typed(labels: list[str], pause_ms: int = 300) -> None:
    """Send the text of these text areas (by label) to the page as the user types, after a short pause.

    st.text_area reruns the page only when the field loses the focus, so a check drawn
    from its text lagged one edit behind the text in the box."""

    st.html(_CHECK_AS_TYPED % (json.dumps(labels), pause_ms), unsafe_allow_javascript=True)
