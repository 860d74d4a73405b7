"""`scan_path` following values the way real projects spread them (issue 29), continued from
test_scan_follow_round12.py. Each project is a few small files written here (never a copy of a real one); line
numbers in the assertions are the fixtures' own."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_scan import at, scan


def test_a_flask_apps_own_config_read_by_the_app_is_what_its_loaders_put_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # elections: `APP.config.from_object("pkg.default_config")`, then `create_session(APP.config["DB_URL"])`, a
    # wrapper around create_engine. The key is the module's; a file named by a variable may set any key, so
    # under that test it is unknown. A key nothing loads is unknown, not missing (a function the app is handed
    # to may set it), and `.get(key, default)` of it is no default either.
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/default_config.py": 'DB_URL = "postgresql://elections@db/elections"\n',
            "app/models.py": """
            import sqlalchemy as sa


            def create_session(db_url, pool_size=5):
                return sa.create_engine(db_url, pool_size=pool_size)
            """,
            "app/main.py": """
            import os

            import flask

            from app import models

            APP = flask.Flask(__name__)
            APP.config.from_object("app.default_config")
            if "ELECTIONS_CONFIG" in os.environ:
                APP.config.from_envvar("ELECTIONS_CONFIG")
            APP.config["POOL"] = 7

            SESSION = models.create_session(APP.config["DB_URL"], APP.config["POOL"])
            OTHER = models.create_session(APP.config.get("OTHER_URL", "sqlite://"), 2)
            """,
        },
        monkeypatch,
    )
    url = at(report, "app/main.py:13").settings["url"]
    assert url.value == "postgresql://elections@db/elections" and url.branches
    by_test = {branch.when: branch for branch in url.branches}
    unset = by_test['not ("ELECTIONS_CONFIG" in os.environ)']
    assert unset.known and unset.value == "postgresql://elections@db/elections"
    assert unset.from_.endswith("app/default_config.py:1")
    assert not by_test['"ELECTIONS_CONFIG" in os.environ'].known
    assert at(report, "app/main.py:13").settings["pool_size"].value == 7
    other = at(report, "app/main.py:14").settings["url"]
    assert not other.known and other.value != "sqlite://"


def test_a_class_method_with_no_parameters_that_keeps_nothing_is_a_pool_at_each_caller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # student-manage-api: `@classmethod async def open_pool(cls): cls._pool = await asyncpg.create_pool(...)`,
    # called by the API's lifespan and by a worker thread: nothing tests `_pool` before making another, so each
    # call opens one. Where something does test it (`if Reports._pool is None:`), the callers share one.
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/pg.py": """
            import asyncpg


            class PgDB:
                _pool = None

                @classmethod
                async def open_pool(cls):
                    cls._pool = await asyncpg.create_pool(host="db", min_size=5, max_size=20)
                    return cls._pool

                @classmethod
                async def close_pool(cls):
                    await cls._pool.close()


            class Reports:
                _pool = None

                @staticmethod
                async def open_pool():
                    Reports._pool = await asyncpg.create_pool(host="reports", max_size=3)


            async def reports():
                if Reports._pool is None:
                    await Reports.open_pool()
                return Reports._pool
            """,
            "app/main.py": """
            from app.pg import PgDB, Reports


            async def lifespan(app):
                await PgDB.open_pool()
                await Reports.open_pool()
                yield


            async def worker():
                await PgDB.open_pool()
                await Reports.open_pool()
            """,
        },
        monkeypatch,
    )
    assert sorted(p.where for p in report.pools) == ["app/main.py:11", "app/main.py:5", "app/pg.py:22"]
    assert at(report, "app/main.py:11").settings["max_size"].value == 20


def test_a_config_class_chosen_from_a_map_by_a_variable_is_one_engine_with_a_branch_per_class(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # notification-api: `from_object(configs[os.getenv("APP_ENV", "development")])`. The app makes one engine,
    # its values each class's under its key's test (the default's with no variable set); the base class no key
    # names, and a script's settings class no app can load, are no engines of their own.
    (tmp_path / "requirements.txt").write_text("Flask-SQLAlchemy==2.5.1\n")  # (2.x reads SQLALCHEMY_POOL_*)
    report = scan(
        tmp_path,
        {
            "app/__init__.py": """
            import os
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()


            def create_app(application):
                from app.config import configs

                env_name = os.getenv("APP_ENV", "development")
                application.config.from_object(configs[env_name])
                db.init_app(application)
                return application


            app = create_app(Flask(__name__))
            """,
            "app/config.py": """
            import os


            class Config:
                SQLALCHEMY_DATABASE_URI = os.getenv("DATABASE_URL")
                SQLALCHEMY_POOL_SIZE = 5


            class Development(Config):
                SQLALCHEMY_DATABASE_URI = os.getenv("DATABASE_URL", "postgresql://app@localhost/app")


            class Production(Config):
                SQLALCHEMY_POOL_SIZE = 20


            configs = {"development": Development, "production": Production}
            """,
            "tools/sim_config.py": """
            import os


            class Config:
                SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", "")
            """,
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["app/__init__.py:13"]
    size = report.pools[0].settings["pool_size"]
    assert size.value == 5
    assert {(b.when, b.value) for b in size.branches} == {
        ("env_name == 'development'", 5),
        ("env_name == 'production'", 20),
    }
    url = report.pools[0].settings["url"]
    assert (url.value, url.env) == ("postgresql://app@localhost/app", "DATABASE_URL")


def test_a_tests_py_is_a_test_module_so_its_config_class_moves_no_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # microblog: `create_app(config_class=Config)`, called by the app with no argument and by tests.py (a test
    # module, as Django's app/tests.py is) with its TestConfig: the app's engine stays at its bind, Config's.
    report = scan(
        tmp_path,
        {
            "app/__init__.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            from config import Config

            db = SQLAlchemy()


            def create_app(config_class=Config):
                app = Flask(__name__)
                app.config.from_object(config_class)
                db.init_app(app)
                return app
            """,
            "config.py": """
            import os


            class Config:
                SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or "postgresql://blog@db/blog"
            """,
            "main.py": "from app import create_app\n\napp = create_app()\n",
            "tests.py": """
            from app import create_app
            from config import Config


            class TestConfig(Config):
                SQLALCHEMY_DATABASE_URI = "sqlite://"


            def setup():
                return create_app(TestConfig)
            """,
        },
        monkeypatch,
    )
    assert [(p.where, p.aside) for p in report.pools] == [("app/__init__.py:12", None), ("tests.py:10", "tests")]
    url = report.pools[0].settings["url"]
    assert (url.value, url.env) == ("postgresql://blog@db/blog", "DATABASE_URL")
    assert report.pools[1].settings["url"].value == "sqlite://"  # (the test's app: its TestConfig, apart)


def test_a_method_keeping_the_object_that_makes_its_engine_is_one_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # LinOTP: `connect()` returns `self.db_obj` once it has one, else makes a DbObject and calls its connect(url),
    # which makes the engine: every method asking for it shares one pool, made at that call.
    report = scan(
        tmp_path,
        {
            "resolver.py": """
            from sqlalchemy import create_engine


            class DbObject:
                def connect(self, url):
                    self.engine = create_engine(url, pool_timeout=30)


            class IdResolver:
                def __init__(self, url):
                    self.url = url
                    self.db_obj = None

                def connect(self):
                    if self.db_obj is not None:
                        return self.db_obj
                    self.db_obj = DbObject()
                    self.db_obj.connect(self.url)
                    return self.db_obj

                def get_user(self, uid):
                    return self.connect().engine

                def get_users(self):
                    return self.connect().engine
            """,
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["resolver.py:18"]
    assert report.pools[0].settings["pool_timeout"].value == 30


def test_a_settings_package_star_importing_an_override_under_a_test_makes_no_second_alias(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # junction: settings/__init__.py star-imports .common (DATABASES), then `if "DYNO" in os.environ:` .heroku,
    # which sets DATABASES again: heroku's is an override of the package's one database, not a second alias.
    report = scan(
        tmp_path,
        {
            "settings/__init__.py": """
            import os

            from .common import *  # noqa

            if "DYNO" in os.environ:
                from .heroku import *  # noqa
            """,
            "settings/common.py": """
            import os

            DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": os.environ.get("DB", "app")}}
            """,
            "settings/heroku.py": """
            import dj_database_url

            DATABASES = {"default": dj_database_url.config()}
            """,
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["settings/common.py:3"]


def test_a_setup_function_reads_the_config_its_caller_loaded_into_the_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # LinOTP: create_app() loads `configs[name]` into the app, then setup_db(app) copies the app's own DATABASE_URI
    # to Flask-SQLAlchemy's key and, under a test of another key, writes an auditdb bind: both read what the
    # caller loaded, not an unknown app.
    report = scan(
        tmp_path,
        {
            "otp/__init__.py": "",
            "otp/settings.py": """
            class Config:
                DATABASE_URI = "postgresql://otp@localhost/otp"
                AUDIT_DATABASE_URI = "SHARED"


            configs = {"default": Config}
            """,
            "otp/model.py": """
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()


            def setup_db(app):
                app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URI"]
                audit = app.config["AUDIT_DATABASE_URI"]
                if audit == "SHARED":
                    audit = app.config["DATABASE_URI"]
                if audit != "OFF":
                    app.config["SQLALCHEMY_BINDS"] = {"auditdb": audit}
                db.init_app(app)
            """,
            "otp/app.py": """
            import os

            from flask import Flask

            from otp.model import setup_db
            from otp.settings import configs


            def create_app():
                app = Flask(__name__)
                app.config.from_object(configs[os.getenv("OTP_CONFIG", "default")])
                setup_db(app)
                return app
            """,
            "wsgi.py": "from otp.app import create_app\n\napplication = create_app()\n",
        },
        monkeypatch,
    )
    urls = {p.call: p.settings["url"].value for p in report.pools}
    assert urls == {
        "app.config": "postgresql://otp@localhost/otp",
        "SQLALCHEMY_BINDS['auditdb']": "postgresql://otp@localhost/otp",
    }


def test_binds_a_config_class_sets_only_under_a_test_are_pools_under_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # notification-api: `if SQLALCHEMY_DATABASE_READER_URI: SQLALCHEMY_BINDS = {"writer": ..., "reader": ...}` in
    # the config class: where the variable is set the app has two more engines, each a pool under that test.
    report = scan(
        tmp_path,
        {
            "app/__init__.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            from app.config import Config

            db = SQLAlchemy()
            app = Flask(__name__)
            app.config.from_object(Config)
            db.init_app(app)
            """,
            "app/config.py": """
            import os


            class Config:
                SQLALCHEMY_DATABASE_URI = os.getenv("DATABASE_URI", "postgresql://app@db/app")
                READER_URI = os.getenv("READER_URI")
                if READER_URI:
                    SQLALCHEMY_BINDS = {"writer": SQLALCHEMY_DATABASE_URI, "reader": READER_URI}
            """,
        },
        monkeypatch,
    )
    by_call = {p.call: p for p in report.pools}
    assert set(by_call) == {"app.config", "SQLALCHEMY_BINDS['writer']", "SQLALCHEMY_BINDS['reader']"}
    assert by_call["app.config"].condition is None
    writer, reader = by_call["SQLALCHEMY_BINDS['writer']"], by_call["SQLALCHEMY_BINDS['reader']"]
    assert writer.condition == reader.condition == "READER_URI"
    assert writer.settings["url"].value == "postgresql://app@db/app"
    assert reader.settings["url"].env == "READER_URI" and not reader.settings["url"].known


def test_a_password_the_code_leaves_unset_on_a_branch_says_not_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a4-meinberlin: DATABASES with no PASSWORD, replaced under `if os.getenv("DATABASE") == "postgresql":` by one
    # with "PASSWORD": "": the branch with no password is "not set", as USER's is, not a masked unknown.
    report = scan(
        tmp_path,
        {
            "settings.py": """
            import os

            DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}}
            if os.getenv("DATABASE") == "postgresql":
                DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "USER": "app", "PASSWORD": ""}}
            """,
        },
        monkeypatch,
    )
    password, user = report.pools[0].settings["PASSWORD"], report.pools[0].settings["USER"]
    unset = [b for b in password.branches if not b.known]
    assert [b.expr for b in unset] == [b.expr for b in user.branches if not b.known] == ["(not set)"]


def test_a_field_validator_building_the_url_from_a_dict_of_parts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # translator_space_backend: `@field_validator("DB_URL", mode="before") def build(cls, v, values)`: pydantic 2
    # hands a ValidationInfo whatever the parameter's name; the parts go to `PostgresDsn.build(**options)`.
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/settings.py": """
            from typing import Any

            from pydantic import Field, PostgresDsn, field_validator
            from pydantic_settings import BaseSettings


            class AppSettings(BaseSettings):
                DB_HOST: str = Field("db.local")
                DB_USER: str = Field("svc")
                DB_NAME: str = Field("maindb")
                DB_URL: PostgresDsn | None = None

                @field_validator("DB_URL", mode="before")
                def build_url(cls, v: str | None, values) -> Any:
                    if isinstance(v, str):
                        return v
                    options = {
                        "scheme": "postgresql+asyncpg",
                        "username": values.data.get("DB_USER"),
                        "host": values.data.get("DB_HOST"),
                        "path": f'{values.data.get("DB_NAME") or ""}',
                    }
                    return PostgresDsn.build(**options)


            settings = AppSettings()
            """,
            "app/engine.py": """
            from sqlalchemy.ext.asyncio import create_async_engine

            from app.settings import settings

            engine = create_async_engine(url=settings.DB_URL.unicode_string(), pool_size=10)
            """,
        },
        monkeypatch,
    )
    url = report.pools[0].settings["url"]
    assert (url.value, url.env) == ("postgresql+asyncpg://svc@db.local/maindb", "DB_URL")


@pytest.mark.parametrize(
    "uri, expected",
    [('"postgresql://app@localhost/app"', ("postgresql://app@localhost/app", None)), ('os.getenv("DB")', (None, "DB"))],
)
def test_a_migration_reads_the_running_apps_url_through_current_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, uri: str, expected: tuple[str | None, str | None]
) -> None:
    # microblog, notification-api: Flask-Migrate's env.py sets sqlalchemy.url from
    # `current_app.config.get("SQLALCHEMY_DATABASE_URI")`: `flask db upgrade` runs it in the project's one app.
    report = scan(
        tmp_path,
        {
            "app/__init__.py": f"""
            import os

            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()


            def create_app():
                app = Flask(__name__)
                app.config["SQLALCHEMY_DATABASE_URI"] = {uri}
                db.init_app(app)
                return app
            """,
            "wsgi.py": "from app import create_app\n\napp = create_app()\n",
            "migrations/env.py": """
            from alembic import context
            from flask import current_app
            from sqlalchemy import engine_from_config, pool

            config = context.config
            config.set_main_option("sqlalchemy.url", current_app.config.get("SQLALCHEMY_DATABASE_URI"))
            connectable = engine_from_config(
                config.get_section(config.config_ini_section), prefix="sqlalchemy.", poolclass=pool.NullPool
            )
            """,
        },
        monkeypatch,
    )
    # (a variable with no default: no URL, the app does not start; the variable's, unknown, never None)
    url = at(report, "migrations/env.py:7").settings["url"]
    assert (url.value, url.env) == expected and url.known == (expected[0] is not None)


def test_an_engine_configured_by_several_helpers_is_one_engine_at_its_bind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # spiff-arena: setup_config(app) calls `load_config_file(app, name)` twice (a from_object of its parameter)
    # and then sets the engine's keys; each helper configuring the app is the same engine at the one bind.
    report = scan(
        tmp_path,
        {
            "wf/__init__.py": """
            import flask

            from wf.config import setup_config
            from wf.db import db


            def create_app():
                app = flask.Flask(__name__)
                setup_config(app)
                db.init_app(app)
                return app
            """,
            "wf/db.py": "from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n",
            "wf/config/__init__.py": """
            import os


            def load_config_file(app, module_name):
                try:
                    app.config.from_object(module_name)
                except ImportError:
                    pass


            def setup_database_configs(app):
                app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://wf@localhost/wf"
                app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": 5}


            def setup_config(app):
                app.config["ENV"] = os.environ.get("WF_ENV", "local")
                load_config_file(app, "wf.config.default")
                load_config_file(app, "wf.config." + app.config["ENV"])
                setup_database_configs(app)
            """,
            "wf/config/default.py": 'WF_LOG_LEVEL = "info"\n',
            "wf/config/local.py": 'WF_LOG_LEVEL = "debug"\n',
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["wf/__init__.py:10"]
    assert report.pools[0].settings["pool_size"].value == 5


@pytest.mark.parametrize(
    "handler, known",
    [('print("no local settings")', True), ("raise SystemExit(1)", False), ("sys.exit(1)", False), ("die()", False)],
)
def test_defaults_of_a_settings_file_outside_the_tree_the_code_runs_on_without(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, handler: str, known: bool
) -> None:
    # tournesol: `try: open("/etc/...yaml") ... except FileNotFoundError: print(...)`, then
    # `server_settings.get("DATABASE_NAME", "app")`: with no such file the code runs on its defaults, as a
    # configparser fallback is the value; a handler that stops the app makes the file's values unknown.
    report = scan(
        tmp_path,
        {
            "settings.py": f"""
            import os

            import yaml

            server_settings = {{}}
            SETTINGS_FILE = os.getenv("SETTINGS_FILE", "/etc/app/settings.yaml")


            def die():
                sys.exit(1)


            try:
                with open(SETTINGS_FILE) as f:
                    server_settings = yaml.full_load(f)
            except FileNotFoundError:
                {handler}

            DATABASES = {{
                "default": {{
                    "ENGINE": "django.db.backends.postgresql",
                    "NAME": server_settings.get("DATABASE_NAME", "app"),
                }}
            }}
            """,
        },
        monkeypatch,
    )
    name = report.pools[0].settings["NAME"]
    assert (name.known, name.value) == ((True, "app") if known else (False, None))


def test_a_databases_fragment_a_settings_module_takes_in_is_no_alias_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # wrdoc-backend: common/databases.py holds DATABASES alone; common/__init__.py star-imports it, and the
    # settings module star-imports common and updates DATABASES["default"]: one alias, the settings module's.
    report = scan(
        tmp_path,
        {
            "config/__init__.py": "",
            "config/settings/__init__.py": "",
            "config/settings/common/__init__.py": "from .databases import *  # noqa\n",
            "config/settings/common/databases.py": """
            DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "CONN_MAX_AGE": 600}}
            """,
            "config/settings/config.py": """
            import os

            from .common import *  # noqa

            INSTALLED_APPS = ["app"]
            DATABASES["default"].update(NAME=os.getenv("DB_NAME", "app"), HOST=os.getenv("DB_HOST", "db"))
            """,
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["config/settings/config.py:6"]
    assert report.pools[0].settings["CONN_MAX_AGE"].value == 600


def test_a_method_remaking_the_instances_pool_only_when_it_has_none_adds_no_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # rag-api: `ensure_connection()` calls `self.connect()` only when `self.pool is None`, and connect() sets
    # self.pool: the instance's one pool, which main's `db.connect()` makes.
    report = scan(
        tmp_path,
        {
            "db.py": """
            import asyncpg


            class DataBase:
                def __init__(self, host):
                    self.host = host
                    self.pool = None

                async def connect(self):
                    self.pool = await asyncpg.create_pool(host=self.host, max_size=4)

                async def ensure_connection(self):
                    if self.pool is None:
                        await self.connect()

                async def query(self, sql):
                    await self.ensure_connection()
                    return await self.pool.fetch(sql)
            """,
            "main.py": """
            from db import DataBase


            async def main():
                db = DataBase("postgres")
                await db.connect()
                await db.query("select 1")
            """,
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["main.py:6"]
    assert report.pools[0].settings["host"].value == "postgres"


def test_an_app_configured_at_a_modules_top_and_bound_in_another_is_one_engine_at_the_bind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # qairon: base.py makes `app` and writes its keys (one of them from the module's own SQLALCHEMY_ENGINE_OPTIONS
    # global, which no load reads: no config module); db.py `from base import app; db = SQLAlchemy(app)`.
    report = scan(
        tmp_path,
        {
            "base.py": """
            import os

            from flask import Flask

            SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 32, "pool_recycle": 4}

            app = Flask(__name__)
            app.config["SQLALCHEMY_DATABASE_URI"] = os.getenv("DATABASE_URL", "postgresql://q@db/q")
            app.config["SQLALCHEMY_ENGINE_OPTIONS"] = SQLALCHEMY_ENGINE_OPTIONS
            """,
            "db.py": "from flask_sqlalchemy import SQLAlchemy\n\nfrom base import app\n\ndb = SQLAlchemy(app)\n",
            "conftest.py": "from flask_sqlalchemy import SQLAlchemy\n\nfrom base import app\n\ndb = SQLAlchemy(app)\n",
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools if p.file != "conftest.py"] == ["db.py:5"]
    assert {k: v.value for k, v in report.pools[0].settings.items()} == {
        "url": "postgresql://q@db/q",
        "pool_size": 32,
        "pool_recycle": 4,
    }


def test_a_global_the_module_starts_with_a_value_is_no_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # (review) `global DB_URL; if not DB_URL: DB_URL = "sqlite:///fallback.db"` where the module starts DB_URL from
    # a variable with a default: the fallback is not the value with no variable set.
    report = scan(
        tmp_path,
        {
            "main.py": """
            import os

            from sqlalchemy import create_engine

            DB_URL = os.getenv("DB_URL", "postgresql://u@db/app")


            def engine():
                global DB_URL
                if not DB_URL:
                    DB_URL = "sqlite:///fallback.db"
                return create_engine(DB_URL)
            """,
        },
        monkeypatch,
    )
    assert report.pools[0].settings["url"].value != "sqlite:///fallback.db"


def test_a_config_a_getter_caches_in_a_global_is_the_one_it_makes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # etl_fulfil: `global _config; if _config is None: _config = Config(); return _config`: every call hands back
    # what the first made, so the values are that Config's, not a branch per side of the cache's test.
    report = scan(
        tmp_path,
        {
            "svc/__init__.py": "",
            "svc/config.py": """
            import os


            class Config:
                def __init__(self):
                    self.db_pool_size = int(os.getenv("DB_POOL_SIZE", "20"))


            _config = None


            def get_config():
                global _config
                if _config is None:
                    _config = Config()
                return _config
            """,
            "svc/database.py": """
            from sqlalchemy import create_engine

            from .config import get_config

            engine = create_engine("postgresql://app@db/app", pool_size=get_config().db_pool_size)
            """,
        },
        monkeypatch,
    )
    size = report.pools[0].settings["pool_size"]
    assert (size.value, size.env, size.branches) == (20, "DB_POOL_SIZE", ())


def test_an_ini_files_here_is_its_own_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # pemrograman: PasteDeploy gives every section `here` (the file's folder): `sqlite:///%(here)s/shop.sqlite`
    # is a URL in the tree's own folder; any other `%(name)s` stays unknown.
    report = scan(
        tmp_path,
        {
            "setup.py": """
            from setuptools import setup

            setup(name="shop", entry_points={"paste.app_factory": ["main = shop:main"]})
            """,
            "shop/__init__.py": """
            from sqlalchemy import engine_from_config


            def main(global_config, **settings):
                engine = engine_from_config(settings, "sqlalchemy.")
                return engine
            """,
            "production.ini": """
            [app:main]
            use = egg:shop
            sqlalchemy.url = sqlite:///%(here)s/shop.sqlite
            sqlalchemy.pool_recycle = %(recycle)s
            """,
        },
        monkeypatch,
    )
    settings = report.pools[0].settings
    assert settings["url"].value == f"sqlite:///{tmp_path}/shop.sqlite"
    assert not settings["pool_recycle"].known


def test_a_name_is_imported_from_its_own_trees_package_not_a_sibling_apps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Py4Web: apps side by side; b/migrations/env.py's `from src.config import config` is b/src/config.py (a
    # namespace package), not the attribute `config` that a/src/__init__.py, another app's package, imports.
    report = scan(
        tmp_path,
        {
            "a/src/__init__.py": "from config import config\n",
            "a/config/config.py": "class Config:\n    pass\n",
            "b/alembic.ini": "[alembic]\nscript_location = migrations\n",
            "b/src/config.py": 'config = {"url": "postgresql://app@localhost/shop"}\n',
            "b/migrations/env.py": """
            from alembic import context
            from sqlalchemy import engine_from_config, pool

            from src.config import config as our_config

            config = context.config
            config.set_main_option("sqlalchemy.url", our_config["url"])
            engine = engine_from_config(config.get_section(config.config_ini_section), prefix="sqlalchemy.",
                                        poolclass=pool.NullPool)
            """,
        },
        monkeypatch,
    )
    assert report.pools[0].settings["url"].value == "postgresql://app@localhost/shop"


def test_litestar_asyncpgs_config_is_named_as_a_pool_the_library_makes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # litestar-asyncpg: `AsyncpgConfig(pool_config=PoolConfig(...))` handed to AsyncpgPlugin; the library calls
    # asyncpg.create_pool at the app's start. Given a pool_instance, the app's own pool is used.
    report = scan(
        tmp_path,
        {
            "app.py": """
            import asyncpg
            from litestar_asyncpg import AsyncpgConfig, PoolConfig

            config = AsyncpgConfig(pool_config=PoolConfig(dsn="postgresql://app@db/app", max_size=16))
            other = AsyncpgConfig(pool_instance=None)
            given = AsyncpgConfig(pool_instance=make_pool())
            """,
        },
        monkeypatch,
    )
    assert report.pools == []
    made = [w for w in report.warnings if "litestar_asyncpg" in w]
    assert [w.split(":")[0:2] for w in made] == [["app.py", "4"], ["app.py", "5"]]


def test_a_settings_file_with_a_dotted_name_imports_from_its_own_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # wrdoc-backend: config/settings/local.template.py (copied to local.py at set-up) does `from .common import *`:
    # its package is config.settings, the folder it is in, not config.settings.local.
    report = scan(
        tmp_path,
        {
            "config/__init__.py": "",
            "config/settings/__init__.py": "",
            "config/settings/common.py": """
            INSTALLED_APPS = ["app"]
            DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "CONN_MAX_AGE": 600}}
            """,
            "config/settings/local.template.py": """
            from .common import *  # noqa

            DATABASES["default"].update(NAME="shop-dev", CONN_MAX_AGE=0)
            """,
        },
        monkeypatch,
    )
    local = at(report, "config/settings/local.template.py:3")
    assert {k: v.value for k, v in local.settings.items()} == {
        "ENGINE": "django.db.backends.postgresql",
        "CONN_MAX_AGE": 0,
        "NAME": "shop-dev",
    }


def test_a_file_using_async_as_a_keyword_argument_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # lys-reader: psycopg2's `ThreadedConnectionPool(..., async=False)`, from before `async` was a keyword (3.7):
    # read as psycopg2's later name for it, so the file's pools are not lost.
    report = scan(
        tmp_path,
        {
            "database.py": """
            from psycopg2.pool import ThreadedConnectionPool

            pool = ThreadedConnectionPool(1, 10, "postgresql://reader@localhost/reader?async=1", async=False)
            """,
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["database.py:3"]
    assert report.pools[0].settings["maxconn"].value == 10 and not report.warnings
    assert report.pools[0].settings["dsn"].value == "postgresql://reader@localhost/reader?async=1"  # (a string's)


@pytest.mark.parametrize("host", ['Path("./data/").resolve()', 'os.path.abspath("data")'])
def test_a_path_made_absolute_from_the_working_directory_is_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host: str
) -> None:
    # EvaP: `"HOST": Path("./data/").resolve()`, a unix socket folder under wherever the app runs: never the
    # relative text 'data', which Django would take for a host name.
    report = scan(
        tmp_path,
        {
            "settings.py": f"""
            import os
            from pathlib import Path

            DATABASES = {{"default": {{"ENGINE": "django.db.backends.postgresql", "NAME": "evap", "HOST": {host}}}}}
            """,
        },
        monkeypatch,
    )
    assert not report.pools[0].settings["HOST"].known


@pytest.mark.parametrize("maker, engines", [("Babel", 0), ("SQLAlchemy", 1)])
def test_a_helper_modules_init_app_binds_the_extension_only_if_what_it_binds_may_be(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, maker: str, engines: int
) -> None:
    # critiquebrainz: `from cbapp import babel; babel.init_app(app)`, a project module whose init_app makes a
    # Babel and binds it: no Flask-SQLAlchemy engine (its own create_engine is the app's pool). A helper that
    # makes the extension itself does bind it.
    report = scan(
        tmp_path,
        {
            "cbapp/__init__.py": """
            from flask import Flask


            def create_app():
                app = Flask(__name__)
                app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://cb@db/cb"
                from cbapp import helper
                helper.init_app(app)
                return app
            """,
            "cbapp/helper.py": f"""
            from flask_babel import Babel
            from flask_sqlalchemy import SQLAlchemy


            def init_app(app):
                ext = {maker}()
                ext.init_app(app)
            """,
            "wsgi.py": "from cbapp import create_app\n\napplication = create_app()\n",
        },
        monkeypatch,
    )
    assert len([p for p in report.pools if p.stack == "flask_sqlalchemy"]) == engines


def test_a_local_settings_import_under_suppress_is_optional(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # byro: `with suppress(ImportError): from .local_settings import *`, a file the tree lacks: absent, as the
    # `try: ... except ImportError: pass` form is, so the settings before it stand.
    report = scan(
        tmp_path,
        {
            "byro/__init__.py": "",
            "byro/settings.py": """
            from contextlib import suppress

            DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "byro", "CONN_MAX_AGE": 120}}

            with suppress(ImportError):
                from .local_settings import *  # noqa
            """,
        },
        monkeypatch,
    )
    assert report.pools[0].settings["CONN_MAX_AGE"].value == 120


def test_a_helper_that_sets_a_non_engine_key_and_binds_binds_the_factorys_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # freight: create_app() writes the pool keys, then configure_sqlalchemy(app) sets
    # SQLALCHEMY_TRACK_MODIFICATIONS and calls db.init_app(app): the factory's engine, bound in the helper.
    (tmp_path / "requirements.txt").write_text("Flask-SQLAlchemy==2.5.1\n")  # (2.x reads SQLALCHEMY_POOL_*)
    report = scan(
        tmp_path,
        {
            "fr/__init__.py": "",
            "fr/config.py": """
            import flask
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()


            def create_app():
                app = flask.Flask(__name__)
                app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql:///freight"
                app.config["SQLALCHEMY_POOL_SIZE"] = 5
                configure_sqlalchemy(app)
                return app


            def configure_sqlalchemy(app):
                app.config["SQLALCHEMY_TRACK_MODIFICATIONS"] = False
                db.init_app(app)
            """,
            "fr/app.py": "from fr.config import create_app\n\napp = create_app()\n",
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["fr/config.py:17"]
    settings = report.pools[0].settings
    assert (settings["url"].value, settings["pool_size"].value) == ("postgresql:///freight", 5)


def test_a_factory_loading_the_config_it_is_given_is_a_wrapper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # conbench: `create_application(config)` loads `app.config.from_object(config)` and hands
    # app.config["SQLALCHEMY_DATABASE_URI"] to its own create_engine; the module calls it with a settings instance:
    # the pool is at that call, with that instance's URL.
    report = scan(
        tmp_path,
        {
            "cb/__init__.py": """
            import flask
            from sqlalchemy import create_engine

            from .config import Config


            def create_application(config):
                app = flask.Flask(__name__)
                app.config.from_object(config)
                app.engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], pool_pre_ping=True)
                return app


            application = create_application(Config)
            """,
            "cb/config.py": """
            import os


            class ConfigClass:
                DB_NAME = os.environ.get("DB_NAME", "cb_prod")
                SQLALCHEMY_DATABASE_URI = f"postgresql://app@localhost:5432/{DB_NAME}"


            Config = ConfigClass()
            """,
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["cb/__init__.py:14"]
    assert report.pools[0].settings["url"].value == "postgresql://app@localhost:5432/cb_prod"


def test_an_update_from_a_dict_of_keys_read_at_run_time_may_change_any_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # squad: with DATABASE set, `key=value` pairs from it go into a dict that then updates DATABASES["default"]:
    # each key may be one of them, so ENGINE keeps sqlite only where the variable does not set it.
    report = scan(
        tmp_path,
        {
            "settings.py": """
            import os

            DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}}
            database_config = os.getenv("DATABASE")
            if database_config:
                db_from_env = dict()
                for item in database_config.split(":"):
                    key, value = item.split("=", 1)
                    db_from_env[key] = value
                DATABASES["default"].update(db_from_env)
            """,
        },
        monkeypatch,
    )
    engine = report.pools[0].settings["ENGINE"]
    assert (engine.value, engine.env) == ("django.db.backends.sqlite3", "DATABASE")
    assert [b.known for b in engine.branches] == [True, False]


def test_a_config_module_in_the_tests_makes_no_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # freight: tests/config.py holds the test run's SQLALCHEMY_DATABASE_URI, which a fixture loads by a variable
    # the scan cannot follow: a test's configuration, no engine of the app's.
    report = scan(
        tmp_path,
        {
            "app/__init__.py": """
            import os

            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()
            app = Flask(__name__)
            app.config.from_envvar("APP_CONFIG")
            db.init_app(app)
            """,
            "tests/config.py": 'SQLALCHEMY_DATABASE_URI = "postgresql:///test_app"\n',
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["app/__init__.py:9"]


@pytest.mark.parametrize("opened", ['Path("settings.json").resolve()', 'os.path.abspath("settings.json")'])
def test_a_file_named_from_the_working_directory_is_still_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, opened: str
) -> None:
    # the path's text is the working directory's, unknown; the file it names is looked for as a relative one is
    report = scan(
        tmp_path,
        {
            "settings.json": '{"url": "postgresql://u@db/app", "size": 15}',
            "main.py": f"""
            import json
            import os
            from pathlib import Path

            from sqlalchemy import create_engine

            SETTINGS = json.load(open({opened}))
            engine = create_engine(SETTINGS["url"], pool_size=SETTINGS["size"])
            """,
        },
        monkeypatch,
    )
    assert report.pools[0].settings["pool_size"].value == 15


@pytest.mark.parametrize(
    "db, caller",
    [
        (
            "class DB:\n    pool = None\n\n    @classmethod\n    async def connect(cls):\n"
            "        cls.pool = await asyncpg.create_pool(host='db', max_size=10)\n",
            "from db import DB\n\n\nasync def a():\n    if DB.pool is None:\n        await DB.connect()\n\n\n"
            "async def b():\n    if DB.pool is None:\n        await DB.connect()\n",
        ),
        (
            "class DB:\n    @classmethod\n    async def connect(cls):\n"
            "        if getattr(cls, '_pool', None) is None:\n"
            "            cls._pool = await asyncpg.create_pool(host='db', max_size=10)\n",
            "from db import DB\n\n\nasync def a():\n    await DB.connect()\n\n\nasync def b():\n    await DB.connect()\n",
        ),
        (
            "pool = None\n\n\nasync def init_pool():\n    global pool\n"
            "    pool = await asyncpg.create_pool(host='db', max_size=10)\n",
            "import db\n\n\nasync def a():\n    if db.pool is None:\n        await db.init_pool()\n\n\n"
            "async def b():\n    if db.pool is None:\n        await db.init_pool()\n",
        ),
    ],
    ids=["tested-in-callers", "getattr", "module-global"],
)
def test_a_store_a_caller_tests_keeps_one_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db: str, caller: str
) -> None:
    # (review) a factory's store that the callers test before calling it, in their own module, or through getattr,
    # keeps its pool: one, at its own line, not one per caller
    report = scan(tmp_path, {"db.py": "import asyncpg\n\n" + db, "main.py": caller}, monkeypatch)
    assert [p.file for p in report.pools] == ["db.py"]


def test_a_pool_made_only_where_the_instance_has_none_is_one_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (review) fetch() and execute() each make the instance's pool when it has none, and nothing else connects:
    # the pool is still there, once
    report = scan(
        tmp_path,
        {
            "store.py": """
            import asyncpg


            class Store:
                def __init__(self, dsn):
                    self.dsn = dsn
                    self.pool = None

                async def connect(self):
                    self.pool = await asyncpg.create_pool(self.dsn, max_size=7)

                async def fetch(self, query):
                    if self.pool is None:
                        await self.connect()
                    return await self.pool.fetch(query)

                async def execute(self, query):
                    if self.pool is None:
                        await self.connect()
                    return await self.pool.execute(query)


            store = Store("postgresql://u@db/app")
            """,
        },
        monkeypatch,
    )
    assert len(report.pools) == 1 and report.pools[0].settings["max_size"].value == 7


def test_two_apps_bound_by_one_helper_stay_two_engines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # (review) web and worker each configure their own app and call the same `init_db(app)`: two engines at that
    # bind, one per app, not merged into one
    report = scan(
        tmp_path,
        {
            "extensions.py": """
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()


            def init_db(app):
                db.init_app(app)
            """,
            "web.py": """
            from flask import Flask

            from extensions import init_db


            def create_web():
                app = Flask(__name__)
                app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://u@db/app"
                app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": 5}
                init_db(app)
                return app
            """,
            "worker.py": """
            from flask import Flask

            from extensions import init_db


            def create_worker():
                app = Flask(__name__)
                app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://u@db/app"
                app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": 40}
                init_db(app)
                return app
            """,
        },
        monkeypatch,
    )
    assert sorted(p.settings["pool_size"].value for p in report.pools) == [5, 40]


def test_a_databases_fragment_a_settings_module_runs_on_as_it_is_stays_an_alias(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (review) dev.py star-imports databases.py and leaves DATABASES as it is; prod.py changes it: dev's database
    # is the fragment's, so the fragment stays a pool beside prod's
    report = scan(
        tmp_path,
        {
            "config/__init__.py": "",
            "config/settings/__init__.py": "",
            "config/settings/databases.py": """
            DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "app", "CONN_MAX_AGE": 0}}
            """,
            "config/settings/dev.py": 'from .databases import *  # noqa\n\nINSTALLED_APPS = ["app"]\n',
            "config/settings/prod.py": """
            from .databases import *  # noqa

            INSTALLED_APPS = ["app"]
            DATABASES["default"]["CONN_MAX_AGE"] = 600
            """,
        },
        monkeypatch,
    )
    assert sorted(p.settings["CONN_MAX_AGE"].value for p in report.pools) == [0, 600]


@pytest.mark.parametrize(
    "configure",
    [
        'app.config["POOL"] = 50',
        "app.config.from_object(Prod)",
        "load(app)",
    ],
    ids=["write", "from_object", "handed-on"],
)
def test_an_apps_config_a_helper_changes_is_read_as_the_helper_leaves_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, configure: str
) -> None:
    # (review) `configure(APP)` between the writes and the read changes the app's config: the engine reads 50, not
    # the 5 written before the call (directly, through from_object, or through a helper it hands the app to)
    report = scan(
        tmp_path,
        {
            "main.py": f"""
            import flask
            import sqlalchemy as sa


            class Prod:
                POOL = 50


            def load(app):
                app.config.from_object(Prod)


            def configure(app):
                {configure}


            APP = flask.Flask(__name__)
            APP.config["POOL"] = 5
            configure(APP)
            ENGINE = sa.create_engine("postgresql://u@db/app", pool_size=APP.config["POOL"])
            """,
        },
        monkeypatch,
    )
    assert report.pools[0].settings["pool_size"].value == 50


def test_an_apps_config_updated_from_a_mapping_the_scan_cannot_read_may_hold_any_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (review) `APP.config.update(json.load(open("/etc/app/c.json")))`, a file outside the tree: any key the app
    # had may be the file's now, so the module's POOL is no longer known
    report = scan(
        tmp_path,
        {
            "main.py": """
            import json

            import flask
            import sqlalchemy as sa

            APP = flask.Flask(__name__)
            APP.config["POOL"] = 5
            APP.config.update(json.load(open("/etc/app/c.json")))
            ENGINE = sa.create_engine("postgresql://u@db/app", pool_size=APP.config["POOL"])
            """,
        },
        monkeypatch,
    )
    assert not report.pools[0].settings["pool_size"].known


def test_a_tests_config_bound_by_the_apps_helper_is_no_engine_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # indico: a test fixture sets the test database's URI and calls the app's configure_db(app), which binds: the
    # app's engine made again in a test process, not a second engine of the app's
    report = scan(
        tmp_path,
        {
            "app/__init__.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()


            def configure_db(app):
                if app.config["TESTING"]:
                    app.config.setdefault("SQLALCHEMY_DATABASE_URI", "sqlite:///:memory:")
                else:
                    app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://app@db/app"
                    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": 5}
                db.init_app(app)


            def make_app(testing=False):
                app = Flask(__name__)
                app.config["TESTING"] = testing
                configure_db(app)
                return app
            """,
            "wsgi.py": "from app import make_app\n\napplication = make_app()\n",
            "tests/conftest.py": """
            from app import configure_db


            def database(app, postgresql):
                app.config["SQLALCHEMY_DATABASE_URI"] = postgresql
                configure_db(app)
                return app
            """,
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["app/__init__.py:13"]


def test_aliases_each_added_under_its_own_test_stay_aliases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Flagsmith: DATABASES only under `if "DATABASE_URL" in os.environ:` / `elif "DJANGO_DB_NAME" ...`, then more
    # aliases each under a test of its own: sixteen ways in all, read alias by alias, never one unresolved pool
    report = scan(
        tmp_path,
        {
            "settings.py": """
            import os

            import dj_database_url

            INSTALLED_APPS = ["app"]
            if "DATABASE_URL" in os.environ:
                DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60)}
                if "ANALYTICS_URL" in os.environ:
                    DATABASES["analytics"] = dj_database_url.parse(os.environ["ANALYTICS_URL"])
            elif "DB_NAME" in os.environ:
                DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": os.environ["DB_NAME"]}}
            if os.getenv("TASK_DB_URL"):
                DATABASES["task_processor"] = dj_database_url.parse(os.environ["TASK_DB_URL"])
            if os.getenv("CLICKHOUSE_URL"):
                DATABASES["clickhouse"] = {"ENGINE": "core.db_backends.clickhouse"}
            """,
        },
        monkeypatch,
    )
    assert sorted(p.call for p in report.pools) == [
        "DATABASES['analytics']",
        "DATABASES['clickhouse']",
        "DATABASES['default']",
        "DATABASES['task_processor']",
    ]


def test_a_config_class_setting_a_key_only_under_a_test_inherits_it_on_the_other_side(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # heatflask: `class DevelopmentConfig(Config): if USE_REMOTE_DB: SQLALCHEMY_DATABASE_URI = ...`: where the
    # variable is unset the class keeps Config's URL, never "not set"
    report = scan(
        tmp_path,
        {
            "config.py": """
            import os


            class Config:
                SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", "postgresql://base@db/app")
                SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 6}


            class DevelopmentConfig(Config):
                USE_REMOTE_DB = os.environ.get("USE_REMOTE_DB")
                if USE_REMOTE_DB:
                    SQLALCHEMY_DATABASE_URI = "postgresql://remote@db/app"
            """,
            "webapp/__init__.py": """
            import os

            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()


            def create_app():
                app = Flask(__name__)
                app.config.from_object(os.environ["APP_SETTINGS"])
                db.init_app(app)
                return app
            """,
            "wsgi.py": "from webapp import create_app\n\napp = create_app()\n",
        },
        monkeypatch,
    )
    url = at(report, "config.py:9").settings["url"]
    assert url.value == "postgresql://base@db/app"
    assert {b.value for b in url.branches} == {"postgresql://base@db/app", "postgresql://remote@db/app"}


def test_django_environs_db_of_an_empty_url_is_no_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # kerrokantasi: `TEST_DATABASE_URL=(str, "")`, then `if env.db("TEST_DATABASE_URL"): DATABASES["default"]["TEST"]
    # = ...`: django-environ 0.14 finds no engine in "" and returns {}, so the test fails and there is no TEST key
    report = scan(
        tmp_path,
        {
            "settings.py": """
            import environ

            env = environ.Env(DATABASE_URL=(str, "postgres:///siteapp"), TEST_DATABASE_URL=(str, ""))
            INSTALLED_APPS = ["app"]
            DATABASES = {"default": env.db("DATABASE_URL")}
            if env.db("TEST_DATABASE_URL"):
                DATABASES["default"]["TEST"] = env.db("TEST_DATABASE_URL")
            """,
        },
        monkeypatch,
    )
    assert not [key for key in report.pools[0].settings if key.startswith("TEST")]


def test_a_factory_its_callers_give_different_config_classes_is_one_engine_with_a_branch_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # dribdat: `init_app(config_object=ProdConfig)` loads what it is given and binds; the app calls it with
    # DevConfig or ProdConfig: one engine at the bind, a branch per class (a test's TestConfig is none of them)
    report = scan(
        tmp_path,
        {
            "myapp/__init__.py": "",
            "myapp/settings.py": """
            import os


            class ProdConfig:
                SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", "postgresql://db/prod")


            class DevConfig:
                SQLALCHEMY_DATABASE_URI = "postgresql://localhost/dev"
            """,
            "myapp/app.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            from myapp.settings import ProdConfig

            db = SQLAlchemy()


            def init_app(config_object=ProdConfig):
                app = Flask(__name__)
                app.config.from_object(config_object)
                db.init_app(app)
                return app
            """,
            "autoapp.py": "from myapp.app import init_app\nfrom myapp.settings import DevConfig\n\napp = init_app(DevConfig)\n",
            "manage.py": "from myapp.app import init_app\nfrom myapp.settings import ProdConfig\n\napp = init_app(ProdConfig)\n",
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["myapp/app.py:12"]
    url = report.pools[0].settings["url"]
    assert {b.value for b in url.branches} == {"postgresql://localhost/dev", "postgresql://db/prod"}


def test_asyncpgsa_pools_are_asyncpgs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # backendschool2019: asyncpgsa's create_pool hands its arguments to asyncpg.create_pool (a pool, read as
    # asyncpg's); its PG() makes one at init(), named in a warning
    report = scan(
        tmp_path,
        {
            "pg.py": """
            import asyncpgsa
            from asyncpgsa import PG


            async def setup(url):
                pool = await asyncpgsa.create_pool("postgresql://u@db/app", min_size=10, max_size=10)
                app_pg = PG()
                await app_pg.init(url, min_size=10, max_size=10)
                return pool, app_pg
            """,
        },
        monkeypatch,
    )
    assert [(p.where, p.stack, p.settings["max_size"].value) for p in report.pools] == [("pg.py:6", "asyncpg", 10)]
    assert any("asyncpgsa.PG()" in w for w in report.warnings)


def test_a_test_of_a_same_named_local_elsewhere_keeps_no_pool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # (second review) `global pool; pool = await create_pool(...)` in db.py, called from two modules; web.py's own
    # `if pool is not None:` tests a parameter of that name, not db.pool: a pool at each caller still
    report = scan(
        tmp_path,
        {
            "db.py": """
            import asyncpg

            pool = None


            async def init_pool():
                global pool
                pool = await asyncpg.create_pool(host="db", max_size=10)
            """,
            "web.py": """
            from db import init_pool


            async def start():
                await init_pool()


            async def release(conn, pool=None):
                if pool is not None:
                    await pool.release(conn)
            """,
            "worker.py": "from db import init_pool\n\n\nasync def run():\n    await init_pool()\n",
        },
        monkeypatch,
    )
    assert sorted(p.file for p in report.pools) == ["web.py", "worker.py"]


def test_config_classes_of_the_same_name_in_two_modules_are_two_branches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (second review) `init_app(dev.Config)` and `init_app(prod.Config)`: two classes, one name; both branches stay
    report = scan(
        tmp_path,
        {
            "myapp/__init__.py": "",
            "myapp/config/__init__.py": "",
            "myapp/config/dev.py": 'class Config:\n    SQLALCHEMY_DATABASE_URI = "postgresql://localhost/dev"\n',
            "myapp/config/prod.py": 'class Config:\n    SQLALCHEMY_DATABASE_URI = "postgresql://db/prod"\n',
            "myapp/app.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()


            def init_app(config_object):
                app = Flask(__name__)
                app.config.from_object(config_object)
                db.init_app(app)
                return app
            """,
            "autoapp.py": "from myapp.app import init_app\nfrom myapp.config import dev\n\napp = init_app(dev.Config)\n",
            "wsgi.py": "from myapp.app import init_app\nfrom myapp.config import prod\n\napp = init_app(prod.Config)\n",
        },
        monkeypatch,
    )
    url = report.pools[0].settings["url"]
    assert {b.value for b in url.branches} == {"postgresql://localhost/dev", "postgresql://db/prod"}


def test_django_environs_db_of_a_scheme_the_scan_does_not_name_keeps_its_parts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (second review) django-environ returns {} only for a URL with no scheme; `cockroachdb://...` is a database
    report = scan(
        tmp_path,
        {
            "settings.py": """
            import environ

            env = environ.Env()
            INSTALLED_APPS = ["app"]
            DATABASES = {"default": env.db("DATABASE_URL", default="cockroachdb://app@db:26257/app?conn_max_age=60")}
            """,
        },
        monkeypatch,
    )
    settings = report.pools[0].settings
    assert (settings["PORT"].value, settings["CONN_MAX_AGE"].value) == (26257, 60)


def test_a_cached_global_started_as_none_in_a_tuple_is_a_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # (second review) `_config, _loaded_at = None, None` starts the cache as None too
    report = scan(
        tmp_path,
        {
            "config.py": """
            import os


            class Config:
                def __init__(self):
                    self.size = int(os.getenv("DB_POOL_SIZE", "20"))


            _config, _loaded_at = None, None


            def get_config():
                global _config
                if _config is None:
                    _config = Config()
                return _config
            """,
            "db.py": """
            from sqlalchemy import create_engine

            from config import get_config

            engine = create_engine("postgresql://app@db/app", pool_size=get_config().size)
            """,
        },
        monkeypatch,
    )
    assert report.pools[0].settings["pool_size"].value == 20


def test_a_settings_module_changing_the_shared_databases_in_place_stays_its_alias(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (second review) the package star-imports databases.py, then production.py, which imports DATABASES and sets
    # CONN_MAX_AGE on it: production's value is not lost behind the package's first one
    report = scan(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/settings/__init__.py": """
            from .databases import *  # noqa

            INSTALLED_APPS = ["app"]

            from .production import *  # noqa
            """,
            "proj/settings/databases.py": """
            DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "app", "CONN_MAX_AGE": 0}}
            """,
            "proj/settings/production.py": """
            from .databases import DATABASES

            DATABASES["default"]["CONN_MAX_AGE"] = 600
            """,
        },
        monkeypatch,
    )
    assert 600 in {p.settings["CONN_MAX_AGE"].value for p in report.pools}


def test_an_extension_made_and_bound_in_one_expression_is_not_flask_sqlalchemy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # conbench: `flask_compress.Compress().init_app(app)` in a project that never makes Flask-SQLAlchemy's
    # extension: its own create_engine is the pool, no Flask-SQLAlchemy engine beside it
    report = scan(
        tmp_path,
        {
            "cb/__init__.py": """
            import flask
            import flask_compress
            from sqlalchemy import create_engine


            def create_application(config):
                app = flask.Flask(__name__)
                app.config.from_object(config)
                flask_compress.Compress().init_app(app)
                app.engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
                return app
            """,
            "cb/config.py": 'class Config:\n    SQLALCHEMY_DATABASE_URI = "postgresql://cb@db/cb"\n',
            "wsgi.py": "from cb import create_application\nfrom cb.config import Config\n\napp = create_application(Config)\n",
        },
        monkeypatch,
    )
    assert [p.stack for p in report.pools] == ["sqlalchemy"]


def test_the_folders_above_the_scanned_one_do_not_make_its_files_tests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a checkout in ~/testing/: its config module is still the app's (it was taken for a test's, and dropped)
    report = scan(
        tmp_path / "testing",
        {
            "config.py": 'class Config:\n    SQLALCHEMY_DATABASE_URI = "postgresql://app@db/app"\n',
            "app.py": """
            import os
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()
            app = Flask(__name__)
            app.config.from_object(os.environ["APP_SETTINGS"])
            db.init_app(app)
            """,
            "tests/conftest.py": 'from sqlalchemy import create_engine\n\nengine = create_engine("postgresql://t@db/t")\n',
        },
        monkeypatch,
    )
    assert at(report, "config.py:1").settings["url"].value == "postgresql://app@db/app"
    assert [p.aside for p in report.pools] == [None, "tests"]
    assert at(report, "tests/conftest.py:3").aside and not [f for p, f in report.findings if p.aside]
