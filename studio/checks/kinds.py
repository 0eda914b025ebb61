"""The kinds of check, in one typed list that the runner, the Quality page, the CLI and the user guide read.

Each kind says its name (the slug stored on a finding), its title (the one name people
see), what it finds, what a finding's score (0 to 1) measures, its severities from most
to least severe, and the CheckConfig settings that tune it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CheckKind:
    """One kind of finding."""

    name: str
    title: str
    finds: str
    score_means: str
    severities: tuple[str, ...]
    settings: tuple[str, ...] = ()


CHECK_KINDS: tuple[CheckKind, ...] = (
    CheckKind(
        "contradiction",
        "Contradictions",
        "the same or nearly the same input with different answers",
        "how alike the two inputs are (cosine similarity; 1 for the same input)",
        ("error", "warning"),
        ("contradiction_similarity", "different_answer_similarity", "neighbours"),
    ),
    CheckKind(
        "suspect-output",
        "Suspect outputs",
        "an answer its nearest neighbours disagree with: a likely wrong label",
        "how much more the nearest examples agree with each other than with this answer",
        ("warning",),
        ("neighbours",),
    ),
    CheckKind(
        "duplicate", "Duplicates", "examples whose inputs are identical", "1: the inputs are identical", ("warning",)
    ),
    CheckKind(
        "near-duplicate",
        "Near duplicates",
        "inputs that say the same thing in other words",
        "how alike the inputs are (cosine similarity)",
        ("info",),
        ("near_duplicate_similarity", "neighbours"),
    ),
    CheckKind(
        "leakage",
        "Leakage",
        "a held-out input that (nearly) repeats a training input, which inflates scores",
        "how alike the held-out input and the training input are (cosine similarity)",
        ("error",),
        ("near_duplicate_similarity",),
    ),
    CheckKind(
        "format",
        "Format breaks",
        "answers that break the project's output format or the shape the others share",
        "1 breaks the project's format; 0.8 to 0.9 differs from the shape the other answers share",
        ("error", "warning"),
    ),
    CheckKind(
        "length",
        "Length outliers",
        "examples longer than training keeps, or far longer or shorter than the rest",
        "1: longer than training keeps; below 1, how unusual the length is next to the others' (with the default "
        "settings a finding starts at 0.4; the higher, the further out)",
        ("error", "warning"),
        ("max_tokens", "length_outlier_z", "length_outlier_ratio"),
    ),
    CheckKind(
        "pii",
        "Personal data",
        "e-mail addresses, phone numbers, card numbers, IBANs and the like",
        "1: a pattern of personal data matched",
        ("warning",),
    ),
    CheckKind(
        "size",
        "Dataset size",
        "too few approved examples overall, or per tag against the project's targets",
        "how far the count lies below what is needed (1 is none)",
        ("error", "warning", "info"),
        ("too_few_examples", "prompting_may_do"),
    ),
)
KINDS: tuple[str, ...] = tuple(kind.name for kind in CHECK_KINDS)


def check_kind(name: str) -> CheckKind:
    """The kind called `name`, or ValueError naming the kinds there are."""
    for kind in CHECK_KINDS:
        if kind.name == name:
            return kind
    raise ValueError(f"no kind of check called {name!r}; the kinds are {', '.join(KINDS)}")
