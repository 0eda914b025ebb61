"""What a check looks at (CheckInput), how it is tuned (CheckConfig) and what it reports (Finding).

A stored finding, as pages and the CLI read it, is a StoredFinding naming its live examples
(FindingExample); `to_dict()` turns it into the CLI's JSON.

Shared by every check module (studio.checks.duplicates, studio.checks.contradictions, studio.checks.label_noise, studio.checks.shapes, studio.checks.pii)
and by studio.checks.runner, which builds the input and stores the findings.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import numpy as np

from studio.models.similarity import NeighbourGraph
from studio.project.formats import OutputSpec
from studio.settings import setting

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class CheckConfig:
    """Every threshold the checks use; each can be changed on the Quality page or the CLI."""

    near_duplicate_similarity: float = setting(
        "how alike two inputs' meanings must be (cosine of their embeddings, 1.0 = same wording) to count as "
        "near duplicates; 0.95 catches rewordings of one sentence, 0.85 also catches looser paraphrases",
        0.92,
    )
    contradiction_similarity: float = setting(
        "inputs at least this alike with different answers are reported as a contradiction", 0.92
    )
    different_answer_similarity: float = setting(
        "free-text answers less alike than this (cosine) count as different answers; rewordings of one answer score about 0.7 to 0.95",
        0.6,
    )
    neighbours: int = setting("how many nearest inputs each example is compared with", 10)
    length_outlier_z: float = setting(
        "robust z-score of an input's or answer's log length beyond which it may be an outlier", 4.0
    )
    length_outlier_ratio: float = setting(
        "an outlier must also be this many times longer (or shorter) than the median length", 4.0
    )
    max_tokens: int = setting("the training sequence length: longer examples would be truncated", 512)
    too_few_examples: int = setting("fewer approved examples than this is too few to fine-tune on", 50)
    prompting_may_do: int = setting("under this many approved examples a prompted baseline may do as well", 500)


@dataclass(frozen=True)
class Finding:
    """One problem: its kind, how bad it is, the examples involved (positions in the input) and why."""

    kind: str
    severity: str
    positions: tuple[int, ...]
    score: float
    explanation: str


@dataclass(frozen=True)
class FindingExample:
    """One example a stored finding names, as it is now: enough to show it and to decide on it."""

    id: int
    external_id: str | None
    status: str
    revision: int
    tags: tuple[str, ...]
    input: str
    answer: str

    def to_dict(self) -> dict:
        return {**asdict(self), "tags": list(self.tags)}


@dataclass(frozen=True)
class StoredFinding:
    """A finding as the last check stored it, with its decision (state, reason, who) and its live examples.

    `examples` is empty for a dataset-wide finding, and where the reader asked only for the findings
    of one example (the Review page).
    """

    id: int
    kind: str
    severity: str
    score: float
    explanation: str
    state: str = "open"
    reason: str | None = None
    decided_by: str | None = None
    examples: tuple[FindingExample, ...] = ()

    def to_dict(self) -> dict:
        return {**asdict(self), "examples": [e.to_dict() for e in self.examples]}


@dataclass(frozen=True)
class CheckInput:
    """Everything the checks read: the live examples and what was computed about them.

    `inputs` and `answers` are aligned with `examples`; `graph` holds each example's
    nearest inputs by position; `held_out` holds the positions in the held-out split;
    `long_examples` maps the position of each example over `max_tokens` to its tokens.
    """

    examples: list[dict]
    spec: OutputSpec
    config: CheckConfig
    inputs: list[str]
    answers: list[str]
    input_vectors: np.ndarray
    graph: NeighbourGraph
    held_out: frozenset[int] = frozenset()
    long_examples: dict = field(default_factory=dict)
    answer_vectors: np.ndarray | None = None
    tag_targets: dict = field(default_factory=dict)


def canonical_answer(spec: OutputSpec, text: str) -> str:
    """An answer in a form where formatting differences do not count (JSON re-serialised)."""
    stripped = text.strip()
    if spec.kind == "json" or stripped.startswith(("{", "[")):
        try:
            return json.dumps(json.loads(stripped), sort_keys=True)
        except (ValueError, RecursionError):  # bad syntax, a number too long, nesting too deep
            pass
    return stripped
