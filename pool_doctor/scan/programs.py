"""A module that runs as a program of its own: a console script's module (`aurweb.scripts.notify:main` in
pyproject.toml, setup.cfg or setup.py), a script with no suffix, or a module whose `if __name__ == "__main__":`
block runs something other than a server (`app.run()` there is the web app the server imports too, in one
process). The process it starts is its own, so what the app keeps once per process (a memo of engines by key)
is made again in it: its call is a pool though the web app's reaches the same key first (aurweb's scripts)."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from weakref import WeakKeyDictionary

from pool_doctor.scan.finder import CallSite, Module, Project
from pool_doctor.scan.names import last_name
from pool_doctor.scan.statements import is_main_test
from pool_doctor.scan.textfiles import read_text

SCRIPT_FILES = ("pyproject.toml", "setup.cfg", "setup.py")  # where a console script names its module
EVENT_LOOPS = {"asyncio", "trio", "anyio", "uvloop", "curio"}  # `asyncio.run(main())`: a script's own run
SERVERS = {"run", "run_app", "serve", "serve_forever", "run_server", "run_simple"}  # app.run(), uvicorn.run(...)


_SCRIPTS: WeakKeyDictionary[Project, str] = WeakKeyDictionary()  # each scan's SCRIPT_FILES, read once


def scripts(project: Project) -> str:
    """The project's SCRIPT_FILES, as one text (read once per scan)."""
    if project not in _SCRIPTS:
        _SCRIPTS[project] = "\n".join(read_text(project.base / name) or "" for name in SCRIPT_FILES)
    return _SCRIPTS[project]


def own_process(project: Project, module: Module) -> bool:
    found = project.programs.get(module.path)
    if found is None:
        named = re.compile(rf"(?<![\w.]){re.escape(module.import_name or module.name)}:")
        found = not module.path.suffix or _runs_as_main(module.tree) or named.search(scripts(project)) is not None
        project.programs[module.path] = found
    return found


def _runs_as_main(tree: ast.Module) -> bool:
    """A top-level `if __name__ == "__main__":` whose block starts no server."""
    for stmt in tree.body:
        if isinstance(stmt, ast.If) and is_main_test(stmt.test):
            calls = [n for part in stmt.body for n in ast.walk(part) if isinstance(n, ast.Call)]
            return not any(_server(call) for call in calls)
    return False


ENTRY_NAMES = {"wsgi", "asgi", "main", "__main__", "manage", "run", "server", "app", "application"}


def serves(module: Module) -> bool:
    """Whether the module is where the app is served from: named as an entry is (wsgi.py, asgi.py, main.py,
    manage.py, run.py, server.py, app.py), it starts a server (`uvicorn.run(app)`, `app.run()`), at its top or as
    a program, or binds the `app` / `application` a WSGI or ASGI server loads it by (`app = create_app()`), unless
    it works in that app's context at its top (a seed script)."""
    if module.path.stem in ENTRY_NAMES:
        return True
    script = any(_in_app_context(stmt) for stmt in module.tree.body)  # (a seed script's `with app.app_context():`)
    for stmt in module.tree.body:
        targets = stmt.targets if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call) else []
        if not script and any(isinstance(t, ast.Name) and t.id in ("app", "application") for t in targets):
            return True
        body = stmt.body if isinstance(stmt, ast.If) and is_main_test(stmt.test) else [stmt]
        if any(isinstance(n, ast.Call) and _server(n) for part in body for n in ast.walk(part)):
            return True
    return False


def _in_app_context(stmt: ast.stmt) -> bool:
    """`with app.app_context():` at a module's top: a script doing its work in the app it makes, not served."""
    items = stmt.items if isinstance(stmt, ast.With) else []
    return any(isinstance(i.context_expr, ast.Call) and last_name(i.context_expr.func) == "app_context" for i in items)


def _server(call: ast.Call) -> bool:
    """`app.run(...)`, `uvicorn.run(...)`, `web.run_app(app)`, `serve(app)`; not a script's own `run(args)` or
    `asyncio.run(main())`."""
    name, func = last_name(call.func), call.func
    runner = isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in EVENT_LOOPS
    return name in SERVERS and not runner and (isinstance(func, ast.Attribute) or name != "run")


def as_main(site: CallSite) -> bool:
    """Whether the call runs only when its module runs as a program (under `if __name__ == "__main__":`), not
    when it is imported."""
    return any(is_main_test(test) and taken for test, taken in site.conditions)


def at_import(module: Module, site: CallSite) -> bool:
    """Whether the call runs as its module is imported: at its top, not only under `if __name__ == "__main__":`,
    nor when a provider is first asked (Module.deferred)."""
    return not (site.functions or as_main(site) or id(site.call) in module.deferred)


def runs_as_main(caller: Module, module: Module, site: CallSite) -> bool:
    """The call runs when the module runs as a program: its own `if __name__ == "__main__":` block's, or its
    package's `__main__.py`'s (`python -m bot`)."""
    package_main = caller.path.name == "__main__.py" and caller.path.parent in module.path.parents
    return package_main or (caller is module and as_main(site))  # (a __main__.py runs only as the program)


SCRIPTS = {"scripts", "script", "bin", "tools", "migrations", "alembic"}  # (a seed script's top: no server's)
COMMANDS = {"manage", "setup", "env", "seed", "seeds", "populate", "create_db", "init_db", "initdb", "migrate", "cli"}


def served(module: Module, base: Path) -> bool:
    """A module a server may import the app from (`gunicorn wsgi:app`, microblog.py), not a one-off script or
    command (scripts/seed.py, manage.py, alembic's env.py): what its top makes, it makes as a server imports it."""
    folders = module.path.parent.relative_to(base).parts if module.path.is_relative_to(base) else ()
    return module.path.stem not in COMMANDS and not SCRIPTS & set(folders)
