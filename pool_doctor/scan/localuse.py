"""Whether a function keeps the pool a call of it makes to itself: the call's result is dropped, or held in a
local that is never returned, yielded, stored beyond the function's locals, captured by a nested function, nor
made into something that is (a connection it opens, a session factory bound to it). Handing it to a function
(`existing_table_names(engine)`) is using it. A project function that makes, uses and disposes its own engine
(FlaskApp's migration script's `run(database_url)`) is no factory: its pool is at its own line."""

from __future__ import annotations

import ast

from pool_doctor.scan.finder import FunctionNode

# what holds the engine it is given: SQLAlchemy's session makers and sessions, a MetaData bound to it
# what a method of it opens that holds its pool (a connection, a transaction, an engine with other options)
OPENS = {"connect", "begin", "acquire", "raw_connection", "execution_options", "connection", "cursor", "transaction"}
HOLDERS = {"sessionmaker", "async_sessionmaker", "Session", "AsyncSession", "scoped_session", "create_session"}


def keeps_to_itself(func: FunctionNode, call: ast.Call) -> bool:
    """Whether what `call` (a call in the function's body) gives stays in the function."""
    parents = {child: node for node in ast.walk(func) for child in ast.iter_child_nodes(node)}
    made: ast.AST = call
    if isinstance(parents.get(call), ast.Await):
        made = parents[call]  # (`await create_pool(...)`)
    held = parents.get(made)
    if isinstance(held, ast.Expr):
        return True
    tainted = _bound(held)
    if tainted is None:
        return False
    while True:  # what is made of it, by assignment, is it too
        more: set[str] = set()
        for node in ast.walk(func):
            named = _made_of(node, tainted)
            if named is None:
                return False  # (stored beyond the locals)
            more |= named
        if more <= tainted:
            break
        tainted |= more
    return not any(_escapes(node, tainted) for node in ast.walk(func) if node is not func)


def _bound(held: ast.AST | None) -> set[str] | None:
    if isinstance(held, ast.Assign) and len(held.targets) == 1 and isinstance(held.targets[0], ast.Name):
        return {held.targets[0].id}
    if isinstance(held, ast.AnnAssign) and isinstance(held.target, ast.Name):
        return {held.target.id}
    if isinstance(held, ast.withitem) and isinstance(held.optional_vars, ast.Name):
        return {held.optional_vars.id}
    return None


def _made_of(node: ast.AST, tainted: set[str]) -> set[str] | None:
    """The locals a statement binds to something holding a tainted name (None: it stores one beyond them)."""
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None and _holds(node.value, tainted):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    elif isinstance(node, ast.withitem) and node.optional_vars is not None and _holds(node.context_expr, tainted):
        targets = [node.optional_vars]
    names = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    stores = [n for t in targets for n in ast.walk(t) if isinstance(n, ast.Attribute | ast.Subscript)]
    return None if stores else names


def _holds(value: ast.expr, tainted: set[str]) -> bool:
    """Whether a value is, or holds, a tainted name: itself, a method's result on it (`engine.connect()`), a
    container of it, a holder made with it (`sessionmaker(bind=engine)`); not what a function computes from it."""
    if isinstance(value, ast.Name):
        return value.id in tainted
    if isinstance(value, ast.Await):
        return _holds(value.value, tainted)
    if isinstance(value, ast.Attribute):
        return value.attr in OPENS and _holds(value.value, tainted)
    if isinstance(value, ast.Call):
        name = value.func.attr if isinstance(value.func, ast.Attribute) else getattr(value.func, "id", "")
        given = [*value.args, *(k.value for k in value.keywords)]
        bound = any(k.arg == "bind" and _holds(k.value, tainted) for k in value.keywords)
        return _holds(value.func, tainted) or bound or (name in HOLDERS and any(_holds(a, tainted) for a in given))
    if isinstance(value, ast.Tuple | ast.List | ast.Set):
        return any(_holds(e, tainted) for e in value.elts)
    if isinstance(value, ast.Dict):
        return any(_holds(v, tainted) for v in value.values)
    return False


def _escapes(node: ast.AST, tainted: set[str]) -> bool:
    if isinstance(node, ast.Return | ast.Yield | ast.YieldFrom) and node.value is not None:
        return _holds(node.value, tainted)
    if isinstance(node, ast.Global | ast.Nonlocal):
        return bool(tainted & set(node.names))
    if isinstance(node, ast.Lambda | ast.FunctionDef | ast.AsyncFunctionDef):  # (a closure over it)
        return any(isinstance(n, ast.Name) and n.id in tainted for n in ast.walk(node))
    return False
