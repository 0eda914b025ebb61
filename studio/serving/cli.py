"""`studio model export|serve|commands`: shipping a finished run from the command line.

studio.cli.main registers these through `add_model_commands`; the handlers live here so the
serving code stays in its own package.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from studio.evaluation.routing import RoutingConfig
from studio.paths import db_path

SERVE_EPILOG = """\
On GPUs, serve the run's adapter with vLLM's OpenAI-compatible server instead
(`studio model commands RUN` prints it, filled in from the run):
  vllm serve BASE_MODEL --enable-lora --lora-modules NAME=RUN_DIR/adapter --max-lora-rank R
Answers there come without the studio's confidence and routing band.
"""


def finished_run_dir(run_id: str) -> Path:
    """The folder of a run that finished and was evaluated, or a clear refusal."""
    from studio.training.launch import get_run
    from studio.training.supervisor import sync_runs

    sync_runs(db_path())
    run = get_run(db_path(), run_id)
    if run["status"] != "succeeded":
        raise ValueError(f"run {run_id} is {run['status']}; only a finished, evaluated run is exported or served")
    return Path(run["run_dir"])


def cmd_export(args) -> int:
    from studio.serving.export import export_run

    result = export_run(finished_run_dir(args.run), args.format, Path(args.out) if args.out else None, check=args.check)
    lines = [f"{args.format} export of {args.run} written to {result.folder}: {', '.join(result.files)}"]
    if result.check:
        c = result.check
        lines.append(
            f"reloaded with plain transformers: {c['matches']} of {c['checked']} held-out answers as evaluated; "
            f"chat template kept: {'yes' if c['template_ok'] else 'NO'}"
        )
    lines += [f"{name}: {command}" for name, command in result.commands.items()]
    print(json.dumps(result.to_dict(), indent=2) if args.json else "\n".join(lines))
    return 0


def cmd_commands(args) -> int:
    from studio.serving.commands import adapter_rank, ollama_create_command, studio_serve_command, vllm_lora_command
    from studio.serving.engine import served_run

    run = served_run(finished_run_dir(args.run))
    found = {
        "vllm": vllm_lora_command(
            run.model_path, run.model_name, run.adapter_dir, adapter_rank(run.adapter_dir), args.port
        ),
        "ollama": "studio model export "
        + args.run
        + " --format merged, then: "
        + ollama_create_command(run.model_name, run.run_dir / "export" / "merged"),
        "studio": studio_serve_command(run.run_id, args.port),
    }
    if run.retrieved_examples:  # vLLM and Ollama do not retrieve: the client sends the examples
        from studio.serving.commands import retrieval_instructions

        found["client"] = retrieval_instructions(run.retrieved_examples)
    print(json.dumps(found, indent=2) if args.json else "\n".join(f"{k}: {v}" for k, v in found.items()))
    return 0


def cmd_serve(args) -> int:
    from studio.serving.protocol import Limits
    from studio.serving.server import ServeOptions, serve_run

    run_dir = finished_run_dir(args.run)
    options = ServeOptions(
        address=args.address,
        port=args.port,
        routing=RoutingConfig(args.high, args.low),
        limits=Limits(max_prompt_tokens=args.max_prompt_tokens, max_new_tokens=args.max_tokens),
        token_digest=_token_digest(args),
        record=args.record,
        max_batch=args.max_batch,
        batch_window_s=args.batch_window_ms / 1000,
    )

    def ready(url: str) -> None:
        document = {"url": url, "run": args.run, "token_required": bool(options.token_digest), "record": args.record}
        print(json.dumps(document) if args.json else f"serving run {args.run} at {url} (Ctrl+C stops)", flush=True)

    serve_run(run_dir, options, ready)
    return 0


def _token_digest(args) -> str | None:
    """None on localhost (unless a token exists and --token-always); off it, the stored token or a new one, shown once."""
    from studio.serving.tokens import create_token, is_loopback, stored_digest

    if is_loopback(args.address) and not args.require_token:
        return None
    if args.new_token or stored_digest() is None:
        token = create_token()
        print(f"Bearer token for this server (shown once, only its hash is kept): {token}", file=sys.stderr, flush=True)
    else:
        print("Requests need the bearer token created earlier (lost it? --new-token makes another).", file=sys.stderr)
    return stored_digest()


def add_model_commands(commands, add) -> None:
    """Register `studio model ...` on the CLI's subparsers; `add` is studio.cli.main's helper for a command."""
    model = add(
        "model",
        None,
        "Ship a finished run: export it (adapter or merged folder) or serve it over an OpenAI-compatible API.",
    )
    model.set_defaults(handler=lambda args: (model.print_help(), 2)[1])
    actions = model.add_subparsers(dest="action", metavar="ACTION")

    def action(name: str, handler, text: str, epilog: str | None = None) -> argparse.ArgumentParser:
        sub = actions.add_parser(
            name, help=text, description=text, epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter
        )
        sub.add_argument("--json", action="store_true", help="print one JSON document on stdout")
        sub.add_argument("run", help="run id, as `studio runs` lists them (a finished run)")
        sub.set_defaults(handler=handler)
        return sub

    sub = action(
        "export",
        cmd_export,
        "Export a run as a PEFT adapter folder or a merged model folder "
        "(safetensors, tokenizer, chat template, generation config, model card, Ollama Modelfile).",
    )
    sub.add_argument(
        "--format", required=True, choices=["adapter", "merged"], help="adapter (PEFT) or merged (full model)"
    )
    sub.add_argument("--out", help="folder to write (default RUN_DIR/export/FORMAT)")
    sub.add_argument(
        "--check", type=int, default=3, help="held-out answers to compare after reloading a merged export (0: none)"
    )
    sub = action(
        "serve",
        cmd_serve,
        "Serve a run over an OpenAI-compatible HTTP API (/v1/models, /v1/chat/completions, "
        "streaming too); each answer carries its confidence and routing band.",
        SERVE_EPILOG,
    )
    sub.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    sub.add_argument(
        "--address",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1); any other needs a bearer token",
    )
    sub.add_argument("--high", type=float, default=0.9, help="confidence at or above which answers are routed auto")
    sub.add_argument(
        "--low", type=float, default=0.7, help="confidence at or above which answers go to review; below, to a human"
    )
    sub.add_argument("--record", action="store_true", help="record review- and human-band inputs for the Review page")
    sub.add_argument("--new-token", action="store_true", help="replace the bearer token (shown once)")
    sub.add_argument("--require-token", action="store_true", help="require the bearer token on localhost too")
    sub.add_argument("--max-tokens", type=int, default=1024, help="the most tokens one answer may have")
    sub.add_argument("--max-prompt-tokens", type=int, default=2048, help="the longest prompt served, in tokens")
    sub.add_argument("--max-batch", type=int, default=64, help="the most requests answered in one generation call")
    sub.add_argument(
        "--batch-window-ms",
        type=float,
        default=20,
        help="how long the first waiting request waits for others to batch with (milliseconds)",
    )
    sub = action(
        "commands",
        cmd_commands,
        "Print the commands that serve a run elsewhere: vLLM (adapter as a LoRA module), "
        "Ollama, and the studio's own server.",
    )
    sub.add_argument("--port", type=int, default=8000, help="port in the printed commands")
