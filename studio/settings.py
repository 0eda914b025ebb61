"""A setting of a typed config: its default, what it does, and the words a form shows for it.

Every config dataclass the user can tune (training, checks, routing, column mappings) declares
its fields with `setting`, so a page or the CLI reads the help and label from one place:
`dataclasses.fields(Config)[i].metadata["help"]` and `["label"]`.
"""

from __future__ import annotations

from dataclasses import field


def setting(help_text: str, default, label: str = ""):
    """A dataclass field with `default`, and `help_text` and `label` (empty: the field's own name) as metadata."""
    return field(default=default, metadata={"help": help_text, "label": label})
