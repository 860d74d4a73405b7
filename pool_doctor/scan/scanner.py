"""`scan_path`: every pool a project's source creates, read statically (nothing is imported or run)."""

from __future__ import annotations

import ast
import re
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from pool_doctor.errors import UsageError
from pool_doctor.rules import codes
from pool_doctor.scan import (
    asides,
    callers,
    celeryapps,
    components,
    declared,
    installed,
    libraries,
    listeners,
    pyramid,
    settingstests,
    testonly,
)
from pool_doctor.scan.app import with_branches
from pool_doctor.scan.expressions import Evaluator
from pool_doctor.scan.finder import Module, Project, read_source, sets_environment, triggered
from pool_doctor.scan.flask import FLASK, FLASK_IMPORT, MENTIONS, FlaskApps
from pool_doctor.scan.flaskengines import one_engine_per_bind
from pool_doctor.scan.flaskext import extension_hint
from pool_doctor.scan.frameworks import django_overrides, django_pools
from pool_doctor.scan.held import held_findings, session_kept_while_streaming, worth_parsing
from pool_doctor.scan.judge import judge_worst
from pool_doctor.scan.kinds import TooCostly
from pool_doctor.scan.model import ScanFinding, ScannedPool, ScanReport
from pool_doctor.scan.names import DJANGO
from pool_doctor.scan.pools import PoolFinder
from pool_doctor.scan.target import URL_KEYS, url_driver
from pool_doctor.scan.textfiles import read_text
from pool_doctor.scan.wrapping import FIXED_CALLS

WRAPPER_ROUNDS = 8  # until no new wrapper (pools.MAX_DEPTH bounds them): one link a round, read in reverse
STACK_BYTES = 256 * 1024 * 1024  # the scan's thread: room for RECURSION_LIMIT frames of the interpreter
RECURSION_LIMIT = 20_000
KEEP_BYTES = 64_000_000  # unparsed files kept in memory for the wrapper rounds; past this they are read again
LIBRARY_DRIVERS = {"asyncpg": "asyncpg", "psycopg_pool": "psycopg", "psycopg2": "psycopg2"}  # (a pool's own)
STREAMING = codes.STREAMING_RESPONSE_HOLDS_SESSION.code


T = TypeVar("T")


# `Celery(...)` with `celery` imported in the same file: a worker app (its tasks never see a request signal).
CELERY_APP = re.compile(rb"(?ms)^\s*(?:from\s+celery\s+import|import\s+celery\b).*?\bCelery\s*\(")


def _guarded(project: Project, module: Module, step: Callable[[Module], T], instead: T) -> T:
    """One module's step; a module the scan cannot follow is a warning naming it, never the scan's end."""
    project.fresh_budget()
    try:
        return step(module)
    except TooCostly as exc:
        project.warnings.append(f"{module.display}: too costly to follow ({exc}); skipped")
        return instead
    except Exception as exc:
        project.warnings.append(f"{module.display}: could not be followed ({type(exc).__name__}: {exc}); skipped")
        return instead


def _needles(names: set[str]) -> tuple[list[bytes], re.Pattern[bytes]]:
    """What finds a file that names one of `names`: plain substrings first (fast), then the whole word."""
    needles = [name.encode() for name in sorted(names)]
    return needles, re.compile(rb"\b(?:" + b"|".join(map(re.escape, needles)) + rb")\b")


def _pools(
    evaluator: Evaluator, finder: PoolFinder, flask: FlaskApps, module: Module, overrides: set[Path]
) -> list[ScannedPool]:
    # An extension's engine_options some app's engine takes in are reported with that engine, not alone; a
    # settings file that overrides another's DATABASES is part of that one's pool.
    found = [pool for pool in finder.pools(module) if not flask.takes_in(pool)]
    named = ("DATABASES", "django_heroku", "connections.databases")
    if any(name in module.source for name in named) and module.path not in overrides:
        found.extend(django_pools(evaluator, module))
    found.extend(flask.pools(module))
    return found


def scan_path(path: Path) -> ScanReport:
    """Find the pools under `path` (a directory or one .py file). Files that cannot be parsed are warnings.

    The scan follows values through nested calls: it runs in a thread of its own with a deep stack, so how
    deep it may go is the scan's own bounds (kinds.MAX_DEPTH, calls.MAX_CALLS), never how deep the caller's
    stack already was; the recursion limit is put back as it was."""
    if not path.exists():
        raise UsageError(f"no such file or directory: {path}")
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["report"] = _scan(path)
        except BaseException as exc:  # handed to the caller's thread, raised there
            outcome["error"] = exc

    limit, size = sys.getrecursionlimit(), threading.stack_size()
    try:
        threading.stack_size(STACK_BYTES)
        sys.setrecursionlimit(max(limit, RECURSION_LIMIT))
        worker = threading.Thread(target=run, name="pool-doctor-scan", daemon=True)
        worker.start()
    finally:
        threading.stack_size(size)
    try:
        worker.join()
    finally:
        sys.setrecursionlimit(limit)
    if "error" in outcome:
        raise outcome["error"]
    report: ScanReport = outcome["report"]
    return report


def _shadowed(file: Path, base: Path) -> bool:
    """A module beside a package of its name: Python imports the package (a leftover of a move into one), unless
    a launcher file runs the file itself with Python (a Dockerfile's `CMD ["python", "server.py"]`)."""
    if file.suffix != ".py" or file.stem == "__init__" or not (file.with_suffix("") / "__init__.py").is_file():
        return False
    for place in {base, file.parent}:
        if not file.is_relative_to(place):
            continue
        written = re.escape(file.relative_to(place).as_posix())
        runs = re.compile(rf"python[\d.]*(?:[\"',\s]+-\S+)*[\"',\s]+(?:\./)?{written}(?![\w/.-])")
        launchers = (p for pattern in LAUNCHERS for p in sorted(place.glob(pattern)) if p.is_file())
        if any(runs.search(read_text(path) or "") for path in launchers):
            return False
    return True


# Files that may run a script by its name: a container's, a process manager's, a task runner's, a shell's
LAUNCHERS = ("Dockerfile*", "*.dockerfile", "Procfile", "*compose*.y*ml", "Makefile", "*.sh", "*.service")


def _scan(path: Path) -> ScanReport:
    project = Project(path.resolve(), path)
    evaluator = Evaluator(project)
    project.fresh_budget = lambda: setattr(evaluator.budget, "steps", 0)
    finder = PoolFinder(evaluator)
    flask = FlaskApps(evaluator)

    # Pass 1: read every file once; parse only those that name something that creates a pool.
    pending: list[Module] = []
    workers: list[str] = []  # files that create a Celery app: its tasks run outside Django's request cycle
    kept = project.kept  # (read again for the subclasses' makers: callers.parse_naming)
    kept_bytes = 0
    for file in project.files:
        data, why = read_source(file)
        if data is None:
            project.warnings.append(f"{project.display(file)}: {why}")
            continue
        if not project.single_file and _shadowed(file, project.base) and b"__main__" not in data and triggered(data):
            shown = project.display(file)
            project.warnings.append(f"{shown}: never imported (the package {shown[:-3]}/ beside it takes its name)")
            continue
        callers.note_classes(project, file, data)
        if not project.aside(file):  # a stale test's `from flask import ...` or patch("flask_sqlalchemy...") is no app
            project.mentions.update(needle for needle in MENTIONS if needle in data)
            project.mentions.update([FLASK] if b"flask" in data and FLASK_IMPORT.search(data) else [])
        project.mentions.update([DJANGO] if DJANGO in data or b"DJANGO" in data else [])
        project.mentions.update([components.MENTION] if components.MENTION in data else [])
        made = CELERY_APP.search(data) if b"celery" in data else None  # (a word first: the patterns try each line)
        if made is not None and not celeryapps.set_in_code(data, made.end()):  # (a worker no fixup serves)
            workers.append(project.display(file))
        if triggered(data) or sets_environment(data) or extension_hint(data) or libraries.hint(data, file):
            module = project.parse(file, data)
            if module is not None:
                pending.append(module)
        elif kept_bytes + len(data) <= KEEP_BYTES:
            kept[file] = data
            kept_bytes += len(data)

    # The project's own wrappers: their callers may sit in files that name none of the library's calls.
    for _ in range(WRAPPER_ROUNDS):
        none: list[str] = []
        new = [name for module in pending for name in _guarded(project, module, finder.learn, none)]
        if not new:
            break
        names = set(new) - _widely_called(project, finder, set(new), kept)
        if not names:
            break
        needles, pattern = _needles(names | ({"include"} if "includeme" in names else set()))  # (Pyramid's by name)
        pending = []
        for file in project.files:
            if file in project.modules:
                module = project.modules[file]
                if module is not None and finder.calls_any(module, names):
                    pending.append(module)
                continue
            data = kept.get(file) or read_source(file)[0]
            if data is not None and any(n in data for n in needles) and pattern.search(data):
                module = project.parse(file, data)
                if module is not None:
                    pending.append(module)
    # Flask app factories: the app's one call of one gives its parameters (scan/flask.py), wherever it sits.
    # Twice: a file read for the first calls may hold a factory calling one (flaskmvc's create_app).
    before = -1
    for _ in range(2):
        if len(project.modules) == before:
            break  # (the first read no file more)
        before = len(project.modules)
        factories = flask.factories([m for m in list(project.modules.values()) if m is not None])
        if not factories:
            break
        needles, pattern = _needles(factories)
        for file in project.files:
            data = None if file in project.modules else kept.get(file) or read_source(file)[0]
            if data is not None and any(n in data for n in needles) and pattern.search(data):
                project.parse(file, data)

    for module in [m for m in list(project.modules.values()) if m is not None and "DATABASES" in m.assigns]:
        # a settings package star-importing its parts, a settings module beside it running on it (django_overrides)
        for near in (p for p in project.files if p.parent == module.path.parent and p not in project.modules):
            data = kept.get(near) or read_source(near)[0]
            stem = module.path.stem.encode()
            if data is not None and b"import *" in data and (near.name == "__init__.py" or stem in data):
                project.parse(near, data)
    modules = sorted((m for m in list(project.modules.values()) if m is not None), key=lambda m: m.display)
    for module in modules:
        _guarded(project, module, finder.count_callers, None)
    finder.counted()
    overrides = django_overrides(project, modules)
    pools: list[ScannedPool] = []
    for module in modules:
        pools.extend(_guarded(project, module, lambda m: _pools(evaluator, finder, flask, m, overrides), []))
    for module in modules:  # a pool a library makes from the app's arguments: named, not reported
        project.warnings.extend(_guarded(project, module, lambda m: libraries.library_pools(evaluator, m), []))
    pools = one_engine_per_bind(sorted(pools, key=lambda p: (p.file, p.line, p.call)))
    try:  # an includeme Pyramid runs once, reached again through another include
        pools = pyramid.once_per_spec(project, pools)
    except Exception as exc:
        project.warnings.append(f"Pyramid's includes could not be told apart ({type(exc).__name__}: {exc}); skipped")
    try:  # a pool an event listener tests at checkout (SQLAlchemy's recipe before pool_pre_ping)
        pools = listeners.pinged(project, pools)
    except Exception as exc:
        project.warnings.append(f"event listeners could not be read ({type(exc).__name__}: {exc}); skipped")
    workers = [] if workers and celeryapps.set_for_workers(project) else workers  # (their environment's fixup)
    pools = [replace(pool, workers=tuple(workers)) for pool in pools] if workers else pools
    pools = declared.marked(project, pools)  # (no URL scheme nor ENGINE: the database its requirements name)
    pools = settingstests.under_tests(project, pools)  # (settings a package star-imports under a test)
    aside = {m.display: m.aside for m in project.modules.values() if m is not None and m.aside}
    for module in [m for m in list(project.modules.values()) if m is not None and m.aside == "examples"]:
        if components.included(project, module):  # a template by its name that a settings module includes
            aside.pop(module.display)  # (DefectDojo's settings.py runs include("settings.dist.py"))
    pools = [replace(pool, aside=aside[pool.file]) if pool.file in aside else pool for pool in pools]
    pools = [replace(p, aside="tests") if not p.aside and asides.under_test_run(p.condition) else p for p in pools]
    try:  # a factory only the tests call, a test-data module only they import, outside tests/
        pools = testonly.tests_only(finder, pools)
    except Exception as exc:
        project.warnings.append(f"pools only the tests make could not be told ({type(exc).__name__}: {exc}); skipped")
    judged: list[ScannedPool] = []
    findings: list[ScanFinding] = []
    for pool in pools:
        if pool.aside:  # the tests' own engines and fixtures, an example's settings: listed, not judged
            judged.append(replace(pool, driver=_driver(pool)))
            continue
        try:
            found, branches = judge_worst(pool)
        except Exception as exc:
            project.warnings.append(f"{pool.where}: could not be judged ({type(exc).__name__}: {exc})")
            found, branches = [], {}
        pool = replace(pool, judged_branches=branches, driver=_driver(with_branches(pool, branches)))
        judged.append(pool)
        findings.extend((pool, finding) for finding in found)

    def outside(dotted: str) -> bool:  # no module of the project's (`app.settings.make`, a namespace package's)
        return not any(project.find_module(dotted.rsplit(".", cut)[0]) for cut in range(dotted.count(".") + 1))

    # The app's own handling of sessions and transactions (scan/held.py), in every file that may hold some (not the
    # tests' nor the examples'), and pool settings handed to installed packages (scan/installed.py):
    # a file the pools' passes did not parse is parsed here alone (not indexed: nothing is followed from it).
    for file in (f for f in project.files if not project.aside(f)):
        found_held: list[ScanFinding] = []
        module = project.modules.get(file)
        try:
            if module is None and file in project.modules:
                continue
            text = module.source if module is not None else kept.get(file) or read_source(file)[0]
            held, handed = text is not None and worth_parsing(text), text is not None and installed.worth_reading(text)
            if held or handed:  # (the tree of a file the pools' passes did not parse: parsed here alone)
                display = module.display if module is not None else project.display(file)
                tree = module.tree if module is not None else ast.parse(text or b"", filename=display)
                found_held = list(held_findings(tree, display)) if held else []
                if any(f.code == STREAMING for _, f in found_held) and not session_kept_while_streaming(
                    file.parent, project.base
                ):
                    found_held = [(site, f) for site, f in found_held if f.code != STREAMING]
                if handed:  # (pool settings handed to an installed package the scan does not read)
                    project.warnings.extend(installed.handed_to_installed(tree, display, outside))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            pass  # a file the scan cannot read as Python: the pools' passes warn of those they need
        except Exception as exc:
            project.warnings.append(f"{project.display(file)}: could not be followed ({type(exc).__name__}: {exc})")
        findings.extend(found_held)
    return ScanReport(
        root=path.as_posix(),
        pools=judged,
        warnings=list(dict.fromkeys(project.warnings)),
        files_seen=len(project.files),
        files_parsed=len(modules),
        findings=findings,
    )


def _driver(pool: ScannedPool) -> str | None:
    """The driver the pool is judged with (given its judged branches): an asyncpg or psycopg pool's own, a
    SQLAlchemy URL's (target.url_driver: psycopg2cffi, and a third-party dialect's, as psycopg2);
    None where the URL names none, or its sides name different ones."""
    if pool.stack in LIBRARY_DRIVERS:
        return LIBRARY_DRIVERS[pool.stack]
    key = next((key for key in URL_KEYS if key in pool.settings), None)
    branches = pool.settings[key].branches if key is not None else ()
    found = {url_driver(with_branches(pool, {key: at})) for at in range(len(branches))} if key and branches else set()
    return url_driver(pool) if not branches else found.pop() if len(found) == 1 else None


def _reaches(module: Module, home: Module) -> bool:
    """Whether the module is the factory's own or imports from it (or its package)."""
    return module is home or any(
        target == home.name or target.startswith((f"{home.name}.", f"{home.name.rpartition('.')[0]}."))
        for target in (*module.imports.values(), *module.nested_imports.values())
    )


def _beside(file: Path, home: Path, data: bytes) -> bool:
    """Whether a file beside the factory's module names that module (`from .db import get_engine`)."""
    return file.parent == home.parent and home.stem.encode() in data


def _widely_called(project: Project, finder: PoolFinder, names: set[str], kept: dict[Path, bytes]) -> set[str]:
    """The fixed factories among `names` the tree calls more than FIXED_CALLS times (`create_app()` in every command
    of a CLI, a getter the app calls everywhere): each is one pool at its own line, and their callers are not read."""
    fixed = {name for name in names if finder.only_fixed(name)}
    homes = {name: {w.module.path: w.module for w in finder.wrappers.values() if w.name == name} for name in fixed}
    counts = {(name, path): 0 for name in fixed for path in homes[name]}  # (each package's own get_engine())
    for file in project.files if fixed else []:
        module = project.modules.get(file)
        data = b"" if module is not None else kept.get(file) or read_source(file)[0] or b""
        for name in fixed:  # (in the modules that may reach the factory's: not sats-rover's other scripts' main())
            for path, home in homes[name].items():
                if module is not None and _reaches(module, home):
                    counts[name, path] += len(module.calls.get(name, []))
                elif module is None and (home.name.encode() in data or _beside(file, path, data)):
                    counts[name, path] += data.count(b"%s(" % name.encode())  # (its dotted name, or beside it)
    over = {key for key, count in counts.items() if count > FIXED_CALLS}
    for name, where, path in finder.unfix(over):  # (nuclide-identification's load_engine(), made anew in 12 classes)
        if not any(w.startswith(f"{where}: {name}() is named in") for w in project.warnings):  # (once a scan)
            project.warnings.append(
                f"{where}: {name}() is named in {counts[name, path]} calls, more than {FIXED_CALLS}: its pool is "
                "reported once, at its own line, not at each call"
            )
    wide = {name for name in fixed if homes[name] and all((name, path) in over for path in homes[name])}
    return wide
