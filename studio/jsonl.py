"""JSON Lines files: reading with line numbers for errors, and writing atomically."""

from __future__ import annotations

import json
import os
from pathlib import Path


class JsonlError(ValueError):
    """A line that is not a JSON object; the message names the file and line."""


def read_jsonl(path: Path) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise JsonlError(f"{path}, line {number}: not valid JSON ({error.msg})") from error
            if not isinstance(row, dict):
                raise JsonlError(f"{path}, line {number}: expected a JSON object, got {type(row).__name__}")
            rows.append(row)
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    with open(partial, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    os.replace(partial, path)
