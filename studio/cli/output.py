"""What every command prints: one JSON document with --json, or text for people."""

from __future__ import annotations

import json


def emit(args, document, text: str) -> None:
    print(json.dumps(document, indent=2, default=str) if args.json else text)
