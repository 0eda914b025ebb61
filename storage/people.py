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


def fetch_password_hash(con: duckdb.DuckDBPyConnection, name: str) -> str | None:
    row = con.execute("SELECT password_hash FROM people WHERE name = ?", [name]).fetchone()
    return row[0] if row else None


def update_password_hash(con: duckdb.DuckDBPyConnection, name: str, password_hash: str | None) -> int:
    """Set (or with None, clear) a person's password hash; return how many people matched."""
    return len(
        con.execute(
            "UPDATE people SET password_hash = ? WHERE name = ? RETURNING name", [password_hash, name]
        ).fetchall()
    )


def count_passwords(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("SELECT count(*) FROM people WHERE password_hash IS NOT NULL").fetchone()[0]


def fetch_person_by_name_folded(con: duckdb.DuckDBPyConnection, name: str) -> dict | None:
    """The person whose name equals `name` ignoring case (an e-mail address from a sign-on provider)."""
    rows = fetch_dicts(con, "SELECT name, role, created_at FROM people WHERE lower(name) = lower(?)", [name])
    return rows[0] if len(rows) == 1 else None
