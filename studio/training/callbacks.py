"""Trainer callbacks of a run: live progress events, cancellation, and validation by the task metric.

Worker-side: they write to the run folder (events.jsonl, trainer/best.json) and never
open the database. Validation answers the validation slice greedily at every checkpoint
and scores the answers with the project's primary metric (studio/evaluation/metrics.py), so the
checkpoint kept is the one that does the task best, not the one with the lowest loss.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from studio.training.progress import append_event


def progress_callback(run_dir: Path, should_stop: Callable[[], bool]):
    """Step events and cancellation; `should_stop` may also have a `hold(bool)` to defer a stop while a checkpoint is saved."""
    from transformers import TrainerCallback

    hold = getattr(should_stop, "hold", lambda held: None)  # the worker's CancelSignal defers a stop while saving

    class ProgressCallback(TrainerCallback):
        """Appends a step event per log line (and an eval event per evaluation); honours a cancel request."""

        def on_train_begin(self, args, state, control, **kwargs):
            self.started, self.first_step, self.first_tokens = time.time(), state.global_step, None
            if state.is_world_process_zero:
                append_event(run_dir, "train_started", total=state.max_steps, resumed_at=state.global_step)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not state.is_world_process_zero:
                return
            if logs and "eval_loss" in logs:
                append_event(run_dir, "eval", step=state.global_step, eval_loss=float(logs["eval_loss"]))
            if not logs or "loss" not in logs:
                return
            elapsed = time.time() - self.started
            tokens = float(logs.get("num_tokens", 0.0))
            if self.first_tokens is None:  # TRL's count restarts at a resume; rate over this session only
                self.first_tokens = 0.0 if state.global_step - self.first_step <= 1 else tokens
            done = max(state.global_step - self.first_step, 1)
            append_event(
                run_dir,
                "step",
                step=state.global_step,
                total=state.max_steps,
                loss=float(logs["loss"]),
                learning_rate=float(logs.get("learning_rate", 0.0)),
                elapsed=elapsed,
                eta=elapsed / done * (state.max_steps - state.global_step),
                tokens_per_second=(tokens - self.first_tokens) / elapsed if elapsed else 0.0,
                memory_mb=peak_memory_mb(),
            )

        def on_step_end(self, args, state, control, **kwargs):
            if should_stop():
                control.should_training_stop = True
            elif control.should_save:  # a checkpoint is written next: a cancel must not break it off half-saved
                hold(True)

        def on_save(self, args, state, control, **kwargs):
            hold(False)

    return ProgressCallback()


def validation_callback(run_dir: Path, system_prompt: str, rows: list[dict], output_spec: dict, tokenizer):
    """Scores each saved checkpoint on the validation rows; records the best in trainer/best.json."""
    from transformers import TrainerCallback

    from studio.dataset.messages import answer_text
    from studio.evaluation.metrics import primary_metric, score_answer
    from studio.models.prompts import prompt_messages
    from studio.project.formats import parse_output_spec

    spec = parse_output_spec(output_spec)
    metric = primary_metric(spec)
    conversations = [prompt_messages(system_prompt, row["messages"]) for row in rows]
    expected = [answer_text(row["messages"]) for row in rows]
    budget = max(len(tokenizer(e)["input_ids"]) for e in expected) + 8

    class ValidationCallback(TrainerCallback):
        def on_save(self, args, state, control, model=None, **kwargs):
            if not state.is_world_process_zero:
                return
            value = score_checkpoint(
                model,
                tokenizer,
                conversations,
                expected,
                budget,
                lambda e, o: score_answer(spec, e, o)[metric],
                spec.to_dict(),
            )
            checkpoint = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            append_event(run_dir, "validation", step=state.global_step, metric=metric, value=value)
            best_path = Path(args.output_dir) / "best.json"
            best = json.loads(best_path.read_text()) if best_path.exists() else None
            if best is None or value > best["value"]:
                best_path.write_text(
                    json.dumps(
                        {"checkpoint": str(checkpoint), "step": state.global_step, "metric": metric, "value": value}
                    )
                )
                state.best_model_checkpoint, state.best_metric = str(checkpoint), value  # spared by checkpoint rotation

    return ValidationCallback()


def score_checkpoint(
    model,
    tokenizer,
    conversations,
    expected,
    budget: int,
    score: Callable[[str, str], float],
    output_spec: dict | None = None,
) -> float:
    """Mean task score of the model's answers, decoded as evaluation decodes them; the model goes back to training mode after."""
    from studio.models.generation import answer_in_format

    was_training = model.training
    try:
        answers = answer_in_format(model, tokenizer, conversations, output_spec, budget, reuse_prefix=False)
    finally:
        model.train(was_training)
    return sum(score(e, a["output"]) for e, a in zip(expected, answers)) / max(len(expected), 1)


def peak_memory_mb() -> float:
    """Peak GPU memory allocated, or the process's peak resident memory on CPU."""
    import resource

    import torch

    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
