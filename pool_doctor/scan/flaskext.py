"""Whether a project may make Flask-SQLAlchemy's extension at all.

Flask-SQLAlchemy makes engines only for an app its extension is bound to (`SQLAlchemy(app)`, `db.init_app(app)`).
A project that imports flask_sqlalchemy for its Query class alone (timesketch) and builds its own engine from
`app.config["SQLALCHEMY_DATABASE_URI"]` has no Flask-SQLAlchemy engine: its config keys are read by that
`create_engine`, which is reported where it is. Only a project where nothing can be the extension is read so:
a call of a class named like one (Flask-SQLAlchemy's `SQLAlchemy`, Flask-AppBuilder's `SQLA`, a project subclass
of either) or an `init_app` of an object the scan cannot tell is something else (an import from outside the
project, a parameter) keeps every config class and app configuration a possible engine.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any, Final

from pool_doctor.scan import fieldtext, releases, selfheld
from pool_doctor.scan.appconfig import (
    BIND_OPTIONS,
    LEGACY_KEYS,
    OPTIONS,
    POOL_KEYS,
    UNDER_EXTENSION,
    URI,
    AppConfig,
    alone,
    bind_call,
    configures,
    scopes,
)
from pool_doctor.scan.containers import settle_options
from pool_doctor.scan.expressions import Evaluator
from pool_doctor.scan.finder import Module, dotted_parts, library_target
from pool_doctor.scan.kinds import (
    SV,
    Branches,
    ClassRef,
    DictV,
    ExternalRef,
    Frame,
    FuncRef,
    ModuleRef,
    Thunk,
    is_known,
    not_set,
)
from pool_doctor.scan.model import NOT_SET, ScannedPool
from pool_doctor.scan.values import leaf, mask

FLASK_SQLALCHEMY: Final = "flask_sqlalchemy"  # the scan's name for these pools, and the module that makes them
EXTENSIONS = frozenset({"SQLAlchemy", "SQLA"})  # Flask-SQLAlchemy's class, Flask-AppBuilder's subclass of it
EXTENSION_LIBRARIES = frozenset(
    {"flask_sqlalchemy", "flask_sqlalchemy_lite", "flask_appbuilder", "flask"}
)  # (flask.ext.sqlalchemy)
# A file that may make or bind the extension: the scan reads it whatever else it names
EXTENSION_HINT = re.compile(rb"\b(?:SQLAlchemy|SQLA)\s*[(\)]|\.init_app\s*\(")


ENGINE_KEYS = {URI: "url", "SQLALCHEMY_ECHO": "echo", **LEGACY_KEYS}


def extension_hint(data: bytes) -> bool:
    """Whether a file may make or bind the extension (plain substrings first: most files have neither)."""
    return (b"SQLA" in data or b".init_app" in data) and EXTENSION_HINT.search(data) is not None


def may_make_extension(ev: Evaluator, modules: Iterable[Module]) -> bool:
    app_modules = [m for m in modules if not m.aside]
    names = _extension_names(app_modules)
    if names != EXTENSIONS:
        return True  # a project's subclass of the extension is made to be used, wherever that is
    for module in app_modules:
        local = names | {name for name, dotted in module.imports.items() if dotted.rsplit(".", 1)[-1] in names}
        if local & module.calls.keys():
            return True
        for site in module.calls.get("init_app", []):
            func = site.call.func
            scope = site.functions[-1] if site.functions else None
            on_itself = site.cls is not None and isinstance(func, ast.Attribute) and _is_self(func.value, scope)
            if on_itself and site.cls is not None and site.cls.name not in names:
                continue  # a project class's own `self.init_app(app)` (tahrir's DatabaseExtension): not the extension
            bound = not isinstance(func, ast.Attribute) or not _something_else(ev, module, func.value, names, scope)
            if bound and not _helper_binds_else(ev, module, func, names):
                return True
    return False


def _helper_binds_else(ev: Evaluator, module: Module, func: ast.expr, names: set[str]) -> bool:
    """`babel.init_app(app)` where `babel` is a project module whose own `init_app` binds only something that is
    not the extension (critiquebrainz's Flask-Babel helper)."""
    if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
        return False
    dotted = module.imports.get(func.value.id) or module.nested_imports.get(func.value.id)
    helper = ev.project.module_by_name(dotted, near=module.path) if dotted else None
    target = helper.functions.get("init_app") if helper is not None else None
    if helper is None or target is None:
        return False
    inner = [site for site in helper.calls.get("init_app", []) if site.functions[:1] == (target,)]
    return bool(inner) and all(
        isinstance(site.call.func, ast.Attribute)
        and _something_else(ev, helper, site.call.func.value, names, site.functions[-1])
        for site in inner
    )


def _is_self(node: ast.expr, scope: Any) -> bool:
    """Whether the node is the method's own first parameter (its `self`)."""
    params = (
        [*scope.args.posonlyargs, *scope.args.args]
        if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef))
        else []
    )
    return bool(params) and isinstance(node, ast.Name) and node.id == params[0].arg


def _extension_names(modules: list[Module]) -> set[str]:
    """The extension's class names and the project's subclasses of them, through the project's own chains."""
    names = set(EXTENSIONS)
    classes = [cls for module in modules for cls in module.classes.values()]
    grown = True
    while grown:
        grown = False
        for cls in classes:
            if cls.name not in names and any((dotted_parts(base) or [""])[-1] in names for base in cls.bases):
                names.add(cls.name)
                grown = True
    return names


def extension_of(
    ev: Evaluator, module: Module, call: ast.Call, frame: Frame | None = None
) -> tuple[Module, ast.Call] | None:
    """The SQLAlchemy(...) call that made the extension a bind call binds (itself for SQLAlchemy(app)), the
    extension a module global (`db.init_app(app)`) or one of another module (`models.db.init_app(app)`)."""
    if is_extension(ev, module, call):
        return module, call
    receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
    scope = frame.scope if frame is not None else None
    for held in selfheld.made_by(module, scope, receiver) if receiver is not None else []:  # (`self.db`, a loop's)
        found = _made_by(ev, module, held) if isinstance(held, ast.Call) else _global(ev, module, held, frame)
        if found is not None and is_extension(ev, *found):
            return found
    return None


def _global(ev: Evaluator, module: Module, receiver: ast.expr, frame: Frame | None) -> tuple[Module, ast.Call] | None:
    name = receiver.id if isinstance(receiver, ast.Name) else None
    if isinstance(receiver, ast.Attribute) and isinstance(receiver.value, ast.Name):
        owner = ev.force(ev.eval(receiver.value, frame or Frame(module)))
        module, name = (owner.module, receiver.attr) if isinstance(owner, ModuleRef) else (module, None)
    if name is None:
        return None
    return maker(ev, module, name) or (_handed(ev, module, name, frame) if frame else None)


def _handed(ev: Evaluator, module: Module, name: str, frame: Frame) -> tuple[Module, ast.Call] | None:
    """A parameter typed with the extension's class (llmops-api's Flask subclass, `db: SQLAlchemy` in its
    `__init__`): the one extension the project makes, when it makes one."""
    scope = frame.scope
    args = scope.args if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)) else None
    given = [a for a in (*args.posonlyargs, *args.args, *args.kwonlyargs) if a.arg == name] if args else []
    typed = ev.force(ev.eval(given[0].annotation, Frame(module))) if given and given[0].annotation else None
    if typed is None or _library_of(ev, typed) is None:
        return None
    modules = [m for m in ev.project.modules.values() if m is not None and not m.aside]
    names = EXTENSIONS | {name for m in modules for name in m.classes if _library_of(ev, ClassRef(m, m.classes[name]))}
    made = [(m, s.call) for m in modules for n in names & m.calls.keys() for s in m.calls[n]]  # (a factory's too)
    made = [(m, call) for m, call in made if is_extension(ev, m, call)]
    return made[0] if len(made) == 1 else None


def is_db(ev: Evaluator, module: Module, node: ast.expr) -> bool:
    """Whether a name is the extension, made in the project (`db` in `init_app(app, config, db=db)`)."""
    found = maker(ev, module, node.id) if isinstance(node, ast.Name) else None
    return found is not None and is_extension(ev, *found)


def is_extension(ev: Evaluator, module: Module, call: ast.Call) -> bool:
    return extension_library(ev, module, call) is not None


def extension_library(ev: Evaluator, module: Module, call: ast.Call) -> str | None:
    """The library whose extension the call makes (flask_sqlalchemy, flask_sqlalchemy_lite, flask_appbuilder),
    itself or through the project's subclass of its class; None: no extension."""
    return _library_of(ev, ev.force(ev.eval(call.func, Frame(module))))


def _library_of(ev: Evaluator, made: Any) -> str | None:
    refs = ev.classes.class_bases(made) if isinstance(made, ClassRef) else [made]
    for ref in refs:  # the library's class, or the project's subclass of it
        dotted = getattr(ref, "dotted", None)
        found = library_target(dotted) if isinstance(dotted, str) else None
        if found is not None and found[0] == FLASK_SQLALCHEMY:
            return str(dotted).split(".", 1)[0]
    return None


def maker(ev: Evaluator, module: Module, name: str, depth: int = 0) -> tuple[Module, ast.Call] | None:
    """The call a module's global is made by (`db = SQLAlchemy()`), through the project's own imports (CTFd
    imports `db` inside create_app); None when it is not made by a call the scan sees."""
    if depth > 4:
        return None
    assignments = module.assigns.get(name)
    if assignments:
        value = assignments[-1].value
        return _made_by(ev, module, value) if isinstance(value, ast.Call) else None
    dotted = module.imports.get(name) or module.nested_imports.get(name) or ev.scopes.stub_import(module, name)
    if dotted is None:  # `from app.extensions import *` (pybossa): the last star import that binds it
        for star in reversed(module.star_imports):
            source = ev.project.module_by_name(star, near=module.path)
            if source is not None and source is not module and (name in source.assigns or name in source.imports):
                return maker(ev, source, name, depth + 1)
    if dotted is None or "." not in dotted:
        return None
    owner, _, attr = dotted.rpartition(".")
    source = ev.project.module_by_name(owner, near=module.path)
    return maker(ev, source, attr, depth + 1) if source is not None else None


def _made_by(ev: Evaluator, module: Module, call: ast.Call) -> tuple[Module, ast.Call]:
    """The call that makes what `call` gives: itself, or the extension a project factory makes and returns
    (ggrc's `db = bootstrap.get_db()`, whose body makes `SQLAlchemy()` and returns it)."""
    func = ev.force(ev.eval(call.func, Frame(module)))
    if not isinstance(func, FuncRef) or isinstance(func.node, ast.Lambda):
        return module, call
    returned = [n.value for n in ast.walk(func.node) if isinstance(n, ast.Return) and n.value is not None]
    if len(returned) != 1:
        return module, call
    made = returned[0]
    if isinstance(made, ast.Name):  # `db = SQLAlchemy(); return db`
        found = [
            n.value
            for n in ast.walk(func.node)
            if isinstance(n, ast.Assign) and [t.id for t in n.targets if isinstance(t, ast.Name)] == [made.id]
        ]
        made = found[0] if len(found) == 1 else made
    if isinstance(made, ast.Call) and made is not call and is_extension(ev, func.module, made):
        return func.module, made
    return module, call  # (not an app a factory makes: the app's bind is looked for at `app = make_app()`)


def _something_else(ev: Evaluator, module: Module, receiver: ast.expr, names: set[str], scope: Any = None) -> bool:
    """Whether the object `init_app` is called on is made, in the project, by a call of something that is not
    the extension (`login_manager = LoginManager()`, a global or a local of the function the call is in)."""
    found = maker(ev, module, receiver.id) if isinstance(receiver, ast.Name) else None
    if isinstance(receiver, ast.Call):  # `flask_compress.Compress().init_app(app)` (conbench): made right there
        found = (module, receiver)
    if found is None and isinstance(receiver, ast.Name) and scope is not None:  # anitya's local LoginManager()
        made = [
            node.value
            for node in ast.walk(scope)
            if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and any(isinstance(t, ast.Name) and t.id == receiver.id for t in node.targets)
        ]
        found = (module, made[-1]) if len(made) == 1 else None
    if found is None and isinstance(receiver, ast.Name) and "." not in module.imports.get(receiver.id, "."):
        # `import flask_profiler` then `flask_profiler.init_app(app)` (simple-login): an installed module's
        # function, never the extension (an object); a project module's is a helper (_helper_binds_else)
        return ev.project.module_by_name(module.imports[receiver.id], near=module.path) is None
    if found is None:
        return False  # a parameter, or from outside the project: it may be the extension
    return _made_else(ev, *found, names)


def _made_else(ev: Evaluator, source: Module, call: ast.Call, names: set[str], depth: int = 0) -> bool:
    """Whether the call makes something that is not the extension: another library's object, a project class
    not named like it, or what a project factory returns that is one (ambuda's `auth.create_login_manager()`
    returning flask_login's `LoginManager()`)."""
    if (dotted_parts(call.func) or [""])[-1] in names:
        return False
    made = ev.force(ev.eval(call.func, Frame(source)))
    if isinstance(made, ExternalRef):
        return made.dotted.split(".", 1)[0] not in EXTENSION_LIBRARIES
    if isinstance(made, FuncRef) and isinstance(made.node, ast.FunctionDef | ast.AsyncFunctionDef) and depth < 3:
        returned = returned_call(made.node)
        return returned is not None and _made_else(ev, made.module, returned, names, depth + 1)
    return isinstance(made, ClassRef) and made.node.name not in names


def pinned(
    ev: Evaluator, module: Module, made: ast.Call, major: int | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """What a project subclass of the extension writes into each engine's options in the hooks
    Flask-SQLAlchemy calls (`options["key"] = value` at their top level), as (under, over) the app's options:
    2.x calls `apply_pool_defaults(app, options)`, then `apply_driver_hacks(app, sa_url, options)`, before
    the app's options are applied (3.x calls neither: the value is 2.x's branch; lemur's pool_pre_ping,
    crime-data-api's NullPool; 2.5.1 `get_options`); 3.x calls `_apply_driver_defaults(options, app)` after
    them, so its writes win (checked with Flask-SQLAlchemy 3.1.1). `major`: the release the project pins, whose
    side alone holds (python-skeleton's Pipfile `Flask-SQLAlchemy = "==2.4.0"`)."""
    cls = ev.force(ev.eval(made.func, Frame(module)))
    if not isinstance(cls, ClassRef):
        return {}, {}
    writes = {**_hook_writes(ev, cls, "apply_pool_defaults"), **_hook_writes(ev, cls, "apply_driver_hacks")}
    sides = [("Flask-SQLAlchemy 2", 2), ("Flask-SQLAlchemy 3, which never calls it", 3)]
    under = {
        key: Branches([(when, value if side == 2 else not_set()) for when, side in sides if major in (None, side)])
        for key, value in writes.items()
    }
    return under, _hook_writes(ev, cls, "_apply_driver_defaults")


def with_pinned(ev: Evaluator, pools: Iterable[ScannedPool], over: dict[str, Any]) -> Iterator[ScannedPool]:
    """The engines with what the extension's 3.x hook writes after the app's options (it wins)."""
    for pool in pools:
        yield replace(pool, settings={**pool.settings, **{k: mask(k, leaf(v, ev)) for k, v in over.items()}})


def for_release(ev: Evaluator, keys: dict[str, Any], pin: releases.Pin, where: str) -> dict[str, Any]:
    """The keys the release the project pins reads: 3.0 removed the 2.x pool keys (SQLALCHEMY_POOL_SIZE and the
    rest; 3.1.1's init_app reads none), so under a pinned 3.x they set nothing, and a warning names them; with no
    release pinned, each is a branch per release (what installs today is 3.x). A release before 2.4 reads no
    SQLALCHEMY_ENGINE_OPTIONS (2.4.0 added it), so under such a pin it sets nothing, and a warning says so."""
    major = pin.major
    if pin.before_options and OPTIONS in keys:
        _warn(
            ev,
            f"{where}: SQLALCHEMY_ENGINE_OPTIONS sets nothing: the Flask-SQLAlchemy pinned is older than 2.4, which added it",
        )
        keys = {name: value for name, value in keys.items() if name != OPTIONS}
    keys = {**keys, **_bind_options(keys, major)}
    ignored = sorted(keys.keys() & LEGACY_KEYS.keys()) if major is None or major >= 3 else []
    if not ignored:
        return keys
    if major is None:
        sides = ["Flask-SQLAlchemy 2", "Flask-SQLAlchemy 3, which reads no such key"]
        return {
            name: Branches(list(zip(sides, [value, not_set()]))) if name in ignored else value
            for name, value in keys.items()
        }
    words = ", ".join(LEGACY_KEYS[name] for name in ignored)
    _warn(
        ev,
        f"{where}: {', '.join(ignored)} set nothing: Flask-SQLAlchemy {major} (the release pinned) reads no such"
        f" keys; SQLALCHEMY_ENGINE_OPTIONS takes {words}",
    )
    return {name: value for name, value in keys.items() if name not in LEGACY_KEYS}


def _warn(ev: Evaluator, warning: str) -> None:
    ev.project.warnings.extend([warning] if warning not in ev.project.warnings else [])


def _bind_options(keys: dict[str, Any], major: int | None) -> dict[str, Any]:
    """SQLALCHEMY_ENGINE_OPTIONS as the binds' engines get it: 2.x's `_EngineConnector.get_options` (2.5.1) makes
    every engine, a bind's too, with it (and with the pool keys); 3.x's `_app_engines` (3.1.1) gives a bind only
    the extension's engine_options and its own entry."""
    if OPTIONS not in keys or (major is not None and major >= 3):
        return {}
    if major is not None:
        return {BIND_OPTIONS: keys[OPTIONS], UNDER_EXTENSION: SV(True, None)}
    sides = ["Flask-SQLAlchemy 2", "Flask-SQLAlchemy 3, which gives a bind none of them"]
    return {BIND_OPTIONS: Branches(list(zip(sides, [keys[OPTIONS], DictV({}, None)])))}


def _hook_writes(ev: Evaluator, cls: ClassRef, hook: str) -> dict[str, Any]:
    method = ev.classes.own_method(cls, hook, None)
    func = method.node if method is not None else None
    if method is None or not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return {}
    if "options" not in {a.arg for a in func.args.args}:
        return {}
    writes: dict[str, Any] = {}
    for node in func.body:  # its top level: a write under a test is not pinned
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if (
                isinstance(target, ast.Subscript)
                and isinstance(target.value, ast.Name)
                and target.value.id == "options"
                and isinstance(target.slice, ast.Constant)
                and isinstance(target.slice.value, str)
            ):
                writes[target.slice.value] = Thunk(node.value, Frame(method.module))
    return writes


def keeps_own_config(ev: Evaluator, module: Module, scope: ast.AST | None) -> bool:
    """A method of a class that is no Flask app (Mailu's ConfigManager): its `self.config` is its own dict, only
    what it loads into `app.config` is the app's."""
    cls = selfheld.class_of(module, scope)
    if cls is None:
        return False
    chain = ev.classes.class_chain(ClassRef(module, cls))
    bases = [base for klass in chain for base in ev.classes.class_bases(klass)]
    return not any(isinstance(base, ExternalRef) and base.dotted.rsplit(".", 1)[-1] == "Flask" for base in bases)


def app_init(ev: Evaluator, stmt: ast.Assign, frame: Frame) -> FuncRef | None:
    """`app = Redash()`: a project subclass of Flask whose `__init__` configures the app it makes (redash's
    `self.config.from_object("redash.settings")`): that `__init__`, whose writes are the new app's."""
    cls = ev.force(ev.eval(stmt.value.func, frame)) if isinstance(stmt.value, ast.Call) else None
    init = ev.classes.init_of(cls) if isinstance(cls, ClassRef) else None
    if init is None or isinstance(init.node, ast.Lambda) or keeps_own_config(ev, init.module, init.node):
        return None  # (keeping its own config: no Flask app, a config manager's own dict)
    body = [inner for _, block in scopes(alone(init.node)) for inner in block]
    return FuncRef(init.module, init.node) if any(map(configures, body)) else None


def other_extension(ev: Evaluator, module: Module, call: ast.Call) -> bool:
    """`cache.init_app(app)` of an extension another library makes (Flask-Caching's `Cache()`): no bind."""
    receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
    made = maker(ev, module, receiver.id) if isinstance(receiver, ast.Name) else None
    library = made is not None and isinstance(ev.force(ev.eval(made[1].func, Frame(made[0]))), ExternalRef)
    return made is not None and library and not is_extension(ev, *made)


SCHEMA_LIBRARIES = ("marshmallow", "pydantic", "pydantic_settings")  # a class of theirs describes keys, holds none
KEY_WRITE = re.compile(rf"\b(?:{'|'.join(sorted(POOL_KEYS))})\s*(?::[^=\n]*)?=[^=]")


def mentions_keys(ev: Evaluator) -> bool:
    """Whether the code of a module of the app (not of its tests, nor a testing config) gives a key Flask-SQLAlchemy
    makes engines from a value anywhere: stores it, names it in a dict or as a keyword (not a comment; not a read,
    as funnel's migrations' of the binds; not `SQLALCHEMY_TRACK_MODIFICATIONS` alone)."""
    return any(
        m
        and "SQLALCHEMY_" in m.source
        and not m.aside
        and not testing(m.tree.body)
        and any(map(_writes_key, ast.walk(m.tree)))
        for m in ev.project.modules.values()
    )


def unwritten(ev: Evaluator, keys: dict[str, Any], apps: dict[str, list[AppConfig]]) -> str | None:
    """Why an app's configuration as the scan read it has no key Flask-SQLAlchemy makes engines from, where no
    config class or module the scan reports on its own, nor another app's configuration, may be what it has: no
    code of the project writes one, or it writes one only where the scan cannot follow it to an app
    (life_monitor's `settings["SQLALCHEMY_DATABASE_URI"] = ...` in a function, then set on a class made with
    `type()`); None: one may (lando-api's subsystem binds the app its wsgi.py configures)."""
    if keys.keys() & POOL_KEYS:
        return None
    if not mentions_keys(ev):
        return "(the app's config: no code of the project writes it)"
    configured = any(app.keys.keys() & POOL_KEYS for found in apps.values() for app in found)
    return None if config_sources(ev) or configured else "(the app's config: written where the scan cannot follow it)"


def _writes_key(node: ast.AST) -> bool:
    if isinstance(node, (ast.Name, ast.Attribute, ast.Subscript)) and isinstance(node.ctx, ast.Store):
        text = node.slice if isinstance(node, ast.Subscript) else getattr(node, "id", getattr(node, "attr", ""))
    elif isinstance(node, ast.Dict):
        return any(isinstance(k, ast.Constant) and k.value in POOL_KEYS for k in node.keys)
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "setdefault":
        text = node.args[0] if node.args else ""
    else:
        text = node.arg if isinstance(node, ast.keyword) else ""
    text = text.value if isinstance(text, ast.Constant) else text
    return isinstance(text, str) and text in POOL_KEYS


def config_sources(ev: Evaluator) -> bool:
    """Whether a module or class of the app (not of its tests, nor a testing config) sets a Flask-SQLAlchemy key,
    as a global, a class attribute or in `__init__` (`self.SQLALCHEMY_DATABASE_URI = ...`): a config an app may
    load."""
    return any(
        (set(module.assigns) & POOL_KEYS and not testing(module.tree.body))
        or any(
            KEY_WRITE.search(_text_of(module, c)) and not is_schema(ev, module, c) and not testing(c.body)
            for c in module.classes.values()
        )
        for module in ev.project.modules.values()
        if module is not None and "SQLALCHEMY_" in module.source and not module.aside
    )


def keys_per_side(sides: list[tuple[str, dict[str, Any] | None, Any]], default: int | None) -> dict[str, Any] | None:
    """The keys of one of several config sources, each on the side of a test (`DevConfig if debug else
    ProdConfig`, given each side's keys and source): per key, its value on each side. A side whose source the
    scan cannot read may set any of them, and the URL; None when it can read none."""
    if all(keys is None for _, keys, _ in sides):
        return None
    names = dict.fromkeys(name for _, keys, _ in sides for name in keys or {})
    names.update(dict.fromkeys((URI, OPTIONS) if any(keys is None for _, keys, _ in sides) else ()))
    return {
        name: Branches(
            [(when, _unread_side(o, name) if keys is None else keys.get(name, not_set())) for when, keys, o in sides],
            default=default,
        )
        for name in names
    }


def _unread_side(source: Any, name: str) -> SV | DictV:
    """A key of a config source on one side of a test that the scan cannot read (freshmaker's module from a file
    under /etc, on the side no variable picks a packaged class): whatever that source sets (the engine options:
    a dict of keys the scan cannot name)."""
    text = f"{name} (or what {source.expr if isinstance(source, SV) and source.expr else 'the source'} sets)"
    where, env = (source.from_, source.env) if isinstance(source, SV) else (None, None)
    return DictV({}, where, [text]) if name == OPTIONS else SV(None, where, env, known=False, expr=text)


def testing(body: list[ast.stmt]) -> bool:
    """A config for the tests: its body sets `TESTING = True` (lastuser's instance/testing.py)."""
    return any(
        isinstance(stmt, ast.Assign)
        and isinstance(stmt.value, ast.Constant)
        and stmt.value.value is True
        and any(isinstance(t, ast.Name) and t.id == "TESTING" for t in stmt.targets)
        for stmt in body
    )


def is_schema(ev: Evaluator, module: Module, cls: ast.ClassDef) -> bool:
    """A marshmallow Schema whose fields are named after the keys (GeoNature's, validating its TOML file): it
    describes a config, it is none. Directly or through the project's own base (TaxHub's `AppConf(Schema)`)."""
    chain = ev.classes.class_chain(ClassRef(module, cls))
    bases = [b for klass in chain for b in ev.classes.class_bases(klass)]
    return any(isinstance(b, ExternalRef) and b.dotted.split(".", 1)[0] in SCHEMA_LIBRARIES for b in bases)


def _text_of(module: Module, node: ast.stmt) -> str:
    """The statement's whole text, a class's body included (`Module.segment` shortens it)."""
    return "\n".join(module.source.splitlines()[node.lineno - 1 : node.end_lineno or node.lineno])


def binds_extension(ev: Evaluator, stmt: ast.stmt, frame: Frame) -> bool:
    bind = bind_call(stmt)
    return bind is not None and extension_of(ev, frame.module, bind, frame) is not None


def names_a_bind(stmt: ast.stmt) -> bool:
    """`x.init_app(app)` or `db = SQLAlchemy(app)` as written (whether it binds the extension is worked out
    later, for the functions that have one)."""
    call = bind_call(stmt)
    name = (dotted_parts(call.func) or [""])[-1] if call is not None else ""
    return name == "init_app" or name in EXTENSIONS


def flask_env(ev: Evaluator, ref: ClassRef, keys: dict[str, Any]) -> dict[str, Any]:
    """A config class made by flask-env 2.0's MetaFlaskEnv: each key it has is ENV_PREFIX + its name's variable
    when that is set; with ENV_LOAD_ALL, the URL it lacks is that variable's (cabotage's
    CABOTAGE_SQLALCHEMY_DATABASE_URI)."""
    chain = ev.classes.class_chain(ref)
    metas = [kw.value for klass in chain for kw in klass.node.keywords if kw.arg == "metaclass"]
    made = [ev.force(ev.eval(meta, Frame(ref.module))) for meta in metas]
    if not any(isinstance(m, ExternalRef) and m.dotted == "flask_env.MetaFlaskEnv" for m in made):
        return keys
    prefix, load_all = (
        ev.force(ev.attribute(ref, name, None, Frame(ref.module))) for name in ("ENV_PREFIX", "ENV_LOAD_ALL")
    )
    named = str(prefix.value) if is_known(prefix) else ""
    out = {name: fieldtext.named(ev.force(value), f"{named}{name}") for name, value in keys.items()}
    if URI not in out and is_known(load_all) and load_all.value is True:
        out[URI] = SV(None, ref.module.where(ref.node), f"{named}{URI}", known=False, expr=f"${named}{URI}")
    return out


UNREAD = " (not read)"  # after a load of config the scan cannot read, in a pool's unresolved


def inherited(ev: Evaluator, value: Any, base: Any) -> Any:
    """A class attribute set only under a test in the class body (`if USE_REMOTE_DB: SQLALCHEMY_DATABASE_URI =
    ...`, heatflask): on the side that does not set it, the base class's value, not "not set"."""
    if not isinstance(value, Branches):
        return value
    options, default = settle_options(ev, value)
    unset = [isinstance(option, SV) and option.expr == NOT_SET for _, option in options]
    if not any(unset):
        return value
    return Branches([(when, base if gap else option) for (when, option), gap in zip(options, unset)], default=default)


def returned_call(func: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.Call | None:
    """The call a function's one `return` gives: written there, or assigned once to the local it returns."""
    returns = [node.value for node in ast.walk(func) if isinstance(node, ast.Return) and node.value is not None]
    value = returns[0] if len(returns) == 1 else None
    if isinstance(value, ast.Name):
        made = [
            node.value
            for node in ast.walk(func)
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == value.id for t in node.targets)
        ]
        value = made[0] if len(made) == 1 else None
    return value if isinstance(value, ast.Call) else None
