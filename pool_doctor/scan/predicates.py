"""Python's own calls that test a value, as the scan decides them: `hasattr(self, name)` in the `__init__` making
self, and `any(...)` / `all(...)` of what the scan knows item by item; and `key in d` of a key some paths leave
unset."""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any
from weakref import WeakKeyDictionary

from pool_doctor.scan import comprehensions, containers
from pool_doctor.scan.finder import Project
from pool_doctor.scan.kinds import (
    SV,
    Branches,
    ClassRef,
    DictV,
    Frame,
    InstanceRef,
    Interpreter,
    env_of,
    is_known,
    unknown,
)
from pool_doctor.scan.model import NOT_SET
from pool_doctor.scan.names import last_name


def calls(ev: Interpreter) -> dict[str, Callable[[ast.Call, Frame], Any]]:
    """Python's own calls that test a value: hasattr, any, all."""
    return {
        "builtins.hasattr": partial(hasattr_call, ev),
        **{f"builtins.{how.__name__}": partial(any_all, ev, how) for how in (any, all)},
    }


def any_all(ev: Interpreter, which: Callable[[list[bool]], bool], node: ast.Call, frame: Frame) -> Any:
    """`any(...)` / `all(...)` of a list, or of a generator over one the scan knows, each item's test decided
    (kpi's `any(s in database.get("ENGINE", "") for s in ["postgis", "postgres"])`); unknown otherwise."""
    given = node.args[0] if len(node.args) == 1 and not node.keywords else None
    if isinstance(given, ast.GeneratorExp | ast.ListComp) and len(given.generators) == 1:
        generator = given.generators[0]
        items = containers.items_of(ev, ev.eval(generator.iter, frame)) if not generator.ifs else None
        frames = [comprehensions.loop_frame(ev, frame, generator.target, item) for item in items or []]
        tests = [ev.eval(given.elt, inner) for inner in frames if inner is not None]
        known = items is not None and len(tests) == len(frames)
    else:
        items = containers.items_of(ev, ev.eval(given, frame)) if given is not None else None
        tests, known = list(items or []), items is not None
    verdicts = [containers.truth(ev, test) for test in tests]
    if not known or None in verdicts:
        return unknown(frame.module, node)
    return SV(which([bool(verdict) for verdict in verdicts]), frame.module.where(node), env_of(*tests))


def hasattr_call(ev: Interpreter, node: ast.Call, frame: Frame) -> Any:
    """`hasattr(self, "name")` in the `__init__` that makes self: False where nothing may have set the name yet (no
    class attribute, method or hook of self's classes, no store of it anywhere in the project but that `__init__`'s
    after the test, no setattr, no `__new__` handing the instance out): asyncpg-client's `if not hasattr(self,
    "_initialized")`, a guard for a `__new__` that hands back an instance made before (the scan reads the first).
    True, of any instance or class, where its classes' bodies bind the name. Unknown otherwise."""
    scope, subject = frame.scope, node.args[0] if len(node.args) == 2 and not node.keywords else None
    name = ev.force(ev.eval(node.args[1], frame)) if subject is not None else None
    instance = ev.force(ev.eval(subject, frame)) if subject is not None else None
    fresh = (
        isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef))
        and scope.name == "__init__"
        and bool(scope.args.args)
        and isinstance(subject, ast.Name)
        and subject.id == scope.args.args[0].arg
        and isinstance(instance, InstanceRef)
        and instance.given is None
        and not instance.any_subclass
    )
    if not (is_known(name) and isinstance(name.value, str)):
        return unknown(frame.module, node)
    held = instance.cls if isinstance(instance, InstanceRef) else instance
    if isinstance(held, ClassRef) and any(_surely_binds(ref.node, name.value) for ref in ev.class_chain(held)):
        return SV(True, frame.module.where(node))  # (etl's `hasattr(cls.Config, "env_prefix")`)
    if not (fresh and isinstance(instance, InstanceRef)):
        return unknown(frame.module, node)
    chain = ev.class_chain(instance.cls)
    bases = [b for ref in chain for b in ref.node.bases if not (isinstance(b, ast.Name) and b.id == "object")]
    if len(bases) != len(chain) - 1 or any(ref.node.keywords for ref in chain):  # a library's base, a metaclass
        return unknown(frame.module, node)
    assert scope is not None  # (fresh: the __init__ running)
    if name.value.startswith("__") or any(_sets(ref.node, name.value) for ref in chain):
        return unknown(frame.module, node)  # (`__dict__` and the rest: every object has them)
    if any(_hands_out(ref.node) for ref in chain) or _set_elsewhere(ev, name.value, scope, node.lineno):
        return unknown(frame.module, node)
    return SV(False, frame.module.where(node))


def _hands_out(cls: ast.ClassDef) -> bool:
    """Whether the class's `__new__` may hand the instance to a call that sets attributes on it: a call given
    anything but constants, `cls` and the parameters (asyncpg-client's `asyncio.Lock()`, `super().__new__(cls)`)."""
    new = next((s for s in cls.body if isinstance(s, FUNCS) and s.name == "__new__"), None)
    if new is None:
        return False
    given = {a.arg for a in (*new.args.posonlyargs, *new.args.args, *new.args.kwonlyargs)}

    def plain(arg: ast.expr) -> bool:
        return all((isinstance(n, ast.Name) and n.id in given) or not isinstance(n, ast.Name) for n in ast.walk(arg))

    calls = (n for n in ast.walk(new) if isinstance(n, ast.Call))
    return any(not all(plain(a) for a in (*c.args, *(k.value for k in c.keywords))) for c in calls)


def _set_elsewhere(ev: Interpreter, name: str, init: ast.AST, line: int) -> bool:
    """Whether any module of the project sets an attribute of the name, other than where `init` sets it after the
    line (`Client.pool_size = ...` after the class, a helper's `obj.pool_size = ...`), or any through `setattr`."""
    stores, setattr_called = _stores(ev.project)
    return setattr_called or any(
        not (store.lineno > line and any(n is store for n in ast.walk(init))) for store in stores.get(name, [])
    )


Stores = tuple[dict[str, list[ast.Attribute]], bool]
_STORES: WeakKeyDictionary[Project, tuple[int, Stores]] = WeakKeyDictionary()


def _stores(project: Project) -> Stores:
    """Each attribute name the project's modules (read so far) store, with where; whether any calls setattr."""
    modules = [m for m in project.modules.values() if m is not None]
    cached = _STORES.get(project)
    if cached is not None and cached[0] == len(modules):
        return cached[1]
    stores: dict[str, list[ast.Attribute]] = {}
    setattr_called = False
    for inner in (n for module in modules for n in ast.walk(module.tree)):
        if isinstance(inner, ast.Attribute) and isinstance(inner.ctx, ast.Store):
            stores.setdefault(inner.attr, []).append(inner)
        elif isinstance(inner, ast.Call) and last_name(inner.func) in ("setattr", "__setattr__"):
            setattr_called = True
    _STORES[project] = (len(modules), (stores, setattr_called))
    return stores, setattr_called


def _surely_binds(cls: ast.ClassDef, name: str) -> bool:
    """Whether the class's body binds the name at its own level, whatever runs (not only under an `if`), and
    never deletes it."""
    deleted = any(
        isinstance(node, ast.Delete) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
        for node in ast.walk(cls)
    )
    bound = [stmt for stmt in cls.body if isinstance(stmt, (*FUNCS, ast.ClassDef, ast.Assign, ast.AnnAssign))]
    return not deleted and _binds(bound, name)


def _defines(cls: ast.ClassDef, name: str) -> bool:
    """Whether the class's body may bind the name: a class attribute, a method, a property, a nested class, at any
    depth of its statements (`_initialized: bool` alone binds none)."""
    return _binds(cls.body, name)


def _binds(body: Sequence[ast.stmt], name: str) -> bool:
    for stmt in body:
        if isinstance(stmt, (*FUNCS, ast.ClassDef)):
            if stmt.name == name:
                return True
            continue
        if isinstance(stmt, ast.AnnAssign) and stmt.value is None:
            continue
        if any(isinstance(t, ast.Name) and t.id == name and isinstance(t.ctx, ast.Store) for t in ast.walk(stmt)):
            return True
    return False


def _sets(cls: ast.ClassDef, name: str) -> bool:
    """Whether the class has the attribute, or reads attributes through a hook of its own."""
    if _defines(cls, name):
        return True
    for inner in ast.walk(cls):  # (a write of the attribute, anywhere: _set_elsewhere)
        if isinstance(inner, FUNCS) and inner.name in ("__getattr__", "__getattribute__"):
            return True
        if isinstance(inner, ast.Attribute) and inner.attr == "__dict__":
            return True
    return False


FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)


def keyed(
    ev: Interpreter,
    node: ast.Compare,
    frame: Frame,
    values: tuple[Any, ...],
    compare: Callable[[ast.Compare, Frame, tuple[Any, ...]], Any],
) -> Any:
    """`compare(node, frame, values)`, where `key in d` / `key not in d` is asked of a dict some paths never set the key of
    (dis-wagtail's `if "read_replica" not in DATABASES:` after an `if` that adds it on one side): on each side,
    of the dict with or without it."""
    if len(values) != 2 or not (len(node.ops) == 1 and isinstance(node.ops[0], ast.In | ast.NotIn)):
        return compare(node, frame, values)
    key, mapping = values
    if not (is_known(key) and isinstance(mapping, DictV) and key.value in mapping.items):
        return compare(node, frame, values)
    item = ev.force(mapping.items[key.value])
    if not isinstance(item, Branches):
        return compare(node, frame, values)
    options, default = containers.settle_options(ev, item)
    absent = DictV({k: v for k, v in mapping.items.items() if k != key.value}, mapping.origin)
    unset = [isinstance(o, SV) and not o.known and o.expr == NOT_SET for _, o in options]
    if not any(unset):
        return compare(node, frame, values)
    sides = [
        (when, compare(node, frame, (key, absent if gone else mapping))) for (when, _), gone in zip(options, unset)
    ]
    return Branches(sides, default=default)  # (lift would read the sides' dicts as one)
