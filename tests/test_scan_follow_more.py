"""`scan_path` following values the way real projects spread them (issue 29), continued from
test_scan_follow.py: shapes found on held-out projects after that file's. Each project is a few small files
written here (never a copy of a real one); line numbers in the assertions are the fixtures' own."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_scan import at, scan, values

from pool_doctor.scan.app import as_layer


def test_a_project_pool_class_brings_the_defaults_its_init_sets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A QueuePool subclass that defaults pool_size itself: SQLAlchemy builds it with the engine's pool
    # arguments, so its setdefault is the pool's size unless the call gives one (checked with SQLAlchemy 2.1.9:
    # engine.pool.size() == 25, and timeout 7 over the call's pool_timeout=30): an assignment overrides the call.
    report = scan(
        tmp_path,
        {
            "pools.py": """
            from sqlalchemy.pool import QueuePool

            class BigPool(QueuePool):
                def __init__(self, creator, **kw):
                    kw.setdefault("pool_size", 25)
                    kw.setdefault("max_overflow", 3)
                    kw["timeout"] = 7
                    super().__init__(creator, **kw)

            class Bigger(BigPool):
                def __init__(self, creator, **kwargs):
                    kwargs.setdefault("pool_size", 40)
                    BigPool.__init__(self, creator, **kwargs)
            """,
            "app.py": """
            import sqlalchemy
            from pools import BigPool, Bigger

            engine = sqlalchemy.create_engine("postgresql://u@db/app", poolclass=BigPool, max_overflow=9)
            other = sqlalchemy.create_engine("postgresql://u@db/app", poolclass=Bigger, pool_timeout=30)
            """,
        },
        monkeypatch,
    )
    pool = at(report, "app.py:4")
    assert values(pool) == {
        "url": "postgresql://u@db/app",
        "poolclass": "pools.BigPool",
        "pool_size": 25,
        "max_overflow": 9,
        "pool_timeout": 7,
    }
    assert pool.settings["pool_size"].from_ == "pools.py:5"
    assert pool.settings["pool_timeout"].from_ == "pools.py:7"
    other = at(report, "app.py:5")
    assert values(other)["pool_size"] == 40 and other.settings["pool_size"].from_ == "pools.py:12"
    assert values(other)["max_overflow"] == 3 and values(other)["pool_timeout"] == 7
    layer = as_layer(pool)
    assert layer.data["pool"]["pool_size"] == 25


def test_a_descriptor_named_by_set_name_reads_its_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # reflex's shape: `SQLALCHEMY_POOL_SIZE: EnvVar[int] = env_var(5)` on a class; env_var.__set_name__ keeps the
    # attribute's name, __get__ hands back an EnvVar whose get() reads that variable (through a parser the scan
    # cannot follow), else the default; a stub under `if TYPE_CHECKING:` names env_var for type checkers only.
    report = scan(
        tmp_path,
        {
            "envvars.py": """
            import os
            from typing import TYPE_CHECKING

            PARSERS = {}

            class EnvVar:
                def __init__(self, name, default, kind):
                    self.name = name
                    self.default = default
                    self.kind = kind

                def getenv(self):
                    raw = os.getenv(self.name)
                    if raw and raw.strip():
                        return self.interpret(raw)
                    return None

                def interpret(self, raw):
                    return PARSERS[self.kind](raw)

                def get(self):
                    value = self.getenv()
                    if value is not None:
                        return value
                    return self.default

            class env_var:
                internal = False

                def __init__(self, default, internal=False):
                    self.default = default
                    self.internal = internal

                def __set_name__(self, owner, name):
                    self.name = name

                def __get__(self, instance, owner):
                    name = self.name
                    if self.internal:
                        name = f"__{name}"
                    return EnvVar(name, self.default, int)

            if TYPE_CHECKING:
                def env_var(default, internal=False) -> EnvVar:
                    return default

            class Environment:
                DB_POOL_SIZE: EnvVar = env_var(8)
                DB_MAX_OVERFLOW = env_var(3, internal=True)

            environment = Environment()
            """,
            "db.py": """
            from sqlalchemy import create_engine

            from envvars import Environment, environment

            engine = create_engine(
                "postgresql://app@db/app",
                pool_size=environment.DB_POOL_SIZE.get(),
                max_overflow=Environment.DB_MAX_OVERFLOW.get(),
            )
            """,
        },
        monkeypatch,
    )
    pool = at(report, "db.py:5")
    size, overflow = pool.settings["pool_size"], pool.settings["max_overflow"]
    assert (size.value, size.env, size.from_) == (8, "DB_POOL_SIZE", "envvars.py:48")
    assert [(branch.value, branch.env) for branch in size.branches] == [(8, None), (None, "DB_POOL_SIZE")]
    assert (overflow.value, overflow.env) == (3, "__DB_MAX_OVERFLOW")


def test_what_a_test_sets_in_the_environment_is_not_the_apps_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # zou's shape: tests/conftest.py sets variables before importing the app; a deployment never runs it.
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/db.py": """
            import os
            from sqlalchemy import create_engine

            engine = create_engine(
                os.getenv("DATABASE_URL", "postgresql://app@db/app"),
                pool_size=int(os.getenv("DB_POOL_SIZE", "30")),
            )
            """,
            "tests/conftest.py": """
            import os

            os.environ.setdefault("DB_POOL_SIZE", "2")
            os.environ["DATABASE_URL"] = "postgresql://test@localhost/test"

            from app.db import engine
            """,
            "settings.py": """
            import os

            os.environ.setdefault("DB_POOL_SIZE", "12")
            """,
        },
        monkeypatch,
    )
    pool = at(report, "app/db.py:4")
    assert values(pool)["url"] == "postgresql://app@db/app"
    assert (values(pool)["pool_size"], pool.settings["pool_size"].from_) == (12, "settings.py:3")


def test_file_aware_environ_and_url_parts_from_a_dict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # DefectDojo's environ.FileAwareEnv reads NAME (or NAME_FILE's file) like environ.Env; zou builds its URL with
    # URL.create(**DATABASE).render_as_string(hide_password=False).
    report = scan(
        tmp_path,
        {
            "settings.py": """
            import environ

            env = environ.FileAwareEnv(DD_DATABASE_HOST=(str, "postgres"), DD_DATABASE_PORT=(int, 5433))
            DATABASES = {
                "default": {
                    "ENGINE": "django.db.backends.postgresql",
                    "HOST": env("DD_DATABASE_HOST"),
                    "PORT": env("DD_DATABASE_PORT"),
                }
            }
            """,
            "db.py": """
            import os

            from sqlalchemy import create_engine
            from sqlalchemy.engine.url import URL

            DATABASE = {
                "drivername": os.getenv("DB_DRIVER", "postgresql+psycopg"),
                "host": os.getenv("DB_HOST", "localhost"),
                "database": "appdb",
            }
            engine = create_engine(URL.create(**DATABASE).render_as_string(hide_password=False))
            """,
        },
        monkeypatch,
    )
    django = at(report, "settings.py:5")
    assert (values(django)["HOST"], django.settings["HOST"].env) == ("postgres", "DD_DATABASE_HOST")
    assert values(django)["PORT"] == 5433
    engine = at(report, "db.py:11")
    assert values(engine)["url"] == "postgresql+psycopg://localhost/appdb"
    assert engine.settings["url"].env == "DB_DRIVER"


def test_no_pool_for_a_mocked_call_nor_a_table_of_key_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # h's unit test hands a mock.sentinel to the app's get_session, with the db module patched out; privacyidea's
    # ConfigKey lists the config keys' names (app.config[ConfigKey.SQLALCHEMY_DATABASE_URI]), loaded by no app.
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/db.py": """
            import sqlalchemy

            def make_engine(url):
                return sqlalchemy.create_engine(url)
            """,
            "app/streamer.py": """
            from app import db

            def get_session(settings):
                return db.make_engine(settings["sqlalchemy.url"])
            """,
            "tests/test_streamer.py": """
            from unittest import mock
            from unittest.mock import sentinel

            from app.streamer import get_session

            def test_it():
                with mock.patch("app.streamer.db"):
                    get_session({"sqlalchemy.url": sentinel.sqlalchemy_url})
            """,
            "app/config.py": """
            import os

            class ConfigKey:
                SQLALCHEMY_DATABASE_URI = "SQLALCHEMY_DATABASE_URI"
                SQLALCHEMY_ENGINE_OPTIONS = "SQLALCHEMY_ENGINE_OPTIONS"

            class ProdConfig:
                SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or "postgresql://app@db/app"
            """,
            "app/web.py": """
            import os
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy
            from app.config import ConfigKey, ProdConfig

            db = SQLAlchemy()

            def create_app():
                app = Flask(__name__)
                app.config.from_object(ProdConfig)
                app.config.from_pyfile(os.environ.get("APP_CONFIG", "/etc/app.cfg"), silent=True)
                print(app.config[ConfigKey.SQLALCHEMY_DATABASE_URI])
                db.init_app(app)
                return app
            """,
        },
        monkeypatch,
    )
    assert sorted(pool.where for pool in report.pools) == ["app/streamer.py:4", "app/web.py:13"]


def test_flask_config_helpers_local_dicts_and_a_factory_called_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # privacyidea's shapes: create_app(config_name) called from two places with the same name; a helper that
    # writes SQLALCHEMY_ENGINE_OPTIONS is part of the app's configuration (one engine, not two); a local dict
    # filled by item assignment before it is written to app.config.
    report = scan(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/config.py": """
            import os

            class DevConfig:
                SQLALCHEMY_DATABASE_URI = "sqlite:///dev.db"

            class ProdConfig:
                SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or "postgresql://app@db/app"
                SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 10}

            config = {"development": DevConfig, "production": ProdConfig}
            """,
            "pkg/app.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy
            from pkg.config import config

            db = SQLAlchemy()

            def _engine_options(app):
                app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": 10, "pool_pre_ping": True}

            def create_app(config_name="development"):
                app = Flask(__name__)
                app.config.from_object(config[config_name])
                _engine_options(app)
                db.init_app(app)
                return app
            """,
            "pkg/cli.py": """
            from pkg.app import create_app

            def serve():
                create_app(config_name="production").run()

            def check():
                create_app(config_name="production").test_client()
            """,
            "other/__init__.py": "",
            "other/app.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()

            def make():
                app = Flask(__name__)
                app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://other@db/other"
                opts = {}
                opts["pool_recycle"] = 300
                app.config["SQLALCHEMY_ENGINE_OPTIONS"] = opts
                db.init_app(app)
                return app
            """,
        },
        monkeypatch,
    )
    app = [pool for pool in report.pools if pool.where == "pkg/app.py:14"]
    assert len(app) == 1
    assert values(app[0]) == {"url": "postgresql://app@db/app", "pool_size": 10, "pool_pre_ping": True}
    assert app[0].settings["url"].env == "DATABASE_URL"
    other = at(report, "other/app.py:12")
    assert values(other)["pool_recycle"] == 300 and other.settings["pool_recycle"].from_ == "other/app.py:10"


def test_a_program_beside_the_migrations_folder_sets_the_url_env_py_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # zou's plugin migrations: alembic.ini has no sqlalchemy.url; the program that runs them (outside that folder,
    # naming it) sets it on a Config before upgrading, and env.py reads it with get_main_option.
    report = scan(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/template/alembic.ini": "[alembic]\nscript_location = .\n",
            "pkg/template/env.py": """
            from alembic import context
            from sqlalchemy import create_engine, pool

            config = context.config
            url = config.get_main_option("sqlalchemy.url")
            engine = create_engine(url, poolclass=pool.NullPool)
            """,
            "pkg/plugins.py": """
            from pathlib import Path

            from alembic import command
            from alembic.config import Config

            TEMPLATE = Path(__file__).parent / "template"

            def upgrade(app_url):
                cfg = Config()
                cfg.config_file_name = str(TEMPLATE / "alembic.ini")
                cfg.set_main_option("sqlalchemy.url", app_url)
                command.upgrade(cfg, "head")
            """,
            "other/__init__.py": "",
            "other/tool.py": """
            from alembic.config import Config

            def run(url):
                cfg = Config("elsewhere/alembic.ini")
                cfg.set_main_option("sqlalchemy.url", "postgresql://other@db/other")
            """,
        },
        monkeypatch,
    )
    url = at(report, "pkg/template/env.py:6").settings["url"]
    assert not url.known and url.value is None
    assert [branch.when for branch in url.branches] == ["run by pkg/plugins.py:11", "run by the alembic command"]


def test_the_pool_library_tried_first_and_a_quoted_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # mem0's `try: from psycopg_pool import ConnectionPool / except ImportError: psycopg2's as ConnectionPool`: an
    # app that makes such a pool has the library it tries first; onyx quotes its password into the URL.
    report = scan(
        tmp_path,
        {
            "store.py": """
            try:
                from psycopg_pool import ConnectionPool
                PG_DRIVER = 3
            except ImportError:
                from psycopg2.pool import ThreadedConnectionPool as ConnectionPool
                PG_DRIVER = 2

            def make(dsn):
                if PG_DRIVER == 3:
                    return ConnectionPool(conninfo=dsn, min_size=1, max_size=5, open=False)
                return ConnectionPool(minconn=1, maxconn=5, dsn=dsn)

            pool = make("postgresql://app@db/app")
            """,
            "db.py": """
            import os
            import urllib.parse
            from sqlalchemy import create_engine

            PASSWORD = urllib.parse.quote_plus(os.environ.get("PG_PASSWORD") or "p@ss word")
            engine = create_engine(f"postgresql://app:{PASSWORD}@db/app")
            """,
            # a name only some releases have says which release is there, which the scan does not know
            "release.py": """
            from sqlalchemy import create_engine
            try:
                from sqlalchemy.orm import DeclarativeBase
                SA2 = True
            except ImportError:
                SA2 = False

            if SA2:
                engine = create_engine("postgresql://a@db/a", pool_size=20)
            else:
                engine = create_engine("postgresql://a@db/a", pool_size=5)
            """,
        },
        monkeypatch,
    )
    [pool] = [pool for pool in report.pools if pool.file == "store.py"]
    assert (pool.stack, pool.call) == ("psycopg_pool", "psycopg_pool.ConnectionPool")
    assert values(pool)["max_size"] == 5
    assert values(at(report, "db.py:6"))["url"] == "postgresql://app:***@db/app"  # known; the scan masks it
    assert [at(report, f"release.py:{line}").condition for line in (9, 11)] == ["SA2", "not (SA2)"]


def test_pools_a_classmethod_makes_through_cls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # saq's Queue.from_url -> PgQueue.from_url -> cls(url=url) -> __init__ making the pool: each pool at the app's
    # call; a wrapper no one calls whose defaults raise before the pool is made has its parameters unknown.
    report = scan(
        tmp_path,
        {
            "queues.py": """
            from psycopg_pool import AsyncConnectionPool

            class Queue:
                @staticmethod
                def from_url(url, **kwargs):
                    if url.startswith("postgres"):
                        return PgQueue.from_url(url, **kwargs)
                    raise ValueError(url)

            class PgQueue(Queue):
                @classmethod
                def from_url(cls, url, **kwargs):
                    return cls(url=url, **kwargs)

                def __init__(self, pool=None, url=None, max_size=20):
                    if pool is None and url is None:
                        raise ValueError("pool or url")
                    self.pool = pool or AsyncConnectionPool(url, max_size=max_size, open=False)
            """,
            "app.py": """
            from queues import PgQueue, Queue

            queue = Queue.from_url("postgres://postgres@localhost")
            other = PgQueue.from_url("postgres://app@db/app", max_size=5)
            """,
            "lone.py": """
            from sqlalchemy import create_engine

            def make(url=None):
                if url is None:
                    raise ValueError("a URL, please")
                return create_engine(url)
            """,
        },
        monkeypatch,
    )
    assert sorted(pool.where for pool in report.pools) == ["app.py:3", "app.py:4", "lone.py:6"]
    assert values(at(report, "app.py:3"))["conninfo"] == "postgres://postgres@localhost"
    assert values(at(report, "app.py:4"))["max_size"] == 5
    url = at(report, "lone.py:6").settings["url"]
    assert not url.known and url.expr == "url"


def test_a_walrus_test_of_a_variable_reads_it_on_its_true_side(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # privacyidea's `if url := os.getenv(...): SQLALCHEMY_DATABASE_URI = url`: where the test holds the variable
    # is set, so the value there is the variable's, never the None it is when unset.
    report = scan(
        tmp_path,
        {
            "db.py": """
            import os
            from sqlalchemy import create_engine

            URL = "postgresql://default@db/app"
            if url := os.getenv("APP_URL"):
                URL = url
            engine = create_engine(URL)
            """,
        },
        monkeypatch,
    )
    url = at(report, "db.py:7").settings["url"]
    assert (url.value, url.env) == ("postgresql://default@db/app", "APP_URL")
    [unset, is_set] = url.branches
    assert unset.value == "postgresql://default@db/app"
    assert (is_set.known, is_set.expr, is_set.env) == (False, "$APP_URL", "APP_URL")


def test_a_pair_returned_on_two_paths_unpacks_into_the_pool_arguments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # onyx's `(kwargs["pool_size"], kwargs["max_overflow"]) = pool_budget(...)`, whose helper returns on two paths.
    report = scan(
        tmp_path,
        {
            "db.py": """
            import os
            import sys
            from sqlalchemy import create_engine

            POOL_SIZE = int(os.environ.get("API_POOL_SIZE") or 40)

            def budget(shard, size, overflow):
                if shard == "public":
                    return size, overflow
                return size // 2, 0

            def build(shard):
                kwargs = {}
                (kwargs["pool_size"], kwargs["max_overflow"]) = budget(shard, POOL_SIZE, 10)
                return create_engine("postgresql://app@db/app", **kwargs)

            engine = build(sys.argv[1])
            """,
        },
        monkeypatch,
    )
    pool = at(report, "db.py:17")
    assert [(b.value, b.env) for b in pool.settings["pool_size"].branches] == [
        (40, "API_POOL_SIZE"),
        (20, "API_POOL_SIZE"),
    ]
    assert [b.value for b in pool.settings["max_overflow"].branches] == [10, 0]


def test_an_attribute_a_function_sets_on_a_shared_object_is_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # phoenix's settings instance, which initialize_settings() fills from the environment before serving; onyx's
    # SqlEngine, whose classmethod setters run before the engine is made. Which value a read meets depends on
    # what ran first: unknown, never the default those functions replace.
    report = scan(
        tmp_path,
        {
            "settings.py": """
            from dataclasses import dataclass

            @dataclass
            class _Settings:
                pool_size: int = 5
                echo: bool = False

            Settings = _Settings()
            """,
            "main.py": """
            import os
            from serve import run
            from settings import Settings

            def initialize_settings():
                Settings.pool_size = int(os.getenv("APP_POOL_SIZE", "20"))

            def main():
                initialize_settings()
                return run("postgresql://app@db/app")
            """,
            "serve.py": """
            from sqlalchemy import create_engine
            from settings import Settings

            def run(url):
                return create_engine(url, pool_size=Settings.pool_size, echo=Settings.echo)
            """,
            "engine.py": """
            from sqlalchemy import create_engine

            class SqlEngine:
                _pool_size = 5
                _recycle = 300

                @classmethod
                def set_pool_size(cls, size):
                    cls._pool_size = size

                @classmethod
                def init_engine(cls):
                    return create_engine(
                        "postgresql://app@db/app", pool_size=cls._pool_size, pool_recycle=cls._recycle
                    )

            def lifespan():
                SqlEngine.set_pool_size(40)
                return SqlEngine.init_engine()
            """,
        },
        monkeypatch,
    )
    served = at(report, "main.py:10").settings
    assert not served["pool_size"].known and "initialize_settings()" in (served["pool_size"].expr or "")
    assert (served["echo"].known, served["echo"].value) == (True, False)
    engine = at(report, "engine.py:13").settings
    assert not engine["pool_size"].known and engine["pool_recycle"].value == 300


def test_an_assert_binds_its_walrus_and_a_section_option_set_in_a_function(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # phoenix's `assert (lower := value.lower()) in (...)` before `return lower == "true"`; h's env.py setting
    # sqlalchemy.url with set_section_option inside run_migrations_online(), from a helper that reads the
    # variable or else the ini (which has none): unknown, named by the variable, never a known value.
    report = scan(
        tmp_path,
        {
            "config.py": """
            from os import getenv

            def _bool_val(env_var, default=None):
                if (value := getenv(env_var)) is None:
                    return default
                assert (lower := value.lower()) in ("true", "false")
                return lower == "true"
            """,
            "db.py": """
            from sqlalchemy import create_engine
            from config import _bool_val

            engine = create_engine("postgresql://app@db/app", echo=_bool_val("APP_LOG_SQL", False))
            """,
            "alembic.ini": "[alembic]\\nscript_location = migrations\\n",
            "migrations/env.py": """
            import os
            from alembic import context
            from sqlalchemy import engine_from_config, pool

            config = context.config

            def get_database_url():
                if "DATABASE_URL" in os.environ:
                    return os.environ["DATABASE_URL"]
                return config.get_main_option("sqlalchemy.url")

            def run_migrations_online():
                section = config.config_ini_section
                config.set_section_option(section, "sqlalchemy.url", get_database_url())
                engine = engine_from_config(config.get_section(section), prefix="sqlalchemy.", poolclass=pool.NullPool)
            """,
        },
        monkeypatch,
    )
    echo = at(report, "db.py:4").settings["echo"]
    assert (echo.value, echo.env) == (False, "APP_LOG_SQL")
    url = at(report, "migrations/env.py:15").settings["url"]
    assert (url.known, url.env) == (False, "DATABASE_URL")
    assert url.branches and not any(branch.known for branch in url.branches)


def test_a_test_that_patches_the_pool_class_makes_no_pool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # mem0's tests: `@patch("store.ConnectionPool")` on the test, so the app's class makes a MagicMock there.
    report = scan(
        tmp_path,
        {
            "store.py": """
            from psycopg_pool import ConnectionPool

            class Store:
                def __init__(self, dsn, size=5):
                    self.pool = ConnectionPool(conninfo=dsn, max_size=size, open=False)
            """,
            "app.py": """
            from store import Store

            store = Store("postgresql://app@db/app")
            """,
            "tests/test_store.py": """
            from unittest.mock import patch
            from store import Store

            class TestStore:
                @patch("store.ConnectionPool")
                def test_it(self, pool):
                    Store("postgresql://test@localhost/test", size=1)

            def test_real():
                Store("postgresql://test@localhost/test", size=2)
            """,
        },
        monkeypatch,
    )
    assert sorted(pool.where for pool in report.pools) == ["app.py:3", "tests/test_store.py:10"]


def test_a_database_url_read_at_run_time_gives_each_part_its_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # plane's `dj_database_url.config()` when DATABASE_URL is set: USER and PASSWORD come from it too.
    report = scan(
        tmp_path,
        {
            "settings.py": """
            import dj_database_url

            DATABASES = {"default": dj_database_url.config()}
            """,
        },
        monkeypatch,
    )
    pool = at(report, "settings.py:3")
    for key in ("USER", "PASSWORD", "HOST"):
        assert (pool.settings[key].known, pool.settings[key].env) == (False, "DATABASE_URL")


def test_what_the_review_of_this_round_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Each was a wrong value, a lost branch or a lost file before its fix: a loop meets one test twice (both its
    # sides in one path are real); an env.py function's parameter is its caller's; a method asked while its
    # instance is half made (or its module half run) is not the same later; a Flask helper that calls itself;
    # a descriptor read through a subclass.
    (tmp_path / "requirements.txt").write_text("Flask-SQLAlchemy==2.5.1\n")  # (2.x reads SQLALCHEMY_POOL_*)
    report = scan(
        tmp_path,
        {
            "loop.py": """
            import os
            from sqlalchemy import create_engine

            size = 5
            for flag in (os.environ.get("WEB_WORKERS"), os.environ.get("CELERY_WORKERS")):
                if flag:
                    size = size + 10
            engine = create_engine("postgresql://h/d", pool_size=size)
            """,
            "alembic.ini": "[alembic]\\nscript_location = migrations\\nsqlalchemy.url = postgresql://ini@db/ini\\n",
            "migrations/env.py": """
            import os
            from alembic import context
            from sqlalchemy import engine_from_config, pool

            config = context.config

            def run_migrations_online(url="sqlite:///local.db"):
                config.set_main_option("sqlalchemy.url", url)
                engine = engine_from_config(config.get_section(config.config_ini_section), poolclass=pool.NullPool)

            run_migrations_online(os.environ["DATABASE_URL"])
            """,
            "half.py": """
            import os
            from sqlalchemy import create_engine

            class Cfg:
                size: int = 5

                def __init__(self):
                    if self.get_size() > 100:
                        raise ValueError("too big")
                    self.size = 20

                def get_size(self):
                    return self.size

            class Settings:
                def database_url(self):
                    return os.environ.get("DATABASE_URL", "sqlite:///dev.db")

            cfg = Cfg()
            settings = Settings()
            if settings.database_url():
                print("configured")
            if not os.environ.get("DATABASE_URL"):
                raise RuntimeError("set DATABASE_URL")
            engine = create_engine(settings.database_url(), pool_size=cfg.get_size())
            """,
            "web.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()

            def configure(app):
                if "SQLALCHEMY_POOL_SIZE" in app.config:
                    return
                app.config["SQLALCHEMY_POOL_SIZE"] = 5
                configure(app)

            def create_app():
                app = Flask(__name__)
                app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://app@db/app"
                configure(app)
                db.init_app(app)
                return app
            """,
            "doubled.py": """
            from sqlalchemy import create_engine

            class Doubled:
                def __get__(self, instance, owner):
                    return owner.BASE_SIZE * 2

            class Base:
                BASE_SIZE = 5
                POOL_SIZE = Doubled()

            class Big(Base):
                BASE_SIZE = 50

            small = create_engine("postgresql://h/d", pool_size=Base.POOL_SIZE)
            big = create_engine("postgresql://h/d", pool_size=Big.POOL_SIZE)
            """,
        },
        monkeypatch,
    )
    assert sorted(b.value for b in at(report, "loop.py:8").settings["pool_size"].branches) == [5, 15, 25]
    assert not at(report, "migrations/env.py:9").settings["url"].known
    half = at(report, "half.py:25").settings
    assert half["pool_size"].value == 20
    assert (half["url"].known, half["url"].env) == (False, "DATABASE_URL")
    assert values(at(report, "web.py:16"))["pool_size"] == 5
    assert values(at(report, "doubled.py:14"))["pool_size"] == 10
    assert values(at(report, "doubled.py:15"))["pool_size"] == 100


def test_a_call_no_path_reaches_whatever_its_callers_give_is_no_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # mem0's store, which nothing in the project makes: psycopg2's fallback under `else:` never runs when the
    # pool library it tries first imports (it was reported as a psycopg_pool pool with psycopg2's keywords).
    report = scan(
        tmp_path,
        {
            "store.py": """
            try:
                from psycopg_pool import ConnectionPool
                PG_DRIVER = 3
            except ImportError:
                from psycopg2.pool import ThreadedConnectionPool as ConnectionPool
                PG_DRIVER = 2

            class VectorStore:
                def __init__(self, dsn, minconn=1, maxconn=5):
                    if PG_DRIVER == 3:
                        self.pool = ConnectionPool(conninfo=dsn, min_size=minconn, max_size=maxconn, open=False)
                    else:
                        self.pool = ConnectionPool(minconn=minconn, maxconn=maxconn, dsn=dsn)
            """,
            # a test of the instance's own state the scan reads at its class default: no reason to drop it
            "admin.py": """
            from sqlalchemy import create_engine

            class App:
                api = None

                def setup(self):
                    if not self.api:
                        return
                    if self.api.admin:
                        return create_engine("postgresql://app@db/app")
            """,
        },
        monkeypatch,
    )
    kept = [(pool.where, values(pool).get("max_size")) for pool in report.pools]
    assert kept == [("admin.py:10", None), ("store.py:11", 5)]


def test_a_value_with_too_many_branches_keeps_its_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = scan(
        tmp_path,
        {
            "db.py": """
            import os
            import sys
            from sqlalchemy import create_engine

            size = int(os.getenv("POOL_SIZE", "1"))
            if sys.argv[1] == "a":
                size = size + 1
            if sys.argv[2] == "b":
                size = size + 2
            if sys.argv[3] == "c":
                size = size + 4
            if sys.argv[4] == "d":
                size = size + 8
            engine = create_engine("postgresql://h/d", pool_size=size)
            """,
        },
        monkeypatch,
    )
    size = at(report, "db.py:14").settings["pool_size"]
    assert (size.known, size.env) == (False, "POOL_SIZE")


def test_a_classmethod_read_through_a_subclass_makes_what_that_subclass_makes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `cls(url=url)` is the class the method is read through: SharedQueue's own __init__ reuses a pool.
    report = scan(
        tmp_path,
        {
            "queues.py": """
            from psycopg_pool import ConnectionPool

            SHARED = None

            class PgQueue:
                @classmethod
                def from_url(cls, url):
                    return cls(url=url)

                def __init__(self, url=None, max_size=20):
                    self.pool = ConnectionPool(url, max_size=max_size, open=False)

            class SharedQueue(PgQueue):
                def __init__(self, url=None, max_size=20):
                    self.pool = SHARED
            """,
            "app.py": """
            from queues import PgQueue, SharedQueue

            queue = PgQueue.from_url("postgresql://app@db/app")
            shared = SharedQueue.from_url("postgresql://app@db/app")
            """,
        },
        monkeypatch,
    )
    assert [pool.where for pool in report.pools] == ["app.py:3"]


def test_a_factory_that_picks_its_class_by_the_urls_scheme(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # saq's Queue.from_url: urlparse(url).scheme decides which queue; a redis:// queue makes no Postgres pool.
    report = scan(
        tmp_path,
        {
            "queues.py": """
            from urllib.parse import urlparse
            from psycopg_pool import AsyncConnectionPool

            class Queue:
                @staticmethod
                def from_url(url, **kwargs):
                    scheme = urlparse(url).scheme.lower()
                    if scheme.startswith("redis"):
                        return RedisQueue(url)
                    if scheme.startswith("postgres"):
                        return PgQueue(url, **kwargs)
                    raise ValueError(url)

            class RedisQueue(Queue):
                def __init__(self, url):
                    self.url = url

            class PgQueue(Queue):
                def __init__(self, url=None, max_size=20):
                    self.pool = AsyncConnectionPool(url, max_size=max_size, open=False)
            """,
            "app.py": """
            from queues import Queue

            redis = Queue.from_url("redis://localhost")
            pg = Queue.from_url("postgres://app@db/app", max_size=4)
            """,
        },
        monkeypatch,
    )
    assert [(pool.where, values(pool)["max_size"]) for pool in report.pools] == [("app.py:4", 4)]


def test_a_config_key_written_through_a_constant_named_for_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # privacyidea writes app.config[ConfigKey.SQLALCHEMY_ENGINE_OPTIONS], ConfigKey holding each key's own name.
    report = scan(
        tmp_path,
        {
            "keys.py": """
            class ConfigKey:
                SQLALCHEMY_DATABASE_URI = "SQLALCHEMY_DATABASE_URI"
                SQLALCHEMY_ENGINE_OPTIONS = "SQLALCHEMY_ENGINE_OPTIONS"
            """,
            "app.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy
            from keys import ConfigKey

            db = SQLAlchemy()

            def create_app():
                app = Flask(__name__)
                app.config[ConfigKey.SQLALCHEMY_DATABASE_URI] = "postgresql://app@db/app"
                app.config[ConfigKey.SQLALCHEMY_ENGINE_OPTIONS] = {"pool_pre_ping": True}
                db.init_app(app)
                return app
            """,
        },
        monkeypatch,
    )
    assert values(at(report, "app.py:11")) == {"url": "postgresql://app@db/app", "pool_pre_ping": True}


def test_a_flask_factory_called_from_two_places_with_its_default_config_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # zou's `create_app(config_object=config)`, which two entry points call with no argument.
    report = scan(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/config.py": """
            import os
            SQLALCHEMY_DATABASE_URI = os.getenv("DATABASE_URL", "postgresql://app@db/app")
            SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 30}
            """,
            "pkg/app.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy
            from pkg import config

            db = SQLAlchemy()

            def create_app(config_object=config):
                app = Flask(__name__)
                app.config.from_object(config_object)
                db.init_app(app)
                return app
            """,
            "pkg/debug.py": "from pkg.app import create_app\napp = create_app()\n",
            "pkg/stream.py": "from pkg.app import create_app\napp = create_app()\n",
        },
        monkeypatch,
    )
    assert [pool.where for pool in report.pools] == ["pkg/app.py:10"]
    assert values(report.pools[0])["pool_size"] == 30
