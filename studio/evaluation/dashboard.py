"""Everything the evaluation dashboard shows for one run, as one frozen Dashboard.

The Evaluate page, `studio eval RUN --json` (Dashboard.to_dict) and the HTML report all
read this, so the three never disagree.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from studio.checks.coverage import input_clusters
from studio.checks.runner import load_findings
from studio.dataset.snapshots import FOLDS, SPLIT, describe_source
from studio.dataset.splits import LabelCount, label_counts
from studio.evaluation.candidates import as_candidate, is_tuned, name_candidate, ship_candidate
from studio.evaluation.leaderboard import TUNED, LeaderboardRow, leaderboard, predictions_for
from studio.evaluation.metrics import same_json
from studio.evaluation.routing import RoutingConfig, coverage_curve, route
from studio.evaluation.slices import slice_scores, weakest_slices
from studio.evaluation.verdict import RunFacts, Verdict, compare_with_best_baseline, decide, run_health
from studio.project.projects import Project
from studio.training.launch import list_runs
from studio.training.progress import measured_seconds


@dataclass(frozen=True)
class Dashboard:
    """One run's evaluation: the ranked models, the paired comparison and verdict, and the detail under them."""

    run_id: str
    project: str
    held_out_hash: str
    metric: str | None  # the task's primary metric (exact_match, field accuracy, chrF, ...)
    leaderboard: list[LeaderboardRow]  # one row per model, best first, with its interval
    comparison: dict | None  # tuned against the best baseline, paired, with its interval
    verdict: Verdict  # decision, headline, warnings, next_steps, caveat
    slices: list[dict]  # the metric per tag, input length and input cluster
    routing: dict  # confidence bands and the accuracy-against-coverage curve
    not_ranked: list[dict]  # other runs of the project, and why they are not on this board
    round_trip: dict | None  # the merged model's template round trip (studio.evaluation.roundtrip)
    predictions: list[dict]  # every held-out answer of every model
    held_out_source: str = SPLIT  # where the numbers come from: "test set", "split" or "folds"
    numbers_from: str = ""  # the same in words, with the count
    split_counts: list[LabelCount] = field(default_factory=list)  # per label: trained on, held out

    def to_dict(self) -> dict:
        """The dashboard as JSON-ready data (what `studio eval --json` prints)."""
        return asdict(self)


def build_dashboard(db: Path, project: Project, run: dict, routing: RoutingConfig = RoutingConfig()) -> Dashboard:
    """Leaderboard with intervals, paired comparison, verdict, slices, routing bands, predictions."""
    board = leaderboard(db, project, run)
    metric = board[0].primary_metric if board else None
    predictions = predictions_for(db, run["id"])
    candidate = ship_candidate(predictions, metric) if metric else TUNED
    judged = as_candidate(predictions, candidate)  # the best tuned candidate stands as "tuned" in the verdict
    comparison = compare_with_best_baseline(judged, metric) if metric else None
    if comparison:
        comparison["candidate"] = candidate
    slices = (
        slice_scores(predictions, metric, held_out_clusters(db, predictions), project.output_spec) if metric else []
    )
    contradictions = sum(f.kind == "contradiction" for f in load_findings(db, project))
    round_trip = read_round_trip(run)
    verdict = decide(
        comparison,
        project.ship_margin,
        weakest_slices(slices, TUNED),
        contradictions,
        run["n_train"],  # what this run trained on, not what the project holds today
        run_health(judged, project.output_spec, run, round_trip),
        baselines_instructed(run),
        RunFacts(run["id"], measured_seconds(Path(run["run_dir"]))),
    )
    verdict = name_candidate(verdict, candidate, len({p["model"] for p in predictions if is_tuned(p["model"])}))
    return Dashboard(
        run_id=run["id"],
        project=project.name,
        held_out_hash=run["config"]["held_out_hash"],
        metric=metric,
        leaderboard=board,
        comparison=comparison,
        verdict=verdict,
        slices=slices,
        routing=routing_view(predictions, metric, routing),
        not_ranked=unranked_runs(db, project, run),
        round_trip=round_trip,
        predictions=predictions,
        held_out_source=run["config"].get("held_out_source", SPLIT),
        numbers_from=describe_source(run["config"].get("held_out_source", SPLIT), run["n_eval"]),
        split_counts=run_split_counts(run, project),
    )


def run_split_counts(run: dict, project: Project) -> list[LabelCount]:
    """Each label's count in the run's training and held-out examples, from its frozen snapshot (none for
    cross-validation, where every example is held out once and trained on K-1 times)."""
    from studio.jsonl import read_jsonl

    run_dir = Path(run["run_dir"])
    parts = [run_dir / "train.jsonl", run_dir / "eval.jsonl"]
    if run["config"].get("held_out_source") == FOLDS or not all(path.exists() for path in parts):
        return []
    return label_counts(read_jsonl(parts[0]), read_jsonl(parts[1]), project.output_spec)


def baselines_instructed(run: dict) -> bool:
    """Whether the prompted baselines were told the task: a system prompt in the run, or on its held-out examples."""
    if (run["config"].get("system_prompt") or "").strip():
        return True
    from studio.jsonl import read_jsonl

    held_out = Path(run["run_dir"]) / "eval.jsonl"
    rows = read_jsonl(held_out) if held_out.exists() else []
    return bool(rows) and all(any(m["role"] == "system" and m["content"].strip() for m in r["messages"]) for r in rows)


def held_out_clusters(db: Path, predictions: list[dict]) -> dict:
    """Each held-out example's input cluster, named as on the Coverage page ({} without the embedding model)."""
    from studio.models.embeddings import EmbeddingModelMissing

    inputs = {p["example_id"]: p.get("input", "") for p in predictions}
    try:
        return dict(zip(inputs, input_clusters(db, list(inputs.values()))))
    except EmbeddingModelMissing:
        return {}


def routing_view(predictions: list[dict], metric: str | None, config: RoutingConfig) -> dict:
    """Confidence bands and the accuracy-against-coverage curve of the tuned model."""
    tuned = [p for p in predictions if p["model"] == TUNED and p.get("confidence") is not None]
    if not tuned or metric is None:
        return {"bands": [], "curve": [], "thresholds": {"high": config.high, "low": config.low}}
    confidences = [p["confidence"] for p in tuned]
    correct = [p["scores"].get(metric, 0.0) for p in tuned]
    return {
        "bands": route(confidences, correct, config),
        "curve": coverage_curve(confidences, correct),
        "thresholds": {"high": config.high, "low": config.low},
    }


def unranked_runs(db: Path, project: Project, run: dict) -> list[dict]:
    """Finished runs on a different held-out set, which the leaderboard must not rank."""
    mine = run["config"]["held_out_hash"]
    return [
        {
            "run_id": r["id"],
            "held_out_hash": r["config"]["held_out_hash"],
            "why": "evaluated on a different held-out set (the approved examples or the split seed changed)",
        }
        for r in list_runs(db, project)
        if r["status"] == "succeeded" and r["config"].get("held_out_hash") != mine
    ]


def read_round_trip(run: dict) -> dict | None:
    path = Path(run["run_dir"]) / "round_trip.json"
    return json.loads(path.read_text()) if path.exists() else None


SIDE_FILTERS = ("all", "tuned wins", "tuned loses", "all wrong")


def side_by_side(predictions: list[dict], metric: str, comparison: dict | None, show: str = "all") -> list[dict]:
    """One row per held-out example: input, expected, every model's answer and score, filtered."""
    rows: dict[int, dict] = {}
    for p in predictions:
        row = rows.setdefault(
            p["example_id"],
            {
                "example_id": p["example_id"],
                "example": p["external_id"] or str(p["example_id"]),
                "input": p.get("input", ""),
                "expected": p["expected"],
                "tags": p.get("tags", []),
            },
        )
        row[p["model"]] = p["output"]
        row[f"{p['model']} differs in"] = difference(p["expected"], p["output"])
        row[f"{p['model']} score"] = round(p["scores"].get(metric, 0.0), 3)
    baseline = comparison["baseline"] if comparison else None
    return [row for row in rows.values() if _keep(row, show, baseline)]


def difference(expected: str, output: str) -> str:
    """How an answer differs from the expected one: the JSON fields that differ, or whether it does."""
    if output.strip() == expected.strip():
        return ""
    try:
        want, got = json.loads(expected), json.loads(output)
    except (ValueError, RecursionError):  # bad syntax, a number too long, nesting too deep
        return "not JSON" if expected.lstrip().startswith("{") else "different"
    if isinstance(want, dict) and isinstance(got, dict):
        keys = sorted(set(want) | set(got))
        return ", ".join(k for k in keys if not same_json(want.get(k), got.get(k))) or "formatting only"
    return "different"


def _keep(row: dict, show: str, baseline: str | None) -> bool:
    scores = [value for key, value in row.items() if key.endswith(" score")]
    tuned, base = row.get(f"{TUNED} score"), row.get(f"{baseline} score")
    if show == "tuned wins":
        return tuned is not None and base is not None and tuned > base
    if show == "tuned loses":
        return tuned is not None and base is not None and tuned < base
    if show == "all wrong":
        return all(score < 1.0 for score in scores)  # no model got it fully right
    return True
