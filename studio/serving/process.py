"""Starting and stopping a run's server from the app: `studio model serve` in its own process.

The model never loads in the Streamlit process: the Deploy page starts the CLI's server
in its own session (like a training worker), records its pid, address and options in
the data home (serving/<run_id>.json, its log beside it), waits for /health, and stops
it with SIGTERM. A record whose process has died is dropped when the servers are listed.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from studio.paths import SOURCE_ROOT, data_home
from studio.serving.tokens import create_token, is_loopback, stored_digest


@dataclass(frozen=True)
class RunningServer:
    """A server the app started: where it listens and how it routes."""

    run_id: str
    pid: int
    url: str  # the OpenAI base URL, ending in /v1
    address: str
    port: int
    high: float
    low: float
    record: bool
    log: str


def serving_dir() -> Path:
    path = data_home() / "serving"
    path.mkdir(parents=True, exist_ok=True)
    return path


def free_port(address: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((address if address != "0.0.0.0" else "127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    run_id: str,
    port: int = 0,
    address: str = "127.0.0.1",
    high: float = 0.9,
    low: float = 0.7,
    record: bool = False,
    wait_s: float = 300.0,
    batch_window_ms: float = 20,
) -> tuple[RunningServer, str | None]:
    """Start `studio model serve RUN` and wait until it answers; return it and a new token (shown once) or None.

    Off localhost a token is required: the first server creates one; later ones reuse its hash.
    """
    if running_server(run_id):
        raise RuntimeError(f"a server for run {run_id} is already running; stop it first")
    token = create_token() if not is_loopback(address) and stored_digest() is None else None
    port = port or free_port(address)
    log = serving_dir() / f"{run_id}.log"
    command = [
        sys.executable,
        "-m",
        "studio.cli",
        "model",
        "serve",
        run_id,
        "--port",
        str(port),
        "--address",
        address,
        "--high",
        str(high),
        "--low",
        str(low),
        "--batch-window-ms",
        str(batch_window_ms),
        *(["--record"] if record else []),
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    with open(log, "ab") as out:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=SOURCE_ROOT,
            env=env,
            start_new_session=True,
        )
    host = "127.0.0.1" if address in ("0.0.0.0", "::") else address
    server = RunningServer(run_id, process.pid, f"http://{host}:{port}/v1", address, port, high, low, record, str(log))
    _record_path(run_id).write_text(json.dumps(asdict(server)))
    _wait_healthy(server, process, wait_s)
    return server, token


def _wait_healthy(server: RunningServer, process: subprocess.Popen, wait_s: float) -> None:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _record_path(server.run_id).unlink(missing_ok=True)
            raise RuntimeError("the server stopped while starting. Its last lines:\n" + log_tail(Path(server.log)))
        try:
            urllib.request.urlopen(server.url.removesuffix("/v1") + "/health", timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    stop_server(server.run_id)
    raise RuntimeError(f"the server did not answer within {wait_s:.0f} s")


def running_servers() -> list[RunningServer]:
    """The servers the app started that are still alive."""
    alive = []
    for path in sorted(serving_dir().glob("*.json")):
        try:
            server = RunningServer(**json.loads(path.read_text()))
        except (ValueError, TypeError):
            continue
        if _alive(server.pid):
            alive.append(server)
        else:
            path.unlink(missing_ok=True)
    return alive


def running_server(run_id: str) -> RunningServer | None:
    return next((s for s in running_servers() if s.run_id == run_id), None)


def stop_server(run_id: str, wait_s: float = 20.0) -> bool:
    """SIGTERM the run's server (its whole session), then SIGKILL if it lingers; True if one was running."""
    path = _record_path(run_id)
    if not path.exists():
        return False
    pid = json.loads(path.read_text())["pid"]
    path.unlink(missing_ok=True)
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + wait_s
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _alive(pid):
        os.killpg(pid, signal.SIGKILL)
    return True


def log_tail(path: Path, lines: int = 12) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


def _record_path(run_id: str) -> Path:
    return serving_dir() / f"{run_id}.json"


def _alive(pid: int) -> bool:
    import psutil

    try:
        os.waitpid(pid, os.WNOHANG)  # reap our own child, so a stopped server is not a zombie
    except ChildProcessError:
        pass
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def export_in_subprocess(run_id: str, format: str, timeout_s: float = 1800.0) -> dict:
    """`studio model export RUN --format F --json` in a child process (the app never loads torch); its result."""
    done = subprocess.run(
        [sys.executable, "-m", "studio.cli", "model", "export", run_id, "--format", format, "--json"],
        cwd=SOURCE_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"},
    )
    if done.returncode != 0:
        raise RuntimeError("the export failed: " + "\n".join((done.stderr or done.stdout).strip().splitlines()[-6:]))
    return json.loads(done.stdout)
