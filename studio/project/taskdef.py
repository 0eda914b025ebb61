"""Defining a project's task after it exists: its description, format and guidelines, and its labels.

A changed output format re-validates every live example at once and stores each break as
a format finding (the Quality page lists them, Review shows them beside the example), so
nothing that suddenly breaks the format goes unseen. Renaming a label rewrites the
examples that use it, each as a new revision (who, when, before, after), and merging
labels is renaming several into one. The CLI's `studio project set` and the Project page
both call these.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from storage import examples as example_table
from storage import findings as finding_table
from storage import projects as project_table
from storage.db import connect
from studio.checks.findings import Finding
from studio.dataset.examples import acting_person
from studio.dataset.messages import answer_text
from studio.project.formats import validate_output
from studio.project.people import Person, authorize
from studio.project.projects import Project, change_project_settings, project_in

TASK_FIELDS = ("description", "output_spec", "guidelines", "base_model")


@dataclass(frozen=True)
class TaskChange:
    """What a change of the task did: the project as it is now, and the examples the format now breaks."""

    project: Project
    format_breaks: int = 0
    relabelled: int = 0


def set_task(db: Path, project: Project, actor: Person | None = None, **changes) -> TaskChange:
    """Change the description, output spec (dict), guidelines or base model; a new spec re-checks every example."""
    unknown = set(changes) - set(TASK_FIELDS)
    if unknown:
        raise ValueError(
            f"cannot set {', '.join(sorted(unknown))} here; the task's fields are {', '.join(TASK_FIELDS)}"
        )
    if not changes:
        return TaskChange(project)
    with connect(db) as con:  # one unit of work: a new format and the breaks it finds land together or not at all
        updated = change_project_settings(con, project, actor, **changes)
        breaks = _recheck(con, updated) if "output_spec" in changes else 0
    return TaskChange(updated, breaks)


def recheck_format(db: Path, project: Project) -> int:
    """Validate every live example against the project's format; store the breaks as the open format findings."""
    with connect(db) as con:
        return _recheck(con, project)


def _recheck(con, project: Project) -> int:
    from studio.checks.runner import fingerprint

    examples = [e for e in example_table.fetch_examples(con, project.id) if e["status"] != "rejected"]
    rows = []
    for example in examples:
        problem = validate_output(project.output_spec, answer_text(example["messages"]))
        if problem:
            finding = Finding("format", "error", (0,), 1.0, f"The answer breaks the output format: {problem}.")
            rows.append(
                {
                    "kind": "format",
                    "severity": "error",
                    "score": 1.0,
                    "explanation": finding.explanation,
                    "example_ids": [example["id"]],
                    "fingerprint": fingerprint(finding, [example]),
                }
            )
    finding_table.replace_open_findings(con, project.id, rows, kind="format")
    return len(rows)


def rename_label(db: Path, project: Project, old: str, new: str, author: str) -> TaskChange:
    """Rename label `old` to `new` in the label set and in every example that answers it (one revision each).

    When `new` is already a label, this merges `old` into it."""
    return merge_labels(db, project, [old], new, author)


def merge_labels(db: Path, project: Project, sources: list[str], target: str, author: str) -> TaskChange:
    """Replace labels `sources` by `target` (new or existing) in the label set and in every example, as revisions."""
    spec = project.output_spec
    target = target.strip()
    if spec.kind != "labels":
        raise ValueError(f"project {project.name} has a {spec.kind} format, not a label set")
    missing = [label for label in sources if label not in spec.labels]
    if missing:
        raise ValueError(f"no label {missing[0]!r} in {project.name} (labels: {', '.join(spec.labels)})")
    if not target:
        raise ValueError("the new label name is empty")
    labels: list[str] = []
    for label in spec.labels:
        renamed = target if label in sources else label
        if renamed not in labels:
            labels.append(renamed)
    with connect(db) as con:  # one unit of work: the examples, the label set and the format findings together
        authorize(acting_person(con, author), "manage")
        changed = _relabel(con, project, sources, target, author)
        project_table.update_project(con, project.id, output_spec={"kind": "labels", "labels": labels})
        updated = project_in(con, project.name)
        return TaskChange(updated, _recheck(con, updated), changed)


def _relabel(con, project: Project, sources: list[str], target: str, author: str) -> int:
    """Answer `target` wherever an example answered one of `sources`, a revision each; return how many changed."""
    changed = 0
    for example in example_table.fetch_examples(con, project.id):
        messages = example["messages"]
        if answer_text(messages).strip() in sources:
            last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
            rewritten = [*messages[:last], {"role": "assistant", "content": target}, *messages[last + 1 :]]
            example_table.update_example(con, example["id"], example["revision"], author, messages=rewritten)
            changed += 1
    return changed
