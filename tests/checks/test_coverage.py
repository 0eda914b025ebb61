"""Coverage: clusters named by their words, tags against targets, and production inputs no example covers."""

from __future__ import annotations

import numpy as np
import pytest

from studio.checks.coverage import (
    coverage_map,
    draft_from_production,
    name_clusters,
    production_gaps,
    set_coverage_targets,
)
from studio.dataset.examples import get_example
from studio.transfer.production import read_sample


def test_clusters_are_named_by_their_most_distinctive_words():
    texts = [
        "refund my invoice",
        "invoice charged twice",
        "refund the invoice please",
        "parcel lost by courier",
        "courier lost parcel",
        "where is my parcel",
    ]
    names = name_clusters(texts, np.array([0, 0, 0, 1, 1, 1]), words=2)
    assert set(names[0].split(" · ")) == {"invoice", "refund"}
    assert set(names[1].split(" · ")) == {"parcel", "courier"}


def test_the_demo_map_has_every_example_clusters_and_tags_against_targets(db, demo):
    set_coverage_targets(db, demo, {"billing": 60, "security": 5})
    view = coverage_map(db, demo)
    assert len(view.points) == 247 and view.points["cluster"].nunique() == len(view.clusters) >= 5
    assert view.clusters["examples"].sum() == 247
    tags = view.tags.set_index("tag")
    assert (
        tags.loc["billing", "target"] == 60 and tags.loc["billing", "missing"] == 60 - tags.loc["billing", "approved"]
    )
    assert tags.loc["security", "missing"] == 0


def test_a_target_must_be_a_whole_number(db, demo):
    with pytest.raises(ValueError, match="whole number"):
        set_coverage_targets(db, demo, {"billing": -3})


def test_production_inputs_far_from_every_example_are_uncovered_and_grouped(db, demo):
    inputs = [
        "My backup has failed every night since Tuesday with an upload timeout",  # like the demo's tickets
        "I was charged twice for my subscription this month",
        "What is a good recipe for lasagna with spinach?",
        "How long should I bake a lasagna?",
        "Which football team won the league last season?",
    ]
    gaps = production_gaps(db, demo, inputs)
    covered = dict(zip(gaps.inputs["input"], gaps.inputs["covered"]))
    assert covered[inputs[0]] and covered[inputs[1]]
    assert not covered[inputs[2]] and not covered[inputs[3]] and not covered[inputs[4]]
    assert gaps.clusters["inputs"].sum() == 3
    assert all(len(samples) >= 1 for samples in gaps.clusters["samples"])


def test_an_uncovered_input_becomes_a_draft_example(db, demo):
    new_id = draft_from_production(db, demo, "How long should I bake a lasagna?", "ann")
    example = get_example(db, new_id)
    assert example["status"] == "draft" and example["source"] == "production"
    assert example["messages"] == [{"role": "user", "content": "How long should I bake a lasagna?"}]


def test_a_sample_is_read_from_text_csv_or_jsonl_naming_the_rows_it_skips():
    assert read_sample("s.txt", b"first input\n\n second input \n").inputs == ["first input", "second input"]
    csv = read_sample("s.csv", b"id,text\n1,where is my parcel\n2,\n3,refund please\n")
    assert csv.inputs == ["where is my parcel", "refund please"]
    assert csv.problems == ["row 3: the column 'text' is empty"]
    jsonl = read_sample(
        "s.jsonl", b'{"input": "a"}\n{"messages": [{"role": "user", "content": "b"}]}\nnot json\n{"x": 1}\n'
    )
    assert jsonl.inputs == ["a", "b"]
    assert jsonl.problems[0].startswith("row 3: not valid JSON") and jsonl.problems[1].startswith(
        "row 4: no input found"
    )
    assert read_sample("s.csv", b"a,b\n1,2\n", column="c").problems == ["the CSV has no column 'c' (columns: a, b)"]


def test_the_same_inputs_give_the_same_clusters_whatever_their_order(db, demo):
    import random

    from studio.checks.coverage import cluster_count, cluster_vectors
    from studio.dataset.examples import list_examples
    from studio.dataset.messages import input_text
    from studio.models.similarity import cached_vectors

    texts = [input_text(e["messages"]) for e in list_examples(db, demo)]
    vectors = cached_vectors(db, texts).matrix
    k = cluster_count(len(texts))
    first = cluster_vectors(vectors, k)
    order = list(range(len(texts)))
    random.Random(1).shuffle(order)  # the same examples, listed in another order (other ids, another import)
    again = cluster_vectors(vectors[order], k)

    def groups(labels, rows):
        return sorted(sorted(texts[r] for r, label in zip(rows, labels) if label == c) for c in set(labels))

    assert groups(first, range(len(texts))) == groups(again, order)
    assert list(cluster_vectors(vectors, k)) == list(first)  # and the same numbers on the next visit
