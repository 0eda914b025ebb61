"""The playground: the tuned model and its base model answer the same conversation side by side.

Where it runs, and why: in the app's process, one cached model per run (the page caches
`load_chat_model` with st.cache_resource). The tuned and the base answers come from the
same 4-bit base model in memory, with the run's adapter switched on and off, so a
comparison costs one model's memory. A turn is a short greedy generation (at most a few
hundred tokens) that needs a warm model; a subprocess per turn would reload the model
every time, and a model server would be another long-lived process to supervise.
Training never runs here (it always has its own worker process), nothing here opens
DuckDB, and a lock keeps two browser tabs from generating on one model at once.
"""

from __future__ import annotations

import threading
from pathlib import Path

from studio.models.prompts import prompt_messages

_generate_lock = threading.Lock()


def load_chat_model(run_dir: str, model_path: str, trust_remote_code: bool = False):
    """The base model the run trained on (4-bit, or fp32 under the CPU recipe) with its adapter, and the adapter's tokenizer."""

    from peft import PeftModel

    from studio.models.loading import load_base, load_tokenizer, quantized_for
    from studio.training.run_config import CONFIG_FILE, RunConfig

    adapter = Path(run_dir) / "adapter"
    if not (adapter / "adapter_config.json").exists():
        raise FileNotFoundError(f"run folder {run_dir} has no adapter (did the run finish?)")
    config_path = Path(run_dir) / CONFIG_FILE
    cpu_recipe = RunConfig.read(run_dir).train.cpu_recipe if config_path.exists() else False
    base = load_base(model_path, quantized_for(cpu_recipe), trust_remote_code)
    model = PeftModel.from_pretrained(base, str(adapter))
    model.eval()
    return model, load_tokenizer(str(adapter), trust_remote_code)


def answer_both(model, tokenizer, system_prompt: str, turns: list[dict], max_new_tokens: int = 128) -> dict:
    """{"tuned": answer, "base": answer} to the conversation `turns` (user/assistant messages)."""
    return {
        side: answer_one(model, tokenizer, system_prompt, turns, max_new_tokens, side == "tuned")
        for side in ("tuned", "base")
    }


def answer_one(
    model,
    tokenizer,
    system_prompt: str,
    turns: list[dict],
    max_new_tokens: int = 128,
    tuned: bool = True,
    output_spec: dict | None = None,
    shots: list[dict] = (),
) -> str:
    """One side's answer: with the run's adapter (tuned) or with it switched off (base).

    One side at a time, so a page can show the tuned answer while the base model still thinks.
    `shots` are retrieved examples shown before the conversation (see `retrieved_shots`).
    With `output_spec`, the answer is decoded as Evaluate decodes it (a label set's labels scored, a JSON
    schema's answer decoded under it); without, it is free greedy text.
    """
    from contextlib import nullcontext

    from studio.models.generation import answer_in_format, generate_answers

    conversation = prompt_messages(system_prompt, turns, list(shots))
    with _generate_lock, nullcontext() if tuned else model.disable_adapter():
        if output_spec is not None:
            answers = answer_in_format(
                model, tokenizer, [conversation], output_spec, max_new_tokens, reuse_prefix=False
            )
        else:
            answers = generate_answers(model, tokenizer, [conversation], max_new_tokens, reuse_prefix=False)
        return answers[0]["output"]


def retrieved_shots(run_dir: str, turns: list[dict]) -> list[dict]:
    """For a run trained with retrieved examples, the ones its served model would see for `turns`; else none.

    The same retrieval as Evaluate's "tuned + k retrieved" and `studio model serve`: the k nearest of
    the run's frozen training examples, nearest last.
    """
    from studio.jsonl import read_jsonl
    from studio.models.prompts import retrieve_few_shot
    from studio.training.run_config import RunConfig

    k = RunConfig.read(Path(run_dir)).train.retrieved_examples
    if k <= 0:
        return []
    return retrieve_few_shot(read_jsonl(Path(run_dir) / "train.jsonl"), [{"messages": turns}], k)[0]


def decodes_in_format(output_spec: dict | None) -> bool:
    """Whether Evaluate decodes this format's answers constrained (a label set, or a JSON schema)."""
    from studio.models.constrained import schema_of

    spec = output_spec or {}
    return (spec.get("kind") == "labels" and bool(spec.get("labels"))) or schema_of(spec) is not None


def playable_runs(runs: list[dict]) -> list[dict]:
    """Runs that finished and left an adapter to chat with, newest first."""
    return [
        r
        for r in runs
        if r["status"] == "succeeded" and (Path(r["run_dir"]) / "adapter" / "adapter_config.json").exists()
    ]
