"""Training presets for small expert datasets: Quick, Balanced, Thorough.

Each preset is a TrainConfig plus one line saying when to pick it. They follow the
field's working range for LoRA on a few hundred examples (rank 8 to 32, alpha twice the
rank, about three epochs) and differ in how much they spend to find the best adapter.
The learning rate is left at 0, which picks it by the model's size (studio.training.recipe: 1e-3
for the packaged 135M model, 2e-4 from 3B up), and a minimum number of optimizer steps
keeps a tiny set from stopping before it learns. On the packaged model on 2 CPU cores,
Quick trains 400 short examples in about a minute and a half (under three with evaluation) and Balanced in
about six (docs/benchmarks.md).
Every field stays reachable under Advanced.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from studio.training.config import TrainConfig


@dataclass(frozen=True)
class Preset:
    """A named starting point: its settings and the one line that says when to use it."""

    name: str
    explanation: str
    config: TrainConfig


PRESETS: tuple[Preset, ...] = (
    Preset(
        "Quick",
        "One pass at rank 8 (at least 30 steps): minutes, to see whether fine-tuning moves the metric at all before spending more.",
        TrainConfig(lora_r=8, lora_alpha=16, epochs=1.0, min_steps=30, validation_share=0.0, save_steps=20),
    ),
    Preset(
        "Balanced",
        "The usual recipe for 100 to 1,000 examples: rank 16, three passes, 10% of train picks the best checkpoint by the task metric.",
        TrainConfig(lora_r=16, lora_alpha=32, epochs=3.0, min_steps=60, validation_share=0.1, save_steps=20),
    ),
    Preset(
        "Thorough",
        "For small or hard sets: rank 32 for five passes, validated often so the best checkpoint wins over an overfit last one.",
        TrainConfig(
            lora_r=32, lora_alpha=64, lora_dropout=0.1, epochs=5.0, min_steps=100, validation_share=0.15, save_steps=10
        ),
    ),
)
DEFAULT_PRESET = "Balanced"


def preset_named(name: str) -> Preset:
    for preset in PRESETS:
        if preset.name.lower() == name.lower():
            return preset
    raise ValueError(f"no preset called {name!r}; choose one of {', '.join(p.name for p in PRESETS)}")


def config_from_preset(name: str, **overrides) -> TrainConfig:
    """The preset's settings with some fields changed (unknown fields raise TypeError)."""
    return replace(preset_named(name).config, **overrides)
