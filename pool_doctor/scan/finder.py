"""The files of a project, each parsed at most once, and what their names refer to.

Purely static: files are read and given to `ast.parse`, never imported or run. A file is parsed only when
its text holds a name the scan looks for, or when a value the scan follows lives in it."""

from __future__ import annotations

import ast
import io
import os
import re
import tokenize
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pool_doctor.files import is_python_script, read_bytes
from pool_doctor.scan.asides import VENDORED, imported_beside, installed_into, is_example_file, is_test_file
from pool_doctor.scan.importroots import imported_from
from pool_doctor.scan.literals import shown
from pool_doctor.scan.names import dotted_parts as dotted_parts  # (re-exported: the scan imports them from here)
from pool_doctor.scan.names import last_name as last_name
from pool_doctor.scan.provided import calls_made
from pool_doctor.scan.statements import (
    ANY_SETTING,
    assigned_names,
    changed_name,
    env_sets,
    globals_update,
    imported_by_call,
    loop_changes,
)
from pool_doctor.scan.syntax import parse_newer
from pool_doctor.stacks import REGISTRY, scanned

MAX_BYTES = 2_000_000  # larger .py files are generated data (tables, vendored bundles), not configuration
SKIP_DIRS = {"__pycache__", "node_modules", "site-packages", "dist-packages"}

# Names whose call creates a pool, per library; the first match of a file's text against TRIGGER decides
# whether it is parsed at all.
# module -> (the scan's name for its pools, the callables that create them), as each stack declares them.
LIBRARY_TARGETS: dict[str, tuple[str, frozenset[str]]] = {
    module: calls for stack in REGISTRY.values() for module, calls in stack.code_calls.items()
}
CALL_NAMES = frozenset(name for _, names in LIBRARY_TARGETS.values() for name in names)
URL_CALLS = frozenset(name for stack in REGISTRY.values() for name in stack.code_url_calls)
URL_BUILDERS = frozenset(name for stack in REGISTRY.values() for name in stack.code_url_builders)
# the scan's name for a stack's pools -> its pool classes' keyword arguments, as the pool call names them
POOL_CLASS_KEYS: dict[str, Mapping[str, str]] = {
    scanned: stack.code_pool_class_keys
    for stack in REGISTRY.values()
    if stack.code_pool_class_keys
    for scanned, _ in stack.code_calls.values()
}
# Plain substring tests: bytes `in` is a memchr-speed scan, many times faster than one alternation regex.
TRIGGERS = (
    b"create_engine",
    b"create_async_engine",
    b"engine_from_config",
    b"create_pool",
    b"ConnectionPool",
    b"DATABASES",
    b"SQLALCHEMY_",
    b"engine_options",
    b".from_object(",  # Flask's config loaders: the app they configure may name no setting itself
    *(b".from_pyfile(", b".from_envvar("),
    b"django_heroku",  # its settings(locals()) may make DATABASES
)


def triggered(data: bytes) -> bool:
    return any(needle in data for needle in TRIGGERS)


LINE_ENDS = re.compile(r"(?<=\n)|(?<=\r)(?!\n)")
ENV_ASSIGNMENT = re.compile(rb"environ\[[^\]\n]+\]\s*=[^=]")


def sets_environment(data: bytes) -> bool:
    """Whether a file may set a variable at import (`os.environ.setdefault(...)`, `os.environ["X"] = ...`): such a
    file is read too, since the variable holds for every read after it."""
    return b"environ" in data and (b"environ.setdefault(" in data or ENV_ASSIGNMENT.search(data) is not None)


FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True)
class Assignment:
    """`NAME = value` somewhere in a scope, with the `if` tests it sits under (test, taken-when-true)."""

    value: ast.expr
    line: int
    conditions: tuple[tuple[ast.expr, bool], ...] = ()


@dataclass
class CallSite:
    call: ast.Call
    functions: tuple[FunctionNode | ast.Lambda, ...]  # enclosing functions, outermost first
    cls: ast.ClassDef | None  # innermost enclosing class
    conditions: tuple[tuple[ast.expr, bool], ...]  # `if` tests it sits under, innermost scope only


@dataclass
class Module:
    path: Path
    display: str  # the file as reports name it
    name: str  # dotted module name relative to the scan root
    tree: ast.Module
    source: str
    imports: dict[str, str] = field(default_factory=dict)  # local name -> dotted target, module level
    nested_imports: dict[str, str] = field(default_factory=dict)  # imports inside functions, as a fallback
    star_imports: list[str] = field(default_factory=list)
    assigns: dict[str, list[Assignment]] = field(default_factory=dict)
    functions: dict[str, FunctionNode] = field(default_factory=dict)
    classes: dict[str, ast.ClassDef] = field(default_factory=dict)
    module_statements: list[tuple[ast.stmt, tuple[tuple[ast.expr, bool], ...]]] = field(default_factory=list)
    # Module-level statements that change a name's value in place: `X["k"] = v`, `X.update(...)`, `parser.read(...)`
    mutations: dict[str, list[tuple[ast.stmt, tuple[tuple[ast.expr, bool], ...]]]] = field(default_factory=dict)
    # Module-level `os.environ.setdefault("X", value)` / `os.environ["X"] = value`: X for every later read
    env_sets: dict[str, ast.expr] = field(default_factory=dict)
    calls: dict[str, list[CallSite]] = field(default_factory=dict)  # by the called name's last part
    # Module globals a function rebinds (`global DB_URL; DB_URL = ...`), with that function's name
    rebound: dict[str, str] = field(default_factory=dict)
    # `holder.attr = ...` in a function (a global instance's, or a classmethod's `cls.attr`): attr -> (holder's
    # name there, the function, its class)
    attr_writes: dict[str, list[tuple[str, FunctionNode, ast.ClassDef | None]]] = field(default_factory=dict)
    is_package: bool = False
    deferred: set[int] = field(default_factory=set)  # calls a provider makes when first asked (not at import)
    aside: str | None = None  # "tests" or "examples" (Project.aside): not the app's own code
    import_name: str = ""  # the name Python imports it by (from its package's folder): what `__name__` holds
    lines: list[bytes] | None = None  # the source's lines, as UTF-8 (node columns count bytes), once split
    setters: set[str] | None = None  # its classes' methods that set an attribute of their instance, once found

    def where(self, node: ast.AST) -> str:
        return f"{self.display}:{getattr(node, 'lineno', 0)}"

    def origin(self, node: ast.AST) -> tuple[str, int, int]:
        """Where a node is: this file, its line and column (tells apart tests that read the same)."""
        return (self.display, getattr(node, "lineno", 0), getattr(node, "col_offset", 0))

    def segment(self, node: ast.AST) -> str:
        text = self._source_text(node) or ast.unparse(node)
        return shown(" ".join(text.replace("\\\n", " ").split()))  # (a line's `\` continuation is whitespace too)

    def _source_text(self, node: ast.AST) -> str | None:
        """The node's own text (ast.get_source_segment's, without splitting the whole file each time)."""
        first: int | None = getattr(node, "lineno", None)
        last: int | None = getattr(node, "end_lineno", None)
        start: int | None = getattr(node, "col_offset", None)
        end: int | None = getattr(node, "end_col_offset", None)
        if first is None or last is None or start is None or end is None:
            return None
        first, last = first - 1, last - 1
        if self.lines is None:
            # lines as Python counts them (\n, \r\n, \r): a form feed or U+2028 ends none, as splitlines' do
            self.lines = [line.encode() for line in LINE_ENDS.split(self.source) if line]
        if not 0 <= first <= last < len(self.lines):
            return None
        if first == last:
            return self.lines[first][start:end].decode(errors="replace")
        parts = [self.lines[first][start:], *self.lines[first + 1 : last], self.lines[last][:end]]
        return b"".join(parts).decode(errors="replace")


def read_source(path: Path) -> tuple[bytes | None, str | None]:
    """The file's bytes, or why it was skipped (a FIFO or a device named .py is skipped, never waited on)."""
    from pool_doctor.errors import UsageError

    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            return None, f"skipped: {size // 1000} kB is larger than {MAX_BYTES // 1000} kB"
        data = read_bytes(path, "source file", MAX_BYTES)
    except OSError as exc:
        return None, f"cannot read: {exc.strerror or exc}"
    except UsageError as exc:
        return None, f"skipped: {str(exc).removeprefix(f'source file {path} ')}"
    if b"\0" in data[:8192]:
        return None, "skipped: binary"
    return data, None


def decode(data: bytes) -> str:
    """Text for source segments, honouring a PEP 263 coding cookie as ast.parse does."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError:
        encoding = "utf-8"
    return data.decode(encoding, errors="replace")


class Project:
    """The scanned tree: its .py files, a module index, and the modules parsed so far (each once)."""

    def __init__(self, root: Path, given: Path) -> None:
        self.root = root
        self.given = given  # PATH as the user typed it: reports name files from it
        self.single_file = root.is_file()
        self.base = root.parent if self.single_file else root
        # Where imports start: above every package the scanned folder is inside (`scan src/myapp` still reads
        # `from myapp.config import x` as that file)
        self.import_base = self.base
        while (self.import_base / "__init__.py").is_file() and self.import_base.parent != self.import_base:
            self.import_base = self.import_base.parent
        self._tree: list[tuple[Path, list[str]]] | None = None  # (walk: the folders, kept)
        self.files: list[Path] = sorted(self.walk(".py"))
        self.index: dict[str, list[Path]] = {}
        for path in (p for p in self.files if p.suffix != ".wsgi"):  # (run by a server, never imported)
            for key in self._module_keys(path):
                self.index.setdefault(key, []).append(path)
        self.modules: dict[Path, Module | None] = {}  # None: could not be read or parsed
        self.warnings: list[str] = []
        self.fresh_budget: Callable[[], None] = lambda: None  # starts a module's step's count (scanner, kinds.Budget)
        self.mentions: set[bytes] = set()  # library names some file of the project holds (scanner.MENTIONS)
        self.class_bases: dict[bytes, set[Path]] = {}  # a name `class X(...)` derives from: files (callers)
        self.aliases: dict[bytes, set[bytes]] = {}  # `import X as Y`: X's other names (callers.note_classes)
        self.kept: dict[Path, bytes] = {}  # files pass 1 read but did not parse, while they fit (scanner.KEEP_BYTES)
        self._beside: dict[Path, bool] = {}  # a template a module beside it star-imports (asides.imported_beside)
        self._asides: dict[Path, str | None] = {}  # (aside is asked of every file, again and again)
        self._tests_folders: dict[Path, bool] = {}  # (answers: a folder the tests' modules are imported from)
        self.programs: dict[Path, bool] = {}  # modules that run as a program of their own (programs.own_process)
        self.named: set[bytes] = set()  # names whose files are parsed already (flaskcallers: each class's callers)
        self.words: dict[bytes, list[Path]] | None = None  # the files each word of the unparsed ones is in (once)

    def walk(self, suffix: str) -> Iterator[Path]:
        """The project's files named `*suffix` (its .py files; its .ini files), outside virtualenvs."""
        if self.single_file:
            yield from [self.root] if suffix == ".py" else sorted(self.root.parent.glob(f"*{suffix}"))
            return
        self._tree = self._tree if self._tree is not None else list(self._walked())  # (one walk, kept)
        for here, filenames in self._tree:
            for name in filenames:  # (and its scripts: bin/manage-db, .wsgi)
                script = name.endswith(".wsgi") or ("." not in name and is_python_script(here / name))
                if name.endswith(suffix) or (suffix == ".py" and script):
                    yield here / name

    def _walked(self) -> Iterator[tuple[Path, list[str]]]:
        """The folders walk() reads, each with its files' names (walked once: several suffixes are asked)."""
        for directory, dirnames, filenames in os.walk(self.root):
            here = Path(directory)
            # A virtualenv or installed packages inside a project are someone else's code; scanning
            # a site-packages directory itself (the benchmark) is still possible by naming it.
            below = here != self.root  # (the scanned folder itself: site-packages named on purpose, the benchmark)
            installed = installed_into(here, dirnames) if below else set()
            dirnames[:] = [
                d
                for d in dirnames
                if not d.startswith(".")
                and d not in SKIP_DIRS
                and d not in installed
                and not (here / d / "pyvenv.cfg").exists()
                and not (below and any((here / d / marker).exists() for marker in VENDORED.get(d, ())))
            ]
            yield here, [n for n in filenames if n not in installed]

    def display(self, path: Path) -> str:
        if self.single_file:  # the file as given; a file beside it (its .ini, .env) from the same folder
            return (self.given if path == self.root else self.given.parent / path.relative_to(self.base)).as_posix()
        return (self.given / path.relative_to(self.root)).as_posix()

    def within(self, path: Path) -> Path:
        """The file below the scanned folder: the folders above it (a checkout in `~/test/`, or `tests/` when the
        tests are what is scanned) say nothing of what the file is."""
        return path.relative_to(self.base)

    def aside(self, path: Path) -> str | None:
        """ "tests" for a test module, "examples" for an example or a template to copy: their pools are not the
        app's (listed, not judged), their configurations and calls not the app's either."""
        if self.single_file and path == self.root:
            return None  # the one file the user names is judged, whatever its name
        if path in self._asides:
            return self._asides[path]
        below = self.within(path)
        package = lambda folder: (self.base / folder / "__init__.py").is_file()  # noqa: E731
        by_folder = is_example_file(below.parent / "_.py", package)  # (examples/: whatever beside it imports it)
        example = is_example_file(below, package) and (by_folder or not self._imported_beside(path))
        return self._asides.setdefault(path, "tests" if is_test_file(below) else "examples" if example else None)

    def answers(self, dotted: str, path: Path) -> bool:
        """Whether the app's imports of `dotted` may find `path`: not from a folder of the tests."""
        root = _import_root(path, dotted)
        if root not in self._tests_folders:
            self._tests_folders[root] = root.is_relative_to(self.base) and is_test_file(self.within(root) / "_.py")
        return not self._tests_folders[root]

    def _imported_beside(self, path: Path) -> bool:
        return self._beside[path] if path in self._beside else self._beside.setdefault(path, imported_beside(path))

    def _module_keys(self, path: Path) -> list[str]:
        parts = list(path.relative_to(self.import_base).with_suffix("").parts)
        if parts and parts[-1] == "__init__":
            parts.pop()
        # Every suffix: the scan root may sit above the import root (src/ layouts, monorepos).
        return [".".join(parts[i:]) for i in range(len(parts)) if parts[i:]]

    def module_name(self, path: Path) -> str:
        keys = self._module_keys(path)
        return keys[0] if keys else path.stem

    def import_name(self, path: Path) -> str:
        """The module's `__name__` when imported: its folders up to the highest one with an `__init__.py`
        (`server/app/kit/db.py` is `app.kit.db` when server/ has none). A module in a folder that is no package
        keeps the name the scan gives it from the import base (where Python searches is unknown)."""
        parts = [] if path.name == "__init__.py" else [path.stem]
        folder = path.parent
        while (folder / "__init__.py").is_file() and folder != folder.parent:
            parts.insert(0, folder.name)
            folder = folder.parent
        if folder == path.parent:
            return self.module_name(path)
        return ".".join(parts)

    def find_module(self, dotted: str, near: Path | None = None) -> Path | None:
        candidates = self.index.get(dotted)
        if not candidates:
            return None
        if near is not None:
            # The folder a candidate is imported from must be one Python searches: the importer's own, one above
            # it (a src/ layout), or one elsewhere (an installed sibling); never a folder below the importer's,
            # which only its own package's name reaches (`import config` beside cogs/config.py is another file).
            # A folder of the tests is on no path of the app's (docassemble's tests/features/steps/docassemble.py
            # is no part of its `docassemble` namespace package); the app's own test.py settings module is
            here, tested = near.parent, self.aside(near) == "tests"
            candidates = [
                p
                for p in candidates
                if here not in _import_root(p, dotted).parents and (tested or self.answers(dotted, p))
            ]
            if not candidates:
                return None
        if len(candidates) == 1 or near is None:
            return candidates[0]
        # A name is found from a folder on sys.path, never from inside a package (tests/app/ is `tests.app`, not
        # `app`; Marzban's app/xray/config.py is no `config`), but for a script's own folder (sys.path[0]); with
        # none from a folder above the importer, its own (queue-management's api/config.py, not a sibling's)
        roots = {p: _import_root(p, dotted) for p in candidates}
        own = [p for p in candidates if p.parent == near.parent]
        if own and not any(root in near.parents[1:] for root in roots.values()):
            return own[0]
        script = None if (near.parent / "__init__.py").is_file() else near.parent
        kept = [p for p in candidates if not (roots[p] / "__init__.py").is_file() or roots[p] == script] or candidates
        above = [p for p in candidates if roots[p] in near.parents]  # (a folder above the importer, run from: over
        candidates = above if above and not any(roots[p] in near.parents for p in kept) else kept  # another service's)
        read = lambda path: self.kept.get(path) or read_source(path)[0]  # noqa: E731  (no packages: importroots)
        root = imported_from(self, self.files, read, near) if script and len(candidates) > 1 else None
        candidates = [p for p in candidates if roots[p] == root] or candidates
        # Several files answer to the name: the one closest to the importing file is what Python would find; as
        # close, one imported from the project's top (where it runs from) over a config folder's (pagure's
        # fedmsg.d/pagure.py beside the pagure package, for tools/ scripts)
        return max(
            candidates,
            key=lambda p: (
                len(os.path.commonpath([p, near]).split(os.sep)),
                _import_root(p, dotted) == self.import_base,
                -len(p.parts),
            ),
        )

    def parse(self, path: Path, data: bytes | None = None) -> Module | None:
        if path in self.modules:
            return self.modules[path]
        module: Module | None = None
        display = self.display(path)
        if data is None:
            data, why = read_source(path)
            if data is None:
                self.warnings.append(f"{display}: {why}")
                self.modules[path] = None
                return None
        unread, source = False, None
        try:
            try:
                tree = ast.parse(data, filename=display)
            except SyntaxError:  # maybe newer syntax than this Python's: read it the way syntax.py can
                tree, unread, source = parse_newer(decode(data), display)
        except SyntaxError as exc:
            self.warnings.append(
                f"{display}:{exc.lineno or 0}: does not parse with Python {_py_version()} ({exc.msg}); skipped"
            )
        except (ValueError, RecursionError, MemoryError) as exc:
            self.warnings.append(f"{display}: does not parse ({type(exc).__name__}); skipped")
        else:
            if unread:
                self.warnings.append(
                    f"{display}: f-strings Python {_py_version()} cannot read (nested quotes) are left unknown"
                )
            module = Module(
                path=path,
                display=display,
                name=self.module_name(path),
                import_name=self.import_name(path),
                tree=tree,
                source=decode(data) if source is None else source,
                is_package=path.name == "__init__.py",
                aside=self.aside(path),
            )
            try:
                index_module(module)
            except RecursionError:
                self.warnings.append(f"{display}: nested too deeply to follow; skipped")
                module = None
        self.modules[path] = module
        return module

    def module_by_name(self, dotted: str, near: Path | None = None) -> Module | None:
        path = self.find_module(dotted, near)
        return self.parse(path) if path is not None else None


def _import_root(path: Path, dotted: str) -> Path:
    """The folder `dotted` is imported from when it names `path`."""
    depth = len(dotted.split(".")) + (1 if path.name == "__init__.py" else 0)
    return path.parents[depth - 1]


def _py_version() -> str:
    import sys

    return f"{sys.version_info.major}.{sys.version_info.minor}"


def index_module(module: Module) -> None:
    """One walk over the tree: imports, assignments, definitions and every call, with its context."""
    _collect_scope(module, module.tree.body, ())
    stack: list[
        tuple[ast.AST, tuple[FunctionNode | ast.Lambda, ...], ast.ClassDef | None, tuple[tuple[ast.expr, bool], ...]]
    ] = [(module.tree, (), None, ())]
    while stack:
        node, functions, cls, conditions = stack.pop()
        if isinstance(node, ast.Call):
            name = last_name(node.func)
            if name is not None:
                module.calls.setdefault(name, []).append(CallSite(node, functions, cls, conditions))
            for given in calls_made(node, module.imports, module.deferred):  # called where given (`run_sync(
                module.calls.setdefault(last_name(given.func) or "", []).append(  # partial(create_pool, dsn=...))`)
                    CallSite(given, functions, cls, conditions)
                )
        if isinstance(node, (ast.Import, ast.ImportFrom)) and functions:
            _add_import(module, node, module.nested_imports)
        elif isinstance(node, ast.Assign) and functions:  # `sqlalchemy = __import__("sqlalchemy")` (uberserver's)
            module.nested_imports.update(imported_by_call(node))
        if isinstance(node, (ast.Assign, ast.AugAssign)) and functions and not isinstance(functions[-1], ast.Lambda):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
                    module.attr_writes.setdefault(target.attr, []).append((target.value.id, functions[-1], cls))
        if isinstance(node, ast.Global) and functions and not isinstance(functions[-1], ast.Lambda):
            for name in node.names:
                module.rebound.setdefault(name, functions[-1].name)
        if (
            isinstance(node, ast.Call)
            and functions
            and not isinstance(functions[-1], ast.Lambda)
            and globals_update(node)
        ):
            module.rebound.setdefault(ANY_SETTING, functions[-1].name)  # `globals().update(...)`: any of its settings
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            inner = (*functions, node)
            for child in ast.iter_child_nodes(node):
                stack.append((child, inner, cls, ()))
            continue
        if isinstance(node, ast.ClassDef):
            for child in ast.iter_child_nodes(node):
                stack.append((child, functions, node, ()))
            continue
        if isinstance(node, ast.If):
            stack.append((node.test, functions, cls, conditions))
            for child in node.body:
                stack.append((child, functions, cls, (*conditions, (node.test, True))))
            for child in node.orelse:
                stack.append((child, functions, cls, (*conditions, (node.test, False))))
            continue
        for child in ast.iter_child_nodes(node):
            stack.append((child, functions, cls, conditions))
    for sites in module.calls.values():
        sites.sort(key=lambda s: (s.call.lineno, s.call.col_offset))


def _collect_scope(module: Module, body: list[ast.stmt], conditions: tuple[tuple[ast.expr, bool], ...]) -> None:
    """Module-level statements, following if/try/with blocks (still run at import) but not functions."""
    for stmt in body:
        module.module_statements.append((stmt, conditions))
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            _add_import(module, stmt, module.imports)
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            module.functions[stmt.name] = stmt
        elif isinstance(stmt, ast.ClassDef):
            module.classes[stmt.name] = stmt
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            module.imports.update(imported := imported_by_call(stmt))  # `x = pytest.importorskip("psycopg_pool")`
            for name, value in assigned_names(stmt) if not imported else []:
                module.assigns.setdefault(name, []).append(Assignment(value, stmt.lineno, conditions))
            changed = changed_name(stmt)
            if changed is not None:
                module.mutations.setdefault(changed, []).append((stmt, conditions))
            env_sets(stmt, module.env_sets, conditions)
        elif isinstance(stmt, (ast.AugAssign, ast.Expr, ast.Delete)):
            env_sets(stmt, module.env_sets, conditions)
            changed = changed_name(stmt)
            if changed is not None:
                module.mutations.setdefault(changed, []).append((stmt, conditions))
        elif isinstance(stmt, ast.If) and (dotted_parts(stmt.test) or [""])[-1] == "TYPE_CHECKING":
            # never runs: its imports name the annotations' types; its stubs (`def env_var(...)` standing in for
            # the class above it) are not what the code calls
            for inner in stmt.body:
                if isinstance(inner, (ast.Import, ast.ImportFrom)):
                    _add_import(module, inner, module.imports)
            _collect_scope(module, stmt.orelse, conditions)
        elif isinstance(stmt, ast.If):
            _collect_scope(module, stmt.body, (*conditions, (stmt.test, True)))
            _collect_scope(module, stmt.orelse, (*conditions, (stmt.test, False)))
        elif isinstance(stmt, (ast.Try, ast.TryStar)):
            _collect_scope(module, stmt.body, conditions)
            tried = dict(module.imports)
            for handler in stmt.handlers:
                _collect_scope(module, handler.body, conditions)
            if any(catches_import_error(handler) for handler in stmt.handlers):
                for name, dotted in tried.items():  # `try: from psycopg_pool import ConnectionPool / except
                    if pool_library(dotted):  # ImportError: ...psycopg2's`: the pool library the app installs is
                        module.imports[name] = dotted  # the one it tries first, and a stub the handler defines
                        if any(getattr(s, "name", None) == name for h in stmt.handlers for s in h.body):
                            module.functions.pop(name, None)  # in its place is none (maubot's)
            _collect_scope(module, stmt.orelse, conditions)
            _collect_scope(module, stmt.finalbody, conditions)
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            _collect_scope(module, stmt.body, conditions)
        elif isinstance(stmt, (ast.For, ast.AsyncFor, ast.While)):  # a name a loop changes in place (at import)
            for changed, inner in loop_changes(stmt):
                module.mutations.setdefault(changed, []).append((inner, conditions))
        elif isinstance(stmt, ast.Match):  # which case runs is the statements' to say (scan/flow.py)
            for case in stmt.cases:
                _collect_scope(module, case.body, conditions)


def _add_import(module: Module, node: ast.Import | ast.ImportFrom, into: dict[str, str]) -> None:
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                into[alias.asname] = alias.name
            else:  # `import a.b` binds `a`
                top = alias.name.split(".")[0]
                into.setdefault(top, top)
        return
    base = resolve_relative(module, node.module, node.level)
    if base is None:
        return
    for alias in node.names:
        if alias.name == "*":
            if into is module.imports:
                module.star_imports.append(base)
            continue
        into[alias.asname or alias.name] = _flask_ext(f"{base}.{alias.name}" if base else alias.name)


def _flask_ext(dotted: str) -> str:
    """Flask before 1.0 let `flask.ext.sqlalchemy` name `flask_sqlalchemy` (dropbox/changes)."""
    return f"flask_{dotted.removeprefix('flask.ext.')}" if dotted.startswith("flask.ext.") else dotted


def resolve_relative(module: Module, name: str | None, level: int) -> str | None:
    if level == 0:
        return name or ""
    parts = module.name.split(".")
    if not module.is_package:  # (the file's own name, dots and all: `local.template.py` is in `settings`)
        parts = parts[: -len(module.path.stem.split("."))] if module.name.endswith(module.path.stem) else parts[:-1]
    if level > 1:
        if level - 1 > len(parts):
            return None
        parts = parts[: len(parts) - (level - 1)]
    if name:
        parts = [*parts, name]
    return ".".join(p for p in parts if p)


def library_target(dotted: str) -> tuple[str, str] | None:
    """(stack, public call name) when `dotted` names a pool-creating library callable (`flask.ext.x`: get5-web's)."""
    parts = _flask_ext(dotted).split(".")
    entry = LIBRARY_TARGETS.get(parts[0])
    if entry is None or parts[-1] not in entry[1]:
        return None
    stack, _ = entry
    owner = scanned(stack)
    assert owner is not None  # every call a stack declares is one a stack judges
    return stack, owner.public_call(parts[0], parts[-1])


def pool_library(dotted: str) -> bool:
    """A pool library (`psycopg_pool`) or one of its pool callables (`psycopg_pool.ConnectionPool`), by dotted
    name; not any name of it (`sqlalchemy.orm.DeclarativeBase` tells which release is there)."""
    root, _, rest = dotted.partition(".")
    return root in LIBRARY_TARGETS and (not rest or dotted.rsplit(".", 1)[-1] in CALL_NAMES)


def catches_import_error(handler: ast.ExceptHandler, alone: bool = True) -> bool:
    """`except ImportError:` (or ModuleNotFoundError, or a tuple of them; not `alone`: among other types)."""
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type] if handler.type else []
    names = {(dotted_parts(node) or [""])[-1] for node in types}
    imports = {"ImportError", "ModuleNotFoundError"}
    return bool(names & imports) and (not alone or names <= imports)
