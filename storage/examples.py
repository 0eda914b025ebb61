"""The examples and revisions tables: every change to an example is a revision."""

from __future__ import annotations

import json

import duckdb
import pyarrow as pa

from storage.rows import fetch_dicts

_COLUMNS = (
    "id, project_id, external_id, messages, tags, source, status, author, reviewer, "
    "created_at, updated_at, revision, reviewed_at, deleted_at, deleted_by, split"
)
# the parts of an example a revision records, as SQL over the examples table
SNAPSHOT_SQL = (
    "json_object('messages', messages, 'tags', tags, 'status', status, 'reviewer', reviewer, "
    "'deleted', deleted_at IS NOT NULL, 'split', split)"
)
EDITABLE = ("messages", "tags", "status", "reviewer", "split")


class StaleRevision(RuntimeError):
    """The example changed since the caller read it."""


def insert_examples(con: duckdb.DuckDBPyConnection, project_id: int, rows: list[dict], author: str) -> list[int]:
    """Insert examples (dicts with messages, tags, status, source, external_id, reviewer, split); return ids.

    Set-based: ids are drawn from the sequence first, then all rows and their first
    revisions go in with one statement each, so an import of 100,000 rows takes seconds.
    """
    if not rows:
        return []
    ids = [row[0] for row in con.execute("SELECT nextval('example_ids') FROM range(?)", [len(rows)]).fetchall()]
    incoming = pa.table(
        {
            "id": ids,
            "external_id": [row.get("external_id") for row in rows],
            "messages": [json.dumps(row["messages"]) for row in rows],
            "tags": pa.array([list(row.get("tags") or []) for row in rows], pa.list_(pa.string())),
            "source": [row.get("source", "editor") for row in rows],
            "status": [row.get("status", "draft") for row in rows],
            "reviewer": pa.array([row.get("reviewer") for row in rows], pa.string()),
            "split": [row.get("split") or "train" for row in rows],
        }
    )
    con.register("incoming_examples", incoming)
    try:
        con.execute(
            "INSERT INTO examples (id, project_id, external_id, messages, tags, source, status, author, reviewer, "
            "reviewed_at, split) SELECT id, ?, external_id, messages::JSON, tags, source, status, ?, reviewer, "
            "CASE WHEN reviewer IS NULL THEN NULL ELSE current_timestamp END, split FROM incoming_examples",
            [project_id, author],
        )
    finally:
        con.unregister("incoming_examples")
    con.execute(
        f"INSERT INTO revisions (example_id, revision, author, before, after) SELECT id, 1, ?, NULL, {SNAPSHOT_SQL} "
        "FROM examples WHERE id IN (SELECT unnest(?))",
        [author, ids],
    )
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


def fetch_example(con: duckdb.DuckDBPyConnection, example_id: int, include_deleted: bool = False) -> dict | None:
    live = "" if include_deleted else " AND deleted_at IS NULL"
    rows = fetch_dicts(con, f"SELECT {_COLUMNS} FROM examples WHERE id = ?{live}", [example_id], ("messages",))
    return rows[0] if rows else None


def count_examples(con: duckdb.DuckDBPyConnection, project_id: int) -> dict[str, int]:
    """Count live examples of a project per status."""
    rows = con.execute(
        "SELECT status, count(*) FROM examples WHERE project_id = ? AND deleted_at IS NULL GROUP BY status",
        [project_id],
    ).fetchall()
    return dict(rows)


def count_by_split(con: duckdb.DuckDBPyConnection, project_id: int) -> dict[tuple[str, str], int]:
    """Count live examples of a project per (split, status)."""
    rows = con.execute(
        "SELECT split, status, count(*) FROM examples WHERE project_id = ? AND deleted_at IS NULL GROUP BY ALL",
        [project_id],
    ).fetchall()
    return {(split, status): n for split, status, n in rows}


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
    reviewed = "current_timestamp" if "reviewer" in changes else "reviewed_at"
    con.execute(
        "UPDATE examples SET messages = ?, tags = ?, status = ?, reviewer = ?, split = ?, revision = ?, "
        f"updated_at = current_timestamp, reviewed_at = {reviewed} WHERE id = ?",
        [
            json.dumps(after["messages"]),
            list(after["tags"]),
            after["status"],
            after["reviewer"],
            after["split"],
            new_revision,
            example_id,
        ],
    )
    _insert_revision(con, example_id, new_revision, author, _snapshot_of(before), _snapshot_of(after))
    return new_revision


def set_deleted(
    con: duckdb.DuckDBPyConnection, project_id: int, example_ids: list[int], author: str, deleted: bool
) -> int:
    """Move a project's examples to the trash (or back), one revision each; return how many changed."""
    state = "deleted_at IS NULL" if deleted else "deleted_at IS NOT NULL"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE changing AS SELECT id, revision + 1 AS revision, {SNAPSHOT_SQL} AS before "
        f"FROM examples WHERE id IN (SELECT unnest(?)) AND project_id = ? AND {state}",
        [example_ids, project_id],
    )
    stamp = "current_timestamp, deleted_by = ?" if deleted else "NULL, deleted_by = ?"
    con.execute(
        f"UPDATE examples SET deleted_at = {stamp}, revision = revision + 1, updated_at = current_timestamp "
        "WHERE id IN (SELECT id FROM changing)",
        [author if deleted else None],
    )
    return record_revisions(con, author)


def record_revisions(con: duckdb.DuckDBPyConnection, author: str) -> int:
    """One revision per row of the temp table `changing` (id, revision, before), after = the row now."""
    con.execute(
        f"INSERT INTO revisions (example_id, revision, author, before, after) "
        f"SELECT e.id, c.revision, ?, c.before, {SNAPSHOT_SQL} FROM changing c "
        f"JOIN examples e ON e.id = c.id",
        [author],
    )
    return con.execute("SELECT count(*) FROM changing").fetchone()[0]


def fetch_revisions(con: duckdb.DuckDBPyConnection, example_id: int) -> list[dict]:
    return fetch_dicts(
        con,
        "SELECT revision, author, changed_at, before, after FROM revisions WHERE example_id = ? ORDER BY revision",
        [example_id],
        ("before", "after"),
    )


def _snapshot_of(row: dict) -> dict:
    snapshot = {key: row.get(key) for key in ("messages", "tags", "status", "reviewer", "split")}
    return {**snapshot, "deleted": row.get("deleted_at") is not None}


def _insert_revision(con, example_id: int, revision: int, author: str, before: dict | None, after: dict) -> None:
    con.execute(
        "INSERT INTO revisions (example_id, revision, author, before, after) VALUES (?, ?, ?, ?, ?)",
        [
            example_id,
            revision,
            author,
            json.dumps(before, default=list) if before else None,
            json.dumps(after, default=list),
        ],
    )
