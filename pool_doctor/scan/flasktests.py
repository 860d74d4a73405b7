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
    factories = {
        app.scope.name: app
        for app in apps
        if app.scope is not None
        and app.bind is not None
        and not app.module.aside
        and app.module.functions.get(app.scope.name) is app.scope
        and app.bind_module in (None, app.module)
        and not _guarded(app.scope, app.bind)
    }
    for name in factories.keys() & module.calls.keys():
        app = factories[name]
        scope = app.scope
        assert scope is not None
        for site in module.calls[name]:
            if id(site.functions[-1] if site.functions else None) in own:
                continue
            called = ev.force(ev.eval(site.call.func, Frame(module)))
            if not (isinstance(called, FuncRef) and called.node is scope):
                continue
            caller = appconfig.frame_of_caller(ev, module, site.call)
            bound = ev.bind(FuncRef(app.module, scope), site.call, caller)
            body = next(b for at, b in appconfig.scopes(appconfig.alone(scope)) if at is scope)
            made = make(app.module, scope, body, Frame(app.module, bindings=bound.bindings, scope=scope))
            end = site.call.end_lineno or site.call.lineno
            for engine in engines(made) if made is not None else ():
                yield replace(engine, file=module.display, line=site.call.lineno, end_line=end, at_import=False)


def _guarded(scope: FunctionNode, bind: ast.AST | None) -> bool:
    """Whether the factory binds the extension only under a test (`if not app.testing: db.init_app(app)`): a
    test's app may have no engine, so none is listed for it."""
    tests = (n for n in ast.walk(scope) if isinstance(n, ast.If | ast.IfExp))
    return any(bind is inner for test in tests for inner in ast.walk(test) if test is not bind)
