"""The house rules that keep the layers apart: pages -> studio -> storage, never backwards."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from studio.paths import SOURCE_ROOT

HEAVY = {"torch", "transformers", "peft", "trl", "bitsandbytes", "datasets", "sentence_transformers"}


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


def test_storage_imports_neither_studio_nor_streamlit():
    for path in (SOURCE_ROOT / "storage").glob("*.py"):
        assert not roots(all_imports(path)) & {"studio", "streamlit", "pages"}, path


def test_only_ui_in_studio_imports_streamlit():
    offenders = [p.name for p in (SOURCE_ROOT / "studio").glob("*.py") if "streamlit" in roots(all_imports(p))]
    assert offenders == ["ui.py"]


def test_pages_hold_no_sql_and_no_heavy_imports():
    for path in [*(SOURCE_ROOT / "app").glob("*.py"), *(SOURCE_ROOT / "pages").glob("*.py")]:
        imports = roots(all_imports(path))
        assert not imports & ({"storage", "duckdb"} | HEAVY), path
        assert "SELECT " not in path.read_text(), path


def test_worker_never_loads_storage_duckdb_or_streamlit():
    """The worker runs outside the app: it must not even import the database layer."""
    probe = (
        "import sys, studio.worker; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'storage', 'duckdb', 'streamlit'}))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=SOURCE_ROOT, check=True)
    assert result.stdout.strip() == "[]"


def test_heavy_libraries_are_imported_inside_functions_only():
    for path in [*(SOURCE_ROOT / "studio").glob("*.py"), *(SOURCE_ROOT / "pages").glob("*.py")]:
        assert not roots(top_level_imports(path)) & HEAVY, path


def test_every_module_starts_with_a_docstring():
    for folder in ("app", "studio", "storage", "pages", "bench"):
        for path in (SOURCE_ROOT / folder).glob("*.py"):
            assert ast.get_docstring(ast.parse(path.read_text())), path
