"""The comments table: a discussion thread per example."""

from __future__ import annotations

import duckdb

from storage.rows import fetch_dicts


def insert_comment(con: duckdb.DuckDBPyConnection, example_id: int, author: str, body: str) -> int:
    return con.execute(
        "INSERT INTO comments (example_id, author, body) VALUES (?, ?, ?) RETURNING id", [example_id, author, body]
    ).fetchone()[0]


def fetch_comments(con: duckdb.DuckDBPyConnection, example_id: int) -> list[dict]:
    return fetch_dicts(
        con, "SELECT id, author, body, created_at FROM comments WHERE example_id = ? ORDER BY id", [example_id]
    )


def count_comments(con: duckdb.DuckDBPyConnection, example_ids: list[int]) -> dict[int, int]:
    rows = con.execute(
        "SELECT example_id, count(*) FROM comments WHERE example_id IN (SELECT unnest(?)) GROUP BY example_id",
        [example_ids],
    ).fetchall()
    return dict(rows)
