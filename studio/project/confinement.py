"""Which server folders the app may read from and write to, and the check that keeps it there.

A path typed into the browser (a file or datasets folder to import, a base model folder)
names a place on the server, so the app only follows it into allowed folders: the data
home's imports/ (and models/ for base models), plus every folder listed in
the STUDIO_ALLOWED_DIRS environment variable (separated by os.pathsep, ':' on Linux).
The check resolves `..` and symlinks first, so neither can lead out. A relative path is
taken inside the first allowed folder (imports/ for imports, models/ for models).

Files uploaded through the browser are bytes, not paths, and are kept under the data
home's cache by the studio itself; exports reach the browser as a download, so the app
writes no path a user names. The CLI acts as the machine's local admin and reads
and writes wherever its user can, so it does not call this module.
"""

from __future__ import annotations

import os
from pathlib import Path

from studio.paths import data_home, models_dir

ALLOWED_DIRS_VARIABLE = "STUDIO_ALLOWED_DIRS"


class OutsideAllowedFolders(ValueError):
    """A path that leads outside the folders the app may use; the message names both."""


def extra_roots() -> list[Path]:
    """The folders STUDIO_ALLOWED_DIRS adds, resolved (empty entries are ignored)."""
    listed = os.environ.get(ALLOWED_DIRS_VARIABLE, "").split(os.pathsep)
    return [Path(entry).expanduser().resolve() for entry in listed if entry.strip()]


def import_roots() -> list[Path]:
    """Where the app may read import files: imports/, uploads it stored itself, and the extra folders."""
    return [_folder(data_home() / "imports"), data_home() / "cache" / "uploads", *extra_roots()]


def model_roots() -> list[Path]:
    """Where the app may load base model folders from: the models folder and the extra folders."""
    return [models_dir(), *extra_roots()]


def confine(path: str | Path, roots: list[Path]) -> Path:
    """`path` resolved (relative to the first root when relative), or OutsideAllowedFolders when it leads out."""
    text = str(path).strip()
    if not text or "\x00" in text:
        raise OutsideAllowedFolders(f"{text!r} is not a usable path")
    candidate = Path(text).expanduser()
    resolved = (candidate if candidate.is_absolute() else roots[0] / candidate).resolve()
    if any(resolved.is_relative_to(root.resolve()) for root in roots):
        return resolved
    allowed = ", ".join(str(root) for root in roots)
    raise OutsideAllowedFolders(
        f"{text} is outside the folders the app may use ({allowed}); move the file into one of them, "
        f"or ask an admin to add its folder to {ALLOWED_DIRS_VARIABLE}"
    )


def _folder(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
