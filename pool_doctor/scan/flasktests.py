"""A test's app made by the app's own factory (`create_app(TestConfig)` in conftest.py, `create_app("testing")`): the
engines that factory's configuration gives with the test's arguments, at the test's call, listed apart as the
tests' pools (capstone's, thriveFlaskAPIs', discussify-flask's). The app's own engine stays what the app's call of the
factory gives (scan/flask.py reads the factory with that call's arguments; the tests' calls do not count there)."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace

from pool_doctor.scan import appconfig
from pool_doctor.scan.appconfig import AppConfig
from pool_doctor.scan.finder import FunctionNode, Module
from pool_doctor.scan.kinds import Frame, FuncRef, Interpreter
from pool_doctor.scan.model import ScannedPool

Make = Callable[[Module, FunctionNode, list[ast.stmt], Frame], AppConfig | None]


def test_apps(
    ev: Interpreter,
    module: Module,
    apps: Iterable[AppConfig],
    make: Make,
    engines: Callable[[AppConfig], Iterator[ScannedPool]],
) -> Iterator[ScannedPool]:
    """In a test module, each call of a module-level function that configures and binds an app itself (`apps`,
    the app's own), read again with the test's arguments (`make`), its engines (`engines`) at the test's call; not
    in a function of the test's that binds an app itself (its engine is that bind's: notifications-api's)."""
    apps = list(apps)
    own = {id(app.scope) for app in apps if app.module is module and app.bind is not None}
    binding = [
        app
        for app in apps
        if app.scope is not None
        and app.bind is not None
        and not app.module.aside
        and app.module.functions.get(app.scope.name) is app.scope
        and not _guarded(app.scope, app.bind)
    ]
    factories = {app.scope.name: app for app in binding if app.scope and app.bind_module in (None, app.module)}
    # the app's factory calling one, where the bind runs (flaskmvc's create_app(overrides): load_config(app,
    # overrides), then init_db(app)); not where the factory's callers bind what it returns (anyway's init_flask)
    outer: dict[str, list[tuple[AppConfig, Module | None, FunctionNode | None, ast.Call | None]]] = {}
    for app, configures in ((app, app.scope) for app in binding if app.scope is not None):
        for maker, call in appconfig.calls_of(ev, app.module, configures):
            caller = appconfig.enclosing_function(maker.tree, call)
            if caller is None or maker.functions.get(caller.name) is not caller or caller.name in factories:
                continue
            if _binds_within(app, caller):
                outer.setdefault(caller.name, []).append((app, maker, caller, call))
    for name in (factories.keys() | outer.keys()) & module.calls.keys():
        for app, made_in, scope, inner in outer.get(name) or [(factories[name], None, factories[name].scope, None)]:
            yield from _at_calls(ev, module, own, app, made_in, scope, inner, make, engines)


def _at_calls(
    ev: Interpreter,
    module: Module,
    own: set[int],
    app: AppConfig,
    made_in: Module | None,
    scope: FunctionNode | None,
    inner: ast.Call | None,
    make: Make,
    engines: Callable[[AppConfig], Iterator[ScannedPool]],
) -> Iterator[ScannedPool]:
    """The engines of the test module's calls of `scope`: the app's function that configures it, or the factory
    (in `made_in`) whose call of that one (`inner`) is read with the test's arguments."""
    assert scope is not None and app.scope is not None
    for site in module.calls.get(scope.name, []):
        if id(site.functions[-1] if site.functions else None) in own:
            continue
        called = ev.force(ev.eval(site.call.func, Frame(module)))
        if not (isinstance(called, FuncRef) and called.node is scope):
            continue
        frame = appconfig.frame_of_caller(ev, module, site.call)
        bound = ev.bind(FuncRef(made_in or app.module, scope), site.call, frame)
        if made_in is not None and inner is not None:  # the factory's call of the function that configures
            at = ev.flow.frame_at(scope, Frame(made_in, bindings=bound.bindings, scope=scope), inner)
            bound = ev.bind(FuncRef(app.module, app.scope), inner, at)
        body = next(b for at, b in appconfig.scopes(appconfig.alone(app.scope)) if at is app.scope)
        made = make(app.module, app.scope, body, Frame(app.module, bindings=bound.bindings, scope=app.scope))
        end = site.call.end_lineno or site.call.lineno
        for engine in engines(made) if made is not None else ():
            yield replace(engine, file=module.display, line=site.call.lineno, end_line=end, at_import=False)


def _binds_within(app: AppConfig, factory: FunctionNode) -> bool:
    """Whether the factory makes the bind: in its body, or in a function of the bind's module its body calls."""
    bind, where = app.bind, app.bind_module or app.module
    scope = appconfig.enclosing_function(where.tree, bind) if bind is not None else None
    names = {n.func.id for n in ast.walk(factory) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    names |= {n.func.attr for n in ast.walk(factory) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}
    return any(n is bind for n in ast.walk(factory)) or (scope is not None and scope.name in names)


def _guarded(scope: FunctionNode, bind: ast.AST | None) -> bool:
    """Whether the factory binds the extension only under a test (`if not app.testing: db.init_app(app)`): a
    test's app may have no engine, so none is listed for it."""
    tests = (n for n in ast.walk(scope) if isinstance(n, ast.If | ast.IfExp))
    return any(bind is inner for test in tests for inner in ast.walk(test) if test is not bind)
