"""Storage: migrations, revisions, stale saves, persistence and the cross-process lock."""

from __future__ import annotations

import subprocess
import sys

import pytest

from storage import examples as example_table
from storage import projects as project_table
from storage.db import DatabaseLocked, connect
from storage.examples import StaleRevision
from storage.migrations import MIGRATIONS

TABLES = {"projects", "examples", "revisions", "findings", "runs", "predictions", "evaluations", "schema_version"}


def _one_example(con) -> int:
    project_id = project_table.insert_project(con, "p", "", {"kind": "text"}, "base")
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    return example_table.insert_examples(con, project_id, [{"messages": messages, "tags": ["greeting"]}], "ann")[0]


def test_migrations_create_every_table_on_a_fresh_file(db):
    assert not db.exists()
    with connect(db) as con:
        tables = {row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert db.exists()
    assert TABLES <= tables


def test_migrations_are_idempotent(db):
    with connect(db):
        pass
    with connect(db) as con:
        versions = [row[0] for row in con.execute("SELECT version FROM schema_version ORDER BY version").fetchall()]
    assert versions == list(range(1, len(MIGRATIONS) + 1))


def test_an_edit_records_a_revision_with_before_and_after(db):
    with connect(db) as con:
        example_id = _one_example(con)
        new_revision = example_table.update_example(con, example_id, 1, "bob", status="submitted", tags=["hello"])
        revisions = example_table.fetch_revisions(con, example_id)
    assert new_revision == 2
    assert [r["revision"] for r in revisions] == [1, 2]
    assert revisions[0]["before"] is None
    assert revisions[1]["author"] == "bob"
    assert revisions[1]["before"]["status"] == "draft"
    assert revisions[1]["before"]["tags"] == ["greeting"]
    assert revisions[1]["after"]["status"] == "submitted"
    assert revisions[1]["after"]["tags"] == ["hello"]


def test_a_stale_revision_is_refused_and_changes_nothing(db):
    with connect(db) as con:
        example_id = _one_example(con)
        example_table.update_example(con, example_id, 1, "ann", status="submitted")
    with pytest.raises(StaleRevision):
        with connect(db) as con:
            example_table.update_example(con, example_id, 1, "bob", status="rejected")
    with connect(db) as con:
        example = example_table.fetch_example(con, example_id)
        revisions = example_table.fetch_revisions(con, example_id)
    assert (example["status"], example["revision"]) == ("submitted", 2)
    assert len(revisions) == 2


def test_data_survives_closing_and_reopening(db):
    with connect(db) as con:
        example_id = _one_example(con)
    with connect(db) as con:
        example = example_table.fetch_example(con, example_id)
        project = project_table.fetch_project(con, "p")
    assert example["messages"][1]["content"] == "hello"
    assert example["tags"] == ["greeting"]
    assert project["output_spec"] == {"kind": "text"}


def test_a_file_held_by_another_process_raises_database_locked_naming_its_pid(db):
    with connect(db):
        pass
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; con = duckdb.connect({str(db)!r}); print('ready', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(DatabaseLocked) as raised:
            with connect(db, wait_seconds=0.5):
                pass
        assert str(holder.pid) in str(raised.value)
        assert str(db) in str(raised.value)
    finally:
        holder.kill()
        holder.wait()


def test_threads_of_one_process_can_open_and_close_connections_at_once(db):
    """Streamlit runs a page and its live fragments in threads; their connections must not collide."""
    from concurrent.futures import ThreadPoolExecutor

    def read_and_close(_):
        with connect(db) as con:
            return con.execute("SELECT count(*) FROM examples").fetchone()[0]

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(read_and_close, range(200))) == [0] * 200
