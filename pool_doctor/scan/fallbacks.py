"""A pool a function makes only when its caller gives none: `engine = engine or create_async_engine(url)` in
`run_migrations(engine=None)`, `create_engine(url) if engine is None else engine`, `if engine is None: engine =
create_engine(url)`. Where every call of the function in the app hands it a pool that caller made, the fallback
never runs and makes no pool of the app's (monty-python's `run_alembic(database_engine)`); with no caller in the
app, or one that may give nothing, it stays a pool."""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any, Protocol

from pool_doctor.scan import callers
from pool_doctor.scan.expressions import Evaluator
from pool_doctor.scan.finder import CallSite, FunctionNode, Module, Project, read_source
from pool_doctor.scan.kinds import PoolV
from pool_doctor.scan.names import last_name
from pool_doctor.scan.nodes import assign_targets, is_staticmethod, parameter_names
from pool_doctor.scan.textfiles import read_text

Makes = Callable[[Module, CallSite], bool]  # whether the call at a site makes a pool
ENTRY_POINTS = ("pyproject.toml", "setup.cfg")  # where a function may be named as a script's: `app.db:migrate`


class Wrapped(Protocol):  # (pools.Wrapper: a project function around pool calls)
    func: FunctionNode
    inner: list[CallSite]


class Finder(Protocol):  # (pools.PoolFinder)
    ev: Evaluator

    def called(self, module: Module, site: CallSite) -> Any: ...

    def target(self, module: Module, site: CallSite) -> Any: ...  # a pools.Target, None where it makes no pool


def never_made(finder: Finder, module: Module, site: CallSite) -> bool:
    """Whether the site's pool is a fallback that never runs: a library call in a function no caller of which in
    the app lets it run, or a call of a wrapper (its function, its pool calls) whose every pool call is a fallback
    for one parameter that this call hands a pool."""
    makes: Makes = lambda m, s: finder.target(m, s) is not None  # noqa: E731
    wrapper: Wrapped | None = getattr(finder.target(module, site), "wrapper", None)
    if wrapper is not None:
        func, inner = wrapper.func, wrapper.inner
        names = {fallback_for(func, s.call) if s.functions and s.functions[-1] is func else None for s in inner}
        name = names.pop() if len(names) == 1 else None
        return name is not None and _hands_a_pool(module, site, name, _index(func, name), makes)
    own = site.functions[-1] if site.functions else None
    if not isinstance(own, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    if _after_a_pool(finder, module, own, site):
        return True
    func = own
    name = fallback_for(func, site.call)
    if name is None:
        return False
    given = callers.calls_of(finder.ev.project, func, finder.called)
    index = _index(func, name)
    handed = bool(given) and all(_hands_a_pool(m, s, name, index, makes) for m, s in given)
    return handed and _only_called(finder.ev.project, func, given)


def _after_a_pool(finder: Finder, module: Module, func: FunctionNode, site: CallSite) -> bool:
    """`engine or async_engine_from_config(...)` where `engine` holds a pool the function made: an engine is always
    true (no pool class defines `__bool__` or `__len__`), so the call after it never runs (TheDailyGlobe's env.py)."""
    for node in ast.walk(func):
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
            at = next((i for i, value in enumerate(node.values) if value is site.call), 0)
            frame = finder.ev.frame_in(module, func, node) if at else None
            if frame is not None and any(
                isinstance(finder.ev.force(finder.ev.eval(v, frame)), PoolV) for v in node.values[:at]
            ):
                return True
    return False


def _only_called(project: Project, func: FunctionNode, given: list[tuple[Module, CallSite]]) -> bool:
    """Whether the app names the function only to make those calls: not handed on (`Thread(target=migrate)`),
    not called where the scan does not link the call to it (`service.connect()` on an instance it cannot tell),
    not named in a file it did not read."""
    if func.decorator_list or any(f":{func.name}" in (read_text(project.base / n) or "") for n in ENTRY_POINTS):
        return False  # (registered by a decorator, `@atexit.register`; a console script's, called with nothing)
    calls = {id(site.call.func) for _, site in given}
    for path in project.files:
        module = project.modules.get(path)
        if project.aside(path) or (module is not None and func.name not in module.source):
            continue
        if module is None:
            data = project.kept.get(path) or read_source(path)[0]
            if data is None or func.name.encode() not in data:
                continue
            return False  # (a file the scan did not read names it: whether it hands a pool is not known)
        for node in ast.walk(module.tree):
            named = (isinstance(node, ast.Name) and node.id == func.name) or (
                isinstance(node, ast.Attribute) and node.attr == func.name
            )
            if named and isinstance(getattr(node, "ctx", None), ast.Load) and id(node) not in calls:
                return False
    return True


def _index(func: FunctionNode, name: str) -> int | None:
    """The parameter's place among a call's positional arguments (past a method's `self` or `cls`)."""
    positional = [a.arg for a in (*func.args.posonlyargs, *func.args.args)]
    method = bool(positional) and positional[0] in ("self", "cls") and not is_staticmethod(func)
    return positional.index(name) - method if name in positional else None


def fallback_for(func: FunctionNode, call: ast.Call) -> str | None:
    """The parameter (default None) the function uses instead of making the pool in `call`, if any, where the
    function sets it nowhere else (`if os.environ.get("OWN"): engine = None` first: the fallback may run)."""
    name = _fallback_for(func, call)
    stores = [n for n in ast.walk(func) if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store)]
    own = {id(t) for n in ast.walk(func) if isinstance(n, ast.Assign) and _holds([n.value], call) for t in n.targets}
    return name if all(id(n) in own for n in stores) else None


def _fallback_for(func: FunctionNode, call: ast.Call) -> str | None:
    params = _none_defaults(func)
    for node in ast.walk(func):
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
            first = node.values[0]
            if isinstance(first, ast.Name) and first.id in params and _holds(node.values[1:], call):
                return first.id
        elif isinstance(node, (ast.IfExp, ast.If)):
            tested = _none_test(node.test)
            if tested is None or tested[0] not in params:
                continue
            made = node.body if tested[1] else node.orelse  # the side that runs where nothing was given
            if _holds(made if isinstance(made, list) else [made], call):
                return tested[0]
    return None


def _none_defaults(func: FunctionNode) -> set[str]:
    args = func.args
    positional = [*args.posonlyargs, *args.args]
    pairs = [
        *zip(positional[len(positional) - len(args.defaults) :], args.defaults),
        *zip(args.kwonlyargs, args.kw_defaults),
    ]
    return {a.arg for a, d in pairs if isinstance(d, ast.Constant) and d.value is None}


def _none_test(test: ast.expr) -> tuple[str, bool] | None:
    """`x is None` / `not x`: (x, True); `x is not None` / `x`: (x, False)."""
    if isinstance(test, ast.Name):
        return test.id, False
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not) and isinstance(test.operand, ast.Name):
        return test.operand.id, True
    if (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and len(test.ops) == 1
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value is None
        and isinstance(test.ops[0], (ast.Is, ast.IsNot))
    ):
        return test.left.id, isinstance(test.ops[0], ast.Is)
    return None


def _holds(nodes: list[Any], call: ast.Call) -> bool:
    return any(n is call for node in nodes for n in ast.walk(node))


def _hands_a_pool(module: Module, site: CallSite, name: str, index: int | None, makes: Makes) -> bool:
    """Whether this call gives the parameter a pool its caller made: a pool call, or a name every assignment of
    which in the caller's scope is one."""
    given = next((kw.value for kw in site.call.keywords if kw.arg == name), None)
    args = site.call.args
    if (
        given is None
        and index is not None
        and 0 <= index < len(args)
        and not any(isinstance(a, ast.Starred) for a in args[: index + 1])
    ):
        given = args[index]
    if isinstance(given, ast.Name):
        scope = site.functions[-1] if site.functions else module.tree
        return _bound_to_pools(scope, given.id, module, makes)
    return given is not None and _made_here(module, given, makes)


def _bound_to_pools(scope: ast.AST, name: str, module: Module, makes: Makes) -> bool:
    """Whether every binding of `name` in the scope is `name = <a pool call>` (not a parameter, a tuple's part, a
    loop's target: the caller's own `e=None` passes None on)."""
    if name in parameter_names(scope):
        return False
    stores = [n for n in ast.walk(scope) if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store)]
    made = {
        id(target): node.value
        for node in ast.walk(scope)
        if isinstance(node, (ast.Assign, ast.AnnAssign))
        for target in assign_targets(node)
        if isinstance(target, ast.Name) and target.id == name
    }
    return bool(stores) and all(id(n) in made and _made_here(module, made[id(n)], makes) for n in stores)


def _made_here(module: Module, value: ast.expr | None, makes: Makes) -> bool:
    value = value.value if isinstance(value, ast.Await) else value
    if not isinstance(value, ast.Call):
        return False
    site = next((s for s in module.calls.get(last_name(value.func) or "", []) if s.call is value), None)
    return site is not None and makes(module, site)
