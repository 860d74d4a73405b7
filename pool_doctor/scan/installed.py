"""Pool settings handed to an installed package the scan does not read (`AsyncSQLAlchemyWrapper(engine_options=
{"pool_recycle": 3600})` from sqlalchemy-wrapper): a pool made there is out of the scan's sight, so the call is
named in a warning rather than the pool left out without a word."""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable, Iterator

from pool_doctor.scan.finder import LIBRARY_TARGETS, dotted_parts
from pool_doctor.scan.libraries import ENGINES, REEXPORTS, UNREAD

WORDS = (b"pool_recycle", b"pool_pre_ping", b"max_overflow", b"pool_timeout")  # SQLAlchemy's own words
KEYS = frozenset(word.decode() for word in WORDS)
# the scan's own libraries, those libraries.py names in warnings of their own, and the standard library's
# (`functools.partial(create_engine, ...)`, `types.SimpleNamespace(...)`: no pool of theirs)
READ = frozenset({*LIBRARY_TARGETS, "flask_appbuilder", "django", "alembic", "flask", *sys.stdlib_module_names})
READ |= {package.split(".")[0] for package in (*ENGINES.values(), *REEXPORTS, *(lib for lib, _ in UNREAD.values()))}
READ |= {"dynaconf", "loguru", "structlog", "pydantic", "pydantic_settings", "click", "typer"}  # (settings, logs)


def worth_reading(data: bytes | str) -> bool:
    return any(word in data for word in WORDS) if isinstance(data, bytes) else any(key in data for key in KEYS)


def handed_to_installed(tree: ast.Module, display: str, installed: Callable[[str], bool]) -> Iterator[str]:
    """A warning for each call of an imported name `installed` says the project lacks, given one of SQLAlchemy's
    pool settings as a keyword or a key of a dict written in the call."""
    imported = _imports(tree)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        keys = {kw.arg for kw in node.keywords if kw.arg in KEYS}
        for written in (kw.value for kw in node.keywords):
            if isinstance(written, ast.Dict):
                keys |= {k.value for k in written.keys if isinstance(k, ast.Constant) and k.value in KEYS}
        parts = dotted_parts(node.func) if keys else None
        if not parts or parts[0] not in imported:
            continue
        dotted = ".".join([imported[parts[0]], *parts[1:]])
        if dotted.split(".", 1)[0] in READ or not installed(dotted):
            continue
        yield (
            f"{display}:{node.lineno}: hands pool settings ({', '.join(sorted(keys))}) to {dotted}(), of an "
            "installed package the scan does not read: a pool made there is not judged"
        )


def _imports(tree: ast.Module) -> dict[str, str]:
    """The names the module's absolute imports bind, to what they import (`from x import Y as Z`: Z -> x.Y)."""
    found: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):  # (`import a.b` binds a; `import a.b as c`, c to a.b)
            found.update({a.asname: a.name for a in node.names if a.asname})
            found.update({a.name.split(".")[0]: a.name.split(".")[0] for a in node.names if not a.asname})
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.update({a.asname or a.name: f"{node.module}.{a.name}" for a in node.names})
    return found
