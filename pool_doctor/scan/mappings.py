"""A project's subclass of dict (MaxKB's `class Config(dict)` with a method that returns DATABASES['default']):
an instance of the class, its methods known, whose items are a dict's: the keys the code sets (`config[key] =
...`), read by subscript and dict's own methods. One whose own methods read or write its items (bodhi's `copy()`
loading its defaults first) is not read as one."""

from __future__ import annotations

import ast
from dataclasses import replace
from typing import Any, Protocol

from pool_doctor.scan.finder import FunctionNode
from pool_doctor.scan.kinds import ClassRef, DictV, ExternalRef, FuncRef, InstanceRef, Interpreter
from pool_doctor.scan.nodes import MUTATORS

MAPPINGS = {"builtins.dict", "collections.OrderedDict", "collections.UserDict", "collections.defaultdict"}
MAPPING_METHODS = {"get", "pop", "setdefault", "copy", "items", "keys", "values"}  # pycalls.dict_method's
ITEM_METHODS = ("__getitem__", "__setitem__", "__missing__", "__iter__", "__contains__", "update")


class Classes(Protocol):
    """scan/settings.py's SettingsClasses, as these ask it."""

    def class_chain(self, cls: ClassRef, seen: int = 0) -> list[ClassRef]: ...

    def class_bases(self, cls: ClassRef) -> list[Any]: ...

    def own_method(self, cls: ClassRef, name: str, bound: Any) -> FuncRef | None: ...

    def init_of(self, cls: ClassRef) -> FuncRef | None: ...


class Mappings:
    def __init__(self, ev: Interpreter, classes: Classes) -> None:
        self.ev = ev
        self.classes = classes
        self._mappings: dict[int, bool] = {}  # class -> whether it is one

    def held_items(self, instance: InstanceRef) -> DictV | None:
        """A project subclass of dict (one that reads and writes its items as dict does): the items the code set,
        what its call gives dict's own `__init__` when it has none of its own, else the keys set over unknown ones.
        None for any other class."""
        if instance.items is not None or not self.is_mapping(instance.cls):
            return instance.items
        if instance.call is not None and instance.frame is not None and self.classes.init_of(instance.cls) is None:
            given = self.ev.dict_call(instance.call, instance.frame)  # dict's own __init__: what the call gives
            if isinstance(given, DictV):
                return given
        return DictV({}, instance.cls.module.where(instance.cls.node), [f"**{instance.cls.node.name}(...)"])

    def is_mapping(self, cls: ClassRef) -> bool:
        """A project subclass of dict that reads and writes its items as dict does: none of its own methods is one
        of dict's that reads or writes them (bodhi's `copy()` loads its defaults first), nor fills it (`self[k] =
        ...`, `self.update(...)`: a method run at a time the scan does not follow)."""
        key = id(cls.node)
        if key not in self._mappings:
            chain = self.classes.class_chain(cls)
            bases = [b for k in chain for b in self.classes.class_bases(k) if isinstance(b, ExternalRef)]
            own = any(self.classes.own_method(cls, name, None) for name in (*MAPPING_METHODS, *ITEM_METHODS))
            fills = any(_fills_itself(s) for k in chain for s in k.node.body if isinstance(s, FunctionNode))
            self._mappings[key] = any(b.dotted in MAPPINGS for b in bases) and not own and not fills
        return self._mappings[key]

    def changed(self, value: Any, attr: str) -> Any:
        """An instance's attribute another method changes in place: its items, if it is one of these, unknown."""
        if isinstance(value, InstanceRef) and (value.items is not None or self.is_mapping(value.cls)):
            where = value.cls.module.where(value.cls.node)
            return replace(value, items=DictV({}, where, [f"[self.{attr}, changed after __init__]"]))
        return value


def _fills_itself(method: FunctionNode) -> bool:
    """`self[key] = ...`, `del self[key]`, `self.update(...)` (or `super().update(...)`) in the method."""
    params = [*method.args.posonlyargs, *method.args.args]
    me = params[0].arg if params else None
    for node in ast.walk(method):
        written = node.value if isinstance(node, ast.Subscript) and isinstance(node.ctx, (ast.Store, ast.Del)) else None
        if isinstance(written, ast.Name) and written.id == me:
            return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in MUTATORS:
            base = node.func.value
            if (isinstance(base, ast.Name) and base.id == me) or (
                isinstance(base, ast.Call) and isinstance(base.func, ast.Name) and base.func.id == "super"
            ):
                return True
    return False
