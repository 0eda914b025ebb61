"""The review queue: submitted examples one at a time, with their findings and comments.

Reviewers approve or reject; either can carry a comment that explains the decision to
the author. Roles and the project's reviewer rule are enforced by studio.dataset.examples.
"""

from __future__ import annotations

from pathlib import Path

from storage import example_search
from storage.db import connect
from studio.checks.findings import StoredFinding
from studio.dataset.examples import InvalidExample, add_comment, edit_example, get_example
from studio.dataset.search import ExampleFilter, matching_ids
from studio.project.projects import Project

DECISIONS = {"approve": "approved", "reject": "rejected"}


def review_queue(db: Path, project: Project, chosen: ExampleFilter | None = None) -> list[int]:
    """Ids of the submitted examples (optionally narrowed by a filter), oldest first."""
    base = chosen or ExampleFilter()
    return matching_ids(db, project, ExampleFilter(**{**base.__dict__, "status": "submitted", "deleted": False}))


def neighbour(queue: list[int], current: int | None, step: int) -> int | None:
    """The id `step` places from `current` in the queue (the first when current left the queue)."""
    if not queue:
        return None
    if current not in queue:
        later = [i for i in queue if current is None or i > current]
        return later[0] if later else queue[0]
    return queue[(queue.index(current) + step) % len(queue)]


def open_findings(db: Path, example_id: int) -> list[StoredFinding]:
    """The open findings that name this example, surest first (without their examples: the page shows this one)."""
    with connect(db) as con:
        rows = example_search.fetch_open_findings_of(con, example_id)
    fields = ("id", "kind", "severity", "score", "explanation")
    return [StoredFinding(**{name: row[name] for name in fields}) for row in rows]


def decide(
    db: Path, project: Project, example_id: int, revision: int, decision: str, author: str, comment: str = ""
) -> int:
    """Approve or reject an example at `revision`, with an optional comment; return the new revision."""
    if decision not in DECISIONS:
        raise InvalidExample(f"decision must be approve or reject, not {decision!r}")
    if get_example(db, example_id) is None:
        raise InvalidExample(f"example {example_id} is in the trash or does not exist")
    new_revision = edit_example(db, project, example_id, revision, author, status=DECISIONS[decision])
    if comment.strip():
        add_comment(db, example_id, author, f"{DECISIONS[decision]}: {comment.strip()}")
    return new_revision
