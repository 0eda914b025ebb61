"""Import and export of examples.

- `readers`: reading import files (JSON Lines, JSON arrays, CSV, Parquet, datasets folders) into records.
- `columns`: which column of an import file holds what, and one row turned into an example.
- `imports`: the dry run and the all-or-nothing import into a project.
- `writers`: exporting a project as OpenAI chat JSONL, a datasets folder, Parquet or CSV.
- `production`: reading a sample of real, unlabelled production inputs for the coverage check.
"""
