"""The examples and revisions tables: every change to an example is a revision."""

from __future__ import annotations

import json

import duckdb

from storage.rows import fetch_dicts

_COLUMNS = (
    "id, project_id, external_id, messages, tags, source, status, author, reviewer, "
    "created_at, updated_at, revision"
)
EDITABLE = ("messages", "tags", "status", "reviewer")


class StaleRevision(RuntimeError):
    """The example changed since the caller read it."""


def insert_examples(con: duckdb.DuckDBPyConnection, project_id: int, rows: list[dict], author: str) -> list[int]:
    """Insert examples (dicts with messages, tags, status, source, external_id); return ids."""
    ids = []
    for row in rows:
        new_id = con.execute(
            "INSERT INTO examples (project_id, external_id, messages, tags, source, status, author) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            [
                project_id,
                row.get("external_id"),
                json.dumps(row["messages"]),
                list(row.get("tags") or []),
                row.get("source", "editor"),
                row.get("status", "draft"),
                author,
            ],
        ).fetchone()[0]
        _insert_revision(con, new_id, 1, author, None, _snapshot_of(row))
        ids.append(new_id)
    return ids


def fetch_examples(
    con: duckdb.DuckDBPyConnection,
    project_id: int,
    status: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[dict]:
    """Live examples of a project, oldest first, optionally one status and one page."""
    sql = f"SELECT {_COLUMNS} FROM examples WHERE project_id = ? AND deleted_at IS NULL"
    params: list = [project_id]
    if status:
        sql += " AND status = ?"
        params.append(status)
    sql += " ORDER BY id"
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params += [limit, offset]
    return fetch_dicts(con, sql, params, ("messages",))


def fetch_example(con: duckdb.DuckDBPyConnection, example_id: int) -> dict | None:
    rows = fetch_dicts(
        con, f"SELECT {_COLUMNS} FROM examples WHERE id = ? AND deleted_at IS NULL", [example_id], ("messages",)
    )
    return rows[0] if rows else None


def count_examples(con: duckdb.DuckDBPyConnection, project_id: int) -> dict[str, int]:
    """Count live examples of a project per status."""
    rows = con.execute(
        "SELECT status, count(*) FROM examples WHERE project_id = ? AND deleted_at IS NULL GROUP BY status",
        [project_id],
    ).fetchall()
    return dict(rows)


def update_example(
    con: duckdb.DuckDBPyConnection, example_id: int, expected_revision: int, author: str, **changes
) -> int:
    """Apply `changes` if the example is still at `expected_revision`; return the new revision."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValueError(f"cannot edit {sorted(unknown)}")
    before = fetch_example(con, example_id)
    if before is None:
        raise KeyError(f"example {example_id} does not exist")
    if before["revision"] != expected_revision:
        raise StaleRevision(
            f"example {example_id} is at revision {before['revision']}, not {expected_revision}: "
            f"someone else saved it since you opened it"
        )
    after = {**before, **changes}
    new_revision = expected_revision + 1
    con.execute(
        "UPDATE examples SET messages = ?, tags = ?, status = ?, reviewer = ?, revision = ?, "
        "updated_at = current_timestamp WHERE id = ?",
        [json.dumps(after["messages"]), list(after["tags"]), after["status"], after["reviewer"], new_revision, example_id],
    )
    _insert_revision(con, example_id, new_revision, author, _snapshot_of(before), _snapshot_of(after))
    return new_revision


def fetch_revisions(con: duckdb.DuckDBPyConnection, example_id: int) -> list[dict]:
    return fetch_dicts(
        con,
        "SELECT revision, author, changed_at, before, after FROM revisions WHERE example_id = ? ORDER BY revision",
        [example_id],
        ("before", "after"),
    )


def _snapshot_of(row: dict) -> dict:
    return {key: row.get(key) for key in ("messages", "tags", "status", "reviewer")}


def _insert_revision(con, example_id: int, revision: int, author: str, before: dict | None, after: dict) -> None:
    con.execute(
        "INSERT INTO revisions (example_id, revision, author, before, after) VALUES (?, ?, ?, ?, ?)",
        [example_id, revision, author, json.dumps(before, default=list) if before else None, json.dumps(after, default=list)],
    )
