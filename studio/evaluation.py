"""Scoring a finished run's predictions and ranking the tuned model against the baseline."""

from __future__ import annotations

from pathlib import Path

from storage import evaluations as evaluation_table
from storage.db import connect
from studio.formats import parse_output_spec
from studio.jsonl import read_jsonl
from studio.metrics import METRIC_HELP, primary_metric, score_answer, summarise_scores


def record_evaluation(db: Path, run: dict) -> list[dict]:
    """Score run_dir/predictions.jsonl, store predictions and summaries, return the leaderboard."""
    spec = parse_output_spec(run["config"]["output_spec"])
    predictions = read_jsonl(Path(run["run_dir"]) / "predictions.jsonl")
    for row in predictions:
        row["scores"] = score_answer(spec, row["expected"], row["output"])
    summaries = []
    for model in sorted({row["model"] for row in predictions}):
        rows = [row for row in predictions if row["model"] == model]
        metrics = summarise_scores(spec, [row["scores"] for row in rows])
        metrics["latency_s"] = sum(row["latency_s"] for row in rows) / len(rows)
        name = primary_metric(spec)
        summaries.append({"model": model, "metrics": metrics, "primary_metric": name, "primary_value": metrics[name], "n": len(rows)})
    with connect(db) as con:
        evaluation_table.replace_evaluation(con, run["id"], predictions, summaries)
    return leaderboard(db, run["id"])


def leaderboard(db: Path, run_id: str) -> list[dict]:
    """The run's models, best first by the primary metric, with rank and every metric."""
    with connect(db) as con:
        rows = evaluation_table.fetch_evaluations(con, run_id)
    return [{"rank": rank, **row} for rank, row in enumerate(rows, start=1)]


def predictions_for(db: Path, run_id: str) -> list[dict]:
    with connect(db) as con:
        return evaluation_table.fetch_predictions(con, run_id)


def describe_metric(name: str) -> str:
    return METRIC_HELP.get(name, name)


def margin_sentence(board: list[dict]) -> str:
    """One plain sentence on how the tuned model did against the baseline."""
    tuned = next((row for row in board if row["model"] == "tuned"), None)
    baselines = [row for row in board if row["model"] != "tuned"]
    if not tuned or not baselines:
        return "The leaderboard needs both the tuned model and a baseline."
    best = max(baselines, key=lambda row: row["primary_value"])
    points = 100 * (tuned["primary_value"] - best["primary_value"])
    direction = "beats" if points > 0 else "trails" if points < 0 else "ties"
    return (
        f"The tuned model {direction} the best baseline ({best['model']}) by {abs(points):.1f} points of "
        f"{tuned['primary_metric']} on {tuned['n']} held-out examples."
    )
