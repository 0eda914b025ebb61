"""Column mappings: which column of an import file holds what, and one row turned into an example.

The default mapping is guessed from the column names (case-insensitive): `messages`;
`instruction`; `input`, `prompt`, `question`...; `output`, `completion`, `answer`...;
`system`; `tags`; `id` (or a name ending in `_id`); `status`. Where the names say nothing
(`customer_message,intent`), the Import page also guesses from the values: a column with few
distinct values is the answer, the longest text column the input. A row with a non-empty
conversation column is read from it; otherwise its user message is the instruction and
the input joined by a blank line (Alpaca's own prompt puts both before the response),
and its answer is the output.
The instruction does not become a system message: an Alpaca instruction is the task of
that one row, part of its input. A `system` column does become the row's system message,
which is what the model sees for that example (the project's description is the default).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace

from studio.jsonl import NotJson, load_json

ROLES = ("system", "user", "assistant")
VALUE_SAMPLE = 1000  # rows read to guess a mapping from the values
GUESSES = {
    "messages": ("messages", "conversation"),
    "instruction": ("instruction",),
    "input": ("input", "prompt", "question", "user", "query", "text"),
    "output": ("output", "completion", "answer", "response", "assistant"),
    "system": ("system", "system_prompt"),
    "tags": ("tags", "tag"),
    "id": ("id", "external_id", "uid"),
    "status": ("status",),
}


class BadValue(ValueError):
    """A row whose values cannot make an example; the message says which column and why."""


@dataclass(frozen=True)
class ColumnMapping:
    """Which column of an import file holds each part of an example (None: the file has none)."""

    messages: str | None = field(
        default=None, metadata={"help": "a whole conversation: a list of {role, content} (JSON text in a CSV cell)"}
    )
    instruction: str | None = field(
        default=None, metadata={"help": "Alpaca's instruction: the start of the user message"}
    )
    input: str | None = field(
        default=None, metadata={"help": "the user message (after the instruction when there is one)"}
    )
    output: str | None = field(default=None, metadata={"help": "the expected answer: the assistant message"})
    system: str | None = field(default=None, metadata={"help": "an optional system message"})
    tags: str | None = field(default=None, metadata={"help": "tags: a list, or text separated by commas"})
    id: str | None = field(
        default=None, metadata={"help": "the row's own id, kept as its external id (re-imports match on it)"}
    )
    status: str | None = field(
        default=None, metadata={"help": "the row's status, used when importing 'as in the file'"}
    )

    def to_dict(self) -> dict[str, str]:
        return {spec.name: getattr(self, spec.name) for spec in fields(self) if getattr(self, spec.name)}


PARTS = tuple(spec.name for spec in fields(ColumnMapping))
PART_HELP = {spec.name: spec.metadata["help"] for spec in fields(ColumnMapping)}


def guess_mapping(columns: tuple[str, ...] | list[str], rows: Sequence[dict] = ()) -> ColumnMapping:
    """The mapping the column names suggest: for each part, the first known name present. Given some of the
    file's rows, an input or answer the names leave open is guessed from the values (see guess_from_values)."""
    by_lower = {column.lower(): column for column in reversed(list(columns))}
    chosen = {part: next((by_lower[n] for n in names if n in by_lower), None) for part, names in GUESSES.items()}
    chosen["id"] = chosen["id"] or next((c for c in columns if c.lower().endswith(("_id", " id"))), None)
    return guess_from_values(ColumnMapping(**chosen), columns, rows)


def guess_from_values(
    mapping: ColumnMapping, columns: tuple[str, ...] | list[str], rows: Sequence[dict]
) -> ColumnMapping:
    """Fill an input or answer that the names left open from the values of the other text columns.

    A column with few distinct values (at most a third of the rows; e.g. `intent` in
    customer_message,intent) is the answer, and the remaining text column with the longest
    values is the input. With no few-valued column, two text columns read as input, then answer.
    """
    if mapping.messages or not rows or ((mapping.input or mapping.instruction) and mapping.output):
        return mapping
    sample = list(rows[:VALUE_SAMPLE])
    taken = set(mapping.to_dict().values())
    texts = [c for c in columns if c not in taken and _mostly_text(c, sample)]
    output = mapping.output or _few_valued(texts, sample)
    rest = [c for c in texts if c != output]
    if output is None and len(rest) == 2 and not (mapping.input or mapping.instruction):
        return replace(mapping, input=rest[0], output=rest[1])
    given_input = mapping.input or mapping.instruction
    guessed_input = None if given_input or not rest else max(rest, key=lambda c: _mean_length(c, sample))
    return replace(mapping, input=mapping.input or guessed_input, output=output)


def _mostly_text(column: str, rows: list[dict]) -> bool:
    values = [row.get(column) for row in rows if row.get(column) not in (None, "")]
    return bool(values) and sum(isinstance(v, str) for v in values) >= 0.9 * len(values)


def _few_valued(columns: list[str], rows: list[dict]) -> str | None:
    """The text column with the fewest distinct values, if that is at most a third of the rows (and 2 or more)."""
    if len(rows) < 6:
        return None
    distinct = {c: len({row.get(c) for row in rows if row.get(c) not in (None, "")}) for c in columns}
    few = [c for c in columns if 2 <= distinct[c] <= len(rows) / 3]
    return min(few, key=lambda c: (distinct[c], columns.index(c))) if few else None


def _mean_length(column: str, rows: list[dict]) -> float:
    values = [row.get(column) for row in rows if isinstance(row.get(column), str)]
    return sum(map(len, values)) / max(len(values), 1)


def parse_mapping(text: str, base: ColumnMapping, columns: tuple[str, ...] | list[str] = ()) -> ColumnMapping:
    """Apply 'part=column,part=column' (as given to --map) on top of `base`; 'part=' clears a part."""
    changes = {}
    for item in filter(None, (piece.strip() for piece in text.split(","))):
        part, _, column = item.partition("=")
        part, column = part.strip(), column.strip()
        if part not in PARTS:
            raise ValueError(f"--map: unknown part {part!r} (parts: {', '.join(PARTS)})")
        if column and columns and column not in columns:
            raise ValueError(
                f"--map {part}={column}: the file has no column {column!r} (columns: {', '.join(columns)})"
            )
        changes[part] = column or None
    return replace(base, **changes)


def maps_examples(mapping: ColumnMapping) -> bool:
    """Whether the mapping can give an example an input and an answer: a conversation, or an input and an output."""
    return bool(mapping.messages or (mapping.output and (mapping.input or mapping.instruction)))


def check_mapping(mapping: ColumnMapping, columns: tuple[str, ...] | list[str] = ()) -> None:
    """Refuse a mapping that cannot give any example an input and an answer."""
    if not maps_examples(mapping):
        raise ValueError(
            "map a conversation column (messages=COLUMN), or an input and an output column "
            f"(input=COLUMN,output=COLUMN); the file's columns are: {', '.join(columns) or 'none'}"
        )


def row_to_example(values: dict, mapping: ColumnMapping) -> dict:
    """One row as {messages, tags, external_id, status}; raise BadValue naming the column at fault."""
    return {
        "messages": _messages(values, mapping),
        "tags": _tags(values, mapping.tags),
        "external_id": _external_id(values, mapping.id),
        "status": _text(values, mapping.status) or None,
    }


def _messages(values: dict, mapping: ColumnMapping) -> list[dict]:
    conversation = values.get(mapping.messages) if mapping.messages else None
    if conversation not in (None, "", []):
        return _conversation(conversation, mapping.messages)
    user = "\n\n".join(t for t in (_text(values, mapping.instruction), _text(values, mapping.input)) if t.strip())
    answer = values.get(mapping.output) if mapping.output else None
    if not user.strip() and answer is None:
        raise BadValue(f"a row needs {_needed(mapping)}")
    if not user.strip():
        raise BadValue(f"the user message is empty ({_needed_input(mapping)})")
    if answer is None or answer == "":
        raise BadValue(f"the answer ({mapping.output!r}) is empty")
    system = _text(values, mapping.system)
    head = [{"role": "system", "content": system}] if system.strip() else []
    return head + [{"role": "user", "content": user}, {"role": "assistant", "content": _text(values, mapping.output)}]


def _needed(mapping: ColumnMapping) -> str:
    pair = f"{_needed_input(mapping)} and {mapping.output!r} as text" if mapping.output else ""
    whole = repr(mapping.messages) if mapping.messages else ""
    return ", or ".join(p for p in (whole, pair) if p) or "a mapping of its columns"


def _needed_input(mapping: ColumnMapping) -> str:
    return " or ".join(repr(c) for c in (mapping.instruction, mapping.input) if c) or "no input column is mapped"


def _conversation(value, column: str) -> list[dict]:
    if isinstance(value, str):
        try:
            value = load_json(value)
        except NotJson as error:
            raise BadValue(f"{column!r} is {error}") from error
    if not isinstance(value, list) or not all(
        isinstance(m, dict) and m.get("role") in ROLES and isinstance(m.get("content"), str) for m in value
    ):
        raise BadValue(f"{column!r} must be a list of {{role: system|user|assistant, content: text}}")
    return [
        {"role": m["role"], "content": checked_text(m["content"], f"{column!r}, message {n}")}
        for n, m in enumerate(value, start=1)
    ]


def checked_text(text: str, what: str) -> str:
    """`text` unchanged, or BadValue when it holds what no UTF-8 store keeps: a NUL or a lone surrogate."""
    if "\x00" in text:
        raise BadValue(f"{what} holds a NUL character (U+0000) at position {text.index(chr(0)) + 1}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise BadValue(
            f"{what} holds a lone surrogate (U+{ord(text[error.start]):04X}) at position {error.start + 1}, "
            "which is not text; check the file's encoding"
        ) from None
    return text


def _text(values: dict, column: str | None) -> str:
    value = values.get(column) if column else None
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadValue(f"{column!r} must be text, not {type(value).__name__}")
    return checked_text(value, repr(column))


def _tags(values: dict, column: str | None) -> list[str]:
    value = values.get(column) if column else None
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = _split_tags(value)
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise BadValue(f"{column!r} must be a list of text, or text separated by commas")
    return [checked_text(tag, f"{column!r}") for tag in value]


def _split_tags(text: str) -> list:
    """A JSON list (how a tag holding a comma is exported), or comma-separated text."""
    if text.lstrip().startswith("["):
        try:
            return load_json(text)
        except NotJson:
            pass
    return [tag.strip() for tag in text.split(",") if tag.strip()]


def _external_id(values: dict, column: str | None) -> str | None:
    value = values.get(column) if column else None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if value is not None and (isinstance(value, bool) or not isinstance(value, (str, int, float))):
        raise BadValue(f"{column!r} must be text or a number, not {type(value).__name__}")
    text = "" if value is None else checked_text(str(value), repr(column)).strip()
    return text or None


def tags_as_text(tags: list[str]) -> str:
    """Tags for one CSV cell: comma separated, or a JSON list when that would not read back the same."""
    joined = ", ".join(tags)
    return joined if _split_tags(joined) == list(tags) else json.dumps(tags, ensure_ascii=False)
