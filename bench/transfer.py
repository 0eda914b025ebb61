"""Benchmark import and export on CLINC150: dry run, import, re-import, every export format and back.

Run it (from the repository root):

    .venv/bin/python bench/transfer.py --clinc ../shared/datasets/clinc150/data_full.json [--rows N] [--json]

It writes CLINC150's training rows (Larson et al. 2019, CC BY 3.0; 15,000 utterances
labelled with 150 intents) as a CSV (id, text, intent, domain), then, in a fresh data
home with a real DuckDB file, times: the dry run of that CSV into a labels project
(every answer checked against the 150 labels), the all-or-nothing import, the same
import again (every row found already there), and for each export format the export of
all the imported examples and the dry run of importing that export into an empty
project. Results go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from machine import describe_machine


def load_clinc_frame(path: Path, rows: int) -> pd.DataFrame:
    """CLINC150's training rows as a frame with an id, the text, its intent and its domain."""
    data = json.loads(path.read_text())
    domains = json.loads((path.parent / "domains.json").read_text()) if (path.parent / "domains.json").exists() else {}
    domain_of = {intent: domain for domain, intents in domains.items() for intent in intents}
    frame = pd.DataFrame(data["train"][:rows], columns=["text", "intent"])
    frame.insert(0, "id", [f"clinc-{n:05d}" for n in range(len(frame))])
    frame["domain"] = frame["intent"].map(domain_of).fillna("")
    return frame


def timed(action) -> tuple[float, object]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def run(clinc: Path, rows: int) -> dict:
    """Every measurement, in a throw-away data home."""
    with tempfile.TemporaryDirectory() as folder:
        os.environ["STUDIO_HOME"] = str(Path(folder) / "home")
        from studio.paths import db_path
        from studio.project.projects import ensure_project
        from studio.transfer.imports import ImportOptions, import_file, plan_import
        from studio.transfer.writers import EXPORT_FORMATS, export_examples

        frame = load_clinc_frame(clinc, rows)
        source = Path(folder) / "clinc.csv"
        frame.to_csv(source, index=False)
        spec = {"kind": "labels", "labels": sorted(frame["intent"].unique())}
        db, options = db_path(), ImportOptions(remap="output=intent,tags=domain", status="approved")
        project = ensure_project(db, "clinc", "Name the intent.", spec)
        results = {"rows": len(frame)}
        results["dry_run_s"], plan = timed(lambda: plan_import(db, project, source, options))
        assert len(plan.new) == len(frame) and not plan.bad_rows, plan.summary()["bad_rows"][:3]
        results["import_s"], counts = timed(lambda: import_file(db, project, source, "bench", options))
        results["reimport_s"], again = timed(lambda: import_file(db, project, source, "bench", options))
        assert counts["imported"] == again["skipped"] == len(frame)
        empty = ensure_project(db, "clinc-copy", "Name the intent.", spec)
        for format in EXPORT_FORMATS:
            out = Path(folder) / ("export" if format == "hf" else f"export.{format}")
            results[f"export_{format}_s"], written = timed(lambda: export_examples(db, project, out, format))
            results[f"plan_{format}_s"], back = timed(
                lambda: plan_import(db, empty, out, ImportOptions(status="from-file"))
            )
            assert written == len(back.new) == len(frame) and not back.bad_rows
        return results


def print_table(results: dict) -> None:
    rows = results["rows"]
    print(f"{rows} CLINC150 rows")
    for key, value in results.items():
        if key.endswith("_s"):
            print(f"  {key[:-2]:16} {value:7.2f} s   {rows / value:9,.0f} rows/s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clinc", type=Path, required=True, help="CLINC150's data_full.json")
    parser.add_argument("--rows", type=int, default=15_000, help="how many training rows to use (default all 15,000)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    results = {"machine": describe_machine(), **run(args.clinc, args.rows)}
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print_table({k: v for k, v in results.items() if k != "machine"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
