"""Finding examples in a project: the filter an expert sets, one sorted page at a time.

Everything happens in SQL (storage.example_search), so a page of a 100,000-example
project costs the same as a page of a small one. Free text uses DuckDB full-text search.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path

from storage import example_search
from storage import examples as example_table
from storage.db import connect
from studio.dataset.examples import STATUSES
from studio.project.projects import Project

SORTS = tuple(example_search.SORTS)


@dataclass(frozen=True)
class ExampleFilter:
    """Which examples to show or act on; empty fields do not filter."""

    status: str | None = None  # draft, submitted, approved or rejected
    tag: str | None = None  # examples carrying this tag
    author: str | None = None  # examples written by this person
    finding_kind: str | None = None  # examples named by an open finding of this kind
    text: str = ""  # words that must all appear in the messages or the external id
    deleted: bool = False  # the trash instead of the live examples


@dataclass(frozen=True)
class PageRequest:
    """Which page of the examples a filter selects, in which order (find_examples and browse read it)."""

    sort: str = "id"  # one of SORTS
    descending: bool = False
    page: int = 1  # from 1
    page_size: int = 50


@dataclass(frozen=True)
class Overview:
    """What the Examples page shows above the table, read in one connection."""

    counts: dict[str, int]  # live examples per status
    tags: list[dict]  # tag_progress rows
    authors: list[str]
    finding_kinds: list[str]  # kinds of open findings
    search_mode: str  # 'full-text' or 'substring'


@dataclass(frozen=True)
class Page:
    rows: list[dict]
    total: int  # how many examples the filter selects, over all pages
    number: int = 1  # which page this is, from 1
    pages: int = 1  # how many pages the filter gives at this page size


def find_examples(db: Path, project: Project, chosen: ExampleFilter, wanted: PageRequest = PageRequest()) -> Page:
    """One sorted page of the examples `chosen` selects, and how many it selects in all."""
    with connect(db, extensions=extensions_for(chosen)) as con:
        return _find(con, project, chosen, wanted)


def _find(con, project: Project, chosen: ExampleFilter, wanted: PageRequest) -> Page:
    where = example_search.where_clause(con, project.id, **asdict(chosen))
    total = example_search.count_matching(con, where)
    page, size = max(wanted.page, 1), wanted.page_size
    rows = example_search.fetch_page(con, where, wanted.sort, wanted.descending, size, (page - 1) * size)
    return Page(rows, total, page, max(1, -(-total // size)))


def overview(db: Path, project: Project) -> Overview:
    """Counts per status and tag, the authors and finding kinds to filter by, the search mode."""
    with connect(db, extensions=example_search.SEARCH_EXTENSIONS) as con:
        return _overview(con, project)


def _overview(con, project: Project) -> Overview:
    counts = example_table.count_examples(con, project.id)
    return Overview(
        counts={status: counts.get(status, 0) for status in STATUSES},
        tags=_progress(example_search.count_tags(con, project.id), project.coverage_targets),
        authors=example_search.fetch_authors(con, project.id),
        finding_kinds=example_search.fetch_finding_kinds(con, project.id),
        search_mode=example_search.search_mode(con),
    )


def browse(
    db: Path, project: Project, chosen: ExampleFilter, wanted: PageRequest = PageRequest()
) -> tuple[Overview, Page]:
    """The overview and one page of examples in one connection (what the Examples page draws).

    A page past the last one (after a filter narrowed) gives the last page instead."""
    with connect(db, extensions=example_search.SEARCH_EXTENSIONS) as con:
        summary = _overview(con, project)
        found = _find(con, project, chosen, wanted)
        if wanted.page > found.pages:
            found = _find(con, project, chosen, replace(wanted, page=found.pages))
    return summary, found


def matching_ids(db: Path, project: Project, chosen: ExampleFilter) -> list[int]:
    """Every id the filter selects, on all pages (what a bulk action acts on)."""
    with connect(db, extensions=extensions_for(chosen)) as con:
        return ids_in(con, project, chosen)


def ids_in(con, project: Project, chosen: ExampleFilter) -> list[int]:
    """`matching_ids` inside the caller's unit of work (`con`, opened with `extensions_for(chosen)`)."""
    return example_search.fetch_matching_ids(con, example_search.where_clause(con, project.id, **asdict(chosen)))


def extensions_for(chosen: ExampleFilter) -> tuple[str, ...]:
    """Full-text search's extension only for a filter that searches text: loading it costs a connection
    about 40 ms, which every export and listing without a search paid."""
    return example_search.SEARCH_EXTENSIONS if chosen.text.strip() else ()


def tag_progress(db: Path, project: Project) -> list[dict]:
    """Per tag: live and approved examples, the project's target (if any) and the share of it the approved reach."""
    with connect(db) as con:
        counts = example_search.count_tags(con, project.id)
    return _progress(counts, project.coverage_targets)


def _progress(counts: dict[str, tuple[int, int]], targets: dict[str, int]) -> list[dict]:
    """Per tag: live and approved examples, the target, and how far the approved ones reach it."""
    rows = []
    for tag in sorted(set(counts) | set(targets)):
        (live, approved), target = counts.get(tag, (0, 0)), targets.get(tag)
        rows.append(
            {
                "tag": tag,
                "examples": live,
                "approved": approved,
                "target": target,
                "progress": min(approved / target, 1.0) if target else None,
            }
        )
    return rows
