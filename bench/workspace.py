"""Benchmark the expert workspace at 100,000 examples: one filtered, sorted page, and bulk actions.

Run it (from the repository root):

    .venv/bin/python bench/workspace.py [--examples 100000] [--bulk 50000] [--repeats 7] [--json]

It builds a real DuckDB file in a temporary data home with one project of N examples
(the demo's 247 support tickets, each repeated with a numbered variation, spread over the
four statuses, their own tags plus a `batch-k` tag), then measures, with the database
warm:
- the server time of the Examples page (pages/examples.py run by Streamlit's AppTest,
  the whole script: counts, tag progress, filters, the page of rows) for several
  filters and sorts, and the studio.dataset.search.find_examples call alone;
- bulk actions over `--bulk` selected examples (every one gets its own revision):
  add a tag, set a status (with every answer checked against the JSON schema first),
  move to the trash and restore.
Each timing is the median of --repeats runs (bulk actions run once each: they change the
data). Results go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from machine import describe_machine

ROOT = Path(__file__).resolve().parent.parent
STATUS_CYCLE = ["approved"] * 6 + ["submitted"] * 2 + ["draft", "rejected"]
FILTERS = {
    "status=approved, sorted by last update (newest first)": ({"status": "approved"}, "updated", True),
    "tag=billing and author, sorted by external id": ({"tag": "billing", "author": "bench"}, "external id", False),
    "full-text 'charged twice', sorted by id": ({"text": "charged twice"}, "id", False),
    "no filter, sorted by status, page 1,000": ({}, "status", False),
}


def build_project(db: Path, n: int):
    """A project of n examples made from the demo tickets; returns (project, seconds)."""
    from storage import examples as example_table
    from storage.db import connect
    from studio.demo import DEMO_DIR
    from studio.project.projects import ensure_project

    settings = json.loads((DEMO_DIR / "project.json").read_text())
    project = ensure_project(db, "bench", settings["description"], settings["output_spec"])
    tickets = [json.loads(line) for line in (DEMO_DIR / "tickets.jsonl").read_text().splitlines() if line.strip()]
    rows = []
    for i in range(n):
        ticket = tickets[i % len(tickets)]
        messages = [dict(m) for m in ticket["messages"]]
        messages[-2]["content"] += f" (case {i})"
        rows.append(
            {
                "messages": messages,
                "tags": [*ticket.get("tags", []), f"batch-{i % 10}"],
                "status": STATUS_CYCLE[i % len(STATUS_CYCLE)],
                "external_id": f"B-{i:06d}",
                "source": "bench",
            }
        )
    started = time.perf_counter()
    with connect(db) as con:
        for start in range(0, n, 20_000):
            example_table.insert_examples(con, project.id, rows[start : start + 20_000], "bench")
    return project, time.perf_counter() - started


def median_seconds(action, repeats: int) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds of this process (all its threads) per call.

    On a machine shared with other work, wall time grows while CPU time stays: CPU well
    under wall means the run waited for cores."""
    walls, cpus = [], []
    for _ in range(repeats):
        started, cpu = time.perf_counter(), time.process_time()
        action()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def time_pages(db: Path, project, repeats: int) -> list[dict]:
    from streamlit.testing.v1 import AppTest

    from studio.dataset.search import ExampleFilter, PageRequest, find_examples

    results = []
    for name, (fields, sort, descending) in FILTERS.items():
        page = 1000 if "page 1,000" in name else 1
        chosen = ExampleFilter(**fields)
        call, _ = median_seconds(
            lambda: find_examples(db, project, chosen, PageRequest(sort, descending, page, 25)), repeats
        )
        app = AppTest.from_file(str(ROOT / "pages" / "examples.py"), default_timeout=120)
        app.session_state["project"] = project
        app.run()
        _set_filter(app, fields, sort, descending, page)
        script, script_cpu = median_seconds(lambda: app.run(), repeats)
        assert not app.exception, app.exception
        total = find_examples(db, project, chosen, PageRequest(page_size=1)).total
        results.append(
            {
                "filter": name,
                "matching": total,
                "page_script_ms": round(script * 1000, 1),
                "page_script_cpu_ms": round(script_cpu * 1000, 1),
                "find_examples_ms": round(call * 1000, 1),
            }
        )
    return results


def _set_filter(app, fields: dict, sort: str, descending: bool, page: int) -> None:
    keys = {"status": "filter_status", "tag": "filter_tag", "author": "filter_author"}
    for field, value in fields.items():
        if field == "text":
            app.text_input(key="search_text").input(value)
        else:
            app.selectbox(key=keys[field]).select(value)
    app.selectbox(key="sort_by").select(sort)
    app.toggle(key="sort_desc").set_value(descending)
    app.run()
    app.number_input(key="page").set_value(page)


def time_bulk(db: Path, project, n_bulk: int) -> list[dict]:
    from studio.dataset.bulk import apply_bulk
    from studio.dataset.examples import restore_examples
    from studio.dataset.search import ExampleFilter, matching_ids

    ids = matching_ids(db, project, ExampleFilter())[:n_bulk]
    from storage import bulk as bulk_table
    from storage.db import connect

    with connect(db) as con:
        bulk_table.add_tag(con, ids, "selected", "bench")
    chosen = ExampleFilter(tag="selected")
    results = []
    for action, value in (("add tag", "reviewed-2026"), ("set status", "approved"), ("delete", "")):
        started = time.perf_counter()
        result = apply_bulk(db, project, chosen, action, value, "bench")
        results.append(
            {
                "action": f"{action} {value}".strip(),
                "selected": result.selected,
                "changed": result.changed,
                "skipped": len(result.skipped),
                "seconds": round(time.perf_counter() - started, 2),
            }
        )
    started = time.perf_counter()
    restored = restore_examples(db, project, matching_ids(db, project, ExampleFilter(deleted=True)), "bench")
    results.append(
        {
            "action": "restore from the trash",
            "selected": restored,
            "changed": restored,
            "skipped": 0,
            "seconds": round(time.perf_counter() - started, 2),
        }
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100_000)
    parser.add_argument("--bulk", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ["STUDIO_HOME"] = tempfile.mkdtemp(prefix="bench-workspace-")
    from studio.dataset.search import ExampleFilter, find_examples
    from studio.paths import db_path

    db = db_path()
    project, build_seconds = build_project(db, args.examples)
    started = time.perf_counter()
    find_examples(db, project, ExampleFilter(text="warm up the index"))
    index_seconds = time.perf_counter() - started
    report = {
        "machine": describe_machine(),
        "examples": args.examples,
        "insert_seconds": round(build_seconds, 2),
        "fts_index_seconds": round(index_seconds, 2),
        "database_mb": round(db.stat().st_size / 2**20, 1),
        "pages": time_pages(db, project, args.repeats),
        "bulk": time_bulk(db, project, args.bulk),
    }
    print(json.dumps(report, indent=2) if args.json else render(report))


def render(report: dict) -> str:
    lines = [
        f"{report['examples']:,} examples inserted in {report['insert_seconds']} s; full-text index built in "
        f"{report['fts_index_seconds']} s; database {report['database_mb']} MB",
        f"machine: {report['machine']['cpu_cores']} cores, {report['machine']['cpu_model']}",
        "",
        f"{'filter':58} {'matching':>9} {'page ms':>8} {'page cpu ms':>12} {'query ms':>9}",
    ]
    for row in report["pages"]:
        lines.append(
            f"{row['filter']:58} {row['matching']:>9,} {row['page_script_ms']:>8} "
            f"{row['page_script_cpu_ms']:>12} {row['find_examples_ms']:>9}"
        )
    lines += ["", f"{'bulk action':28} {'selected':>9} {'changed':>8} {'skipped':>8} {'seconds':>8}"]
    for row in report["bulk"]:
        lines.append(
            f"{row['action']:28} {row['selected']:>9,} {row['changed']:>8,} {row['skipped']:>8} {row['seconds']:>8}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
