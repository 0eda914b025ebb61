"""SQL is always parameterised: storage/ builds no SQL text from a value that could come from a user.

A static check over storage/*.py (the only code that knows SQL). Every f-string, str.format
and % formatting whose text looks like SQL may only splice in
- a module constant (an UPPER_CASE name bound to literal text in its module, or imported
  from another storage module where it is one), or
- an expression reviewed by hand and listed in REVIEWED below with why it is safe
  (fragments chosen from literals, identifiers checked against a fixed set).
Anything else (a user's name, a tag, a search term) must go in as a `?` parameter. The
last tests feed the checker bad code, so it is known to be able to fail.
"""

from __future__ import annotations

import ast
import re

from studio.paths import SOURCE_ROOT

SQL_WORDS = re.compile(
    r"\b(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|WHERE|FROM|SET|JOIN|VALUES|AND|OR|ORDER BY)\b|=\s*\?"
)
REVIEWED = {
    ("backup.py", "_identifier(source)"): "the database's own name from current_database(), quoted as an identifier",
    ("backup.py", "_identifier(name)"): "a table name listed by duckdb_tables(), quoted as an identifier",
    ("bulk.py", "condition"): "a literal fragment passed by add_tag, remove_tag or set_status in the same module",
    ("bulk.py", "assignments"): "a literal fragment passed by add_tag, remove_tag or set_status in the same module",
    ("example_search.py", "column"): "one of the literals 'e.status', 'e.author' in the loop header",
    ("example_search.py", "sql"): "the clause where_clause builds from literals; values are in its params",
    ("example_search.py", "order"): "looked up in SORTS; an unknown sort raises before the query",
    ("example_search.py", "direction"): "'ASC' or 'DESC', from a bool",
    ("example_search.py", "substring"): "literal '(... ) ILIKE ?' repeated; the terms are parameters",
    ("examples.py", "live"): "'' or a literal condition",
    ("examples.py", "reviewed"): "one of two literal column expressions",
    ("examples.py", "state"): "one of two literal conditions",
    ("examples.py", "stamp"): "one of two literal fragments",
    ("findings.py", "only"): "'' or the literal ' AND kind = ?'; the kind is a parameter",
    ("projects.py", "key"): "checked against the fixed set of project fields just above",
    ("projects.py", "stamp"): "one of two literal fragments (current_timestamp or NULL)",
    ("runs.py", "key"): "checked against _UPDATABLE just above",
    ("runs.py", "', '.join(('?' for _ in statuses))"): "one '?' per status; the statuses are parameters",
}


def literal_constants(tree: ast.Module, elsewhere: dict[str, set[str]] | None = None) -> set[str]:
    """Module-level UPPER_CASE names bound to literal text (or literal text joined with other such names).

    `elsewhere` maps other storage modules to their constants, for names imported from them."""
    constants: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("storage."):
            known = (elsewhere or {}).get(node.module.split(".", 1)[1], set())
            constants |= {alias.name for alias in node.names if alias.asname is None and alias.name in known}
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name.lstrip("_").isupper() and is_literal_text(node.value, constants):
                constants.add(name)
    return constants


def is_literal_text(node: ast.AST, constants: set[str]) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.Name):
        return node.id in constants
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return is_literal_text(node.left, constants) and is_literal_text(node.right, constants)
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return all(is_literal_text(item, constants) for item in node.elts)
    if isinstance(node, ast.Dict):
        return all(is_literal_text(value, constants) for value in node.values)
    if isinstance(node, ast.JoinedStr):
        return all(isinstance(v, ast.Constant) or is_literal_text(v.value, constants) for v in node.values)
    return False


def spliced_into_sql(source: str) -> list[tuple[int, str]]:
    """(line, expression) for every expression formatted into SQL-looking text."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
            if SQL_WORDS.search(text):
                found += [(node.lineno, ast.unparse(v.value)) for v in node.values if isinstance(v, ast.FormattedValue)]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
            if isinstance(node.func.value, ast.Constant) and SQL_WORDS.search(str(node.func.value.value)):
                found += [(node.lineno, ast.unparse(arg)) for arg in [*node.args, *(k.value for k in node.keywords)]]
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
            if isinstance(node.left, ast.Constant) and SQL_WORDS.search(str(node.left.value)):
                found.append((node.lineno, ast.unparse(node.right)))
    return found


def unsafe_splices(name: str, source: str, elsewhere: dict[str, set[str]] | None = None) -> list[str]:
    constants = literal_constants(ast.parse(source), elsewhere)
    return [
        f"{name}:{line}: {expression}"
        for line, expression in spliced_into_sql(source)
        if expression not in constants and (name, expression) not in REVIEWED
    ]


def test_storage_splices_only_constants_and_reviewed_fragments_into_sql():
    paths = sorted((SOURCE_ROOT / "storage").glob("*.py"))
    own = {path.stem: literal_constants(ast.parse(path.read_text())) for path in paths}
    problems = []
    for path in paths:
        problems += unsafe_splices(path.name, path.read_text(), own)
    assert problems == [], "SQL built from values: pass them as ? parameters instead:\n" + "\n".join(problems)


def test_every_reviewed_fragment_is_still_in_the_code():
    seen = set()
    for path in (SOURCE_ROOT / "storage").glob("*.py"):
        seen |= {(path.name, expression) for _, expression in spliced_into_sql(path.read_text())}
    assert set(REVIEWED) <= seen, f"stale entries in REVIEWED: {sorted(set(REVIEWED) - seen)}"


def test_the_check_catches_values_spliced_into_sql():
    bad = """
TABLE = "examples"
def find(con, name, tag, limit):
    con.execute(f"SELECT * FROM {TABLE} WHERE name = '{name}'")
    con.execute("DELETE FROM examples WHERE tag = '{}'".format(tag))
    con.execute("SELECT * FROM examples LIMIT %d" % limit)
    con.execute(f"SELECT * FROM t WHERE a = ?", [name])
    message = f"no example called {name}"
"""
    assert unsafe_splices("probe.py", bad) == ["probe.py:4: name", "probe.py:5: tag", "probe.py:6: limit"]


def test_only_constants_of_storage_modules_count_when_imported():
    source = 'from storage.examples import SNAPSHOT_SQL, OTHER\ndef f(con):\n    con.execute(f"SELECT {SNAPSHOT_SQL}, {OTHER} FROM t")\n'
    assert unsafe_splices("probe.py", source, {"examples": {"SNAPSHOT_SQL"}}) == ["probe.py:3: OTHER"]


def test_a_constant_built_from_a_value_is_not_a_constant():
    bad = """
import os
WHERE = "WHERE name = " + os.environ["NAME"]
def find(con):
    con.execute(f"SELECT * FROM examples {WHERE}")
"""
    assert unsafe_splices("probe.py", bad) == ["probe.py:5: WHERE"]
