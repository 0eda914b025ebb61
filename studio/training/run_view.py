"""What the Train page shows of a run: its phase, steps, losses, validation, time left, answering progress.

Read from the worker's event log only, so it costs no database query and works for runs of any age.
"""

from __future__ import annotations

from pathlib import Path

from studio.training.progress import latest, log_tail, read_events
from studio.training.supervisor import ACTIVE


def run_progress(run: dict) -> dict:
    """What the Train page shows: step/total, losses, elapsed, remaining, answering progress."""
    events = read_events(Path(run["run_dir"]))
    steps = _latest_per_step([e for e in events if e["event"] == "step"])
    last = steps[-1] if steps else None
    answering = latest(events, "answering")
    phase = _phase(run, events)
    return {
        "learning_rates": [(e["step"], e.get("learning_rate", 0.0)) for e in steps],
        "eval_losses": [
            (e["step"], e["eval_loss"]) for e in _latest_per_step([e for e in events if e["event"] == "eval"])
        ],
        "validation": [
            (e["step"], e["value"], e["metric"])
            for e in _latest_per_step([e for e in events if e["event"] == "validation"])
        ],
        "memory_mb": last.get("memory_mb") if last else None,
        "resumes": sum(e["event"] == "resume_requested" for e in events),
        "phase": phase,
        "step": last["step"] if last else 0,
        "total": last["total"] if last else (latest(events, "train_started") or {}).get("total", 0),
        "elapsed": last["elapsed"] if last else 0.0,
        # only while training: a finished, cancelled or evaluating run has no training time left to guess
        "eta": last["eta"] if last and phase == "training" else None,
        "losses": [(e["step"], e["loss"]) for e in steps],
        "tokens_per_second": last["tokens_per_second"] if last else None,
        "answering": answering,
        "cancel_requested": _cancel_pending(events),
        "log_tail": log_tail(Path(run["run_dir"]), 12),
    }


def _latest_per_step(events: list[dict]) -> list[dict]:
    """One event per step, the newest: a resumed run repeats the steps after its checkpoint."""
    by_step = {e["step"]: e for e in events}
    return [by_step[k] for k in sorted(by_step)]


def _cancel_pending(events: list[dict]) -> bool:
    """A cancel was asked for since the run last started or resumed."""
    for event in reversed(events):
        if event["event"] in ("cancel_requested", "resume_requested"):
            return event["event"] == "cancel_requested"
    return False


def _phase(run: dict, events: list[dict]) -> str:
    if run["status"] not in ACTIVE:
        return run["status"]
    if run["status"] == "queued":
        return "queued"
    if _cancel_pending(events):
        return "cancelling..."
    if latest(events, "answering") or latest(events, "trained"):
        return "evaluating"
    return "training" if latest(events, "step") else "starting"
