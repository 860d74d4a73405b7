"""Names a pool may be made through that are not the library's nor a wrapper's: a parameter whose default is a
library's pool class or a project wrapper, the attribute `__init__` keeps it in, a class attribute set to one."""

from __future__ import annotations

import ast

from pool_doctor.scan.finder import CALL_NAMES, Module, dotted_parts
from pool_doctor.scan.statements import assigned_names


def factory_names(module: Module, makers: set[str]) -> list[str]:
    """Parameters whose default is one of `makers` (`pool_factory=psycopg_pool.AsyncConnectionPool`, oslo.db's
    `_engine_target=_create_engine`), and the attributes `__init__` keeps them in; a class attribute or dataclass
    field whose default is a library's pool callable. A call through one of those names may make a pool."""
    found: dict[str, None] = {}
    for func in [*module.functions.values(), *(m for c in module.classes.values() for m in c.body)]:
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        args = func.args
        positional = [*args.posonlyargs, *args.args]
        pairs = [*zip(positional[len(positional) - len(args.defaults) :], args.defaults)]
        pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
        given = {a.arg for a, d in pairs if (dotted_parts(d) or [""])[-1] in makers}
        if not given:
            continue
        kept = {
            target.attr
            for node in ast.walk(func)
            if isinstance(node, (ast.Assign, ast.AnnAssign))
            and isinstance(node.value, ast.Name)
            and node.value.id in given
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(target, ast.Attribute)
        }
        found.update(dict.fromkeys(sorted(given | kept)))
    for cls in module.classes.values():
        for stmt in cls.body:
            value = stmt.value if isinstance(stmt, (ast.Assign, ast.AnnAssign)) else None
            if value is not None and (dotted_parts(value) or [""])[-1] in CALL_NAMES:
                found.update(dict.fromkeys(target for target, _ in assigned_names(stmt)))
    return list(found)
