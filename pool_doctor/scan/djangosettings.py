"""`django.conf.settings.NAME` in the app's own code: what the settings module Django loads leaves NAME. That
module is the one the project names in `os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")`: the
wsgi or asgi module's that the server runs first, else manage.py's, else another of the app's own modules', of
the project the reading module is in (Falcon's tenant aliases copy `settings.DATABASES["default"]`). A name that
module never sets, or a module the tree lacks or the tests', is unknown (never the library's path as a value)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from pool_doctor.scan.finder import Module, Project
from pool_doctor.scan.kinds import SV

SETTINGS = "django.conf.settings"
NAMED = re.compile(r"""DJANGO_SETTINGS_MODULE['"]\s*,\s*['"]([\w.]+)['"]""")  # (an f-string names none)
FIRST = ("wsgi", "asgi", "manage")  # what runs the app, before scripts that name a settings module of their own

# each project's settings modules the tree names: the folder a module's dotted name starts from, and the module
# (None: one the tree lacks, made at deploy time), in FIRST's order
_found: WeakKeyDictionary[Project, list[tuple[Path, Module | None]]] = WeakKeyDictionary()


def read(
    project: Project, global_value: Callable[[Module, str], Any], dotted: str, attr: str, near: Module
) -> Any | None:
    """NAME's value in the settings module; unknown where that is not in the tree or does not set it (a setting,
    never a library object named by its path); None for any other name."""
    if dotted != SETTINGS or not attr.isupper():
        return None
    module = settings_module(project, near)
    if module is None or not (attr in module.assigns or module.star_imports):
        return SV(None, None, known=False, expr=f"{SETTINGS}.{attr}")
    return global_value(module, attr)


def settings_module(project: Project, near: Module) -> Module | None:
    """The settings module of the project `near` is part of: of the folders settings modules are named from, the
    nearest above it (a monorepo's Django projects each have theirs); the first of them a server runs (FIRST).
    None where that module is not in the tree (a deployment's), or none is named above it."""
    if project not in _found:
        _found[project] = _named(project)
    above = [(base, module) for base, module in _found[project] if near.path.is_relative_to(base)]
    deepest = max((len(base.parts) for base, _ in above), default=None)
    return next((module for base, module in above if len(base.parts) == deepest), None)


def named_paths(project: Project) -> set[Path]:
    """The settings modules the project names as DJANGO_SETTINGS_MODULE (wsgi's, asgi's, manage.py's, ...)."""
    if project not in _found:
        _found[project] = _named(project)
    return {module.path for _, module in _found[project] if module is not None}


def _named(project: Project) -> list[tuple[Path, Module | None]]:
    first = sorted((p for p in project.files if p.stem in FIRST), key=lambda p: FIRST.index(p.stem))
    others = [m.path for m in project.modules.values() if m is not None and m.path.stem not in FIRST]
    found: list[tuple[Path, Module | None]] = []
    for path in [*first, *others]:
        module = project.parse(path)
        named = NAMED.search(module.source) if module is not None and not module.aside else None
        if named is None:
            continue
        settings = project.module_by_name(named.group(1), path)
        if settings is not None and settings.aside:
            continue  # (a reusable app's test settings, which runtests.py names: the host project's apply)
        if settings is not None:
            where, depth = settings.path, len(named.group(1).split(".")) + (settings.path.name == "__init__.py")
        else:  # (a module the tree lacks: from where its namer's own name starts)
            where, depth = path, len(project.import_name(path).split("."))
        found.append((where.parents[depth - 1], settings))
    return found
