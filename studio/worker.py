"""The run worker: trains a QLoRA adapter, answers the held-out set, checks the merged model.

Never opens DuckDB.

Run it as `python -m studio.worker RUN_DIR`. It reads RUN_DIR/config.json and the frozen
train and eval JSONL files, appends progress to RUN_DIR/events.jsonl and writes
RUN_DIR/status.json when it ends. SIGTERM cancels it at the next step.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback
from pathlib import Path

from studio.answering import TUNED, answer_held_out
from studio.jsonl import read_jsonl
from studio.models import device_name
from studio.progress import append_event, write_status
from studio.prompts import prompt_messages
from studio.roundtrip import check_round_trip
from studio.training import TrainConfig, train_adapter


class Cancelled(Exception):
    pass


def _cancel_flag():
    requested = {"stop": False}

    def handle(signum, frame):
        requested["stop"] = True

    signal.signal(signal.SIGTERM, handle)
    return lambda: requested["stop"]


def run(run_dir: Path) -> str:
    """Train and evaluate one run folder; return the final status it wrote."""
    config = json.loads((run_dir / "config.json").read_text())
    should_stop = _cancel_flag()
    append_event(run_dir, "started", pid=os.getpid(), device=device_name())
    try:
        train_adapter(
            config["model_path"], config["system_prompt"], read_jsonl(run_dir / "train.jsonl"),
            TrainConfig(**config["train"]), run_dir, should_stop,
        )
        if should_stop():
            raise Cancelled
        append_event(run_dir, "trained")
        answer_held_out(run_dir, config, should_stop)
        if should_stop():
            raise Cancelled
        round_trip(run_dir, config)
    except Cancelled:
        write_status(run_dir, "cancelled")
        return "cancelled"
    except Exception as error:  # the worker's last words must reach the app, whatever broke
        traceback.print_exc()
        write_status(run_dir, "failed", error=explain_failure(error, config))
        return "failed"
    write_status(run_dir, "succeeded")
    return "succeeded"


def round_trip(run_dir: Path, config: dict, n: int = 3) -> None:
    """Merge the adapter, reload it fresh, and check it answers as the adapter did (round_trip.json).

    The check informs; a failure in it is recorded, never fatal to a finished run.
    """
    append_event(run_dir, "round_trip")
    tuned = [p for p in read_jsonl(run_dir / "predictions.jsonl") if p["model"] == TUNED][:n]
    held_out = {row["id"]: row for row in read_jsonl(run_dir / "eval.jsonl")}
    try:
        result = check_round_trip(
            run_dir, config["model_path"],
            [prompt_messages(config["system_prompt"], held_out[p["example_id"]]["messages"]) for p in tuned],
            [p["output"] for p in tuned], [p["example_id"] for p in tuned],
            max_new_tokens=2 * max((p.get("new_tokens") or 0 for p in tuned), default=16) + 16, n=len(tuned),
        )
    except Exception as error:  # noqa: BLE001 - recorded for the user, the run itself succeeded
        traceback.print_exc()
        result = {"error": f"{type(error).__name__}: {error}"}
    (run_dir / "round_trip.json").write_text(json.dumps(result, indent=2))


def explain_failure(error: Exception, config: dict) -> str:
    """A message a user can act on, naming the settings that matter."""
    import torch

    if isinstance(error, torch.OutOfMemoryError):
        train = config["train"]
        return (
            f"Out of memory with batch size {train['batch_size']} and max length {train['max_length']}: "
            "lower the batch size (raise gradient accumulation to compensate) or the max length."
        )
    return f"{type(error).__name__}: {error}"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    return 0 if run(Path(args[0])) == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
