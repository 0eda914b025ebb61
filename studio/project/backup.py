"""Backing up and restoring the whole data home: `studio backup` and `studio restore`.

A backup is one .tar.gz holding a consistent copy of studio.duckdb (one snapshot, taken
while the app may be writing), runs/ and everything else in the data home except the
models/ and cache/ folders (models on request) and earlier backups, plus backup.json
saying when it was made and how many rows each table held. A restore refuses a data
home that already holds data unless forced, and then moves what it replaces aside to
`<home>-before-restore-<time>/` first, so nothing is lost either way.
"""

from __future__ import annotations

import json
import shutil
import tarfile
import tempfile
from datetime import datetime
from pathlib import Path

from storage.backup import count_rows, schema_version
from storage.db import backup_database, connect
from studio.paths import data_home, db_path

MANIFEST = "backup.json"
SKIPPED = ("cache", "backups")
KEPT_ON_RESTORE = ("models", "cache", "backups")


class RestoreRefused(ValueError):
    """A restore that would overwrite data, or an archive that is not a studio backup."""


def default_backup_path() -> Path:
    return data_home() / "backups" / f"studio-backup-{datetime.now():%Y%m%d-%H%M%S}.tar.gz"


def backup_home(out: Path | None = None, include_models: bool = False) -> dict:
    """Write the data home to one .tar.gz at `out`; return its manifest (with the path)."""
    home, out = data_home(), Path(out or default_backup_path()).resolve()
    if out.exists():
        raise FileExistsError(f"{out} already exists; choose a new name for the backup")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".backup-") as folder:
        copy = backup_database(db_path(), Path(folder) / db_path().name)
        manifest = _manifest(copy, include_models)
        (Path(folder) / MANIFEST).write_text(json.dumps(manifest, indent=2))
        partial = out.with_name(out.name + ".partial")
        try:
            with tarfile.open(partial, "w:gz") as archive:
                archive.add(Path(folder) / MANIFEST, MANIFEST)
                archive.add(copy, db_path().name)
                for path in _home_files(home, include_models, skip={out, partial}):
                    _add_file(archive, path, path.relative_to(home).as_posix())
            partial.replace(out)
        finally:
            partial.unlink(missing_ok=True)
    return {**manifest, "file": str(out)}


def _manifest(database: Path, include_models: bool) -> dict:
    with connect(database) as con:
        counts, version = count_rows(con), schema_version(con)
    return {
        "created_at": datetime.now().isoformat(timespec="seconds"),
        "schema_version": version,
        "rows": counts,
        "models_included": include_models,
        "home": str(data_home()),
    }


def _home_files(home: Path, include_models: bool, skip: set[Path]):
    """Every file in the data home a backup holds: not the live database, cache, backups or (unasked) models."""
    database = db_path().name
    left_out = {database, database + ".wal", *SKIPPED, *(() if include_models else ("models",))}
    for path in sorted(home.rglob("*")):
        top = path.relative_to(home).parts[0]
        if top in left_out or top.startswith(".backup-") or path in skip or not path.is_file() or path.is_symlink():
            continue
        yield path


def _add_file(archive: tarfile.TarFile, path: Path, name: str) -> None:
    """Add one file; a run may delete an old checkpoint while the backup walks past it."""
    try:
        with open(path, "rb") as handle:
            info = archive.gettarinfo(arcname=name, fileobj=handle)
            archive.addfile(info, handle)
    except FileNotFoundError:
        pass


def restore_home(archive_path: Path, force: bool = False) -> dict:
    """Unpack a backup into the data home; with `force`, move what it replaces aside first."""
    archive_path, home = Path(archive_path).resolve(), data_home()
    manifest = read_backup_manifest(archive_path)
    replaced = _replaced_entries(home)
    if replaced and not force:
        raise RestoreRefused(
            f"{home} already holds data ({', '.join(p.name for p in replaced[:5])}); "
            "restore into an empty data home (STUDIO_HOME) or pass --force to move it aside first"
        )
    aside = _move_aside(home, replaced) if replaced else None
    with tarfile.open(archive_path, "r:gz") as archive:
        archive.extractall(home, members=[m for m in archive.getmembers() if m.name != MANIFEST], filter="data")
    with connect(db_path()) as con:
        counts = count_rows(con)
    return {
        "restored": str(archive_path),
        "home": str(home),
        "moved_aside": str(aside) if aside else None,
        "rows": counts,
        "backup": manifest,
    }


def read_backup_manifest(archive_path: Path) -> dict:
    """The backup.json of a studio backup; anything else is refused with a reason."""
    try:
        with tarfile.open(archive_path, "r:gz") as archive:
            names = set(archive.getnames())
            if MANIFEST not in names or db_path().name not in names:
                raise RestoreRefused(f"{archive_path} is not a studio backup: it lacks {MANIFEST} or {db_path().name}")
            return json.loads(archive.extractfile(MANIFEST).read())
    except (tarfile.TarError, OSError, json.JSONDecodeError) as error:
        raise RestoreRefused(f"{archive_path} cannot be read as a studio backup: {error}") from error


def _replaced_entries(home: Path) -> list[Path]:
    return sorted(p for p in home.iterdir() if p.name not in KEPT_ON_RESTORE)


def _move_aside(home: Path, entries: list[Path]) -> Path:
    """Move the entries a restore replaces to a sibling folder, after checking nobody holds the database."""
    if db_path().exists():
        with connect(db_path()):
            pass  # raises DatabaseLocked, naming the holder, while the app or a CLI command has it open
    aside = home.parent / f"{home.name}-before-restore-{datetime.now():%Y%m%d-%H%M%S}"
    aside.mkdir()
    for entry in entries:
        shutil.move(str(entry), aside / entry.name)
    return aside
