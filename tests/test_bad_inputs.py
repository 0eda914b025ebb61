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

The dry run of every case goes through read_source and the import plan; a real import
into a DuckDB file (migrations applied) runs on one case in DB_EVERY (default 1 in 4:
STUDIO_BAD_INPUTS_DB_EVERY=1 makes it every case). STUDIO_BAD_INPUTS=N changes the number
of inputs per format (default 1000). With STUDIO_BAD_INPUTS_REPORT=path.json the test
writes the counts it tried per format there (docs/bad-inputs.md cites them). Run:

    STUDIO_BAD_INPUTS_REPORT=/tmp/bad-inputs.json .venv/bin/python -m pytest -q tests/test_bad_inputs.py
"""

from __future__ import annotations

import collections
import contextlib
import csv
import io
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage.db import connect
from storage.examples import count_examples
from studio.cli import main as studio_main
from studio.formats import KINDS, parse_output_spec, validate_output
from studio.importers import UnreadableFile, read_source
from studio.mapping import ColumnMapping
from studio.paths import SOURCE_ROOT
from studio.projects import ensure_project
from studio.transfer import ImportOptions, ImportRefused, check_source, import_file

INPUTS = int(os.environ.get("STUDIO_BAD_INPUTS", "1000"))
DB_EVERY = max(1, int(os.environ.get("STUDIO_BAD_INPUTS_DB_EVERY", "4")))
SETTINGS = settings(
    max_examples=INPUTS, deadline=None, derandomize=True, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much, HealthCheck.large_base_example],
)
TALLY: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
MAPPED = ColumnMapping(input="question", output="answer", tags="labels", id="ref")


@pytest.fixture(scope="module", autouse=True)
def report():
    """After the module: print the counts, and write them where STUDIO_BAD_INPUTS_REPORT says."""
    yield
    document = {name: dict(counts) for name, counts in sorted(TALLY.items())}
    print("\nbad inputs tried:", json.dumps(document, indent=1))
    if os.environ.get("STUDIO_BAD_INPUTS_REPORT"):
        Path(os.environ["STUDIO_BAD_INPUTS_REPORT"]).write_text(json.dumps(document, indent=2))


@pytest.fixture
def target(db, tmp_path):
    """A free-text project in a real DuckDB file, and where each generated input is written."""
    project = ensure_project(db, "notes", "Answer the question.", {"kind": "text"})
    return {"db": db, "project": project, "folder": tmp_path}


# Text: any character but a NUL or a lone surrogate (those are bad on purpose, below).

CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
SOME_TEXT = st.text(CHARS, min_size=1, max_size=12).filter(lambda t: t.strip())
TAG_TEXT = SOME_TEXT.filter(lambda t: not t.lstrip().startswith("["))  # '[1]' would read as a JSON list
JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False), st.text(CHARS, max_size=6))
ANY_JSON = st.recursive(JSON_LEAF, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=6)
NOT_TEXT = st.one_of(st.integers(), st.floats(allow_nan=False), st.booleans(), st.lists(JSON_LEAF, max_size=2),
                     st.dictionaries(st.text(max_size=3), JSON_LEAF, max_size=2))
BAD_TEXT = st.sampled_from(["\x00", "a\x00b", "\ud800", "x\udfffy"])  # a NUL or a lone surrogate inside
CONTROL = st.sampled_from([chr(c) for c in range(32) if c != 10])
INVALID_UTF8 = st.sampled_from([b"\xff", b"\xfe", b"\x80", b"\xc3(", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80"])
HUGE = st.integers(1, 3).map(lambda mb: mb * 1024 * 1024)


# JSON Lines: a good row for each of the three shapes, and every way a line can be bad.

def good_row(draw, shape: str, index: int) -> dict:
    marker = f" #{index}"  # rows of one file differ, so none is skipped as a duplicate
    question, answer = draw(SOME_TEXT) + marker, draw(SOME_TEXT)
    if draw(st.integers(0, 30)) == 0:
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
    for number in range(draw(st.integers(0, 2))):
        row[f"extra{number}"] = draw(ANY_JSON)  # fields no mapping reads
    return row


REQUIRED = {"chat": [["messages"]], "prompt-completion": [["prompt"], ["completion"], ["prompt", "completion"]],
            "alpaca": [["output"], ["instruction", "input"]]}
TEXT_FIELDS = {"chat": [], "prompt-completion": ["prompt", "completion"], "alpaca": ["instruction", "output"]}
BAD_MESSAGES = st.one_of(
    NOT_TEXT.filter(lambda v: v not in ([], {}) and not isinstance(v, list)),
    st.lists(JSON_LEAF, min_size=1, max_size=3),
    st.just([{"role": "user", "content": "hi"}, {"role": "robot", "content": "no"}]),
    st.just([{"role": "user", "content": 5}, {"role": "assistant", "content": "x"}]),
    st.just([{"role": "system", "content": "only a system message"}, {"role": "assistant", "content": "x"}]),
    st.just([{"content": "no role"}]), st.just([]), st.none(), st.just("not json ["),
)


def bad_line(draw, shape: str, index: int) -> bytes:
    """One line (no newline) that no importer may accept, built one way of many."""
    row = good_row(draw, shape, index)
    way = draw(st.sampled_from(["cut", "garbage", "control", "not-object", "latin-1", "utf-16", "invalid-utf8",
                                "missing", "wrong-type", "nul-or-surrogate", "huge", "bad-tags", "bad-id"]))
    text = json.dumps(row)
    if way == "cut":
        return text[: draw(st.integers(1, len(text) - 1))].encode()
    if way == "garbage":
        line = draw(st.text(CHARS, min_size=1, max_size=30).filter(
            lambda t: t.lstrip("\ufeff").strip() and "\n" not in t and not t.lstrip("\ufeff").strip().startswith(("{", "["))))
        return line.encode()
    if way == "control":  # a raw control character inside the first string: JSON forbids it
        cut = text.index(': "') + 3
        return (text[:cut] + draw(CONTROL) + text[cut:]).encode()
    if way == "not-object":
        return json.dumps(draw(JSON_LEAF | st.lists(JSON_LEAF, max_size=2))).encode()
    if way == "latin-1":
        return json.dumps({**row, **{k: "café " + v for k, v in row.items() if k in TEXT_FIELDS[shape]}, "extra": "déjà"},
                          ensure_ascii=False).encode("latin-1", errors="replace")
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
        row["tags"] = draw(st.one_of(st.integers(), st.booleans(), st.dictionaries(st.text(max_size=2), JSON_LEAF, min_size=1),
                                     st.lists(NOT_TEXT | st.none(), min_size=1, max_size=2)))
        return json.dumps(row).encode()
    row["id"] = draw(st.one_of(st.booleans(), st.lists(JSON_LEAF, max_size=2), st.dictionaries(st.text(max_size=2), JSON_LEAF)))
    return json.dumps(row).encode()


BLANK = st.sampled_from([b"", b" ", b"\t", b"\r"])


@st.composite
def jsonl_files(draw, shape: str) -> tuple[bytes, set[int] | None, set[int]]:
    """(file bytes, the line numbers planted bad, the good line numbers); None: the whole file is bad."""
    whole = draw(st.integers(0, 24))
    if whole == 0:
        data = draw(st.sampled_from([b"", b"\xef\xbb\xbf", b"\n\n \n", b"\xff\xfe{\x00}\x00"]) | st.binary(max_size=200))
        return data, None, set()
    kinds = draw(st.lists(st.sampled_from(["good", "bad", "blank"]), min_size=1, max_size=8))
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


def tally(name: str, **counts) -> collections.Counter:
    TALLY[name]["inputs tried"] += 1
    TALLY[name].update(counts)
    return TALLY[name]


def attempt(target: dict, name: str, path: Path, options: ImportOptions, planted: set[int] | None, good: set[int]) -> None:
    """The properties for one generated input: no crash, the planted rows named, nothing written."""
    counts = tally(name)
    try:
        plan = check_source(target["project"], read_source(path, options.format, options.split), options)
    except UnreadableFile as error:
        assert path.name in str(error) and len(str(error)) > len(path.name) + 5, error
        counts["refused whole (unreadable)"] += 1
        plan = None
    except ValueError as error:  # the mapping: no column holds an input and an answer
        assert "map a conversation column" in str(error), error
        counts["refused whole (no mapping)"] += 1
        plan = None
    if plan is not None:
        for row in plan.bad_rows:
            assert row.where in ("line", "row") and row.number >= 1 and len(row.reason.strip()) > 5, row
        named = {row.number for row in plan.bad_rows}
        assert not named & good, f"good rows reported as bad: {sorted(named & good)}: {plan.bad_rows}"
        if planted is not None:
            assert named == planted, f"planted {sorted(planted)}, named {plan.bad_rows}"
        counts["bad rows named"] += len(named)
    if counts["inputs tried"] % DB_EVERY == 0:
        real_import(target, path, options, plan, counts)


def real_import(target: dict, path: Path, options: ImportOptions, plan, counts) -> None:
    """The real import into DuckDB: refused when the plan had bad rows, and then not one row written."""
    before = example_count(target)
    try:
        result = import_file(target["db"], target["project"], path, "ann", options)
    except (ImportRefused, UnreadableFile, ValueError):
        assert plan is None or plan.bad_rows, "an import was refused that its dry run passed"
        assert example_count(target) == before, "a refused import wrote rows"
    else:
        assert plan is not None and not plan.bad_rows, "a file with bad rows was imported"
        assert example_count(target) == before + result["imported"]
    counts["real DuckDB imports"] += 1


def example_count(target: dict) -> int:
    with connect(target["db"]) as con:
        return sum(count_examples(con, target["project"].id).values())


def write(target: dict, name: str, data: bytes) -> Path:
    path = target["folder"] / name
    path.write_bytes(data)
    return path


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
        attempt(target, "Alpaca JSON array", write(target, "alpaca.json", data), ImportOptions(format="alpaca"), planted, good)

    check()
    assert example_count(target) == 0


# CSV with a column mapping: question, answer, labels (tags), ref (id).

CSV_HEADER = ["question", "answer", "labels", "ref"]


def good_cells(draw, index: int) -> list[str]:
    question = draw(SOME_TEXT) + f" #{index}"
    if draw(st.integers(0, 30)) == 0:
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
        return draw(st.sampled_from([b"", b"\xef\xbb\xbf", b"question,question,answer\n1,2,3\n", b",answer\nx,y\n",
                                     b'question,answer\n"never closed,x\n']) | st.binary(max_size=100)), None, set(), None
    rows, bad, good = [], set(), set()
    kinds = draw(st.lists(st.booleans(), min_size=1, max_size=6))
    kinds[draw(st.integers(0, len(kinds) - 1))] = False
    for number, is_good in enumerate(kinds, start=2):
        rows.append(good_cells(draw, number) if is_good else bad_cells(draw, number))
        (good if is_good else bad).add(number)
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator=draw(st.sampled_from(["\n", "\r\n"]))).writerows([CSV_HEADER, *rows])
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


# Parquet and datasets folders: typed columns, so a wrong type spoils a whole column.

COLUMN_TYPES = {
    "string": (pa.string(), SOME_TEXT), "int": (pa.int64(), st.integers(-2**40, 2**40)),
    "float": (pa.float64(), st.floats(allow_nan=True)), "bool": (pa.bool_(), st.booleans()),
    "binary": (pa.binary(), st.binary(max_size=5)), "strings": (pa.list_(pa.string()), st.lists(SOME_TEXT, max_size=2)),
    "ints": (pa.list_(pa.int64()), st.lists(st.integers(0, 9), min_size=1, max_size=2)),
    "struct": (pa.struct([("a", pa.string())]), st.fixed_dictionaries({"a": SOME_TEXT})),
}
USUAL = {"question": "string", "answer": "string", "labels": "strings", "ref": "string"}


def cell_is_good(column: str, value) -> bool:
    """What the mapping accepts in each column, stated plainly (the test's own oracle)."""
    if isinstance(value, str) and "\x00" in value:
        return False
    if column in ("question", "answer"):
        return isinstance(value, str) and bool(value.strip() if column == "question" else value)
    if column == "labels":
        if isinstance(value, str) and value.lstrip().startswith("["):
            with contextlib.suppress(ValueError, RecursionError):
                value = json.loads(value)
        return value is None or isinstance(value, str) or (
            isinstance(value, list) and all(isinstance(v, str) and "\x00" not in v for v in value))
    return value is None or (isinstance(value, (str, int, float)) and not isinstance(value, bool))


@st.composite
def typed_tables(draw) -> tuple[pa.Table, set[int], set[int]]:
    types = {column: draw(st.sampled_from([usual] * 5 + list(COLUMN_TYPES))) for column, usual in USUAL.items()}
    columns = {column: [] for column in USUAL}
    bad, good = set(), set()
    for number in range(1, draw(st.integers(1, 5)) + 1):
        row = {}
        for column, kind in types.items():
            value = draw(st.one_of(st.none(), COLUMN_TYPES[kind][1]) if draw(st.integers(0, 5)) == 0 else COLUMN_TYPES[kind][1])
            if kind == "string" and isinstance(value, str):
                value = draw(st.sampled_from([value, value, value, "", "  ", value + "\x00"]))
                value = value + f" #{number}" if column == "question" and value.strip() and "\x00" not in value else value
            if column == "ref" and value is not None and kind in ("string", "int", "float"):
                value = {"string": f"{value}-{number}", "int": number, "float": number + 0.25}[kind]  # ids differ
            row[column] = value
            columns[column].append(value)
        (good if all(cell_is_good(c, v) for c, v in row.items()) else bad).add(number)
    if not bad:  # at least one bad row: the last loses its answer
        columns["answer"][-1] = None
        good.discard(number)
        bad.add(number)
    schema = pa.schema([(column, COLUMN_TYPES[kind][0]) for column, kind in types.items()])
    return pa.Table.from_pydict(columns, schema=schema), bad, good


@st.composite
def parquet_files(draw) -> tuple[bytes, set[int] | None, set[int]]:
    table, bad, good = draw(typed_tables())
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    data = sink.getvalue().to_pybytes()
    damage = draw(st.integers(0, 12))
    if damage == 0:
        return data[: draw(st.integers(0, len(data) - 1))], None, set()
    if damage == 1:
        spot = draw(st.integers(0, len(data) - 1))
        return data[:spot] + bytes([data[spot] ^ 0xFF]) + data[spot + 1:], None, set()
    if damage == 2:
        return draw(st.binary(max_size=300)), None, set()
    return data, bad, good


def test_bad_parquet_files_import_nothing_and_name_every_bad_row(target):
    options = ImportOptions(format="parquet", mapping=MAPPED)

    @SETTINGS
    @given(case=parquet_files())
    def check(case):
        data, planted, good = case
        attempt(target, "Parquet (mapped)", write(target, "upload.parquet", data), options, planted, good)

    check()
    assert example_count(target) == 0


def write_datasets_folder(folder: Path, table: pa.Table, damage: int, draw) -> None:
    """A folder as Dataset.save_to_disk writes it (arrow stream, dataset_info.json, state.json), maybe damaged."""
    import datasets

    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    with pa.OSFile(str(folder / "data-00000-of-00001.arrow"), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    info = {"features": datasets.Features.from_arrow_schema(table.schema).to_dict()}
    state = {"_data_files": [{"filename": "data-00000-of-00001.arrow"}], "_fingerprint": "0", "_format_columns": None,
             "_format_kwargs": {}, "_format_type": None, "_output_all_columns": False, "_split": None}
    (folder / "dataset_info.json").write_text(json.dumps(info))
    (folder / "state.json").write_text(json.dumps(state))
    damaged = [None, "state.json", "dataset_info.json", "data-00000-of-00001.arrow"][damage % 4] if damage < 8 else None
    if damaged and damage < 4:
        (folder / damaged).unlink()
    elif damaged:
        data = (folder / damaged).read_bytes()
        garbage = draw(st.sampled_from([data[: len(data) // 2], b"", b"{not json", b'{"_data_files": 5}', b"[]", draw(st.binary(max_size=50))]))
        (folder / damaged).write_bytes(garbage)


def test_bad_datasets_folders_import_nothing_and_name_every_bad_row(target):
    import datasets

    datasets.disable_progress_bars()
    options = ImportOptions(format="hf", mapping=MAPPED)

    @SETTINGS
    @given(case=typed_tables(), damage=st.integers(0, 40), draw=st.data())
    def check(case, damage, draw):
        table, planted, good = case
        folder = target["folder"] / "upload-dataset"
        write_datasets_folder(folder, table, damage, draw.draw)
        if damage < 8 and damage % 4:
            planted, good = None, set()
        attempt(target, "datasets folder (mapped)", folder, options, planted, good)

    check()
    assert example_count(target) == 0


# The output spec: the parser refuses bad specs with a reason; the validator never crashes.

REGEXISH = st.lists(st.sampled_from(list("()[]{}*+?|\\^$.ab0-:,") + ["(?P<", "(?<=", "\\d", "{2,1}", "[z-a]", "(?i)"]),
                    max_size=10).map("".join)
SCHEMAISH = st.recursive(
    st.one_of(JSON_LEAF, st.sampled_from([{"type": "object"}, {"type": "nope"}, {"type": 5}, {"enum": "x"}, {"required": "a"},
                                          {"$ref": "#/definitions/missing"}, {"$ref": "http://example.com/s.json"},
                                          {"$ref": "file:///etc/passwd"}, {"minimum": "3"}, {"pattern": "("}, {"properties": []}])),
    lambda inner: st.dictionaries(st.sampled_from(["type", "properties", "items", "enum", "required", "$ref", "anyOf",
                                                   "additionalProperties", "x"]), inner, max_size=3) | st.lists(inner, max_size=2),
    max_leaves=8,
)
RAW_SPECS = st.one_of(
    ANY_JSON,
    st.fixed_dictionaries({"kind": st.sampled_from([*KINDS, "Labels", "", "enum"]) | JSON_LEAF},
                          optional={"labels": ANY_JSON | st.lists(st.text(max_size=4), max_size=4),
                                    "schema": SCHEMAISH, "pattern": REGEXISH | JSON_LEAF}),
)
ANSWERS = st.one_of(
    st.text(max_size=12), st.sampled_from(["[" * 5000, '{"a": ' * 3000, "1" * 5000, "NaN", "null", '{"a": 1}', "\x00"]),
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
    specs = [parse_output_spec(raw) for raw in (
        {"kind": "labels", "labels": ["pos", "neg"]}, {"kind": "regex", "pattern": r"[A-Z]{2}-\d+"},
        {"kind": "json", "schema": {"type": "object", "properties": {"n": {"type": "integer"}, "t": True}, "required": ["n"]}},
        {"kind": "json", "schema": {"$defs": {"x": {"type": "string"}}, "items": {"$ref": "#/$defs/x"}}},
    )]

    @SETTINGS
    @given(spec=st.sampled_from(specs), answer=ANSWERS)
    def check(spec, answer):
        tally("output validator (labels, regex, JSON Schema)")
        problem = validate_output(spec, answer)
        assert problem is None or problem.strip()

    check()


# The CLI: any argv either parses and runs, or ends with a usage error; never a traceback.

IN_PROCESS = ["import", "export", "people", "runs", "eval"]  # the rest would train, serve or load models
COMMANDS = IN_PROCESS + ["setup", "demo", "check", "train", "serve"]
OPTIONS = ["--project", "--format", "--map", "--split", "--status", "--author", "--dry-run", "--json", "--out", "--tag",
           "--add", "--role", "--html", "--high", "--low", "--help", "--bogus", "--max-steps", "--epochs", "--set",
           "--resume", "--port", "--preset", "-x", "--", "--near-duplicate-similarity"]


@st.composite
def argvs(draw, paths: list[str]) -> list[str]:
    words = [draw(st.sampled_from(COMMANDS + ["", "bogus"]))] if draw(st.integers(0, 9)) else []
    value = st.one_of(st.sampled_from(paths + ["p", "all", "chat", "csv", "input=prompt,output=completion", "input=nope",
                                               "lora_r=abc", "lora_r=8", "nan", "-1", "1e999", "0", "train", "approved"]),
                      st.text(CHARS, max_size=8).filter(lambda t: "/" not in t and not t.startswith("~")))
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
    from studio.cli import build_parser

    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps({"prompt": "q", "completion": "a"}) + "\n")
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"prompt": "q"}\n\xff\xfe\n')
    (tmp_path / "a-file").write_text("x")
    paths = [str(good), str(bad), str(tmp_path / "missing.csv"), str(tmp_path), str(tmp_path / "a-file" / "out.jsonl"),
             str(tmp_path / "out.jsonl"), str(tmp_path / "out.csv"), str(tmp_path / "report.html")]

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


@pytest.mark.parametrize("argv, message", [
    (["import", "/no/such/file.jsonl", "--project", "p"], "does not exist"),
    (["import", "{bad}", "--project", "p", "--dry-run"], "does not exist"),
    (["export", "--project", "nobody", "--out", "x.jsonl"], "nobody"),
    (["people", "--role", "king"], "invalid choice"),
    (["train", "--project", "p", "--max-steps", "many"], "invalid int value"),
    (["--bogus"], "usage"),
])
def test_the_cli_process_reports_bad_arguments_without_a_traceback(home, tmp_path, argv, message):
    tally("CLI arguments (subprocess)")
    env = {**os.environ, "STUDIO_HOME": str(home)}
    result = subprocess.run([sys.executable, "-m", "studio.cli", *argv], capture_output=True, text=True, cwd=SOURCE_ROOT,
                            env=env, timeout=120)
    assert result.returncode == 2, result
    assert message in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_random_garbage_never_crashes_the_file_readers(target):
    """Plain random bytes under every name the importers recognise (a last net under the generators above)."""
    rng = random.Random(7)
    for number in range(200):
        for suffix in (".jsonl", ".json", ".csv", ".tsv", ".parquet", ".zip"):
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 400)))
            attempt(target, "random bytes (any suffix)", write(target, f"garbage{suffix}", data), ImportOptions(), None, set())
    assert example_count(target) == 0
