"""The runs table: one row per training run, from queued to its outcome."""

from __future__ import annotations

import json

import duckdb

from storage.rows import fetch_dicts

_COLUMNS = (
    "r.id, p.name AS project, r.project_id, r.status, r.config, r.snapshot_hash, r.n_train, r.n_eval, "
    "r.run_dir, r.pid, r.device, r.peak_memory_mb, r.tokens_per_second, r.error, r.created_at, "
    "r.started_at, r.finished_at, r.routing"
)
_UPDATABLE = {"status", "pid", "device", "peak_memory_mb", "tokens_per_second", "error", "started_at", "finished_at"}


def insert_run(con: duckdb.DuckDBPyConnection, run: dict) -> None:
    con.execute(
        "INSERT INTO runs (id, project_id, status, config, snapshot_hash, n_train, n_eval, run_dir) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run["id"],
            run["project_id"],
            run["status"],
            json.dumps(run["config"]),
            run["snapshot_hash"],
            run["n_train"],
            run["n_eval"],
            run["run_dir"],
        ],
    )


def update_run(con: duckdb.DuckDBPyConnection, run_id: str, **fields) -> None:
    unknown = set(fields) - _UPDATABLE
    if unknown:
        raise ValueError(f"cannot update run fields {sorted(unknown)}")
    for key, value in fields.items():
        con.execute(f"UPDATE runs SET {key} = ? WHERE id = ?", [value, run_id])


def fetch_runs(
    con: duckdb.DuckDBPyConnection, project_id: int | None = None, statuses: tuple[str, ...] = ()
) -> list[dict]:
    """Runs, newest first, optionally of one project and some statuses."""
    sql = f"SELECT {_COLUMNS} FROM runs r JOIN projects p ON p.id = r.project_id WHERE true"
    params: list = []
    if project_id is not None:
        sql += " AND r.project_id = ?"
        params.append(project_id)
    if statuses:
        sql += f" AND r.status IN ({', '.join('?' for _ in statuses)})"
        params += list(statuses)
    return fetch_dicts(con, sql + " ORDER BY r.created_at DESC, r.id DESC", params, ("config", "routing"))


def fetch_run(con: duckdb.DuckDBPyConnection, run_id: str) -> dict | None:
    rows = fetch_dicts(
        con,
        f"SELECT {_COLUMNS} FROM runs r JOIN projects p ON p.id = r.project_id WHERE r.id = ?",
        [run_id],
        ("config", "routing"),
    )
    return rows[0] if rows else None


def set_routing(con: duckdb.DuckDBPyConnection, run_id: str, routing: dict) -> None:
    """Keep a run's routing thresholds ({"high", "low"})."""
    con.execute("UPDATE runs SET routing = ? WHERE id = ?", [json.dumps(routing), run_id])
