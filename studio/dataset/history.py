"""The history of an example: every revision, what it changed, and restoring an old one.

Restoring is itself a change: the messages and tags of the chosen revision come back as
a new revision (the status stays, so restoring never approves anything by itself).
"""

from __future__ import annotations

import difflib
from pathlib import Path

from storage import examples as example_table
from storage.db import connect
from studio.dataset.examples import InvalidExample, change_example, example_history
from studio.dataset.messages import answer_text, input_text
from studio.project.projects import Project


def describe_revisions(db: Path, example_id: int) -> list[dict]:
    """Each revision, newest first: who, when, a one-line summary and a line diff against the one before."""
    described = []
    for revision in example_history(db, example_id):
        before, after = revision["before"] or {}, revision["after"]
        described.append(
            {
                "revision": revision["revision"],
                "author": revision["author"],
                "changed_at": revision["changed_at"],
                "summary": summarise_change(before, after),
                "diff": diff_snapshots(before, after),
                "after": after,
            }
        )
    return described[::-1]


def summarise_change(before: dict, after: dict) -> str:
    if not before:
        return f"created as {after['status']}"
    changes = []
    if before.get("messages") != after.get("messages"):
        parts = [
            name
            for name, read in (("input", input_text), ("answer", answer_text))
            if read(before["messages"]) != read(after["messages"])
        ]
        changes.append(" and ".join(parts or ["messages"]) + " edited")
    if before.get("status") != after.get("status"):
        changes.append(f"{before.get('status')} → {after.get('status')}")
    if set(before.get("tags") or []) != set(after.get("tags") or []):
        changes.append("tags " + _tag_change(before.get("tags") or [], after.get("tags") or []))
    if before.get("split", "train") != after.get("split", "train"):
        changes.append("moved to the test set" if after.get("split") == "test" else "moved back to training")
    if before.get("deleted") != after.get("deleted"):
        changes.append("moved to the trash" if after.get("deleted") else "restored from the trash")
    return "; ".join(changes) or "no visible change"


def diff_snapshots(before: dict, after: dict) -> str:
    """A unified diff of the example as text (input, answer, tags, status)."""
    return "\n".join(
        difflib.unified_diff(
            _as_lines(before),
            _as_lines(after),
            "before",
            "after",
            lineterm="",
            n=2,
        )
    )


def restore_revision(db: Path, project: Project, example_id: int, revision: int, author: str) -> int:
    """Bring back the messages and tags of `revision` as a new revision; return its number.

    One unit of work: the revision read is the one restored, whatever another session saves meanwhile."""
    with connect(db) as con:
        current = example_table.fetch_example(con, example_id)
        if current is None:
            raise InvalidExample(
                f"example {example_id} is in the trash or does not exist; restore it from the trash first"
            )
        chosen = next((r for r in example_table.fetch_revisions(con, example_id) if r["revision"] == revision), None)
        if chosen is None:
            raise InvalidExample(f"example {example_id} has no revision {revision}")
        snapshot = chosen["after"]
        return change_example(
            con, project, example_id, current["revision"], author, messages=snapshot["messages"], tags=snapshot["tags"]
        )


def _as_lines(snapshot: dict) -> list[str]:
    if not snapshot:
        return []
    lines = [f"{m['role']}: {line}" for m in snapshot["messages"] for line in m["content"].splitlines() or [""]]
    return [*lines, f"tags: {', '.join(snapshot.get('tags') or [])}", f"status: {snapshot.get('status')}"]


def _tag_change(before: list[str], after: list[str]) -> str:
    added = [f"+{t}" for t in after if t not in before]
    removed = [f"-{t}" for t in before if t not in after]
    return " ".join(added + removed)
