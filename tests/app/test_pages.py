"""Every page renders without an exception (Streamlit AppTest), and its main action works."""

from __future__ import annotations

import json

import pytest
from app_kit import finished_tiny_run, open_page

from studio.dataset.examples import count_by_status

VALID = json.dumps({"category": "billing", "priority": "low", "needs_human": False})


def test_first_start_loads_the_demo_and_shows_its_examples(home):
    app = open_page()
    assert app.title[0].value == "Examples"
    assert {m.label: m.value for m in app.metric}["Approved"] == "223"
    assert app.dataframe[1].value.shape[0] == 25
    assert "247 matching" in app.number_input(key="page").label


def test_the_examples_page_filters_and_searches_in_sql(demo):
    app = open_page()
    app.selectbox(key="filter_status").select("submitted").run()
    assert "14 matching" in app.number_input(key="page").label
    app.text_input(key="search_text").input("refund").run()
    table = app.dataframe[1].value
    assert len(table) and all("refund" in (i + a).lower() for i, a in zip(table["input"], table["answer"]))
    assert set(table["status"]) == {"submitted"}


def test_a_bulk_approval_shows_its_counts_at_once_without_an_error(db, demo):
    app = open_page()
    app.selectbox(key="filter_status").select("draft").run()
    app.selectbox(key="bulk_action").select("set status").run()
    app.selectbox(key="bulk_status").select("approved").run()
    app.checkbox(key="bulk_sure").check().run()
    app.button(key="bulk_apply").click().run()
    assert not app.exception, app.exception
    counts = count_by_status(db, demo)
    assert counts["draft"] == 0 and counts["approved"] > 223
    shown = {m.label: m.value for m in app.metric}
    assert all(shown[status.capitalize()] == str(n) for status, n in counts.items())  # the same run, no reload
    assert "10 of 10 selected examples changed" in app.success[0].value
    assert app.checkbox(key="bulk_sure").value is False  # the next action asks again


def test_writing_an_example_stores_it(db, demo):
    app = open_page("pages/write.py")
    app.text_area(key="user_new").input("I was charged twice for March, please refund one.").run()
    app.text_area(key="answer_new").input(VALID).run()
    assert "fits the project's json format" in app.success[0].value
    assert "tokens of 8192 context" in app.info[0].value
    app.button(key="submit").click().run()
    assert not app.exception
    assert "saved as submitted" in app.success[0].value
    assert count_by_status(db, demo)["submitted"] == 15


def test_an_invalid_answer_cannot_be_submitted_only_kept_as_a_draft(db, demo):
    app = open_page("pages/write.py")
    app.text_area(key="user_new").input("Where is my parcel?").run()
    app.text_area(key="answer_new").input('{"category": "shipping"').run()
    assert "not valid JSON" in app.error[0].value
    assert app.button(key="submit").disabled
    app.button(key="save").click().run()
    assert count_by_status(db, demo)["draft"] == 11 and count_by_status(db, demo)["submitted"] == 14


def test_review_page_approves_the_first_submitted_example(db, demo):
    app = open_page("pages/review.py")
    assert "14 submitted example(s) wait" in app.caption[0].value
    app.button(key="approve").click().run()
    assert not app.exception
    assert count_by_status(db, demo)["approved"] == 224


def test_settings_page_adds_a_reviewer(db, demo):
    from studio.project.people import find_person

    app = open_page("pages/settings.py")
    app.text_input(key="person_name").input("rui")
    app.selectbox(key="person_role").select("reviewer")
    app.button(key="save_person").click().run()
    assert not app.exception
    assert find_person(db, "rui").role == "reviewer"


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
    assert app.dataframe[0].value["examples"].sum() == 247  # the clusters
    assert app.dataframe(key="tag_targets").value.set_index("tag").loc["security", "target"] == 30  # the demo's targets
    assert any(b.label == "Save targets" for b in app.button)


def test_train_page_offers_one_click_and_every_setting(demo):
    app = open_page("pages/train.py")
    assert any(b.label == "Start training" for b in app.button)
    assert app.radio(key="preset").value == "Balanced"
    assert app.number_input(key="cfg_Balanced_lora_r").value == 16
    assert (
        app.number_input(key="cfg_Balanced_learning_rate").value == 0
    )  # 0: picked by the model size (studio.training.recipe)
    assert any(s.value == "Pre-flight" for s in app.subheader)


def test_with_every_project_archived_the_sidebar_restores_one(db, demo):
    """The Project page restores archived projects but needs a live one to open: the sidebar offers them instead."""
    from studio.project.projects import archive_project, get_project, list_projects

    archive_project(db, demo, True)
    app = open_page()
    assert any("Every project is archived" in box.value for box in app.sidebar.info)
    assert list_projects(db, include_archived=True) == [get_project(db, "demo")]  # the demo was not loaded again
    app.sidebar.button(key=f"restore_archived_{demo.id}").click().run()
    assert not app.exception
    assert [p.name for p in list_projects(db)] == ["demo"]
    assert app.sidebar.selectbox(key="project_name").value == "demo"


def test_evaluate_page_without_runs_points_to_training(demo):
    app = open_page("pages/evaluate.py")
    assert "No finished run yet" in app.info[0].value


@pytest.mark.slow
def test_evaluate_page_ranks_a_finished_run(db, demo, tiny_llama):
    run = finished_tiny_run(db, demo, tiny_llama)
    app = open_page("pages/evaluate.py")
    board = app.dataframe[0].value
    assert {m.split(" · ")[0] for m in board["model"]} == {"tuned", "baseline-0shot", "baseline-3shot"}
    assert list(board["rank"]) == [1, 2, 3]
    assert "field_accuracy" in board.columns and "95% interval" in board.columns
    assert app.success or app.warning or app.error  # the verdict
    verdict = " ".join(box.value for box in (*app.success, *app.warning, *app.error))
    assert "cut short: it trained 1 step," in verdict  # a max-steps cap is said in the verdict
    options = app.radio(key="slice_dimension").options
    assert "input cluster" in options  # slices by the coverage engine's clusters
    assert "expected answer" in options  # and by the category each ticket should get (the schema's first enum)
    assert not any("arrive with the coverage engine" in c.value for c in app.caption)
    assert not any("None" in m.value for m in app.markdown)  # the round trip says where the merged model is in words
    trip = next(m.value for m in app.markdown if "Template round trip" in m.value)
    assert "4-bit" not in trip and "unquantized base (the CPU recipe)" in trip  # what this CPU run compared with
    side = next(d.value for d in app.dataframe if "expected" in d.value.columns)  # the side-by-side table
    assert list(side.columns[:5]) == ["example", "input", "expected", "tuned", "tuned score"]  # tuned first
    app.slider(key=f"route_high_{run['id']}").set_value(0.8).run()  # saved with the run, for the Deploy page
    assert not app.exception
    app.button(key="make_draft").click().run()
    assert not app.exception and "reword it in the editor" in app.success[0].value
    app.button(key="failure_draft_open").click().run()  # opens the new draft in Write, in this session
    assert not app.exception and app.title[0].value == "Write"
    app = open_page("pages/deploy.py")  # the verdict comes before export and serve, and blocks neither
    said = " ".join(box.value for box in (*app.success, *app.warning))
    assert "Evaluate's verdict on run" in said and verdict.split("**")[1].rstrip(".") in said
    assert not app.button(key="deploy_export").disabled and not app.button(key="deploy_start").disabled
    assert any("auto at confidence ≥ 0.80, review at ≥ 0.70" in c.value for c in app.caption)  # as saved
    app = open_page("pages/train.py")
    assert any("succeeded" in s.value for s in app.subheader)


def test_quality_names_each_kind_once_and_says_what_a_score_means(demo):
    app = open_page("pages/quality.py")
    app.button(key="run_checks").click().run()
    titles = {m.label for m in app.metric}
    assert set(app.multiselect[0].options) == titles  # the filter uses the headings' names, not slugs
    assert "suspect-output" not in app.multiselect[0].options
    contradiction = next(m.value for m in app.markdown if "**Contradictions**" in m.value)
    assert "how alike the two inputs are" in contradiction
    assert any("score" in c.value and "how sure" in c.value for c in app.caption)
    assert "Suspect outputs" in titles  # the demo plants mislabelled tickets
    assert any("the one whose answer the check doubts" in c.value for c in app.caption)
    keep = next(b for b in app.button if b.label == "Keep this one")
    assert "rejected examples are not trained on" in keep.help
    from studio.checks.kinds import CHECK_KINDS

    assert not any("z-score" in kind.score_means for kind in CHECK_KINDS)  # plain words beside every score


def test_train_settings_speak_words_and_the_memory_guess_says_it_is_rough(demo):
    app = open_page("pages/train.py")
    labels = [w.label for w in (*app.number_input, *app.checkbox)]
    assert "Adapter size (LoRA rank)" in labels and "Pack examples without padding (GPU)" in labels
    assert not {"Lora r", "Padding free", "Lora alpha"} & set(labels)
    assert any(m.label == "Peak memory (rough guess)" for m in app.metric)
