"""The embedding cache and the neighbour graph: what the checks keep between runs.

Vectors are cached per text hash (float32 bytes), so an example's input or answer is
embedded once for as long as its text is unchanged. The neighbour graph holds, per
example, its most similar inputs and the input hash they were computed for, so a later
check compares again only the examples whose input changed.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from storage.rows import fetch_dicts


def fetch_vectors(con: duckdb.DuckDBPyConnection, hashes: list[str]) -> dict[str, bytes]:
    """The cached vectors (raw float32 bytes) of those text hashes that are cached."""
    if not hashes:
        return {}
    wanted = pd.DataFrame({"text_hash": hashes})
    con.register("wanted_hashes", wanted)
    try:
        rows = con.execute(
            "SELECT e.text_hash, e.vector FROM embeddings e JOIN wanted_hashes w USING (text_hash)"
        ).fetchall()
    finally:
        con.unregister("wanted_hashes")
    return {text_hash: bytes(vector) for text_hash, vector in rows}


def insert_vectors(con: duckdb.DuckDBPyConnection, vectors: dict[str, bytes]) -> None:
    """Cache vectors by text hash; a hash already cached is left as it is."""
    if not vectors:
        return
    frame = pd.DataFrame({"text_hash": list(vectors), "vector": list(vectors.values())})
    con.register("new_vectors", frame)
    try:
        con.execute("INSERT OR IGNORE INTO embeddings SELECT text_hash, vector FROM new_vectors")
    finally:
        con.unregister("new_vectors")


def fetch_graph(con: duckdb.DuckDBPyConnection, project_id: int) -> list[dict]:
    """A project's stored neighbour lists: example_id, input_hash, neighbour_ids, similarities."""
    return fetch_dicts(
        con,
        "SELECT example_id, input_hash, neighbour_ids, similarities FROM neighbours WHERE project_id = ?",
        [project_id],
    )


def update_graph(con: duckdb.DuckDBPyConnection, project_id: int, rows: list[dict], removed_ids: list[int]) -> None:
    """Write the neighbour lists in `rows` (dicts as fetch_graph returns) and drop those of `removed_ids`."""
    stale = [row["example_id"] for row in rows] + list(removed_ids)
    if stale:
        con.register("stale_ids", pd.DataFrame({"example_id": stale}))
        try:
            con.execute(
                "DELETE FROM neighbours WHERE project_id = ? AND example_id IN (SELECT example_id FROM stale_ids)",
                [project_id],
            )
        finally:
            con.unregister("stale_ids")
    if not rows:
        return
    frame = pd.DataFrame(rows)
    frame["project_id"] = project_id
    con.register("new_graph", frame)
    try:
        con.execute(
            "INSERT INTO neighbours SELECT project_id, example_id, input_hash, "
            "neighbour_ids::BIGINT[], similarities::FLOAT[] FROM new_graph"
        )
    finally:
        con.unregister("new_graph")
