"""The core's shape, held as tests (read from the source with `ast`, nothing imported or run):

- no two modules of pool_doctor import each other, directly or in a loop, counting every import (inside
  functions and under TYPE_CHECKING too);
- outside pool_doctor/stacks/ and pool_doctor/connection/drivers/ no code compares a string with a stack's
  or a driver's name: a registry lookup is the way in;
- no module over 600 lines, and cli.py under 500.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "pool_doctor"
NAMES = {
    "sqlalchemy",
    "flask_sqlalchemy",
    "asyncpg",
    "psycopg",
    "psycopg2",
    "psycopg_async",
    "psycopg2cffi",
    "psycopg_pool",
    "django",
    "pgbouncer",
}
OWNERS = ("stacks/", "connection/drivers/")


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package's own modules `name` imports: `from a.b import c` is a.b.c when c is a module, else a.b."""
    package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = name.split(".")[: len(name.split(".")) - node.level + (1 if package else 0)]
                base = ".".join([*parent, *([node.module] if node.module else [])])
            found |= {f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names}
    return {module for module in found if module in known and module != name}


def test_no_module_imports_another_that_imports_it_back() -> None:
    known = modules()
    graph = {name: imports(name, path, known) for name, path in known.items()}
    loops = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for other in sorted(graph[name]):
            if state.get(other) == 1:
                loops.append(" -> ".join([*path[path.index(other) :], other]))
            elif other not in state:
                visit(other, [*path, other])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert loops == []


def _strings(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [text for element in node.elts for text in _strings(element)]
    return []


def test_only_stacks_and_drivers_compare_their_names() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        where = path.relative_to(PACKAGE).as_posix()
        if where.startswith(OWNERS):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            compared: list[str] = []
            if isinstance(node, ast.Compare):
                compared = [text for side in (node.left, *node.comparators) for text in _strings(side)]
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr in ("startswith", "endswith"):
                    compared = [text for arg in node.args for text in _strings(arg)]
            elif isinstance(node, ast.match_case):
                compared = [
                    text
                    for sub in ast.walk(node.pattern)
                    if isinstance(sub, ast.MatchValue)
                    for text in _strings(sub.value)
                ]
            named = [text for text in compared if text.split(".")[0] in NAMES]
            if named:
                found.append(f"{where}:{getattr(node, 'lineno', '?')} {named}")
    assert found == []


def test_modules_stay_small() -> None:
    sizes = {path.relative_to(PACKAGE).as_posix(): len(path.read_text().splitlines()) for path in PACKAGE.rglob("*.py")}
    assert {where: lines for where, lines in sizes.items() if lines > 600} == {}
    assert sizes["cli.py"] < 500
