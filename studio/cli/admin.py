"""`studio people|backup|restore|serve`: people and passwords, the data home's backups, and the web app."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from studio.cli.output import emit
from studio.paths import APP_SCRIPT, SOURCE_ROOT, db_path


def cmd_people(args) -> int:
    """List the studio's people, or add one (or change their role, or set a password) as the local admin."""
    from studio.project.people import find_person, list_people, save_person
    from studio.project.signin import set_password

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
    emit(args, [{"name": p.name, "role": p.role} for p in people], "\n".join(f"{p.name}\t{p.role}" for p in people))
    return 0


def cmd_backup(args) -> int:
    """Write the whole data home (a consistent copy of the database, runs, ...) to one .tar.gz."""
    from studio.project.backup import backup_home

    done = backup_home(Path(args.out) if args.out else None, include_models=args.include_models)
    counts = ", ".join(f"{done['rows'].get(t, 0)} {t}" for t in ("projects", "examples", "runs"))
    emit(args, done, f"backup written to {done['file']} ({counts})")
    return 0


def cmd_restore(args) -> int:
    """Restore a backup into the data home; --force moves the current contents aside first."""
    from studio.project.backup import restore_home

    done = restore_home(Path(args.file), force=args.force)
    aside = f"; the previous contents are in {done['moved_aside']}" if done["moved_aside"] else ""
    emit(
        args,
        done,
        f"restored {done['restored']} into {done['home']} ({done['rows'].get('examples', 0)} examples){aside}",
    )
    return 0


def _read_password(name: str) -> str:
    """From STUDIO_PASSWORD, else one line of a piped stdin, else typed twice without echo."""
    from getpass import getpass

    from studio.project.signin import PASSWORD_ENV

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


def add_admin_commands(add) -> None:
    """Register these commands through `add(name, handler, help)` (studio.cli.main's helper)."""
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
