"""Consistent copies of the open database: for `studio backup` and before every migration.

DuckDB's COPY FROM DATABASE copies every schema, table, sequence (with its current
value) and view into a fresh file; run inside one transaction it reads a single
snapshot, so writes the app makes meanwhile are either wholly in the copy or not at all.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

_ALIAS = "studio_backup_copy"


def copy_database(con: duckdb.DuckDBPyConnection, destination: Path) -> Path:
    """Write a consistent copy of `con`'s database to a new file at `destination`."""
    destination = Path(destination)
    if destination.exists():
        raise FileExistsError(f"{destination} already exists; a backup never overwrites a file")
    destination.parent.mkdir(parents=True, exist_ok=True)
    source = con.execute("SELECT current_database()").fetchone()[0]
    # ATTACH takes no parameters: the path is a quoted literal (single quotes doubled)
    con.execute(f"ATTACH '{_quoted(destination)}' AS {_ALIAS}")
    try:
        con.begin()
        try:
            con.execute(f"COPY FROM DATABASE {_identifier(source)} TO {_ALIAS}")
        except BaseException:
            con.rollback()
            raise
        con.commit()
    finally:
        con.execute(f"DETACH {_ALIAS}")
    return destination


def count_rows(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows per table of the main schema (what a backup's manifest records)."""
    names = [
        row[0]
        for row in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' "
            "ORDER BY table_name"
        ).fetchall()
    ]
    return {name: con.execute(f"SELECT count(*) FROM main.{_identifier(name)}").fetchone()[0] for name in names}


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]


def _identifier(name: str) -> str:
    """A name DuckDB itself reported (a database or table), quoted as an identifier."""
    return '"' + name.replace('"', '""') + '"'


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")
