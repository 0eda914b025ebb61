"""Decoding constrained to a JSON schema, through lm-format-enforcer.

A JSON project's answers are generated greedily, but at each step only the tokens that
keep the answer a valid prefix of a JSON object under the project's schema may be chosen
(lm-format-enforcer's JsonSchemaParser walks the schema character by character). Every
model answers this way, so a JSON leaderboard compares models on content, not on who
closes their braces.

The recorded log-probabilities are taken after the mask, so the braces, keys and quotes
the schema forces come out at probability 1 and the uncertainty sits in the values. An
answer's confidence (`decision_confidence`) is the joint probability of its decisions:
the values of the fields with a fixed set of values (an enum or a boolean), each the
product of the probabilities of the tokens that spell it. A geometric mean over every
token would dilute three uncertain choices among twenty forced tokens (on the demo,
0.71 x 0.44 x 0.64 = 0.20 would read 0.92).

lm-format-enforcer's transformers integration module does not import under transformers
5 (it imports a module transformers 5 moved), so the tokenizer table it needs is built
here with the same rule, and the mask is a plain logits processor.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import weakref

_TABLES: dict[str, object] = {}  # tokenizer fingerprint -> its table; a handful of base models at most
_FINGERPRINTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # tokenizer object -> its fingerprint


def _tokenizer_data(tokenizer):
    """The vocabulary's table, built once per distinct tokenizer in this process: a run answers with the
    base model's tokenizer and the adapter's saved copy, two objects with one vocabulary."""
    key = _FINGERPRINTS.get(tokenizer)
    if key is None:
        key = _FINGERPRINTS[tokenizer] = _fingerprint(tokenizer)  # tens of ms: once per object
    if key not in _TABLES:
        if len(_TABLES) >= 4:
            _TABLES.pop(next(iter(_TABLES)))
        _TABLES[key] = _build_table(tokenizer)
    return _TABLES[key]


def _fingerprint(tokenizer) -> str:
    """A hash of the whole tokenizer (vocabulary, merges, decoder): equal for two loads of the same files."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    text = backend.to_str() if backend is not None else repr(sorted(tokenizer.get_vocab().items()))
    return hashlib.sha256(f"{text}|{tokenizer.eos_token_id}|{len(tokenizer)}".encode()).hexdigest()


def _build_table(tokenizer):
    """lm-format-enforcer's table of the vocabulary: (id, text, starts a word) for each regular token."""
    from lmformatenforcer import TokenEnforcerTokenizerData

    zero = tokenizer.encode("0", add_special_tokens=False)[-1]
    special = set(tokenizer.all_special_ids)
    regular = []
    for index in range(len(tokenizer)):
        if index in special:
            continue
        # Decoding after a "0" keeps a leading space that decoding the token alone drops.
        after_zero = tokenizer.decode([zero, index])[1:]
        regular.append((index, after_zero, len(after_zero) > len(tokenizer.decode([index]))))
    return TokenEnforcerTokenizerData(
        regular, lambda ids: tokenizer.decode(ids).rstrip("\ufffd"), tokenizer.eos_token_id, False, len(tokenizer)
    )


def json_schema_processor(tokenizer, schema: dict, rows: int):
    """A logits processor that keeps each of `rows` answers a valid prefix of JSON under `schema`; None if the schema is unsupported."""
    import torch
    from lmformatenforcer import JsonSchemaParser, TokenEnforcer
    from transformers import LogitsProcessor

    try:
        enforcers = [TokenEnforcer(_tokenizer_data(tokenizer), JsonSchemaParser(schema)) for _ in range(rows)]
    except Exception:  # noqa: BLE001 - a schema the parser cannot follow: generate freely, validate after
        return None
    eos = tokenizer.eos_token_id

    class JsonSchemaMask(LogitsProcessor):
        def __init__(self) -> None:
            self.prompt_length: int | None = None

        def __call__(self, input_ids, scores):
            if self.prompt_length is None:
                self.prompt_length = input_ids.shape[1]
            mask = torch.full_like(scores, float("-inf"))
            for row, ids in enumerate(input_ids.tolist()):
                if eos in ids[self.prompt_length :]:  # finished: generate pads it, nothing to constrain
                    mask[row] = 0
                    continue
                allowed = enforcers[row].get_allowed_tokens(ids).allowed_tokens
                mask[row, allowed or [eos]] = 0
            return scores + mask

    return JsonSchemaMask()


# A JSON value as the schema mask lets it be spelt: a string, a boolean, null or a number.
_VALUE = r'("(?:[^"\\]|\\.)*"|true|false|null|-?\d[\d.eE+-]*)'


def schema_of(output_spec: dict | None) -> dict | None:
    """The JSON schema answers are decoded under: a JSON project's schema, else None (labels and free text)."""
    spec = output_spec or {}
    return spec.get("schema") if spec.get("kind") == "json" else None


def decision_fields(schema: dict) -> list[str]:
    """The top-level properties whose value is a choice from a fixed set: an enum, or a boolean."""
    properties = schema.get("properties", {}) if isinstance(schema, dict) else {}
    return [
        name
        for name, prop in properties.items()
        if isinstance(prop, dict) and ("enum" in prop or prop.get("type") == "boolean")
    ]


def decision_confidence(tokenizer, tokens: list[int], log_probs: list[float], schema: dict) -> float | None:
    """The joint probability of a JSON answer's decisions (spelt_decisions), from the token ids a model chose
    and their log-probabilities, through the first end-of-sequence token."""
    if not decision_fields(schema):
        return None  # nothing to decode token by token
    kept = tokens.index(tokenizer.eos_token_id) if tokenizer.eos_token_id in tokens else len(tokens)
    ends = [len(tokenizer.decode(tokens[: i + 1])) for i in range(kept)]
    return spelt_decisions(tokenizer.decode(tokens[:kept]), ends, log_probs[:kept], schema)


def spelt_decisions(text: str, ends: list[int], log_probs: list[float], schema: dict) -> float | None:
    """For each decision field (decision_fields) that `text` spells, the product of the probabilities of the
    tokens that overlap its value, multiplied together. Token i of the answer ends at character `ends[i]` of
    `text`. None when it spells none (a schema of free-text fields only, or an answer cut short), so the caller
    keeps its own measure."""
    fields = decision_fields(schema)
    total, found = 0.0, False
    for name in fields:
        match = re.search(re.escape(json.dumps(name)) + r"\s*:\s*" + _VALUE, text)
        if match is None:
            continue
        found = True
        start, end = match.span(1)
        total += sum(lp for i, lp in enumerate(log_probs) if (ends[i - 1] if i else 0) < end and ends[i] > start)
    return math.exp(total) if found else None
