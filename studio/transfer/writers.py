"""Exporting a project's examples: OpenAI chat JSONL, a Hugging Face datasets folder, Parquet, CSV.

Every format carries each example's id (its external id, or the studio's id when it has
none), its messages, tags and status, so importing an export gives back the same
examples. The project's task description is written as the system message of every
example that has none of its own, so the file trains the same task elsewhere. JSONL rows are {"id", "messages", "tags", "status"}; Parquet and the datasets
folder hold the same columns with `messages` as a list of {role, content} (the layout
TRL's SFTTrainer reads); a CSV is for spreadsheets: `system`, `input` and `output`
columns, plus `messages` as JSON text only for a conversation those three would not give
back exactly (several turns, say).

Every writer writes `<path>.partial` beside the target and renames it over the target
only when complete, so a failed export (a full disk, say) leaves no half file: the
partial is removed and ExportFailed names the path and the reason.
"""

from __future__ import annotations

import errno
import io
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from studio.dataset.messages import answer_text, last_user_text
from studio.dataset.search import ExampleFilter, PageRequest, find_examples, tag_progress
from studio.jsonl import write_jsonl
from studio.project.projects import Project
from studio.transfer.columns import BadValue, ColumnMapping, row_to_example, tags_as_text

EXPORT_FORMATS = ("jsonl", "hf", "parquet", "csv")
_SUFFIXES = {".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet", ".csv": "csv", "": "hf"}
CSV_COLUMNS = ["id", "system", "input", "output", "messages", "tags", "status"]
CSV_MAPPING = ColumnMapping(**{column: column for column in CSV_COLUMNS})
_MIME = {
    "jsonl": "application/jsonl",
    "parquet": "application/vnd.apache.parquet",
    "csv": "text/csv",
    "hf": "application/zip",
}


class ExportFailed(RuntimeError):
    """The export could not be written (disk full, no permission); nothing was left at the path."""


def export_format_of(path: Path) -> str:
    """The format a path's suffix asks for: .jsonl, .parquet, .csv, or a folder (no suffix) for hf."""
    suffix = Path(path).suffix.lower()
    if suffix not in _SUFFIXES:
        raise ValueError(
            f"cannot tell the export format from {Path(path).name!r}; pass one of {', '.join(EXPORT_FORMATS)}"
        )
    return _SUFFIXES[suffix]


def select_examples(db: Path, project: Project, status: str | None = "approved", tag: str | None = None) -> list[dict]:
    """The examples an export holds: one status (None: all) and, optionally, one tag, oldest first."""
    chosen = ExampleFilter(status=status, tag=tag)
    return find_examples(db, project, chosen, PageRequest(page_size=count_selected(db, project, status, tag) or 1)).rows


def count_selected(db: Path, project: Project, status: str | None = "approved", tag: str | None = None) -> int:
    """How many examples an export would hold (counted in SQL, without reading them)."""
    return find_examples(db, project, ExampleFilter(status=status, tag=tag), PageRequest(page_size=1)).total


def export_examples(
    db: Path,
    project: Project,
    path: Path,
    format: str | None = None,
    status: str | None = "approved",
    tag: str | None = None,
) -> int:
    """Write the selected examples to `path` in `format` (None: from the suffix); return how many."""
    format = format or export_format_of(path)
    rows = [_export_row(e, project.description) for e in select_examples(db, project, status, tag)]
    _write_or_clean_up(WRITERS[format], Path(path), rows)
    return len(rows)


def _write_or_clean_up(writer, path: Path, rows: list[dict]) -> None:
    """Run a writer; when the system refuses (ENOSPC and the like) remove its partial output and say why."""
    try:
        writer(path, rows)
    except OSError as error:
        partial = path.with_name(path.name + ".partial")
        if partial.is_dir() and not partial.is_symlink():
            shutil.rmtree(partial, ignore_errors=True)
        else:
            partial.unlink(missing_ok=True)
        full = error.errno == errno.ENOSPC or "No space left" in str(error)
        reason = "disk full (no space left on the device)" if full else (error.strerror or str(error))
        raise ExportFailed(
            f"could not write the export to {path}: {reason}; no partial file was left and "
            "the studio's data is unchanged"
        ) from error


def download_name(project: Project, format: str, status: str | None = "approved", tag: str | None = None) -> str:
    """The file name a browser download of this export gets (a datasets folder comes as a .zip)."""
    stem = (
        re.sub(r"[^\w.-]+", "-", "-".join(filter(None, (project.name, status or "all", tag)))).strip("-.") or "export"
    )
    return f"{stem}.zip" if format == "hf" else f"{stem}.{format}"


def download_mime(format: str) -> str:
    return _MIME[format]


def export_bytes(
    db: Path, project: Project, format: str, status: str | None = "approved", tag: str | None = None
) -> bytes:
    """The export as one file's bytes, for a browser download; a datasets folder comes zipped."""
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / Path(download_name(project, format, status, tag)).stem
        export_examples(db, project, target, format, status, tag)
        if format == "hf":
            return Path(shutil.make_archive(str(target), "zip", root_dir=folder, base_dir=target.name)).read_bytes()
        return target.read_bytes()


def project_tags(db: Path, project: Project) -> list[str]:
    """Every tag the project's examples carry, sorted (the export's tag filter offers them)."""
    return [row["tag"] for row in tag_progress(db, project) if row["examples"]]


def _export_row(example: dict, description: str = "") -> dict:
    """One exported example; the project's description becomes its system message when it has none,
    so the file trains the same task elsewhere (an import into a project with that description drops it again)."""
    messages = [{"role": m["role"], "content": m["content"]} for m in example["messages"]]
    if description.strip() and not any(m["role"] == "system" for m in messages):
        messages = [{"role": "system", "content": description}, *messages]
    return {
        "id": example["external_id"] or str(example["id"]),
        "messages": messages,
        "tags": list(example["tags"]),
        "status": example["status"],
    }


def _arrow_table(rows: list[dict]):
    import pyarrow as pa

    message = pa.struct([("role", pa.string()), ("content", pa.string())])
    schema = pa.schema(
        [("id", pa.string()), ("messages", pa.list_(message)), ("tags", pa.list_(pa.string())), ("status", pa.string())]
    )
    return pa.Table.from_pylist(rows, schema=schema)


def _write_parquet(path: Path, rows: list[dict]) -> None:
    import pyarrow.parquet as pq

    partial = path.with_name(path.name + ".partial")
    pq.write_table(_arrow_table(rows), partial)
    os.replace(partial, path)


def _write_datasets(path: Path, rows: list[dict]) -> None:
    """save_to_disk into a fresh folder, replacing an earlier export but nothing else."""
    import datasets

    if path.exists() and not (path / "state.json").exists():
        raise ValueError(f"{path} exists and is not a datasets folder; choose a new path for the export")
    partial = path.with_name(path.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    datasets.Dataset(datasets.table.InMemoryTable(_arrow_table(rows))).save_to_disk(str(partial))
    shutil.rmtree(path, ignore_errors=True)
    os.replace(partial, path)


def _write_csv(path: Path, rows: list[dict]) -> None:
    import pandas as pd

    frame = pd.DataFrame([_flat_row(row) for row in rows], columns=CSV_COLUMNS)
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\r\n")  # RFC 4180: a cell holding \r gets quoted too
    partial = path.with_name(path.name + ".partial")
    partial.write_text(buffer.getvalue(), encoding="utf-8")
    os.replace(partial, path)


def _flat_row(row: dict) -> dict:
    """One CSV row; `messages` is filled only when system, input and output would not give it back."""
    messages = row["messages"]
    system = messages[0]["content"] if messages and messages[0]["role"] == "system" else ""
    flat = {"id": row["id"], "system": system, "input": last_user_text(messages), "output": answer_text(messages)}
    try:
        exact = row_to_example(flat, CSV_MAPPING)["messages"] == messages
    except BadValue:
        exact = False
    return {
        **flat,
        "messages": "" if exact else json.dumps(messages, ensure_ascii=False),
        "tags": tags_as_text(row["tags"]),
        "status": row["status"],
    }


WRITERS = {"jsonl": write_jsonl, "hf": _write_datasets, "parquet": _write_parquet, "csv": _write_csv}
