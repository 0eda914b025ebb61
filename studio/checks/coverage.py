"""Coverage: what the examples cover, and which real production inputs they do not.

Inputs are clustered (k-means on their embeddings), each cluster is named by its most
distinctive words (c-TF-IDF: TF-IDF over one document per cluster), and drawn on a 2-D
map (PCA of the embeddings). Counts per cluster and per tag are set against the
project's per-tag targets. A production sample is compared with every example; inputs
whose nearest example is less alike than a threshold are uncovered, and are clustered
the same way so the expert sees the regions that need examples.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from studio.checks.findings import StoredFinding
from studio.dataset.examples import add_example, list_examples
from studio.dataset.messages import input_text
from studio.models.similarity import cached_vectors, search
from studio.project.people import Person
from studio.project.projects import Project, get_project, update_project_settings

COVERED_SIMILARITY = 0.55
KEYWORDS = 3


def cluster_count(n: int, most: int = 30) -> int:
    """A readable number of clusters for n inputs: about sqrt(n / 2), at least 1."""
    return max(1, min(most, n, round(math.sqrt(n / 2))))


def cluster_vectors(vectors: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """A cluster number for each row (k-means; mini-batch past a few thousand rows).

    The same vectors give the same clusters, numbered the same, on every visit: k-means
    sees the rows in an order fixed by their values (not by the order they come in, which
    changes with ids and imports), seeded, on one thread (several threads add partial
    sums in whatever order they finish, and the rounding can move a point to another cluster).
    """
    from sklearn.cluster import KMeans, MiniBatchKMeans
    from threadpoolctl import threadpool_limits

    if k <= 1 or len(vectors) <= k:
        return np.zeros(len(vectors), dtype=int) if k <= 1 else np.arange(len(vectors))
    order = sorted(range(len(vectors)), key=lambda i: vectors[i].tobytes())
    model = (
        MiniBatchKMeans(k, random_state=seed, n_init=3)
        if len(vectors) > 5000
        else KMeans(k, random_state=seed, n_init=3)
    )
    with threadpool_limits(1):
        found = model.fit_predict(vectors[order])
    numbers: dict[int, int] = {}  # clusters numbered by their first row in that fixed order
    labels = np.empty(len(vectors), dtype=int)
    for position, row in enumerate(order):
        labels[row] = numbers.setdefault(int(found[position]), len(numbers))
    return labels


def name_clusters(texts: list[str], labels: np.ndarray, words: int = KEYWORDS) -> dict[int, str]:
    """Each cluster's most distinctive words by c-TF-IDF, joined with ' · '."""
    from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer

    clusters = sorted(set(labels.tolist()))
    documents = [" ".join(t for t, label in zip(texts, labels) if label == c) for c in clusters]
    try:
        counts = CountVectorizer(stop_words="english", token_pattern=r"(?u)\b[a-zA-Z]{2,}\b").fit(documents)
    except ValueError:  # only stop words
        return {c: f"cluster {c}" for c in clusters}
    weights = TfidfTransformer().fit_transform(counts.transform(documents)).toarray()
    vocabulary = counts.get_feature_names_out()
    return {c: " · ".join(vocabulary[np.argsort(-weights[row])[:words]]) for row, c in enumerate(clusters)}


def project_to_plane(vectors: np.ndarray) -> np.ndarray:
    """2-D coordinates for a map (PCA), zeros when there are too few points."""
    from sklearn.decomposition import PCA

    if len(vectors) < 3:
        return np.zeros((len(vectors), 2))
    return PCA(2, random_state=0).fit_transform(vectors)


def input_clusters(db: Path, texts: list[str], most: int = 8) -> list[str]:
    """The name of each text's cluster, clustered as the coverage map clusters (for evaluation slices)."""
    if not texts:
        return []
    labels = cluster_vectors(cached_vectors(db, texts).matrix, cluster_count(len(texts), most))
    names = name_clusters(texts, labels)
    return [names[c] for c in labels]


@dataclass(frozen=True)
class CoverageMap:
    """The examples on a map, their clusters and their tags against targets."""

    points: pd.DataFrame
    clusters: pd.DataFrame
    tags: pd.DataFrame


def coverage_map(db: Path, project: Project, findings: list[StoredFinding] | None = None) -> CoverageMap:
    """Cluster and place the project's live (not rejected) examples; count per cluster and per tag."""
    examples = [e for e in list_examples(db, project) if e["status"] != "rejected"]
    texts = [input_text(e["messages"]) for e in examples]
    vectors = cached_vectors(db, texts).matrix
    labels = cluster_vectors(vectors, cluster_count(len(texts)))
    names = name_clusters(texts, labels) if texts else {}
    xy = project_to_plane(vectors)
    flagged = Counter(e.id for f in findings or [] for e in f.examples)
    points = pd.DataFrame(
        {
            "x": xy[:, 0] if len(xy) else [],
            "y": xy[:, 1] if len(xy) else [],
            "cluster": [names[c] for c in labels],
            "tag": [", ".join(e["tags"]) or "(none)" for e in examples],
            "status": [e["status"] for e in examples],
            "findings": [flagged[e["id"]] for e in examples],
            "example": [e["external_id"] or str(e["id"]) for e in examples],
            "input": [t[:120] for t in texts],
        }
    )
    return CoverageMap(points, _cluster_table(points), tag_table(examples, coverage_targets(db, project)))


def _cluster_table(points: pd.DataFrame) -> pd.DataFrame:
    if points.empty:
        return pd.DataFrame(columns=["cluster", "examples", "approved", "with findings"])
    grouped = points.groupby("cluster")
    return (
        pd.DataFrame(
            {
                "examples": grouped.size(),
                "approved": grouped["status"].apply(lambda s: int((s == "approved").sum())),
                "with findings": grouped["findings"].apply(lambda f: int((f > 0).sum())),
            }
        )
        .reset_index()
        .sort_values("examples", ascending=False, ignore_index=True)
    )


def tag_table(examples: list[dict], targets: dict[str, int]) -> pd.DataFrame:
    """Approved examples per tag against each tag's target (0 where none is set)."""
    approved = Counter(tag for e in examples if e["status"] == "approved" for tag in e["tags"])
    every = Counter(tag for e in examples for tag in e["tags"])
    tags = sorted(set(every) | set(targets))
    return pd.DataFrame(
        {
            "tag": tags,
            "examples": [every[t] for t in tags],
            "approved": [approved[t] for t in tags],
            "target": [int(targets.get(t, 0)) for t in tags],
            "missing": [max(int(targets.get(t, 0)) - approved[t], 0) for t in tags],
        }
    )


def coverage_targets(db: Path, project: Project) -> dict[str, int]:
    """The project's per-tag targets as stored now (the page's Project may predate a save)."""
    return get_project(db, project.name).coverage_targets


def set_coverage_targets(db: Path, project: Project, targets: dict[str, int], actor: Person | None = None) -> None:
    """Store per-tag targets (examples wanted per tag); blank tags are dropped, negative or
    non-whole numbers refused; only an admin (or a local user) may."""
    wanted = {str(tag).strip(): target for tag, target in targets.items() if str(tag).strip()}
    update_project_settings(db, project, actor, coverage_targets=wanted)


@dataclass(frozen=True)
class ProductionGaps:
    """A production sample against the examples: each input's nearest example, and the uncovered clusters."""

    inputs: pd.DataFrame
    clusters: pd.DataFrame


def production_gaps(
    db: Path, project: Project, inputs: list[str], threshold: float = COVERED_SIMILARITY
) -> ProductionGaps:
    """Which production inputs are far from every example (nearest less alike than `threshold`), grouped."""
    examples = [e for e in list_examples(db, project) if e["status"] != "rejected"]
    example_vectors = cached_vectors(db, [input_text(e["messages"]) for e in examples]).matrix
    vectors = cached_vectors(db, inputs).matrix
    nearest, similarity = search(vectors, example_vectors, 1)
    table = pd.DataFrame(
        {
            "input": inputs,
            "similarity": similarity[:, 0].round(3),
            "nearest example": [
                examples[i]["external_id"] or str(examples[i]["id"]) if i >= 0 else "" for i in nearest[:, 0]
            ],
        }
    )
    table["covered"] = table["similarity"] >= threshold
    table["cluster"] = ""
    far = np.nonzero(~table["covered"].to_numpy())[0]
    if len(far):
        labels = cluster_vectors(vectors[far], cluster_count(len(far), most=12))
        names = name_clusters([inputs[i] for i in far], labels)
        table.loc[far, "cluster"] = [names[c] for c in labels]
    return ProductionGaps(table, _gap_clusters(table))


def _gap_clusters(table: pd.DataFrame) -> pd.DataFrame:
    far = table[~table["covered"]]
    if far.empty:
        return pd.DataFrame(columns=["cluster", "inputs", "samples"])
    grouped = far.sort_values("similarity").groupby("cluster")
    return (
        pd.DataFrame(
            {
                "inputs": grouped.size(),
                "samples": grouped["input"].apply(lambda s: list(s)[:3]),
            }
        )
        .reset_index()
        .sort_values("inputs", ascending=False, ignore_index=True)
    )


def draft_from_production(db: Path, project: Project, text: str, author: str) -> int:
    """A draft example from an uncovered production input, for an expert to answer."""
    return add_example(
        db, project, [{"role": "user", "content": text}], author, "draft", ["from-production"], source="production"
    )


def map_figure(points: pd.DataFrame, colour: str):
    """A plotly scatter of the examples' inputs, coloured by cluster, tag, status or findings."""
    import plotly.express as px

    frame = points.assign(findings=points["findings"].map(lambda n: f"{n} finding{'s' * (n != 1)}" if n else "none"))
    figure = px.scatter(
        frame,
        x="x",
        y="y",
        color=colour,
        hover_name="example",
        hover_data={"input": True, "cluster": True, "tag": True, "status": True, "x": False, "y": False},
        height=520,
        color_discrete_sequence=px.colors.qualitative.Dark24,
    )
    figure.update_traces(marker={"size": 7, "opacity": 0.8})
    figure.update_layout(
        xaxis={"visible": False}, yaxis={"visible": False}, margin={"t": 20, "b": 10}, legend={"title": colour}
    )
    return figure
