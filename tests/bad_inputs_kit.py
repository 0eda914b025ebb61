"""Shared by the bad-input property tests (tests/test_bad_inputs*.py): strategies, the properties, the tally.

`attempt` states the properties for one generated import file: nothing crashes (only
UnreadableFile, ImportRefused or the mapping's ValueError come out), exactly the rows
planted as bad are named with their number and a reason, and a real import into DuckDB
(one case in DB_EVERY) writes nothing when any row is bad. TALLY counts what was tried;
`write_report` prints it and writes it where STUDIO_BAD_INPUTS_REPORT says.
"""

from __future__ import annotations

import collections
import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from storage.db import connect
from storage.examples import count_examples
from studio.project.projects import ensure_project
from studio.transfer.columns import ColumnMapping
from studio.transfer.imports import ImportOptions, ImportRefused, check_source, import_file
from studio.transfer.readers import UnreadableFile, read_source

INPUTS = int(os.environ.get("STUDIO_BAD_INPUTS", "1000"))
DB_EVERY = max(1, int(os.environ.get("STUDIO_BAD_INPUTS_DB_EVERY", "20")))
SETTINGS = settings(
    max_examples=INPUTS,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)
TALLY: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
MAPPED = ColumnMapping(input="question", output="answer", tags="labels", id="ref")


def write_report() -> None:
    """Print the counts so far, and write them where STUDIO_BAD_INPUTS_REPORT says (each module adds its own)."""
    document = {name: dict(counts) for name, counts in sorted(TALLY.items())}
    print("\nbad inputs tried:", json.dumps(document, indent=1))
    if os.environ.get("STUDIO_BAD_INPUTS_REPORT"):
        path = Path(os.environ["STUDIO_BAD_INPUTS_REPORT"])
        earlier = json.loads(path.read_text()) if path.exists() else {}
        path.write_text(json.dumps({**earlier, **document}, indent=2, sort_keys=True))


@pytest.fixture
def target(db, tmp_path):
    """A free-text project in a real DuckDB file, and where each generated input is written."""
    project = ensure_project(db, "notes", "Answer the question.", {"kind": "text"})
    return {"db": db, "project": project, "folder": tmp_path}


# Text: any character but a NUL or a lone surrogate (those are bad on purpose, below).

CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
SOME_TEXT = st.text(CHARS, min_size=1, max_size=12).filter(lambda t: t.strip())
TAG_TEXT = SOME_TEXT.filter(lambda t: not t.lstrip().startswith("["))  # '[1]' would read as a JSON list
JSON_LEAF = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.floats(allow_nan=False), st.text(CHARS, max_size=6)
)
ANY_JSON = st.recursive(
    JSON_LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)
NOT_TEXT = st.one_of(
    st.integers(),
    st.floats(allow_nan=False),
    st.booleans(),
    st.lists(JSON_LEAF, max_size=2),
    st.dictionaries(st.text(max_size=3), JSON_LEAF, max_size=2),
)
BAD_TEXT = st.sampled_from(["\x00", "a\x00b", "\ud800", "x\udfffy"])  # a NUL or a lone surrogate inside
CONTROL = st.sampled_from([chr(c) for c in range(32) if c != 10])
INVALID_UTF8 = st.sampled_from(
    [b"\xff", b"\xfe", b"\x80", b"\xc3(", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80"]
)
HUGE = st.sampled_from(
    [200 * 1024] * 9 + [3 * 1024 * 1024]
)  # past the csv module's 128 KiB cell limit; 1 in 10 a few MB


def tally(name: str, **counts) -> collections.Counter:
    TALLY[name]["inputs tried"] += 1
    TALLY[name].update(counts)
    return TALLY[name]


def attempt(
    target: dict, name: str, path: Path, options: ImportOptions, planted: set[int] | None, good: set[int]
) -> None:
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
    """The real import into DuckDB: refused when the plan had bad rows, and then not one row written.

    The count before is the count after the previous attempt (kept in `target`): one connection fewer."""
    before = target.setdefault("count", example_count(target))
    try:
        result = import_file(target["db"], target["project"], path, "ann", options)
    except (ImportRefused, UnreadableFile, ValueError):
        assert plan is None or plan.bad_rows, "an import was refused that its dry run passed"
        target["count"] = example_count(target)
        assert target["count"] == before, "a refused import wrote rows"
    else:
        assert plan is not None and not plan.bad_rows, "a file with bad rows was imported"
        target["count"] = example_count(target)
        assert target["count"] == before + result["imported"]
    counts["real DuckDB imports"] += 1


def example_count(target: dict) -> int:
    with connect(target["db"]) as con:
        return sum(count_examples(con, target["project"].id).values())


def write(target: dict, name: str, data: bytes) -> Path:
    path = target["folder"] / name
    path.write_bytes(data)
    return path
