"""Module functions nothing in the project names: a fixed factory's call inside one makes no pool when the
factory has callers that run (engdef's `loader.on_startup`, left over beside the `on_startup` app.py registers).

A function is named when its own module reads its name (a call, a registration, `__all__`), when it is
decorated (a route, a task, a fixture: the decorator registers it), or when another file of the project may
import it: that file's text holds the name, and its tree imports it from the module (or `*` from it), reads it
as an attribute, or holds it in a string (`getattr(mod, "name")`, `"app:create_app"`), or a file beside the code
names it (a console script in pyproject.toml, a Procfile's, an .ini's). Only a caller of a factory that makes
the same pool wherever it is called is dropped, and only beside one that runs.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from pool_doctor.scan.finder import CallSite, FunctionNode, Module, Project, read_source

# Files beside the code that name what runs it: console scripts, process types, containers' commands
ENTRY_FILES = {"pyproject.toml", "setup.cfg", "Procfile", "Dockerfile", "docker-compose.yml", "compose.yaml"}


class Unused:
    def __init__(self, project: Project) -> None:
        self.project = project
        self._candidates: dict[tuple[str, str], tuple[Module, str]] = {}  # not named in their own module
        self._named: set[tuple[str, str]] = set()  # candidates another file may import
        self._resolved = False
        # wrapper calls in candidates (pools.count_callers): the wrapper, the module, the call, whether it remakes
        self.callers: list[tuple[Any, Module, CallSite, bool]] = []

    def candidate(self, module: Module, func: FunctionNode | ast.Lambda) -> bool:
        """Whether `func` may be unused: one of `module`'s own functions, undecorated, its name read nowhere in
        its module (`resolve` then looks in the other files)."""
        if isinstance(func, ast.Lambda):
            return False
        name = func.name
        if module.functions.get(name) is not func or func.decorator_list or name.startswith("__"):
            return False
        key = (module.display, name)
        if key not in self._candidates and not _named_in(module.tree, name):
            self._candidates[key] = (module, name)
        return key in self._candidates

    def resolve(self) -> None:
        """One pass over the project's files for every candidate's name."""
        if self._resolved or not self._candidates:
            return
        self._resolved = True
        names = {name for _, name in self._candidates.values()}
        needle = re.compile(rb"\b(%s)\b" % b"|".join(re.escape(n.encode()) for n in sorted(names)))
        for path in (p for p in self.project.base.iterdir() if p.name in ENTRY_FILES or p.suffix == ".ini"):
            named = {m.decode() for m in needle.findall(read_source(path)[0] or b"")}  # a console script's
            self._named.update(key for key, (_, name) in self._candidates.items() if name in named)
        for path in self.project.files:
            module = self.project.modules.get(path)
            data = module.source.encode() if module is not None else read_source(path)[0]
            found = {m.decode() for m in needle.findall(data or b"")}
            if not found:
                continue
            tree = module.tree if module is not None else _parsed(data or b"")
            for key, (owner, name) in self._candidates.items():
                if name in found and owner.path != path and (tree is None or _imported(tree, name, owner)):
                    self._named.add(key)  # (a file the scan cannot read is taken as naming it)

    def drop_callers(self) -> set[int]:
        """The calls in unused functions of a fixed factory (taint.keeps: the same pool from every call) that other
        callers call: no pool (and uncounted). A wrapper whose callers give it values keeps every caller's pool:
        `create_app()` is called by name from outside the code (Flask's CLI, gunicorn's `"app:create_app()"`)."""
        self.resolve()
        dropped: dict[int, list[tuple[Any, CallSite, bool]]] = {}
        for wrapper, module, site, again in self.callers:
            if self.function(module, site.functions[0]):
                dropped.setdefault(id(wrapper), []).append((wrapper, site, again))
        sites: set[int] = set()
        for found in dropped.values():
            wrapper = found[0][0]
            if wrapper.is_fixed and wrapper.callers > len(found):  # another caller makes the same pool
                wrapper.callers -= len(found)
                wrapper.remakes -= sum(again for _, _, again in found)
                sites.update(id(site.call) for _, site, _ in found)
        return sites

    def function(self, module: Module, func: FunctionNode | ast.Lambda) -> bool:
        """Whether nothing in the project names `func` (after `resolve`)."""
        key = (module.display, getattr(func, "name", ""))
        return self._resolved and key in self._candidates and key not in self._named


def _parsed(data: bytes) -> ast.Module | None:
    try:
        return ast.parse(data)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _named_in(tree: ast.Module, name: str) -> bool:
    """The module reads the name (not only defines it), or holds it in a string (`__all__`, a registry)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == name and not isinstance(node.ctx, ast.Store):
            return True
        if isinstance(node, ast.Attribute) and node.attr == name:
            return True
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and name in node.value:
            return True
    return False


def _imported(tree: ast.Module, name: str, owner: Module) -> bool:
    stem = owner.name.rsplit(".", 1)[-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names = {alias.name for alias in node.names}
            if (node.module or "").rsplit(".", 1)[-1] == stem and (name in names or "*" in names):
                return True
        elif (isinstance(node, ast.Attribute) and node.attr == name) or (
            isinstance(node, ast.Constant) and isinstance(node.value, str) and name in node.value
        ):
            return True
    return False
