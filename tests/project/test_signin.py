"""Sign-in and roles: argon2 hashes, wrong passwords, when sign-in is required, single sign-on
mapping, every admin-only action refused to other roles, and model code off unless allowed.

Real DuckDB files in tmp_path with the migrations applied; nothing mocked.
"""

from __future__ import annotations

import io
import json
import time

import pytest

from storage import findings as finding_table
from storage import people as people_table
from storage.db import connect
from studio.checks.adjudication import dismiss_finding
from studio.cli.main import main
from studio.dataset.examples import add_example
from studio.models.trust import allow_remote_code, remote_code_allowed
from studio.project.people import NotAllowed, save_person
from studio.project.projects import update_project_settings
from studio.project.signin import (
    WRONG,
    SignInFailed,
    anyone_can_sign_in,
    hash_password,
    person_for_identity,
    set_password,
    sign_in,
    sign_in_required,
    verify_password,
)
from studio.training.launch import cancel_run, launch_run, resume_run

PASSWORD = "correct horse battery"


@pytest.fixture
def team(db):
    admin = save_person(db, None, "ada", "admin")
    people = {
        "ann": save_person(db, admin, "ann", "annotator"),
        "rui": save_person(db, admin, "rui", "reviewer"),
        "ada": admin,
    }
    for name in people:
        set_password(db, admin, name, PASSWORD)
    return people


def test_a_password_is_stored_as_an_argon2id_hash_and_verified(db, team):
    with connect(db) as con:
        stored = people_table.fetch_password_hash(con, "ann")
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert verify_password(stored, PASSWORD)
    assert not verify_password(stored, PASSWORD + "!")
    assert not verify_password(None, PASSWORD)
    assert not verify_password("not a hash", PASSWORD)
    assert hash_password(PASSWORD) != hash_password(PASSWORD)  # salted
    with pytest.raises(ValueError, match="at least 8 characters"):
        hash_password("short")


def test_sign_in_returns_the_person_with_their_role(db, team):
    person = sign_in(db, "ann", PASSWORD)
    assert (person.name, person.role) == ("ann", "annotator")
    assert sign_in(db, " rui ", PASSWORD).role == "reviewer"


def test_a_wrong_password_and_an_unknown_name_get_the_same_message_after_a_pause(db, team):
    for name, password in (("ann", "wrong password"), ("nobody", PASSWORD), ("ann", "")):
        started = time.monotonic()
        with pytest.raises(SignInFailed) as refused:
            sign_in(db, name, password, delay=0.3)
        assert str(refused.value) == WRONG
        assert time.monotonic() - started >= 0.3


def test_a_person_without_a_password_cannot_sign_in(db):
    save_person(db, None, "ada", "admin")
    assert not anyone_can_sign_in(db)
    with pytest.raises(SignInFailed):
        sign_in(db, "ada", "", delay=0)
    set_password(db, None, "ada", PASSWORD)
    assert anyone_can_sign_in(db)


def test_only_an_admin_sets_passwords_and_only_for_people_who_exist(db, team):
    with pytest.raises(NotAllowed, match="only admins may manage"):
        set_password(db, team["rui"], "ann", "a new password")
    with pytest.raises(LookupError, match="no person called 'eve'"):
        set_password(db, team["ada"], "eve", PASSWORD)
    set_password(db, team["ada"], "ann", "a new password")
    assert sign_in(db, "ann", "a new password").name == "ann"
    with pytest.raises(SignInFailed):
        sign_in(db, "ann", PASSWORD, delay=0)


@pytest.mark.parametrize(
    ("address", "env", "required"),
    [
        ("localhost", {}, False),
        ("127.0.0.1", {}, False),
        ("::1", {}, False),
        ("[::1]", {}, False),
        ("localhost", {"STUDIO_SIGN_IN": "1"}, True),
        ("localhost", {"STUDIO_SIGN_IN": "0"}, False),
        ("0.0.0.0", {}, True),
        ("0.0.0.0", {"STUDIO_SIGN_IN": "0"}, True),  # beyond this machine it cannot be turned off
        ("192.168.1.20", {}, True),
        ("", {}, True),  # Streamlit binds every interface when the address is empty
        (None, {}, True),
    ],
)
def test_sign_in_is_required_beyond_localhost_or_when_asked_for(address, env, required):
    assert sign_in_required(address, env) is required


def test_a_single_sign_on_identity_is_the_person_named_by_its_email(db):
    save_person(db, None, "Alice@Example.com", "reviewer")
    save_person(db, None, "Bob", "admin")
    assert person_for_identity(db, "alice@example.com").name == "Alice@Example.com"
    assert person_for_identity(db, "ALICE@EXAMPLE.COM").role == "reviewer"
    assert person_for_identity(db, "mallory@example.com") is None
    assert person_for_identity(db, "Bob") is None  # a display name from the provider grants nothing
    assert person_for_identity(db, None) is None
    assert person_for_identity(db, "") is None


def test_training_is_for_admins_only(db, label_project, team):
    for person in (team["ann"], team["rui"]):
        with pytest.raises(NotAllowed, match="only admins may launch, cancel or resume training runs"):
            launch_run(db, label_project, actor=person)
        with pytest.raises(NotAllowed):
            cancel_run(db, "no-such-run", actor=person)
        with pytest.raises(NotAllowed):
            resume_run(db, "no-such-run", actor=person)


def test_choosing_the_base_model_is_for_admins_only(db, label_project, team):
    with pytest.raises(NotAllowed):
        update_project_settings(db, label_project, team["rui"], base_model="another-model")
    assert (
        update_project_settings(db, label_project, team["ada"], base_model="another-model").base_model
        == "another-model"
    )


def test_dismissing_a_finding_is_for_reviewers_and_admins(db, label_project, team):
    ids = [
        add_example(
            db, label_project, [{"role": "user", "content": "great"}, {"role": "assistant", "content": answer}], "ann"
        )
        for answer in ("pos", "neg")
    ]
    with connect(db) as con:
        finding_table.replace_open_findings(
            con,
            label_project.id,
            [
                {
                    "kind": "contradiction",
                    "severity": "high",
                    "example_ids": ids,
                    "score": 1.0,
                    "explanation": "same input, different labels",
                    "fingerprint": "f1",
                }
            ],
        )
        finding_id = finding_table.fetch_findings(con, label_project.id)[0]["id"]
    with pytest.raises(NotAllowed, match="ann is an annotator"):
        dismiss_finding(db, label_project, finding_id, "both fine", "ann")
    dismiss_finding(db, label_project, finding_id, "both fine", "rui")


def test_model_code_is_off_until_an_admin_allows_it_for_that_model(db, team):
    assert not remote_code_allowed(db, "acme/custom-model")
    for person in (team["ann"], team["rui"]):
        with pytest.raises(NotAllowed):
            allow_remote_code(db, person, "acme/custom-model", True)
    allow_remote_code(db, team["ada"], "acme/custom-model", True)
    assert remote_code_allowed(db, "acme/custom-model")
    assert not remote_code_allowed(db, "acme/other-model")
    allow_remote_code(db, team["ada"], "acme/custom-model", False)
    assert not remote_code_allowed(db, "acme/custom-model")


@pytest.fixture
def model_with_code(tmp_path):
    """A model folder whose config needs its own Python; running that code leaves a file behind."""
    folder = tmp_path / "custom-model"
    folder.mkdir()
    ran = tmp_path / "code-ran"
    (folder / "configuration_custom.py").write_text(
        "from pathlib import Path\n"
        "from transformers import PretrainedConfig\n"
        f"Path({str(ran)!r}).write_text('yes')\n"
        "class CustomConfig(PretrainedConfig):\n    model_type = 'custom-studio-test'\n"
    )
    (folder / "config.json").write_text(
        json.dumps(
            {
                "model_type": "custom-studio-test",
                "architectures": ["CustomModel"],
                "auto_map": {"AutoConfig": "configuration_custom.CustomConfig"},
            }
        )
    )
    return folder, ran


def test_loading_a_model_never_runs_its_code_unless_told(model_with_code):
    from studio.models.loading import ModelUnavailable
    from studio.training.preflight import check_model, model_shape

    folder, ran = model_with_code
    with pytest.raises(ModelUnavailable):
        check_model(str(folder))
    assert not ran.exists()
    model_shape(str(folder), True)
    assert ran.exists()


def test_a_worker_trusts_model_code_only_when_its_config_says_true():
    from studio.training.run_config import RunConfig

    def _trusted(config: dict) -> bool:  # as the worker reads its config.json
        return RunConfig.from_dict(config).trust_remote_code

    assert not _trusted({})
    assert not _trusted({"trust_remote_code": "yes"})
    assert not _trusted({"trust_remote_code": False})
    assert _trusted({"trust_remote_code": True})


def test_the_cli_adds_a_person_with_a_password_from_the_environment(home, monkeypatch, capsys):
    from studio.paths import db_path

    monkeypatch.setenv("STUDIO_PASSWORD", PASSWORD)
    assert main(["people", "--add", "ada", "--role", "admin", "--password", "--json"]) == 0
    assert sign_in(db_path(), "ada", PASSWORD).role == "admin"
    assert "password" not in capsys.readouterr().out


def test_the_cli_resets_a_password_read_from_stdin(home, monkeypatch, capsys):
    from studio.paths import db_path

    monkeypatch.delenv("STUDIO_PASSWORD", raising=False)
    assert main(["people", "--add", "ann"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("a fresh password\n"))
    assert main(["people", "--set-password", "ann"]) == 0
    assert sign_in(db_path(), "ann", "a fresh password").name == "ann"
    assert main(["people", "--set-password", "eve"]) == 2
    assert "no person called 'eve'" in capsys.readouterr().err
    assert main(["people", "--password"]) == 2
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["people", "--set-password", "ann"]) == 2


def open_app():
    from streamlit.testing.v1 import AppTest

    from studio.paths import APP_SCRIPT

    app = AppTest.from_file(str(APP_SCRIPT), default_timeout=120)
    app.run()
    assert not app.exception, app.exception
    return app


def test_with_sign_in_on_and_no_password_the_app_says_how_to_make_the_first_admin(home, monkeypatch):
    monkeypatch.setenv("STUDIO_SIGN_IN", "1")
    app = open_app()
    assert [t.value for t in app.title] == ["Sign in"]
    assert "studio people --add NAME --role admin --password" in app.error[0].value
    assert not app.sidebar.selectbox and not app.dataframe and not app.text_input


def test_with_sign_in_on_nothing_renders_until_the_right_password(db, monkeypatch):
    monkeypatch.setenv("STUDIO_SIGN_IN", "1")
    save_person(db, None, "ann", "annotator")
    set_password(db, None, "ann", PASSWORD)
    app = open_app()
    assert [t.value for t in app.title] == ["Sign in"]
    assert not app.sidebar.selectbox and not app.dataframe and not app.metric
    app.text_input(key="sign_in_name").input("ann")
    app.text_input(key="sign_in_password").input("not the password")
    app.button[0].click().run()
    assert [e.value for e in app.error] == [WRONG]
    assert [t.value for t in app.title] == ["Sign in"]
    app.text_input(key="sign_in_password").input(PASSWORD)
    app.button[0].click().run()
    assert not app.exception, app.exception
    assert app.title[0].value == "Examples"
    assert "Signed in as **ann** (annotator)" in [m.value for m in app.sidebar.markdown]
    assert "user" not in [s.key for s in app.sidebar.selectbox]  # no picking who you are
    assert app.sidebar.button(key="sign_out").label == "Sign out"  # signing out: tests/browser/test_browser_signin.py


def test_with_sign_in_off_the_sidebar_still_picks_who_is_working(home, monkeypatch):
    monkeypatch.delenv("STUDIO_SIGN_IN", raising=False)
    app = open_app()
    assert app.title[0].value == "Examples"
    assert app.sidebar.selectbox(key="user").label == "You are"


def open_settings():
    from studio.paths import SOURCE_ROOT

    app = open_app()
    app.switch_page(str(SOURCE_ROOT / "pages" / "settings.py"))
    app.run()
    assert not app.exception, app.exception
    return app


def test_an_admin_gives_a_person_a_password_on_the_settings_page(db, demo):
    app = open_settings()
    app.text_input(key="person_name").input("rui")
    app.selectbox(key="person_role").select("reviewer")
    app.text_input(key="person_password").input(PASSWORD)
    app.button(key="save_person").click().run()
    assert not app.exception, app.exception
    assert sign_in(db, "rui", PASSWORD).role == "reviewer"


def test_an_admin_allows_the_base_model_code_on_the_settings_page(db, demo):
    app = open_settings()
    toggle = app.toggle(key="trust_remote_code")
    assert toggle.value is False
    toggle.set_value(True).run()
    assert not app.exception, app.exception
    assert remote_code_allowed(db, demo.base_model)


@pytest.mark.slow
def test_a_launch_writes_the_models_trust_into_the_run_config(db, demo, tiny_llama, team):
    from pathlib import Path

    from studio.training.launch import get_run, wait_for_run
    from studio.training.trainer import TrainConfig

    project = update_project_settings(db, demo, team["ada"], base_model=str(tiny_llama))
    first = launch_run(db, project, TrainConfig(max_steps=500), actor=team["ada"])
    allow_remote_code(db, team["ada"], str(tiny_llama), True)
    second = launch_run(db, project, TrainConfig(max_steps=1), actor=team["ada"])  # queued behind the first
    configs = [json.loads((Path(get_run(db, run)["run_dir"]) / "config.json").read_text()) for run in (first, second)]
    assert [config["trust_remote_code"] for config in configs] == [False, True]
    for run in (second, first):
        cancel_run(db, run, actor=team["ada"])
    assert wait_for_run(db, first, poll_seconds=0.5)["status"] == "cancelled"
