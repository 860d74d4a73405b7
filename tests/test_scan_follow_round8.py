"""`scan_path` following values the way real projects spread them (issue 29), continued from
test_scan_follow_round7.py. Each project is a few small files written here (never a copy of a real one); line
numbers in the assertions are the fixtures' own."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_scan import at, scan

from pool_doctor.scan.model import NOT_SET


@pytest.mark.parametrize(
    "test",
    [
        'config("PG_TIMEOUT", cast=int, default=0) > 0',
        'config("PG_TIMEOUT", cast=bool, default=False)',
    ],
)
def test_a_key_only_a_set_variable_writes_is_not_set_by_default_and_names_that_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, test: str
) -> None:
    # openreplay's pg_client: the settings dict gains `options` only when PG_TIMEOUT is set above 0. With no
    # variable set the key is not set (the library default), and PG_TIMEOUT is what changes that; the scan
    # listed both sides with no variable named, as if nothing but code decided it.
    report = scan(
        tmp_path,
        {
            "app/pg.py": f"""
            from decouple import config
            from psycopg2 import pool

            PG_CONFIG = {{"host": config("pg_host", default="localhost")}}
            if {test}:
                PG_CONFIG["options"] = "-c statement_timeout=5000"

            def make_pool():
                return pool.ThreadedConnectionPool(1, 8, **PG_CONFIG)
            """,
        },
        monkeypatch,
    )
    options = at(report, "app/pg.py:9").settings["options"]
    assert options.env == "PG_TIMEOUT"
    assert [b.expr if not b.known else b.value for b in options.branches] == [NOT_SET, "-c statement_timeout=5000"]
    assert options.branches[1].when == test


def test_keys_each_set_under_its_own_variable_name_each_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The same dict grown by three tests in a row, each of its own variable: each key is not set with no
    # variable set, and names the variable of the test that writes it (the dict on each side of the second test
    # already has both sides of the first).
    report = scan(
        tmp_path,
        {
            "app/pg.py": """
            import os
            from psycopg2 import pool

            PG_CONFIG = {"host": "db"}
            if int(os.getenv("PG_TIMEOUT", "0")) > 0:
                PG_CONFIG["options"] = "-c statement_timeout=5000"
            if os.getenv("PG_KEEPALIVES"):
                PG_CONFIG["keepalives"] = 1
            if os.getenv("PG_APP") == "1":
                PG_CONFIG["application_name"] = "worker"

            def make_pool():
                return pool.ThreadedConnectionPool(1, 8, **PG_CONFIG)
            """,
        },
        monkeypatch,
    )
    settings = at(report, "app/pg.py:13").settings
    assert {key: settings[key].env for key in ("options", "keepalives", "application_name")} == {
        "options": "PG_TIMEOUT",
        "keepalives": "PG_KEEPALIVES",
        "application_name": "PG_APP",
    }
    assert all(settings[key].branches[0].expr == NOT_SET for key in ("options", "keepalives", "application_name"))
    assert settings["host"].value == "db" and not settings["host"].branches


@pytest.mark.parametrize(
    "call",
    [
        'config.set_main_option(name="sqlalchemy.url", value=os.environ["DATABASE_URL"])',
        'config.set_section_option(config.config_ini_section, "sqlalchemy.url", value=os.environ["DATABASE_URL"])',
        'config.set_section_option(section="alembic", name="sqlalchemy.url", value=os.environ["DATABASE_URL"])',
    ],
)
def test_alembic_options_set_with_keyword_arguments_replace_the_ini(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call: str
) -> None:
    # A FastAPI template's alembic env.py sets the URL with `set_main_option(name=..., value=...)`; only the
    # positional form was read, so the ini's placeholder was reported as the URL the engine gets (a wrong value).
    # alembic's Config.set_main_option(name, value) and set_section_option(section, name, value).
    report = scan(
        tmp_path,
        {
            "alembic.ini": """
            [alembic]
            script_location = migrations
            sqlalchemy.url = driver://user:pass@localhost/dbname
            """,
            "migrations/env.py": f"""
            import os

            from alembic import context
            from sqlalchemy import engine_from_config, pool

            config = context.config
            {call}

            def run_migrations_online():
                connectable = engine_from_config(
                    config.get_section(config.config_ini_section), prefix="sqlalchemy.", poolclass=pool.NullPool
                )
            """,
        },
        monkeypatch,
    )
    url = at(report, "migrations/env.py:10").settings["url"]
    assert (url.known, url.env, url.from_) == (False, "DATABASE_URL", "migrations/env.py:7")


def test_keys_popped_in_a_comprehension_leave_the_dict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # pygeoapi's SQL provider: the pool's keys are taken out of the driver's keyword arguments with `.pop` inside a
    # dict comprehension, and what is left goes to the driver as connect_args. The popped keys were also reported
    # as connect_args (pool_size among the driver's arguments, which it never gets).
    report = scan(
        tmp_path,
        {
            "db.py": """
            from sqlalchemy import create_engine

            POOL_DEFAULTS = {"pool_size": 5, "max_overflow": 10, "pool_pre_ping": True}

            def get_engine(url, **connect_args):
                pool_options = {key: connect_args.pop(key, default) for key, default in POOL_DEFAULTS.items()}
                return create_engine(url, connect_args=connect_args, **pool_options)

            engine = get_engine("postgresql://app@db/app", pool_size=2, connect_timeout=10)
            """,
        },
        monkeypatch,
    )
    pool = at(report, "db.py:9")
    assert {key: value.value for key, value in pool.settings.items()} == {
        "url": "postgresql://app@db/app",
        "connect_args.connect_timeout": 10,
        "pool_size": 2,
        "max_overflow": 10,
        "pool_pre_ping": True,
    }


def test_a_package_attribute_shadows_its_submodule_of_the_same_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # airweave: config/ is a package with a settings.py submodule, and its __init__ binds `settings = Settings()`.
    # `from app.config import settings` is that instance (Python's import takes the package's attribute before
    # its submodule); the scan took the submodule, so every `settings.x` was unknown.
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/config/__init__.py": """
            from app.config.settings import Settings

            settings = Settings()
            """,
            "app/config/settings.py": """
            from pydantic_settings import BaseSettings

            class Settings(BaseSettings):
                POSTGRES_URL: str
                SYNC_MAX_WORKERS: int = 20
            """,
            "app/session.py": """
            from sqlalchemy.ext.asyncio import create_async_engine

            from app.config import settings

            engine = create_async_engine(settings.POSTGRES_URL, pool_size=settings.SYNC_MAX_WORKERS)
            """,
        },
        monkeypatch,
    )
    pool = at(report, "app/session.py:5")
    size, url = pool.settings["pool_size"], pool.settings["url"]
    assert (size.value, size.env, size.from_) == (20, "SYNC_MAX_WORKERS", "app/config/settings.py:5")
    assert (url.known, url.env) == (False, "POSTGRES_URL")


def test_django_environ_reads_psql_urls_as_postgresql(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # treeherder: django-environ's DB_SCHEMES map psql:// (as well as postgres://, postgresql://, pgsql://) to
    # Django's PostgreSQL backend (environ.py, 0.14); ENGINE was left out for psql://.
    report = scan(
        tmp_path,
        {
            "settings.py": """
            import environ

            env = environ.Env()

            DATABASES = {"default": env.db_url("DATABASE_URL", default="psql://app@127.0.0.1:5432/appdb")}
            """,
        },
        monkeypatch,
    )
    engine = at(report, "settings.py:5").settings["ENGINE"]
    assert (engine.value, engine.env) == ("django.db.backends.postgresql", "DATABASE_URL")


def test_a_flask_app_configured_from_prefixed_variables_alone_is_an_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # funnel's whole configuration is FLASK_* variables (Flask's from_prefixed_env strips the prefix from each):
    # no SQLALCHEMY_* key is written anywhere, so the bound app was no engine at all. Flask-SQLAlchemy needs a
    # URL (or binds) to bind, so the app's config has it: here FLASK_SQLALCHEMY_DATABASE_URI.
    report = scan(
        tmp_path,
        {
            "webapp/__init__.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()

            def create_app():
                app = Flask(__name__)
                app.config.from_prefixed_env()
                db.init_app(app)
                return app
            """,
        },
        monkeypatch,
    )
    url = at(report, "webapp/__init__.py:9").settings["url"]
    assert (url.known, url.env) == (False, "FLASK_SQLALCHEMY_DATABASE_URI")


def test_a_bound_flask_app_whose_config_no_code_of_the_project_writes_is_an_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # funnel: an installed package loads each app's config (`sharedlib.app.init_app(each_app, ["env"])`), then the
    # extension is bound to each app in a loop; the project writes no SQLALCHEMY_* key anywhere.
    report = scan(
        tmp_path,
        {
            "webapp/__init__.py": """
            from flask import Flask

            import sharedlib.app

            app = Flask(__name__)
            shortlinks = Flask(__name__)

            from .models import db  # noqa: E402

            for each_app in [app, shortlinks]:
                sharedlib.app.init_app(each_app, ["env"], env_prefix=["FLASK"])
                db.init_app(each_app)
            """,
            "webapp/models.py": """
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()
            """,
        },
        monkeypatch,
    )
    pool = at(report, "webapp/__init__.py:12")
    assert pool.stack == "flask_sqlalchemy"
    assert pool.unresolved == ["(the app's config: no code of the project writes it)"]


def test_a_replica_bind_copying_a_url_from_an_unread_file_keeps_the_default_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pybossa: the URL comes from a settings file named by a variable (from_envvar), and with no replica configured
    # the code binds the primary's URL again as `slave`. Binds were read as "no default engine": the primary
    # engine, and the pool_recycle its defaults pin, were lost.
    (tmp_path / "requirements.txt").write_text("Flask-SQLAlchemy==2.5.1\n")  # (2.x reads SQLALCHEMY_POOL_*)
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/default_settings.py": "SQLALCHEMY_POOL_RECYCLE = 300\n",
            "app/extensions.py": "from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n",
            "app/core.py": """
            from flask import Flask

            from app import default_settings as settings
            from app.extensions import db

            def create_app():
                app = Flask(__name__)
                app.config.from_object(settings)
                app.config.from_envvar("APP_SETTINGS", silent=True)
                if app.config.get("SQLALCHEMY_BINDS") is None:
                    app.config["SQLALCHEMY_BINDS"] = dict(slave=app.config.get("SQLALCHEMY_DATABASE_URI"))
                db.init_app(app)
                return app
            """,
        },
        monkeypatch,
    )
    primary = at(report, "app/core.py:12")
    assert primary.call == "app.config"
    assert (primary.settings["pool_recycle"].value, primary.settings["pool_recycle"].from_) == (
        300,
        "app/default_settings.py:1",
    )
    assert any("from_envvar" in text for text in primary.unresolved)


def test_a_dict_changed_through_setdefault_in_a_chain_keeps_the_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pycroft's create_engine wrapper: `kwargs.setdefault("connect_args", {}).update(options=...)`, then
    # `create_engine(url, **kwargs)`. The chain's change was lost, so every engine made through the wrapper
    # lacked its connect_args; a caller's own connect_args keep their keys beside the wrapper's.
    report = scan(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/model.py": """
            from sqlalchemy import create_engine as sa_create_engine

            def create_engine(url, **kwargs):
                kwargs.setdefault("connect_args", {}).update(options="-c TimeZone=UTC")
                return sa_create_engine(url, **kwargs)
            """,
            "pkg/run.py": """
            from pkg.model import create_engine

            engine = create_engine("postgresql://app@db/app")
            other = create_engine("postgresql://app@db/app", connect_args={"connect_timeout": 5})
            """,
        },
        monkeypatch,
    )
    assert at(report, "pkg/run.py:3").settings["connect_args.options"].value == "-c TimeZone=UTC"
    other = at(report, "pkg/run.py:4").settings
    assert (other["connect_args.options"].value, other["connect_args.connect_timeout"].value) == (
        "-c TimeZone=UTC",
        5,
    )


def test_environs_own_env_reads_a_variable_with_a_positional_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # hypha: `from environs import env` (environs' module-level `env = Env()`), `env.str("APP_NAME", "hypha")` in
    # a dj-database-url default. The call was unknown, so every part of the URL was; a URL with no user or
    # password gives "" for both (dj-database-url 3.1's parse), which the scan left out.
    report = scan(
        tmp_path,
        {
            "settings.py": """
            import dj_database_url
            from environs import env

            env.read_env()
            APP_NAME = env.str("APP_NAME", "myapp")
            DATABASES = {"default": dj_database_url.config(default=f"postgres:///{APP_NAME}", conn_max_age=600)}
            """,
        },
        monkeypatch,
    )
    pool = at(report, "settings.py:6")
    assert {key: pool.settings[key].value for key in ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT")} == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "myapp",
        "USER": "",
        "PASSWORD": "",
        "HOST": "",
        "PORT": "",
    }
    assert pool.settings["NAME"].env == "DATABASE_URL"


def test_an_extension_reached_through_a_star_import_is_bound_where_init_app_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pybossa: `from app.extensions import *` brings `db`; create_app() configures the app in one helper and binds
    # it in another. The bind went unseen, so the engine was placed at the config load instead of db.init_app.
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/default_settings.py": 'SQLALCHEMY_DATABASE_URI = "postgresql://app@localhost/appdb"\n',
            "app/extensions.py": """
            from flask_sqlalchemy import SQLAlchemy

            __all__ = ["db"]
            db = SQLAlchemy()
            """,
            "app/core.py": """
            from flask import Flask

            from app import default_settings as settings
            from app.extensions import *

            def create_app():
                app = Flask(__name__)
                configure_app(app)
                setup_db(app)
                return app

            def configure_app(app):
                app.config.from_object(settings)

            def setup_db(app):
                db.init_app(app)
            """,
        },
        monkeypatch,
    )
    assert [(pool.where, pool.settings["url"].value) for pool in report.pools] == [
        ("app/core.py:16", "postgresql://app@localhost/appdb")
    ]


def test_an_alembic_env_with_no_alembic_ini_in_the_tree_lists_its_url_as_given_at_run_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pybossa ships alembic.ini.template and alembictest.ini (run with `alembic -c alembictest.ini`), no
    # alembic.ini: the URL was left out altogether, as if the migrations' engine had none.
    report = scan(
        tmp_path,
        {
            "alembictest.ini": "[alembic]\nsqlalchemy.url = postgresql://tester@localhost/app_test\n",
            "alembic/env.py": """
            from alembic import context
            from sqlalchemy import engine_from_config, pool

            config = context.config

            def run_migrations_online():
                engine = engine_from_config(
                    config.get_section(config.config_ini_section), prefix="sqlalchemy.", poolclass=pool.NullPool
                )
            """,
        },
        monkeypatch,
    )
    url = at(report, "alembic/env.py:7").settings["url"]
    assert (url.known, url.expr) == (False, "sqlalchemy.url of the ini alembic is given (-c)")


@pytest.mark.parametrize(
    "built",
    [
        'LOCAL_URL = "psql://postgres@{}:5432/appdb".format("localhost" if IS_WINDOWS else "127.0.0.1")',
        'HOST = "localhost" if IS_WINDOWS else "127.0.0.1"; LOCAL_URL = f"psql://postgres@{HOST}:5432/appdb"',
    ],
)
def test_a_database_url_with_one_part_under_a_test_keeps_the_other_parts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, built: str
) -> None:
    # treeherder's default URL takes its host from a test of the platform; every part of the URL was unknown
    # (the whole URL had two values), where only HOST depends on the test.
    report = scan(
        tmp_path,
        {
            "settings.py": f"""
            import platform

            import environ

            env = environ.Env()
            IS_WINDOWS = "windows" in platform.system().lower()
            {built}
            DATABASES = {{"default": env.db_url("DATABASE_URL", default=LOCAL_URL)}}
            """,
        },
        monkeypatch,
    )
    settings = at(report, "settings.py:8").settings
    assert {key: settings[key].value for key in ("ENGINE", "NAME", "USER", "PORT")} == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "appdb",
        "USER": "postgres",
        "PORT": 5432,
    }
    assert all(settings[key].env == "DATABASE_URL" for key in ("ENGINE", "NAME", "USER", "PORT", "HOST"))
    assert [branch.value for branch in settings["HOST"].branches] == ["localhost", "127.0.0.1"]


def test_an_app_configured_from_prefixed_variables_that_binds_no_extension_is_no_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pycroft's server script: a Flask app reads FLASK_* variables but its engine is the project's own
    # create_engine; the URL from_prefixed_env may give is no Flask-SQLAlchemy engine's (a first version made one).
    report = scan(
        tmp_path,
        {
            "run.py": """
            import os

            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy
            from sqlalchemy import create_engine

            db = SQLAlchemy()

            def main():
                app = Flask(__name__)
                app.config.from_prefixed_env()
                engine = create_engine(os.environ["APP_DB_URI"])
                return app, engine
            """,
        },
        monkeypatch,
    )
    assert [(pool.where, pool.stack) for pool in report.pools] == [("run.py:12", "sqlalchemy")]


@pytest.mark.parametrize(
    "extra", ['class Config:\n                    extra = "allow"', 'model_config = {"extra": "allow"}']
)
def test_a_model_that_allows_extra_keys_dumps_keys_the_scan_cannot_see(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: str
) -> None:
    # SuperAGI: a settings model with extra keys allowed is built from a YAML file merged with the environment,
    # and read back with `self.dict().get(key, default)`. The dump was read as holding only the declared fields
    # (none), so the default was reported as the URL: a wrong value. The keys given may be any: unknown.
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/config.py": f"""
            import os

            import yaml
            from pydantic import BaseSettings

            class Config(BaseSettings):
                {extra}

                @classmethod
                def load_config(cls, config_file):
                    config_data = {{}}
                    if os.path.exists(config_file):
                        with open(config_file) as f:
                            config_data = yaml.safe_load(f) or {{}}
                    return {{**config_data, **dict(os.environ)}}

                def __init__(self, config_file, **kwargs):
                    super().__init__(**self.load_config(config_file), **kwargs)

                def get_config(self, key, default=None):
                    return self.dict().get(key, default)

            config = Config("config.yaml")
            """,
            "app/db.py": """
            from sqlalchemy import create_engine

            from app.config import config

            engine = create_engine(config.get_config("DB_URL", "postgresql://db/app"), pool_size=20)
            """,
        },
        monkeypatch,
    )
    assert not report.warnings
    url = at(report, "app/db.py:5").settings["url"]
    assert not url.known


def test_an_alias_only_a_set_variable_adds_holds_its_settings_where_it_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # treeherder: a replica alias is added with django-environ's `env.db_url_config(url)` only when its variable is
    # set, then a loop gives every alias CONN_MAX_AGE 300. The alias's settings read "not set when the variable is
    # not" (a state with no such pool) and its URL's parts were missing, its variable named nowhere.
    report = scan(
        tmp_path,
        {
            "settings.py": """
            import environ

            env = environ.Env()
            DATABASES = {"default": env.db_url("DATABASE_URL", default="postgres://app@127.0.0.1:5432/appdb")}
            UPSTREAM_DATABASE_URL = env("UPSTREAM_DATABASE_URL", default=None)
            if UPSTREAM_DATABASE_URL:
                DATABASES["upstream"] = env.db_url_config(UPSTREAM_DATABASE_URL)
            for alias, db in DATABASES.items():
                db["CONN_MAX_AGE"] = 300
            """,
        },
        monkeypatch,
    )
    upstream = at(report, "settings.py:7")
    assert upstream.call == "DATABASES['upstream']" and upstream.condition == "UPSTREAM_DATABASE_URL"
    assert (upstream.settings["CONN_MAX_AGE"].value, upstream.settings["CONN_MAX_AGE"].branches) == (300, ())
    host = upstream.settings["HOST"]
    assert (host.known, host.env) == (False, "UPSTREAM_DATABASE_URL")
    assert at(report, "settings.py:4").settings["CONN_MAX_AGE"].value == 300


def test_an_app_handed_to_an_installed_package_may_have_any_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # digitalmarketplace-api: an installed package's `init_app(application, configs[name], db=db)` loads the config
    # class and binds the extension; then the URL is replaced under a test. The side where the test fails was
    # reported "not set" (the config class sets it) and the engine was placed at the replacing line.
    report = scan(
        tmp_path,
        {
            "config.py": """
            class Config:
                SQLALCHEMY_DATABASE_URI = "postgresql://localhost/appdb"
                VCAP_SERVICES = None

            configs = {"live": Config}
            """,
            "app/__init__.py": """
            import json

            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy
            from sharedutils.flask_init import init_app

            from config import configs

            db = SQLAlchemy()

            def create_app(config_name):
                application = Flask(__name__)
                init_app(application, configs[config_name], db=db)
                if application.config["VCAP_SERVICES"]:
                    services = json.loads(application.config["VCAP_SERVICES"])
                    application.config["SQLALCHEMY_DATABASE_URI"] = services["postgres"][0]["uri"]
                return application
            """,
        },
        monkeypatch,
    )
    pool = at(report, "app/__init__.py:13")
    assert pool.unresolved == ["init_app(application, configs[config_name], db=db) (not read)"]
    url = pool.settings["url"]
    assert not url.known and all(branch.expr != NOT_SET for branch in url.branches)


def test_a_timedeltas_total_seconds_is_known(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # dandi-archive: `"CONN_MAX_AGE": timedelta(minutes=10).total_seconds()` was unknown.
    report = scan(
        tmp_path,
        {
            "settings.py": """
            import datetime
            from datetime import timedelta

            DATABASES = {
                "default": {
                    "ENGINE": "django.db.backends.postgresql",
                    "CONN_MAX_AGE": timedelta(minutes=10).total_seconds(),
                    "OPTIONS": {"connect_timeout": datetime.timedelta(0, 5, hours=0).total_seconds()},
                }
            }
            """,
        },
        monkeypatch,
    )
    settings = at(report, "settings.py:5").settings
    assert (settings["CONN_MAX_AGE"].value, settings["CONN_MAX_AGE"].from_) == (600.0, "settings.py:7")
    assert settings["OPTIONS.connect_timeout"].value == 5.0


@pytest.mark.parametrize(
    ("pin", "ping", "url_env"),
    [
        ("Flask-SQLAlchemy==3.1.1", None, None),
        ("flask_sqlalchemy~=2.5", [True], "FLASK_SQLALCHEMY_DATABASE_URI"),
        ("flask", [True, NOT_SET], "FLASK_SQLALCHEMY_DATABASE_URI"),
    ],
)
def test_config_changed_after_init_app_counts_as_the_pinned_flask_sqlalchemy_makes_engines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pin: str, ping: list[object] | None, url_env: str | None
) -> None:
    # openFEC: `db.init_app(app)`, then `app.config.from_prefixed_env()`. Flask-SQLAlchemy 3 (openFEC pins 3.1.1)
    # makes the engines in init_app, so what the config gets later changes nothing; 2 makes them when first
    # used. With no pin, both: pool_pre_ping, set only after the bind, has a branch per version.
    report = scan(
        tmp_path,
        {
            "requirements.txt": pin + "\n",
            "rest.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()

            def create_app():
                app = Flask(__name__)
                app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://prod/db"
                db.init_app(app)
                app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True}
                app.config.from_prefixed_env()
                return app
            """,
        },
        monkeypatch,
    )
    pool = at(report, "rest.py:9")
    assert pool.settings["url"].env == url_env
    found = pool.settings.get("pool_pre_ping")
    if ping is None:
        assert found is None
    else:
        assert found is not None
        assert [b.expr if b.expr == NOT_SET else b.value for b in found.branches or (found,)] == ping


@pytest.mark.parametrize("stub", [True, False])
def test_an_extension_from_a_lazy_loader_package_is_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stub: bool
) -> None:
    # funnel: `from .models import db`, where models/__init__.py is `lazy_loader.attach_stub(__name__, __file__)`
    # and the names come from the .pyi stub beside it (generated at build time, so not always in the tree: then
    # the one module of the package that binds the name). Its migrations only read SQLALCHEMY_BINDS.
    files = {
        "webapp/__init__.py": """
        from flask import Flask

        import sharedlib.app

        app = Flask(__name__)

        from .models import db  # noqa: E402

        # SQLALCHEMY_DATABASE_URI comes from FLASK_SQLALCHEMY_DATABASE_URI
        sharedlib.app.init_app(app, ["env"], env_prefix=["FLASK"])
        db.init_app(app)
        """,
        "webapp/models/__init__.py": """
        import lazy_loader

        __getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
        """,
        "webapp/models/base.py": """
        from flask_sqlalchemy import SQLAlchemy

        db: SQLAlchemy = SQLAlchemy()
        """,
        "webapp/models/user.py": "from .base import db\n\nclass User(db.Model):\n    pass\n",
        "migrations/env.py": """
        from flask import current_app

        binds = current_app.config.get("SQLALCHEMY_BINDS")
        """,
    }
    if stub:
        files["webapp/models/__init__.pyi"] = "from .base import db\n\n__all__ = ['db']\n"
    report = scan(tmp_path, files, monkeypatch)
    pool = at(report, "webapp/__init__.py:11")
    assert pool.unresolved == ["(the app's config: no code of the project writes it)"]


def test_cfenv_credentials_read_their_variable_or_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # openFEC: `env = cfenv.AppEnv()`, `env.get_credential("QUERY_CACHE_SIZE", "100")`. cfenv 0.5.3 gives a bound
    # Cloud Foundry service's credential of that name (none with VCAP_SERVICES unset), else os.getenv(key, default).
    report = scan(
        tmp_path,
        {
            "web/env.py": "import cfenv\n\nenv = cfenv.AppEnv()\n",
            "web/rest.py": """
            import sqlalchemy as sa

            from web.env import env

            engine = sa.create_engine(
                "postgresql://replica/db",
                query_cache_size=int(env.get_credential("QUERY_CACHE_SIZE", "100")),
                pool_pre_ping=bool(env.get_credential("POOL_PRE_PING_BOOL", "False")),
            )
            """,
        },
        monkeypatch,
    )
    settings = at(report, "web/rest.py:5").settings
    assert (settings["query_cache_size"].value, settings["query_cache_size"].env) == (100, "QUERY_CACHE_SIZE")
    assert (settings["pool_pre_ping"].value, settings["pool_pre_ping"].env) == (True, "POOL_PRE_PING_BOOL")


def test_sqlalchemy_helpers_pools_are_named_in_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # anitya, mirrormanager2, fmn: sqlalchemy-helpers 2.0 makes the engine inside itself, its Flask extension from
    # app.config["SQLALCHEMY_DATABASE_URI"] at a request's start, its managers from the URI and engine_args given.
    # The app's only pool went unreported with no word (read in sqlalchemy_helpers/flask_ext.py and manager.py).
    report = scan(
        tmp_path,
        {
            "app/meta.py": """
            from sqlalchemy_helpers import DatabaseExtension

            db = DatabaseExtension()
            """,
            "app/web.py": """
            from flask import Flask

            from app.meta import db

            app = Flask(__name__)
            app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://app@db/app"
            db.init_app(app)
            """,
            "app/tasks.py": """
            from sqlalchemy_helpers.aio import AsyncDatabaseManager

            manager = AsyncDatabaseManager("postgresql://app@db/app", "migrations", engine_args={"pool_size": 5})
            """,
        },
        monkeypatch,
    )
    assert report.pools == []  # (no Flask-SQLAlchemy here: its keys are not read as that extension's)
    assert [w.split(": ", 1)[0] for w in report.warnings] == ["app/meta.py:3", "app/tasks.py:3"]
    assert all("sqlalchemy_helpers" in w and "not reported" in w for w in report.warnings)


def test_c2cwsgiutils_sessions_are_named_in_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # c2cgeoportal's main engines: c2cwsgiutils.db.setup_session(config, "sqlalchemy", "sqlalchemy_slave") makes
    # them with engine_from_config of the Pyramid settings (c2cwsgiutils 6.1's db.py), inside the library.
    report = scan(
        tmp_path,
        {
            "geoportal/__init__.py": """
            import c2cwsgiutils.db
            import c2cwsgiutils.pretty_json

            def includeme(config):
                c2cwsgiutils.pretty_json.init(config)
                session, rw_engine, ro_engine = c2cwsgiutils.db.setup_session(
                    config, "sqlalchemy", "sqlalchemy_slave", force_slave=["POST /api/geo/"]
                )
            """,
        },
        monkeypatch,
    )
    assert report.pools == []
    assert [w.split(": ", 1)[0] for w in report.warnings] == ["geoportal/__init__.py:6"]  # (not pretty_json's init)
    assert "c2cwsgiutils.db.setup_session()" in report.warnings[0]


def test_an_extension_class_given_the_app_and_db_configures_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pgadmin4: `Migrate(app, db)` (Flask-Migrate) is given the app and the extension too, but it is no config
    # loader: a first version read it as one, and every key after it as "may be anything".
    report = scan(
        tmp_path,
        {
            "app.py": """
            import os

            from flask import Flask
            from flask_migrate import Migrate
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()

            def create_app():
                app = Flask(__name__)
                Migrate(app, db)
                if os.getenv("USE_PG"):
                    app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://app@db/app"
                db.init_app(app)
                return app
            """,
        },
        monkeypatch,
    )
    pool = at(report, "app.py:14")
    assert pool.unresolved == []
    assert [b.expr if b.expr == NOT_SET else b.value for b in pool.settings["url"].branches] == [
        NOT_SET,
        "postgresql://app@db/app",
    ]


def test_a_parameter_typed_with_a_dataclass_is_what_its_caller_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Shvatka: `def create_engine(db_config: DBConfig)`, the DBConfig a dependency-injection container makes from
    # config.yml. The parameter was read as DBConfig() with its defaults, so the URL was reported as
    # 'None+None://None:None/None', pool_size 5 and echo False: wrong values. A settings class reads its own.
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/config.py": """
            from dataclasses import dataclass

            from pydantic_settings import BaseSettings

            @dataclass
            class DBConfig:
                host: str | None = None
                name: str | None = None
                pool_size: int = 5

                @property
                def uri(self):
                    return f"postgresql://{self.host}/{self.name}"

            class Settings(BaseSettings):
                pool_size: int = 7
            """,
            "app/factory.py": """
            from sqlalchemy.ext.asyncio import create_async_engine

            from app.config import DBConfig, Settings

            def create_engine(db_config: DBConfig):
                return create_async_engine(db_config.uri, pool_size=db_config.pool_size)

            def create_other(settings: Settings):
                return create_async_engine("postgresql://app@db/app", pool_size=settings.pool_size)
            """,
        },
        monkeypatch,
    )
    pool = at(report, "app/factory.py:6")
    assert not pool.settings["url"].known and not pool.settings["pool_size"].known
    size = at(report, "app/factory.py:9").settings["pool_size"]
    assert (size.value, size.env) == (7, "POOL_SIZE")


def test_a_class_made_through_a_class_attribute_holds_what_its_maker_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # guillotina: the storage makes its connection manager as `self._manager_class(dsn=self._dsn, ...)`, with
    # `_manager_class = ConnManager`; the scan does not follow that call, and reported the manager's __init__
    # defaults as the pool's (dsn None, max_size 13: wrong values). A class nobody names keeps its defaults.
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/storage.py": """
            import asyncpg

            class ConnManager:
                def __init__(self, dsn=None, pool_size=13):
                    self._dsn = dsn
                    self._pool_size = pool_size

                async def initialize(self):
                    self._pool = await asyncpg.create_pool(dsn=self._dsn, max_size=self._pool_size, min_size=1)

            class PgStorage:
                _manager_class = ConnManager

                def __init__(self, dsn=None, pool_size=13):
                    self._dsn, self._pool_size = dsn, pool_size

                async def initialize(self):
                    self._manager = self._manager_class(dsn=self._dsn, pool_size=self._pool_size)
                    await self._manager.initialize()
            """,
        },
        monkeypatch,
    )
    settings = at(report, "app/storage.py:9").settings
    assert not settings["dsn"].known and not settings["max_size"].known
    assert settings["min_size"].value == 1


@pytest.mark.parametrize("optional", [False, True])
def test_a_required_settings_module_the_tree_lacks_may_replace_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, optional: bool
) -> None:
    # seed: dev.py writes DATABASES, then requires config/settings/local_untracked.py (raising without it) and
    # star-imports it; the file is not in the repository (its template replaces DATABASES). The literal values
    # were reported as the app's: wrong values. An import in a `try` that lets it fail leaves them standing.
    importing = (
        "try:\n    from config.settings.local_untracked import *\nexcept ImportError:\n    pass"
        if optional
        else 'spec = importlib.util.find_spec("config.settings.local_untracked")\n'
        'if spec is None:\n    raise Exception("missing local_untracked.py")\n'
        "else:\n    from config.settings.local_untracked import *"
    )
    report = scan(
        tmp_path,
        {
            "config/__init__.py": "",
            "config/settings/__init__.py": "",
            "config/settings/dev.py": "import importlib\n\n"
            'DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "app"}}\n\n' + importing,
        },
        monkeypatch,
    )
    pool = report.pools[0]
    if optional:
        assert (pool.call, pool.settings["NAME"].value) == ("DATABASES['default']", "app")
    else:
        assert pool.settings == {}
        assert pool.unresolved == ["DATABASES (what config.settings.local_untracked sets; the tree lacks it)"]


def test_str_format_with_keywords_and_a_mapping_gives_the_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # reana-db: `"postgresql+psycopg2://{username}@{host}:{port}/{db}".format(username=DB_USERNAME, ...)`, each
    # part an env default; aiohttp-demos: `DSN.format(**CONFIG["postgres"])`. Only positional format was read.
    report = scan(
        tmp_path,
        {
            "config.py": """
            import os

            DB_NAME = os.getenv("APP_DB_NAME", "app")
            PARTS = {"user": "polls", "host": "localhost"}
            URI = os.getenv(
                "APP_DATABASE_URI", "postgresql+psycopg2://{username}@db:{port}/{db}".format(
                    username="app", port=5432, db=DB_NAME
                )
            )
            OTHER = "postgresql://{user}@{host}/polls".format(**PARTS)
            """,
            "db.py": """
            from sqlalchemy import create_engine

            from config import OTHER, URI

            engine = create_engine(URI)
            other = create_engine(OTHER)
            """,
        },
        monkeypatch,
    )
    url = at(report, "db.py:5").settings["url"]
    assert (url.value, url.env) == ("postgresql+psycopg2://app@db:5432/app", "APP_DATABASE_URI")
    assert at(report, "db.py:6").settings["url"].value == "postgresql://polls@localhost/polls"


def test_a_config_folders_module_named_like_the_package_does_not_hide_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pagure: fedmsg.d/pagure.py (a fedmsg config file) is named like the pagure package; a script in files/
    # importing pagure.lib.model_base took it for the package, so every engine made through the package's
    # create_session from outside it (cron jobs, the event server, the milter) was missed.
    report = scan(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/config.py": 'config = {"DB_URL": "postgresql://app@db/app"}\n',
            "pkg/lib/__init__.py": "",
            "pkg/lib/model_base.py": """
            import sqlalchemy

            def create_session(db_url=None, pool_recycle=None):
                return sqlalchemy.create_engine(db_url, pool_recycle=pool_recycle or 3600)
            """,
            "fedmsg.d/pkg.py": 'config = dict(sitename="x")\n',
            "tools/mirror.py": """
            import pkg.config
            import pkg.lib.model_base

            def main():
                return pkg.lib.model_base.create_session(pkg.config.config["DB_URL"])
            """,
        },
        monkeypatch,
    )
    pool = at(report, "tools/mirror.py:5")
    assert (pool.settings["url"].value, pool.settings["pool_recycle"].value) == ("postgresql://app@db/app", 3600)


def test_a_pool_made_in_a_lambda_of_a_method_is_not_given_init_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # openmaptiles-tools' tile server shape: `io_loop.run_sync(lambda: create_pool(host=self.host, ...))` in a
    # method of a class the app makes as `Server(host="db")`. The lambda broke the link to that instance, and
    # __init__'s default host 'localhost' was reported: a wrong value.
    report = scan(
        tmp_path,
        {
            "srv/serve.py": """
            from asyncpg import create_pool
            from tornado.ioloop import IOLoop

            class Server:
                def __init__(self, host="localhost"):
                    self.host = host

                def serve(self):
                    self.pool = IOLoop.current().run_sync(lambda: create_pool(host=self.host, max_size=4))

            def main():
                Server(host="db").serve()
            """,
        },
        monkeypatch,
    )
    settings = at(report, "srv/serve.py:9").settings
    # (round 23: the one Server the app makes gives it, "db")
    assert (settings["host"].value, settings["host"].from_, settings["max_size"].value) == ("db", "srv/serve.py:12", 4)


def test_a_partial_of_a_pool_call_handed_to_another_call_is_a_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # openmaptiles-tools' tile server: `io_loop.run_sync(partial(create_pool, dsn=..., max_size=4))`, its one
    # long-lived pool, made by the library the partial is handed to; it was missed.
    report = scan(
        tmp_path,
        {
            "srv/serve.py": """
            from functools import partial

            from asyncpg import create_pool
            from tornado.ioloop import IOLoop

            def serve(dsn):
                pool = IOLoop.current().run_sync(partial(create_pool, dsn=dsn, max_size=4))
                return pool
            """,
        },
        monkeypatch,
    )
    pool = at(report, "srv/serve.py:7")
    assert (pool.stack, pool.settings["max_size"].value) == ("asyncpg", 4)


def test_envparse_reads_a_variable_or_its_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # open-event-server: `from envparse import env`, `env("DATABASE_URL", default=...)`, `env.int(...)`,
    # `env.bool(...)` (envparse 0.2: the default as given when the variable is unset).
    report = scan(
        tmp_path,
        {
            "settings.py": """
            from envparse import env
            from sqlalchemy import create_engine

            env.read_envfile()
            URL = env("DATABASE_URL", default="postgresql://localhost/app")
            engine = create_engine(
                URL, pool_size=env.int("DB_POOL_SIZE", default=10), pool_pre_ping=env.bool("DB_PRE_PING", default=True)
            )
            """,
        },
        monkeypatch,
    )
    settings = at(report, "settings.py:6").settings
    assert {key: (value.value, value.env) for key, value in settings.items()} == {
        "url": ("postgresql://localhost/app", "DATABASE_URL"),
        "pool_size": (10, "DB_POOL_SIZE"),
        "pool_pre_ping": (True, "DB_PRE_PING"),
    }


def test_round_of_a_value_under_a_test_rounds_each_branch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # eventsourcing: `max_waiting=round(pool_timeout)`, pool_timeout 30.0 unless POSTGRES_POOL_TIMEOUT is set.
    report = scan(
        tmp_path,
        {
            "db.py": """
            import os

            from psycopg_pool import ConnectionPool

            pool_timeout = 30.0
            given = os.environ.get("POSTGRES_POOL_TIMEOUT")
            if given:
                pool_timeout = float(given)
            pool = ConnectionPool("dbname=app", max_waiting=round(pool_timeout), open=False)
            """,
        },
        monkeypatch,
    )
    waiting = at(report, "db.py:9").settings["max_waiting"]
    assert (waiting.value, waiting.env) == (30, "POSTGRES_POOL_TIMEOUT")


def test_a_subclass_init_app_that_also_sets_a_key_is_the_bind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # jazzband/website: the extension is a project subclass whose init_app calls super().init_app(app) and then
    # sets a key of its own; its call was read as a helper that configures the app, not as the bind, so the engine
    # was placed at the config load.
    report = scan(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/config.py": 'SQLALCHEMY_DATABASE_URI = "postgresql://postgres@db/postgres"\n',
            "pkg/db.py": """
            from flask_sqlalchemy import SQLAlchemy

            class AppSQLAlchemy(SQLAlchemy):
                def init_app(self, app):
                    super().init_app(app)
                    app.config.setdefault("SQLALCHEMY_NESTED_TRANSACTION", False)

            db = AppSQLAlchemy()
            """,
            "pkg/factory.py": """
            from flask import Flask

            from .db import db

            def create_app():
                app = Flask("pkg")
                app.config.from_object("pkg.config")
                db.init_app(app)
                return app
            """,
        },
        monkeypatch,
    )
    assert [(pool.where, pool.settings["url"].value) for pool in report.pools] == [
        ("pkg/factory.py:8", "postgresql://postgres@db/postgres")
    ]


def test_a_class_own_getattr_is_not_run_for_an_instance_an_unseen_caller_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # meltano: settings services typed as parameters, whose __getattr__ reads other attributes through
    # __getattr__ again; run for instances made by callers the scan does not see, each read multiplied and the
    # scan timed out. What such an instance's __getattr__ gives depends on what it was made with: unknown.
    report = scan(
        tmp_path,
        {
            "app.py": """
            from sqlalchemy import create_engine

            class Settings:
                def __init__(self, project):
                    self.project = project

                def __getattr__(self, name):
                    return self.get(name)

                def get(self, name):
                    return {"pool_size": 5}.get(name)

            def make(settings: Settings):
                return create_engine("postgresql://app@db/app", pool_size=settings.pool_size)
            """,
        },
        monkeypatch,
    )
    assert not at(report, "app.py:14").settings["pool_size"].known
