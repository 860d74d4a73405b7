"""What an app's `state` holds where the code reads it back through an app it is handed (Starlette's and FastAPI's
`app.state.settings`, `request.app.state.settings`): the value the project's one store of that name
(`app.state.settings = app_settings` in its factory) gives, read where it is written; a request's own state
(`request.state.x`) is no app's. Several stores of the name, or none: unknown, as before."""

from __future__ import annotations

import ast
import os
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from pool_doctor.scan.callers import newly_read, parse_naming
from pool_doctor.scan.finder import FunctionNode, Module, Project
from pool_doctor.scan.kinds import SV, Frame, Interpreter

Store = tuple[Module, FunctionNode | None, ast.Assign]
_STORES: WeakKeyDictionary[Project, tuple[set[Path], dict[str, list[Store]]]] = WeakKeyDictionary()
_VALUES: WeakKeyDictionary[Project, dict[int, Any]] = WeakKeyDictionary()
_READING: set[int] = set()
REQUESTS = {"request", "req", "websocket", "ws", "scope", "conn", "connection", "ctx", "context"}


def read(ev: Interpreter, base: Any, attr: str, reader: Module) -> Any:
    """`<app>.state.attr` of an app the scan cannot read: the value of the one store nearest the reader (in the
    deepest folder they share: a monorepo's services each store their own); None: no such read, or no one
    store."""
    holder, _, state = (base.expr or "").rpartition(".") if isinstance(base, SV) and not base.known else ("", "", "")
    if state != "state" or _per_request(holder):
        return None
    stores = _stores(ev.project).get(attr, [])
    shared = [len(os.path.commonpath([store[0].path, reader.path])) for store in stores]
    stores = [store for store, depth in zip(stores, shared, strict=True) if depth == max(shared)]
    if len(stores) != 1 or id(stores[0][2]) in _READING:
        return None
    module, func, stmt = stores[0]
    values = _VALUES.setdefault(ev.project, {})
    if id(stmt) not in values:  # (each store read once a scan)
        _READING.add(id(stmt))
        try:
            frame = ev.flow.frame_at(func, Frame(module, scope=func), stmt) if func is not None else Frame(module)
            values[id(stmt)] = ev.force(ev.eval(stmt.value, frame))
        finally:
            _READING.discard(id(stmt))
    return values[id(stmt)]


def _stores(project: Project) -> dict[str, list[Store]]:
    if project not in _STORES:
        parse_naming(project, rb"\.state\.\w+\s*=[^=]")  # (the files that store one, read once)
        _STORES[project] = (set(), {})
    seen, found = _STORES[project]
    for module in (m for m in newly_read(project, seen) if not m.aside):
        for func, stmt in _assignments(module.tree) if ".state." in module.source else []:
            target = stmt.targets[0] if len(stmt.targets) == 1 else None
            held = target.value if isinstance(target, ast.Attribute) else None
            state = (
                isinstance(held, ast.Attribute) and held.attr == "state" and not _per_request(ast.unparse(held.value))
            )
            if isinstance(target, ast.Attribute) and state:
                found.setdefault(target.attr, []).append((module, func, stmt))
    return found


def _per_request(holder: str) -> bool:
    """A request's (or a connection's) own state (`request.state.user`), not the app's (`request.app.state`)."""
    return holder.rpartition(".")[2].lower() in REQUESTS


def _assignments(tree: ast.AST, func: FunctionNode | None = None) -> list[tuple[FunctionNode | None, ast.Assign]]:
    found: list[tuple[FunctionNode | None, ast.Assign]] = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found.extend(_assignments(node, node))
        elif isinstance(node, ast.Assign):
            found.append((func, node))
        else:
            found.extend(_assignments(node, func))
    return found
