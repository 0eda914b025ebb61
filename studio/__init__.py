"""Fine-Tuning Studio: the domain layer, one subpackage per concern.

- `project`: projects, their task (description, output format, guidelines), people and sign-in, backups.
- `dataset`: the examples an expert writes, their revisions, review, bulk actions, search, splits, snapshots.
- `transfer`: import (readers, column mapping, the all-or-nothing import) and export (writers).
- `checks`: the consistency checks (one module per family), their runner, findings, adjudication, coverage.
- `training`: presets, pre-flight, the launch and its queue, the worker, the trainer and its callbacks,
  the manifest and the model card.
- `evaluation`: answering the held-out set, metrics, significance, slices, routing, the verdict, the
  round trip, the dashboard and its report.
- `models`: loading base models, generation and constrained decoding, prompts, embeddings, similarity.
- `serving`: exporting a finished run and serving it over HTTP.
- `cli`: the `studio` command.

`paths` (where the data lives), `jsonl` (JSON Lines files) and `demo` (the demo project) are shared basics.
Nothing in this package imports streamlit: the web app's own helpers live in app/. Each subpackage's
`__init__` only documents it and imports nothing, so importing one module never loads another concern.
"""
