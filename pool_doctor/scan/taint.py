"""Which of a function's values come from its parameters (a wrapper's pool call that takes them is a pool at each
caller): the parameters, the `self.x` its instance's maker gives, and every name the function sets from them."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from pool_doctor.scan.eventloops import per_loop
from pool_doctor.scan.finder import CallSite, FunctionNode, Module, Project, dotted_parts, last_name, read_source
from pool_doctor.scan.kinds import SV, Branches, ClassRef, is_known
from pool_doctor.scan.nodes import (
    MUTATORS,
    aliases,
    assign_targets,
    first_parameter,
    is_dataclass,
    keyed_items,
    own_nodes,
    parameter_names,
)

MEMO_WORDS = ("cache", "memo", "once", "singleton")  # a decorator so named keeps what its function returns
# What changes its receiver from its arguments: a dict's methods, and a Flask config's loaders
# (`app.config.from_object(config)` makes the app's config the parameter's)
CHANGERS = MUTATORS | {"from_object", "from_mapping", "from_pyfile", "from_envvar", "from_file"}


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


def uses_parameters(
    call: ast.Call | list[ast.expr],
    func: FunctionNode,
    given: frozenset[str] | set[str] = frozenset(),
    params: bool = True,
) -> bool:
    """Whether the call's arguments (or these expressions: tests) take a value from the function's parameters,
    directly or through the locals (and `self.x`) the function builds from them: `kwargs = {**DEFAULTS,
    **options}`; `given`: the `self.x` its instance's maker gives (a method's pool call reading them is the class's
    caller's); with `params` false, from `given` alone."""
    read = [*call.args, *(kw.value for kw in call.keywords)] if isinstance(call, ast.Call) else call
    tainted = _tainted(func, given, params)
    return any(_reads(node) & tainted for node in read)


def _tainted(func: FunctionNode, given: frozenset[str] | set[str], params: bool = True) -> set[str]:
    """The function's parameters (with `params`) and `given`, with every name the function sets from them."""
    args = func.args
    own = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg] if params else []
    tainted = {a.arg for a in own if a is not None} | given
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
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in CHANGERS:
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


def keeps(func: FunctionNode, cls: ast.ClassDef | None, module: Module, elsewhere: Callable[[], set[str]]) -> bool:
    """Whether the function's callers may share one pool. A method of an instance (`cls`: the method's class) may;
    a module's function, or a class or static method of a module's class, is reached alike by every caller, and
    they share one where it may keep something for its later calls: a decorator that keeps what it returns
    (`functools.cache`, `lru_cache`, a project's `@singleton`), or a `global`, `nonlocal` or store into anything
    but a local (`_State.engine = ...`, `_cache["engine"] = ...`: fides' get_api_session) that something reads
    back to decide: the function before the store (`_e = _e or ...`, an early return through a local), or a test
    anywhere in the module (`if _State.engine is None: init()`; a method's `cls._pool` is the `Owner._pool` a
    test reads). A store nothing tests (`cls._pool = await create_pool(...)`, each call opening a pool again)
    keeps nothing."""
    if cls is None and module.functions.get(func.name) is not func:
        return True
    if cls is not None:
        methods = {ast.unparse(d) for d in func.decorator_list} & {"classmethod", "staticmethod"}
        if not methods or module.classes.get(cls.name) is not cls:
            return True
    owner, tree = cls.name if cls is not None else None, module.tree
    texts = (ast.unparse(d).lower() for d in func.decorator_list)
    if any(word in text for text in texts for word in MEMO_WORDS):
        return True
    local = {n.id for n in ast.walk(func) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    shared = {name for n in ast.walk(func) if isinstance(n, (ast.Global, ast.Nonlocal)) for name in n.names}
    tested: set[str] | None = None
    for node in ast.walk(func):
        stored: set[str] = set()
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id in shared:
            stored = {node.id, f"{module.name.rsplit('.', 1)[-1]}.{node.id}"}  # (`db.engine` in an importer)
        elif isinstance(node, (ast.Attribute, ast.Subscript)) and isinstance(node.ctx, ast.Store):
            root = node.value
            while isinstance(root, (ast.Attribute, ast.Subscript)):
                root = root.value
            if isinstance(root, ast.Name) and root.id in local:
                continue
            name = _kept_name(node, owner)
            if name is None:
                return True  # (`_cache[key] = ...`: by a key the scan does not read)
            # a dict's key is tested as itself or as the dict (`if not _cache:`)
            stored = {name, ast.unparse(node.value)} if isinstance(node, ast.Subscript) else {name}
        if not stored:
            continue
        if tested is None:  # (a test in this module, or another's of a qualified name: `if DB.pool is None:`)
            own = {name for test, cls in _tests(tree, None) for name in _names_read(test, cls)}
            tested = own | {name for name in elsewhere() if "." in name}
        if stored & tested or any(stored & _names_read(n, owner) for n in _before(func, node)):
            return True
    return False


def _kept_name(target: ast.Attribute | ast.Subscript, owner: str | None) -> str | None:
    """The name a store keeps something under: `_State.engine`'s "_State.engine" (`cls.engine` in a method of
    `_State` too), `x["engine"]`'s "engine"."""
    if isinstance(target, ast.Attribute):
        base = ast.unparse(target.value)
        return f"{owner if owner is not None and base in ('cls', 'self') else base}.{target.attr}"
    key = target.slice
    return key.value if isinstance(key, ast.Constant) and isinstance(key.value, str) else None


def _names_read(node: ast.AST, owner: str | None = None) -> set[str]:
    """The names, attributes and constant keys an expression reads (`_cache.get("engine")` reads "engine";
    `self.engine` in a method of `owner` reads "Owner.engine")."""
    found: set[str] = set()
    for inner in ast.walk(node):
        if isinstance(inner, ast.Call) and last_name(inner.func) == "getattr" and len(inner.args) >= 2:
            attr = inner.args[1]  # `getattr(cls, "_pool", None)` reads `cls._pool`
            if isinstance(attr, ast.Constant) and isinstance(attr.value, str):
                found.add(_kept_name(ast.Attribute(inner.args[0], attr.value, ast.Load()), owner) or "")
        if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Load):
            found.add(inner.id)
        elif isinstance(inner, ast.Attribute) and isinstance(inner.ctx, ast.Load):
            found.add(_kept_name(inner, owner) or "")
        elif isinstance(inner, ast.Constant) and isinstance(inner.value, str):
            found.add(inner.value)
    return found


class TestReads:
    """The names, attributes and keys the tests of a project's modules read (keeps' `elsewhere`), worked out once
    per module: modules parsed since (a factory's callers, read in later rounds) are added when asked again."""

    def __init__(self) -> None:
        self.read: set[str] = set()
        self.seen: set[int] = set()

    def names(self, modules: Iterable[Module | None]) -> set[str]:
        for module in (m for m in list(modules) if m is not None and id(m) not in self.seen):
            self.seen.add(id(module))
            self.read |= {name for test, cls in _tests(module.tree, None) for name in _names_read(test, cls)}
        return self.read


def _tests(node: ast.AST, owner: str | None) -> Iterator[tuple[ast.expr, str | None]]:
    """Each test in the tree, with the class whose method it is in (for its `self.x` / `cls.x`)."""
    for inner in ast.iter_child_nodes(node):
        if isinstance(inner, (ast.If, ast.While, ast.IfExp, ast.Assert)):
            yield inner.test, owner
        elif isinstance(inner, ast.BoolOp):
            yield from ((value, owner) for value in inner.values[:-1])
        yield from _tests(inner, inner.name if isinstance(inner, ast.ClassDef) else owner)


def _before(func: FunctionNode, store: ast.AST) -> Iterator[ast.AST]:
    """What the function reads before the statement storing `store` runs, and the value stored."""
    for stmt in ast.walk(func):
        if not isinstance(stmt, ast.stmt) or stmt is func:
            continue
        if any(inner is store for inner in ast.walk(stmt)) and isinstance(
            stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)
        ):
            if stmt.value is not None:
                yield stmt.value
        elif stmt.lineno < getattr(store, "lineno", 0) and not isinstance(
            stmt, (ast.If, ast.For, ast.While, ast.With, ast.Try, ast.AsyncFor, ast.AsyncWith)
        ):
            yield stmt
        elif stmt.lineno < getattr(store, "lineno", 0):
            yield from _heads(stmt)


def _heads(stmt: ast.stmt) -> Iterator[ast.AST]:
    """A compound statement's own expressions, not its body's (those are statements of their own)."""
    for name in ("test", "iter", "items"):
        part = getattr(stmt, name, None)
        if isinstance(part, list):
            yield from part
        elif part is not None:
            yield part


def memoized(func: FunctionNode, call: ast.Call, cls: ast.ClassDef | None = None, own: bool = False) -> bool:
    """Whether the function keeps the pool it makes and makes it only under a test of where it keeps it: `if
    self.pool is None: self.pool = await create_pool(...)` (a lazy getter every other method calls,
    python-vector's connect()), or the same on a global (bunkerweb's `get_db()`). Its callers share that one pool:
    none makes another. A local (`_engine = create_engine(...)` under `if _engine is None:`) outlives nothing, and
    `__init__`'s `self.x` is made again with each instance. `cls`: the method's class, whose methods it calls
    (`if self.pool is None: await self.connect()`, connect setting self.pool); `own`: kept on the instance only."""
    params = [*func.args.posonlyargs, *func.args.args]
    first = params[0].arg if params and func.name not in ("__init__", "__post_init__") else None
    shared = {name for node in ast.walk(func) if isinstance(node, (ast.Global, ast.Nonlocal)) for name in node.names}
    shared = set() if own else shared
    kept = {f"{first}.{name}" for name in _attributes(func, first)} | shared  # what outlives the call
    if cls is not None and first is not None:  # (or a method of the class sets: `await self.connect()`)
        kept |= {
            f"{first}.{name}"
            for m in cls.body
            if isinstance(m, ast.AsyncFunctionDef | ast.FunctionDef)
            for name in _attributes(m, next(iter(a.arg for a in m.args.args), None))
        }
    for test in ast.walk(func):
        if not isinstance(test, ast.If):
            continue
        tested = _read_in(test.test)  # (`self._engines[index]`: an item of what outlives the call, consdb's; not
        into = tested & kept | keyed_items(test.test, kept, func)  # one per key a caller must give, `[name]`)
        if any(_stores_call(stmt, call, into, cls) for part in test.body for stmt in ast.walk(part)):
            return True
    returned: set[str] = set()  # the early-return form: `if runtime.engine is not None: return`, then the call
    for stmt in _in_order(func.body):
        if isinstance(stmt, ast.If) and stmt.body and isinstance(stmt.body[-1], ast.Return):
            returned |= _read_in(stmt.test)
        if _stores_call(stmt, call, returned & kept):
            return True
    return False


def remade(func: FunctionNode | ast.Lambda, call: ast.Call, cls: ast.ClassDef | None) -> bool:
    """`if self.pool is None: await self.connect()`: a method of the instance making again the pool the instance
    keeps, which the method's own callers make (rag-api's ensure_connection)."""
    params = [*func.args.posonlyargs, *func.args.args]
    target = call.func.value if isinstance(call.func, ast.Attribute) else None
    if isinstance(func, ast.Lambda) or not params or not isinstance(target, ast.Name) or target.id != params[0].arg:
        return False
    return memoized(func, call, cls) or _kept_by_decorator(cls, call.func)


def _kept_by_decorator(cls: ast.ClassDef | None, func: ast.expr) -> bool:
    """`self.model()` where the class's `model` is decorated to keep what it returns (codalab's own `@cached`,
    `functools.cache`): the instance's one pool, made by whichever caller asks first."""
    name = func.attr if isinstance(func, ast.Attribute) else None
    method = next(
        (
            m
            for m in (cls.body if cls else [])
            if isinstance(m, ast.FunctionDef | ast.AsyncFunctionDef) and m.name == name
        ),
        None,
    )
    texts = (ast.unparse(d).lower() for d in (method.decorator_list if method is not None else []))
    return any(word in text for text in texts for word in MEMO_WORDS)


def _method_stores(cls: ast.ClassDef | None, func: ast.Attribute, into: set[str]) -> bool:
    """`self.connect()`: whether the class's `connect` assigns one of `into` (`self.pool = ...`) in its body."""
    if cls is None or not isinstance(func.value, ast.Name):
        return False
    method = next(
        (m for m in cls.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef)) and m.name == func.attr), None
    )
    params = [*method.args.posonlyargs, *method.args.args] if method is not None else []
    if method is None or not params:
        return False
    own = {name.replace(f"{func.value.id}.", f"{params[0].arg}.", 1) for name in into}
    stores = (t for n in ast.walk(method) if isinstance(n, (ast.Assign, ast.AnnAssign)) for t in assign_targets(n))
    return any(ast.unparse(target) in own for target in stores)


def _read_in(test: ast.expr) -> set[str]:
    return {ast.unparse(n) for n in ast.walk(test) if isinstance(n, (ast.Attribute, ast.Name, ast.Subscript))}


def _stores_call(stmt: ast.AST, call: ast.Call, into: set[str], cls: ast.ClassDef | None = None) -> bool:
    """Whether the statement stores the call's result (awaited or not) into one of `into`, or is the call of a
    method of one (`self.db_obj.connect(url)`, the object it keeps making its engine: LinOTP's resolver), or of a
    method of the instance's class that stores it there (`if self.pool is None: await self.connect()`)."""
    if isinstance(stmt, ast.Expr) and into:
        made = stmt.value.value if isinstance(stmt.value, ast.Await) else stmt.value
        if made is not call or not isinstance(call.func, ast.Attribute):
            return False
        return ast.unparse(call.func.value) in into or _method_stores(cls, call.func, into)
    if not isinstance(stmt, (ast.Assign, ast.AnnAssign)) or not into:
        return False
    value = stmt.value
    if not (value is call or (isinstance(value, ast.Await) and value.value is call)):
        return False
    return any(
        ast.unparse(target) in into for target in (stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target])
    )


def _attributes(func: FunctionNode, holder: str | None) -> set[str]:
    """The attributes the function sets on `holder` (its `self`, or a classmethod's `cls`), or an item of
    (`self._engines[index] = ...`)."""
    stores = (
        n for n in ast.walk(func) if isinstance(n, (ast.Attribute, ast.Subscript)) and isinstance(n.ctx, ast.Store)
    )
    set_on = (n.value if isinstance(n, ast.Subscript) else n for n in stores)
    return {
        node.attr
        for node in set_on
        if holder is not None
        and isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == holder
    }


def memo_key(func: ast.AST, call: ast.Call, cls: ast.ClassDef | None) -> ast.expr | None:
    """The key a function keeps each pool it makes under, where it makes one only when a dict every caller shares
    lacks that key: `if url not in self._connections: ...create_engine(url)...; self._connections[url] = ...`
    with `_connections = {}` on the class, never set on an instance (pyramid_oereb's adapter), or a module's
    global dict. Callers that give the same key share that pool. None for any other function."""
    if cls is not None and getattr(func, "name", "") == "__init__" and _singleton(cls, func):
        return ast.Constant(f"the one {cls.name}")  # (mobility-feed-api's Database: one per process)
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
        while isinstance(kept, ast.Subscript) and isinstance(kept.slice, ast.Constant):  # (a part of one by
            kept = kept.value  # name: hydra's `context["databases"]`; `_engines[tenant]` is each tenant's)
        if isinstance(kept, ast.Name):
            return kept.id not in local and kept.id not in parameter_names(func)
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
            return per_loop(func, test.test.left)
    return per_loop(func, _returned_early(func, call, shared, stored))


def _singleton(cls: ast.ClassDef, init: ast.AST) -> bool:
    """A class whose `__new__` hands back the instance it keeps on the class (`cls.instance = object.__new__(cls)`,
    `return cls.instance`) and whose `__init__` returns at once once it has run (`if Database.initialized:
    return`): every call of it in a process is the one instance."""
    new = next((s for s in cls.body if isinstance(s, ast.FunctionDef) and s.name == "__new__"), None)
    first = first_parameter(new)
    if new is None or first is None:
        return False
    kept = {ast.unparse(t) for n in ast.walk(new) if isinstance(n, ast.Assign) for t in n.targets}
    returned = [ast.unparse(n.value) for n in ast.walk(new) if isinstance(n, ast.Return) and n.value is not None]
    if not returned or not all(r in kept and r.startswith(f"{first}.") for r in returned):
        return False
    return any(
        isinstance(n, ast.If) and isinstance(n.body[0], ast.Return) and isinstance(n.test, ast.Attribute | ast.Name)
        for n in ast.walk(init)
    )


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
    if isinstance(key, Branches):  # each side's key under its test: the same for every caller that reaches the
        kept = [kept_under(option) for _, option in key.options]  # same tests (aurweb's `name()`); not for two
        return " | ".join(f"{when}: {k}" for (when, _), k in zip(key.options, kept)) if all(kept) else None
    if isinstance(key, SV) and key.env and key.expr in (f"${key.env}", f"${key.env} (required, no default)"):
        return f"${key.env}"  # a variable's value as it is (`dict(os.environ)["READ_URL"]`): the same for every caller
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


def handed_around(name: str, modules: Iterable[Module | None], cache: dict[str, bool]) -> bool:
    """Whether the project names the class anywhere but where it defines, subclasses or imports it (`cache`: the
    answers so far, by name)."""
    if name not in cache:
        used = re.compile(rf"(?<![\w.])(?<!class ){re.escape(name)}\b(?!\s*:)")
        cache[name] = any(
            any(
                used.search(line) and not line.lstrip().startswith(("from ", "import ", "class "))
                for line in m.source.splitlines()
            )
            for m in modules
            if m is not None and name in m.source
        )
    return cache[name]


SPREAD_CALL = re.compile(rb"(?<!\w)(?<!class )(?<!def )([A-Za-z_]\w*)\((?:(?:[^()]|\([^()]*\))*?,)?\s*\*")


class ClassMentions:
    """What the project's files say of its classes, worked out once a scan: whether it names a class outside its
    definition (handed_around), and which names its files call with a spread of arguments."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self._handed: dict[str, bool] = {}
        self._spread: set[str] | None = None

    def made_elsewhere(self, name: str, own_init: bool) -> bool:
        """Whether the project names the class outside its definition, or (one with its own `__init__`) makes it
        with a spread of arguments in any file, parsed or not (temboard's `Postgres(app=self, **config)` in a
        module that names no pool library): then what a method of an instance nobody links reads of
        `__init__`'s parameters may be its caller's, not their defaults."""
        if handed_around(name, self.project.modules.values(), self._handed):
            return True
        return own_init and name in self._spread_calls()

    def _spread_calls(self) -> set[str]:
        if self._spread is None:  # (one pass over the files for every class; a test's call is no app's instance)
            self._spread = set()
            for path in (p for p in self.project.files if not self.project.aside(p)):
                data, _ = read_source(path)
                self._spread.update(m.group(1).decode() for m in SPREAD_CALL.finditer(data or b""))
        return self._spread


def decided_by_globals(site: CallSite, local: set[str]) -> bool:
    """The `if`s around the call test the module's names only (`if PG_DRIVER == 3:`), none of the function's
    own (`local`) or its instance's: what rules the call out is no value the scan may have wrong about a caller."""
    tests = [test for test, _ in site.conditions]
    return bool(tests) and all(
        isinstance(node, ast.Name) and node.id not in local
        for test in tests
        for node in ast.walk(test)
        if isinstance(node, (ast.Name, ast.Attribute, ast.Call))
    )


def instances_made(
    project: Project, cls: ast.ClassDef, called: Callable[[Module, CallSite], Any]
) -> list[tuple[Module, CallSite]]:
    """The calls of the class in the project's code (not its tests'), `called` telling what each calls."""
    modules = [m for m in project.modules.values() if m is not None and not m.aside]
    return [(m, site) for m in modules for site in made_in(m, cls, called)]


def made_in(module: Module, cls: ast.ClassDef, called: Callable[[Module, CallSite], Any]) -> list[CallSite]:
    """The module's calls of the class, by its name or an alias of it, and its classmethods' `cls(...)` (renku's
    `DBConfig.from_env()`)."""
    own = [site for site in module.calls.get("cls", []) if site.cls is cls]
    return [
        site
        for site in [
            *(s for name in {cls.name} | aliases(module, {cls.name}) for s in module.calls.get(name, [])),
            *own,
        ]
        if isinstance(made := called(module, site), ClassRef) and made.node is cls
    ]


def returned(func: FunctionNode, call: ast.Call) -> bool:
    """Whether the function returns what the call makes, itself or inside another call's value (sir's
    `def db_session(): return sessionmaker(bind=engine())`): each call of it hands its caller a new pool."""
    return any(
        isinstance(node, ast.Return) and node.value is not None and any(n is call for n in ast.walk(node.value))
        for node in own_nodes(func)
    )
