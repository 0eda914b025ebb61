"""The `studio` command: the UI's actions for automation and tests.

Run `studio --help`, or `studio COMMAND --help`. Every command takes --json and then
prints one JSON document on stdout; progress goes to stderr. The commands live by concern:
`data` (examples in and out, checks), `runs` (training and evaluation), `projects`,
`admin` (people, backups, the web app) and `studio.serving.cli` (shipping a model).
"""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    from studio.cli.admin import add_admin_commands
    from studio.cli.data import add_data_commands
    from studio.cli.projects import add_project_parser
    from studio.cli.runs import add_run_commands
    from studio.serving.cli import add_model_commands

    parser = argparse.ArgumentParser(
        prog="studio", description="Fine-Tuning Studio: curate, check, train and evaluate."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--json", action="store_true", help="print one JSON document on stdout")
        sub.set_defaults(handler=handler)
        return sub

    add_data_commands(add)
    add_run_commands(add)
    add_project_parser(add)
    add_admin_commands(add)
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
