"""Sign-in: hashed passwords, when sign-in is required, and who a sign-on identity is.

Passwords are stored as argon2id hashes (argon2-cffi's PasswordHasher), never as text.
Sign-in is required whenever the server listens beyond this machine (any address but
localhost, 127.0.0.1 or ::1) and cannot be turned off then; on localhost it is on when
STUDIO_SIGN_IN=1. With single sign-on (Streamlit's OIDC, an [auth] section in
.streamlit/secrets.toml) a provider's identity maps to the person whose name is that
e-mail address; nobody else gets in. The Streamlit side lives in app/ui.py.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from storage import people as people_table
from storage.db import connect
from studio.project.people import Person, authorize

LOCAL_ADDRESSES = frozenset({"localhost", "127.0.0.1", "::1"})
SIGN_IN_ENV = "STUDIO_SIGN_IN"
PASSWORD_ENV = "STUDIO_PASSWORD"
MIN_PASSWORD_LENGTH = 8
FAILED_SIGN_IN_DELAY = 1.0
FIRST_ADMIN = "studio people --add NAME --role admin --password"
WRONG = "Wrong name or password."
_hasher = PasswordHasher()


class SignInFailed(PermissionError):
    """The name or the password is wrong; the message never says which."""


def local_address(address: str | None) -> bool:
    """Whether the server listens on this machine only (an empty address binds every interface)."""
    return (address or "").strip().strip("[]") in LOCAL_ADDRESSES


def sign_in_required(address: str | None, env: Mapping[str, str] = os.environ) -> bool:
    """On for any address beyond this machine, and then not to be turned off; on localhost when asked for."""
    if not local_address(address):
        return True
    return env.get(SIGN_IN_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches the hash; a missing hash costs as long as a wrong password."""
    try:
        return _hasher.verify(password_hash or _decoy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


@cache
def _decoy_hash() -> str:
    return _hasher.hash("no one has this password")


def set_password(db: Path, actor: Person | None, name: str, password: str) -> None:
    """Give a person a new password; only an admin (or the local user, the CLI) may."""
    authorize(actor, "manage")
    password_hash = hash_password(password)
    with connect(db) as con:
        if not people_table.update_password_hash(con, name.strip(), password_hash):
            raise LookupError(f"no person called {name.strip()!r}; add them first")


def sign_in(db: Path, name: str, password: str, delay: float = FAILED_SIGN_IN_DELAY) -> Person:
    """The person with this name and password; otherwise SignInFailed, after a pause that slows guessing."""
    with connect(db) as con:
        row = people_table.fetch_person(con, name.strip())
        password_hash = people_table.fetch_password_hash(con, name.strip()) if row else None
    if row is None or not verify_password(password_hash, password):
        time.sleep(delay)
        raise SignInFailed(WRONG)
    if _hasher.check_needs_rehash(password_hash):
        with connect(db) as con:
            people_table.update_password_hash(con, row["name"], _hasher.hash(password))
    return Person(row["name"], row["role"])


def anyone_can_sign_in(db: Path) -> bool:
    """Whether at least one person has a password (otherwise the first admin must be made with the CLI)."""
    with connect(db) as con:
        return people_table.count_passwords(con) > 0


def has_password(db: Path, name: str) -> bool:
    with connect(db) as con:
        return people_table.fetch_password_hash(con, name) is not None


def person_for_identity(db: Path, email: str | None) -> Person | None:
    """The person a sign-on identity is: the one named by its e-mail address (ignoring case), or nobody.

    Display names are neither unique nor checked by the provider, so they never grant access."""
    email = (email or "").strip()
    if "@" not in email:
        return None
    with connect(db) as con:
        row = people_table.fetch_person_by_name_folded(con, email)
    return Person(row["name"], row["role"]) if row else None
