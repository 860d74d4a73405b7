"""Attributes a function sets on an object the app shares: a module's settings instance (`Settings.pool_size =
...` in phoenix's `initialize_settings()`), a class through a classmethod (`cls._app_name = ...` in onyx's
`SqlEngine.set_app_name`). Which value a read meets depends on whether that function ran first, which the scan
does not know: such an attribute is unknown, never the default the function replaces."""

from __future__ import annotations

import ast
from dataclasses import replace
from typing import Any

from pool_doctor.scan.finder import FunctionNode, Module, Project, read_source
from pool_doctor.scan.kinds import ClassRef, Frame, FuncRef, InstanceRef, Interpreter
from pool_doctor.scan.names import last_name
from pool_doctor.scan.nodes import is_classmethod
from pool_doctor.scan.scopes import Scopes

Write = tuple[Module, str, FunctionNode, ast.ClassDef | None]


class Rebinds:
    def __init__(self, ev: Interpreter, scopes: Scopes, project: Project) -> None:
        self.ev, self.scopes, self.project = ev, scopes, project
        self._index: dict[str, list[Write]] = {}
        self._indexed = -1  # how many modules the index holds: files parsed later are added
        self._first_runs: set[tuple[int, str]] = set()  # (class, attribute) read as before its __init__ runs
        self._made: dict[int, set[str]] = {}  # each class's arguments, once read (_made_with)

    def set_by(self, holder: Any, attr: str) -> str | None:
        """The function (`name()`) that sets `attr` on `holder` (an instance or a class), if one does."""
        found = self._writes(holder, attr)
        return f"{found[0][2].name}()" if found else None

    def first_value(self, instance: InstanceRef, init: FuncRef, attr: str) -> Any | None:
        """A class attribute only the class's own `__init__` sets (`Config.instance = ...`, laniakea's singleton
        under `if not Config.instance:`), read through an instance: what that `__init__` leaves there, run with
        the instance's arguments while its reads of the attribute meet the class's own value (the first
        instance's run). None where another function sets it too, or what is written reads it (a counter)."""
        writes = self._writes(instance.cls, attr)
        names = {name for _, name, _, _ in writes}
        if not writes or any(func is not init.node for _, _, func, _ in writes) or len(names) != 1:
            return None
        if any(_counts(node, attr) for node in ast.walk(init.node)) or len(self._made_with(instance.cls)) > 1:
            return None  # (made with other arguments elsewhere: the first instance made, whichever, fixes it)
        key = (id(instance.cls.node), attr)
        self._first_runs.add(key)
        try:
            ref = replace(init, bound_self=instance)
            frame = self.ev.bind(ref, instance.call, instance.frame or Frame(instance.cls.module))
            state = self.ev.bound_locals(ref, frame)
        finally:
            self._first_runs.discard(key)
        return state.get(f"{names.pop()}.{attr}")

    def _made_with(self, cls: ClassRef) -> set[str]:
        """The arguments the app's code makes the class with, as written (by its name; files that name it read,
        not parsed into the project: a script's `Config(url)` that names no pool)."""
        if id(cls.node) in self._made:
            return self._made[id(cls.node)]
        name, found = cls.node.name, self._made.setdefault(id(cls.node), set())
        for path in self.project.files:
            module = self.project.modules.get(path)
            data = None if module is not None else self.project.kept.get(path) or read_source(path)[0]
            if self.project.aside(path) or (module is None and not (data and f"{name}(".encode() in data)):
                continue
            try:
                tree = module.tree if module is not None else ast.parse(data or b"")
            except (SyntaxError, ValueError, RecursionError):
                continue
            for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call) and last_name(n.func) == name):
                given = [ast.unparse(a) for a in call.args] + [ast.unparse(k) for k in call.keywords]
                named = any(isinstance(n, ast.Name) for part in (*call.args, *call.keywords) for n in ast.walk(part))
                found.add(f"{path}:{call.lineno}" if named else ", ".join(given))  # (a name: its own value there)
        return found

    def _writes(self, holder: Any, attr: str) -> list[tuple[Module, str, FunctionNode, ast.ClassDef | None]]:
        if isinstance(holder, ClassRef) and (id(holder.node), attr) in self._first_runs:
            return []
        if len(self.project.modules) != self._indexed:  # (the modules parsed since: the dict keeps their order)
            for module in list(self.project.modules.values())[max(self._indexed, 0) :]:
                if module is not None and not module.aside:
                    for name, writes in module.attr_writes.items():
                        self._index.setdefault(name, []).extend((module, *write) for write in writes)
            self._indexed = len(self.project.modules)
        return [write for write in self._index.get(attr, ()) if self._written(*write, holder)]

    def _written(self, module: Module, name: str, func: FunctionNode, cls: ast.ClassDef | None, holder: Any) -> bool:
        params = [a.arg for a in (*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs)]
        if name in params:
            if not (cls is not None and params[0] == name and is_classmethod(func)):
                return False  # a method's self.x (its class's business) or a parameter's
            written: Any = ClassRef(module, cls)
        elif name in self.ev.local_names(func):
            return False
        else:
            written = self.ev.force(self.scopes.global_value(module, name, None))
        return _same(written, holder)


def _counts(node: ast.AST, attr: str) -> bool:
    """Whether a statement writes `X.attr` from what it holds (`X.count += 1`, `X.n = X.n + 1`)."""
    if isinstance(node, ast.AugAssign):
        return isinstance(node.target, ast.Attribute) and node.target.attr == attr
    return (
        isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Attribute) and t.attr == attr for t in node.targets)
        and any(isinstance(n, ast.Attribute) and n.attr == attr for n in ast.walk(node.value))
    )


def _same(written: Any, holder: Any) -> bool:
    if isinstance(holder, InstanceRef):
        return written is holder
    return isinstance(holder, ClassRef) and isinstance(written, ClassRef) and written.node is holder.node
