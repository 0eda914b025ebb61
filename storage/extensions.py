"""DuckDB extensions, loaded offline from the packaged files, outside any transaction.

The studio never lets DuckDB download an extension (no extension server is reachable on
an air-gapped machine) and never depends on what a home folder's `~/.duckdb/extensions/`
happens to hold. Full-text search comes from the PyPI package `duckdb-extension-fts`: its
file is found once per process and loaded straight from the package into each connection
that asks for it, before that connection begins a transaction. A failed LOAD inside a
transaction would abort it and every later query of the connection; outside one it costs
nothing but the feature, and search falls back to substring matching.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import threading
from pathlib import Path

import duckdb

log = logging.getLogger(__name__)
_UNAVAILABLE: set[str] = set()
_LOCK = threading.Lock()


@functools.cache
def packaged_extension(name: str, version: str) -> Path | None:
    """The extension file shipped by the `duckdb-extension-NAME` package for this DuckDB version."""
    spec = importlib.util.find_spec(f"duckdb_extension_{name}")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "extensions" / version / f"{name}.duckdb_extension"
    return path if path.is_file() else None


def load_extensions(con: duckdb.DuckDBPyConnection, names: tuple[str, ...]) -> None:
    """Load each extension into `con`, which must not be inside a transaction.

    An extension that cannot load is remembered for the rest of the process (one warning),
    and `extension_loaded` says False for it; nothing is raised."""
    for name in names:
        if name in _UNAVAILABLE or extension_loaded(con, name):
            continue
        try:
            con.execute(f"LOAD '{_extension_file(con, name)}'")
        except (duckdb.Error, FileNotFoundError) as error:
            with _LOCK:
                if name not in _UNAVAILABLE:
                    log.warning("DuckDB extension %s is unavailable (%s); falling back", name, error)
                _UNAVAILABLE.add(name)


def extension_loaded(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether `name` is loaded in this connection's database (a plain catalog query: never fails)."""
    row = con.execute("SELECT loaded FROM duckdb_extensions() WHERE extension_name = ?", [name]).fetchone()
    return bool(row and row[0])


def _extension_file(con: duckdb.DuckDBPyConnection, name: str) -> str:
    version = con.execute("PRAGMA version").fetchone()[0]
    path = packaged_extension(name, version)
    if path is None:
        raise FileNotFoundError(f"the package duckdb-extension-{name} for DuckDB {version} is not installed")
    return str(path).replace("'", "''")


def forget_unavailable() -> None:
    """Try unavailable extensions again (tests that install or remove one)."""
    _UNAVAILABLE.clear()
    packaged_extension.cache_clear()
