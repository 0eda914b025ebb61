"""A short real training run that measures speed and peak memory for the pre-flight estimate.

Run as `python -m studio.training.calibration INPUT_JSON OUTPUT_JSON` (the pre-flight starts it):
it trains three steps on the snapshot's longest examples with the chosen settings, in
its own process like any run (training never runs in the app's process), and writes
{tokens_per_second, peak_mb, load_seconds, device}. Results are cached under
data/cache/calibration/ by model and the settings that change speed or memory, so the
Train page stays fast and measures once per model and settings.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path

from studio.paths import SOURCE_ROOT, data_home
from studio.training.config import TrainConfig
from studio.training.shape import gpu_memory_mb

STEPS = 3
_SHAPE_FIELDS = (
    "lora_r",
    "batch_size",
    "gradient_accumulation",
    "max_length",
    "gradient_checkpointing",
    "padding_free",
    "cpu_recipe",
)


def calibration_key(model_path: str, config: TrainConfig, longest: list[int]) -> str:
    shape = {name: getattr(config, name) for name in _SHAPE_FIELDS}
    raw = json.dumps({"model": model_path, "shape": shape, "longest": longest}, sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _cache_path(key: str) -> Path:
    folder = data_home() / "cache" / "calibration"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{key}.json"


def longest_rows(rows: list[dict], lengths: list[int], config: TrainConfig) -> tuple[list[dict], list[int]]:
    """The rows of the heaviest batches: the peak is set by the longest examples."""
    order = sorted(range(len(rows)), key=lambda i: -lengths[i])[: config.batch_size * (STEPS + 1)]
    return [rows[i] for i in order], [lengths[i] for i in order]


def cached_calibration(model_path: str, config: TrainConfig, rows: list[dict], lengths: list[int]) -> dict | None:
    _, longest = longest_rows(rows, lengths, config)
    path = _cache_path(calibration_key(model_path, config, longest))
    return json.loads(path.read_text()) if path.exists() else None


def calibrate(
    model_path: str, system_prompt: str, config: TrainConfig, rows: list[dict], lengths: list[int], timeout: float = 900
) -> dict:
    """Measure in a child process (cached); raise RuntimeError with its last words if it fails."""
    chosen, longest = longest_rows(rows, lengths, config)
    path = _cache_path(calibration_key(model_path, config, longest))
    if path.exists():
        return json.loads(path.read_text())
    with tempfile.TemporaryDirectory() as work:
        request = Path(work) / "request.json"
        rows_needed = [{"id": r["id"], "messages": r["messages"]} for r in chosen]
        request.write_text(
            json.dumps(
                {
                    "model_path": model_path,
                    "system_prompt": system_prompt,
                    "config": asdict(config),
                    "rows": rows_needed,
                }
            )
        )
        done = subprocess.run(
            [sys.executable, "-m", "studio.training.calibration", str(request), str(path)],
            cwd=SOURCE_ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    if done.returncode != 0 or not path.exists():
        raise RuntimeError("calibration failed: " + "\n".join((done.stderr or done.stdout).splitlines()[-6:]))
    return json.loads(path.read_text())


def measure(model_path: str, system_prompt: str, config: TrainConfig, rows: list[dict]) -> dict:
    """Train STEPS steps; the first is warm-up, the rest give tokens/s. Peak memory covers all."""
    from transformers import TrainerCallback

    from studio.training.callbacks import peak_memory_mb
    from studio.training.trainer import TrainingJob, build_trainer

    marks: list[tuple[float, float]] = []

    class Clock(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "num_tokens" in logs:
                marks.append((time.perf_counter(), float(logs["num_tokens"])))

    began = time.perf_counter()
    settings = replace(config, max_steps=STEPS, save_steps=10**6, validation_share=0.0)
    with tempfile.TemporaryDirectory() as run_dir:
        trainer = build_trainer(TrainingJob(model_path, system_prompt, settings, Path(run_dir)), rows)
        trainer.add_callback(Clock())
        loaded = time.perf_counter() - began
        trainer.train()
    (t0, n0), (t1, n1) = marks[0], marks[-1]
    return {
        "tokens_per_second": (n1 - n0) / max(t1 - t0, 1e-6),
        "peak_mb": peak_memory_mb(),
        "load_seconds": loaded,
        "device": _device(),
        "device_memory_mb": gpu_memory_mb(),
    }


def _device() -> str:
    from studio.models.loading import device_name

    return device_name()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    request = json.loads(Path(args[0]).read_text())
    result = measure(request["model_path"], request["system_prompt"], TrainConfig(**request["config"]), request["rows"])
    Path(args[1]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
