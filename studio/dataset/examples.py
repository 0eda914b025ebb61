"""Examples: storing what an expert wrote, its status flow, and every change kept.

The messages themselves (input, answer, last turn) are handled by studio.dataset.messages.
"""

from __future__ import annotations

from pathlib import Path

from storage import comments as comment_table
from storage import examples as example_table
from storage import people as people_table
from storage.db import connect
from storage.examples import StaleRevision
from studio.dataset.messages import answer_text, input_text, single_turn
from studio.project.formats import validate_output
from studio.project.people import NotAllowed, Person, authorize
from studio.project.projects import Project

STATUSES = ("draft", "submitted", "approved", "rejected")

REVIEWED = ("approved", "rejected")

# 'test': the experts' own test set, held out for good: never trained on, never retrieved as a few-shot example
SPLITS = ("train", "test")

__all__ = [
    "StaleRevision",
    "NotAllowed",
    "STATUSES",
    "SPLITS",
    "InvalidExample",
    "add_example",
    "edit_example",
    "list_examples",
    "delete_examples",
    "restore_examples",
    "add_comment",
    "list_comments",
]


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


def check_split(split: str) -> None:
    if split not in SPLITS:
        raise InvalidExample(f"split must be 'train' or 'test' (the project's test set), not {split!r}")


def add_example(
    db: Path,
    project: Project,
    messages: list[dict],
    author: str,
    status: str = "draft",
    tags: list[str] | None = None,
    external_id: str | None = None,
    source: str = "editor",
    split: str = "train",
) -> int:
    """Validate and store one new example ('test' split: in the project's test set); return its id."""
    row = {"messages": messages, "tags": tags or [], "status": status, "external_id": external_id, "source": source}
    with connect(db) as con:
        return create_example(con, project, {**row, "split": split}, author)


def create_example(con, project: Project, row: dict, author: str) -> int:
    """`add_example` inside the caller's unit of work (`con`): `row` holds messages, tags, status, external_id,
    source and split."""
    check_example(project, row["messages"], row["status"])
    check_split(row["split"])
    authorize(acting_person(con, author), "review" if row["status"] in REVIEWED else "write")
    reviewed = {"reviewer": author} if row["status"] in REVIEWED else {}
    return example_table.insert_examples(con, project.id, [{**row, **reviewed}], author)[0]


def edit_example(db: Path, project: Project, example_id: int, revision: int, author: str, **changes) -> int:
    """Change an example (messages, tags, status) if nobody saved it since `revision`."""
    with connect(db) as con:
        return change_example(con, project, example_id, revision, author, **changes)


def change_example(con, project: Project, example_id: int, revision: int | None, author: str, **changes) -> int:
    """`edit_example` inside the caller's unit of work (`con`); revision None: the current one."""
    current = example_table.fetch_example(con, example_id)
    if current is None or current["project_id"] != project.id:
        raise InvalidExample(f"example {example_id} is not in project {project.name}")
    merged = {**current, **changes}
    check_example(project, merged["messages"], merged["status"])
    check_split(merged["split"])
    reviewing = changes.get("status") in REVIEWED and changes["status"] != current["status"]
    person = acting_person(con, author)
    authorize(person, "review" if reviewing else "write")
    if reviewing:
        _check_reviewer(project, current, author)
        changes["reviewer"] = author
    current_revision = current["revision"] if revision is None else revision
    return example_table.update_example(con, example_id, current_revision, author, **changes)


def acting_person(con, name: str) -> Person | None:
    """The studio person called `name` (None for a local name: the CLI, an importer, a script)."""
    row = people_table.fetch_person(con, name)
    return Person(row["name"], row["role"]) if row else None


def _check_reviewer(project: Project, example: dict, reviewer: str) -> None:
    if project.reviewer_must_differ and example["author"] == reviewer:
        raise NotAllowed(
            f"{reviewer} wrote example {example['id']}; in project {project.name} another reviewer must approve or reject it"
        )


def delete_examples(db: Path, project: Project, example_ids: list[int], author: str) -> int:
    """Move examples to the trash (a soft delete, recorded as a revision); return how many moved."""
    return _set_deleted(db, project, example_ids, author, True)


def restore_examples(db: Path, project: Project, example_ids: list[int], author: str) -> int:
    """Bring examples back from the trash; return how many came back."""
    return _set_deleted(db, project, example_ids, author, False)


def _set_deleted(db: Path, project: Project, example_ids: list[int], author: str, deleted: bool) -> int:
    with connect(db) as con:
        authorize(acting_person(con, author), "delete")
        return example_table.set_deleted(con, project.id, example_ids, author, deleted)


def add_comment(db: Path, example_id: int, author: str, body: str) -> int:
    """Add a comment to an example's thread."""
    if not body.strip():
        raise InvalidExample("a comment needs some text")
    with connect(db) as con:
        authorize(acting_person(con, author), "write")
        if example_table.fetch_example(con, example_id, include_deleted=True) is None:
            raise InvalidExample(f"example {example_id} does not exist")
        return comment_table.insert_comment(con, example_id, author, body.strip())


def list_comments(db: Path, example_id: int) -> list[dict]:
    with connect(db) as con:
        return comment_table.fetch_comments(con, example_id)


def list_examples(
    db: Path, project: Project, status: str | None = None, limit: int | None = None, offset: int = 0
) -> list[dict]:
    with connect(db) as con:
        return example_table.fetch_examples(con, project.id, status, limit, offset)


def get_example(db: Path, example_id: int, include_deleted: bool = False) -> dict | None:
    with connect(db) as con:
        return example_table.fetch_example(con, example_id, include_deleted)


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
    return add_example(
        db, project, single_turn(row["input"], row["expected"]), author, "draft", tags, source="evaluation"
    )


def count_by_split(db: Path, project: Project) -> dict[str, dict[str, int]]:
    """Live examples per split ('train', 'test'), each counted per status."""
    with connect(db) as con:
        counts = example_table.count_by_split(con, project.id)
    return {split: {status: counts.get((split, status), 0) for status in STATUSES} for split in SPLITS}
