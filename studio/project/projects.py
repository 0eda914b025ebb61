"""Projects: creating one, reading one, and the project record the rest of the studio uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from storage import projects as project_table
from storage.db import (
    DatabaseLocked as DatabaseLocked,  # for the web app: any action, while another process holds the file
)
from storage.db import connect
from studio.paths import DEFAULT_MODEL_NAME
from studio.project.formats import OutputSpec, parse_output_spec
from studio.project.people import Person, authorize


@dataclass(frozen=True)
class Project:
    """A project: its task (the system prompt), its answer format and its base model."""

    id: int
    name: str
    description: str
    output_spec: OutputSpec
    base_model: str
    split_seed: int
    ship_margin: float = 0.05
    coverage_targets: dict = field(default_factory=dict)  # tag -> how many examples the team wants
    reviewer_must_differ: bool = False  # a reviewer may not approve or reject their own example
    guidelines: str = ""  # annotation guidelines (markdown) that Write and Review show beside the example
    archived: bool = False  # archived projects keep every row and leave the project picker until restored

    def summary(self) -> dict:
        """The project as `studio project show --json` prints it."""
        return {
            "name": self.name,
            "description": self.description,
            "output_spec": self.output_spec.to_dict(),
            "base_model": self.base_model,
            "guidelines": self.guidelines,
            "archived": self.archived,
            "split_seed": self.split_seed,
        }


class ProjectNotFound(LookupError):
    pass


def _to_project(row: dict) -> Project:
    return Project(
        id=row["id"],
        name=row["name"],
        description=row["description"],
        output_spec=parse_output_spec(row["output_spec"]),
        base_model=row["base_model"],
        split_seed=row["split_seed"],
        ship_margin=row["ship_margin"],
        coverage_targets=row["coverage_targets"] or {},
        reviewer_must_differ=bool(row["reviewer_must_differ"]),
        guidelines=row.get("guidelines") or "",
        archived=row.get("archived_at") is not None,
    )


def get_project(db: Path, name: str) -> Project:
    """Return the project called `name`, or raise ProjectNotFound naming the ones that exist."""
    with connect(db) as con:
        return project_in(con, name)


def project_in(con, name: str) -> Project:
    """`get_project` inside the caller's unit of work (`con`)."""
    row = project_table.fetch_project(con, name)
    if row is None:
        known = ", ".join(p["name"] for p in project_table.fetch_projects(con)) or "none yet"
        raise ProjectNotFound(f"no project called {name!r} (projects: {known})")
    return _to_project(row)


def list_projects(db: Path, include_archived: bool = False) -> list[Project]:
    """Every project by name; archived ones only when asked."""
    with connect(db) as con:
        projects = [_to_project(row) for row in project_table.fetch_projects(con)]
    return [p for p in projects if include_archived or not p.archived]


def create_project(
    db: Path,
    name: str,
    description: str = "",
    output_spec: dict | None = None,
    base_model: str = DEFAULT_MODEL_NAME,
    guidelines: str = "",
    actor: Person | None = None,
) -> Project:
    """Create a new project; refuse a name that is taken (archived projects included) or empty."""
    with connect(db) as con:
        return create_project_in(con, name, description, output_spec, base_model, guidelines, actor)


def create_project_in(
    con,
    name: str,
    description: str = "",
    output_spec: dict | None = None,
    base_model: str = DEFAULT_MODEL_NAME,
    guidelines: str = "",
    actor: Person | None = None,
) -> Project:
    """`create_project` inside the caller's unit of work (`con`); returns the new project."""
    authorize(actor, "manage")
    name = checked_name(name)
    spec = parse_output_spec(output_spec)
    if project_table.fetch_project(con, name) is not None:
        raise ValueError(f"a project called {name!r} already exists (archived ones too: `studio project list --all`)")
    project_table.insert_project(
        con, name, description.strip(), spec.to_dict(), base_model.strip() or DEFAULT_MODEL_NAME, guidelines
    )
    return project_in(con, name)


def checked_name(name: str) -> str:
    """A project name as stored: trimmed, not empty, one line."""
    name = (name or "").strip()
    if not name:
        raise ValueError("a project needs a name")
    if any(ch in name for ch in "\r\n\t"):
        raise ValueError("a project name is one line of text")
    return name


def rename_project(db: Path, project: Project, new_name: str, actor: Person | None = None) -> Project:
    """Give a project a new name (its examples, runs and findings follow: they refer to its id)."""
    authorize(actor, "manage")
    new_name = checked_name(new_name)
    with connect(db) as con:
        if new_name != project.name and project_table.fetch_project(con, new_name) is not None:
            raise ValueError(f"a project called {new_name!r} already exists")
        project_table.update_project(con, project.id, name=new_name)
    return get_project(db, new_name)


def archive_project(db: Path, project: Project, archived: bool = True, actor: Person | None = None) -> Project:
    """Archive a project (soft: nothing is deleted) or restore it."""
    authorize(actor, "manage")
    with connect(db) as con:
        project_table.set_archived(con, project.id, archived)
    return get_project(db, project.name)


def ensure_project(
    db: Path,
    name: str,
    description: str = "",
    output_spec: dict | None = None,
    base_model: str = DEFAULT_MODEL_NAME,
) -> Project:
    """Return the project called `name`, creating it with these settings when it does not exist."""
    if not name.strip():
        raise ValueError("a project needs a name")
    spec = parse_output_spec(output_spec)
    with connect(db) as con:
        if project_table.fetch_project(con, name) is None:
            project_table.insert_project(con, name, description, spec.to_dict(), base_model)
    return get_project(db, name)


def update_project_settings(db: Path, project: Project, actor: Person | None = None, **fields) -> Project:
    """Change a project's description, output spec (dict), guidelines, base model, split seed, ship margin,
    per-tag coverage targets ({tag: count}) or whether reviewers must differ from authors.
    An `actor` who is not an admin is refused (None: the local user)."""
    with connect(db) as con:
        return change_project_settings(con, project, actor, **fields)


def change_project_settings(con, project: Project, actor: Person | None = None, **fields) -> Project:
    """`update_project_settings` inside the caller's unit of work (`con`); returns the project as changed."""
    authorize(actor, "manage")
    if "coverage_targets" in fields:
        fields["coverage_targets"] = _checked_targets(fields["coverage_targets"])
    if "output_spec" in fields:
        fields["output_spec"] = parse_output_spec(fields["output_spec"]).to_dict()
    project_table.update_project(con, project.id, **fields)
    return project_in(con, project.name)


def _checked_targets(targets: dict) -> dict:
    """{tag: positive int}, refusing anything else with the tag named."""
    checked = {}
    for tag, count in targets.items():
        if not str(tag).strip():
            raise ValueError("a coverage target needs a tag")
        if isinstance(count, bool) or not isinstance(count, (int, float)) or count < 0 or int(count) != count:
            raise ValueError(f"the target for tag {tag!r} must be a whole number of examples, not {count!r}")
        checked[str(tag).strip()] = int(count)
    return checked
