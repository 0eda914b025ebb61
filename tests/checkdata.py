"""Building a CheckInput straight from example dicts, for testing one check at a time.

The embeddings are real (the packaged all-MiniLM-L6-v2); only the database is left out.
"""

from __future__ import annotations

import numpy as np

from studio.checks.findings import CheckConfig, CheckInput
from studio.dataset.messages import answer_text, input_text, single_turn
from studio.models.embeddings import embed
from studio.models.similarity import NeighbourGraph, search
from studio.project.formats import parse_output_spec


def example(example_id: int, user: str, answer: str, status: str = "approved", tags: list[str] | None = None) -> dict:
    return {
        "id": example_id,
        "external_id": f"E-{example_id}",
        "messages": single_turn(user, answer),
        "status": status,
        "tags": tags or [],
        "revision": 1,
    }


def make_input(
    rows: list[tuple[str, str]] | list[dict], spec: dict, config: CheckConfig = CheckConfig(), **extra
) -> CheckInput:
    """A CheckInput over (input, answer) rows or example dicts, with real embeddings and neighbours."""
    examples = [r if isinstance(r, dict) else example(i, *r) for i, r in enumerate(rows, start=1)]
    inputs = [input_text(e["messages"]) for e in examples]
    answers = [answer_text(e["messages"]) for e in examples]
    vectors = embed(inputs)
    graph = NeighbourGraph(
        *search(vectors, vectors, 2 * config.neighbours, np.arange(len(vectors))),
        compared=len(vectors),
        k=config.neighbours,
    )
    parsed = parse_output_spec(spec)
    return CheckInput(
        examples=examples,
        spec=parsed,
        config=config,
        inputs=inputs,
        answers=answers,
        input_vectors=vectors,
        graph=graph,
        answer_vectors=embed(answers) if parsed.kind == "text" else None,
        **extra,
    )
