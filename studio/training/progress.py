"""A run folder's progress files: the event log the worker appends and its final status.

The worker writes; the app and CLI read. Neither side opens the database here.
  events.jsonl   one JSON object per line: {"event": ..., "time": ..., ...}
  status.json    written once, at the end: {"status": succeeded|failed|cancelled, ...}
  worker.log     the worker's stdout and stderr
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

FINAL_STATUSES = ("succeeded", "failed", "cancelled")


def append_event(run_dir: Path, event: str, **fields) -> None:
    line = json.dumps({"event": event, "time": time.time(), **fields})
    with open(Path(run_dir) / "events.jsonl", "a") as handle:
        handle.write(line + "\n")


def read_events(run_dir: Path) -> list[dict]:
    """All complete events so far (a half-written last line is skipped)."""
    path = Path(run_dir) / "events.jsonl"
    if not path.exists():
        return []
    events = []
    for line in path.read_text().splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return events


def write_status(run_dir: Path, status: str, **fields) -> None:
    """Write the final status atomically, so a reader never sees half of it."""
    if status not in FINAL_STATUSES:
        raise ValueError(f"final status must be one of {FINAL_STATUSES}")
    path = Path(run_dir) / "status.json"
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps({"status": status, "time": time.time(), **fields}))
    os.replace(partial, path)


def read_status(run_dir: Path) -> dict | None:
    path = Path(run_dir) / "status.json"
    return json.loads(path.read_text()) if path.exists() else None


def log_tail(run_dir: Path, lines: int = 20) -> str:
    """The worker's last words: the end of its log."""
    path = Path(run_dir) / "worker.log"
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def measured_seconds(run_dir: Path) -> float | None:
    """How long a finished run took, training and evaluation, from its first start to its final status (None before)."""
    status, events = read_status(run_dir), read_events(run_dir)
    started = next((e["time"] for e in events if e["event"] == "started"), None)
    if not status or started is None:
        return None
    return max(status["time"] - started, 0.0)


def cancel_requested(events: list[dict]) -> bool:
    """Whether someone cancelled this attempt of the run (since its last resume)."""
    names = [event["event"] for event in events]
    since = len(names) - names[::-1].index("resume_requested") if "resume_requested" in names else 0
    return "cancel_requested" in names[since:]


def latest(events: list[dict], name: str) -> dict | None:
    """The most recent event called `name`."""
    return next((e for e in reversed(events) if e["event"] == name), None)
