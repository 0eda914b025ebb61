"""The commands that serve an exported run elsewhere: vLLM on GPUs, Ollama on a laptop.

Generated from the run, never typed by hand: the adapter's rank sets vLLM's
--max-lora-rank, the served name is the one `studio model serve` uses, and the Ollama
Modelfile carries the project's task description as its system prompt and greedy decoding.
Plain functions of plain values, so the CLI, the Deploy page and the tests share them.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

# vLLM accepts only these LoRA ranks for --max-lora-rank.
VLLM_LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)
CHATML_START = "<|im_start|>"
OLLAMA_CHATML = (
    "{{- if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}"
    "{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}"
    "<|im_start|>assistant\n"
)


def adapter_rank(adapter_dir: Path) -> int:
    return int(json.loads((Path(adapter_dir) / "adapter_config.json").read_text())["r"])


def vllm_lora_command(base_model: str, name: str, adapter_dir: Path, rank: int, port: int = 8000) -> str:
    """`vllm serve BASE --enable-lora --lora-modules NAME=ADAPTER ...`: the base with the run's adapter."""
    max_rank = next((r for r in VLLM_LORA_RANKS if r >= rank), rank)
    return shlex.join(
        [
            "vllm",
            "serve",
            str(base_model),
            "--enable-lora",
            "--lora-modules",
            f"{name}={adapter_dir}",
            "--max-lora-rank",
            str(max_rank),
            "--generation-config",
            "auto",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
    )


def vllm_merged_command(merged_dir: Path, name: str, port: int = 8000) -> str:
    """`vllm serve MERGED --served-model-name NAME ...`: the merged folder, no LoRA needed."""
    return shlex.join(
        [
            "vllm",
            "serve",
            str(merged_dir),
            "--served-model-name",
            name,
            "--generation-config",
            "auto",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
    )


def ollama_modelfile(
    source: str,
    system_prompt: str,
    chat_template: str | None,
    eos_token: str | None,
    max_tokens: int,
    adapter: str | None = None,
) -> str:
    """An Ollama Modelfile: FROM a safetensors folder (and ADAPTER for a LoRA folder), greedy, the task's system prompt.

    Ollama reads a known chat template from the tokenizer it imports; a ChatML template
    (SmolLM2, Qwen) is also written out, so the prompt is the one the model was trained on.
    """
    lines = [f"FROM {source}"]
    if adapter:
        lines.append(f"ADAPTER {adapter}")
    if chat_template and CHATML_START in chat_template:
        lines.append(f'TEMPLATE """{OLLAMA_CHATML}"""')
    if system_prompt:
        lines.append(f'SYSTEM """{system_prompt.replace(chr(34) * 3, chr(39) * 3)}"""')
    lines += ["PARAMETER temperature 0", f"PARAMETER num_predict {max_tokens}"]
    if eos_token:
        lines.append(f'PARAMETER stop "{eos_token}"')
    return "\n".join(lines) + "\n"


def ollama_create_command(name: str, folder: Path) -> str:
    return f"cd {shlex.quote(str(folder))} && ollama create {shlex.quote(name)} -f Modelfile && ollama run {shlex.quote(name)}"


def studio_serve_command(run_id: str, port: int = 8000) -> str:
    return shlex.join(["studio", "model", "serve", run_id, "--port", str(port)])


RETRIEVAL_FILE = "retrieval.jsonl"


def retrieval_instructions(k: int, file_name: str = RETRIEVAL_FILE) -> str:
    """What a client of vLLM or Ollama must send for a run trained with k retrieved examples (neither retrieves)."""
    return (
        f"This model was trained, and evaluated, with {k} retrieved examples in every prompt; vLLM and Ollama do not "
        f"retrieve, so the client must send them. For each request: embed its user text with the sentence-transformers "
        f"model all-MiniLM-L6-v2 (normalised vectors), take the {k} examples of {file_name} whose user text is most "
        "similar by cosine, and send each one's user and assistant messages, the nearest last, after the system "
        "message and before the request's own messages. `studio model serve` does this itself."
    )
