"""Scoring a finished run's predictions and the leaderboard of every model on one held-out set.

The worker writes predictions.jsonl; `record_evaluation` scores each answer, summarises
each model (every metric with a 95% interval: Wilson for 0/1 scores, a bootstrap for graded
ones, see studio/evaluation/significance.py; plus the metrics that are not means: macro-F1,
confusion matrix, per-field scores) and stores both in DuckDB. Intervals stored by older
versions are recomputed as they are read, so no board shows a zero-width interval. Runs are
ranked together only when their held-out hashes match: the same examples, the same split.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from storage import evaluations as evaluation_table
from storage.db import connect
from studio.dataset.messages import input_text
from studio.evaluation.candidates import is_tuned
from studio.evaluation.metrics import BINARY_METRICS, METRIC_HELP, aggregate_metrics, primary_metric, score_answer
from studio.evaluation.significance import honest_interval, interval_dict
from studio.jsonl import read_jsonl
from studio.project.formats import OutputSpec, parse_output_spec
from studio.project.projects import Project

TUNED = "tuned"


@dataclass(frozen=True)
class LeaderboardRow:
    """One model on a held-out set's leaderboard: its rank, its primary metric with the 95% interval, and the rest."""

    rank: int  # 1 is the best
    label: str  # what the board shows: "tuned · <run id>" for a tuned run, else the baseline's name
    model: str  # "tuned", "tuned + 3 retrieved", "baseline-0shot", "baseline-3shot", ...
    run_id: str  # the run whose evaluation the row comes from
    primary_metric: str  # the task's metric the board ranks by
    primary_value: float
    low: float  # the 95% interval of primary_value (Wilson for 0/1 scores)
    high: float
    n: int  # held-out examples answered
    metrics: dict  # every metric: each score's mean with its interval, macro-F1, confusion, latency, tokens/s
    created_at: datetime | None = None  # when that run was created


def record_evaluation(db: Path, run: dict) -> None:
    """Score run_dir/predictions.jsonl and store the predictions and per-model summaries."""
    run_dir = Path(run["run_dir"])
    spec = parse_output_spec(run["config"]["output_spec"])
    held_out = {row["id"]: row for row in read_jsonl(run_dir / "eval.jsonl")}
    predictions = read_jsonl(run_dir / "predictions.jsonl")
    for row in predictions:
        example = held_out[row["example_id"]]
        row["scores"] = score_answer(spec, row["expected"], row["output"])
        if row.get("embedding_similarity") is not None:
            row["scores"]["embedding_similarity"] = float(row["embedding_similarity"])
        row["tags"], row["input"] = example.get("tags", []), input_text(example["messages"])
    by_model: dict[str, list[dict]] = defaultdict(list)
    for row in predictions:
        by_model[row["model"]].append(row)
    summaries = [summarise_model(spec, model, rows) for model, rows in sorted(by_model.items())]
    with connect(db) as con:
        evaluation_table.replace_evaluation(con, run["id"], predictions, summaries)


def summarise_model(spec: OutputSpec, model: str, rows: list[dict]) -> dict:
    """One model's metrics: each per-example score as a mean with its interval, and the rest."""
    names = sorted({name for row in rows for name in row["scores"]})
    means = {name: interval_dict([row["scores"].get(name, 0.0) for row in rows]) for name in names}
    seconds = sum(row.get("latency_s") or 0.0 for row in rows)
    metrics = {
        "means": means,
        **aggregate_metrics(spec, [r["expected"] for r in rows], [r["output"] for r in rows]),
        "latency_s": seconds / len(rows),
        "tokens_per_second": sum(row.get("new_tokens") or 0 for row in rows) / seconds if seconds else None,
    }
    name = primary_metric(spec)
    return {
        "model": model,
        "metrics": metrics,
        "primary_metric": name,
        "primary_value": means[name]["mean"],
        "n": len(rows),
    }


def leaderboard(db: Path, project: Project, run: dict) -> list[LeaderboardRow]:
    """Every tuned run and baseline evaluated on this run's held-out set, best first.

    A baseline appears once (from the newest run that has it); each tuned candidate of each run
    ("tuned", and "tuned + k retrieved" for a run trained with retrieval) is its own row.
    """
    with connect(db) as con:
        rows = evaluation_table.fetch_evaluations_on_held_out(con, project.id, run["config"]["held_out_hash"])
    seen, board = set(), []
    for row in rows:
        tuned = is_tuned(row["model"])
        key = (row["run_id"], row["model"]) if tuned else row["model"]
        if key in seen:
            continue
        seen.add(key)
        row["metrics"]["means"] = {
            name: honest_interval(entry, name in BINARY_METRICS) for name, entry in row["metrics"]["means"].items()
        }
        means = row["metrics"]["means"][row["primary_metric"]]
        label = f"{row['model']} · {row['run_id']}" if tuned else row["model"]
        board.append({**row, "label": label, "low": means["low"], "high": means["high"]})
    board.sort(key=lambda r: (-r["primary_value"], r["label"]))
    return [LeaderboardRow(rank=rank, **row) for rank, row in enumerate(board, start=1)]


def predictions_for(db: Path, run_id: str) -> list[dict]:
    with connect(db) as con:
        return evaluation_table.fetch_predictions(con, run_id)


def describe_metric(name: str) -> str:
    return METRIC_HELP.get(name, name)
