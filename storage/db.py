"""Opening the DuckDB file: short-lived connections, lock retries, migrations.

DuckDB lets one process write a file at a time. The app and the CLI each open a
connection per unit of work and close it at once, so they rarely collide; when they
do, `connect` retries briefly and then names the process that holds the file.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from storage.migrations import MIGRATIONS

LOCK_WAIT_SECONDS = 5.0
# DuckDB shares one database instance among a process's connections to a file; opening
# one while another thread closes the last one races ("Unique file handle conflict"), so
# opening and closing take turns within the process (Streamlit runs pages in threads).
_OPEN_CLOSE = threading.Lock()


class DatabaseLocked(RuntimeError):
    """Another process holds the DuckDB file."""


@contextmanager
def connect(path: Path, wait_seconds: float = LOCK_WAIT_SECONDS) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield a migrated connection to the database at `path`; commit on success."""
    con = _open_with_retry(Path(path), wait_seconds)
    try:
        _migrate_once(con, Path(path))
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
    pid = re.search(r"PID (\d+)", message)
    holder = f"process {pid.group(1)}" if pid else "another process"
    return (
        f"The database {path} is held by {holder}. Only one studio process (the app or "
        "a CLI command) can write it at a time: wait for it to finish or stop it."
    )


def _migrate_once(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Migrate the file the first time this process opens it (threads wait for each other)."""
    identity = (str(path.resolve()), path.stat().st_ino)
    if identity in _MIGRATED:
        return
    with _MIGRATING:
        if identity not in _MIGRATED:
            _migrate(con)
            _MIGRATED.add(identity)


_MIGRATING = threading.Lock()
_MIGRATED: set[tuple[str, int]] = set()


def _migrate(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = con.execute("SELECT max(version) FROM schema_version").fetchone()
    current = row[0] or 0
    for version, sql in enumerate(MIGRATIONS[current:], start=current + 1):
        con.begin()
        con.execute(sql)
        con.execute("INSERT INTO schema_version VALUES (?)", [version])
        con.commit()
