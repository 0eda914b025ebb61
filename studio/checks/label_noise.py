"""The suspect-output check: answers that disagree with what similar examples say.

For label answers (a label spec, or the category field of a JSON spec) a ridge
classifier on the input embeddings predicts each example's label leave-one-out (so no
example grades itself); cleanlab's confident learning then picks the examples whose
given label is less likely than the classifier's usual confidence in that label
(per-label thresholds), ranked by how unlikely. A finding names the accused example first,
then up to two of its nearest examples that carry the label it should probably have.
For free-text answers the nearest inputs vote: an answer far from the
answers of its nearest inputs, while those agree with one another, is suspect.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from studio.checks.findings import CheckInput, Finding
from studio.project.formats import stratum_of

MIN_PER_LABEL = 2
MIN_EXAMPLES = 20


def out_of_fold_probabilities(vectors: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Leave-one-out label probabilities of each row: ridge classifier scores, temperature-scaled.

    A ridge classifier gives every example's leave-one-out scores in closed form from
    one fit (scikit-learn's efficient generalised cross-validation), fast enough to
    run on every check. The scores become probabilities through a softmax whose
    temperature is fitted to them by likelihood, so confidences suit this dataset.
    """
    from scipy.special import softmax
    from sklearn.linear_model import RidgeClassifierCV

    model = RidgeClassifierCV(alphas=[1.0], store_cv_results=True, scoring="accuracy").fit(vectors, labels)
    scores = model.cv_results_[:, :, 0]
    if scores.shape[1] == 1:  # two labels: one score column, for the second label
        scores = np.concatenate([-scores, scores], axis=1)
    return softmax(scores * fit_temperature(scores, labels), axis=1)


def fit_temperature(scores: np.ndarray, labels: np.ndarray) -> float:
    """The softmax sharpness that best predicts the given labels (most of them are right)."""
    from scipy.optimize import minimize_scalar
    from scipy.special import log_softmax

    rows = np.arange(len(labels))

    def loss(log_t: float) -> float:
        return -float(np.mean(log_softmax(scores * np.exp(log_t), axis=1)[rows, labels]))

    return float(np.exp(minimize_scalar(loss, bounds=(-3.0, 6.0), method="bounded").x))


def find_suspect_outputs(data: CheckInput) -> list[Finding]:
    """Suspect outputs: an answer that disagrees with what similar examples say it should be.

    Labels (and the category field of JSON answers) are checked with confident learning
    over a leave-one-out classifier on the input embeddings; free-text answers against
    the answers of their nearest inputs. Finds mislabelled examples with no exact twin.
    """
    labels = [stratum_of(data.spec, answer) for answer in data.answers]
    if any(labels):
        return _suspect_labels(data, labels)
    return _suspect_texts(data)


def _suspect_labels(data: CheckInput, labels: list[str]) -> list[Finding]:
    from cleanlab.filter import find_label_issues

    counts = Counter(labels)
    kept = [p for p, label in enumerate(labels) if label and counts[label] >= MIN_PER_LABEL]
    names = sorted({labels[p] for p in kept})
    if len(kept) < MIN_EXAMPLES or len(names) < 2:
        return []
    codes = np.array([names.index(labels[p]) for p in kept])
    probabilities = out_of_fold_probabilities(data.input_vectors[kept], codes)
    issues = find_label_issues(
        codes, probabilities, filter_by="low_self_confidence", return_indices_ranked_by="self_confidence", n_jobs=1
    )
    findings = []
    for row in issues:
        given, predicted = codes[row], int(np.argmax(probabilities[row]))
        score = round(1.0 - float(probabilities[row, given]), 4)
        evidence = _nearest_with_label(data, kept[row], labels, names[predicted])
        findings.append(
            Finding(
                "suspect-output",
                "warning",
                (kept[row], *evidence),
                score,
                f"Labelled {names[given]!r}, but similar examples say {names[predicted]!r} "
                f"({probabilities[row, predicted]:.0%} against {probabilities[row, given]:.0%}).",
            )
        )
    return findings


def _nearest_with_label(
    data: CheckInput, position: int, labels: list[str], label: str, most: int = 2
) -> tuple[int, ...]:
    """The nearest examples answering `label`: the evidence shown after the accused example (which always comes first)."""
    near = [int(j) for j in data.graph.indices[position] if 0 <= j != position and labels[j] == label]
    return tuple(near[:most])


def _suspect_texts(data: CheckInput) -> list[Finding]:
    if data.answer_vectors is None:
        return []
    findings = []
    threshold = data.config.different_answer_similarity
    for i in range(len(data.examples)):
        near = [
            j
            for j, s in zip(data.graph.indices[i], data.graph.similarities[i])
            if j >= 0 and s >= data.config.contradiction_similarity - 0.1
        ][:5]
        if len(near) < 2:
            continue
        theirs = data.answer_vectors[near]
        agreement = float(((theirs @ theirs.T).sum() - len(near)) / (len(near) * (len(near) - 1)))
        mine = float(np.mean(theirs @ data.answer_vectors[i]))
        if agreement >= threshold and mine < threshold - 0.2:
            findings.append(
                Finding(
                    "suspect-output",
                    "warning",
                    (i, *near),
                    round(agreement - mine, 4),
                    f"{len(near)} similar inputs agree on their answers (similarity {agreement:.2f}) "
                    f"but this answer is far from theirs ({mine:.2f}).",
                )
            )
    return findings
