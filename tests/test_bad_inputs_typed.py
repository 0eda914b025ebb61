"""Bad Parquet files and datasets folders: typed columns, damaged files; at least 1,000 of each.

The properties and the tally are in tests/bad_inputs_kit.py; how to run and read the counts
is in tests/test_bad_inputs.py's docstring.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from bad_inputs_kit import MAPPED, SETTINGS, SOME_TEXT, attempt, example_count, target, write, write_report
from hypothesis import given
from hypothesis import strategies as st

from studio.transfer.imports import ImportOptions

__all__ = ["target"]  # the fixture, shared from bad_inputs_kit


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    write_report()


# Parquet and datasets folders: typed columns, so a wrong type spoils a whole column.

COLUMN_TYPES = {
    "string": (pa.string(), SOME_TEXT),
    "int": (pa.int64(), st.integers(-(2**40), 2**40)),
    "float": (pa.float64(), st.floats(allow_nan=True)),
    "bool": (pa.bool_(), st.booleans()),
    "binary": (pa.binary(), st.binary(max_size=5)),
    "strings": (pa.list_(pa.string()), st.lists(SOME_TEXT, max_size=2)),
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
        return (
            value is None
            or isinstance(value, str)
            or (isinstance(value, list) and all(isinstance(v, str) and "\x00" not in v for v in value))
        )
    return value is None or (isinstance(value, (str, int, float)) and not isinstance(value, bool))


@st.composite
def typed_tables(draw) -> tuple[pa.Table, set[int], set[int]]:
    types = {column: draw(st.sampled_from([usual] * 5 + list(COLUMN_TYPES))) for column, usual in USUAL.items()}
    columns = {column: [] for column in USUAL}
    bad, good = set(), set()
    for number in range(1, draw(st.integers(1, 5)) + 1):
        row = {}
        for column, kind in types.items():
            value = draw(
                st.one_of(st.none(), COLUMN_TYPES[kind][1]) if draw(st.integers(0, 5)) == 0 else COLUMN_TYPES[kind][1]
            )
            if kind == "string" and isinstance(value, str):
                value = draw(st.sampled_from([value, value, value, "", "  ", value + "\x00"]))
                value = (
                    value + f" #{number}" if column == "question" and value.strip() and "\x00" not in value else value
                )
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
        return data[:spot] + bytes([data[spot] ^ 0xFF]) + data[spot + 1 :], None, set()
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
    with (
        pa.OSFile(str(folder / "data-00000-of-00001.arrow"), "wb") as sink,
        pa.ipc.new_stream(sink, table.schema) as writer,
    ):
        writer.write_table(table)
    info = {"features": datasets.Features.from_arrow_schema(table.schema).to_dict()}
    state = {
        "_data_files": [{"filename": "data-00000-of-00001.arrow"}],
        "_fingerprint": "0",
        "_format_columns": None,
        "_format_kwargs": {},
        "_format_type": None,
        "_output_all_columns": False,
        "_split": None,
    }
    (folder / "dataset_info.json").write_text(json.dumps(info))
    (folder / "state.json").write_text(json.dumps(state))
    damaged = [None, "state.json", "dataset_info.json", "data-00000-of-00001.arrow"][damage % 4] if damage < 8 else None
    if damaged and damage < 4:
        (folder / damaged).unlink()
    elif damaged:
        data = (folder / damaged).read_bytes()
        garbage = draw(
            st.sampled_from(
                [data[: len(data) // 2], b"", b"{not json", b'{"_data_files": 5}', b"[]", draw(st.binary(max_size=50))]
            )
        )
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
