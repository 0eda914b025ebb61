"""Benchmark the consistency engine on CLINC150 with planted noise, in a real DuckDB file.

Run it (from the repository root):

    PYTHONPATH=. .venv/bin/python bench/checks.py --clinc ../shared/datasets/clinc150/data_full.json [--json]

It takes CLINC150's 15,000 training rows (Larson et al. 2019, CC BY 3.0; 150 intents),
plants noise into a copy (5% of labels swapped to another intent, exact-input conflicts
whose input differs only in case and whitespace, near-duplicate paraphrases with the
same intent), imports it into a fresh project, and then:
- times a cold full run of every check (empty embedding cache, model not yet loaded);
- scores the contradiction and suspect-output findings against the planted ground
  truth: recall of the exact-input conflicts, average precision and recall at
  precision 0.9 of the swapped labels, and of the near-duplicate paraphrases;
- edits 10 examples and times the incremental run;
- builds the neighbour graph of 100,000 synthetic unit vectors to show that peak
  memory grows with the example count, not with its square.
With --as-user the noisy copy is imported the way a user would: a chat JSONL whose rows
share a system message, into a project that does not exist yet, with no label set
declared; the import infers the task (studio.project.task_inference) and the checks run on what
it inferred. The swapped-label average precision should match the declared run's.
--intents N takes the first N intents only (a slice, for a quicker run).
Results go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from machine import describe_machine

if TYPE_CHECKING:
    from studio.checks.findings import StoredFinding

PARAPHRASES = [
    lambda t: f"{t} please",
    lambda t: f"hey, {t}",
    lambda t: f"can you tell me {t}",
    lambda t: f"{t}, thanks",
    lambda t: f"i was wondering, {t}",
]


def load_clinc(path: Path, intents: int = 0) -> tuple[list[list[str]], list[str]]:
    """CLINC150's training rows ([text, intent]) and its sorted intents (the first `intents` only, when given)."""
    rows = json.loads(path.read_text())["train"]
    names = sorted({intent for _, intent in rows})
    names = names[:intents] if intents else names
    kept = set(names)
    return [row for row in rows if row[1] in kept], names


def perturb(text: str, rng: random.Random) -> str:
    """The same input as far as the checks go: only its case and whitespace change."""
    cases = [str.upper, str.title, str.swapcase, lambda t: t[:1].upper() + t[1:]]
    spaces = [
        lambda t: f"  {t} ",
        lambda t: t.replace(" ", "  ", 1),
        lambda t: t.replace(" ", "\t", 1),
        lambda t: t + "\n",
    ]
    changed = text
    while changed == text:
        changed = rng.choice(spaces)(rng.choice(cases)(text))
    return changed


def plant_noise(
    rows: list[list[str]], intents: list[str], rng: random.Random, swap_share: float, conflicts: int, paraphrases: int
) -> tuple[list[dict], dict]:
    """JSONL-shaped rows with planted noise, and the ground truth by external id."""

    def other(intent: str) -> str:
        return rng.choice([i for i in intents if i != intent])

    order = list(range(len(rows)))
    rng.shuffle(order)
    n_swap = round(swap_share * len(rows))
    swapped = set(order[:n_swap])
    sources = order[n_swap : n_swap + conflicts + paraphrases]
    out, truth = [], {"swapped": [], "conflicts": [], "paraphrases": []}
    for index, (text, intent) in enumerate(rows):
        label = other(intent) if index in swapped else intent
        out.append(_row(f"clinc-{index}", text, label))
        if index in swapped:
            truth["swapped"].append(f"clinc-{index}")
    for number, index in enumerate(sources):
        text, intent = rows[index]
        if number < conflicts:
            out.append(_row(f"conflict-{number}", perturb(text, rng), other(intent)))
            truth["conflicts"].append((f"clinc-{index}", f"conflict-{number}"))
        else:
            out.append(_row(f"paraphrase-{number}", rng.choice(PARAPHRASES)(text), intent))
            truth["paraphrases"].append((f"clinc-{index}", f"paraphrase-{number}"))
    return out, truth


def _row(external_id: str, text: str, intent: str) -> dict:
    return {
        "id": external_id,
        "messages": [{"role": "user", "content": text}, {"role": "assistant", "content": intent}],
        "tags": [intent],
    }


def pair_recall(findings: list[StoredFinding], kind: str, pairs: list[tuple[str, str]]) -> dict:
    """Share of planted pairs that one finding of `kind` holds both sides of."""
    groups = [{e.external_id for e in f.examples} for f in findings if f.kind == kind]
    found = sum(any({a, b} <= group for group in groups) for a, b in pairs)
    return {"planted": len(pairs), "found": found, "recall": found / len(pairs) if pairs else None}


def ranking_quality(scores: dict[str, float], positives: set[str], universe: list[str]) -> dict:
    """Average precision and recall at precision 0.9 of a ranking over `universe` (unflagged score 0)."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    y_true = np.array([external_id in positives for external_id in universe])
    y_score = np.array([scores.get(external_id, 0.0) for external_id in universe])
    precision, recall, _ = precision_recall_curve(y_true, y_score)
    at_09 = recall[precision >= 0.9].max() if (precision >= 0.9).any() else 0.0
    flagged = {e for e, s in scores.items() if s > 0}
    return {
        "positives": int(y_true.sum()),
        "flagged": len(flagged),
        "flagged_true": len(flagged & positives),
        "average_precision": float(average_precision_score(y_true, y_score)),
        "recall_at_precision_0_9": float(at_09),
    }


def contradiction_precision(findings: list[StoredFinding], noisy: set[str]) -> dict:
    """Average precision of the ranked contradiction findings: a finding is right when it holds a planted error."""
    from sklearn.metrics import average_precision_score

    ranked = [f for f in findings if f.kind == "contradiction"]
    truth = np.array([bool({e.external_id for e in f.examples} & noisy) for f in ranked])
    if not len(ranked) or not truth.any():
        return {"findings": len(ranked), "right": int(truth.sum()) if len(ranked) else 0}
    scores = np.array([f.score for f in ranked])
    return {
        "findings": len(ranked),
        "right": int(truth.sum()),
        "precision": float(truth.mean()),
        "average_precision": float(average_precision_score(truth, scores)),
    }


def suspect_scores(findings: list[StoredFinding]) -> dict[str, float]:
    return {f.examples[0].external_id: f.score for f in findings if f.kind == "suspect-output"}


def timed_cpu(call):
    """Call it; return its result and the CPU seconds this process spent (all threads).

    CPU seconds over wall seconds is how many cores the run really got: about 2.0 on a
    quiet 2-core machine, less when other work shares the cores.
    """
    began = time.process_time()
    result = call()
    return result, time.process_time() - began


def edit_ten(db: Path, project, rng: random.Random) -> None:
    """Reword the input of 10 random examples, as an expert would."""
    from studio.dataset.examples import edit_example, list_examples
    from studio.dataset.messages import with_last_turn

    for example in rng.sample(list_examples(db, project), 10):
        messages = with_last_turn(
            example["messages"], example["messages"][0]["content"] + " asap", example["messages"][-1]["content"]
        )
        edit_example(db, project, example["id"], example["revision"], "bench", messages=messages)


USER_SYSTEM = "Name the intent of the customer's request, as one intent name."


def import_as_user(db: Path, path: Path, noisy: list[dict]):
    """Import the noisy rows as a user's chat JSONL into a new project, letting the import infer the task."""
    from studio.jsonl import write_jsonl
    from studio.project.projects import get_project
    from studio.transfer.imports import ImportOptions, import_inferring

    rows = [{**row, "messages": [{"role": "system", "content": USER_SYSTEM}, *row["messages"]]} for row in noisy]
    write_jsonl(path, rows)
    done = import_inferring(db, "clinc", path, "bench", ImportOptions(status="approved"))
    return get_project(db, "clinc"), done["inferred"]


def run_clinc(
    clinc: Path,
    seed: int,
    swap_share: float,
    conflicts: int,
    paraphrases: int,
    as_user: bool = False,
    intents_wanted: int = 0,
) -> dict:
    """Import the noisy copy into a fresh project, run the checks cold and incrementally, score them."""
    import os

    os.environ["STUDIO_HOME"] = tempfile.mkdtemp(prefix="bench-checks-")
    from studio.checks.runner import run_project_checks
    from studio.jsonl import write_jsonl
    from studio.paths import db_path
    from studio.project.projects import ensure_project
    from studio.transfer.imports import import_jsonl

    rows, intents = load_clinc(clinc, intents_wanted)
    rng = random.Random(seed)
    noisy, truth = plant_noise(rows, intents, rng, swap_share, conflicts, paraphrases)
    db = db_path()
    began = time.perf_counter()
    path = db.parent / "clinc-noisy.jsonl"
    inferred = None
    if as_user:
        project, inferred = import_as_user(db, path, noisy)
    else:
        project = ensure_project(db, "clinc", "Name the intent.", {"kind": "labels", "labels": intents})
        write_jsonl(path, noisy)
        import_jsonl(db, project, path, "bench", "approved")
    import_seconds = time.perf_counter() - began
    cold, cold_cpu = timed_cpu(lambda: run_project_checks(db, project))
    edit_ten(db, project, rng)
    incremental, incremental_cpu = timed_cpu(lambda: run_project_checks(db, project))
    conflict_copies = {copy for _, copy in truth["conflicts"]}
    in_conflicts = {e for pair in truth["conflicts"] for e in pair}
    universe = [r["id"] for r in noisy if r["id"] not in in_conflicts]
    return {
        "examples": len(noisy),
        "intents": len(intents),
        "planted": {k: len(v) for k, v in truth.items()},
        "mode": "as a user imports it (task inferred)" if as_user else "label set declared",
        "inferred": None
        if inferred is None
        else {
            "kind": inferred["output_spec"]["kind"],
            "labels": len(inferred["label_counts"]),
            "reason": inferred["reason"],
        },
        "import_s": import_seconds,
        "cold": {
            "seconds": cold.seconds,
            **cold.timings,
            "cores_busy": cold_cpu / cold.seconds,
            "embedded": cold.embedded,
            "findings": len(cold.findings),
        },
        "incremental": {
            "seconds": incremental.seconds,
            **incremental.timings,
            "cores_busy": incremental_cpu / incremental.seconds,
            "embedded": incremental.embedded,
            "compared": incremental.compared,
        },
        "kinds": {kind: sum(f.kind == kind for f in cold.findings) for kind in sorted({f.kind for f in cold.findings})},
        "exact_conflicts": pair_recall(cold.findings, "contradiction", truth["conflicts"]),
        "contradictions": contradiction_precision(cold.findings, set(truth["swapped"]) | conflict_copies),
        "swapped_labels": ranking_quality(suspect_scores(cold.findings), set(truth["swapped"]), universe),
        "paraphrases": pair_recall(cold.findings, "near-duplicate", truth["paraphrases"]),
    }


def measure_memory(sizes: list[int], seed: int) -> list[dict]:
    """Peak traced memory of building the neighbour graph for n synthetic unit vectors (384 dims)."""
    from studio.models.similarity import NeighbourGraph, search

    results = []
    for n in sizes:
        rng = np.random.default_rng(seed)
        vectors = rng.standard_normal((n, 384)).astype(np.float32)
        vectors[n // 2 : n // 2 + 100] = vectors[:100] + 0.05 * rng.standard_normal((100, 384)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        tracemalloc.start()
        began = time.perf_counter()
        indices, similarities = search(vectors, vectors, 20, np.arange(n))
        pairs = NeighbourGraph(indices, similarities, compared=n, k=10).pairs_at_least(0.92)
        seconds = time.perf_counter() - began
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        results.append(
            {
                "examples": n,
                "seconds": seconds,
                "peak_traced_mb": peak / 2**20,
                "all_pairs_matrix_mb": n * n * 4 / 2**20,
                "near_pairs_found": len(pairs),
                "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    return results


def render(result: dict) -> str:
    c, m = result.get("clinc"), result["machine"]
    lines = [f"machine: {m['cpu_cores']} cores, {m['cpu_model']}, Python {m['python']}"]
    if c:
        lines += [
            f"CLINC150: {c['examples']} examples ({c['intents']} intents), planted {c['planted']}, {c['mode']}"
            + (f"; inferred {c['inferred']['kind']} ({c['inferred']['labels']} labels)" if c.get("inferred") else ""),
            f"cold full run: {c['cold']['seconds']:.1f} s (embed {c['cold']['embed_s']:.1f} s, neighbours "
            f"{c['cold']['neighbours_s']:.1f} s, tokens {c['cold']['tokens_s']:.1f} s, split {c['cold']['split_s']:.1f} s, "
            f"checks {c['cold']['checks_s']:.1f} s), {c['cold']['embedded']} texts embedded, cores busy {c['cold']['cores_busy']:.2f}",
            f"incremental after 10 edits: {c['incremental']['seconds']:.2f} s, {c['incremental']['embedded']} embedded, "
            f"{c['incremental']['compared']} compared again, cores busy {c['incremental']['cores_busy']:.2f}",
            f"findings: {c['kinds']}",
            f"exact-input conflicts: recall {c['exact_conflicts']['recall']:.3f} ({c['exact_conflicts']['found']}/{c['exact_conflicts']['planted']})",
            f"swapped labels (suspect outputs): AP {c['swapped_labels']['average_precision']:.3f}, "
            f"recall@precision0.9 {c['swapped_labels']['recall_at_precision_0_9']:.3f}, "
            f"flagged {c['swapped_labels']['flagged']} ({c['swapped_labels']['flagged_true']} right of {c['swapped_labels']['positives']})",
            f"contradiction findings: {c['contradictions']}",
            f"near-duplicate paraphrases: recall {c['paraphrases']['recall']:.3f}",
        ]
    for row in result.get("memory", []):
        lines.append(
            f"neighbour graph of {row['examples']:,} vectors: {row['seconds']:.1f} s, peak traced "
            f"{row['peak_traced_mb']:.0f} MB (an all-pairs matrix would be {row['all_pairs_matrix_mb']:,.0f} MB)"
        )
    return "\n".join(lines)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clinc", type=Path, help="path to CLINC150's data_full.json (skip the CLINC run without it)")
    parser.add_argument("--swap-share", type=float, default=0.05, help="share of labels swapped to another intent")
    parser.add_argument("--conflicts", type=int, default=100, help="exact-input conflicts to plant")
    parser.add_argument("--paraphrases", type=int, default=100, help="near-duplicate paraphrases to plant")
    parser.add_argument(
        "--memory-sizes",
        default="15000,100000",
        help="comma-separated synthetic sizes for the memory check ('' to skip)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for the planted noise")
    parser.add_argument(
        "--as-user",
        action="store_true",
        help="import as a user would: a chat JSONL into a new project, no label set declared (the import infers it)",
    )
    parser.add_argument("--intents", type=int, default=0, help="use only the first N intents (0: all 150)")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of lines")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    result: dict = {"machine": describe_machine()}
    if args.clinc:
        result["clinc"] = run_clinc(
            args.clinc, args.seed, args.swap_share, args.conflicts, args.paraphrases, args.as_user, args.intents
        )
    sizes = [int(s) for s in args.memory_sizes.split(",") if s.strip()]
    result["memory"] = measure_memory(sizes, args.seed)
    print(json.dumps(result, indent=2) if args.json else render(result))


if __name__ == "__main__":
    main()
