"""The people table: who works in the studio and in which role."""

from __future__ import annotations

import duckdb

from storage.rows import fetch_dicts


def fetch_people(con: duckdb.DuckDBPyConnection) -> list[dict]:
    return fetch_dicts(con, "SELECT name, role, created_at FROM people ORDER BY name")


def fetch_person(con: duckdb.DuckDBPyConnection, name: str) -> dict | None:
    rows = fetch_dicts(con, "SELECT name, role, created_at FROM people WHERE name = ?", [name])
    return rows[0] if rows else None


def upsert_person(con: duckdb.DuckDBPyConnection, name: str, role: str) -> None:
    con.execute(
        "INSERT INTO people (name, role) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET role = excluded.role",
        [name, role],
    )


def count_people(con: duckdb.DuckDBPyConnection, role: str | None = None) -> int:
    if role is None:
        return con.execute("SELECT count(*) FROM people").fetchone()[0]
    return con.execute("SELECT count(*) FROM people WHERE role = ?", [role]).fetchone()[0]
