"""Opening the DuckDB file: short-lived connections, lock retries, migrations.

DuckDB lets one process write a file at a time. The app and the CLI each open a
connection per unit of work and close it at once, so they rarely collide; when they
do, `connect` retries for STUDIO_DB_WAIT seconds (default 5) and then names the process
that holds the file. Before it applies pending migrations to a file that already has a
schema, it copies the database to backups/ beside it, so a failed upgrade loses nothing.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import duckdb

from storage.backup import copy_database
from storage.extensions import load_extensions
from storage.migrations import MIGRATIONS

LOCK_WAIT_SECONDS = 5.0
# DuckDB shares one database instance among a process's connections to a file; opening
# one while another thread closes the last one races ("Unique file handle conflict"), so
# opening and closing take turns within the process (Streamlit runs pages in threads).
_OPEN_CLOSE = threading.Lock()


class DatabaseLocked(RuntimeError):
    """Another process holds the DuckDB file."""


@contextmanager
def connect(
    path: Path, wait_seconds: float | None = None, extensions: tuple[str, ...] = ()
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield a migrated connection to the database at `path`; commit on success.

    A file held by another process is retried for `wait_seconds` (None: STUDIO_DB_WAIT, or 5).
    `extensions` (e.g. ("fts",)) are loaded from their packages before the transaction
    begins; one that cannot load is skipped (see storage/extensions.py).
    """
    con = _open_with_retry(Path(path), lock_wait_seconds() if wait_seconds is None else wait_seconds)
    try:
        _migrate_once(con, Path(path))
        load_extensions(con, extensions)
        con.begin()
        try:
            yield con
        except BaseException:
            con.rollback()
            raise
        con.commit()
    finally:
        with _OPEN_CLOSE:
            con.close()


def backup_database(path: Path, destination: Path, wait_seconds: float | None = None) -> Path:
    """Write a consistent copy of the database at `path` to the new file `destination`."""
    con = _open_with_retry(Path(path), lock_wait_seconds() if wait_seconds is None else wait_seconds)
    try:
        _migrate_once(con, Path(path))
        return copy_database(con, Path(destination))
    finally:
        with _OPEN_CLOSE:
            con.close()


def lock_wait_seconds() -> float:
    """How long to wait for a file another process holds: STUDIO_DB_WAIT seconds, default 5."""
    try:
        return max(0.0, float(os.environ.get("STUDIO_DB_WAIT") or LOCK_WAIT_SECONDS))
    except ValueError:
        return LOCK_WAIT_SECONDS


def _open_with_retry(path: Path, wait_seconds: float) -> duckdb.DuckDBPyConnection:
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            with _OPEN_CLOSE:
                return duckdb.connect(str(path))
        except duckdb.IOException as error:
            if "lock" not in str(error).lower():
                raise
            if time.monotonic() >= deadline:
                raise DatabaseLocked(_describe_lock(path, str(error))) from error
            time.sleep(0.1)


def _describe_lock(path: Path, message: str) -> str:
    """'the database P is in use by NAME (PID n); ...' from DuckDB's lock error, which names the PID."""
    pid = re.search(r"PID (\d+)", message)
    holder = _process_name(int(pid.group(1))) + f" (PID {pid.group(1)})" if pid else "another process"
    return (
        f"the database {path} is in use by {holder}; only one studio process (the app or a CLI "
        "command) can open it at a time: wait for it to finish or stop it, then try again"
    )


def _process_name(pid: int) -> str:
    import psutil

    try:
        process = psutil.Process(pid)
        command = process.cmdline()
        return " ".join(command[:3]) if command else process.name()
    except (psutil.Error, OSError):
        return "a process that has just ended"


def _migrate_once(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Migrate the file the first time this process opens it (threads wait for each other)."""
    identity = (str(path.resolve()), path.stat().st_ino)
    if identity in _MIGRATED:
        return
    with _MIGRATING:
        if identity not in _MIGRATED:
            _migrate(con, path)
            _MIGRATED.add(identity)


_MIGRATING = threading.Lock()
_MIGRATED: set[tuple[str, int]] = set()


def _migrate(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = con.execute("SELECT max(version) FROM schema_version").fetchone()
    current = row[0] or 0
    if 0 < current < len(MIGRATIONS):
        backup_before_migration(con, path, current, len(MIGRATIONS))
    for version, sql in enumerate(MIGRATIONS[current:], start=current + 1):
        con.begin()
        con.execute(sql)
        con.execute("INSERT INTO schema_version VALUES (?)", [version])
        con.commit()


def backup_before_migration(con: duckdb.DuckDBPyConnection, path: Path, version: int, target: int) -> Path:
    """Copy the database as it is to backups/studio-before-migration-<from>-to-<to>-<time>.duckdb."""
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S%f")
    destination = path.parent / "backups" / f"{path.stem}-before-migration-{version}-to-{target}-{stamp}.duckdb"
    copy_database(con, destination)
    return destination
