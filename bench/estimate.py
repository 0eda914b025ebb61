"""Does the Train page's estimate of a run's time hold? The pre-flight's measured estimate against the wall time.

    .venv/bin/python bench/estimate.py [--preset Quick] [--json]

In a fresh data home: the demo project, the pre-flight the Train page shows for the preset
(the length profile of the approved examples, the calibration's three real steps on the
longest rows, and `estimate_fit`, evaluation included), then the run itself through
`launch_run` and `wait_for_run`, timed from launch to its end (training, every model
answering the held-out set, the round trip). Reports both, their ratio, the live view's
first estimate of the remaining time, and how busy the machine's cores were (this machine is
shared: a cores-busy figure well above what the run uses says the timing was contended).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import CoresBusy, describe_machine  # noqa: E402


def measure(preset: str) -> dict:
    from studio.dataset.examples import list_examples
    from studio.demo import load_demo
    from studio.models.loading import resolve_model
    from studio.paths import db_path
    from studio.training.calibration import calibrate
    from studio.training.launch import FEW_SHOT_K, launch_run, wait_for_run
    from studio.training.preflight import estimate_fit, length_profile, tokenizer_for, training_count
    from studio.training.presets import config_from_preset

    db = db_path()
    project, _ = load_demo(db)
    config = config_from_preset(preset)
    approved = list_examples(db, project, status="approved")
    model_path = resolve_model(project.base_model)
    profile = length_profile(tokenizer_for(model_path), project.description, approved, config.max_length)
    calibration = calibrate(model_path, project.description, config, approved, profile["lengths"])
    n_train = training_count(approved, project.output_spec, project.split_seed)
    fit = estimate_fit(model_path, config, profile, calibration, n_train, FEW_SHOT_K)
    events: list[dict] = []
    busy, began = CoresBusy(), time.time()
    run = wait_for_run(db, launch_run(db, project, config), poll_seconds=1.0, on_event=events.append)
    wall = time.time() - began
    trained = next((e["time"] for e in events if e["event"] == "trained"), None)
    first_eta = next((e["eta"] for e in events if e["event"] == "step" and "eta" in e), None)
    return {
        "preset": preset,
        "status": run["status"],
        "examples": len(approved),
        "steps": fit["steps"],
        "estimate_seconds": round(fit["seconds"], 1),
        "measured_seconds": round(wall, 1),
        "estimate_over_measured": round(fit["seconds"] / wall, 3),
        "estimate_training_seconds": round(fit["train_seconds"], 1),
        "measured_training_seconds": round(trained - began, 1) if trained else None,
        "estimate_evaluation_seconds": round(fit["eval_seconds"], 1),
        "measured_evaluation_seconds": round(began + wall - trained, 1) if trained else None,
        "first_live_eta_seconds": first_eta,
        "cores_busy": busy.stop(),
        "machine": describe_machine(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="Quick")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ["STUDIO_HOME"] = tempfile.mkdtemp(prefix="estimate-")
    result = measure(args.preset)
    print(json.dumps(result, indent=None if args.json else 2))
    return 0 if result["status"] == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
