"""What a project function's run gives, beyond its return value: a method asked again of the same instance,
a settings class its annotation names, the variable an unknown result was made from."""

from __future__ import annotations

import ast
from typing import Any

from pool_doctor.scan import fieldtext
from pool_doctor.scan.kinds import SV, Branches, ClassRef, Frame, FuncRef, InstanceRef, Interpreter, ListV
from pool_doctor.scan.names import dotted_parts
from pool_doctor.scan.settings import SettingsClasses

MEMO_DEPTH = 3  # a method's result is kept when worked out this close to the top of the scan's calls


class Memo:
    """A method that takes nothing but its instance gives the same each time it is asked (the scan's values do
    not change once made: an attribute set later makes a new instance): run once per instance."""

    def __init__(self) -> None:
        # (method, instance, closure) -> the instance and closure themselves (their ids are only theirs while they
        # live: a stale id never matches), and the result
        self._kept: dict[tuple[int, int, int], tuple[Any, Any, Any]] = {}

    def get(self, func: FuncRef, frame: Frame) -> Any:
        key = _key(func, frame)
        kept = self._kept.get(key) if key is not None else None
        if kept is None or kept[0] is not func.bound_self or kept[1] is not func.closure:
            return None
        return kept[2]

    def keep(self, func: FuncRef, frame: Frame, result: Any) -> None:
        key = _key(func, frame)
        if key is not None:
            self._kept[key] = (func.bound_self, func.closure, result)


def _key(func: FuncRef, frame: Frame) -> tuple[int, int, int] | None:
    if func.bound_self is None:
        return None
    first = [*func.node.args.posonlyargs, *func.node.args.args][:1]
    if not set(frame.bindings) <= {*(a.arg for a in first), "__self__", "__class__"}:
        return None  # it takes arguments
    return id(func.node), id(func.bound_self), id(func.closure)


def one_variable(ev: Interpreter, frame: Frame) -> str | None:
    """The environment variable a function's arguments read, when they read one only."""
    found = {value.env for value in map(ev.force, frame.bindings.values()) if isinstance(value, SV)}
    found.discard(None)
    return found.pop() if len(found) == 1 else None


def settings_instead(ev: Interpreter, classes: SettingsClasses, func: FuncRef, result: Any) -> Any:
    """A function annotated to return the project's settings class (`def get_settings() -> Settings`) whose
    result the scan cannot follow (a context variable, a cache): an instance as the environment builds it."""
    returns = getattr(func.node, "returns", None)
    unknown_result = isinstance(result, SV) and not result.known
    branches = isinstance(result, Branches) and any(isinstance(o, SV) and not o.known for _, o in result.options)
    if returns is None or not (unknown_result or branches):
        return result
    cls = ev.force(ev.eval(returns, Frame(func.module)))
    if not isinstance(cls, ClassRef) or not classes.is_settings(cls):
        return pool_classes(ev, func, returns, result) if unknown_result else result
    fresh = InstanceRef(cls, {})
    if isinstance(result, Branches):
        options = [(w, fresh if isinstance(o, SV) and not o.known else o) for w, o in result.options]
        return ev.force(Branches(options, default=result.default))
    return fresh


SEQUENCES = {"list", "List", "Sequence", "tuple", "Tuple", "Iterable", "Iterator"}


def pool_classes(ev: Interpreter, func: FuncRef, returns: ast.expr, result: Any) -> Any:
    """A function annotated to return a project class that makes pools, or a list of them (diracx's
    `available_implementations(name) -> list[type[BaseSQLDB]]`, read from entry points), whose result the scan
    cannot follow: that class (any subclass of it), or a list of it, so that the caller's instance is read."""
    frame = Frame(func.module)
    sequence = isinstance(returns, ast.Subscript) and (dotted_parts(returns.value) or [""])[-1] in SEQUENCES
    inner = returns.slice if isinstance(returns, ast.Subscript) and sequence else returns
    inner = inner.elts[0] if isinstance(inner, ast.Tuple) and inner.elts else inner  # (`tuple[type[X], ...]`)
    wants_class = isinstance(inner, ast.Subscript) and (dotted_parts(inner.value) or [""])[-1] in ("type", "Type")
    found = fieldtext.of_its_type(ev, inner, frame, "") if wants_class else None
    if not isinstance(found, ClassRef) or not fieldtext.pools_in(found.module, found.node):
        return result
    return ListV([found], func.module.where(returns)) if sequence else found
