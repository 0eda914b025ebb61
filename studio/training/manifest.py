"""A run's manifest: everything needed to reproduce it, written to run_dir/manifest.json.

Seed, library versions, the dataset snapshot hash, the chat template hash, the full
config, the device with the training recipe chosen for it (studio.training.recipe: 4-bit QLoRA on
a GPU, an unquantized bf16 or fp32 base on a CPU) and the project's git commit. Worker-side: no storage, no streamlit.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from studio.paths import SOURCE_ROOT

LIBRARIES = ("torch", "transformers", "peft", "trl", "bitsandbytes", "accelerate", "datasets", "tensorboard")


def library_versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def git_commit() -> dict:
    """The source tree's commit and whether it had uncommitted changes (None outside git)."""

    def git(*args):
        done = subprocess.run(["git", *args], cwd=SOURCE_ROOT, capture_output=True, text=True, timeout=10)
        return done.stdout.strip() if done.returncode == 0 else None

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no")) if commit else None
    except (OSError, subprocess.TimeoutExpired):
        commit, dirty = None, None
    return {"commit": commit, "dirty": dirty}


def chat_template_hash(template: str | None) -> str | None:
    return hashlib.sha256(template.encode()).hexdigest()[:16] if template else None


def build_manifest(config: dict, chat_template: str | None, device: str, recipe: dict | None = None) -> dict:
    """The manifest; `recipe` is the device's training recipe (studio.training.recipe.DeviceRecipe.to_dict())."""
    return {
        "run_id": config["run_id"],
        "seed": config["train"]["seed"],
        "snapshot_hash": config["snapshot_hash"],
        "held_out_hash": config["held_out_hash"],
        # the test set the run was judged on, when the project has one (else it was the seeded split)
        "held_out_source": config.get("held_out_source", "split"),
        "test_set_hash": config["held_out_hash"] if config.get("held_out_source") == "test set" else None,
        "chat_template_hash": chat_template_hash(chat_template),
        "base_model": config["base_model"],
        "model_path": config["model_path"],
        "device": device,
        "recipe": recipe,
        "libraries": library_versions(),
        "git": git_commit(),
        "config": config,
    }


def write_manifest(run_dir: Path, manifest: dict) -> Path:
    path = Path(run_dir) / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2))
    return path


def read_manifest(run_dir: Path) -> dict | None:
    path = Path(run_dir) / "manifest.json"
    return json.loads(path.read_text()) if path.exists() else None
