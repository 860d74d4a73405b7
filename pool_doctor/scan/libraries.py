"""Pools a library makes inside itself, from arguments the app gives it: the scan reads the project's code only,
so such a pool is named in a warning, never counted. Each entry was read in the library's source:

- mlflow's `mlflow.store.db.utils.create_sqlalchemy_engine(db_uri)`: `sqlalchemy.create_engine(db_uri,
  **pool_kwargs)`, pool_size, max_overflow, pool_recycle, echo and poolclass from MLFLOW_SQLALCHEMYSTORE_*
  variables;
- advanced-alchemy's `SQLAlchemyAsyncConfig` / `SQLAlchemySyncConfig`: `get_engine()` calls
  `self.create_engine_callable(self.connection_string, **self.engine_config_dict)`, unless it was given an
  `engine_instance` (returned as it is); litestar 2.25 re-exports them from `litestar.plugins.sqlalchemy` and
  `litestar.contrib.sqlalchemy.plugins`;
- grand's `SQLBackend(db_url=..., sqlalchemy_kwargs=...)`: `sqlalchemy.create_engine(db_url,
  **sqlalchemy_kwargs)` in its constructor;
- sqlalchemy-helpers 2.0's `DatabaseManager(uri, ..., engine_args=...)` / `AsyncDatabaseManager`:
  `create_engine(url=uri, **engine_args)` (`create_async_engine`) in the constructor; its Flask
  `DatabaseExtension` makes one from `app.config["SQLALCHEMY_DATABASE_URI"]` (default `sqlite:///:memory:`) and
  no engine_args at a request's start; its FastAPI `manager_from_config(db_settings)` from
  `db_settings["sqlalchemy"]` (anitya, mirrormanager2, fmn);
- c2cwsgiutils 6.1's `c2cwsgiutils.db`: `setup_session` and `init` (`engine_from_config` of the Pyramid
  settings under a master and a slave prefix), `create_session` (`create_engine(url, **engine_config)`),
  `get_engine(settings, prefix)` (c2cgeoportal's main engines);
- litestar-asyncpg 0.5's `AsyncpgConfig(pool_config=PoolConfig(...))`: `create_pool()` calls
  `asyncpg.create_pool(**self.pool_config_dict)` at the app's start, unless it was given a `pool_instance`;
- asyncpgsa 0.27's `PG()`: its `init(*args, **kwargs)` calls `asyncpg.create_pool` with them (pgsingleton.py;
  `asyncpgsa.create_pool` itself is read as asyncpg's);
- clld 11.5's `clld.web.app` Pyramid include (`config.include("clld.web.app")`, or clldmpg 4.5's
  `config.include("clldmpg")`, which includes it): `engine_from_config(config.registry.settings, 'sqlalchemy.')`
  in its `includeme` (glottolog3's web app);
- pyramid_basemodel 1.0's and pyramid_sqlalchemy 1.6's Pyramid includes (`config.include("pyramid_basemodel")`):
  `engine_from_config(settings, "sqlalchemy.")` in their `includeme` (ntorque);
- c2cgeoportal_geoportal 2.9's Pyramid include (`config.include("c2cgeoportal_geoportal")`): its `includeme`
  calls `init_db_sessions`, c2cwsgiutils' `setup_session(config, "sqlalchemy", "sqlalchemy_slave")` and a
  `create_session` per `dbsessions` entry of the settings (geoportailv3);
- TurboGears 2.5's app configuration with `use_sqlalchemy = True` (`self.use_sqlalchemy = True` in an
  `AppConfig`, `base_config["use_sqlalchemy"] = True`, a blueprint's dict): `engine_from_config(conf,
  "sqlalchemy.")` of the ini's app section at start-up (tg/configurator/components/sqlalchemy.py; SAUCE,
  Kallithea);
- safir 9.3's `safir.database.create_database_engine(url, password)` (`create_async_engine(url)`, SQLAlchemy's
  defaults, `isolation_level` if given), `db_session_dependency.initialize(url, password)` (the same) and
  `run_migrations_online(metadata, url, password)` (gafaelfawr's engines);
- pools of libraries pool-doctor has no stack for (UNREAD: aiopg's `create_pool` and `aiopg.sa.create_engine`,
  postgres.py's `Postgres`, peewee's `playhouse.pool` databases, databases' `Database`), each named where it is
  called by its own name, and a project class that subclasses one at its `class` line;
- APScheduler 3.x's `SQLAlchemyJobStore(url=...)` (apscheduler.jobstores.sqlalchemy): `create_engine(url,
  **(engine_options or {}))` in its constructor, unless it was given an `engine` (ndscheduler's datastores, a
  project subclass calling `super().__init__(url=...)`);
- TurboGears 1.x's `turbogears.update_config(configfile=...)`: the config file's `sqlalchemy.dburi` and
  `sqlalchemy.*` options, which `turbogears.database.get_engine()` makes the app's engine of (`bind_metadata()`
  at start-up when `sqlalchemy.dburi` is set; beaker's server.cfg);
- oslo.db 18.1's `enginefacade.transaction_context()` (a context manager of its own) and `enginefacade.configure(
  **options)` (the global one's, which `enginefacade.writer` / `reader` use): `engines.create_engine(...)` on
  first use, from the `[database]` options (pool_pre_ping always True, pool_recycle from
  connection_recycle_time, 3600 by default; aodh, cloudkitty, masakari);
- dcicsnovault 11.36's `snovault.app.configure_dbsession(config)` (called, or Pyramid's
  `config.include(configure_dbsession)`) and `configure_engine(settings)`: `engine_from_config(settings,
  'sqlalchemy.', isolation_level=..., connect_args={'application_name': ...})` of the Pyramid settings.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from pool_doctor.scan.expressions import Evaluator
from pool_doctor.scan.finder import Module, dotted_parts, last_name
from pool_doctor.scan.kinds import ExternalRef, Frame
from pool_doctor.scan.nodes import parameter_names

ENGINES = {  # the callable's name -> the library (its package, or module) that defines it
    "create_sqlalchemy_engine": "mlflow",
    **dict.fromkeys(("SQLAlchemyAsyncConfig", "SQLAlchemySyncConfig"), "advanced_alchemy"),
    "SQLBackend": "grand",
    "DatabaseManager": "sqlalchemy_helpers",
    "AsyncDatabaseManager": "sqlalchemy_helpers",
    "DatabaseExtension": "sqlalchemy_helpers",
    "manager_from_config": "sqlalchemy_helpers",
    **dict.fromkeys(("setup_session", "create_session", "get_engine", "init"), "c2cwsgiutils.db"),
    "AsyncpgConfig": "litestar_asyncpg",
    "PG": "asyncpgsa",
    **dict.fromkeys(("configure_dbsession", "configure_engine"), "snovault"),
    "SQLAlchemyJobStore": "apscheduler",
    "update_config": "turbogears",  # (TurboGears 1: its engine from the config file's sqlalchemy.dburi)
    # (safir's `db_session_dependency.initialize(url, password)`, whose name alone is too common, only there)
    **dict.fromkeys(("create_database_engine", "initialize", "run_migrations_online"), "safir"),
    **dict.fromkeys(("transaction_context", "configure"), "oslo_db"),
}
EXACT = {  # (safir's other initialize()s make none; a configure() is oslo.db's only as enginefacade's)
    "initialize": "db_session.db_session_dependency.initialize",
    "configure": "enginefacade.configure",
}
INCLUDES = {  # a Pyramid include of the library's that makes one
    "clld.web.app": "clld",
    "clldmpg": "clld",
    "pyramid_basemodel": "pyramid_basemodel",
    "pyramid_sqlalchemy": "pyramid_sqlalchemy",
    "c2cgeoportal_geoportal": "c2cgeoportal_geoportal",
}
TURBOGEARS = "use_sqlalchemy"  # the TurboGears option that has it make the engine
TG_CALLS = {"AppConfig", "FullStackApplicationConfigurator", "MinimalApplicationConfigurator", "update_blueprint"}
REEXPORTS = {"litestar.plugins.sqlalchemy": "advanced_alchemy", "litestar.contrib.sqlalchemy": "advanced_alchemy"}


def _libraries(library: str) -> tuple[str, ...]:
    """The library and the packages that re-export its callables."""
    return (library, *(other for other, source in REEXPORTS.items() if source == library))


def _from(library: str, dotted: str) -> bool:
    return any(dotted.startswith(f"{root}.") for root in _libraries(library))


NEEDLES: dict[bytes, tuple[bytes, ...]] = {}  # each library's root package -> the names of its calls
for _name, _library in ENGINES.items():
    for _root in {_package.split(".")[0].encode() for _package in _libraries(_library)}:
        NEEDLES[_root] = (*NEEDLES.get(_root, ()), _name.encode())
# Pools of libraries pool-doctor has no stack for (it reads SQLAlchemy, asyncpg, psycopg_pool and Django): a call
# by the callable's own name is named in a warning (metaflow-service's aiopg), and a project subclass at its class
# line (liberapay's `class DB(Postgres)`): the callable's name -> its module, and the texts a file using it holds
UNREAD = {
    "create_pool": ("aiopg", (b"aiopg",)),
    "create_engine": ("aiopg.sa", (b"aiopg",)),
    "Postgres": ("postgres", (b"import postgres", b"from postgres import")),
    **dict.fromkeys(
        ("PooledPostgresqlDatabase", "PooledPostgresqlExtDatabase", "PooledMySQLDatabase", "PooledSqliteDatabase"),
        ("playhouse.pool", (b"playhouse",)),
    ),
    "Database": ("databases", (b"import databases", b"from databases import")),
}
UNREAD_POOL = (
    "makes a pool of a library pool-doctor does not read (it reads SQLAlchemy, asyncpg, psycopg_pool and Django): "
    "this pool is not reported"
)
# A settings module that runs other files' code at start-up (akvo-rsr's `exec(compile(g.read(), path, "exec"))` of
# every *.conf beside it and under /config_overrides/): what they set is read by no one here; named in a warning
EXECUTES = re.compile(rb"\bexec\((?:\s*compile\()?[^\n]*\.read\(")
GIVEN_ENGINE = {"engine_instance", "pool_instance", "engine"}  # the config then uses that engine (pool): the app's own


def hint(data: bytes, path: Path | None = None) -> bool:
    """Whether a file may call one of them (so it is read), or, a settings module, run a file's code (EXECUTES)."""
    if path is not None and "settings" in str(path) and b"exec(" in data and EXECUTES.search(data):
        return True
    if (b"include" in data and any(name.encode() in data for name in INCLUDES)) or TURBOGEARS.encode() in data:
        return True
    if any(name.encode() in data and any(t in data for t in texts) for name, (_, texts) in UNREAD.items()):
        return True
    return any(root in data and any(name in data for name in names) for root, names in NEEDLES.items())


def library_pools(ev: Evaluator, module: Module) -> list[str]:
    """A warning for each call of one of them in the module."""
    found = []
    includes = [s.call for s in module.calls.get("include", []) if len(s.call.args) == 1]
    for name, library in ENGINES.items():
        sites = [(site.call, site.call.func, site.functions) for site in module.calls.get(name, [])]
        sites += [(c, c.args[0], ()) for c in includes if last_name(c.args[0]) == name]  # config.include(f)
        for call, func, functions in sites:
            made = ev.force(ev.eval(func, Frame(module)))
            given = _given_engine(call, name, _maybe_none(functions[-1] if functions else None))
            exact = name not in EXACT or made.dotted.endswith(EXACT[name]) if isinstance(made, ExternalRef) else False
            if isinstance(made, ExternalRef) and _from(library, made.dotted) and not given and exact:
                found.append(
                    f"{module.display}:{call.lineno}: {made.dotted}() makes a pool inside {library}; "
                    "the scan reads only the project's code, so this pool is not reported"
                )
    for name, (library, _) in UNREAD.items():
        for site in module.calls.get(name, []):
            made = ev.force(ev.eval(site.call.func, Frame(module)))
            if isinstance(made, ExternalRef) and made.dotted == f"{library}.{name}":
                found.append(f"{module.display}:{site.call.lineno}: {made.dotted}() {UNREAD_POOL}")
    for cls in module.classes.values():  # liberapay's `class DB(Postgres)`, made as `DB(url)` where it is needed
        for base in cls.bases:
            made = ev.force(ev.eval(base, Frame(module)))
            dotted = made.dotted if isinstance(made, ExternalRef) else ""
            inside = next((lib for n, lib in ENGINES.items() if n[0].isupper() and dotted.endswith(f".{n}")), None)
            if any(dotted == f"{m}.{n}" for n, (m, _) in UNREAD.items()):
                found.append(f"{module.display}:{cls.lineno}: {cls.name}, a subclass of {dotted}, {UNREAD_POOL}")
            elif inside is not None and _from(inside, dotted) and not _init_given_engine(cls, dotted.rsplit(".")[-1]):
                # (ndscheduler's DatastoreBase(SQLAlchemyJobStore), whose __init__ calls super().__init__(url=...))
                found.append(
                    f"{module.display}:{cls.lineno}: {cls.name}, a subclass of {dotted}, makes a pool inside "
                    f"{inside}; the scan reads only the project's code, so this pool is not reported"
                )
    if any("settings" in part for part in module.name.split(".")):
        for site in module.calls.get("exec", []):
            if not site.functions and EXECUTES.search(module.segment(site.call).encode()):
                found.append(
                    f"{module.display}:{site.call.lineno}: exec() runs settings read from files at start-up; "
                    "the scan does not read them, so a DATABASES they set is not reported"
                )
    for call in includes:
        named = call.args[0].value if isinstance(call.args[0], ast.Constant) else None
        if isinstance(named, str) and named in INCLUDES:
            found.append(
                f"{module.display}:{call.lineno}: config.include({named!r}) makes a pool inside {INCLUDES[named]} "
                "(engine_from_config of the app's sqlalchemy.* settings); the scan reads only the project's code, "
                "so this pool is not reported"
            )
    tg = ev.project.module_by_name("tg", module.path) is None  # (TurboGears, not the project's own tg package)
    if TURBOGEARS in module.source and tg and any(d.split(".")[0] == "tg" for d in module.imports.values()):
        for line in sorted({getattr(n, "lineno", 0) for n in ast.walk(module.tree) if _turns_on(n)}):
            found.append(
                f"{module.display}:{line}: TurboGears makes a pool from the ini's sqlalchemy.* settings "
                f"({TURBOGEARS} = True); the scan reads only the project's code, so this pool is not reported"
            )
    return found


def _given_engine(call: ast.Call, name: str, params: frozenset[str] | set[str] = frozenset()) -> bool:
    """Whether the call hands the library the app's own engine: `engine_instance=`, `pool_instance=`, `engine=`,
    or APScheduler's second positional argument (`SQLAlchemyJobStore(url, engine)`); not a literal None, nor a
    parameter of the function it is in (`engine=None`, handed on: it may be None)."""
    given = [kw.value for kw in call.keywords if kw.arg in GIVEN_ENGINE]
    given += [call.args[1]] if name == "SQLAlchemyJobStore" and len(call.args) > 1 else []
    return any(not _none_or_given(value, params) for value in given)


def _maybe_none(func: ast.AST | None) -> set[str]:
    """The function's parameters that may be None: unannotated, annotated Optional or `| None`, or None by
    default (ergostar's `get_alchemy_config(engine: AsyncEngine, ...)` is handed an engine)."""
    args = func.args if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) else None
    if args is None:
        return set()
    named = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    defaults = dict(zip([a.arg for a in [*args.posonlyargs, *args.args]][::-1], args.defaults[::-1], strict=False))
    defaults |= {a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None}
    none = {name for name, d in defaults.items() if isinstance(d, ast.Constant) and d.value is None}
    loose = {
        a.arg
        for a in named
        if a.annotation is None or "None" in ast.unparse(a.annotation) or "Optional" in ast.unparse(a.annotation)
    }
    return parameter_names(func) - {a.arg for a in named} | loose | none


def _none_or_given(value: ast.expr, params: frozenset[str] | set[str]) -> bool:
    return (isinstance(value, ast.Constant) and value.value is None) or (
        isinstance(value, ast.Name) and value.id in params
    )


def _init_given_engine(cls: ast.ClassDef, name: str) -> bool:
    """Whether a subclass's `super().__init__(...)` (or `Base.__init__(self, ...)`) hands the library an engine."""
    for method in (n for n in cls.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
        inits = [n for n in ast.walk(method) if isinstance(n, ast.Call) and last_name(n.func) == "__init__"]
        for call in inits:  # (`Base.__init__(self, url, engine)`: past self)
            unbound = isinstance(call.func, ast.Attribute) and not isinstance(call.func.value, ast.Call)
            shifted = ast.Call(call.func, call.args[1:], call.keywords) if unbound else call
            if _given_engine(shifted, name, _maybe_none(method)):
                return True
    return False


def _turns_on(node: ast.AST) -> bool:
    """`x.use_sqlalchemy = True`, `x["use_sqlalchemy"] = True`, and, in TurboGears' own calls,
    `AppConfig(use_sqlalchemy=True)` or `update_blueprint({"use_sqlalchemy": True})`."""
    if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and node.value.value is True:
        for target in node.targets:
            key = target.slice if isinstance(target, ast.Subscript) else None
            if (isinstance(target, ast.Attribute) and target.attr == TURBOGEARS) or (
                isinstance(key, ast.Constant) and key.value == TURBOGEARS
            ):
                return True
    if not (isinstance(node, ast.Call) and (dotted_parts(node.func) or [""])[-1] in TG_CALLS):
        return False
    given = [(k.arg, k.value) for k in node.keywords]
    given += [
        (getattr(k, "value", None), v) for a in node.args if isinstance(a, ast.Dict) for k, v in zip(a.keys, a.values)
    ]
    return any(key == TURBOGEARS and getattr(value, "value", None) is True for key, value in given)
