"""SQLAlchemy's own recipes for testing a connection at checkout, written as event listeners (the way before
`pool_pre_ping`, SQLAlchemy 1.2): a `"checkout"` listener that runs a statement and, when it fails, raises
`DisconnectionError`, which makes the pool replace the connection and try again (pool/base.py,
`_ConnectionFairy._checkout`); an `"engine_connect"` listener that runs a statement again when the error says
`connection_invalidated`. A pool such a listener is on checks its connections as `pool_pre_ping=True` does, and
is reported so, from the listener's line.

A listener that raises `DisconnectionError` without running a statement is no test of the connection (the
multiprocessing recipe compares process ids): it is not one of these, nor one that reads `connection_invalidated`
and runs nothing again. Only a listener registered whenever its scope runs counts (a statement of the function's
or module's own body, under no `if`). Which pools it is on: its target names the engine a pool call was last
assigned to before it, in the same function (or module); or, at a module's top, it is SQLAlchemy's `Pool` or
`Engine` class, for the pools of its own module and of the modules that import it (a process that makes the
pool has then registered it).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import replace

from pool_doctor.scan.finder import FunctionNode, Module, Project
from pool_doctor.scan.model import ScannedPool, ScannedValue
from pool_doctor.scan.names import dotted_parts, last_name
from pool_doctor.scan.nodes import own_nodes

EVENTS = {"checkout": "DisconnectionError", "engine_connect": "connection_invalidated"}
STATEMENTS = {"execute", "scalar", "exec_driver_sql", "ping"}  # what runs a statement (or pings) on a connection
CLASSES = {"Pool", "QueuePool", "Engine"}  # a listener on the class: every pool (or engine) made after it
SYNC_CALLS = {"sqlalchemy.create_engine", "sqlalchemy.engine_from_config"}  # (not the async ones')
LIBRARY = {"sqlalchemy"}

Listener = tuple[Module, ast.expr, ast.AST, FunctionNode | ast.Module]  # target, where it is given, its scope


def pinged(project: Project, pools: list[ScannedPool]) -> list[ScannedPool]:
    """The pools a listener of these recipes is on, with `pool_pre_ping` True from the listener's line."""
    modules = [m for m in project.modules.values() if m is not None and not m.aside and "listen" in m.source]
    found = [listener for module in modules for listener in _listeners(module)]
    if not found:
        return pools
    by_file = {m.display: m for m in project.modules.values() if m is not None}
    return [_with_ping(pool, found, by_file) for pool in pools]


def _with_ping(pool: ScannedPool, found: list[Listener], by_file: dict[str, Module]) -> ScannedPool:
    if pool.call not in SYNC_CALLS:
        return pool
    current = pool.get("pool_pre_ping")
    if current is not None and current.known and current.value is True:
        return pool
    places = [
        (pool.file, pool.line),
        *((f, int(n)) for f, _, n in (v.rpartition(":") for v in pool.via) if n.isdigit()),
    ]
    for module, target, given, scope in found:
        if _on(module, target, scope, places, by_file):
            value = ScannedValue(True, module.where(given), source=module.segment(given))
            return replace(pool, settings={**pool.settings, "pool_pre_ping": value})
    return pool


def _on(
    module: Module,
    target: ast.expr,
    scope: FunctionNode | ast.Module,
    places: list[tuple[str, int]],
    by_file: dict[str, Module],
) -> bool:
    name = last_name(target)
    dotted = module.imports.get(name or "", module.imports.get((dotted_parts(target) or [""])[0], ""))
    if name in CLASSES and dotted.partition(".")[0] in LIBRARY:
        return isinstance(scope, ast.Module) and any(_imports(by_file.get(file), module) for file, _ in places)
    text = ast.unparse(target).removesuffix(".pool")
    lines = {line for file, line in places if file == module.display}
    bound = [
        node
        for node in own_nodes(scope)
        if isinstance(node, ast.Assign)
        and node.lineno < target.lineno
        and any(ast.unparse(t) == text for t in node.targets)
    ]  # (the engines the name may hold where the listener is registered: no assignment of the scope's own body
    # after theirs, each side of an `if` before it)
    always = [node.lineno for node in bound if node in scope.body]
    return any(node.value.lineno in lines and not any(node.lineno < at for at in always) for node in bound)


def _listeners(module: Module) -> Iterator[Listener]:
    """`@event.listens_for(target, "checkout")` on a function, or `event.listen(target, "checkout", function)`,
    whose function is one of the recipes."""
    scopes: list[FunctionNode | ast.Module] = [module.tree]
    scopes += [n for n in ast.walk(module.tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    for scope in scopes:
        functions = {n.name: n for n in own_nodes(scope) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        for node in _always(scope):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for decorator in node.decorator_list:
                    event = _event(decorator, "listens_for")
                    if event is not None and isinstance(decorator, ast.Call) and _tests(node, event):
                        yield module, decorator.args[0], decorator, scope
            elif isinstance(node, ast.Call) and (event := _event(node, "listen")) is not None and len(node.args) > 2:
                handler = node.args[2]
                function = functions.get(handler.id) if isinstance(handler, ast.Name) else None
                if function is not None and _tests(function, event):
                    yield module, node.args[0], node, scope


def _event(node: ast.AST, call: str) -> str | None:
    if not isinstance(node, ast.Call) or last_name(node.func) != call or len(node.args) < 2:
        return None
    given = node.args[1]
    return given.value if isinstance(given, ast.Constant) and given.value in EVENTS else None


def _tests(function: FunctionNode, event: str) -> bool:
    """Whether the function runs a statement in a `try` whose handler raises DisconnectionError (checkout), or
    reads `connection_invalidated` and runs a statement again (engine_connect)."""
    sign = EVENTS[event]
    for node in ast.walk(function):
        if not isinstance(node, ast.Try) or not any(_runs(statement) for statement in node.body):
            continue
        for handler in node.handlers:
            if event == "checkout" and any(
                isinstance(n, ast.Raise) and n.exc is not None and last_name(_called(n.exc)) == sign
                for n in ast.walk(handler)
            ):
                return True
            reads = any(isinstance(n, ast.Attribute) and n.attr == sign for n in ast.walk(handler))
            if event == "engine_connect" and reads and any(_runs(statement) for statement in handler.body):
                return True  # (`if err.connection_invalidated:` and the statement again, or `if not ...: raise`)
    return False


def _runs(node: ast.AST) -> bool:
    """Whether the node runs a statement on a connection (`cursor.execute(...)`, `connection.scalar(...)`)."""
    return any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in STATEMENTS
        for n in ast.walk(node)
    )


def _always(scope: FunctionNode | ast.Module) -> Iterator[ast.AST]:
    """The scope's own statements that run whenever it does (under no `if`, loop or `try`), and the calls they
    are or hold."""
    for statement in scope.body:
        yield statement
        if isinstance(statement, ast.Expr):
            yield from (n for n in ast.walk(statement.value) if isinstance(n, ast.Call))


def _called(node: ast.expr) -> ast.expr:
    return node.func if isinstance(node, ast.Call) else node


def _imports(module: Module | None, other: Module) -> bool:
    """The same module, or `module` imports `other` (or a name of it)."""
    if module is None:
        return False
    name = other.import_name or other.name
    return module is other or any(t == name or t.startswith(f"{name}.") for t in module.imports.values())
