"""Module functions nothing in the project names: a fixed factory's call inside one makes no pool when the
factory has callers that run (engdef's `loader.on_startup`, left over beside the `on_startup` app.py registers).

A function is named when its own module reads its name (a call, a registration, `__all__`), when it is
decorated (a route, a task, a fixture: the decorator registers it), or when another file of the project may
import it: that file's text holds the name, and its tree imports that name (from anywhere: a package re-exports
it) or `*` from the module, reads it as an attribute, or holds it in a string (`getattr(mod, "name")`,
`"app:create_app"`); or a file of the project that is not code names it (a console script in pyproject.toml, a
Procfile's, gunicorn's command in a compose file or a shell script). What a framework calls by its name alone
(Flask's `create_app`, Alembic's `upgrade`, Pyramid's `includeme`, gunicorn's `post_fork`) is always named. Only a caller of a factory that makes the same pool wherever it
is called is dropped, and only beside one that runs.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

from pool_doctor.scan.finder import CallSite, FunctionNode, Module, Project, read_source

# Files that name what runs the code: console scripts, process types, containers' and services' commands
ENTRY_SUFFIXES = (".toml", ".cfg", ".ini", ".sh", ".yml", ".yaml", ".conf", ".service", ".json")
ENTRY_NAMES = ("Procfile", "Dockerfile", "Makefile", "Containerfile")
# Called by name by a framework, named nowhere in the code: Flask's CLI app factories, Alembic's migration steps,
# Pyramid's includeme (`config.include("pkg.models")`), a WSGI server's callable, gunicorn's server hooks
CONVENTIONAL = {
    "create_app",
    "make_app",
    "upgrade",
    "downgrade",
    "includeme",
    "application",
    *("on_starting", "on_reload", "when_ready", "pre_fork", "post_fork", "post_worker_init", "worker_int"),
    *("worker_abort", "pre_exec", "pre_request", "post_request", "child_exit", "worker_exit", "on_exit"),
}


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
        if name in CONVENTIONAL:
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
        for path in self.project.walk(""):  # (a console script's, gunicorn's "app:make()" in a compose file)
            if path.suffix in ENTRY_SUFFIXES or path.name.startswith(ENTRY_NAMES):
                named = {m.decode() for m in needle.findall(_text(path))}
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


def _text(path: Path) -> bytes:
    try:
        with path.open("rb") as file:
            return file.read(1 << 20) if path.is_file() else b""
    except OSError:
        return b""


def _imported(tree: ast.Module, name: str, owner: Module) -> bool:
    """Whether a file may import the name from its module: an import of that name from anywhere (a package
    re-exports it; `from . import name`), a star import of the module, an attribute or a string of that name."""
    stem = owner.name.rsplit(".", 1)[-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names = {alias.name for alias in node.names}
            star = "*" in names and (node.module is None or node.module.rsplit(".", 1)[-1] == stem)
            if name in names or star:
                return True
        elif (isinstance(node, ast.Attribute) and node.attr == name) or (
            isinstance(node, ast.Constant) and isinstance(node.value, str) and name in node.value
        ):
            return True
    return False
