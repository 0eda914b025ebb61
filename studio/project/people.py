"""People and roles: who may write, review or manage.

Annotators write examples and submit them; reviewers also approve and reject, delete
and restore; admins also manage people, projects, model trust and training. A name that
is not a person of the studio (the CLI's local user, an importer) acts as a local admin:
the studio trusts the machine's own user. With sign-in off (the default on localhost) the
sidebar says who is working; with it on (studio/project/signin.py), the signed-in person is.
Every change is recorded under that name.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from pathlib import Path

from storage import people as people_table
from storage.db import connect

ROLES = ("annotator", "reviewer", "admin")
ACTIONS = {
    "write": ("annotator", "reviewer", "admin"),
    "review": ("reviewer", "admin"),
    "delete": ("reviewer", "admin"),
    "manage": ("admin",),
    "train": ("admin",),
}
ACTION_WORDS = {
    "write": "write or submit examples",
    "review": "approve or reject examples",
    "delete": "delete or restore examples",
    "manage": "manage people and project settings",
    "train": "launch, cancel or resume training runs",
}


@dataclass(frozen=True)
class Person:
    name: str
    role: str


class NotAllowed(PermissionError):
    """The person's role does not allow the action; the message says which role would."""


def can(person: Person, action: str) -> bool:
    return person.role in ACTIONS[action]


def authorize(person: Person | None, action: str) -> None:
    """Refuse `action` for a person whose role lacks it (None: a local user, always allowed)."""
    if person is not None and not can(person, action):
        roles = " or ".join(f"{role}s" for role in ACTIONS[action])
        raise NotAllowed(
            f"{person.name} is {_article(person.role)} {person.role}; only {roles} may {ACTION_WORDS[action]}"
        )


def list_people(db: Path) -> list[Person]:
    with connect(db) as con:
        return [Person(row["name"], row["role"]) for row in people_table.fetch_people(con)]


def find_person(db: Path, name: str) -> Person | None:
    with connect(db) as con:
        row = people_table.fetch_person(con, name)
    return Person(row["name"], row["role"]) if row else None


def save_person(db: Path, actor: Person | None, name: str, role: str) -> Person:
    """Add a person or change their role; only an admin (or a local user) may."""
    name = name.strip()
    if not name:
        raise ValueError("a person needs a name")
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    authorize(actor, "manage")
    with connect(db) as con:
        if (
            actor is not None
            and actor.name == name
            and role != "admin"
            and people_table.count_people(con, "admin") == 1
        ):
            raise ValueError("you are the only admin; make someone else admin first")
        people_table.upsert_person(con, name, role)
    return Person(name, role)


def ensure_local_admin(db: Path) -> Person:
    """The machine's user as the first admin, when the studio has nobody yet."""
    with connect(db) as con:
        if people_table.count_people(con) == 0:
            people_table.upsert_person(con, local_user_name(), "admin")
        row = people_table.fetch_person(con, local_user_name()) or people_table.fetch_people(con)[0]
    return Person(row["name"], row["role"])


def local_user_name() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "admin"


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"
