"""Faults survived: SIGKILL mid-import, a killed worker, a killed app, a held database, a full disk.

Each test breaks a real process or a real filesystem and then checks that nothing was
half-written and nothing was lost. docs/reliability.md lists them with their figures.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import psutil
import pytest

from storage import runs as run_table
from storage.db import connect
from studio.dataset.examples import add_example
from studio.dataset.messages import single_turn
from studio.paths import SOURCE_ROOT
from studio.project.projects import ensure_project
from studio.training.launch import cancel_run, get_run, launch_run, list_runs, wait_for_run
from studio.training.progress import read_events
from studio.training.supervisor import sync_runs
from studio.training.trainer import TrainConfig, last_checkpoint
from studio.transfer.writers import ExportFailed, export_examples

IMPORT_ROWS = 20_000
# seconds after the CLI first opened the database; the last ones land after the commit on a quiet machine
KILL_DELAYS = (0.0, 0.2, 0.5, 0.9, 1.4, 2.0)


def _cli(home: Path, *args: str, wait: str | None = None) -> tuple[list[str], dict]:
    env = {**os.environ, "STUDIO_HOME": str(home), **({"STUDIO_DB_WAIT": wait} if wait else {})}
    return [sys.executable, "-m", "studio.cli", *args], env


def _run_cli(home: Path, *args: str, wait: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    command, env = _cli(home, *args, wait=wait)
    return subprocess.run(command, cwd=SOURCE_ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def _counts(db: Path) -> dict[str, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            table: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("projects", "examples", "revisions")
        }
    finally:
        con.close()


def _write_import_file(path: Path, prefix: str) -> None:
    with open(path, "w") as handle:
        for i in range(IMPORT_ROWS):
            row = {
                "id": f"{prefix}-{i}",
                "prompt": f"Question {prefix} {i}: " + "words of the question " * 8,
                "completion": f"Answer {i}.",
            }
            handle.write(json.dumps(row) + "\n")


def _has_open(pid: int, path: Path) -> bool:
    try:
        return any(Path(f.path) == path for f in psutil.Process(pid).open_files())
    except psutil.Error:
        return False


def test_sigkill_during_an_import_leaves_it_wholly_there_or_wholly_absent(db, home, tmp_path):
    _run_cli(home, "demo")
    outcomes = []
    for attempt, delay in enumerate(KILL_DELAYS):
        source = tmp_path / f"import-{attempt}.jsonl"
        _write_import_file(source, f"k{attempt}")
        before = _counts(db)
        process = _start_cli(home, "import", str(source), "--project", "demo")
        while process.poll() is None and not _has_open(process.pid, db):
            time.sleep(0.01)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        after = _counts(db)
        added = after["examples"] - before["examples"]
        assert added in (0, IMPORT_ROWS), f"kill {delay}s after opening left {added} of {IMPORT_ROWS} rows"
        assert after["revisions"] - before["revisions"] == added  # every example with its first revision
        outcomes.append("absent" if added == 0 else "whole")
    assert "absent" in outcomes, outcomes  # at least one kill landed inside the import
    redo = _run_cli(home, "import", str(tmp_path / "import-0.jsonl"), "--project", "demo", "--json")
    assert redo.returncode == 0, redo.stderr  # the file opens and takes a full import afterwards
    print(f"kills: {len(outcomes)}, outcomes: {outcomes}")


def _wait_for(run_dir: Path, predicate, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not predicate(read_events(run_dir)):
        assert time.monotonic() < deadline, f"timed out; events: {read_events(run_dir)[-3:]}"
        time.sleep(0.2)


@pytest.mark.slow
def test_a_killed_worker_is_failed_with_its_log_tail_and_resumes_counting_on(db, tiny_demo, home):
    run_id = launch_run(db, tiny_demo, TrainConfig(max_steps=8, save_steps=2, batch_size=2))
    run_dir = Path(get_run(db, run_id)["run_dir"])
    _wait_for(run_dir, lambda events: any(e["event"] == "step" and e["step"] >= 3 for e in events))
    os.killpg(get_run(db, run_id)["pid"], signal.SIGKILL)
    time.sleep(0.5)
    last_line = (run_dir / "worker.log").read_text(errors="replace").strip().splitlines()[-1]
    listed = _run_cli(home, "runs", "--json")
    [run] = [r for r in json.loads(listed.stdout) if r["id"] == run_id]
    assert run["status"] == "failed" and run["can_resume"]
    assert "Its last lines" in run["error"] and last_line in run["error"]
    # the last complete checkpoint: the kill may land while a newer one is half written (trainer.last_checkpoint)
    checkpoint = int(Path(last_checkpoint(run_dir)).name.split("-")[1])
    seen = len(read_events(run_dir))
    done = _run_cli(home, "train", "--resume", run_id, "--wait", "--json", timeout=600)
    assert json.loads(done.stdout)["status"] == "succeeded", done.stderr[-2000:]
    after = [e["step"] for e in read_events(run_dir)[seen:] if e["event"] == "step"]
    assert after[0] == checkpoint + 1 and after[-1] == 8  # counting on from the checkpoint, not from 0


@pytest.mark.slow
def test_an_app_killed_mid_run_reattaches_on_restart_and_records_the_run_once(db, tiny_demo, home):
    app = _start_cli(home, "train", "--project", "demo", "--preset", "Quick", "--max-steps", "12", "--wait")
    deadline = time.monotonic() + 180
    while not [r for r in list_runs(db) if r["status"] == "running" and r["pid"]]:
        assert time.monotonic() < deadline and app.poll() is None
        time.sleep(0.2)
    [run] = list_runs(db)
    _wait_for(Path(run["run_dir"]), lambda events: any(e["event"] == "step" for e in events))
    app.send_signal(signal.SIGKILL)  # the app only; the worker has its own session
    app.wait()
    assert psutil.pid_exists(run["pid"]) and psutil.Process(run["pid"]).status() != psutil.STATUS_ZOMBIE
    restarted = _run_cli(home, "runs", "--json")  # a fresh process does what the app does on start
    assert [r["status"] for r in json.loads(restarted.stdout)] == ["running"]
    racing = [_start_cli(home, "runs") for _ in range(2)]  # two more app processes settle it at once
    done = wait_for_run(db, run["id"], poll_seconds=0.3)
    for other in racing:
        other.wait(timeout=120)
    sync_runs(db)
    assert done["status"] == "succeeded", done["error"]
    assert [r["id"] for r in list_runs(db)] == [run["id"]]
    con = duckdb.connect(str(db), read_only=True)
    per_model = con.execute(
        "SELECT model, count(*) FROM evaluations WHERE run_id = ? GROUP BY model", [run["id"]]
    ).fetchall()
    predictions = con.execute(
        "SELECT count(*), count(DISTINCT (model, example_id)) FROM predictions WHERE run_id = ?", [run["id"]]
    ).fetchone()
    con.close()
    assert per_model and all(count == 1 for _, count in per_model)
    assert predictions[0] == predictions[1] == len(per_model) * done["n_eval"]


def _workers_on(run_dir: Path) -> list[int]:
    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        if str(run_dir) in (process.info["cmdline"] or []) and process.status() != psutil.STATUS_ZOMBIE:
            found.append(process.info["pid"])
    return found


@pytest.mark.slow
def test_a_worker_started_just_before_the_app_died_is_adopted_not_started_twice(db, tiny_demo):
    """The app killed between starting a worker and recording it: the run is still queued in the database."""
    run_id = launch_run(db, tiny_demo, TrainConfig(max_steps=200))
    run = get_run(db, run_id)
    with connect(db) as con:
        run_table.update_run(con, run_id, status="queued", pid=None)  # what the database held at the kill
    sync_runs(db)  # the restarted app
    adopted = get_run(db, run_id)
    assert adopted["status"] == "running" and adopted["pid"] == run["pid"]
    assert _workers_on(Path(run["run_dir"])) == [run["pid"]]
    _wait_for(
        Path(run["run_dir"]), lambda events: any(e["event"] == "started" for e in events)
    )  # SIGTERM handled from here
    cancel_run(db, run_id)
    assert wait_for_run(db, run_id, poll_seconds=0.3)["status"] == "cancelled"


def _start_cli(home: Path, *args: str) -> subprocess.Popen:
    command, env = _cli(home, *args)
    return subprocess.Popen(command, cwd=SOURCE_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _hold_database(db: Path, seconds: float) -> subprocess.Popen:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; con = duckdb.connect({str(db)!r}); print('ready', flush=True); "
            f"time.sleep({seconds}); con.close()",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "ready"
    return holder


def test_a_held_database_makes_the_cli_wait_then_name_the_holder(db, demo, home):
    before = _counts(db)
    holder = _hold_database(db, 60)
    try:
        started = time.monotonic()
        result = _run_cli(home, "runs", wait="1.5")
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"the database {db} is in use by " in result.stderr and f"(PID {holder.pid})" in result.stderr
    assert "python" in result.stderr  # the holder's command line
    assert waited >= 1.5
    assert _counts(db) == before
    assert _run_cli(home, "runs", "--json").returncode == 0


def test_the_cli_waits_out_a_short_hold(db, demo, home):
    holder = _hold_database(db, 1.0)
    result = _run_cli(home, "export", "--project", "demo", "--out", str(home / "x.jsonl"), wait="20")
    holder.wait()
    assert result.returncode == 0, result.stderr


@pytest.fixture
def tiny_disk(tmp_path):
    """A 16 KiB tmpfs (root can mount one): writing more than that fails with ENOSPC."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(
            f"cannot mount a tmpfs here ({mounted.stderr.decode().strip()}); "
            "test_export_to_dev_full covers the full disk without one"
        )
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.mark.parametrize("name", ["out.jsonl", "out.csv", "out.parquet", "out_hf"])
def test_a_full_disk_during_export_leaves_no_file_and_the_database_intact(db, demo, tiny_disk, name):
    before = _counts(db)
    with pytest.raises(ExportFailed, match="disk full") as raised:
        export_examples(db, demo, tiny_disk / name, status=None)
    assert str(tiny_disk / name) in str(raised.value)
    assert list(tiny_disk.iterdir()) == []
    assert _counts(db) == before
    # room enough for a small one (the demo's rows now carry its 1 KB task description each)
    small = ensure_project(db, "small", "Label it.", {"kind": "labels", "labels": ["yes", "no"]})
    add_example(db, small, single_turn("Is this small?", "yes"), "ann", "approved")
    export_examples(db, small, tiny_disk / "small.jsonl", status="approved")
    assert (tiny_disk / "small.jsonl").exists()


def test_the_cli_says_disk_full_and_exits_non_zero(db, demo, home, tiny_disk):
    before = _counts(db)
    out = tiny_disk / "all.jsonl"
    result = _run_cli(home, "export", "--project", "demo", "--out", str(out), "--status", "all")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "disk full" in result.stderr and str(out) in result.stderr
    assert list(tiny_disk.iterdir()) == [] and _counts(db) == before


def test_export_to_dev_full(db, demo, tmp_path):
    """/dev/full answers every write with ENOSPC; its partial file points there."""
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    out = tmp_path / "out.jsonl"
    (tmp_path / "out.jsonl.partial").symlink_to("/dev/full")
    with pytest.raises(ExportFailed, match="disk full"):
        export_examples(db, demo, out)
    assert list(tmp_path.iterdir()) == [tmp_path / "home"]


def test_sessions_searching_at_once_on_a_stale_index_do_not_conflict(db, demo):
    """Found by the load test: two pages rebuilding the full-text index at once raised a write-write conflict."""
    from concurrent.futures import ThreadPoolExecutor

    from studio.dataset.search import ExampleFilter, PageRequest, find_examples

    def search(word: str) -> int:
        return find_examples(db, demo, ExampleFilter(text=word), PageRequest(page_size=5)).total

    words = ["invoice", "backup", "password", "refund"] * 4
    with ThreadPoolExecutor(max_workers=8) as pool:
        totals = list(pool.map(search, words))
    assert totals == [search(word) for word in words] and all(totals)
