"""Pool-creating calls: the library's own (through aliases and re-exports) and the project's wrappers.

A wrapper is a project function whose pool call uses its parameters (`def make_engine(url, **kw):
return create_engine(url, **kw)`): each call of the wrapper is a pool, with the wrapper's parameters
bound to that call's arguments, so the values come from where the app really gives them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pool_doctor.scan.expressions import Evaluator
from pool_doctor.scan.finder import (
    CALL_NAMES,
    CallSite,
    FunctionNode,
    Module,
    library_target,
)
from pool_doctor.scan.kinds import SV, ClassRef, DictV, ExternalRef, Frame, FuncRef, InstanceRef, is_known
from pool_doctor.scan.model import ScannedPool, ScannedValue, Stack, mask_text
from pool_doctor.scan.values import flatten, leaf

# Positional parameters of each library callable, in order (the rest are keyword arguments).
POSITIONAL: dict[str, tuple[str, ...]] = {
    "create_engine": ("url",),
    "create_async_engine": ("url",),
    "engine_from_config": ("configuration", "prefix"),
    "async_engine_from_config": ("configuration", "prefix"),
    "create_pool": ("dsn",),
    "ConnectionPool": ("conninfo",),
    "AsyncConnectionPool": ("conninfo",),
    "NullConnectionPool": ("conninfo",),
    "AsyncNullConnectionPool": ("conninfo",),
    "SimpleConnectionPool": ("minconn", "maxconn", "dsn"),
    "ThreadedConnectionPool": ("minconn", "maxconn", "dsn"),
    "PersistentConnectionPool": ("minconn", "maxconn", "dsn"),
    "SQLAlchemy": ("app",),
}
# engine_from_config reads strings from an .ini file and coerces these (sqlalchemy engine/create.py).
CONFIG_COERCE = {
    "pool_size": int,
    "max_overflow": int,
    "pool_recycle": int,
    "pool_timeout": float,
    "pool_pre_ping": "bool",
    "pool_use_lifo": "bool",
    "echo": "bool",
    "echo_pool": "bool",
}


@dataclass
class Target:
    stack: Stack | None = None  # a library call
    call: str | None = None
    name: str | None = None  # the callable's own name, e.g. "create_engine"
    wrapper: Wrapper | None = None


@dataclass
class Wrapper:
    module: Module
    func: FunctionNode
    inner: list[CallSite] = field(default_factory=list)
    via_class: ast.ClassDef | None = None  # an __init__ wrapper is reached by calling its class
    callers: int = 0

    @property
    def name(self) -> str:
        return self.via_class.name if self.via_class is not None else self.func.name


class PoolFinder:
    def __init__(self, evaluator: Evaluator) -> None:
        self.ev = evaluator
        self.wrappers: dict[tuple[str, str], Wrapper] = {}  # (module name, function name)

    def names(self) -> set[str]:
        return set(CALL_NAMES) | {w.name for w in self.wrappers.values()}

    def target(self, module: Module, site: CallSite) -> Target | None:
        func = self.ev.force(self.ev.eval(site.call.func, Frame(module)))
        if isinstance(func, ExternalRef):
            found = library_target(func.dotted)
            if found is None:
                return None
            name = func.dotted.rsplit(".", 1)[-1]
            if name == "SQLAlchemy" and not any(kw.arg == "engine_options" for kw in site.call.keywords):
                return None  # Flask-SQLAlchemy's engine then comes from app.config, read by frameworks.py
            return Target(stack=found[0], call=found[1], name=name)  # type: ignore[arg-type]
        if isinstance(func, FuncRef):
            wrapper = self.wrappers.get((func.module.name, func.node.name))
            if wrapper is not None and wrapper.func is func.node and wrapper.via_class is None:
                return Target(wrapper=wrapper)
        if isinstance(func, ClassRef):
            wrapper = self.wrappers.get((func.module.name, f"{func.node.name}.__init__"))
            if wrapper is not None:
                return Target(wrapper=wrapper)
        return None

    def sites(self, module: Module, names: set[str]) -> Iterator[tuple[CallSite, Target]]:
        for name in (names | _aliases(module, names)) & module.calls.keys():
            for site in module.calls[name]:
                target = self.target(module, site)
                if target is not None:
                    yield site, target

    def learn_wrappers(self, module: Module) -> list[Wrapper]:
        """Functions of this module that forward their parameters to a pool call (or to another wrapper)."""
        new: list[Wrapper] = []
        for site, _ in self.sites(module, self.names()):
            if not site.functions or isinstance(site.functions[-1], ast.Lambda):
                continue
            func = site.functions[-1]
            assert isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef))
            if not _uses_parameters(site.call, func):
                continue
            via_class = None
            if module.functions.get(func.name) is func and len(site.functions) == 1:
                key = (module.name, func.name)
            elif (
                func.name == "__init__"
                and site.cls is not None
                and module.classes.get(site.cls.name) is site.cls
                and len(site.functions) == 1
            ):
                key, via_class = (module.name, f"{site.cls.name}.__init__"), site.cls
            else:
                continue
            wrapper = self.wrappers.get(key)
            if wrapper is None:
                wrapper = self.wrappers[key] = Wrapper(module, func, via_class=via_class)
                new.append(wrapper)
            if all(s.call is not site.call for s in wrapper.inner):
                wrapper.inner.append(site)
        return new

    def count_callers(self, modules: list[Module]) -> None:
        names = {w.name for w in self.wrappers.values()}
        for module in modules:
            for _, target in self.sites(module, names):
                if target.wrapper is not None:
                    target.wrapper.callers += 1

    def pools(self, module: Module) -> Iterator[ScannedPool]:
        """Every pool whose values start in this module: library calls and wrapper calls not inside a
        wrapper that is itself called from somewhere (those are reported at that caller instead)."""
        for site, target in sorted(self.sites(module, self.names()), key=lambda st: st[0].call.lineno):
            enclosing = self._enclosing_wrapper(module, site)
            if enclosing is not None and enclosing.callers > 0:
                continue
            frame = self._site_frame(module, site)
            yield from self._emit(module, site, target, frame, [], 0, module, site)

    def _enclosing_wrapper(self, module: Module, site: CallSite) -> Wrapper | None:
        if not site.functions:
            return None
        func = site.functions[-1]
        for wrapper in self.wrappers.values():
            if wrapper.func is func and wrapper.module is module:
                return wrapper
        return None

    def _site_frame(self, module: Module, site: CallSite) -> Frame:
        if site.functions and isinstance(site.functions[-1], (ast.FunctionDef, ast.AsyncFunctionDef)):
            func = site.functions[-1]
            bound_self = SV(None, None, known=False, expr="self") if site.cls is not None else None
            # Parameters take their defaults: the call that would give them is not in the scanned code.
            return self.ev.bind(FuncRef(module, func, bound_self=bound_self), None, Frame(module))
        if site.cls is not None:
            return Frame(module, scope=site.cls)
        return Frame(module)

    def _emit(
        self,
        module: Module,
        site: CallSite,
        target: Target,
        frame: Frame,
        via: list[str],
        depth: int,
        outer_module: Module,
        outer_site: CallSite,
    ) -> Iterator[ScannedPool]:
        if target.wrapper is not None:
            wrapper = target.wrapper
            if depth > 6:
                return
            bound_self = SV(None, None, known=False, expr="self") if wrapper.via_class is not None else None
            inner_frame = self.ev.bind(FuncRef(wrapper.module, wrapper.func, bound_self=bound_self), site.call, frame)
            for inner in wrapper.inner:
                inner_target = self.target(wrapper.module, inner)
                if inner_target is not None:
                    yield from self._emit(
                        wrapper.module,
                        inner,
                        inner_target,
                        inner_frame,
                        [*via, wrapper.module.where(inner.call)],
                        depth + 1,
                        outer_module,
                        outer_site,
                    )
            return
        assert target.stack is not None and target.call is not None and target.name is not None
        settings, unresolved = self.settings(target, site.call, frame)
        yield ScannedPool(
            file=outer_module.display,
            line=outer_site.call.lineno,
            end_line=outer_site.call.end_lineno or outer_site.call.lineno,
            stack=target.stack,
            call=target.call,
            settings=settings,
            unresolved=unresolved,
            at_import=not outer_site.functions,
            via=via,
            condition=condition_text(outer_module, outer_site),
        )

    def settings(self, target: Target, call: ast.Call, frame: Frame) -> tuple[dict[str, ScannedValue], list[str]]:
        ev = self.ev
        settings: dict[str, Any] = {}
        unresolved: list[str] = []
        names = POSITIONAL.get(target.name or "", ())
        for index, arg in enumerate(call.args):
            if isinstance(arg, ast.Starred):
                unresolved.append(f"*{frame.module.segment(arg.value)}")
                break
            key = names[index] if index < len(names) else f"args[{index}]"
            if key == "app":
                continue
            settings.update(flatten(ev.eval(arg, frame), ev, key, unresolved))
        for kw in call.keywords:
            if kw.arg is None:
                spread = ev.force(ev.eval(kw.value, frame))
                if isinstance(spread, (DictV, InstanceRef)):
                    settings.update(flatten(spread, ev, "", unresolved))
                else:  # any setting may hide in what could not be read
                    unresolved.append(f"**{frame.module.segment(kw.value)}")
            elif target.name == "SQLAlchemy":
                if kw.arg == "engine_options":
                    settings.update(flatten(ev.eval(kw.value, frame), ev, "", unresolved))
            else:
                settings.update(flatten(ev.eval(kw.value, frame), ev, kw.arg, unresolved))
        if target.name in ("engine_from_config", "async_engine_from_config"):
            settings, unresolved = self._from_config(settings, unresolved)
        return {key: mask(key, leaf(value, ev)) for key, value in settings.items()}, unresolved

    @staticmethod
    def _from_config(settings: dict[str, Any], unresolved: list[str]) -> tuple[dict[str, Any], list[str]]:
        prefix_value = settings.pop("prefix", None)
        prefix = str(prefix_value.value) if is_known(prefix_value) else "sqlalchemy."
        out: dict[str, Any] = {}
        rest: dict[str, Any] = {}
        config_unresolved = [u for u in unresolved if u.startswith("configuration")]
        unresolved = [u for u in unresolved if not u.startswith("configuration")]
        for key, value in settings.items():
            if key.startswith("configuration."):
                inner = key[len("configuration.") :]
                if inner.startswith(prefix):
                    name = inner[len(prefix) :]
                    out[name] = _coerce(name, value)
            elif key == "configuration":
                if not (isinstance(value, SV) and value.known):
                    config_unresolved.append(f"configuration: {value.expr if isinstance(value, SV) else '?'}")
            else:
                rest[key] = value
        out.update(rest)  # keyword arguments override the configuration's keys
        return out, [*config_unresolved, *unresolved]


def _coerce(name: str, value: Any) -> Any:
    kind = CONFIG_COERCE.get(name)
    if kind is None or not isinstance(value, SV) or not value.known or not isinstance(value.value, str):
        return value
    from dataclasses import replace

    try:
        if kind == "bool":
            return replace(value, value=value.value.strip().lower() in ("true", "1", "yes", "on"))
        return replace(value, value=kind(value.value))  # type: ignore[operator]
    except ValueError:
        return value


def _aliases(module: Module, names: set[str]) -> set[str]:
    """Local names bound to one of `names`: `from sqlalchemy import create_engine as ce`, `make = sa.create_engine`."""
    found = {
        local
        for imports in (module.imports, module.nested_imports)
        for local, target in imports.items()
        if target.rsplit(".", 1)[-1] in names
    }
    for local, assignments in module.assigns.items():
        value = assignments[-1].value
        if (
            isinstance(value, (ast.Name, ast.Attribute))
            and (value.id if isinstance(value, ast.Name) else value.attr) in names
        ):
            found.add(local)
    return found


def _uses_parameters(call: ast.Call, func: FunctionNode) -> bool:
    args = func.args
    params = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)}
    if args.vararg is not None:
        params.add(args.vararg.arg)
    if args.kwarg is not None:
        params.add(args.kwarg.arg)
    params.discard("self")
    params.discard("cls")
    for node in [*call.args, *(kw.value for kw in call.keywords)]:
        for name in ast.walk(node):
            if isinstance(name, ast.Name) and name.id in params:
                return True
    return False


def condition_text(module: Module, site: CallSite) -> str | None:
    if not site.conditions:
        return None
    parts = [module.segment(test) if taken else f"not ({module.segment(test)})" for test, taken in site.conditions]
    return " and ".join(parts)


SECRET_WORDS = ("password", "passwd", "secret")


def mask(key: str, value: ScannedValue) -> ScannedValue:
    """Never show a password: `PASSWORD` keys, URL user info, `password=` in a conninfo string."""
    from dataclasses import replace

    last = key.rsplit(".", 1)[-1].lower()
    if any(word in last for word in SECRET_WORDS):
        return replace(
            value,
            value="***" if value.known and value.value not in (None, "") else value.value,
            expr=None if value.expr is None else "***",
        )
    if isinstance(value.value, str):
        value = replace(value, value=mask_text(value.value))
    if value.expr is not None:
        value = replace(value, expr=mask_text(value.expr))
    return value
