"""Closing the loop: the inputs the server was unsure of, offered back to the experts as drafts.

When recording is on (`studio model serve --record`, or the switch on the Deploy page),
the server appends every answer in the review or human band to the run's
served/recorded.jsonl: the conversation, the model's answer, its confidence and band. It
never opens the database (the app and the CLI own it). The Review page reads those files
and turns each record into a draft example pre-filled with the model's answer, so an
expert corrects exactly where the model is unsure; the record's id becomes the draft's
external id, so a record becomes a draft once however often the page asks.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from studio.examples import add_example, list_examples
from studio.jsonl import read_jsonl
from studio.projects import Project
from studio.serving.engine import AUTO, Answer

RECORDED = Path("served") / "recorded.jsonl"
SOURCE = "served"


@dataclass(frozen=True)
class Recorded:
    """One answer the server gave in the review or human band."""

    id: str
    run_id: str
    time: float
    messages: list[dict]
    answer: str
    confidence: float
    band: str


class Recorder:
    """Appends review- and human-band answers to a run's served/recorded.jsonl (thread-safe)."""

    def __init__(self, run_dir: Path, run_id: str, enabled: bool):
        self.path, self.run_id, self.enabled = Path(run_dir) / RECORDED, run_id, enabled
        self._lock = threading.Lock()

    def record(self, messages: list[dict], answer: Answer) -> bool:
        if not self.enabled or answer.band == AUTO:
            return False
        raw = json.dumps([self.run_id, messages, answer.text], sort_keys=True)
        entry = Recorded(id=f"served-{hashlib.sha256(raw.encode()).hexdigest()[:16]}", run_id=self.run_id,
                         time=time.time(), messages=list(messages), answer=answer.text,
                         confidence=answer.confidence, band=answer.band)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(asdict(entry)) + "\n")
        return True


def recorded_answers(run_dirs: list[Path]) -> list[Recorded]:
    """Every distinct recorded answer of these runs, oldest first."""
    seen: dict[str, Recorded] = {}
    for run_dir in run_dirs:
        path = Path(run_dir) / RECORDED
        if path.exists():
            for row in read_jsonl(path):
                seen.setdefault(row["id"], Recorded(**row))
    return sorted(seen.values(), key=lambda r: r.time)


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
