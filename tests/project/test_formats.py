"""Output specs: parsing, validating answers, and the stratum of an answer."""

from __future__ import annotations

import pytest

from studio.project.formats import OutputSpec, parse_output_spec, stratum_of, validate_output

TICKET_SCHEMA = {
    "type": "object",
    "properties": {
        "summary": {"type": "string"},
        "category": {"type": "string", "enum": ["billing", "technical"]},
        "priority": {"type": "string", "enum": ["low", "high"]},
    },
    "required": ["category", "priority"],
}
TICKET = parse_output_spec({"kind": "json", "schema": TICKET_SCHEMA})
LABELS = parse_output_spec({"kind": "labels", "labels": ["pos", "neg"]})
CODE = parse_output_spec({"kind": "regex", "pattern": r"[A-Z]{2}-\d{3}"})
TEXT = parse_output_spec({"kind": "text"})


@pytest.mark.parametrize(
    "raw, reason",
    [
        ({"kind": "yaml"}, "kind must be one of"),
        ({"kind": "labels", "labels": []}, "non-empty list of labels"),
        ({"kind": "labels"}, "non-empty list of labels"),
        ({"kind": "json", "schema": ["not", "a", "dict"]}, "JSON Schema object"),
    ],
)
def test_parse_refuses_a_bad_spec_with_a_reason(raw, reason):
    with pytest.raises(ValueError, match=reason):
        parse_output_spec(raw)


def test_parse_refuses_a_bad_regex_with_value_error():
    with pytest.raises(ValueError):
        parse_output_spec({"kind": "regex", "pattern": "(unclosed"})


def test_parse_keeps_the_settings_of_a_good_spec():
    assert LABELS == OutputSpec(kind="labels", labels=("pos", "neg"))
    assert TICKET.schema == TICKET_SCHEMA
    assert CODE.to_dict() == {"kind": "regex", "pattern": r"[A-Z]{2}-\d{3}"}
    assert parse_output_spec(None).kind == "text"


@pytest.mark.parametrize(
    "spec, answer",
    [
        (TEXT, "anything at all"),
        (LABELS, "pos"),
        (LABELS, "  neg \n"),
        (CODE, "AB-123"),
        (TICKET, '{"category": "billing", "priority": "low"}'),
        (TICKET, '{"summary": "card declined", "category": "technical", "priority": "high"}'),
    ],
)
def test_a_valid_answer_has_no_problem(spec, answer):
    assert validate_output(spec, answer) is None


@pytest.mark.parametrize(
    "spec, answer, problem",
    [
        (TEXT, "   ", "empty"),
        (LABELS, "", "empty"),
        (LABELS, "positive", "not one of the labels"),
        (CODE, "ab-123", "does not match the pattern"),
        (CODE, "AB-1234", "does not match the pattern"),
        (TICKET, '{"category": "billing", ', "not valid JSON"),
        (TICKET, '{"category": "billing"}', "'priority' is a required property"),
        (TICKET, '{"category": "sales", "priority": "low"}', "category: 'sales' is not one of"),
    ],
)
def test_an_invalid_answer_names_its_problem(spec, answer, problem):
    assert problem in validate_output(spec, answer)


def test_stratum_of_a_labels_answer_is_its_label():
    assert stratum_of(LABELS, " neg\n") == "neg"


def test_stratum_of_a_json_answer_is_its_first_enum_field():
    assert stratum_of(TICKET, '{"summary": "s", "priority": "high", "category": "technical"}') == "technical"


def test_stratum_of_an_answer_without_a_category_is_empty():
    assert stratum_of(TICKET, "not json") == ""
    assert stratum_of(TICKET, '["technical"]') == ""
    assert stratum_of(TEXT, "pos") == ""
