"""Where an engine is made when a project class's method binds Flask-SQLAlchemy to an app it is handed: at each call
that hands it an app made elsewhere, the bind in its `via` (cards-amusing-humanity's `RecordStore(app)`, whose
`__init__` makes `SQLAlchemy(app)`; flask-camp's `RestApi(app=app)`, whose `__init__` calls `self.init_app(app)`,
which calls `self._init_database(app)`, which binds). A test's call makes a test's engine. A module-level helper
handed the app (`configure_db(app)` in a factory) keeps the engine at its bind, as before."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from itertools import chain
from weakref import WeakKeyDictionary

from pool_doctor.scan.appconfig import AppConfig, Keys, config_writes, defaults_only, enclosing_function, receivers
from pool_doctor.scan.finder import FunctionNode, Module, Project, read_source
from pool_doctor.scan.kinds import ClassRef, Frame, FuncRef, InstanceRef, Interpreter
from pool_doctor.scan.model import ScannedPool

WORD = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")
LEVELS = 4  # methods handing the app on, followed up to the calls from outside the class
_HANDINGS: WeakKeyDictionary[Project, dict[int, list[Handing]]] = WeakKeyDictionary()  # by the bind, a scan's


@dataclass(frozen=True)
class Handing:
    """A call that hands the app to the binding method (or to one that hands it on), with the calls it goes
    through down to the bind, outermost first."""

    module: Module
    call: ast.Call
    via: tuple[str, ...]
    given: ast.expr | None = None  # what the call gives for the app


def handed_by_callers(ev: Interpreter, module: Module, scope: FunctionNode, bind: ast.Call) -> list[Handing]:
    """The calls from outside the class that hand the binding method its app, each with its way in; none where
    the bind's app is not a parameter of a class's method, or no call from outside is found."""
    cls = _class_of(module, scope)
    param = _app_given(bind)
    if cls is None or param is None or param not in _params(scope):
        return []
    level: list[tuple[FunctionNode, str, tuple[str, ...]]] = [(scope, param, (module.where(bind),))]
    found: list[Handing] = []
    for _ in range(LEVELS):
        after = []
        for method, name, via in level:
            for caller, call, inside in _calls(ev, module, cls, method):
                given = _argument(method, name, call)
                if given is None or (isinstance(given, ast.Constant) and given.value is None):
                    continue  # (`RestApi()` binds nothing: `if app is not None: self.init_app(app)`)
                if inside is not None and isinstance(given, ast.Name) and given.id in _params(inside):
                    after.append((inside, given.id, (module.where(call), *via)))
                elif inside is None:
                    found.append(Handing(caller, call, via, given))
        if not after:
            break
        level = after
    return found


def _calls(
    ev: Interpreter, module: Module, cls: ast.ClassDef, method: FunctionNode
) -> list[tuple[Module, ast.Call, FunctionNode | None]]:
    """Calls of the method: `self.method(...)` in the class's other methods (with that method), and from outside
    the class the class's own call for `__init__` or a call on an instance of it (with None)."""
    own = [
        (module, node, outer)
        for outer in cls.body
        if isinstance(outer, ast.FunctionDef | ast.AsyncFunctionDef) and outer is not method
        for node in ast.walk(outer)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == method.name
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "self"
    ]
    name = cls.name if method.name == "__init__" else method.name
    if method.name == "__init__":  # (the class's name: a method's, `init_app`, is in every extension's file)
        _parse_naming(ev.project, name.encode())
    outside: list[tuple[Module, ast.Call, FunctionNode | None]] = []
    for other in [m for m in ev.project.modules.values() if m is not None]:
        for site in other.calls.get(name, []):
            if site.cls is cls:
                continue
            frame = Frame(other)
            if method.name == "__init__":
                made = ev.force(ev.eval(site.call.func, frame))
                hit = isinstance(made, ClassRef) and made.node is cls
            else:
                receiver = site.call.func.value if isinstance(site.call.func, ast.Attribute) else None
                held = ev.force(ev.eval(receiver, frame)) if receiver is not None else None
                hit = isinstance(held, InstanceRef) and held.cls.node is cls
                hit = hit or (isinstance(held, FuncRef) and held.node is method)
            if hit:
                outside.append((other, site.call, None))
    return [*own, *outside]


def _parse_naming(project: Project, name: bytes) -> None:
    """Parse the files (tests' too: a test's call is a test's engine) that name the class, once: the words of the
    files not parsed yet are read once a scan, so a tree of many extension classes is not read once for each."""
    if name in project.named:
        return
    project.named.add(name)
    if project.words is None:
        project.words = {}
        for path in (p for p in project.files if p not in project.modules):
            data = project.kept.get(path) or read_source(path)[0] or b""
            for word in set(WORD.findall(data)):
                project.words.setdefault(word, []).append(path)
    for path in project.words.get(name, []):
        project.parse(path)


def _class_of(module: Module, scope: FunctionNode) -> ast.ClassDef | None:
    return next((c for c in module.classes.values() if scope in c.body), None)


def _params(func: FunctionNode) -> list[str]:
    args = func.args
    return [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)][1:]  # (not self)


def _app_given(bind: ast.Call) -> str | None:
    """The name the bind is given the app by: `SQLAlchemy(app)`, `db.init_app(app)`, `app=app`."""
    given = bind.args[0] if bind.args else next((k.value for k in bind.keywords if k.arg == "app"), None)
    return given.id if isinstance(given, ast.Name) else None


def _argument(method: FunctionNode, name: str, call: ast.Call) -> ast.expr | None:
    """What a call of the method gives its parameter `name`: by keyword, else by position."""
    keyword = next((k.value for k in call.keywords if k.arg == name), None)
    if keyword is not None:
        return keyword
    params = _params(method)
    at = params.index(name) if name in params else -1
    return call.args[at] if 0 <= at < len(call.args) and not isinstance(call.args[at], ast.Starred) else None


def at_callers(
    ev: Interpreter,
    app: AppConfig,
    engines: list[ScannedPool],
    apps: dict[str, list[AppConfig]],
    build: Callable[[Keys], list[ScannedPool]],
) -> list[ScannedPool]:
    """The engines a class's method binds (itself, or a method of its class it calls: flask-camp's init_app through
    _init_database), each moved to the calls that hand it the app (unchanged where none is found); where the
    caller configured the app it hands, with that configuration under the method's (`build` makes them)."""
    found = []
    for h in _handings(ev, app):
        outer = caller_config(apps, h)
        at, end = h.call.lineno, h.call.end_lineno or h.call.lineno
        at_import = enclosing_function(h.module.tree, h.call) is None
        made = [
            replace(e, file=h.module.display, line=at, end_line=end, via=[*h.via, *e.via], at_import=at_import)
            for e in (build(_under(outer, app)) if outer is not None else engines)
        ]
        found += [replace(e, aside=h.module.aside or e.aside) for e in made]
    return found or engines


def caller_config(apps: dict[str, list[AppConfig]], h: Handing) -> AppConfig | None:
    """The caller's own configuration of the app it hands (app.py's `app.config[...] = ...`, then `Database(app)`:
    the review's case14), bound by nothing else."""
    scope = enclosing_function(h.module.tree, h.call)
    name = h.given.id if isinstance(h.given, ast.Name) else None
    for outer in apps.get(h.module.display, []) if name is not None else []:
        stmts = [n for n in ast.walk(outer.scope or outer.module.tree) if isinstance(n, ast.stmt)]
        named = {n for stmt in stmts if stmt.lineno in outer.lines for n in receivers(stmt)}
        if outer.scope is scope and outer.bind is None and name in named:
            return outer
    return None


def absorbed(ev: Interpreter, apps: dict[str, list[AppConfig]], app: AppConfig) -> bool:
    """Whether an app's configuration is a caller's that a class's binding method is handed (its engine is that
    call's, built there)."""
    binders = [
        a
        for a in chain(*apps.values())
        if a.bind is not None and a.scope is not None and a.bind_module in (None, a.module) and a is not app
    ]
    return app.bind is None and any(caller_config(apps, h) is app for a in binders for h in _handings(ev, a))


def _handings(ev: Interpreter, app: AppConfig) -> list[Handing]:
    """The calls from outside the class handing the app to the class's method that binds it, once a scan."""
    scope, bind = app.scope, app.bind
    if scope is None or bind is None:
        return []
    cache = _HANDINGS.setdefault(ev.project, {})
    if id(bind) not in cache:
        cls = _class_of(app.module, scope)
        inside = cls is not None and any(node is bind for node in ast.walk(cls))
        cache[id(bind)] = handed_by_callers(ev, app.module, scope, bind) if inside else []
    return cache[id(bind)]


def _under(outer: AppConfig, app: AppConfig) -> Keys:
    """The caller's keys, then the method's writes over them: a `setdefault` only where the caller set none."""
    defaults = {
        name
        for stmt in (n for n in ast.walk(app.scope or app.module.tree) if isinstance(n, ast.stmt))
        if stmt.lineno in app.lines and defaults_only(stmt)
        for name, _ in config_writes(stmt)
    }
    return {**outer.keys, **{k: v for k, v in app.keys.items() if not (k in defaults and k in outer.keys)}}
