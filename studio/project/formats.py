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
    if not isinstance(raw, dict):
        raise ValueError(f"an output spec must be an object with a 'kind', not {type(raw).__name__}")
    kind = raw.get("kind", "text")
    if not isinstance(kind, str) or kind not in KINDS:
        raise ValueError(f"output spec kind must be one of {', '.join(KINDS)}, not {kind!r}")
    return OutputSpec(
        kind=kind,
        labels=_labels(raw.get("labels")) if kind == "labels" else (),
        schema=_schema(raw.get("schema", {})) if kind == "json" else {},
        pattern=_pattern(raw.get("pattern", "")) if kind == "regex" else "",
    )


def _labels(labels) -> tuple[str, ...]:
    if not isinstance(labels, (list, tuple)) or not labels:
        raise ValueError("a labels output spec needs a non-empty list of labels")
    if not all(isinstance(label, str) and label.strip() for label in labels):
        raise ValueError("every label must be non-empty text")
    if len(set(labels)) != len(labels):
        raise ValueError(f"the labels repeat {sorted({label for label in labels if labels.count(label) > 1})!r}")
    return tuple(labels)


def _pattern(pattern) -> str:
    if not isinstance(pattern, str):
        raise ValueError(f"a regex output spec needs the pattern as text, not {type(pattern).__name__}")
    try:
        re.compile(pattern)
    except (re.error, OverflowError, RecursionError) as error:
        raise ValueError(f"the regex pattern does not compile: {error}") from error
    return pattern


def _schema(schema) -> dict:
    """A JSON Schema that is valid under Draft 2020-12 and refers only inside itself (nothing is fetched)."""
    import jsonschema

    if not isinstance(schema, dict):
        raise ValueError("a json output spec needs a JSON Schema object under 'schema'")
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as error:
        where = "/".join(str(part) for part in error.path) or "the schema"
        raise ValueError(f"the JSON Schema is not valid ({where}: {error.message})") from None
    except RecursionError:
        raise ValueError("the JSON Schema is nested too deeply") from None
    outside = next((ref for ref in _refs(schema) if not ref.startswith("#")), None)
    if outside is not None:
        raise ValueError(
            f"the JSON Schema refers outside itself ($ref {outside!r}); only '#...' references are allowed"
        )
    return schema


def _refs(value):
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("$ref", "$dynamicRef") and isinstance(item, str):
                yield item
            yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


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
    import referencing.exceptions

    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        return f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
    except RecursionError:
        return "not readable as JSON: nested too deeply"
    except ValueError as error:
        return f"not readable as JSON: {error}"
    try:
        errors = sorted(
            jsonschema.Draft202012Validator(schema).iter_errors(value), key=lambda e: list(map(str, e.path))
        )
    except RecursionError:
        return "the answer is nested too deeply to check against the schema"
    except (referencing.exceptions.Unresolvable, jsonschema.exceptions.SchemaError) as error:
        return f"the answer cannot be checked against the schema ({error})"
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
        properties = spec.schema.get("properties", {})
        key = next((name for name, prop in properties.items() if isinstance(prop, dict) and "enum" in prop), None)
        if key:
            try:
                value = json.loads(text)
            except (ValueError, RecursionError):
                return ""
            return str(value.get(key, "")) if isinstance(value, dict) else ""
    return ""


FIELD_TYPES = ("string", "number", "integer", "boolean")


def schema_from_fields(fields: list[dict]) -> dict:
    """A JSON Schema object from a simple field list: [{name, type, allowed (comma separated), required}]."""
    properties, required = {}, []
    for number, row in enumerate(fields, start=1):
        name = str(row.get("name") or "").strip()
        if not name:
            continue
        kind = row.get("type") or "string"
        if kind not in FIELD_TYPES:
            raise ValueError(f"field {number} ({name}): the type must be one of {', '.join(FIELD_TYPES)}, not {kind!r}")
        prop: dict = {"type": kind}
        allowed = [v.strip() for v in str(row.get("allowed") or "").split(",") if v.strip()]
        if allowed and kind == "string":
            prop["enum"] = allowed
        properties[name] = prop
        if row.get("required"):
            required.append(name)
    if not properties:
        raise ValueError("a JSON schema needs at least one field with a name")
    schema = {"type": "object", "properties": properties}
    return {**schema, "required": required} if required else schema


def fields_of_schema(schema: dict) -> list[dict]:
    """The simple field list of a schema's top-level properties (the inverse of schema_from_fields where it can be)."""
    required = set(schema.get("required", []))
    rows = []
    for name, prop in (schema.get("properties") or {}).items():
        prop = prop if isinstance(prop, dict) else {}
        kind = prop.get("type") if prop.get("type") in FIELD_TYPES else "string"
        rows.append(
            {
                "name": name,
                "type": kind,
                "allowed": ", ".join(map(str, prop.get("enum", []))),
                "required": name in required,
            }
        )
    return rows


def answer_problems(spec: OutputSpec, text: str) -> list[str]:
    """Every reason `text` breaks the spec (a JSON answer can break several rules at once); [] when valid."""
    first = validate_output(spec, text)
    if first is None or spec.kind != "json":
        return [] if first is None else [first]
    import jsonschema

    try:
        value = json.loads(text)
        errors = sorted(
            jsonschema.Draft202012Validator(spec.schema).iter_errors(value), key=lambda e: list(map(str, e.path))
        )
    except (ValueError, RecursionError, jsonschema.exceptions.SchemaError):
        return [first]
    return [f"{'/'.join(str(part) for part in e.path) or 'the answer'}: {e.message}" for e in errors] or [first]
