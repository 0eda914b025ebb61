"""The recorded answers the server was unsure of, offered to the experts as draft examples.

The Review page lists the records of studio.serving.recording not yet taken and turns
each into a draft example pre-filled with the model's answer, so an expert corrects
exactly where the model is unsure. A record's id becomes the draft's external id, so a
record becomes a draft once however often the page asks.
"""

from __future__ import annotations

from pathlib import Path

from studio.dataset.examples import add_example, list_examples
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
    Raises InvalidExample for a conversation no example can hold (an empty input)."""
    turns = [m for m in recorded.messages if m["role"] != "system"]
    messages = [*turns, {"role": "assistant", "content": recorded.answer}]
    tags = ["from-production", f"band-{recorded.band}"]
    return add_example(db, project, messages, author, "draft", tags, external_id=recorded.id, source=SOURCE)
