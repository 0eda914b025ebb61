"""What retrieval-augmented fine-tuning costs in prompt tokens, measured without training.

    .venv/bin/python bench/retrieval_tokens.py --clinc ../shared/datasets/clinc150/data_full.json [--k 3] [--json]

Takes bench/outcome.py's CLINC150 banking pick (10 intents x 40, seeded), splits it as a run
does, and renders the training split as the trainer would, without and with k retrieved
examples per prompt (studio.training.preflight.rows_as_trained and length_profile, the
pre-flight's own count): tokens per example, the longest sequence, and the answer tokens that
carry the loss (unchanged: the retrieved examples are context only). On CPU a step's time
grows about with its tokens at these lengths, so the token ratio is the training-time ratio to
expect; bench/outcome.py --retrieved K measures it end to end.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import describe_machine  # noqa: E402
from outcome import clinc_rows  # noqa: E402


def measure(path: Path, k: int, seed: int) -> dict:
    from studio.dataset.splits import split_examples
    from studio.models.loading import ensure_default_model, load_tokenizer
    from studio.project.formats import parse_output_spec
    from studio.training.preflight import length_profile, rows_as_trained
    from studio.training.trainer import TrainConfig

    labels, rows = clinc_rows(path, seed)
    rows = [{"id": i, **row} for i, row in enumerate(rows, start=1)]
    train, _ = split_examples(rows, parse_output_spec({"kind": "labels", "labels": labels}), seed)
    tokenizer = load_tokenizer(str(ensure_default_model()))
    figures = {}
    for retrieved in (0, k):
        began = time.perf_counter()
        trained = rows_as_trained(train, TrainConfig(retrieved_examples=retrieved))
        seconds = time.perf_counter() - began
        profile = length_profile(tokenizer, "", trained, 0)
        figures[f"k={retrieved}"] = {
            "examples": len(trained),
            "tokens": profile["tokens"],
            "tokens_per_example": round(profile["tokens"] / len(trained), 1),
            "longest": max(profile["lengths"]),
            "answer_tokens": profile["trained_tokens"],
            "retrieval_s": round(seconds, 2),
        }
    figures["token_ratio"] = round(figures[f"k={k}"]["tokens"] / figures["k=0"]["tokens"], 2)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clinc", type=Path, required=True, help="CLINC150's data_full.json (domains.json beside it)")
    parser.add_argument("--k", type=int, default=3, help="retrieved examples per prompt (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the intent pick, the sample and the split")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    result = {"machine": describe_machine(), **measure(args.clinc, args.k, args.seed)}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for name, row in result.items():
            if name.startswith("k="):
                print(
                    f"{name}: {row['tokens_per_example']} tokens per example (longest {row['longest']}), "
                    f"{row['answer_tokens']} answer tokens, retrieval {row['retrieval_s']} s"
                )
        print(f"tokens with retrieval / without: {result['token_ratio']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
