"""Soak: 20 browser sessions reading and writing at once against one server for minutes; every write counted.

Run it (from the repository root; Debian's Chromium and the dev extras, as for the browser tests):

    .venv/bin/python bench/load.py [--sessions 20] [--seconds 300] [--json]

The same sessions as tests/test_load.py (tests/load_kit.py drives them), for --seconds instead of one
round each: every session searches the Examples page, then saves a new marked example on the Write
page, with a 1 s pause after each, until the time is up (it finishes the round it is in). It prints the
reads and confirmed writes per minute, the marked examples in the database and how busy the cores were,
and exits 1 on any problem: an exception box, a traceback in the server log, or a confirmed write
missing from the database. Figures go to docs/reliability.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from machine import CoresBusy, describe_machine

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from load_kit import run_load  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20, help="concurrent browser sessions (default 20)")
    parser.add_argument("--seconds", type=float, default=300, help="seconds of load (default 300)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    busy = CoresBusy()
    with tempfile.TemporaryDirectory(prefix="studio-load-") as root:
        result = run_load(Path(root), args.sessions, args.seconds)
    figures = {
        "machine": describe_machine(),
        "cores_busy": busy.stop(),
        "sessions": args.sessions,
        "seconds": round(result.elapsed),
        "reads": result.reads,
        "confirmed_writes": result.writes,
        "in_database": result.stored,
        "traceback_in_log": "Traceback" in result.log,
        "problems": result.problems[:20],
    }
    print(json.dumps(figures, indent=2) if args.json else result.summary())
    failed = figures["problems"] or figures["traceback_in_log"] or result.stored != result.writes
    for problem in figures["problems"]:
        print(problem, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
