"""Which of a function's values come from its parameters (a wrapper's pool call that takes them is a pool at each
caller): the parameters, the `self.x` its instance's maker gives, and every name the function sets from them."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from typing import Any

from pool_doctor.scan.finder import FunctionNode, dotted_parts
from pool_doctor.scan.kinds import SV, is_known
from pool_doctor.scan.nodes import MUTATORS, is_dataclass


def init_attributes(cls: ast.ClassDef) -> set[str]:
    """The `self.x` a class's `__init__` sets from its parameters: whoever makes the instance gives them (a
    dataclass's: each field, as its generated `__init__` takes them; advanced-alchemy's engine configs)."""
    init = next((s for s in cls.body if isinstance(s, ast.FunctionDef) and s.name == "__init__"), None)
    if init is None and is_dataclass(cls):
        return {
            f"self.{s.target.id}" for s in cls.body if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
        }
    if init is None:
        return set()
    tainted = _tainted(init, set())
    return {name for name in tainted if name.startswith("self.")}


def uses_parameters(call: ast.Call, func: FunctionNode, given: frozenset[str] | set[str] = frozenset()) -> bool:
    """Whether the call's arguments take a value from the function's parameters, directly or through the
    locals (and `self.x`) the function builds from them: `kwargs = {**DEFAULTS, **options}`; `given`: the
    `self.x` its instance's maker gives (a method's pool call reading them is the class's caller's)."""
    tainted = _tainted(func, given)
    return any(_reads(node) & tainted for node in [*call.args, *(kw.value for kw in call.keywords)])


def _tainted(func: FunctionNode, given: frozenset[str] | set[str]) -> set[str]:
    """The function's parameters and `given`, with every name the function sets from them."""
    args = func.args
    tainted = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)} | given
    if args.vararg is not None:
        tainted.add(args.vararg.arg)
    if args.kwarg is not None:
        tainted.add(args.kwarg.arg)
    tainted -= {"self", "cls"}
    flows = list(_flows(func))
    changed = True
    while changed:
        changed = False
        for targets, value in flows:
            if not targets <= tainted and _reads(value) & tainted:
                tainted |= targets
                changed = True
    return tainted


def _flows(func: FunctionNode) -> Iterator[tuple[set[str], ast.AST]]:
    """(names a statement sets, what it sets them from) for each statement of the function."""
    for node in ast.walk(func):
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = {name for target in targets for name in _written(target)}
            yield names, node.value
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            yield set(_written(node.target)), node.iter
        elif isinstance(node, ast.NamedExpr):
            yield set(_written(node.target)), node.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in MUTATORS:
            yield set(_written(node.func.value)) - {"self", "cls"}, node


def _written(target: ast.AST) -> Iterator[str]:
    while isinstance(target, ast.Subscript):
        target = target.value
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, ast.Attribute):
        parts = dotted_parts(target)
        if parts is not None:
            yield ".".join(parts[:2])
    elif isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from _written(element)


def _reads(node: ast.AST) -> set[str]:
    found = set()
    for inner in ast.walk(node):
        if isinstance(inner, ast.Name):
            found.add(inner.id)
        elif isinstance(inner, ast.Attribute):
            parts = dotted_parts(inner)
            if parts is not None and len(parts) >= 2:
                found.add(".".join(parts[:2]))
    return found


def keeps(func: FunctionNode) -> bool:
    """Whether the function may keep something for its later calls, so that its callers may share one pool: a
    decorator that keeps what it returns (`functools.cache`, `lru_cache`, a project's `@singleton`), a `global`
    or `nonlocal` it sets, or a store into anything but a local (`_State.engine = ...`, `_cache["engine"] = ...`:
    fides' get_api_session, and every way of caching a fixed factory might use)."""
    texts = (ast.unparse(d).lower() for d in func.decorator_list)
    if any(word in text for text in texts for word in ("cache", "memo", "once", "singleton")):
        return True
    local = {n.id for n in ast.walk(func) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    for node in ast.walk(func):
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            return True
        if isinstance(node, (ast.Attribute, ast.Subscript)) and isinstance(node.ctx, ast.Store):
            root = node.value
            while isinstance(root, (ast.Attribute, ast.Subscript)):
                root = root.value
            if not (isinstance(root, ast.Name) and root.id in local):
                return True
    return False


def memoized(func: FunctionNode, call: ast.Call) -> bool:
    """Whether the function keeps the pool it makes and makes it only under a test of where it keeps it: `if
    self.pool is None: self.pool = await create_pool(...)` (a lazy getter every other method calls,
    python-vector's connect()), or the same on a global (bunkerweb's `get_db()`). Its callers share that one pool:
    none makes another. A local (`_engine = create_engine(...)` under `if _engine is None:`) outlives nothing, and
    `__init__`'s `self.x` is made again with each instance."""
    params = [*func.args.posonlyargs, *func.args.args]
    first = params[0].arg if params and func.name not in ("__init__", "__post_init__") else None
    shared = {name for node in ast.walk(func) if isinstance(node, (ast.Global, ast.Nonlocal)) for name in node.names}
    kept = {f"{first}.{name}" for name in _attributes(func, first)} | shared  # what outlives the call
    for test in ast.walk(func):
        if not isinstance(test, ast.If):
            continue
        tested = _read_in(test.test)
        if any(_stores_call(stmt, call, tested & kept) for part in test.body for stmt in ast.walk(part)):
            return True
    returned: set[str] = set()  # the early-return form: `if runtime.engine is not None: return`, then the call
    for stmt in _in_order(func.body):
        if isinstance(stmt, ast.If) and stmt.body and isinstance(stmt.body[-1], ast.Return):
            returned |= _read_in(stmt.test)
        if _stores_call(stmt, call, returned & kept):
            return True
    return False


def _read_in(test: ast.expr) -> set[str]:
    return {ast.unparse(n) for n in ast.walk(test) if isinstance(n, (ast.Attribute, ast.Name))}


def _stores_call(stmt: ast.AST, call: ast.Call, into: set[str]) -> bool:
    """Whether the statement stores the call's result (awaited or not) into one of `into`."""
    if not isinstance(stmt, (ast.Assign, ast.AnnAssign)) or not into:
        return False
    value = stmt.value
    if not (value is call or (isinstance(value, ast.Await) and value.value is call)):
        return False
    return any(
        ast.unparse(target) in into for target in (stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target])
    )


def _attributes(func: FunctionNode, holder: str | None) -> set[str]:
    """The attributes the function sets on `holder` (its `self`, or a classmethod's `cls`)."""
    return {
        node.attr
        for node in ast.walk(func)
        if holder is not None
        and isinstance(node, ast.Attribute)
        and isinstance(node.ctx, ast.Store)
        and isinstance(node.value, ast.Name)
        and node.value.id == holder
    }


def memo_key(func: ast.AST, call: ast.Call, cls: ast.ClassDef | None) -> ast.expr | None:
    """The key a function keeps each pool it makes under, where it makes one only when a dict every caller shares
    lacks that key: `if url not in self._connections: ...create_engine(url)...; self._connections[url] = ...`
    with `_connections = {}` on the class, never set on an instance (pyramid_oereb's adapter), or a module's
    global dict. Callers that give the same key share that pool. None for any other function."""
    local = {n.id for n in ast.walk(func) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    fields = cls is not None and (
        is_dataclass(cls) or any(w in ast.unparse(b) for b in cls.bases for w in ("Model", "Settings"))
    )
    on_class = {  # (a dataclass's or a model's annotated names are each instance's fields)
        t.id
        for s in (cls.body if cls else [])
        for t in (s.targets if isinstance(s, ast.Assign) else [s.target] if isinstance(s, ast.AnnAssign) else [])
        if isinstance(t, ast.Name) and not (fields and isinstance(s, ast.AnnAssign))
    }
    per_instance = {  # set on an instance (`self._engines = {}`); a classmethod's `cls._engines = {}` is the class's
        n.attr
        for n in ast.walk(cls or ast.Module([], []))
        if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store) and ast.unparse(n.value) == "self"
    }

    def shared(kept: ast.expr) -> bool:  # a dict every caller sees, not a local nor each instance's own
        if isinstance(kept, ast.Name):
            return kept.id not in local
        return isinstance(kept, ast.Attribute) and kept.attr in on_class and kept.attr not in per_instance

    def stored(body: list[ast.stmt], where: str, key: str) -> bool:  # `where[key] = ...` in the body
        stores = [t for n in _walk(body) if isinstance(n, ast.Assign) for t in n.targets]
        return any(
            isinstance(t, ast.Subscript) and (ast.unparse(t.value), ast.unparse(t.slice)) == (where, key)
            for t in stores
        )

    for test in ast.walk(func):
        if not (isinstance(test, ast.If) and isinstance(test.test, ast.Compare) and len(test.test.ops) == 1):
            continue
        kept = test.test.comparators[0]
        if not isinstance(test.test.ops[0], ast.NotIn) or not shared(kept):
            continue
        if any(call is n for n in _walk(test.body)) and stored(
            test.body, ast.unparse(kept), ast.unparse(test.test.left)
        ):
            return test.test.left
    return _returned_early(func, call, shared, stored)


def _returned_early(
    func: ast.AST,
    call: ast.Call,
    shared: Callable[[ast.expr], bool],
    stored: Callable[[list[ast.stmt], str, str], bool],
) -> ast.expr | None:
    """The key of a function that returns what a shared dict keeps under it before making one: `engine =
    _engines.get(url)` then `if engine: return engine`, or `if url in _engines: return _engines[url]`, then the
    pool call and `_engines[url] = ...` (CKAN's datastore engines)."""
    body = list(_in_order(func.body)) if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)) else []
    got: dict[str, tuple[ast.expr, ast.expr]] = {}  # a local set from `dict.get(key)`: (the dict, the key)
    for index, stmt in enumerate(body):
        value = stmt.value if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 else None
        if (
            isinstance(value, ast.Call)
            and isinstance(value.func, ast.Attribute)
            and value.func.attr == "get"
            and value.args
            and isinstance(stmt, ast.Assign)
            and isinstance(stmt.targets[0], ast.Name)
        ):
            got[stmt.targets[0].id] = (value.func.value, value.args[0])
        if not (isinstance(stmt, ast.If) and stmt.body and isinstance(stmt.body[-1], ast.Return)):
            continue
        test = stmt.test
        found = None
        if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.In):
            found = (test.comparators[0], test.left)
        else:
            name = test.left if isinstance(test, ast.Compare) and isinstance(test.ops[0], ast.IsNot) else test
            found = got.get(name.id) if isinstance(name, ast.Name) else None
        rest = body[index + 1 :]
        made = any(call is n for n in _walk(rest))
        if found is not None and shared(found[0]) and made and stored(rest, *map(ast.unparse, found)):
            return found[1]
    return None


def kept_under(key: Any) -> str | None:
    """What a pool kept by key is kept under: the key's value, or for one read at run time the place and text
    that read it, where that text names no variable (each caller reaching the same `config["read_url"]` gets the
    same pool; `config[role]` is another key for each role); None: not known."""
    if is_known(key):  # (a default two variables share is two keys where they are set)
        return repr(key.value) + (f" ${key.env}" if key.env else "")
    if not (isinstance(key, SV) and key.from_ and key.expr):
        return None
    try:
        tree = ast.parse(key.expr, mode="eval")
    except SyntaxError:
        return None
    varying = [
        part
        for node in ast.walk(tree)
        for part in (
            [node.slice]
            if isinstance(node, ast.Subscript)
            else [*node.args, *(k.value for k in node.keywords)]
            if isinstance(node, ast.Call)
            else []
        )
        if any(isinstance(inner, ast.Name) for inner in ast.walk(part))
    ]
    return None if varying else f"{key.from_} {key.expr}"


def _in_order(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements in the order they run, into `with` and `try` bodies (onyx's check again under a lock)."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, (ast.With, ast.AsyncWith, ast.Try, ast.TryStar)):
            yield from _in_order(stmt.body)


def _walk(body: list[ast.stmt]) -> Iterator[ast.AST]:
    for stmt in body:
        yield from ast.walk(stmt)
