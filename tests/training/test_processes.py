"""Training across processes: the worker under `accelerate launch` (gloo on this CPU), data-parallel.

Both ranks train; rank 0 alone writes the run's files; the loss curve matches one process taking the
same global batch; a killed rank fails the run with the launcher's word on which rank ended, and the
run resumes from its last checkpoint.
"""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import replace
from pathlib import Path

import psutil
import pytest

from studio.jsonl import read_jsonl
from studio.training.config import TrainConfig
from studio.training.launch import get_run, launch_run, resume_run, wait_for_run
from studio.training.progress import read_events
from studio.training.run_config import RunConfig
from studio.training.supervisor import worker_command
from studio.training.trainer import TrainingJob, build_trainer, train_adapter

# The two runs see the same 18 examples a step (one process x 18, two x 9) through the same LoRA start, so
# they differ only in how the sums are split and rounded (bf16 weights on this CPU): 2% of the loss.
LOSS_TOLERANCE = 0.02


def _steps(run_dir: Path) -> list[dict]:
    return [e for e in read_events(run_dir) if e["event"] == "step"]


def _ranks(launcher_pid: int) -> dict[int, psutil.Process]:
    """The launcher's training processes by rank (accelerate's torchrun sets RANK in each one's environment)."""
    ranks = {}
    for child in psutil.Process(launcher_pid).children(recursive=True):
        try:
            environment = child.environ()
            if "studio.training.worker" in child.cmdline() and "RANK" in environment:
                ranks[int(environment["RANK"])] = child
        except psutil.Error:
            continue
    return ranks


def _wait_for(predicate, timeout: float = 120, what: str = "") -> object:
    deadline = time.monotonic() + timeout
    while not (found := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
    return found


def test_a_run_of_several_processes_starts_them_through_accelerate_and_one_runs_alone(tmp_path):
    config = RunConfig(run_id="r", project="p", model_path="m", system_prompt="", train=TrainConfig(processes=2))
    config.write(tmp_path)
    command = worker_command(tmp_path)
    assert command[2] == "accelerate.commands.launch" and "--multi_gpu" in command
    assert command[command.index("--num_processes") + 1] == "2"
    assert command[-2:] == ["studio.training.worker", str(tmp_path)]
    replace(config, train=TrainConfig()).write(tmp_path)
    assert "accelerate.commands.launch" not in worker_command(tmp_path)


@pytest.mark.slow
def test_two_processes_train_rank_0_alone_writes_and_the_loss_matches_one_process(db, tiny_demo):
    config = TrainConfig(processes=2, batch_size=9, max_steps=4, save_steps=2, warmup_ratio=0.0)
    run_id = launch_run(db, tiny_demo, config)
    run = get_run(db, run_id)
    run_dir = Path(run["run_dir"])
    ranks = _wait_for(lambda: len(_ranks(run["pid"])) == 2 and _ranks(run["pid"]), what="two training processes")
    run = wait_for_run(db, run_id, poll_seconds=0.5)
    assert run["status"] == "succeeded", run["error"]
    assert set(ranks) == {0, 1}
    events = read_events(run_dir)
    # rank 0 alone writes: one start, one training start, each step once; the manifest records the processes
    [started] = [e for e in events if e["event"] == "started"]
    assert started["pid"] == ranks[0].pid and started["processes"] == 2
    assert len([e for e in events if e["event"] == "train_started"]) == 1
    steps = _steps(run_dir)
    assert [e["step"] for e in steps] == [1, 2, 3, 4]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["config"]["train"]["processes"] == 2 and manifest["recipe"]["max_steps"] == 4
    assert (run_dir / "adapter" / "adapter_model.safetensors").exists()
    # both ranks trained: each saved its own random state in the checkpoint (the one file rank 1 writes)
    assert {p.name for p in (run_dir / "trainer" / "checkpoint-4").glob("rng_state_*.pth")} == {
        "rng_state_0.pth",
        "rng_state_1.pth",
    }
    # the same global batch in one process: the same loss curve within the tolerance
    alone = _one_process_losses(run_dir, replace(config, processes=1, batch_size=18))
    for two, one in zip([e["loss"] for e in steps], alone):
        assert abs(two - one) <= LOSS_TOLERANCE * one, (two, one)


def _one_process_losses(run_dir: Path, config: TrainConfig) -> list[float]:
    frozen = RunConfig.read(run_dir)
    alone = run_dir.parent / "alone"
    alone.mkdir()
    job = TrainingJob(frozen.model_path, frozen.system_prompt, config, alone, frozen.output_spec)
    train_adapter(build_trainer(job, read_jsonl(run_dir / "train.jsonl")), job)
    return [e["loss"] for e in _steps(alone)]


@pytest.mark.slow
@pytest.mark.parametrize("rank", [1, 0])
def test_a_killed_rank_fails_the_run_with_the_reason_and_it_resumes(db, tiny_demo, rank):
    run_id = launch_run(db, tiny_demo, TrainConfig(processes=2, batch_size=2, max_steps=8, save_steps=2))
    run = get_run(db, run_id)
    run_dir = Path(run["run_dir"])
    _wait_for(lambda: any(e["step"] >= 3 for e in _steps(run_dir)), what="step 3")
    victim = _ranks(run["pid"])[rank]
    os.kill(victim.pid, signal.SIGKILL)
    run = wait_for_run(db, run_id, poll_seconds=0.5)
    assert run["status"] == "failed"
    assert f"rank {rank} of 2" in run["error"] and "SIGKILL" in run["error"], run["error"]
    assert not (run_dir / "status.json").exists() or json.loads((run_dir / "status.json").read_text())["status"] == (
        "failed"
    )
    resume_run(db, run_id)
    run = wait_for_run(db, run_id, poll_seconds=0.5)
    assert run["status"] == "succeeded", run["error"]
    assert _steps(run_dir)[-1]["step"] == 8


def test_studio_train_processes_sets_the_runs_processes():
    from studio.cli.main import build_parser
    from studio.cli.runs import _train_config

    args = build_parser().parse_args(["train", "--project", "demo", "--processes", "2", "--preset", "Quick"])
    assert _train_config(args).processes == 2
    assert _train_config(build_parser().parse_args(["train", "--project", "demo"])).processes == 1
