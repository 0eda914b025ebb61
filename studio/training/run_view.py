"""What the Train page shows of a run: its phase, steps, losses, validation, time left, answering progress.

Read from the worker's event log only, so it costs no database query and works for runs of any age.
Elapsed is the wall clock since the worker started; Remaining covers the whole run, training and then
evaluation (every model answering the held-out set, and the round trip), and keeps moving through both.
"""

from __future__ import annotations

import time
from pathlib import Path

from studio.training.progress import latest, log_tail, read_events, read_status
from studio.training.supervisor import ACTIVE

# Answering reads a prompt token this many times faster than training on one: a forward pass costs about a
# third of forward, backward and optimizer step. A prior, not yet checked against a measured demo run; once the
# models answer, the live view paces the evaluation by the answers themselves.
INFERENCE_SPEEDUP = 3.0
DEFAULT_FEW_SHOT_K = 3  # studio.evaluation.answering.DEFAULT_FEW_SHOT_K (imported there would pull in the models)


def evaluation_seconds(
    n_eval: int, mean_tokens: float, tokens_per_second: float, few_shot_k: int = DEFAULT_FEW_SHOT_K, load: float = 0.0
) -> float:
    """The evaluation's time, before it starts, from the training throughput.

    The tuned model and the 0-shot baseline each read every held-out prompt once; a k-shot
    baseline reads it with k examples, about k + 1 times as long. The base model is loaded
    twice more (to answer, and for the round trip), `load` seconds each.
    """
    reads = n_eval * mean_tokens * (2 + (few_shot_k + 1 if few_shot_k else 0))
    return reads / (INFERENCE_SPEEDUP * max(tokens_per_second, 1e-9)) + 2 * load


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
        "elapsed": _elapsed(run, events, last),
        "eta": remaining(run, events, phase),
        "losses": [(e["step"], e["loss"]) for e in steps],
        "tokens_per_second": last["tokens_per_second"] if last else None,
        "answering": answering,
        "cancel_requested": _cancel_pending(events),
        "log_tail": log_tail(Path(run["run_dir"]), 12),
    }


def _elapsed(run: dict, events: list[dict], last: dict | None) -> float:
    """Seconds since the worker (last) started: on the wall clock, so it keeps moving through evaluation."""
    started = latest(events, "started")
    if started is None:
        return last["elapsed"] if last else 0.0
    status = read_status(Path(run["run_dir"])) if run["status"] not in ACTIVE else None
    end = status["time"] if status else (events[-1]["time"] if run["status"] not in ACTIVE else time.time())
    return max(end - started["time"], 0.0)


def remaining(run: dict, events: list[dict], phase: str, now: float | None = None) -> float | None:
    """Seconds left of the whole run: training's own estimate plus the evaluation's, or the evaluation's alone.

    While training, the evaluation is estimated from the training throughput (evaluation_seconds);
    once the models answer, from the answering's own pace. None when nothing is left to guess.
    """
    now = time.time() if now is None else now
    last = latest(events, "step")
    if phase == "training" and last:
        return last["eta"] + _evaluation_from_training(run, events, last)
    if phase != "evaluating":
        return None
    plan = latest(events, "evaluation_plan")
    answering = latest(events, "answering")
    if (
        plan is None or answering is None
    ):  # loading the model to answer: the estimate made while training, less the wait
        trained = latest(events, "trained")
        guess = _evaluation_from_training(run, events, last) if last else 0.0
        return max(guess - (now - trained["time"]), 0.0) if trained else guess or None
    return _answering_left(run, events, plan, answering, now)


def _evaluation_from_training(run: dict, events: list[dict], last: dict) -> float:
    """The evaluation's estimate from the tokens trained so far: their mean per example and their pace."""
    config = run.get("config") or {}
    train = config.get("train", {})
    per_step = train.get("batch_size", 1) * train.get("gradient_accumulation", 1)
    steps_done = max(last["step"] - ((latest(events, "train_started") or {}).get("resumed_at") or 0), 1)
    rate = last.get("tokens_per_second") or 0.0
    if not rate:
        return 0.0
    mean_tokens = rate * last["elapsed"] / (steps_done * per_step)
    k = (config.get("eval") or {}).get("few_shot_k", DEFAULT_FEW_SHOT_K)
    load = _load_seconds(events)
    return evaluation_seconds(run.get("n_eval") or 0, mean_tokens, rate, k, load)


def _load_seconds(events: list[dict]) -> float:
    """How long the worker took to load the model and start training: about what each later load takes."""
    started, train_started = latest(events, "started"), latest(events, "train_started")
    return max(train_started["time"] - started["time"], 0.0) if started and train_started else 0.0


def _answering_left(run: dict, events: list[dict], plan: dict, answering: dict, now: float) -> float:
    """The current model's answers left at its own pace, the models after it at that pace per prompt token,
    and a round trip about as long as the model's load before the first answer."""
    tokens = {m["model"]: m["tokens"] for m in plan["models"]}
    order, current = list(tokens), answering["model"]
    trained = latest(events, "trained")
    load = max(plan["time"] - trained["time"], 0.0) if trained else 0.0
    trip = latest(events, "round_trip")
    if trip:  # every model has answered: the merge and reload are left
        return max(load - (now - trip["time"]), 0.0)
    began = next(e["time"] for e in events if e["event"] == "answering" and e["model"] == current)
    share = answering["done"] / max(answering["total"], 1)
    if share > 0:
        per_token = (now - began) / (share * tokens.get(current, 1))
    elif began > plan["time"] and current in order and order.index(current) > 0:  # the earlier models' pace
        per_token = (began - plan["time"]) / max(sum(tokens[m] for m in order[: order.index(current)]), 1)
    else:  # nothing answered yet: the training's pace
        last = latest(events, "step")
        per_token = (
            1 / (INFERENCE_SPEEDUP * last["tokens_per_second"]) if last and last.get("tokens_per_second") else 0.0
        )
    later = order[order.index(current) + 1 :] if current in order else []
    left = (1 - share) * tokens.get(current, 0) + sum(tokens[m] for m in later)
    return max(left * per_token - (now - began if share == 0 else 0.0), 0.0) + load


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
