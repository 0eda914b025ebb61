"""`studio project ...`: create, change, show and list projects from the command line.

    studio project create NAME [--description TEXT] [--labels A,B,C | --json-schema FILE | --regex P | --text]
                               [--base-model M] [--guidelines FILE]
    studio project set NAME [the same options] [--rename NEW] [--rename-label OLD=NEW ...] [--archive | --restore]
    studio project show NAME [--json]
    studio project list [--all] [--json]

The command line acts as the local admin, like the rest of `studio`.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from studio.paths import db_path


def spec_from_args(args) -> dict | None:
    """The output spec the options ask for, or None when they name none."""
    if args.labels is not None:
        return {"kind": "labels", "labels": [label.strip() for label in args.labels.split(",") if label.strip()]}
    if args.json_schema:
        try:
            schema = json.loads(Path(args.json_schema).read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ValueError(f"{args.json_schema}: not valid JSON ({error.msg} at line {error.lineno})") from None
        return {"kind": "json", "schema": schema}
    if args.regex is not None:
        return {"kind": "regex", "pattern": args.regex}
    return {"kind": "text"} if args.text else None


def _task_changes(args) -> dict:
    changes = {}
    if args.description is not None:
        changes["description"] = args.description.strip()
    spec = spec_from_args(args)
    if spec is not None:
        changes["output_spec"] = spec
    if args.base_model:
        changes["base_model"] = args.base_model.strip()
    if args.guidelines:
        changes["guidelines"] = Path(args.guidelines).read_text(encoding="utf-8")
    return changes


def _show(args, project, extra: dict | None = None) -> int:
    from studio.cli.output import emit

    document = {**project.summary(), **(extra or {})}
    spec = project.output_spec
    shape = {"labels": ", ".join(spec.labels), "json": "a JSON schema", "regex": spec.pattern, "text": "free text"}[
        spec.kind
    ]
    lines = [
        f"{project.name}{' (archived)' if project.archived else ''}",
        f"  format: {spec.kind}: {shape}",
        f"  base model: {project.base_model}",
        f"  description: {project.description or '(none)'}",
    ]
    if project.guidelines:
        lines.append(f"  guidelines: {len(project.guidelines.splitlines())} lines")
    counts = (extra or {}).get("examples")
    if counts:
        lines.append(
            "  examples: "
            + ", ".join(f"{split} {c['total']} ({c['approved']} approved)" for split, c in counts.items())
            + ("" if counts["test"]["approved"] else "; no test set: runs hold out the seeded 10% split")
        )
    lines += [f"  {key}: {value}" for key, value in (extra or {}).items() if key != "examples"]
    emit(args, document, "\n".join(lines))
    return 0


def _example_counts(db, project) -> dict:
    """Live examples in training and in the test set, each in all and approved (what a run uses)."""
    from studio.dataset.examples import count_by_split

    counts = count_by_split(db, project)
    return {split: {"total": sum(by.values()), "approved": by["approved"]} for split, by in counts.items()}


def cmd_project(args) -> int:
    from studio.cli.output import emit
    from studio.project.projects import archive_project, create_project, get_project, list_projects, rename_project
    from studio.project.taskdef import rename_label, set_task

    db = db_path()
    if args.action == "create":
        changes = _task_changes(args)
        return _show(args, create_project(db, args.name, actor=None, **changes))
    if args.action == "list":
        projects = list_projects(db, include_archived=args.all)
        emit(
            args,
            [p.summary() for p in projects],
            "\n".join(f"{p.name}\t{p.output_spec.kind}{'  (archived)' if p.archived else ''}" for p in projects)
            or "no projects",
        )
        return 0
    project = get_project(db, args.name)
    if args.action == "show":
        return _show(args, project, {"examples": _example_counts(db, project)})
    extra: dict = {}
    if args.rename:
        project = rename_project(db, project, args.rename)
    for pair in args.rename_label or []:
        old, sep, new = pair.partition("=")
        if not sep:
            raise ValueError(f"--rename-label {pair}: write OLD=NEW")
        change = rename_label(db, project, old.strip(), new.strip(), os.environ.get("USER", "cli"))
        project, extra["relabelled_examples"] = change.project, extra.get("relabelled_examples", 0) + change.relabelled
        extra["format_breaks"] = change.format_breaks
    changes = _task_changes(args)
    change = set_task(db, project, None, **changes)
    project = change.project
    if "output_spec" in changes:
        extra["format_breaks"] = change.format_breaks
    if args.archive or args.restore:
        project = archive_project(db, project, archived=args.archive)
    return _show(args, project, extra)


def add_project_parser(add) -> None:
    """Register `studio project` and its actions through the CLI's `add` (which gives --json and help)."""
    sub = add(
        "project",
        cmd_project,
        "Create, change, show and list projects: the task description, output format, guidelines and base model.",
    )
    actions = sub.add_subparsers(dest="action", required=True, metavar="ACTION")

    def action(name: str, help_text: str) -> argparse.ArgumentParser:
        parser = actions.add_parser(name, help=help_text, description=help_text)
        # SUPPRESS: a --json given before the action is not reset by the action's own default
        parser.add_argument(
            "--json", action="store_true", default=argparse.SUPPRESS, help="print one JSON document on stdout"
        )
        return parser

    for name, help_text in (
        ("create", "Create a project with its task."),
        ("set", "Change a project's task, name or archive state."),
    ):
        parser = action(name, help_text)
        parser.add_argument("name", help="the project's name")
        _task_options(parser)
        if name == "set":
            parser.add_argument("--rename", metavar="NEW", help="give the project a new name")
            parser.add_argument(
                "--rename-label",
                action="append",
                metavar="OLD=NEW",
                help="rename a label, rewriting the examples that use it as revisions; a NEW that is "
                "already a label merges OLD into it (repeatable)",
            )
            state = parser.add_mutually_exclusive_group()
            state.add_argument("--archive", action="store_true", help="archive the project (soft: nothing is deleted)")
            state.add_argument("--restore", action="store_true", help="bring an archived project back")
    parser = action("show", "Show a project's task: description, output format, base model, guidelines.")
    parser.add_argument("name", help="the project's name")
    parser = action("list", "List the projects.")
    parser.add_argument("--all", action="store_true", help="archived projects too")


def _task_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--description", help="the task description: the system prompt every example without its own gets"
    )
    spec = parser.add_mutually_exclusive_group()
    spec.add_argument("--labels", metavar="A,B,C", help="answers are exactly one of these labels (comma separated)")
    spec.add_argument("--json-schema", metavar="FILE", help="answers are JSON valid under the JSON Schema in FILE")
    spec.add_argument("--regex", metavar="PATTERN", help="answers match this regular expression in full")
    spec.add_argument("--text", action="store_true", help="answers are free text")
    parser.add_argument(
        "--base-model", help="the base model: the default folder name, an HF model folder or a cached hub id"
    )
    parser.add_argument(
        "--guidelines", metavar="FILE", help="annotation guidelines (markdown) shown beside every example"
    )
