"""`studio model serve` and `export` on a real finished run, through the real OpenAI client on loopback.

One short real training run (the tiny Llama on the demo project) is shared by the module;
each server is the real `studio model serve` process, started as the Deploy page starts it.
"""

from __future__ import annotations

import json
import os
import shlex
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from serving_kit import ask, ask_together, evaluated

from studio.evaluation.routing import RoutingConfig
from studio.jsonl import read_jsonl
from studio.serving.engine import band_of, model_name

openai = pytest.importorskip("openai")
pytestmark = pytest.mark.slow  # a real training run and real servers: minutes on CPU


@pytest.fixture(scope="module")
def finished(tmp_path_factory, tiny_llama):
    """A data home holding the demo project and one finished, evaluated run on the tiny Llama."""
    from studio.demo import load_demo
    from studio.paths import db_path
    from studio.project.projects import update_project_settings
    from studio.training.launch import launch_run, wait_for_run
    from studio.training.trainer import TrainConfig

    home = tmp_path_factory.mktemp("serving") / "home"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STUDIO_HOME", str(home))
        project, _ = load_demo(db_path())
        project = update_project_settings(db_path(), project, base_model=str(tiny_llama))
        run = wait_for_run(db_path(), launch_run(db_path(), project, TrainConfig(max_steps=2)), poll_seconds=0.5)
        assert run["status"] == "succeeded", run["error"]
        yield {"home": home, "db": db_path(), "project": project, "run": run}


@pytest.fixture
def in_home(finished, monkeypatch):
    monkeypatch.setenv("STUDIO_HOME", str(finished["home"]))
    return finished


@pytest.fixture
def served(in_home):
    """The finished run served on loopback, stopped after the test."""
    from studio.serving.process import start_server, stop_server

    # A long batching window: the held-out inputs sent together are answered in one call, as at evaluation.
    server, token = start_server(in_home["run"]["id"], batch_window_ms=3000)
    assert token is None  # localhost needs none
    yield server
    stop_server(server.run_id)


def test_served_answers_are_the_evaluated_answers_with_their_band(served, in_home):
    client = openai.OpenAI(base_url=served.url, api_key="unused-on-localhost", max_retries=0)
    name = model_name(in_home["project"].name, served.run_id)
    assert [m.id for m in client.models.list().data] == [name]
    pairs = evaluated(in_home["run"])
    answers = ask_together(client, name, [text for text, _ in pairs])
    for (text, prediction), answer in zip(pairs, answers):
        choice = answer.choices[0]
        assert choice.message.content == prediction["output"], text
        routing = choice.model_extra["routing"]
        assert routing["confidence"] == pytest.approx(prediction["confidence"], abs=0.02)
        assert routing["band"] in ("auto", "review", "human") and (routing["high"], routing["low"]) == (0.9, 0.7)
        assert routing["band"] == band_of(routing["confidence"], RoutingConfig())
        assert answer.usage.completion_tokens == prediction["new_tokens"]
    streams = ask_together(
        client, name, [text for text, _ in pairs], stream=True, stream_options={"include_usage": True}
    )
    for (text, prediction), stream in zip(pairs, streams):
        chunks = list(stream)
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == prediction["output"], text
        last = [c for c in chunks if c.choices][-1]
        assert last.choices[0].finish_reason in ("stop", "length") and last.choices[0].model_extra["routing"]["band"]
        assert chunks[-1].usage.completion_tokens == prediction["new_tokens"]


def raw(url: str, body: bytes | None = None, method: str = "POST", headers: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=body, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_bad_requests_get_json_errors_never_a_traceback(served, in_home):
    chat = served.url + "/chat/completions"
    name = model_name(in_home["project"].name, served.run_id)
    user = [{"role": "user", "content": "hello"}]
    cases = [
        (b"{not json", 400, "not valid JSON"),
        (json.dumps({"model": name}).encode(), 400, "'messages'"),
        (json.dumps({"model": name, "messages": [{"role": "robot", "content": "x"}]}).encode(), 400, "role"),
        (json.dumps({"model": name, "messages": user, "max_tokens": 10**6}).encode(), 400, "at most"),
        (json.dumps({"model": name, "messages": user, "n": 3}).encode(), 400, "n=1"),
        (json.dumps({"model": "other", "messages": user}).encode(), 404, "no model 'other'"),
        (
            json.dumps({"model": name, "messages": [{"role": "user", "content": "word " * 5000}]}).encode(),
            400,
            "tokens",
        ),
        (b"[" * 150_000 + b"]" * 150_000, 413, "at most"),
        (json.dumps({"model": name, "messages": user}).encode()[:-1] + b"\xff}", 400, "UTF-8"),
    ]
    for body, status, words in cases:
        got, document = raw(chat, body)
        assert got == status and words in document["error"]["message"], (body[:60], got, document)
        assert "Traceback" not in json.dumps(document)
    assert raw(served.url + "/nowhere", method="GET")[0] == 404
    assert raw(chat, method="PUT", body=b"{}")[0] == 405
    client = openai.OpenAI(base_url=served.url, api_key="x", max_retries=0)
    with pytest.raises(openai.NotFoundError, match="no model"):
        ask(client, "not-this-one", "hello")
    assert ask(client, name, "still fine after all that").choices[0].message.content is not None


def test_off_localhost_a_bearer_token_is_required_and_shown_once(in_home):
    from studio.serving.process import start_server, stop_server
    from studio.serving.tokens import token_file

    server, token = start_server(in_home["run"]["id"], address="0.0.0.0")
    try:
        assert token and token not in token_file().read_text()  # only the hash is kept
        name = model_name(in_home["project"].name, server.run_id)
        with pytest.raises(openai.AuthenticationError):
            ask(openai.OpenAI(base_url=server.url, api_key="wrong", max_retries=0), name, "hello")
        status, document = raw(server.url + "/models", method="GET")
        assert status == 401 and "Bearer" in document["error"]["message"]
        assert ask(openai.OpenAI(base_url=server.url, api_key=token, max_retries=0), name, "hello").choices[0].message
    finally:
        stop_server(server.run_id)


def open_page(path: str, project, db):
    """One page run as the app runs it (the entry script first, so links to other pages resolve), with the
    project chosen and the local admin working."""
    from streamlit.testing.v1 import AppTest

    from studio.paths import APP_SCRIPT, SOURCE_ROOT
    from studio.project.people import ensure_local_admin

    app = AppTest.from_file(str(APP_SCRIPT), default_timeout=300)
    app.session_state["project"] = project
    app.session_state["acting_as"] = ensure_local_admin(db).name
    app.run()
    app.switch_page(str(SOURCE_ROOT / path))
    app.run()
    assert not app.exception, app.exception
    return app


def test_the_deploy_page_starts_a_server_that_answers_then_stops_it(in_home):
    from studio.serving.process import running_server

    run_id = in_home["run"]["id"]
    app = open_page("pages/deploy.py", in_home["project"], in_home["db"])
    assert app.title[0].value == "Deploy"
    assert any("--lora-modules" in block.value and "vllm serve" in block.value for block in app.code)
    assert not app.toggle(key="deploy_record").value  # recording is off by default
    app.number_input(key="deploy_window_ms").set_value(
        3000
    )  # batch the held-out inputs as evaluation did (see `served`)
    app.button(key="deploy_start").click().run()
    assert not app.exception, app.exception
    server = running_server(run_id)
    try:
        assert server and server.url in app.success[0].value and not server.record
        name = model_name(in_home["project"].name, run_id)
        client = openai.OpenAI(base_url=server.url, api_key="x", max_retries=0)
        pairs = evaluated(in_home["run"])
        answers = ask_together(client, name, [text for text, _ in pairs])
        assert [a.choices[0].message.content for a in answers] == [p["output"] for _, p in pairs]
        assert all(a.choices[0].model_extra["routing"]["band"] in ("auto", "review", "human") for a in answers)
        app.button(key="deploy_stop").click().run()
        assert running_server(run_id) is None
    finally:
        from studio.serving.process import stop_server

        stop_server(run_id)


def test_exports_load_with_plain_transformers_and_answer_as_evaluated(in_home, tmp_path):
    from studio.serving.export import export_run

    run_dir = Path(in_home["run"]["run_dir"])
    merged = export_run(run_dir, "merged", tmp_path / "merged")
    for name in (
        "model.safetensors",
        "config.json",
        "tokenizer.json",
        "generation_config.json",
        "README.md",
        "Modelfile",
    ):
        assert name in merged.files, name
    assert merged.check["checked"] == 3 and merged.check["template_ok"]
    # The merge adds the adapter into bf16 weights: the sums round differently from the 4-bit base plus
    # adapter, and on a random tiny model every token is a near-tie, so a late token can flip. The
    # answers must still start alike; on SmolLM2 they are identical (docs/benchmarks.md).
    assert merged.check["matches"] >= 1, merged.check["mismatches"]
    for mismatch in merged.check["mismatches"]:
        assert len(os.path.commonprefix([mismatch["evaluated"], mismatch["export"]])) >= 16, mismatch
    assert not (run_dir / "merged").exists()  # the merge is not left behind in the run folder
    generation = json.loads((tmp_path / "merged" / "generation_config.json").read_text())
    assert generation["do_sample"] is False and generation["max_new_tokens"] > 0
    assert (tmp_path / "merged" / "Modelfile").read_text().startswith("FROM .\n")

    adapter = export_run(run_dir, "adapter", tmp_path / "adapter")
    assert {"adapter_config.json", "adapter_model.safetensors", "Modelfile", "README.md"} <= set(adapter.files)
    from peft import AutoPeftModelForCausalLM

    assert AutoPeftModelForCausalLM.from_pretrained(tmp_path / "adapter") is not None
    words = shlex.split(adapter.commands["vllm"])
    assert words[:3] == ["vllm", "serve", in_home["run"]["config"]["model_path"]] and "--enable-lora" in words
    module = words[words.index("--lora-modules") + 1]
    served_name, _, folder = module.partition("=")
    assert served_name == model_name(in_home["project"].name, in_home["run"]["id"])
    assert (Path(folder) / "adapter_config.json").exists()
    rank = json.loads((Path(folder) / "adapter_config.json").read_text())["r"]
    assert int(words[words.index("--max-lora-rank") + 1]) >= rank


def test_the_loop_a_recorded_low_confidence_answer_becomes_a_draft_then_training_data(in_home):
    from studio.dataset.examples import edit_example, list_examples
    from studio.serving.drafts import waiting_answers
    from studio.serving.process import start_server, stop_server
    from studio.training.launch import cancel_run, launch_run

    db, project, run = in_home["db"], in_home["project"], in_home["run"]
    # Thresholds above any confidence: every answer lands in the human band.
    server, _ = start_server(run["id"], high=1.0, low=1.0, record=True)
    try:
        client = openai.OpenAI(base_url=server.url, api_key="x", max_retries=0)
        answer = ask(client, model_name(project.name, run["id"]), "My invoice shows a charge twice this month")
        assert answer.choices[0].model_extra["routing"]["band"] == "human"
    finally:
        stop_server(server.run_id)
    waiting = waiting_answers(db, project, [Path(run["run_dir"])])
    assert [w.answer for w in waiting] == [answer.choices[0].message.content]
    review = open_page("pages/review.py", project, db)
    assert "1 served answer(s) the model was unsure of" in review.expander[0].label
    review.button(key="served_0").click().run()
    assert not review.exception and "holds the model's answer" in review.success[0].value
    draft = next(e for e in list_examples(db, project) if e["external_id"] == waiting[0].id)
    draft_id = draft["id"]
    assert draft["status"] == "draft" and draft["messages"][-1]["content"] == waiting[0].answer
    assert draft["tags"] == ["from-production", "band-human"] and draft["source"] == "served"
    assert waiting_answers(db, project, [Path(run["run_dir"])]) == []  # offered once
    corrected = '{"category": "billing", "priority": "high", "needs_human": true}'
    messages = [*draft["messages"][:-1], {"role": "assistant", "content": corrected}]
    revision = edit_example(db, project, draft_id, draft["revision"], "expert", messages=messages, status="submitted")
    edit_example(db, project, draft_id, revision, "reviewer", status="approved")
    new_run = launch_run(db, project)
    cancel_run(db, new_run)
    from studio.training.launch import get_run

    run_dir = Path(get_run(db, new_run)["run_dir"])
    snapshot = read_jsonl(run_dir / "train.jsonl") + read_jsonl(run_dir / "eval.jsonl")
    assert any(row["id"] == draft_id and row["messages"][-1]["content"] == corrected for row in snapshot)
    assert os.environ["STUDIO_HOME"] == str(in_home["home"])
