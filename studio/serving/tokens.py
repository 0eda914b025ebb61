"""The bearer token a server off localhost requires: created once, shown once, kept only as a hash.

The hash lives in the data home (serving/token.sha256); the token itself is printed when
it is created and never stored, so a lost token is replaced, not recovered
(`studio model serve --new-token`).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import secrets
from pathlib import Path

from studio.paths import data_home

LOOPBACK_NAMES = ("localhost", "localhost.localdomain")


def token_file() -> Path:
    return data_home() / "serving" / "token.sha256"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token() -> str:
    """A new random token; its hash replaces the stored one. Return the token (show it once)."""
    token = "sk-studio-" + secrets.token_urlsafe(32)
    path = token_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(digest(token))
    os.chmod(partial, 0o600)
    partial.replace(path)
    return token


def stored_digest() -> str | None:
    path = token_file()
    return path.read_text().strip() or None if path.exists() else None


def token_matches(header: str | None, expected_digest: str) -> bool:
    """Whether an Authorization header carries the token whose hash is `expected_digest`."""
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    return hmac.compare_digest(digest(token.strip()), expected_digest)


def is_loopback(address: str) -> bool:
    """Whether a listening address is reachable only from this machine."""
    if address.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False
