"""Turning DuckDB result rows into plain dicts, decoding JSON columns."""

from __future__ import annotations

import json

import duckdb


def fetch_dicts(
    con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None, json_columns: tuple[str, ...] = ()
) -> list[dict]:
    """Run `sql` and return each row as a dict, with `json_columns` parsed."""
    cursor = con.execute(sql, params or [])
    names = [column[0] for column in cursor.description]
    rows = [dict(zip(names, values)) for values in cursor.fetchall()]
    for row in rows:
        for column in json_columns:
            if isinstance(row.get(column), str):
                row[column] = json.loads(row[column])
    return rows
