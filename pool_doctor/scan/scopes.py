"""What a name means where it is read: a local assigned before the line, a parameter, a module global, an import.

Imports are followed across the project's modules (star imports included); a name from a library outside the
project stays an `ExternalRef` known by its dotted name."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from pool_doctor.scan import components, containers, djangosettings, globalsets
from pool_doctor.scan.conditions import all_of
from pool_doctor.scan.finder import (
    LIBRARY_TARGETS,
    Assignment,
    FunctionNode,
    Module,
    Project,
    library_target,
    read_source,
    resolve_relative,
)
from pool_doctor.scan.kinds import (
    SV,
    Branches,
    ClassRef,
    DictV,
    ExternalRef,
    Frame,
    FuncRef,
    Interpreter,
    ModuleRef,
    Thunk,
    external,
    is_known,
    not_set,
    unknown,
)
from pool_doctor.scan.names import BUILTIN_NAMES, DJANGO
from pool_doctor.scan.nodes import import_target, own_nodes, package_of, parameter_names
from pool_doctor.scan.paths import ALWAYS_RAISES
from pool_doctor.scan.statements import ANY_SETTING, LOCALS, added_keys, assigned_names, memo_fills

EXTERNAL_ROOTS = {
    "os",
    "sys",
    "sqlalchemy",
    "sqlmodel",
    "asyncpg",
    "psycopg",
    "psycopg_pool",
    "psycopg2",
    "pydantic",
    "pydantic_settings",
    "starlette",
    "decouple",
    "environ",
    "dj_database_url",
    "django",
    "flask",
    "flask_sqlalchemy",
    "functools",
    "typing",
    "dotenv",
    "builtins",
}
# the config libraries the scan reads (and django-configurations', in a Django project): a project module of the
# name inside a package is none of them (dask-gateway's traitlets.py, absys' shop/configurations.py)
CONFIG_LIBRARIES = {
    "traitlets",
    "dynaconf",
    "environs",
    "everett",
    "configparser",
    "oslo_config",
    "yaml",
    "toml",
    "alembic",
}


_BUSY = object()  # a global being worked out: read again meanwhile, it is a cycle


class Scopes:
    def __init__(self, project: Project, ev: Interpreter) -> None:
        self.project = project
        self.ev = ev
        self._locals: dict[int, dict[str, list[Assignment]]] = {}
        self._names: dict[int, set[str]] = {}
        self._globals: dict[tuple[int, str], Any] = {}
        self._states: dict[int, dict[str, Any] | None] = {}
        self.running = 0  # module and class bodies being run now: what is read meanwhile is not their final state
        self._importing: set[tuple[int, str]] = set()
        self._namespaces: set[str] | None = None
        self._stubbed: dict[tuple[int, str], str | None] = {}  # stub_import's answers, by module and name
        self._filled: dict[int, dict[str, tuple[str, list[str] | None]]] = {}  # (filled_by)

    def lookup(self, name: str, frame: Frame, node: ast.AST) -> Any:
        if frame.flow:  # the locals as the function's statements left them (scan/flow.py)
            current: Frame | None = frame
            while current is not None:
                if name in current.bindings:
                    return self.ev.force(current.bindings[name])
                # A class body reads a name it has not set yet from the module (Python's LOAD_NAME): in
                # `class C: URL = URL` the right-hand URL is the global.
                in_class = isinstance(current.scope, ast.ClassDef)
                if current.scope is not None and not in_class and name in self.local_names(current.scope):
                    return unknown(frame.module, node, why=f"{name} (not set on this path)")
                current = current.outer
            return self.global_value(frame.module, name, node)
        line = getattr(node, "lineno", 1 << 30)
        if frame.scope is not None and not isinstance(frame.scope, ast.Lambda):
            assignments = [a for a in self.scope_locals(frame.scope).get(name, []) if a.line < line]
            if assignments:  # a local assigned before this line shadows the parameter of the same name
                return self.from_assignments(assignments, frame, node)
        if name in frame.bindings:
            return self.ev.force(frame.bindings[name])
        return self.global_value(frame.module, name, node)

    def local_names(self, scope: FunctionNode | ast.ClassDef | ast.Lambda) -> set[str]:
        """Every name the function assigns anywhere in its body (Python makes each a local)."""
        cached = self._names.get(id(scope))
        if cached is not None:
            return cached
        names: set[str] = set()
        if isinstance(scope, ast.Lambda):
            self._names[id(scope)] = names
            return names
        todo: list[ast.AST] = list(scope.body)
        while todo:
            node = todo.pop()
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
                continue
            elif isinstance(node, ast.Lambda):
                continue
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names.update((a.asname or a.name).split(".")[0] for a in node.names)
            elif isinstance(node, (ast.Global, ast.Nonlocal)):
                continue
            todo.extend(ast.iter_child_nodes(node))
        for stmt in ast.walk(scope):
            if isinstance(stmt, (ast.Global, ast.Nonlocal)):
                names.difference_update(stmt.names)
        self._names[id(scope)] = names
        return names

    def scope_locals(self, scope: FunctionNode | ast.ClassDef) -> dict[str, list[Assignment]]:
        """Names assigned in a function body (or a class body), not in nested functions."""
        cached = self._locals.get(id(scope))
        if cached is not None:
            return cached
        found: dict[str, list[Assignment]] = {}
        todo: list[tuple[ast.AST, tuple[tuple[ast.expr, bool], ...]]] = [(s, ()) for s in scope.body]
        while todo:
            stmt, conditions = todo.pop()
            if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                for target, value in assigned_names(stmt):
                    found.setdefault(target, []).append(Assignment(value, stmt.lineno, conditions))
            elif isinstance(stmt, ast.If):
                todo.extend((s, (*conditions, (stmt.test, True))) for s in stmt.body)
                todo.extend((s, (*conditions, (stmt.test, False))) for s in stmt.orelse)
            elif isinstance(stmt, (ast.With, ast.AsyncWith, ast.For, ast.AsyncFor, ast.While, ast.Try, ast.TryStar)):
                for block in ("body", "orelse", "finalbody"):
                    todo.extend((s, conditions) for s in getattr(stmt, block, []))
                for handler in getattr(stmt, "handlers", []):
                    todo.extend((s, conditions) for s in handler.body)
        for assignments in found.values():
            assignments.sort(key=lambda a: a.line)
        self._locals[id(scope)] = found
        return found

    def from_assignments(self, assignments: list[Assignment], frame: Frame, node: ast.AST) -> Any:
        """The assignment in effect: the last one whose `if` tests all hold with no environment set. One under
        a test the scan cannot decide, or that the environment decides, gives Branches: its value when the
        test holds, the earlier ones' else (with the environment's default marked)."""
        for index in range(len(assignments) - 1, -1, -1):
            assignment = assignments[index]
            verdict, by_env = self.condition_state(assignment.conditions, frame)
            if verdict is None or by_env:
                when = condition_text(frame.module, assignment.conditions)
                earlier = (
                    self.from_assignments(assignments[:index], frame, node)
                    if index
                    else unknown(frame.module, node, why=f"set only when {when}")
                )
                default = None if verdict is None else (0 if verdict else 1)
                return Branches([(when, Thunk(assignment.value, frame)), (f"not ({when})", earlier)], default=default)
            if verdict:
                return self.ev.force(self.ev.eval(assignment.value, frame))
        return unknown(frame.module, node)

    def conditions_hold(self, conditions: tuple[tuple[ast.expr, bool], ...], frame: Frame) -> bool | None:
        """Whether the tests hold with no environment set (None: the scan cannot tell)."""
        return self.condition_state(conditions, frame)[0]

    def condition_state(self, conditions: tuple[tuple[ast.expr, bool], ...], frame: Frame) -> tuple[bool | None, bool]:
        """(whether the tests hold with no environment set, or None; whether the environment can change that)."""
        verdicts = [(containers.decide(self.ev, self.ev.eval(test, frame)), wanted) for test, wanted in conditions]
        if any(verdict is not None and verdict != wanted and not env for (verdict, env), wanted in verdicts):
            return False, False  # a test the code alone decides against it
        if any(verdict is None for (verdict, _), _ in verdicts):
            return None, False
        by_env = any(env for (_, env), _ in verdicts)
        return all(verdict == wanted for (verdict, _), wanted in verdicts), by_env

    def global_value(
        self, module: Module, name: str, node: ast.AST | None = None, seen: int = 0, changes: bool = True
    ) -> Any:
        """A module-level name's value as importing the module leaves it: the module's statements run once
        (scan/flow.py), so a name set under a test the environment decides, changed in place after, or set on
        each side of an if/else is what those statements make of it. `changes=False`: the assignment alone."""
        state = (
            self.body_state(module, module.tree)
            if changes and (name in module.assigns or name in module.mutations or LOCALS in module.mutations)
            else None
        )
        if name in module.rebound and name in module.assigns and not _rebound_only_here(module, name):
            if globalsets.set_before_read(module, name, node):  # (`_kwargs = None` until `init_pool()` sets it)
                return self._left_by(module, name, node)
            # which value a read meets depends on when the function that rebinds it runs
            return unknown(module, node, why=f"{name}, set again by {module.rebound[name]}() through `global`")
        if ANY_SETTING in module.rebound and name in module.assigns:  # (any of the module's names)
            return unknown(module, node, why=f"{name}, set again by {module.rebound[ANY_SETTING]}() through globals()")
        if state is not None and name in state:
            return self._as_filled(module, name, self.ev.force(state[name]))
        if state is not None and name in module.assigns:
            return unknown(module, node, why=f"{name} (not set when the module is imported)")
        if name in module.assigns:  # the module's statements are running: its assignments alone
            key = (id(module), name)
            if key in self._globals:
                cached = self._globals[key]
                return cached if cached is not _BUSY else SV(None, None, known=False, expr=f"{name} (cycle)")
            self._globals[key] = _BUSY
            try:
                value = self.from_assignments(module.assigns[name], Frame(module), node or module.tree)
            except BaseException:
                del self._globals[key]
                raise
            self._globals[key] = value
            return self._as_filled(module, name, value)
        if name in module.rebound and name not in module.assigns and not self._bound_at_top(module, name):
            return self._left_by(module, name, node)
        if name in module.functions:
            return FuncRef(module, module.functions[name])
        if name in module.classes:
            return ClassRef(module, module.classes[name])
        target = module.imports.get(name) or module.nested_imports.get(name)
        if target is not None:
            key = (id(module), name)
            if key in self._importing:  # a.py imports x from b.py, which imports it from a.py
                return SV(None, None, known=False, expr=f"{name} (an import cycle)")
            self._importing.add(key)
            try:
                return self.dotted_value(import_target(module.source, name, target), module)
            finally:
                self._importing.discard(key)
        for star in reversed(module.star_imports):  # the last that gives the name is the one Python keeps
            source = self.project.module_by_name(star, module.path)
            if source is not None and source is not module and seen < 5:
                if self._defines(source, name, seen):
                    return self.global_value(source, name, None, seen + 1)
            elif source is None and name not in BUILTIN_NAMES and name.upper() == name:  # `from .local_settings
                return ExternalRef(f"{star}.{name}")  # import *` may set any setting; it leaves int() and os be
            elif source is None and star in LIBRARY_TARGETS and library_target(f"{star}.{name}"):  # fedora-tagger's
                return ExternalRef(f"{star}.{name}")  # `from sqlalchemy import *` (a library's own top module's)
        stubbed = self.stub_import(module, name)
        if stubbed is not None:  # lazy_loader.attach_stub(__name__, __file__): the names the .pyi beside imports
            return self.dotted_value(stubbed, module)
        if name in BUILTIN_NAMES:
            return ExternalRef(f"builtins.{name}")
        if name == "__file__":
            return SV(str(module.path), None, source="__file__")
        if name == "__name__":
            return SV(module.import_name or module.name, None, source="__name__")
        if node is None and "__getattr__" in module.functions:  # `module.name`, `from module import name`: PEP 562
            return self._module_getattr(module, name)
        including = components.imported_by_includers(self.project, module, name) if seen < 5 else None
        if including is not None:  # (a split-settings component: what the modules it runs in import)
            return self.global_value(including, name, node, seen + 1)
        return unknown(module, node) if node is not None else SV(None, None, known=False, expr=name)

    def _module_getattr(self, module: Module, name: str) -> Any:
        """What the module's own `__getattr__(name)` returns for a name it does not bind (mm_microkit's
        `settings`, a `Settings()` made on first read): Python asks it only when the module lacks the name."""
        func = FuncRef(module, module.functions["__getattr__"])
        params = [*func.node.args.posonlyargs, *func.node.args.args]
        if not params:
            return SV(None, None, known=False, expr=name)
        frame = self.ev.bind(func, None, Frame(module))
        bindings = {**frame.bindings, params[0].arg: SV(name, None)}
        found = self.ev.force(self.ev.call_bound(func, replace(frame, bindings=bindings)))
        raises = isinstance(found, SV) and not found.known and ALWAYS_RAISES in (found.expr or "")  # (for this name:
        return SV(None, None, known=False, expr=name) if raises else found  # the name, as read)

    def _bound_at_top(self, module: Module, name: str, depth: int = 0) -> bool:
        """Whether the module's own statements may bind the name some way but an assignment: an import, a def, a
        class, a loop's or a `with`'s target, a star import of a module that may (or one the tree lacks)."""
        if name in module.imports or name in module.functions or name in module.classes:
            return True
        for star in module.star_imports:
            source = self.project.module_by_name(star, module.path)
            if source is None or source is module or depth > 2 or name in source.assigns or name in source.rebound:
                return True
            if ANY_SETTING in source.rebound or self._bound_at_top(source, name, depth + 1):
                return True
        nodes = own_nodes(module.tree)
        return any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store) for n in nodes)

    def _left_by(self, module: Module, name: str, node: ast.AST | None) -> Any:
        """A global the module never assigns (or only as None), that one of its functions sets through `global`
        (scan/globalsets.py): what reads it runs once that function ran, so it holds what the function leaves."""
        func = module.functions.get(module.rebound[name])
        if func is None or _rebinders(module, name) != {func.name}:
            return unknown(module, node, why=f"{name}, set by {module.rebound[name]}() through `global`")
        key = (id(module), name)
        if key not in self._globals:
            self._globals[key] = _BUSY
            given = globalsets.setter_frame(self.project, module, func)  # (None: its defaults)
            ref = FuncRef(module, func)
            left = (self.ev.bound_locals(ref, given) if given else self.ev.locals_after(ref, None, Frame(module))).get(
                name
            )
            left = self.ev.force(left) if left is not None else unknown(module, node)
            self._globals[key] = (
                globalsets.early_exit(func, left, module.where(func)) if name in module.assigns else left
            )
        found = self._globals[key]
        return found if found is not _BUSY else SV(None, None, known=False, expr=f"{name} (cycle)")

    def _as_filled(self, module: Module, name: str, value: Any) -> Any:
        """A module's dict that one of its functions fills in place (docassemble's `daconfig = {}`, which `load()`
        fills from a YAML file at start-up): what the module writes, and any key the function may have set."""
        if not isinstance(value, DictV) or (found := self.filled_by(module).get(name)) is None:
            return value
        by, keys = found
        if keys is None:
            return replace(value, items=dict(value.items), opaque=[*value.opaque, f"**{name} as {by}() fills it"])
        items = dict(value.items)
        for key in keys:  # (set where the function ran, as the module wrote it where it did not)
            test = f"{by}() sets {name}[{key!r}]"
            new = SV(None, None, known=False, expr=f"{name}[{key!r}] as {by}() sets it")
            items[key] = Branches([(test, new), (f"not ({test})", items.get(key, not_set()))])
        return replace(value, items=items)

    def filled_by(self, module: Module) -> dict[str, tuple[str, list[str] | None]]:
        """The module's dicts a function of its own adds keys to in place (statements.added_keys), each with the
        function's name and those keys (None: keys it computes); not a cache it fills on first use."""
        if id(module) not in self._filled:
            found: dict[str, tuple[str, list[str] | None]] = {}
            for func in (n for n in ast.walk(module.tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
                own = self.local_names(func) | parameter_names(func)
                memo: dict[str, set[int]] = {}  # (`if name not in _engines:` a cache, per dict it fills)
                for stmt in (n for n in own_nodes(func) if isinstance(n, ast.stmt)):
                    added = added_keys(stmt)
                    if added is None or added[0] not in module.assigns or added[0] in own:
                        continue
                    if added[0] not in memo:
                        memo[added[0]] = memo_fills(func.body, added[0])
                    if id(stmt) in memo[added[0]]:
                        continue
                    by, keys = found.get(added[0], (func.name, []))
                    found[added[0]] = (by, None if keys is None or added[1] is None else [*keys, *added[1]])
            self._filled[id(module)] = found
        return self._filled[id(module)]

    def _defines(self, module: Module, name: str, seen: int) -> bool:
        """Whether a module gives the name to `from module import *`: its own, or through its own star imports
        (a settings package whose __init__ star-imports base.py: ralph)."""
        if name in module.assigns or name in module.functions or name in module.classes or name in module.imports:
            return True
        stars = (self.project.module_by_name(star, module.path) for star in module.star_imports)
        return seen < 5 and any(s is not None and s is not module and self._defines(s, name, seen + 1) for s in stars)

    def body_state(self, module: Module, scope: ast.Module | ast.ClassDef) -> dict[str, Any] | None:
        """The names a module's (or a class's) statements leave, run once; None while they run (a name read
        meanwhile comes from its assignments alone)."""
        key = id(scope)
        if key in self._states:
            return self._states[key]
        self._states[key] = None
        self.running += 1
        try:
            state = self.ev.body_state(module, scope)
        finally:
            self.running -= 1
        self._states[key] = state
        return state

    def dotted_value(self, dotted: str, near: Module) -> Any:
        """What `a.b.c` is: a project module, a name inside one, or something outside the project; `a:a.b`, the
        `a` that `import a.b` binds: the package holding the `a.b` found (not a bot.py beside the importer)."""
        dotted, _, full = dotted.partition(":")
        parts = dotted.split(".")
        library = parts[0] in CONFIG_LIBRARIES or (parts[0] == "configurations" and DJANGO in self.project.mentions)
        if parts[0] in EXTERNAL_ROOTS or (library and self._in_package(parts[0], near)):
            return external(dotted)  # (guillotina's stubs/asyncpg/ is no asyncpg of its own)
        if full and (package := package_of(self.project, full, near.path)) is not None:
            return ModuleRef(package)
        for cut in range(len(parts), 0, -1):
            module = self.project.module_by_name(".".join(parts[:cut]), near.path)
            if module is None:
                continue
            while 1 < cut == len(parts):  # a package whose __init__ binds the name has it as its attribute, over
                parent = self.project.module_by_name(".".join(parts[: cut - 1]), near.path)  # its submodule
                if parent is None or not shadows(parent, parts[cut - 1], ".".join(parts[:cut]), near):  # (airweave's
                    break  # settings); not a module the import names before the name (augur's db.engine)
                if not module.path.is_relative_to(parent.path.parent):  # another tree's package of that name
                    break
                module, cut = parent, cut - 1
            value: Any = ModuleRef(module)
            for attr in parts[cut:]:
                value = self.ev.attribute(value, attr, None, Frame(near))
            return value
        return external(dotted)

    def submodule(self, module: Module, attr: str, near: Module) -> ModuleRef | None:
        """`package.attr` where the package has a submodule of that name: that module, unless the package binds
        the name (an assignment; an import of a value the submodule makes: ayon's `from .ayonconfig import
        ayonconfig`; its functions and classes stay the submodule's, which cost too much to follow: cognee's)."""
        sub = self.project.module_by_name(f"{module.name}.{attr}", module.path)
        if sub is None or attr in module.assigns:
            return None
        made = attr not in sub.functions and attr not in sub.classes
        return None if made and shadows(module, attr, sub.name, near) else ModuleRef(sub)

    def _in_package(self, name: str, near: Module) -> bool:
        """The project module `import name` would find sits inside a package (`python app.py` puts app.py's
        folder first on sys.path, never a package's)."""
        found = self.project.module_by_name(name, near.path)
        folder = found.path.parent if found is not None and found.path.name != "__init__.py" else None
        folder = found.path.parent.parent if found is not None and folder is None else folder
        return folder is not None and (folder / "__init__.py").is_file()

    def external(self, dotted: str, attr: str, near: Module) -> Any | None:
        """What the project gives a library name's attribute: a namespace package's module; Django's
        `settings.NAME`, what the settings module sets (djangosettings); None: the library's."""
        found = self.in_namespace(dotted, attr, near)
        return found if found is not None else djangosettings.read(self.project, self.global_value, dotted, attr, near)

    def in_namespace(self, dotted: str, attr: str, near: Module) -> ModuleRef | None:
        """`a.b` where `a` is a folder of the project's packages with no `__init__.py` (an implicit namespace
        package: docassemble's `import docassemble.webapp.database`, then `docassemble.webapp.database.x`): the
        project module it names; None for anything else."""
        if self._namespaces is None:  # (the first parts of the project's module names that name no module of
            index = self.project.index  # the app's: docassemble's tests/features/steps/docassemble.py is none)
            named = {k for k, paths in index.items() if "." not in k and any(self.project.answers(k, p) for p in paths)}
            self._namespaces = {key.split(".")[0] for key in index} - named
        if dotted.split(".")[0] not in self._namespaces:
            return None
        found = self.project.module_by_name(f"{dotted}.{attr}", near.path)
        return ModuleRef(found) if found is not None else None

    def imported(self, module: Module, node: ast.Import | ast.ImportFrom, lazy: bool = False) -> list[tuple[str, Any]]:
        """The names an import statement binds, each with what it names (`lazy`: worked out when read)."""
        targets: list[tuple[str, str]] = []
        if isinstance(node, ast.Import):
            for alias in node.names:
                dotted = alias.name if alias.asname else alias.name.split(".")[0]
                targets.append((alias.asname or dotted, dotted if dotted == alias.name else f"{dotted}:{alias.name}"))
        else:
            base = resolve_relative(module, node.module, node.level)
            if base is not None:
                for alias in node.names:
                    if alias.name != "*":
                        targets.append((alias.asname or alias.name, f"{base}.{alias.name}" if base else alias.name))
                    else:  # a project module's names replace what the importer set before (a deployment's override)
                        targets.extend((name, f"{base}.{name}") for name in self.star_names(module, base))
        if not lazy:
            return [(local, self.dotted_value(dotted, module)) for local, dotted in targets]
        frame, name = Frame(module), ast.Constant(value=None)  # the Thunk's node: never evaluated

        def resolver(dotted: str) -> Callable[[], Any]:
            return lambda: self.dotted_value(dotted, module)

        return [(local, Thunk(name, frame, compute=resolver(dotted))) for local, dotted in targets]

    def stub_import(self, module: Module, name: str) -> str | None:
        """_stub_import's answer, worked out once: a lazy_loader package's names are asked for again and again,
        and without a stub each answer reads the package's other files."""
        key = (id(module), name)
        if key not in self._stubbed:
            self._stubbed[key] = _stub_import(module, name)
        return self._stubbed[key]

    def star_names(self, module: Module, base: str, depth: int = 0) -> list[str]:
        """The names `from base import *` binds when base is a module of the project: its `__all__` when the scan
        can read it, else every name its statements (and its own star imports) bind not starting with "_"."""
        source = self.project.module_by_name(base, module.path)
        if source is None or source is module:
            return []
        listed = self.global_value(source, "__all__") if "__all__" in source.assigns else None
        items = containers.items_of(self.ev, listed) if listed is not None else None
        if items is not None:
            names = [self.ev.force(item) for item in items]
            return [n.value for n in names if is_known(n) and isinstance(n.value, str)]
        bound = [*source.assigns, *source.functions, *source.classes, *source.imports]
        bound += [
            name for star in source.star_imports if depth < 5 for name in self.star_names(source, star, depth + 1)
        ]
        return [name for name in dict.fromkeys(bound) if not name.startswith("_")]


def _stub_import(module: Module, name: str) -> str | None:
    """What `name` is in a package whose `__getattr__` lazy_loader's `attach_stub` makes (funnel's models): the
    import of it in the `.pyi` stub beside the module, which attach_stub reads; with no stub in the tree (one
    generated at build time), the one module of the package that binds it at its top level."""
    if "attach_stub" not in module.source:
        return None
    stub = module.path.with_suffix(".pyi")
    if not stub.is_file():
        bound = re.compile(rf"^(?:{re.escape(name)}\s*[:=][^=]|(?:def|class)\s+{re.escape(name)}\b)", re.M)
        found = [
            path
            for path in sorted(module.path.parent.glob("*.py"))
            if path != module.path and bound.search((read_source(path)[0] or b"").decode(errors="replace"))
        ]
        return f"{module.import_name or module.name}.{found[0].stem}.{name}" if len(found) == 1 else None
    data = read_source(stub)[0]
    try:
        tree = ast.parse(data) if data is not None else None
    except (SyntaxError, ValueError):
        return None
    for node in tree.body if tree is not None else []:
        if isinstance(node, ast.ImportFrom):
            base = resolve_relative(module, node.module, node.level)
            for alias in node.names:
                if base is not None and (alias.asname or alias.name) == name:
                    return f"{base}.{alias.name}"
    return None


def shadows(package: Module, name: str, submodule: str, near: Module) -> bool:
    """Whether a package's `__init__` binds `name` to something other than its submodule of that name (`settings
    = Settings()` beside config/settings.py): Python's import takes the package's attribute first. Not for the
    package's own modules, which run before its `__init__` binds it (`from .settings import Settings` there)."""
    if package.path.name != "__init__.py" or package.path.parent in near.path.parents:
        return False
    if name in package.imports:
        return package.imports[name] != submodule
    return name in package.assigns or name in package.functions or name in package.classes


def condition_text(
    module: Module,
    conditions: tuple[tuple[ast.expr, bool], ...],
    frame: Frame | None = None,
    scopes: Scopes | None = None,
) -> str:
    """`if` tests as source text (`TESTING and not (DEBUG)`); with a frame, only those the scan cannot decide."""
    parts = []
    for test, taken in conditions:
        if _decided(test, frame, scopes):
            continue
        text = module.segment(test)
        parts.append(text if taken else f"not ({text})")
    return all_of(parts)


def _decided(test: ast.expr, frame: Frame | None, scopes: Scopes | None) -> bool:
    return (
        frame is not None
        and scopes is not None
        and containers.truth(scopes.ev, scopes.ev.eval(test, frame)) is not None
    )


def _rebound_only_here(module: Module, name: str) -> bool:
    """The one function that rebinds a global through `global` runs only where the module assigns what it
    returns to that same name (`DATABASES = setup_database()`, Tandoor): the module's statements say what it
    holds. Another function rebinding it, or a call inside a function, leaves it to run time."""
    if _rebinders(module, name) != {module.rebound[name]}:
        return False
    sites = module.calls.get(module.rebound[name], [])
    assigned = {id(a.value) for a in module.assigns[name]}
    return bool(sites) and all(not site.functions and id(site.call) in assigned for site in sites)


def _rebinders(module: Module, name: str) -> set[str]:
    """The names of the module's functions that rebind a global through `global`."""
    return {
        func.name
        for func in ast.walk(module.tree)
        if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef))
        and any(isinstance(s, ast.Global) and name in s.names for s in ast.walk(func))
    }
