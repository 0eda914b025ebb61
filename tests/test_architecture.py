"""The house rules that keep the layers apart: pages -> studio -> storage, never backwards.

Every rule walks its folders recursively (studio/ grows subpackages), is a function of the
source root, and is also run on a copy of the tree with one planted violation, so a rule
that silently checks nothing fails here.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from studio.paths import SOURCE_ROOT

HEAVY = {"torch", "transformers", "peft", "trl", "bitsandbytes", "datasets", "sentence_transformers"}
# modules of studio/ allowed to import streamlit (relative to studio/): none, the web app's helpers live in app/
STREAMLIT_IN_STUDIO: set[str] = set()


def top_level_imports(path: Path) -> set[str]:
    """Modules imported at module level (not inside functions)."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def all_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def roots(names: set[str]) -> set[str]:
    return {name.split(".")[0] for name in names}


def sources(root: Path, *folders: str) -> list[Path]:
    return sorted(
        path for folder in folders for path in (root / folder).rglob("*.py") if "__pycache__" not in path.parts
    )


def storage_violations(root: Path) -> list[str]:
    return [str(p) for p in sources(root, "storage") if roots(all_imports(p)) & {"studio", "streamlit", "pages", "app"}]


def streamlit_in_studio(root: Path) -> list[str]:
    return [
        str(p.relative_to(root / "studio"))
        for p in sources(root, "studio")
        if "streamlit" in roots(all_imports(p)) and str(p.relative_to(root / "studio")) not in STREAMLIT_IN_STUDIO
    ]


def backward_imports(root: Path) -> list[str]:
    """studio/ importing the web app (pages/ or app/)."""
    return [str(p) for p in sources(root, "studio") if roots(all_imports(p)) & {"pages", "app"}]


def pages_with_sql_or_heavy_imports(root: Path) -> list[str]:
    return [
        str(p)
        for p in sources(root, "app", "pages")
        if roots(all_imports(p)) & ({"storage", "duckdb"} | HEAVY) or "SELECT " in p.read_text()
    ]


def heavy_top_level_imports(root: Path) -> list[str]:
    return [str(p) for p in sources(root, "studio", "pages", "app") if roots(top_level_imports(p)) & HEAVY]


def modules_without_docstring(root: Path) -> list[str]:
    return [
        str(p)
        for p in sources(root, "app", "studio", "storage", "pages", "bench")
        if not ast.get_docstring(ast.parse(p.read_text())) and p.read_text().strip()
    ]


MAX_LINES = 400


def modules_over_the_size_limit(root: Path) -> list[str]:
    """A module a newcomer cannot read in one sitting: split it by concern."""
    return [
        str(p)
        for p in sources(root, "app", "studio", "storage", "pages")
        if len(p.read_text().splitlines()) > MAX_LINES
    ]


RULES = (
    storage_violations,
    streamlit_in_studio,
    backward_imports,
    pages_with_sql_or_heavy_imports,
    heavy_top_level_imports,
    modules_without_docstring,
    modules_over_the_size_limit,
)
# one planted violation per rule: (file under the copied tree, its text)
PLANTED = {
    storage_violations: ("storage/sub/leak.py", '"""Leak."""\nfrom studio.paths import data_home\n'),
    streamlit_in_studio: ("studio/deep/inner/widget.py", '"""Widget."""\nimport streamlit as st\n'),
    backward_imports: ("studio/deep/back.py", '"""Back."""\nfrom pages import write\n'),
    pages_with_sql_or_heavy_imports: ("pages/bad.py", '"""Bad."""\nquery = "SELECT * FROM examples"\n'),
    heavy_top_level_imports: ("studio/deep/heavy.py", '"""Heavy."""\nimport torch\n'),
    modules_without_docstring: ("studio/deep/bare.py", "x = 1\n"),
    modules_over_the_size_limit: ("studio/deep/long.py", '"""Long."""\n' + "x = 1\n" * MAX_LINES),
}


@pytest.mark.parametrize("rule", RULES, ids=[rule.__name__ for rule in RULES])
def test_the_house_keeps_the_rule(rule):
    assert rule(SOURCE_ROOT) == []


@pytest.mark.parametrize("rule", RULES, ids=[rule.__name__ for rule in RULES])
def test_each_rule_catches_a_planted_violation_in_a_subpackage(rule, tmp_path):
    for folder in ("app", "pages", "studio", "storage", "bench"):
        shutil.copytree(SOURCE_ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__", "demo"))
    relative, text = PLANTED[rule]
    (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / relative).write_text(text)
    assert [Path(found).name for found in rule(tmp_path)] == [Path(relative).name]


def _imported_siblings(path: Path, package: str, siblings: set[str]) -> set[str]:
    """The modules of `package` that `path` imports, at module level or inside a function (both count: a
    function-level import only moves the circle from the import to the first call)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package if node.level else (node.module or "")
            module = f"{base}.{node.module}" if node.level and node.module else base
            names = [module] + [f"{module}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {name.rpartition(".")[2] for name in names if name.rpartition(".")[0] == package} & siblings
    return found


def import_circles(root: Path) -> list[str]:
    """Modules of one subpackage of studio/ that import each other around a circle: each package's modules must
    depend one way (in studio/training/: config and shape <- recipe <- preflight, trainer <- worker)."""
    circled = []
    for folder in sorted({p.parent for p in sources(root, "studio")}):
        package = ".".join(folder.relative_to(root).parts)
        modules = {p.stem: p for p in folder.glob("*.py") if p.stem != "__init__"}
        edges = {name: _imported_siblings(path, package, set(modules)) - {name} for name, path in modules.items()}
        circled += [str(modules[name]) for name in sorted(modules) if _reaches(edges, name, name)]
    return circled


def _reaches(edges: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = set(), list(edges[start])
    while todo:
        name = todo.pop()
        if name == goal:
            return True
        if name not in seen:
            seen.add(name)
            todo += edges.get(name, ())
    return False


def test_no_subpackage_imports_itself_in_a_circle():
    assert import_circles(SOURCE_ROOT) == []


@pytest.mark.parametrize("where", ["module level", "inside a function"])
def test_a_planted_import_circle_in_a_subpackage_is_caught(tmp_path, where):
    """Three planted modules, a -> b -> c -> a, the last import at module level or inside a function; the rest of
    the copied tree is left as it is, so only the three are named."""
    shutil.copytree(SOURCE_ROOT / "studio", tmp_path / "studio", ignore=shutil.ignore_patterns("__pycache__", "demo"))
    folder = tmp_path / "studio" / "deep" / "inner"
    folder.mkdir(parents=True)
    back = "from studio.deep.inner import a\n" if where == "module level" else "def f():\n    from . import a\n"
    for name, text in {"a": "from studio.deep.inner.b import x\n", "b": "from .c import y\nx = 1\n", "c": back}.items():
        (folder / f"{name}.py").write_text(f'"""{name}."""\n{text}y = 2\n')
    assert [Path(found).name for found in import_circles(tmp_path)] == ["a.py", "b.py", "c.py"]
    (folder / "c.py").write_text('"""c."""\ny = 2\n')  # the circle broken: a -> b -> c only
    assert import_circles(tmp_path) == []


def test_worker_never_loads_storage_duckdb_or_streamlit():
    """The worker runs outside the app: it must not even import the database layer."""
    probe = (
        "import sys, studio.training.worker; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'storage', 'duckdb', 'streamlit'}))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=SOURCE_ROOT, check=True)
    assert result.stdout.strip() == "[]"
