"""The `studio` command: the UI's actions for automation and tests.

Run `studio --help`, or `studio COMMAND --help`. Every command takes --json and then
prints one JSON document on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from studio.paths import APP_SCRIPT, SOURCE_ROOT, db_path


def _emit(args, document, text: str) -> None:
    print(json.dumps(document, indent=2, default=str) if args.json else text)


def cmd_setup(args) -> int:
    """Convert the packaged default model into an HF folder (idempotent)."""
    from studio.models import ensure_default_model

    path = ensure_default_model()
    _emit(args, {"model": str(path)}, f"default model ready at {path}")
    return 0


def cmd_demo(args) -> int:
    from studio.demo import load_demo

    project, counts = load_demo(db_path())
    _emit(
        args,
        {"project": project.name, **counts},
        f"demo project {project.name!r}: {counts['imported']} imported, {counts['skipped']} already there",
    )
    return 0


def cmd_import(args) -> int:
    from studio.transfer import ImportOptions, import_inferring, plan_import, project_or_blank, propose_for_plan

    options = ImportOptions(format=args.format, remap=args.map or "", split=args.split, status=args.status)
    if args.dry_run:
        project = project_or_blank(db_path(), args.project)
        plan = plan_import(db_path(), project, Path(args.file), options)
        proposal = None if args.no_infer else propose_for_plan(db_path(), project, plan)
        summary = {**plan.summary(), "inferred": proposal.summary() if proposal else None}
        _emit(args, {"project": args.project, "dry_run": True, **summary}, _describe_plan(summary))
        return 1 if plan.bad_rows else 0
    done = import_inferring(db_path(), args.project, Path(args.file), args.author, options, infer=not args.no_infer)
    text = f"{done['imported']} imported into {done['project']}, {done['skipped']} already there"
    _emit(args, done, "\n".join([text, *_describe_inferred(done["inferred"])]))
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
    from studio.exporters import export_examples, export_format_of
    from studio.projects import get_project

    out = args.out or args.file
    if not out:
        raise ValueError("say where to write the export: --out PATH")
    status = None if args.status == "all" else args.status
    format = args.format or export_format_of(Path(out))
    count = export_examples(db_path(), get_project(db_path(), args.project), Path(out), format, status, args.tag)
    _emit(args, {"file": out, "format": format, "exported": count}, f"{count} examples written to {out} ({format})")
    return 0


def cmd_check(args) -> int:
    from studio.checks import KINDS, CheckConfig, run_project_checks
    from studio.projects import get_project

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
    _emit(args, document, "\n".join(lines) or "no findings")
    return 0


def _finding_document(finding: dict) -> dict:
    """A finding as the CLI reports it: kind, severity, score, its examples' external ids, a message."""
    return {
        "id": finding["id"],
        "kind": finding["kind"],
        "severity": finding["severity"],
        "score": finding["score"],
        "external_ids": [str(e["external_id"] or e["id"]) for e in finding["examples"]],
        "message": finding["explanation"],
        "examples": finding["examples"],
    }


def cmd_train(args) -> int:
    from studio.endpoint import EndpointConfig
    from studio.jobs import get_run, launch_run, resume_run, wait_for_run
    from studio.projects import get_project

    if args.resume:
        resume_run(db_path(), args.resume)
        run_id = args.resume
        print(f"run {run_id} resumes from its last checkpoint", file=sys.stderr)
    else:
        if not args.project:
            raise ValueError("say which project to train with --project (or resume a run with --resume RUN)")
        config = _train_config(args)
        endpoint = (
            EndpointConfig(args.endpoint_url, args.endpoint_model, args.endpoint_key_env) if args.endpoint_url else None
        )
        run_id = launch_run(db_path(), get_project(db_path(), args.project), config, endpoint=endpoint)
        print(f"run {run_id} launched", file=sys.stderr)
    run = wait_for_run(db_path(), run_id, on_event=_print_event) if args.wait else get_run(db_path(), run_id)
    _emit(args, {"run_id": run_id, "status": run["status"], "error": run["error"]}, run_id)
    return 1 if run["status"] == "failed" else 0


def _train_config(args):
    """The preset, then --set FIELD=VALUE pairs, then --max-steps and --epochs."""
    from dataclasses import fields

    from studio.presets import config_from_preset
    from studio.training import TrainConfig

    types = {f.name: type(f.default) for f in fields(TrainConfig)}
    overrides = {}
    for pair in args.set or []:
        name, _, value = pair.partition("=")
        if name not in types:
            raise ValueError(f"--set {pair}: no setting called {name!r}; the settings are {', '.join(types)}")
        kind = types[name]
        overrides[name] = value.lower() in ("1", "true", "yes", "on") if kind is bool else kind(value)
    if args.max_steps:
        overrides["max_steps"] = args.max_steps
    if args.epochs:
        overrides["epochs"] = args.epochs
    return config_from_preset(args.preset, **overrides)


def _print_event(event: dict) -> None:
    if event["event"] == "step":
        print(
            f"step {event['step']}/{event['total']} loss {event['loss']:.4f} eta {event['eta']:.0f}s", file=sys.stderr
        )
    elif event["event"] == "answering":
        print(f"answering held-out with {event['model']}: {event['done']}/{event['total']}", file=sys.stderr)


def cmd_eval(args) -> int:
    from studio.dashboard import build_dashboard
    from studio.jobs import get_run, sync_runs
    from studio.projects import get_project
    from studio.report import render_report
    from studio.routing import RoutingConfig

    sync_runs(db_path())
    run = get_run(db_path(), args.run)
    if run["status"] != "succeeded":
        print(f"run {args.run} is {run['status']}: {run['error'] or 'no evaluation yet'}", file=sys.stderr)
        return 1
    low = min(0.7, args.high) if args.low is None else args.low  # a lower --high drags the default review band down
    board = build_dashboard(db_path(), get_project(db_path(), run["project"]), run, RoutingConfig(args.high, low))
    if args.html:
        Path(args.html).write_text(render_report(board), encoding="utf-8")
        print(f"report written to {args.html}", file=sys.stderr)
    table = "\n".join(
        f"{r['rank']}. {r['label']:32} {r['primary_metric']} {r['primary_value']:.3f} [{r['low']:.3f}, {r['high']:.3f}] (n={r['n']})"
        for r in board.leaderboard
    )
    _emit(args, board.to_dict(), "\n".join([table, board.verdict["headline"], *board.verdict["warnings"]]))
    return 0


def cmd_runs(args) -> int:
    from studio.jobs import can_resume, list_runs, run_progress, sync_runs

    sync_runs(db_path())
    document = []
    for run in list_runs(db_path()):
        progress = run_progress(run)
        document.append(
            {
                **{
                    k: run[k]
                    for k in (
                        "id",
                        "project",
                        "status",
                        "n_train",
                        "n_eval",
                        "created_at",
                        "error",
                        "tokens_per_second",
                    )
                },
                "step": progress["step"],
                "total": progress["total"],
                "can_resume": can_resume(run),
            }
        )
    lines = [
        f"{r['id']}  {r['project']:12} {r['status']:10} step {r['step']}/{r['total']} train {r['n_train']} held-out {r['n_eval']}"
        + ("  (resumable: studio train --resume " + r["id"] + ")" if r["can_resume"] else "")
        for r in document
    ]
    _emit(args, document, "\n".join(lines) or "no runs")
    return 0


def cmd_people(args) -> int:
    """List the studio's people, or add one (or change their role, or set a password) as the local admin."""
    from studio.people import find_person, list_people, save_person
    from studio.signin import set_password

    if args.password and not args.add:
        raise ValueError(
            "--password goes with --add NAME; to change an existing person's password use --set-password NAME"
        )
    if args.add:
        save_person(db_path(), None, args.add, args.role)
    name = args.set_password or (args.add if args.password else None)
    if name and find_person(db_path(), name.strip()) is None:
        raise LookupError(f"no person called {name.strip()!r}; add them first with --add")
    if name:
        set_password(db_path(), None, name, _read_password(name))
        print(f"password set for {name.strip()}", file=sys.stderr)
    people = list_people(db_path())
    _emit(args, [{"name": p.name, "role": p.role} for p in people], "\n".join(f"{p.name}\t{p.role}" for p in people))
    return 0


def cmd_backup(args) -> int:
    """Write the whole data home (a consistent copy of the database, runs, ...) to one .tar.gz."""
    from studio.backup import backup_home

    done = backup_home(Path(args.out) if args.out else None, include_models=args.include_models)
    counts = ", ".join(f"{done['rows'].get(t, 0)} {t}" for t in ("projects", "examples", "runs"))
    _emit(args, done, f"backup written to {done['file']} ({counts})")
    return 0


def cmd_restore(args) -> int:
    """Restore a backup into the data home; --force moves the current contents aside first."""
    from studio.backup import restore_home

    done = restore_home(Path(args.file), force=args.force)
    aside = f"; the previous contents are in {done['moved_aside']}" if done["moved_aside"] else ""
    _emit(
        args,
        done,
        f"restored {done['restored']} into {done['home']} ({done['rows'].get('examples', 0)} examples){aside}",
    )
    return 0


def _read_password(name: str) -> str:
    """From STUDIO_PASSWORD, else one line of a piped stdin, else typed twice without echo."""
    from getpass import getpass

    from studio.signin import PASSWORD_ENV

    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass(f"New password for {name}: ")
    if getpass("Again: ") != password:
        raise ValueError("the two passwords differ; nothing changed")
    return password


def cmd_serve(args) -> int:
    """Start the Streamlit app (it loads the demo project when the data home is empty)."""
    command = [sys.executable, "-m", "streamlit", "run", str(APP_SCRIPT), "--server.port", str(args.port)]
    if args.address:
        command += ["--server.address", args.address]
    if args.json:
        print(json.dumps({"url": f"http://localhost:{args.port}", "command": command}))
    return subprocess.call(command, cwd=SOURCE_ROOT, env=os.environ.copy())


def build_parser() -> argparse.ArgumentParser:
    from studio.cli_projects import add_project_parser
    from studio.exporters import EXPORT_FORMATS
    from studio.importers import FORMATS
    from studio.mapping import PARTS

    parser = argparse.ArgumentParser(
        prog="studio", description="Fine-Tuning Studio: curate, check, train and evaluate."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--json", action="store_true", help="print one JSON document on stdout")
        sub.set_defaults(handler=handler)
        return sub

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
        "--split", default="train", help="the split to take from a datasets folder with several (default train)"
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
    sub = add("train", cmd_train, "Launch a QLoRA run on a project's approved examples, or resume one.")
    sub.add_argument("--project", help="project to train on")
    sub.add_argument("--preset", default="Balanced", help="Quick, Balanced (default) or Thorough")
    sub.add_argument(
        "--set",
        action="append",
        metavar="FIELD=VALUE",
        help="change one training setting (repeatable), e.g. --set lora_r=8",
    )
    sub.add_argument("--resume", metavar="RUN", help="resume this failed or cancelled run from its last checkpoint")
    sub.add_argument(
        "--max-steps", type=int, default=0, help="stop after N optimizer steps (default: train for the epochs)"
    )
    sub.add_argument("--epochs", type=float, default=0, help="passes over the training split (default 3)")
    sub.add_argument("--wait", action="store_true", help="wait for the run (training and evaluation) to finish")
    sub.add_argument(
        "--endpoint-url", help="also evaluate a model behind this OpenAI-compatible URL (e.g. http://host/v1)"
    )
    sub.add_argument("--endpoint-model", default="", help="the endpoint's model name")
    sub.add_argument(
        "--endpoint-key-env", default="OPENAI_API_KEY", help="environment variable holding the endpoint's key"
    )
    sub = add(
        "eval", cmd_eval, "Print a finished run's leaderboard (with intervals), verdict, slices and routing bands."
    )
    sub.add_argument("run", help="run id, as printed by `studio train` or listed by `studio runs`")
    sub.add_argument("--html", help="also write a self-contained HTML report to this file")
    sub.add_argument("--high", type=float, default=0.9, help="confidence at or above which answers go straight through")
    sub.add_argument(
        "--low", type=float, default=None, help="confidence at or above which answers go to human review (default 0.7)"
    )
    add("runs", cmd_runs, "List runs, newest first.")
    add_project_parser(add)
    sub = add("people", cmd_people, "List the studio's people and roles, or add one (the CLI acts as the local admin).")
    sub.add_argument("--add", metavar="NAME", help="add this person, or change their role")
    sub.add_argument(
        "--role", default="annotator", choices=["annotator", "reviewer", "admin"], help="their role (default annotator)"
    )
    sub.add_argument(
        "--password",
        action="store_true",
        help="also give the added person a password for signing in: typed twice, or one line on stdin, or $STUDIO_PASSWORD",
    )
    sub.add_argument(
        "--set-password", metavar="NAME", help="set or reset this existing person's password (read as for --password)"
    )
    sub = add(
        "backup",
        cmd_backup,
        "Back up the data home (database, runs, settings) to one .tar.gz; safe while the app runs.",
    )
    sub.add_argument("--out", help="the archive to write (default: backups/studio-backup-TIME.tar.gz in the data home)")
    sub.add_argument(
        "--include-models", action="store_true", help="also archive the models folder (large; left out by default)"
    )
    sub = add("restore", cmd_restore, "Restore a backup made by `studio backup` into the data home.")
    sub.add_argument("file", help="the .tar.gz that `studio backup` wrote")
    sub.add_argument(
        "--force",
        action="store_true",
        help="restore over a data home that holds data, moving its contents aside to <home>-before-restore-TIME first",
    )
    sub = add("serve", cmd_serve, "Serve the studio in the browser (http://localhost:8501).")
    sub.add_argument("--port", type=int, default=8501, help="port to serve on")
    sub.add_argument(
        "--address",
        help="address to listen on (default localhost); any other address turns sign-in on (docs/security.md)",
    )
    from studio.serving.cli import add_model_commands

    add_model_commands(commands, add)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (LookupError, ValueError, RuntimeError, OSError) as error:  # OSError: a path that cannot be read or written
        print(f"studio {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
