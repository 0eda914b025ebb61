"""Liger's Triton kernels for the GPU recipe, behind an import guard: on when they can run, skipped with a reason.

liger-kernel (PyPI `liger-kernel`, not a studio dependency) patches a Llama-family model's RMSNorm,
SwiGLU MLP and rotary embedding with fused Triton kernels. They need CUDA, Triton and the package
itself, and a model family Liger knows; `liger_status` checks all four without importing Triton or
Liger (a CPU machine never pays for them) and says why it says no. The worker records the answer in
the run manifest's recipe (`liger`, `liger_why`). Liger's fused linear cross-entropy is not applied:
TRL's SFTTrainer already computes the loss through its own chunked LM head, which never holds the
whole vocabulary's logits, and refuses Liger's (it replaces the model's forward).
"""

from __future__ import annotations

import importlib.util

# Model families whose layers Liger patches (its `_apply_liger_kernel_to_instance` table, Llama-family ones)
LIGER_MODEL_TYPES = frozenset(
    {"llama", "mistral", "mixtral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3_text", "phi3", "granite", "olmo2"}
)


def liger_status(cuda: bool, model_type: str, wanted: bool = True) -> tuple[bool, str]:
    """(apply Liger's kernels?, why) for a base of `model_type` on this machine; `wanted` is TrainConfig.liger_kernels."""
    if not wanted:
        return False, "Liger kernels off in the run's settings (liger_kernels)"
    if not cuda:
        return False, "Liger kernels skipped: no CUDA device (they are Triton GPU kernels)"
    missing = [name for name in ("triton", "liger_kernel") if importlib.util.find_spec(name) is None]
    if missing:
        return False, f"Liger kernels skipped: {' and '.join(missing)} not installed (pip install liger-kernel)"
    if model_type not in LIGER_MODEL_TYPES:
        return False, f"Liger kernels skipped: no Liger kernels for a {model_type or 'unknown'} model"
    return (
        True,
        f"Liger's RMSNorm, SwiGLU and RoPE kernels on the {model_type} base (CUDA, Triton and liger-kernel found)",
    )
