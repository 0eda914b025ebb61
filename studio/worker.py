"""The run worker: trains a QLoRA adapter, then answers the held-out set. Never opens DuckDB.

Run it as `python -m studio.worker RUN_DIR`. It reads RUN_DIR/config.json and the frozen
train/eval/few-shot JSONL files, appends progress to RUN_DIR/events.jsonl and writes
RUN_DIR/status.json when it ends. SIGTERM cancels it at the next step.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback
from pathlib import Path

from studio.answering import answer_held_out
from studio.jsonl import read_jsonl
from studio.models import device_name
from studio.progress import append_event, write_status
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
    except Cancelled:
        write_status(run_dir, "cancelled")
        return "cancelled"
    except Exception as error:  # the worker's last words must reach the app, whatever broke
        traceback.print_exc()
        write_status(run_dir, "failed", error=explain_failure(error, config))
        return "failed"
    write_status(run_dir, "succeeded")
    return "succeeded"


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
