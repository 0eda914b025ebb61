"""What a run is planned from besides its config: the model's shape (its config, no weights) and the GPU's memory.

The recipe (studio.training.recipe) and the pre-flight (studio.training.preflight) read these; both
load nothing heavy until asked, and cache what they read.
"""

from __future__ import annotations

import threading
from functools import lru_cache

# transformers imports lazily and not thread-safely; Streamlit runs pages and fragments in threads
load_lock = threading.Lock()


@lru_cache(maxsize=8)
def model_shape(model_path: str, trust_remote_code: bool = False):
    """The model's config (no weights)."""
    with load_lock:
        from transformers import AutoConfig

        return AutoConfig.from_pretrained(model_path, trust_remote_code=trust_remote_code)


@lru_cache(maxsize=1)
def gpu_memory_mb() -> float:
    """Total memory of the first GPU, 0 without one."""
    import torch

    return torch.cuda.get_device_properties(0).total_memory / 2**20 if torch.cuda.is_available() else 0.0
