"""Deciding a finding: resolve it (edit one example, keep one, reject one) or dismiss it with a reason.

Resolving changes examples through studio.dataset.examples, so every change is a revision and
nothing is lost; the finding is then marked resolved. A dismissed finding stays
dismissed while its examples keep their revisions (see studio.checks.runner.fingerprint).
"""

from __future__ import annotations

import difflib
import html
import re
from pathlib import Path

from storage import examples as example_table
from storage import findings as finding_table
from storage.db import connect
from studio.dataset.examples import acting_person, change_example, get_example
from studio.dataset.messages import answer_text, last_user_text, with_last_turn
from studio.project.people import authorize
from studio.project.projects import Project


class FindingNotOpen(LookupError):
    """The finding does not exist in this project, or an expert already decided it."""


def _open_finding(con, project: Project, finding_id: int) -> dict:
    finding = finding_table.fetch_finding(con, finding_id)
    if finding is None or finding["project_id"] != project.id:
        raise FindingNotOpen(f"finding {finding_id} is not in project {project.name}")
    if finding["state"] != "open":
        raise FindingNotOpen(f"finding {finding_id} is already {finding['state']}")
    return finding


def dismiss_finding(db: Path, project: Project, finding_id: int, reason: str, author: str) -> None:
    """Dismiss a finding with a reason; it stays dismissed while its examples are unchanged."""
    if not reason.strip():
        raise ValueError("say why you dismiss this finding, so the next reviewer knows")
    with connect(db) as con:
        authorize(acting_person(con, author), "review")
        _open_finding(con, project, finding_id)
        finding_table.decide_finding(con, finding_id, "dismissed", reason.strip(), author)


def reject_examples(db: Path, project: Project, finding_id: int, reject_ids: list[int], author: str) -> None:
    """Resolve a finding by rejecting some of its examples (the rest are kept as they are).

    One unit of work: the rejections and the decision are all applied, or none is."""
    with connect(db) as con:
        _reject(con, project, _open_finding(con, project, finding_id), reject_ids, author)
        reason = f"rejected example {', '.join(map(str, reject_ids))}"
        finding_table.decide_finding(con, finding_id, "resolved", reason, author)


def keep_example(db: Path, project: Project, finding_id: int, keep_id: int, author: str) -> None:
    """Resolve a finding by marking which example is right: the others are rejected (one unit of work)."""
    with connect(db) as con:
        finding = _open_finding(con, project, finding_id)
        if keep_id not in finding["example_ids"]:
            raise ValueError(f"example {keep_id} is not part of finding {finding_id}")
        _reject(con, project, finding, [i for i in finding["example_ids"] if i != keep_id], author)
        reason = f"kept example {keep_id}, rejected the others"
        finding_table.decide_finding(con, finding_id, "resolved", reason, author)


def _reject(con, project: Project, finding: dict, reject_ids: list[int], author: str) -> None:
    strangers = set(reject_ids) - set(finding["example_ids"])
    if strangers or not reject_ids:
        raise ValueError(
            f"reject one or more of the finding's examples {finding['example_ids']}, not {sorted(strangers)}"
        )
    for example_id in reject_ids:
        change_example(con, project, example_id, None, author, status="rejected")


def edit_answer(
    db: Path, project: Project, finding_id: int, example_id: int, revision: int, answer: str, author: str
) -> int:
    """Resolve a finding by rewriting one example's answer; return the example's new revision."""
    with connect(db) as con:
        finding = _open_finding(con, project, finding_id)
        if example_id not in finding["example_ids"]:
            raise ValueError(f"example {example_id} is not part of finding {finding_id}")
        example = example_table.fetch_example(con, example_id)
        messages = with_last_turn(example["messages"], last_user_text(example["messages"]), answer)
        new_revision = change_example(con, project, example_id, revision, author, messages=messages)
        finding_table.decide_finding(con, finding_id, "resolved", f"edited the answer of example {example_id}", author)
    return new_revision


def highlight_differences(left: str, right: str) -> tuple[str, str]:
    """Both texts as HTML with the words that differ marked (<mark>), everything else escaped."""
    a, b = re.findall(r"\S+|\s+", left), re.findall(r"\S+|\s+", right)
    marked_a, marked_b = [], []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        for words, out in ((a[i1:i2], marked_a), (b[j1:j2], marked_b)):
            text = html.escape("".join(words))
            out.append(text if tag == "equal" or not text.strip() else f"<mark>{text}</mark>")
    return "".join(marked_a), "".join(marked_b)


def answer_of(db: Path, example_id: int) -> str:
    example = get_example(db, example_id)
    return answer_text(example["messages"]) if example else ""
