"""`scan_path` following values the way real projects spread them (issue 29), one test per kind:

- project wrappers and factories (locals built from parameters, imported under another name, a function that
  shadows the library's name, methods, class-level defaults merged with the caller's, functools.partial);
- `**kwargs` from dicts built elsewhere: `**settings.model_dump()`, dicts built under tests;
- pydantic / pydantic-settings fields, Starlette's Config, python-decouple, django-environ, dj-database-url,
  `os.environ.get(...) or ...`, casts, `os.environ.setdefault`;
- ini, cfg and YAML files the code reads (configparser, alembic.ini, engine_from_config with a prefix);
- Flask-SQLAlchemy options in config classes and `app.config`; Django DATABASES built by a function or swapped
  under an `if`, with several aliases;
- a value that depends on a test: each branch reported, the judge taking the worst and saying so.

Each project is a few small files written here (never a copy of a real one); line numbers in the assertions
are the fixtures' own.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_scan import at, scan, values, write

from pool_doctor.scan import scan_path
from pool_doctor.scan.app import as_layer, pick
from pool_doctor.scan.model import NOT_SET

# --- wrappers and factories --------------------------------------------------------------------------


def test_a_wrapper_whose_call_takes_locals_built_from_its_parameters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/config.py": """
            import os
            POOL_SIZE = int(os.getenv("POOL_SIZE", "20"))
            RECYCLE = 3600
        """,
            "app/db.py": """
            from sqlalchemy import create_engine
            from sqlalchemy.engine.url import make_url
            from app import config

            def create_db_engine(connection_string, ping=False):
                url = make_url(connection_string)
                options = {"pool_size": config.POOL_SIZE, "pool_recycle": config.RECYCLE}
                if ping:
                    options["pool_pre_ping"] = True
                return create_engine(url, **options)

            engine = create_db_engine("postgresql+psycopg2://app@db/app", ping=True)
        """,
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["app/db.py:12"]
    pool = report.pools[0]
    assert pool.via == ["app/db.py:10"]
    assert values(pool) == {
        "url": "postgresql+psycopg2://app@db/app",
        "pool_size": 20,
        "pool_recycle": 3600,
        "pool_pre_ping": True,
    }
    size = pool.settings["pool_size"]
    assert (size.from_, size.env, size.source) == ("app/config.py:2", "POOL_SIZE", '"20"')
    assert pool.settings["pool_pre_ping"].from_ == "app/db.py:9"
    # --pool FILE:LINE may name the library call inside the wrapper: the pool made through it.
    assert pick(report, "app/db.py:10", ".")[0] == [pool]


def test_a_package_folder_scanned_by_itself_reads_its_own_absolute_imports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pool-doctor scan src/myapp` on a package: `from myapp.config import POOL_SIZE` is the package's own
    module, as it is when the scan starts above it."""
    write(
        tmp_path,
        {
            "src/myapp/__init__.py": "",
            "src/myapp/config.py": """
            import os
            POOL_SIZE = int(os.getenv("POOL_SIZE", "7"))
        """,
            "src/myapp/db/__init__.py": "",
            "src/myapp/db/engine.py": """
            from sqlalchemy import create_engine
            from myapp.config import POOL_SIZE
            engine = create_engine("postgresql://app@db/app", pool_size=POOL_SIZE)
        """,
        },
    )
    monkeypatch.chdir(tmp_path)
    for folder, engine, config in (
        ("src", "src/myapp/db/engine.py", "src/myapp/config.py"),
        ("src/myapp", "src/myapp/db/engine.py", "src/myapp/config.py"),
    ):
        size = at(scan_path(Path(folder)), f"{engine}:3").settings["pool_size"]
        assert (size.value, size.env, size.from_) == (7, "POOL_SIZE", f"{config}:2")
    size = at(scan_path(Path("src/myapp/db")), "src/myapp/db/engine.py:3").settings["pool_size"]
    assert not size.known  # config.py is outside what was scanned: unknown, never a guess


def test_a_project_function_that_shadows_the_librarys_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Polar-style: `create_async_engine("app")` is the project's own, over a kit function over the library's."""
    report = scan(
        tmp_path,
        {
            "kit/__init__.py": "",
            "kit/db.py": """
            from typing import Any
            from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine

            def create_async_engine(*, dsn: str, application_name: str | None = None, pool_size: int | None = None,
                                    command_timeout: float | None = None, debug: bool = False):
                connect_args: dict[str, Any] = {"prepared_statement_cache_size": 0}
                if application_name is not None:
                    connect_args["server_settings"] = {"application_name": application_name}
                if command_timeout is not None:
                    connect_args["command_timeout"] = command_timeout
                return _create_async_engine(dsn, echo=debug, connect_args=connect_args, pool_size=pool_size)
        """,
            "app/__init__.py": "",
            "app/postgres.py": """
            from kit.db import create_async_engine as _create_async_engine

            def create_async_engine(process_name: str):
                return _create_async_engine(dsn="postgresql+asyncpg://h/app", application_name=f"api.{process_name}",
                                            pool_size=10, command_timeout=30.0)
        """,
            "app/main.py": """
            from app.postgres import create_async_engine

            engine = create_async_engine("app")
            worker_engine = create_async_engine("worker")
        """,
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["app/main.py:3", "app/main.py:4"]
    app, worker = report.pools
    assert app.call == "sqlalchemy.ext.asyncio.create_async_engine"
    assert app.via == ["app/postgres.py:4", "kit/db.py:11"]
    assert values(app) == {
        "url": "postgresql+asyncpg://h/app",
        "echo": False,
        "connect_args.prepared_statement_cache_size": 0,
        "connect_args.server_settings.application_name": "api.app",
        "connect_args.command_timeout": 30.0,
        "pool_size": 10,
    }
    assert values(worker)["connect_args.server_settings.application_name"] == "api.worker"


def test_methods_class_defaults_and_partial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = scan(
        tmp_path,
        {
            "db.py": """
            import functools
            import asyncpg
            from sqlalchemy import create_engine

            class Database:
                DEFAULT_ENGINE_KWARGS = {"pool_pre_ping": True, "pool_size": 5}

                def __init__(self, url, **engine_kwargs):
                    self.url = url
                    kwargs = {**self.DEFAULT_ENGINE_KWARGS, **engine_kwargs}
                    self.engine = create_engine(url, **kwargs)

            class Pools:
                def __init__(self, timeout=60):
                    self.timeout = timeout

                async def make(self, dsn, size):
                    return await asyncpg.create_pool(dsn, max_size=size, command_timeout=self.timeout)

            main = Database("postgresql://h/main", pool_size=12)
            reports = Database("postgresql://h/reports")
            factory = functools.partial(create_engine, pool_recycle=300)
            cached = factory("postgresql://h/cached", pool_size=2)

            async def start():
                return await Pools(timeout=15).make("postgresql://h/bot", 4)
        """
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["db.py:20", "db.py:21", "db.py:23", "db.py:26"]
    main, reports, cached, bot = report.pools
    assert values(main) == {"url": "postgresql://h/main", "pool_pre_ping": True, "pool_size": 12}
    assert main.settings["pool_pre_ping"].from_ == "db.py:6"
    assert values(reports) == {"url": "postgresql://h/reports", "pool_pre_ping": True, "pool_size": 5}
    assert values(cached) == {"url": "postgresql://h/cached", "pool_recycle": 300, "pool_size": 2}
    assert bot.stack == "asyncpg" and values(bot) == {"dsn": "postgresql://h/bot", "max_size": 4, "command_timeout": 15}


def test_a_method_reading_what_init_was_given_is_the_callers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`db = Database(dsn, max_size=3); await db.connect()` where connect() calls create_pool with
    `self.max_size`: the values are the ones the instance was made with (was: `__init__`'s unused defaults,
    10 and 10, a wrong value). A class nobody makes in the scanned code keeps its defaults, at its own line."""
    report = scan(
        tmp_path,
        {
            "database.py": """
            import asyncpg

            class Database:
                def __init__(self, dsn, min_size=10, max_size=10):
                    self.dsn = dsn
                    self.min_size = min_size
                    self.max_size = max_size

                async def connect(self):
                    self.pool = await asyncpg.create_pool(self.dsn, min_size=self.min_size, max_size=self.max_size)

            class Unused:
                def __init__(self, max_size=7):
                    self.max_size = max_size

                async def connect(self):
                    self.pool = await asyncpg.create_pool("postgresql://app@db/app", max_size=self.max_size)
        """,
            "main.py": """
            from database import Database

            async def main():
                db = Database("postgresql://app@db/app", min_size=1, max_size=3)
                await db.connect()
        """,
        },
        monkeypatch,
    )
    pool = at(report, "main.py:5")
    assert values(pool) == {"dsn": "postgresql://app@db/app", "min_size": 1, "max_size": 3}
    assert pool.via == ["database.py:10"] and pool.settings["max_size"].from_ == "main.py:4"
    assert values(at(report, "database.py:17")) == {"dsn": "postgresql://app@db/app", "max_size": 7}
    assert len(report.pools) == 2


def test_an_attribute_another_method_sets_again_is_unknown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`self._opts = {}` in `__init__`, filled in connect(), spread by reconnect(): which value reconnect meets
    depends on what ran before, so it is unresolved (was: `{}`, a pool judged at the library's defaults)."""
    report = scan(
        tmp_path,
        {
            "db.py": """
            import asyncpg

            class Database:
                def __init__(self):
                    self._opts = {}
                    self.timeout = 30

                async def connect(self):
                    self._opts = {"dsn": "postgresql://app@db/app", "max_size": 20}
                    self.pool = await asyncpg.create_pool(**self._opts, timeout=self.timeout)

                async def reconnect(self):
                    self.pool = await asyncpg.create_pool(**self._opts, timeout=self.timeout)
        """,
        },
        monkeypatch,
    )
    assert values(at(report, "db.py:10")) == {"dsn": "postgresql://app@db/app", "max_size": 20, "timeout": 30}
    again = at(report, "db.py:13")
    assert values(again) == {"timeout": 30} and again.unresolved == ["**self._opts"]


def test_the_one_instance_the_app_makes_and_a_parameter_typed_with_a_project_class(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bot's `start()` pools with what `Bot(...)` was given, read through `kwargs.pop(..., default)`, when
    the app makes one Bot (was: every value unknown); a cog's `self.bot.make_pool(...)`, `self.bot` being
    `__init__`'s `bot: Bot`, is a call of the wrapper (was: the wrapper alone, its arguments lost)."""
    report = scan(
        tmp_path,
        {
            "main.py": """
            import asyncpg

            class Bot:
                def __init__(self, **kwargs):
                    self.dsn = kwargs.pop("dsn", None)
                    self.pool_max = kwargs.pop("pool_max", 10)
                    self.timeout = kwargs.get("command_timeout", 60)

                async def start(self):
                    self.pool = await asyncpg.create_pool(self.dsn, max_size=self.pool_max, command_timeout=self.timeout)

                async def make_pool(self, uri: str, **kwargs):
                    return await asyncpg.create_pool(uri, command_timeout=30, **kwargs)

            class Cog:
                def __init__(self, bot: "Bot"):
                    self.bot = bot

                async def cog_load(self):
                    self.pool = await self.bot.make_pool("postgresql://app@db/cog", max_size=5)

            bot = Bot(dsn="postgresql://app@db/bot", pool_max=4)
        """,
        },
        monkeypatch,
    )
    assert values(at(report, "main.py:10")) == {"dsn": "postgresql://app@db/bot", "max_size": 4, "command_timeout": 60}
    cog = at(report, "main.py:20")
    assert values(cog) == {"dsn": "postgresql://app@db/cog", "command_timeout": 30, "max_size": 5}
    assert cog.via == ["main.py:13"]
    assert len(report.pools) == 2


def test_a_library_or_a_project_module_imported_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`pg = importlib.import_module("asyncpg")` then `pg.create_pool(...)` is asyncpg's pool (was: no pool at
    all), `importlib.import_module("app.conf")` is the project's module, and a `collections.namedtuple` holding
    settings gives its fields (was: unknown)."""
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/conf.py": """
            import os
            from collections import namedtuple

            Limits = namedtuple("Limits", "pool_max timeout", defaults=[15])
            LIMITS = Limits(int(os.environ.get("POOL_MAX", "7")))
        """,
            "app/db.py": """
            import importlib

            pg = importlib.import_module("asyncpg")
            conf = importlib.import_module("app.conf")

            async def start():
                limits = conf.LIMITS
                return await pg.create_pool("postgresql://app@db/app", max_size=limits.pool_max, timeout=limits.timeout)
        """,
        },
        monkeypatch,
    )
    pool = at(report, "app/db.py:8")
    assert pool.stack == "asyncpg" and values(pool) == {"dsn": "postgresql://app@db/app", "max_size": 7, "timeout": 15}
    assert pool.settings["max_size"].env == "POOL_MAX"  # a collections.namedtuple's fields, as a dataclass's


# A connector that makes its pool only when not handed one (`if pool:` / `if pool is not None:`).
CONNECTOR = """
import psycopg_pool

class Connector:
    def __init__(self, **kwargs):
        self._pool = None
        self._args = {"conninfo": "postgresql://app@db/app", "max_size": 4, **kwargs}

    def open(self, pool=None):
        if pool:
            self._pool = pool
        else:
            self._pool = psycopg_pool.ConnectionPool(**self._args, open=False)

    def check(self, pool):
        if pool is not None:
            return pool
        return psycopg_pool.ConnectionPool(**self._args, open=False)
"""


def test_a_pool_a_method_makes_only_under_a_test_keeps_the_test_at_its_caller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connector whose `open(pool=None)` makes a pool only when not given one: a call that gives it a library
    pool makes none (test_a_wrapper_that_keeps_the_pool_its_caller_hands_it_makes_none_there), one that does not makes it (no condition); a
    client that makes its pool in `__init__` and again in `connect()` only `if self.pool is None` says so.
    An engine made only `if url.startswith("postgresql+asyncpg")` with the URL's default a psycopg one holds
    the variable's URL there, never the default that test rules out."""
    report = scan(
        tmp_path,
        {
            "connector.py": CONNECTOR,
            "main.py": """
            import os
            import psycopg_pool
            from sqlalchemy.ext.asyncio import create_async_engine
            from connector import Connector

            def shared():
                Connector().open(psycopg_pool.ConnectionPool("postgresql://app@db/shared", open=False))

            def own():
                Connector().open()

            def engine_for(url):
                if url.startswith("postgresql+asyncpg"):
                    return create_async_engine(url, connect_args={"command_timeout": 30})
                return create_async_engine(url, pool_pre_ping=True)

            engine = engine_for(os.environ.get("DATABASE_URL", "postgresql+psycopg://app@db/app"))
        """,
        },
        monkeypatch,
    )
    conditions = {p.where: p.condition for p in report.pools if p.via == ["connector.py:12"]}
    assert conditions == {"main.py:10": None}
    engines = {p.condition: p.settings["url"] for p in report.pools if p.where == "main.py:17"}
    assert set(engines) == {'url.startswith("postgresql+asyncpg")', None}
    asyncpg_only = engines['url.startswith("postgresql+asyncpg")']
    assert (asyncpg_only.known, asyncpg_only.env) == (False, "DATABASE_URL")
    assert engines[None].value == "postgresql+psycopg://app@db/app"


def test_a_pool_class_passed_in_as_a_parameters_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """procrastinate's connector: `pool_factory=psycopg_pool.AsyncConnectionPool`, kept as `self._pool_factory`
    and called in open(): a pool, with what the one instance was made with (was: no pool at all)."""
    report = scan(
        tmp_path,
        {
            "connector.py": """
            from typing import Any, Callable
            import psycopg_pool

            class Connector:
                def __init__(self, pool_factory=psycopg_pool.AsyncConnectionPool, **kwargs):
                    self._pool_factory: Callable[..., Any] = pool_factory
                    self._pool_args = kwargs

                async def open(self):
                    self._pool = self._pool_factory(**self._pool_args, open=False, max_size=8)

            connector = Connector(conninfo="postgresql://app@db/app")
        """,
        },
        monkeypatch,
    )
    pool = at(report, "connector.py:10")
    assert pool.stack == "psycopg_pool"
    assert values(pool) == {"conninfo": "postgresql://app@db/app", "open": False, "max_size": 8}


def test_a_function_given_as_a_value_is_named_as_python_imports_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scanned from above the folder Python imports from (a repository whose app sits in server/, with no
    `__init__.py` there), a function passed as a value is named by its package (`app.kit.db.dumps`), as the code
    imports it, not by the scan's own folders (was `server.app.kit.db.dumps`, which depends on where the scan
    runs); `__name__` is that name too."""
    report = scan(
        tmp_path,
        {
            "server/app/__init__.py": "",
            "server/app/kit/__init__.py": "",
            "server/app/kit/db.py": """
            import json
            from sqlalchemy.ext.asyncio import create_async_engine

            def dumps(value):
                return json.dumps(value)

            def make_engine(url):
                return create_async_engine(url, json_serializer=dumps, pool_logging_name=__name__)
        """,
            "server/app/main.py": """
            from app.kit.db import make_engine

            engine = make_engine("postgresql+asyncpg://app@db/app")
        """,
        },
        monkeypatch,
    )
    pool = at(report, "server/app/main.py:3")
    assert values(pool)["json_serializer"] == "app.kit.db.dumps"
    assert values(pool)["pool_logging_name"] == "app.kit.db"


def test_a_wrapper_that_keeps_the_pool_its_caller_hands_it_makes_none_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`connector.open(shared)` where open() does `if pool: self._pool = pool` else makes one: the caller's pool
    (a library pool object, true in a test) is kept, so that call makes no pool (was: a false pool there, under
    `not (pool)`, counted twice); the call with no pool makes one."""
    report = scan(
        tmp_path,
        {
            "connector.py": CONNECTOR,
            "main.py": """
            import psycopg_pool
            from connector import Connector

            def shared():
                pool = psycopg_pool.ConnectionPool("postgresql://app@db/shared", max_size=2, open=False)
                Connector().open(pool)
                Connector().check(pool)

            def own():
                Connector().open()
        """,
        },
        monkeypatch,
    )
    assert sorted(pool.where for pool in report.pools) == ["main.py:10", "main.py:5"]
    assert at(report, "main.py:10").condition is None


def test_a_parameter_typed_with_a_type_variable_bound_to_a_project_class(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`bot: type[DBT]` with `DBT = TypeVar("DBT", bound="Bot")` (DuckBot's pool context) holds Bot, so
    `self.bot.make_pool(max_size=5)` is a call of Bot's wrapper: the pool is there, with both lines' values
    (was: only the wrapper, max_size lost)."""
    report = scan(
        tmp_path,
        {
            "bot.py": """
            from typing import Type, TypeVar
            import asyncpg

            DBT = TypeVar("DBT", bound="Bot")

            class Bot:
                @classmethod
                async def make_pool(cls, **kwargs):
                    return await asyncpg.create_pool("postgresql://bot@db/bot", command_timeout=30, **kwargs)

            class TempPool:
                def __init__(self, bot: Type[DBT]):
                    self.bot: Type[DBT] = bot

                async def __aenter__(self):
                    return await self.bot.make_pool(max_size=5)
        """,
        },
        monkeypatch,
    )
    pool = at(report, "bot.py:16")
    assert pool.via == ["bot.py:9"]
    assert values(pool) == {"dsn": "postgresql://bot@db/bot", "command_timeout": 30, "max_size": 5}


def test_an_attribute_set_on_a_settings_object_after_it_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A factory that makes the settings object and then sets one of its attributes (mealie's
    `app_settings_constructor`), and a module that does the same at import: the value set wins over the field's
    default (was: the class default, a known None URL)."""
    report = scan(
        tmp_path,
        {
            "settings.py": """
            from pydantic_settings import BaseSettings

            class Backend:
                def __init__(self, folder):
                    self.folder = folder

                @property
                def url(self):
                    return f"sqlite:///{self.folder}/app.db"

            class Config(BaseSettings):
                backend: Backend | None = None
                POOL: int = 5

                @property
                def DATABASE_URL(self):
                    return self.backend.url if self.backend else None

            def build():
                cfg = Config()
                cfg.backend = Backend("/srv/data")
                return cfg

            shared = Config()
            shared.POOL = 9
        """,
            "db.py": """
            from sqlalchemy import create_engine
            from settings import build, shared

            engine = create_engine(build().DATABASE_URL, pool_size=shared.POOL)
        """,
        },
        monkeypatch,
    )
    assert values(at(report, "db.py:4")) == {"url": "sqlite:////srv/data/app.db", "pool_size": 9}


def test_a_lazy_loader_module_stands_for_the_module_it_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A project subclass of `types.ModuleType` that imports on first use (Piccolo's and TensorFlow's
    `LazyLoader(local_name, globals(), name)`) is the module its `__init__` names to `super().__init__` (was: no
    pool at all); one with no `__init__` of its own is the module its first argument names."""
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/lazy.py": """
            import importlib
            import types

            class LazyLoader(types.ModuleType):
                def __init__(self, local_name, parent_module_globals, name):
                    self._local_name = local_name
                    super().__init__(name)

                def __getattr__(self, item):
                    return getattr(importlib.import_module(self.__name__), item)

            class Plain(types.ModuleType):
                def __getattr__(self, item):
                    return getattr(importlib.import_module(self.__name__), item)
        """,
            "app/db.py": """
            from app.lazy import LazyLoader, Plain

            asyncpg = LazyLoader("pg", globals(), "asyncpg")
            pool_lib = Plain("psycopg_pool")

            async def start():
                return await asyncpg.create_pool("postgresql://app@db/app", max_size=7)

            def start_sync():
                return pool_lib.ConnectionPool("postgresql://app@db/app", max_size=3)
        """,
        },
        monkeypatch,
    )
    pool = at(report, "app/db.py:7")
    assert pool.stack == "asyncpg" and values(pool) == {"dsn": "postgresql://app@db/app", "max_size": 7}
    pool = at(report, "app/db.py:10")
    assert pool.stack == "psycopg_pool" and values(pool)["max_size"] == 3
    assert len(report.pools) == 2


def test_the_projects_subclass_of_a_library_pool_class(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = scan(
        tmp_path,
        {
            "pools.py": """
            from flask_sqlalchemy import SQLAlchemy
            from psycopg_pool import ConnectionPool

            class AppPool(ConnectionPool):
                pass

            class AppSQLAlchemy(SQLAlchemy):
                def apply_pool_defaults(self, app, options):
                    return options
        """,
            "main.py": """
            from pools import AppPool, AppSQLAlchemy

            POOL = AppPool("dbname=app", max_size=4, max_idle=60)
            db = AppSQLAlchemy(engine_options={"pool_pre_ping": True})
        """,
        },
        monkeypatch,
    )
    pool = at(report, "main.py:3")
    assert (pool.stack, pool.call) == ("psycopg_pool", "psycopg_pool.ConnectionPool")
    assert values(pool) == {"conninfo": "dbname=app", "max_size": 4, "max_idle": 60}
    assert values(at(report, "main.py:4")) == {"pool_pre_ping": True}


def test_a_url_built_from_its_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = scan(
        tmp_path,
        {
            "db.py": """
            import os
            from sqlalchemy import create_engine
            from sqlalchemy.engine import URL

            known = create_engine(URL.create(drivername="postgresql+asyncpg", username="app", host="db", port=6432,
                                             database="app"))
            partly = create_engine(URL.create(drivername="postgresql+psycopg", host=os.environ["DB_HOST"]))
        """
        },
        monkeypatch,
    )
    known = at(report, "db.py:5")
    assert known.settings["url"].value == "postgresql+asyncpg://app@db:6432/app"
    partly = at(report, "db.py:7").settings["url"]
    assert not partly.known and partly.expr is not None and partly.expr.startswith("postgresql+psycopg://")


def test_a_url_pydantic_builds_in_a_settings_method(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Polar-style: a settings method builds the DSN with pydantic's `PostgresDsn.build`, the driver given by
    the caller; under a test of an optional field, the other side is SQLAlchemy's URL.create with a query."""
    report = scan(
        tmp_path,
        {
            "config.py": """
            from pydantic import PostgresDsn
            from pydantic_settings import BaseSettings, SettingsConfigDict
            from sqlalchemy import URL

            class Settings(BaseSettings):
                model_config = SettingsConfigDict(env_prefix="shop_")
                POSTGRES_USER: str = "shop"
                POSTGRES_HOST: str = "127.0.0.1"
                POSTGRES_PORT: int = 5432
                POSTGRES_DATABASE: str = "shop"
                POSTGRES_HOST_FALLBACK: str | None = None

                def get_postgres_dsn(self, driver):
                    if self.POSTGRES_HOST_FALLBACK is None:
                        return str(PostgresDsn.build(scheme=f"postgresql+{driver}", username=self.POSTGRES_USER,
                                                     host=self.POSTGRES_HOST, port=self.POSTGRES_PORT,
                                                     path=self.POSTGRES_DATABASE))
                    return URL.create(f"postgresql+{driver}", database=self.POSTGRES_DATABASE,
                                      query={"host": [self.POSTGRES_HOST, self.POSTGRES_HOST_FALLBACK]})

            settings = Settings()
        """,
            "db.py": """
            from sqlalchemy.ext.asyncio import create_async_engine
            from config import settings

            engine = create_async_engine(settings.get_postgres_dsn("asyncpg"))
        """,
        },
        monkeypatch,
    )
    url = at(report, "db.py:4").settings["url"]
    assert (url.known, url.value, url.env) == (
        True,
        "postgresql+asyncpg://shop@127.0.0.1:5432/shop",
        "SHOP_POSTGRES_USER",
    )
    assert url.branches is not None and [b.when for b in url.branches] == [
        "self.POSTGRES_HOST_FALLBACK is None",
        "not (self.POSTGRES_HOST_FALLBACK is None)",
    ]
    fallback = url.branches[1]
    assert not fallback.known and fallback.expr is not None and fallback.expr.startswith("postgresql+asyncpg://")


# --- **kwargs from dicts built elsewhere --------------------------------------------------------------


def test_an_async_engine_whose_url_cannot_be_read_is_judged_by_an_async_driver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`str(PostgresDsn.build(scheme="postgresql+asyncpg", host=<required>))` keeps its scheme through str()
    (was: the driver judged psycopg2, and a fix, tcp_user_timeout, that asyncpg refuses); an async engine
    whose URL says nothing is judged with asyncpg, and the evidence says so."""
    report = scan(
        tmp_path,
        {
            "app.py": """
            import os
            from pydantic import PostgresDsn
            from pydantic_settings import BaseSettings
            from sqlalchemy.ext.asyncio import create_async_engine

            class Settings(BaseSettings):
                DB_HOST: str

                @property
                def uri(self) -> str:
                    return str(PostgresDsn.build(scheme="postgresql+asyncpg", username="shop", host=self.DB_HOST, path="shop"))

            engine = create_async_engine(Settings().uri, pool_size=4)
            other = create_async_engine(os.environ["DATABASE_URL"])
        """
        },
        monkeypatch,
    )
    for where in ("app.py:13", "app.py:14"):
        hang = next(f for p, f in report.findings if p.where == where and f.code == "no-hang-bound")
        assert "connect_args.command_timeout not set" in hang.evidence, hang.evidence
    url = at(report, "app.py:13").settings["url"]
    assert not url.known and (url.expr or "").startswith("postgresql+asyncpg://")


def test_kwargs_from_model_dump_and_dicts_built_under_tests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = scan(
        tmp_path,
        {
            "settings.py": """
            from pydantic import BaseModel
            from pydantic_settings import BaseSettings, SettingsConfigDict

            class EngineSettings(BaseSettings):
                model_config = SettingsConfigDict(env_prefix="DB_")
                pool_size: int = 5
                pool_recycle: int = 1800
                echo: bool = False
                url: str = "postgresql://h/app"

            class Settings(BaseSettings):
                ENVIRONMENT: str = "local"
                engine: EngineSettings = EngineSettings()

            settings = Settings()
        """,
            "db.py": """
            from sqlalchemy import create_engine
            from settings import settings

            def build(extra):
                kwargs = settings.engine.model_dump(exclude={"url"})
                if settings.ENVIRONMENT == "production":
                    kwargs["pool_pre_ping"] = True
                if extra:
                    kwargs.update(extra)
                return create_engine(settings.engine.url, **kwargs)

            engine = build(None)
        """,
        },
        monkeypatch,
    )
    pool = at(report, "db.py:12")
    assert values(pool)["pool_size"] == 5 and pool.settings["pool_size"].env == "DB_POOL_SIZE"
    assert pool.settings["pool_recycle"].from_ == "settings.py:7"
    # ENVIRONMENT is the environment's to decide: with none set the key is not given; set, it is True.
    ping = pool.settings["pool_pre_ping"]
    assert not ping.known and [(b.known and b.value, b.expr) for b in ping.branches] == [
        (False, NOT_SET),  # the branch with no variable set comes first
        (True, None),
    ]
    assert ping.branches[1].when == 'settings.ENVIRONMENT == "production"'
    assert pool.unresolved == []


def test_a_dict_the_scan_cannot_read_on_one_path_keeps_the_keys_the_code_adds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Airflow's engine args: `args = json.loads(...) if "X" in os.environ else {}`, then keys added under an
    if/elif: each key with its branches, the unread JSON named as unresolved (was: `**engine_args()` alone)."""
    report = scan(
        tmp_path,
        {
            "app.py": """
            import json
            import os
            from sqlalchemy import create_engine
            from sqlalchemy.pool import NullPool

            URL = os.environ.get("DATABASE_URL", "postgresql://app@db/app")

            def engine_args():
                args = json.loads(os.environ["ENGINE_ARGS"]) if "ENGINE_ARGS" in os.environ else {}
                if os.environ.get("DISABLE_POOL"):
                    args["poolclass"] = NullPool
                elif not URL.startswith("sqlite"):
                    args["pool_size"] = 5
                return args

            engine = create_engine(URL, **engine_args())
        """
        },
        monkeypatch,
    )
    pool = at(report, "app.py:16")
    assert values(pool)["pool_size"] == 5 and pool.settings["poolclass"].branches
    assert pool.unresolved == ['**json.loads(os.environ["ENGINE_ARGS"])']


def test_a_parameter_nobody_gives_makes_branches_the_judge_takes_the_worst_of(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = scan(
        tmp_path,
        {
            "db.py": """
            from sqlalchemy import create_engine

            def engine(fast_fail):
                options = {"pool_recycle": 300}
                if fast_fail:
                    options["pool_pre_ping"] = True
                else:
                    options["pool_recycle"] = -1
                return create_engine("postgresql://h/app", **options)
        """
        },
        monkeypatch,
    )
    pool = at(report, "db.py:9")
    recycle = pool.settings["pool_recycle"]
    assert not recycle.known and [b.value for b in recycle.branches] == [300, -1]
    assert [b.when for b in recycle.branches] == ["fast_fail", "not (fast_fail)"]
    # The judge took the worst: no recycling, no pre-ping; every finding says which branch it judged.
    assert pool.judged_branches == {"pool_recycle": 1, "pool_pre_ping": 1}
    codes = {f.code for p, f in report.findings if p.where == "db.py:9"}
    assert "no-liveness-check" in codes
    finding = next(f for p, f in report.findings if p.where == "db.py:9" and f.code == "no-liveness-check")
    assert any("the worst of its 2 branches" in line for line in finding.evidence)
    document = report.to_json()["pools"][0]
    assert document["judged_branches"] == {"pool_recycle": "not (fast_fail)", "pool_pre_ping": "not (fast_fail)"}
    layer = as_layer(pool)  # --app judges the same branch, and says so
    assert layer.data["pool"]["pool_recycle"] == -1 and "pool_pre_ping" not in layer.data["pool"]
    assert any("judged at its worst branch, when not (fast_fail)" in w for w in layer.warnings)
    assert [b["value"] for b in document["settings"]["pool_recycle"]["branches"]] == [300, -1]


def test_environment_variable_objects_and_kwargs_set_only_when_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MLflow-style: a project class reads a variable in `.get()` (its base's `__init__` reached by super()),
    and the engine's kwargs are given only when a value is set."""
    report = scan(
        tmp_path,
        {
            "env.py": """
            import os

            class EnvironmentVariable:
                def __init__(self, name, type_, default):
                    self.name = name
                    self.type = type_
                    self.default = default

                def get(self):
                    if (val := os.getenv(self.name)) is not None:
                        return self.type(val)
                    return self.default

            class BooleanVariable(EnvironmentVariable):
                def __init__(self, name, default):
                    super().__init__(name, bool, default)

                def get(self):
                    if (val := os.getenv(self.name)) is not None:
                        return val.lower() == "true"
                    return self.default

            POOL_SIZE = EnvironmentVariable("STORE_POOL_SIZE", int, None)
            POOL_RECYCLE = EnvironmentVariable("STORE_POOL_RECYCLE", int, 1800)
            ECHO = BooleanVariable("STORE_ECHO", False)
        """,
            "store.py": """
            import sqlalchemy
            from env import ECHO, POOL_RECYCLE, POOL_SIZE

            def create_sqlalchemy_engine(db_uri):
                pool_size = POOL_SIZE.get()
                pool_recycle = POOL_RECYCLE.get()
                echo = ECHO.get()
                pool_kwargs = {}
                if pool_size:
                    pool_kwargs["pool_size"] = pool_size
                if pool_recycle:
                    pool_kwargs["pool_recycle"] = pool_recycle
                if echo:
                    pool_kwargs["echo"] = echo
                return sqlalchemy.create_engine(db_uri, pool_pre_ping=True, **pool_kwargs)
        """,
        },
        monkeypatch,
    )
    pool = at(report, "store.py:15")
    recycle = pool.settings["pool_recycle"]
    assert (recycle.value, recycle.env, recycle.from_) == (1800, "STORE_POOL_RECYCLE", "env.py:24")
    size = pool.settings["pool_size"]  # given only when STORE_POOL_SIZE is set: its value then is unknown
    assert not size.known and size.branches[0].expr == NOT_SET
    assert not pool.settings["echo"].known and values(pool)["pool_pre_ping"] is True


def test_a_key_given_only_when_a_variable_is_set_is_that_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Prefect-style: `if self.cache is not None:` is the environment's to decide; on the side where it holds
    the value is the variable's (unknown), never the None the default says."""
    report = scan(
        tmp_path,
        {
            "db.py": """
            from pydantic_settings import BaseSettings
            from sqlalchemy.ext.asyncio import create_async_engine

            class Settings(BaseSettings):
                statement_cache_size: int | None = None

            class Configuration:
                def __init__(self, url, statement_cache_size=None):
                    self.url = url
                    self.cache = statement_cache_size if statement_cache_size is not None else Settings().statement_cache_size

                def engine(self):
                    connect_args = {}
                    if self.cache is not None:
                        connect_args["statement_cache_size"] = self.cache
                    return create_async_engine(self.url, connect_args=connect_args)
        """
        },
        monkeypatch,
    )
    cache = at(report, "db.py:16").settings["connect_args.statement_cache_size"]
    assert [(b.known, b.expr, b.env) for b in cache.branches] == [
        (False, NOT_SET, None),
        (False, "$STATEMENT_CACHE_SIZE", "STATEMENT_CACHE_SIZE"),
    ]


def test_a_value_a_variable_can_change_but_never_to_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`if command_timeout is not None:` on a field with a default: a variable that is set gives a value too,
    so the test is decided and the key is simply set (no "not set" branch, no condition)."""
    report = scan(
        tmp_path,
        {
            "db.py": """
            import os
            from pydantic_settings import BaseSettings
            from sqlalchemy.ext.asyncio import create_async_engine

            class Settings(BaseSettings):
                command_timeout: float = 30.0

            settings = Settings()

            def make(command_timeout=None, ssl=None):
                connect_args = {}
                if command_timeout is not None:
                    connect_args["command_timeout"] = command_timeout
                if ssl is not None:
                    connect_args["ssl"] = ssl
                return create_async_engine("postgresql+asyncpg://app@db/app", connect_args=connect_args)

            engine = make(command_timeout=settings.command_timeout, ssl=os.getenv("DB_SSL"))
        """
        },
        monkeypatch,
    )
    pool = at(report, "db.py:18")
    timeout = pool.settings["connect_args.command_timeout"]
    assert (timeout.value, timeout.env, timeout.branches) == (30.0, "COMMAND_TIMEOUT", ())
    ssl = pool.settings["connect_args.ssl"]  # unset by default, a variable's when one is set: both sides
    when = [b.when for b in ssl.branches]  # (the parameter named by the variable it is given)
    assert when == ["not ($DB_SSL is not None)", "$DB_SSL is not None"]


def test_a_field_a_variable_can_set_to_none_keeps_both_sides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With `env_parse_none_str`, a variable set to that text makes an Optional field None, so
    `if settings.x is not None:` is the environment's again: the key is set by default, unset by `X=null`.
    A field whose type cannot be None, or a class without the option, is decided as before."""
    report = scan(
        tmp_path,
        {
            "db.py": """
            from pydantic_settings import BaseSettings, SettingsConfigDict
            from sqlalchemy import create_engine

            class Settings(BaseSettings):
                model_config = SettingsConfigDict(env_parse_none_str="null", env_file=".env")
                pool_recycle: int | None = 300
                pool_size: int = 5
                pool_timeout: float | None = 10

            settings = Settings()

            def make():
                kwargs = {}
                if settings.pool_recycle is not None:
                    kwargs["pool_recycle"] = settings.pool_recycle
                if settings.pool_size is not None:
                    kwargs["pool_size"] = settings.pool_size
                if settings.pool_timeout is not None:
                    kwargs["pool_timeout"] = settings.pool_timeout
                return create_engine("postgresql://app@db/app", **kwargs)
        """,
            ".env": "POOL_TIMEOUT=null\n",
        },
        monkeypatch,
    )
    pool = at(report, "db.py:20")
    recycle = pool.settings["pool_recycle"]
    assert (recycle.value, recycle.env) == (300, "POOL_RECYCLE")
    assert [(b.value, b.when) for b in recycle.branches] == [
        (300, "settings.pool_recycle is not None"),
        (None, "not (settings.pool_recycle is not None)"),
    ]
    size = pool.settings["pool_size"]
    assert (size.value, size.branches) == (5, ())
    timeout = pool.settings["pool_timeout"]  # None from the .env file: not given, unless a variable is set
    assert (timeout.known, timeout.env) == (False, "POOL_TIMEOUT")  # not set by default: the variable that sets it
    assert [(b.known, b.env, b.expr) for b in timeout.branches] == [
        (False, None, NOT_SET),
        (False, "POOL_TIMEOUT", "$POOL_TIMEOUT"),
    ]


def test_a_variable_read_where_only_its_being_set_leads_is_the_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`if os.getenv("POOL_SIZE"):` then `int(os.getenv("POOL_SIZE", "5"))`: on that side the variable is set,
    so the value is the variable's (unknown), not the "5" that only applies when it is not (was: 5). After a
    guard that raises when a variable is missing, the variable is set for the rest of the module."""
    report = scan(
        tmp_path,
        {
            "db.py": """
            import os
            from sqlalchemy import create_engine

            if os.getenv("POOL_SIZE"):
                size = int(os.getenv("POOL_SIZE", "5"))
            else:
                size = 20

            if not os.getenv("DATABASE_URL"):
                raise RuntimeError("DATABASE_URL is required")

            engine = create_engine(os.environ["DATABASE_URL"], pool_size=size)
        """
        },
        monkeypatch,
    )
    pool = at(report, "db.py:12")
    size = pool.settings["pool_size"]
    assert (size.value, size.env) == (20, "POOL_SIZE")
    assert [(b.known, b.value, b.when) for b in size.branches] == [
        (True, 20, 'not (os.getenv("POOL_SIZE"))'),  # the value with no variable set first
        (False, None, 'os.getenv("POOL_SIZE")'),
    ]
    url = pool.settings["url"]
    assert (url.known, url.env, url.expr) == (False, "DATABASE_URL", "$DATABASE_URL")


# --- settings classes and config libraries ---------------------------------------------------------


def test_pydantic_fields_aliases_prefixes_nesting_validators(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = scan(
        tmp_path,
        {
            ".env": "DATABASE_URL=postgresql://user@db:5432/app\nAPP_DB__POOL_SIZE=7\n",
            "config.py": """
            from enum import StrEnum
            from pydantic import AliasChoices, BaseModel, Field, computed_field, field_validator
            from pydantic_settings import BaseSettings, SettingsConfigDict

            class Environment(StrEnum):
                development = "development"
                production = "production"

            class Pool(BaseModel):
                pool_size: int = 5
                pool_timeout: float = Field(default=30.0, description="wait")

            class Settings(BaseSettings):
                model_config = SettingsConfigDict(env_file=".env", env_prefix="APP_", env_nested_delimiter="__")
                database_url: str = Field(validation_alias=AliasChoices("DATABASE_URL", "DB_URL"))
                recycle_minutes: int = Field(default=30, alias="RECYCLE_MINUTES")
                db: Pool = Field(default_factory=Pool)
                ENV: Environment = Environment.development

                @field_validator("database_url", mode="before")
                @classmethod
                def psycopg3(cls, value):
                    text = str(value)
                    for scheme in ("postgres://", "postgresql://"):
                        if text.startswith(scheme):
                            return text.replace(scheme, "postgresql+psycopg://", 1)
                    return text

                @computed_field
                @property
                def pool_recycle(self) -> int:
                    return self.recycle_minutes * 60

            settings = Settings()
        """,
            "db.py": """
            from sqlalchemy import create_engine
            from config import settings

            engine = create_engine(settings.database_url, pool_recycle=settings.pool_recycle,
                                   pool_size=settings.db.pool_size, pool_timeout=settings.db.pool_timeout,
                                   connect_args={"application_name": f"{settings.ENV.value}.api"})
        """,
        },
        monkeypatch,
    )
    s = at(report, "db.py:4").settings
    assert (s["url"].value, s["url"].env, s["url"].from_) == (
        "postgresql+psycopg://user@db:5432/app",
        "DATABASE_URL",
        ".env:1",
    )
    assert (s["pool_recycle"].value, s["pool_recycle"].env) == (1800, "RECYCLE_MINUTES")
    assert (s["pool_size"].value, s["pool_size"].env, s["pool_size"].from_) == (7, "APP_DB__POOL_SIZE", ".env:2")
    assert (s["pool_timeout"].value, s["pool_timeout"].env) == (30.0, "APP_DB__POOL_TIMEOUT")
    name = s["connect_args.application_name"]  # an enum member's value, the field's variable overriding it
    assert (name.value, name.env) == ("development.api", "APP_ENV")


def test_a_validator_building_the_url_from_the_fields_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A validator that fills the URL from the fields declared before it: pydantic 2's `info.data[...]` and
    pydantic 1's `values.get(...)` (the FastAPI templates' `assemble_db_connection`). With no variable set the
    URL is the one built from those fields' defaults, named by their variables (was: unknown)."""
    report = scan(
        tmp_path,
        {
            "v2.py": """
            from pydantic import ValidationInfo, field_validator
            from pydantic_settings import BaseSettings
            from sqlalchemy.ext.asyncio import create_async_engine

            class Settings(BaseSettings):
                DB_HOST: str = "db"
                DB_NAME: str = "shop"
                DATABASE_URI: str = ""

                @field_validator("DATABASE_URI", mode="after")
                def build(cls, v: str, info: ValidationInfo) -> str:
                    if v == "":
                        return f"postgresql+asyncpg://shop@{info.data['DB_HOST']}/{info.data['DB_NAME']}"
                    return v

            engine = create_async_engine(Settings().DATABASE_URI)
        """,
            "v1.py": """
            from typing import Any, Optional
            from pydantic import BaseSettings, PostgresDsn, validator
            from sqlalchemy import create_engine

            class Settings(BaseSettings):
                POSTGRES_SERVER: str = "pg"
                POSTGRES_USER: str = "app"
                POSTGRES_DB: str = "app"
                SQLALCHEMY_DATABASE_URI: Optional[str] = None

                @validator("SQLALCHEMY_DATABASE_URI", pre=True)
                def assemble(cls, v: Optional[str], values: dict[str, Any]) -> Any:
                    if isinstance(v, str):
                        return v
                    return PostgresDsn.build(
                        scheme="postgresql",
                        user=values.get("POSTGRES_USER"),
                        host=values.get("POSTGRES_SERVER"),
                        path=f"/{values.get('POSTGRES_DB') or ''}",
                    )

            engine = create_engine(Settings().SQLALCHEMY_DATABASE_URI, pool_pre_ping=True)
        """,
        },
        monkeypatch,
    )
    url = at(report, "v2.py:16").settings["url"]
    assert (url.value, url.env) == ("postgresql+asyncpg://shop@db/shop", "DATABASE_URI")  # the field's own
    url = at(report, "v1.py:22").settings["url"]
    assert url.value == "postgresql://app@pg/app"


def test_dataclass_factories_a_validator_filling_an_empty_field_and_isinstance_on_an_optional(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`field(default_factory=lambda: int(os.getenv("X", "5")))` is 5 with X (was unknown); a validator's
    `if v == "": return built` gives, on its other side, the variable's value, never the default "" it rules
    out (was ''); `x if isinstance(x, int) else 40` on an optional setting is 40 with nothing set (was unknown)."""
    report = scan(
        tmp_path,
        {
            "app.py": """
            import os
            from dataclasses import dataclass, field
            from pydantic import field_validator
            from pydantic_settings import BaseSettings
            from sqlalchemy import create_engine

            @dataclass
            class Pooling:
                size: int = field(default_factory=lambda: int(os.getenv("DB_POOL_SIZE", "5")))

            class Settings(BaseSettings):
                DATABASE_URI: str = ""

                @field_validator("DATABASE_URI", mode="after")
                def build(cls, v):
                    if v == "":
                        return "postgresql+psycopg://shop@db/shop"
                    return v

            _raw = os.getenv("DB_OVERFLOW")
            OVERFLOW = int(_raw) if _raw else None
            overflow = OVERFLOW if isinstance(OVERFLOW, int) else 40

            engine = create_engine(Settings().DATABASE_URI, pool_size=Pooling().size, max_overflow=overflow)
        """
        },
        monkeypatch,
    )
    pool = at(report, "app.py:24")
    assert values(pool) == {"url": "postgresql+psycopg://shop@db/shop", "pool_size": 5, "max_overflow": 40}
    assert pool.settings["pool_size"].env == "DB_POOL_SIZE"
    url = pool.settings["url"]
    assert [(b.value, b.known, b.env) for b in url.branches] == [
        ("postgresql+psycopg://shop@db/shop", True, "DATABASE_URI"),  # the field's variable overrides it
        (None, False, "DATABASE_URI"),
    ]


def test_starlette_decouple_environ_dj_database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = scan(
        tmp_path,
        {
            ".env": "PRE_PING=yes\nRECYCLE=90\n",
            "star.py": """
            from starlette.config import Config
            from sqlalchemy import create_engine

            engine = create_engine(
                Config(".env")("DATABASE_URL", default="postgresql://h/app"),
                pool_recycle=Config(".env")("RECYCLE", cast=int, default=3600),
                pool_pre_ping=Config(".env")("PRE_PING", cast=bool, default=False),
                pool_size=Config("missing.env")("RECYCLE", cast=int, default=5),
            )
        """,
            "dec.py": """
            from decouple import config
            from sqlalchemy import create_engine

            engine = create_engine("postgresql://h/app", pool_size=config("POOL_SIZE", 8, cast=int),
                                   pool_pre_ping=config("PRE_PING", False, cast=bool))
        """,
            "djsettings.py": """
            import environ
            import dj_database_url

            env = environ.Env(CONN_AGE=(int, 60))
            environ.Env.read_env()
            DATABASES = {
                "default": env.db("DATABASE_URL", default="postgres://u@db:5432/app?conn_max_age=30"),
                "reports": {**dj_database_url.config(env="REPORTS_URL", default="postgres://r@rep/rep",
                                                     conn_max_age=env.int("REPORTS_AGE", default=120)),
                            "CONN_HEALTH_CHECKS": env.bool("HEALTH", default=True)},
                "cache": {"ENGINE": "django.db.backends.postgresql", "CONN_MAX_AGE": env("CONN_AGE")},
            }
        """,
        },
        monkeypatch,
    )
    star = at(report, "star.py:4").settings
    assert (star["pool_recycle"].value, star["pool_recycle"].from_) == (90, ".env:2")
    # Starlette reads only true/1/false/0 for a bool: "yes" is refused, so the value is unknown, not True.
    assert not star["pool_pre_ping"].known and star["pool_pre_ping"].env == "PRE_PING"
    # A Config whose env file is missing reads no .env at all.
    assert (star["pool_size"].value, star["pool_size"].env) == (5, "RECYCLE")
    dec = at(report, "dec.py:4").settings
    # decouple's order is (option, default, cast); its bool words include yes (from .env).
    assert (dec["pool_size"].value, dec["pool_size"].env) == (8, "POOL_SIZE")
    assert (dec["pool_pre_ping"].value, dec["pool_pre_ping"].from_) == (True, ".env:1")
    default = at(report, "djsettings.py:7")
    assert (values(default)["CONN_MAX_AGE"], values(default)["HOST"]) == (30, "db")
    reports = values(at(report, "djsettings.py:8"))
    assert (reports["CONN_MAX_AGE"], reports["CONN_HEALTH_CHECKS"], reports["HOST"]) == (120, True, "rep")
    cache = at(report, "djsettings.py:11").settings["CONN_MAX_AGE"]
    assert (cache.value, cache.env) == (60, "CONN_AGE")


def test_environ_or_defaults_casts_and_setdefault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = scan(
        tmp_path,
        {
            "main.py": """
            import os
            os.environ.setdefault("POOL_TIMEOUT", "12")
            from db import engine
        """,
            "db.py": """
            import os
            from sqlalchemy import create_engine

            engine = create_engine(
                os.environ.get("DATABASE_URL") or "postgresql://h/app",
                pool_size=int(os.environ.get("POOL_SIZE") or 10),
                pool_pre_ping=bool(int(os.getenv("PRE_PING", "1"))),
                pool_timeout=float(os.environ["POOL_TIMEOUT"]),
            )
        """,
        },
        monkeypatch,
    )
    s = at(report, "db.py:4").settings
    assert (s["url"].value, s["url"].env) == ("postgresql://h/app", "DATABASE_URL")
    assert (s["pool_size"].value, s["pool_size"].env) == (10, "POOL_SIZE")
    assert (s["pool_pre_ping"].value, s["pool_pre_ping"].env) == (True, "PRE_PING")
    # os.environ.setdefault at import gives the variable its value for every later read.
    assert (s["pool_timeout"].value, s["pool_timeout"].env, s["pool_timeout"].from_) == (
        12.0,
        "POOL_TIMEOUT",
        "main.py:2",
    )


# --- files the code reads ---------------------------------------------------------------------------


def test_ini_yaml_and_alembic_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = scan(
        tmp_path,
        {
            "svc/app.cfg": "[database]\nurl = postgresql://h/%(name)s\nname = app\npool_size = 15\npre_ping = yes\n",
            "svc/settings.yaml": "database:\n  pool:\n    recycle: 900\n    size: 3\n",
            "svc/conf.py": """
            import configparser
            import os
            from pathlib import Path

            import yaml

            parser = configparser.ConfigParser()
            parser.read(os.path.join(os.path.dirname(os.path.abspath(__file__)), "app.cfg"))
            with open(Path(__file__).parent / "settings.yaml") as handle:
                DOC = yaml.safe_load(handle)
        """,
            "svc/db.py": """
            from sqlalchemy import create_engine
            from svc.conf import DOC, parser

            engine = create_engine(parser.get("database", "url"),
                                   pool_size=parser.getint("database", "pool_size"),
                                   pool_pre_ping=parser.getboolean("database", "pre_ping"),
                                   max_overflow=parser.getint("database", "overflow", fallback=4),
                                   pool_recycle=DOC["database"]["pool"]["recycle"])
        """,
            "svc/__init__.py": "",
            "alembic.ini": "[alembic]\nscript_location = migrations\nsqlalchemy.url = postgresql://h/migrations\n",
            "migrations/env.py": """
            from alembic import context
            from sqlalchemy import engine_from_config, pool

            config = context.config

            def run_migrations_online():
                connectable = engine_from_config(config.get_section(config.config_ini_section, {}),
                                                 prefix="sqlalchemy.", poolclass=pool.NullPool)
        """,
        },
        monkeypatch,
    )
    s = at(report, "svc/db.py:4").settings
    assert (s["url"].value, s["url"].from_) == ("postgresql://h/app", "svc/app.cfg:2")
    assert (s["pool_size"].value, s["pool_size"].from_, s["pool_size"].source) == (15, "svc/app.cfg:4", "15")
    assert s["pool_pre_ping"].value is True
    assert (s["max_overflow"].value, s["max_overflow"].from_) == (4, "svc/db.py:7")
    assert (s["pool_recycle"].value, s["pool_recycle"].from_) == (900, "svc/settings.yaml:3")
    migrations = at(report, "migrations/env.py:7")
    assert values(migrations) == {"url": "postgresql://h/migrations", "poolclass": "sqlalchemy.pool.NullPool"}
    assert migrations.settings["url"].from_ == "alembic.ini:3" and migrations.unresolved == []


def test_alembic_env_setting_the_url_before_it_reads_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Most migrations `env.py` replace alembic.ini's placeholder URL with `config.set_main_option(...)` before
    `engine_from_config(config.get_section(...))`: the URL is the code's (was: the placeholder, a wrong value);
    one set from a function's local is what the function has set it to there, never the placeholder."""
    report = scan(
        tmp_path,
        {
            "alembic.ini": "[alembic]\nscript_location = migrations\nsqlalchemy.url = driver://user:pass@localhost/dbname\n",
            "migrations/env.py": """
            import os
            from alembic import context
            from sqlalchemy import engine_from_config, pool

            config = context.config
            config.set_main_option("sqlalchemy.url", os.getenv("DATABASE_URL", "postgresql+psycopg://shop@db/shop"))

            def run_migrations_online():
                engine = engine_from_config(config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool)
        """,
            "other/alembic.ini": "[alembic]\nsqlalchemy.url = driver://user:pass@localhost/dbname\n",
            "other/env.py": """
            from alembic import context
            from sqlalchemy import engine_from_config

            def get_url():
                return "postgresql://shop@db/shop"

            def run_migrations_online():
                url = get_url()
                context.config.set_main_option("sqlalchemy.url", url)
                engine = engine_from_config(context.config.get_section("alembic"), prefix="sqlalchemy.")
        """,
        },
        monkeypatch,
    )
    url = at(report, "migrations/env.py:9").settings["url"]
    poolclass = at(report, "migrations/env.py:9").settings["poolclass"]
    assert (poolclass.value, poolclass.from_) == ("sqlalchemy.pool.NullPool", "migrations/env.py:9")
    assert (url.value, url.env, url.from_) == (
        "postgresql+psycopg://shop@db/shop",
        "DATABASE_URL",
        "migrations/env.py:6",
    )
    other = at(report, "other/env.py:10").settings["url"]
    assert (other.value, other.from_) == ("postgresql://shop@db/shop", "other/env.py:5")


# A migrations env.py as alembic's template writes it: the engine from alembic.ini's [alembic] section.
MIGRATIONS_ENV = """
from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
engine = engine_from_config(config.get_section(config.config_ini_section), poolclass=pool.NullPool)
"""


def test_an_ini_value_that_is_a_template_the_code_fills_is_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """jupyterhub's alembic.ini holds `sqlalchemy.url = {db_url}`, filled by str.format into a temporary file
    before alembic runs: the URL is unknown (was the known URL '{db_url}'), read as a section or as one option."""
    report = scan(
        tmp_path,
        {
            "alembic.ini": "[alembic]\nsqlalchemy.url = {db_url}\npool_size = 7\n",
            "migrations/env.py": MIGRATIONS_ENV,
            "other.py": """
            from configparser import ConfigParser
            from sqlalchemy import create_engine

            parser = ConfigParser()
            parser.read("alembic.ini")
            engine = create_engine(parser.get("alembic", "sqlalchemy.url"), pool_size=parser.getint("alembic", "pool_size"))
        """,
        },
        monkeypatch,
    )
    for where in ("migrations/env.py:5", "other.py:6"):
        url = at(report, where).settings["url"]
        assert not url.known and "template" in (url.expr or ""), where
    assert values(at(report, "other.py:6"))["pool_size"] == 7


def test_a_configparser_subclass_with_its_own_get_reads_the_file_it_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Airflow's rule in a project subclass (`get()` tries APP__SECTION__KEY first): with no variable set an
    option is the file's that `conf.read()` names in the tree (was: its fallback, 1800 where the file says 600)."""
    report = scan(
        tmp_path,
        {
            "app.cfg": "[database]\nsql_alchemy_conn = postgresql://app@db/app\nsql_alchemy_pool_recycle = 600\n",
            "app.py": """
            import os
            from configparser import ConfigParser
            from sqlalchemy import create_engine

            class AppConfigParser(ConfigParser):
                def get(self, section, key, **kwargs):
                    env_var = f"APP__{section.upper()}__{key.upper()}"
                    if env_var in os.environ:
                        return os.environ[env_var]
                    return super().get(section, key, **kwargs)

            conf = AppConfigParser()
            conf.read("app.cfg")
            engine = create_engine(
                conf.get("database", "sql_alchemy_conn"),
                pool_size=conf.getint("database", "sql_alchemy_pool_size", fallback=5),
                pool_recycle=conf.getint("database", "sql_alchemy_pool_recycle", fallback=1800),
            )
        """,
        },
        monkeypatch,
    )
    pool = at(report, "app.py:14")
    assert values(pool) == {"url": "postgresql://app@db/app", "pool_size": 5, "pool_recycle": 600}
    assert pool.settings["pool_recycle"].from_ == "app.cfg:3"
    # each named by the variable the subclass's get() reads first (was: no variable on any)
    assert {key: value.env for key, value in pool.settings.items()} == {
        "url": "APP__DATABASE__SQL_ALCHEMY_CONN",
        "pool_size": "APP__DATABASE__SQL_ALCHEMY_POOL_SIZE",
        "pool_recycle": "APP__DATABASE__SQL_ALCHEMY_POOL_RECYCLE",
    }


def test_a_project_configparser_whose_files_are_read_at_run_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Airflow-style: `conf` is the project's ConfigParser subclass reading a file named at run time; an
    option's fallback is its value when that file does not set it, one with none is unknown."""
    report = scan(
        tmp_path,
        {
            "configuration.py": """
            import os
            from configparser import ConfigParser

            class AppConfigParser(ConfigParser):
                def getint(self, section, key, **kwargs):
                    return int(os.environ.get(f"APP__{section}__{key}".upper()) or super().get(section, key, **kwargs))

            def initialize_config() -> AppConfigParser:
                parser = AppConfigParser()
                parser.read(os.environ.get("APP_CONFIG", "~/app/app.cfg"))
                return parser

            conf = initialize_config()
        """,
            "settings.py": """
            from sqlalchemy import create_engine
            from configuration import conf

            def prepare_engine_args():
                engine_args = conf.getjson("database", "engine_args", fallback={})
                if not conf.getboolean("database", "pool_enabled", fallback=True):
                    engine_args["poolclass"] = "NullPool"
                else:
                    engine_args["pool_size"] = conf.getint("database", "pool_size", fallback=5)
                    engine_args["pool_pre_ping"] = conf.getboolean("database", "pool_pre_ping", fallback=True)
                return engine_args

            def configure_orm():
                return create_engine(conf.get("database", "sql_alchemy_conn"), **prepare_engine_args())
        """,
        },
        monkeypatch,
    )
    pool = at(report, "settings.py:14")
    assert (values(pool)["pool_size"], values(pool)["pool_pre_ping"]) == (5, True)
    assert pool.settings["pool_size"].from_ == "settings.py:9"
    assert pool.settings["pool_size"].env == "APP__DATABASE__POOL_SIZE"  # what its own getint() reads first
    assert not pool.settings["url"].known and "not in ~/app/app.cfg" in (pool.settings["url"].expr or "")
    assert pool.unresolved == ["**engine_args"]  # what the ini's engine_args gives may hide any key


def test_a_parser_subclass_that_adds_nothing_extended_interpolation_and_globals_set_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ConfigParser subclass that changes nothing about reading reads its files as ConfigParser does (was:
    the fallbacks, 5 and 10, wrong); ExtendedInterpolation's `${x}` and `${section:x}` are expanded (was: the
    url with `${host}` in it, wrong); a module global left None until a function sets it through `global` is
    what that function sets where it is read (was: its placeholder None, wrong; then unknown)."""
    report = scan(
        tmp_path,
        {
            "app.cfg": "[sizing]\nworkers = 4\n\n[database]\nhost = db\nurl = postgresql://app@${host}/app\n"
            "pool_size = 12\nmax_overflow = ${sizing:workers}\n",
            "app.py": """
            import configparser
            from sqlalchemy import create_engine

            class AppConfig(configparser.ConfigParser):
                \"\"\"Nothing of its own.\"\"\"

            cfg = AppConfig({"pool_timeout": "7"}, interpolation=configparser.ExtendedInterpolation())
            cfg.read("app.cfg")
            engine = create_engine(
                cfg["database"]["url"],
                pool_size=cfg.getint("database", "pool_size", fallback=5),
                max_overflow=cfg.getint("database", "max_overflow", fallback=10),
                pool_timeout=cfg.getint("database", "pool_timeout"),
            )

            DB_URL = None

            def configure_vars():
                global DB_URL
                DB_URL = cfg.get("database", "url")

            def configure_orm():
                return create_engine(DB_URL)
        """,
        },
        monkeypatch,
    )
    pool = at(report, "app.py:9")
    assert values(pool) == {"url": "postgresql://app@db/app", "pool_size": 12, "max_overflow": 4, "pool_timeout": 7}
    assert pool.settings["pool_size"].from_ == "app.cfg:7"  # ConfigParser's defaults= under the file's values
    url = at(report, "app.py:23").settings["url"]
    assert (url.value, url.from_) == ("postgresql://app@db/app", "app.cfg:6")


def test_a_global_a_function_rebinds_and_returns_to_the_same_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tandoor's `def setup(): global DATABASES; DATABASES = {...}; return DATABASES` with `DATABASES = setup()`
    at the module's top, its only call: what the module holds is the returned dict (was: no settings at all)."""
    report = scan(
        tmp_path,
        {
            "settings.py": """
            import os

            def setup_database():
                global DATABASES
                DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "CONN_MAX_AGE": 60}}
                return DATABASES

            DATABASES = setup_database()
        """,
        },
        monkeypatch,
    )
    assert values(report.pools[0]) == {"ENGINE": "django.db.backends.postgresql", "CONN_MAX_AGE": 60}


def test_a_global_dict_a_function_changes_on_one_path_keeps_its_keys_on_the_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CKAN's `for option in FROM_ENV: if from_env: config[option] = from_env` on a module-level dict: on
    the path that leaves it alone the dict is as it was (was: every key "not set", so the pool lost all)."""
    report = scan(
        tmp_path,
        {
            "app.ini": "[app:main]\nsqlalchemy.url = postgresql://app@db/app\nsqlalchemy.pool_size = 10\n",
            "app.py": """
            import configparser
            import os
            from sqlalchemy import engine_from_config

            FROM_ENV = {"sqlalchemy.url": "APP_SQLALCHEMY_URL", "app.site_url": "APP_SITE_URL"}
            parser = configparser.ConfigParser()
            parser.read("app.ini")
            config = dict(parser.items("app:main"))

            def load_environment():
                for option in FROM_ENV:
                    from_env = os.environ.get(FROM_ENV[option], None)
                    if from_env:
                        config[option] = from_env
                config.setdefault("sqlalchemy.pool_pre_ping", True)
                return engine_from_config(dict(config))
        """,
        },
        monkeypatch,
    )
    pool = at(report, "app.py:16")
    assert values(pool) == {"url": "postgresql://app@db/app", "pool_size": 10, "pool_pre_ping": True}
    assert pool.settings["url"].env == "APP_SQLALCHEMY_URL" and pool.settings["pool_size"].from_ == "app.ini:3"


def test_ini_sections_handed_over_whole_and_the_tutorial_config_function(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`engine_from_config(dict(parser["app:main"]))` and the section proxy itself are its options (was: none,
    and "SectionV" in the report); the tutorial's `for key, value in parser.items(section): db[key] = value`
    then `int(params.pop("maxconn"))` gives maxconn 12 and leaves it out of `**params` (was: unknown, then
    the string "12" from the spread)."""
    report = scan(
        tmp_path,
        {
            "app.ini": "[app:main]\nsqlalchemy.url = postgresql://app@db/app\nsqlalchemy.pool_size = 10\n\n"
            "[replica]\nsqlalchemy.url = postgresql://app@replica/app\n\n"
            "[postgresql]\nhost = db\ndbname = app\nmaxconn = 12\n",
            "app.py": """
            from configparser import ConfigParser
            from psycopg2 import pool
            from sqlalchemy import engine_from_config

            parser = ConfigParser()
            parser.read("app.ini")
            engine = engine_from_config(dict(parser["app:main"]), prefix="sqlalchemy.")
            replica = engine_from_config(parser["replica"], prefix="sqlalchemy.")

            def config(section="postgresql"):
                db = {}
                for key, value in parser.items(section):
                    db[key] = value
                return db

            params = config()
            maxconn = int(params.pop("maxconn"))
            db_pool = pool.ThreadedConnectionPool(1, maxconn, **params)
        """,
        },
        monkeypatch,
    )
    assert values(at(report, "app.py:7")) == {"url": "postgresql://app@db/app", "pool_size": 10}
    assert "SectionV" not in str(report.to_json())  # no name of the scan's own in a report
    assert values(at(report, "app.py:8")) == {"url": "postgresql://app@replica/app"}
    threaded = at(report, "app.py:18")
    assert values(threaded) == {"minconn": 1, "maxconn": 12, "host": "db", "dbname": "app"}
    assert threaded.settings["maxconn"].from_ == "app.ini:11" and not threaded.unresolved


def test_engine_from_config_with_a_mapping_the_scan_cannot_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CKAN-style: the ini is given at run time; what the code sets by default still counts."""
    report = scan(
        tmp_path,
        {
            "common.py": """
            from collections.abc import MutableMapping

            class AppConfig(MutableMapping):
                pass

            config = AppConfig()
        """,
            "environment.py": """
            from sqlalchemy import engine_from_config
            from common import config

            def load_environment():
                config.setdefault("store.sqlalchemy.pool_pre_ping", True)
                config.setdefault("store.sqlalchemy.pool_recycle", "600")
                return engine_from_config(dict(config), "store.sqlalchemy.")
        """,
        },
        monkeypatch,
    )
    pool = at(report, "environment.py:7")
    assert values(pool) == {"pool_pre_ping": True, "pool_recycle": 600, "url": None}
    assert not pool.settings["url"].known  # in what it cannot read (round 7: was left out)
    assert pool.unresolved == ["configuration: **config"]  # the rest of the ini may set anything


# --- frameworks ------------------------------------------------------------------------------------


def test_flask_options_in_classes_under_tests_and_app_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = scan(
        tmp_path,
        {
            "config.py": """
            import os

            class Config:
                DATABASE_URL = os.getenv("DATABASE_URL", "sqlite:///app.db")
                SQLALCHEMY_DATABASE_URI = DATABASE_URL
                if not DATABASE_URL.startswith("sqlite"):
                    SQLALCHEMY_ENGINE_OPTIONS = {"max_overflow": 20, "pool_pre_ping": True}

            class ProductionConfig(Config):
                SQLALCHEMY_POOL_RECYCLE = 280
        """,
            "app.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            def create_app():
                app = Flask(__name__)
                app.config.from_object("config.ProductionConfig")
                app.config.update({"SQLALCHEMY_DATABASE_URI": "postgresql://h/app",
                                   "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 4, "pool_recycle": 60}})
                return app

            db = SQLAlchemy()
        """,
        },
        monkeypatch,
    )
    # One engine: ProductionConfig as create_app loads it, its update over it (SQLALCHEMY_ENGINE_OPTIONS over the
    # 2.x SQLALCHEMY_POOL_RECYCLE). Config itself is loaded by no app, and the one load is read: no pool of its
    # own (a test in a loaded class keeping its branches: tests/test_scan_flask.py).
    assert [p.where for p in report.pools] == ["app.py:6"]
    assert values(at(report, "app.py:6")) == {"url": "postgresql://h/app", "pool_size": 4, "pool_recycle": 60}


def test_django_database_urls_with_an_engine_of_their_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`dj_database_url.config(engine=...)` and django-environ's `env.db(engine=...)` replace the backend the
    URL's scheme names (python-discord's django_prometheus backend): was Django's own postgresql backend."""
    report = scan(
        tmp_path,
        {
            "settings.py": """
            import dj_database_url
            import environ

            env = environ.Env()
            DATABASES = {
                "default": dj_database_url.config(
                    default="postgres://shop@db/shop", engine="django_prometheus.db.backends.postgresql"
                ),
                "other": env.db("OTHER_URL", default="postgres://shop@db/other", engine="app.backends.pg"),
            }
        """,
        },
        monkeypatch,
    )
    engines = {pool.call: values(pool)["ENGINE"] for pool in report.pools}
    assert engines == {
        "DATABASES['default']": "django_prometheus.db.backends.postgresql",
        "DATABASES['other']": "app.backends.pg",
    }


def test_a_string_method_on_a_required_variable_keeps_its_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`os.environ["URL"].replace(...)` / `.strip()` (pgai's examples): unknown, named by the variable (was: no
    variable, so nothing told the user what sets the URL)."""
    report = scan(
        tmp_path,
        {
            "db.py": """
            import os
            from sqlalchemy import create_engine

            engine = create_engine(os.environ["APP_DB_URL"].strip().replace("postgres://", "postgresql://"))
        """,
        },
        monkeypatch,
    )
    url = at(report, "db.py:4").settings["url"]
    assert (url.known, url.env) == (False, "APP_DB_URL")


def test_a_nested_key_under_two_tests_in_a_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """healthchecks' settings: a sqlite DATABASES, replaced `if DB == "postgres"`, then again `if DB == "mysql"`.
    A key inside OPTIONS keeps both tests (was: the first one lost, so sqlite's timeout was claimed for postgres
    too, and postgres's sslmode was '?' instead of 'prefer')."""
    report = scan(
        tmp_path,
        {
            "settings.py": """
            import os

            DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "OPTIONS": {"timeout": 5}}}
            if os.getenv("DB") == "postgres":
                DATABASES = {
                    "default": {
                        "ENGINE": "django.db.backends.postgresql",
                        "OPTIONS": {"sslmode": os.getenv("DB_SSLMODE", "prefer")},
                    }
                }
            if os.getenv("DB") == "mysql":
                DATABASES = {"default": {"ENGINE": "django.db.backends.mysql"}}
        """,
        },
        monkeypatch,
    )
    pool = report.pools[0]
    mysql, postgres = 'os.getenv("DB") == "mysql"', 'os.getenv("DB") == "postgres"'
    sqlite = f"not ({mysql}) and not ({postgres})"
    not_sqlite = f"{mysql} or not ({mysql}) and {postgres}"

    def branches(key: str) -> list[tuple[object, str | None]]:
        return [(b.value if b.known else b.expr, b.when) for b in pool.settings[key].branches]

    assert pool.settings["OPTIONS.timeout"].value == 5
    assert branches("OPTIONS.timeout") == [(5, sqlite), (NOT_SET, not_sqlite)]
    assert branches("OPTIONS.sslmode") == [
        (NOT_SET, f"{mysql} or {sqlite}"),
        ("prefer", f"not ({mysql}) and {postgres}"),
    ]


def test_a_match_statement_takes_the_case_its_subject_picks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`match backend:` at a settings module's top (was: no pool at all) and in a function (paperless's
    database choice; was: every key unknown): a subject the environment decides takes every case, the one its
    default picks in effect; a subject the code fixes takes its case alone."""
    report = scan(
        tmp_path,
        {
            "site/__init__.py": "",
            "site/settings.py": """
            import os

            backend = os.getenv("DB_BACKEND", "lite")
            match backend:
                case "lite":
                    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "app.sqlite3"}}
                case "pg" | "postgres":
                    DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "CONN_MAX_AGE": 300}}
        """,
            "db.py": """
            from sqlalchemy import create_engine

            def options(kind):
                match kind:
                    case "fast":
                        return {"pool_size": 20}
                    case _:
                        return {"pool_size": 5, "pool_pre_ping": True}

            engine = create_engine("postgresql://app@db/app", **options("safe"))
        """,
        },
        monkeypatch,
    )
    django = report.pools[[pool.stack for pool in report.pools].index("django")]
    engine = django.settings["ENGINE"]
    assert engine.value == "django.db.backends.sqlite3"
    assert [b.value for b in engine.branches] == ["django.db.backends.sqlite3", "django.db.backends.postgresql"]
    assert [b.value if b.known else b.expr for b in django.settings["CONN_MAX_AGE"].branches] == [NOT_SET, 300]
    assert values(at(report, "db.py:10")) == {"url": "postgresql://app@db/app", "pool_size": 5, "pool_pre_ping": True}


def test_a_library_class_given_under_a_test_says_where(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """freqtrade's `extra.update({"poolclass": StaticPool})` under a test: the branch says where it is written
    (was: no place, where an int beside it had one)."""
    report = scan(
        tmp_path,
        {
            "store.py": """
            import sys
            from sqlalchemy import create_engine
            from sqlalchemy.pool import StaticPool

            def open_store(url):
                extra = {}
                if url == "sqlite://":
                    extra.update({"poolclass": StaticPool})
                return create_engine(url, **extra)

            engine = open_store(sys.argv[1])
        """,
        },
        monkeypatch,
    )
    poolclass = at(report, "store.py:11").settings["poolclass"]
    assert poolclass.from_ == "store.py:8"
    assert [(b.value, b.from_) for b in poolclass.branches if b.known] == [("sqlalchemy.pool.StaticPool", "store.py:8")]


def test_a_lazy_pool_opened_from_another_method_of_the_one_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chainlit's data layer: `connect()` makes the pool from what `__init__` kept and only `fetch()` calls it,
    as `await self.connect()`; the app makes one instance, from a variable. The pool's URL is that instance's
    (was: "database_url (not given)", no variable), and the test both methods repeat is said once. connect()
    keeps the pool and makes it only when there is none, so the pool is at its own line (round 7: was at
    fetch()'s call, one pool per calling method)."""
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/store.py": """
            import asyncpg

            class Store:
                def __init__(self, database_url):
                    self.database_url = database_url
                    self.pool = None

                async def connect(self):
                    if not self.pool:
                        self.pool = await asyncpg.create_pool(self.database_url, max_size=6)

                async def fetch(self, query):
                    if not self.pool:
                        await self.connect()
                    return await self.pool.fetch(query)
        """,
            "app/layer.py": """
            import os
            from app.store import Store

            store = Store(database_url=os.environ.get("DATABASE_URL", "postgresql://app@db/app"))
        """,
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["app/store.py:10"]
    pool = at(report, "app/store.py:10")
    dsn = pool.settings["dsn"]
    assert (dsn.value, dsn.env) == ("postgresql://app@db/app", "DATABASE_URL")
    assert pool.condition == "not self.pool"


def test_settings_loaded_from_an_optional_add_on_or_the_projects_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fief's settings: `importlib.import_module` of an add-on not in the tree, falling back on ImportError to
    the project's module and `getattr(mod, "Settings")`; also the plain `try: from addon import Settings /
    except ImportError: from app.base import Settings`. The fallback's values are listed under its branch,
    with their variables (was: unknown on every path)."""
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/base.py": """
            from pydantic_settings import BaseSettings

            class Settings(BaseSettings):
                pool_size: int = 7
        """,
            "app/loader.py": """
            import importlib

            def load():
                try:
                    mod = importlib.import_module("addon.settings")
                    cls = getattr(mod, "Settings")
                except (ImportError, AttributeError):
                    cls = getattr(importlib.import_module("app.base"), "Settings", None)
                return cls()

            settings = load()
        """,
            "app/plain.py": """
            try:
                from addon.settings import Settings
            except ImportError:
                from app.base import Settings

            settings = Settings()
        """,
            "app/db.py": """
            from sqlalchemy import create_engine
            from app import loader, plain

            one = create_engine("postgresql://app@db/app", pool_size=loader.settings.pool_size)
            two = create_engine("postgresql://app@db/app", pool_size=plain.settings.pool_size)
        """,
        },
        monkeypatch,
    )
    for where in ("app/db.py:4", "app/db.py:5"):
        size = at(report, where).settings["pool_size"]
        assert [b.value for b in size.branches if b.known] == [7], where
        assert size.env == "POOL_SIZE", where


def test_a_helper_that_fills_the_settings_dict_it_is_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """warehouse's `maybe_set(settings, "database.url", "DATABASE_URL")`: a project function that changes the
    dict its caller hands it; the caller's dict has the keys it sets, with their variables (was: both unknown,
    no variable)."""
    report = scan(
        tmp_path,
        {
            "app.py": """
            import os
            from sqlalchemy import create_engine

            def maybe_set(settings, name, envvar, default=None):
                if envvar in os.environ:
                    settings.setdefault(name, os.environ[envvar])
                elif default is not None:
                    settings[name] = default

            settings = {}
            maybe_set(settings, "database.url", "DATABASE_URL")
            maybe_set(settings, "database.pool_size", "DB_POOL_SIZE", default=12)
            engine = create_engine(settings["database.url"], pool_size=settings["database.pool_size"])
        """,
        },
        monkeypatch,
    )
    pool = at(report, "app.py:13")
    assert pool.settings["url"].env == "DATABASE_URL"
    size = pool.settings["pool_size"]
    assert (size.value, size.env) == (12, "DB_POOL_SIZE")


def test_a_tests_own_helper_is_reported_at_its_calls_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A helper in tests/ that wraps the app's wrapper and that only tests call: its pool is at its call (was:
    also at the helper's own line, "url (not given)", one pool counted twice). The app's wrapper only that
    helper calls is the tests' too (round 37: camcops), listed at the helper's call alone."""
    report = scan(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/orm.py": """
            from sqlalchemy import create_engine

            def new_engine(url="sqlite:///:memory:", **kwargs):
                return create_engine(url, **kwargs)
        """,
            "pkg/tests/__init__.py": "",
            "pkg/tests/fill.py": """
            from pkg import orm

            def fill(url):
                return orm.new_engine(url, pool_size=2)

            fill("postgresql://app@db/test")
        """,
        },
        monkeypatch,
    )
    wheres = sorted(pool.where for pool in report.pools)
    assert wheres == ["pkg/tests/fill.py:6"]
    assert values(at(report, "pkg/tests/fill.py:6")) == {"url": "postgresql://app@db/test", "pool_size": 2}


def test_a_path_given_as_a_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Django's `"NAME": BASE_DIR / "db.sqlite3"` (wger, healthchecks): the path, as `str()` of it gives
    (was: unknown, where `str(BASE_DIR / ...)` was known)."""
    report = scan(
        tmp_path,
        {
            "conf/settings.py": """
            from pathlib import Path

            ROOT = Path(__file__).resolve().parent.parent
            DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ROOT / "local.sqlite3"}}
        """,
        },
        monkeypatch,
    )
    name = report.pools[0].settings["NAME"]
    assert name.value == str(tmp_path.resolve() / "local.sqlite3") and name.from_ == "conf/settings.py:4"


def test_databases_a_helper_makes_is_at_that_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tandoor's test settings: `DATABASES = make_databases(name="shop_test")` then an item write; the pool is
    at the call that makes DATABASES (was: at the later write)."""
    report = scan(
        tmp_path,
        {
            "base.py": """
            def make_databases(name=None):
                return {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": name or "shop"}}
        """,
            "test_settings.py": """
            from base import make_databases

            DATABASES = make_databases(name="shop_test")
            DATABASES["default"]["CONN_MAX_AGE"] = 0
        """,
        },
        monkeypatch,
    )
    pool = at(report, "test_settings.py:3")
    assert values(pool) == {"ENGINE": "django.db.backends.postgresql", "NAME": "shop_test", "CONN_MAX_AGE": 0}


def test_an_interpolation_that_fills_empty_options_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CTFd's EnvInterpolation (a BasicInterpolation subclass whose before_get returns `os.getenv(option)` for
    an empty option), read as `ini["server"]["DATABASE_URL"] or default`: the URL is named by DATABASE_URL (was:
    none; the interpolation class was taken for a parser)."""
    report = scan(
        tmp_path,
        {
            "config.ini": "[server]\nDATABASE_URL =\n",
            "app.py": """
            import configparser
            import os
            from sqlalchemy import create_engine

            class EnvFallback(configparser.BasicInterpolation):
                def before_get(self, parser, section, option, value, defaults):
                    value = super().before_get(parser, section, option, value, defaults)
                    return os.getenv(option) if value == "" and os.getenv(option) else value

            ini = configparser.ConfigParser(interpolation=EnvFallback())
            ini.optionxform = str
            ini.read("config.ini")
            engine = create_engine(ini["server"]["DATABASE_URL"] or "postgresql://shop@db/shop")
        """,
        },
        monkeypatch,
    )
    url = at(report, "app.py:13").settings["url"]
    assert (url.value, url.env) == ("postgresql://shop@db/shop", "DATABASE_URL")


def test_traitlets_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """JupyterHub's configurable traits (`db_url = Unicode("sqlite:///...").tag(config=True)`, `Bool(False)`,
    `Dict()`): an instance reads each default until a config file sets it (was: unknown, `**db_kwargs`
    unresolved)."""
    report = scan(
        tmp_path,
        {
            "hub.py": """
            from sqlalchemy import create_engine
            from traitlets import Bool, Dict, Unicode
            from traitlets.config import Application

            class Hub(Application):
                db_url = Unicode("sqlite:///hub.sqlite", help="database url").tag(config=True)
                debug_db = Bool(False).tag(config=True)
                db_kwargs = Dict(help="more create_engine arguments").tag(config=True)

                def init_db(self):
                    self.engine = create_engine(self.db_url, echo=self.debug_db, **self.db_kwargs)
        """,
        },
        monkeypatch,
    )
    pool = at(report, "hub.py:11")
    assert values(pool) == {"url": "sqlite:///hub.sqlite", "echo": False} and pool.unresolved == []
    assert pool.settings["url"].from_ == "hub.py:6"


def test_decouple_cast_to_a_database_and_an_abstract_property(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """kitsune's `config("DATABASE_URL", cast=dj_database_url.parse)`: the database dict the URL parses to, with
    parse()'s defaults, at its line (was: unresolved, or placed at a later item write). luigi's abstract
    `connection_string` property that returns None: unknown, since a subclass gives it (was a known None)."""
    report = scan(
        tmp_path,
        {
            "settings.py": """
            import dj_database_url
            from decouple import config

            DATABASES = {"default": config("DATABASE_URL", default="postgres://u@db/app", cast=dj_database_url.parse)}
            DATABASES["default"]["OPTIONS"] = {"connect_timeout": 10}
        """,
            "lib.py": """
            import abc
            import sqlalchemy

            class Task(abc.ABC):
                @property
                @abc.abstractmethod
                def connection_string(self):
                    return None

                def engine(self):
                    return sqlalchemy.create_engine(self.connection_string)
        """,
        },
        monkeypatch,
    )
    django = at(report, "settings.py:4")
    assert values(django) == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "app",
        "USER": "u",
        "PASSWORD": "",  # dj-database-url gives "" for a URL with no password
        "HOST": "db",
        "PORT": "",
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": False,
        "OPTIONS.connect_timeout": 10,
    }
    assert django.settings["ENGINE"].env == "DATABASE_URL"
    url = at(report, "lib.py:11").settings["url"]
    assert not url.known and "abstract" in (url.expr or "")


def test_a_second_test_of_the_same_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """letta's engine: `if settings.disable_pooling: NullPool else: pool_size`, then a second block `if not
    settings.disable_pooling:`. The flag's default decides both (was: the second undecided, so poolclass was
    unknown and the pooled branch listed first)."""
    report = scan(
        tmp_path,
        {
            "settings.py": """
            from pydantic_settings import BaseSettings, SettingsConfigDict

            class Settings(BaseSettings):
                model_config = SettingsConfigDict(env_prefix="shop_")
                pool_size: int = 25
                disable_pooling: bool = True

            settings = Settings()
        """,
            "db.py": """
            from sqlalchemy import NullPool
            from sqlalchemy.ext.asyncio import create_async_engine
            from settings import settings

            kwargs = {"pool_pre_ping": True}
            if settings.disable_pooling:
                kwargs["poolclass"] = NullPool
            else:
                kwargs.update({"pool_size": settings.pool_size})
            if not settings.disable_pooling:
                kwargs["connect_args"] = {"timeout": 30}
            engine = create_async_engine("postgresql+asyncpg://app@db/app", **kwargs)
        """,
        },
        monkeypatch,
    )
    pool = at(report, "db.py:12")
    assert pool.settings["poolclass"].value == "sqlalchemy.NullPool"
    assert pool.settings["connect_args.timeout"].branches[0].expr == NOT_SET
    assert [b.value for b in pool.settings["pool_size"].branches] == [None, 25]


def test_a_stub_that_raises_on_the_other_side_gives_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """reflex's `if find_spec("sqlalchemy"): def engine_kwargs(): ... else: engine_kwargs = _missing` (a
    function that always raises): the values are the helper's alone (was: each one unknown, "? when not
    (find_spec(...))", and `**_missing() always raises` unresolved)."""
    report = scan(
        tmp_path,
        {
            "db.py": """
            from importlib.util import find_spec

            def _missing(*args, **kwargs):
                raise ImportError("install the db extra")

            if find_spec("sqlalchemy"):
                import sqlalchemy

                def engine_kwargs():
                    return {"pool_size": 7, "pool_pre_ping": True}

                def get_engine(url):
                    return sqlalchemy.create_engine(url, **engine_kwargs())
            else:
                engine_kwargs = _missing
                get_engine = _missing
        """,
            "app.py": 'from db import get_engine\n\nengine = get_engine("postgresql://app@db/app")\n',
        },
        monkeypatch,
    )
    pool = at(report, "app.py:3")
    assert values(pool) == {"url": "postgresql://app@db/app", "pool_size": 7, "pool_pre_ping": True}
    assert pool.unresolved == []


def test_migrations_run_by_a_program_that_sets_the_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """mage's database manager loads alembic.ini into a Config, sets `sqlalchemy.url` and runs the upgrade: the
    migrations engine's URL is that program's, with the ini's as the `alembic` command's branch (was: the ini's
    placeholder, known)."""
    report = scan(
        tmp_path,
        {
            "alembic.ini": "[alembic]\nscript_location = migrations\nsqlalchemy.url = sqlite:///placeholder.db\n",
            "migrations/env.py": MIGRATIONS_ENV,
            "migrate.py": """
            import os
            from alembic import command
            from alembic.config import Config

            DB_URL = os.getenv("SHOP_DB_URL", "postgresql://shop@db/shop")

            def run():
                cfg = Config("alembic.ini")
                cfg.set_main_option("sqlalchemy.url", DB_URL)
                command.upgrade(cfg, "head")
        """,
        },
        monkeypatch,
    )
    url = at(report, "migrations/env.py:5").settings["url"]
    assert (url.value, url.env) == ("postgresql://shop@db/shop", "SHOP_DB_URL")
    assert [(b.value, b.when) for b in url.branches] == [
        ("postgresql://shop@db/shop", "run by migrate.py:9"),
        ("sqlite:///placeholder.db", "run by the alembic command"),
    ]


def test_a_dataclass_config_that_makes_the_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """advanced-alchemy's engine configs: a @dataclass whose method makes the engine from its fields, through a
    field whose default is `create_engine`, made once by the app. The pool is at the app's call with the
    instance's values (was: at the method with the fields' defaults, 5 where the app gives 12; or no pool)."""
    report = scan(
        tmp_path,
        {
            "dbconfig.py": """
            from dataclasses import dataclass
            from typing import Any, Callable
            from sqlalchemy import create_engine

            @dataclass
            class DbConfig:
                url: str
                pool_size: int = 5
                engine_factory: Callable[..., Any] = create_engine

                def get_engine(self):
                    return self.engine_factory(self.url, pool_size=self.pool_size)
        """,
            "app.py": """
            from dbconfig import DbConfig

            config = DbConfig(url="postgresql://app@db/app", pool_size=12)
            engine = config.get_engine()
        """,
        },
        monkeypatch,
    )
    pool = at(report, "app.py:4")
    assert pool.via == ["dbconfig.py:12"]
    assert values(pool) == {"url": "postgresql://app@db/app", "pool_size": 12}
    assert len(report.pools) == 1


def test_an_f_string_url_is_known_to_start_with_its_literal_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """mage's engine: with no variable set the URL is `f"sqlite:///{data_dir()}/..."`, unknown but surely not
    postgresql, so `if url.startswith("postgresql"): pool_size = 50` is not taken by default (was: undecided, the
    50 listed first). `os.path.expanduser("~/...")` is whoever runs it's home: unknown (was the `~` text)."""
    report = scan(
        tmp_path,
        {
            "db.py": """
            import os
            import sys
            from sqlalchemy import create_engine

            url = os.getenv("SHOP_DB_URL")
            kwargs = {"pool_pre_ping": True}
            if not url:
                url = f"sqlite:///{sys.argv[1]}/shop.db"
            if url.startswith("postgresql"):
                kwargs["pool_size"] = 50
            engine = create_engine(url, **kwargs)
            other = create_engine(f"sqlite:///{os.path.expanduser('~/.shop')}/shop.db")
        """,
        },
        monkeypatch,
    )
    size = at(report, "db.py:11").settings["pool_size"]
    assert [(b.value if b.known else b.expr) for b in size.branches] == [NOT_SET, 50]
    assert not at(report, "db.py:12").settings["url"].known


def test_a_validator_that_builds_an_unreadable_url_keeps_its_scheme(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The older full-stack FastAPI template: a v1 validator builds the URL with `PostgresDsn.build(scheme=
    "postgresql+psycopg", ...)` from required fields. The URL is unknown but its scheme is kept, so the pool is
    judged with psycopg (was: the scheme lost, judged as psycopg2)."""
    report = scan(
        tmp_path,
        {
            "config.py": """
            from typing import Any, Optional
            from pydantic import BaseSettings, PostgresDsn, validator

            class Settings(BaseSettings):
                PG_HOST: str
                DATABASE_URI: Optional[PostgresDsn] = None

                @validator("DATABASE_URI", pre=True)
                def build_uri(cls, v: Optional[str], values: dict[str, Any]) -> Any:
                    if isinstance(v, str):
                        return v
                    return PostgresDsn.build(scheme="postgresql+psycopg", host=values.get("PG_HOST"), path="/app")

            settings = Settings()
        """,
            "db.py": """
            from sqlalchemy import create_engine
            from config import settings

            engine = create_engine(str(settings.DATABASE_URI))
        """,
        },
        monkeypatch,
    )
    url = at(report, "db.py:4").settings["url"]
    assert not url.known and (url.expr or "").startswith("postgresql+psycopg://")
    assert url.env == "DATABASE_URI"


def test_a_copied_dict_is_the_dict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`copy.deepcopy(defaults)` and `copy.copy(...)` (paperless's OPTIONS, where Django's psycopg pool is set)
    give the dict's keys (was: OPTIONS unknown, the pool's max_size lost)."""
    report = scan(
        tmp_path,
        {
            "settings.py": """
            import copy

            BASE = {"connect_timeout": 10, "pool": {"min_size": 1, "max_size": 4}}
            options = copy.deepcopy(BASE)
            options["pool"]["max_size"] = 8
            DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "OPTIONS": copy.copy(options)}}
        """,
        },
        monkeypatch,
    )
    assert values(report.pools[0]) == {
        "ENGINE": "django.db.backends.postgresql",
        "OPTIONS.connect_timeout": 10,
        "OPTIONS.pool.min_size": 1,
        "OPTIONS.pool.max_size": 8,
    }


def test_django_databases_from_a_function_swapped_under_an_if(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = scan(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/settings.py": """
            import os
            import dj_database_url

            def databases(age):
                primary = dj_database_url.config(default="postgres://app@db:5432/app", conn_max_age=age)
                replica = dict(primary, HOST="replica", CONN_MAX_AGE=0)
                return {"default": primary, "replica": replica}

            DATABASES = databases(int(os.getenv("CONN_MAX_AGE", "60")))

            if os.getenv("CI"):
                DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}

            DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
        """,
        },
        monkeypatch,
    )
    default = at(report, "proj/settings.py:5")
    engine = default.settings["ENGINE"]
    assert engine.value == "django.db.backends.postgresql" and len(engine.branches) == 2
    assert (values(default)["CONN_MAX_AGE"], default.settings["CONN_MAX_AGE"].env) == (60, "CONN_MAX_AGE")
    assert values(default)["CONN_HEALTH_CHECKS"] is True
    replica = [p for p in report.pools if p.call == "DATABASES['replica']"]
    assert len(replica) == 1 and values(replica[0])["HOST"] == "replica" and values(replica[0])["CONN_MAX_AGE"] == 0


# --- robust ------------------------------------------------------------------------------------------


def test_django_settings_ending_in_local_settings_changed_in_a_loop_or_set_under_a_test(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three common settings shapes: a star import of a file not in the repository at the end (int() stays
    int(): was unknown), `for db in DATABASES.values(): db[...] = ...` (the loop changes DATABASES: was
    dropped), and DATABASES set only under a test (the pool, under its condition: was no settings at all)."""
    report = scan(
        tmp_path,
        {
            "site/__init__.py": "",
            "site/settings.py": """
            import os

            DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "app"}}
            DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("CONN_MAX_AGE", "60"))
            for db in DATABASES.values():
                db["CONN_HEALTH_CHECKS"] = True
            for alias, options in DATABASES.items():
                options = dict(options)
                options["CONN_MAX_AGE"] = 0

            try:
                from .local_settings import *
            except ImportError:
                pass
        """,
            "given/__init__.py": "",
            "given/settings.py": """
            import importlib

            configuration = importlib.import_module("deploy.configuration")
            DATABASES = getattr(configuration, "DATABASES", {"default": {}})
            if "ENGINE" not in DATABASES["default"]:
                DATABASES["default"].update({"ENGINE": "django.db.backends.postgresql"})
        """,
            "other/__init__.py": "",
            "other/settings.py": """
            import os

            if os.environ.get("USE_PG"):
                DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "CONN_MAX_AGE": 120}}
        """,
        },
        monkeypatch,
    )
    site = at(report, "site/settings.py:3")
    assert values(site) == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "app",
        "CONN_MAX_AGE": 60,  # the loop that rebinds `options` changes a copy
        "CONN_HEALTH_CHECKS": True,
    }
    assert site.settings["CONN_MAX_AGE"].env == "CONN_MAX_AGE"
    other = at(report, "other/settings.py:4")
    assert values(other)["CONN_MAX_AGE"] == 120 and other.condition == 'os.environ.get("USE_PG")'
    given = at(report, "given/settings.py:4")  # a deployer's module: what it holds is unresolved, not "not set"
    assert "(not set)" not in str(given.unresolved) and given.unresolved


def test_a_star_import_of_a_project_module_overrides_what_was_set_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A config module ending in `from local_config import *` (Superset's `superset_config`, Django's
    `local_settings`) that is in the tree: its names replace the module's own (was: the module's own, the
    override ignored), only the names its `__all__` lists when it has one, and a name set after the import wins."""
    report = scan(
        tmp_path,
        {
            "app.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()

            def create_app():
                app = Flask(__name__)
                app.config.from_object("config")
                db.init_app(app)
                return app
        """,
            "config.py": """
            SQLALCHEMY_DATABASE_URI = "postgresql://app@db/app"
            SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 5, "pool_pre_ping": True}

            try:
                from local_config import *
            except ImportError:
                pass
        """,
            "local_config.py": 'SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 30, "max_overflow": 0}\n',
            "site/__init__.py": "",
            "site/settings.py": """
            DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "CONN_MAX_AGE": 600}}
            CONN = 5

            from .overrides import *

            DATABASES["default"]["NAME"] = "app"
            DATABASES["default"]["CONN_HEALTH_CHECKS"] = CONN == 5
        """,
            "site/overrides.py": """
            __all__ = ["DATABASES"]
            DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "CONN_MAX_AGE": 0}}
            CONN = 99
        """,
        },
        monkeypatch,
    )
    flask = at(report, "app.py:9")
    assert values(flask) == {"url": "postgresql://app@db/app", "pool_size": 30, "max_overflow": 0}
    assert flask.settings["pool_size"].from_ == "local_config.py:1"
    django = at(report, "site/settings.py:6")  # where this module writes the alias
    assert values(django) == {
        "ENGINE": "django.db.backends.postgresql",
        "CONN_MAX_AGE": 0,
        "NAME": "app",
        "CONN_HEALTH_CHECKS": True,  # CONN is not in the override's __all__
    }
    assert django.settings["CONN_MAX_AGE"].from_ == "site/overrides.py:2"
    # the override is part of the importer's pool, not a pool of its own (was: two pools, counted twice)
    assert sorted(pool.where for pool in report.pools) == ["app.py:9", "site/settings.py:6"]


def test_f_strings_this_python_cannot_read_are_unknown_and_the_rest_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = scan(
        tmp_path,
        {
            "db.py": (
                "from sqlalchemy import create_engine\n"
                'CFG = {"host": "db"}\n'
                'engine = create_engine(f"postgresql://{CFG["host"]}/app", pool_size=5)\n'
                "try:\n    pass\nexcept ValueError, TypeError:\n    pass\n"
            )
        },
        monkeypatch,
    )
    pool = at(report, "db.py:3")
    assert pool.settings["pool_size"].value == 5
    url = pool.settings["url"]
    if not url.known:  # Python < 3.12: the f-string is left unknown, named by its own text
        assert url.expr == 'f"postgresql://{CFG["host"]}/app"'
        assert any("f-strings" in w for w in report.warnings)
    else:
        assert url.value == "postgresql://db/app"


def test_recursion_and_loops_do_not_stop_the_scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = scan(
        tmp_path,
        {
            "db.py": """
            from sqlalchemy import create_engine

            def size(n):
                return size(n + 1) if n < 10_000 else n

            def options():
                result = {}
                for i in range(100):
                    result[f"k{i}"] = i
                while True:
                    result["pool_size"] = size(0)
                    break
                return result

            A = B
            B = A
            engine = create_engine("postgresql://h/app", pool_recycle=A, **options())
        """
        },
        monkeypatch,
    )
    pool = at(report, "db.py:17")
    assert not pool.settings["pool_recycle"].known
    assert not any("could not be followed" in w for w in report.warnings)


def test_what_the_review_found_wrong(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each was a wrong known value (or a dropped pool) before its fix:
    - an override star-imported at the end that sets DATABASES only under a test keeps the importer's
      DATABASES on the other side (was: the importer's postgres pool gone);
    - `getattr(module, "X", default)` where the module imports X is the imported value, not the default;
    - a helper that copies the dict it is given (`options = dict(options)`) changes the copy, not the caller's;
    - a global that two functions rebind is unknown;
    - traitlets' `@default("x")` methods and `Dict({...})` defaults are read (were '' and {})."""
    report = scan(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/settings.py": """
            DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "CONN_MAX_AGE": 60}}

            from .local_settings import *
        """,
            "proj/local_settings.py": """
            import os

            if os.environ.get("USE_SQLITE"):
                DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3"}}
        """,
            "pkg/__init__.py": "",
            "pkg/base.py": "POOL_SIZE = 25\n",
            "pkg/conf.py": "from pkg.base import POOL_SIZE\n",
            "pkg/db.py": """
            import os
            from sqlalchemy import create_engine
            from pkg import conf

            def log_options(options):
                options = dict(options)
                options["pool_pre_ping"] = False
                return options

            options = {"pool_pre_ping": True}
            log_options(options)
            one = create_engine("postgresql://app@db/app", pool_size=getattr(conf, "POOL_SIZE", 5), **options)

            DB_URL = None

            def setup():
                global DB_URL
                DB_URL = "postgresql://app@db/app"
                return DB_URL

            def use_replica():
                global DB_URL
                DB_URL = os.environ["REPLICA_URL"]

            DB_URL = setup()
            two = create_engine(DB_URL)
        """,
            "hub.py": """
            from sqlalchemy import create_engine
            from traitlets import Dict, Integer, Unicode, default
            from traitlets.config import Application

            class Hub(Application):
                db_url = Unicode().tag(config=True)
                db_kwargs = Dict({"pool_size": 30}).tag(config=True)
                recycle = Integer().tag(config=True)

                @default("db_url")
                def _db_url(self):
                    return "postgresql://hub@db/hub"

                @default("recycle")
                def _recycle(self):
                    return 40

                def init_db(self):
                    return create_engine(self.db_url, pool_recycle=self.recycle, **self.db_kwargs)
        """,
        },
        monkeypatch,
    )
    django = next(pool for pool in report.pools if pool.file == "proj/settings.py")
    assert [b.value for b in django.settings["ENGINE"].branches] == [
        "django.db.backends.postgresql",
        "django.db.backends.sqlite3",
    ]
    assert values(at(report, "pkg/db.py:12")) == {
        "url": "postgresql://app@db/app",
        "pool_size": 25,
        "pool_pre_ping": True,
    }
    assert not at(report, "pkg/db.py:26").settings["url"].known
    assert values(at(report, "hub.py:19")) == {"url": "postgresql://hub@db/hub", "pool_recycle": 40, "pool_size": 30}


def test_migrations_a_test_runs_or_a_local_sets_are_not_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A test fixture that sets sqlalchemy.url is no way the migrations run (was: its sqlite URL the default);
    a program that sets it from a function's own local gives an unknown URL, not a module global of the same
    name (was: that global, known)."""
    report = scan(
        tmp_path,
        {
            "alembic.ini": "[alembic]\nsqlalchemy.url = postgresql://app@db/app\n",
            "migrations/env.py": MIGRATIONS_ENV,
            "tests/conftest.py": """
            from alembic.config import Config

            def migrated():
                cfg = Config("alembic.ini")
                cfg.set_main_option("sqlalchemy.url", "sqlite:///test.db")
        """,
            "tools/migrate.py": """
            from alembic.config import Config

            DATABASE_URL = "postgresql://prod@db/real"

            def run(url):
                DATABASE_URL = url
                cfg = Config("alembic.ini")
                cfg.set_main_option("sqlalchemy.url", DATABASE_URL)
        """,
        },
        monkeypatch,
    )
    url = at(report, "migrations/env.py:5").settings["url"]
    assert [(b.value if b.known else None, b.when) for b in url.branches] == [
        (None, "run by tools/migrate.py:8"),
        ("postgresql://app@db/app", "run by the alembic command"),
    ]
