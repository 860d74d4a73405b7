"""Pools only the tests make, in files outside the tests' folders: a factory outside tests/ that only the tests
call (camcops' `make_memory_sqlite_engine`, called by conftest.py alone), and a test-data module outside tests/
that makes an engine at import and only tests import (joanie's `edx_imports/edx_factories.py`, which imports
factory_boy and Faker), and a pytest fixture's pool in a test plugin's package (insights-host-inventory's IQE
plugin). The app never runs them, so their pools are the tests': the factory's is listed at the
tests' calls alone, the module's is listed apart with the tests'.

Only where nothing else names them: a factory's name anywhere in the app's other files (a FastAPI
`Depends(get_engine)`, an import, a string naming it) or in the files a deployment starts it from (a Procfile's
`gunicorn "app:create_app()"`, a Dockerfile, an ini), a second time in its own file, as a console script or a
PasteDeploy app, or as a name Flask runs (`create_app`) keeps its pool the app's; so does the module's name in
any such file, or a module that runs as a program.

A wrapper whose pool call takes nothing but its own `*args` and `**kwargs` (ECS-Discord-Bot's
`create_engine_with_retry`) and that no file of the app names (its docstrings aside) makes no pool: its callers
would (a test's call is the tests' pool)."""

from __future__ import annotations

import ast
import re
from dataclasses import replace
from pathlib import Path

from pool_doctor.errors import PoolDoctorError
from pool_doctor.files import read_bytes
from pool_doctor.scan.finder import FunctionNode, Module, Project, dotted_parts, read_source
from pool_doctor.scan.model import ScannedPool
from pool_doctor.scan.pools import PoolFinder
from pool_doctor.scan.programs import own_process, scripts

# what a module imports only to make test data or run tests (factory_boy, Faker, pytest, mocks)
TEST_LIBRARIES = {"factory", "faker", "pytest", "mock", "unittest", "hypothesis", "model_bakery", "mixer", "responses"}
# what Flask runs by name (`flask run` finds create_app or make_app with no file naming it)
STARTED_BY_NAME = {"create_app", "make_app"}
# the files a deployment starts the app from (`gunicorn "app:create_app()"` in a Procfile, a Dockerfile's CMD, a
# uwsgi ini, .flaskenv's FLASK_APP, a compose file, a Makefile), read for a name as the Python files are
LAUNCH_SUFFIXES = (".ini", ".cfg", ".toml", ".yml", ".yaml", ".sh", ".conf", ".service", ".json")
LAUNCH_NAMES = re.compile(r"^(?:Procfile|Dockerfile|Containerfile|Makefile|\.flaskenv|\.env)", re.IGNORECASE)
LAUNCH_LIMIT = 256 << 10  # bytes of one such file read


def tests_only(finder: PoolFinder, pools: list[ScannedPool]) -> list[ScannedPool]:
    project = finder.ev.project
    reached = {where for pool in pools if pool.aside == "tests" for where in pool.via}
    by_display = {m.display: m for m in project.modules.values() if m is not None}
    names: dict[tuple[Path, str], tuple[Module, int]] = {}  # a factory's, a module's: its module, the own times
    dropped: dict[int, tuple[Path, str]] = {}  # a factory's pool, by its index: the factory's name
    moved: dict[int, tuple[Path, str]] = {}  # a test-data module's pool: the module's name
    fixtures: set[int] = set()  # pools a pytest fixture makes (a test plugin's package outside tests/)
    unnamed: dict[int, tuple[Path, str]] = {}  # a pass-through wrapper's own pool: its name
    for at, pool in enumerate(pools):
        module = by_display.get(pool.file)
        if pool.aside or module is None or module.aside:
            continue
        function = _enclosing(module.tree, pool.line)
        if function is not None and any(_fixture(module, d) for d in function.decorator_list):
            fixtures.add(at)
        if pool.via:
            continue
        if function is not None and not function.decorator_list and _passes_through(function, pool.line):
            unnamed[at] = (module.path, function.name)
            names[unnamed[at]] = (module, 1 + _in_docstrings(module.tree, function.name))
            continue
        if function is not None and pool.where in reached:
            started = function.name in STARTED_BY_NAME or finder.ev.calls.paste.starts(function)
            if not started and not _a_script(project, function.name):
                dropped[at] = (module.path, function.name)
                names[dropped[at]] = (module, 1)  # (its `def`)
        elif function is None and _test_data(project, module) and not own_process(project, module):
            moved[at] = (module.path, module.path.stem)
            names[moved[at]] = (module, 0)
    named = _named_by(project, names) if names else {}
    return [
        replace(pool, aside="tests") if (at in moved and named[moved[at]] == TESTS) or at in fixtures else pool
        for at, pool in enumerate(pools)
        if not (at in dropped and named[dropped[at]] == TESTS) and not (at in unnamed and named[unnamed[at]] != APP)
    ]


def _passes_through(function: FunctionNode, line: int) -> bool:
    """Whether the pool call at `line` takes nothing but the function's own `*args` and `**kwargs`
    (ECS-Discord-Bot's `create_engine_with_retry(*args, **kwargs)`): a wrapper whose pools are its callers'."""
    own = sorted(a.arg for a in (function.args.vararg, function.args.kwarg) if a is not None)
    call = next((n for n in ast.walk(function) if isinstance(n, ast.Call) and n.lineno == line), None)
    if call is None or any(k.arg is not None for k in call.keywords):
        return False
    given = [a.value if isinstance(a, ast.Starred) else None for a in call.args] + [k.value for k in call.keywords]
    return bool(given) and all(isinstance(g, ast.Name) for g in given) and sorted(g.id for g in given) == own  # type: ignore[union-attr]


def _in_docstrings(tree: ast.Module, name: str) -> int:
    """How many times the name is written in the module's docstrings (its own, its classes', its functions')."""
    word = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")
    holders = [
        tree,
        *(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)),
    ]
    return sum(len(word.findall(ast.get_docstring(h, clean=False) or "")) for h in holders)


def _fixture(module: Module, decorator: ast.expr) -> bool:
    """`@pytest.fixture`, `@pytest.fixture(scope="session")`, `@pytest_asyncio.fixture`, or `fixture` imported
    from either: a test's (not a project's own `fixture` decorator)."""
    named = decorator.func if isinstance(decorator, ast.Call) else decorator
    parts = dotted_parts(named) or [""]
    dotted = ".".join([module.imports.get(parts[0], parts[0]), *parts[1:]])
    return dotted in ("pytest.fixture", "pytest_asyncio.fixture")


def _a_script(project: Project, name: str) -> bool:
    """Whether a console script names the function (`app.db:make_engine` in pyproject.toml or setup.cfg)."""
    return f":{name}" in scripts(project)


def _enclosing(tree: ast.Module, line: int) -> FunctionNode | None:
    """The innermost function the line sits in, or None at the module's (or a class body's) level (ast.walk
    reaches outer functions first)."""
    found: FunctionNode | None = None
    functions = (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))
    for node in functions:
        if node.lineno <= line <= (node.end_lineno or node.lineno):
            found = node
    return found


def _test_data(project: Project, module: Module) -> bool:
    """Whether the module imports a test library (not a module of the project's of that name: its own
    `factory.py`)."""
    roots = {dotted.partition(".")[0] for dotted in module.imports.values()} & TEST_LIBRARIES
    return any(project.find_module(root, module.path) is None for root in roots)


TESTS = "tests"
APP = "app"


def _named_by(
    project: Project, names: dict[tuple[Path, str], tuple[Module, int]]
) -> dict[tuple[Path, str], str | None]:
    """For each name (a factory's, a module's) who names it: APP where a file of the app other than its own does
    (or its own file more than `own` times: the function's `def`, its docstrings' mentions), else TESTS where a
    test file does, else None; the files read once for all."""
    words = {key: re.compile(rb"(?<![\w])" + re.escape(key[1].encode()) + rb"(?![\w])") for key in names}
    others = {key for key, (module, own) in names.items() if len(words[key].findall(module.source.encode())) > own}
    tested: set[tuple[Path, str]] = set()
    for file in project.files:
        open_names = [key for key in words if key not in others and file != key[0]]
        data = (project.kept.get(file) or read_source(file)[0]) if open_names else None
        found = [key for key in open_names if data is not None and words[key].search(data)]
        if found and project.aside(file) == "tests":
            tested.update(found)
        else:
            others.update(found)
    launches = (f for f in project.walk("") if f.suffix in LAUNCH_SUFFIXES or LAUNCH_NAMES.match(f.name))
    for file in launches if set(words) - others else ():
        try:
            data = read_bytes(file, "launch file", LAUNCH_LIMIT)
        except (OSError, PoolDoctorError):
            continue
        others.update(key for key in words if words[key].search(data))
    return {key: APP if key in others else TESTS if key in tested else None for key in words}
