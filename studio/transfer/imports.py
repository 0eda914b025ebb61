"""Importing examples into a project: the dry run, and the all-or-nothing import.

Any format studio.transfer.readers reads (OpenAI chat JSONL, prompt/completion JSONL, Alpaca,
CSV, Parquet, a Hugging Face datasets folder) goes through the same steps: read the
rows, map each to an example (studio.transfer.columns), check it against the project's rules,
and set aside the rows the project already has, matched on external id, or on the
messages where a row has none. `plan_import` stops there and says what would happen;
`import_file` refuses the whole file when any row is bad (every bad row named with its
line or row number and reason) and otherwise writes the new rows in one transaction,
so importing a file twice creates nothing new. Exporting is studio.transfer.writers' job.

A row whose leading system message is the project's task description is stored without
it (the description is what the model sees for every example that has none, and an
export writes it back), so importing an export gives back the same examples.
`import_inferring` is the import a user runs: into a new project (or one whose format is
still free text) it first applies the task that studio.project.task_inference proposes;
`import_proposed` creates or changes the project and imports in one transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from storage import examples as example_table
from storage.db import connect
from studio.dataset.examples import REVIEWED, STATUSES, InvalidExample, acting_person, check_example, check_split
from studio.dataset.messages import answer_text
from studio.paths import DEFAULT_MODEL_NAME, data_home
from studio.project.confinement import confine, import_roots
from studio.project.formats import parse_output_spec, validate_output
from studio.project.people import authorize
from studio.project.projects import (
    Project,
    ProjectNotFound,
    change_project_settings,
    create_project_in,
    get_project,
)
from studio.project.task_inference import TaskProposal, propose_task
from studio.transfer.columns import BadValue, ColumnMapping, check_mapping, guess_mapping, parse_mapping, row_to_example
from studio.transfer.readers import BadRow, SourceFile, read_source, store_upload

FROM_FILE = "from-file"  # import status that keeps each row's own status
SAMPLE_SIZE = 10


class ImportRefused(ValueError):
    """The file has bad rows; `problems` lists each as 'line N: reason', `bad_rows` as BadRow."""

    def __init__(self, path: Path, bad_rows: list[BadRow]):
        self.bad_rows = bad_rows
        self.problems = [str(row) for row in bad_rows]
        shown = "\n".join(self.problems[:20])
        more = f"\n... and {len(bad_rows) - 20} more" if len(bad_rows) > 20 else ""
        super().__init__(f"{Path(path).name}: nothing was imported, {len(bad_rows)} bad row(s):\n{shown}{more}")


@dataclass(frozen=True)
class ImportOptions:
    """How to read an import file and what status its examples get."""

    format: str | None = field(
        default=None,
        metadata={"help": "one of studio.transfer.readers.FORMATS; None detects it from the name and columns"},
    )
    mapping: ColumnMapping | None = field(
        default=None, metadata={"help": "which column holds what; None guesses it from the column names"}
    )
    remap: str = field(default="", metadata={"help": "'part=column,...' applied over the mapping (the CLI's --map)"})
    split: str = field(default="train", metadata={"help": "the split to take from a datasets folder holding several"})
    status: str | None = field(
        default=None, metadata={"help": "status of the new examples: None for draft, a status, or 'from-file'"}
    )
    into: str = field(
        default="train",
        metadata={"help": "the new examples' split: 'train', or 'test' for the project's test set (never trained on)"},
    )


@dataclass(frozen=True)
class ImportPlan:
    """What importing a file would do (the dry run), without writing anything."""

    source: SourceFile = field(default_factory=SourceFile, metadata={"help": "the file as read"})
    mapping: ColumnMapping = field(default_factory=ColumnMapping, metadata={"help": "the mapping used"})
    new: tuple[dict, ...] = field(default=(), metadata={"help": "the examples that would be created, in file order"})
    skipped: int = field(default=0, metadata={"help": "rows the project (or an earlier row of the file) already has"})
    bad_rows: tuple[BadRow, ...] = field(
        default=(), metadata={"help": "every row that cannot be imported, in file order"}
    )

    def summary(self) -> dict:
        """The plan as a JSON-ready document (what `studio import --dry-run --json` prints)."""
        return {
            "file": str(self.source.path),
            "format": self.source.format,
            "mapping": self.mapping.to_dict(),
            "rows": len(self.new) + self.skipped + len(self.bad_rows),
            "new": len(self.new),
            "skipped": self.skipped,
            "bad": len(self.bad_rows),
            "bad_rows": [{"where": b.where, "number": b.number, "reason": b.reason} for b in self.bad_rows],
            "sample": [
                {k: e[k] for k in ("external_id", "messages", "tags", "status", "split")}
                for e in self.new[:SAMPLE_SIZE]
            ],
        }


def plan_import(db: Path, project: Project, path: Path, options: ImportOptions = ImportOptions()) -> ImportPlan:
    """The dry run: read and check every row and say what an import would create. Writes nothing."""
    return plan_source(db, project, read_source(Path(path), options.format, options.split), options)


def plan_source(db: Path, project: Project, source: SourceFile, options: ImportOptions = ImportOptions()) -> ImportPlan:
    """The dry run of a file already read (the page reads it once to offer its columns)."""
    with connect(db) as con:
        return _plan(project, source, options, example_table.fetch_examples(con, project.id))


def check_source(project: Project, source: SourceFile, options: ImportOptions = ImportOptions()) -> ImportPlan:
    """The dry run of a file already read, as if the project had no examples yet: no database needed."""
    return _plan(project, source, options, [])


def import_file(db: Path, project: Project, path: Path, author: str, options: ImportOptions = ImportOptions()) -> dict:
    """Import a file all-or-nothing; return {imported, skipped}, or raise ImportRefused naming every bad row."""
    source = read_source(Path(path), options.format, options.split)
    with connect(db) as con:
        return import_source(con, project, source, author, options)


def import_source(con, project: Project, source: SourceFile, author: str, options: ImportOptions) -> dict:
    """`import_file` of a file already read, inside the caller's unit of work (`con`)."""
    plan = _plan(project, source, options, example_table.fetch_examples(con, project.id))
    if plan.bad_rows:
        raise ImportRefused(source.path, list(plan.bad_rows))
    decided = any(row.get("status") in REVIEWED for row in plan.new)
    authorize(acting_person(con, author), "review" if decided else "write")
    example_table.insert_examples(con, project.id, list(plan.new), author)
    return {"imported": len(plan.new), "skipped": plan.skipped}


def import_jsonl(db: Path, project: Project, path: Path, author: str, status: str | None = None) -> dict:
    """Import an OpenAI chat or prompt/completion JSONL file (the demo's loader and older callers)."""
    return import_file(db, project, path, author, ImportOptions(status=status))


def app_import_path(typed: str) -> Path:
    """A path typed into the app, resolved, if it lies in an allowed folder (studio.project.confinement); else OutsideAllowedFolders."""
    return confine(typed, import_roots())


def stage_upload(name: str, data: bytes) -> Path:
    """Keep a browser upload in the data home's cache, under its original name, for the importers."""
    return store_upload(name, data, data_home() / "cache" / "uploads")


def project_or_blank(db: Path, name: str) -> Project:
    """The project called `name`, or the free-text project an import would create (for a dry run)."""
    try:
        return get_project(db, name)
    except ProjectNotFound:
        return Project(
            id=-1,
            name=name,
            description="",
            output_spec=parse_output_spec(None),
            base_model=DEFAULT_MODEL_NAME,
            split_seed=13,
        )


def _plan(project: Project, source: SourceFile, options: ImportOptions, existing: list[dict]) -> ImportPlan:
    if options.status not in (None, FROM_FILE, *STATUSES):
        raise ValueError(f"status must be one of {', '.join(STATUSES)} or {FROM_FILE}, not {options.status!r}")
    check_split(options.into)
    mapping = parse_mapping(options.remap, options.mapping or guess_mapping(source.columns), source.columns)
    if source.records:
        check_mapping(mapping, source.columns)
    known_ids = {e["external_id"] for e in existing if e["external_id"]}
    known_messages = {_content_key(e["messages"]) for e in existing}
    first_line_of_id: dict[str, str] = {}
    new, skipped, bad = [], 0, list(source.bad_rows)
    for record in source.records:
        try:
            example = _checked_example(project, record.values, mapping, options.status)
        except (BadValue, InvalidExample) as error:
            bad.append(BadRow(record.where, record.number, str(error)))
            continue
        external = example["external_id"]
        if external and external in first_line_of_id:
            bad.append(BadRow(record.where, record.number, f"id {external!r} is also on {first_line_of_id[external]}"))
            continue
        if external:
            first_line_of_id[external] = f"{record.where} {record.number}"
        if _is_known(example, known_ids, known_messages):
            skipped += 1
            continue
        known_messages.add(_content_key(example["messages"]))
        new.append(example | {"split": options.into})
    bad.sort(key=lambda row: row.number)
    return ImportPlan(source, mapping, tuple(new), skipped, tuple(bad))


def _checked_example(project: Project, values: dict, mapping: ColumnMapping, status: str | None) -> dict:
    example = row_to_example(values, mapping)
    example["messages"] = without_description(project.description, example["messages"])
    example["status"] = (example["status"] if status == FROM_FILE else status) or "draft"
    example["source"] = "import"
    check_example(project, example["messages"], example["status"])
    return example


def _is_known(example: dict, known_ids: set[str], known_messages: set[str]) -> bool:
    if example["external_id"]:
        return example["external_id"] in known_ids
    return _content_key(example["messages"]) in known_messages


def _content_key(messages: list[dict]) -> str:
    return json.dumps(messages, sort_keys=True)


def without_description(description: str, messages: list[dict]) -> list[dict]:
    """The messages without a leading system message that only repeats the project's description."""
    if (
        description.strip()
        and messages
        and messages[0]["role"] == "system"
        and messages[0]["content"].strip() == description.strip()
    ):
        return messages[1:]
    return messages


def infers_task(project: Project) -> bool:
    """Whether an import should propose this project's task: it is new, or its format is still free text."""
    return project.id < 0 or project.output_spec.kind == "text"


def propose_for_plan(db: Path, project: Project, plan: ImportPlan) -> TaskProposal | None:
    """The task the file (with the project's own examples) suggests, when the project may take it; else None.

    A format that an example past draft would break is not proposed (the import would
    refuse that example): the proposal keeps free text and says why."""
    if not infers_task(project):
        return None
    existing = []
    if project.id >= 0:
        with connect(db) as con:
            existing = example_table.fetch_examples(con, project.id)
    rows = [*existing, *plan.new]
    proposal = propose_task(rows)
    spec = parse_output_spec(proposal.output_spec)
    broken = sum(
        1 for e in rows if e.get("status", "draft") != "draft" and validate_output(spec, answer_text(e["messages"]))
    )
    if broken and spec.kind != "text":
        return replace(
            proposal,
            output_spec={"kind": "text"},
            label_counts={},
            reason=f"{proposal.reason}; kept free text: {broken} example(s) past draft would break it",
        )
    return proposal


def _apply_proposal_in(con, project: Project, proposal: TaskProposal, actor=None) -> Project:
    """Create the project with the proposed task, or give an existing free-text one the proposed format
    (and the description, when it has none), inside the caller's unit of work (`con`)."""
    if project.id < 0:
        return create_project_in(
            con, project.name, proposal.description, proposal.output_spec, project.base_model, actor=actor
        )
    changes = {}
    if proposal.output_spec.get("kind") != "text":
        changes["output_spec"] = proposal.output_spec
    if proposal.description and not project.description.strip():
        changes["description"] = proposal.description
    return change_project_settings(con, project, actor, **changes) if changes else project


def import_proposed(
    db: Path,
    project: Project,
    path: Path,
    author: str,
    options: ImportOptions = ImportOptions(),
    proposal: TaskProposal | None = None,
    actor=None,
) -> tuple[Project, dict]:
    """Apply `proposal` (when given; a project not yet stored is created) and import the file, as one unit of
    work: a refused import leaves no new project and no changed task behind. Returns (project, counts)."""
    source = read_source(Path(path), options.format, options.split)  # read before the database is held
    with connect(db) as con:
        if proposal is not None:
            project = _apply_proposal_in(con, project, proposal, actor)
        elif project.id < 0:
            project = create_project_in(con, project.name, actor=actor)
        return project, import_source(con, project, source, author, options)


def import_inferring(
    db: Path, name: str, path: Path, author: str, options: ImportOptions = ImportOptions(), infer: bool = True
) -> dict:
    """Import into the project called `name`, creating it when needed; with `infer`, first apply the task the
    data proposes, in the import's unit of work. Returns {project, imported, skipped, inferred (the proposal's
    summary, or None)}."""
    project = project_or_blank(db, name)
    proposal = None
    if infer and infers_task(project):
        plan = plan_import(db, project, path, options)
        if plan.bad_rows:
            raise ImportRefused(plan.source.path, list(plan.bad_rows))
        proposal = propose_for_plan(db, project, plan)
    project, counts = import_proposed(db, project, path, author, options, proposal)
    return {"project": project.name, **counts, "inferred": proposal.summary() if proposal else None}
