"""`studio setup|demo|import|export|check`: the examples of a project, in and out, and their checks."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from studio.cli.output import emit
from studio.paths import db_path

if TYPE_CHECKING:  # the CLI imports its heavy modules inside the commands, so that --help stays quick
    from studio.checks.findings import StoredFinding


def cmd_setup(args) -> int:
    """Convert the packaged default model into an HF folder (idempotent)."""
    from studio.models.loading import ensure_default_model

    path = ensure_default_model()
    emit(args, {"model": str(path)}, f"default model ready at {path}")
    return 0


def cmd_demo(args) -> int:
    from studio.demo import load_demo

    project, counts = load_demo(db_path())
    emit(
        args,
        {"project": project.name, **counts},
        f"demo project {project.name!r}: {counts['imported']} imported, {counts['skipped']} already there",
    )
    return 0


def cmd_import(args) -> int:
    from studio.transfer.imports import ImportOptions, import_inferring, plan_import, project_or_blank, propose_for_plan

    options = ImportOptions(
        format=args.format,
        remap=args.map or "",
        split=args.dataset_split or args.split,
        status=args.status,
        into=args.split,
    )
    if args.dry_run:
        project = project_or_blank(db_path(), args.project)
        plan = plan_import(db_path(), project, Path(args.file), options)
        proposal = None if args.no_infer else propose_for_plan(db_path(), project, plan)
        summary = {**plan.summary(), "inferred": proposal.summary() if proposal else None}
        emit(args, {"project": args.project, "dry_run": True, **summary}, _describe_plan(summary))
        return 1 if plan.bad_rows else 0
    done = import_inferring(db_path(), args.project, Path(args.file), args.author, options, infer=not args.no_infer)
    text = f"{done['imported']} imported into {done['project']}, {done['skipped']} already there"
    emit(args, done, "\n".join([text, *_describe_inferred(done["inferred"])]))
    return 0


def _describe_inferred(inferred: dict | None) -> list[str]:
    if not inferred:
        return []
    lines = [f"inferred format: {inferred['reason']}"]
    if inferred["label_counts"]:
        lines.append("  " + ", ".join(f"{label} ({n})" for label, n in inferred["label_counts"].items()))
    if inferred["description"]:
        lines.append(
            f"inferred task description (the system message of {inferred['description_rows']} of "
            f"{inferred['rows']} rows): {inferred['description'][:200]}"
        )
    return lines


def _describe_plan(summary: dict) -> str:
    mapping = ", ".join(f"{part}={column}" for part, column in summary["mapping"].items())
    lines = [
        f"dry run, nothing written: {summary['rows']} rows in {summary['file']} ({summary['format']}): "
        f"{summary['new']} new, {summary['skipped']} already there, {summary['bad']} bad",
        f"mapping: {mapping}",
    ]
    lines += [f"  {b['where']} {b['number']}: {b['reason']}" for b in summary["bad_rows"]]
    return "\n".join(lines + _describe_inferred(summary.get("inferred")))


def cmd_export(args) -> int:
    from studio.project.projects import get_project
    from studio.transfer.writers import export_examples, export_format_of

    out = args.out or args.file
    if not out:
        raise ValueError("say where to write the export: --out PATH")
    status = None if args.status == "all" else args.status
    format = args.format or export_format_of(Path(out))
    count = export_examples(db_path(), get_project(db_path(), args.project), Path(out), format, status, args.tag)
    emit(args, {"file": out, "format": format, "exported": count}, f"{count} examples written to {out} ({format})")
    return 0


def cmd_check(args) -> int:
    from studio.checks.runner import KINDS, CheckConfig, run_project_checks
    from studio.project.projects import get_project

    config = CheckConfig(
        near_duplicate_similarity=args.near_duplicate_similarity, contradiction_similarity=args.contradiction_similarity
    )
    run = run_project_checks(db_path(), get_project(db_path(), args.project), config)
    findings = [_finding_document(f) for f in run.findings]
    document = {
        "project": args.project,
        "examples": run.examples,
        "embedded": run.embedded,
        "compared": run.compared,
        "already_decided": run.already_decided,
        "seconds": round(run.seconds, 3),
        "kinds": {kind: sum(f["kind"] == kind for f in findings) for kind in KINDS},
        "findings": findings,
    }
    lines = [
        f"{f['severity']:8} {f['kind']:15} {f['score']:.2f} {', '.join(f['external_ids']) or '(dataset)'}: {f['message']}"
        for f in findings
    ]
    emit(args, document, "\n".join(lines) or "no findings")
    return 0


def _finding_document(finding: StoredFinding) -> dict:
    """A finding as the CLI reports it: kind, severity, score, its examples' external ids, a message."""
    row = finding.to_dict()
    return {
        **{name: row[name] for name in ("id", "kind", "severity", "score")},
        "external_ids": [str(e["external_id"] or e["id"]) for e in row["examples"]],
        "message": row["explanation"],
        "examples": row["examples"],
    }


def add_data_commands(add) -> None:
    """Register these commands through `add(name, handler, help)` (studio.cli.main's helper)."""
    from studio.transfer.columns import PARTS
    from studio.transfer.readers import FORMATS
    from studio.transfer.writers import EXPORT_FORMATS

    add("setup", cmd_setup, "Prepare the packaged default base model (run once by `make install`).")
    add("demo", cmd_demo, "Load the demo project, named demo (support tickets triaged into JSON).")
    sub = add(
        "import",
        cmd_import,
        "Import examples from OpenAI chat, prompt/completion or Alpaca JSONL, CSV, Parquet or a datasets folder.",
    )
    sub.add_argument(
        "file",
        help="the file (or Hugging Face datasets folder, or a zip of one); a row's own id is kept as its external id",
    )
    sub.add_argument("--project", required=True, help="project to import into; created when it does not exist")
    sub.add_argument("--format", choices=FORMATS, help="how to read the file (default: from its name and columns)")
    sub.add_argument(
        "--map",
        help="which column holds what, over the guessed mapping: e.g. input=question,output=answer,tags=labels "
        f"(parts: {', '.join(PARTS)})",
    )
    sub.add_argument(
        "--split",
        choices=["train", "test"],
        default="train",
        help="test: the examples join the project's test set, held out for good (never trained on, never a few-shot "
        "example; evaluation uses the test set when there is one); default train",
    )
    sub.add_argument(
        "--dataset-split",
        help="the split to take from a datasets folder with several (default: the same name as --split)",
    )
    sub.add_argument(
        "--status",
        choices=["draft", "submitted", "approved", "rejected", "from-file"],
        help="status of the imported examples (default draft; from-file keeps each row's status)",
    )
    sub.add_argument("--author", default=os.environ.get("USER", "cli"), help="who the examples are recorded under")
    sub.add_argument(
        "--dry-run",
        action="store_true",
        help="write nothing: count new, already there and bad rows, list every bad row",
    )
    sub.add_argument(
        "--no-infer",
        action="store_true",
        help="keep the project's task as it is: do not set the description and format the data suggests "
        "(inferred only for a new project, or one whose format is still free text)",
    )
    sub = add(
        "export", cmd_export, "Export a project's examples as OpenAI chat JSONL, a datasets folder, Parquet or CSV."
    )
    sub.add_argument("file", nargs="?", help="where to write (same as --out)")
    sub.add_argument("--out", help="where to write: a .jsonl, .parquet or .csv file, or a folder for hf")
    sub.add_argument("--project", required=True, help="project to export")
    sub.add_argument(
        "--format", choices=EXPORT_FORMATS, help="jsonl, hf (datasets folder), parquet or csv (default: from the path)"
    )
    sub.add_argument(
        "--status",
        default="approved",
        choices=["draft", "submitted", "approved", "rejected", "all"],
        help="which examples (default approved)",
    )
    sub.add_argument("--tag", help="only the examples with this tag")
    sub = add("check", cmd_check, "Run the consistency checks on a project and list the open findings.")
    sub.add_argument("--project", required=True, help="project to check")
    sub.add_argument(
        "--near-duplicate-similarity",
        type=float,
        default=0.92,
        help="how alike two inputs must be (cosine, 1.0 = same wording) to count as near duplicates",
    )
    sub.add_argument(
        "--contradiction-similarity",
        type=float,
        default=0.92,
        help="inputs at least this alike with different answers are a contradiction",
    )
