"""The training tests' projects: the demo on a tiny random Llama, cut to 20 examples or whole."""

from __future__ import annotations

import pytest

from studio.dataset.examples import delete_examples, list_examples
from studio.project.projects import update_project_settings


@pytest.fixture
def tiny_demo(db, demo, tiny_llama):
    """The demo project cut to 20 approved examples (2 held out) on a tiny random Llama: runs take seconds."""
    approved = list_examples(db, demo, status="approved")
    delete_examples(db, demo, [e["id"] for e in approved[20:]], "test")
    return update_project_settings(db, demo, base_model=str(tiny_llama))


@pytest.fixture
def tiny_whole_demo(db, demo, tiny_llama):
    """The whole demo project (about 200 training and 22 held-out examples) on a tiny random Llama, for a
    test whose counts need a split of real size."""
    return update_project_settings(db, demo, base_model=str(tiny_llama))
