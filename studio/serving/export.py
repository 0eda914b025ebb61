"""Exporting a finished run: `studio model export RUN --format adapter|merged [--out DIR]`.

- adapter: the PEFT adapter folder (adapter weights and config, the tokenizer with its
  chat template), for `PeftModel.from_pretrained(base, DIR)`, vLLM's --lora-modules or
  Ollama's ADAPTER.
- merged: the adapter merged into the dequantized 4-bit base (studio.evaluation.roundtrip.merge_adapter,
  the merge that keeps the answers), saved as safetensors with the tokenizer, its chat
  template and a greedy generation config, so plain `AutoModelForCausalLM.from_pretrained(DIR)`
  answers as the evaluated model did. The export is then checked the way the worker's
  round trip checks a merge: reload the folder fresh, answer the first held-out
  conversations, compare with the evaluated answers (export_check.json).

Both folders carry a model card (README.md), an Ollama Modelfile and the serving commands. A run
trained with retrieved examples also carries them (retrieval.jsonl, its frozen training
examples) and says what a vLLM or Ollama client must send; its check answers with retrieval.
GGUF is not written: no well-kept package converts a Hugging Face model to GGUF offline
(llama.cpp's convert_hf_to_gguf.py is not on PyPI); docs/user-guide.md says how to convert
with llama.cpp.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from studio.jsonl import read_jsonl, write_jsonl
from studio.models.prompts import prompt_messages, retrieve_few_shot
from studio.serving import commands
from studio.serving.engine import ServedRun, candidate_name, served_run

FORMATS = ("adapter", "merged")
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")
CHECK_FILE = "export_check.json"


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote, the check of it, and how to serve it."""

    folder: str
    format: str
    model_name: str
    files: list[str]
    check: dict | None = None  # merged only: {"checked", "matches", "mismatches", "template_ok"}
    commands: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def default_export_dir(run_dir: Path, format: str) -> Path:
    return Path(run_dir) / "export" / format


def export_run(run_dir: Path, format: str, out: Path | None = None, check: int = 3) -> ExportResult:
    """Write the run as an adapter or merged folder in `out` (default RUN_DIR/export/FORMAT)."""
    if format not in FORMATS:
        raise ValueError(f"--format must be one of {', '.join(FORMATS)}, not {format!r}")
    run = served_run(run_dir)
    out = Path(out or default_export_dir(run.run_dir, format)).expanduser().resolve()
    if out.exists() and any(out.iterdir()) and not (out / "README.md").exists():
        raise FileExistsError(f"{out} holds other files; export into an empty or new folder")
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    if format == "adapter":
        shutil.copytree(run.adapter_dir, partial, ignore=shutil.ignore_patterns("checkpoint-*", "*.partial"))
    else:
        _write_merged(run, partial)
    budget = _budget(run)
    _write_generation_config(partial, budget)
    found = _write_companions(run, partial, format, out, budget)
    shutil.rmtree(out, ignore_errors=True)
    partial.rename(out)
    result_check = check_export(run, out, check) if format == "merged" and check else None
    if result_check is not None:
        (out / CHECK_FILE).write_text(json.dumps(result_check, indent=2))
    files = sorted(p.name for p in out.iterdir())
    return ExportResult(str(out), format, run.model_name, files, result_check, found)


def _write_merged(run: ServedRun, target: Path) -> None:
    """Merge through studio.evaluation.roundtrip (into RUN_DIR/merged), then copy that folder to `target`."""
    from studio.evaluation.roundtrip import merge_adapter

    existing = (run.run_dir / "merged" / "config.json").exists()
    merged = run.run_dir / "merged" if existing else merge_adapter(run.run_dir, run.model_path, run.trust_remote_code)
    shutil.copytree(merged, target)
    if not existing:  # merged models are opt-in in the run folder (TrainConfig.merge_model): keep only the export
        shutil.rmtree(merged, ignore_errors=True)


def _budget(run: ServedRun) -> int:
    from studio.models.loading import load_tokenizer
    from studio.serving.engine import default_max_tokens

    return default_max_tokens(run, load_tokenizer(str(run.adapter_dir), run.trust_remote_code))


def _write_generation_config(folder: Path, budget: int) -> None:
    """Greedy decoding with the run's answer budget: what evaluation did, as transformers' defaults."""
    from transformers import AutoTokenizer, GenerationConfig

    tokenizer = AutoTokenizer.from_pretrained(folder)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    GenerationConfig(
        do_sample=False,
        max_new_tokens=budget,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=pad,
        bos_token_id=tokenizer.bos_token_id,
    ).save_pretrained(folder)


def _write_companions(run: ServedRun, folder: Path, format: str, final: Path, budget: int) -> dict[str, str]:
    """README.md (the model card), Modelfile and SERVE commands; return the commands."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    if format == "adapter":
        modelfile = commands.ollama_modelfile(
            run.model_path, run.system_prompt, tokenizer.chat_template, tokenizer.eos_token, budget, adapter="."
        )
        vllm = commands.vllm_lora_command(run.model_path, run.model_name, final, commands.adapter_rank(folder))
    else:
        modelfile = commands.ollama_modelfile(
            ".", run.system_prompt, tokenizer.chat_template, tokenizer.eos_token, budget
        )
        vllm = commands.vllm_merged_command(final, run.model_name)
    (folder / "Modelfile").write_text(modelfile)
    found = {
        "vllm": vllm,
        "ollama": commands.ollama_create_command(run.model_name, final),
        "studio": commands.studio_serve_command(run.run_id),
    }
    if run.retrieved_examples:
        write_retrieval_examples(run, folder)
        found["client"] = commands.retrieval_instructions(run.retrieved_examples)
    (folder / "README.md").write_text(_model_card(run, format, found))
    return found


def write_retrieval_examples(run: ServedRun, folder: Path) -> Path:
    """The run's frozen training examples, which every prompt retrieves from, as commands.RETRIEVAL_FILE."""
    rows = [
        {"id": r["id"], "external_id": r.get("external_id"), "messages": r["messages"]}
        for r in read_jsonl(run.run_dir / "train.jsonl")
    ]
    path = folder / commands.RETRIEVAL_FILE
    write_jsonl(path, rows)
    return path


def _model_card(run: ServedRun, format: str, found: dict[str, str]) -> str:
    card_path = run.run_dir / "README.md"
    card = card_path.read_text() if card_path.exists() else f"# {run.project} · run {run.run_id}\n"
    load = (
        "from peft import AutoPeftModelForCausalLM\nmodel = AutoPeftModelForCausalLM.from_pretrained(FOLDER)"
        if format == "adapter"
        else "from transformers import AutoModelForCausalLM\nmodel = AutoModelForCausalLM.from_pretrained(FOLDER)"
    )
    return card + "\n".join(
        [
            "",
            f"## This export ({format})",
            "",
            "Answers are greedy (generation_config.json), as they were at evaluation. Load it with:",
            "",
            "```python",
            "from transformers import AutoTokenizer",
            load,
            "tokenizer = AutoTokenizer.from_pretrained(FOLDER)",
            "```",
            "",
            "Serve it:",
            "",
            f"- vLLM (GPU): `{found['vllm']}`",
            f"- Ollama: `{found['ollama']}` (the Modelfile is beside this file)",
            f"- the studio (with confidence routing): `{found['studio']}`",
            "",
            *([f"**Retrieved examples.** {found['client']}", ""] if "client" in found else []),
            "GGUF for llama.cpp is not written by the studio: convert this folder with llama.cpp's "
            "`convert_hf_to_gguf.py` (merged export) or `convert_lora_to_gguf.py` (adapter export).",
            "",
        ]
    )


def check_export(run: ServedRun, folder: Path, n: int = 3) -> dict:
    """Load the merged export as any server would and answer the first n held-out inputs; compare with evaluation."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from studio.evaluation.roundtrip import same_chat_template
    from studio.models.generation import answer_in_format

    name = candidate_name(run)  # a run trained with retrieval is checked, and served, with it
    tuned = [p for p in read_jsonl(run.run_dir / "predictions.jsonl") if p["model"] == name][:n]
    held_out = {row["id"]: row for row in read_jsonl(run.run_dir / "eval.jsonl")}
    rows = [held_out[p["example_id"]] for p in tuned]
    shots = retrieve_few_shot(read_jsonl(run.run_dir / "train.jsonl"), rows, run.retrieved_examples)
    conversations = [prompt_messages(run.system_prompt, row["messages"], shown) for row, shown in zip(rows, shots)]
    model = AutoModelForCausalLM.from_pretrained(folder, dtype="auto", device_map=_device_map())  # as merged
    tokenizer = AutoTokenizer.from_pretrained(folder)
    budget = model.generation_config.max_new_tokens
    answers = answer_in_format(model, tokenizer, conversations, run.output_spec, budget) if conversations else []
    mismatches = [
        {"example_id": p["example_id"], "evaluated": p["output"], "export": a["output"]}
        for p, a in zip(tuned, answers)
        if p["output"] != a["output"]
    ]
    return {
        "checked": len(answers),
        "matches": len(answers) - len(mismatches),
        "mismatches": mismatches,
        "template_ok": same_chat_template(run.adapter_dir, folder),
    }


def _device_map():
    import torch

    return {"": 0} if torch.cuda.is_available() else "cpu"


def zip_folder(folder: Path, archive: Path) -> Path:
    """The export as one .zip (for the browser's download), its files under the folder's name."""
    folder = Path(folder)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                out.write(path, Path(folder.name) / path.relative_to(folder))
    return archive
