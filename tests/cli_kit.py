"""Running the real `studio` command line in a subprocess, against a given data home."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from studio.paths import SOURCE_ROOT


def studio_cli(home: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """`python -m studio.cli ARGS` with STUDIO_HOME=home; its exit status, stdout and stderr as text."""
    return subprocess.run(
        [sys.executable, "-m", "studio.cli", *args],
        cwd=SOURCE_ROOT,
        env={**os.environ, "STUDIO_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
