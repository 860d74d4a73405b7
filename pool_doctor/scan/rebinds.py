"""Attributes a function sets on an object the app shares: a module's settings instance (`Settings.pool_size =
...` in phoenix's `initialize_settings()`), a class through a classmethod (`cls._app_name = ...` in onyx's
`SqlEngine.set_app_name`). Which value a read meets depends on whether that function ran first, which the scan
does not know: such an attribute is unknown, never the default the function replaces."""

from __future__ import annotations

import ast
from typing import Any

from pool_doctor.scan.finder import FunctionNode, Module, Project
from pool_doctor.scan.kinds import ClassRef, InstanceRef, Interpreter
from pool_doctor.scan.nodes import is_classmethod
from pool_doctor.scan.scopes import Scopes

Write = tuple[Module, str, FunctionNode, ast.ClassDef | None]


class Rebinds:
    def __init__(self, ev: Interpreter, scopes: Scopes, project: Project) -> None:
        self.ev, self.scopes, self.project = ev, scopes, project
        self._index: dict[str, list[Write]] = {}
        self._indexed = -1  # how many modules the index holds: files parsed later are added

    def set_by(self, holder: Any, attr: str) -> str | None:
        """The function (`name()`) that sets `attr` on `holder` (an instance or a class), if one does."""
        if len(self.project.modules) != self._indexed:
            self._index = {}
            for module in list(self.project.modules.values()):
                if module is not None and not module.aside:
                    for name, writes in module.attr_writes.items():
                        self._index.setdefault(name, []).extend((module, *write) for write in writes)
            self._indexed = len(self.project.modules)
        for module, name, func, cls in self._index.get(attr, ()):
            found = self._written(module, name, func, cls, holder)
            if found:
                return f"{func.name}()"
        return None

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


def _same(written: Any, holder: Any) -> bool:
    if isinstance(holder, InstanceRef):
        return written is holder
    return isinstance(holder, ClassRef) and isinstance(written, ClassRef) and written.node is holder.node
