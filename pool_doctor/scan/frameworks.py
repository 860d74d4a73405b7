"""Pools a framework creates from configuration: Django's `DATABASES` and Flask-SQLAlchemy's `SQLALCHEMY_*` keys."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any, Final

from pool_doctor.scan.containers import settle_options
from pool_doctor.scan.expressions import Evaluator
from pool_doctor.scan.finder import FunctionNode, Module, dotted_parts
from pool_doctor.scan.kinds import SV, Branches, ClassRef, DictV, Frame, Thunk
from pool_doctor.scan.model import NOT_SET, ScannedPool
from pool_doctor.scan.pools import mask
from pool_doctor.scan.values import flatten, leaf

# --- Django ------------------------------------------------------------------------------------------


def django_pools(ev: Evaluator, module: Module) -> Iterator[ScannedPool]:
    found = effective_databases(ev, module)
    if found is None:
        return
    databases, first_line, touched = found
    condition = None
    if isinstance(databases, Branches):  # set under a test: Django has no database on the other side
        options, default = settle_options(ev, databases)
        dicts = [(index, when, o) for index, (when, o) in enumerate(options) if isinstance(o, DictV)]
        if dicts:
            index, when, databases = next((d for d in dicts if d[0] == default), dicts[0])
            condition = None if index == default else when
    if not isinstance(databases, DictV):
        yield ScannedPool(
            file=module.display,
            line=first_line,
            end_line=first_line,
            stack="django",
            call="DATABASES",
            settings={},
            unresolved=[_expr(databases) or "DATABASES"],
            at_import=True,
        )
        return
    for alias, value in databases.items.items():
        value = ev.force(value)
        written = _written_dict(ev, value)  # an alias some branches leave out is still one, for the others
        if written is not None:
            line = written.line if written.file == module.display and written.line else touched.get(alias, first_line)
            end_line = written.end_line if written.file == module.display and written.end_line else line
            unresolved: list[str] = []
            settings = {key: mask(key, leaf(item, ev)) for key, item in flatten(value, ev, "", unresolved).items()}
            yield ScannedPool(
                file=module.display,
                line=line,
                end_line=end_line,
                stack="django",
                call=f"DATABASES[{alias!r}]",
                settings=settings,
                unresolved=unresolved,
                at_import=True,
                condition=condition,
            )
        else:
            yield ScannedPool(
                file=module.display,
                line=first_line,
                end_line=first_line,
                stack="django",
                call=f"DATABASES[{alias!r}]",
                settings={},
                unresolved=[_expr(value) or alias],
                at_import=True,
            )


def _written_dict(ev: Evaluator, value: Any) -> DictV | None:
    """The dict a database's settings are: the value, or (branches) the one with no environment set, else the
    first branch that is one."""
    if isinstance(value, DictV):
        return value
    if not isinstance(value, Branches):
        return None
    options, default = settle_options(ev, value)
    dicts = [option for index, (_, option) in enumerate(options) if isinstance(option, DictV) and index == default]
    dicts += [option for _, option in options if isinstance(option, DictV)]
    return dicts[0] if dicts else None


def effective_databases(ev: Evaluator, module: Module) -> tuple[Any, int, dict[str, int]] | None:
    """DATABASES as this settings module leaves it, its statements run (scan/flow.py): its assignments (or
    what it star-imports), then every `DATABASES["x"]... = ` and `.update()` after them, each under its tests.
    None when the module neither assigns nor changes it."""
    assigned = "DATABASES" in module.assigns
    mutations = [(stmt, cond) for stmt, cond in module.module_statements if _database_path(stmt) is not None]
    if not assigned and not mutations:
        return None
    databases = ev.force(ev.scopes.global_value(module, "DATABASES", module.tree))
    first_line = module.assigns["DATABASES"][-1].line if assigned else mutations[0][0].lineno
    touched: dict[str, int] = {}
    for stmt, _ in mutations:
        path = _database_path(stmt)
        if path:
            touched.setdefault(path[0], stmt.lineno)
    return databases, first_line, touched


def _expr(value: Any) -> str | None:
    return value.expr if isinstance(value, SV) else None


def _database_path(stmt: ast.stmt) -> list[str] | None:
    """`DATABASES["a"]["B"] = v` -> ["a", "B"]; `DATABASES["a"].update(...)` -> ["a"]; else None."""
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
        return _subscript_path(stmt.targets[0], allow_root=False)
    if (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Call)
        and isinstance(stmt.value.func, ast.Attribute)
        and stmt.value.func.attr == "update"
    ):
        return _subscript_path(stmt.value.func.value, allow_root=True)
    return None


def _subscript_path(node: ast.expr, allow_root: bool) -> list[str] | None:
    path: list[str] = []
    while isinstance(node, ast.Subscript):
        if not (isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str)):
            return None
        path.append(node.slice.value)
        node = node.value
    if isinstance(node, ast.Name) and node.id == "DATABASES" and (path or allow_root):
        return path[::-1]
    return None


# --- Flask-SQLAlchemy --------------------------------------------------------------------------------

# Flask-SQLAlchemy 2.x config keys and the create_engine argument each became (3.0 removed them).
LEGACY_KEYS = {
    "SQLALCHEMY_POOL_SIZE": "pool_size",
    "SQLALCHEMY_POOL_TIMEOUT": "pool_timeout",
    "SQLALCHEMY_POOL_RECYCLE": "pool_recycle",
    "SQLALCHEMY_MAX_OVERFLOW": "max_overflow",
}
ENGINE_KEYS = {"SQLALCHEMY_DATABASE_URI": "url", "SQLALCHEMY_ECHO": "echo", **LEGACY_KEYS}
POOL_KEYS = {"SQLALCHEMY_DATABASE_URI", "SQLALCHEMY_ENGINE_OPTIONS", *LEGACY_KEYS}
FLASK_SQLALCHEMY: Final = "flask_sqlalchemy"  # the scan's name for these pools, and the module that makes them
# A module of SQLALCHEMY_* constants is Flask-SQLAlchemy's configuration only in a project that names it.
MENTIONS = (FLASK_SQLALCHEMY.encode(),)


def flask_pools(ev: Evaluator, module: Module) -> Iterator[ScannedPool]:
    if "SQLALCHEMY_" not in module.source:
        return
    # Config classes (class Config: SQLALCHEMY_ENGINE_OPTIONS = {...}), with their project base classes' keys.
    for cls in module.classes.values():
        own = {name for name in ev.scopes.scope_locals(cls) if name in POOL_KEYS}
        if not own:
            continue
        ref = ClassRef(module, cls)
        keys: dict[str, tuple[Any, int]] = {}
        for klass in reversed(ev.classes.class_chain(ref)):
            state = ev.scopes.body_state(klass.module, klass.node) or {}
            for name, assignments in ev.scopes.scope_locals(klass.node).items():
                if not name.startswith("SQLALCHEMY_") or name not in state:
                    continue
                value = ev.force(state[name])
                if isinstance(value, SV) and value.expr == NOT_SET:
                    continue  # under a test that does not hold, the class keeps what its bases give
                keys[name] = (value, assignments[-1].line)
        yield _flask_pool(ev, module, cls.lineno, cls.end_lineno or cls.lineno, f"class {cls.name}", keys)
    # A config module read with from_object / from_pyfile: SQLALCHEMY_* at module level.
    module_keys = {name: assignments for name, assignments in module.assigns.items() if name.startswith("SQLALCHEMY_")}
    if module_keys.keys() & POOL_KEYS and FLASK_SQLALCHEMY.encode() in ev.project.mentions:
        frame = Frame(module)
        keys = {
            name: (ev.scopes.global_value(module, name, module.tree), assignments[-1].line)
            for name, assignments in module_keys.items()
        }
        line = min(line for _, line in keys.values())
        yield _flask_pool(ev, module, line, max(line for _, line in keys.values()), "module config", keys, frame)
    # app.config["SQLALCHEMY_..."] = ... and app.config.update(SQLALCHEMY_...=...), grouped by function.
    for scope, statements in _scopes(module.tree):
        keys = {}
        for stmt in statements:
            for name, value_node in _config_writes(stmt):
                keys[name] = (Thunk(value_node, Frame(module, scope=scope)), stmt.lineno)
        if keys.keys() & POOL_KEYS:
            lines = [line for _, line in keys.values()]
            yield _flask_pool(ev, module, min(lines), max(lines), "app.config", keys)


def _flask_pool(
    ev: Evaluator,
    module: Module,
    line: int,
    end_line: int,
    call: str,
    keys: dict[str, tuple[Any, int]],
    frame: Frame | None = None,
) -> ScannedPool:
    settings: dict[str, Any] = {}
    unresolved: list[str] = []
    for name, (value, _) in sorted(keys.items(), key=lambda item: item[1][1]):
        if name == "SQLALCHEMY_ENGINE_OPTIONS":
            forced = ev.force(value)
            if isinstance(forced, (DictV, Branches)):
                settings.update(flatten(forced, ev, "", unresolved))
            else:
                unresolved.append(f"SQLALCHEMY_ENGINE_OPTIONS: {_expr(forced) or '?'}")
        else:
            settings[ENGINE_KEYS.get(name, name)] = leaf(value, ev)
    return ScannedPool(
        file=module.display,
        line=line,
        end_line=end_line,
        stack=FLASK_SQLALCHEMY,
        call=call,
        settings={k: mask(k, leaf(v, ev)) for k, v in settings.items()},
        unresolved=unresolved,
    )


def _scopes(tree: ast.Module) -> Iterator[tuple[FunctionNode | None, list[ast.stmt]]]:
    """The module's own statements, then each function's, never descending into a nested function."""
    todo: list[tuple[FunctionNode | None, list[ast.stmt]]] = [(None, tree.body)]
    while todo:
        scope, body = todo.pop()
        flat: list[ast.stmt] = []
        stack = list(body)
        while stack:
            stmt = stack.pop(0)
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                todo.append((stmt, stmt.body))
                continue
            if isinstance(stmt, ast.ClassDef):
                todo.extend((None, [s]) for s in stmt.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)))
                continue
            flat.append(stmt)
            for block in ("body", "orelse", "finalbody"):
                stack.extend(getattr(stmt, block, []))
            for handler in getattr(stmt, "handlers", []):
                stack.extend(handler.body)
        yield scope, flat


def _config_writes(stmt: ast.stmt) -> Iterator[tuple[str, ast.expr]]:
    if isinstance(stmt, ast.Assign):
        for target in stmt.targets:
            if (
                isinstance(target, ast.Subscript)
                and _is_config(target.value)
                and isinstance(target.slice, ast.Constant)
                and isinstance(target.slice.value, str)
                and target.slice.value.startswith("SQLALCHEMY_")
            ):
                yield target.slice.value, stmt.value
    elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        call = stmt.value
        if (
            isinstance(call.func, ast.Attribute)
            and call.func.attr in ("update", "from_mapping", "setdefault")
            and _is_config(call.func.value)
        ):
            if call.func.attr == "setdefault" and len(call.args) == 2 and isinstance(call.args[0], ast.Constant):
                if str(call.args[0].value).startswith("SQLALCHEMY_"):
                    yield str(call.args[0].value), call.args[1]
                return
            for kw in call.keywords:
                if kw.arg and kw.arg.startswith("SQLALCHEMY_"):
                    yield kw.arg, kw.value
            for arg in call.args:
                if isinstance(arg, ast.Dict):
                    for key, value in zip(arg.keys, arg.values):
                        if isinstance(key, ast.Constant) and str(key.value).startswith("SQLALCHEMY_"):
                            yield str(key.value), value


def _is_config(node: ast.expr) -> bool:
    parts = dotted_parts(node)
    return parts is not None and len(parts) >= 2 and parts[-1] == "config"
