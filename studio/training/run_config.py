"""The run configuration the app freezes for the worker: one typed record, JSON only at the edge.

`launch_run` builds a RunConfig and writes it to RUN_DIR/config.json (and the runs table);
the worker, the playground and the serving engine read it back with `RunConfig.read`. The
JSON form (`to_dict`) is what the run folder, the manifest and the model card hold, so a
run folder stays readable by people and by older and newer studios alike: keys a version
does not know are ignored, and keys it misses take their defaults.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from studio.evaluation.endpoint import EndpointConfig
from studio.training.config import TrainConfig

CONFIG_FILE = "config.json"


@dataclass(frozen=True)
class EvalSettings:
    """How the held-out set is answered: the baselines' shots, batch size, token budget, cache."""

    few_shot_k: int = 3  # retrieved training examples in each baseline prompt (0: no k-shot baseline)
    batch_size: int = 16  # held-out prompts answered together
    max_new_tokens: int = 0  # 0: from the longest training answer
    cache_dir: str | None = None  # where baseline answers are kept across runs; None: not cached
    endpoint: EndpointConfig | None = None  # an OpenAI-compatible model answering the same prompts

    def to_dict(self) -> dict:
        data = asdict(self)
        if self.endpoint is None:
            data.pop("endpoint")
        return data

    @classmethod
    def from_dict(cls, data: dict) -> EvalSettings:
        known = _known(cls, data)
        if known.get("endpoint"):
            known["endpoint"] = EndpointConfig.from_dict(known["endpoint"])
        return cls(**known)


@dataclass(frozen=True)
class RunConfig:
    """Everything a run's worker needs besides its frozen examples (train.jsonl, eval.jsonl)."""

    run_id: str
    project: str
    model_path: str  # the base model's folder (or hub id) as resolved at launch
    base_model: str = ""  # the project's setting the path was resolved from
    system_prompt: str = ""  # the project's task description
    output_spec: dict = field(default_factory=lambda: {"kind": "text"})  # studio.project.formats, as a dict
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalSettings = field(default_factory=EvalSettings)
    snapshot_hash: str = ""
    held_out_hash: str = ""
    held_out_source: str = "split"  # "test set": the project's own test set; "split": the seeded 10%
    trust_remote_code: bool = False  # an admin let this base model run its own code

    def to_dict(self) -> dict:
        """The JSON form: what config.json, the runs table and the manifest hold."""
        return {
            **{f.name: getattr(self, f.name) for f in fields(self)},
            "train": asdict(self.train),
            "eval": self.eval.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> RunConfig:
        """From the JSON form; unknown keys are ignored and missing ones take their defaults."""
        known = _known(cls, data)
        # A run made before the CPU recipe existed trained on the 4-bit base everywhere: no key means off.
        known["train"] = TrainConfig(**{"cpu_recipe": False, **_known(TrainConfig, data.get("train") or {})})
        known["eval"] = EvalSettings.from_dict(data.get("eval") or {})
        known["trust_remote_code"] = data.get("trust_remote_code") is True
        known.setdefault("run_id", "")
        known.setdefault("project", "")
        known.setdefault("model_path", "")
        return cls(**known)

    def write(self, run_dir: Path) -> Path:
        path = Path(run_dir) / CONFIG_FILE
        path.write_text(json.dumps(self.to_dict(), indent=2))
        return path

    @classmethod
    def read(cls, run_dir: Path) -> RunConfig:
        return cls.from_dict(json.loads((Path(run_dir) / CONFIG_FILE).read_text()))

    @classmethod
    def coerce(cls, config: RunConfig | dict) -> RunConfig:
        """The typed config, from itself or from its JSON form (a run folder's config.json, read as is)."""
        return config if isinstance(config, RunConfig) else cls.from_dict(config)


def _known(cls, data: dict) -> dict:
    names = {f.name for f in dataclasses.fields(cls)}
    return {name: value for name, value in data.items() if name in names}
