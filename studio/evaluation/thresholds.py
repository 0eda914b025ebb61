"""A run's routing thresholds, kept with the run: the Evaluate page sets them, the Deploy page serves with them.

Without saved thresholds a run routes by RoutingConfig's defaults. Saving needs the right to train
(whoever may launch and serve a run may decide how its answers are routed).
"""

from __future__ import annotations

from pathlib import Path

from storage import runs as run_table
from storage.db import connect
from studio.evaluation.routing import RoutingConfig
from studio.project.people import Person, authorize


def saved_routing(run: dict) -> RoutingConfig:
    """The thresholds saved with `run` (a runs row), or the defaults."""
    saved = run.get("routing") or {}
    defaults = RoutingConfig()
    return RoutingConfig(high=float(saved.get("high", defaults.high)), low=float(saved.get("low", defaults.low)))


def save_routing(db: Path, run_id: str, routing: RoutingConfig, actor: Person | None = None) -> RoutingConfig:
    """Keep `routing` as the thresholds of run `run_id`; an `actor` who may not train is refused (None: the local
    user). Raises ValueError for a run that does not exist."""
    authorize(actor, "train")
    with connect(db) as con:
        if run_table.fetch_run(con, run_id) is None:
            raise ValueError(f"no run {run_id}")
        run_table.set_routing(con, run_id, {"high": routing.high, "low": routing.low})
    return routing
