"""The projects table: one row per annotation project."""

from __future__ import annotations

import json

import duckdb

from storage.rows import fetch_dicts

_COLUMNS = (
    "id, name, description, output_spec, base_model, split_seed, ship_margin, coverage_targets, "
    "reviewer_must_differ, created_at, coalesce(guidelines, '') AS guidelines, archived_at"
)
_JSON_FIELDS = ("output_spec", "coverage_targets")


def insert_project(
    con: duckdb.DuckDBPyConnection,
    name: str,
    description: str,
    output_spec: dict,
    base_model: str,
    guidelines: str = "",
) -> int:
    row = con.execute(
        "INSERT INTO projects (name, description, output_spec, base_model, guidelines) VALUES (?, ?, ?, ?, ?) RETURNING id",
        [name, description, json.dumps(output_spec), base_model, guidelines],
    ).fetchone()
    return row[0]


def fetch_project(con: duckdb.DuckDBPyConnection, name: str) -> dict | None:
    rows = fetch_dicts(con, f"SELECT {_COLUMNS} FROM projects WHERE name = ?", [name], _JSON_FIELDS)
    return rows[0] if rows else None


def fetch_projects(con: duckdb.DuckDBPyConnection) -> list[dict]:
    return fetch_dicts(con, f"SELECT {_COLUMNS} FROM projects ORDER BY name", json_columns=_JSON_FIELDS)


def update_project(con: duckdb.DuckDBPyConnection, project_id: int, **fields) -> None:
    allowed = {
        "description",
        "output_spec",
        "base_model",
        "split_seed",
        "ship_margin",
        "coverage_targets",
        "reviewer_must_differ",
        "guidelines",
        "name",
    }
    for key, value in fields.items():
        if key not in allowed:
            raise ValueError(f"unknown project field {key!r}")
        value = json.dumps(value) if key in _JSON_FIELDS else value
        con.execute(f"UPDATE projects SET {key} = ? WHERE id = ?", [value, project_id])


def set_archived(con: duckdb.DuckDBPyConnection, project_id: int, archived: bool) -> None:
    """Archive a project (a soft delete: every row stays) or bring it back."""
    stamp = "current_timestamp" if archived else "NULL"
    con.execute(f"UPDATE projects SET archived_at = {stamp} WHERE id = ?", [project_id])
