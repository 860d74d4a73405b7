"""A Django settings module a settings package star-imports only under a test of its own (filmography_app's
`if app_stage == 'prod': from .production import *`, troupon's `if HEROKU:`): its aliases' pools hold under that
test, which their `condition` says; not a module the project names as DJANGO_SETTINGS_MODULE itself (wsgi.py's
`proj.settings.production` runs whatever the package tests)."""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path

from pool_doctor.scan import djangosettings
from pool_doctor.scan.finder import Project, resolve_relative
from pool_doctor.scan.model import ScannedPool
from pool_doctor.scan.scopes import condition_text


def under_tests(project: Project, pools: list[ScannedPool]) -> list[ScannedPool]:
    """Each DATABASES pool of a module every star import of which runs under one same test, with that test."""
    if not any(pool.call.startswith("DATABASES") and pool.condition is None for pool in pools):
        return pools
    modules = [m for m in list(project.modules.values()) if m is not None]
    tests: dict[Path, set[str]] = {}  # each module's star imports' tests ("" for one that always runs)
    for module in modules:
        for stmt, sides in module.module_statements:
            if not (isinstance(stmt, ast.ImportFrom) and any(a.name == "*" for a in stmt.names)):
                continue
            base = resolve_relative(module, stmt.module, stmt.level)
            found = project.find_module(base, module.path) if base is not None else None
            if found is not None and found != module.path:
                tests.setdefault(found, set()).add(condition_text(module, sides) if sides else "")
    paths = {m.display: m.path for m in modules}
    named = djangosettings.named_paths(project)  # (a module wsgi.py names runs whatever the package tests)
    out = []
    for pool in pools:
        path = paths.get(pool.file)
        held = tests.get(path, set()) if path is not None and path not in named else set()
        if pool.call.startswith("DATABASES") and pool.condition is None and len(held) == 1 and "" not in held:
            pool = replace(pool, condition=next(iter(held)))
        out.append(pool)
    return out
