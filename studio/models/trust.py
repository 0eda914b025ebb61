"""Which base models may run their own code (transformers' trust_remote_code).

A model folder or hub id can ship Python that transformers runs on load when
trust_remote_code is on; that is arbitrary code from whoever made the model. It is off
for every model until an admin allows it for that model by name; a launch writes the
answer into the run's config.json, and the workers load with exactly that.
"""

from __future__ import annotations

from pathlib import Path

from storage import trusted_models as trust_table
from storage.db import connect
from studio.project.people import Person, authorize


def remote_code_allowed(db: Path, model: str) -> bool:
    with connect(db) as con:
        return trust_table.is_trusted(con, model)


def allow_remote_code(db: Path, actor: Person | None, model: str, allowed: bool) -> None:
    """Allow (or withdraw) a model's own code; only an admin (or the local user) may."""
    authorize(actor, "manage")
    model = model.strip()
    if not model:
        raise ValueError("say which model")
    with connect(db) as con:
        if allowed:
            trust_table.insert_trusted_model(con, model, actor.name if actor else "local admin")
        else:
            trust_table.delete_trusted_model(con, model)


def trusted_models(db: Path) -> list[dict]:
    with connect(db) as con:
        return trust_table.fetch_trusted_models(con)
