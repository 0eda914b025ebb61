"""The demo project: Northwind Cloud support tickets triaged into JSON.

Its data lives in studio/demo/ (see the README there, which also lists the duplicates
and contradictions planted for the checks to find).
"""

from __future__ import annotations

import json
from pathlib import Path

from studio.project.projects import Project, ensure_project, list_projects, update_project_settings
from studio.transfer.imports import FROM_FILE, import_jsonl

DEMO_DIR = Path(__file__).parent / "demo"
DEMO_NAME = "demo"


def load_demo(db: Path) -> tuple[Project, dict]:
    """Create the demo project (when missing) and import its examples with their statuses."""
    settings = json.loads((DEMO_DIR / "project.json").read_text())
    project = ensure_project(db, DEMO_NAME, settings["description"], settings["output_spec"])
    if not project.coverage_targets:
        project = update_project_settings(db, project, coverage_targets=settings["coverage_targets"])
    counts = import_jsonl(db, project, DEMO_DIR / "tickets.jsonl", author="demo", status=FROM_FILE)
    return project, counts


def load_demo_if_empty(db: Path) -> bool:
    """Load the demo when the data home has no project yet, archived ones included; return whether it did."""
    if list_projects(db, include_archived=True):
        return False
    load_demo(db)
    return True
