"""Held-out round 66 and the open cases of earlier rounds: each test failed before its fix."""

from __future__ import annotations

import pytest

from tests.test_scan import at, scan


@pytest.mark.parametrize(
    "copy",
    ["dict(os.environ)", "os.environ.copy()", "dict(environ)", "{**os.environ}", "ChainMap(os.environ)"],
)
def test_a_copy_of_the_environment_reads_the_variables(tmp_path, monkeypatch, copy: str) -> None:
    # personal-finance-bot: `env = env if env is not None else dict(os.environ)`, then `env["DATABASE_URL"]`
    report = scan(
        tmp_path,
        {
            "app.py": f"""
            import os
            from collections import ChainMap
            from os import environ

            from sqlalchemy import create_engine

            env = {copy}
            env["POOL_TIMEOUT"] = "12"
            engine = create_engine(
                env["DATABASE_URL"],
                pool_size=int(env.get("POOL_SIZE", "7")),
                max_overflow=int(env.get("MAX_OVERFLOW") or 3),
                pool_timeout=int(env["POOL_TIMEOUT"]),
            )
            """
        },
        monkeypatch,
    )
    pool = at(report, "app.py:9")
    url = pool.settings["url"]
    assert (url.known, url.env) == (False, "DATABASE_URL")
    shown = {k: (pool.settings[k].value, pool.settings[k].env) for k in ("pool_size", "max_overflow", "pool_timeout")}
    assert shown == {"pool_size": (7, "POOL_SIZE"), "max_overflow": (3, "MAX_OVERFLOW"), "pool_timeout": (12, None)}


def test_a_copy_of_the_environment_updated_from_what_the_scan_cannot_read_is_unknown(tmp_path, monkeypatch) -> None:
    report = scan(
        tmp_path,
        {
            "app.py": """
            import os

            from sqlalchemy import create_engine

            import overrides

            env = dict(os.environ)
            env.update(overrides.load())
            engine = create_engine(env["DATABASE_URL"], pool_size=int(env.get("POOL_SIZE", "7")))
            """
        },
        monkeypatch,
    )
    pool = at(report, "app.py:9")
    assert [pool.settings[k].known for k in ("url", "pool_size")] == [False, False]
    assert pool.settings["pool_size"].env is None


def test_a_check_of_many_required_variables_that_raises_leaves_the_values_after_it(tmp_path, monkeypatch) -> None:
    # personal-finance-bot's Config: seven required names, each tested in a loop; `if missing: raise` is the
    # environment's to decide however many paths the loop makes
    report = scan(
        tmp_path,
        {
            "app.py": """
            import os

            from sqlalchemy import create_engine


            class Config:
                def __init__(self, env=None):
                    env = env if env is not None else os.environ
                    missing = []
                    for name in ["TOKEN", "WEBHOOK", "SECRET", "API_KEY", "CHAT", "USERS", "DATABASE_URL"]:
                        if not env.get(name, "").strip():
                            missing.append(name)
                    if missing:
                        raise RuntimeError(f"missing: {', '.join(missing)}")
                    self.DATABASE_URL = env["DATABASE_URL"].strip()
                    self.POOL_SIZE = int(env.get("POOL_SIZE", "4"))


            config = Config()
            engine = create_engine(config.DATABASE_URL, pool_size=config.POOL_SIZE)
            """
        },
        monkeypatch,
    )
    pool = at(report, "app.py:20")
    assert (pool.settings["url"].known, pool.settings["url"].env) == (False, "DATABASE_URL")
    assert (pool.settings["pool_size"].value, pool.settings["pool_size"].env) == (4, "POOL_SIZE")


def test_a_pool_kept_per_variable_read_from_a_copy_of_the_environment_is_one_pool(tmp_path, monkeypatch) -> None:
    # CKAN's datastore, its URLs read from `dict(os.environ)`: every caller asking for the same variable shares one
    report = scan(
        tmp_path,
        {
            "store/__init__.py": "",
            "store/backend.py": """
            import os

            import sqlalchemy as sa

            _engines = {}
            config = dict(os.environ)


            def _engine(url):
                engine = _engines.get(url)
                if engine:
                    return engine
                engine = _engines[url] = sa.create_engine(url, pool_pre_ping=True)
                return engine


            def read_engine():
                return _engine(config["READ_URL"])


            def write_engine():
                return _engine(config["WRITE_URL"])
            """,
            "store/api.py": """
            from store.backend import read_engine, write_engine


            def search():
                return read_engine()


            def upsert():
                read_engine()
                return write_engine()
            """,
        },
        monkeypatch,
    )
    assert len(report.pools) == 2
    assert sorted(p.settings["url"].env for p in report.pools) == ["READ_URL", "WRITE_URL"]


def test_a_list_named_databases_is_no_django_setting(tmp_path, monkeypatch) -> None:
    # django-mojo: a preview script's fixture data, `DATABASES = [{"identifier": ..., "engine": ...}, ...]`
    report = scan(
        tmp_path,
        {
            "config/settings.py": """
            INSTALLED_APPS = ["django.contrib.auth"]
            DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "app", "CONN_MAX_AGE": 30}}
            """,
            "bin/preview/capacity.py": """
            DATABASES = [
                {"identifier": "prod-aurora", "engine": "aurora-postgresql", "status": "available"},
                {"identifier": "prod-replica", "engine": "aurora-postgresql", "status": "available"},
            ]
            """,
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["config/settings.py:2"]


TENANT_SETTINGS = """
    import os

    INSTALLED_APPS = ["django.contrib.auth", "apps.tenant"]
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("DB_NAME", "app"),
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
        }
    }
"""


@pytest.mark.parametrize(
    ("imports", "holder"),
    [
        ("from django.db import connections", "connections.databases"),
        ("from django import db", "db.connections.databases"),
        ("", "settings.DATABASES"),
    ],
)
def test_an_alias_a_function_adds_while_the_app_runs_is_a_pool_of_its_own(
    tmp_path, monkeypatch, imports: str, holder: str
) -> None:
    # Falcon: each tenant's database registered at run time, a copy of the default alias with the tenant's NAME
    report = scan(
        tmp_path,
        {
            "manage.py": """
            import os
            import sys

            if __name__ == "__main__":
                os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
                from django.core.management import execute_from_command_line

                execute_from_command_line(sys.argv)
            """,
            "config/__init__.py": "",
            "config/settings.py": TENANT_SETTINGS,
            "apps/__init__.py": "",
            "apps/tenant/__init__.py": "",
            "apps/tenant/connections.py": f"""
            from django.conf import settings
            {imports}


            class Manager:
                def register(self, tenant, db_name):
                    config = settings.DATABASES["default"].copy()
                    config["NAME"] = tenant.database_name
                    {holder}[db_name] = config
            """,
        },
        monkeypatch,
    )
    pool = at(report, "apps/tenant/connections.py:9")
    assert pool.stack == "django"
    assert not pool.at_import
    shown = {k: (v.value, v.from_) for k, v in pool.settings.items() if v.known}
    assert shown["CONN_MAX_AGE"] == (60, "config/settings.py:8")
    assert shown["CONN_HEALTH_CHECKS"] == (True, "config/settings.py:9")
    assert not pool.settings["NAME"].known
    assert sorted(p.where for p in report.pools) == ["apps/tenant/connections.py:9", "config/settings.py:5"]


def test_django_settings_read_by_the_app_are_the_settings_module_the_server_loads(tmp_path, monkeypatch) -> None:
    # an engine of the app's own made from Django's settings: the module wsgi.py names, not manage.py's
    report = scan(
        tmp_path,
        {
            "manage.py": """
            import os

            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_config.dev")
            """,
            "site_config/__init__.py": "",
            "site_config/wsgi.py": """
            import os

            from django.core.wsgi import get_wsgi_application

            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_config.prod")
            application = get_wsgi_application()
            """,
            "site_config/base.py": """
            import os

            WAREHOUSE_URL = os.environ.get("WAREHOUSE_URL", "postgresql+psycopg://wh@warehouse/wh")
            WAREHOUSE_POOL = 4
            """,
            "site_config/dev.py": "from site_config.base import *\n",
            "site_config/prod.py": "from site_config.base import *\n\nWAREHOUSE_POOL = 12\n",
            "warehouse/__init__.py": "",
            "warehouse/engine.py": """
            from django.conf import settings
            from sqlalchemy import create_engine

            engine = create_engine(settings.WAREHOUSE_URL, pool_size=settings.WAREHOUSE_POOL, pool_recycle=settings.RECYCLE)
            """,
        },
        monkeypatch,
    )
    pool = at(report, "warehouse/engine.py:4")
    shown = {k: (v.value, v.from_, v.env) for k, v in pool.settings.items() if v.known}
    assert shown["url"] == ("postgresql+psycopg://wh@warehouse/wh", "site_config/base.py:3", "WAREHOUSE_URL")
    assert shown["pool_size"] == (12, "site_config/prod.py:3", None)
    assert not pool.settings["pool_recycle"].known  # (a name the settings never set: Django's, not read)


def test_a_method_calling_a_factory_with_what_the_one_instance_is_made_with_has_the_pool_there(
    tmp_path, monkeypatch
) -> None:
    # my-trade-datacollector: `self.pool = await create_pool(self.config)` in the app's start(), the app made once
    # with the loaded config; the pool is at that factory call (was: at `await app.start()`, a caller further out)
    report = scan(
        tmp_path,
        {
            "collector/__init__.py": "",
            "collector/pool.py": """
            import asyncpg


            async def create_pool(config):
                return await asyncpg.create_pool(config.dsn, min_size=config.min_size, max_size=10)
            """,
            "collector/app.py": """
            import asyncio
            import os
            from dataclasses import dataclass

            from collector.pool import create_pool


            @dataclass
            class Config:
                dsn: str
                min_size: int


            class App:
                def __init__(self, config):
                    self.config = config
                    self.pool = None

                async def start(self):
                    self.pool = await create_pool(self.config)


            async def run():
                app = App(Config(os.environ["DATABASE_URL"], int(os.environ.get("POOL_MIN", "2"))))
                await app.start()


            if __name__ == "__main__":
                asyncio.run(run())
            """,
        },
        monkeypatch,
    )
    pool = at(report, "collector/app.py:20")
    assert pool.via == ["collector/pool.py:5"]
    assert (pool.settings["min_size"].value, pool.settings["min_size"].env) == (2, "POOL_MIN")
    assert (pool.settings["dsn"].known, pool.settings["dsn"].env) == (False, "DATABASE_URL")
    assert len(report.pools) == 1


def test_a_written_scheme_decides_startswith_and_replace_changes_its_driver(tmp_path, monkeypatch) -> None:
    # cu_gymclub_bot's alembic env: the settings' DSN property always starts with postgresql+asyncpg, so the first
    # `if` is taken whatever the variables give, and its replace names psycopg2 (was: three branches, no driver)
    report = scan(
        tmp_path,
        {
            "config.py": """
            from pydantic_settings import BaseSettings


            class Settings(BaseSettings):
                POSTGRES_USER: str
                POSTGRES_DB: str

                @property
                def POSTGRES_DSN(self):
                    return f"postgresql+asyncpg://{self.POSTGRES_USER}@db:5432/{self.POSTGRES_DB}"


            settings = Settings()
            """,
            "env.py": """
            from sqlalchemy import create_engine

            from config import settings

            db_url = settings.POSTGRES_DSN
            if db_url.startswith("postgresql+asyncpg"):
                db_url = db_url.replace("postgresql+asyncpg", "postgresql+psycopg2")
            elif db_url.startswith("asyncpg"):
                db_url = db_url.replace("asyncpg", "psycopg2")
            engine = create_engine(db_url)
            """,
        },
        monkeypatch,
    )
    pool = at(report, "env.py:10")
    url = pool.settings["url"]
    assert not url.branches
    assert url.expr is not None and url.expr.startswith("f'postgresql+psycopg2://{self.POSTGRES_USER}@db:5432/")
    assert pool.driver == "psycopg2"


def test_an_attribute_set_under_a_test_on_settings_an_earlier_test_changed_is_kept(tmp_path, monkeypatch) -> None:
    # server-litestar: a first `if` on settings.env changes another field, then `if settings.env == ENV.TESTING:`
    # swaps the URL; the swap was lost, the URL's branches carrying the first test's condition
    report = scan(
        tmp_path,
        {
            "settings.py": """
            from enum import Enum

            from pydantic_settings import BaseSettings


            class ENV(Enum):
                DEVELOPMENT = "development"
                PRODUCTION = "production"
                TESTING = "testing"


            class Settings(BaseSettings):
                async_database_url: str
                test_async_database_url: str
                bucket: str = "b"
                test_bucket: str = "tb"
                env: ENV = ENV.DEVELOPMENT


            settings = Settings()

            if settings.env == ENV.TESTING or settings.env == ENV.DEVELOPMENT:
                settings.bucket = settings.test_bucket

            if settings.env == ENV.TESTING:
                settings.async_database_url = settings.test_async_database_url
            """,
            "task.py": """
            from sqlalchemy.ext.asyncio import create_async_engine

            from settings import settings

            engine = create_async_engine(settings.async_database_url)
            """,
        },
        monkeypatch,
    )
    url = at(report, "task.py:5").settings["url"]
    assert sorted((b.env, b.when) for b in url.branches) == [
        ("ASYNC_DATABASE_URL", "not (settings.env == ENV.TESTING)"),
        ("TEST_ASYNC_DATABASE_URL", "settings.env == ENV.TESTING"),
    ]


def test_a_method_with_overload_stubs_is_its_last_definition(tmp_path, monkeypatch) -> None:
    # waseem-django-template: `Env.int` is two `@overload` stubs (`...`), then the method; the stub read gave None
    report = scan(
        tmp_path,
        {
            "env.py": """
            import os
            from typing import overload


            class _Env:
                @overload
                def int(self, var: str) -> int: ...

                @overload
                def int(self, var: str, default: int) -> int: ...

                def int(self, var, default=None):
                    raw = os.getenv(var)
                    return int(raw) if raw is not None else default


            Env = _Env()
            """,
            "settings.py": """
            from env import Env

            INSTALLED_APPS = ["django.contrib.auth"]
            DATABASES = {
                "default": {
                    "ENGINE": "django.db.backends.postgresql",
                    "CONN_MAX_AGE": Env.int("CONN_MAX_AGE", 60),
                }
            }
            """,
        },
        monkeypatch,
    )
    age = at(report, "settings.py:5").settings["CONN_MAX_AGE"]
    assert age.value != None or not age.known  # noqa: E711  (never the stub's None)
    assert not any(b.known and b.value is None for b in age.branches)
    assert "env.py:7" not in {age.from_, *(b.from_ for b in age.branches)}


def test_a_packages_own_test_settings_module_is_the_tests(tmp_path, monkeypatch) -> None:
    # django-shopman: packages/buyman/buyman_test_settings.py, which the package's pytest options name
    report = scan(
        tmp_path,
        {
            "config/settings.py": """
            INSTALLED_APPS = ["django.contrib.auth"]
            DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "shop"}}
            """,
            "packages/buyman/buyman_test_settings.py": """
            INSTALLED_APPS = ["buyman"]
            DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
            """,
            "packages/buyman/latest_settings.py": """
            INSTALLED_APPS = ["buyman"]
            DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "latest"}}
            """,
        },
        monkeypatch,
    )
    asides = {p.where: p.aside for p in report.pools}
    assert asides == {
        "config/settings.py:2": None,
        "packages/buyman/buyman_test_settings.py:2": "tests",
        "packages/buyman/latest_settings.py:2": None,
    }


def test_a_replace_outside_the_written_scheme_keeps_the_driver(tmp_path, monkeypatch) -> None:
    # pylau-app-flask: `'postgresql://{}:{}@{}:{}/{}'.format(...)`, then `.replace(' ', '').replace('\n', '')`
    report = scan(
        tmp_path,
        {
            "app.py": """
            import os

            from sqlalchemy import create_engine


            class DevelopmentConfig:
                def __init__(self):
                    heroku = "postgresql://{}:{}@{}/{}".format(
                        os.getenv("DB_USER"), os.getenv("DB_PASSWORD"), os.getenv("DB_SERVER"), os.getenv("DB_NAME")
                    )
                    self.DATABASE_URI = heroku.replace(" ", "").replace("\\n", "")
                    self.OTHER = heroku.replace("postgresql://", "mysql://")


            config = DevelopmentConfig()
            engine = create_engine(config.DATABASE_URI)
            other = create_engine(config.OTHER)
            """
        },
        monkeypatch,
    )
    assert at(report, "app.py:16").driver == "psycopg2"
    assert at(report, "app.py:17").driver is None  # (the replace rewrites the scheme: no driver read)


def test_a_fixed_factory_only_tests_call_makes_the_tests_pools(tmp_path, monkeypatch) -> None:
    # SelfFinance: `create_test_database()` in src/, called by tests/conftest.py and tests/service.py alone
    report = scan(
        tmp_path,
        {
            "src/__init__.py": "",
            "src/database.py": """
            import os

            from sqlalchemy import create_engine


            def create_database():
                return create_engine(os.getenv("DATABASE_URL", "postgresql+psycopg2://app@db/app"))


            def create_test_database():
                return create_engine("postgresql+psycopg2://app@localhost/test", echo=False)
            """,
            "src/main.py": """
            from src.database import create_database

            engine = create_database()
            """,
            "tests/__init__.py": "",
            "tests/conftest.py": """
            import pytest

            from src.database import create_test_database


            @pytest.fixture
            def engine():
                yield create_test_database()
            """,
            "tests/service.py": """
            from src.database import create_test_database

            ENGINE = create_test_database()
            """,
        },
        monkeypatch,
    )
    assert sorted((p.where, p.aside) for p in report.pools) == [
        ("src/database.py:7", None),
        ("tests/conftest.py:8", "tests"),
        ("tests/service.py:3", "tests"),
    ]


def test_a_factory_called_in_too_many_places_to_list_says_so(tmp_path, monkeypatch) -> None:
    # nuclide-identification: `load_engine()` made anew in 12 classes' __init__; past ten callers its pool is
    # reported once at its own line, and a warning says how many calls it stands for
    classes = "\n\n".join(
        f"class Reader{n}:\n    def __init__(self):\n        self.engine = load_engine()\n" for n in range(12)
    )
    report = scan(
        tmp_path,
        {
            "loader.py": """
            from sqlalchemy import create_engine


            def load_engine():
                return create_engine("postgresql+psycopg2://app@db/app")
            """,
            "readers.py": "from loader import load_engine\n\n\n" + classes,
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["loader.py:5"]
    assert report.warnings == [
        "loader.py:4: load_engine() is named in 12 calls, more than 10: its pool is reported once, at its own"
        " line, not at each call"
    ]


def test_a_method_the_app_calls_once_keeps_the_tests_pools_and_one_called_twice_is_at_its_callers(
    tmp_path, monkeypatch
) -> None:
    report = scan(
        tmp_path,
        {
            "svc/__init__.py": "",
            "svc/db.py": """
            from sqlalchemy import create_engine


            def make_engine(url):
                return create_engine(url, pool_size=3)
            """,
            "svc/service.py": """
            from svc.db import make_engine


            class Service:
                def __init__(self, url):
                    self.url = url

                def start(self):
                    self.engine = make_engine(self.url)

                def refresh(self):
                    self.other = make_engine(self.url)
            """,
            "svc/main.py": """
            from svc.service import Service


            def main():
                service = Service("postgresql://app@db/app")
                service.start()
                service.refresh()
                service.refresh()
            """,
            "tests/test_service.py": """
            from svc.service import Service


            def test_start():
                Service("postgresql://app@localhost/test").start()
            """,
        },
        monkeypatch,
    )
    assert sorted((p.where, p.aside) for p in report.pools) == [
        ("svc/main.py:7", None),  # refresh(), called twice: a pool at each call
        ("svc/main.py:8", None),
        ("svc/service.py:9", None),  # start(), called once: at the factory call inside it
        ("tests/test_service.py:5", "tests"),
    ]


def test_a_tests_app_made_by_the_apps_factory_is_a_test_pool(tmp_path, monkeypatch) -> None:
    # capstone / thriveFlaskAPIs: conftest's `create_app(TestConfig)` and `create_app("testing")` each make an
    # app with its own engine: the tests' pools, at their calls, with the config they load
    report = scan(
        tmp_path,
        {
            "config.py": """
            import os


            class Config:
                SQLALCHEMY_DATABASE_URI = os.getenv("DATABASE_URI", "postgresql://localhost/capstone")
                SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "pool_recycle": 300}


            class TestConfig(Config):
                TESTING = True
                SQLALCHEMY_DATABASE_URI = "postgresql://localhost/capstone_test"


            configs = {"default": Config, "testing": TestConfig}
            """,
            "app/__init__.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            from config import configs

            db = SQLAlchemy()


            def create_app(config_name="default"):
                app = Flask(__name__)
                app.config.from_object(configs[config_name])
                db.init_app(app)
                return app
            """,
            "run.py": "from app import create_app\n\napp = create_app()\n",
            "tests/conftest.py": """
            import pytest

            from app import create_app


            @pytest.fixture
            def app():
                return create_app("testing")
            """,
        },
        monkeypatch,
    )
    shown = {p.where: (p.aside, p.settings["url"].value, p.settings["pool_recycle"].value) for p in report.pools}
    assert shown == {
        "app/__init__.py:12": (None, "postgresql://localhost/capstone", 300),
        "tests/conftest.py:8": ("tests", "postgresql://localhost/capstone_test", 300),
    }


def test_a_key_dropped_from_a_copy_of_the_environment_is_no_variable_of_it(tmp_path, monkeypatch) -> None:
    # the review: `env.pop("POOL_SIZE", None)` and `del env["MAX_OVERFLOW"]` on a copy, then `.get(name, default)`
    report = scan(
        tmp_path,
        {
            ".env": "POOL_SIZE=20\nMAX_OVERFLOW=30\nPOOL_TIMEOUT=9\n",
            "app.py": """
            import os

            from sqlalchemy import create_engine

            env = os.environ.copy()
            env.pop("POOL_SIZE", None)
            del env["MAX_OVERFLOW"]
            engine = create_engine(
                "postgresql://app@db/app",
                pool_size=int(env.get("POOL_SIZE", "5")),
                max_overflow=int(env.get("MAX_OVERFLOW", "2")),
                pool_timeout=int(env.get("POOL_TIMEOUT", "7")),
            )
            """,
        },
        monkeypatch,
    )
    pool = at(report, "app.py:8")
    shown = {k: (pool.settings[k].value, pool.settings[k].env) for k in ("pool_size", "max_overflow", "pool_timeout")}
    assert shown == {"pool_size": (5, None), "max_overflow": (2, None), "pool_timeout": (9, "POOL_TIMEOUT")}


def test_many_values_each_set_per_region_make_one_dsn_quickly(tmp_path, monkeypatch) -> None:
    # the review's case10: twelve libpq keys each set in a ten-way elif on REGION, joined into one DSN; each key's
    # too many values kept its default and the rest, and the DSN tried every combination (minutes, then hours)
    regions = [f"r{n}" for n in range(10)]
    keys = [f"k{n}" for n in range(12)]
    chain = "\n".join(
        f'{"if" if at == 0 else "elif"} REGION == "{region}":\n' + "".join(f'    {k} = "{k}-{region}"\n' for k in keys)
        for at, region in enumerate(regions)
    )
    defaults = "".join(f'{k} = "{k}-local"\n' for k in keys)
    dsn = " ".join(f"{k}={{{k}}}" for k in keys)
    source = f'import os\n\nfrom sqlalchemy import create_engine\n\nREGION = os.getenv("REGION")\n{defaults}{chain}\n'
    source += f'engine = create_engine("postgresql+psycopg2://", connect_args={{"dsn": f"{dsn}"}})\n'
    report = scan(tmp_path, {"app.py": source}, monkeypatch)
    (pool,) = report.pools
    assert pool.settings["connect_args.dsn"].value == " ".join(f"{k}={k}-local" for k in keys)


TWO_SETTINGS = {
    "manage.py": 'import os\n\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings.dev")\n',
    "proj/__init__.py": "",
    "proj/wsgi.py": 'import os\n\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings.production")\n',
    "proj/settings/__init__.py": "",
    "proj/settings/dev.py": 'REPORTING_POOL_SIZE = 2\nINSTALLED_APPS = ["app"]\n',
    "app/__init__.py": "",
    "app/reporting.py": """
        from django.conf import settings
        from sqlalchemy import create_engine

        engine = create_engine("postgresql://r@db/r", pool_size=settings.REPORTING_POOL_SIZE)
    """,
}


@pytest.mark.parametrize("production", [False, True])
def test_django_settings_the_server_names_are_read_only_where_the_tree_has_them(
    tmp_path, monkeypatch, production: bool
) -> None:
    # the review: wsgi names proj.settings.production, made at deploy time; manage.py's dev settings never apply
    # to the server (was: dev's 2, known); a test settings module is no app's either
    files = dict(TWO_SETTINGS)
    if production:
        files["proj/settings/production.py"] = "REPORTING_POOL_SIZE = 20\n"
    report = scan(tmp_path, files, monkeypatch)
    size = at(report, "app/reporting.py:4").settings["pool_size"]
    assert (size.value, size.known) == ((20, True) if production else (None, False))


def test_each_django_project_of_a_monorepo_reads_its_own_settings(tmp_path, monkeypatch) -> None:
    files = {}
    for name, size in (("billing", 4), ("shop", 25)):
        files[f"{name}/manage.py"] = 'import os\n\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")\n'
        files[f"{name}/config/__init__.py"] = ""
        files[f"{name}/config/settings.py"] = f'INSTALLED_APPS = ["core"]\nLEDGER_POOL_SIZE = {size}\n'
        files[f"{name}/core/__init__.py"] = ""
        files[f"{name}/core/ledger.py"] = (
            "from django.conf import settings\nfrom sqlalchemy import create_engine\n\n"
            'engine = create_engine("postgresql://l@db/l", pool_size=settings.LEDGER_POOL_SIZE)\n'
        )
    report = scan(tmp_path, files, monkeypatch)
    assert at(report, "billing/core/ledger.py:4").settings["pool_size"].value == 4
    assert at(report, "shop/core/ledger.py:4").settings["pool_size"].value == 25


def test_a_runtime_alias_is_one_pool_in_a_nested_function_and_none_on_a_parameter_named_settings(
    tmp_path, monkeypatch
) -> None:
    report = scan(
        tmp_path,
        {
            "manage.py": 'import os\n\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")\n',
            "config/__init__.py": "",
            "config/settings.py": TENANT_SETTINGS,
            "apps/__init__.py": "",
            "apps/middleware.py": """
            from django.conf import settings
            from django.db import connections


            def tenant_middleware(get_response):
                def middleware(request):
                    name = f"tenant_{request.tenant}"
                    connections.databases[name] = dict(settings.DATABASES["default"])
                    return get_response(request)

                return middleware


            def export(settings):
                settings.DATABASES["export"] = {"ENGINE": "django.db.backends.postgresql", "NAME": "export"}
            """,
        },
        monkeypatch,
    )
    assert sorted(p.where for p in report.pools) == ["apps/middleware.py:8", "config/settings.py:5"]


@pytest.mark.parametrize(
    ("made", "start", "at"),
    [
        # the one case: the app's pool at the factory call in start(), its self the one instance
        ('Collector("postgresql://live/db", 10)', "self.engine = make_engine(self.url, self.size)", "collector.py:9"),
        # made in a function from its parameters: an instance per call of that function, at start()'s caller
        ("make(url, 10)", "self.engine = make_engine(self.url, self.size)", "main.py:10"),
        # a test of start()'s own parameter decides which pool
        (
            'Collector("postgresql://live/db", 10)',
            "self.engine = make_engine(self.url, 2) if read_only else make_engine(self.url, self.size)",
            "main.py:10",
        ),
    ],
)
def test_a_method_is_the_one_instances_only_where_nothing_else_decides_its_pool(
    tmp_path, monkeypatch, made: str, start: str, at: str
) -> None:
    # the review of the rule that places a method's pool inside it (my-trade-datacollector's start())
    report = scan(
        tmp_path,
        {
            "db.py": """
            from sqlalchemy import create_engine


            def make_engine(url, size):
                return create_engine(url, pool_size=size)
            """,
            "collector.py": f"""
            from db import make_engine


            class Collector:
                def __init__(self, url, size):
                    self.url, self.size = url, size

                def start(self, read_only=False):
                    {start}
            """,
            "main.py": f"""
            from collector import Collector


            def make(url, size):
                return {"Collector(url, size)" if made.startswith("make") else "None"}


            def run(url):
                c = {made}
                c.start()
            """,
        },
        monkeypatch,
    )
    assert {p.where for p in report.pools} == {at}  # (an `x if read_only else y`: each side's, at the caller)


def test_a_pool_kept_per_event_loop_is_one_for_the_apps_loop_but_each_side_of_a_test(tmp_path, monkeypatch) -> None:
    # DeanAgent-Backend: `if id(loop) in _pools: return`, then create_pool and `_pools[id(loop)] = pool`; the
    # lifespan makes it (with a DSN, or else from parts) and the scheduler's jobs, in the same loop, get it back
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/pool.py": """
            import asyncio
            import os

            import asyncpg

            _pools = {}


            async def init_pool(dsn=None, host=None):
                loop = asyncio.get_running_loop()
                if id(loop) in _pools:
                    return
                kwargs = {"dsn": dsn} if dsn else {"host": host}
                _pools[id(loop)] = await asyncpg.create_pool(**kwargs, min_size=2, max_size=10)
            """,
            "app/main.py": """
            import os

            from app.pool import init_pool


            async def lifespan(app):
                if os.getenv("POSTGRES_DSN"):
                    await init_pool(dsn=os.getenv("POSTGRES_DSN"))
                else:
                    await init_pool(host="db")
                yield


            async def nightly():
                await init_pool(host="db")
                await init_pool(host="db")
            """,
        },
        monkeypatch,
    )
    assert sorted(p.where for p in report.pools) == ["app/main.py:10", "app/main.py:8"]


def test_the_second_reviews_cases(tmp_path, monkeypatch) -> None:
    # a property's setter defined after it is not the property; a replace of a `+`-built URL is of the whole; a
    # variable's default's written start decides startswith only with no variable set; a long replace chain is
    # read at once; past 256 combinations the scheme of what is written stays
    parts = "\n".join(f'P{n} = "x{n}" if HOST == "h{n}" else "y{n}"' for n in range(9))
    chain = "".join(f'.replace("{chr(97 + n)}\\n", "")' for n in range(17))
    report = scan(
        tmp_path,
        {
            "settings.py": """
            import os


            class Settings:
                def __init__(self):
                    self._url = None

                @property
                def database_url(self):
                    return os.getenv("DATABASE_URL", "postgresql+psycopg://app@db/app")

                @database_url.setter
                def database_url(self, value):
                    self._url = value


            settings = Settings()
            """,
            "app.py": "\n".join(
                [
                    "import os",
                    "import socket",
                    "",
                    "from sqlalchemy import create_engine",
                    "",
                    "from settings import settings",
                    "",
                    "one = create_engine(settings.database_url)",
                    'plus = create_engine(("postgresql" + "://app@" + os.environ["HOST"]).replace("postgresql", "mysql"))',
                    'url = os.getenv("DATABASE_URL", "sqlite:///app.db")',
                    'three = create_engine(url, pool_size=1 if url.startswith("sqlite") else 20)',
                    f"four = create_engine(f\"postgresql+asyncpg://{{os.environ['U']}}@db/app\"{chain})",
                    "HOST = socket.gethostname()",
                    parts,
                    'five = create_engine(f"postgresql+asyncpg://{P0}:{P1}@{P2}/{P3}?a={P4}&b={P5}&c={P6}&d={P7}&e={P8}")',
                ]
            ),
        },
        monkeypatch,
    )
    one, plus, three, four, five = (at(report, f"app.py:{n}") for n in (8, 9, 11, 12, 23))
    assert (one.settings["url"].value, one.settings["url"].env, one.driver) == (
        "postgresql+psycopg://app@db/app",
        "DATABASE_URL",
        "psycopg",
    )
    assert plus.driver is None  # (mysql now: not the psycopg2 a bare postgresql:// names)
    size = three.settings["pool_size"]
    assert (size.value, size.env, sorted(b.value for b in size.branches)) == (1, "DATABASE_URL", [1, 20])
    assert four.driver == "asyncpg"
    assert five.driver == "asyncpg"


def test_a_task_a_decorator_registers_stays_the_apps_pool_when_tests_call_it(tmp_path, monkeypatch) -> None:
    # Celery runs the task by its registered name: the tests calling it directly do not make it theirs alone
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/tasks.py": """
            from celery import Celery
            from sqlalchemy import create_engine

            celery = Celery("app")


            @celery.task
            def rebuild():
                engine = create_engine("postgresql+psycopg2://app@db/app", pool_size=2)
                engine.dispose()
            """,
            "tests/__init__.py": "",
            "tests/test_tasks.py": """
            from app.tasks import rebuild


            def test_rebuild():
                rebuild()
            """,
        },
        monkeypatch,
    )
    assert [(p.where, p.aside) for p in report.pools if not p.aside] == [("app/tasks.py:9", None)]


def test_a_factory_that_binds_only_when_not_testing_makes_no_test_pool(tmp_path, monkeypatch) -> None:
    report = scan(
        tmp_path,
        {
            "app/__init__.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()


            def create_app(testing=False):
                app = Flask(__name__)
                app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://app@db/app"
                if not testing:
                    db.init_app(app)
                return app
            """,
            "run.py": "from app import create_app\n\napp = create_app()\n",
            "tests/conftest.py": "from app import create_app\n\n\ndef app():\n    return create_app(testing=True)\n",
        },
        monkeypatch,
    )
    assert [p.aside for p in report.pools] == [None]


def test_a_map_of_import_strings_a_variable_picks_from_is_one_engine_with_a_branch_each(tmp_path, monkeypatch) -> None:
    # WizFood: `app.config.from_object(ENV_TO_CONFIG[env])`, the map's values "app.configs.dev.DevConfig"... (was:
    # the default's engine, and each other config class an engine of its own: 3 false pools)
    files = {
        "app/configs/__init__.py": "",
        "app/__init__.py": """
        import os

        from flask import Flask
        from flask_sqlalchemy import SQLAlchemy

        db = SQLAlchemy()
        ENV_TO_CONFIG = {"dev": "app.configs.dev.DevConfig", "prod": "app.configs.prod.ProdConfig"}


        def create_app(env):
            app = Flask(__name__)
            app.config.from_object(ENV_TO_CONFIG[env])
            db.init_app(app)
            return app


        app = create_app(os.environ.get("ENV", "dev"))
        """,
    }
    for name, size in (("dev", 3), ("prod", 20)):
        files[f"app/configs/{name}.py"] = (
            f"class {name.title()}Config:\n"
            f'    SQLALCHEMY_DATABASE_URI = "postgresql://{name}@db/{name}"\n'
            f'    SQLALCHEMY_ENGINE_OPTIONS = {{"pool_size": {size}}}\n'
        )
    report = scan(tmp_path, files, monkeypatch)
    (pool,) = report.pools
    size = pool.settings["pool_size"]
    assert (pool.where, size.value, sorted(b.value for b in size.branches)) == ("app/__init__.py:13", 3, [3, 20])
