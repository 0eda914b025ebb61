"""The suspect-output check: answers that disagree with what similar examples say.

For label answers (a label spec, or the category field of a JSON spec) a ridge
classifier on the input embeddings predicts each example's label out of fold
(cross-validated, so no example grades itself); cleanlab's confident learning then
picks the examples whose given label the classifier finds unlikely, ranked by how
unlikely. For free-text answers the nearest inputs vote: an answer far from the
answers of its nearest inputs, while those agree with one another, is suspect.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from studio.findings import CheckInput, Finding
from studio.formats import stratum_of

MIN_PER_LABEL = 3
MIN_EXAMPLES = 20


def out_of_fold_probabilities(vectors: np.ndarray, labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """Cross-validated label probabilities of each row: ridge classifier scores, temperature-scaled.

    A ridge classifier fits in closed form (fast enough to refit on every check); its
    scores become probabilities through a softmax whose temperature is fitted to the
    out-of-fold scores by likelihood, so confidences are calibrated for this dataset.
    """
    from sklearn.linear_model import RidgeClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    folds = min(5, int(np.bincount(labels).min()))
    scores = cross_val_predict(RidgeClassifier(alpha=1.0), vectors, labels, method="decision_function",
                               cv=StratifiedKFold(folds, shuffle=True, random_state=seed))
    from scipy.special import softmax

    if scores.ndim == 1:  # two labels: one score column for the second label
        scores = np.stack([-scores, scores], axis=1)
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
    over a cross-validated classifier on the input embeddings; free-text answers against
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
    issues = find_label_issues(codes, probabilities, return_indices_ranked_by="self_confidence", n_jobs=1)
    findings = []
    for row in issues:
        given, predicted = codes[row], int(np.argmax(probabilities[row]))
        score = round(1.0 - float(probabilities[row, given]), 4)
        findings.append(Finding("suspect-output", "warning", (kept[row],), score,
                                f"Labelled {names[given]!r}, but similar examples say {names[predicted]!r} "
                                f"({probabilities[row, predicted]:.0%} against {probabilities[row, given]:.0%})."))
    return findings


def _suspect_texts(data: CheckInput) -> list[Finding]:
    if data.answer_vectors is None:
        return []
    findings = []
    threshold = data.config.different_answer_similarity
    for i in range(len(data.examples)):
        near = [j for j, s in zip(data.graph.indices[i], data.graph.similarities[i])
                if j >= 0 and s >= data.config.contradiction_similarity - 0.1][:5]
        if len(near) < 2:
            continue
        theirs = data.answer_vectors[near]
        agreement = float(((theirs @ theirs.T).sum() - len(near)) / (len(near) * (len(near) - 1)))
        mine = float(np.mean(theirs @ data.answer_vectors[i]))
        if agreement >= threshold and mine < threshold - 0.2:
            findings.append(Finding("suspect-output", "warning", (i, *near), round(agreement - mine, 4),
                                    f"{len(near)} similar inputs agree on their answers (similarity {agreement:.2f}) "
                                    f"but this answer is far from theirs ({mine:.2f})."))
    return findings
