"""Shipping in a real browser (Debian's Chromium): the Deploy page exports a merged model, starts a
server, and the OpenAI client gets the evaluated answers with their bands from it.

A tiny random Llama stands in as the base model so the run takes seconds.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_kit import BROWSER_MARKS, Server, assert_no_exception, new_tab, settle, shot

pytestmark = BROWSER_MARKS


@pytest.fixture
def shipped(tmp_path, monkeypatch, tiny_llama):
    """A data home with the demo project and a finished run on the tiny Llama, and the studio serving it."""
    from studio.demo import load_demo
    from studio.paths import db_path
    from studio.project.projects import update_project_settings
    from studio.training.launch import launch_run, wait_for_run
    from studio.training.trainer import TrainConfig

    home = tmp_path / "home"
    monkeypatch.setenv("STUDIO_HOME", str(home))
    project, _ = load_demo(db_path())
    project = update_project_settings(db_path(), project, base_model=str(tiny_llama))
    run = wait_for_run(db_path(), launch_run(db_path(), project, TrainConfig(max_steps=2)), poll_seconds=0.5)
    assert run["status"] == "succeeded", run["error"]
    studio = Server(home)
    studio.start()
    yield {"studio": studio, "run": run, "project": project}
    from studio.serving.process import stop_server

    stop_server(run["id"])
    studio.stop()


def test_the_deploy_page_exports_a_merged_model_and_serves_the_evaluated_answers(browser, shipped):
    import openai
    from serving_kit import ask_together, evaluated

    from studio.serving.engine import model_name
    from studio.serving.process import running_server

    page = new_tab(browser)
    page.set_default_timeout(300_000)
    page.goto(shipped["studio"].url)
    page.get_by_role("heading", name="Examples").wait_for()  # app.py has drawn its navigation
    page.get_by_role("link", name="Deploy").click()
    page.get_by_role("heading", name="Deploy").wait_for()
    page.get_by_text("vllm serve").first.wait_for()
    page.get_by_role("button", name="Export").click()
    page.get_by_text("Reloaded with plain transformers").wait_for()
    assert (Path(shipped["run"]["run_dir"]) / "export" / "merged" / "model.safetensors").exists()
    page.get_by_role("button", name="Download the export (.zip)").wait_for()
    box = page.get_by_role("spinbutton", name="Batching window (ms)", exact=True)
    box.fill("3000")  # the held-out inputs sent together are answered in one batch, as at evaluation
    box.press("Enter")
    settle(page)
    page.get_by_role("button", name="Start the server").click()
    page.get_by_text("Serving").first.wait_for()
    assert_no_exception(page)
    shot(page, "deploy")
    server = running_server(shipped["run"]["id"])
    client = openai.OpenAI(base_url=server.url, api_key="local", max_retries=0)
    pairs = evaluated(shipped["run"])
    answers = ask_together(client, model_name(shipped["project"].name, server.run_id), [text for text, _ in pairs])
    assert [a.choices[0].message.content for a in answers] == [p["output"] for _, p in pairs]
    assert all(a.choices[0].model_extra["routing"]["band"] in ("auto", "review", "human") for a in answers)
    page.get_by_role("button", name="Stop the server").click()
    page.get_by_role("button", name="Start the server").wait_for()
    assert running_server(shipped["run"]["id"]) is None
