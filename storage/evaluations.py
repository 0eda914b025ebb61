"""The predictions and evaluations tables: what each model answered, and its scores."""

from __future__ import annotations

import json

import duckdb

from storage.rows import fetch_dicts

_DETAIL_KEYS = ("new_tokens", "few_shot_ids", "embedding_similarity", "tags", "input", "label_probabilities")


def replace_evaluation(
    con: duckdb.DuckDBPyConnection, run_id: str, predictions: list[dict], summaries: list[dict]
) -> None:
    """Store a run's per-example predictions and per-model summaries, replacing older ones."""
    con.execute("DELETE FROM predictions WHERE run_id = ?", [run_id])
    con.execute("DELETE FROM evaluations WHERE run_id = ?", [run_id])
    con.executemany(
        "INSERT INTO predictions (run_id, model, example_id, external_id, expected, output, scores, latency_s, "
        "confidence, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [
                run_id,
                row["model"],
                row["example_id"],
                row.get("external_id"),
                row["expected"],
                row["output"],
                json.dumps(row["scores"]),
                row.get("latency_s"),
                row.get("confidence"),
                json.dumps({key: row[key] for key in _DETAIL_KEYS if key in row}),
            ]
            for row in predictions
        ],
    )
    con.executemany(
        "INSERT INTO evaluations (run_id, model, metrics, primary_metric, primary_value, n) VALUES (?, ?, ?, ?, ?, ?)",
        [
            [run_id, s["model"], json.dumps(s["metrics"]), s["primary_metric"], s["primary_value"], s["n"]]
            for s in summaries
        ],
    )


def fetch_evaluations(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict]:
    return fetch_dicts(
        con,
        "SELECT run_id, model, metrics, primary_metric, primary_value, n FROM evaluations WHERE run_id = ? "
        "ORDER BY primary_value DESC, model",
        [run_id],
        ("metrics",),
    )


def fetch_evaluations_on_held_out(con: duckdb.DuckDBPyConnection, project_id: int, held_out_hash: str) -> list[dict]:
    """Every model evaluated on one held-out set of a project, across its runs, newest run first."""
    return fetch_dicts(
        con,
        "SELECT e.run_id, e.model, e.metrics, e.primary_metric, e.primary_value, e.n, r.created_at "
        "FROM evaluations e JOIN runs r ON r.id = e.run_id "
        "WHERE r.project_id = ? AND json_extract_string(r.config, '$.held_out_hash') = ? "
        "ORDER BY r.created_at DESC, e.primary_value DESC",
        [project_id, held_out_hash],
        ("metrics",),
    )


def fetch_predictions(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict]:
    rows = fetch_dicts(
        con,
        "SELECT model, example_id, external_id, expected, output, scores, latency_s, confidence, details "
        "FROM predictions WHERE run_id = ? ORDER BY example_id, model",
        [run_id],
        ("scores", "details"),
    )
    for row in rows:
        row.update(row.pop("details") or {})
    return rows
