"""The environment as the scan sees it: no variable set, except what a `.env` file beside the code sets.

`os.environ[...]`, `os.getenv` and `os.environ.get` read here, as do the config libraries and pydantic-settings;
`config_cast` is how those libraries turn the strings they read into values.
"""

from __future__ import annotations

import ast
import io
import itertools
import os
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from dotenv.parser import parse_stream

from pool_doctor.scan import envkeys, fieldtext
from pool_doctor.scan.appconfig import scopes
from pool_doctor.scan.files import path_text
from pool_doctor.scan.finder import Module, Project, dotted_parts, resolve_relative
from pool_doctor.scan.kinds import SV, ExternalRef, Frame, Interpreter, Thunk, assumed_set, is_known, keyword, unknown
from pool_doctor.scan.programs import ENTRY_NAMES, serves
from pool_doctor.scan.statements import env_sets

# Strings that configuration libraries read as booleans (Starlette, pydantic, django-environ agree on these).
TRUE_WORDS = {"1", "true", "yes", "on", "y", "t"}
FALSE_WORDS = {"0", "false", "no", "off", "n", "f", ""}
MITOL_HELPERS = (("string", None), ("int", "int"), ("bool", None), ("float", "float"), ("list_of_str", None))


DOCS = {"docs", "doc"}  # folders of a documentation build's scripts, not how the app runs


class Environment:
    def __init__(self, project: Project, ev: Interpreter) -> None:
        self.project = project
        self.ev = ev
        self._env_files: dict[Path, dict[str, tuple[str, str]]] = {}
        self._loads: list[tuple[Module, dict[str, tuple[str, str]], bool]] | None = None  # load_dotenv(path) calls
        self._imports: dict[tuple[int, bool, bool], list[Module]] = {}  # what each module imports (_imported)
        self._shared: dict[tuple[int, int], bool] = {}  # (setter, reader): one process (_shares_process)
        self._serving: list[Module] | None = None  # the modules that serve the app (_entries)
        self._reach: dict[tuple[int, bool, bool], set[int]] = {}  # each module's own imports, followed through the tree

    def calls(self) -> dict[str, Callable[[ast.Call, Frame], Any]]:
        """The library calls read here, by dotted name."""
        return {
            "os.getenv": self.getenv,
            "os.environ.get": self.getenv,
            "os.environ.setdefault": self.getenv,
            "os.environ.copy": lambda node, frame: envkeys.environ_copy(frame, node),
            # cfenv 0.5.3's AppEnv().get_credential(key, default): a bound Cloud Foundry service's credential of
            # that name (none with VCAP_SERVICES unset), else os.getenv(key, default) (openFEC's SQLA_CONN)
            "cfenv.AppEnv": lambda node, frame: ExternalRef("cfenv.AppEnv()"),
            "cfenv.AppEnv().get_credential": self.getenv,
            "getenv.env": self.getenv_env,
            # mitol-django-common's env helpers (mitol/common/envs.py: the variable `name` parsed, else `default`)
            **{f"mitol.common.envs.get_{kind}": partial(self.helper, cast) for kind, cast in MITOL_HELPERS},
        }

    def near(self, module: Module) -> dict[str, tuple[str, str]]:
        """`.env` values beside the code: the nearest `.env` in the module's folder or one above it, up to the
        scan root. Variables: name -> (value, file:line)."""
        directory = module.path.parent
        cached = self._env_files.get(directory)
        if cached is not None:
            return cached
        found: dict[str, tuple[str, str]] = {}
        base = self.project.base
        current = directory
        while True:
            candidate = current / ".env"
            if candidate.is_file():
                found = self.read_file(candidate)
                break
            if current == base or base not in current.parents:
                break
            current = current.parent
        self._env_files[directory] = found
        return found

    def read_file(self, path: Path) -> dict[str, tuple[str, str]]:
        from pool_doctor.errors import UsageError
        from pool_doctor.files import read_bytes

        try:
            text = read_bytes(path, ".env file").decode("utf-8", errors="replace")  # at most 1 MiB, never a FIFO
        except (OSError, UsageError):
            return {}
        shown = self.project.display(path) if self.project.base in path.parents else path.as_posix()
        values: dict[str, tuple[str, str]] = {}
        # python-dotenv's own parser (pydantic-settings' and the apps' reader): quotes, `export`, escapes and a
        # comment after a quoted value (`KEY = 'x'  # note`: x) as it reads them, each with its line
        for binding in itertools.islice(parse_stream(io.StringIO(text)), 5000):
            if binding.key is not None and binding.value is not None:
                values[binding.key] = (binding.value, f"{shown}:{binding.original.line}")
        return values

    def file_for(self, module: Module, name: Any) -> Path | None:
        """A configured env file (`env_file=".env"`): looked for beside the module, then up to the scan root."""
        if not isinstance(name, str) or not name:
            return None
        current = module.path.parent
        while True:
            candidate = current / name
            if candidate.is_file():
                return Path(os.path.normpath(candidate))  # `../.env` named as the file it is
            if current == self.project.base or self.project.base not in current.parents:
                return None
            current = current.parent

    def lookup(
        self,
        name: str,
        default: Any,
        frame: Frame,
        node: ast.AST,
        file_values: dict[str, tuple[str, str]] | None = None,
    ) -> Any:
        values = self.near(frame.module) if file_values is None else file_values
        found = values.get(name) or self.loaded(frame.module).get(name)
        if found is not None:
            raw, where = found
            return SV(raw, where, name, source=raw)
        if self.assumed_set(name, frame):  # the value is the variable's, whatever the code's default says
            return unknown(frame.module, node, env=name, why=f"${name}")
        given = self.set_by_code(name, frame.module)
        if given is not None:  # os.environ.setdefault("X", ...) at import: X has that value for later reads
            value = self.ev.force(given)
            return replace(value, env=name) if isinstance(value, SV) else value
        if default is None:  # os.environ["X"] with X unset raises: nothing is in effect
            return unknown(frame.module, node, env=name, why=f"${name} (required, no default)")
        # the default, each of its branches (`os.getenv("X", A if METRICS else B)`: nautobot's ENGINE), X's to change
        return fieldtext.named(self.ev.force(default), name)

    def is_set(self, name: str, frame: Frame) -> bool:
        """Whether a variable is set with no environment but what `.env` files beside the code (and the code's
        own `os.environ.setdefault`) set."""
        if self.assumed_set(name, frame):
            return True
        loaded = self.loaded(frame.module)
        return name in self.near(frame.module) or name in loaded or self.set_by_code(name, frame.module) is not None

    def loaded(self, module: Module) -> dict[str, tuple[str, str]]:
        """What python-dotenv's module-level `load_dotenv(path)` puts in the environment for a read in `module`: the
        file's variables where the tree holds it, from the module itself or one it imports (another program's
        load is not this one's); a first load wins, unless `override=True`. Not a test's or a docs build's. Its
        `load_dotenv()` with no path loads the nearest `.env`, which `near` reads already."""
        loads = [load for load in self._dotenv_loads() if load[1]]
        reach = self._reached(module) if loads else set()
        found: dict[str, tuple[str, str]] = {}
        for loader, values, override in loads:
            if id(loader) in reach:
                found.update(values if override else {k: v for k, v in values.items() if k not in found})
        return found

    def _dotenv_loads(self) -> list[tuple[Module, dict[str, tuple[str, str]], bool]]:
        if self._loads is not None:
            return self._loads
        self._loads = []
        for module in list(self.project.modules.values()):
            if module is None or "load_dotenv" not in module.source or module.aside:
                continue
            for stmt in module.tree.body:
                call = stmt.value if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) else None
                if call is None or (dotted_parts(call.func) or [""])[-1] != "load_dotenv" or not call.args:
                    continue
                text = path_text(self.ev.force(self.ev.eval(call.args[0], Frame(module))))
                path = (
                    self.file_for(module, text)
                    if text and not DOCS & {*self.project.within(module.path).parts}
                    else None
                )
                override = keyword(call, "override")
                forced = isinstance(override, ast.Constant) and override.value is True
                self._loads.append((module, self.read_file(path) if path is not None else {}, forced))
        return self._loads

    def _reached(self, module: Module, at_import: bool = False, parse: bool = False) -> set[int]:
        """The module and those it imports, through the tree's own imports the scan has read (ids); `import a.b`
        reaches a.b, not only the `a` it binds. `at_import`: only the imports its module level runs (not a
        function's lazy one: a click command's `from scripts.demo import load`); `parse`: modules not read yet too."""
        key = (id(module), at_import, parse)
        if key in self._reach:
            return self._reach[key]
        seen, queue = {id(module)}, [module]
        self._reach[key] = seen
        while queue and len(seen) < 2000:
            current = queue.pop()
            for found in self._imported(current, at_import, parse=parse):
                if id(found) not in seen:
                    seen.add(id(found))
                    queue.append(found)
        return seen

    def _imported(
        self, module: Module, at_import: bool, stmt: ast.stmt | None = None, parse: bool = False
    ) -> list[Module]:
        """The project modules a module (or one statement of it) imports: those the scan has read (`parse`: any,
        read now: a chain of models modules naming no pool library), `import a.b` reaching a.b."""
        key = (id(module), at_import, parse)
        if stmt is None and key in self._imports:
            return self._imports[key]
        if stmt is not None or at_import:
            nodes = [stmt] if stmt is not None else _level(module)
            dotted = {
                n for node in nodes if isinstance(node, ast.Import | ast.ImportFrom) for n in _targets(module, node)
            }
        else:
            dotted = set()
        if stmt is None:
            dotted |= {*module.imports.values(), *([] if at_import else module.nested_imports.values())}
        found: list[Module] = []
        for name in (n for full in dotted for n in (full, full.rpartition(".")[0]) if n):
            path = self.project.find_module(name, module.path)
            one = self.project.modules.get(path) if path is not None else None
            one = self.project.parse(path) if one is None and parse and path is not None else one
            found += [one] if one is not None else []
        if stmt is None:
            self._imports[key] = found
        return found

    def assumed_set(self, name: str, frame: Frame) -> bool:
        """Whether the code at `frame` runs only with the variable set: under `if os.getenv(name):` (the flow's
        note in the frame), or in a module that cannot be imported without it."""
        return frame.bindings.get(assumed_set(name)) is True or self.ev.assumes_set(frame.module, name)

    def set_by_code(self, name: str, reader: Module) -> Thunk | None:
        """The value a module-level `os.environ.setdefault(name, value)` (or `os.environ[name] = value`) gives
        a read in `reader`; not a test's (zou's conftest.py sets the test pool's variables before importing the
        app), nor a docs build's (dispatch's docs/scripts puts dummy credentials in the environment to import
        the app), nor one of a program the reader never runs in (ml-checker's generate_diagram.py, for its
        runner's and its migration script's URLs). Where modules set it to different values, each in the
        program it starts, none is the app's (nuzum-edut's scripts: create_test_data.py's and a diagnostic's
        SQLite URLs); the same value (wsgi.py's and asgi.py's) is that value."""
        setters = [
            module
            for module in list(self.project.modules.values())
            if module is not None
            and name in module.env_sets
            and not module.aside
            and not DOCS & {*self.project.within(module.path).parts}
            and self._shares_process(module, reader)
        ]
        if not setters or len({ast.dump(module.env_sets[name]) for module in setters}) > 1:
            return None
        return Thunk(setters[0].env_sets[name], Frame(setters[0]))

    def _shares_process(self, setter: Module, reader: Module) -> bool:
        key = (id(setter), id(reader))
        if key not in self._shared:  # (asked at every read of a variable some module sets)
            self._shared[key] = self._shares(setter, reader)
        return self._shared[key]

    def _entries(self) -> list[Module]:
        """The modules that serve the app (ENTRY_NAMES files read now), once a scan."""
        if self._serving is None:
            named = (self.project.parse(path) for path in self.project.files if path.stem in ENTRY_NAMES)
            modules = {id(m): m for m in [*named, *list(self.project.modules.values())] if m is not None}
            self._serving = [m for m in modules.values() if not m.aside and serves(m)]
        return self._serving

    def _shares(self, setter: Module, reader: Module) -> bool:
        """Whether the setter's module runs in the reader's process before the read: the reader imports it (or is
        it), or its package's `__init__.py` does (Python runs that first); it imports none of the project's
        modules (an entry that loads the app by name: Django's wsgi.py and manage.py, a gunicorn config); it
        serves the app it imports (a Flask wsgi.py's `app = create_app()`); or an entry that serves the app
        imports both (a main.py importing an env_setup module, then the db module). A script that imports the
        app to do a job of its own (ml-checker's generate_diagram.py, its in-memory SQLite) sets it for itself."""
        if self._reads_before_set(setter, reader):
            return False  # (dashboard's demo_env.py imports the models, then sets the URL: the engine has its own)
        packages = [self.project.modules.get(folder / "__init__.py") for folder in reader.path.parents]
        runs_first = [reader, *(m for m in packages if m is not None)]
        if any(id(setter) in self._reached(module, at_import=True) for module in runs_first):
            return True
        targets = {*setter.imports.values(), *setter.nested_imports.values()}
        names = [name for dotted in targets for name in (dotted, dotted.rpartition(".")[0]) if name]
        if not any(self.project.find_module(name, setter.path) for name in names) or serves(setter):
            return True
        return any(self._sets_first(entry, setter, reader) for entry in self._entries())

    def _reads_before_set(self, setter: Module, reader: Module) -> bool:
        """Whether the setter's module level imports the reader before it sets any variable."""
        for stmt in _level(setter):
            found: dict[str, ast.expr] = {}
            env_sets(stmt, found)
            if found:
                return False
            if isinstance(stmt, ast.Import | ast.ImportFrom) and any(
                id(reader) in self._reached(module, True, parse=True)
                for module in self._imported(setter, True, stmt, True)
            ):
                return True
        return False

    def _sets_first(self, entry: Module, setter: Module, reader: Module) -> bool:
        """Whether the entry's module level imports the setter before (or with) the reader."""
        order: list[set[int]] = []
        for stmt in (s for s in _level(entry) if isinstance(s, ast.Import | ast.ImportFrom)):
            order.append(
                {i for found in self._imported(entry, True, stmt) for i in self._reached(found, at_import=True)}
            )
        first = [next((at for at, ids in enumerate(order) if id(module) in ids), None) for module in (setter, reader)]
        return first[0] is not None and first[1] is not None and first[0] <= first[1]

    def helper(self, cast: str | None, node: ast.Call, frame: Frame) -> Any:
        """`get_int(name="X", default=0)`: the variable X as the cast reads it, else the default."""
        key = self.ev.arg(node, frame, 0, "name")
        if not is_known(key):
            return unknown(frame.module, node)
        default_node = node.args[1] if len(node.args) > 1 else keyword(node, "default")
        default: Any = Thunk(default_node, frame) if default_node is not None else SV(None, frame.module.where(node))
        value = self.ev.force(self.lookup(str(key.value), default, frame, node))
        return config_cast(cast, value, frame.module, node) if isinstance(value, SV) and value.known else value

    def getenv(self, node: ast.Call, frame: Frame) -> Any:
        """`os.getenv("X", default)` and `os.environ.get(...)`: with no default, None is in effect."""
        key = self.ev.arg(node, frame, 0, "key")
        if not is_known(key):
            return unknown(frame.module, node)
        default_node = node.args[1] if len(node.args) > 1 else keyword(node, "default")
        default: Any = Thunk(default_node, frame) if default_node is not None else SV(None, frame.module.where(node))
        return self.lookup(str(key.value), default, frame, node)

    def getenv_env(self, node: ast.Call, frame: Frame) -> Any:
        """django-getenv 1.3's `env(key, default=None, required=False)` (getenv/env.py): the variable as
        `ast.literal_eval` reads its text (the text where it reads none), else the default; `required` with no
        default raises where the variable is unset."""
        key = self.ev.arg(node, frame, 0, "key")
        required = self.ev.force(self.ev.arg(node, frame, 2, "required") or SV(False, None))
        default_node = node.args[1] if len(node.args) > 1 else keyword(node, "default")
        default = self.ev.force(self.ev.eval(default_node, frame)) if default_node is not None else SV(None, None)
        if not is_known(key) or not (is_known(required) and is_known(default)):
            return unknown(frame.module, node, env=str(key.value) if is_known(key) else None)
        if required.value and not default.value:  # (`if default or not required: return default`, else it raises)
            default = None
        elif default_node is None:
            default = SV(None, frame.module.where(node))
        value = self.ev.force(self.lookup(str(key.value), default, frame, node))
        if (
            isinstance(value, SV)
            and value.known
            and isinstance(value.value, str)
            and self.is_set(str(key.value), frame)
        ):
            try:
                return replace(value, value=ast.literal_eval(value.value))
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                return value
        return value


Words = tuple[set[str], set[str]]  # the strings a library reads as True, and as False; any other is refused


def config_cast(cast: str | None, value: Any, module: Module, node: ast.AST, words: Words | None = None) -> Any:
    """What a configuration library's cast makes of a value: "5" -> 5, "false" -> False, as it reads it
    (`words`: the library's own strings for a bool)."""
    true_words, false_words = words or (TRUE_WORDS, FALSE_WORDS)
    if cast is None or not isinstance(value, SV) or not value.known:
        return value
    raw = value.value
    try:
        if cast == "bool":
            if isinstance(raw, str):
                word = raw.strip().lower()
                if word in true_words:
                    return replace(value, value=True)
                if word in false_words:
                    return replace(value, value=False)
                return unknown(module, node, env=value.env)
            return replace(value, value=bool(raw))
        if cast == "int":
            return replace(value, value=int(raw))
        if cast == "float":
            return replace(value, value=float(raw))
        if cast == "str":
            return replace(value, value=str(raw))
    except (TypeError, ValueError):
        return unknown(module, node, env=value.env)
    return value


def _level(module: Module) -> list[ast.stmt]:
    """A module's statements its import runs, in order: into `if` / `try` / `with` blocks, not into functions or
    classes (appconfig.scopes' first)."""
    return next(scopes(module.tree))[1]


def _targets(module: Module, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The dotted names an import statement reaches: `import a.b` a.b; `from a import b` a.b (a module) and a."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = resolve_relative(module, node.module, node.level)
    return [] if base is None else [base, *(f"{base}.{alias.name}" for alias in node.names)]
