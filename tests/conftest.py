"""Shared fixtures: a real DuckDB file per test, the demo project, the packaged model, a tiny Llama.

The converted default model is shared by every test through STUDIO_MODELS (data/models
in the checkout, made by `make install`); everything else lives in the test's tmp_path.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from studio.paths import SOURCE_ROOT

os.environ.setdefault("STUDIO_MODELS", str(SOURCE_ROOT / "data" / "models"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    # Test processes share the cores: each (with the workers, servers and browsers it starts) gets its share
    # of threads, since torch's default of one thread per core in every process oversubscribes them.
    _share = max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))
    os.environ.setdefault("OMP_NUM_THREADS", str(_share))
    os.environ.setdefault("MKL_NUM_THREADS", str(_share))

PLANTED = json.loads((SOURCE_ROOT / "studio" / "demo" / "planted.json").read_text())


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A fresh data home for this test."""
    monkeypatch.setenv("STUDIO_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def db(home) -> Path:
    from studio.paths import db_path

    return db_path()


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory):
    """A database holding just the demo project, loaded once per test process, and that project."""
    from studio.demo import load_demo

    path = tmp_path_factory.mktemp("demo-template") / "studio.duckdb"
    project, _ = load_demo(path)
    return path, project


@pytest.fixture
def demo(db, demo_database):
    """The demo project in this test's database: a copy of the one loaded once per process (loading it
    takes seconds; about 75 tests start from it), or loaded afresh into a database that already exists."""
    import shutil

    from studio.demo import load_demo

    template, project = demo_database
    if db.exists():
        return load_demo(db)[0]
    db.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, db)
    wal = template.with_name(template.name + ".wal")  # DuckDB checkpoints on close, so normally there is none
    if wal.exists():
        shutil.copyfile(wal, db.with_name(db.name + ".wal"))
    return project


@pytest.fixture
def text_project(db):
    from studio.project.projects import ensure_project

    return ensure_project(db, "notes", "Summarise the note in one line.", {"kind": "text"})


@pytest.fixture
def label_project(db):
    from studio.project.projects import ensure_project

    return ensure_project(
        db, "sentiment", "Label the sentiment.", {"kind": "labels", "labels": ["pos", "neg", "neutral"]}
    )


@pytest.fixture(scope="session")
def default_model() -> Path:
    """The packaged SmolLM2-135M-Instruct as an HF folder (converted once)."""
    from studio.models.loading import ensure_default_model

    return ensure_default_model()


@pytest.fixture(scope="session")
def tiny_llama(default_model, tmp_path_factory) -> Path:
    """A tiny randomly initialised Llama with the default model's tokenizer and chat template."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(default_model)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    path = tmp_path_factory.mktemp("tiny-llama")
    LlamaForCausalLM(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory, request):
    """The studio served by `streamlit run app/main.py` on a free port, with its own data home, shared by the
    tests of one module (their data homes need not differ; starting a server and preparing its home is the
    slow part). A module that needs other settings defines its own; the cold-start tests start their own."""
    from browser_kit import Server

    home = tmp_path_factory.mktemp(request.module.__name__.rpartition(".")[2]) / "home"
    home.mkdir()
    running = Server(home)
    running.start()
    yield running
    running.stop()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test, so a fixture can tell that its test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def browser(request):
    """Debian's Chromium (headless), closed after the test; what each tab showed is printed when the test fails."""
    from browser_kit import describe_tabs, launch_chromium
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            describe_tabs(chromium, request.node.name)
        chromium.close()


@pytest.fixture
def page(browser):
    """A tab in that Chromium."""
    from browser_kit import new_tab

    return new_tab(browser)


def pytest_collection_modifyitems(config, items):
    """The longest tests first in every test process: the browser flows (a server, Chromium, often real
    training), then the other slow ones (real training), then the rest.

    xdist's work stealing first splits the list into one contiguous block per process and lets an idle
    process take the tail of another's block. So the sorted list is dealt out block by block, each
    block getting its share of the long tests at its head and short ones at its tail to be stolen,
    instead of one process holding every long test while another runs out of short ones."""
    ranked = sorted(items, key=_heaviness)
    processes = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    items[:] = [item for block in range(processes) for item in ranked[block::processes]]


def _heaviness(item) -> int:
    if item.get_closest_marker("slow") is None:
        return 2
    drives_a_browser = "browser" in item.path.parts or item.path.name == "test_load.py"
    return 0 if drives_a_browser else 1
