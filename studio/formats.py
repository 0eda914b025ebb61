"""Output specs: what a project's answers must look like, and how to check one.

A spec is a small dict stored on the project:
  {"kind": "text"}                              free text
  {"kind": "labels", "labels": ["a", "b"]}      exactly one label
  {"kind": "json", "schema": {...}}             a JSON object valid under a JSON Schema
  {"kind": "regex", "pattern": "..."}           text matching a regular expression
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

KINDS = ("text", "labels", "json", "regex")


@dataclass(frozen=True)
class OutputSpec:
    """The format every answer of a project must follow."""

    kind: str = "text"
    labels: tuple[str, ...] = ()
    schema: dict = field(default_factory=dict)
    pattern: str = ""

    def to_dict(self) -> dict:
        spec: dict = {"kind": self.kind}
        if self.kind == "labels":
            spec["labels"] = list(self.labels)
        if self.kind == "json":
            spec["schema"] = self.schema
        if self.kind == "regex":
            spec["pattern"] = self.pattern
        return spec


def parse_output_spec(raw: dict | None) -> OutputSpec:
    """Build an OutputSpec from its stored dict, refusing malformed ones with a clear reason."""
    raw = raw or {"kind": "text"}
    kind = raw.get("kind", "text")
    if kind not in KINDS:
        raise ValueError(f"output spec kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if kind == "labels" and not raw.get("labels"):
        raise ValueError("a labels output spec needs a non-empty list of labels")
    if kind == "regex":
        try:
            re.compile(raw.get("pattern", ""))
        except re.error as error:
            raise ValueError(f"the regex pattern does not compile: {error}") from error
    if kind == "json" and not isinstance(raw.get("schema", {}), dict):
        raise ValueError("a json output spec needs a JSON Schema object under 'schema'")
    return OutputSpec(
        kind=kind,
        labels=tuple(raw.get("labels", ())),
        schema=raw.get("schema", {}),
        pattern=raw.get("pattern", ""),
    )


def validate_output(spec: OutputSpec, text: str) -> str | None:
    """Return why `text` breaks the spec, or None when it is a valid answer."""
    if not text.strip():
        return "the answer is empty"
    if spec.kind == "labels" and text.strip() not in spec.labels:
        return f"{text.strip()!r} is not one of the labels: {', '.join(spec.labels)}"
    if spec.kind == "regex" and not re.fullmatch(spec.pattern, text.strip()):
        return f"the answer does not match the pattern {spec.pattern}"
    if spec.kind == "json":
        return _json_problem(spec.schema, text)
    return None


def _json_problem(schema: dict, text: str) -> str | None:
    import jsonschema

    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        return f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(value), key=lambda e: list(e.path))
    if errors:
        where = "/".join(str(part) for part in errors[0].path) or "the answer"
        return f"{where}: {errors[0].message}"
    return None


def stratum_of(spec: OutputSpec, text: str) -> str:
    """The label an answer belongs to, for stratified splits ('' when there is none).

    Label specs use the label itself; JSON specs use the value of the first schema
    property that has an enum (a category field, say).
    """
    if spec.kind == "labels":
        return text.strip()
    if spec.kind == "json":
        key = next((name for name, prop in spec.schema.get("properties", {}).items() if "enum" in prop), None)
        if key:
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                return ""
            return str(value.get(key, "")) if isinstance(value, dict) else ""
    return ""
