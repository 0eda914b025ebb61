"""The model card of a run: run_dir/README.md with the manifest and the evaluation summary.

The worker writes it when training ends (evaluation pending); the app rewrites it once
it has scored the held-out answers. Rendering is plain Markdown from plain dicts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the worker writes cards too, and never imports storage (which the leaderboard reads)
    from studio.evaluation.leaderboard import LeaderboardRow


def _recipe_words(recipe: dict | None) -> str:
    if not recipe or recipe.get("quantization") != "none":
        return "QLoRA: 4-bit NF4 base"
    return f"{recipe['weights_dtype']} base on {recipe['device']}"


def render_model_card(
    manifest: dict, leaderboard: list[LeaderboardRow] | None = None, round_trip: dict | None = None
) -> str:
    config = manifest["config"]
    train = config["train"]
    lines = [
        f"# {config['project']} · run {manifest['run_id']}",
        "",
        f"A LoRA adapter ({_recipe_words(manifest.get('recipe'))}) for **{manifest['base_model']}**, trained by the Fine-Tuning Studio "
        f'on project *{config["project"]}*. Load it with `PeftModel.from_pretrained(base, "adapter")`.',
        "",
        "## Task",
        "",
        config.get("system_prompt") or "(no system prompt)",
        "",
        "## Evaluation",
        "",
        *_evaluation_lines(leaderboard),
        "",
        *_round_trip_lines(round_trip),
        "## Training",
        "",
        *_recipe_lines(manifest.get("recipe")),
        "| setting | value |",
        "|---|---|",
        *[f"| {key} | {value} |" for key, value in train.items()],
        "",
        "## Reproduce",
        "",
        f"- seed: {manifest['seed']}",
        f"- dataset snapshot: `{manifest['snapshot_hash']}` (held-out `{manifest['held_out_hash']}`)",
        f"- chat template: `{manifest['chat_template_hash']}`",
        f"- device: {manifest['device']}",
        f"- studio commit: `{manifest['git']['commit']}`"
        + (" (with uncommitted changes)" if manifest["git"]["dirty"] else ""),
        "- libraries: " + ", ".join(f"{k} {v}" for k, v in manifest["libraries"].items() if v),
        "",
        "The full manifest is `manifest.json` beside this file.",
        "",
    ]
    return "\n".join(lines)


def _recipe_lines(recipe: dict | None) -> list[str]:
    """What the device actually trained with, where it differs from the settings asked for below."""
    if not recipe:
        return []
    return [
        f"Trained on {recipe['device']} with {recipe['max_steps']} optimizer steps at learning rate "
        f"{recipe['learning_rate']:g}: base weights {recipe['weights_dtype']} (quantization: {recipe['quantization']}), "
        f"LoRA weights {recipe.get('adapter_dtype', 'float32')}, "
        f"{recipe['optimizer']}, {recipe['batching']} batches, {recipe.get('attention', 'sdpa')} attention, "
        "gradient checkpointing "
        f"{'on' if recipe['gradient_checkpointing'] else 'off'}. Why: {recipe['why']}.",
        "",
        "The settings asked for (a learning rate of 0 means: picked by the model's size):",
        "",
    ]


def _evaluation_lines(board: list[LeaderboardRow] | None) -> list[str]:
    if not board:
        return ["Evaluation pending: the studio scores the held-out answers when the run ends."]
    metric = board[0].primary_metric
    return [
        f"On {board[0].n} held-out examples, by {metric} (95% interval):",
        "",
        "| rank | model | " + metric + " | interval |",
        "|---|---|---|---|",
        *[f"| {r.rank} | {r.label} | {r.primary_value:.3f} | [{r.low:.3f}, {r.high:.3f}] |" for r in board],
    ]


def _round_trip_lines(trip: dict | None) -> list[str]:
    if not trip:
        return []
    if "error" in trip:
        return [f"Merge round-trip check failed: {trip['error']}", ""]
    return [
        f"Merge round trip: {trip['matches']} of {trip['checked']} answers the same after merging and reloading; "
        f"chat template kept: {'yes' if trip['template_ok'] else 'no'}.",
        "",
    ]


def write_model_card(run_dir: Path, manifest: dict, leaderboard: list[LeaderboardRow] | None = None) -> Path:
    trip_path = Path(run_dir) / "round_trip.json"
    trip = json.loads(trip_path.read_text()) if trip_path.exists() else None
    path = Path(run_dir) / "README.md"
    path.write_text(render_model_card(manifest, leaderboard, trip))
    return path
