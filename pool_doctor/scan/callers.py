"""Who calls what across the project: a function's calls (and the class of the instance its callers pass for a
parameter), and a class's subclasses, with the files that name them parsed when first asked."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from pool_doctor.scan import taint
from pool_doctor.scan.appconfig import frame_of_caller
from pool_doctor.scan.finder import CallSite, FunctionNode, Module, Project, read_source
from pool_doctor.scan.flaskconfig import SANIC
from pool_doctor.scan.kinds import SV, Branches, ClassRef, Frame, FuncRef, HolderV, InstanceRef, Interpreter
from pool_doctor.scan.nodes import aliases, instance_writes, own_nodes
from pool_doctor.scan.statements import assigned_names


def calls_of(
    project: Project, func: FunctionNode, called: Callable[[Module, CallSite], Any]
) -> list[tuple[Module, CallSite]]:
    """The calls of a project function in the project's code (not its tests'), by its name or an alias of it."""
    modules = [m for m in project.modules.values() if m is not None and not m.aside]
    return [
        (m, site)
        for m in modules
        for name in {func.name} | aliases(m, {func.name})
        for site in m.calls.get(name, [])
        if isinstance(made := called(m, site), FuncRef) and made.node is func
    ]


def class_passed(
    calls: list[tuple[Module, CallSite]],
    name: str,
    position: int | None,
    value_at: Callable[[Module, CallSite, ast.expr], Any],
) -> ClassRef | None:
    """The project class whose instances the calls pass as the parameter `name` (at `position`, else by keyword
    only), when every call passes an instance made of that very class; else None. A method's own `self`, or an
    instance a caller the scan does not see made (`given`), may be a subclass's, so it counts as no class."""
    found: dict[int, ClassRef] = {}
    for module, site in calls:
        call = site.call
        given = next((kw.value for kw in call.keywords if kw.arg == name), None)
        before = call.args[: position + 1] if position is not None else []
        if given is None and position is not None and len(call.args) > position:
            given = None if any(isinstance(a, ast.Starred) for a in before) else call.args[position]
        if given is None or (isinstance(given, ast.Name) and given.id in ("self", "cls")):
            return None
        value = value_at(module, site, given)
        if not isinstance(value, InstanceRef) or value.given is not None:
            return None
        found[id(value.cls.node)] = value.cls
    return next(iter(found.values())) if len(found) == 1 else None


def given_by_listener(ev: Interpreter, func: FunctionNode | ast.Lambda, bound: Frame) -> Frame:
    """A Sanic listener's app (listener_app), bound."""
    app = listener_app(ev, func, bound) if not isinstance(func, ast.Lambda) else None
    return replace(bound, bindings={**bound.bindings, **app}) if app is not None else bound


def given_by_the_app(
    ev: Interpreter,
    func: FuncRef,
    site: CallSite,
    bound: Frame,
    called: Callable[[Module, CallSite], Any],
    site_frame: Callable[[Module, CallSite], Frame],
) -> Frame:
    """A parameter nothing gives nor annotates: a Sanic listener's app; `config.get_database(name)` on it (llvm-lnt's
    `import_and_report(config, ...)`), an instance of the class the function's callers in the app pass; or, for a
    module's function its one caller in the app calls (travel-sentinel's `get_pool(dsn)`, which keeps the pool its
    first call makes: a `global` it sets), what that call gives."""
    node = func.node
    if isinstance(node, ast.Lambda) or (listened := given_by_listener(ev, node, bound)) is not bound:
        return bound if isinstance(node, ast.Lambda) else listened
    params = [a.arg for a in (*node.args.posonlyargs, *node.args.args)][1 if func.bound_self is not None else 0 :]
    name = receiver_given(site, node, bound)
    if name is not None:
        cls = class_passed(
            calls_of(ev.project, node, called),
            name,
            params.index(name) if name in params else None,
            lambda m, s, given: ev.force(ev.eval(given, site_frame(m, s))),
        )
        return (
            bound
            if cls is None
            else replace(bound, bindings={**bound.bindings, name: InstanceRef(cls, {}, given=name)})
        )
    names = [*params, *(a.arg for a in node.args.kwonlyargs)]
    keeps = func.bound_self is None and any(isinstance(n, ast.Global) for n in ast.walk(node))  # (its first call's)
    if not (keeps and any(_not_given(ev.force(bound.bindings.get(p)), p) for p in names)):
        return bound
    parse_naming(ev.project, re.escape(node.name.encode()) + rb"\s*\(")  # (its callers may name no pool library)
    calls = calls_of(ev.project, node, called)
    if len(calls) != 1:
        return bound
    caller, one = calls[0]  # (read in its caller's frame one level deep: its own parameters at their defaults)
    return ev.bind(func, one.call, frame_of_caller(ev, caller, one.call))


def _not_given(value: Any, name: str) -> bool:
    return isinstance(value, SV) and value.expr == f"{name} (not given)"


def receiver_given(site: CallSite, func: FunctionNode, frame: Frame) -> str | None:
    """The parameter of `func` the site's call is a method of (`config.get_database(name)`), when nothing gives it."""
    receiver = site.call.func.value if isinstance(site.call.func, ast.Attribute) else None
    held = frame.bindings.get(receiver.id) if isinstance(receiver, ast.Name) else None
    if isinstance(receiver, ast.Name) and isinstance(held, SV) and held.expr == f"{receiver.id} (not given)":
        return receiver.id
    return None


LISTENERS = {  # Sanic 25's app.<event> decorators (mixins/listeners.py), each calling the listener with the app
    *(f"{when}_server_{what}" for when in ("before", "after") for what in ("start", "stop")),
    *(f"main_process_{what}" for what in ("start", "ready", "stop")),
    *(f"reload_process_{what}" for what in ("start", "stop")),
}
CLASS_BASES = re.compile(rb"class\s+\w+\s*\(([^)]*)\)")  # (a `\b` first makes it ten times slower)


def note_classes(project: Project, path: Path, data: bytes) -> None:
    """Index the names the file's `class X(...)` statements derive from, and the other names its imports give
    (a first read of every file), so a class's subclasses are looked up in the files that may hold one."""
    for match in CLASS_BASES.finditer(data):
        for name in re.findall(rb"\w+", match.group(1)):
            project.class_bases.setdefault(name, set()).add(path)
    at = data.find(b" as ")
    while at >= 0:  # (`import Store as BaseStore`; found without a regex, which is slow over every file)
        if data[at + 4 : at + 5].isupper():  # (a class's other name: `except E as e`, `with x as f` are skipped)
            before = re.search(rb"(\w+)\s*$", data[max(0, at - 80) : at])
            after = re.match(rb"\w+", data[at + 4 : at + 84])
            if before is not None and after is not None:
                project.aliases.setdefault(before.group(1), set()).add(after.group(0))
        at = data.find(b" as ", at + 4)


def listener_app(ev: Interpreter, func: FunctionNode, frame: Frame) -> dict[str, Any] | None:
    """A Sanic listener (`@app.before_server_start`, `@app.listener("before_server_start")`) is called with the app
    it is registered on: its first parameter, when nothing else gives it, is that app."""
    params = [a.arg for a in (*func.args.posonlyargs, *func.args.args)]
    held = frame.bindings.get(params[0]) if params else None
    if not (isinstance(held, SV) and held.expr == f"{params[0]} (not given)"):
        return None
    for decorator in func.decorator_list:
        named = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(named, ast.Attribute) and (named.attr in LISTENERS or named.attr == "listener"):
            app = ev.force(ev.eval(named.value, Frame(frame.module)))
            options = [ev.force(o) for _, o in app.options] if isinstance(app, Branches) else [app]  # (an `if`'s)
            if all(isinstance(o, HolderV) and o.dotted == SANIC for o in options):
                return {params[0]: app}
    return None


def subclasses(project: Project, cls: ast.ClassDef, chain: Callable[[ClassRef], list[ClassRef]]) -> list[ast.ClassDef]:
    """The project's module-level classes (not its tests') that derive from the class, the files that name one
    in a `class` statement parsed first, and those that name such a subclass (where it is made)."""
    names, found = [cls.name], list[ast.ClassDef]()
    for _ in range(8):  # (their subclasses too, a file naming them parsed in turn)
        written = {alias for name in names for alias in {name.encode(), *project.aliases.get(name.encode(), ())}}
        for path in {p for name in written for p in project.class_bases.get(name, ())}:
            if path not in project.modules and not project.aside(path):
                project.parse(path)
        modules = [m for m in project.modules.values() if m is not None and not m.aside]
        now = [
            c
            for m in modules
            for c in m.classes.values()
            if c is not cls and any(k.node is cls for k in chain(ClassRef(m, c)))
        ]
        if len(now) == len(found):
            break
        found, names = now, [c.name for c in now]
    if found:
        parse_naming(project, rb"(?:" + b"|".join(re.escape(c.name.encode()) for c in found) + rb")\s*\(")
    return found


def in_use(project: Project, cls: ast.ClassDef) -> bool:
    """Whether the app (not its tests) makes the class, or names it other than to call it (`KINDS[kind]()`), in
    the files `subclasses` parsed."""
    modules = [m for m in project.modules.values() if m is not None and not m.aside]
    return any(cls.name in m.calls for m in modules) or handed(project, cls.name)


def overridden(heirs: list[ast.ClassDef]) -> dict[str, str]:
    """The names the subclasses set, each with the first subclass setting it: in their bodies (attributes,
    methods) and on `self` in their methods."""
    names: dict[str, str] = {}
    for heir in heirs:
        for stmt in heir.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names.setdefault(stmt.name, heir.name)
                for attr in instance_writes(stmt):
                    names.setdefault(attr, heir.name)
            for name, _ in assigned_names(stmt):
                names.setdefault(name, heir.name)
    return names


def newly_read(project: Project, seen: set[Path]) -> list[Module]:
    """The modules the scan has read since `seen` was last brought up to date (which this does): a table built
    from every module read, kept up as more are (Pyramid's directives, an app's state stores)."""
    if len(seen) == len(project.modules):
        return []
    fresh = [path for path in project.modules if path not in seen]
    seen.update(fresh)
    return [module for path in fresh if (module := project.modules[path]) is not None]


def parse_naming(project: Project, pattern: bytes) -> None:
    """Parse the project's files (not its tests') whose text matches `pattern` (a leading `\\b` makes it ten times
    slower over site-packages: a name within another only parses one file more)."""
    compiled = re.compile(pattern)
    for path in project.files:
        if path not in project.modules and not project.aside(path):
            data = project.kept.get(path) or read_source(path)[0]
            if data is not None and compiled.search(data):
                project.parse(path, data)


def runs_as_heir(project: Project, cls: ast.ClassDef, called: Callable[[Module, CallSite], Any]) -> bool:
    """Whether the class's methods run only on instances of its subclasses: an abstract class, or one the app
    (the files naming it in a call read first) never makes nor hands around (nutshell's LedgerWatchdog, whose
    `__init__` the Ledger subclass runs through `super().__init__()`)."""
    if is_abstract(cls):
        return True
    names = {cls.name.encode(), *project.aliases.get(cls.name.encode(), ())}
    if not any(project.class_bases.get(name) for name in names):
        return False  # (no file derives a class from it: reading who makes it is not needed)
    parse_naming(project, re.escape(cls.name.encode()) + rb"\s*\(")
    return not taint.instances_made(project, cls, called) and not handed(project, cls.name)


def is_abstract(cls: ast.ClassDef) -> bool:
    """A class the app cannot make itself: an `abc.ABC` (or `metaclass=ABCMeta`) one, or one with an
    `@abstractmethod`; what its methods read of `self` is a subclass's."""
    named = [
        *(ast.unparse(b) for b in cls.bases),
        *(ast.unparse(k.value) for k in cls.keywords if k.arg == "metaclass"),
    ]
    if any(name.rpartition(".")[2] in ("ABC", "ABCMeta") for name in named):
        return True
    methods = [s for s in cls.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))]
    return any(ast.unparse(d).rpartition(".")[2] == "abstractmethod" for m in methods for d in m.decorator_list)


def handed(project: Project, name: str) -> bool:
    """Whether the project's code names the class other than to call it, import it or subclass it (`KINDS =
    {"pg": PgDatabase}`, then `KINDS[kind]()`): its instances may then be made where no call names it."""
    used = re.compile(rf"(?<![\w.]){re.escape(name)}\b(?!\s*\()")
    return any(
        used.search(line) and not line.lstrip().startswith(("from ", "import ", "class "))
        for m in project.modules.values()
        if m is not None and not m.aside and name in m.source
        for line in m.source.splitlines()
    )


def base_init(ev: Interpreter, module: Module, cls: ast.ClassDef | None) -> FuncRef | None:
    """The `__init__` a `super().__init__(...)` in the class runs: the first of its project bases (in the order the
    scan reads them) that defines one; what it makes does not depend on which instance the app made (indexd's
    drivers, made in two settings modules, whose `self` the scan cannot tell apart)."""
    chain = ev.class_chain(ClassRef(module, cls)) if cls is not None else []
    for klass in chain[1:]:
        init = next((s for s in klass.node.body if isinstance(s, ast.FunctionDef) and s.name == "__init__"), None)
        if init is not None:
            return FuncRef(klass.module, init, owner=klass)
    return None


def given_by_callers(
    func: FunctionNode,
    bound: Frame,
    given: list[str],
    target: ast.AST,
    reaching: Callable[[FunctionNode, Frame, ast.AST], Frame | None],
) -> tuple[Frame, Frame | None]:
    """Where the parameters' defaults never reach a call (`if url is None: raise`), the callers' values: unknown,
    first only those the function's tests read, the others keeping their defaults as on the test's other side
    (gcsql's `if project_id:` passing `pool_size=pool_size` on), then all (a test may read one through a local).
    The frame with them, and the one `reaching` gives at `target` (None: still none)."""
    tested = {n.id for test in _tests(func) for n in ast.walk(test) if isinstance(n, ast.Name)} & set(given)
    for names in ([tested] if tested and tested != set(given) else []) + [set(given)]:
        trial = replace(bound, bindings={**bound.bindings, **{n: SV(None, None, known=False, expr=n) for n in names}})
        reached = reaching(func, trial, target)
        if reached is not None or names == set(given):
            return trial, reached
    return bound, None


def _tests(func: FunctionNode) -> Iterator[ast.expr]:
    for node in own_nodes(func):
        if isinstance(node, ast.If | ast.While | ast.IfExp | ast.Assert):
            yield node.test
