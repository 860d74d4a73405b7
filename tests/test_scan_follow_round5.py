"""`scan_path` following values the way real projects spread them (issue 29), continued from
test_scan_follow_round4.py: shapes found on held-out projects after that file's. Each project is a few small
files written here (never a copy of a real one); line numbers in the assertions are the fixtures' own."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_scan import scan

TIMESKETCH_APP = """
from flask import Flask
from flask_login import LoginManager
from app.models import configure_engine

login_manager = LoginManager()

def create_app(config=None):
    app = Flask(__name__)
    if config is None:
        app.config.from_envvar("APP_SETTINGS")
    else:
        app.config.from_object(config)
    configure_engine(app.config["SQLALCHEMY_DATABASE_URI"], app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}))
    login_manager.init_app(app)
    {bind}
    return app
"""


@pytest.mark.parametrize(
    ("bind", "flask_pools"),
    [
        ("", []),  # nothing binds Flask-SQLAlchemy's extension: its keys are the project's own engine's
        # from outside the project: it may be the extension (at the load the app's one call takes: create_app's
        # caller gives a config, so `if config is None:` is decided; round 7)
        ("shared_db.init_app(app)", ["app/__init__.py:13"]),
    ],
)
def test_a_project_that_never_makes_the_flask_sqlalchemy_extension_has_no_flask_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bind: str, flask_pools: list[str]
) -> None:
    # timesketch imports flask_sqlalchemy for its Query class only and builds its engine itself from
    # app.config; a config class its tests hand to create_app was reported as a Flask-SQLAlchemy pool.
    report = scan(
        tmp_path,
        {
            "app/__init__.py": TIMESKETCH_APP.replace("{bind}", bind).replace(
                "from flask import Flask", "from flask import Flask\nfrom shared import shared_db"
            ),
            "app/models.py": """
            from flask_sqlalchemy.query import Query
            from sqlalchemy import create_engine

            def configure_engine(url, engine_options):
                if "pool_pre_ping" not in engine_options:
                    engine_options["pool_pre_ping"] = True
                return create_engine(url, future=True, query_cls=Query, **engine_options)
            """,
            "testlib.py": """
            from app import create_app

            class TestConfig:
                SQLALCHEMY_DATABASE_URI = "postgresql://localhost/test"

            def make_app():
                return create_app(TestConfig)
            """,
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools if p.stack == "flask_sqlalchemy"] == flask_pools
    assert [p.stack for p in report.pools if p.stack != "flask_sqlalchemy"] == ["sqlalchemy"]


def test_an_extension_made_again_for_an_app_another_module_binds_is_one_more_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # security_monkey's maintenance function makes a second `SQLAlchemy(app=app)` for the app its package
    # configures and binds: one more engine with that configuration (was: missed).
    (tmp_path / "requirements.txt").write_text("Flask-SQLAlchemy==2.5.1\n")  # (2.x reads SQLALCHEMY_POOL_*)
    report = scan(
        tmp_path,
        {
            "web/__init__.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            app = Flask(__name__)
            app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://web@db/web"
            app.config["SQLALCHEMY_POOL_SIZE"] = 50
            db = SQLAlchemy(app)
            """,
            "web/datastore.py": """
            from flask_sqlalchemy import SQLAlchemy
            from web import app

            def purge():
                db = SQLAlchemy(app=app, session_options={"autoflush": False})
                db.session.execute("DELETE FROM revision")
            """,
        },
        monkeypatch,
    )
    pools = {p.where: {k: v.value for k, v in p.settings.items()} for p in report.pools}
    assert pools == {
        "web/__init__.py:7": {"url": "postgresql://web@db/web", "pool_size": 50},
        "web/datastore.py:5": {"url": "postgresql://web@db/web", "pool_size": 50},
    }


def test_keys_flasks_prefixed_variables_override_are_theirs_for_the_projects_own_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `app.config.from_prefixed_env()` after a key is set: FLASK_<KEY> replaces it, also where the project's own
    # create_engine reads it (timesketch); a prefix given is that prefix.
    report = scan(
        tmp_path,
        {
            "app.py": """
            from flask import Flask
            from sqlalchemy import create_engine

            def create_app():
                app = Flask(__name__)
                app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://localhost/app"
                app.config["POOL_SIZE"] = 5
                app.config.from_prefixed_env(prefix="TS")
                return create_engine(app.config["SQLALCHEMY_DATABASE_URI"], pool_size=app.config["POOL_SIZE"])
            """,
        },
        monkeypatch,
    )
    settings = report.pools[0].settings
    assert (settings["url"].value, settings["url"].from_, settings["url"].env) == (
        "postgresql://localhost/app",
        "app.py:6",
        "TS_SQLALCHEMY_DATABASE_URI",
    )
    assert (settings["pool_size"].value, settings["pool_size"].env) == (5, "TS_POOL_SIZE")


def test_the_side_of_a_conditional_expression_only_a_set_variable_takes_reads_it_as_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # FitTrackee's `f"_{os.getenv('W')}" if os.getenv("W") else ""`: where W is set the suffix is W's value,
    # never its default None (was: a known 'postgresql://db/app_None').
    report = scan(
        tmp_path,
        {
            "app.py": """
            import os
            from sqlalchemy import create_engine

            SUFFIX = f"_{os.getenv('WORKER')}" if os.getenv("WORKER") else ""
            engine = create_engine("postgresql://db/app" + SUFFIX, pool_size=5)
            """,
        },
        monkeypatch,
    )
    url = report.pools[0].settings["url"]
    assert (url.value, url.env) == ("postgresql://db/app", "WORKER")
    assert [(b.known, b.value) for b in url.branches] == [(True, "postgresql://db/app"), (False, None)]


@pytest.mark.parametrize(
    ("file", "text"),
    [
        # FitTrackee's tests load another class into the app fixture to check its values
        (
            "web/tests/test_config.py",
            """
            class DevelopmentConfig:
                SQLALCHEMY_DATABASE_URI = "postgresql://localhost/dev"

            def test_dev_config(app):
                app.config.from_object(DevelopmentConfig)
                assert app.config["DEBUG"]
            """,
        ),
        # faraday's initdb points the running app at another URL before create_all (no engine of its own)
        (
            "web/initdb.py",
            """
            from flask import current_app
            from web import db

            def create_tables(conn_string):
                current_app.config["SQLALCHEMY_DATABASE_URI"] = conn_string
                db.create_all()
            """,
        ),
    ],
)
def test_a_tests_or_a_running_apps_config_changed_without_a_bind_is_no_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, file: str, text: str
) -> None:
    report = scan(
        tmp_path,
        {
            "web/__init__.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()

            def create_app():
                app = Flask(__name__)
                app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://db/app"
                app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": 20}
                db.init_app(app)
                return app
            """,
            file: text,
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["web/__init__.py:10"]


@pytest.mark.parametrize(
    ("bind", "models", "where"),
    [
        # Mailu: the extension reached through its module
        ("models.db.init_app(app)", "from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n", "web/app.py:8"),
        # PowerDNS-Admin: a helper named init_app, which binds it
        (
            "models.init_app(app)",
            "from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n\ndef init_app(app):\n    db.init_app(app)\n",
            "web/models.py:6",
        ),
    ],
)
def test_the_engine_is_placed_where_the_extension_is_bound_through_a_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bind: str, models: str, where: str
) -> None:
    report = scan(
        tmp_path,
        {
            "web/__init__.py": "",
            "web/models.py": models,
            "web/app.py": f"""
            import flask
            from web import models

            def create_app():
                app = flask.Flask(__name__)
                app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://db/app"
                app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {{"pool_size": 5}}
                {bind}
                return app
            """,
        },
        monkeypatch,
    )
    assert [(p.where, p.settings["pool_size"].value) for p in report.pools] == [(where, 5)]


def test_an_app_configured_by_a_helper_object_and_bound_beside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Mailu: create_app only calls `config.init_app(app)` (a config manager that fills app.config from a
    # defaults dict and the environment, `app.config.update(self.config)`) and `db.init_app(app)`: the engine is
    # at the bind, its URL the defaults' (was: no pool at all).
    report = scan(
        tmp_path,
        {
            "web/__init__.py": """
            import flask
            from web import configuration
            from web.models import db

            def create_app():
                config = configuration.ConfigManager()
                app = flask.Flask(__name__)
                config.init_app(app)
                db.init_app(app)
                return app
            """,
            "web/configuration.py": """
            import os

            DEFAULT_CONFIG = {"DEBUG": False, "SQLALCHEMY_DATABASE_URI": "postgresql://app@database/app"}

            class ConfigManager:
                def __init__(self):
                    self.config = dict()

                def init_app(self, app):
                    self.config.update(app.config)
                    self.config.update({key: os.environ.get(key, value) for key, value in DEFAULT_CONFIG.items()})
                    app.config.update(self.config)
            """,
            "web/models.py": "from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n",
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["web/__init__.py:9"]
    url = report.pools[0].settings["url"]
    assert (url.value, url.from_, url.env) == (
        "postgresql://app@database/app",
        "web/configuration.py:3",
        "SQLALCHEMY_DATABASE_URI",
    )


def test_an_instance_of_a_dict_subclass_its_own_methods_fill_is_not_an_empty_dict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # bodhi's config is a dict subclass that loads its defaults on first access: engine_from_config(config.copy())
    # had a known empty configuration, so url and pool_size were silently absent, with nothing unresolved.
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/config.py": """
            class AppConfig(dict):
                _defaults = {"sqlalchemy.url": "postgresql://localhost/app", "sqlalchemy.pool_size": 7}

                def copy(self):
                    self.update(self._defaults)
                    return super().copy()

            config = AppConfig()
            """,
            "app/db.py": """
            from sqlalchemy import engine_from_config
            from app.config import config

            engine = engine_from_config(config.copy(), "sqlalchemy.")
            """,
        },
        monkeypatch,
    )
    assert report.pools[0].unresolved == ["configuration: config.copy()"]


def test_an_alembic_url_set_only_when_a_variable_is_keeps_the_ini_value_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SurfSense's env.py: `if database_url: config.set_main_option("sqlalchemy.url", database_url)`; was a
    # known None on both sides (the ini's URL lost).
    report = scan(
        tmp_path,
        {
            "alembic.ini": "[alembic]\nscript_location = alembic\nsqlalchemy.url = postgresql://app@localhost/app\n",
            "alembic/env.py": """
            import os
            from alembic import context
            from sqlalchemy import engine_from_config, pool

            config = context.config
            database_url = os.getenv("DATABASE_URL")
            if database_url:
                config.set_main_option("sqlalchemy.url", database_url)

            def run_migrations_online():
                engine = engine_from_config(
                    config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
                )
            """,
        },
        monkeypatch,
    )
    url = report.pools[0].settings["url"]
    assert (url.value, url.from_, url.env) == ("postgresql://app@localhost/app", "alembic.ini:3", "DATABASE_URL")
    assert [(b.value, b.known, b.env) for b in url.branches] == [
        ("postgresql://app@localhost/app", True, None),
        (None, False, "DATABASE_URL"),
    ]


def test_where_each_operand_of_an_and_holds_a_default_that_takes_that_side_stays_known(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `if MS > 0 and URL:` is taken only with URL set; MS's default 900000 takes it as well, so a later
    # `str(MS)` under `if URL:` is '900000' (was: '?' there, and '900000' on the side where MS <= 0).
    report = scan(
        tmp_path,
        {
            "db.py": """
            import os
            from sqlalchemy import create_engine

            MS = int(os.getenv("IDLE_MS", "900000"))
            URL = os.getenv("DATABASE_URL")

            def build_connect_args():
                args = {}
                if MS > 0 and URL:
                    args["a"] = 1
                if URL:
                    args["timeout_ms"] = str(MS)
                return args

            engine = create_engine("postgresql://app@db/app", connect_args=build_connect_args())
            """,
        },
        monkeypatch,
    )
    timeout = report.pools[0].settings["connect_args.timeout_ms"]
    assert [(b.value, b.when) for b in timeout.branches] == [(None, "not (URL)"), ("900000", "URL")]


@pytest.mark.parametrize("call", ["create_pool", "create_pool_b"])
def test_buildpgs_asyncpg_module_makes_asyncpg_pools(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call: str
) -> None:
    # stac-fastapi-pgstac: `from buildpg import asyncpg` is asyncpg re-exported (was: no pool in the project)
    report = scan(
        tmp_path,
        {
            "db.py": f"""
            from buildpg import asyncpg

            async def connect(dsn):
                return await asyncpg.{call}(dsn, min_size=1, max_inactive_connection_lifetime=300)
            """,
        },
        monkeypatch,
    )
    (pool,) = report.pools
    assert (pool.stack, pool.call) == ("asyncpg", f"buildpg.asyncpg.{call}")
    assert pool.settings["min_size"].value == 1


@pytest.mark.parametrize("env_class", ["Env", "FileAwareEnv"])
def test_environs_reads_each_variable_with_its_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env_class: str
) -> None:
    # environs (pgsync, bookwyrm): `env("X", default)` takes the default second (django-environ takes a cast
    # there); a default is handed back as given (environs 15.2: env.bool("X", "yes") is 'yes'), a variable's
    # text is cast, and a word marshmallow's Boolean does not know is an error: unknown.
    report = scan(
        tmp_path,
        {
            ".env": "TEST_DB=maybe\n",
            "settings.py": f"""
            from environs import {env_class}

            env = {env_class}()
            env.read_env()
            DATABASES = {{
                "default": {{
                    "ENGINE": "django.db.backends.postgresql",
                    "NAME": env("POSTGRES_DB", "app"),
                    "PORT": env.int("PGPORT", 5432),
                    "CONN_MAX_AGE": env.int("CONN_MAX_AGE", default=60),
                    "CONN_HEALTH_CHECKS": env.bool("HEALTH_CHECKS", "yes"),
                    "DISABLE_SERVER_SIDE_CURSORS": env.bool("NO_CURSORS", False),
                    "TEST": {{"NAME": env.bool("TEST_DB", "no")}},
                }}
            }}
            """,
        },
        monkeypatch,
    )
    settings = report.pools[0].settings
    got = {key: (value.value, value.known, value.env) for key, value in settings.items() if key != "ENGINE"}
    assert got == {
        "NAME": ("app", True, "POSTGRES_DB"),
        "PORT": (5432, True, "PGPORT"),
        "CONN_MAX_AGE": (60, True, "CONN_MAX_AGE"),
        "CONN_HEALTH_CHECKS": ("yes", True, "HEALTH_CHECKS"),
        "DISABLE_SERVER_SIDE_CURSORS": (False, True, "NO_CURSORS"),
        "TEST.NAME": (None, False, "TEST_DB"),
    }


def _branchy_job(blocks: int) -> str:
    """bunkerweb's job scripts' shape: a dict whose values each block reads and sets again under tests."""
    lines = [
        "from os import getenv",
        "from app.db import Database",
        "",
        "db = Database(getenv('DATABASE_URI', 'postgresql://db/app'))",
        "key = getenv('LICENSE_KEY', '')",
        "metadata = {'is_pro': False, 'status': 'invalid', 'services': 0, 'overlapped': False}",
        "db_metadata = db.get_metadata()",
    ]
    for i in range(blocks):
        lines += [
            f"if key and db_metadata.get('f{i}'):",
            "    metadata['is_pro'] = db_metadata['is_pro'] == 'yes'",
            "    metadata['status'] = 'active' if metadata['is_pro'] else 'expired'",
            f"    if metadata['is_pro'] and metadata['services'] < {i}:",
            "        metadata['overlapped'] = True",
            "        if db.set_metadata(metadata):",
            "            db_metadata = db.get_metadata()",
            "elif metadata['overlapped']:",
            f"    metadata['services'] = {i}",
        ]
    return "\n".join(lines) + "\n"


def test_a_script_of_many_branchy_blocks_is_followed_within_the_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # bunkerweb: each block read what the one before left, and a value with branches was settled again at each
    # read, so the scan's work tripled with every block and never ended (now each is settled once, and a
    # condition past MAX_TESTS tests is read as one test); the module is not skipped as too costly.
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/db.py": """
            from sqlalchemy import create_engine

            class Database:
                def __init__(self, url):
                    self.engine = create_engine(url, pool_pre_ping=True)

                def get_metadata(self):
                    return {}

                def set_metadata(self, metadata):
                    return None
            """,
            "app/job.py": _branchy_job(30),
        },
        monkeypatch,
    )
    assert report.warnings == []
    assert [(p.where, p.settings["url"].value) for p in report.pools] == [("app/job.py:4", "postgresql://db/app")]


def test_a_module_past_the_budget_is_a_warning_and_the_scan_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pool_doctor.scan.kinds.MAX_STEPS", 8)  # the seam: how much one module may cost
    report = scan(
        tmp_path,
        {
            "a.py": "import os\nfrom sqlalchemy import create_engine\n\n"
            + "".join(f"X{i} = os.getenv('X{i}', '{i}')\n" for i in range(30))
            + "engine = create_engine(X29, pool_size=int(X28))\n",
            "b.py": "from sqlalchemy import create_engine\n\nengine = create_engine('postgresql://db/b')\n",
        },
        monkeypatch,
    )
    assert any(w.startswith("a.py: too costly to follow (more than 8 expressions)") for w in report.warnings)
    assert [p.where for p in report.pools] == ["b.py:3"]


def test_math_floor_and_ceil_of_known_numbers_are_known(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # agenta sizes its pools from the server's memory with `floor(...)` (was: unknown)
    report = scan(
        tmp_path,
        {
            "engine.py": """
            import math
            from math import floor
            from sqlalchemy import create_engine

            CONNECTIONS = floor(5000 * 0.9 / 8)
            engine = create_engine(
                "postgresql://db/app", pool_size=floor(CONNECTIONS * 0.25), max_overflow=math.ceil(10.2)
            )
            """,
        },
        monkeypatch,
    )
    settings = report.pools[0].settings
    assert (settings["pool_size"].value, settings["max_overflow"].value) == (140, 11)


def test_fields_a_model_validator_refuses_at_their_defaults_are_their_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Hyperion: empty defaults and an after-validator that raises unless SQLITE_DB or every POSTGRES_* is set;
    # the URL built from the defaults ('postgresql+asyncpg://:***@/') can never reach create_engine.
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/config.py": """
            from pydantic import model_validator
            from pydantic_settings import BaseSettings

            class Settings(BaseSettings):
                SQLITE_DB: str | None = None
                POSTGRES_HOST: str = ""
                POSTGRES_USER: str = ""
                POSTGRES_DB: str = ""
                POOL_SIZE: int = 7

                @model_validator(mode="after")
                def check_database_settings(self) -> "Settings":
                    if not (self.SQLITE_DB or (self.POSTGRES_HOST and self.POSTGRES_USER and self.POSTGRES_DB)):
                        raise ValueError("Either SQLITE_DB or POSTGRES_HOST, POSTGRES_USER and POSTGRES_DB")
                    return self
            """,
            "app/state.py": """
            from sqlalchemy import create_engine
            from app.config import Settings

            settings = Settings()
            url = f"postgresql://{settings.POSTGRES_USER}@{settings.POSTGRES_HOST}/{settings.POSTGRES_DB}"
            engine = create_engine(url, pool_size=settings.POOL_SIZE)
            """,
        },
        monkeypatch,
    )
    settings = report.pools[0].settings
    assert (settings["url"].known, settings["url"].env) == (False, "POSTGRES_USER")
    assert (settings["pool_size"].value, settings["pool_size"].env) == (7, "POOL_SIZE")  # not read by the test


def test_a_factory_whose_helpers_configure_and_bind_the_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # ihatemoney: create_app calls load_configuration(app) (defaults, then a file chosen under an if) and
    # setup_database(app), which reads app.config before its db.init_app(app); another extension's init_app
    # sits between them. One engine, at the bind, with the defaults and the loads it cannot read.
    report = scan(
        tmp_path,
        {
            "web/__init__.py": "",
            "web/default_settings.py": 'SQLALCHEMY_DATABASE_URI = "sqlite:////tmp/web.db"\n',
            "web/models.py": "from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n",
            "web/run.py": """
            import os
            from flask import Flask
            from flask_mail import Mail
            from web.models import db

            mail = Mail()

            def setup_database(app):
                url = app.config.get("SQLALCHEMY_DATABASE_URI")
                db.init_app(app)

            def load_configuration(app, configuration=None):
                env_config = os.environ.get("WEB_SETTINGS_FILE_PATH")
                app.config.from_object("web.default_settings")
                if configuration:
                    app.config.from_object(configuration)
                elif env_config:
                    app.config.from_pyfile(env_config)

            def create_app(configuration=None):
                app = Flask(__name__)
                load_configuration(app, configuration)
                mail.init_app(app)
                setup_database(app)
                return app
            """,
        },
        monkeypatch,
    )
    (pool,) = report.pools
    assert (pool.where, pool.settings["url"].value) == ("web/run.py:10", "sqlite:////tmp/web.db")
    # `if configuration:` is decided (the app's create_app() gives none; round 7): that load never runs
    assert pool.unresolved == ["app.config.from_pyfile(env_config) (not read)"]


def test_a_dsn_pydantic_builds_with_no_host_is_unknown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # tipg: a field validator builds the DSN from fields that default to None; PostgresDsn.build raises with
    # host None or "" (pydantic 2.13.4: "expected either `host` or `hosts` to be set"), so no app runs with
    # the known 'postgresql://' the scan gave.
    report = scan(
        tmp_path,
        {
            "settings.py": """
            from typing import Optional
            from pydantic import PostgresDsn, ValidationInfo, field_validator
            from pydantic_settings import BaseSettings

            class Settings(BaseSettings):
                postgres_user: Optional[str] = None
                postgres_host: Optional[str] = None
                database_url: Optional[PostgresDsn] = None

                @field_validator("database_url", mode="before")
                def assemble(cls, v, info: ValidationInfo):
                    if isinstance(v, str):
                        return PostgresDsn(v)
                    return PostgresDsn.build(
                        scheme="postgresql", username=info.data.get("postgres_user"), host=info.data.get("postgres_host", "")
                    )
            """,
            "db.py": """
            import asyncpg
            from settings import Settings

            async def connect():
                return await asyncpg.create_pool(str(Settings().database_url), min_size=1)
            """,
        },
        monkeypatch,
    )
    dsn = report.pools[0].settings["dsn"]
    assert (dsn.known, dsn.env) == (False, "DATABASE_URL")


def test_str_find_of_a_known_text_is_worked_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Kiwi: `if DATABASES["default"]["ENGINE"].find("postgresql") > -1:` picks PostgreSQL's options (was unknown)
    report = scan(
        tmp_path,
        {
            "settings.py": """
            import os

            DATABASES = {"default": {"ENGINE": os.environ.get("DB_ENGINE", "django.db.backends.postgresql")}}
            if DATABASES["default"]["ENGINE"].find("postgresql") > -1:
                DATABASES["default"]["CONN_MAX_AGE"] = 60
            """,
        },
        monkeypatch,
    )
    age = report.pools[0].settings["CONN_MAX_AGE"]
    assert (age.known, age.value) == (True, 60)
