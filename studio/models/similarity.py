"""Meaning-level similarity between examples: cached embeddings and the neighbour graph.

Texts are embedded by studio.models.embeddings and cached in DuckDB per text hash, so an
unchanged input or answer is never embedded twice. Each example's k most similar
inputs (the neighbour graph) are found with scikit-learn's brute-force kNN, which works
through the corpus in chunks: memory grows with examples times k, never with the
square of the example count. The graph is stored with the input hash it was computed
for, so after a few edits only the changed examples (and those whose neighbours
changed) are compared again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from storage import embeddings as cache_table
from storage.db import connect
from studio.models.embeddings import DIMENSIONS, embed

# Past this share of changed inputs a full rebuild is as cheap as patching the graph.
FULL_REBUILD_SHARE = 0.2
# scikit-learn computes distances a block of rows at a time within this many MB.
WORKING_MEMORY_MB = 256


def text_hash(text: str) -> str:
    """The cache key of a text: a hash of its exact characters."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class Vectors:
    """Embeddings of some texts, in order, and how many had to be computed (not cached)."""

    matrix: np.ndarray
    embedded: int


def cached_vectors(db: Path, texts: list[str]) -> Vectors:
    """Embed `texts`, reading unchanged ones from the cache and caching the rest."""
    hashes = [text_hash(t) for t in texts]
    with connect(db) as con:
        cached = cache_table.fetch_vectors(con, sorted(set(hashes)))
    missing = {h: t for h, t in zip(hashes, texts) if h not in cached}
    if missing:
        fresh = embed(list(missing.values()))
        new = {h: row.tobytes() for h, row in zip(missing, fresh)}
        with connect(db) as con:
            cache_table.insert_vectors(con, new)
        cached.update(new)
    matrix = np.frombuffer(b"".join(cached[h] for h in hashes), dtype=np.float32).reshape(len(texts), DIMENSIONS)
    return Vectors(matrix, len(missing))


@dataclass(frozen=True)
class NeighbourGraph:
    """Each example's nearest other inputs: row i holds positions into the example list, nearest first.

    Rows keep up to 2k neighbours so that a few edits can be patched in without a new
    search; the first k of every row are exact, and only they make pairs. Missing
    neighbours are -1 with similarity -1. `compared` counts the examples whose
    neighbours were searched again this time.
    """

    indices: np.ndarray
    similarities: np.ndarray
    compared: int
    k: int

    def pairs_at_least(self, threshold: float) -> list[tuple[int, int, float]]:
        """Every pair of positions (i < j), one among the other's k nearest, at least `threshold` alike."""
        indices, similarities = self.indices[:, : self.k], self.similarities[:, : self.k]
        rows, cols = np.nonzero(similarities >= threshold)
        seen: dict[tuple[int, int], float] = {}
        for i, slot in zip(rows.tolist(), cols.tolist()):
            j = int(indices[i, slot])
            if j >= 0 and i != j:
                seen[(min(i, j), max(i, j))] = float(similarities[i, slot])
        return sorted((i, j, s) for (i, j), s in seen.items())


def search(
    queries: np.ndarray, corpus: np.ndarray, k: int, query_positions: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest corpus rows of each query by cosine, excluding the query's own position."""
    from sklearn.neighbors import NearestNeighbors

    n = len(corpus)
    take = min(k + (query_positions is not None), n)
    indices = np.full((len(queries), k), -1, dtype=np.int64)
    similarities = np.full((len(queries), k), -1.0, dtype=np.float32)
    if take == 0 or len(queries) == 0:
        return indices, similarities
    from sklearn import config_context

    index = NearestNeighbors(n_neighbors=take, metric="cosine", algorithm="brute").fit(corpus)
    with config_context(working_memory=WORKING_MEMORY_MB):
        distances, found = index.kneighbors(queries)
    for row in range(len(queries)):
        keep = found[row] != query_positions[row] if query_positions is not None else np.ones(take, bool)
        chosen = found[row][keep][:k]
        indices[row, : len(chosen)] = chosen
        similarities[row, : len(chosen)] = 1.0 - distances[row][keep][:k]
    return indices, similarities


def build_graph(
    db: Path, project_id: int, example_ids: list[int], input_hashes: list[str], vectors: np.ndarray, k: int
) -> NeighbourGraph:
    """The neighbour graph of these examples, patching the stored one where it can."""
    with connect(db) as con:
        stored = {row["example_id"]: row for row in cache_table.fetch_graph(con, project_id)}
    patched = _patched_graph(stored, example_ids, input_hashes, vectors, k)
    if patched is None:
        graph = NeighbourGraph(*search(vectors, vectors, 2 * k, np.arange(len(vectors))), compared=len(vectors), k=k)
        touched = range(len(example_ids))
    else:
        graph, touched = patched
    rows = _graph_rows(graph, example_ids, input_hashes, touched)
    with connect(db) as con:
        cache_table.update_graph(con, project_id, rows, sorted(set(stored) - set(example_ids)))
    return graph


def _patched_graph(
    stored: dict, example_ids: list[int], input_hashes: list[str], vectors: np.ndarray, k: int
) -> tuple[NeighbourGraph, list[int]] | None:
    """Update the stored graph for changed inputs, with the positions whose rows changed; None when a full rebuild is due.

    A stored row is exact down to its last entry. Dropping the changed examples from it
    leaves the exact nearest unchanged ones; adding every changed example at its new
    similarity keeps the row exact down to the weakest unchanged entry that is left.
    Rows left with fewer than k exact entries are searched again.
    """
    position = {example_id: i for i, example_id in enumerate(example_ids)}
    changed = [
        i for i, (e, h) in enumerate(zip(example_ids, input_hashes)) if e not in stored or stored[e]["input_hash"] != h
    ]
    gone = set(stored) - set(position)
    if not stored or len(changed) + len(gone) > FULL_REBUILD_SHARE * len(example_ids):
        return None
    width = 2 * k
    changed_ids = {example_ids[i] for i in changed} | gone
    indices = np.full((len(example_ids), width), -1, dtype=np.int64)
    similarities = np.full((len(example_ids), width), -1.0, dtype=np.float32)
    cutoff = np.full(len(example_ids), -np.inf, dtype=np.float32)
    redo = set(changed)
    for i, example_id in enumerate(example_ids):
        if i in redo:
            continue
        row = stored[example_id]
        kept = [(position[n], s) for n, s in zip(row["neighbour_ids"], row["similarities"]) if n not in changed_ids]
        if len(kept) < min(k, len(example_ids) - 1):
            redo.add(i)
            continue
        if kept:
            indices[i, : len(kept)], similarities[i, : len(kept)] = zip(*kept)
            if len(row["neighbour_ids"]) >= width:
                cutoff[i] = kept[-1][1]
    before = indices.copy()
    _merge_changed(indices, similarities, cutoff, vectors, changed, redo)
    redo_list = sorted(redo)
    if redo_list:
        found, sims = search(vectors[redo_list], vectors, width, np.array(redo_list))
        indices[redo_list], similarities[redo_list] = found, sims
    moved = set(np.nonzero((indices != before).any(axis=1))[0].tolist())
    touched = sorted(
        moved
        | redo
        | {
            position[e]
            for e in stored
            if e in position and len(stored[e]["neighbour_ids"]) != int((before[position[e]] >= 0).sum())
        }
    )
    return NeighbourGraph(indices, similarities, compared=len(redo_list), k=k), touched


def _merge_changed(
    indices: np.ndarray,
    similarities: np.ndarray,
    cutoff: np.ndarray,
    vectors: np.ndarray,
    changed: list[int],
    redo: set[int],
) -> None:
    """Let each changed input into the rows of the unchanged ones, keeping only entries known to be exact."""
    if not changed:
        return
    scores = (vectors @ vectors[changed].T).astype(np.float32)
    scores[changed, np.arange(len(changed))] = -1.0  # a changed example is no neighbour of itself
    pool_idx = np.concatenate([indices, np.broadcast_to(np.array(changed), scores.shape)], axis=1)
    pool_sim = np.concatenate([similarities, scores], axis=1)
    best = np.argsort(-pool_sim, axis=1, kind="stable")[:, : indices.shape[1]]
    merged_idx, merged_sim = np.take_along_axis(pool_idx, best, axis=1), np.take_along_axis(pool_sim, best, axis=1)
    unknown = (merged_sim < cutoff[:, None]) | (merged_idx < 0)
    merged_idx[unknown], merged_sim[unknown] = -1, -1.0
    keep = np.array([i not in redo for i in range(len(vectors))])
    indices[keep], similarities[keep] = merged_idx[keep], merged_sim[keep]


def _graph_rows(graph: NeighbourGraph, example_ids: list[int], input_hashes: list[str], positions) -> list[dict]:
    rows = []
    for i in positions:
        example_id, input_hash = example_ids[i], input_hashes[i]
        keep = graph.indices[i] >= 0
        rows.append(
            {
                "example_id": example_id,
                "input_hash": input_hash,
                "neighbour_ids": [example_ids[j] for j in graph.indices[i][keep]],
                "similarities": graph.similarities[i][keep].tolist(),
            }
        )
    return rows


@lru_cache(maxsize=16)
def similar_input_pairs(texts: tuple[str, ...], threshold: float, k: int = 10) -> list[tuple[int, int, float]]:
    """Positions (i < j) of texts at least `threshold` alike, with their similarity, embedded in memory (no cache).

    For callers without a database, such as a split of examples already in hand;
    remembered per process for the same texts.
    """
    vectors = embed(list(texts))
    indices, similarities = search(vectors, vectors, k, np.arange(len(vectors)))
    graph = NeighbourGraph(indices, similarities, compared=len(texts), k=k)
    return graph.pairs_at_least(threshold)
