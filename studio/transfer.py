"""Importing and exporting examples as JSON Lines.

Import reads OpenAI chat rows ({"messages": [...]}) or prompt/completion rows
({"prompt": ..., "completion": ...}); a row's own "id" becomes its external id. An
import is all-or-nothing: every bad row is reported with its line number and reason
and nothing is written. Rows whose external id (or, without one, whose messages) the
project already has are skipped, so importing a file twice creates nothing new.
"""

from __future__ import annotations

import json
from pathlib import Path

from storage import examples as example_table
from storage.db import connect
from studio.examples import STATUSES, InvalidExample, check_example, list_examples
from studio.jsonl import read_jsonl_lenient, write_jsonl
from studio.projects import Project


FROM_FILE = "from-file"  # import status that keeps each row's own status


class ImportRefused(ValueError):
    """The file has bad rows; `problems` lists each as 'line N: reason'."""

    def __init__(self, path: Path, problems: list[str]):
        self.problems = problems
        shown = "\n".join(problems[:20]) + (f"\n... and {len(problems) - 20} more" if len(problems) > 20 else "")
        super().__init__(f"{path}: nothing was imported, {len(problems)} bad row(s):\n{shown}")


def row_messages(row: dict) -> list[dict]:
    """The chat messages of an imported row, in either supported shape."""
    if "messages" in row:
        messages = row["messages"]
        if not isinstance(messages, list) or not all(
            isinstance(m, dict) and m.get("role") in ("system", "user", "assistant") and isinstance(m.get("content"), str)
            for m in messages
        ):
            raise InvalidExample("'messages' must be a list of {role: system|user|assistant, content: text}")
        return messages
    if isinstance(row.get("prompt"), str) and isinstance(row.get("completion"), str):
        return [{"role": "user", "content": row["prompt"]}, {"role": "assistant", "content": row["completion"]}]
    raise InvalidExample("a row needs 'messages', or 'prompt' and 'completion' as text")


def _parse_row(project: Project, row: dict, status: str | None) -> dict:
    messages = row_messages(row)
    row_status = status or "draft"
    check_example(project, messages, row_status)
    tags = row.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise InvalidExample("'tags' must be a list of text")
    external = row.get("id")
    return {
        "messages": messages, "tags": tags, "status": row_status, "source": "import",
        "external_id": None if external is None else str(external),
    }


def import_rows(
    db: Path, project: Project, rows: list[tuple[int, dict]], author: str, status: str | None = None,
    path: Path = Path("<rows>"), problems: list[str] | None = None,
) -> dict:
    """Validate all (line, row) pairs, then insert the new ones in one transaction.

    `status` None imports drafts; FROM_FILE keeps each row's own status field.
    """
    if status not in (None, FROM_FILE, *STATUSES):
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    parsed, problems = [], list(problems or [])
    for line, row in rows:
        try:
            parsed.append(_parse_row(project, row, row.get("status") if status == FROM_FILE else status))
        except InvalidExample as error:
            problems.append(f"line {line}: {error}")
    if problems:
        raise ImportRefused(path, sorted(problems, key=lambda p: int(p.split()[1].rstrip(":"))))
    existing = list_examples(db, project)
    known_ids = {e["external_id"] for e in existing if e["external_id"]}
    known_messages = {json.dumps(e["messages"], sort_keys=True) for e in existing}
    fresh = [r for r in parsed if _is_new(r, known_ids, known_messages)]
    with connect(db) as con:
        example_table.insert_examples(con, project.id, fresh, author)
    return {"imported": len(fresh), "skipped": len(parsed) - len(fresh)}


def _is_new(row: dict, known_ids: set[str], known_messages: set[str]) -> bool:
    if row["external_id"]:
        return row["external_id"] not in known_ids
    return json.dumps(row["messages"], sort_keys=True) not in known_messages


def import_jsonl(db: Path, project: Project, path: Path, author: str, status: str | None = None) -> dict:
    """Import a JSONL file into a project; see the module docstring for the rules."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    try:
        rows, problems = read_jsonl_lenient(path)
    except UnicodeDecodeError as error:
        raise ImportRefused(path, [f"byte {error.start}: the file is not UTF-8 text"]) from error
    return import_rows(db, project, rows, author, status, path, problems)


def export_jsonl(db: Path, project: Project, path: Path, status: str | None = "approved") -> int:
    """Write the project's examples (of one status, or all) as OpenAI chat JSONL; return the count."""
    examples = list_examples(db, project, status=status)
    write_jsonl(Path(path), [
        {"id": e["external_id"] or str(e["id"]), "messages": e["messages"], "tags": e["tags"], "status": e["status"]}
        for e in examples
    ])
    return len(examples)
