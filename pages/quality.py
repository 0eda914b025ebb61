"""Quality page: run the consistency checks, filter the findings, and decide each one.

A finding with two or more examples shows them side by side with the differences
marked; the expert keeps one (the others are rejected), rejects one, edits an answer,
or dismisses the finding with a reason.
"""

import html

import streamlit as st

from app import ui
from studio.checks.adjudication import (
    FindingNotOpen,
    dismiss_finding,
    edit_answer,
    highlight_differences,
    keep_example,
    reject_examples,
)
from studio.checks.findings import SEVERITIES, FindingExample, StoredFinding
from studio.checks.runner import CHECK_KINDS, KINDS, CheckConfig, load_findings, run_project_checks
from studio.dataset.examples import InvalidExample, StaleRevision

SHOWN = 40
TITLES = {kind.name: kind.title for kind in CHECK_KINDS}
SCORE_MEANS = {kind.name: kind.score_means for kind in CHECK_KINDS}  # the list shows the surest first

project = ui.require_project()
db = ui.db()
st.title("Quality")
ui.show_flash()
st.caption("Checks: " + " · ".join(kind.title for kind in CHECK_KINDS))

with st.expander("Thresholds"):
    near = st.slider(
        "Near duplicates: inputs at least this alike",
        0.7,
        1.0,
        CheckConfig.near_duplicate_similarity,
        0.01,
        key="near_threshold",
        help=CheckConfig.__dataclass_fields__["near_duplicate_similarity"].metadata["help"],
    )
    contra = st.slider(
        "Contradictions: inputs at least this alike",
        0.7,
        1.0,
        CheckConfig.contradiction_similarity,
        0.01,
        key="contradiction_threshold",
        help=CheckConfig.__dataclass_fields__["contradiction_similarity"].metadata["help"],
    )

if st.button("Run checks", type="primary", key="run_checks"):
    with st.spinner("Checking every example..."):
        run = run_project_checks(
            db, project, CheckConfig(near_duplicate_similarity=near, contradiction_similarity=contra)
        )
    st.toast(
        f"{len(run.findings)} open findings · {run.embedded} texts embedded · "
        f"{run.compared} examples compared again · {run.seconds:.1f} s"
    )


def act(action, *args, done: str) -> None:
    """Run a decision from a button; say what happened on the next run of the page."""
    try:
        action(db, project, *args)
    except (FindingNotOpen, InvalidExample, StaleRevision, ValueError) as error:
        ui.flash(f"Not done: {error}", "error")
        return
    ui.flash(done)


state = st.radio("Findings", ["open", "dismissed", "resolved"], horizontal=True, key="finding_state")
findings = load_findings(db, project, state)
present = [k for k in KINDS if any(f.kind == k for f in findings)]
for column, kind in zip(st.columns(max(len(present), 1)), present):
    column.metric(TITLES[kind], sum(f.kind == kind for f in findings))
if not findings:
    st.info(f"No {state} findings. Run the checks after adding or editing examples.")

left, right = st.columns(2)
# keyed by the kinds present, so kinds that appear after a check are shown, not filtered out
kinds = left.multiselect(
    "Kind", present, default=present, key=f"finding_kinds_{'_'.join(present)}", format_func=TITLES.get
)
severities = right.multiselect("Severity", SEVERITIES, default=list(SEVERITIES), key="finding_severities")
chosen = [f for f in findings if f.kind in kinds and f.severity in severities]
if len(chosen) > SHOWN:
    st.caption(f"Showing the {SHOWN} surest of {len(chosen)}; narrow the filters to see others.")
if chosen:
    st.caption(
        "Each finding's **score**, from 0 to 1, says how sure the check is, the surest first; "
        "what it measures depends on the kind and is said beside it."
    )


def show_examples(finding: StoredFinding) -> None:
    examples = finding.examples
    marked = [(e.input, e.answer) for e in examples]
    if len(examples) == 2:
        inputs, answers = (
            highlight_differences(examples[0].input, examples[1].input),
            highlight_differences(examples[0].answer, examples[1].answer),
        )
        marked = list(zip(inputs, answers))
    else:
        marked = [(html.escape(i), html.escape(a)) for i, a in marked]
    for column, example, (question, answer) in zip(st.columns(len(examples)), examples, marked):
        with column, st.container(border=True, key=f"side_{finding.id}_{example.id}"):
            st.markdown(f"**{example.external_id or example.id}** · {example.status} · revision {example.revision}")
            st.html(
                f"<div class='finding-input'>{question}</div>"
                f"<pre class='finding-answer' style='white-space: pre-wrap'>{answer}</pre>"
            )
            if finding.state == "open" and len(examples) > 1:
                show_decisions(finding, example)


def keep_help(finding: StoredFinding, example: FindingExample) -> str:
    """What Keep this one does, in the finding's own terms (a suspect output lists the doubted example first)."""
    others = len(finding.examples) - 1
    rejected = f"the other {others} example(s) shown here are rejected" if others > 1 else "the other one is rejected"
    if finding.kind == "suspect-output" and example.id == finding.examples[0].id:
        return (
            f"Says this answer is right after all: {rejected} (rejected examples are not trained on; nothing is "
            "deleted). To keep every example as it is, dismiss the finding with a reason instead."
        )
    return f"Says this example is the right one: {rejected} (rejected examples are not trained on; nothing is deleted)."


def show_decisions(finding: StoredFinding, example: FindingExample) -> None:
    key = f"{finding.id}_{example.id}"
    one, two = st.columns(2)
    one.button(
        "Keep this one",
        key=f"keep_{key}",
        help=keep_help(finding, example),
        on_click=act,
        args=(keep_example, finding.id, example.id, ui.current_user()),
        kwargs={"done": f"Kept {example.external_id or example.id}; the others are rejected."},
    )
    two.button(
        "Reject",
        key=f"reject_{key}",
        on_click=act,
        args=(reject_examples, finding.id, [example.id], ui.current_user()),
        kwargs={"done": f"Rejected {example.external_id or example.id}."},
    )
    with st.popover("Edit answer"):
        st.text_area("Answer", example.answer, key=f"answer_{key}")
        st.button(
            "Save answer",
            key=f"save_{key}",
            on_click=lambda: act(
                edit_answer,
                finding.id,
                example.id,
                example.revision,
                st.session_state[f"answer_{key}"],
                ui.current_user(),
                done=f"Saved a new answer for {example.external_id or example.id}.",
            ),
        )


for finding in chosen[:SHOWN]:
    icon = {"error": ":material/error:", "warning": ":material/warning:"}.get(finding.severity, ":material/info:")
    with st.container(border=True, key=f"fbox_{finding.id}"):
        st.markdown(
            f"{icon} **{TITLES[finding.kind]}** · {finding.severity} · "
            f"score {finding.score:.2f} ({SCORE_MEANS[finding.kind]}) · {finding.explanation}"
        )
        if finding.state != "open":
            st.caption(f"{finding.state.capitalize()} by {finding.decided_by}: {finding.reason}")
        if finding.kind == "suspect-output" and finding.state == "open" and len(finding.examples) > 1:
            st.caption(
                "The first example is the one whose answer the check doubts; the others are its nearest examples, "
                "which answer differently. **Keep this one** marks one example as right and rejects every other "
                "example shown (rejected examples are not trained on; nothing is deleted). **Edit answer** fixes the "
                "doubted answer; **Dismiss** keeps them all as they are."
            )
        if finding.examples:
            show_examples(finding)
        if finding.state == "open":
            reason_column, button_column = st.columns([4, 1], vertical_alignment="bottom")
            reason_column.text_input(
                "Reason to dismiss", key=f"reason_{finding.id}", placeholder="e.g. both answers are right"
            )
            button_column.button(
                "Dismiss",
                key=f"dismiss_{finding.id}",
                on_click=lambda f=finding: act(
                    dismiss_finding,
                    f.id,
                    st.session_state.get(f"reason_{f.id}", ""),
                    ui.current_user(),
                    done="Dismissed: it stays dismissed while its examples are unchanged.",
                ),
            )
