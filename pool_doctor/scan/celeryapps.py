"""Celery apps no Django fixup serves. Celery installs its Django fixup (close_old_connections around each task:
celery/fixups/django.py's fixup(), run by Celery()) when DJANGO_SETTINGS_MODULE is set as the app is made: by the
module that makes it (Django's documented `os.environ.setdefault(...)` before `Celery(...)`), or by the worker's
environment (a compose service's `environment:`, the image's `ENV`). A worker the scan sees none of that for may
keep a connection past CONN_MAX_AGE (rules/code.py's worker-conn-max-age)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pool_doctor.scan.finder import Project, read_source

# `os.environ.setdefault("DJANGO_SETTINGS_MODULE", ...)` or `os.environ["DJANGO_SETTINGS_MODULE"] = ...` on a line
# of its own (not a comment, not a read such as `.get(...)` or `.pop(...)`)
SET_IN_CODE = re.compile(
    rb"""(?m)^[ \t]*(?:os\.)?environ(?:\.setdefault\(\s*['"]DJANGO_SETTINGS_MODULE['"]"""
    rb"""|\[\s*['"]DJANGO_SETTINGS_MODULE['"]\s*\]\s*=[^=])"""
)
ENV_LINE = re.compile(rb"(?m)^[ \t]*ENV\b[^\n]*\bDJANGO_SETTINGS_MODULE\b")  # a Dockerfile's, either form


def set_in_code(data: bytes, end: int) -> bool:
    """Whether the module's text sets the variable before `end` (where its `Celery(` call is)."""
    return SET_IN_CODE.search(data, 0, end) is not None


def set_for_workers(project: Project) -> bool:
    """Whether every worker's environment sets the variable: each compose service whose command runs celery sets
    it (in `environment:`, or in the image its `build:` names), or with no such service, every Dockerfile does."""
    dockerfiles = list(project.walk("Dockerfile"))
    composes = [p for suffix in (".yml", ".yaml") for p in project.walk(suffix) if "compose" in p.name]
    workers = [service for path in composes for service in _celery_services(path)]
    if workers:
        return all(_sets(service, path, project) for path, service in workers)
    return bool(dockerfiles) and all(_image_sets(path) for path in dockerfiles)


def _celery_services(path: Path) -> list[tuple[Path, dict[str, Any]]]:
    try:
        import yaml
    except ImportError:  # (PyYAML is the app's dependency, not pool-doctor's: no compose file is read)
        return []
    data = read_source(path)[0]
    try:
        document = yaml.safe_load(data or b"")
    except Exception:
        return []
    services = document.get("services") if isinstance(document, dict) else None
    found = []
    for service in services.values() if isinstance(services, dict) else []:
        run = service.get("command", "") if isinstance(service, dict) else ""
        entry = service.get("entrypoint", "") if isinstance(service, dict) else ""
        if "celery" in f"{run} {entry}":
            found.append((path, service))
    return found


def _sets(service: dict[str, Any], path: Path, project: Project) -> bool:
    environment = service.get("environment")
    names = (
        [str(item).split("=", 1)[0] for item in environment]
        if isinstance(environment, list)
        else list(environment)
        if isinstance(environment, dict)
        else []
    )
    if "DJANGO_SETTINGS_MODULE" in names:
        return True
    build = service.get("build")
    context = build if isinstance(build, str) else build.get("context", ".") if isinstance(build, dict) else None
    if context is None:
        return False
    name = build.get("dockerfile", "Dockerfile") if isinstance(build, dict) else "Dockerfile"
    dockerfile = (path.parent / str(context) / str(name)).resolve()
    return dockerfile.is_relative_to(project.base) and _image_sets(dockerfile)


def _image_sets(path: Path) -> bool:
    return ENV_LINE.search(read_source(path)[0] or b"") is not None if path.is_file() else False
