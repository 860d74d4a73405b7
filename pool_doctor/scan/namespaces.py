"""A module's own names read as a dict: `globals()`, and at a module's top `locals()` and `vars()`, which are the
same dict there (django-openipam's `DATABASES = locals().pop("DATABASES", {...})` after a star import of local
settings a deployment may add): a name the module has bound by then is its value, else the default given."""

from __future__ import annotations

import ast
from typing import Any

from pool_doctor.scan.finder import Module, resolve_relative
from pool_doctor.scan.kinds import SV, Frame, Interpreter, ModuleRef, is_known, unknown
from pool_doctor.scan.nodes import required_absent

METHODS = ("get", "pop", "setdefault")


def module_locals(node: ast.Call, frame: Frame) -> Any:
    """`locals()` or `vars()`: a module's names at its top; a function's locals are not read this way."""
    return ModuleRef(frame.module, namespace=True) if frame.scope is None else unknown(frame.module, node)


def method(ev: Interpreter, base: ModuleRef, name: str, node: ast.Call, frame: Frame) -> Any:
    """`get`, `pop` or `setdefault` of a name: at the module's own top, the name as its statements so far left it;
    elsewhere the module's name once imported; the default where the module has not bound it, unknown where a
    star import the tree lacks (and the module needs) may have."""
    key = ev.arg(node, frame, 0, None)
    given = ev.arg(node, frame, 1, None)
    if not (is_known(key) and isinstance(key.value, str)) or name not in METHODS:
        return unknown(frame.module, node)
    text, module = key.value, base.module
    if frame.flow and frame.scope is None and frame.module is module:
        if text in frame.bindings:
            return ev.force(frame.bindings[text])
    elif _bound(ev, module, text):
        return ev.attribute(ModuleRef(module), text, node, frame)
    for stmt in ast.walk(module.tree):
        if isinstance(stmt, ast.ImportFrom) and any(alias.name == "*" for alias in stmt.names):
            star = resolve_relative(module, stmt.module, stmt.level)
            if star and required_absent(ev.project, module, star, stmt):
                return unknown(frame.module, node, why=f"{text} (what {star} sets; the tree lacks it)")
    return given if given is not None else SV(None, frame.module.where(node))


def _bound(ev: Interpreter, module: Module, name: str) -> bool:
    """Whether the module binds the name: its own statements, or a star import of a module the tree has."""
    if name in module.assigns or name in module.functions or name in module.classes or name in module.imports:
        return True
    found = (ev.project.module_by_name(star, module.path) for star in module.star_imports)
    return any(source is not None and name in source.assigns for source in found)
