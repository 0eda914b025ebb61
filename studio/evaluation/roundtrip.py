"""The template round-trip check: does the adapter still answer the same once merged and reloaded?

A user who ships a run usually merges the adapter into the base model and serves that
folder elsewhere. This check does exactly that after training: merge the run's adapter
into a fresh full-precision copy of the base model, save it to run_dir/merged with the
run's tokenizer, load that folder back as any server would, and answer the first few
held-out conversations greedily. The answers should equal the ones the worker's 4-bit
base plus adapter gave. A 4-bit base and a full-precision merge differ numerically, so a
mismatch alone is not proof of a problem; `template_ok` says whether the shipped folder
carries the chat template the adapter was trained with and whether every answer ended
with the end-of-sequence token, which is what breaks when a template or tokenizer is lost.

Worker-side: no storage, no DuckDB, no streamlit.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def check_round_trip(
    run_dir: Path,
    base_model_path: str,
    conversations: list[list[dict]],
    adapter_answers: list[str],
    example_ids: list,
    max_new_tokens: int,
    n: int = 3,
    trust_remote_code: bool = False,
    output_spec: dict | None = None,
) -> dict:
    """Merge, save, reload and re-answer the first n conversations; compare with the adapter's answers.

    Returns {"checked", "matches", "mismatches": [{"example_id", "adapter", "merged"}],
    "template_ok", "merged_dir"}. The merged model answers through the same decoding as
    evaluation (`output_spec`: labels scored, JSON under its schema, else greedy).
    """
    from studio.models.generation import answer_in_format

    checked = min(n, len(conversations))
    if len(adapter_answers) < checked or len(example_ids) < checked:
        raise ValueError(f"checking {checked} conversations needs as many adapter answers and example ids")
    run_dir = Path(run_dir)
    merged_dir = merge_adapter(run_dir, base_model_path, trust_remote_code)
    model, tokenizer = _load_merged(merged_dir, trust_remote_code)
    answers = answer_in_format(model, tokenizer, conversations[:checked], output_spec, max_new_tokens)
    mismatches = [
        {"example_id": example_id, "adapter": expected, "merged": answer["output"]}
        for example_id, expected, answer in zip(example_ids, adapter_answers, answers)
        if answer["output"] != expected
    ]
    ended = all(answer["new_tokens"] < max_new_tokens for answer in answers)
    return {
        "checked": len(answers),
        "matches": len(answers) - len(mismatches),
        "mismatches": mismatches,
        "template_ok": ended and same_chat_template(run_dir / "adapter", merged_dir),
        "merged_dir": str(merged_dir),
    }


def merge_adapter(run_dir: Path, base_model_path: str, trust_remote_code: bool = False) -> Path:
    """Merge run_dir/adapter into the base it was trained on (the dequantized 4-bit base under
    QLoRA, the full-precision base under the CPU recipe); save it, with the adapter's
    tokenizer, to run_dir/merged and return that folder."""
    from peft import PeftModel
    from transformers import AutoTokenizer

    from studio.models.loading import load_base, quantized_for
    from studio.training.run_config import CONFIG_FILE, RunConfig

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    adapter_dir, merged_dir = Path(run_dir) / "adapter", Path(run_dir) / "merged"
    config_path = Path(run_dir) / CONFIG_FILE
    cpu_recipe = RunConfig.read(run_dir).train.cpu_recipe if config_path.exists() else False
    # QLoRA trained the adapter against the 4-bit weights, and learned around their rounding:
    # merging it into the original full-precision weights changes the answers (seen here on
    # SmolLM2: 0 of 3 the same), merging into the dequantized 4-bit weights keeps them.
    quantized = quantized_for(cpu_recipe)
    base = load_base(base_model_path, quantized, trust_remote_code)
    base = base.dequantize() if quantized else base
    merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    partial = merged_dir.with_name(merged_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    merged.save_pretrained(partial)
    AutoTokenizer.from_pretrained(adapter_dir, trust_remote_code=trust_remote_code).save_pretrained(partial)
    shutil.rmtree(merged_dir, ignore_errors=True)
    partial.rename(merged_dir)
    return merged_dir


def same_chat_template(adapter_dir: Path, merged_dir: Path) -> bool:
    """Whether both folders' tokenizers carry the same, non-empty chat template."""
    from transformers import AutoTokenizer

    template = AutoTokenizer.from_pretrained(adapter_dir).chat_template
    return bool(template) and template == AutoTokenizer.from_pretrained(merged_dir).chat_template


def _load_merged(merged_dir: Path, trust_remote_code: bool = False):
    """The merged folder loaded fresh, as a server that knows nothing of the run would load it."""
    from transformers import AutoModelForCausalLM

    from studio.models.loading import load_tokenizer

    # "auto": the dtype the merge saved (full precision under the CPU recipe), as a server would load it
    model = AutoModelForCausalLM.from_pretrained(
        merged_dir, dtype="auto", device_map=_device_map(), trust_remote_code=trust_remote_code
    )
    return model, load_tokenizer(str(merged_dir), trust_remote_code)


def _device_map():
    import torch

    return {"": 0} if torch.cuda.is_available() else "cpu"
