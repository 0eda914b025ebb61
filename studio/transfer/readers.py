"""Reading import files into records: JSON Lines, JSON arrays, CSV, Parquet and datasets folders.

A record is one row of a file as {column: value}, with where it came from ("line 3" in
JSON Lines, "row 4" elsewhere) so that a bad row can be named. Rows that cannot be read
at all (not JSON, not UTF-8, the wrong number of CSV fields) come back as BadRow; a file
that cannot be read at all raises UnreadableFile. Turning a record into an example is
studio.transfer.columns's job, and deciding what is new is studio.transfer.imports's.

Row numbers: JSON Lines count lines from 1; a CSV counts rows as a spreadsheet shows
them (the header is row 1, the first data row is row 2); Parquet, JSON arrays and
datasets folders count records from 1.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from studio.jsonl import NotJson, load_json

JSON_FORMATS = ("chat", "prompt-completion", "alpaca")
FORMATS = (*JSON_FORMATS, "csv", "parquet", "hf")
CSV_CELL_LIMIT = 64 * 1024 * 1024  # the csv module's default (128 KiB) refuses long answers
_SUFFIXES = {
    ".jsonl": "chat",
    ".ndjson": "chat",
    ".json": "chat",
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".zip": "hf",
}


class UnreadableFile(ValueError):
    """The file as a whole cannot be read (missing, not UTF-8, not the format); the message says why."""


@dataclass(frozen=True)
class BadRow:
    """One row that cannot be imported: where it is and why."""

    where: str = field(default="line", metadata={"help": "'line' (JSON Lines) or 'row' (every other format)"})
    number: int = field(default=0, metadata={"help": "the line or row number, as described in the module docstring"})
    reason: str = field(default="", metadata={"help": "what is wrong with the row, in words an expert can act on"})

    def __str__(self) -> str:
        return f"{self.where} {self.number}: {self.reason}"


@dataclass(frozen=True)
class Record:
    """One readable row of an import file."""

    where: str = field(default="line", metadata={"help": "'line' or 'row', as in BadRow"})
    number: int = field(default=0, metadata={"help": "its line or row number"})
    values: dict = field(default_factory=dict, metadata={"help": "column name -> value, as the file holds it"})


@dataclass(frozen=True)
class SourceFile:
    """An import file read into records, before any project rule is applied."""

    path: Path = field(default=Path("."), metadata={"help": "the file (or datasets folder) that was read"})
    format: str = field(default="chat", metadata={"help": "one of FORMATS: how it was read"})
    records: tuple[Record, ...] = field(default=(), metadata={"help": "the rows that could be read"})
    bad_rows: tuple[BadRow, ...] = field(default=(), metadata={"help": "the rows that could not be read"})
    columns: tuple[str, ...] = field(default=(), metadata={"help": "column names, in file order"})
    splits: tuple[str, ...] = field(default=(), metadata={"help": "a datasets folder's splits (empty otherwise)"})


def detect_format(path: Path) -> str:
    """The format a file's name (or a folder's contents) says it is; JSON shapes are refined on reading."""
    path = Path(path)
    if path.is_dir():
        return "hf"
    try:
        return _SUFFIXES[path.suffix.lower()]
    except KeyError:
        known = ", ".join(sorted(_SUFFIXES))
        raise UnreadableFile(
            f"{path.name}: cannot tell the format from the name (known: {known}); pass a format"
        ) from None


def read_source(path: Path, format: str | None = None, split: str = "train") -> SourceFile:
    """Read an import file into records; `format` None detects it from the name and the columns."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    chosen = format or detect_format(path)
    if chosen not in FORMATS:
        raise UnreadableFile(f"format must be one of {', '.join(FORMATS)}, not {chosen!r}")
    if path.is_dir() and chosen != "hf":
        raise UnreadableFile(f"{path.name} is a folder: only the hf format (a datasets folder) reads folders")
    if chosen in JSON_FORMATS:
        records, bad = _read_json(path)
        columns = _columns_of(records)
        return SourceFile(path, format or _json_shape(columns), tuple(records), tuple(bad), columns)
    if chosen == "csv":
        header, records, bad = _read_csv(path)
        return SourceFile(path, "csv", tuple(records), tuple(bad), header)
    if chosen == "parquet":
        return _as_source(path, "parquet", *_read_parquet(path))
    return _read_datasets(path, split)


def _as_source(path: Path, format: str, columns: tuple[str, ...], rows: list[dict], splits=()) -> SourceFile:
    records = tuple(Record("row", number, row) for number, row in enumerate(rows, start=1))
    return SourceFile(path, format, records, (), columns, tuple(splits))


def _json_shape(columns: tuple[str, ...]) -> str:
    lowered = {c.lower() for c in columns}
    if "messages" in lowered:
        return "chat"
    return "alpaca" if "instruction" in lowered else "prompt-completion"


def _columns_of(records: list[Record]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for record in records:
        seen.update(dict.fromkeys(record.values))
    return tuple(seen)


def _read_json(path: Path) -> tuple[list[Record], list[BadRow]]:
    """A JSON array of objects (Alpaca's own files) or JSON Lines, told apart by the first character."""
    with open(path, "rb") as handle:
        start = handle.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    if not start.startswith(b"["):
        return _read_jsonl(path)
    text = _decode(path)
    try:
        rows = json.loads(text)
    except json.JSONDecodeError as error:
        raise UnreadableFile(f"{path.name}, line {error.lineno}: not valid JSON ({error.msg})") from error
    except (RecursionError, ValueError):
        raise UnreadableFile(f"{path.name}: {_json_reason(text)}") from None
    if not isinstance(rows, list):
        raise UnreadableFile(f"{path.name}: expected a JSON array of objects, got {type(rows).__name__}")
    records, bad = [], []
    for number, row in enumerate(rows, start=1):
        if isinstance(row, dict):
            records.append(Record("row", number, row))
        else:
            bad.append(BadRow("row", number, f"expected a JSON object, got {type(row).__name__}"))
    return records, bad


def _read_jsonl(path: Path) -> tuple[list[Record], list[BadRow]]:
    records, bad = [], []
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8").lstrip("\ufeff")
            except UnicodeDecodeError as error:
                bad.append(
                    BadRow(
                        "line",
                        number,
                        f"not UTF-8 text (byte 0x{raw[error.start]:02x} at column {error.start + 1}); save the file as UTF-8",
                    )
                )
                continue
            if not line.strip():
                continue
            try:
                row = load_json(line)
            except NotJson as error:
                bad.append(BadRow("line", number, str(error)))
                continue
            if isinstance(row, dict):
                records.append(Record("line", number, row))
            else:
                bad.append(BadRow("line", number, f"expected a JSON object, got {type(row).__name__}"))
    return records, bad


def _json_reason(text: str) -> str:
    """Why a JSON array cannot be read when the reason is not its syntax: the line of the first row at fault."""
    decoder, offset = json.JSONDecoder(), text.index("[") + 1
    while True:
        offset = len(text) - len(text[offset:].lstrip(" \t\r\n,"))
        try:
            _, offset = decoder.raw_decode(text, offset)
        except (RecursionError, ValueError) as error:
            reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
            return f"line {text.count(chr(10), 0, offset) + 1}: not readable as JSON ({reason})"


def _decode(path: Path) -> str:
    """The whole file as text; a byte that is not UTF-8 is named by its line."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise UnreadableFile(
            f"{path.name}: line {line} is not UTF-8 text (byte 0x{data[error.start]:02x}); "
            "save the file as UTF-8 and import it again"
        ) from error


def _read_csv(path: Path) -> tuple[tuple[str, ...], list[Record], list[BadRow]]:
    """CSV through the standard csv module (quoting, newlines inside quoted cells), keeping row numbers."""
    text = _decode(path)
    csv.field_size_limit(max(csv.field_size_limit(), CSV_CELL_LIMIT))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(path, text))
    try:
        header = tuple(name.strip() for name in next(reader, []))
        if not header:
            raise UnreadableFile(f"{path.name} is empty: a CSV needs a header row naming its columns")
        _check_header(path, header)
        records, bad = [], []
        for number, fields in enumerate(reader, start=2):
            if not any(cell.strip() for cell in fields):
                continue
            if len(fields) != len(header):
                bad.append(
                    BadRow("row", number, f"{len(fields)} fields, but the header has {len(header)}; check the quoting")
                )
                continue
            records.append(Record("row", number, dict(zip(header, fields))))
    except csv.Error as error:
        raise UnreadableFile(f"{path.name}, line {reader.line_num}: not readable as CSV ({error})") from error
    return header, records, bad


def _delimiter(path: Path, text: str) -> str:
    """Tab for .tsv; otherwise whichever of , ; and tab the header line uses most."""
    if path.suffix.lower() == ".tsv":
        return "\t"
    header = text.split("\n", 1)[0]
    return max([",", ";", "\t"], key=header.count)


def _check_header(path: Path, header: tuple[str, ...]) -> None:
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated or "" in header:
        reason = f"repeats {', '.join(map(repr, repeated))}" if repeated else "has an empty column name"
        raise UnreadableFile(f"{path.name}: the header row {reason}; every column needs its own name")


def _read_parquet(path: Path) -> tuple[tuple[str, ...], list[dict]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
        return tuple(table.column_names), table.to_pylist()
    except (pa.ArrowException, OSError, ValueError, OverflowError) as error:
        raise UnreadableFile(f"{path.name} is not a readable Parquet file ({error})") from error


def _read_datasets(path: Path, split: str) -> SourceFile:
    """A `datasets` folder saved with save_to_disk, or a zip of one; a DatasetDict gives one split."""
    if path.is_file():
        with tempfile.TemporaryDirectory() as folder:
            return _unzipped(path, Path(folder), split)
    import datasets
    import pyarrow as pa

    try:
        loaded = datasets.load_from_disk(str(path))
        splits = tuple(loaded) if isinstance(loaded, datasets.DatasetDict) else ()
        if splits and split not in splits:
            raise UnreadableFile(f"{path.name} has no split {split!r} (splits: {', '.join(splits)})")
        dataset = loaded[split] if splits else loaded
        return _as_source(path, "hf", tuple(dataset.column_names), dataset.to_list(), splits)
    except UnreadableFile:
        raise
    # A damaged folder fails in many ways inside datasets and pyarrow; each means the same to the user.
    except (OSError, ValueError, LookupError, TypeError, AttributeError, pa.ArrowException) as error:
        raise UnreadableFile(
            f"{path.name} is not a Hugging Face datasets folder saved with save_to_disk, or is damaged ({error})"
        ) from error


def _unzipped(path: Path, folder: Path, split: str) -> SourceFile:
    source = _read_datasets(_unzip(path, folder), split)
    return SourceFile(path, source.format, source.records, source.bad_rows, source.columns, source.splits)


def _unzip(path: Path, folder: Path) -> Path:
    """Extract a zip and return the datasets folder inside it (the top one holding its metadata)."""
    try:
        with zipfile.ZipFile(path) as archive:
            archive.extractall(folder)
    except zipfile.BadZipFile as error:
        raise UnreadableFile(f"{path.name} is not a zip file ({error})") from error
    markers = sorted(folder.rglob("dataset_dict.json")) + sorted(folder.rglob("state.json"))
    if not markers:
        raise UnreadableFile(f"{path.name} holds no Hugging Face datasets folder (no dataset_dict.json or state.json)")
    return min((m.parent for m in markers), key=lambda p: len(p.parts))


def store_upload(name: str, data: bytes, folder: Path) -> Path:
    """Keep an uploaded file under `folder`, named by its content, so reruns reuse it."""
    digest = hashlib.sha256(data).hexdigest()[:16]
    target = Path(folder) / digest / Path(name).name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return target
