"""`scan_path` following values the way real projects spread them (issue 29), continued from
test_scan_follow_round29.py (the open cases of held-out round 30). Each project is a few small files written here
(never a copy of a real one); line numbers in the assertions are the fixtures' own."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_scan import at, scan


def test_a_module_that_spreads_its_sqlalchemy_options_into_its_own_engines_is_no_flask_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The options are the keyword arguments of the module's own create_engine; the app's config is set by update()
    files = {
        "webapp/__init__.py": "",
        "webapp/app.py": """
            import os
            from flask import Flask
            from webapp.database import init_db

            app = Flask(__name__)
            app.config.update({"SQLALCHEMY_DATABASE_URI": os.environ.get("DATABASE_URL", "sqlite:///x.db")})
            init_db(app)
        """,
        "webapp/database.py": """
            import os
            from flask_sqlalchemy import SQLAlchemy
            from sqlalchemy import create_engine

            SQLALCHEMY_ENGINE_OPTIONS = {
                "pool_recycle": 3600,
                "pool_pre_ping": True,
            }

            primary = create_engine(url=os.environ["DATABASE_URL"], **SQLALCHEMY_ENGINE_OPTIONS)
            db = SQLAlchemy()


            def init_db(app):
                db.init_app(app)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert sorted(p.line for p in report.pools) == [10, 15]
    assert at(report, "webapp/database.py:10").settings["pool_recycle"].value == 3600
    bound = at(report, "webapp/database.py:15").settings
    assert bound["url"].value == "sqlite:///x.db" and "pool_recycle" not in bound
    # A config module read by from_object, with the same names, is still the app's config
    files["webapp/app.py"] = files["webapp/app.py"].replace(
        "init_db(app)", 'app.config.from_object("webapp.database")\n            init_db(app)'
    )
    report = scan(tmp_path / "loaded", files, monkeypatch)
    assert at(report, "webapp/database.py:15").settings["pool_recycle"].value == 3600


FIX_UP = """
def fix_up_databases(databases):
    databases.update(
        {{alias: {{key: value for key, value in database.items() if value is not None}} for alias, database in databases.items()}}
    )
    for _, database in databases.items():
        if database.get("ENGINE") == "django.db.backends.postgresql":
            options = database.setdefault("OPTIONS", {{}})
            if "isolation_level" in options:
                level = options["isolation_level"]
{warn}
            options["isolation_level"] = 3
            database["ATOMIC_REQUESTS"] = True
"""


@pytest.mark.parametrize("warn", ["                pass", '                print("overriding", level)'])
def test_settings_set_in_a_try_then_filtered_of_none_values_keep_the_aliases_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, warn: str
) -> None:
    # maas: DATABASES from a config file in a `try` ({} when it cannot be read), then a helper that drops the
    # None values with a comprehension and forces OPTIONS through a name bound to a part of the alias
    report = scan(
        tmp_path,
        {
            "manage.py": 'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "site.settings")\n',
            "site/__init__.py": FIX_UP.format(warn=warn),
            "site/settings.py": """
                from site import fix_up_databases
                from site.config import RegionConfiguration

                INSTALLED_APPS = ["django.contrib.contenttypes"]


                def _default(config):
                    return {
                        "ENGINE": "django.db.backends.postgresql",
                        "NAME": "maas",
                        "CONN_MAX_AGE": 300,
                        "PASSWORD": None,
                        "OPTIONS": {"keepalives": 1, "keepalives_idle": 15},
                    }


                try:
                    with RegionConfiguration.open() as config:
                        DATABASES = {"default": _default(config)}
                except Exception:
                    DATABASES = {}

                fix_up_databases(DATABASES)
            """,
            "site/config.py": """
                from contextlib import contextmanager


                class RegionConfiguration:
                    @classmethod
                    @contextmanager
                    def open(cls):
                        with open("/etc/maas/regiond.conf") as f:
                            yield cls()
            """,
        },
        monkeypatch,
    )
    (pool,) = report.pools
    # the alias's entry, which names the dict a helper makes (round 37: a helper making several aliases' is
    # at one line for all)
    assert (pool.file.rsplit("/", 1)[-1], pool.line) == ("settings.py", 19)
    settings = {key: value.value for key, value in pool.settings.items()}
    assert settings == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "maas",
        "CONN_MAX_AGE": 300,
        "OPTIONS.keepalives": 1,
        "OPTIONS.keepalives_idle": 15,
        "OPTIONS.isolation_level": 3,
        "ATOMIC_REQUESTS": True,
    }
    assert not pool.unresolved
    forced = ("OPTIONS.isolation_level", "ATOMIC_REQUESTS")  # (under the helper's test of each alias's ENGINE)
    assert all(not value.branches for key, value in pool.settings.items() if key not in forced)


def test_a_comprehension_filter_the_scan_cannot_decide_keeps_each_key_where_it_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = scan(
        tmp_path,
        {
            "manage.py": 'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "site.settings")\n',
            "site/__init__.py": "",
            "site/settings.py": """
                from site.conf import read

                INSTALLED_APPS = ["django.contrib.contenttypes"]
                conf = read()
                default = {"ENGINE": "django.db.backends.postgresql", "CONN_MAX_AGE": conf.max_age}
                DATABASES = {"default": {k: v for k, v in default.items() if v is not None}}
            """,
        },
        monkeypatch,
    )
    settings = at(report, "site/settings.py:6").settings
    assert settings["ENGINE"].value == "django.db.backends.postgresql"
    assert not settings["CONN_MAX_AGE"].known
    held = "v is not None for 'CONN_MAX_AGE' (site/settings.py:5)"  # (each key's and each dict's a test of its own)
    assert [b.when for b in settings["CONN_MAX_AGE"].branches] == [held, f"not ({held})"]


def test_a_factory_its_callers_give_different_config_names_is_one_engine_with_a_branch_per_class(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ras-secure-message: `create_app()` (the variable's default class) and `create_app("DevConfig")`
    report = scan(
        tmp_path,
        {
            "config.py": """
                import os


                class Config:
                    DATABASE_URL = os.getenv("DATABASE_URL", "postgresql://db/app")
                    SQLALCHEMY_DATABASE_URI = DATABASE_URL


                class DevConfig(Config):
                    DEBUG = True
            """,
            "app/__init__.py": "",
            "app/database.py": "from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n",
            "app/application.py": """
                import os
                from flask import Flask
                from app import database


                def create_app(config=None):
                    app = Flask(__name__)
                    app_config = f"config.{config or os.getenv('APP_SETTINGS', 'Config')}"
                    app.config.from_object(app_config)
                    create_db(app)
                    return app


                def create_db(app):
                    database.db.init_app(app)
            """,
            "wsgi.py": "from app.application import create_app\n\napp = create_app()\n",
            "run.py": 'from app.application import create_app\n\napp = create_app("DevConfig")\n',
        },
        monkeypatch,
    )
    (pool,) = report.pools
    assert (pool.file.rsplit("/", 1)[-1], pool.line) == ("application.py", 15)
    assert pool.settings["url"].value == "postgresql://db/app"


def test_a_from_object_template_held_by_a_local_name_is_read_as_the_template(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = scan(
        tmp_path,
        {
            "config.py": """
                class Config:
                    SQLALCHEMY_DATABASE_URI = "postgresql://db/app"
                    SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 5}


                class DevConfig(Config):
                    SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 1}
            """,
            "app/__init__.py": "",
            "app/database.py": "from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n",
            "app/application.py": """
                import os
                from flask import Flask
                from app.database import db


                def create_app():
                    app = Flask(__name__)
                    name = os.environ["APP_SETTINGS"]
                    app_config = f"config.{name}"
                    app.config.from_object(app_config)
                    db.init_app(app)
                    return app
            """,
            "wsgi.py": "from app.application import create_app\n\napp = create_app()\n",
        },
        monkeypatch,
    )
    (pool,) = report.pools
    assert (pool.file.rsplit("/", 1)[-1], pool.line) == ("application.py", 11)
    assert [(b.value, b.when) for b in pool.settings["pool_size"].branches] == [
        (5, "app_config == 'config.Config'"),
        (1, "app_config == 'config.DevConfig'"),
    ]


def test_a_helper_that_returns_its_default_when_the_variable_is_unset_gives_that_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # openprescribing's get_env_setting: `try: return environ[setting]` / `except KeyError:` the default, or raise
    report = scan(
        tmp_path,
        {
            "manage.py": 'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "site.settings")\n',
            "common/__init__.py": "",
            "common/utils.py": """
                from os import environ


                def get_env_setting(setting, default=None):
                    try:
                        return environ[setting]
                    except KeyError:
                        if default is not None:
                            return default
                        else:
                            raise RuntimeError("Set the %s env variable" % setting)
            """,
            "site/__init__.py": "",
            "site/settings.py": """
                from common import utils

                INSTALLED_APPS = []
                DATABASES = {
                    "default": {
                        "ENGINE": "django.db.backends.postgresql",
                        "NAME": utils.get_env_setting("DB_NAME"),
                        "HOST": utils.get_env_setting("DB_HOST", "127.0.0.1"),
                        "CONN_MAX_AGE": int(utils.get_env_setting("DB_CONN_MAX_AGE", "60")),
                    },
                }
            """,
        },
        monkeypatch,
    )
    settings = at(report, "site/settings.py:5").settings
    assert (settings["HOST"].value, settings["HOST"].env) == ("127.0.0.1", "DB_HOST")
    assert (settings["CONN_MAX_AGE"].value, settings["CONN_MAX_AGE"].env) == (60, "DB_CONN_MAX_AGE")
    assert not settings["NAME"].known and "required" in (settings["NAME"].expr or "")


def test_a_script_reads_the_ini_file_a_variable_names_else_its_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # npui's ctl: `'#'.join((default_ini_file(), 'app'))`, the file `$NP_INI_FILE` names, else production.ini
    report = scan(
        tmp_path,
        {
            "production.ini": """
                [app:app]
                use = egg:app
                sqlalchemy.url = postgresql://app@dbhost/app
                sqlalchemy.pool_recycle = 3600
            """,
            "app/__init__.py": """
                from sqlalchemy import engine_from_config


                def setup_config(settings):
                    return engine_from_config(settings, "sqlalchemy.")
            """,
            "app/scripts/__init__.py": "",
            "app/scripts/ctl.py": """
                import os

                from pyramid.paster import get_appsettings

                from app import setup_config


                def default_ini_file():
                    if "NP_INI_FILE" in os.environ:
                        return os.environ["NP_INI_FILE"]
                    return "production.ini"


                def main():
                    settings = get_appsettings("#".join((default_ini_file(), "app")))
                    setup_config(settings)
            """,
        },
        monkeypatch,
    )
    settings = at(report, "app/scripts/ctl.py:16").settings
    assert settings["url"].value == "postgresql://app@dbhost/app"
    assert settings["pool_recycle"].value == 3600  # engine_from_config's int, also with branches
    assert [b.known for b in settings["url"].branches] == [True, False]


def test_a_module_reached_through_an_implicit_namespace_package_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # docassemble: `docassemble/` has no __init__.py; `import docassemble.webapp.database`, then its names
    report = scan(
        tmp_path,
        {
            "docassemble/webapp/__init__.py": "",
            "docassemble/webapp/extensions.py": "from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n",
            "docassemble/webapp/database.py": """
                import os

                pool_pre_ping = bool(os.getenv("SQL_PING", ""))
                alchemy_connect_string = "postgresql+psycopg2://" + ":@/" + "docassemble"
            """,
            "docassemble/webapp/app_initialize.py": """
                from docassemble.webapp.extensions import db


                def configure(app):
                    import docassemble.webapp.database

                    app.config["SQLALCHEMY_DATABASE_URI"] = docassemble.webapp.database.alchemy_connect_string
                    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
                        "pool_pre_ping": docassemble.webapp.database.pool_pre_ping,
                    }


                def init_app(the_app):
                    configure(the_app)
                    db.init_app(the_app)
            """,
        },
        monkeypatch,
    )
    (pool,) = report.pools
    assert pool.settings["url"].value == "postgresql+psycopg2://:***@/docassemble"
    assert (pool.settings["pool_pre_ping"].value, pool.settings["pool_pre_ping"].env) == (False, "SQL_PING")


def test_from_a_submodule_import_reads_the_submodule_though_its_package_binds_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # augur: db/__init__.py has a global `engine` beside db/engine.py; `from app.db.engine import make` is the
    # submodule's function (Python imports app.db.engine as a module), while `from app.db import engine` is the global
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/db/__init__.py": """
                from app.db.engine import make

                engine = None


                def get_engine():
                    global engine
                    if engine is None:
                        engine = make("postgresql://db/app", pool_size=3)
                    return engine
            """,
            "app/db/engine.py": """
                from sqlalchemy import create_engine


                def make(url, **kwargs):
                    return create_engine(url, **kwargs)
            """,
            "app/server.py": """
                from app.db.engine import make

                engine = make("postgresql://db/api", pool_size=7)
            """,
            "app/other.py": "from app.db import engine\n\nshown = engine\n",
        },
        monkeypatch,
    )
    assert at(report, "app/server.py:3").settings["pool_size"].value == 7
    assert at(report, "app/db/__init__.py:9").settings["pool_size"].value == 3


def test_a_project_module_named_as_a_config_library_does_not_hide_the_library(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # dask-gateway: its own traitlets.py (a wrapper that imports the library) beside the backends
    report = scan(
        tmp_path,
        {
            "gw/__init__.py": "",
            "gw/traitlets.py": "from traitlets import Integer, Unicode\n\n\nclass Command(Unicode):\n    pass\n",
            "gw/backends/__init__.py": "",
            "gw/backends/db.py": """
                import sqlalchemy as sa
                from traitlets import Bool, Unicode
                from traitlets.config import LoggingConfigurable


                class DBBackend(LoggingConfigurable):
                    db_url = Unicode("sqlite:///:memory:", config=True)
                    db_debug = Bool(False, config=True)

                    async def setup(self, app):
                        self.engine = sa.create_engine(self.db_url, echo=self.db_debug)
            """,
        },
        monkeypatch,
    )
    settings = at(report, "gw/backends/db.py:11").settings
    assert (settings["url"].value, settings["echo"].value) == ("sqlite:///:memory:", False)


def test_review_a_top_level_module_named_as_a_config_library_is_the_projects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `python app.py` puts app.py's folder first on sys.path: its yaml.py beside it is what `from yaml import` gets
    report = scan(
        tmp_path,
        {
            "yaml.py": 'DATABASE_URL = "postgresql://app@db/app"\nPOOL_SIZE = 15\n',
            "app.py": "from sqlalchemy import create_engine\nfrom yaml import DATABASE_URL, POOL_SIZE\n\n"
            "engine = create_engine(DATABASE_URL, pool_size=POOL_SIZE)\n",
        },
        monkeypatch,
    )
    settings = at(report, "app.py:4").settings
    assert (settings["url"].value, settings["pool_size"].value) == ("postgresql://app@db/app", 15)


def test_past_an_assert_its_names_hold_what_it_requires_not_a_default_that_fails_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # swh-storage's proxies: `db`, else the old `blocking_db`, asserted given; no caller in sight
    report = scan(
        tmp_path,
        {
            "proxy/__init__.py": "",
            "proxy/cls.py": """
                from typing import Optional

                import psycopg_pool


                class BlockingProxyStorage:
                    def __init__(self, db: Optional[str] = None, blocking_db: Optional[str] = None, size: int = 5):
                        if db is None:
                            assert blocking_db is not None
                            db = blocking_db
                        self._pool = psycopg_pool.ConnectionPool(db, max_size=size, open=True)
            """,
        },
        monkeypatch,
    )
    settings = at(report, "proxy/cls.py:11").settings
    assert not settings["conninfo"].known and "assert" in (settings["conninfo"].expr or "")
    assert settings["max_size"].value == 5


def test_a_config_every_caller_gets_from_the_same_function_is_that_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # lando-api: construct_app(load_config()) from wsgi.py and from the CLI's factory; the extension is bound
    # through each subsystem's init_app
    files = {
        "lando/__init__.py": "",
        "lando/systems.py": "class Subsystem:\n    def init_app(self, app):\n        self.flask_app = app\n",
        "lando/storage.py": """
            from flask_sqlalchemy import SQLAlchemy

            from lando.systems import Subsystem

            db = SQLAlchemy()


            class DBSubsystem(Subsystem):
                def init_app(self, app):
                    super().init_app(app)
                    db.init_app(app)


            db_subsystem = DBSubsystem()
        """,
        "lando/app.py": """
            import os

            from flask import Flask

            from lando.storage import db_subsystem

            SUBSYSTEMS = [db_subsystem]


            def load_config():
                return {"SQLALCHEMY_DATABASE_URI": os.getenv("DATABASE_URL"), "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 4}}


            def construct_app(config):
                app = Flask(__name__)
                app.config.update(config)
                return app
        """,
        "lando/wsgi.py": """
            from lando.app import SUBSYSTEMS, construct_app, load_config

            app = construct_app(load_config())
            for system in SUBSYSTEMS:
                system.init_app(app)
        """,
        "lando/cli.py": """
            def create_app():
                from lando.app import SUBSYSTEMS, construct_app, load_config

                app = construct_app(load_config())
                for system in [s for s in SUBSYSTEMS if s]:
                    system.init_app(app)
                return app
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    for where in ("lando/wsgi.py:3", "lando/cli.py:4"):
        settings = at(report, where).settings
        assert (settings["url"].env, settings["pool_size"].value) == ("DATABASE_URL", 4)


@pytest.mark.parametrize(
    ("name", "aside"),
    [
        ("django_scaffold/tests_settings.py", "tests"),
        ("site/testsettings.py", "tests"),
        ("site/settings_tests.py", "tests"),
        ("site/settings.py", None),
        ("site/settings_testing_ground.py", None),
    ],
)
def test_the_tests_settings_module_is_the_tests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, aside: str | None
) -> None:
    # codecov worker: django_scaffold/tests_settings.py, which pytest.ini names for the test run
    report = scan(
        tmp_path, {name: 'import asyncpg\n\npool = asyncpg.create_pool("postgresql://a@db/a")\n'}, monkeypatch
    )
    assert [p.aside for p in report.pools] == [aside]


@pytest.mark.parametrize(
    ("code", "named"),
    [
        (
            "import aiopg\n\n\nasync def start(dsn):\n    return await aiopg.create_pool(dsn, maxsize=10)\n",
            "aiopg.create_pool",
        ),
        (
            "from aiopg.sa import create_engine\n\n\nasync def start(dsn):\n    return await create_engine(dsn)\n",
            "aiopg.sa.create_engine",
        ),
        ("from postgres import Postgres\n\ndb = Postgres('postgresql://db/app')\n", "postgres.Postgres"),
        ("import postgres\n\ndb = postgres.Postgres('postgresql://db/app')\n", "postgres.Postgres"),  # (review)
        ("import databases\n\ndb = databases.Database('postgresql://db/app', max_size=20)\n", "databases.Database"),
        (
            "from playhouse.pool import PooledPostgresqlExtDatabase\n\ndb = PooledPostgresqlExtDatabase('app')\n",
            "playhouse.pool.PooledPostgresqlExtDatabase",
        ),
    ],
)
def test_a_pool_of_a_library_without_a_stack_is_named_in_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: str, named: str
) -> None:
    # metaflow-service's aiopg pools: no pool to judge, and no silence either
    report = scan(tmp_path, {"svc/__init__.py": "", "svc/db.py": code}, monkeypatch)
    assert report.pools == []
    assert [w for w in report.warnings if f"{named}() makes a pool of a library pool-doctor does not read" in w]


def test_review_an_assert_leaves_what_it_does_not_rule_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the review: `assert settings.database_url is not None` kept the other fields; `assert url is not None` of a
    # variable's value keeps the variable
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/db.py": """
                import os

                from pydantic_settings import BaseSettings
                from sqlalchemy import create_engine


                class Settings(BaseSettings):
                    database_url: str | None = None
                    db_pool_size: int = 20


                settings = Settings()
                assert settings.database_url is not None
                engine = create_engine(settings.database_url, pool_size=settings.db_pool_size)


                def other():
                    url = os.environ.get("OTHER_URL")
                    assert url is not None
                    return create_engine(url, pool_size=3)
            """,
        },
        monkeypatch,
    )
    first = at(report, "app/db.py:14").settings
    assert (first["url"].env, first["pool_size"].value, first["pool_size"].env) == ("DATABASE_URL", 20, "DB_POOL_SIZE")
    assert at(report, "app/db.py:20").settings["url"].env == "OTHER_URL"


def test_review_a_config_module_that_fixes_up_its_own_uri_is_still_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = scan(
        tmp_path,
        {
            "app/__init__.py": """
                from flask import Flask
                from flask_sqlalchemy import SQLAlchemy

                db = SQLAlchemy()


                def create_app():
                    app = Flask(__name__)
                    app.config.from_envvar("APP_SETTINGS")
                    db.init_app(app)
                    return app
            """,
            "production_settings.py": """
                import os
                import re

                SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", "postgresql://app@db/app")
                SQLALCHEMY_DATABASE_URI = re.sub(r"^postgres://", "postgresql://", SQLALCHEMY_DATABASE_URI)
            """,
        },
        monkeypatch,
    )
    assert "url" in at(report, "production_settings.py:5").settings


def test_review_two_dicts_filtered_by_one_helper_are_two_tests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `{**defaults, **overrides}`, each `_present(...)` of an unknown: the override where it is given, else the default
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/db.py": """
                from sqlalchemy import create_engine

                from app.settings import file_settings, vault_settings


                def _present(options):
                    return {k: v for k, v in options.items() if v is not None}


                def engine_options():
                    defaults = _present({"pool_size": file_settings.get("pool_size")})
                    overrides = _present({"pool_size": vault_settings.get("pool_size")})
                    return {"pool_pre_ping": True, **defaults, **overrides}


                engine = create_engine("postgresql://app@db/app", **engine_options())
            """,
        },
        monkeypatch,
    )
    branches = at(report, "app/db.py:16").settings["pool_size"].branches
    assert [(b.known, b.expr) for b in branches] == [
        (False, 'vault_settings.get("pool_size")'),
        (False, 'file_settings.get("pool_size")'),
        (False, "(not set)"),
    ]


def test_review_a_sentinel_default_is_never_returned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = scan(
        tmp_path,
        {
            "settings.py": """
                import os

                _MISSING = object()


                def get_env(name, default=_MISSING):
                    try:
                        return os.environ[name]
                    except KeyError:
                        if default is _MISSING:
                            raise RuntimeError(name)
                        return default


                DATABASE_URL = get_env("DATABASE_URL")
                POOL_SIZE = int(get_env("DB_POOL_SIZE", "5"))
            """,
            "db.py": "import settings\nfrom sqlalchemy import create_engine\n\n"
            "engine = create_engine(settings.DATABASE_URL, pool_size=settings.POOL_SIZE)\n",
        },
        monkeypatch,
    )
    settings = at(report, "db.py:4").settings
    assert not settings["url"].branches and "required" in (settings["url"].expr or "")
    assert (settings["pool_size"].value, settings["pool_size"].env) == (5, "DB_POOL_SIZE")


def test_get_appsettings_of_something_not_a_text_is_unknown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # npui's ctl reads `self.config_uri`, a reify property the scan holds as a function: no crash, unknown
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "from sqlalchemy import engine_from_config\n\n\n"
            "def setup_config(settings):\n    return engine_from_config(settings, 'sqlalchemy.')\n",
            "app/ctl.py": """
                from pyramid.paster import get_appsettings

                from app import setup_config


                def config_uri():
                    return "production.ini#app"


                def main():
                    setup_config(get_appsettings(config_uri))
            """,
        },
        monkeypatch,
    )
    assert not report.warnings
    assert not at(report, "app/ctl.py:11").settings["url"].known


def test_a_fifo_beside_a_settings_template_is_never_waited_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the final read: whether a module beside a template star-imports it was read with a plain open(), which
    # waits forever on a FIFO named like a module
    import os
    import threading

    from pool_doctor.scan import scan_path

    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "__init__.py").write_text("")
    (tmp_path / "site" / "settings_template.py").write_text(
        'import asyncpg\n\npool = asyncpg.create_pool("postgresql://a@db/a")\n'
    )
    os.mkfifo(tmp_path / "site" / "local.py")  # nothing ever writes to it
    done: list[object] = []
    worker = threading.Thread(target=lambda: done.append(scan_path(tmp_path)), daemon=True)
    worker.start()
    worker.join(timeout=60)
    if worker.is_alive():  # (let the stuck reader go before failing)
        os.close(os.open(tmp_path / "site" / "local.py", os.O_WRONLY | os.O_NONBLOCK))
    assert done, "the scan waited on the FIFO"
