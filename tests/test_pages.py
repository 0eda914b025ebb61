"""Every page renders without an exception (Streamlit AppTest), and its main action works."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from studio.examples import count_by_status
from studio.jobs import launch_run, wait_for_run
from studio.paths import SOURCE_ROOT
from studio.projects import update_project_settings
from studio.training import TrainConfig

VALID = json.dumps({"category": "billing", "priority": "low", "needs_human": False})


def open_page(page: str | None = None) -> AppTest:
    app = AppTest.from_file(str(SOURCE_ROOT / "app.py"), default_timeout=120)
    app.run()
    if page:
        app.switch_page(page)
        app.run()
    assert not app.exception, app.exception
    return app


def test_first_start_loads_the_demo_and_shows_its_examples(home):
    app = open_page()
    assert app.title[0].value == "Examples"
    assert {m.label: m.value for m in app.metric}["Approved"] == "223"
    assert app.dataframe[0].value.shape[0] == 25


def test_adding_an_example_stores_it(db, demo):
    app = open_page()
    app.text_area(key="new_user").input("I was charged twice for March, please refund one.")
    app.text_area(key="new_answer").input(VALID)
    app.selectbox(key="new_status").select("submitted")
    next(b for b in app.button if b.label == "Add example").click().run()
    assert not app.exception
    assert "added as submitted" in app.success[0].value
    assert count_by_status(db, demo)["submitted"] == 15


def test_an_invalid_answer_is_refused_and_nothing_is_stored(db, demo):
    app = open_page()
    app.text_area(key="new_user").input("Where is my parcel?")
    app.text_area(key="new_answer").input('{"category": "shipping"')
    app.selectbox(key="new_status").select("approved")
    next(b for b in app.button if b.label == "Add example").click().run()
    assert "not valid JSON" in app.error[0].value
    assert count_by_status(db, demo)["approved"] == 223


def test_quality_page_lists_the_planted_problems_side_by_side(demo):
    app = open_page("pages/quality.py")
    app.button(key="run_checks").click().run()
    assert not app.exception
    labels = {m.label: m.value for m in app.metric}
    assert labels["Contradictions"] == "3" and labels["Duplicates"] == "3"  # and the other kinds the demo has
    assert sum("T-0037" in m.value for m in app.markdown) == 1 and sum("T-0180" in m.value for m in app.markdown) == 1


def test_coverage_page_maps_the_clusters_and_counts_tags(demo):
    app = open_page("pages/coverage.py")
    assert app.title[0].value == "Coverage"
    assert len(app.dataframe) == 1 and app.dataframe[0].value["examples"].sum() == 247  # the clusters
    assert any(b.label == "Save targets" for b in app.button)


def test_train_page_offers_one_click_and_every_setting(demo):
    app = open_page("pages/train.py")
    assert any(b.label == "Start training" for b in app.button)
    assert app.number_input(key="cfg_lora_r").value == 16
    assert app.number_input(key="cfg_learning_rate").value == pytest.approx(2e-4)


def test_evaluate_page_without_runs_points_to_training(demo):
    app = open_page("pages/evaluate.py")
    assert "No finished run yet" in app.info[0].value


def test_evaluate_page_ranks_a_finished_run(db, demo, tiny_llama):
    project = update_project_settings(db, demo, base_model=str(tiny_llama))
    run = wait_for_run(db, launch_run(db, project, TrainConfig(max_steps=1)), poll_seconds=0.5)
    assert run["status"] == "succeeded", run["error"]
    app = open_page("pages/evaluate.py")
    board = app.dataframe[0].value
    assert {m.split(" · ")[0] for m in board["model"]} == {"tuned", "baseline-0shot", "baseline-3shot"}
    assert list(board["rank"]) == [1, 2, 3]
    assert "field_accuracy" in board.columns and "95% interval" in board.columns
    assert app.success or app.warning or app.error  # the verdict
    app = open_page("pages/train.py")
    assert "succeeded" in app.subheader[0].value
