"""`studio train|eval|runs`: launching training runs, watching them, and reading their evaluation."""

from __future__ import annotations

import sys
from pathlib import Path

from studio.cli.output import emit
from studio.paths import db_path


def cmd_train(args) -> int:
    from studio.evaluation.endpoint import EndpointConfig
    from studio.project.projects import get_project
    from studio.training.launch import get_run, launch_run, resume_run, wait_for_run

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
    emit(args, {"run_id": run_id, "status": run["status"], "error": run["error"]}, run_id)
    return 1 if run["status"] == "failed" else 0


def _train_config(args):
    """The preset, then --set FIELD=VALUE pairs, then --max-steps, --epochs and --processes."""
    from dataclasses import fields

    from studio.training.presets import config_from_preset
    from studio.training.trainer import TrainConfig

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
    if args.processes:
        overrides["processes"] = args.processes
    return config_from_preset(args.preset, **overrides)


def _print_event(event: dict) -> None:
    if event["event"] == "step":
        print(
            f"step {event['step']}/{event['total']} loss {event['loss']:.4f} eta {event['eta']:.0f}s", file=sys.stderr
        )
    elif event["event"] == "fold":
        print(f"fold {event['fold']} of {event['folds']}: training and answering", file=sys.stderr)
    elif event["event"] == "answering":
        print(f"answering held-out with {event['model']}: {event['done']}/{event['total']}", file=sys.stderr)


def cmd_eval(args) -> int:
    from studio.evaluation.dashboard import build_dashboard
    from studio.evaluation.report import render_report
    from studio.evaluation.routing import RoutingConfig
    from studio.project.projects import get_project
    from studio.training.launch import get_run
    from studio.training.supervisor import sync_runs

    sync_runs(db_path())
    run = get_run(db_path(), args.run)
    if args.folds and run["status"] == "succeeded":
        run = _cross_validate(run, args.folds)
    if run["status"] != "succeeded":
        print(f"run {args.run} is {run['status']}: {run['error'] or 'no evaluation yet'}", file=sys.stderr)
        return 1
    low = min(0.7, args.high) if args.low is None else args.low  # a lower --high drags the default review band down
    board = build_dashboard(db_path(), get_project(db_path(), run["project"]), run, RoutingConfig(args.high, low))
    if args.html:
        Path(args.html).write_text(render_report(board), encoding="utf-8")
        print(f"report written to {args.html}", file=sys.stderr)
    table = "\n".join(
        [f"numbers from {board.numbers_from}"]
        + [
            f"{r.rank}. {r.label:32} {r.primary_metric} {r.primary_value:.3f} [{r.low:.3f}, {r.high:.3f}] (n={r.n})"
            for r in board.leaderboard
        ]
    )
    emit(
        args,
        board.to_dict(),
        "\n".join([table, board.verdict.headline, *board.verdict.warnings, board.verdict.resolution]),
    )
    return 0


def _cross_validate(run: dict, k: int) -> dict:
    """Launch K-fold cross-validation of the run's settings and wait for it; the finished job, as a run."""
    from studio.project.projects import get_project
    from studio.training.crossval import launch_cross_validation
    from studio.training.launch import wait_for_run

    job = launch_cross_validation(db_path(), get_project(db_path(), run["project"]), run, k)
    print(f"cross-validation {job} launched: {k} adapters with run {run['id']}'s settings", file=sys.stderr)
    return wait_for_run(db_path(), job, on_event=_print_event)


def cmd_runs(args) -> int:
    from studio.training.launch import can_resume, list_runs
    from studio.training.run_view import run_progress
    from studio.training.supervisor import sync_runs

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
    emit(args, document, "\n".join(lines) or "no runs")
    return 0


def add_run_commands(add) -> None:
    """Register these commands through `add(name, handler, help)` (studio.cli.main's helper)."""
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
    sub.add_argument(
        "--processes",
        type=int,
        default=0,
        help="train in N processes, one per GPU, data-parallel through `accelerate launch` (default 1)",
    )
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
    sub.add_argument(
        "--folds",
        type=int,
        metavar="K",
        help="cross-validate the run's settings: train K adapters on K stratified, leakage-aware folds of its "
        "examples (each answers its own fold; the baselines retrieve only from the other folds), wait, and print "
        "the pooled evaluation of all the examples; the run's own adapter stays the one to ship",
    )
    add("runs", cmd_runs, "List runs, newest first.")
