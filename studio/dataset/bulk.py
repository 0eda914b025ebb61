"""Bulk actions: tag, change status or split, or delete everything a filter selects, not just a page.

Each example still gets its own revision. Examples a change would break are skipped and
named: an answer that breaks the project's format cannot leave draft, and where the
project says so a reviewer cannot approve or reject their own example. The selection and
the change are one unit of work: what the filter selected is what changes, all of it or none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from storage import bulk as bulk_table
from storage import examples as example_table
from storage.db import connect
from studio.dataset.examples import REVIEWED, SPLITS, STATUSES, acting_person
from studio.dataset.messages import answer_text, input_text
from studio.dataset.search import ExampleFilter, extensions_for, ids_in
from studio.project.formats import validate_output
from studio.project.people import authorize
from studio.project.projects import Project

ACTIONS = ("add tag", "remove tag", "set status", "set split", "delete")
# the values an action takes from a fixed list (the page offers them as a choice)
CHOICES = {"set status": STATUSES, "set split": SPLITS}


@dataclass(frozen=True)
class BulkResult:
    selected: int
    changed: int
    skipped: dict[int, str] = field(default_factory=dict)  # example id -> why it was left alone

    def summary(self) -> str:
        text = f"{self.changed} of {self.selected} selected examples changed"
        return text + (f"; {len(self.skipped)} skipped" if self.skipped else "")


def apply_bulk(db: Path, project: Project, chosen: ExampleFilter, action: str, value: str, author: str) -> BulkResult:
    """Apply `action` ('add tag', 'remove tag', 'set status', 'set split', 'delete') with `value` to every match.

    'set split' 'test' puts the examples in the project's test set, held out for good; 'train' takes them back.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown bulk action {action!r}; choose one of {', '.join(ACTIONS)}")
    with connect(db, extensions=extensions_for(chosen)) as con:
        ids = ids_in(con, project, chosen)
        if action == "delete":
            authorize(acting_person(con, author), "delete")
            return BulkResult(len(ids), example_table.set_deleted(con, project.id, ids, author, True))
        if action in ("add tag", "remove tag"):
            return _retag(con, ids, action, value.strip(), author)
        if action == "set status":
            return _restatus(con, project, ids, value, author)
        return _resplit(con, ids, value, author)


def _retag(con, ids: list[int], action: str, tag: str, author: str) -> BulkResult:
    if not tag:
        raise ValueError("name the tag to add or remove")
    change = bulk_table.add_tag if action == "add tag" else bulk_table.remove_tag
    authorize(acting_person(con, author), "write")
    return BulkResult(len(ids), change(con, ids, tag, author))


def _restatus(con, project: Project, ids: list[int], status: str, author: str) -> BulkResult:
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    authorize(acting_person(con, author), "review" if status in REVIEWED else "write")
    skipped = _refusals(project, bulk_table.fetch_authored_messages(con, ids), status, author)
    allowed = [i for i in ids if i not in skipped]
    return BulkResult(len(ids), bulk_table.set_status(con, allowed, status, author), skipped)


def _resplit(con, ids: list[int], split: str, author: str) -> BulkResult:
    if split not in SPLITS:
        raise ValueError(f"split must be 'train' or 'test' (the project's test set), not {split!r}")
    authorize(acting_person(con, author), "write")
    return BulkResult(len(ids), bulk_table.set_split(con, ids, split, author))


def _refusals(project: Project, rows: list[tuple[int, str, list]], status: str, author: str) -> dict[int, str]:
    """Why each example that cannot take `status` is skipped (answers checked once per distinct text)."""
    problems: dict[str, str | None] = {}
    skipped = {}
    for example_id, example_author, messages in rows:
        if status in REVIEWED and project.reviewer_must_differ and example_author == author:
            skipped[example_id] = "you wrote it; another reviewer must decide"
        elif status != "draft" and not input_text(messages).strip():
            skipped[example_id] = "it has no user message"
        elif status != "draft":
            answer = answer_text(messages)
            if answer not in problems:
                problems[answer] = validate_output(project.output_spec, answer)
            if problems[answer]:
                skipped[example_id] = f"its answer breaks the format ({problems[answer]})"
    return skipped
