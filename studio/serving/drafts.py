"""The recorded answers the server was unsure of, offered to the experts as draft examples.

The Review page lists the records of studio.serving.recording not yet taken and turns
each into a draft example pre-filled with the model's answer, so an expert corrects
exactly where the model is unsure. A record's id becomes the draft's external id, so a
record becomes a draft once however often the page asks.
"""

from __future__ import annotations

from pathlib import Path

from storage import examples as example_table
from storage.db import connect
from studio.dataset.examples import create_example, list_examples
from studio.project.projects import Project
from studio.serving.recording import Recorded, recorded_answers

SOURCE = "served"


def waiting_answers(db: Path, project: Project, run_dirs: list[Path]) -> list[Recorded]:
    """The recorded answers not yet turned into examples of the project."""
    taken = {e["external_id"] for e in list_examples(db, project) if e["source"] == SOURCE}
    return [r for r in recorded_answers(run_dirs) if r.id not in taken]


def draft_from_recorded(db: Path, project: Project, recorded: Recorded, author: str) -> int:
    """A draft example: the served conversation with the model's answer, for an expert to correct.

    The system prompt is left out: a project's examples are answered under its task description.
    One unit of work: a record already taken (a second click, another session) gives the draft it
    became, never a second one. Raises InvalidExample for a conversation no example can hold (an empty input)."""
    turns = [m for m in recorded.messages if m["role"] != "system"]
    messages = [*turns, {"role": "assistant", "content": recorded.answer}]
    tags = ["from-production", f"band-{recorded.band}"]
    row = {"messages": messages, "tags": tags, "status": "draft", "external_id": recorded.id, "source": SOURCE}
    with connect(db) as con:
        taken = [e["id"] for e in example_table.fetch_examples(con, project.id) if _drafted(e, recorded)]
        return taken[0] if taken else create_example(con, project, {**row, "split": "train"}, author)


def _drafted(example: dict, recorded: Recorded) -> bool:
    return example["source"] == SOURCE and example["external_id"] == recorded.id
