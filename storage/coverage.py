"""A project's coverage targets: how many approved examples each tag should have."""

from __future__ import annotations

import json

import duckdb


def fetch_targets(con: duckdb.DuckDBPyConnection, project_id: int) -> dict[str, int]:
    row = con.execute("SELECT coverage_targets FROM projects WHERE id = ?", [project_id]).fetchone()
    return json.loads(row[0]) if row and row[0] else {}


def update_targets(con: duckdb.DuckDBPyConnection, project_id: int, targets: dict[str, int]) -> None:
    con.execute("UPDATE projects SET coverage_targets = ? WHERE id = ?", [json.dumps(targets), project_id])
