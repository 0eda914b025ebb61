"""Is the held-out split stratified in practice? Per-label held-out counts on real text.

    .venv/bin/python bench/split_balance.py --clinc ../shared/datasets/clinc150/data_full.json [--domain banking]
        [--intents 8] [--per-intent 30] [--seeds 5] [--json]

A seeded pick of INTENTS intents of one CLINC150 domain, PER_INTENT training utterances
each, split with studio.dataset.splits.split_examples under seeds 0..SEEDS-1 (the
near-duplicate pairs found once, as the split finds them). Reports each seed's held-out
count per label against the expected share, the largest deviation, the near-duplicate
groups (how many, the largest, how many the cap cut) and how many near-duplicate pairs
straddle the line (what the leakage check would name).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from studio.dataset.messages import answer_text, single_turn  # noqa: E402
from studio.dataset.splits import (  # noqa: E402
    EVAL_FRACTION,
    _near_duplicate_ids,
    near_duplicate_groups,
    split_examples,
)
from studio.project.formats import parse_output_spec  # noqa: E402


def clinc_examples(path: Path, domain: str, intents: int, per_intent: int) -> tuple[list[str], list[dict]]:
    labels = sorted(
        random.Random(0).sample(sorted(json.loads((path.parent / "domains.json").read_text())[domain]), intents)
    )
    train = json.loads(path.read_text())["train"]
    examples = []
    for label in labels:
        for text in [t for t, k in train if k == label][:per_intent]:
            examples.append({"id": len(examples) + 1, "messages": single_turn(text, label)})
    return labels, examples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clinc", type=Path, required=True, help="CLINC150's data_full.json (domains.json beside it)")
    parser.add_argument("--domain", default="banking")
    parser.add_argument("--intents", type=int, default=8)
    parser.add_argument("--per-intent", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    labels, examples = clinc_examples(args.clinc, args.domain, args.intents, args.per_intent)
    spec = parse_output_spec({"kind": "labels", "labels": labels})
    pairs = _near_duplicate_ids(examples)
    groups = near_duplicate_groups(examples, pairs)
    expected = EVAL_FRACTION * args.per_intent
    seeds = []
    for seed in range(args.seeds):
        _, held_out = split_examples(examples, spec, seed, near_duplicates=pairs)
        counts = Counter(answer_text(e["messages"]) for e in held_out)
        held = {e["id"] for e in held_out}
        seeds.append(
            {
                "seed": seed,
                "held_out_per_label": [counts[label] for label in labels],
                "max_deviation": max(abs(counts[label] - expected) for label in labels),
                "straddling_pairs": sum((a in held) != (b in held) for a, b, _ in pairs),
            }
        )
    result = {
        "domain": args.domain,
        "labels": labels,
        "near_duplicate_pairs": len(pairs),
        "groups": len(groups),
        "largest_group": max(len(g.members) for g in groups),
        "groups_cut_by_the_cap": sum(1 for g in groups if g.outside),
        "seeds": seeds,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"{len(pairs)} near-duplicate pairs; {len(groups)} groups, largest {result['largest_group']}, "
            f"{result['groups_cut_by_the_cap']} cut by the cap"
        )
        for s in seeds:
            print(
                f"seed {s['seed']}: held out per label {s['held_out_per_label']} (expected {expected:g}); "
                f"{s['straddling_pairs']} pairs straddle the line"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
