"""Bad input refused: property tests that throw generated bad files, specs and argv at the studio.

For every import format (chat, prompt/completion and Alpaca JSONL, CSV and Parquet with a
column mapping, a Hugging Face datasets folder), the output-spec parser and validator, and
the CLI's arguments, hypothesis generates at least 1,000 bad inputs: broken JSON, wrong
encodings (latin-1, UTF-16, invalid UTF-8, BOMs), huge lines, missing and extra fields,
wrong types, control characters and NUL bytes, empty files, good and bad rows mixed.
The properties:
- nothing crashes: only the importer's own errors (ImportRefused, UnreadableFile, the
  mapping's ValueError) come out, and the CLI exits with a usage error, never a traceback;
- a file with any bad row imports nothing: the real DuckDB's example count is unchanged;
- every bad row is named with its line or row number and a reason, and exactly the rows
  planted as bad are named (good rows in a mixed file are not).

This file holds the JSON Lines, JSON array and CSV cases; tests/test_bad_inputs_typed.py
the Parquet files and datasets folders; tests/cli/test_bad_inputs_cli.py the output spec and
the CLI; tests/bad_inputs_kit.py the shared properties and tally.

The dry run of every case goes through read_source and the import plan; a real import
into a DuckDB file (migrations applied) runs on one case in DB_EVERY (default 1 in 20; the figures in
docs/bad-inputs.md used 1 in 5; STUDIO_BAD_INPUTS_DB_EVERY=1 makes it every case). STUDIO_BAD_INPUTS=N changes the number
of inputs per format (default 1000). With STUDIO_BAD_INPUTS_REPORT=path.json the test
writes the counts it tried per format there (docs/bad-inputs.md cites them). Run:

    STUDIO_BAD_INPUTS_REPORT=/tmp/bad-inputs.json .venv/bin/python -m pytest -q tests/test_bad_inputs*.py
"""

from __future__ import annotations

import csv
import io
import json
import random

import pytest
from bad_inputs_kit import (
    ANY_JSON,
    BAD_TEXT,
    CHARS,
    CONTROL,
    HUGE,
    INVALID_UTF8,
    JSON_LEAF,
    MAPPED,
    NOT_TEXT,
    SETTINGS,
    SOME_TEXT,
    TAG_TEXT,
    attempt,
    example_count,
    target,
    write,
    write_report,
)
from hypothesis import given
from hypothesis import strategies as st

from studio.transfer.imports import ImportOptions, check_source
from studio.transfer.readers import UnreadableFile, read_source

__all__ = ["target"]  # the fixture, shared from bad_inputs_kit


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    write_report()


# JSON Lines: a good row for each of the three shapes, and every way a line can be bad.


def good_row(draw, shape: str, index: int) -> dict:
    marker = f" #{index}"  # rows of one file differ, so none is skipped as a duplicate
    question, answer = draw(SOME_TEXT) + marker, draw(SOME_TEXT)
    if draw(st.integers(0, 60)) == 0:
        question += "q" * draw(HUGE)  # a huge line that is fine
    if shape == "chat":
        system = [{"role": "system", "content": draw(SOME_TEXT)}] if draw(st.booleans()) else []
        row = {"messages": system + [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]}
    elif shape == "prompt-completion":
        row = {"prompt": question, "completion": answer}
    else:
        row = {"instruction": question, "input": draw(st.sampled_from(["", "some input"])), "output": answer}
    if draw(st.booleans()):
        row["id"] = draw(st.sampled_from([f"g{index}", index]))
    if draw(st.booleans()):
        row["tags"] = draw(st.one_of(st.lists(SOME_TEXT, max_size=3), TAG_TEXT, st.none()))
    if draw(st.integers(0, 3)) == 0:
        row["extra"] = draw(ANY_JSON)  # fields no mapping reads
    return row


REQUIRED = {
    "chat": [["messages"]],
    "prompt-completion": [["prompt"], ["completion"], ["prompt", "completion"]],
    "alpaca": [["output"], ["instruction", "input"]],
}
TEXT_FIELDS = {"chat": [], "prompt-completion": ["prompt", "completion"], "alpaca": ["instruction", "output"]}
BAD_MESSAGES = st.one_of(
    NOT_TEXT.filter(lambda v: v not in ([], {}) and not isinstance(v, list)),
    st.lists(JSON_LEAF, min_size=1, max_size=3),
    st.just([{"role": "user", "content": "hi"}, {"role": "robot", "content": "no"}]),
    st.just([{"role": "user", "content": 5}, {"role": "assistant", "content": "x"}]),
    st.just([{"role": "system", "content": "only a system message"}, {"role": "assistant", "content": "x"}]),
    st.just([{"content": "no role"}]),
    st.just([]),
    st.none(),
    st.just("not json ["),
)


def bad_line(draw, shape: str, index: int) -> bytes:
    """One line (no newline) that no importer may accept, built one way of many."""
    row = good_row(draw, shape, index)
    way = draw(
        st.sampled_from(
            [
                "cut",
                "garbage",
                "control",
                "not-object",
                "latin-1",
                "utf-16",
                "invalid-utf8",
                "missing",
                "wrong-type",
                "nul-or-surrogate",
                "huge",
                "bad-tags",
                "bad-id",
            ]
        )
    )
    text = json.dumps(row)
    if way == "cut":
        return text[: draw(st.integers(1, len(text) - 1))].encode()
    if way == "garbage":
        line = draw(
            st.text(CHARS, min_size=1, max_size=30).filter(
                lambda t: (
                    t.lstrip("\ufeff").strip()
                    and "\n" not in t
                    and not t.lstrip("\ufeff").strip().startswith(("{", "["))
                )
            )
        )
        return line.encode()
    if way == "control":  # a raw control character inside the first string: JSON forbids it
        cut = text.index(': "') + 3
        return (text[:cut] + draw(CONTROL) + text[cut:]).encode()
    if way == "not-object":
        return json.dumps(draw(JSON_LEAF | st.lists(JSON_LEAF, max_size=2))).encode()
    if way == "latin-1":
        return json.dumps(
            {**row, **{k: "café " + v for k, v in row.items() if k in TEXT_FIELDS[shape]}, "extra": "déjà"},
            ensure_ascii=False,
        ).encode("latin-1", errors="replace")
    if way == "utf-16":
        return text.encode(draw(st.sampled_from(["utf-16", "utf-16-le", "utf-16-be"]))).replace(b"\n", b"")
    if way == "invalid-utf8":
        data = text.encode()
        cut = draw(st.integers(0, len(data)))
        return data[:cut] + draw(INVALID_UTF8) + data[cut:]
    if way == "missing":
        for key in draw(st.sampled_from(REQUIRED[shape])):
            row.pop(key, None)
        return json.dumps(row).encode()
    if way == "wrong-type":
        if shape == "chat":
            row["messages"] = draw(BAD_MESSAGES)
        else:  # an empty instruction is fine beside an input, so only a non-text one is bad
            name = draw(st.sampled_from(TEXT_FIELDS[shape]))
            row[name] = draw(NOT_TEXT if name == "instruction" else NOT_TEXT | st.none() | st.just(""))
        return json.dumps(row).encode()
    if way == "nul-or-surrogate":
        bad = draw(BAD_TEXT)
        if shape == "chat":
            row["messages"][-1]["content"] += bad
        else:
            row[draw(st.sampled_from(TEXT_FIELDS[shape]))] += bad
        return json.dumps(row).encode()  # escaped: the JSON is valid, the text is not
    if way == "huge":
        return b'{"prompt": "' + b"x" * draw(HUGE)  # never closed
    if way == "bad-tags":
        row["tags"] = draw(
            st.one_of(
                st.integers(),
                st.booleans(),
                st.dictionaries(st.text(max_size=2), JSON_LEAF, min_size=1),
                st.lists(NOT_TEXT | st.none(), min_size=1, max_size=2),
            )
        )
        return json.dumps(row).encode()
    row["id"] = draw(
        st.one_of(st.booleans(), st.lists(JSON_LEAF, max_size=2), st.dictionaries(st.text(max_size=2), JSON_LEAF))
    )
    return json.dumps(row).encode()


BLANK = st.sampled_from([b"", b" ", b"\t", b"\r"])


@st.composite
def jsonl_files(draw, shape: str) -> tuple[bytes, set[int] | None, set[int]]:
    """(file bytes, the line numbers planted bad, the good line numbers); None: the whole file is bad."""
    whole = draw(st.integers(0, 24))
    if whole == 0:
        data = draw(
            st.sampled_from([b"", b"\xef\xbb\xbf", b"\n\n \n", b"\xff\xfe{\x00}\x00"]) | st.binary(max_size=200)
        )
        return data, None, set()
    kinds = draw(st.lists(st.sampled_from(["good", "bad", "blank"]), min_size=1, max_size=6))
    kinds[draw(st.integers(0, len(kinds) - 1))] = "bad"
    lines, bad, good = [], set(), set()
    for number, kind in enumerate(kinds, start=1):
        if kind == "good":
            prefix = b"\xef\xbb\xbf" if draw(st.integers(0, 9)) == 0 else b""
            lines.append(prefix + json.dumps(good_row(draw, shape, number)).encode())
            good.add(number)
        elif kind == "bad":
            lines.append(bad_line(draw, shape, number))
            bad.add(number)
        else:
            lines.append(draw(BLANK))
    ending = draw(st.sampled_from([b"\n", b"\r\n"]))
    return ending.join(lines) + (ending if draw(st.booleans()) else b""), bad, good


@pytest.mark.parametrize("shape", ["chat", "prompt-completion", "alpaca"])
def test_bad_jsonl_files_import_nothing_and_name_every_bad_line(target, shape):
    @SETTINGS
    @given(case=jsonl_files(shape))
    def check(case):
        data, planted, good = case
        first = next((line.lstrip(b"\xef\xbb\xbf \t\r") for line in data.split(b"\n") if line.strip()), b"")
        if first.startswith(b"["):  # read as one JSON array, so lines are not rows
            planted, good = None, set()
        attempt(target, f"{shape} JSONL", write(target, "upload.jsonl", data), ImportOptions(), planted, good)

    check()
    assert example_count(target) == 0


@st.composite
def alpaca_arrays(draw) -> tuple[bytes, set[int] | None, set[int]]:
    """Alpaca's own layout, one JSON array: bad items are named by row; broken JSON refuses the file."""
    items, bad, good = [], set(), set()
    kinds = draw(st.lists(st.booleans(), min_size=1, max_size=6))
    kinds[draw(st.integers(0, len(kinds) - 1))] = False
    for number, is_good in enumerate(kinds, start=1):
        if is_good:
            items.append(good_row(draw, "alpaca", number))
            good.add(number)
        else:
            row = good_row(draw, "alpaca", number)
            row[draw(st.sampled_from(["output", "instruction"]))] = draw(NOT_TEXT | BAD_TEXT)
            items.append(draw(st.sampled_from([row, 5, None, "text", [row]])))
            bad.add(number)
    text = json.dumps(items, indent=draw(st.sampled_from([None, 1])))
    if draw(st.integers(0, 3)) == 0:
        return text[: draw(st.integers(1, len(text) - 1))].encode(), None, set()
    return text.encode(), bad, good


def test_bad_alpaca_json_arrays_import_nothing(target):
    @SETTINGS
    @given(case=alpaca_arrays())
    def check(case):
        data, planted, good = case
        attempt(
            target,
            "Alpaca JSON array",
            write(target, "alpaca.json", data),
            ImportOptions(format="alpaca"),
            planted,
            good,
        )

    check()
    assert example_count(target) == 0


# CSV with a column mapping: question, answer, labels (tags), ref (id).

CSV_HEADER = ["question", "answer", "labels", "ref"]


def good_cells(draw, index: int) -> list[str]:
    question = draw(SOME_TEXT) + f" #{index}"
    if draw(st.integers(0, 60)) == 0:
        question += "q" * draw(HUGE)  # past the csv module's default 128 KiB cell limit
    labels = draw(st.sampled_from(["", "a, b", '["x", "y, z"]', "[[[[", "solo"]))
    return [question, draw(SOME_TEXT), labels, draw(st.sampled_from(["", f"r{index}"]))]


def bad_cells(draw, index: int) -> list[str]:
    cells = good_cells(draw, index)
    way = draw(st.sampled_from(["fewer", "more", "no-question", "no-answer", "nul", "labels", "huge"]))
    if way == "fewer":
        return cells[: draw(st.integers(1, 3))]
    if way == "more":
        return cells + draw(st.lists(SOME_TEXT, min_size=1, max_size=2))
    if way in ("no-question", "huge"):
        cells[0] = draw(st.sampled_from(["", "  ", "\t"]))
        if way == "huge":
            cells[1] = "a" * draw(HUGE)
        return cells
    if way == "no-answer":
        cells[1] = ""
        return cells
    if way == "nul":
        column = draw(st.integers(0, 3))
        cells[column] = (cells[column] or "x") + "\x00"
        return cells
    cells[2] = draw(st.sampled_from(["[1, 2]", "[null]", '[{"a": 1}]', "[true]", '["ok", 3]']))
    return cells


@st.composite
def csv_files(draw) -> tuple[bytes, set[int] | None, set[int], str | None]:
    """(bytes, planted bad row numbers, good row numbers, a line the whole-file error must name)."""
    whole = draw(st.integers(0, 14))
    if whole == 0:
        return (
            draw(
                st.sampled_from(
                    [
                        b"",
                        b"\xef\xbb\xbf",
                        b"question,question,answer\n1,2,3\n",
                        b",answer\nx,y\n",
                        b'question,answer\n"never closed,x\n',
                    ]
                )
                | st.binary(max_size=100)
            ),
            None,
            set(),
            None,
        )
    rows, bad, good = [], set(), set()
    kinds = draw(st.lists(st.booleans(), min_size=1, max_size=6))
    kinds[draw(st.integers(0, len(kinds) - 1))] = False
    for number, is_good in enumerate(kinds, start=2):
        rows.append(good_cells(draw, number) if is_good else bad_cells(draw, number))
        (good if is_good else bad).add(number)
    buffer = io.StringIO(newline="")
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    # with "\n" line ends the writer leaves a lone "\r" unquoted, which any reader takes for a line end: quote all
    quoting = csv.QUOTE_ALL if ending == "\n" else csv.QUOTE_MINIMAL
    csv.writer(buffer, lineterminator=ending, quoting=quoting).writerows([CSV_HEADER, *rows])
    text = buffer.getvalue()
    encoding = draw(st.sampled_from(["utf-8"] * 6 + ["utf-8-sig", "latin-1", "utf-16", "invalid"]))
    if encoding == "latin-1":
        return ("é," + text).encode("latin-1", errors="replace"), None, set(), "line 1"
    if encoding == "utf-16":
        return text.encode("utf-16"), None, set(), "line 1"
    if encoding == "invalid":
        data = text.encode("utf-8", errors="replace")
        cut = draw(st.integers(0, len(data)))
        line = data.count(b"\n", 0, cut) + 1
        return data[:cut] + b"\xff" + data[cut:], None, set(), f"line {line}"
    return text.encode(encoding, errors="surrogatepass"), bad, good, None


def test_bad_csv_files_import_nothing_and_name_every_bad_row(target):
    options = ImportOptions(format="csv", mapping=MAPPED)

    @SETTINGS
    @given(case=csv_files())
    def check(case):
        data, planted, good, line = case
        path = write(target, "upload.csv", data)
        if line:
            with pytest.raises(UnreadableFile, match=line + " "):
                read_source(path, "csv")
        attempt(target, "CSV (mapped)", path, options, planted, good)

    check()
    assert example_count(target) == 0


def test_random_garbage_never_crashes_the_file_readers(target):
    """Plain random bytes under every name the importers recognise (a last net under the generators above)."""
    rng = random.Random(7)
    for _number in range(200):
        for suffix in (".jsonl", ".json", ".csv", ".tsv", ".parquet", ".zip"):
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 400)))
            attempt(
                target,
                "random bytes (any suffix)",
                write(target, f"garbage{suffix}", data),
                ImportOptions(),
                None,
                set(),
            )
    assert example_count(target) == 0


# The bugs the properties found, pinned one by one.


def test_json_nested_too_deeply_or_a_number_too_long_is_a_bad_line(target):
    path = write(
        target,
        "deep.jsonl",
        b'{"prompt": "q", "completion": "a"}\n'
        + b'{"prompt": '
        + b"[" * 100_000
        + b"\n"
        + b'{"prompt": '
        + b"1" * 5000
        + b', "completion": "x"}\n',
    )
    plan = check_source(target["project"], read_source(path), ImportOptions())
    assert [row.number for row in plan.bad_rows] == [2, 3]
    assert plan.bad_rows[0].reason == "not readable as JSON (nested too deeply)"
    assert plan.bad_rows[1].reason.startswith("not readable as JSON (Exceeds the limit (4300 digits)")


def test_a_lone_surrogate_or_a_nul_is_refused_by_row_and_column(target):
    rows = [
        {"prompt": "fine", "completion": "ok"},
        {"prompt": "a\ud800b", "completion": "x"},
        {"prompt": "q", "completion": "a\x00"},
    ]
    path = write(target, "text.jsonl", "\n".join(json.dumps(row) for row in rows).encode())
    plan = check_source(target["project"], read_source(path), ImportOptions())
    assert [str(row) for row in plan.bad_rows] == [
        "line 2: 'prompt' holds a lone surrogate (U+D800) at position 2, which is not text; check the file's encoding",
        "line 3: 'completion' holds a NUL character (U+0000) at position 2",
    ]


def test_a_csv_cell_past_128_kib_is_read(target):
    path = write(target, "long.csv", b"question,answer\n" + b"q" * 300_000 + b",a\n")
    plan = check_source(target["project"], read_source(path), ImportOptions(format="csv", mapping=MAPPED))
    assert (len(plan.new), plan.bad_rows) == (1, ())


def test_a_binary_id_is_refused(target):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = target["folder"] / "ids.parquet"
    pq.write_table(pa.table({"question": ["q"], "answer": ["a"], "ref": pa.array([b"\x00"], pa.binary())}), path)
    plan = check_source(target["project"], read_source(path), ImportOptions(format="parquet", mapping=MAPPED))
    assert [str(row) for row in plan.bad_rows] == ["row 1: 'ref' must be text or a number, not bytes"]
