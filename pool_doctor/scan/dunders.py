"""Python's attribute hooks on the project's classes: a descriptor's `__get__` (named by `__set_name__`), and
`__getattr__` for what no attribute holds; and a `__new__` that hands back the one instance it keeps."""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from pool_doctor.scan.kinds import (
    SV,
    ClassRef,
    Frame,
    FuncRef,
    InstanceRef,
    Interpreter,
    ModuleRef,
    PropertyV,
    is_known,
    unknown,
)


class Dunders:
    def __init__(
        self,
        ev: Interpreter,
        own_method: Callable[[ClassRef, str, Any], FuncRef | None],
        with_attribute: Callable[[InstanceRef, str, Any], InstanceRef],
    ) -> None:
        self.ev = ev
        self.own_method = own_method
        self.with_attribute = with_attribute
        self._read: dict[tuple[int, str], tuple[Any, Any]] = {}  # (holder, attribute) -> what __get__ gave
        self._getting: set[tuple[int, str]] = set()  # (__getattr__, attribute) being read now

    def descriptor_read(self, value: Any, owner: ClassRef, attr: str, instance: InstanceRef | None) -> Any:
        """A class attribute holding an instance of a project class with `__get__` (reflex's `env_var(5)`), read
        through it: `__set_name__` having told the descriptor its attribute's name, what `__get__` returns."""
        if isinstance(value, PropertyV) and instance is not None:
            fget = self.ev.force(value.getter)
            if not isinstance(fget, FuncRef) or isinstance(fget.node, ast.Lambda) or not fget.node.args.args:
                return unknown(None, None, why=f"{attr} (a property's getter)")
            return self.ev.call_function(replace(fget, bound_self=instance), None, Frame(fget.module))
        getter = self.own_method(value.cls, "__get__", value) if isinstance(value, InstanceRef) else None
        if getter is None:
            return value
        holder = instance if instance is not None else owner.node
        key = (id(holder), attr)
        cached = self._read.get(key)
        if cached is not None and cached[0] is holder:  # one read per holder: what it gives is asked of again
            return cached[1]
        namer = self.own_method(value.cls, "__set_name__", value)
        params = [a.arg for a in (*namer.node.args.posonlyargs, *namer.node.args.args)] if namer else []
        if namer is not None and len(params) == 3:
            frame = self.ev.bind(namer, None, Frame(namer.module))
            frame.bindings.update({params[1]: owner, params[2]: SV(attr, None, source=repr(attr))})
            for name, item in self.ev.bound_locals(namer, frame).items():
                if name.startswith(f"{params[0]}."):
                    value = self.with_attribute(value, name[len(params[0]) + 1 :], item)
            getter = replace(getter, bound_self=value)
        params = [a.arg for a in (*getter.node.args.posonlyargs, *getter.node.args.args)]
        frame = self.ev.bind(getter, None, Frame(getter.module))
        if len(params) == 3:
            frame.bindings.update({params[1]: instance if instance is not None else SV(None, None), params[2]: owner})
        result = self.ev.call_bound(getter, frame)
        self._read[key] = (holder, result)
        return result

    def getitem_read(self, instance: InstanceRef | ModuleRef, key: Any) -> Any:
        """What the class's own `__getitem__` gives for `instance[key]` (Empire's `return getattr(self, key)`);
        None when it has none. A module's (`globals()["DB_URL"]`: LBGenerator's) is its global of that name."""
        if isinstance(instance, ModuleRef):
            text = key.value if is_known(key) and isinstance(key.value, str) else None
            return self.ev.attribute(ModuleRef(instance.module), text, None, Frame(instance.module)) if text else None
        hook = self._hook(instance, "__getitem__")
        if hook is None or isinstance(hook[0].node, ast.Lambda):
            return None
        found = self.ev.force(self._call(*hook, key))  # (unknown: as the caller wrote it, not the class)
        return None if isinstance(found, SV) and not found.known and not (found.branches or found.env) else found

    def getattr_read(self, instance: InstanceRef, attr: str) -> Any:
        """What the class's `__getattr__` gives for an attribute nothing sets (OpenSlides' Environment reads its
        `vars` dict by name); None when it has none."""
        hook = None if attr.startswith("__") else self._hook(instance, "__getattr__")
        if hook is None:
            return None
        key = (id(hook[0].node), attr)
        if key in self._getting:  # its body reads the same attribute of self (mlrun's `self._cfg`, which
            return unknown(None, None, why=f"{attr} (read by __getattr__ itself)")  # object.__setattr__ sets)
        self._getting.add(key)
        try:
            return self._call(*hook, SV(attr, None, source=repr(attr)))
        finally:
            self._getting.discard(key)

    def _hook(self, instance: InstanceRef, name: str) -> tuple[FuncRef, str] | None:
        """The class's own `name` method taking one argument besides self, and that argument's name."""
        method = self.own_method(instance.cls, name, instance)
        params = [a.arg for a in (*method.node.args.posonlyargs, *method.node.args.args)] if method else []
        return (method, params[1]) if method is not None and len(params) == 2 else None

    def _call(self, method: FuncRef, param: str, argument: Any) -> Any:
        bound = self.ev.bind(method, None, Frame(method.module))
        bound.bindings[param] = argument
        return self.ev.call_bound(method, bound)


def singleton(new: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A `__new__` that keeps the instance it makes (on its class, in a dict of it, or a global) to hand it back."""
    first = next((a.arg for a in [*new.args.posonlyargs, *new.args.args]), None)
    stores = [n for n in ast.walk(new) if isinstance(n, ast.Attribute | ast.Subscript) and isinstance(n.ctx, ast.Store)]
    return any(isinstance(n, ast.Global) for n in ast.walk(new)) or any(_root(n) == first for n in stores)


def _root(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None
