"""The predictions and evaluations tables: what each model answered, and its scores."""

from __future__ import annotations

import json

import duckdb

from storage.rows import fetch_dicts


def replace_evaluation(con: duckdb.DuckDBPyConnection, run_id: str, predictions: list[dict], summaries: list[dict]) -> None:
    """Store a run's per-example predictions and per-model summaries, replacing older ones."""
    con.execute("DELETE FROM predictions WHERE run_id = ?", [run_id])
    con.execute("DELETE FROM evaluations WHERE run_id = ?", [run_id])
    for row in predictions:
        con.execute(
            "INSERT INTO predictions (run_id, model, example_id, external_id, expected, output, scores, latency_s) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, row["model"], row["example_id"], row.get("external_id"), row["expected"], row["output"],
             json.dumps(row["scores"]), row.get("latency_s")],
        )
    for summary in summaries:
        con.execute(
            "INSERT INTO evaluations (run_id, model, metrics, primary_metric, primary_value, n) VALUES (?, ?, ?, ?, ?, ?)",
            [run_id, summary["model"], json.dumps(summary["metrics"]), summary["primary_metric"],
             summary["primary_value"], summary["n"]],
        )


def fetch_evaluations(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict]:
    return fetch_dicts(
        con,
        "SELECT model, metrics, primary_metric, primary_value, n FROM evaluations WHERE run_id = ? "
        "ORDER BY primary_value DESC, model",
        [run_id],
        ("metrics",),
    )


def fetch_predictions(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict]:
    return fetch_dicts(
        con,
        "SELECT model, example_id, external_id, expected, output, scores, latency_s FROM predictions "
        "WHERE run_id = ? ORDER BY example_id, model",
        [run_id],
        ("scores",),
    )
