"""Backups: `studio backup` and `studio restore` of the whole data home, and a copy before every migration."""

from __future__ import annotations

import json
import tarfile
import threading

import duckdb
import pytest
from cli_kit import studio_cli

from storage import examples as example_table
from storage.db import connect
from storage.migrations import MIGRATIONS
from studio.dataset.examples import list_examples
from studio.project.backup import RestoreRefused, backup_home, restore_home
from studio.project.projects import get_project

BATCH = 10


def _write_batches(db, project, stop: threading.Event, written: list[int]) -> None:
    """Keep adding examples BATCH at a time, each batch in one transaction, as the app would."""
    while not stop.is_set():
        rows = [
            {
                "messages": [
                    {"role": "user", "content": f"load {len(written)}-{i}"},
                    {"role": "assistant", "content": "ok"},
                ]
            }
            for i in range(BATCH)
        ]
        with connect(db) as con:
            example_table.insert_examples(con, project.id, rows, "writer")
        written.append(BATCH)


def _counts(database) -> tuple[int, int]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        examples = con.execute("SELECT count(*) FROM examples").fetchone()[0]
        revisions = con.execute("SELECT count(*) FROM revisions").fetchone()[0]
    finally:
        con.close()
    return examples, revisions


def test_a_backup_taken_while_examples_are_written_is_one_consistent_snapshot(db, demo, home, tmp_path):
    before = len(list_examples(db, demo))
    stop, written = threading.Event(), []
    writer = threading.Thread(target=_write_batches, args=(db, demo, stop, written))
    writer.start()
    try:
        while len(written) < 3:
            threading.Event().wait(0.05)
        backups = [backup_home(tmp_path / f"during-{n}.tar.gz") for n in range(3)]
    finally:
        stop.set()
        writer.join()
    assert len(written) >= 3
    for n, done in enumerate(backups):
        target = tmp_path / f"restored-{n}"
        with tarfile.open(done["file"]) as archive:
            archive.extractall(target, filter="data")
        examples, revisions = _counts(target / "studio.duckdb")
        assert examples == revisions  # every example arrives with its first revision, in one transaction
        assert (examples - before) % BATCH == 0 and examples >= before  # never half a batch
        assert done["rows"]["examples"] == examples
    assert len(list_examples(db, demo)) == before + sum(written)  # the writer lost nothing either


def test_backup_holds_runs_and_settings_but_not_models_or_cache_unless_asked(db, demo, home, tmp_path):
    (home / "runs" / "r1").mkdir(parents=True)
    (home / "runs" / "r1" / "events.jsonl").write_text('{"event": "step"}\n')
    (home / "models" / "m").mkdir(parents=True)
    (home / "models" / "m" / "config.json").write_text("{}")
    (home / "cache" / "uploads").mkdir(parents=True)
    (home / "cache" / "uploads" / "x.jsonl").write_text("{}")
    names = tarfile.open(backup_home(tmp_path / "b.tar.gz")["file"]).getnames()
    assert {"backup.json", "studio.duckdb", "runs/r1/events.jsonl"} <= set(names)
    assert not [n for n in names if n.startswith(("models", "cache"))]
    with_models = tarfile.open(backup_home(tmp_path / "m.tar.gz", include_models=True)["file"]).getnames()
    assert "models/m/config.json" in with_models


def test_restore_refuses_a_home_with_data_and_with_force_moves_it_aside(db, demo, home, tmp_path, monkeypatch):
    archive = backup_home(tmp_path / "b.tar.gz")["file"]
    monkeypatch.setenv("STUDIO_HOME", str(tmp_path / "fresh"))
    restored = restore_home(archive)
    assert restored["rows"]["examples"] == 247 and restored["moved_aside"] is None
    monkeypatch.setenv("STUDIO_HOME", str(home))
    with connect(db) as con:
        con.execute("DELETE FROM examples")  # a mistake the backup is for
    (home / "notes.txt").write_text("kept")
    with pytest.raises(RestoreRefused, match="--force"):
        restore_home(archive)
    done = restore_home(archive, force=True)
    assert len(list_examples(db, get_project(db, "demo"))) == 247
    aside = tmp_path / done["moved_aside"]
    assert (aside / "notes.txt").read_text() == "kept" and _counts(aside / "studio.duckdb") == (0, 247)


def test_restore_refuses_a_file_that_is_not_a_backup(home, tmp_path):
    bogus = tmp_path / "x.tar.gz"
    bogus.write_bytes(b"not a tar")
    with pytest.raises(RestoreRefused, match="cannot be read as a studio backup"):
        restore_home(bogus)


def test_cli_backup_and_restore_round_trip(db, demo, home, tmp_path):
    out = tmp_path / "cli.tar.gz"
    made = studio_cli(home, "backup", "--out", str(out), "--json", timeout=120)
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["rows"]["examples"] == 247
    refused = studio_cli(home, "restore", str(out), timeout=120)
    assert refused.returncode == 2 and "--force" in refused.stderr and "Traceback" not in refused.stderr
    restored = studio_cli(tmp_path / "other", "restore", str(out), "--json", timeout=120)
    assert restored.returncode == 0, restored.stderr
    assert json.loads(restored.stdout)["rows"]["examples"] == 247


def _database_at_version(path, version: int) -> None:
    """A file as an older studio left it: only the first `version` migrations, and some data."""
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    for number, sql in enumerate(MIGRATIONS[:version], start=1):
        con.execute(sql)
        con.execute("INSERT INTO schema_version VALUES (?)", [number])
    con.execute("INSERT INTO projects (name, output_spec, base_model) VALUES ('old', '{\"kind\": \"text\"}', 'm')")
    con.close()


def test_opening_an_older_database_backs_it_up_before_migrating(home, tmp_path):
    path = tmp_path / "old" / "studio.duckdb"
    path.parent.mkdir()
    _database_at_version(path, 2)
    with connect(path) as con:
        assert con.execute("SELECT max(version) FROM schema_version").fetchone()[0] == len(MIGRATIONS)
    [copy] = (path.parent / "backups").glob(f"studio-before-migration-2-to-{len(MIGRATIONS)}-*.duckdb")
    old = duckdb.connect(str(copy), read_only=True)
    assert old.execute("SELECT max(version) FROM schema_version").fetchone()[0] == 2
    assert old.execute("SELECT name FROM projects").fetchall() == [("old",)]
    old.close()


def test_a_new_or_current_database_is_not_backed_up(db, home):
    with connect(db):
        pass
    assert not (db.parent / "backups").exists()
