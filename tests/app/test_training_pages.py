"""The Playground page renders (AppTest) and both models answer; the Train page refuses a broken base model."""

from __future__ import annotations

import pytest
from app_kit import finished_tiny_run, open_page

from studio.project.projects import update_project_settings


def test_playground_without_runs_points_to_training(demo):
    app = open_page("pages/playground.py", timeout=300)
    assert not app.exception
    assert "No finished run yet" in app.info[0].value


@pytest.mark.slow
def test_playground_answers_with_the_tuned_and_the_base_model(db, demo, tiny_llama):
    finished_tiny_run(db, demo, tiny_llama)
    app = open_page("pages/playground.py", timeout=300)
    assert app.toggle(key="playground_constrained").value  # answers held to the format, as Evaluate scores them
    app.toggle(key="playground_constrained").set_value(False).run()  # free text: the quicker turn here
    app.chat_input(key="playground_input").set_value("My invoice was charged twice.").run()
    assert not app.exception
    assert len(app.chat_message) == 4  # the question and an answer on each side
    # drawn in the run that received the question (no rerun after the answers): the question shows while they are made
    assert [m.name for m in app.chat_message] == ["user", "assistant", "user", "assistant"]
    assert all(m.children for m in app.chat_message)
    app.chat_input(key="playground_input").set_value("And the second invoice?").run()
    assert not app.exception and len(app.chat_message) == 8  # the conversation goes on


def test_train_page_names_a_base_model_that_cannot_load(db, demo, tmp_path):
    update_project_settings(db, demo, base_model=str(tmp_path / "nowhere"))
    app = open_page("pages/train.py", timeout=300)
    assert not app.exception
    assert any("Pick another base model" in e.value for e in app.error)
    assert next(b for b in app.button if b.label == "Start training").disabled
