"""Reading a sample of real, unlabelled production inputs from an uploaded file.

Three shapes are accepted: plain text (one input per line), CSV (one column of inputs)
and JSONL (a field per row, or chat messages whose last user turn is the input). Rows
that cannot be read are reported by number with the reason; the rest are kept.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from studio.dataset.messages import last_user_text
from studio.jsonl import parse_jsonl_lines

INPUT_FIELDS = ("input", "text", "prompt", "question", "query", "message")


@dataclass(frozen=True)
class ProductionSample:
    """The inputs read from a file, and a line per row that was skipped (row number and why)."""

    inputs: list[str]
    problems: list[str]


def read_sample(name: str, content: bytes, column: str | None = None) -> ProductionSample:
    """Read inputs from a .txt, .csv or .jsonl file's bytes; `column` picks the CSV column or JSONL field."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return ProductionSample([], [f"the file is not UTF-8 text ({error.reason} at byte {error.start})"])
    suffix = name.lower().rsplit(".", 1)[-1]
    if suffix == "csv":
        return _read_csv(text, column)
    if suffix in ("jsonl", "json"):
        return _read_jsonl(text, column)
    lines = [line.strip() for line in text.splitlines()]
    return ProductionSample([line for line in lines if line], [])


def _read_csv(text: str, column: str | None) -> ProductionSample:
    reader = csv.DictReader(io.StringIO(text))
    fields = reader.fieldnames or []
    chosen = column or next((f for f in fields if f.strip().lower() in INPUT_FIELDS), fields[0] if fields else None)
    if chosen not in fields:
        return ProductionSample([], [f"the CSV has no column {chosen!r} (columns: {', '.join(fields) or 'none'})"])
    inputs, problems = [], []
    for row_number, row in enumerate(reader, start=2):
        value = (row.get(chosen) or "").strip()
        if value:
            inputs.append(value)
        else:
            problems.append(f"row {row_number}: the column {chosen!r} is empty")
    return ProductionSample(inputs, problems)


def _read_jsonl(text: str, field: str | None) -> ProductionSample:
    inputs = []
    rows, problems = parse_jsonl_lines(text.splitlines(), word="row")
    for row_number, row in rows:
        value = _input_of(row, field)
        if value:
            inputs.append(value)
        else:
            wanted = field or " or ".join((*INPUT_FIELDS, "messages"))
            problems.append(f"row {row_number}: no input found (looked for {wanted})")
    return ProductionSample(inputs, problems)


def _input_of(row, field: str | None) -> str:
    if isinstance(row, str):
        return row.strip()
    if not isinstance(row, dict):
        return ""
    if field:
        return str(row.get(field) or "").strip()
    if isinstance(row.get("messages"), list):
        return last_user_text(row["messages"]).strip()
    return next((str(row[f]).strip() for f in INPUT_FIELDS if row.get(f)), "")
