"""Pools a framework creates from configuration: Django's `DATABASES` (Flask-SQLAlchemy's keys: scan/flask.py)."""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from pool_doctor.scan.containers import dict_of_branches, settle_options
from pool_doctor.scan.expressions import Evaluator
from pool_doctor.scan.finder import FunctionNode, Module, Project, dotted_parts, resolve_relative
from pool_doctor.scan.kinds import (
    SV,
    Branches,
    ClassRef,
    DictV,
    ExternalRef,
    Frame,
    FuncRef,
    InstanceRef,
    ListV,
    is_known,
    keyword,
)
from pool_doctor.scan.model import NOT_SET, ScannedPool
from pool_doctor.scan.names import DJANGO
from pool_doctor.scan.nodes import assign_targets
from pool_doctor.scan.statements import assigned_names, hands_names, loop_changes, updates_names
from pool_doctor.scan.values import flatten, leaf, mask
from pool_doctor.stacks.django import DjangoStack

DYNACONF = ".DjangoDynaconf"
# django-configurations' Configuration, django-environment-config's Environment (their values: scan/sources.py)
SETTINGS_CLASSES = ("configurations.", "env_config.", "composed_configuration.")  # (the last: Configurations too)
PREFIX = "ENVVAR_PREFIX_FOR_DYNACONF"
MAX_MIXINS = 8  # mixins of a mixin read for the settings class made of them

# --- Django ------------------------------------------------------------------------------------------


DJANGO_NAMES = {"INSTALLED_APPS", "SECRET_KEY", "MIDDLEWARE", "ROOT_URLCONF", "ALLOWED_HOSTS"}  # settings of its own
DUMMY = ("", "django.db.backends.", "django.db.backends.dummy")  # an ENGINE Django reads as its dummy backend


# what Django's connections are configured from while the app runs: `connections.databases` is the settings'
# own DATABASES dict (5.2 ConnectionHandler.configure_settings fills it in place and returns it)
RUNTIME = {"django.db.connections": "databases", "django.conf.settings": "DATABASES"}


def django_pools(ev: Evaluator, module: Module) -> Iterator[ScannedPool]:
    found = effective_databases(ev, module)
    if found is not None:
        yield from _aliases(ev, module, *found)
    yield from _runtime_aliases(ev, module)
    for cls in module.classes.values():  # django-configurations, django-environment-config: a class's DATABASES
        line = next((a.lineno for a in cls.body if "DATABASES" in _class_names(a)), None)
        own = ClassRef(module, cls)
        made = own if line is None or _settings_class(ev, own) else _mixed_in(ev, own)  # (what is made of it)
        if line is not None and made is not None:
            databases = ev.force(ev.classes.class_attribute(made, "DATABASES"))
            if isinstance(databases, FuncRef):  # `@classproperty def DATABASES(cls):` (a property's: its instance)
                databases = ev.force(ev.call_function(replace(databases, bound_self=made), None, Frame(module)))
            databases = _after_setup(ev, made, databases)
            yield from _aliases(ev, module, databases, line, {}, {})


def _runtime_aliases(ev: Evaluator, module: Module) -> Iterator[ScannedPool]:
    """An alias a function adds while the app runs (`connections.databases[name] = config`, or the same through
    `settings.DATABASES`): a pool of its own at that line, with the settings of the dict it is given (Falcon's
    tenant databases, each a copy of `settings.DATABASES["default"]` with the tenant's NAME and USER)."""
    innermost: dict[int, tuple[ast.Assign, FunctionNode]] = {}  # (ast.walk: an outer function before its own)
    for func in (n for n in ast.walk(module.tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)):
        for stmt in (
            n
            for n in ast.walk(func)
            if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Subscript | ast.Attribute)
        ):
            innermost[id(stmt)] = (stmt, func)
    for stmt, func in innermost.values():
        target = stmt.targets[0]
        assert isinstance(target, ast.Subscript | ast.Attribute)
        whole = isinstance(target, ast.Attribute)  # `settings.DATABASES = {...}`: every alias anew (a fixture's)
        holder = target if isinstance(target, ast.Attribute) else target.value
        if not isinstance(holder, ast.Attribute) or holder.attr not in RUNTIME.values():
            continue
        frame = ev.frame_in(module, func, stmt)  # (the owner as the function sees it: a parameter, a local import)
        owner = ev.force(ev.eval(holder.value, frame))
        if not (isinstance(owner, ExternalRef) and RUNTIME.get(owner.dotted) == holder.attr):
            continue
        if isinstance(target, ast.Subscript):
            key = ev.force(ev.eval(target.slice, frame))
            alias = key.value if is_known(key) and isinstance(key.value, str) else module.segment(target.slice)
            databases, entries = DictV({alias: ev.eval(stmt.value, frame)}, module.where(stmt)), {alias: stmt.lineno}
        else:
            databases, entries = ev.force(ev.eval(stmt.value, frame)), {}
            if not isinstance(databases, DictV):
                continue
        for pool in _aliases(ev, module, databases, stmt.lineno, {}, entries):
            yield replace(pool, at_import=False, end_line=pool.end_line if whole else stmt.end_lineno or stmt.lineno)


def _after_setup(ev: Evaluator, made: ClassRef, databases: Any) -> Any:
    """DATABASES as the class's `post_setup()` leaves them: django-configurations' importer and
    django-environment-config call it once the settings module holds the class's values, so what it changes in
    place holds (docs' `cls.DATABASES["default"].update(...)` adding psycopg's pool OPTIONS where a variable
    asks); a new dict it binds to `cls.DATABASES` reaches no setting."""
    for cls in ev.classes.class_chain(made):
        method = next((s for s in cls.node.body if isinstance(s, ast.FunctionDef) and s.name == "post_setup"), None)
        if method is None or not method.args.args:
            continue
        owner = f"{method.args.args[0].arg}.DATABASES"
        targets = (t for n in ast.walk(method) if isinstance(n, ast.Assign | ast.AnnAssign) for t in assign_targets(n))
        if any(isinstance(t, ast.Attribute) and ".".join(dotted_parts(t) or []) == owner for t in targets):
            return databases
        return ev.returned_with(FuncRef(cls.module, method, bound_self=made, owner=cls), owner, databases)
    return databases


CONFIGURATION = re.compile(r"""setdefault\(\s*['"]DJANGO_CONFIGURATION['"]\s*,\s*['"](\w+)['"]""")


def _settings_class(ev: Evaluator, made: ClassRef) -> bool:
    return ev.classes.derives_from(made, lambda dotted: dotted.startswith(SETTINGS_CLASSES))


def _mixed_in(ev: Evaluator, mixin: ClassRef) -> ClassRef | None:
    """The first settings class of the project that derives from this one, directly or through other mixins
    (donate-wagtail's `Database` mixin, whose DATABASES property `Production(Database, Configuration)` has): what
    its DATABASES are read on."""
    project = ev.project
    made_of: list[ClassRef] = []
    names, seen = [mixin.node.name], {mixin.node.name}  # (through mixins of it: ResonantGeoData's)
    for name in names[:MAX_MIXINS]:
        for path in sorted(project.class_bases.get(name.encode(), ())):
            found = project.parse(path)
            if found is None or found.aside:
                continue
            for cls in found.classes.values():
                made = ClassRef(found, cls)
                if not any(k.node is mixin.node for k in ev.classes.class_chain(made)[1:]):
                    continue
                if _settings_class(ev, made):
                    made_of.append(made)
                elif cls.name not in seen:
                    names.append(cls.name)
                    seen.add(cls.name)
    named = _configuration(project)  # (the one `DJANGO_CONFIGURATION` names by default in manage.py, wsgi.py)
    return next((m for m in made_of if m.node.name == named), made_of[0] if made_of else None)


def _configuration(project: Project) -> str | None:
    """The class `os.environ.setdefault("DJANGO_CONFIGURATION", "Production")` names, in the modules read."""
    served = lambda m: m.path.stem not in ("wsgi", "asgi")  # noqa: E731  (what the server runs first, then manage.py)
    for module in sorted((m for m in project.modules.values() if m is not None and not m.aside), key=served):
        found = CONFIGURATION.search(module.source) if "DJANGO_CONFIGURATION" in module.source else None
        if found:
            return found.group(1)
    return None


def _class_names(stmt: ast.stmt) -> list[str]:
    """The names a settings class's statement gives it: assigned, or a property's (`@classproperty def X(cls)`)."""
    if isinstance(stmt, ast.FunctionDef) and any(
        (dotted_parts(d) or [""])[-1] in ("property", "classproperty", "cached_property") for d in stmt.decorator_list
    ):
        return [stmt.name]
    return [name for name, _ in assigned_names(stmt)]


def _maybe_django(project: Project, module: Module) -> bool:
    """Whether an unread DATABASES may be Django's: the project's code names Django, or the module is a settings
    module by its other names, a fragment of one (its star imports), or the one file the user names."""
    return bool(
        DJANGO in project.mentions or module.star_imports or project.single_file or DJANGO_NAMES & module.assigns.keys()
    )


def _aliases(
    ev: Evaluator, module: Module, databases: Any, first_line: int, touched: dict[str, int], entries: dict[str, int]
) -> Iterator[ScannedPool]:
    """Each alias of a DATABASES value (effective_databases') as a pool."""
    prefix = dynaconf_prefix(ev, module)
    condition = None
    if isinstance(databases, Branches):  # set under a test: Django has no database on the other side
        options, default = settle_options(ev, databases)
        dicts = [(index, when, o) for index, (when, o) in enumerate(options) if isinstance(o, DictV)]
        unset = all(isinstance(o, DictV) or (isinstance(o, SV) and o.expr == NOT_SET) for _, o in options)
        if dicts and unset:  # a dict where it is set; else what the scan could not read stays unresolved
            # several (if/else, match): each alias's keys per test; set only under tests none of which is the
            # path with no variable set: the pool is under them
            chosen = next((at for at, (index, _, _) in enumerate(dicts) if index == default), None)
            databases = dict_of_branches([(when, o) for _, when, o in dicts], chosen)
            if chosen is None:
                condition = dicts[0][1]
                for _, when, _ in dicts[1:]:
                    condition = ev.conditions.either(condition, when)
    if not isinstance(databases, DictV):
        if not _maybe_django(ev.project, module):
            return  # (read, a dict of Django's backends says so itself; Neutron-Bot's frozenset of module names)
        yield ScannedPool(
            file=module.display,
            line=first_line,
            end_line=first_line,
            stack="django",
            call="DATABASES",
            settings={},
            unresolved=[_expr(databases) or "DATABASES"],
            at_import=True,
        )
        return
    present = [(alias, *_present(ev, ev.force(value), condition)) for alias, value in databases.items.items()]
    made = {alias: _written_dict(ev, databases.items[alias]) for alias, _, _ in present}  # (an alias some branches
    shared = Counter((w.file, w.line) for w in made.values() if w is not None)  # leave out is one, for the others)
    for alias, value, where in present:
        written = made[alias]
        if written is not None:
            here = written.file == module.display and written.line and shared[written.file, written.line] == 1
            own = written.line if written.file == module.display and written.line else first_line  # (a loop's)
            line = written.line if here else touched.get(alias, own)  # (not a helper's for several aliases:
            line = entries.get(alias, line)  # usaspending's): the DATABASES entry or change naming it
            end_line = written.end_line if written.file == module.display and written.end_line else line
            unresolved: list[str] = []
            settings = {key: mask(key, leaf(item, ev)) for key, item in flatten(value, ev, "", unresolved).items()}
            engine = settings.get("ENGINE")
            if engine is None and isinstance(value, DictV) and value.empty_unless:  # `env.db()` of an empty
                name = value.empty_unless[0]  # default: `{}` until the variable names a database (kukkuu's)
                engine = settings["ENGINE"] = SV("", written.origin, name, source=f"${name}")
            dummy = engine is None or (engine.known and engine.value in DUMMY)
            if not unresolved and dummy and (engine is None or not engine.env):
                continue  # Django's dummy backend (5.2 ConnectionHandler.configure_settings): it opens nothing
            if engine is not None and dummy and engine.env:  # a placeholder the deployment's variable replaces
                why = f"Django's dummy backend unless {engine.env} names one"
                settings["ENGINE"] = replace(engine, value=None, known=False, expr=why, source=None)
            if prefix is not None:  # (a variable the code reads stays the one named)
                settings = {
                    key: item
                    if item.env
                    else replace(item, env=f"{prefix}_DATABASES__{alias}__{key.replace('.', '__')}")
                    for key, item in settings.items()
                }
            yield ScannedPool(
                file=module.display,
                line=line,
                end_line=end_line,
                stack="django",
                call=f"DATABASES[{alias!r}]",
                settings=settings,
                unresolved=unresolved,
                at_import=True,
                condition=where,
            )
        elif not isinstance(value, ListV) and not is_known(value):  # (a list, a literal: no database's settings,
            yield ScannedPool(  # ivre's DATABASES of the tests each backend skips, in a project with no Django)
                file=module.display,
                line=first_line,
                end_line=first_line,
                stack="django",
                call=f"DATABASES[{alias!r}]",
                settings={},
                unresolved=[_expr(value) or f"DATABASES[{alias!r}]"],
                at_import=True,
            )


def _present(ev: Evaluator, value: Any, condition: str | None) -> tuple[Any, str | None]:
    """An alias some paths leave out (`if UPSTREAM_URL: DATABASES["upstream"] = ...`), as the paths that have it
    leave it, and the tests it exists under: its settings hold only where there is a pool (treeherder's loop gives
    every alias CONN_MAX_AGE 300, never "not set")."""
    if not isinstance(value, Branches):
        return value, condition
    options, default = settle_options(ev, value)
    kept = [(at, when, o) for at, (when, o) in enumerate(options) if not (isinstance(o, SV) and o.expr == NOT_SET)]
    if not kept or len(kept) == len(options):
        return value, condition
    where = kept[0][1]
    for _, when, _ in kept[1:]:
        where = ev.conditions.either(where, when)
    where = ev.conditions.both(condition, where) if condition else where
    if len(kept) == 1:
        return kept[0][2], where
    chosen = next((index for index, (at, _, _) in enumerate(kept) if at == default), None)
    return Branches([(when, o) for _, when, o in kept], default=chosen), where


def dynaconf_prefix(ev: Evaluator, module: Module) -> str | None:
    """The prefix of the variables that override a settings module dynaconf wraps (`settings =
    DjangoDynaconf(__name__, ENVVAR_PREFIX_FOR_DYNACONF="PULP")` at its end): each upper-case setting is then
    `PULP_<NAME>`, a key inside it `__<key>` (dynaconf 3.2 contrib/django_dynaconf_v2: the keywords, else the
    module's own ENVVAR_PREFIX_FOR_DYNACONF, else "DJANGO"). None: no such call, or a prefix the scan cannot read."""
    for stmt in module.tree.body:
        call = stmt.value if isinstance(stmt, (ast.Assign, ast.Expr)) else None
        if not isinstance(call, ast.Call):
            continue
        made = ev.force(ev.eval(call.func, Frame(module)))
        if not (
            isinstance(made, ExternalRef) and made.dotted.startswith("dynaconf.") and made.dotted.endswith(DYNACONF)
        ):
            continue
        given = keyword(call, PREFIX)
        if given is not None:
            prefix = ev.force(ev.eval(given, Frame(module)))
        else:
            prefix = (
                ev.force(ev.scopes.global_value(module, PREFIX)) if PREFIX in module.assigns else SV("DJANGO", None)
            )
        return prefix.value if is_known(prefix) and isinstance(prefix.value, str) else None
    return None


def django_overrides(project: Project, modules: list[Module]) -> set[Path]:
    """Settings files that only override another's DATABASES: ones a settings module star-imports after its own
    `DATABASES = ...` (`from .local_settings import *` at its end), or after a star import that gives it one
    (junction's package: `from .common import *`, then `if "DYNO" in os.environ: from .heroku import *`). Their
    DATABASES is the importer's pool, not one of their own; a base module star-imported before the importer sets
    DATABASES stays its own (other settings modules may run on it as it is)."""
    found: set[Path] = set()
    importers: dict[Path, list[Module]] = {}  # each module's star-importers
    for module in modules:
        assigned = module.assigns.get("DATABASES")
        first = assigned[0].line if assigned else None
        first_sides: tuple[tuple[ast.expr, bool], ...] = assigned[0].conditions if assigned else ()
        for stmt, sides in module.module_statements:
            if not (isinstance(stmt, ast.ImportFrom) and any(a.name == "*" for a in stmt.names)):
                continue
            base = resolve_relative(module, stmt.module, stmt.level)
            source = project.module_by_name(base, module.path) if base is not None else None
            if source is None or source is module:
                continue
            importers.setdefault(source.path, []).append(module)
            if any((test, not taken) in first_sides for test, taken in sides):
                continue  # the other side of an if (bluebutton's base_local or base_ec2): no override, its own
            if first_sides and sides and set(sides) != set(first_sides):
                continue  # each under a test of its own (troupon's `if not HEROKU:` development, `if HEROKU:` production)
            if first is not None and stmt.lineno > first and (assigned or "DATABASES" in source.assigns):
                found.add(source.path)  # (after a star import's DATABASES, one that replaces it: changing the
                # shared dict in place, `from .databases import DATABASES`, the scan reads as its own alias)
            elif first is None and "DATABASES" in source.assigns:
                first, first_sides = stmt.lineno, sides  # (the importer's DATABASES is this one's from here on)
    for module in modules:  # a fragment (DATABASES, no INSTALLED_APPS of its own or star-imported) settings modules
        fragment = "DATABASES" in module.assigns and not _has_apps(project, module)  # that set it take in, where none
        takers = _through_stars(module, importers)  # runs on it as it is (a settings package's __init__ may)
        unchanged = any(_has_apps(project, other) and not _sets_databases(other) for other in takers)
        if fragment and any(_sets_databases(other) for other in takers) and not unchanged:
            found.add(module.path)
    return found


def _has_apps(project: Project, module: Module, seen: set[Path] | None = None) -> bool:
    """Whether a settings module has INSTALLED_APPS, its own or through its star imports (adhocracy-plus's dev.py
    from base.py, django-bims' dev_docker.py from dev.py from base.py): a whole settings module, not a fragment.
    Each module is looked at once (settings modules that star-import each other)."""
    seen = set() if seen is None else seen
    if module.path in seen:
        return False
    seen.add(module.path)
    if "INSTALLED_APPS" in module.assigns:
        return True
    stars = (project.module_by_name(star, module.path) for star in module.star_imports)
    return any(source is not None and _has_apps(project, source, seen) for source in stars)


def _through_stars(module: Module, edges: dict[Path, list[Module]]) -> list[Module]:
    """The modules `edges` lead to from this one, directly or through others: the modules that star-import it
    (a settings package's __init__)."""
    seen: dict[Path, Module] = {}
    todo = list(edges.get(module.path, []))
    while todo:
        other = todo.pop()
        if other.path not in seen and other is not module:
            seen[other.path] = other
            todo.extend(edges.get(other.path, []))
    return list(seen.values())


def _sets_databases(module: Module) -> bool:
    """Whether a settings module assigns DATABASES or changes it (`DATABASES["default"].update(...)`)."""
    return "DATABASES" in module.assigns or any(_database_path(stmt) for stmt, _ in module.module_statements)


def _written_dict(ev: Evaluator, value: Any) -> DictV | None:
    """The dict a database's settings are: the value, or (branches) the one with no environment set, else the
    first branch that is one and may name PostgreSQL (the side judged: SecObserve's SQLite dict or the one a
    variable names)."""
    value = value if isinstance(value, Branches) else ev.force(value)
    if isinstance(value, DictV):
        return value
    if not isinstance(value, Branches):
        return None
    options, default = settle_options(ev, value)
    raw = [(when, ev.force(option)) for when, option in value.options]
    if len(options) == 1 and all(isinstance(option, DictV) for _, option in raw):  # (dicts joined into one, at
        options, default = raw, value.default  # the first's line)
    dicts = [
        o for index, (_, o) in enumerate(options) if isinstance(o, DictV) and index == default and not _is_sqlite(ev, o)
    ]  # (SQLite where no variable is set, PostgreSQL where one is: that side's entry makes the PostgreSQL pool)
    dicts += sorted((o for _, o in options if isinstance(o, DictV)), key=lambda o: not _may_be_postgres(ev, o))
    return dicts[0] if dicts else None


def _is_sqlite(ev: Evaluator, database: DictV) -> bool:
    engine = ev.force(database.items.get("ENGINE"))
    return is_known(engine) and isinstance(engine.value, str) and "sqlite" in engine.value


def _may_be_postgres(ev: Evaluator, database: DictV) -> bool:
    engine = ev.force(database.items.get("ENGINE"))
    return not (is_known(engine) and isinstance(engine.value, str) and not DjangoStack.postgres_backend(engine.value))


def effective_databases(ev: Evaluator, module: Module) -> tuple[Any, int, dict[str, int], dict[str, int]] | None:
    """DATABASES as this settings module leaves it, its statements run (scan/flow.py): its assignments (or
    what it star-imports), then every `DATABASES["x"]... = ` and `.update()` after them, each under its tests.
    None when the module neither assigns nor changes it."""
    assigned = "DATABASES" in module.assigns
    mutations = [
        (stmt, cond)
        for stmt, cond in module.module_statements
        if _database_path(stmt) is not None or _handed_locals(ev, module, stmt)
    ]
    if not assigned and not mutations:
        return _exported(ev, module) or _brought(ev, module)
    sequences = (ast.List, ast.Tuple, ast.Set, ast.ListComp, ast.SetComp)  # (django-mojo's list of RDS clusters)
    if not mutations and all(isinstance(a.value, sequences) for a in module.assigns["DATABASES"]):
        return None  # a list named DATABASES, no Django setting (a dict of aliases)
    handed = any(_handed_locals(ev, module, stmt) for stmt, _ in mutations)  # (django_heroku makes one)
    bound = handed or module.star_imports or "DATABASES" in module.imports or "globals()" in module.source
    stored = any(
        isinstance(n, ast.Name) and n.id == "DATABASES" and isinstance(n.ctx, ast.Store) for n in ast.walk(module.tree)
    )
    if not assigned and not bound and not stored:
        return None  # it changes a DATABASES it never has: a file another runs in its names (split-settings')
    databases = _unless_absent(ev, module, ev.force(ev.scopes.global_value(module, "DATABASES", module.tree)))
    first_line = module.assigns["DATABASES"][-1].line if assigned else mutations[0][0].lineno
    touched: dict[str, int] = {}
    entries: dict[str, int] = {}  # aliases whose DATABASES entry names a dict written elsewhere
    keyed: dict[str, int] = {}  # each alias's key in the last dict assigned
    written = module.assigns["DATABASES"][-1].value if assigned else None
    if isinstance(written, ast.Call):
        return databases, first_line, touched, entries  # `DATABASES = make_databases(...)`: its aliases are made there
    for assignment in module.assigns.get("DATABASES", []):  # (each of an if/elif's, the last's kept)
        dicts = assignment.value if isinstance(assignment.value, ast.Dict) else ast.Dict([], [])
        for key, entry in zip(dicts.keys, dicts.values):  # (a key Django names: usaspending's DEFAULT_DB_ALIAS)
            name = ev.force(ev.eval(key, Frame(module))) if key is not None else None
            if is_known(name) and isinstance(name.value, str) and key is not None:
                keyed[name.value] = key.lineno
            if is_known(name) and isinstance(name.value, str) and isinstance(entry, ast.Dict):
                entries.pop(name.value, None)  # (a later dict written there: the alias's own line)
            elif is_known(name) and isinstance(name.value, str):
                entries[name.value] = entry.lineno  # `{"default": _config}`: this entry, not where _config is
    for stmt, _ in mutations:
        path = _database_path(stmt)
        if path and path[0] != "*":
            touched.setdefault(path[0], stmt.lineno)
    for alias, line in keyed.items():  # an alias whose dict another module's DATABASES gives (star-imported
        touched.setdefault(alias, line)  # after this one's: saas-fundation's): its entry here
    return databases, first_line, touched, entries


def _unless_absent(ev: Evaluator, module: Module, databases: Any) -> Any:
    """DATABASES where the module leaves it unset, when it star-imports a module the tree lacks
    (tacticalrmm's `from .local_settings import *`, written at install time): what that module sets, unknown."""
    absent = [s for s in module.star_imports if ev.project.module_by_name(s, module.path) is None]
    if not absent or not isinstance(databases, Branches):
        return databases
    star = next(n for n in ast.walk(module.tree) if isinstance(n, ast.ImportFrom) and n.names[0].name == "*")
    given = SV(None, module.where(star), known=False, expr=f"DATABASES (what {absent[-1]} sets; the tree lacks it)")
    options = [(when, given if isinstance(v, SV) and v.expr == NOT_SET else v) for when, v in databases.options]
    return Branches(options, default=databases.default)


def _exported(ev: Evaluator, module: Module) -> tuple[Any, int, dict[str, int], dict[str, int]] | None:
    """DATABASES of a settings class the module exports its settings from (readthedocs.org's
    `DockerSettings.load_settings(__name__)`, which sets each upper-case member of an instance, a property's
    value included, on the module): that instance's, when it is a dict."""
    for stmt in module.tree.body:
        call = stmt.value if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) else None
        if not (call and isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name)):
            continue
        if not any(isinstance(arg, ast.Name) and arg.id == "__name__" for arg in call.args):
            continue
        cls = ev.force(ev.eval(call.func.value, Frame(module)))
        if isinstance(cls, ClassRef):
            databases = ev.force(ev.attribute(InstanceRef(cls, {}), "DATABASES", None, Frame(module)))
            if isinstance(databases, DictV):
                return databases, call.lineno, {}, {}
    return None


def _brought(ev: Evaluator, module: Module) -> tuple[Any, int, dict[str, int], dict[str, int]] | None:
    """`from .secret import DATABASES` of a module of the project's package the tree lacks (dissemin's secret.py,
    copied from a template at deploy time): the deployment's DATABASES, unknown, at the import."""
    owner = (module.imports.get("DATABASES") or "").rpartition(".")[0]
    package = owner.rpartition(".")[0]
    settings = "INSTALLED_APPS" in module.source or "settings" in module.name  # (not a helper's import of them)
    if not package or not settings or ev.project.module_by_name(owner, near=module.path) is not None:
        return None
    if not module.name.startswith(f"{package}.") and ev.project.module_by_name(package, near=module.path) is None:
        return None  # (an installed library's settings, not a file of the project's)
    at = next((n for n in ast.walk(module.tree) if isinstance(n, ast.ImportFrom) and "DATABASES" in _imported(n)), None)
    if at is None:
        return None  # (`import site.secret.conf as DATABASES`: a module, not its DATABASES)
    why = f"DATABASES of {owner}, which the tree does not have"
    return SV(None, module.where(at), known=False, expr=why), at.lineno, {}, {}


def _imported(node: ast.ImportFrom) -> list[str]:
    return [alias.asname or alias.name for alias in node.names]


def _handed_locals(ev: Evaluator, module: Module, stmt: ast.stmt) -> bool:
    """`django_heroku.settings(locals())`: a library call that may set the module's DATABASES; and
    `vars().update(config_from_yaml)` (openedx's)."""
    call = stmt.value if isinstance(stmt, ast.Expr) else None
    if isinstance(call, ast.Call) and updates_names(call):
        return True
    if not (isinstance(call, ast.Call) and hands_names(call)):
        return False
    func = ev.force(ev.eval(call.func, Frame(module)))
    return isinstance(func, ExternalRef) and func.dotted == "django_heroku.settings"


def _expr(value: Any) -> str | None:
    return value.expr if isinstance(value, SV) else None


def _database_path(stmt: ast.stmt) -> list[str] | None:
    """`DATABASES["a"]["B"] = v` -> ["a", "B"]; `DATABASES["a"].update(...)` -> ["a"]; else None. A loop's: its
    body's first (`for key, value in OVERRIDES.items(): DATABASES["default"][key] = value`), or any alias's for a
    loop over DATABASES itself (open-forms' `for db_config in DATABASES.values(): db_config[...] = 60`)."""
    if isinstance(stmt, (ast.For, ast.AsyncFor, ast.While)):
        inner = (_database_path(s) for s in ast.walk(stmt) if isinstance(s, ast.stmt) and s is not stmt)
        found = next((path for path in inner if path is not None), None)
        each = isinstance(stmt, ast.For) and any(name == "DATABASES" for name, _ in loop_changes(stmt))
        return found if found is not None or not each else ["*"]  # (`for db in DATABASES.values(): db[...] = 60`)
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
        return _subscript_path(stmt.targets[0], allow_root=False)
    if (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Call)
        and isinstance(stmt.value.func, ast.Attribute)
        and stmt.value.func.attr == "update"
    ):
        return _subscript_path(stmt.value.func.value, allow_root=True)
    return None


def _subscript_path(node: ast.expr, allow_root: bool) -> list[str] | None:
    path: list[str] = []  # ("*" for a key the code computes: `DATABASES["default"][key] = value` in a loop)
    while isinstance(node, ast.Subscript):
        literal = isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str)
        path.append(node.slice.value if literal else "*")  # type: ignore[attr-defined]
        node = node.value
    if isinstance(node, ast.Name) and node.id == "DATABASES" and (path or allow_root):
        return path[::-1]
    return None
