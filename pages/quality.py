"""Quality page: run the consistency checks and look at each problem's examples side by side."""

import streamlit as st

from studio import ui
from studio.checks import CHECKS, check_project, load_findings

project = ui.require_project()
db = ui.db()
st.title("Quality")
st.caption("Checks: " + " · ".join(check.__doc__.splitlines()[0].split(":")[0] for check in CHECKS))

if st.button("Run checks", type="primary", key="run_checks"):
    with st.spinner("Checking every example..."):
        findings = check_project(db, project)
    st.toast(f"{len(findings)} findings")
findings = load_findings(db, project)

kinds = sorted({f["kind"] for f in findings})
columns = st.columns(max(len(kinds), 1))
for column, kind in zip(columns, kinds):
    column.metric(kind.capitalize() + "s", sum(f["kind"] == kind for f in findings))
if not findings:
    st.info("No open findings. Run the checks after adding or editing examples.")

chosen_kinds = st.multiselect("Show", kinds, default=kinds, key="finding_kinds") if kinds else []
for finding in (f for f in findings if f["kind"] in chosen_kinds):
    icon = ":material/error:" if finding["severity"] == "error" else ":material/warning:"
    with st.container(border=True):
        st.markdown(f"{icon} **{finding['kind'].capitalize()}** · {finding['severity']} · {finding['explanation']}")
        for column, example in zip(st.columns(len(finding["examples"])), finding["examples"]):
            with column:
                st.markdown(f"**{example['external_id'] or example['id']}** · {example['status']} · id {example['id']}")
                st.text(example["input"])
                st.code(example["answer"], language="json" if project.output_spec.kind == "json" else None, wrap_lines=True)
