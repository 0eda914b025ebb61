"""Checks of an example's shape and of the dataset's size: format, length, tokens, counts.

Format follows the project's output spec, or where the spec is free text, the format
most answers share. Lengths are compared on a log scale with a robust z-score (median
and median absolute deviation), so a few huge examples cannot hide each other.
"""

from __future__ import annotations

import json
from collections import Counter

import numpy as np

from studio.checks.findings import CheckInput, Finding
from studio.project.formats import validate_output

MIN_FOR_STATISTICS = 20
CONSENSUS_SHARE = 0.8


def find_format_breaks(data: CheckInput) -> list[Finding]:
    """Format breaks: answers that break the project's output spec or, without one, the format most answers share.

    The shared format is JSON versus plain text, the JSON keys most answers have, and
    one casing per label for short label-like answers.
    """
    if data.spec.kind != "text":
        problems = [(p, validate_output(data.spec, answer)) for p, answer in enumerate(data.answers)]
        return [
            Finding("format", "error", (p,), 1.0, f"The answer breaks the output format: {problem}.")
            for p, problem in problems
            if problem
        ]
    return _json_consensus(data) or _label_casing(data)


def _json_keys(answer: str) -> tuple[str, ...] | None:
    try:
        value = json.loads(answer)
    except (ValueError, RecursionError):  # bad syntax, a number too long, nesting too deep
        return None
    return tuple(sorted(value)) if isinstance(value, dict) else None


def _json_consensus(data: CheckInput) -> list[Finding]:
    keys = [_json_keys(answer) for answer in data.answers]
    objects = [k for k in keys if k is not None]
    if len(data.answers) < 5 or len(objects) < CONSENSUS_SHARE * len(data.answers):
        return []
    usual, _ = Counter(objects).most_common(1)[0]
    findings = []
    for position, found in enumerate(keys):
        if found is None:
            reason = f"{len(objects)} of {len(keys)} answers are JSON objects, this one is not"
        elif found != usual:
            missing, extra = sorted(set(usual) - set(found)), sorted(set(found) - set(usual))
            reason = (
                "its keys differ from most answers' ("
                + "; ".join(
                    part
                    for part in (
                        f"missing {', '.join(missing)}" if missing else "",
                        f"extra {', '.join(extra)}" if extra else "",
                    )
                    if part
                )
                + ")"
            )
        else:
            continue
        findings.append(
            Finding("format", "warning", (position,), 0.9, f"The answer breaks the shared format: {reason}.")
        )
    return findings


def _label_casing(data: CheckInput) -> list[Finding]:
    answers = [a.strip() for a in data.answers]
    distinct = set(answers)
    if len(answers) < 5 or any(len(a.split()) > 3 for a in answers) or len(distinct) > max(20, len(answers) // 10):
        return []
    spellings: dict[str, Counter] = {}
    for answer in answers:
        spellings.setdefault(answer.lower(), Counter())[answer] += 1
    findings = []
    for position, answer in enumerate(answers):
        usual = spellings[answer.lower()].most_common(1)[0][0]
        if answer != usual:
            findings.append(
                Finding("format", "warning", (position,), 0.8, f"The label {answer!r} is usually written {usual!r}.")
            )
    return findings


def robust_z(values: np.ndarray) -> np.ndarray:
    """How far each value is from the median, in (scaled) median absolute deviations."""
    median = np.median(values)
    spread = np.median(np.abs(values - median)) / 0.6745
    return np.zeros_like(values) if spread == 0 else (values - median) / spread


def find_length_outliers(data: CheckInput) -> list[Finding]:
    """Length outliers: inputs or answers far longer or shorter than the rest, and examples over the token limit.

    An example longer than the training sequence length (`max_tokens`) would be cut;
    an input or answer whose log length has a robust z-score past `length_outlier_z`
    and that is `length_outlier_ratio` times off the median is often a paste error.
    """
    findings = []
    for position, tokens in sorted(data.long_examples.items()):
        if tokens > data.config.max_tokens:
            findings.append(
                Finding(
                    "length",
                    "error",
                    (position,),
                    1.0,
                    f"{tokens} tokens, over the training length of {data.config.max_tokens}: it would be truncated.",
                )
            )
    if len(data.examples) < MIN_FOR_STATISTICS:
        return findings
    for side, texts in (("input", data.inputs), ("answer", data.answers)):
        lengths = np.array([len(t) for t in texts], dtype=float)
        scores = robust_z(np.log1p(lengths))
        ratio = np.maximum(lengths, 1) / max(float(np.median(lengths)), 1.0)
        far = (np.abs(scores) > data.config.length_outlier_z) & (
            (ratio >= data.config.length_outlier_ratio) | (ratio <= 1 / data.config.length_outlier_ratio)
        )
        for position in np.nonzero(far)[0].tolist():
            how = "longer" if scores[position] > 0 else "shorter"
            findings.append(
                Finding(
                    "length",
                    "warning",
                    (position,),
                    round(min(abs(float(scores[position])) / 10, 0.99), 4),
                    f"The {side} is {int(lengths[position])} characters, far {how} than usual "
                    f"(median {int(np.median(lengths))}).",
                )
            )
    return findings


def find_dataset_size(data: CheckInput) -> list[Finding]:
    """Dataset size: under 50 approved examples is too few; under about 500 a prompting baseline may do as well; tags under their targets.

    Per-tag targets come from the project's coverage targets.
    """
    approved = [e for e in data.examples if e["status"] == "approved"]
    findings = []
    if len(approved) < data.config.too_few_examples:
        findings.append(
            Finding(
                "size",
                "error",
                (),
                1.0,
                f"{len(approved)} approved examples: under {data.config.too_few_examples} is too few to fine-tune on.",
            )
        )
    elif len(approved) < data.config.prompting_may_do:
        findings.append(
            Finding(
                "size",
                "info",
                (),
                0.5,
                f"{len(approved)} approved examples: under about {data.config.prompting_may_do} a prompted "
                "baseline may do as well; compare before you ship.",
            )
        )
    counts = Counter(tag for e in approved for tag in e.get("tags") or [])
    for tag, target in sorted(data.tag_targets.items()):
        if counts[tag] < int(target):
            findings.append(
                Finding(
                    "size",
                    "warning",
                    (),
                    round(1 - counts[tag] / max(int(target), 1), 4),
                    f"Tag {tag!r} has {counts[tag]} approved examples, under its target of {int(target)}.",
                )
            )
    return findings
