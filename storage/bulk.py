"""Changing many examples at once: status, tags, split. One revision per changed example.

The caller decides which ids change (it has checked formats and roles); each function
here changes those ids in a few set-based statements, so 50,000 examples take seconds.
"""

from __future__ import annotations

import json

import duckdb

from storage.examples import SNAPSHOT_SQL, record_revisions


def set_status(con: duckdb.DuckDBPyConnection, example_ids: list[int], status: str, author: str) -> int:
    """Move examples to `status`; approving or rejecting records `author` as the reviewer."""
    if status in ("approved", "rejected"):
        return _change(
            con,
            example_ids,
            "status <> ?",
            "status = ?, reviewer = ?, reviewed_at = current_timestamp",
            [status],
            [status, author],
            author,
        )
    return _change(con, example_ids, "status <> ?", "status = ?", [status], [status], author)


def set_split(con: duckdb.DuckDBPyConnection, example_ids: list[int], split: str, author: str) -> int:
    """Move examples to the training examples ('train') or the test set ('test')."""
    return _change(con, example_ids, "split <> ?", "split = ?", [split], [split], author)


def add_tag(con: duckdb.DuckDBPyConnection, example_ids: list[int], tag: str, author: str) -> int:
    return _change(con, example_ids, "NOT list_contains(tags, ?)", "tags = list_append(tags, ?)", [tag], [tag], author)


def remove_tag(con: duckdb.DuckDBPyConnection, example_ids: list[int], tag: str, author: str) -> int:
    return _change(
        con, example_ids, "list_contains(tags, ?)", "tags = list_filter(tags, t -> t <> ?)", [tag], [tag], author
    )


def _change(
    con: duckdb.DuckDBPyConnection,
    example_ids: list[int],
    condition: str,
    assignments: str,
    condition_params: list,
    assignment_params: list,
    author: str,
) -> int:
    """Apply `assignments` to the live examples among `example_ids` that meet `condition`; one revision each."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE changing AS SELECT id, revision + 1 AS revision, {SNAPSHOT_SQL} AS before "
        f"FROM examples WHERE id IN (SELECT unnest(?)) AND deleted_at IS NULL AND {condition}",
        [example_ids, *condition_params],
    )
    con.execute(
        f"UPDATE examples SET {assignments}, revision = revision + 1, updated_at = current_timestamp "
        "WHERE id IN (SELECT id FROM changing)",
        assignment_params,
    )
    return record_revisions(con, author)


def fetch_authored_messages(con: duckdb.DuckDBPyConnection, example_ids: list[int]) -> list[tuple[int, str, list]]:
    """(id, author, messages) of each live example, for checks before a bulk change."""
    rows = con.execute(
        "SELECT id, author, messages FROM examples WHERE id IN (SELECT unnest(?)) AND deleted_at IS NULL",
        [example_ids],
    ).fetchall()
    return [(example_id, author, json.loads(messages)) for example_id, author, messages in rows]
