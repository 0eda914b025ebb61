"""Changing many examples at once: status, tags. One revision per changed example.

The caller decides which ids change (it has checked formats and roles); each function
here changes those ids in a few set-based statements, so 50,000 examples take seconds.
"""

from __future__ import annotations

import json

import duckdb

from storage.examples import SNAPSHOT_SQL, record_revisions


def set_status(con: duckdb.DuckDBPyConnection, example_ids: list[int], status: str, author: str) -> int:
    """Move examples to `status`; approving or rejecting records `author` as the reviewer."""
    _stage(con, example_ids, "status <> ?", [status])
    review = ", reviewer = ?, reviewed_at = current_timestamp" if status in ("approved", "rejected") else ""
    con.execute(
        f"UPDATE examples SET status = ?{review}, revision = revision + 1, updated_at = current_timestamp "
        "WHERE id IN (SELECT id FROM changing)",
        [status, author] if review else [status],
    )
    return record_revisions(con, author)


def add_tag(con: duckdb.DuckDBPyConnection, example_ids: list[int], tag: str, author: str) -> int:
    _stage(con, example_ids, "NOT list_contains(tags, ?)", [tag])
    con.execute(
        "UPDATE examples SET tags = list_append(tags, ?), revision = revision + 1, updated_at = current_timestamp "
        "WHERE id IN (SELECT id FROM changing)",
        [tag],
    )
    return record_revisions(con, author)


def remove_tag(con: duckdb.DuckDBPyConnection, example_ids: list[int], tag: str, author: str) -> int:
    _stage(con, example_ids, "list_contains(tags, ?)", [tag])
    con.execute(
        "UPDATE examples SET tags = list_filter(tags, t -> t <> ?), revision = revision + 1, "
        "updated_at = current_timestamp WHERE id IN (SELECT id FROM changing)",
        [tag],
    )
    return record_revisions(con, author)


def fetch_authored_messages(con: duckdb.DuckDBPyConnection, example_ids: list[int]) -> list[tuple[int, str, list]]:
    """(id, author, messages) of each live example, for checks before a bulk change."""
    rows = con.execute(
        "SELECT id, author, messages FROM examples WHERE id IN (SELECT unnest(?)) AND deleted_at IS NULL",
        [example_ids],
    ).fetchall()
    return [(example_id, author, json.loads(messages)) for example_id, author, messages in rows]


def _stage(con: duckdb.DuckDBPyConnection, example_ids: list[int], condition: str, params: list) -> None:
    """The live examples among `example_ids` that this change would alter, with their 'before'."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE changing AS SELECT id, revision + 1 AS revision, {SNAPSHOT_SQL} AS before "
        f"FROM examples WHERE id IN (SELECT unnest(?)) AND deleted_at IS NULL AND {condition}",
        [example_ids, *params],
    )
