"""Pyramid's Configurator, as the settings an app's engine reads through it: `config.registry.settings` and
`config.get_settings()` (after `Configurator(settings=settings)` in a PasteDeploy app factory, scan/paste.py).

Pyramid 2.0: `Configurator(registry=None, package=None, settings=None, ...)` made without a registry makes one and
sets its `settings` to `Settings(settings)`, a copy of the dict given (plus Pyramid's own `pyramid.*` keys); given
a registry, it sets nothing, so its settings are the registry's. `get_settings()` returns `registry.settings`;
`add_settings(settings=None, **kw)` updates them with the dict, then the keywords. What an included module does to
them (`config.include(...)`) is not read; the includes themselves are followed (`included`, for scan/pools.py),
each spec's once (`once_per_spec`: pyramid 2.0.2 `Configurator.include` runs an includeme only where
`action_state.processSpec(spec)` has not seen it, an action state every included Configurator shares).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeGuard
from weakref import WeakKeyDictionary

from pool_doctor.scan import containers
from pool_doctor.scan.callers import newly_read
from pool_doctor.scan.finder import CallSite, Module, Project, resolve_relative
from pool_doctor.scan.kinds import DictV, Frame, FuncRef, HolderV, Interpreter, env_of, is_known, unknown
from pool_doctor.scan.model import ScannedPool
from pool_doctor.scan.names import last_name
from pool_doctor.scan.paste import PasteSettings

CONFIGURATOR = "pyramid.config.Configurator"
REGISTRY = "pyramid.registry.Registry"
APPSETTINGS = "pyramid.paster.get_appsettings"  # a script's settings from an ini file (scan/paste.py)
MUTATORS = {"add_settings"}
_DIRECTIVES: WeakKeyDictionary[Project, tuple[set[Path], dict[str, FuncRef]]] = WeakKeyDictionary()


def calls(ev: Interpreter, paste: PasteSettings) -> dict[str, Callable[[ast.Call, Frame], Any]]:

    def app_settings(node: ast.Call, frame: Frame) -> Any:
        uri, name = ev.arg(node, frame, 0, "config_uri"), ev.arg(node, frame, 1, "name")
        named = name.value if is_known(name) and isinstance(name.value, str) else None

        def read(uri: Any) -> Any:  # (each file a test picks: npui's `$NP_INI_FILE`, else production.ini)
            found = paste.app_settings(uri.value, named) if is_known(uri) and isinstance(uri.value, str) else None
            return (
                found if found is not None and (name is None or named) else unknown(frame.module, node, env=env_of(uri))
            )

        return containers.lift(ev, [uri], read)

    return {CONFIGURATOR: lambda node, frame: configurator(ev, node, frame), APPSETTINGS: app_settings}


def configurator(ev: Interpreter, node: ast.Call, frame: Frame) -> HolderV:
    registry = ev.arg(node, frame, 0, "registry")
    given = ev.arg(node, frame, 2, "settings")
    if registry is not None and not _none(registry):  # its settings are that registry's
        settings: Any = unknown(frame.module, node)
    elif given is None or _none(given):
        settings = DictV({}, frame.module.where(node))
    else:
        settings = given
    return HolderV(
        CONFIGURATOR,
        {"registry": HolderV(REGISTRY, {"settings": settings})},
        {"get_settings": ("registry", "settings")},
    )


def mutated(ev: Interpreter, holder: HolderV, method: str, call: ast.Call, frame: Frame) -> HolderV:
    """`config.add_settings({...}, key=value)`: the Configurator whose registry's settings have them."""
    registry = holder.attrs.get("registry")
    if holder.dotted != CONFIGURATOR or method not in MUTATORS or not isinstance(registry, HolderV):
        return holder
    given = [kw.value for kw in call.keywords if kw.arg == "settings"]  # add_settings(settings={...})
    update = ast.copy_location(
        ast.Call(call.func, [*call.args, *given], [kw for kw in call.keywords if kw.arg != "settings"]), call
    )
    current = ev.force(registry.attrs.get("settings"))
    settings = containers.lift(ev, [current], lambda d: containers.mutated(ev, d, "update", update, frame))
    registry = replace(registry, attrs={**registry.attrs, "settings": settings})
    return replace(holder, attrs={**holder.attrs, "registry": registry})


def _none(value: Any) -> bool:
    return is_known(value) and value.value is None


def included(
    project: Project, module: Module, names: set[str], call: ast.Call
) -> tuple[ast.expr | None, FuncRef | None]:
    """What `config.include(x)` calls with the Configurator, where it may make a pool (a function of `names`): the
    function named (`config.include(configure_db)`: None, the module's own name reads it), or the `includeme` of a
    module named by its dotted name (`"pkg.models"`, or `".models"` from the module's package)."""
    directive = directives(project).get(last_name(call.func) or "")
    if directive is not None and last_name(call.func) != "include":  # `config.db_sanity_check()`
        named = directive.node.name if isinstance(directive.node, ast.FunctionDef | ast.AsyncFunctionDef) else ""
        return (ast.Name(named), directive) if named in names else (None, None)
    given = call.args[0] if len(call.args) == 1 else None
    if isinstance(given, ast.Name) and given.id in names:
        return given, None
    if not (isinstance(given, ast.Constant) and isinstance(given.value, str) and "includeme" in names):
        return None, None
    dots = len(given.value) - len(given.value.lstrip("."))
    dotted = resolve_relative(module, given.value[dots:] or None, dots)
    source = project.module_by_name(dotted, module.path) if dotted else None
    func = source.functions.get("includeme") if source is not None else None
    return (ast.Name("includeme"), FuncRef(source, func)) if source is not None and func is not None else (None, None)


def include_sites(project: Project, module: Module) -> list[CallSite]:
    """The module's calls that run a function with the Configurator: `config.include(...)`, and a directive's."""
    return [site for name in ("include", *directives(project)) for site in module.calls.get(name, [])]


def directives(project: Project) -> dict[str, FuncRef]:
    """The directives the project adds to its Configurator (`config.add_directive("db_sanity_check", check)`):
    `config.db_sanity_check()` calls check(config). Pyramid 2.0's `add_directive(name, directive)`."""
    seen, found = _DIRECTIVES.setdefault(project, (set(), {}))
    for module in newly_read(project, seen):
        for site in module.calls.get("add_directive", []):
            name, func = [*site.call.args, None, None][:2]
            if isinstance(name, ast.Constant) and isinstance(name.value, str) and isinstance(func, ast.Name):
                made = _function(project, module, func.id)  # (its own, or one it imports from the project)
                found.update({name.value: made} if made is not None else {})
    return found


def _function(project: Project, module: Module, name: str) -> FuncRef | None:
    own = module.functions.get(name)
    if own is not None:
        return FuncRef(module, own)
    owner, _, attr = module.imports.get(name, "").rpartition(".")
    source = project.module_by_name(owner, module.path) if owner else None
    made = source.functions.get(attr) if source is not None else None
    return FuncRef(source, made) if source is not None and made is not None else None


def once_per_spec(project: Project, pools: list[ScannedPool]) -> list[ScannedPool]:
    """A pool an app's function reaches through one Configurator's includes (`config.include("app.db")`, and
    again through `config.include("app.events")` whose includeme includes "app.db"), the same way once past
    them, is made once: the first (amnesia's). Another Configurator has a registry (and an action state) of its
    own, and `config.commit()` starts a new action state: a function that makes two, or commits, keeps them all."""
    modules = {m.display: m for m in project.modules.values() if m is not None}
    seen: set[tuple[str, int, str, tuple[str, ...], str | None]] = set()
    kept = []
    for pool in pools:
        steps = [pool.where, *pool.via]
        included = 0  # the includes it goes through first: what follows them is the includeme's own making
        while included < len(steps) - 1 and _includes(modules, steps[included]):
            included += 1
        module = modules.get(pool.file)
        if not included or module is None:
            kept.append(pool)
            continue
        # the function it is in, or the module's body (a Configurator set up at import)
        scope: ast.AST = next((n for n in ast.walk(module.tree) if _around(n, pool.line)), module.tree)
        made = [n for n in ast.walk(scope) if isinstance(n, ast.Call) and last_name(n.func) == "Configurator"]
        commits = any(_calls(n, "commit") is not None for n in ast.walk(scope))
        if not commits and len(made) < 2:  # (one registry throughout)
            at = (n for n in ast.walk(scope) if getattr(n, "lineno", 0) == pool.line)
            receiver = next((r for n in at if (r := _calls(n, "include")) is not None), "")
            key = (pool.file, getattr(scope, "lineno", 0), receiver, tuple(steps[included:]), pool.condition)
            if key in seen:
                continue
            seen.add(key)
        kept.append(pool)
    return kept


def _calls(node: ast.AST, method: str) -> str | None:
    """The receiver's text of a call of `method` (`config` of `config.include(...)`), else None."""
    func = node.func if isinstance(node, ast.Call) else None
    return ast.unparse(func.value) if isinstance(func, ast.Attribute) and func.attr == method else None


def _includes(modules: dict[str, Module], where: str) -> bool:
    """Whether the line at `where` (file:line) calls a Configurator's `include`."""
    file, _, line = where.rpartition(":")
    module = modules.get(file)
    if module is None or not line.isdigit():
        return False
    lines = module.source.splitlines()
    return 0 < int(line) <= len(lines) and ".include(" in lines[int(line) - 1]


def _around(node: ast.AST, line: int) -> TypeGuard[ast.FunctionDef | ast.AsyncFunctionDef]:
    return isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.lineno <= line <= (node.end_lineno or 0)
