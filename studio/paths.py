"""Where the studio keeps its data: the data home and the folders inside it.

The data home is `data/` beside the source tree unless the STUDIO_HOME environment
variable moves it. It holds studio.duckdb, runs/, models/ and cache/.
"""

from __future__ import annotations

import os
from pathlib import Path

SOURCE_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL_NAME = "SmolLM2-135M-Instruct"
# The web app's entry script (`streamlit run` it); app/, not the root, so pages/ is not beside it.
APP_SCRIPT = SOURCE_ROOT / "app" / "main.py"


def data_home() -> Path:
    """Return the data home, creating it when missing."""
    home = Path(os.environ.get("STUDIO_HOME") or SOURCE_ROOT / "data").expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    return home


def db_path() -> Path:
    return data_home() / "studio.duckdb"


def runs_dir() -> Path:
    path = data_home() / "runs"
    path.mkdir(exist_ok=True)
    return path


def models_dir() -> Path:
    """Return the models folder; STUDIO_MODELS moves it (tests share one converted model)."""
    override = os.environ.get("STUDIO_MODELS")
    path = Path(override).expanduser().resolve() if override else data_home() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path
