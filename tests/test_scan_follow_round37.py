"""`scan_path` following values the way real projects spread them (issue 29), continued from
test_scan_follow_round34.py (the open cases of held-out rounds 35 to 37). Each project is a few small files written
here (never a copy of a real one); line numbers in the assertions are the fixtures' own."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest
from test_scan import at, scan

FACTORIES = """
from sqlalchemy import create_engine


def make_memory_engine(echo=False):
    return create_engine("sqlite://", echo=echo)
"""


def test_a_factory_only_the_tests_call_is_listed_at_their_calls_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # camcops' make_memory_sqlite_engine: outside tests/, but conftest.py is its only caller
    files = {
        "server/app/__init__.py": "",
        "server/app/sqla.py": FACTORIES,
        "server/conftest.py": """
            import pytest
            from app.sqla import make_memory_engine


            @pytest.fixture
            def engine():
                return make_memory_engine(echo=False)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [(p.where, p.aside) for p in report.pools] == [("server/conftest.py:7", "tests")]
    assert at(report, "server/conftest.py:7").via == ["server/app/sqla.py:5"]


@pytest.mark.parametrize(
    "app",
    [
        # FastAPI's dependency: the app names the factory without calling it
        """
        from fastapi import Depends, FastAPI
        from app.sqla import make_memory_engine

        api = FastAPI()


        @api.get("/")
        def index(engine=Depends(make_memory_engine)):
            return engine
        """,
        # a string naming it (a setting the app imports by name)
        """
        ENGINE_FACTORY = "app.sqla.make_memory_engine"
        """,
    ],
    ids=["depends", "string"],
)
def test_a_factory_the_app_names_too_stays_the_apps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, app: str) -> None:
    files = {
        "app/__init__.py": "",
        "app/sqla.py": FACTORIES,
        "app/web.py": app,
        "tests/test_db.py": """
            from app.sqla import make_memory_engine


            def test_engine():
                assert make_memory_engine()
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert at(report, "app/sqla.py:5").aside is None
    assert at(report, "tests/test_db.py:5").aside == "tests"


def test_a_factory_a_console_script_runs_stays_the_apps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "pyproject.toml": '[project]\nname = "app"\n\n[project.scripts]\nmake-db = "app.sqla:make_memory_engine"\n',
        "app/__init__.py": "",
        "app/sqla.py": FACTORIES,
        "tests/test_db.py": "from app.sqla import make_memory_engine\n\nENGINE = make_memory_engine()\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    assert at(report, "app/sqla.py:5").aside is None


def test_a_factory_its_own_module_calls_stays_the_apps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "app/__init__.py": "",
        "app/sqla.py": FACTORIES + "\n\ndef engine_for(kind):\n    return {'memory': make_memory_engine}[kind]\n",
        "tests/test_db.py": "from app.sqla import make_memory_engine\n\nENGINE = make_memory_engine()\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    assert at(report, "app/sqla.py:5").aside is None


EDX_FACTORIES = """
'''factory_boy factories for the imported models, for the test suite.'''
import factory
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

engine = create_engine("sqlite+pysqlite:///:memory:", pool_pre_ping=True)
session = Session(engine)


class UserFactory(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        sqlalchemy_session = session
"""


def test_a_test_data_module_only_the_tests_import_makes_the_tests_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # joanie's edx_imports/edx_factories.py: factory_boy at import, imported by tests/ alone
    files = {
        "joanie/__init__.py": "",
        "joanie/edx_imports/__init__.py": "",
        "joanie/edx_imports/edx_factories.py": EDX_FACTORIES,
        "joanie/tests/__init__.py": "",
        "joanie/tests/test_users.py": "from joanie.edx_imports import edx_factories\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    pool = at(report, "joanie/edx_imports/edx_factories.py:6")
    assert pool.aside == "tests"
    assert not [f for f in report.findings if f.where == pool.where]


@pytest.mark.parametrize(
    ("module", "importer"),
    [
        (EDX_FACTORIES, "joanie/edx_imports/seed.py"),  # the app imports it too (a seeding command)
        (EDX_FACTORIES.replace("import factory\n", ""), "joanie/tests/test_more.py"),  # no test library: the app's
        (EDX_FACTORIES + "\nif __name__ == '__main__':\n    session.commit()\n", "joanie/tests/test_more.py"),
    ],
    ids=["imported", "no-test-library", "a-program"],
)
def test_a_module_the_app_imports_or_runs_stays_the_apps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: str, importer: str
) -> None:
    files = {
        "joanie/__init__.py": "",
        "joanie/edx_imports/__init__.py": "",
        "joanie/edx_imports/edx_factories.py": module,
        "joanie/tests/__init__.py": "",
        "joanie/tests/test_users.py": "from joanie.edx_imports import edx_factories\n",
        importer: "from joanie.edx_imports.edx_factories import session\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    line = 6 if "import factory" in module else 5
    assert at(report, f"joanie/edx_imports/edx_factories.py:{line}").aside is None


def test_an_or_whose_left_the_scan_cannot_read_gives_each_side(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # morpheus' arq worker: `ctx.get("settings") or Settings()`, the context filled at run time
    files = {
        "app/__init__.py": "",
        "app/settings.py": """
            from pydantic_settings import BaseSettings


            class Settings(BaseSettings):
                pg_dsn: str = "postgresql://app@localhost:5432/mail"
        """,
        "app/worker.py": """
            import asyncpg

            from app.settings import Settings


            async def startup(ctx):
                settings = ctx.get("settings") or Settings()
                ctx["pg"] = await asyncpg.create_pool(dsn=settings.pg_dsn, min_size=2)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    dsn = at(report, "app/worker.py:8").settings["dsn"]
    assert not dsn.known
    sides = [(b.when, b.known, b.value) for b in dsn.branches]
    assert sides == [
        ('ctx.get("settings")', False, None),
        ('not (ctx.get("settings"))', True, "postgresql://app@localhost:5432/mail"),
    ]
    assert dsn.branches[1].env == "PG_DSN"


def test_an_engine_kept_in_an_item_of_the_instance_is_one_pool_per_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # consdb's DAO: `if self._engines[index] is None: self._engines[index] = create_engine(...)`, which every
    # method asks for (was: a pool at each of those calls)
    files = {
        "app/__init__.py": "",
        "app/dao.py": """
            from sqlalchemy import create_engine, text
            from sqlalchemy.pool import NullPool


            class Dao:
                def __init__(self, db_uri):
                    self.db_uris = [db_uri]
                    self._engines = [None]

                def get_db_engine(self, index=0):
                    if self._engines[index] is None:
                        self._engines[index] = create_engine(self.db_uris[index], poolclass=NullPool)
                    return self._engines[index]

                def count(self, table):
                    with self.get_db_engine().connect() as con:
                        return con.execute(text(f"SELECT count(*) FROM {table}")).scalar()

                def execute(self, stmt):
                    with self.get_db_engine().begin() as con:
                        con.execute(stmt)
        """,
        "app/main.py": """
            import os

            from app.dao import Dao

            dao = Dao(os.environ.get("DB_URI", "postgresql://db/consdb"))
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [p.where for p in report.pools] == ["app/dao.py:12"]
    url = at(report, "app/dao.py:12").settings["url"]
    assert (url.value, url.env) == ("postgresql://db/consdb", "DB_URI")


def test_a_global_a_setter_function_fills_once_is_what_the_getter_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # openml's server-api: get_config() fills `_config` through set_config(config), a function doing only that
    files = {
        "config.py": """
            import os

            from pydantic import BaseModel

            _config = None


            def get_config():
                if _config is None:
                    config = parse_config()
                    set_config(config)
                return _config


            def set_config(configuration):
                \"\"\"For the tests, too.\"\"\"
                global _config
                _config = configuration


            class Database(BaseModel):
                url: str = "mysql+aiomysql://root@database:3306/openml"
                recycle: int = 3600


            def parse_config():
                return Database(recycle=int(os.getenv("RECYCLE", "600")))
        """,
        "db.py": """
            from sqlalchemy.ext.asyncio import create_async_engine

            from config import get_config


            def user_database():
                config = get_config()
                return create_async_engine(config.url, pool_recycle=config.recycle)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    pool = at(report, "db.py:8")
    assert pool.settings["url"].value == "mysql+aiomysql://root@database:3306/openml"
    recycle = pool.settings["pool_recycle"]
    assert (recycle.value, recycle.env) == (600, "RECYCLE")


def test_flask_migrates_env_reads_the_app_a_helper_binds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # doorman: create_app() loads the config and calls register_extensions(app), which binds db and migrate;
    # Flask-Migrate's env.py reads current_app's URL (was: unknown, the helper read as a second app)
    files = {
        "app/__init__.py": "",
        "app/extensions.py": """
            from flask_migrate import Migrate
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()
            migrate = Migrate()
        """,
        "app/settings.py": """
            class DevConfig:
                SQLALCHEMY_DATABASE_URI = "postgresql://localhost:5432/doorman"
        """,
        "app/application.py": """
            from flask import Flask

            from app.extensions import db, migrate
            from app.settings import DevConfig


            def create_app(config=DevConfig):
                app = Flask(__name__)
                app.config.from_object(config)
                register_extensions(app)
                return app


            def register_extensions(app):
                db.init_app(app)
                migrate.init_app(app, db)
        """,
        "manage.py": "from app.application import create_app\n\napp = create_app()\n",
        "migrations/env.py": """
            from alembic import context
            from flask import current_app
            from sqlalchemy import engine_from_config, pool

            config = context.config
            config.set_main_option("sqlalchemy.url", current_app.config.get("SQLALCHEMY_DATABASE_URI"))
            engine = engine_from_config(config.get_section(config.config_ini_section), poolclass=pool.NullPool)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert at(report, "app/application.py:15").settings["url"].value == "postgresql://localhost:5432/doorman"
    assert at(report, "migrations/env.py:7").settings["url"].value == "postgresql://localhost:5432/doorman"


def test_databases_keyed_by_djangos_default_alias_each_at_its_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # usaspending-api: `{DEFAULT_DB_ALIAS: _connection("DB_SOURCE"), ...}` under if/elif, a helper making each
    # alias with dj_database_url.parse(url, conn_max_age=10) (was: no "default", the rest at one line)
    files = {
        "app/settings.py": """
            import os

            import dj_database_url
            from django.db import DEFAULT_DB_ALIAS

            MAX_AGE = 10


            def _connection(variable):
                return dj_database_url.parse(os.environ.get(variable, "postgres://db/app"), conn_max_age=MAX_AGE)


            if os.environ.get("DB_SOURCE"):
                DATABASES = {
                    DEFAULT_DB_ALIAS: _connection("DB_SOURCE"),
                    "replica": _connection("DB_R1"),
                }
            else:
                DATABASES = {DEFAULT_DB_ALIAS: _connection(dj_database_url.DEFAULT_ENV)}

            DATABASES["broker"] = _connection("BROKER_DB")
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    wheres = {p.call: p.where for p in report.pools}
    assert wheres == {
        "DATABASES['default']": "app/settings.py:19",
        "DATABASES['replica']": "app/settings.py:16",
        "DATABASES['broker']": "app/settings.py:21",
    }
    default = at(report, "app/settings.py:19")
    assert default.settings["CONN_MAX_AGE"].value == 10
    assert default.settings["ENGINE"].value == "django.db.backends.postgresql"
    assert default.settings["ENGINE"].env == "DATABASE_URL"


@pytest.mark.parametrize(
    ("fill", "pool_size"),
    [
        # each category filled from a YAML file the deployment writes: CONFIG_DB may hold anything
        ("for name in CATEGORIES:\n    CATEGORIES[name].update(ALL.get(name, {}))\n", None),
        ('CATEGORIES["db"].update({"pool_size": 7})\n', 7),
    ],
    ids=["each", "one"],
)
def test_a_dict_filled_through_the_dict_holding_it_is_filled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fill: str, pool_size: int | None
) -> None:
    # data-act-broker-backend: `CONFIG_CATEGORIES = {"db": CONFIG_DB}`, filled through it; `if not CONFIG_DB:
    # raise` before the engine (was: CONFIG_DB read as the empty literal, every caller raising: no pool)
    files = {
        "core/__init__.py": "",
        "core/config.py": f"""
import os

import yaml

CONFIG_DB = {{}}
CATEGORIES = {{"db": CONFIG_DB}}

with open(os.path.join(os.path.dirname(__file__), "config.yml")) as c:
    ALL = yaml.safe_load(c) or {{}}
{fill}""",
        "core/db.py": """
            import sqlalchemy

            from core.config import CONFIG_DB


            def db_connection():
                if not CONFIG_DB:
                    raise ValueError("Database configuration is not defined")
                size = CONFIG_DB.get("pool_size", 100)
                return sqlalchemy.create_engine("postgresql://db/broker", pool_size=size, max_overflow=50)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    pool = at(report, "core/db.py:10")
    assert pool.settings["max_overflow"].value == 50
    assert pool.settings["pool_size"].value == pool_size


def test_settings_star_imported_on_either_side_of_an_if_are_each_a_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # bluebutton-web-server: base.py star-imports base_local or base_ec2 by TARGET_ENV (was: base_ec2's DATABASES,
    # the one deployments run, read as an override of base_local's and dropped); django-getenv's env(key, default)
    files = {
        "srv/__init__.py": "",
        "srv/settings/__init__.py": "",
        "srv/settings/base.py": """
            import os

            TARGET_ENV = os.environ.get("TARGET_ENV", "")

            if TARGET_ENV == "local":
                from srv.settings.base_local import *  # noqa: F403
            else:
                from srv.settings.base_ec2 import *  # noqa: F403
        """,
        "srv/settings/base_local.py": """
            INSTALLED_APPS = ["django.contrib.auth"]
            DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "/tmp/db.sqlite3"}}
        """,
        "srv/settings/base_ec2.py": """
            import dj_database_url
            from getenv import env

            INSTALLED_APPS = ["django.contrib.auth"]
            DATABASES = {"default": dj_database_url.config(default=env("DATABASES_CUSTOM", "sqlite:///srv.sqlite3"))}
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert sorted(p.where for p in report.pools) == ["srv/settings/base_ec2.py:5", "srv/settings/base_local.py:2"]
    engine = at(report, "srv/settings/base_ec2.py:5").settings["ENGINE"]
    assert (engine.value, engine.env) == ("django.db.backends.sqlite3", "DATABASE_URL")
    assert at(report, "srv/settings/base_ec2.py:5").settings["NAME"].value == "srv.sqlite3"


@pytest.mark.parametrize(
    ("path", "known"),
    [
        ("join(dirname(abspath(__file__)), 'private.py')", True),
        ("'/etc/svc/private.py'", False),
        ("join(dirname(abspath(__file__)), '.git')", False),  # a checkout's, not a deployment's
    ],
    ids=["in-the-tree", "outside", "hidden"],
)
def test_a_star_import_under_a_test_of_a_file_the_tree_lacks_is_not_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str, known: bool
) -> None:
    # enterprise-subsidy: `if os.path.isfile(.../private.py): from .private import *`, a developer's override no
    # repository holds (was: every setting unknown from the star import's line)
    files = {
        "svc/__init__.py": "",
        "svc/settings/__init__.py": "",
        "svc/settings/devstack.py": f"""
import os
from os.path import abspath, dirname, join

INSTALLED_APPS = ["django.contrib.auth"]
DATABASES = {{"default": {{"ENGINE": "django.db.backends.mysql", "NAME": "subsidy", "CONN_MAX_AGE": 60}}}}

if os.path.isfile({path}):
    from .private import *  # noqa: F403
""",
    }
    report = scan(tmp_path, files, monkeypatch)
    age = at(report, "svc/settings/devstack.py:5").settings["CONN_MAX_AGE"]
    assert age.known is known
    assert age.value == (60 if known else None)


def test_another_librarys_init_app_binds_no_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # eq-survey-runner: create_app loads the config, setup_database() configures and binds db, and Flask-Caching's
    # `cache.init_app(application, config=...)` was read as a bind of create_app's own app (a false engine)
    files = {
        "app/__init__.py": "",
        "app/models.py": "from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n",
        "app/settings.py": "import os\n\nSQLALCHEMY_DATABASE_URI = os.getenv('SQLALCHEMY_DATABASE_URI')\n",
        "app/setup.py": """
            from flask import Flask
            from flask_caching import Cache

            from app import settings
            from app.models import db

            cache = Cache()


            def create_app():
                application = Flask(__name__)
                application.config.from_object(settings)
                setup_database(application)
                cache.init_app(application, config={"CACHE_TYPE": "simple"})
                return application


            def setup_database(application):
                uri = application.config.get("SQLALCHEMY_DATABASE_URI") or "postgresql://db/eq"
                application.config["SQLALCHEMY_DATABASE_URI"] = uri
                application.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_recycle": 60}
                db.init_app(application)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [p.where for p in report.pools] == ["app/setup.py:22"]
    assert at(report, "app/setup.py:22").settings["pool_recycle"].value == 60


@pytest.mark.parametrize(
    ("register", "fill"),
    [
        ("app.cleanup_ctx.extend([postgresql_pool])", "app.update(pg=None, DATABASE_URL=settings.DATABASE_URL)"),
        ("app.on_startup.append(postgresql_pool)", 'app["DATABASE_URL"] = settings.DATABASE_URL'),
    ],
    ids=["cleanup_ctx", "on_startup"],
)
def test_an_aiohttp_handler_reads_what_the_app_was_filled_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, register: str, fill: str
) -> None:
    # pyslackers' website: the pool in a cleanup context aiohttp calls with the app, reading app["DATABASE_URL"]
    # (was: the dsn unknown)
    files = {
        "web/__init__.py": f"""
from aiohttp import web

from web import settings
from web.contexts import postgresql_pool


async def app_factory():
    app = web.Application()
    {fill}
    {register}
    return app
""",
        "web/contexts.py": """
            import asyncpg


            async def postgresql_pool(app):
                app["pg"] = await asyncpg.create_pool(dsn=app["DATABASE_URL"], max_size=5)
                yield
                await app["pg"].close()
        """,
        "web/settings.py": 'import os\n\nDATABASE_URL = os.getenv("DATABASE_URL", "postgres://web@localhost/web")\n',
    }
    report = scan(tmp_path, files, monkeypatch)
    pool = at(report, "web/__init__.py:10")
    assert pool.via == ["web/contexts.py:5"]
    dsn = pool.settings["dsn"]
    assert (dsn.value, dsn.env) == ("postgres://web@localhost/web", "DATABASE_URL")


def test_an_or_of_values_the_scan_cannot_read_is_one_unknown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # celery's backend: `url or dburi or conf.database_url`, each its caller's or the app's: no sides to tell apart
    files = {
        "backend.py": """
            from sqlalchemy import create_engine


            def engine_for(conf, url=None, dburi=None):
                return create_engine(url or dburi or conf.database_url, pool_size=5)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    url = at(report, "backend.py:5").settings["url"]
    assert not url.known and not url.branches


@pytest.mark.parametrize(
    ("name", "launch"),
    [
        ("create_app", {}),  # `flask run` finds it by name
        ("build", {"Procfile": 'web: gunicorn "myapp:build()"\n'}),
        ("build", {".flaskenv": "FLASK_APP=myapp:build\n"}),
    ],
    ids=["flask-name", "procfile", "flaskenv"],
)
def test_a_factory_the_deployment_starts_stays_the_apps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, launch: dict[str, str]
) -> None:
    # the review's Flask tutorial app: conftest.py is the only Python caller of the factory the server starts
    files = {
        "myapp/__init__.py": f"""
            import os

            from sqlalchemy import create_engine


            def {name}(test_config=None):
                url = test_config["url"] if test_config else os.environ["DATABASE_URL"]
                return create_engine(url, pool_size=20)
        """,
        "tests/conftest.py": f"from myapp import {name}\n\nENGINE = {name}({{'url': 'sqlite://'}})\n",
        **launch,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert at(report, "myapp/__init__.py:8").aside is None


def test_a_projects_own_module_named_as_a_test_library_is_no_test_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {
        "factory.py": "def create_app():\n    return object()\n",
        "wsgi.py": """
            from sqlalchemy import create_engine

            from factory import create_app

            app = create_app()
            engine = create_engine("postgresql://db/app", pool_size=10)
        """,
        "tests/test_app.py": "import wsgi\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    assert at(report, "wsgi.py:6").aside is None


def test_a_long_or_of_values_on_two_sides_reads_each_tail_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the review's chain: `v0 or v1 or ... or "postgresql://..."`, each v an if/else of values the scan cannot
    # read; each side of each operand read the whole tail again (2^n)
    from pool_doctor.scan.expressions import Evaluator

    sides = "".join(
        f"if os.environ.get('MODE_{n}') == 'a':\n    v{n} = cfg.get('url_{n}')\nelse:\n    v{n} = cfg.get('alt_{n}')\n"
        for n in range(16)
    )
    chain = " or ".join(f"v{n}" for n in range(16))
    files = {
        "app.py": f"import os\n\nfrom sqlalchemy import create_engine\nfrom source import load\n\ncfg = load()\n{sides}"
        f'engine = create_engine({chain} or "postgresql://db/app")\n',
    }
    steps = 0
    read = Evaluator._boolop

    def counted(self: Evaluator, *args: object) -> object:
        nonlocal steps
        steps += 1
        return read(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(Evaluator, "_boolop", counted)
    report = scan(tmp_path, files, monkeypatch)
    assert not report.pools[0].settings["url"].known
    assert steps < 400  # (2^16 without each tail read once)


def test_a_starlette_routers_startup_handler_is_called_with_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the review's FastAPI app: `router.on_startup.append(connect)`; Starlette calls it with no argument
    files = {
        "main.py": """
            import os

            from fastapi import APIRouter
            from sqlalchemy.ext.asyncio import create_async_engine

            router = APIRouter()


            async def connect(pool_size=10):
                return create_async_engine(os.environ["DATABASE_URL"], pool_size=pool_size)


            router.on_startup.append(connect)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert at(report, "main.py:10").settings["pool_size"].value == 10


def test_a_global_setter_leaves_a_local_of_that_name_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the review's case: connect()'s parameter `options` is not the module's `options` the setter fills
    files = {
        "db.py": """
            from sqlalchemy import create_engine

            options = None


            def set_options(value):
                global options
                options = value


            def connect(url, options):
                set_options(options.get("extra", {}))
                return create_engine(url, pool_size=options["pool_size"])
        """,
        "main.py": 'from db import connect\n\nengine = connect("postgresql://db/app", {"pool_size": 15, "extra": {}})\n',
    }
    report = scan(tmp_path, files, monkeypatch)
    assert at(report, "main.py:3").settings["pool_size"].value == 15


def test_an_engine_kept_by_a_key_each_caller_gives_is_a_pool_per_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the review's case: `self._engines[name]`, name a parameter every caller gives: one engine per name
    files = {
        "dao.py": """
            from sqlalchemy import create_engine


            class Dao:
                def __init__(self):
                    self._engines = {"main": None, "archive": None}

                def engine(self, name, pool_size=5):
                    if self._engines[name] is None:
                        self._engines[name] = create_engine(f"postgresql://db/{name}", pool_size=pool_size)
                    return self._engines[name]
        """,
        "main.py": 'from dao import Dao\n\ndao = Dao()\nmain = dao.engine("main", 20)\narchive = dao.engine("archive", 2)\n',
    }
    report = scan(tmp_path, files, monkeypatch)
    sizes = {p.where: p.settings["pool_size"].value for p in report.pools}
    assert sizes == {"main.py:4": 20, "main.py:5": 2}


def test_django_getenv_required_and_its_literal_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # django-getenv 1.3: `env(key, required=True)` raises where the variable is unset (not None, which Django reads as
    # connections kept for ever); a set value is read with ast.literal_eval ("60" is 60)
    files = {
        ".env": "DB_CONN_MAX_AGE=60\n",
        "settings.py": """
            from getenv import env

            INSTALLED_APPS = ["django.contrib.auth"]
            DATABASES = {
                "default": {
                    "ENGINE": "django.db.backends.postgresql",
                    "NAME": env("DB_NAME", required=True),
                    "CONN_MAX_AGE": env("DB_CONN_MAX_AGE", 0),
                    "PORT": env("DB_PORT", "5432"),
                }
            }
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    settings = at(report, "settings.py:5").settings
    assert (settings["NAME"].known, settings["NAME"].env) == (False, "DB_NAME")
    assert settings["CONN_MAX_AGE"].value == 60
    assert settings["PORT"].value == "5432"  # (a default is returned as it is)


def test_an_alias_whose_dict_the_default_side_writes_is_at_that_dict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the review's case: the other side's entry (a dj_database_url call) no longer moves the alias's line
    files = {
        "settings.py": """
            import os

            import dj_database_url

            INSTALLED_APPS = ["django.contrib.contenttypes"]

            if "DATABASE_URL" in os.environ:
                DATABASES = {"default": dj_database_url.config(conn_max_age=600)}
            else:
                DATABASES = {
                    "default": {"ENGINE": "django.db.backends.postgresql", "NAME": "app", "CONN_MAX_AGE": 60}
                }
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert at(report, "settings.py:11").settings["CONN_MAX_AGE"].value == 60


def test_pools_kept_in_a_part_of_a_module_dict_by_key_are_one_per_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # udata-hydra's context.pool(db): `if db not in context["databases"]: context["databases"][db] = await
    # asyncpg.create_pool(...)` (was: a pool at each of its callers)
    files = {
        "svc/__init__.py": "",
        "svc/context.py": """
            import asyncpg

            context = {"databases": {}}


            async def pool(db="main"):
                if db not in context["databases"]:
                    dsn = "postgres://db/main" if db == "main" else "postgres://db/csv"
                    context["databases"][db] = await asyncpg.create_pool(dsn=dsn, max_size=50)
                return context["databases"][db]
        """,
        "svc/checks.py": """
            from svc import context


            async def one():
                return await context.pool()


            async def two():
                return await context.pool()


            async def rows():
                return await context.pool("csv")
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    dsns = {p.where: p.settings["dsn"].value for p in report.pools}
    assert dsns == {"svc/checks.py:5": "postgres://db/main", "svc/checks.py:13": "postgres://db/csv"}


def test_a_module_a_function_binds_with_dunder_import_is_that_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # uberserver's DataHandler.init: `sqlalchemy = __import__('sqlalchemy')`, then sqlalchemy.create_engine(...)
    files = {
        "handler.py": """
            class DataHandler:
                def init(self):
                    sqlalchemy = __import__("sqlalchemy")
                    self.engine = sqlalchemy.create_engine("sqlite:///server.db", pool_recycle=3600)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert at(report, "handler.py:4").settings["pool_recycle"].value == 3600


@pytest.mark.parametrize(
    ("change", "url"),
    [
        ('drivername="postgresql+asyncpg"', "postgresql+asyncpg://log@localhost:5432/log"),
        ('host="db", database="other"', "postgresql://log@db:5432/other"),
        ('username="p@ss/w"', "postgresql://p%40ss%2Fw@localhost:5432/log"),  # quoted, as SQLAlchemy does
    ],
    ids=["driver", "parts", "quoted"],
)
def test_a_urls_set_replaces_its_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str, url: str) -> None:
    # exposurelog: `make_url(url).set(drivername="postgresql+asyncpg")` (was: unknown)
    files = {
        "db.py": f"""
import os

import sqlalchemy.engine
from sqlalchemy.ext.asyncio import create_async_engine

URL = os.environ.get("LOG_DB_URL", "postgresql://log@localhost:5432/log")
sa_url = sqlalchemy.engine.make_url(URL).set({change})
engine = create_async_engine(sa_url)
""",
    }
    report = scan(tmp_path, files, monkeypatch)
    found = at(report, "db.py:8").settings["url"]
    assert (found.value, found.env) == (url, "LOG_DB_URL")


@pytest.mark.parametrize(
    ("pattern", "url"),
    [
        ('"^postgres:"', "postgresql://root@localhost/guardian"),
        ('"^(postgres)+:"', None),  # a repetition: not run
    ],
    ids=["literal", "repetition"],
)
def test_a_literal_regex_substitution_of_a_known_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pattern: str, url: str | None
) -> None:
    # pulseguardian: `re.sub("^postgres:", "postgresql:", database_url)` (was: unknown)
    files = {
        "db.py": f"""
import os
import re

from sqlalchemy import create_engine

url = os.getenv("DATABASE_URL", "postgres://root@localhost/guardian")
url = re.sub({pattern}, "postgresql:", url)
engine = create_engine(url)
""",
    }
    report = scan(tmp_path, files, monkeypatch)
    found = at(report, "db.py:8").settings["url"]
    assert (found.value, found.env) == (url, "DATABASE_URL")


def test_environs_db_of_an_empty_default_is_an_alias_the_variable_fills(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kukkuu: `environ.Env(DATABASE_URL=(str, ""))`, `DATABASES = {"default": env.db()}`: {} until DATABASE_URL
    # names a database, as it does where it is deployed (was: no pool, no warning)
    files = {
        "app/__init__.py": "",
        "app/settings.py": """
            import environ

            env = environ.Env(DATABASE_URL=(str, ""), DATABASE_PASSWORD=(str, ""))

            INSTALLED_APPS = ["django.contrib.auth"]
            DATABASES = {"default": env.db()}

            if env("DATABASE_PASSWORD"):
                DATABASES["default"]["PASSWORD"] = env("DATABASE_PASSWORD")
        """,
        "manage.py": 'import os\n\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "app.settings")\n',
    }
    report = scan(tmp_path, files, monkeypatch)
    engine = at(report, "app/settings.py:6").settings["ENGINE"]
    assert (engine.known, engine.env) == (False, "DATABASE_URL")


def test_a_urls_set_as_sqlalchemy_writes_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the review's cases: an IPv6 host keeps its brackets, a URL with no host keeps its "//", a placeholder's
    # port makes the URL unknown without losing the file's other pools
    files = {
        "db.py": """
            from sqlalchemy import create_engine
            from sqlalchemy.engine import make_url

            v6 = create_engine(make_url("postgresql://app@[::1]:5432/app").set(database="other"))
            lite = create_engine(make_url("sqlite:///app.db").set(database="other.db"))
            holder = create_engine(make_url("postgresql://user:password@host:port/db").set(host="h"))
            plain = create_engine("postgresql://db/ok", pool_size=7)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    urls = {p.line: p.settings["url"].value for p in report.pools}
    assert urls == {4: "postgresql://app@[::1]:5432/other", 5: "sqlite:///other.db", 6: None, 7: "postgresql://db/ok"}


@pytest.mark.parametrize(
    "factory",
    [
        # a dict of each tenant's engines: `_engines[tenant]` is the tenant's, the key is both
        """
        _engines = {"acme": {}, "globex": {}}


        def engine(tenant, name):
            if name not in _engines[tenant]:
                _engines[tenant][name] = create_engine(f"postgresql://db/{tenant}_{name}")
            return _engines[tenant][name]
        """,
        # a dict each caller hands in
        """
        def engine(cache, name):
            if name not in cache["engines"]:
                cache["engines"][name] = create_engine(f"postgresql://db/{name}")
            return cache["engines"][name]
        """,
    ],
    ids=["variable-index", "parameter"],
)
def test_a_memo_keyed_by_more_than_its_key_keeps_each_callers_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, factory: str
) -> None:
    calls = (
        'a = engine("acme", "main")\nb = engine("globex", "main")\n'
        if "tenant" in factory
        else 'a = engine({"engines": {}}, "main")\nb = engine({"engines": {}}, "main")\n'
    )
    files = {
        "db.py": "from sqlalchemy import create_engine\n" + dedent(factory),
        "main.py": f"from db import engine\n\n{calls}",
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [p.where for p in report.pools] == ["main.py:3", "main.py:4"]


def test_a_loop_over_databases_values_changes_each_alias(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # open-forms' production settings: `from .base import *`, then `for db_config in DATABASES.values():
    # db_config["CONN_MAX_AGE"] = 60` (was: the base's pool alone, CONN_MAX_AGE Django's 0)
    files = {
        "app/__init__.py": "",
        "app/conf/__init__.py": "",
        "app/conf/base.py": """
            from decouple import config

            INSTALLED_APPS = ["django.contrib.auth"]
            DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": config("DB_NAME", default="forms")}}
        """,
        "app/conf/production.py": """
            from .base import *  # noqa: F403

            for db_config in DATABASES.values():
                db_config["CONN_MAX_AGE"] = 60
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    production = at(report, "app/conf/production.py:3")
    assert production.settings["CONN_MAX_AGE"].value == 60
    assert production.settings["NAME"].value == "forms"


def test_a_package_folder_run_as_scripts_imports_its_own_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # queue-management: api/ (with an __init__.py) runs from its own folder, `from config import configure_app`
    # is api/config.py, not the feedback-api sub-project's config.py (was: the app's pool missed, config classes
    # listed in its place)
    files = {
        "feedback-api/config.py": "class Config:\n    SQLALCHEMY_DATABASE_URI = 'postgres://feedback'\n",
        "api/__init__.py": "",
        "api/config.py": """
            import os


            class LocalConfig:
                SQLALCHEMY_DATABASE_URI = "postgres://u@127.0.0.1/qsystem"
                SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 9}


            def configure_app(app):
                app.config.from_object(LocalConfig)
        """,
        "api/qsystem.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            from config import configure_app

            application = Flask(__name__)
            configure_app(application)
            db = SQLAlchemy(application)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [p.where for p in report.pools] == ["api/qsystem.py:8"]
    assert at(report, "api/qsystem.py:8").settings["pool_size"].value == 9


def test_a_url_stripped_of_given_characters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # tracardi: `uri = f"{schema}{user}:{password}@{host}:{port}/{name}".strip(" /")` (was: unknown)
    files = {
        "engine.py": """
            import os

            from sqlalchemy.ext.asyncio import create_async_engine

            uri = f"{os.environ.get('MYSQL_SCHEMA', 'mysql+aiomysql://')}root@localhost:3306/".strip(" /")
            engine = create_async_engine(uri, pool_size=3)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    url = at(report, "engine.py:6").settings["url"]
    assert (url.value, url.env) == ("mysql+aiomysql://root@localhost:3306", "MYSQL_SCHEMA")


def test_a_pytest_fixtures_pool_outside_tests_is_the_tests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # insights-host-inventory's IQE plugin: `@pytest.fixture def inventory_db_engine(): return make_engine()` in a
    # plugin package outside tests/ (was: judged as the app's)
    files = {
        "app/__init__.py": "",
        "app/db.py": """
            import os

            from sqlalchemy import create_engine


            def make_engine():
                return create_engine(os.environ.get("DATABASE_URL", "postgresql://db/app"), pool_size=5)
        """,
        "plugin/iqe_app/__init__.py": "",
        "plugin/iqe_app/fixtures.py": """
            import pytest

            from app.db import make_engine


            @pytest.fixture(scope="session")
            def inventory_db_engine():
                return make_engine()
        """,
        "app/web.py": "from app.db import make_engine\n\nENGINE = make_engine()\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    assert at(report, "plugin/iqe_app/fixtures.py:8").aside == "tests"
    assert at(report, "app/web.py:3").aside is None


def test_an_init_that_sets_another_attribute_under_a_test_keeps_its_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # insights-host-inventory's Config: `self.db_uri = self._build_db_uri()`, then `if <runtime is PENDO_JOB>:
    # self.pendo_retries = ...` (was: the URL unknown, the instance made again half made to read pendo_retries)
    files = {
        "app/__init__.py": "",
        "app/config.py": """
            import os
            from enum import Enum, auto


            class Runtime(Enum):
                JOB = auto()
                PENDO_JOB = auto()


            class Config:
                retries = 1

                def __init__(self, runtime):
                    self._runtime = runtime
                    self._db_host = os.getenv("DB_HOST", "localhost")
                    self.db_uri = self._build_db_uri()
                    if self._runtime == Runtime.PENDO_JOB:
                        self.retries = int(os.environ.get("PENDO_RETRIES", "3"))

                def _build_db_uri(self):
                    netloc = "" if self._db_host.startswith("/") else f"{self._db_host}:5432"
                    return f"postgresql://insights@{netloc}/insights"
        """,
        "app/jobs.py": """
            from sqlalchemy import create_engine

            from app.config import Config, Runtime

            config = Config(Runtime.JOB)
            engine = create_engine(config.db_uri, pool_size=config.retries)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    pool = at(report, "app/jobs.py:6")
    url = pool.settings["url"]
    assert (url.value, url.env) == ("postgresql://insights@localhost:5432/insights", "DB_HOST")
    assert {b.value for b in pool.settings["pool_size"].branches} == {1, 3}


@pytest.mark.parametrize(
    "loop",
    [
        "for alias, db in DATABASES.items():\n    print(alias)\n",
        'for db in DATABASES.values():\n    db = dict(db)\n    db["CONN_MAX_AGE"] = 60\n',
    ],
    ids=["reads", "copies"],
)
def test_a_loop_that_changes_no_alias_makes_no_pool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loop: str) -> None:
    # the third review's cases: a loop over DATABASES that reads it, or changes a copy
    files = {
        "app/__init__.py": "",
        "app/base.py": 'INSTALLED_APPS = ["django.contrib.auth"]\nDATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "forms"}}\n',
        "app/production.py": "from .base import *  # noqa: F403\n\n" + loop,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [p.where for p in report.pools] == ["app/base.py:2"]


def test_a_src_layouts_top_module_is_found_before_a_packages_sibling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the third review's case: src/app/db.py `from config import URL` is src/config.py, not src/app/config.py
    files = {
        "src/config.py": 'URL = "postgresql://top/main"\n',
        "src/app/__init__.py": "",
        "src/app/config.py": 'URL = "sqlite:///ui.db"\n',
        "src/app/db.py": "from sqlalchemy import create_engine\n\nfrom config import URL\n\nengine = create_engine(URL)\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    assert at(report, "src/app/db.py:5").settings["url"].value == "postgresql://top/main"


def test_a_projects_own_fixture_decorator_is_no_pytests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "app/registry.py": "def fixture(func):\n    return func\n",
        "app/resources.py": """
            from sqlalchemy import create_engine

            from app.registry import fixture


            @fixture
            def engine():
                return create_engine("postgresql://db/app", pool_size=15)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert at(report, "app/resources.py:8").aside is None


def test_an_inherited_init_reads_the_subclasss_attribute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the third review's case: Prod(Base) with Base.__init__ setting another attribute under a test
    files = {
        "app.py": """
            import os

            from sqlalchemy import create_engine


            class Base:
                url = "postgresql://db/base"

                def __init__(self):
                    if os.environ.get("DEBUG"):
                        self.url = "sqlite://"


            class Prod(Base):
                url = "postgresql://db/prod"


            engine = create_engine(Prod().url)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert at(report, "app.py:18").settings["url"].value == "postgresql://db/prod"
