"""The trusted_models table: base models whose own code an admin allowed to run."""

from __future__ import annotations

import duckdb

from storage.rows import fetch_dicts


def fetch_trusted_models(con: duckdb.DuckDBPyConnection) -> list[dict]:
    return fetch_dicts(con, "SELECT model, allowed_by, allowed_at FROM trusted_models ORDER BY model")


def is_trusted(con: duckdb.DuckDBPyConnection, model: str) -> bool:
    return con.execute("SELECT count(*) FROM trusted_models WHERE model = ?", [model]).fetchone()[0] > 0


def insert_trusted_model(con: duckdb.DuckDBPyConnection, model: str, allowed_by: str) -> None:
    con.execute(
        "INSERT INTO trusted_models (model, allowed_by) VALUES (?, ?) "
        "ON CONFLICT (model) DO UPDATE SET allowed_by = excluded.allowed_by, allowed_at = now()",
        [model, allowed_by],
    )


def delete_trusted_model(con: duckdb.DuckDBPyConnection, model: str) -> None:
    con.execute("DELETE FROM trusted_models WHERE model = ?", [model])
