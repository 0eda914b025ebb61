"""DuckDB extensions on a fresh machine: loaded from the packaged files, never from a home folder.

Each case runs in a fresh process with an empty HOME (so no `~/.duckdb/extensions/` can help)
and its own data home, the way a newcomer's first `make run` meets the database.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from studio.paths import SOURCE_ROOT

SEARCH = textwrap.dedent("""
    import json, sys
    from studio.demo import load_demo
    from studio.paths import db_path
    from studio.dataset.search import ExampleFilter, browse, find_examples, overview
    project, _ = load_demo(db_path())
    summary, page = browse(db_path(), project, ExampleFilter(text="charged twice"))
    again = find_examples(db_path(), project, ExampleFilter(status="approved"))
    print(json.dumps({"mode": summary.search_mode, "found": page.total, "approved": again.total,
                      "words": all("charged" in json.dumps(r["messages"]).lower() for r in page.rows)}))
""")


def _run(tmp_path, extra_path: str = "") -> dict:
    home = tmp_path / "empty-home"
    home.mkdir()
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "STUDIO_HOME": str(tmp_path / "data"),
        "PYTHONPATH": os.pathsep.join(p for p in (extra_path, str(SOURCE_ROOT)) if p),
    }
    done = subprocess.run([sys.executable, "-c", SEARCH], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert not (home / ".duckdb").exists(), "the studio wrote DuckDB extensions into the home folder"
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_full_text_search_works_with_an_empty_home_folder(tmp_path):
    result = _run(tmp_path)
    assert result["mode"] == "full-text"
    assert result["found"] > 0 and result["words"]
    assert result["approved"] > 0  # the connection is still usable after the search


def test_without_the_extension_search_falls_back_to_substrings_and_nothing_breaks(tmp_path):
    # a duckdb_extension_fts package that ships no file for this DuckDB version, first on the path
    stand_in = tmp_path / "site"
    (stand_in / "duckdb_extension_fts").mkdir(parents=True)
    (stand_in / "duckdb_extension_fts" / "__init__.py").write_text("")
    result = _run(tmp_path, str(stand_in))
    assert result["mode"] == "substring"
    assert result["found"] > 0 and result["words"]
    assert result["approved"] > 0
