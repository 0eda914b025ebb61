"""Bad output specs, bad answers and bad CLI arguments: at least 1,000 of each, none crashes.

The parser refuses a bad spec with a ValueError naming the reason; the validator returns
a reason or None for any answer; any argv either runs or ends with a usage error (exit 2),
never a traceback. The tally is in tests/bad_inputs_kit.py.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys

import pytest
from bad_inputs_kit import ANY_JSON, CHARS, JSON_LEAF, SETTINGS, tally, write_report
from hypothesis import given
from hypothesis import strategies as st

from studio.cli.main import main as studio_main
from studio.paths import SOURCE_ROOT
from studio.project.formats import KINDS, parse_output_spec, validate_output


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    write_report()


# The output spec: the parser refuses bad specs with a reason; the validator never crashes.

REGEXISH = st.lists(
    st.sampled_from(list("()[]{}*+?|\\^$.ab0-:,") + ["(?P<", "(?<=", "\\d", "{2,1}", "[z-a]", "(?i)"]), max_size=10
).map("".join)
SCHEMAISH = st.recursive(
    st.one_of(
        JSON_LEAF,
        st.sampled_from(
            [
                {"type": "object"},
                {"type": "nope"},
                {"type": 5},
                {"enum": "x"},
                {"required": "a"},
                {"$ref": "#/definitions/missing"},
                {"$ref": "http://example.com/s.json"},
                {"$ref": "file:///etc/passwd"},
                {"minimum": "3"},
                {"pattern": "("},
                {"properties": []},
            ]
        ),
    ),
    lambda inner: (
        st.dictionaries(
            st.sampled_from(
                ["type", "properties", "items", "enum", "required", "$ref", "anyOf", "additionalProperties", "x"]
            ),
            inner,
            max_size=3,
        )
        | st.lists(inner, max_size=2)
    ),
    max_leaves=8,
)
RAW_SPECS = st.one_of(
    ANY_JSON,
    st.fixed_dictionaries(
        {"kind": st.sampled_from([*KINDS, "Labels", "", "enum"]) | JSON_LEAF},
        optional={
            "labels": ANY_JSON | st.lists(st.text(max_size=4), max_size=4),
            "schema": SCHEMAISH,
            "pattern": REGEXISH | JSON_LEAF,
        },
    ),
)
ANSWERS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["[" * 5000, '{"a": ' * 3000, "1" * 5000, "NaN", "null", '{"a": 1}', "\x00"]),
    ANY_JSON.map(json.dumps),
)


def test_the_output_spec_parser_refuses_bad_specs_and_the_validator_never_crashes():
    @SETTINGS
    @given(raw=RAW_SPECS, answers=st.lists(ANSWERS, min_size=1, max_size=3))
    def check(raw, answers):
        counts = tally("output spec (parser + validator)")
        try:
            spec = parse_output_spec(raw)
        except ValueError as error:
            assert len(str(error)) > 10
            counts["refused specs"] += 1
            return
        for answer in answers:
            counts["answers validated"] += 1
            problem = validate_output(spec, answer)
            assert problem is None or (isinstance(problem, str) and problem.strip())

    check()


def test_the_validator_checks_bad_answers_against_every_kind_of_spec():
    specs = [
        parse_output_spec(raw)
        for raw in (
            {"kind": "labels", "labels": ["pos", "neg"]},
            {"kind": "regex", "pattern": r"[A-Z]{2}-\d+"},
            {
                "kind": "json",
                "schema": {"type": "object", "properties": {"n": {"type": "integer"}, "t": True}, "required": ["n"]},
            },
            {"kind": "json", "schema": {"$defs": {"x": {"type": "string"}}, "items": {"$ref": "#/$defs/x"}}},
        )
    ]

    @SETTINGS
    @given(spec=st.sampled_from(specs), answer=ANSWERS)
    def check(spec, answer):
        tally("output validator (labels, regex, JSON Schema)")
        problem = validate_output(spec, answer)
        assert problem is None or problem.strip()

    check()


# The CLI: any argv either parses and runs, or ends with a usage error; never a traceback.

IN_PROCESS = ["import", "export", "people", "runs", "eval", "project"]  # the rest would train, serve or load models
COMMANDS = IN_PROCESS + ["setup", "demo", "check", "train", "serve"]
OPTIONS = [
    "--project",
    "--format",
    "--map",
    "--split",
    "--status",
    "--author",
    "--dry-run",
    "--json",
    "--out",
    "--tag",
    "--add",
    "--role",
    "--html",
    "--high",
    "--low",
    "--help",
    "--bogus",
    "--max-steps",
    "--epochs",
    "--set",
    "--resume",
    "--port",
    "--preset",
    "-x",
    "--",
    "--near-duplicate-similarity",
]


@st.composite
def argvs(draw, paths: list[str]) -> list[str]:
    words = [draw(st.sampled_from(COMMANDS + ["", "bogus"]))] if draw(st.integers(0, 9)) else []
    value = st.one_of(
        st.sampled_from(
            paths
            + [
                "p",
                "all",
                "chat",
                "csv",
                "input=prompt,output=completion",
                "input=nope",
                "lora_r=abc",
                "lora_r=8",
                "nan",
                "-1",
                "1e999",
                "0",
                "train",
                "approved",
            ]
        ),
        st.text(CHARS, max_size=8).filter(lambda t: "/" not in t and not t.startswith("~")),
    )
    for _ in range(draw(st.integers(0, 6))):
        words.append(draw(st.sampled_from(OPTIONS) if draw(st.booleans()) else value))
    return words


def run_cli(argv: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = studio_main(argv)
        except SystemExit as exit:
            code = exit.code
    return code, err.getvalue()


def test_any_cli_arguments_parse_or_fail_with_a_usage_error(home, tmp_path):
    from studio.cli.main import build_parser

    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps({"prompt": "q", "completion": "a"}) + "\n")
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"prompt": "q"}\n\xff\xfe\n')
    (tmp_path / "a-file").write_text("x")
    paths = [
        str(good),
        str(bad),
        str(tmp_path / "missing.csv"),
        str(tmp_path),
        str(tmp_path / "a-file" / "out.jsonl"),
        str(tmp_path / "out.jsonl"),
        str(tmp_path / "out.csv"),
        str(tmp_path / "report.html"),
    ]

    @SETTINGS
    @given(argv=argvs(paths))
    def check(argv):
        counts = tally("CLI arguments")
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                command = build_parser().parse_args(argv).command
        except SystemExit as exit:
            command = None
            code, err = run_cli(argv)  # the same usage error, seen through main
            assert code == exit.code
        if command in IN_PROCESS:
            code, err = run_cli(argv)
        elif command is not None:  # setup, demo, check, train, serve: parsed, not run (they load models or serve)
            code, err = 0, ""
        assert code in (0, 1, 2), (argv, code, err)
        assert "Traceback" not in err, err
        counts[f"exit {code}"] += 1

    with contextlib.chdir(tmp_path):
        check()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["import", "/no/such/file.jsonl", "--project", "p"], "does not exist"),
        (["import", "{bad}", "--project", "p", "--dry-run"], "does not exist"),
        (["export", "--project", "nobody", "--out", "x.jsonl"], "nobody"),
        (["people", "--role", "king"], "invalid choice"),
        (["train", "--project", "p", "--max-steps", "many"], "invalid int value"),
        (["--bogus"], "usage"),
    ],
)
def test_the_cli_process_reports_bad_arguments_without_a_traceback(home, tmp_path, argv, message):
    tally("CLI arguments (subprocess)")
    env = {**os.environ, "STUDIO_HOME": str(home)}
    result = subprocess.run(
        [sys.executable, "-m", "studio.cli", *argv],
        capture_output=True,
        text=True,
        cwd=SOURCE_ROOT,
        env=env,
        timeout=120,
    )
    assert result.returncode == 2, result
    assert message in result.stderr and "Traceback" not in result.stderr, result.stderr


@pytest.mark.parametrize(
    "raw, reason",
    [
        (["labels"], "must be an object"),
        ({"kind": "labels", "labels": "pos,neg"}, "non-empty list of labels"),
        ({"kind": "labels", "labels": ["pos", 3]}, "every label must be non-empty text"),
        ({"kind": "labels", "labels": ["pos", "pos"]}, "the labels repeat ['pos']"),
        ({"kind": "regex", "pattern": 5}, "the pattern as text"),
        ({"kind": "json", "schema": {"type": "nope"}}, "the JSON Schema is not valid"),
        ({"kind": "json", "schema": {"$ref": "http://example.com/s.json"}}, "refers outside itself"),
    ],
)
def test_the_spec_parser_names_what_is_wrong(raw, reason):
    with pytest.raises(ValueError) as refused:
        parse_output_spec(raw)
    assert reason in str(refused.value)


def test_the_validator_gives_a_reason_for_json_it_cannot_read():
    spec = parse_output_spec(
        {"kind": "json", "schema": {"type": "object", "properties": {"a": True, "b": {"enum": [1]}}}}
    )
    assert validate_output(spec, "[" * 100_000) == "not readable as JSON: nested too deeply"
    assert validate_output(spec, "1" * 5000).startswith("not readable as JSON: Exceeds the limit")
    assert validate_output(spec, '{"a": 1, "b": 2}') == "b: 2 is not one of [1]"


def test_an_output_path_the_cli_cannot_write_is_a_usage_error(home, tmp_path):
    (tmp_path / "a-file").write_text("x")
    assert run_cli(["people", "--add", "ann"])[0] == 0
    code, err = run_cli(["export", "--project", "p", "--out", str(tmp_path / "a-file" / "out.jsonl")])
    assert code == 2 and err.startswith("studio export:") and "Traceback" not in err
