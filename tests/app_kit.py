"""Shared by the AppTests: opening a page the way a visit does, and a finished run to show on one."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from studio.paths import APP_SCRIPT, SOURCE_ROOT


def open_page(page: str | None = None, timeout: float = 120) -> AppTest:
    """The entry script run once (sign-in, sidebar, demo prepared), then `page` (e.g. "pages/train.py")."""
    app = AppTest.from_file(str(APP_SCRIPT), default_timeout=timeout)
    app.run()
    if page:
        app.switch_page(str(SOURCE_ROOT / page))
        app.run()
    assert not app.exception, app.exception
    return app


def finished_tiny_run(db: Path, project, tiny_llama: Path) -> dict:
    """A real one-step run of `project` on the tiny Llama, trained and evaluated."""
    from studio.project.projects import update_project_settings
    from studio.training.launch import launch_run, wait_for_run
    from studio.training.trainer import TrainConfig

    project = update_project_settings(db, project, base_model=str(tiny_llama))
    run = wait_for_run(db, launch_run(db, project, TrainConfig(max_steps=1)), poll_seconds=0.5)
    assert run["status"] == "succeeded", run["error"]
    return run
