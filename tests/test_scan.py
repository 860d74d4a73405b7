"""`scan_path` on small fake projects, one per style real applications use (no server, nothing imported).

Each test writes its project into tmp_path and scans it from there, so files are named as a user sees
them (`app/db.py:4`). Line numbers in the assertions are the fixture's own lines.
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path
from typing import Any

import pytest

from pool_doctor.scan import ScannedPool, ScanReport, scan_path

SECRET = "hunter2-not-shown"


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


def scan(root: Path, files: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> ScanReport:
    write(root, files)
    monkeypatch.chdir(root)
    report = scan_path(Path("."))
    assert SECRET not in json.dumps(report.to_json())
    return report


def at(report: ScanReport, where: str) -> ScannedPool:
    found = [p for p in report.pools if p.where == where]
    assert found, f"no pool at {where}; pools at {[p.where for p in report.pools]}"
    assert len(found) == 1
    return found[0]


def values(pool: ScannedPool) -> dict[str, object]:
    return {key: value.value for key, value in pool.settings.items()}


# --- SQLAlchemy: names, aliases, re-exports, wrappers --------------------------------------------------


def test_aliases_reexports_and_the_projects_own_create_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/engines.py": """
            import sqlalchemy as sa
            import sqlalchemy.ext.asyncio
            from sqlalchemy import create_engine as ce
            from sqlalchemy.ext.asyncio import create_async_engine
            from sqlmodel import create_engine as sqlmodel_engine

            one = sa.create_engine("postgresql://h/db", pool_pre_ping=True)
            two = ce("postgresql://h/db", pool_recycle=300)
            three = create_async_engine("postgresql+asyncpg://h/db", pool_size=7)
            four = sqlalchemy.ext.asyncio.create_async_engine("postgresql+asyncpg://h/db")
            five = sqlmodel_engine("postgresql://h/db", max_overflow=2)
        """,
            "app/db/__init__.py": "from sqlalchemy import create_engine  # re-exported for the app\n",
            "app/main.py": """
            from app.db import create_engine

            engine = create_engine("postgresql://h/main", pool_size=3)
        """,
            "app/own.py": """
            def create_engine(config):
                return {"not": "sqlalchemy"}

            thing = create_engine({"pool_size": 99})
        """,
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == [
        "app/engines.py:7",
        "app/engines.py:8",
        "app/engines.py:9",
        "app/engines.py:10",
        "app/engines.py:11",
        "app/main.py:3",
    ]
    assert at(report, "app/engines.py:7").call == "sqlalchemy.create_engine"
    assert at(report, "app/engines.py:9").call == "sqlalchemy.ext.asyncio.create_async_engine"
    assert at(report, "app/engines.py:11").stack == "sqlalchemy"
    assert values(at(report, "app/engines.py:8")) == {"url": "postgresql://h/db", "pool_recycle": 300}
    assert values(at(report, "app/main.py:3")) == {"url": "postgresql://h/main", "pool_size": 3}
    assert at(report, "app/main.py:3").settings["pool_size"].from_ == "app/main.py:3"


def test_wrapper_forwarding_kwargs_is_reported_at_each_caller(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = scan(
        tmp_path,
        {
            "lib/db.py": """
            from sqlalchemy import create_engine

            def make_engine(url, *, echo=False, **kwargs):
                return create_engine(url, echo=echo, pool_pre_ping=True, **kwargs)

            def make_default(url, size=5):
                return make_engine(url, pool_size=size)
        """,
            "svc/api.py": """
            from lib.db import make_engine

            API = make_engine("postgresql://api/db", pool_recycle=1800, max_overflow=-1)
        """,
            "svc/worker.py": """
            from lib import db

            def start():
                return db.make_default("postgresql://worker/db")
        """,
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["svc/api.py:3", "svc/worker.py:4"]
    api = at(report, "svc/api.py:3")
    assert values(api) == {
        "url": "postgresql://api/db",
        "echo": False,
        "pool_pre_ping": True,
        "pool_recycle": 1800,
        "max_overflow": -1,
    }
    assert api.settings["pool_pre_ping"].from_ == "lib/db.py:4"
    assert api.settings["pool_recycle"].from_ == "svc/api.py:3"
    assert api.via == ["lib/db.py:4"]
    assert api.at_import
    worker = at(report, "svc/worker.py:4")
    assert values(worker)["pool_size"] == 5 and worker.settings["pool_size"].from_ == "lib/db.py:6"
    assert worker.via == ["lib/db.py:7", "lib/db.py:4"]
    assert not worker.at_import


def test_a_wrapper_nobody_calls_reports_its_own_call_with_parameter_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = scan(
        tmp_path,
        {
            "db.py": """
        import asyncpg

        async def pool(dsn, size=20, **extra):
            return await asyncpg.create_pool(dsn, max_size=size, command_timeout=60, **extra)
    """
        },
        monkeypatch,
    )
    pool = at(report, "db.py:4")
    assert pool.stack == "asyncpg"
    assert values(pool) == {"dsn": None, "max_size": 20, "command_timeout": 60}
    assert not pool.settings["dsn"].known
    assert pool.unresolved == ["**extra"]  # a caller outside the scanned code may pass anything


def test_init_wrapper_reached_by_calling_the_class(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = scan(
        tmp_path,
        {
            "db.py": """
        from sqlalchemy.ext.asyncio import create_async_engine

        class Database:
            def __init__(self, url, **options):
                self.engine = create_async_engine(url, **options)

        db = Database("postgresql+asyncpg://h/db", pool_pre_ping=True, pool_size=4)
    """
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["db.py:7"]
    assert values(report.pools[0]) == {"url": "postgresql+asyncpg://h/db", "pool_pre_ping": True, "pool_size": 4}


# --- values: constants, env, settings models ------------------------------------------------------------


def test_env_defaults_in_another_module_and_casts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/constants.py": """
            import os

            POOL_SIZE = int(os.getenv("POOL_SIZE", "5"))
            POOL_RECYCLE = int(os.environ.get("POOL_RECYCLE", 30 * 60))
            PRE_PING = os.getenv("PRE_PING", "true").lower() == "true"
            TIMEOUT = float(os.getenv("POOL_TIMEOUT") or "12.5")
            URL = os.environ["DATABASE_URL"]
            HOST = os.getenv("DB_HOST", "db")
        """,
            "app/db.py": """
            from sqlalchemy import create_engine
            from app import constants as c
            from .constants import POOL_SIZE

            engine = create_engine(c.URL, pool_size=POOL_SIZE, pool_recycle=c.POOL_RECYCLE,
                                   pool_pre_ping=c.PRE_PING, pool_timeout=c.TIMEOUT)
            other = create_engine(f"postgresql://app:{SECRET!r}@{c.HOST}:5432/app")
        """.replace("{SECRET!r}", SECRET),
        },
        monkeypatch,
    )
    engine = at(report, "app/db.py:5")
    settings = engine.settings
    assert (settings["pool_size"].value, settings["pool_size"].env, settings["pool_size"].from_) == (
        5,
        "POOL_SIZE",
        "app/constants.py:3",
    )
    assert (settings["pool_recycle"].value, settings["pool_recycle"].env) == (1800, "POOL_RECYCLE")
    assert (settings["pool_pre_ping"].value, settings["pool_pre_ping"].env) == (True, "PRE_PING")
    assert (settings["pool_timeout"].value, settings["pool_timeout"].env) == (12.5, "POOL_TIMEOUT")
    url = settings["url"]
    assert not url.known and url.env == "DATABASE_URL" and url.value is None  # required: no value without env
    assert engine.end_line == 6
    other = at(report, "app/db.py:7")
    assert other.settings["url"].value == "postgresql://app:***@db:5432/app"
    assert other.settings["url"].env == "DB_HOST"


def test_dotenv_beside_the_code_gives_the_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = scan(
        tmp_path,
        {
            "service/.env": "# local\nexport POOL_RECYCLE=900\nDATABASE_URL='postgresql://h:6432/db'\n",
            "service/db.py": """
            import os
            import sqlalchemy

            engine = sqlalchemy.create_engine(os.environ["DATABASE_URL"],
                                              pool_recycle=int(os.getenv("POOL_RECYCLE", "3600")))
        """,
        },
        monkeypatch,
    )
    settings = at(report, "service/db.py:4").settings
    assert (settings["pool_recycle"].value, settings["pool_recycle"].from_) == (900, "service/.env:2")
    assert (settings["url"].value, settings["url"].from_, settings["url"].env) == (
        "postgresql://h:6432/db",
        "service/.env:3",
        "DATABASE_URL",
    )


def test_kwargs_from_a_pydantic_settings_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/.env": "APP_POOL_SIZE=15\n",
            "app/settings.py": """
            from functools import lru_cache
            from pydantic import Field
            from pydantic_settings import BaseSettings, SettingsConfigDict

            class Base(BaseSettings):
                pool_recycle: int = 1800

            class Settings(Base):
                model_config = SettingsConfigDict(env_prefix="APP_", env_file=".env")
                database_url: str = "postgresql+asyncpg://app@db/app"
                pool_size: int = 5
                pre_ping: bool = Field(default=False, validation_alias="DB_PRE_PING")
                command_timeout: float = 30

                @property
                def engine_options(self) -> dict:
                    return {"pool_size": self.pool_size, "pool_recycle": self.pool_recycle,
                            "pool_pre_ping": self.pre_ping,
                            "connect_args": {"command_timeout": self.command_timeout}}

            @lru_cache
            def get_settings() -> Settings:
                return Settings()
        """,
            "app/db.py": """
            from sqlalchemy.ext.asyncio import create_async_engine
            from app.settings import get_settings

            settings = get_settings()
            engine = create_async_engine(settings.database_url, **settings.engine_options)
        """,
        },
        monkeypatch,
    )
    pool = at(report, "app/db.py:5")
    s = pool.settings
    assert (s["url"].value, s["url"].env) == ("postgresql+asyncpg://app@db/app", "APP_DATABASE_URL")
    assert (s["pool_size"].value, s["pool_size"].env, s["pool_size"].from_) == (15, "APP_POOL_SIZE", "app/.env:1")
    assert (s["pool_recycle"].value, s["pool_recycle"].env, s["pool_recycle"].from_) == (
        1800,
        "APP_POOL_RECYCLE",
        "app/settings.py:6",
    )
    assert (s["pool_pre_ping"].value, s["pool_pre_ping"].env) == (False, "DB_PRE_PING")
    assert (s["connect_args.command_timeout"].value, s["connect_args.command_timeout"].env) == (
        30,
        "APP_COMMAND_TIMEOUT",
    )
    assert pool.unresolved == []


def test_starlette_config_and_decouple(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = scan(
        tmp_path,
        {
            ".env": "POOL_RECYCLE=600\n",
            "star.py": """
            from starlette.config import Config
            from sqlalchemy import create_engine

            config = Config(".env")
            RECYCLE = config("POOL_RECYCLE", cast=int, default=1800)
            PING = config("POOL_PRE_PING", cast=bool, default="false")
            engine = create_engine(config("DATABASE_URL"), pool_recycle=RECYCLE, pool_pre_ping=PING)
        """,
            "dec.py": """
            from decouple import config
            import asyncpg

            async def pool():
                return await asyncpg.create_pool(config("DSN", default="postgresql://h/db"),
                                                 command_timeout=config("CMD_TIMEOUT", default=10, cast=int))
        """,
        },
        monkeypatch,
    )
    star = at(report, "star.py:7").settings
    assert (star["pool_recycle"].value, star["pool_recycle"].from_, star["pool_recycle"].env) == (
        600,
        ".env:1",
        "POOL_RECYCLE",
    )
    assert (star["pool_pre_ping"].value, star["pool_pre_ping"].env) == (False, "POOL_PRE_PING")
    assert not star["url"].known and star["url"].env == "DATABASE_URL"
    dec = at(report, "dec.py:5").settings
    assert (dec["dsn"].value, dec["command_timeout"].value, dec["command_timeout"].env) == (
        "postgresql://h/db",
        10,
        "CMD_TIMEOUT",
    )


def test_conditional_engines_for_tests_and_production(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = scan(
        tmp_path,
        {
            "db.py": """
        import os
        from sqlalchemy import create_engine, pool

        TESTING = os.getenv("TESTING") == "1"
        if TESTING:
            URL = "sqlite://"
        else:
            URL = os.getenv("DATABASE_URL", "postgresql://db/app")

        if TESTING:
            engine = create_engine(URL, poolclass=pool.NullPool)
        else:
            engine = create_engine(URL, pool_pre_ping=True, pool_size=20)
        replica = create_engine("postgresql://replica/app")
        reporting = create_engine("postgresql://reporting/app", pool_recycle=3600)
    """
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["db.py:11", "db.py:13", "db.py:14", "db.py:15"]
    test_engine, prod, replica, reporting = report.pools
    assert test_engine.condition == "TESTING"
    assert prod.condition == "not (TESTING)"
    assert values(test_engine)["poolclass"] == "sqlalchemy.pool.NullPool"
    # With no environment set TESTING is False, so the production URL is the one in effect.
    assert (prod.settings["url"].value, prod.settings["url"].env) == ("postgresql://db/app", "DATABASE_URL")
    assert values(replica) == {"url": "postgresql://replica/app"}
    assert values(reporting)["pool_recycle"] == 3600


def test_engine_from_config_with_prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = scan(
        tmp_path,
        {
            "env.py": """
        from sqlalchemy import engine_from_config, pool
        from sqlalchemy.ext.asyncio import async_engine_from_config

        SETTINGS = {"db.url": "postgresql://h/app", "db.pool_recycle": "300", "db.pool_pre_ping": "true",
                    "other.key": "x"}
        engine = engine_from_config(SETTINGS, prefix="db.", pool_size=8)

        def run_migrations(config):
            return async_engine_from_config(config.get_section("alembic"), prefix="sqlalchemy.",
                                            poolclass=pool.NullPool)
    """
        },
        monkeypatch,
    )
    engine = at(report, "env.py:6")
    assert values(engine) == {"url": "postgresql://h/app", "pool_recycle": 300, "pool_pre_ping": True, "pool_size": 8}
    migrations = at(report, "env.py:9")
    assert values(migrations) == {"poolclass": "sqlalchemy.pool.NullPool", "url": None}  # url: unknown
    assert migrations.unresolved and migrations.unresolved[0].startswith("configuration")


def test_unreadable_unpacking_is_reported_not_guessed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = scan(
        tmp_path,
        {
            "db.py": """
        import json, os
        from sqlalchemy import create_engine

        OPTIONS = json.loads(os.environ["ENGINE_OPTIONS"])
        engine = create_engine("postgresql://h/db", **OPTIONS)
    """
        },
        monkeypatch,
    )
    assert report.pools[0].unresolved == ["**OPTIONS"]


# --- the other stacks -----------------------------------------------------------------------------------


def test_asyncpg_psycopg_pool_and_psycopg2_pools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = scan(
        tmp_path,
        {
            "pools.py": """
        import asyncpg
        import psycopg2.pool
        from psycopg2 import pool as pg2pool
        from psycopg_pool import AsyncConnectionPool, ConnectionPool

        async def make():
            return await asyncpg.create_pool("postgresql://h:6432/db", min_size=2, max_size=10,
                                             max_inactive_connection_lifetime=120.0,
                                             server_settings={"application_name": "api"})

        SYNC = ConnectionPool("host=h dbname=app", min_size=1, max_idle=300,
                              kwargs={"prepare_threshold": None, "keepalives_idle": 30},
                              check=ConnectionPool.check_connection)
        ASYNC = AsyncConnectionPool(conninfo="postgresql://h/app", open=False)
        THREADED = psycopg2.pool.ThreadedConnectionPool(1, 20, "dbname=app", keepalives_idle=60)
        SIMPLE = pg2pool.SimpleConnectionPool(minconn=1, maxconn=5, host="h", port=6432)
    """
        },
        monkeypatch,
    )
    assert [(p.line, p.stack, p.call) for p in report.pools] == [
        (7, "asyncpg", "asyncpg.create_pool"),
        (11, "psycopg_pool", "psycopg_pool.ConnectionPool"),
        (14, "psycopg_pool", "psycopg_pool.AsyncConnectionPool"),
        (15, "psycopg2", "psycopg2.pool.ThreadedConnectionPool"),
        (16, "psycopg2", "psycopg2.pool.SimpleConnectionPool"),
    ]
    asyncpg_pool, sync, async_pool, threaded, simple = report.pools
    assert values(asyncpg_pool) == {
        "dsn": "postgresql://h:6432/db",
        "min_size": 2,
        "max_size": 10,
        "max_inactive_connection_lifetime": 120.0,
        "server_settings.application_name": "api",
    }
    assert asyncpg_pool.end_line == 9
    assert values(sync) == {
        "conninfo": "host=h dbname=app",
        "min_size": 1,
        "max_idle": 300,
        "kwargs.prepare_threshold": None,
        "kwargs.keepalives_idle": 30,
        "check": "psycopg_pool.ConnectionPool.check_connection",
    }
    assert values(async_pool) == {"conninfo": "postgresql://h/app", "open": False}
    assert values(threaded) == {"minconn": 1, "maxconn": 20, "dsn": "dbname=app", "keepalives_idle": 60}
    assert values(simple) == {"minconn": 1, "maxconn": 5, "host": "h", "port": 6432}


def test_flask_sqlalchemy_engine_options_and_legacy_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "requirements.txt").write_text("Flask-SQLAlchemy==2.5.1\n")  # (2.x reads SQLALCHEMY_POOL_*)
    report = scan(
        tmp_path,
        {
            "config.py": """
            import os

            class Config:
                SQLALCHEMY_DATABASE_URI = os.getenv("DATABASE_URL", "postgresql://db/app")
                SQLALCHEMY_TRACK_MODIFICATIONS = False
                SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "pool_recycle": 280,
                                             "connect_args": {"connect_timeout": 5}}

            class TestConfig(Config):
                TESTING = True

            class LegacyConfig(Config):
                SQLALCHEMY_ENGINE_OPTIONS = {}
                SQLALCHEMY_POOL_SIZE = 10
                SQLALCHEMY_POOL_RECYCLE = 3600
        """,
            "app.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            def create_app():
                app = Flask(__name__)
                app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://db/app"
                app.config.update(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 3})
                return app

            db = SQLAlchemy(engine_options={"pool_pre_ping": True})
            plain = SQLAlchemy()
        """,
        },
        monkeypatch,
    )
    assert [(p.where, p.call) for p in report.pools] == [
        ("app.py:6", "app.config"),
        ("app.py:10", "flask_sqlalchemy.SQLAlchemy"),
        ("config.py:3", "class Config"),
        ("config.py:12", "class LegacyConfig"),
    ]
    config = at(report, "config.py:3")
    assert config.stack == "flask_sqlalchemy"
    assert values(config) == {
        "url": "postgresql://db/app",
        "SQLALCHEMY_TRACK_MODIFICATIONS": False,
        "pool_pre_ping": True,
        "pool_recycle": 280,
        "connect_args.connect_timeout": 5,
    }
    assert config.settings["url"].env == "DATABASE_URL"
    legacy = values(at(report, "config.py:12"))
    assert (legacy["pool_size"], legacy["pool_recycle"], legacy["url"]) == (10, 3600, "postgresql://db/app")
    assert "pool_pre_ping" not in legacy  # the subclass replaced SQLALCHEMY_ENGINE_OPTIONS with {}
    assert values(at(report, "app.py:6")) == {"url": "postgresql://db/app", "pool_size": 3}
    assert values(at(report, "app.py:10")) == {"pool_pre_ping": True}


def test_django_databases_in_its_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = scan(
        tmp_path,
        {
            "site/settings/__init__.py": "",
            "site/settings/base.py": f"""
            import os
            import dj_database_url

            DATABASES = {{
                "default": {{
                    "ENGINE": "django.db.backends.postgresql",
                    "NAME": os.getenv("DB_NAME", "app"),
                    "PASSWORD": "{SECRET}",
                    "HOST": "db",
                    "PORT": 6432,
                    "CONN_MAX_AGE": 60,
                    "OPTIONS": {{"sslmode": "require", "pool": {{"min_size": 2, "max_size": 4}}}},
                }},
                "analytics": dj_database_url.config(env="ANALYTICS_URL", default="postgres://a:{SECRET}@an:5432/an",
                                                    conn_max_age=600, conn_health_checks=True),
            }}
            DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
            DATABASES["legacy"] = dj_database_url.parse("postgres://legacy/db")
            INSTALLED_APPS = ["django.contrib.contenttypes"]  # a settings module of its own, not a fragment
        """,
            "site/settings/production.py": """
            from .base import *

            DATABASES["default"]["CONN_MAX_AGE"] = None
        """,
            "other/settings.py": """
            import environ

            env = environ.Env(CONN_AGE=(int, 300))
            DATABASES = {"default": {**env.db("DATABASE_URL", default="postgres://h:5432/x"),
                                     "CONN_MAX_AGE": env("CONN_AGE")}}
        """,
            "fn/settings.py": """
            def databases(age=30):
                return {"default": {"ENGINE": "django.db.backends.postgresql", "CONN_MAX_AGE": age}}

            DATABASES = databases()
        """,
        },
        monkeypatch,
    )
    base = at(report, "site/settings/base.py:5")
    assert base.call == "DATABASES['default']" and base.stack == "django" and base.end_line == 13
    assert values(base) == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "app",
        "PASSWORD": "***",
        "HOST": "db",
        "PORT": 6432,
        "CONN_MAX_AGE": 60,
        "OPTIONS.sslmode": "require",
        "OPTIONS.pool.min_size": 2,
        "OPTIONS.pool.max_size": 4,
        "CONN_HEALTH_CHECKS": False,
    }
    assert base.settings["NAME"].env == "DB_NAME"
    assert base.settings["CONN_HEALTH_CHECKS"].from_ == "site/settings/base.py:17"
    analytics = at(report, "site/settings/base.py:14")
    assert values(analytics) == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "an",
        "USER": "a",
        "PASSWORD": "***",
        "HOST": "an",
        "PORT": 5432,
        "CONN_MAX_AGE": 600,
        "CONN_HEALTH_CHECKS": True,
    }
    assert analytics.settings["HOST"].env == "ANALYTICS_URL"
    legacy = at(report, "site/settings/base.py:18")
    assert (values(legacy)["HOST"], values(legacy)["CONN_MAX_AGE"]) == ("legacy", 0)
    production = [p for p in report.pools if p.file == "site/settings/production.py"]
    assert {p.call for p in production} == {"DATABASES['default']", "DATABASES['analytics']", "DATABASES['legacy']"}
    prod_default = next(p for p in production if p.call == "DATABASES['default']")
    assert values(prod_default)["CONN_MAX_AGE"] is None
    environ_db = at(report, "other/settings.py:4")
    assert values(environ_db)["HOST"] == "h" and values(environ_db)["CONN_MAX_AGE"] == 300
    assert environ_db.settings["CONN_MAX_AGE"].env == "CONN_AGE"
    assert values(at(report, "fn/settings.py:2"))["CONN_MAX_AGE"] == 30


# --- robust and static ----------------------------------------------------------------------------------


def test_bad_files_are_warnings_naming_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = scan(
        tmp_path,
        {
            "broken.py": "from sqlalchemy import create_engine\nengine = create_engine(\n",
            "template.py": "engine = create_engine({{ url }}, pool_size={% if x %}5{% endif %})\n",
            "new_syntax.py": "from sqlalchemy import create_engine\ntype Url = str\nengine = create_engine('postgresql://h/d')\n",
            "generic.py": "from sqlalchemy import create_engine\ndef make[T](x: T) -> T:\n    return create_engine(x)\n",
            "good.py": "from sqlalchemy import create_engine\nengine = create_engine('postgresql://h/db')\n",
            "unrelated.py": "this is not python but names nothing the scan looks for (\n",
        },
        monkeypatch,
    )
    (tmp_path / "binary.py").write_bytes(b"create_engine\0\0\x89PNG")
    (tmp_path / "huge.py").write_text("create_engine = 1\n" + "x = 1\n" * 400_000)
    (tmp_path / "latin.py").write_bytes(
        b"# -*- coding: latin-1 -*-\nfrom sqlalchemy import create_engine\ne = create_engine('postgresql://h/caf\xe9')\n"
    )
    report = scan_path(Path("."))
    warned = " | ".join(report.warnings)
    # PEP 695 (`type X = ...`, `def f[T]`) parses from Python 3.12: older interpreters read it all the same.
    expected = ["broken.py:2", "template.py:1", "binary.py", "huge.py"]
    for name in expected:
        assert name in warned, (name, report.warnings)
    assert len(report.warnings) == len(expected)
    assert "unrelated.py" not in warned  # never parsed: it names nothing a pool needs
    assert [p.where for p in report.pools] == ["generic.py:3", "good.py:2", "latin.py:3", "new_syntax.py:3"]
    assert at(report, "latin.py:3").settings["url"].value == "postgresql://h/café"


def test_nothing_is_imported_or_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "ran"
    report = scan(
        tmp_path,
        {
            "app.py": f"""
        import pathlib
        pathlib.Path({str(marker)!r}).write_text("imported")
        from sqlalchemy import create_engine
        engine = create_engine("postgresql://h/db", pool_size=int(pathlib.Path("x").read_text()))
        raise SystemExit("never")
    """
        },
        monkeypatch,
    )
    assert not marker.exists()
    pool = report.pools[0]
    assert (
        not pool.settings["pool_size"].known and pool.settings["pool_size"].expr == 'int(pathlib.Path("x").read_text())'
    )


def test_virtualenvs_and_hidden_folders_are_not_the_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = scan(
        tmp_path,
        {
            "app.py": "import sqlalchemy\ne = sqlalchemy.create_engine('postgresql://h/db')\n",
            "venv/pyvenv.cfg": "home = /usr\n",
            "venv/lib/site.py": "import sqlalchemy\ne = sqlalchemy.create_engine('postgresql://h/db')\n",
            ".tox/x.py": "import sqlalchemy\ne = sqlalchemy.create_engine('postgresql://h/db')\n",
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["app.py:2"]


def test_one_file_and_json_shape(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, {"db.py": "import sqlalchemy\ne = sqlalchemy.create_engine('postgresql://h/db', pool_size=2)\n"})
    monkeypatch.chdir(tmp_path)
    document = scan_path(Path("db.py")).to_json()
    assert set(document) == {"schema_version", "pools", "warnings", "findings"}
    (pool,) = document["pools"]
    assert {"file", "line", "end_line", "stack", "call", "settings"} <= set(pool)
    assert pool["file"] == "db.py" and pool["line"] == 2
    assert pool["settings"]["pool_size"] == {"value": 2, "from": "db.py:2", "env": None, "known": True, "source": "2"}


# --- --app: a value of a shape the stack cannot read is unknown, never a crash ------------------------


def _app_inputs(root: Path) -> Any:
    from pool_doctor.cli_options import CommonArgs
    from pool_doctor.inputs import build_inputs

    fields: dict[str, Any] = dict.fromkeys(CommonArgs.__dataclass_fields__)
    fields.update(url="postgresql://app@127.0.0.1:1/appdb", timeout=5.0, ask_password=False, debug=False, app=root)
    return build_inputs(CommonArgs(**fields), os.environ)


@pytest.mark.parametrize(
    ("code", "key", "why"),
    [
        # Was TypeError ('cannot convert dictionary update sequence element') building the connection.
        (
            'from psycopg_pool import ConnectionPool\npool = ConnectionPool("dbname=db", kwargs=[1, 2])\n',
            "kwargs",
            "a table",
        ),
        # Was IndexError: OPTIONS with no key under it.
        (
            'DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "OPTIONS": [1]}}\n',
            "OPTIONS",
            "a table",
        ),
        (
            'DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "OPTIONS": {"pool": 3}}}\n',
            "OPTIONS.pool",
            "true, false or a table",
        ),
        (
            'DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "CONN_MAX_AGE": -5}}\n',
            "CONN_MAX_AGE",
            "must be 0",
        ),
        # The pair asyncpg refuses: the first key whose removal leaves a pool asyncpg builds is the unknown one.
        (
            "import asyncpg\nasync def f():\n    return await asyncpg.create_pool(min_size=5, max_size=2)\n",
            "max_size",
            "min_size 5 is above max_size 2",
        ),
        # Two wrong keys: each is unknown, the good one is still judged.
        (
            "import asyncpg\nasync def f():\n    return await asyncpg.create_pool(min_size='a', max_size=40,"
            " max_inactive_connection_lifetime=-1)\n",
            "min_size",
            "whole number",
        ),
    ],
    ids=[
        "psycopg-pool-kwargs-list",
        "django-options-list",
        "django-options-pool-int",
        "django-age",
        "asyncpg-sizes",
        "asyncpg-two-wrong",
    ],
)
def test_a_value_the_stack_cannot_read_is_unknown_in_the_app_layer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: str, key: str, why: str
) -> None:
    from pool_doctor.scan.app import as_layer
    from pool_doctor.stacks import flatten

    report = scan(tmp_path, {"app.py": code}, monkeypatch)
    layer = as_layer(report.pools[0])
    assert key in layer.unknown
    assert any(f"{key} = " in w and why in w and "judged with the library default" in w for w in layer.warnings)
    inputs = _app_inputs(Path("."))  # as `check --app .` builds them: no exception, the default stands
    (pool,) = inputs.app_pools
    assert key not in flatten(pool.settings.pool.model_extra or {})
    if key == "min_size" and "max_size=40" in code:
        assert set(layer.unknown) == {"min_size", "max_inactive_connection_lifetime"}
        assert pool.settings.pool.model_extra == {"max_size": 40}
    assert any(f"{key} = " in w for w in inputs.warnings)


def test_the_recommendation_fills_a_table_the_code_left_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """kwargs=None in the code, kwargs.tcp_user_timeout recommended: was AttributeError in unflatten."""
    from pool_doctor.stacks import unflatten

    assert unflatten({"kwargs": None, "kwargs.tcp_user_timeout": 30000}) == {"kwargs": {"tcp_user_timeout": 30000}}
    assert unflatten({"OPTIONS.pool": True, "OPTIONS.pool.min_size": 1}) == {"OPTIONS": {"pool": {"min_size": 1}}}
