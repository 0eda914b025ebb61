"""Paths typed into the app stay in allowed folders: no `..`, symlink or absolute path leads out."""

from __future__ import annotations

import json
import os

import pytest

from studio.models.loading import resolve_allowed_model, resolve_model
from studio.project.confinement import OutsideAllowedFolders, confine, import_roots, model_roots
from studio.transfer.imports import app_import_path, import_file


def test_a_file_in_the_imports_folder_is_allowed_by_name_or_by_path(home):
    imports = import_roots()[0]
    assert imports == home.resolve() / "imports" and imports.is_dir()
    (imports / "sub").mkdir()
    wanted = imports / "sub" / "rows.jsonl"
    wanted.write_text("{}\n")
    assert app_import_path("sub/rows.jsonl") == wanted
    assert app_import_path(str(wanted)) == wanted
    assert app_import_path(f"{imports}/sub/../sub/rows.jsonl") == wanted


@pytest.mark.parametrize(
    "typed", ["../../etc/passwd", "../studio.duckdb", "/etc/passwd", "~/.ssh/id_rsa", "/", "sub/../../x"]
)
def test_traversal_and_absolute_paths_outside_are_refused(home, typed):
    with pytest.raises(OutsideAllowedFolders) as refused:
        app_import_path(typed)
    message = str(refused.value)
    assert typed in message and str(import_roots()[0]) in message and "STUDIO_ALLOWED_DIRS" in message


def test_a_symlink_out_of_the_imports_folder_is_refused(home, tmp_path):
    secret = tmp_path / "secret.jsonl"
    secret.write_text("{}\n")
    (import_roots()[0] / "link.jsonl").symlink_to(secret)
    (import_roots()[0] / "linked-folder").symlink_to(tmp_path, target_is_directory=True)
    for typed in ("link.jsonl", "linked-folder/secret.jsonl", str(import_roots()[0] / "link.jsonl")):
        with pytest.raises(OutsideAllowedFolders):
            app_import_path(typed)


def test_a_symlink_that_stays_inside_is_followed(home):
    imports = import_roots()[0]
    (imports / "real.jsonl").write_text("{}\n")
    (imports / "alias.jsonl").symlink_to(imports / "real.jsonl")
    assert app_import_path("alias.jsonl") == imports / "real.jsonl"


def test_a_prefix_of_an_allowed_folder_is_not_inside_it(home):
    sibling = home / "imports-evil"
    sibling.mkdir(parents=True)
    (sibling / "x.jsonl").write_text("{}\n")
    with pytest.raises(OutsideAllowedFolders):
        app_import_path(str(sibling / "x.jsonl"))


def test_folders_listed_in_studio_allowed_dirs_are_allowed(home, tmp_path, monkeypatch):
    shared, other = tmp_path / "shared", tmp_path / "other"
    shared.mkdir()
    other.mkdir()
    (shared / "rows.jsonl").write_text("{}\n")
    with pytest.raises(OutsideAllowedFolders):
        app_import_path(str(shared / "rows.jsonl"))
    monkeypatch.setenv("STUDIO_ALLOWED_DIRS", os.pathsep.join([str(other), "", str(shared)]))
    assert app_import_path(str(shared / "rows.jsonl")) == shared / "rows.jsonl"
    with pytest.raises(OutsideAllowedFolders):
        app_import_path(str(tmp_path / "elsewhere.jsonl"))


def test_empty_and_nul_paths_are_refused(home):
    for typed in ("", "   ", "a\x00b"):
        with pytest.raises(OutsideAllowedFolders, match="not a usable path"):
            confine(typed, import_roots())


def test_an_allowed_path_imports_through_the_normal_import(db, text_project):
    path = import_roots()[0] / "rows.jsonl"
    path.write_text(json.dumps({"prompt": "Summarise this", "completion": "A line."}) + "\n")
    assert import_file(db, text_project, app_import_path("rows.jsonl"), "ann") == {"imported": 1, "skipped": 0}


def test_the_app_loads_model_folders_only_from_allowed_folders(home, tiny_llama, monkeypatch):
    assert resolve_model(str(tiny_llama)) == str(tiny_llama.resolve())  # the CLI (local admin): anywhere
    with pytest.raises(OutsideAllowedFolders, match="outside the folders"):
        resolve_allowed_model(str(tiny_llama))
    with pytest.raises(OutsideAllowedFolders):
        resolve_allowed_model(os.path.relpath(tiny_llama, model_roots()[0]))  # models/../../.. to the same folder
    monkeypatch.setenv("STUDIO_ALLOWED_DIRS", str(tiny_llama.parent))
    assert resolve_allowed_model(str(tiny_llama)) == str(tiny_llama.resolve())


def test_the_train_page_refuses_a_model_folder_outside_the_allowed_folders(db, demo, tiny_llama):
    from streamlit.testing.v1 import AppTest

    from studio.paths import APP_SCRIPT, SOURCE_ROOT
    from studio.project.projects import get_project

    app = AppTest.from_file(str(APP_SCRIPT), default_timeout=300)
    app.run()
    app.switch_page(str(SOURCE_ROOT / "pages" / "train.py"))
    app.run()
    app.text_input(key="base_model").input(str(tiny_llama))
    next(b for b in app.button if b.label == "Use this base model").click().run()
    assert not app.exception, app.exception
    assert any("is outside the folders the app may use" in e.value for e in app.error)
    assert get_project(db, demo.name).base_model == demo.base_model
