"""The outcome a user gets: does the default fine-tune beat prompting the same model on a real small task?

    .venv/bin/python bench/outcome.py --clinc ../shared/datasets/clinc150/data_full.json [--test-set] [--json]
    .venv/bin/python bench/outcome.py --clinc ../shared/datasets/clinc150/data_full.json --suite [--json]
    .venv/bin/python bench/outcome.py --demo [--json]
    .venv/bin/python bench/outcome.py --score-checkpoint RUN_DIR/trainer/checkpoint-N

With --clinc: a seeded pick of 10 intents from CLINC150's banking domain (its most
confusable intents), 40 training examples each, written as a chat JSONL whose system
message lists the allowed labels, imported the way a user would (`studio import --status
approved`), trained with the default preset (`studio train --wait`), and scored by
`studio eval`. With --test-set, CLINC150's own test utterances of the picked intents (30
each) are imported too, with `studio import --split test`, as a user keeping a gold test
set would: the run is judged on them instead of the seeded 10% split. --domain picks
another CLINC150 domain; --suite runs SUITE (banking, credit_cards and travel), each with
its test set, in its own data home. With --demo: the packaged demo project, trained and
scored the same way.
Everything runs through the `studio` CLI in a fresh data home, so the figures are what a
user of this checkout would see.

When the import leaves the project without a task description or label set (an import
that does not infer them), they are set through the Python API, as a user would in the
project's settings; once imports infer them, nothing is set here.

Reports each model's exact match (accuracy) with its 95% interval, the paired difference
of the tuned model over the best baseline with its interval, the verdict, the wall time of
training and of evaluation (answering the held-out set), and the machine's cores-busy
figure over each phase and just before the run: the CPU is often shared, and a figure
above the cores the run itself uses says its timings were taken under contention.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import CoresBusy, describe_machine  # noqa: E402

PROJECT = "clinc-banking"
INTENTS, PER_INTENT, TEST_PER_INTENT = 10, 40, 30
SUITE = ("banking", "credit_cards", "travel")


def pick_intents(path: Path, seed: int, domain: str = "banking") -> list[str]:
    """A seeded pick of INTENTS intents of one CLINC150 domain (domains.json beside data_full.json)."""
    intents = json.loads((path.parent / "domains.json").read_text())[domain]
    return sorted(random.Random(seed).sample(sorted(intents), INTENTS))


def clinc_rows(
    path: Path,
    seed: int,
    labels: list[str] | None = None,
    part: str = "train",
    per_intent: int = PER_INTENT,
    domain: str = "banking",
) -> tuple[list[str], list[dict]]:
    """(labels, chat rows): the labels (default: a seeded pick of banking intents), `per_intent` seeded
    utterances of each from CLINC150's `part` (train, or test: its own 30 test utterances per intent)."""
    labels = labels or pick_intents(path, seed)
    pairs = [pair for pair in json.loads(path.read_text())[part] if pair[1] in labels]
    random.Random(seed).shuffle(pairs)
    system = system_message(labels, domain)
    rows = []
    for label in labels:
        for text, _ in [p for p in pairs if p[1] == label][:per_intent]:
            rows.append(
                {
                    "messages": [
                        {"role": "system", "content": system},
                        {"role": "user", "content": text},
                        {"role": "assistant", "content": label},
                    ]
                }
            )
    random.Random(seed).shuffle(rows)
    return labels, rows


def system_message(labels: list[str], domain: str = "banking") -> str:
    who = "a bank customer's message" if domain == "banking" else f"a user's message about {domain.replace('_', ' ')}"
    return (
        f"You sort {who} into the intent it expresses. Answer with exactly one of these labels "
        f"and nothing else: {', '.join(labels)}."
    )


def studio(*args: str, env: dict) -> dict:
    """Run one `studio` CLI command with --json; its JSON answer (the CLI's own errors raise)."""
    command = [sys.executable, "-m", "studio.cli", *args, "--json"]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0 and not done.stdout.strip():
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def define_task_if_missing(home: Path, project: str, description: str, labels: list[str]) -> bool:
    """Give the project its description and label set unless the import already did; True if set here."""
    os.environ["STUDIO_HOME"] = str(home)
    from studio.paths import db_path
    from studio.project.projects import get_project, update_project_settings

    current = get_project(db_path(), project)
    changes = {}
    if not current.description.strip():
        changes["description"] = description
    if current.output_spec.kind != "labels":
        changes["output_spec"] = {"kind": "labels", "labels": labels}
    if changes:
        update_project_settings(db_path(), current, **changes)
    return bool(changes)


def phase_times(run_dir: Path) -> dict:
    """Wall seconds of training (start to the 'trained' event) and of evaluation (from there to the last event)."""
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines() if line.strip()]
    started = next(e["time"] for e in events if e["event"] == "started")
    trained = next(e["time"] for e in events if e["event"] == "trained")
    answered = max(e["time"] for e in events)
    steps = max((e.get("step", 0) for e in events), default=0)
    return {"train_s": round(trained - started, 1), "eval_s": round(answered - trained, 1), "steps": steps}


def run_outcome(env: dict, home: Path, project: str, preset: str, retrieved: int = 0) -> dict:
    """Train with the preset (and `retrieved` examples in each prompt), evaluate, and gather the figures."""
    background = CoresBusy()
    time.sleep(5)
    busy_before = background.stop()
    meter, began = CoresBusy(), time.perf_counter()
    extra = ["--set", f"retrieved_examples={retrieved}"] if retrieved else []
    trained = studio("train", "--project", project, "--preset", preset, *extra, "--wait", env=env)
    wall = time.perf_counter() - began
    busy = meter.stop()
    if trained["status"] != "succeeded":
        raise RuntimeError(f"run {trained['run_id']} {trained['status']}: {trained['error']}")
    board = studio("eval", trained["run_id"], env=env)
    run_dir = home / "runs" / trained["run_id"]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    models = [
        {
            "model": r["label"],
            "exact_match": round(r["primary_value"], 3),
            "low": round(r["low"], 3),
            "high": round(r["high"], 3),
            "n": r["n"],
        }
        for r in board["leaderboard"]
    ]
    comparison = board["comparison"] or {}
    tuned = [p for p in board["predictions"] if p["model"] == "tuned"]
    return {
        "run_id": trained["run_id"],
        "preset": preset,
        "retrieved_examples": retrieved,
        **prompt_tokens(run_dir),
        "metric": board["metric"],
        "models": models,
        "difference": {k: round(comparison[k], 3) for k in ("difference", "low", "high") if k in comparison},
        "best_baseline": comparison.get("baseline"),
        "held_out": board.get("numbers_from"),
        "verdict": board["verdict"]["decision"],
        "headline": board["verdict"]["headline"],
        **phase_times(run_dir),
        "run_wall_s": round(wall, 1),
        "cores_busy_before": busy_before,
        "cores_busy_during": busy,
        "recipe": manifest.get("recipe"),
        "tuned_mean_confidence": round(sum(p.get("confidence") or 0 for p in tuned) / max(len(tuned), 1), 3),
    }


def prompt_tokens(run_dir: Path) -> dict:
    """Tokens per training sequence as the run trained them (with its retrieved examples), and all of them."""
    from studio.jsonl import read_jsonl
    from studio.models.loading import load_tokenizer
    from studio.training.preflight import length_profile, rows_as_trained
    from studio.training.run_config import RunConfig

    config = RunConfig.read(run_dir)
    rows = rows_as_trained(read_jsonl(run_dir / "train.jsonl"), config.train)
    profile = length_profile(load_tokenizer(config.model_path), config.system_prompt, rows, config.train.max_length)
    return {
        "tokens_per_example": round(profile["tokens"] / max(len(rows), 1), 1),
        "train_split_tokens": profile["tokens"],
    }


def score_checkpoint(checkpoint: Path) -> dict:
    """Answer a run's held-out set with one of its checkpoints (the studio's answering code), scored as `studio eval` scores.

    For a run that the shared machine slows past the time there is: the figures are the same
    kind as a finished run's, for the adapter as it stood at that checkpoint.
    """
    import shutil

    from studio.evaluation.answering import answer_held_out
    from studio.evaluation.leaderboard import summarise_model
    from studio.evaluation.metrics import primary_metric, score_answer
    from studio.evaluation.verdict import compare_with_best_baseline, decide
    from studio.jsonl import read_jsonl
    from studio.project.formats import parse_output_spec

    checkpoint = checkpoint.resolve()
    run_dir = checkpoint.parents[1] if checkpoint.parent.name == "trainer" else checkpoint.parent  # or RUN_DIR/adapter
    config = json.loads((run_dir / "config.json").read_text())
    work = Path(tempfile.mkdtemp(prefix="checkpoint-"))
    for name in ("config.json", "train.jsonl", "eval.jsonl"):
        shutil.copy2(run_dir / name, work / name)
    (work / "adapter").symlink_to(checkpoint)
    began = time.perf_counter()
    predictions = read_jsonl(answer_held_out(work, config))
    spec = parse_output_spec(config["output_spec"])
    for row in predictions:
        row["scores"] = score_answer(spec, row["expected"], row["output"])
    metric = primary_metric(spec)
    models = sorted({p["model"] for p in predictions})
    summaries = [summarise_model(spec, m, [p for p in predictions if p["model"] == m]) for m in models]
    comparison = compare_with_best_baseline(predictions, metric)
    verdict = decide(
        comparison, 0.05, [], 0, len(read_jsonl(run_dir / "train.jsonl")) + len(predictions) // len(models)
    )
    return {
        "checkpoint": str(checkpoint),
        "metric": metric,
        "eval_s": round(time.perf_counter() - began, 1),
        "models": [
            {
                "model": s["model"],
                "exact_match": round(s["primary_value"], 3),
                "low": round(s["metrics"]["means"][metric]["low"], 3),
                "high": round(s["metrics"]["means"][metric]["high"], 3),
                "n": s["n"],
            }
            for s in summaries
        ],
        "difference": {k: round(comparison[k], 3) for k in ("difference", "low", "high")},
        "best_baseline": comparison["baseline"],
        "verdict": verdict.decision,
        "headline": verdict.headline,
        "all_answers_are_labels": all(p["output"] in spec.labels for p in predictions)
        if spec.kind == "labels"
        else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--clinc", type=Path, help="CLINC150's data_full.json (domains.json beside it)")
    source.add_argument("--demo", action="store_true", help="the packaged demo project instead")
    source.add_argument(
        "--score-checkpoint",
        type=Path,
        metavar="RUN_DIR/trainer/checkpoint-N",
        help="only answer and score a run's held-out set with this checkpoint (for a run still training)",
    )
    parser.add_argument(
        "--preset", default="Balanced", help="training preset (default: the studio's default, Balanced)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the intent pick and the example sample")
    parser.add_argument(
        "--retrieved",
        type=int,
        default=0,
        metavar="K",
        help="retrieval-augmented fine-tuning: K retrieved training examples in each prompt (default 0: off)",
    )
    parser.add_argument(
        "--test-set",
        action="store_true",
        help=f"import CLINC150's own test utterances of the picked intents ({TEST_PER_INTENT} each) with "
        "--split test: the run is judged on them",
    )
    parser.add_argument(
        "--domain", default="banking", help="the CLINC150 domain to pick intents from (default banking)"
    )
    parser.add_argument(
        "--suite", action="store_true", help=f"every domain of {', '.join(SUITE)}, each with its test set"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    if args.score_checkpoint:
        print(json.dumps(score_checkpoint(args.score_checkpoint), indent=2))
        return 0
    if (args.suite or args.test_set) and not args.clinc:
        parser.error("--test-set and --suite need --clinc")
    if args.suite:
        results = [clinc_task(args, domain, test_set=True) for domain in SUITE]
        print(json.dumps(results, indent=2) if args.json else "\n\n".join(map(_table, results)))
        return 0
    result = clinc_task(args, args.domain, args.test_set) if args.clinc else demo_task(args)
    print(json.dumps(result, indent=2) if args.json else _table(result))
    return 0


def fresh_home() -> tuple[Path, dict]:
    """A new data home, and the environment that points the `studio` CLI at it."""
    home = Path(tempfile.mkdtemp(prefix="outcome-"))
    env = {
        **os.environ,
        "STUDIO_HOME": str(home),
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")]),
    }
    return home, env


def demo_task(args) -> dict:
    home, env = fresh_home()
    studio("demo", env=env)
    result: dict = {"task": "demo", "machine": describe_machine(), "home": str(home)}
    return result | run_outcome(env, home, "demo", args.preset, args.retrieved)


def clinc_task(args, domain: str, test_set: bool) -> dict:
    """One CLINC150 domain imported as a user would (its test utterances with --split test), trained, scored."""
    home, env = fresh_home()
    project = PROJECT if domain == "banking" else f"clinc-{domain.replace('_', '-')}"
    labels = pick_intents(args.clinc, args.seed, domain)
    result: dict = {"task": f"clinc150 {domain}", "machine": describe_machine(), "home": str(home), "labels": labels}
    imported = import_rows(env, home, project, clinc_rows(args.clinc, args.seed, labels, domain=domain)[1], "train")
    result.update(
        imported=imported,
        task_set_by_bench=define_task_if_missing(home, project, system_message(labels, domain), labels),
    )
    if test_set:
        test_rows = clinc_rows(args.clinc, args.seed, labels, "test", TEST_PER_INTENT, domain)[1]
        result["imported_test_set"] = import_rows(env, home, project, test_rows, "test")
    return result | run_outcome(env, home, project, args.preset, args.retrieved)


def import_rows(env: dict, home: Path, project: str, rows: list[dict], split: str) -> int:
    """Write the rows as a chat JSONL file and `studio import` it, approved, into `split`; how many came in."""
    data = home / f"{project}-{split}.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    done = studio("import", str(data), "--project", project, "--status", "approved", "--split", split, env=env)
    return done.get("imported")


def _table(result: dict) -> str:
    lines = [f"{result.get('task', '')}: judged on {result.get('held_out')}"] + [
        f"{m['model']:32} exact match {m['exact_match']:.3f} [{m['low']:.3f}, {m['high']:.3f}] (n={m['n']})"
        for m in result["models"]
    ]
    d = result["difference"]
    lines += [
        f"tuned - {result['best_baseline']}: {d.get('difference', float('nan')):+.3f} [{d.get('low', float('nan')):+.3f}, {d.get('high', float('nan')):+.3f}]",
        f"verdict: {result['verdict']} ({result['headline']})",
        f"training {result['train_s']} s ({result['steps']} steps, {result['tokens_per_example']} tokens per "
        f"example with {result['retrieved_examples']} retrieved), evaluation {result['eval_s']} s; "
        f"cores busy {result['cores_busy_during']} of {result['machine']['cpu_cores']} during the run, "
        f"{result['cores_busy_before']} just before it",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
