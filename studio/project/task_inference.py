"""Inferring a project's task from its examples: the task description and the output format.

An import that creates a project (or fills one whose format is still free text) proposes
what the data says, so that a user's own task works without declaring it first:
- the task description is the system message that most rows share (rows whose system
  message differs keep theirs, and what the model sees for them is their own);
- the output format is a label set when the answers are short strings from a small
  closed set that repeat; a JSON schema when the answers are JSON objects (the skeleton
  from genson, every key that all answers have required, and the allowed values listed
  for string fields with few of them); otherwise free text.
Pure functions over example messages; `propose_task` says why it chose what it chose.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

from studio.dataset.messages import answer_text
from studio.project.formats import parse_output_spec

MAX_LABEL_CHARS = 60  # a label is a short name, not a sentence
MAX_LABELS = 200  # a closed set a person can choose from
MAX_SINGLETON_SHARE = 0.2  # at most this share of the labels may occur only once
JSON_SHARE = 0.9  # answers that must be JSON objects for a JSON schema (the rest become format findings)
MAX_ENUM_VALUES = 20  # a string field with at most this many values (each seen twice on average) gets an enum
DESCRIPTION_SHARE = 0.5  # a system message more than half the rows share is the task description


@dataclass(frozen=True)
class TaskProposal:
    """What the data says the task is, and why."""

    description: str = field(default="", metadata={"help": "the system message most rows share ('' when none does)"})
    description_rows: int = field(default=0, metadata={"help": "how many rows carry that system message"})
    rows: int = field(default=0, metadata={"help": "how many examples the proposal looked at"})
    output_spec: dict = field(default_factory=lambda: {"kind": "text"}, metadata={"help": "the proposed output spec"})
    label_counts: dict = field(default_factory=dict, metadata={"help": "label -> examples, for a label set"})
    reason: str = field(default="", metadata={"help": "why this format, in words"})

    def summary(self) -> dict:
        return {
            "description": self.description,
            "description_rows": self.description_rows,
            "rows": self.rows,
            "output_spec": self.output_spec,
            "label_counts": self.label_counts,
            "reason": self.reason,
        }


def propose_task(examples: list[dict]) -> TaskProposal:
    """The description and output format that `examples` (dicts with messages) suggest."""
    messages = [e["messages"] for e in examples]
    description, carried = shared_system_message(messages)
    answers = [answer_text(m).strip() for m in messages]
    answers = [a for a in answers if a]
    spec, counts, reason = infer_output_spec(answers)
    return TaskProposal(description, carried, len(messages), spec, counts, reason)


def shared_system_message(conversations: list[list[dict]]) -> tuple[str, int]:
    """(the leading system message most conversations share, how many carry it); ('', 0) when none does."""
    systems = Counter(
        m[0]["content"].strip() for m in conversations if m and m[0]["role"] == "system" and m[0]["content"].strip()
    )
    if not systems:
        return "", 0
    text, count = systems.most_common(1)[0]
    return (text, count) if count > DESCRIPTION_SHARE * len(conversations) else ("", 0)


def infer_output_spec(answers: list[str]) -> tuple[dict, dict, str]:
    """(spec, label counts, reason) for these answers (stripped, non-empty)."""
    if not answers:
        return {"kind": "text"}, {}, "no answers to go by: free text"
    objects = [_json_object(a) for a in answers]
    found = [o for o in objects if o is not None]
    if len(found) >= JSON_SHARE * len(answers):
        schema = json_schema_of(found)
        return (
            {"kind": "json", "schema": schema},
            {},
            (
                f"{len(found)} of {len(answers)} answers are JSON objects: a JSON schema with keys "
                f"{', '.join(schema.get('properties', {})) or 'none'}"
            ),
        )
    counts = Counter(answers)
    problem = _why_not_labels(counts, len(answers))
    if problem:
        return {"kind": "text"}, {}, f"free text: {problem}"
    ordered = dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
    low, high = min(counts.values()), max(counts.values())
    times = f"{low} times" if low == high else f"{low} to {high} times"
    return (
        {"kind": "labels", "labels": sorted(counts)},
        ordered,
        (f"{len(answers)} answers use {len(counts)} short labels, each {times}: a label set"),
    )


def _why_not_labels(counts: Counter, n: int) -> str:
    """Why these answers are not a closed label set ('' when they are)."""
    long = next((a for a in counts if len(a) > MAX_LABEL_CHARS or "\n" in a), None)
    if long is not None:
        return f"answers such as {long[:40]!r}... are longer than a label"
    if len(counts) < 2:
        return "every answer is the same"
    if len(counts) > MAX_LABELS or len(counts) * 2 > n:
        return f"{len(counts)} different answers in {n} do not repeat enough to be labels"
    singletons = sum(1 for c in counts.values() if c == 1)
    if singletons > MAX_SINGLETON_SHARE * len(counts):
        return f"{singletons} of {len(counts)} different answers occur only once"
    return ""


def _json_object(text: str) -> dict | None:
    if not text.startswith("{"):
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def json_schema_of(objects: list[dict]) -> dict:
    """A JSON Schema for these objects: genson's skeleton (types, keys all objects have required),
    with `enum` on string fields whose few values repeat."""
    from genson import SchemaBuilder

    builder = SchemaBuilder(schema_uri=False)
    for value in objects:
        builder.add_object(value)
    schema = builder.to_schema()
    _add_enums(schema, objects)
    return parse_output_spec({"kind": "json", "schema": schema}).schema


def _add_enums(schema: dict, objects: list) -> None:
    """Give each string property (nested objects too) its allowed values when they are few and repeat."""
    objects = [o for o in objects if isinstance(o, dict)]
    for key, prop in schema.get("properties", {}).items():
        values = [o[key] for o in objects if key in o]
        if prop.get("type") == "object":
            _add_enums(prop, values)
            continue
        if prop.get("type") != "string" or not values:
            continue
        distinct = set(values)
        if len(distinct) <= MAX_ENUM_VALUES and len(distinct) * 2 <= len(values):
            prop["enum"] = sorted(distinct)
