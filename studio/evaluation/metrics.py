"""Scoring one model's answers against the expected ones, by output format.

Per example: labels and regex answers get exact match; JSON answers get validity,
exact match and field accuracy; free text gets chrF (sacrebleu) and ROUGE-L
(rouge-score). Those average into a model's summary. Some metrics are not a mean of
per-example scores (macro F1, a confusion matrix, per-field precision and recall);
`aggregate_metrics` computes them over all of a model's answers at once. Each spec
has one primary metric, the one the leaderboard ranks by.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import cache
from statistics import fmean

from studio.project.formats import OutputSpec

INVALID_LABEL = "(invalid)"

BINARY_METRICS = ("exact_match", "json_valid")  # 0 or 1 per example: their intervals are Wilson's
PRIMARY_METRIC = {"labels": "exact_match", "regex": "exact_match", "json": "field_accuracy", "text": "chrf"}
METRIC_HELP = {
    "exact_match": "share of answers identical to the expected one (after trimming whitespace)",
    "json_valid": "share of answers that parse as JSON",
    "field_accuracy": "share of expected JSON fields the answer gets exactly right",
    "chrf": "chrF character n-gram overlap with the expected answer, 0 to 100, scaled to 0 to 1",
    "rouge_l": "ROUGE-L F-measure: the longest sequence of words shared, in order, with the expected answer, 0 to 1",
    "macro_f1": (
        "F1 of each label, averaged with equal weight, so rare labels count as much as common ones; "
        "answers outside the label set form one '(invalid)' class"
    ),
    "confusion": "how often each expected label (row) was answered as each label (column), '(invalid)' last",
    "fields": "per JSON field: precision (values given that are right), recall (expected values found), F1, support",
}


def primary_metric(spec: OutputSpec) -> str:
    return PRIMARY_METRIC[spec.kind]


def score_answer(spec: OutputSpec, expected: str, output: str) -> dict[str, float]:
    """Score one answer; every value lies in [0, 1]."""
    scores = {"exact_match": float(output.strip() == expected.strip())}
    if spec.kind == "json":
        scores.update(_json_scores(expected, output))
    if spec.kind == "text":
        from sacrebleu.metrics import CHRF

        scores["chrf"] = CHRF().sentence_score(output.strip(), [expected.strip()]).score / 100.0
        scores["rouge_l"] = _rouge_scorer().score(expected.strip(), output.strip())["rougeL"].fmeasure
    return scores


class _WordTokenizer:
    """Lower-cased Unicode words.

    rouge-score's default tokenizer keeps only [a-z0-9], which would erase accented,
    Cyrillic or CJK answers entirely and score them 0 against themselves.
    """

    def tokenize(self, text: str) -> list[str]:
        return re.findall(r"\w+", text.lower())


@cache
def _rouge_scorer():
    from rouge_score.rouge_scorer import RougeScorer  # pulls in nltk; only text specs need it

    # No stemmer: nltk's Porter stemmer is English-only, and the answers may not be.
    return RougeScorer(["rougeL"], use_stemmer=False, tokenizer=_WordTokenizer())


def same_json(a, b) -> bool:
    """Equal as JSON values: unlike Python's ==, true is not 1 and false is not 0."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _json_scores(expected: str, output: str) -> dict[str, float]:
    want = json.loads(expected)
    try:
        got = json.loads(output)
    except (ValueError, RecursionError):  # bad syntax, a number too long, nesting too deep
        return {"json_valid": 0.0, "field_accuracy": 0.0, "exact_match": 0.0}
    if not isinstance(want, dict) or not isinstance(got, dict):
        same = float(same_json(want, got))
        return {"json_valid": 1.0, "field_accuracy": same, "exact_match": same}
    right = sum(1 for key, value in want.items() if key in got and same_json(got[key], value))
    return {
        "json_valid": 1.0,
        "field_accuracy": right / len(want) if want else float(not got),
        "exact_match": float(same_json(want, got)),
    }


def field_judgements(expected: str, output: str) -> list[bool]:
    """One right-or-wrong per expected JSON field (sorted by name): the paired judgements the verdict pools.

    An expected value that is not an object is one judgement (the whole value); an empty
    object is one judgement too (right when the answer is empty as well), as in field accuracy.
    """
    want = json.loads(expected)
    try:
        got = json.loads(output)
    except (ValueError, RecursionError):  # bad syntax, a number too long, nesting too deep
        got = None
    if not isinstance(want, dict) or not want:
        return [same_json(want, got) if got is not None else False]
    got = got if isinstance(got, dict) else {}
    return [key in got and same_json(got[key], want[key]) for key in sorted(want)]


def summarise_scores(spec: OutputSpec, per_example: list[dict[str, float]]) -> dict[str, float]:
    """Average each metric over the examples (an empty list gives zeros)."""
    names = sorted({name for scores in per_example for name in scores} | {primary_metric(spec)})
    return {name: (fmean(s.get(name, 0.0) for s in per_example) if per_example else 0.0) for name in names}


def aggregate_metrics(spec: OutputSpec, expected: list[str], outputs: list[str]) -> dict:
    """Metrics over all of one model's answers that are not a mean of per-example scores.

    Labels: {"macro_f1": float, "confusion": {"labels": [...], "matrix": [[int]]}}.
    JSON: {"fields": {name: {"precision", "recall", "f1", "support"}}}.
    Free text and regex: {} (their per-example scores already say it all).
    """
    if len(expected) != len(outputs):
        raise ValueError(
            f"aggregate_metrics needs one output per expected answer: {len(expected)} expected, {len(outputs)} outputs"
        )
    if spec.kind == "labels":
        return _label_metrics(spec.labels, expected, outputs)
    if spec.kind == "json":
        return {"fields": _field_metrics(expected, outputs)}
    return {}


def _label_metrics(labels: tuple[str, ...], expected: list[str], outputs: list[str]) -> dict:
    """Macro F1 and the confusion matrix, with every off-spec answer pooled as '(invalid)'.

    Pooling keeps the matrix a fixed size and stops a model that invents many different
    wrong strings from being punished more, in macro F1, than one repeating a single one.
    A label that is neither expected nor answered has no F1 and is left out of the mean.
    The '(invalid)' row is normally all zeros: it counts expected answers outside the
    label set, a data problem that the checks flag.
    """
    from sklearn.metrics import confusion_matrix, f1_score  # slow to import; only label specs need it

    want = [_as_label(labels, text) for text in expected]
    got = [_as_label(labels, text) for text in outputs]
    classes = [*labels, INVALID_LABEL]
    seen = [label for label in classes if label in set(want) | set(got)]
    macro_f1 = float(f1_score(want, got, labels=seen, average="macro", zero_division=0)) if seen else 0.0
    matrix = confusion_matrix(want, got, labels=classes) if want else [[0] * len(classes) for _ in classes]
    return {"macro_f1": macro_f1, "confusion": {"labels": classes, "matrix": [[int(n) for n in row] for row in matrix]}}


def _as_label(labels: tuple[str, ...], text: str) -> str:
    return text.strip() if text.strip() in labels else INVALID_LABEL


def _field_metrics(expected: list[str], outputs: list[str]) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support for each field that some expected answer has.

    Per example and field: the same value in both is a true positive; a wrong value is a
    false positive and a false negative; an expected field the answer lacks is a false
    negative; a field the answer adds that this example does not expect is a false
    positive. An answer that is not a JSON object has no fields.
    """
    true_pos, false_pos, false_neg = Counter(), Counter(), Counter()
    for want_text, got_text in zip(expected, outputs):
        want, got = _fields_of(want_text), _fields_of(got_text)
        for key, value in want.items():
            if key in got and same_json(got[key], value):
                true_pos[key] += 1
            else:
                false_neg[key] += 1
                false_pos[key] += key in got
        for key in got.keys() - want.keys():
            false_pos[key] += 1
    names = sorted(true_pos.keys() | false_neg.keys())
    return {name: _precision_recall(true_pos[name], false_pos[name], false_neg[name]) for name in names}


def _fields_of(text: str) -> dict:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # bad syntax, a number too long, nesting too deep
        return {}
    return value if isinstance(value, dict) else {}


def _precision_recall(true_pos: int, false_pos: int, false_neg: int) -> dict[str, float]:
    """Counts to scores; an undefined ratio (nothing predicted or expected) counts as 0."""
    precision = true_pos / (true_pos + false_pos) if true_pos + false_pos else 0.0
    recall = true_pos / (true_pos + false_neg) if true_pos + false_neg else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": true_pos + false_neg}
