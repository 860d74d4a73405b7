"""Where an app's Flask-SQLAlchemy engine is made when the module that configures the app does not bind it: a
bind of the same app at another module's top, `SQLAlchemy(app)` (qairon's `from base import app`) or, after that
module imports this one, `db.init_app(app)` (pairs-api's app.py running `import config`)."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace

from pool_doctor.scan import appconfig
from pool_doctor.scan.appconfig import POOL_KEYS, URI, AppConfig, receivers
from pool_doctor.scan.callers import parse_naming
from pool_doctor.scan.expressions import Evaluator
from pool_doctor.scan.finder import Module, resolve_relative
from pool_doctor.scan.flaskext import EXTENSIONS, extension_of, is_extension, maker
from pool_doctor.scan.kinds import Frame, FuncRef, ListV
from pool_doctor.scan.model import ScannedPool
from pool_doctor.scan.programs import at_import, served

HELPER_DEPTH = 3  # helpers of helpers followed to the one that binds (nuzum-edut's `_init_extensions(app)`)


def bind_in_helper(
    ev: Evaluator, module: Module, stmt: ast.stmt, frame: Frame, depth: int = 0
) -> tuple[ast.Call | None, Module]:
    """The bind call a project function the statement calls makes in its own body (flaskbb's
    `configure_extensions(app)`), or in a helper it calls in turn (nuzum-edut's `_init_extensions(app)` calling
    `init_extensions(app)`), with the module it is in."""
    call = stmt.value if isinstance(stmt, ast.Expr | ast.Assign) and isinstance(stmt.value, ast.Call) else None
    func = ev.force(ev.eval(call.func, frame)) if call is not None else None  # (`app = init_app(app)`)
    return _bind_in(ev, func, depth) if isinstance(func, FuncRef) else (None, module)


def _bind_in(ev: Evaluator, func: FuncRef, depth: int) -> tuple[ast.Call | None, Module]:
    """The bind a project function makes, itself or through the functions it calls: by name, or each of a
    list it loops over (flask-api-backend-boilerplate's `chain(register_commands, ..., register_extensions)`,
    whose function calls each in turn)."""
    # a helper that also configures the engine is an app configuration of its own, bound there (indico's
    # configure_db, which a test fixture calls again): not this one's bind; one that only sets other keys
    # (freight's SQLALCHEMY_TRACK_MODIFICATIONS) binds this app
    if isinstance(func.node, ast.Lambda) or any(appconfig.configures_engine(inner) for inner in func.node.body):
        return None, func.module
    for inner in func.node.body:  # the one that binds the extension (ihatemoney's setup_database assigns
        found = appconfig.bind_call(inner)  # `app.config.get(...)` before its `db.init_app(app)`)
        if found is not None and extension_of(ev, func.module, found) is not None:
            return found, func.module
    inner_frame = Frame(func.module, scope=func.node)
    for inner in func.node.body if depth < HELPER_DEPTH else []:
        found, where = bind_in_helper(ev, func.module, inner, inner_frame, depth + 1)
        if found is None and isinstance(inner, ast.For) and isinstance(inner.target, ast.Name):
            # (a name the function reads from the one that made it: chain's `*functions`)
            items = ev.force(ev.eval(inner.iter, func.closure or inner_frame))
            called = any(_calls_name(node, inner.target.id) for node in inner.body)
            for item in items.items if called and isinstance(items, ListV) else []:
                item = ev.force(item)
                found, where = _bind_in(ev, item, depth + 1) if isinstance(item, FuncRef) else (None, where)
                if found is not None:
                    break
        if found is not None:
            return found, where
    return None, func.module


def _calls_name(stmt: ast.stmt, name: str) -> bool:
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == name for n in ast.walk(stmt))


def bound_elsewhere(ev: Evaluator, app: AppConfig) -> list[tuple[Module, ast.Call]]:
    """`db = SQLAlchemy(app)` at the top of other modules, of the app a module makes and configures at its own
    top (qairon's `from base import app`): that app's binds, each an engine (yaurp's statistics module binding
    the post service's app a second time: Flask-SQLAlchemy 2's second engine)."""
    if app.bind is not None or app.scope is not None:
        return []
    modules = ev.project.modules.values()  # (a test's own `SQLAlchemy(app)` binds it again, in a test)
    found = []
    for module in (m for m in modules if m is not None and m is not app.module and not m.aside):
        for site in (s for name in EXTENSIONS & module.calls.keys() for s in module.calls[name]):
            given = site.call.args[0] if site.call.args and not site.functions else None
            made = maker(ev, module, given.id) if isinstance(given, ast.Name) else None
            if made is not None and made[0] is app.module and is_extension(ev, module, site.call):
                found.append((module, site.call))
    after = _bound_after_import(ev, app) if not found else None
    return found if after is None else [after]


def _bound_after_import(ev: Evaluator, app: AppConfig) -> tuple[Module, ast.Call] | None:
    """`db.init_app(app)` at the top of the module that makes the app this module configures (imported from it),
    after it imports this module: pairs-api's app.py runs `import config`, whose writes to app.config come
    before its bind."""
    names = {name for stmt in app.module.tree.body if stmt.lineno in app.lines for name in receivers(stmt)}
    makers = [found for name in names if (found := maker(ev, app.module, name)) and found[0] is not app.module]
    if len(makers) != 1:
        return None
    owner, made = makers[0]
    imported = [
        stmt.lineno
        for stmt in owner.tree.body
        if isinstance(stmt, (ast.Import, ast.ImportFrom)) and app.module in _modules_of(ev, owner, stmt)
    ]
    for site in owner.calls.get("init_app", []) if imported else []:
        given = site.call.args[0] if len(site.call.args) == 1 and not site.functions else None
        bound = maker(ev, owner, given.id) if isinstance(given, ast.Name) else None
        late = site.call.lineno > min(imported)
        if late and bound is not None and bound[1] is made and extension_of(ev, owner, site.call) is not None:
            return owner, site.call
    return None


def _modules_of(ev: Evaluator, module: Module, stmt: ast.Import | ast.ImportFrom) -> list[Module | None]:
    """The project modules an import statement runs."""
    if isinstance(stmt, ast.Import):
        return [ev.project.module_by_name(alias.name, module.path) for alias in stmt.names]
    base = resolve_relative(module, stmt.module, stmt.level)
    found = [ev.project.module_by_name(base, module.path)] if base else []
    return found + [ev.project.module_by_name(f"{base}.{a.name}", module.path) for a in stmt.names if base]


def never_handed(ev: Evaluator, app: AppConfig) -> bool:
    """A module's own app (`app = flask.Flask(...)` at its top), configured there, that no call in it or in a module
    importing it is handed (no `SQLAlchemy(app)`, `db.init_app(app)`, `register(app)`): no engine, where the project
    binds other apps (yaurp's gui service, loading a config with a URL, beside the post service that binds)."""
    if app.bind is not None or app.scope is not None:
        return False
    names = {name for stmt in app.module.tree.body if stmt.lineno in app.lines for name in receivers(stmt)}
    made = [found for name in names if (found := maker(ev, app.module, name)) and found[0] is app.module]
    if len(made) != 1:
        return False
    home = app.module.name
    readers = [
        m
        for m in ev.project.modules.values()
        if m is not None and (m is app.module or any(t == home or t.startswith(f"{home}.") for t in m.imports.values()))
    ]
    for module in readers:
        for call in (n for n in ast.walk(module.tree) if isinstance(n, ast.Call)):
            given = [*call.args, *(k.value for k in call.keywords)]
            if any(isinstance(a, ast.Name) and maker(ev, module, a.id) == made[0] for a in given):
                return False
    return True


def configured_again(ev: Evaluator, app: AppConfig, apps: dict[str, list[AppConfig]], major: int | None) -> bool:
    """A module's top configuring an app another module makes, configures and binds at its own top
    (flask_template's db_manage.py: `from app import app`, then `app.config.from_object(...)` again), or that a
    third module binds (yaurp's post service): that app's engine, no engine of its own, where Flask-SQLAlchemy 3
    made it at the bind, before this runs, or where this loads what that module does (2.x makes it at first use,
    from the config as it is then: the script's)."""
    if app.bind is not None or app.scope is not None:
        return False
    names = {name for stmt in app.module.tree.body if stmt.lineno in app.lines for name in receivers(stmt)}
    made = [found for name in names if (found := maker(ev, app.module, name)) and found[0] is not app.module]
    texts = {ast.dump(stmt) for stmt in app.module.tree.body if stmt.lineno in app.lines}  # (as written, spaced)
    return any(
        other.scope is None
        and other.keys.keys() & {URI, *POOL_KEYS}
        and (major == 3 or texts <= {ast.dump(s) for s in module.tree.body if s.lineno in other.lines})
        and (other.bind is not None or bool(bound_elsewhere(ev, other)))
        for module, _ in made
        for other in apps.get(module.display, [])
    )


def made_at_import(ev: Evaluator, app: AppConfig) -> bool:
    """An app a module-level factory makes and binds, where the top of a module a server imports the app from
    calls that factory (ae2-bridge's main.py: `flask_app = create_app()`, the WSGI server's target; not a seed
    script's): its engine is made at import."""
    scope = app.scope
    if not isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef) or scope not in app.module.tree.body:
        return False
    parse_naming(ev.project, re.escape(scope.name.encode()) + rb"\s*\(")  # (main.py may name no pool library)
    base = ev.project.base
    modules = [m for m in list(ev.project.modules.values()) if m is not None and not m.aside and served(m, base)]
    for module in modules:
        for site in module.calls.get(scope.name, []):
            if not at_import(module, site):
                continue  # (in a function, or only when the module runs as a program)
            called = ev.force(ev.eval(site.call.func, Frame(module)))
            if isinstance(called, FuncRef) and called.node is scope:
                return True
    return False


def made_again(
    ev: Evaluator,
    module: Module,
    apps: dict[str, list[AppConfig]],
    engines: Callable[[AppConfig], Iterable[ScannedPool]],
) -> Iterator[ScannedPool]:
    """An extension made again for an app whose module configures and binds it (security_monkey's maintenance
    `SQLAlchemy(app=app)`): one more engine, with that app's configuration (`engines`), at this call."""
    bound = {id(app.bind) for configs in apps.values() for app in configs if app.bind is not None}
    for site in (site for name in EXTENSIONS & module.calls.keys() for site in module.calls[name]):
        call = site.call
        given = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "app"), None)
        if id(call) in bound or not isinstance(given, ast.Name) or not is_extension(ev, module, call):
            continue
        app_module = maker(ev, module, given.id)
        found = [a for a in apps.get(app_module[0].display, []) if a.scope is None] if app_module else []
        for pool in engines(found[0]) if len(found) == 1 and found[0].bind is not None else []:
            end, at_import = call.end_lineno or call.lineno, pool.at_import and not site.functions
            yield replace(pool, file=module.display, line=call.lineno, end_line=end, at_import=at_import)
