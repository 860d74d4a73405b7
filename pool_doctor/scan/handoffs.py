"""A project function handed a pool maker to call: `singletons.get(DB_INDEX, _SqlDatabase, **kwargs)` whose body
runs `constructor(**kwargs)`, `retry(asyncpg.create_pool, dsn)` running `fn(*args)`. The function is a wrapper
of what it is handed: each call handing it one is a pool, made with what that call gives (pools.PoolFinder)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from pool_doctor.scan.expressions import Evaluator
from pool_doctor.scan.finder import CALL_NAMES, CallSite, Module
from pool_doctor.scan.kinds import ClassRef, Frame, FuncRef
from pool_doctor.scan.names import last_name
from pool_doctor.scan.nodes import aliases
from pool_doctor.scan.values import CALLABLES, callable_of
from pool_doctor.scan.wrapping import MAX_DEPTH, Target, Wrapper


class Finder(Protocol):  # (pools.PoolFinder)
    ev: Evaluator
    wrappers: dict[int, Wrapper]
    subclasses: dict[int, tuple[str, ast.ClassDef]]

    def called(self, module: Module, site: CallSite) -> Any: ...

    def site_frame(self, module: Module, site: CallSite) -> Frame: ...

    def target_of(self, func: Any, call: ast.Call, by_super: bool = False) -> Target | None: ...


@dataclass
class Handoffs:
    # each call handing a pool maker to a project function that calls it, with its module and the wrapper handed
    handing: dict[int, tuple[Module, CallSite, Wrapper | None]] = field(default_factory=dict)
    calls: set[int] = field(default_factory=set)  # those functions' calls of what they are handed
    _callers: dict[int, set[str]] = field(default_factory=dict)  # each module's functions calling a parameter
    _names: set[str] = field(default_factory=set)  # all of them

    def callers(self, finder: Finder) -> set[str]:
        """The names of the functions and methods of the modules read that call one of their parameters."""
        modules = [m for m in finder.ev.project.modules.values() if m is not None]
        if len(modules) == len(self._callers):
            return self._names
        for module in modules:
            if id(module) not in self._callers:
                self._callers[id(module)] = {
                    func.name
                    for func in ast.walk(module.tree)
                    if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef)
                    and any(
                        calls_of_parameter(FuncRef(module, func), a.arg)
                        for a in [*func.args.args, *func.args.kwonlyargs]
                    )
                }
        self._names = set().union(*self._callers.values())
        return self._names

    def learn(self, finder: Finder, module: Module) -> list[Wrapper]:
        """The project functions this module's calls hand a pool maker to, that call it: wrappers, new ones."""
        new: list[Wrapper] = []
        makers = {w.name for w in finder.wrappers.values() if not w.is_fixed and not w.handed} | set(CALL_NAMES)
        for site, arg in handing(module, makers | {c.name for _, c in finder.subclasses.values()}):
            # (each read where the module names it first: the function around the call is run only for a maker
            # the module names handed to a method (`self._with_retry(create_pool, dsn)`), not for a local named
            # like a maker (polar's 7000 calls handing a `session` on, a wrapper's name too: 20 s)
            given = callable_of(finder.ev, finder.ev.eval(arg, Frame(module)))
            func = callable_of(finder.ev, finder.ev.eval(site.call.func, Frame(module)))
            named = isinstance(given, CALLABLES) and last_name(site.call.func) in self.callers(finder)
            if not isinstance(func, FuncRef) and site.functions and named:
                func = finder.called(module, site)
            param = parameter(func, site.call, arg) if isinstance(func, FuncRef) else None
            inner = calls_of_parameter(func, param) if isinstance(func, FuncRef) and param else []
            if not inner or id(site.call) in self.handing:
                continue
            if not isinstance(given, CALLABLES) and site.functions:  # (a local: `maker = make_engine`)
                given = callable_of(finder.ev, finder.ev.eval(arg, finder.site_frame(module, site)))
            handed = finder.target_of(given, inner[0].call)
            if handed is None:
                continue
            assert isinstance(func, FuncRef) and isinstance(func.node, ast.FunctionDef | ast.AsyncFunctionDef)
            depth = 1 if handed.wrapper is None else handed.wrapper.depth + 1
            wrapper = finder.wrappers.get(id(func.node))
            if wrapper is None and depth <= MAX_DEPTH:
                owner: ClassRef | None = func.owner
                wrapper = Wrapper(func.module, func.node, cls=owner.node if owner else None, depth=depth, handed=True)
                finder.wrappers[id(func.node)] = wrapper
                new.append(wrapper)
            if wrapper is not None:
                wrapper.inner.extend(s for s in inner if all(s.call is not w.call for w in wrapper.inner))
                self.calls.update(id(s.call) for s in inner)
                self.handing[id(site.call)] = (module, site, handed.wrapper)
        return new


def handing(module: Module, makers: set[str]) -> Iterator[tuple[CallSite, ast.expr]]:
    """The module's calls that pass one of `makers` on by name or a local alias (`get(INDEX, _SqlDatabase)`)."""
    makers = makers | aliases(module, makers)
    for sites in module.calls.values():
        for site in sites:
            for arg in [*site.call.args, *(kw.value for kw in site.call.keywords)]:
                if isinstance(arg, ast.Name | ast.Attribute) and last_name(arg) in makers:
                    yield site, arg


def parameter(func: FuncRef, call: ast.Call, arg: ast.expr) -> str | None:
    """The parameter of `func` the call passes `arg` as (by position, or by keyword), when the call says."""
    node = func.node
    if isinstance(node, ast.Lambda):
        return None
    named = next((kw.arg for kw in call.keywords if kw.value is arg), None)
    if named is not None:
        return named
    index = next(i for i, a in enumerate([*call.args, arg]) if a is arg)
    if index >= len(call.args) or any(isinstance(a, ast.Starred) for a in call.args[:index]):
        return None
    decorators = {last_name(d) for d in node.decorator_list}
    through_class = isinstance(func.bound_self, ClassRef) and "classmethod" not in decorators  # (`Cls.f(obj, ...)`)
    bound = func.bound_self is not None and not through_class and "staticmethod" not in decorators
    params = [*node.args.posonlyargs, *node.args.args][1 if bound else 0 :]
    return params[index].arg if index < len(params) else None


def calls_of_parameter(func: FuncRef, name: str) -> list[CallSite]:
    """The function's own calls of its parameter `name` (`constructor(**kwargs)`), none nested deeper."""
    return [
        site
        for site in func.module.calls.get(name, [])
        if site.functions
        and site.functions[-1] is func.node
        and isinstance(site.call.func, ast.Name)
        and site.call.func.id == name
    ]
