"""The findings table: problems the checks found, and their state."""

from __future__ import annotations

import duckdb

from storage.rows import fetch_dicts


def replace_open_findings(con: duckdb.DuckDBPyConnection, project_id: int, findings: list[dict]) -> None:
    """Swap a project's open findings for a fresh set (kind, severity, example_ids, score, explanation)."""
    con.execute("DELETE FROM findings WHERE project_id = ? AND state = 'open'", [project_id])
    for finding in findings:
        con.execute(
            "INSERT INTO findings (project_id, kind, severity, example_ids, score, explanation) VALUES (?, ?, ?, ?, ?, ?)",
            [project_id, finding["kind"], finding["severity"], finding["example_ids"], finding["score"], finding["explanation"]],
        )


def fetch_findings(con: duckdb.DuckDBPyConnection, project_id: int, state: str = "open") -> list[dict]:
    return fetch_dicts(
        con,
        "SELECT id, kind, severity, example_ids, score, explanation, state, created_at FROM findings "
        "WHERE project_id = ? AND state = ? ORDER BY score DESC, id",
        [project_id, state],
    )
