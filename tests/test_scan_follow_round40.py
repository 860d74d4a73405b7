"""`scan_path` following values the way real projects spread them (issue 29), continued from
test_scan_follow_round37.py (the open cases of held-out round 40). Each project is a few small files written
here (never a copy of a real one); line numbers in the assertions are the fixtures' own."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_scan import at, scan


def test_a_config_package_that_star_imports_a_module_gives_flask_its_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # webcompat: `app.config.from_object("config")`, a package whose __init__ is `from config.environment import *`
    files = {
        "app/__init__.py": """
            from flask import Flask

            app = Flask(__name__)
            app.config.from_object("config")
        """,
        "app/db.py": """
            import os

            from sqlalchemy import create_engine

            from app import app

            engine = create_engine("sqlite:///" + os.path.join(app.config["DATA_PATH"], "session.db"))
        """,
        "config/__init__.py": "from config.environment import *  # noqa: F403\n",
        "config/environment.py": """
            import os

            BASE_DIR = os.path.dirname(os.path.abspath(__file__))
            DATA_PATH = os.path.join(BASE_DIR, "data")
        """,
    }
    url = at(scan(tmp_path, files, monkeypatch), "app/db.py:7").settings["url"]
    assert url.known and str(url.value).endswith("/config/data/session.db"), url


@pytest.mark.parametrize(
    ("written", "folder"),
    [("os.pardir", "/data"), ("os.path.pardir", "/data"), ("os.curdir", "/pkg/data")],
)
def test_the_standard_librarys_path_constants(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, written: str, folder: str
) -> None:
    # webcompat's `os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))`
    files = {
        "pkg/db.py": f"""
            import os

            from sqlalchemy import create_engine

            BASE_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), {written}))
            engine = create_engine("sqlite:///" + os.path.join(BASE_DIR, "data", "app.db"))
        """,
    }
    url = at(scan(tmp_path, files, monkeypatch), "pkg/db.py:6").settings["url"]
    assert url.known and url.value == f"sqlite:///{tmp_path.resolve()}{folder}/app.db", url


def test_flask_sqlalchemy_lite_makes_one_engine_per_entry_over_the_extensions_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # funding-service: flask_sqlalchemy_lite 0.2.1 (_make.py `_make_engines`) makes each SQLALCHEMY_ENGINES and
    # SQLALCHEMY_ASYNC_ENGINES entry (a URL, or a dict of engine_from_config's options with "url") an engine, over
    # the extension's engine_options
    files = {
        "app/extensions.py": """
            from flask_sqlalchemy_lite import SQLAlchemy

            db = SQLAlchemy(engine_options={"echo": False, "connect_args": {"prepare_threshold": None}})
        """,
        "app/config.py": """
            import os


            class Config:
                SQLALCHEMY_ENGINES = {
                    "default": os.getenv("DATABASE_URL", "postgresql+psycopg://app@localhost/funding"),
                    "reports": {
                        "url": "postgresql+psycopg://app@localhost/reports",
                        "pool_pre_ping": True,
                    },
                }
                SQLALCHEMY_ASYNC_ENGINES = {"default": "postgresql+asyncpg://app@localhost/funding"}
        """,
        "app/__init__.py": """
            from flask import Flask

            from app.config import Config
            from app.extensions import db


            def create_app():
                app = Flask(__name__)
                app.config.from_object(Config)
                db.init_app(app)
                return app
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert {(p.where, p.call) for p in report.pools} == {
        ("app/config.py:6", "SQLALCHEMY_ENGINES['default']"),
        ("app/config.py:7", "SQLALCHEMY_ENGINES['reports']"),
        ("app/config.py:12", "SQLALCHEMY_ASYNC_ENGINES['default']"),
    }
    default = at(report, "app/config.py:6").settings
    assert (default["url"].value, default["url"].env) == ("postgresql+psycopg://app@localhost/funding", "DATABASE_URL")
    assert default["connect_args.prepare_threshold"].value is None and default["connect_args.prepare_threshold"].known
    reports = at(report, "app/config.py:7")
    assert (reports.end_line, reports.settings["pool_pre_ping"].value) == (10, True)
    assert at(report, "app/config.py:12").settings["url"].value == "postgresql+asyncpg://app@localhost/funding"


def test_a_tests_app_made_by_the_apps_factory_leaves_the_factorys_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ECS-Discord-Bot: a session fixture calls create_app() and changes the config it made; the factory (which
    # binds the extension through a helper) is still the app's engine
    files = {
        "web_config.py": """
            import os


            class Config:
                SQLALCHEMY_DATABASE_URI = os.getenv("DATABASE_URL")
                SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "pool_recycle": 1800}
        """,
        "app/core.py": "from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n",
        "app/setup.py": """
            def init_database(app, db):
                db.init_app(app)
        """,
        "app/__init__.py": """
            from flask import Flask

            from app.core import db
            from app.setup import init_database


            def create_app(config_object="web_config.Config"):
                app = Flask(__name__)
                app.config.from_object(config_object)
                init_database(app, db)
                return app
        """,
        "tests/conftest.py": """
            import pytest

            from app import create_app


            @pytest.fixture
            def app():
                app = create_app("web_config.Config")
                app.config.update({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
                yield app
        """,
        "wsgi.py": "from app import create_app\n\napplication = create_app()\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    pool = at(report, "app/__init__.py:9")
    assert (pool.settings["pool_recycle"].value, pool.settings["url"].env) == (1800, "DATABASE_URL")


PASS_THROUGH = """
import time

from sqlalchemy import create_engine


def create_engine_with_retry(*args, **kwargs):
    \"\"\"create_engine_with_retry: create_engine, tried three times.\"\"\"
    for attempt in range(3):
        try:
            return create_engine(*args, **kwargs)
        except Exception:
            time.sleep(1)
"""


@pytest.mark.parametrize(
    ("elsewhere", "pools"),
    [
        ({}, []),  # named by nothing but its own docstring: no pool of its own
        ({"app/registry.py": "from app import pool\n\nMAKERS = {'retry': pool.create_engine_with_retry}\n"}, [10]),
        ({"app/__init__.py": "__all__ = ['create_engine_with_retry']\n"}, [10]),
        # a test's call alone: the tests' pool, at their call (a review's case: the wrapper's came back)
        (
            {
                "tests/test_db.py": "from app.pool import create_engine_with_retry\n\nE = create_engine_with_retry('sqlite://')\n"
            },
            [],
        ),
    ],
)
def test_a_pass_through_wrapper_nothing_names_makes_no_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, elsewhere: dict[str, str], pools: list[int]
) -> None:
    # ECS-Discord-Bot's create_engine_with_retry(*args, **kwargs): nothing calls it
    files = {"app/__init__.py": "", "app/pool.py": PASS_THROUGH, **elsewhere}
    report = scan(tmp_path, files, monkeypatch)
    assert [p.line for p in report.pools if p.file == "app/pool.py"] == pools


@pytest.mark.parametrize(
    ("spread", "expected"),
    [
        ("yaml.safe_load(open(path))['general']", None),  # a file named at run time: any field may be in it
        ("{'sql_url': 'postgresql://app@db/app'}", "postgresql://app@db/app"),
        ("{'echo': True}", "sqlite://"),  # a dict the scan reads all of: the other fields keep their defaults
    ],
)
def test_a_models_fields_a_spread_it_cannot_read_may_set_are_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spread: str, expected: str | None
) -> None:
    # tnoff/discord-bot: `GeneralConfig(**settings["general"])` of a YAML file; its default None made the
    # engine's `if not config.sql_url: return None` certain, and the pool was lost
    files = {
        "bot/config.py": """
            from pydantic import BaseModel


            class GeneralConfig(BaseModel):
                sql_url: str | None = "sqlite://"
                echo: bool = False
        """,
        "bot/db.py": f"""
            import sys

            import yaml
            from sqlalchemy import create_engine

            from bot.config import GeneralConfig

            path = sys.argv[1]
            config = GeneralConfig(**{spread})
            engine = create_engine(config.sql_url)
        """,
    }
    url = at(scan(tmp_path, files, monkeypatch), "bot/db.py:10").settings["url"]
    assert (url.value if url.known else None) == expected, url
    assert url.known is (expected is not None)


@pytest.mark.parametrize(
    "start",
    [
        'multiprocessing.get_context("fork").Process(target=starter, kwargs={"db_url": URL}, daemon=True)',
        "threading.Thread(target=starter, args=(URL,))",
    ],
)
def test_a_process_or_threads_target_is_called_with_its_arguments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start: str
) -> None:
    # parsl: `SpawnProcess(target=dbm_starter, kwargs={"db_url": self.logging_endpoint})`; the engine's URL was
    # "db_url (not given)"
    files = {
        "mon/db.py": """
            from sqlalchemy import create_engine


            def starter(db_url="sqlite://"):
                engine = create_engine(db_url)
                engine.dispose()
        """,
        "mon/hub.py": f"""
            import multiprocessing
            import threading

            from mon.db import starter

            URL = "postgresql://app@db/monitoring"


            def start():
                worker = {start}
                worker.start()
        """,
    }
    pool = at(scan(tmp_path, files, monkeypatch), "mon/hub.py:10")
    assert pool.settings["url"].value == "postgresql://app@db/monitoring"


@pytest.mark.parametrize(
    ("returns", "picked"),
    [("list[type['BaseDB']]", "[0]"), ("type[BaseDB]", ""), ("tuple[type[BaseDB], ...]", "[0]")],
)
def test_a_registry_annotated_to_return_pool_classes_gives_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, returns: str, picked: str
) -> None:
    # diracx: `BaseSQLDB.available_implementations(name)[0](url)`, read from entry points, annotated
    # `-> list[type[BaseSQLDB]]`; the engine its engine_context() makes was missed
    files = {
        "app/base.py": f"""
            import contextlib

            from sqlalchemy.ext.asyncio import create_async_engine


            class BaseDB:
                def __init__(self, db_url):
                    self._db_url = db_url

                @classmethod
                def implementations(cls, name) -> {returns}:
                    return _from_entry_points(name)

                @contextlib.asynccontextmanager
                async def engine_context(self):
                    engine = create_async_engine(self._db_url, pool_recycle=1800)
                    yield engine
        """,
        "app/cli.py": f"""
            from app.base import BaseDB


            async def init(name):
                db = BaseDB.implementations(name){picked}("postgresql+asyncpg://app@db/jobs")
                async with db.engine_context():
                    pass
        """,
    }
    pool = at(scan(tmp_path, files, monkeypatch), "app/cli.py:6")
    assert pool.settings["url"].value == "postgresql+asyncpg://app@db/jobs"
    assert pool.settings["pool_recycle"].value == 1800


def test_flask_sqlalchemys_create_engine_is_sqlalchemys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # ECS-Discord-Bot: a celery worker makes its engine again with `db.create_engine(url, **options)`, which
    # Flask-SQLAlchemy 3.1's `SQLAlchemy.__getattr__` hands to sqlalchemy.create_engine
    files = {
        "app/core.py": "from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n",
        "app/worker.py": """
            from celery.signals import worker_process_init

            from app.core import db


            @worker_process_init.connect
            def init_worker_process(**kwargs):
                db.engine = db.create_engine(db.engine.url, pool_size=10, pool_recycle=1800)
        """,
    }
    pool = at(scan(tmp_path, files, monkeypatch), "app/worker.py:8")
    assert (pool.stack, pool.settings["pool_recycle"].value, pool.settings["pool_size"].value) == (
        "sqlalchemy",
        1800,
        10,
    )


def test_a_field_given_by_position_beside_a_spread_it_cannot_read_is_the_given_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {
        "app/db.py": """
            import json
            import os
            from dataclasses import dataclass

            from sqlalchemy import create_engine


            @dataclass
            class DBConfig:
                url: str
                echo: bool = False


            extra = json.loads(os.environ["EXTRA_JSON"])
            cfg = DBConfig("postgresql://app@db/app", **extra)
            engine = create_engine(cfg.url, echo=cfg.echo)
        """,
    }
    pool = at(scan(tmp_path, files, monkeypatch), "app/db.py:16")
    assert pool.settings["url"].value == "postgresql://app@db/app"
    assert not pool.settings["echo"].known


LITE_APP = """
import json
import os

import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy_lite import SQLAlchemy

db = SQLAlchemy(engine_options={"pool_size": 3, "connect_args": {"application_name": "web"}})


def create_app():
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://app@db/legacy"
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_recycle": 100}
    app.config["SQLALCHEMY_ENGINES"] = ENGINES
    db.init_app(app)
    return app
"""


@pytest.mark.parametrize(
    ("engines", "expected"),
    [
        # each entry's keys replace the extension's whole (`base | engine_config`): connect_args is the entry's
        (
            '{"default": {"url": "postgresql+psycopg://app@db/app", "connect_args": {"connect_timeout": 5}}}',
            {"SQLALCHEMY_ENGINES['default']": {"pool_size": 3, "connect_args.connect_timeout": 5}},
        ),
        # a URL given as a dict of URL.create's arguments: a URL, not its parts
        (
            '{"default": {"url": {"drivername": "postgresql+psycopg", "host": "db", "database": "app"}}}',
            {"SQLALCHEMY_ENGINES['default']": {"pool_size": 3, "connect_args.application_name": "web"}},
        ),
        # entries the scan cannot read: one engine, unread (not none)
        (
            'json.loads(os.environ["ENGINES_JSON"])',
            {"SQLALCHEMY_ENGINES": {"pool_size": 3, "connect_args.application_name": "web"}},
        ),
    ],
)
def test_flask_sqlalchemy_lite_reads_its_own_keys_alone_and_merges_as_it_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engines: str, expected: dict[str, dict[str, object]]
) -> None:
    # a review's cases: SQLALCHEMY_DATABASE_URI and SQLALCHEMY_ENGINE_OPTIONS are Flask-SQLAlchemy's, which Lite
    # never reads (no default engine of them); 0.2.1's _prepare_engine_options merges by top-level key
    files = {"app/__init__.py": LITE_APP.replace("ENGINES\n", f"{engines}\n")}
    report = scan(tmp_path, files, monkeypatch)
    assert {p.call for p in report.pools} == set(expected)
    for pool in report.pools:
        known = {k: v.value for k, v in pool.settings.items() if v.known and k != "url"}
        assert known == expected[pool.call], pool.settings


def test_flask_sqlalchemy_3s_options_replace_the_extensions_by_top_level_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Flask-SQLAlchemy 3.1.1 init_app: `basic_engine_options.update(SQLALCHEMY_ENGINE_OPTIONS)` and each bind's
    # `engine_options[key].update(value)`: a dict.update, so connect_args given there is the engine's whole
    files = {
        "app/__init__.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy(engine_options={"pool_size": 3, "connect_args": {"application_name": "web"}})


            def create_app():
                app = Flask(__name__)
                app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://app@db/app"
                app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"connect_timeout": 5}}
                app.config["SQLALCHEMY_BINDS"] = {"ro": {"url": "postgresql://app@ro/app", "connect_args": {}}}
                db.init_app(app)
                return app
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    default = at(report, "app/__init__.py:12").settings
    assert {k: v.value for k, v in default.items() if k != "url"} == {"pool_size": 3, "connect_args.connect_timeout": 5}
    ro = at(report, "app/__init__.py:11").settings
    assert "connect_args.application_name" not in ro and ro["pool_size"].value == 3


def test_a_section_the_code_expects_may_be_absent_leaves_the_models_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # fides: `DatabaseSettings.model_validate(config_dict.get("database", {}))` of an optional TOML file: its
    # defaults (and their variables) stand where the file is not (unlike tnoff's required section)
    files = {
        "app/db.py": """
            import sys
            import tomllib

            from pydantic_settings import BaseSettings
            from sqlalchemy import create_engine


            class DatabaseSettings(BaseSettings):
                pool_size: int = 5


            config = tomllib.load(open(sys.argv[1], "rb"))
            settings = DatabaseSettings.model_validate(config.get("database", {}))
            engine = create_engine("postgresql://app@db/app", pool_size=settings.pool_size)
        """,
    }
    pool = at(scan(tmp_path, files, monkeypatch), "app/db.py:14")
    assert (pool.settings["pool_size"].value, pool.settings["pool_size"].env) == (5, "POOL_SIZE")


def test_a_key_of_kwargs_no_call_gives_is_its_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # swh-vault: `VaultDB(**config)` is made by a registry from a YAML file; `config.get("max_pool_conns", 10)` is
    # 10 unless configured, as a parameter default of the same function would be
    files = {
        "swh/backend.py": """
            import psycopg_pool


            class VaultDB:
                def __init__(self, **config):
                    self._pool = psycopg_pool.ConnectionPool(
                        conninfo=config["db"],
                        min_size=config.get("min_pool_conns", 1),
                        max_size=config.get("max_pool_conns", 10),
                    )
        """,
    }
    settings = at(scan(tmp_path, files, monkeypatch), "swh/backend.py:6").settings
    assert (settings["min_size"].value, settings["max_size"].value) == (1, 10)
    assert not settings["conninfo"].known


def test_a_noxfiles_engines_are_the_tests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # ook: nox sessions run the tests and migrations against a throwaway container's database
    files = {
        "noxfile.py": """
            import nox
            from sqlalchemy import create_engine


            @nox.session
            def test(session):
                engine = create_engine("postgresql://test@localhost/test")
                engine.dispose()
        """,
        "src/app/db.py": "from sqlalchemy import create_engine\n\nengine = create_engine('postgresql://app@db/app')\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    assert {(p.where, p.aside) for p in report.pools} == {("noxfile.py:7", "tests"), ("src/app/db.py:3", None)}


@pytest.mark.parametrize("call", ["super().__init__", "super(_SqlDatabase, self).__init__"])
def test_a_subclass_whose_init_runs_its_bases_wrapper_is_one_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call: str
) -> None:
    # raw-data-repository: `class _SqlDatabase(Database)` builds the URL and runs `super().__init__(url, **kwargs)`,
    # Database's __init__ making the engine; `_SqlDatabase(name, connect_args=...)` was no pool
    files = {
        "rdr/database.py": """
            from sqlalchemy import create_engine


            class Database:
                def __init__(self, url, **kwargs):
                    self._engine = create_engine(url, pool_pre_ping=True, pool_size=30, **kwargs)
        """,
        "rdr/factory.py": f"""
            import os

            from rdr.database import Database


            class _SqlDatabase(Database):
                def __init__(self, db_name, **kwargs):
                    url = os.environ.get("DB_CONNECTION_STRING", "postgresql://rdr@localhost/rdr")
                    {call}(url, **kwargs)


            def make_database(database_name="rdr"):
                return _SqlDatabase(database_name, connect_args={{"connect_timeout": 5}})
        """,
    }
    pool = at(scan(tmp_path, files, monkeypatch), "rdr/factory.py:13")
    assert (pool.settings["url"].value, pool.settings["url"].env) == (
        "postgresql://rdr@localhost/rdr",
        "DB_CONNECTION_STRING",
    )
    assert (pool.settings["pool_size"].value, pool.settings["connect_args.connect_timeout"].value) == (30, 5)


def test_a_mixins_databases_property_a_configurations_class_derives_is_a_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # donate-wagtail: `class Database(object)` has a DATABASES property; `Production(Database, Configuration)`
    # (django-configurations) in another module, which names no DATABASES itself
    files = {
        "donate/settings/__init__.py": "from .production import Production\n",
        "donate/settings/database.py": """
            import dj_database_url


            class Database(object):
                @property
                def DATABASES(self):
                    return {"default": dj_database_url.parse("postgres://donate@postgres:5432/donate")}
        """,
        "donate/settings/production.py": """
            from configurations import Configuration

            from .database import Database


            class Production(Database, Configuration):
                DEBUG = False
        """,
        "donate/settings/unused.py": "class Unused:\n    DATABASES = {'default': {'ENGINE': 'x'}}\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [(p.where, p.call) for p in report.pools] == [("donate/settings/database.py:7", "DATABASES['default']")]
    assert at(report, "donate/settings/database.py:7").settings["NAME"].value == "donate"


@pytest.mark.parametrize(
    ("again", "between", "pools"),
    [
        ("config.include('app.db')", "", 1),
        ("make_engine(config)", "", 2),
        # a review's cases: commit() starts a new action state; another Configurator has its own
        ("config.include('app.db')", "config.commit()", 2),
        ("config.include('app.db')", "config = Configurator(settings=settings)", 2),
    ],
)
def test_pyramid_runs_an_includeme_once_per_spec(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, again: str, between: str, pools: int
) -> None:
    # amnesia: `config.include('amnesia.events')`, whose includeme includes 'amnesia.db' again: Pyramid 2.0.2 runs
    # it once (Configurator.include: `if action_state.processSpec(spec)`); a plain call makes a second engine
    files = {
        "app/__init__.py": """
            from pyramid.config import Configurator


            def main(global_config, **settings):
                config = Configurator(settings=settings)
                config.include("app.db")
                BETWEEN
                config.include("app.events")
                return config.make_wsgi_app()
        """.replace("BETWEEN", between or "pass"),
        "app/events/__init__.py": f"""
            from app.db import make_engine


            def includeme(config):
                {again}
        """,
        "app/db/__init__.py": """
            from sqlalchemy import engine_from_config


            def make_engine(config):
                return engine_from_config(config.get_settings(), "sqlalchemy.")


            def includeme(config):
                config.registry["dbengine"] = make_engine(config)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert len([p for p in report.pools if p.file == "app/__init__.py"]) == pools


def test_oslo_dbs_enginefacade_is_named_as_a_pool_a_library_makes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # aodh, cloudkitty, masakari: oslo.db makes the engine on first use, from the [database] options
    files = {
        "svc/db/api.py": """
            from oslo_db.sqlalchemy import enginefacade

            context_manager = enginefacade.transaction_context()
            enginefacade.configure(sqlite_fk=True)
        """,
        "svc/other.py": "import logging\n\nlogging.basicConfig()\nlogging.config = None\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    assert report.pools == []
    assert [w.split(":", 2)[:2] for w in report.warnings if "inside oslo_db" in w] == [
        ["svc/db/api.py", "3"],
        ["svc/db/api.py", "4"],
    ]


@pytest.mark.parametrize(
    ("config", "pools"),
    [
        # the key written in a function into a dict the app's config gets where the scan cannot follow it
        (
            'def get(settings):\n    settings["SQLALCHEMY_DATABASE_URI"] = "postgresql://u@db/lm"\n',
            {("pkg/app.py:9", "(the app's config: written where the scan cannot follow it)")},
        ),
        # a config class that sets it: the pool is that class's, reported there (as before)
        (
            'class Config:\n    SQLALCHEMY_DATABASE_URI = "postgresql://u@db/lm"\n',
            {("pkg/config.py:1", None)},
        ),
    ],
)
def test_an_apps_bind_stays_an_engine_where_no_config_the_scan_reports_holds_its_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: str, pools: set[tuple[str, str | None]]
) -> None:
    # life_monitor: its only engine (`db.init_app(app)`) was lost because another module writes the key somewhere
    files = {
        "pkg/__init__.py": "",
        "pkg/app.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()


            def create_app():
                app = Flask(__name__)
                db.init_app(app)
                return app
        """,
        "pkg/config.py": config,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert {(p.where, p.unresolved[-1] if p.unresolved else None) for p in report.pools} == pools


@pytest.mark.parametrize(
    ("test", "aside"),
    [
        ("'test' in sys.argv", "tests"),
        ("'test' not in sys.argv", None),
        ("'TRAVIS' in os.environ", "tests"),  # dissemin's env.py: a CI service's database
        ("os.environ.get('DEBUG')", None),
        # a review's cases: negations however written, and the other side of a test that combines one
        ("not os.environ.get('CI')", None),
        ("os.getenv('CI') != 'true'", None),
        ("not 'test' in sys.argv", None),
        ("os.environ.get('CI') is None", None),
        ("len(sys.argv) > 1 and sys.argv[1] == 'test'", "tests"),
        ("not (len(sys.argv) > 1 and sys.argv[1] == 'test')", None),
        ("os.environ.get('DEBUG') or 'test' in sys.argv", None),
    ],
)
def test_databases_set_only_when_the_test_suite_runs_are_the_tests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, test: str, aside: str | None
) -> None:
    # openduty: `if 'test' in sys.argv:` (what `manage.py test` runs) sets a sqlite DATABASES
    files = {
        "site/settings.py": f"""
            import os, sys

            INSTALLED_APPS = ["django.contrib.auth"]
            DATABASES = {{}}
            if {test}:
                DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": "test.db"}}}}
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [(p.line, p.aside) for p in report.pools] == [(6, aside)]


def test_a_wrapper_only_subclasses_run_through_super_makes_no_pool_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a review's case: Database is made only through its subclasses' super().__init__; its own line is no pool
    files = {
        "rdr/database.py": """
            from sqlalchemy import create_engine


            class Database:
                def __init__(self, url, pool_size=5, **kwargs):
                    self._engine = create_engine(url, pool_size=pool_size, **kwargs)


            class _SqlDatabase(Database):
                def __init__(self, url, **kwargs):
                    super().__init__(url, pool_size=20, **kwargs)


            class ReadOnly(_SqlDatabase):
                pass


            db = _SqlDatabase("postgresql://app@db/app")
            reader = ReadOnly("postgresql://app@replica/app")
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [(p.line, p.settings["pool_size"].value) for p in report.pools] == [(18, 20), (19, 20)]


def test_a_mixins_databases_are_read_on_the_settings_class_made_of_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a review's case: `self.DB_NAME` in the mixin's property is Production's, the class django-configurations makes
    files = {
        "donate/settings/__init__.py": "from .production import Production\n",
        "donate/settings/database.py": """
            class Database(object):
                DB_NAME = "mixin"

                @property
                def DATABASES(self):
                    return {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": self.DB_NAME}}
        """,
        "donate/settings/production.py": """
            from configurations import Configuration

            from .database import Database


            class Production(Database, Configuration):
                DB_NAME = "donate"
        """,
    }
    assert at(scan(tmp_path, files, monkeypatch), "donate/settings/database.py:6").settings["NAME"].value == "donate"


def test_flask_sqlalchemy_2s_create_engine_method_is_not_sqlalchemys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a review's case: 2.5.1's `SQLAlchemy.create_engine(self, sa_url, engine_opts)` takes the options as a dict;
    # read as sqlalchemy.create_engine, its options were lost and fix added keywords 2.x refuses
    files = {
        "app/db.py": """
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()
            worker_engine = db.create_engine("postgresql://app@db/app", {"pool_size": 20})
        """,
    }
    assert [p.line for p in scan(tmp_path, files, monkeypatch).pools if p.file == "app/db.py"] == []


def test_a_kwargs_dict_updated_from_what_the_scan_cannot_read_gives_no_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {
        "svc/db.py": """
            import json

            from sqlalchemy import create_engine


            class VaultDB:
                def __init__(self, **config):
                    config.update(json.load(open("/etc/svc/db.json")))
                    self.engine = create_engine(config["url"], pool_size=config.get("pool_size", 5))
        """,
    }
    assert not at(scan(tmp_path, files, monkeypatch), "svc/db.py:9").settings["pool_size"].known


def test_a_flask_sqlalchemy_app_ignores_lites_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "app/__init__.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()


            def create_app():
                app = Flask(__name__)
                app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://app@db/app"
                app.config["SQLALCHEMY_ENGINES"] = {"default": "postgresql://app@db/other"}
                db.init_app(app)
                return app
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [(p.where, sorted(p.settings)) for p in report.pools] == [("app/__init__.py:11", ["url"])]


def test_a_model_made_from_a_dict_the_code_fills_from_variables_keeps_its_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ayon-backend: `AppConfig(**env_data)`, env_data filled from APP_* variables in a loop (none set: empty)
    files = {
        "app/config.py": """
            import os

            from pydantic import BaseModel


            class AppConfig(BaseModel):
                postgres_pool_size: int = 64


            env_data = {}
            for key, value in dict(os.environ).items():
                if key.lower().startswith("app_"):
                    env_data[key.lower().removeprefix("app_")] = value
            appconfig = AppConfig(**env_data)
        """,
        "app/db.py": """
            import asyncpg

            from app.config import appconfig


            async def connect():
                return await asyncpg.create_pool("postgresql://app@db/app", max_size=appconfig.postgres_pool_size)
        """,
    }
    assert at(scan(tmp_path, files, monkeypatch), "app/db.py:7").settings["max_size"].value == 64


def test_flask_ext_sqlalchemy_named_in_full_is_flask_sqlalchemy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # get5-web: `import flask.ext.sqlalchemy`, then `flask.ext.sqlalchemy.SQLAlchemy(app)` (Flask before 1.0)
    files = {
        "get5/__init__.py": """
            from flask import Flask

            import flask.ext.sqlalchemy

            app = Flask(__name__, instance_relative_config=True)
            app.config.from_pyfile("prod_config.py")
            db = flask.ext.sqlalchemy.SQLAlchemy(app)
        """,
    }
    pool = at(scan(tmp_path, files, monkeypatch), "get5/__init__.py:7")
    assert pool.stack == "flask_sqlalchemy"
    assert any(u.startswith("app.config.from_pyfile") for u in pool.unresolved)  # (its URL is in that file)


@pytest.mark.parametrize(
    ("secret", "pools"),
    [
        (None, [("site/settings/common.py:4", "DATABASES")]),
        ("x", []),
        ("helper", []),  # a review's case: a helper (not settings) importing them makes no pool
    ],
)
def test_databases_imported_from_a_module_the_tree_lacks_are_the_deployments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, secret: str | None, pools: list[tuple[str, str]]
) -> None:
    # dissemin: `from .secret import DATABASES` (required: the ImportError raises); secret.py is copied from a
    # template at deploy time, so the tree has none: the alias was lost
    files = {
        "site/settings/common.py": """
            INSTALLED_APPS = ["django.contrib.auth"]

            try:
                from .secret import DATABASES
            except ImportError:
                raise RuntimeError("add secret.py")
        """,
    }
    if secret == "x":  # (one the tree has is read where it is: a fragment with no DATABASES of its own here)
        files["site/settings/secret.py"] = "SECRET = 1\n"
    if secret == "helper":
        files = {"site/backup.py": "from site.local_settings import DATABASES\n\nprint(DATABASES)\n"}
    report = scan(tmp_path, files, monkeypatch)
    assert [(p.where, p.call) for p in report.pools] == pools


@pytest.mark.parametrize(
    ("spread", "known"),
    [
        ("cfg = {}\ncfg.update(json.load(open('/etc/db.json')))", False),  # a mapping it cannot read merged in
        (  # keys from variables: none set, it is empty
            "cfg = {}\nfor k, v in os.environ.items():\n    if k.startswith('DB_'):\n        cfg[k.lower()] = v",
            True,
        ),
    ],
)
def test_a_dict_a_mapping_the_scan_cannot_read_is_merged_into_leaves_no_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spread: str, known: bool
) -> None:
    # a review's case: `DbConfig(**cfg)` after `cfg.update(json.load(f))`: fix rewrote a default the file overrides
    files = {
        "app.py": "import json\nimport os\nfrom dataclasses import dataclass\n\nfrom sqlalchemy import create_engine\n\n\n"
        "@dataclass\nclass DbConfig:\n    pool_recycle: int = -1\n\n\n"
        f"{spread}\nconfig = DbConfig(**cfg)\n"
        "engine = create_engine('postgresql://app@db/app', pool_recycle=config.pool_recycle)\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    (pool,) = report.pools
    assert pool.settings["pool_recycle"].known is known


def test_a_module_level_configurator_runs_an_includeme_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "app/__init__.py": "",
        "app/events/__init__.py": "def includeme(config):\n    config.include('app.db')\n",
        "app/db/__init__.py": "from sqlalchemy import engine_from_config\n\n\ndef includeme(config):\n"
        "    config.registry['engine'] = engine_from_config(config.get_settings(), 'sqlalchemy.')\n",
        "app/wsgi.py": "from pyramid.config import Configurator\n\nconfig = Configurator(settings={})\n"
        "config.include('app.db')\nconfig.include('app.events')\napplication = config.make_wsgi_app()\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [p.where for p in report.pools] == ["app/wsgi.py:4"]


def test_a_subclass_of_a_wrapper_class_imported_under_another_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {
        "rdr/database.py": "from sqlalchemy import create_engine\n\n\nclass Database:\n"
        "    def __init__(self, url, pool_size=5):\n        self.engine = create_engine(url, pool_size=pool_size)\n",
        "rdr/sql.py": "from rdr.database import Database as BaseDb\n\n\nclass SqlDatabase(BaseDb):\n"
        "    def __init__(self, url):\n        super().__init__(url, pool_size=20)\n\n\n"
        "db = SqlDatabase('postgresql://app@db/app')\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [(p.where, p.settings["pool_size"].value) for p in report.pools] == [("rdr/sql.py:9", 20)]


def test_a_mixins_databases_are_read_on_the_configuration_django_configurations_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a review's case: Development sorts first, but manage.py defaults DJANGO_CONFIGURATION to Production
    files = {
        "manage.py": "import os\n\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'site.settings')\n"
        "os.environ.setdefault('DJANGO_CONFIGURATION', 'Production')\n",
        "site/settings/__init__.py": "from .development import Development\nfrom .production import Production\n",
        "site/settings/database.py": "class Database(object):\n    AGE = 0\n\n    @property\n    def DATABASES(self):\n"
        "        return {'default': {'ENGINE': 'django.db.backends.postgresql', 'CONN_MAX_AGE': self.AGE}}\n",
        "site/settings/development.py": "from configurations import Configuration\n\nfrom .database import Database\n\n\n"
        "class Development(Database, Configuration):\n    AGE = None\n",
        "site/settings/production.py": "from configurations import Configuration\n\nfrom .database import Database\n\n\n"
        "class Production(Database, Configuration):\n    AGE = 600\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    assert at(report, "site/settings/database.py:6").settings["CONN_MAX_AGE"].value == 600


def test_subclasses_made_in_two_modules_each_make_the_bases_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # indexd: drivers deriving (through an abstract class) from a base whose __init__ makes the engine, made in the
    # package's default settings and again in the deployment's: every pool was lost
    files = {
        "indexd/driver_base.py": "from sqlalchemy import create_engine\n\n\nclass DriverBase:\n"
        "    def __init__(self, conn, **config):\n        self.engine = create_engine(conn, **config)\n",
        "indexd/index.py": "import abc\n\nfrom indexd.driver_base import DriverBase\n\n\n"
        "class IndexABC(DriverBase, metaclass=abc.ABCMeta):\n    def __init__(self, conn, **config):\n"
        "        super().__init__(conn, **config)\n\n\nclass IndexDriver(IndexABC):\n"
        "    def __init__(self, conn, index_config=None, **config):\n        super().__init__(conn, **config)\n",
        "indexd/default_settings.py": "from indexd.index import IndexDriver\n\n"
        "DRIVER = IndexDriver('postgresql://app@localhost/indexd_tests', echo=True)\n",
        "bin/indexd_settings.py": "from indexd.index import IndexDriver\n\nDRIVER = IndexDriver('postgresql://app@db/indexd')\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [(p.where, p.settings["url"].value) for p in report.pools] == [
        ("bin/indexd_settings.py:3", "postgresql://app@db/indexd"),
        ("indexd/default_settings.py:3", "postgresql://app@localhost/indexd_tests"),
    ]


def test_a_private_class_dict_of_engine_arguments_stays_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # WMCore's `create_engine(url, **self._defaultEngineParams)`: a class's dict anything may change (its subclasses,
    # other modules, an alias of it); a review showed each of them reported a wrong value when it was read
    files = {
        "wm/db.py": "from sqlalchemy import create_engine\n\n\nclass DBFactory:\n"
        '    _defaults = {"pool_recycle": 7200}\n\n    def __init__(self, url):\n'
        "        self.engine = create_engine(url, **self._defaults)\n\n\n"
        'DBFactory._defaults["pool_recycle"] = 300\ndb = DBFactory("postgresql://app@db/app")\n',
    }
    (pool,) = scan(tmp_path, files, monkeypatch).pools
    assert "pool_recycle" not in pool.settings and pool.unresolved == ["**self._defaults"]


@pytest.mark.parametrize(
    ("condition", "tests"),
    [
        ("'test' in sys.argv  # the test runner", True),
        ("'test' in sys.argv \\\n    and DEBUG", True),
        ("'test' in sys.argv and (x ...", False),  # cut short: not read
        ("not 'test' in sys.argv", False),
    ],
)
def test_a_test_run_condition_as_the_scan_writes_it(condition: str, tests: bool) -> None:
    from pool_doctor.scan.asides import under_test_run

    assert under_test_run(condition) is tests


def test_the_configuration_the_served_app_runs_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a review's case: manage.py defaults DJANGO_CONFIGURATION to Development, wsgi.py (what serves) to Production
    files = {
        "manage.py": "import os\n\nos.environ.setdefault('DJANGO_CONFIGURATION', 'Development')\n",
        "site/wsgi.py": "import os\n\nos.environ.setdefault('DJANGO_CONFIGURATION', 'Production')\n",
        "site/settings/__init__.py": "from .classes import Development, Production\n",
        "site/settings/database.py": "class Database(object):\n    AGE = 0\n\n    @property\n    def DATABASES(self):\n"
        "        return {'default': {'ENGINE': 'django.db.backends.postgresql', 'CONN_MAX_AGE': self.AGE}}\n",
        "site/settings/classes.py": "from configurations import Configuration\n\nfrom .database import Database\n\n\n"
        "class Development(Database, Configuration):\n    AGE = None\n\n\n"
        "class Production(Database, Configuration):\n    AGE = 600\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    assert at(report, "site/settings/database.py:6").settings["CONN_MAX_AGE"].value == 600


def test_a_subsystems_bind_of_an_app_another_module_configures_makes_no_engine_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # lando-api (held-out yi/case5): `DBSubsystem.init_app(app)` binds the extension to the app wsgi.py configures
    # and hands to each subsystem in a loop; a review-round change made the subsystem's bind a second, unread engine
    files = {
        "lando/systems.py": "class Subsystem:\n    def init_app(self, app):\n        self.flask_app = app\n",
        "lando/storage.py": "from flask_sqlalchemy import SQLAlchemy\n\nfrom lando.systems import Subsystem\n\n"
        "db = SQLAlchemy()\n\n\nclass DBSubsystem(Subsystem):\n    def init_app(self, app):\n"
        "        super().init_app(app)\n        db.init_app(app)\n\n\ndb_subsystem = DBSubsystem()\n",
        "lando/app.py": "import os\n\nfrom flask import Flask\n\nfrom lando.storage import db_subsystem\n\n"
        "SUBSYSTEMS = [db_subsystem]\n\n\ndef load_config():\n"
        "    return {'SQLALCHEMY_DATABASE_URI': os.getenv('DATABASE_URL')}\n\n\ndef construct_app(config):\n"
        "    app = Flask(__name__)\n    app.config.update(config)\n    return app\n",
        "lando/wsgi.py": "from .app import SUBSYSTEMS, construct_app, load_config\n\nconfig = load_config()\n"
        "app = construct_app(config)\nfor system in SUBSYSTEMS:\n    system.init_app(app)\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [p.where for p in report.pools] == ["lando/wsgi.py:4"]


def test_a_module_imported_as_databases_is_not_read_as_settings_the_tree_lacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a review's suspicion, confirmed: `import x.y.z as DATABASES` made the settings module "could not be followed"
    files = {"site/settings/common.py": "INSTALLED_APPS = []\nimport site.settings.secret.conf as DATABASES\n"}
    report = scan(tmp_path, files, monkeypatch)
    assert report.pools == [] and not [w for w in report.warnings if "could not be followed" in w]
