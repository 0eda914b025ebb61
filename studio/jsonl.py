"""JSON Lines files: reading with line numbers for errors, and writing atomically."""

from __future__ import annotations

import json
import os
from pathlib import Path


class JsonlError(ValueError):
    """A line that is not a JSON object; the message names the file and line."""


class NotJson(ValueError):
    """Text that json cannot read; the message is a short reason, such as 'not valid JSON (Expecting value)'."""


def load_json(text: str | bytes):
    """json.loads, with every way it can fail as NotJson: bad syntax, a number too long, nesting too deep."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise NotJson(f"not valid JSON ({error.msg})") from error
    except RecursionError:
        raise NotJson("not readable as JSON (nested too deeply)") from None
    except ValueError as error:  # an integer of more than 4,300 digits, say
        raise NotJson(f"not readable as JSON ({error})") from error


def read_jsonl(path: Path) -> list[dict]:
    """Every row of a file we wrote ourselves; the first bad line raises JsonlError."""
    rows, problems = read_jsonl_lenient(path)
    if problems:
        raise JsonlError(f"{path}, {problems[0]}")
    return [row for _, row in rows]


def read_jsonl_lenient(path: Path) -> tuple[list[tuple[int, dict]], list[str]]:
    """(line number, row) for every good line, and 'line N: reason' for every bad one."""
    with open(path, encoding="utf-8", errors="strict") as handle:
        return parse_jsonl_lines(handle)


def parse_jsonl_lines(lines, word: str = "line") -> tuple[list[tuple[int, dict]], list[str]]:
    """(number, row) for every good line of an iterable of text lines, and '<word> N: reason' for every bad one."""
    rows, problems = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = load_json(line)
        except NotJson as error:
            problems.append(f"{word} {number}: {error}")
            continue
        if not isinstance(row, dict):
            problems.append(f"{word} {number}: expected a JSON object, got {type(row).__name__}")
            continue
        rows.append((number, row))
    return rows, problems


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    with open(partial, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    os.replace(partial, path)
