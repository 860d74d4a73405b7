"""Whether a function keeps the pool a call of it makes to itself: the call's result is dropped, or held in a
local the function only calls methods of (`engine.dispose()`), opens connections of that stay local too, and
hands only to calls that keep nothing of it: a function of the same module that keeps it to itself in turn, or a
library call that binds nothing to it (`metadata.create_all(engine)`, not `Session.configure(bind=engine)`).
Returned, yielded, stored, captured by a nested function, handed to a class or to a function from elsewhere: it
leaves. A project function that makes, uses and disposes its own engine (FlaskApp's migration script's
`run(database_url)`) is no factory: its pool is at its own line."""

from __future__ import annotations

import ast

from pool_doctor.scan.finder import FunctionNode, Module
from pool_doctor.scan.names import last_name
from pool_doctor.scan.nodes import MUTATORS

# what a method of a pool opens that holds it (a connection, a transaction, an engine with other options)
OPENS = {"connect", "begin", "acquire", "raw_connection", "execution_options", "connection", "cursor", "transaction"}
# what keeps the engine it is given: SQLAlchemy's session makers and sessions
HOLDERS = {"sessionmaker", "async_sessionmaker", "Session", "AsyncSession", "scoped_session", "create_session"}
# what stores what it is handed (a container's, an object's, a registry's)
KEEPS = {"add", "insert", "setattr", "configure", "register", "put", "put_nowait", "set"}
DEPTH = 3  # functions handed it, each in turn
MAX_UP = 6  # folders above a module a project import may start from


def keeps_to_itself(module: Module, func: FunctionNode, call: ast.Call) -> bool:
    """Whether what `call` (a call in the function's body) gives stays in the function."""
    parents = _parents(func)
    made: ast.AST = call
    if isinstance(parents.get(call), ast.Await):
        made = parents[call]  # (`await create_pool(...)`)
    held = parents.get(made)
    if isinstance(held, ast.Expr):
        return True
    names = _bound(held)
    return names is not None and _stays(module, func, names, parents, 0)


def _parents(func: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(func) for child in ast.iter_child_nodes(node)}


def _bound(held: ast.AST | None) -> set[str] | None:
    """The local a statement holds the call's value in (`engine = ...`, `with ... as engine`); None: elsewhere."""
    targets = _targets(held)
    return {targets[0].id} if len(targets) == 1 and isinstance(targets[0], ast.Name) else None


def _stays(module: Module, func: FunctionNode, names: set[str], parents: dict[ast.AST, ast.AST], depth: int) -> bool:
    """Whether the locals `names` (and what they open) stay in the function."""
    tainted, seen = set(names), -1
    while len(tainted) != seen:
        seen = len(tainted)
        for node in ast.walk(func):
            if isinstance(node, ast.Name) and node.id in tainted and isinstance(node.ctx, ast.Load):
                use = None if _returned(node, parents) else _use(module, node, parents, depth)
                if use is None:
                    return False
                tainted |= use
    shared = {name for n in ast.walk(func) if isinstance(n, ast.Global | ast.Nonlocal) for name in n.names}
    return not tainted & shared


def _returned(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Whether the read sits in what the function returns or yields (`return Repo(engine)`)."""
    current = parents.get(node)
    while current is not None and not isinstance(current, ast.stmt):
        if isinstance(current, ast.Yield | ast.YieldFrom):
            return True
        current = parents.get(current)
    return isinstance(current, ast.Return)


def _use(module: Module, node: ast.expr, parents: dict[ast.AST, ast.AST], depth: int) -> set[str] | None:
    """What one read of a held name leads to: the locals it is then held in too (an empty set: none), or None
    where it leaves the function."""
    current: ast.AST = node
    while True:
        parent = parents.get(current)
        if isinstance(parent, ast.Attribute):  # `engine.x`: a method's result holds it only when it opens one
            call = parents.get(parent)
            if not (isinstance(call, ast.Call) and call.func is parent and parent.attr in OPENS):
                return set()
            current = call
            continue
        if isinstance(parent, ast.keyword):  # (`bind=engine` to a call that is no method's: `MetaData(bind=...)`)
            bound = parent.arg == "bind"
            parent = parents.get(parent)
            if bound and not (isinstance(parent, ast.Call) and isinstance(parent.func, ast.Attribute)):
                return None
        if isinstance(parent, ast.Call) and current is not parent.func:
            return set() if _handed_and_kept(module, parent, current, parents, depth) else None
        if isinstance(parent, ast.Await | ast.Tuple | ast.List | ast.Set | ast.Dict | ast.IfExp | ast.BoolOp):
            current = parent  # (in a container, or an expression giving it: what holds that holds it)
            continue
        if isinstance(parent, ast.Assign | ast.AnnAssign | ast.withitem):
            targets = _targets(parent)
            names = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
            stores = any(isinstance(n, ast.Attribute | ast.Subscript) for t in targets for n in ast.walk(t))
            return None if stores else names
        if isinstance(parent, ast.Lambda | ast.NamedExpr | ast.Starred):  # (a return or yield: _returned)
            return None
        if isinstance(parent, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) or parent is None:
            return None  # (read inside a nested function: a closure over it)
        if isinstance(parent, ast.stmt):
            return set()  # (`if engine:`, `del engine`, an expression statement)
        current = parent


def _targets(held: ast.AST | None) -> list[ast.expr]:
    """What an assignment or a `with` item binds (none for anything else)."""
    if isinstance(held, ast.Assign):
        return list(held.targets)
    if isinstance(held, ast.AnnAssign):
        return [held.target]
    return [held.optional_vars] if isinstance(held, ast.withitem) and held.optional_vars is not None else []


def _handed_and_kept(
    module: Module, call: ast.Call, given: ast.AST, parents: dict[ast.AST, ast.AST], depth: int
) -> bool:
    """Whether a call handed the held value keeps nothing of it: a function of the module that keeps it to itself
    (its parameter in turn), or a library's call that binds nothing to it."""
    func = call.func
    name = last_name(func)
    if name is None or name in HOLDERS | KEEPS | MUTATORS or name in module.classes or name[:1].isupper():
        return False  # (a class made with it keeps it: `Repo(engine)`, `sa.MetaData(bind=engine)`)
    callee = module.functions.get(name) if isinstance(func, ast.Name) else None
    if callee is None:
        return isinstance(func, ast.Attribute) or name not in module.imports or _library(module, name)
    if depth >= DEPTH or isinstance(callee, ast.Lambda):
        return False
    params = [a.arg for a in (*callee.args.posonlyargs, *callee.args.args)]
    keyword = parents.get(given)
    if isinstance(keyword, ast.keyword):
        param = keyword.arg
    else:
        at = next((i for i, a in enumerate(call.args) if a is given), None)
        param = params[at] if at is not None and at < len(params) else None
    if param is None or param not in params + [a.arg for a in callee.args.kwonlyargs]:
        return False
    return _stays(module, callee, {param}, _parents(callee), depth + 1)


def _library(module: Module, name: str) -> bool:
    """A name the module imports from a library (`from sqlalchemy import inspect`), not from the project: no
    module or package of that name sits beside it or in a folder above it."""
    dotted = module.imports.get(name, "")
    top = dotted.split(".", 1)[0]
    if not top:
        return False  # (a relative import: the project's)
    folders = list(module.path.parents)[:MAX_UP]
    return not any((folder / top).is_dir() or (folder / f"{top}.py").is_file() for folder in folders)
