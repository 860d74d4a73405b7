"""Flask-SQLAlchemy's engines, read from the app's configuration as the code builds it.

Flask-SQLAlchemy 3 (extension.py `init_app`) makes its engines when the extension is bound to an app:
`SQLAlchemy(engine_options=...)` gives every engine's defaults; `SQLALCHEMY_ENGINE_OPTIONS` and
`SQLALCHEMY_DATABASE_URI` update them for the default engine; each `SQLALCHEMY_BINDS` entry (a URL, or a dict of
create_engine's arguments) is one more engine over the same defaults, never over SQLALCHEMY_ENGINE_OPTIONS
("Only applies to the default bind", versionchanged 3.0). An app's configuration is what one function (or a
module's body) leaves in `app.config`: the classes and modules it loads (`from_object`, `from_pyfile`), then its
writes, in program order, later ones winning. A config class or module no app is seen loading is a pool of its
own only while some load cannot be read (it may be what that one loads) or the project loads none at all."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from itertools import chain
from typing import Any

from pool_doctor.scan import appconfig, flaskbinds, flaskconfig, flaskengines, guards, nodes, releases, selfheld
from pool_doctor.scan.appconfig import POOL_KEYS, URI, AppConfig, Guard, Keys, own_helper
from pool_doctor.scan.expressions import Evaluator
from pool_doctor.scan.finder import FunctionNode, Module
from pool_doctor.scan.flaskcallers import absorbed, at_callers
from pool_doctor.scan.flaskext import (
    ENGINE_KEYS,
    FLASK_SQLALCHEMY,
    UNREAD,
    app_init,
    binds_extension,
    config_sources,
    extension_of,
    flask_env,
    for_release,
    inherited,
    is_db,
    is_schema,
    keeps_own_config,
    keys_per_side,
    may_make_extension,
    names_a_bind,
    other_extension,
    pinned,
    testing,
    unwritten,
    with_pinned,
)
from pool_doctor.scan.flasktests import test_apps
from pool_doctor.scan.kinds import (
    SV,
    Branches,
    ClassRef,
    DictV,
    Frame,
    FuncRef,
    HolderV,
    InstanceRef,
    ModuleRef,
    Thunk,
    is_known,
    unset_as,
)
from pool_doctor.scan.model import NOT_SET, ScannedPool
from pool_doctor.scan.names import last_name

# A module of SQLALCHEMY_* constants is Flask-SQLAlchemy's configuration only in a project that names it.
# What tells a project uses Flask: an import of Flask itself (`import os, flask`, `import flask.cli`, `from flask
# import (`), noted in the project's mentions as FLASK; not the bare word (reflex's icon names: "flask_round")
# nor an extension alone (tasking-manager's leftover `from flask_migrate import ...` is no Flask app) but for
# Flask-SQLAlchemy's and Flask-AppBuilder's (whose SQLA is Flask-SQLAlchemy's extension).
FLASK_IMPORT = re.compile(
    rb"^[ \t]*(?:from[ \t]+flask(?:\.\w+)*[ \t]+import|import[ \t][\w., \t]*\bflask\b(?!\w))", re.M
)
FLASK = b"flask"
MENTIONS = (FLASK_SQLALCHEMY.encode(), b"flask_appbuilder")

BESIDE_LEVELS = 3  # how far up the callers of a function that configures an app its bind is looked for


class FlaskApps:
    """The project's Flask-SQLAlchemy engines: each app's configuration, and the config classes and modules
    no app is seen loading. Every module is read once, the first time pools are asked for."""

    def __init__(self, ev: Evaluator) -> None:
        self.ev = ev
        self._apps: dict[str, list[AppConfig]] | None = None  # by the module's display
        self._loaded: set[int] = set()  # class nodes and module trees an app loads
        self._loads = 0
        self._open_loads = 0  # loads that may read a source other than the one the scan reads
        self._defaulted: dict[int, set[str]] = {}  # functions with no call in sight: their parameters' names
        self.bound: set[tuple[str, int]] = set()  # SQLAlchemy(engine_options=...) calls an app's engine takes in
        self._inlined: set[int] = set()  # helpers whose writes are part of their caller's app configuration
        self._inlining: set[int] = set()  # those being read now
        self._extends: bool | None = None  # whether anything in the project may be the extension
        self._pins: dict[Any, releases.Pin] = {}  # the Flask-SQLAlchemy the project pins, by folder
        appconfig.running_reads(ev, self._running, ev.library_calls, ev.library_values)

    def pools(self, module: Module) -> Iterator[ScannedPool]:
        apps = self._read()
        for app in apps.get(module.display, []):
            if app.scope is None or id(app.scope) not in self._inlined:
                yield from self._app_pools(app)
        if "SQLALCHEMY_" in module.source:
            yield from self._unloaded(module)
        yield from flaskbinds.made_again(self.ev, module, self._read(), self._app_pools)
        if module.aside == "tests":
            yield from test_apps(self.ev, module, chain(*apps.values()), self._app, self._app_pools)

    def factories(self, modules: list[Module]) -> set[str]:
        """The names of module-level functions with parameters that configure an app, and of those handing their
        parameters to one (flaskmvc's `create_app(overrides)`): their callers give the parameters, so the files
        that call them are worth reading."""
        functions = [(m, name, f) for m in modules for name, f in m.functions.items() if nodes.parameter_names(f)]
        names = {
            name
            for module, name, func in functions
            if ".config" in module.source
            and any(appconfig.configures(s) for _, body in appconfig.scopes(appconfig.alone(func)) for s in body)
        }
        if not names:
            return names
        called = {id(f): {last_name(n.func) for n in ast.walk(f) if isinstance(n, ast.Call)} for _, _, f in functions}
        return names | {name for _, name, f in functions if names & called[id(f)]}

    def _running(self) -> list[AppConfig]:
        apps = [a for found in (self._apps or {}).values() for a in found]  # (a helper binding the app its caller
        return [a for a in apps if a.keys or not self._bound_by_other(a)]  # configures, doorman's: the caller's)

    def takes_in(self, pool: ScannedPool) -> bool:
        """Whether a library-call pool is an extension some app's engine is reported with (its defaults)."""
        self._read()
        return pool.stack == FLASK_SQLALCHEMY and (pool.file, pool.line) in self.bound

    # --- reading every app's configuration ---------------------------------------------------------------

    def _read(self) -> dict[str, list[AppConfig]]:
        if self._apps is not None:
            return self._apps
        self._apps = {}
        modules = sorted((m for m in self.ev.project.modules.values() if m is not None), key=lambda m: m.display)
        for module in modules:
            if ".config" not in module.source and ".init_app(" not in module.source:
                continue
            self.ev.project.fresh_budget()
            try:
                found = [
                    app for scope, body in appconfig.scopes(module.tree) if (app := self._app(module, scope, body))
                ]
            except Exception as exc:  # one module the scan cannot follow is a warning, never the scan's end
                self.ev.project.warnings.append(
                    f"{module.display}: could not be followed ({type(exc).__name__}: {exc}); skipped"
                )
                continue
            self._apps[module.display] = found
        return self._apps

    def _app(
        self, module: Module, scope: FunctionNode | None, body: list[ast.stmt], frame: Frame | None = None
    ) -> AppConfig | None:
        """What a function leaves in an app's config: when it writes some, or binds the extension (a helper it
        calls may configure it: Mailu's `config.init_app(app)`); `frame`: its parameters as a test's call gives
        them (flasktests), else as the app's does."""
        inlined = scope is not None and id(scope) in self._inlining  # (a helper's helper configures it)
        if not inlined and not any(appconfig.configures(s) or names_a_bind(s) for s in body) and not own_helper(scope):
            return None
        frame = frame if frame is not None else self._frame(module, scope)
        app = AppConfig(module, frame, scope, {}, [], conditions=self.ev.conditions)
        own = "self" if keeps_own_config(self.ev, module, scope) else None
        tests = guards.tests_of(scope.body if scope is not None else module.tree.body)
        apps = {name for stmt in body for name in appconfig.receivers(stmt)}  # the names the app goes by
        bound: dict[str, Any] | None = None  # the keys as the bind in this body left them
        for stmt in body:
            bound = dict(app.keys) if bound is None and app.bind is not None else bound
            if own and appconfig.only_own(stmt, own):
                continue  # `self.config.update(...)` of a config manager: read where it is loaded into the app
            if not appconfig.configures(stmt, own):
                helper = self._helper(stmt, frame)
                if helper is not None and id(helper.node) not in self._inlining:  # (a helper that calls itself)
                    # its writes are this app's, in their place (privacyidea's engine options); a test's app made by
                    # the app's factory leaves the factory's own app in place (ECS-Discord-Bot's conftest)
                    if not module.aside or helper.module.aside:
                        self._inlined.add(id(helper.node))
                    self._inlining.add(id(helper.node))
                    try:
                        node = helper.node
                        assert not isinstance(node, ast.Lambda)  # (_helper's are functions)
                        flat = next(b for at, b in appconfig.scopes(appconfig.alone(node)) if at is node)  # (its ifs')
                        inner = self._app(helper.module, node, flat, selfheld.call_frame(self.ev, helper, stmt, frame))
                    finally:
                        self._inlining.discard(id(helper.node))
                    if inner is not None:
                        app.keys.update(inner.keys)
                        if app.bind is None and any(n is inner.bind for n in ast.walk(node)):  # (`self.db`'s)
                            app.bind, app.extension, app.bind_module = inner.bind, inner.extension, inner.bind_module
                        app.unresolved.extend(inner.unresolved)
                        app.lines.append(stmt.lineno)
                        app.running = app.running is not False and inner.running is True
                        app.absent, app.unread = app.absent or inner.absent, app.unread or inner.unread
                        app.prefixed = app.prefixed or inner.prefixed
                elif app.bind is None and self._bind(app, module, stmt, frame) and tests.get(id(stmt)):
                    found = self._guard(app, module, scope, frame, stmt, tests)
                    guards.within(app, found[0] if found else ())  # the engine is where the bind runs
                elif given := appconfig.handed_over(self.ev, stmt, apps, frame, partial(is_db, self.ev, module)):
                    app.unread, text = True, f"{module.segment(given)}{UNREAD}"
                    app.unresolved.append(text)
                    app.lines.append(stmt.lineno)
                    app.unseen = SV(None, module.where(given), known=False, expr=text)
                continue
            found = self._guard(app, module, scope, frame, stmt, tests)
            if found is None:
                continue  # the code rules it out (`if test_config is not None:` where the app gives none)
            app.guard, app.verdicts = found[0], {**app.verdicts, **found[1]}
            at = self.ev.flow.frame_at(scope, frame, stmt) if scope else frame
            app.lines.append(stmt.lineno)
            on_current = module.segment(stmt).startswith(("current_app.", "flask.current_app."))
            app.running = app.running is not False and on_current
            prefix = appconfig.prefixed_env(stmt)
            if prefix is not None:  # each key set so far is the variable's, when that is set; the URL, when it
                app.keys = {  # is not yet, a variable's too (funnel's whole config is FLASK_* variables)
                    name: appconfig.by_variable(value, f"{prefix}{name}", self.ev, module)
                    for name, value in app.keys.items()
                }
                named = f"{prefix}{URI}"
                app.prefixed = SV(None, module.where(stmt), named, known=False, expr=f"${named}")
                continue
            load = appconfig.loader(stmt, own)
            if load is not None:  # (read with the locals set by then: Mailu's `app.config.update(self.config)`)
                self._load(app, load, at)
                continue
            for name, value_node in appconfig.config_writes(stmt):
                # read with the locals the function has set by then (`opts["pool_pre_ping"] = True` before
                # `app.config[...] = opts`); `setdefault(KEY, v)` keeps KEY where a path set it
                value: Any = Thunk(value_node, at)
                if name in app.keys and appconfig.defaults_only(stmt):
                    value = unset_as(self.ev.force(app.keys[name]), value)
                guards.put(app, name, value)
            for write in appconfig.nested_writes(stmt):
                start = Thunk(write.default, frame) if write.default is not None else None  # setdefault's
                current = app.keys.get(write.name, start if start is not None else DictV({}, None))
                change = appconfig.change_of(self.ev, write, frame)
                guards.put(app, write.name, appconfig.changed(self.ev, current, change, start))
        app.keys = appconfig.after_bind(app.keys, bound, self._pinned(module).major) if bound is not None else app.keys
        if app.bind is None and not app.lines:
            return None  # another extension's `oauth.init_app(app)` alone: no configuration (cabotage's init_oauth)
        if app.bind is None and scope is not None and module.functions.get(scope.name) is scope:
            self._bind_beside(app, scope)
        elif app.bind is None and scope is None:  # (its global app, bound in a function: when that runs)
            app.deferred = flaskconfig.bound_in_function(module, apps, lambda s, f: self._bind(app, module, s, f))
        if app.extension is not None and appconfig.options_node(app.extension[1]) is not None:
            self.bound.add((app.extension[0].display, app.extension[1].lineno))
        return app

    def _guard(
        self,
        app: AppConfig,
        module: Module,
        scope: FunctionNode | None,
        frame: Frame,
        stmt: ast.stmt,
        tests: dict[int, guards.Tests],
    ) -> tuple[Guard, dict[str, bool]] | None:
        """The tests `stmt` runs under that the code leaves open (scan/guards.py), each read just before its `if`
        with `app.config` as the writes so far leave it (`if not app.config[...]...`); None: it never runs."""
        if not tests.get(id(stmt)):
            return (), {}
        config = HolderV(flaskconfig.APP, {"config": DictV(dict(app.keys), None)})
        seen = {name: config for name in appconfig.receivers(stmt)}
        return guards.guard_of(self.ev, tests[id(stmt)], partial(guards.before, self.ev, scope, frame, seen), module)

    def _helper(self, stmt: ast.stmt, frame: Frame, depth: int = 0) -> FuncRef | None:
        """A project function the statement calls that writes the app's configuration (or calls one that does:
        freshmaker's `conf = init_config(app)`) but binds no extension: part of this app's configuration."""
        if isinstance(stmt, ast.Assign) and (init := app_init(self.ev, stmt, frame)) is not None:
            return init  # `app = Redash()`: the app its class's __init__ configures
        value = stmt.value if isinstance(stmt, ast.Expr | ast.Assign | ast.Return) else None
        call = value if isinstance(value, ast.Call) else None
        func = self.ev.force(self.ev.eval(call.func, frame)) if call is not None and call.args else None
        if call is not None and not call.args:  # `self.__init_db()`: a method of the instance that holds the app
            func = selfheld.own_method(frame.module, frame.scope, call)
        func = func if isinstance(func, FuncRef) or call is None else selfheld.nested(frame, call) or func
        if not isinstance(func, FuncRef) or isinstance(func.node, ast.Lambda) or binds_extension(self.ev, stmt, frame):
            return None  # (a subclass's own init_app that also sets a key is the bind: jazzband's)
        body = [inner for _, block in appconfig.scopes(appconfig.alone(func.node)) for inner in block]
        at = Frame(func.module, scope=func.node)
        binds = [b for inner in body if (b := appconfig.bind_call(inner)) and extension_of(self.ev, func.module, b)]
        configures = any(appconfig.configures(i) or (depth < 3 and self._helper(i, at, depth + 1)) for i in body)
        return func if configures and not binds else None

    def _load(self, app: AppConfig, call: ast.Call, frame: Frame) -> None:
        """`app.config.from_object(x)` and its kin: the source's SQLALCHEMY_* keys, over what is there."""
        self._loads += 1
        keys, named = self._source_keys(app, call, frame)
        if not named:  # `from_object(configs[name])`, a variable's file: other sources may be what it loads
            self._open_loads += 1
        app.unread = app.unread or not named  # (GeoNature's update() of a mapping read partly at run time)
        if keys is None:
            app.unresolved.append(f"{app.module.segment(call)}{UNREAD}")
            silent = next((k.value for k in call.keywords if k.arg == "silent"), None)  # (a file that must exist:
            if URI in app.keys and not (isinstance(silent, ast.Constant) and silent.value):  # its URL may be the one)
                why = f"{app.module.segment(call)} may set it"
                guards.put(app, URI, SV(None, app.module.where(call), known=False, expr=why))
        for name, value in (keys or {}).items():
            guards.put(app, name, value)

    def _source_keys(self, app: AppConfig, call: ast.Call, frame: Frame) -> tuple[Keys | None, bool]:
        """The keys of the source a load reads (None: not read), and whether the code names that source
        (a class, a module, a string; a parameter the app's one call gives), so that it loads no other."""
        method = call.func.attr if isinstance(call.func, ast.Attribute) else ""
        node = appconfig.loaded_mapping(call) or (call.args[0] if call.args else None)  # (`update(**config)`)
        if method not in ("from_object", "from_pyfile", "update", "from_mapping") or node is None:
            return None, False  # a file named by a variable (from_envvar), or read by a loader function (from_file)
        given = self.ev.force(self.ev.eval(node, frame))
        if method in ("update", "from_mapping"):  # a mapping: its SQLALCHEMY_* keys, when the scan can read it
            if not isinstance(given, DictV):  # (one the scan cannot see all of: its keys it can, over the app's)
                return None, False
            return {k: v for k, v in given.items.items() if k in ENGINE_KEYS or k in POOL_KEYS}, not given.opaque
        arg = call.args[0]
        chosen = flaskconfig.chosen(self.ev, arg, frame)  # `configs[name]`, a template: one of the classes
        given = given if chosen is None else chosen
        named = chosen is not None or (
            isinstance(arg, (ast.Constant, ast.Name, ast.Attribute))
            and not (isinstance(given, SV) and given.env)
            # a parameter at its default: a call in a file the scan did not read may give another source
            and not (
                isinstance(arg, ast.Name) and app.scope is not None and arg.id in self._defaulted.get(id(app.scope), ())
            )
        )
        keys = self._read_source(app.module, method, given)
        if flaskconfig.filled_at_run_time(self.ev, given):  # (cuckoo's: an exec'd file's names, set at run time)
            app.unread = True
            app.unresolved.append(f"{app.module.segment(call)}{UNREAD}")
        app.absent = app.absent or (keys is None and method == "from_pyfile" and is_known(given))
        return keys, named and keys is not None

    def _read_source(self, module: Module, method: str, given: Any) -> Keys | None:
        loaded = self._loaded if not module.aside else set()  # (a test's load is not the app's: flask-inventory)
        if isinstance(given, Branches):  # a module's global set only on the side of the `if` that loads it
            set_here = [o for _, o in given.options if not (isinstance(o, SV) and o.expr == NOT_SET)]
            given = self.ev.force(set_here[0]) if len(set_here) == 1 else given
        if isinstance(given, Branches):  # `DevConfig if get_debug_flag() else ProdConfig`: each key, per side
            forced = [(when, self.ev.force(o)) for when, o in given.options]  # (a side it cannot read: unknown)
            sides = [(when, self._read_source(module, method, o), o) for when, o in forced]
            return keys_per_side(sides, given.default)
        if isinstance(given, InstanceRef):  # (its bases too: their keys reach the app through it, hrms' Config)
            loaded.update(id(k.node) for k in self.ev.class_chain(given.cls))
            return self._instance_keys(given)
        if isinstance(given, ClassRef):
            loaded.update(id(k.node) for k in self.ev.class_chain(given))
            return flask_env(self.ev, given, self._class_keys(given))
        if isinstance(given, ModuleRef):
            loaded.add(id(given.module.tree))
            return self._module_keys(given.module)
        if not (isinstance(given, SV) and given.known and isinstance(given.value, str)):
            return None
        source: Module | None
        if method == "from_pyfile":
            source = flaskconfig.python_file(self.ev, module, given.value)
        else:  # a module, or "package.module.Class": a class, or an instance of one (CTFd's `Config = ServerConfig()`)
            found = flaskconfig.named_object(self.ev, given.value, module)
            if isinstance(found, (ClassRef, InstanceRef)):
                return self._read_source(module, method, found)
            source = found.module if isinstance(found, ModuleRef) else None
        if source is None:
            return None
        loaded.add(id(source.tree))
        return self._module_keys(source)

    def _class_keys(self, ref: ClassRef) -> Keys:
        """A config class's SQLALCHEMY_* attributes, its project base classes' first."""
        keys: Keys = {}
        for klass in reversed(self.ev.classes.class_chain(ref)):
            state = self.ev.scopes.body_state(klass.module, klass.node) or {}
            for name in self.ev.scopes.scope_locals(klass.node):
                if not name.startswith("SQLALCHEMY_") or name not in state:
                    continue
                value = self.ev.force(state[name])
                if isinstance(value, SV) and value.expr == NOT_SET:
                    continue  # under a test that does not hold, the class keeps what its bases give
                keys[name] = inherited(self.ev, value, keys[name]) if name in keys else value  # (on a test's side)
        for name, method in flaskconfig.set_by_classmethods(self.ev, ref).items():  # (ok's, by a class decorator)
            if name.startswith("SQLALCHEMY_"):
                keys.setdefault(name, SV(None, None, known=False, expr=f"{name}, set by {method}()"))
        return keys

    def _instance_keys(self, instance: InstanceRef) -> Keys:
        """A config instance's keys: its class's, its properties' (realms-wiki's), what its `__init__` sets."""
        made = {**flaskconfig.property_keys(self.ev, instance), **self.ev.classes.init_state(instance)}
        return {**self._class_keys(instance.cls), **{k: v for k, v in made.items() if k.startswith("SQLALCHEMY_")}}

    def _module_keys(self, module: Module) -> Keys:
        value = partial(self.ev.scopes.global_value, module)  # (and what it star-imports: ggrc's settings package)
        names = [*module.assigns, *(n for star in module.star_imports for n in self.ev.scopes.star_names(module, star))]
        return {name: value(name, module.tree) for name in names if name.startswith("SQLALCHEMY_")}

    def _frame(self, module: Module, scope: FunctionNode | None) -> Frame:
        """The frame a function's config writes are read in: its parameters bound to the arguments of its one
        call in the app (none: their defaults; several: unknown), never the module's globals of the same name."""
        if scope is None:
            return Frame(module)
        calls = [] if module.functions.get(scope.name) is not scope else appconfig.calls_of(self.ev, module, scope)
        made = selfheld.made_once(self.ev, module, scope)  # (a method's `self`: the one instance the app makes)
        at = appconfig.frame_of_caller(self.ev, made[1], made[2]) if made is not None else None
        func = FuncRef(module, scope, bound_self=InstanceRef(made[0], {}, call=made[2], frame=at) if made else None)
        calls = [(made[1], made[2])] if made is not None and scope.name == "__init__" else calls
        if len(calls) > 1:  # a parameter every call gives the same known value (privacyidea's "production") has it
            names = [a.arg for a in (*scope.args.posonlyargs, *scope.args.args, *scope.args.kwonlyargs)]
            each = [
                self.ev.bind(func, site, appconfig.frame_of_caller(self.ev, caller, site)).bindings
                for caller, site in calls
            ]
            many: dict[str, Any] = {}
            for name in names:
                given = [self.ev.force(bound.get(name)) for bound in each]
                many[name] = (
                    given[0]
                    if appconfig.same_known(given)
                    else appconfig.each_given(self.ev, name, given)
                    or SV(None, None, known=False, expr=f"{name} ({len(calls)} calls)")
                )
            return Frame(module, bindings=many, scope=scope)
        if calls:
            caller, site = calls[0]
            bound = self.ev.bind(func, site, appconfig.frame_of_caller(self.ev, caller, site))
        else:
            bound = self.ev.bind(func, None, Frame(module))
            self._defaulted[id(scope)] = {
                a.arg for a in (*scope.args.posonlyargs, *scope.args.args, *scope.args.kwonlyargs)
            }
        return Frame(module, bindings=bound.bindings, scope=scope)

    def _bind_beside(self, app: AppConfig, scope: FunctionNode) -> None:
        """A function that only configures the app (`apply_config(app)`, listenbrainz's `load_config(app)`),
        called by a factory that binds the extension itself or through another helper (`register_extensions(app)`),
        or by a factory whose own caller does (`create_web_app` calling `create_app`, then `init_admin(app)`): the
        first such bind, the callers read nearest first (in file and line order), up to BESIDE_LEVELS up.
        Called by several factories (listenbrainz's create_app, by its web app and by every script), the app is
        an engine where one of them binds it; the others make none."""
        level = [(app.module, scope)]
        for _ in range(BESIDE_LEVELS):
            found = [
                (caller, site) for module, func in level for caller, site in appconfig.calls_of(self.ev, module, func)
            ]
            callers = sorted(found, key=lambda pair: (pair[0].display, pair[1].lineno, pair[1].col_offset))
            if not callers:
                return
            level = []
            for caller, site in callers:  # (each other caller that binds its own app is one more engine: anyway's)
                outer = appconfig.enclosing_function(caller.tree, site)
                frame = appconfig.frame_of_caller(self.ev, caller, site)
                mine = app if app.bind is None else replace(app, also=[])
                if any(self._bind(mine, caller, stmt, frame) for stmt in (outer or caller.tree).body):
                    if mine is not app and mine.bind is not None and not caller.aside:
                        app.also.append((caller, mine.bind))
                elif outer is not None and caller.functions.get(outer.name) is outer:
                    level.append((caller, outer))
            if app.bind is not None:
                return

    def _bind(self, app: AppConfig, module: Module, stmt: ast.stmt, frame: Frame) -> bool:
        """Whether the statement binds the extension to the app, itself or through a helper it calls
        (`register_extensions(app)`); the app then has that bind."""
        bind, where = appconfig.bind_call(stmt), module
        extension = extension_of(self.ev, where, bind, frame) if bind is not None else None
        if extension is None:  # (`models.init_app(app)` is a helper of the project's, binding it)
            bind, where = flaskbinds.bind_in_helper(self.ev, module, stmt, frame)
            extension = extension_of(self.ev, where, bind) if bind is not None else None
        if extension is None:
            return False
        app.bind, app.extension, app.bind_module = bind, extension, where
        return True

    def _may_extend(self) -> bool:
        if self._extends is None:
            self._extends = may_make_extension(self.ev, [m for m in self.ev.project.modules.values() if m])
        return self._extends

    # --- pools ---------------------------------------------------------------------------------------------

    def _app_pools(self, app: AppConfig) -> Iterator[ScannedPool]:
        defaults: Any = DictV({}, None)
        if app.extension is not None:
            owner, made = app.extension
            options = appconfig.options_node(made)
            if options is not None:
                frame = app.frame if made is app.bind else Frame(owner)
                defaults = self.ev.force(self.ev.eval(options, frame))
        # bound, loading a file of its config the tree has not, or config it cannot read when the project has no
        # config class or module that may be what it loads (GeoNature's TOML file; lemur's has one: reported there),
        # or with none in a project that names no key (funnel's installed loader): the extension needs a URL
        keys = app.keys if app.bind is None or app.prefixed is None else {URI: app.prefixed, **app.keys}
        untold = None if self._bound_by_other(app) else unwritten(self.ev, keys, self._read())  # (none elsewhere)
        sources = config_sources(self.ev) and (not self._loads or self._open_loads > 0)  # each its own engine
        unread = app.bind is not None and (app.absent or untold is not None or (app.unread and not sources))
        if not keys.keys() & POOL_KEYS and not (isinstance(defaults, DictV) and defaults.items) and not unread:
            return  # (the extension's own pinned options alone make no engine: a config loaded elsewhere has them)
        if app.bind is None and (app.running is True or app.module.aside or not self._may_extend()):
            return  # a test's or a running app's config, changed; keys the project's own create_engine reads
        if flaskbinds.configured_again(self.ev, app, self._read(), self._pinned(app.module).major):  # (an imported
            return
        scope = app.scope if app.bind is None and self._binds_some() else None
        callers = appconfig.calls_of(self.ev, app.module, scope) if scope is not None else []
        if scope is not None and appconfig.never_bound(app.module, scope, callers, partial(other_extension, self.ev)):
            return
        under, over = pinned(self.ev, *app.extension, self._pinned(app.module).major) if app.extension else ({}, {})
        if under and isinstance(defaults, DictV):
            defaults = DictV({**under, **defaults.items}, defaults.origin, defaults.opaque)
        if absorbed(self.ev, self._read(), app):
            return  # (a caller's configuration of the app a class's method binds: that call's engine)
        elsewhere = flaskbinds.bound_elsewhere(self.ev, app)
        if not elsewhere and flaskbinds.never_handed(self.ev, app):
            return  # (a service's app that loads a config and is handed to nothing: yaurp's gui)
        bind, bind_module = (app.bind, app.bind_module) if not elsewhere else (elsewhere[0][1], elsewhere[0][0])
        if app.module.aside and bind_module is not None and not bind_module.aside:
            return  # a test's config bound by the app's helper (indico's configure_db): the app's engine, again
        line, end_line = (bind.lineno, bind.end_lineno or bind.lineno) if bind else (min(app.lines), max(app.lines))
        at_import = bind is not None and not app.deferred  # init_app makes the engines then (a factory's: if called
        at_import = at_import and (app.scope is None or flaskbinds.made_at_import(self.ev, app))  # at a module's top)
        place = ((bind_module or app.module).display, line, end_line)
        unresolved = [*app.unresolved, *([untold] if untold else [])]

        def build(keys: Keys) -> list[ScannedPool]:
            keys = for_release(self.ev, keys, self._pinned(app.module), f"{place[0]}:{line}")
            built = flaskengines.engines(
                self.ev, place, "app.config", defaults, keys, unresolved, at_import, app.extension
            )
            return list(with_pinned(self.ev, built, over))

        engines = build(keys)
        if bind is not None and bind_module is app.module:  # (a class's method handed the app: at its callers)
            engines = at_callers(self.ev, app, engines, self._read(), build)
        yield from engines
        again = elsewhere[1:] if self._pinned(app.module).major != 3 else []  # (3 refuses a second extension)
        for module, call in [*app.also, *again]:  # the same config bound again: an engine there too
            end = call.end_lineno or call.lineno
            yield from (
                replace(e, file=module.display, line=call.lineno, end_line=end) for e in engines if e.line == line
            )

    def _pinned(self, module: Module) -> releases.Pin:  # the release pinned nearest the module, read once a folder
        if (folder := module.path.parent) not in self._pins:
            self._pins[folder] = releases.pinned(folder, self.ev.project.base)
        return self._pins[folder]

    def _binds_some(self) -> bool:  # the project binds the extension to some app it makes (so not to all)
        return any(app.bind is not None for apps in self._read().values() for app in apps)

    def _bound_by_other(self, app: AppConfig) -> bool:  # its bind is a configuring caller's (scan/flask.py's beside)
        return any(o is not app and o.bind is app.bind for apps in self._read().values() for o in apps)

    def _unloaded(self, module: Module) -> Iterator[ScannedPool]:
        """Config classes and modules no app is seen loading, each a pool of its own while it may be loaded (a
        test's configuration makes no engine: freight's tests/config.py)."""
        maybe = (not self._loads or self._open_loads > 0) and not module.aside  # (what no load reads is no app's)
        flask = bool(self.ev.project.mentions & {*MENTIONS, FLASK}) and self._may_extend()  # else: only a name
        for cls in module.classes.values():
            if (
                id(cls) in self._loaded
                or not maybe
                or not flask
                or is_schema(self.ev, module, cls)
                or testing(cls.body)
            ):
                continue
            made = InstanceRef(ClassRef(module, cls), {})  # its own keys, or (OpenOversight's) its __init__'s
            own = any(name in POOL_KEYS for name in self.ev.scopes.scope_locals(cls))
            if not own and not set(self.ev.classes.init_state(made)) & POOL_KEYS:
                continue  # (a subclass that adds none is its base's)
            keys = self._class_keys(made.cls) if own else self._instance_keys(made)
            if all(appconfig.names_itself(name, value) for name, value in keys.items()):
                continue  # a table of the keys' names (privacyidea's ConfigKey), read as app.config[ConfigKey.X]
            yield from self._source_pool(module, cls.lineno, cls.end_lineno or cls.lineno, f"class {cls.name}", keys)
        names = [name for name in module.assigns if name.startswith("SQLALCHEMY_")]
        pool_keys = set(names) & POOL_KEYS  # (no config: a module making its app, a test's, an engine's, or one
        own_app = any(app.scope is None for app in self._read().get(module.display, []))  # whose keys the app
        own_app = own_app or testing(module.tree.body) or nodes.handed_to_engines(module.tree, pool_keys)  # copies)
        own_app = own_app or (not self._open_loads and flaskconfig.copied(self.ev.project, module, set(names)))
        if pool_keys and flask and id(module.tree) not in self._loaded and maybe and not own_app:
            lines = [module.assigns[name][-1].line for name in names]
            yield from self._source_pool(module, min(lines), max(lines), "module config", self._module_keys(module))

    def _source_pool(self, module: Module, line: int, end_line: int, call: str, keys: Keys) -> Iterator[ScannedPool]:
        """A config class or module no app is seen loading, under what the project's one extension pins (lemur's
        apply_pool_defaults), when it has one."""
        made = {id(app.extension[1]): app.extension for apps in self._read().values() for app in apps if app.extension}
        under, over = (
            pinned(self.ev, *next(iter(made.values())), self._pinned(module).major) if len(made) == 1 else ({}, {})
        )
        keys = for_release(self.ev, keys, self._pinned(module), f"{module.display}:{line}")
        engines = flaskengines.engines(
            self.ev, (module.display, line, end_line), call, DictV(under, None), keys, [], False
        )
        yield from with_pinned(self.ev, engines, over)
