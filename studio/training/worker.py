"""The run worker: trains a LoRA adapter (QLoRA on a GPU; studio.training.recipe), answers the held-out set, checks the merged model.

Never opens DuckDB.

Run it as `python -m studio.training.worker RUN_DIR`. It reads RUN_DIR/config.json and the frozen
train and eval JSONL files, writes RUN_DIR/manifest.json, appends progress to
RUN_DIR/events.jsonl, writes the model card RUN_DIR/README.md and RUN_DIR/status.json
when it ends. SIGTERM cancels it within moments, even in the middle of a long step (never
while a checkpoint is being written, which would leave it half-saved). Started again on a run folder that
holds checkpoints, it resumes from the last one. On several GPUs run it under
`accelerate launch -m studio.training.worker RUN_DIR` (see the user guide); only the main
process writes events and files.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import traceback
from pathlib import Path

from studio.evaluation.answering import TUNED, answer_held_out
from studio.evaluation.roundtrip import check_round_trip
from studio.jsonl import read_jsonl
from studio.models.loading import ModelUnavailable, device_name, load_tokenizer
from studio.models.prompts import prompt_messages
from studio.models.retrieval import retrieval_rows
from studio.training.manifest import build_manifest, write_manifest
from studio.training.modelcard import write_model_card
from studio.training.progress import append_event, cancel_requested, read_events, write_status
from studio.training.recipe import recipe_for
from studio.training.run_config import RunConfig
from studio.training.trainer import TrainingJob, build_trainer, last_checkpoint, train_adapter, training_sequences


class Cancelled(BaseException):
    """A cancel request: a BaseException, so that no `except Exception` on its way swallows it."""


class NoExamples(ValueError):
    """A snapshot with nothing to train on."""


class CancelSignal:
    """SIGTERM asks the run to stop. Called, it says whether a stop was asked for.

    Waiting for the end of the step made a cancel take as long as one step (75 s seen on a
    CPU), so the signal raises Cancelled at once, wherever the worker is, unless it lands
    while a checkpoint is written (`hold`): then it waits for the checkpoint to be complete.
    Every other file the worker writes is written whole or not at all (a .partial renamed).
    """

    def __init__(self) -> None:
        self.requested = False
        self.held = False
        signal.signal(signal.SIGTERM, self._handle)

    def __call__(self) -> bool:
        return self.requested

    def _handle(self, signum, frame) -> None:
        if self.requested:
            return  # a second signal must not break off the cancelled run's own last words
        self.requested = True
        if not self.held:
            raise Cancelled

    def hold(self, held: bool) -> None:
        """Defer the stop while a checkpoint is being saved; a stop asked for meanwhile happens on release."""
        self.held = held
        if not held and self.requested:
            raise Cancelled


def run(run_dir: Path) -> str:
    """Train and evaluate one run folder; return the final status it wrote."""
    config = RunConfig.read(run_dir)
    should_stop = CancelSignal()
    resume = last_checkpoint(run_dir)
    if not is_main_process():  # under `accelerate launch`, the other ranks only train, and write nothing
        try:
            _train(config, train_rows(run_dir, config), run_dir, should_stop)
        except Cancelled:
            return "cancelled"
        return "succeeded"
    append_event(run_dir, "started", pid=os.getpid(), device=device_name(), resumed_from=resume, processes=world_size())
    try:
        rows = train_rows(run_dir, config)
        if not rows:
            raise NoExamples(
                "the snapshot has no approved training examples: approve examples on the Examples page, then launch again"
            )
        # the recipe counts the steps as the trainer does: from the whole training split, carving validation itself
        tokenizer = load_tokenizer(config.model_path, config.trust_remote_code)
        lengths = _lengths(tokenizer, config, rows)
        recipe = recipe_for(
            config.model_path, config.train, len(rows), max(lengths, default=0), config.trust_remote_code, lengths
        )
        manifest = build_manifest(
            config.to_dict(),
            tokenizer.chat_template,
            device_name(),
            recipe.to_dict(),
        )
        write_manifest(run_dir, manifest)
        _train(config, rows, run_dir, should_stop)
        if should_stop():
            raise Cancelled
        append_event(run_dir, "trained")
        write_model_card(run_dir, manifest)
        answer_held_out(run_dir, config, should_stop)
        if should_stop():
            raise Cancelled
        round_trip(run_dir, config)
        write_model_card(run_dir, manifest)
    except Cancelled:
        if world_size() > 1 and not cancel_requested(read_events(run_dir)):
            # nobody cancelled: the launcher stopped this process because another one ended, and its report
            # (which process, how) reaches the app through worker.log (studio.training.supervisor)
            return "failed"
        write_status(run_dir, "cancelled")
        return "cancelled"
    except Exception as error:  # the worker's last words must reach the app, whatever broke
        traceback.print_exc()
        if not peer_lost(error):  # a lost peer's own story is the launcher's report (studio.training.supervisor)
            write_status(run_dir, "failed", error=explain_failure(error, config))
        return "failed"
    write_status(run_dir, "succeeded")
    return "succeeded"


def train_rows(run_dir: Path, config: RunConfig) -> list[dict]:
    """The frozen training split as the trainer sees it: with its k retrieved examples when the run retrieves."""
    return retrieval_rows(read_jsonl(run_dir / "train.jsonl"), config.train.retrieved_examples)


def _lengths(tokenizer, config: RunConfig, rows: list[dict]) -> list[int]:
    """The token lengths of the sequences the trainer will train on: the longest sets the recipe's memory choice,
    all of them a token budget's step count."""
    return [len(s.input_ids) for s in training_sequences(tokenizer, config.system_prompt, rows, config.train)[0]]


def _train(config: RunConfig, rows: list[dict], run_dir: Path, should_stop: CancelSignal) -> None:
    job = TrainingJob(
        config.model_path,
        config.system_prompt,
        config.train,
        run_dir,
        config.output_spec or {"kind": "text"},
        config.trust_remote_code,  # an admin let this base model run its own code (off unless config.json says so)
    )
    train_adapter(build_trainer(job, rows, should_stop), job)


def is_main_process() -> bool:
    return os.environ.get("RANK", "0") == "0"


def peer_lost(error: Exception) -> bool:
    """Whether this process failed because another training process of the run went away mid-collective."""
    if world_size() <= 1:
        return False
    import torch.distributed

    text = str(error)
    markers = ("Connection reset by peer", "Connection closed by peer", "NCCL communicator was aborted")
    return isinstance(error, torch.distributed.DistBackendError) or any(marker in text for marker in markers)


def world_size() -> int:
    """How many processes train this run (accelerate launch sets WORLD_SIZE; 1 without it)."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


def round_trip(run_dir: Path, config: RunConfig, n: int = 3) -> None:
    """Merge the adapter, reload it fresh, and check it answers as the adapter did (round_trip.json).

    The check informs; a failure in it is recorded, never fatal to a finished run. The
    merged folder stays in run_dir/merged only when the config asks for it (merge_model).
    """
    append_event(run_dir, "round_trip")
    tuned = [p for p in read_jsonl(run_dir / "predictions.jsonl") if p["model"] == TUNED][:n]
    held_out = {row["id"]: row for row in read_jsonl(run_dir / "eval.jsonl")}
    try:
        result = check_round_trip(
            run_dir,
            config.model_path,
            [prompt_messages(config.system_prompt, held_out[p["example_id"]]["messages"]) for p in tuned],
            [p["output"] for p in tuned],
            [p["example_id"] for p in tuned],
            max_new_tokens=2 * max((p.get("new_tokens") or 0 for p in tuned), default=16) + 16,
            n=len(tuned),
            trust_remote_code=config.trust_remote_code,
            output_spec=config.output_spec,
        )
    except Exception as error:  # noqa: BLE001 - recorded for the user, the run itself succeeded
        traceback.print_exc()
        result = {"error": f"{type(error).__name__}: {error}"}
    if not config.train.merge_model and result.get("merged_dir"):
        shutil.rmtree(result["merged_dir"], ignore_errors=True)  # checked, then dropped: merged models are opt-in
        result["merged_dir"] = None
    (run_dir / "round_trip.json").write_text(json.dumps(result, indent=2))


def explain_failure(error: Exception, config: RunConfig | dict) -> str:
    """A message a user can act on, naming the settings that matter."""
    import torch

    if isinstance(error, (NoExamples, ModelUnavailable)):
        return str(error)
    if (
        isinstance(error, torch.OutOfMemoryError)
        or "can't allocate memory" in str(error)
        or "out of memory" in str(error).lower()
    ):
        train = RunConfig.coerce(config).train
        return (
            f"Out of memory with batch size {train.batch_size}, max length {train.max_length}, LoRA rank "
            f"{train.lora_r} and gradient checkpointing {'on' if train.gradient_checkpointing else 'off'}: "
            "lower the batch size (raise gradient accumulation to keep the effective batch), lower the max length, "
            "turn gradient checkpointing on, or pick a smaller base model."
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
