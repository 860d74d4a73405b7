"""`django.conf.settings.NAME` in the app's own code: what the settings module Django loads leaves NAME. That
module is the one the project names in `os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")`: the
wsgi or asgi module's that the server runs first, else manage.py's, else another of the app's own modules'
(Falcon's tenant aliases copy `settings.DATABASES["default"]`). A name that module never sets, or a module the tree
lacks, is read as before: the library's, unknown."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from weakref import WeakKeyDictionary

from pool_doctor.scan.finder import Module, Project

SETTINGS = "django.conf.settings"
NAMED = re.compile(r"""DJANGO_SETTINGS_MODULE['"]\s*,\s*['"]([\w.]+)['"]""")  # (an f-string names none)
FIRST = ("wsgi", "asgi", "manage")  # what runs the app, before scripts that name a settings module of their own

_found: WeakKeyDictionary[Project, Module | None] = WeakKeyDictionary()


def read(project: Project, global_value: Callable[[Module, str], Any], dotted: str, attr: str) -> Any | None:
    """NAME's value in the settings module; None where the scan keeps the library's name."""
    if dotted != SETTINGS or not attr.isupper():
        return None
    module = settings_module(project)
    if module is None or not (attr in module.assigns or module.star_imports):
        return None
    return global_value(module, attr)


def settings_module(project: Project) -> Module | None:
    if project not in _found:
        _found[project] = _named(project)
    return _found[project]


def _named(project: Project) -> Module | None:
    first = sorted((p for p in project.files if p.stem in FIRST), key=lambda p: FIRST.index(p.stem))
    others = [m.path for m in project.modules.values() if m is not None and m.path.stem not in FIRST]
    for path in [*first, *others]:
        module = project.parse(path)
        named = NAMED.search(module.source) if module is not None and not module.aside else None
        found = project.module_by_name(named.group(1), path) if named else None
        if found is not None:
            return found
    return None
