"""Closing the loop: the inputs the server was unsure of, offered back to the experts as drafts.

When recording is on (`studio model serve --record`, or the switch on the Deploy page),
the server appends every answer in the review or human band to the run's
served/recorded.jsonl: the conversation, the model's answer, its confidence and band. It
never opens the database, nor imports the storage layer (the app and the CLI own it):
studio.serving.drafts turns the records into draft examples for the Review page.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from studio.jsonl import read_jsonl
from studio.serving.engine import AUTO, Answer

RECORDED = Path("served") / "recorded.jsonl"


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
        entry = Recorded(
            id=f"served-{hashlib.sha256(raw.encode()).hexdigest()[:16]}",
            run_id=self.run_id,
            time=time.time(),
            messages=list(messages),
            answer=answer.text,
            confidence=answer.confidence,
            band=answer.band,
        )
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


def recorded_inputs(run_dirs: list[Path]) -> list[str]:
    """The last user message of each recorded answer: a production sample for the Coverage page."""
    return [
        next((m["content"] for m in reversed(r.messages) if m["role"] == "user"), "")
        for r in recorded_answers(run_dirs)
    ]
