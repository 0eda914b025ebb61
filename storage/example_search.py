"""Finding examples: filters, full-text search, sorting and pages, all in SQL.

Free-text search uses DuckDB's full-text search extension (BM25 over the text of every
message and the external id), loaded offline from the `duckdb-extension-fts` package by
`connect(..., extensions=SEARCH_EXTENSIONS)` before the transaction begins; without it,
search falls back to substring matching and `search_mode` says so.
The FTS index is a snapshot: it is rebuilt when many examples changed since it was
built, and examples changed since then are matched by a substring search instead, so a
search always sees the latest text without a rebuild after every edit.
"""

from __future__ import annotations

import threading

import duckdb

from storage.extensions import extension_loaded, load_extensions
from storage.rows import fetch_dicts

REBUILD_AFTER_CHANGES = 2000
SEARCH_EXTENSIONS = ("fts",)  # what a connection that searches needs loaded
_REBUILDING = threading.Lock()
SORTS = {
    "id": "e.id",
    "updated": "e.updated_at",
    "created": "e.created_at",
    "status": "e.status",
    "author": "e.author",
    "external id": "e.external_id",
}
_TEXT_SQL = (
    "array_to_string(json_extract_string(e.messages, '$[*].content'), ' ') || ' ' || coalesce(e.external_id, '')"
)
_LIST_COLUMNS = (
    "e.id, e.external_id, e.messages, e.tags, e.status, e.author, e.reviewer, e.updated_at, e.revision, e.deleted_at"
)


def where_clause(
    con: duckdb.DuckDBPyConnection,
    project_id: int,
    status: str | None = None,
    tag: str | None = None,
    author: str | None = None,
    finding_kind: str | None = None,
    text: str = "",
    deleted: bool = False,
) -> tuple[str, list]:
    """The WHERE clause (over `examples e`) and its parameters for one filter."""
    clauses = ["e.project_id = ?", "e.deleted_at IS NOT NULL" if deleted else "e.deleted_at IS NULL"]
    params: list = [project_id]
    for column, value in (("e.status", status), ("e.author", author)):
        if value:
            clauses.append(f"{column} = ?")
            params.append(value)
    if tag:
        clauses.append("list_contains(e.tags, ?)")
        params.append(tag)
    if finding_kind:
        clauses.append(
            "EXISTS (SELECT 1 FROM findings f WHERE f.project_id = e.project_id AND f.state = 'open' "
            "AND f.kind = ? AND list_contains(f.example_ids, e.id))"
        )
        params.append(finding_kind)
    if text.strip():
        sql, text_params = _text_clause(con, text)
        clauses.append(sql)
        params += text_params
    return " AND ".join(clauses), params


def fetch_page(
    con: duckdb.DuckDBPyConnection,
    where: tuple[str, list],
    sort: str = "id",
    descending: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> list[dict]:
    """One page of the examples a filter selects, sorted in SQL.

    Two steps: sort and cut the narrow (id, sort key) pairs, then read the page's full
    rows; sorting 100,000 rows with their messages attached is several times slower."""
    order = SORTS.get(sort)
    if order is None:
        raise ValueError(f"cannot sort by {sort!r}; choose one of {', '.join(SORTS)}")
    direction = "DESC" if descending else "ASC"
    sql, params = where
    ids = [
        row[0]
        for row in con.execute(
            f"SELECT e.id FROM examples e WHERE {sql} ORDER BY {order} {direction} NULLS LAST, e.id {direction} "
            "LIMIT ? OFFSET ?",
            [*params, limit, offset],
        ).fetchall()
    ]
    rows = fetch_dicts(
        con, f"SELECT {_LIST_COLUMNS} FROM examples e WHERE e.id IN (SELECT unnest(?))", [ids], ("messages",)
    )
    position = {example_id: index for index, example_id in enumerate(ids)}
    return sorted(rows, key=lambda row: position[row["id"]])


def count_matching(con: duckdb.DuckDBPyConnection, where: tuple[str, list]) -> int:
    sql, params = where
    return con.execute(f"SELECT count(*) FROM examples e WHERE {sql}", params).fetchone()[0]


def fetch_matching_ids(con: duckdb.DuckDBPyConnection, where: tuple[str, list]) -> list[int]:
    sql, params = where
    return [row[0] for row in con.execute(f"SELECT e.id FROM examples e WHERE {sql} ORDER BY e.id", params).fetchall()]


def count_tags(con: duckdb.DuckDBPyConnection, project_id: int) -> dict[str, tuple[int, int]]:
    """Per tag: (live examples, approved examples)."""
    rows = con.execute(
        "SELECT tag, count(*), count(*) FILTER (WHERE status = 'approved') FROM (SELECT unnest(tags) AS tag, status "
        "FROM examples WHERE project_id = ? AND deleted_at IS NULL) GROUP BY tag ORDER BY tag",
        [project_id],
    ).fetchall()
    return {tag: (live, approved) for tag, live, approved in rows}


def fetch_authors(con: duckdb.DuckDBPyConnection, project_id: int) -> list[str]:
    rows = con.execute(
        "SELECT DISTINCT author FROM examples WHERE project_id = ? AND deleted_at IS NULL ORDER BY author", [project_id]
    ).fetchall()
    return [row[0] for row in rows]


def fetch_finding_kinds(con: duckdb.DuckDBPyConnection, project_id: int) -> list[str]:
    rows = con.execute(
        "SELECT DISTINCT kind FROM findings WHERE project_id = ? AND state = 'open' ORDER BY kind", [project_id]
    ).fetchall()
    return [row[0] for row in rows]


def fetch_open_findings_of(con: duckdb.DuckDBPyConnection, example_id: int) -> list[dict]:
    """Open findings that name this example, most certain first."""
    return fetch_dicts(
        con,
        "SELECT id, kind, severity, score, explanation, example_ids FROM findings "
        "WHERE state = 'open' AND list_contains(example_ids, ?) ORDER BY score DESC",
        [example_id],
    )


def search_mode(con: duckdb.DuckDBPyConnection) -> str:
    """'full-text' when the FTS extension loads, else 'substring'."""
    return "full-text" if _load_fts(con) else "substring"


def rebuild_search_index(con: duckdb.DuckDBPyConnection) -> None:
    """Index the text of every example (all projects) for BM25 search."""
    con.execute(
        f"CREATE OR REPLACE TABLE example_text AS SELECT e.id, {_TEXT_SQL} AS body, current_timestamp::TIMESTAMP AS indexed_at "
        "FROM examples e"
    )
    con.execute("PRAGMA create_fts_index('example_text', 'id', 'body', stopwords = 'none', overwrite = 1)")


def _text_clause(con: duckdb.DuckDBPyConnection, text: str) -> tuple[str, list]:
    terms = [f"%{term}%" for term in text.split()]
    substring = " AND ".join(f"({_TEXT_SQL}) ILIKE ?" for _ in terms)
    if not _load_fts(con):
        return f"({substring})", terms
    indexed_at = _fresh_index(con)
    if indexed_at is None:
        return f"({substring})", terms
    # score once into a temp table: the count and the page both read it
    con.execute(
        "CREATE OR REPLACE TEMP TABLE text_hits AS SELECT id FROM (SELECT id, "
        "fts_main_example_text.match_bm25(id, ?, conjunctive := 1) AS score FROM example_text) WHERE score IS NOT NULL",
        [text],
    )
    return (
        f"((e.updated_at <= ? AND e.id IN (SELECT id FROM text_hits)) OR (e.updated_at > ? AND {substring}))",
        [indexed_at, indexed_at, *terms],
    )


def _fresh_index(con: duckdb.DuckDBPyConnection):
    """When the index was built (None: none this transaction can use), rebuilding it if missing or far behind."""
    indexed_at = _indexed_at(con)
    if indexed_at is not None and _changes_since(con, indexed_at) < REBUILD_AFTER_CHANGES:
        return indexed_at
    _rebuild_aside(con)
    # a transaction that began before the rebuild still sees the old index, or none: then substring search
    return _indexed_at(con)


def _indexed_at(con: duckdb.DuckDBPyConnection):
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'example_text' AND schema_name = 'main' "
        "AND database_name = current_database()"
    ).fetchone()[0]
    return con.execute("SELECT max(indexed_at) FROM example_text").fetchone()[0] if exists else None


def _changes_since(con: duckdb.DuckDBPyConnection, indexed_at) -> int:
    return con.execute("SELECT count(*) FROM examples WHERE updated_at > ?", [indexed_at]).fetchone()[0]


def _rebuild_aside(con: duckdb.DuckDBPyConnection) -> None:
    """Rebuild in a transaction of its own, one thread at a time: pages searching at once
    (Streamlit runs sessions in threads) would otherwise both rebuild and conflict."""
    with _REBUILDING:
        side = con.cursor()
        try:
            load_extensions(side, ("fts",))
            side.begin()
            indexed_at = _indexed_at(side)
            if indexed_at is None or _changes_since(side, indexed_at) >= REBUILD_AFTER_CHANGES:
                rebuild_search_index(side)
            side.commit()
        except duckdb.TransactionException:
            side.rollback()  # another process's transaction got there first; the next search rebuilds
        finally:
            side.close()


def _load_fts(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether full-text search is available: the connection was opened with extensions=("fts",)
    (storage.db.connect loads it before the transaction) and the extension loaded."""
    return extension_loaded(con, "fts")
