"""The findings table: problems the checks found, and how an expert decided each one.

A finding's fingerprint names its kind and the exact revisions of its examples; a
dismissed or resolved finding whose fingerprint comes back from a later check stays
decided, and one whose examples changed comes back open.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from storage.rows import fetch_dicts

_COLUMNS = "id, kind, severity, example_ids, score, explanation, state, fingerprint, reason, decided_by, decided_at, created_at"


def replace_open_findings(
    con: duckdb.DuckDBPyConnection, project_id: int, findings: list[dict], kind: str | None = None
) -> int:
    """Swap a project's open findings (of one `kind`, or all) for a fresh set, skipping those already decided.

    Each finding is a dict with kind, severity, example_ids, score, explanation and
    fingerprint. Returns how many were skipped because an expert had decided them.
    """
    only = " AND kind = ?" if kind else ""
    con.execute(
        f"DELETE FROM findings WHERE project_id = ? AND state = 'open'{only}", [project_id, *([kind] if kind else [])]
    )
    decided = {
        row[0]
        for row in con.execute(
            "SELECT fingerprint FROM findings WHERE project_id = ? AND state <> 'open' AND fingerprint IS NOT NULL",
            [project_id],
        ).fetchall()
    }
    fresh = [f for f in findings if f.get("fingerprint") not in decided]
    if fresh:
        frame = pd.DataFrame(fresh)[["kind", "severity", "example_ids", "score", "explanation", "fingerprint"]]
        con.register("new_findings", frame)
        try:
            con.execute(
                "INSERT INTO findings (project_id, kind, severity, example_ids, score, explanation, fingerprint) "
                "SELECT ?, kind, severity, example_ids::BIGINT[], score, explanation, fingerprint FROM new_findings",
                [project_id],
            )
        finally:
            con.unregister("new_findings")
    return len(findings) - len(fresh)


def fetch_findings(con: duckdb.DuckDBPyConnection, project_id: int, state: str = "open") -> list[dict]:
    """A project's findings in one state (open, resolved, dismissed), surest first."""
    return fetch_dicts(
        con,
        f"SELECT {_COLUMNS} FROM findings WHERE project_id = ? AND state = ? "
        "ORDER BY CASE severity WHEN 'error' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, score DESC, id",
        [project_id, state],
    )


def fetch_finding(con: duckdb.DuckDBPyConnection, finding_id: int) -> dict | None:
    rows = fetch_dicts(con, f"SELECT project_id, {_COLUMNS} FROM findings WHERE id = ?", [finding_id])
    return rows[0] if rows else None


def decide_finding(con: duckdb.DuckDBPyConnection, finding_id: int, state: str, reason: str, author: str) -> None:
    """Mark a finding resolved or dismissed, with why and by whom."""
    con.execute(
        "UPDATE findings SET state = ?, reason = ?, decided_by = ?, decided_at = current_timestamp WHERE id = ?",
        [state, reason, author, finding_id],
    )
