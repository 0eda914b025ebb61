"""Examples: storing what an expert wrote, its status flow, and every change kept.

The messages themselves (input, answer, last turn) are handled by studio.messages.
"""

from __future__ import annotations

from pathlib import Path

from storage import examples as example_table
from storage.db import connect
from storage.examples import StaleRevision
from studio.formats import validate_output
from studio.messages import answer_text, input_text, single_turn
from studio.projects import Project

STATUSES = ("draft", "submitted", "approved", "rejected")

__all__ = ["StaleRevision", "STATUSES", "InvalidExample", "add_example", "edit_example", "list_examples"]


class InvalidExample(ValueError):
    """An example that cannot be saved as asked; the message says why."""


def check_example(project: Project, messages: list[dict], status: str) -> None:
    """Refuse an example that has no input, or an answer that breaks the spec past draft."""
    if status not in STATUSES:
        raise InvalidExample(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    if not input_text(messages).strip():
        raise InvalidExample("the example has no user message")
    problem = validate_output(project.output_spec, answer_text(messages))
    if problem and status != "draft":
        raise InvalidExample(f"the answer breaks the project's format ({problem}); save it as a draft or fix it")


def add_example(
    db: Path, project: Project, messages: list[dict], author: str, status: str = "draft",
    tags: list[str] | None = None, external_id: str | None = None, source: str = "editor",
) -> int:
    """Validate and store one new example; return its id."""
    check_example(project, messages, status)
    row = {"messages": messages, "tags": tags or [], "status": status, "external_id": external_id, "source": source}
    with connect(db) as con:
        return example_table.insert_examples(con, project.id, [row], author)[0]


def edit_example(db: Path, project: Project, example_id: int, revision: int, author: str, **changes) -> int:
    """Change an example (messages, tags, status) if nobody saved it since `revision`."""
    with connect(db) as con:
        current = example_table.fetch_example(con, example_id)
        if current is None or current["project_id"] != project.id:
            raise InvalidExample(f"example {example_id} is not in project {project.name}")
        merged = {**current, **changes}
        check_example(project, merged["messages"], merged["status"])
        if changes.get("status") in ("approved", "rejected"):
            changes["reviewer"] = author
        return example_table.update_example(con, example_id, revision, author, **changes)


def list_examples(db: Path, project: Project, status: str | None = None, limit: int | None = None, offset: int = 0) -> list[dict]:
    with connect(db) as con:
        return example_table.fetch_examples(con, project.id, status, limit, offset)


def get_example(db: Path, example_id: int) -> dict | None:
    with connect(db) as con:
        return example_table.fetch_example(con, example_id)


def count_by_status(db: Path, project: Project) -> dict[str, int]:
    with connect(db) as con:
        counts = example_table.count_examples(con, project.id)
    return {status: counts.get(status, 0) for status in STATUSES}


def example_history(db: Path, example_id: int) -> list[dict]:
    with connect(db) as con:
        return example_table.fetch_revisions(con, example_id)


def draft_from_failure(db: Path, project: Project, row: dict, author: str) -> int:
    """A draft example from a held-out input the models got wrong, for an expert to vary.

    The split keeps an exact copy of a held-out input on the held-out side, so the
    expert should reword it into a new example that teaches the pattern.
    """
    tags = [*row.get("tags", []), "from-evaluation"]
    return add_example(db, project, single_turn(row["input"], row["expected"]), author, "draft", tags, source="evaluation")
