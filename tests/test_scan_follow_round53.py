"""`scan_path` following values the way real projects spread them (issue 29), continued from
test_scan_follow_round48.py (the open cases of earlier rounds and of held-out round 53). Each project is a few
small files written here (never a copy of a real one); line numbers in the assertions are the fixtures' own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_scan import at, scan

from pool_doctor.scan import scan_path
from pool_doctor.scan.target import url_driver


def test_a_long_url_written_out_whole_keeps_its_driver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # rounds 51 and 52 (4 pools): an f-string URL longer than the 120-character display cut, every part but its
    # bare `postgresql://` read from the environment, gave no driver (the cut text might have gone on to rewrite
    # the scheme); the whole text shows nothing does
    parts = "".join(f"{{os.getenv('PG_{name}')}}" for name in ("USER", "PASSWORD", "HOST", "PORT", "DATABASE_NAME"))
    files = {
        "app/db.py": f"""
            import os
            from sqlalchemy import create_engine

            def url():
                return f"postgresql://{parts}"

            engine = create_engine(url())
            rewritten = create_engine(f"postgresql://{parts}".replace("postgresql://", "postgresql+asyncpg://"))
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert url_driver(at(report, "app/db.py:7")) == "psycopg2"
    assert url_driver(at(report, "app/db.py:8")) is None  # (a text a call rewrites: unknown, as before)


def test_a_script_loading_the_config_again_into_an_imported_app_makes_no_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # flask_template (round 52, its one false pool): a migration script imports the app, which its module makes,
    # configures and binds at its top, and loads the same configuration into it again: one engine, the app's
    (tmp_path / "requirements.txt").write_text("Flask-SQLAlchemy==2.5.1\n")  # (2.x reads SQLALCHEMY_POOL_*)
    files = {
        "app.py": """
            from flask import Flask
            from models import db

            app = Flask(__name__)
            app.config.from_object("configuration")
            db.init_app(app)
        """,
        "models.py": """
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()
        """,
        "configuration.py": """
            SQLALCHEMY_DATABASE_URI = "postgresql://app@db/app"
            SQLALCHEMY_POOL_SIZE = 10
        """,
        "db_manage.py": """
            from flask_migrate import Migrate

            from app import app
            from models import db

            app.config.from_object("configuration")
            migrate = Migrate(app, db)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [(p.where, p.settings["pool_size"].value) for p in report.pools] == [("app.py:6", 10)]


def test_a_databases_name_in_a_project_that_never_names_django_is_no_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Neutron-Bot (round 53): a bot's `DATABASES = frozenset(walk_modules(...))`, the modules it loads, was an
    # unread Django DATABASES; a project whose code never names Django has none (its engine is the only pool)
    files = {
        "bot/autoload.py": """
            import pkgutil

            import bot.database

            def walk_modules(package):
                return [m.name for m in pkgutil.walk_packages(package.__path__)]

            DATABASES = frozenset(walk_modules(bot.database))
        """,
        "bot/database/__init__.py": "",
        "bot/core.py": """
            from sqlalchemy.ext.asyncio import create_async_engine

            engine = create_async_engine("postgresql+asyncpg://bot@db/bot")
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [p.where for p in report.pools] == ["bot/core.py:3"]
    # in a Django project, DATABASES the scan cannot read is still a pool, unread
    (tmp_path / "manage.py").write_text('import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "bot.autoload")\n')
    report = scan(tmp_path, {}, monkeypatch)
    assert [p.where for p in report.pools] == ["bot/autoload.py:8", "bot/core.py:3"]


def test_import_a_b_binds_the_package_holding_a_b_not_a_module_of_that_name_beside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Neutron-Bot (round 53): `import bot.config` in bot/core/ (a folder with no __init__.py, beside its own
    # bot.py) bound `bot` to that bot.py, which has no `config`: the engine's URL and driver were unknown
    files = {
        "bot/__init__.py": "",
        "bot/config.py": """
            import os

            USER = os.getenv("DATABASE_USER", "bot")
            URL = f"postgresql+asyncpg://{USER}@127.0.0.1/bot"
        """,
        "bot/core/bot.py": """
            class Bot:
                pass
        """,
        "bot/core/engine.py": """
            import bot.config
            from sqlalchemy.ext.asyncio import create_async_engine

            engine = create_async_engine(bot.config.URL)
        """,
    }
    url = at(scan(tmp_path, files, monkeypatch), "bot/core/engine.py:4").settings["url"]
    assert (url.value, url.env) == ("postgresql+asyncpg://bot@127.0.0.1/bot", "DATABASE_USER")


@pytest.mark.parametrize(
    ("pin", "read"),
    [
        ("flask_sqlalchemy==3.1.1", None),
        ("Flask-SQLAlchemy==2.5.1", [20]),
        # no release pinned: what installs today is 3.x, which reads none: a branch per release
        ("", [20, None]),
        # colab23 (round 54): SQLAlchemy 2 leaves only Flask-SQLAlchemy 3 to install (2.5.1 reads
        # sqlalchemy.__all__, which 2.0 dropped)
        ("SQLAlchemy==2.0.21\nFlask-SQLAlchemy", None),
        ("sqlalchemy>=2.0\nflask-sqlalchemy", None),
        ("SQLAlchemy==1.4.46\nFlask-SQLAlchemy", [20, None]),
        ("SQLAlchemy==2.0.21\nFlask-SQLAlchemy==2.5.1", [20]),
        # the review: a range read for the majors it allows; zope.sqlalchemy is no SQLAlchemy
        ("Flask-SQLAlchemy>=2.4,<3", [20]),
        ("flask-sqlalchemy<3", [20]),
        ("Flask-SQLAlchemy>=3.0", None),
        ("zope.sqlalchemy==3.1\nSQLAlchemy<2\nFlask-SQLAlchemy", [20, None]),
    ],
)
def test_the_2x_pool_keys_set_nothing_under_flask_sqlalchemy_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pin: str, read: list[int | None] | None
) -> None:
    # CS307-Project2 (round 53, 4 wrong values): SQLALCHEMY_POOL_SIZE and the other 2.x keys, which 3.0 removed
    # (3.1.1's init_app reads none of them), were read as the engine's under a pinned 3.1.1
    files = {
        "requirements.txt": f"flask\n{pin}\n",
        "app/config.py": """
            class Config:
                SQLALCHEMY_DATABASE_URI = "postgresql://app@db/app"
                SQLALCHEMY_POOL_SIZE = 20
                SQLALCHEMY_POOL_RECYCLE = 1800
                SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
        """,
        "app/__init__.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            from app.config import Config

            db = SQLAlchemy()
            app = Flask(__name__)
            app.config.from_object(Config)
            db.init_app(app)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    pool = at(report, "app/__init__.py:9")
    size = pool.get("pool_size")
    found = None if size is None else [b.value for b in size.branches] if size.branches else [size.value]
    assert found == read
    if size is not None and size.branches:
        assert [b.when for b in size.branches] == [
            "Flask-SQLAlchemy 2",
            "Flask-SQLAlchemy 3, which reads no such key",
        ]
    assert pool.settings["pool_pre_ping"].value is True
    ignored = [w for w in report.warnings if "SQLALCHEMY_POOL_RECYCLE, SQLALCHEMY_POOL_SIZE set nothing" in w]
    assert len(ignored) == (1 if read is None else 0), report.warnings
    if read is None:
        assert ignored[0].startswith("app/__init__.py:9: ") and "SQLALCHEMY_ENGINE_OPTIONS" in ignored[0]


def test_a_project_module_named_configurations_inside_a_package_is_not_django_configurations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # absys (round 53, a missed alias): shop/configurations.py, a module of the project's own package, was read
    # as the django-configurations library the settings classes import, so no class was a settings class
    files = {
        "manage.py": """
            import os

            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
            os.environ.setdefault("DJANGO_CONFIGURATION", "Development")
        """,
        "config/__init__.py": "",
        "config/settings/__init__.py": "",
        "config/settings/common.py": """
            from configurations import Configuration, values

            class Common(Configuration):
                DEBUG = values.BooleanValue(True)
        """,
        "config/settings/databases.py": """
            import dj_database_url
            from configurations import values

            class Databases(object):
                DATABASES = {"default": dj_database_url.config(env="DEFAULT_DATABASE_URL")}
                DATABASES["default"]["CONN_MAX_AGE"] = values.IntegerValue(600, environ_prefix="", environ_name="DEFAULT_CONN_MAX_AGE")
        """,
        "config/settings/dev.py": """
            from . import common, databases

            class Development(databases.Databases, common.Common):
                pass
        """,
        "shop/__init__.py": "",
        "shop/configurations.py": """
            class ShopConfigurationBase:
                days = 0
        """,
    }
    pool = at(scan(tmp_path, files, monkeypatch), "config/settings/databases.py:5")
    assert (pool.settings["CONN_MAX_AGE"].value, pool.settings["CONN_MAX_AGE"].env) == (600, "DEFAULT_CONN_MAX_AGE")


def test_globals_subscript_reads_the_module_global(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # LBGenerator (round 48): a factory reading `globals()["POOL_SIZE"]`, which another function sets through
    # `global`: the plain name was read, this spelling was unknown
    files = {
        "app/config.py": """
            import os

            from sqlalchemy import create_engine

            def set_globals():
                global DB_URL, POOL_SIZE
                DB_URL = os.environ.get("DATABASE_URL", "postgresql://app@db/app")
                POOL_SIZE = int(os.environ.get("POOL_SIZE", "20"))

            set_globals()

            def create_new_engine():
                return create_engine(globals()["DB_URL"], pool_size=globals()["POOL_SIZE"])

            engine = create_new_engine()
        """,
    }
    pool = at(scan(tmp_path, files, monkeypatch), "app/config.py:13")
    size, url = pool.settings["pool_size"], pool.settings["url"]
    assert (size.value, size.env, url.value, url.env) == (20, "POOL_SIZE", "postgresql://app@db/app", "DATABASE_URL")


def test_a_library_call_of_a_variables_value_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # answer-seeking-agent (round 54): the URL is a settings field's variable, unquoted and put through
    # string.Template by the library: unknown, as it should be, but naming no variable (a `.replace` of it did)
    files = {
        "app/db.py": """
            import os
            import string
            import urllib.parse

            from sqlalchemy import create_engine

            raw = os.getenv("POSTGRES_CONNECTION_URL", "")
            template = string.Template(urllib.parse.unquote(str(raw)))
            engine = create_engine(template.safe_substitute({"USER": os.getenv("PGUSER", "app")}))
        """,
    }
    url = at(scan(tmp_path, files, monkeypatch), "app/db.py:9").settings["url"]
    assert (url.known, url.env) == (False, "POSTGRES_CONNECTION_URL")


def test_pydantic_cores_url_builds_with_an_empty_host_and_postgres_dsn_does_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # TFG-GOLEM-XIV (round 55, 3 wrong values): pydantic_core's MultiHostUrl.build(scheme="sqlite", host="",
    # path=...) builds sqlite:////app/sd_db.sqlite (pydantic-core 2.46.4); the scan said the build raises, so
    # the settings default's SQLite side was an unknown URL judged as PostgreSQL. PostgresDsn.build refuses "".
    files = {
        "app/db.py": """
            from pydantic import PostgresDsn
            from pydantic_core import MultiHostUrl
            from sqlalchemy import create_engine

            lite = create_engine(str(MultiHostUrl.build(scheme="sqlite", host="", path="/app/sd_db.sqlite")))
            pg = create_engine(str(PostgresDsn.build(scheme="postgresql", host="", path="app")))
            named = create_engine(str(MultiHostUrl.build(scheme="postgresql+asyncpg", host="db", path="app")))
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    lite = [p for p in report.pools if p.line == 5]
    assert [p.settings["url"].value for p in lite] == ["sqlite:////app/sd_db.sqlite"]
    assert at(report, "app/db.py:6").settings["url"].expr == "postgresql://... (no host: the build raises)"
    assert at(report, "app/db.py:7").settings["url"].value == "postgresql+asyncpg://db/app"


def test_a_module_apps_config_bound_in_one_of_its_functions_is_the_engine_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ETMFA_MGMT (round 55): the module makes and configures its app at its top; create_app() binds that global
    # app through a helper (`init_db(app)`): the engine sat at the config line, where none is made, and at import
    files = {
        "requirements.txt": "Flask-SQLAlchemy==3.1.1\n",
        "web/config.py": """
            class Config:
                SQLALCHEMY_DATABASE_URI = "postgresql://app@db/app"
                SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "pool_recycle": 900}
        """,
        "web/db.py": """
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()

            def init_db(app):
                db.init_app(app)
        """,
        "web/server.py": """
            from flask import Flask

            from web.config import Config
            from web.db import init_db

            app = Flask(__name__)
            app.config.from_object(Config)

            def create_app():
                init_db(app)
                return app
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [p.where for p in report.pools] == ["web/db.py:6"]
    pool = report.pools[0]
    assert (pool.settings["pool_recycle"].value, pool.at_import) == (900, False)


def test_a_function_binding_an_app_it_is_given_does_not_bind_the_modules_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {
        "requirements.txt": "Flask-SQLAlchemy==3.1.1\n",
        "web/server.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()
            app = Flask(__name__)
            app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://app@db/app"

            def register(app):
                db.init_app(app)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [p.where for p in report.pools if p.line == 9] == []


def test_import_a_b_of_a_library_the_project_has_stubs_of_stays_the_library(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the regression scan (guillotina): stubs/asyncpg/connection.py made `import asyncpg.connection` bind the
    # stubs' package, so `asyncpg.create_pool(...)` was no pool (2 lost)
    files = {
        "stubs/asyncpg/__init__.py": "",
        "stubs/asyncpg/connection.py": "class Connection: ...\n",
        "app/pg.py": """
            import asyncpg
            import asyncpg.connection

            async def open_pool():
                return await asyncpg.create_pool(dsn="postgresql://app@db/app", min_size=1)
        """,
    }
    assert [p.where for p in scan(tmp_path, files, monkeypatch).pools] == ["app/pg.py:5"]


def test_the_release_is_read_from_the_pins_nearest_the_apps_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the review: a monorepo's root pins SQLAlchemy 2 for another service; legacy/ pins Flask-SQLAlchemy 2.5.1
    # for its own app (its 2.x keys count), and a service with no pins of its own takes the root's (3: none)
    app = """
        from flask import Flask
        from flask_sqlalchemy import SQLAlchemy

        app = Flask(__name__)
        app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://app@db/app"
        app.config["SQLALCHEMY_POOL_SIZE"] = 20
        db = SQLAlchemy(app)
    """
    files = {
        "requirements.txt": "SQLAlchemy>=2.0\n",
        "legacy/requirements.txt": "Flask-SQLAlchemy==2.5.1\nSQLAlchemy==1.4.49\n",
        "legacy/app.py": app,
        "svc/app.py": app,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert at(report, "legacy/app.py:7").settings["pool_size"].value == 20
    assert at(report, "svc/app.py:7").get("pool_size") is None


@pytest.mark.parametrize(("pin", "pools"), [("Flask-SQLAlchemy==3.1.1", 1), ("Flask-SQLAlchemy==2.5.1", 2)])
def test_a_script_configuring_an_imported_app_its_own_way_is_an_engine_under_2x_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pin: str, pools: int
) -> None:
    # the review: Flask-SQLAlchemy 2 makes the engine at first use, from the config as the script leaves it (its
    # own URL and pool_size); 3 made it at the bind, when the script imported the app
    files = {
        "requirements.txt": f"{pin}\n",
        "app.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            app = Flask(__name__)
            app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///dev.db"
            db = SQLAlchemy(app)
        """,
        "manage.py": """
            from app import app, db

            app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://app@db/app"
            app.config["SQLALCHEMY_POOL_SIZE"] = 30
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert len(report.pools) == pools
    if pools == 2:
        assert at(report, "manage.py:3").settings["pool_size"].value == 30


def test_a_password_a_url_is_composed_with_is_never_in_its_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the review: a URL built with `%` or `+` from a password literal showed that literal in `source` (whole once
    # the display cut moved to 400 characters, its first characters before)
    user = "reporting_service_account_for_the_data_warehouse_team_and_the_finance_department"
    host = "warehouse-primary.internal.example.com:5432/analytics"
    files = {
        "app/db.py": f"""
            from sqlalchemy import create_engine

            plus = create_engine("postgresql+psycopg2://{user}:" + "Pl4usPassw0rd" + "@{host}")
            percent = create_engine("postgresql+psycopg2://{user}:%s@{host}" % "P3rcentPassw0rd")
            short = create_engine("postgresql://app:%s@db/app" % "Sh0rtPassw0rd")
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    shown = json.dumps(report.to_json())
    assert [word for word in ("Pl4u", "P3rc", "Sh0r") if word in shown] == []
    assert at(report, "app/db.py:5").settings["url"].value == "postgresql://app:***@db/app"


def test_an_unread_databases_is_djangos_where_the_module_is_a_settings_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the review: a settings module scanned alone (or beside no file naming Django) lost its unread DATABASES
    files = {
        "settings/production.py": """
            from .base import *
            import vaultconf

            DATABASES = vaultconf.load("databases")
        """,
        "settings/staging.py": """
            import vaultconf

            SECRET_KEY = vaultconf.load("secret")
            DATABASES = vaultconf.load("databases")
        """,
    }
    assert [p.where for p in scan(tmp_path, files, monkeypatch).pools] == [
        "settings/production.py:4",
        "settings/staging.py:4",
    ]
    monkeypatch.chdir(tmp_path)
    alone = scan_path(Path("settings/production.py"))
    assert [p.line for p in alone.pools] == [4]


def test_a_projects_own_configurations_module_outside_django_is_the_projects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the review: with `configurations` read as django-configurations everywhere, a bot's own configurations.py
    # (its script run from bot/) lost the URL, driver and size
    files = {
        "bot/__init__.py": "",
        "bot/configurations.py": """
            DATABASE_URL = "postgresql+asyncpg://bot@db/botdb"
            POOL_SIZE = 15
        """,
        "bot/main.py": """
            from configurations import DATABASE_URL, POOL_SIZE
            from sqlalchemy.ext.asyncio import create_async_engine

            engine = create_async_engine(DATABASE_URL, pool_size=POOL_SIZE)
        """,
    }
    pool = at(scan(tmp_path, files, monkeypatch), "bot/main.py:4")
    assert (pool.settings["url"].value, pool.settings["pool_size"].value) == ("postgresql+asyncpg://bot@db/botdb", 15)


def test_a_requirements_file_written_in_utf_16_pins_the_release_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Communication_practice (round 53): `pip freeze` in PowerShell writes UTF-16; its Flask-SQLAlchemy==3.1.1 was
    # not read, so a script's options set after the bind were an engine of their own
    (tmp_path / "requirements.txt").write_text("Flask==3.0.0\nFlask-SQLAlchemy==3.1.1\n", encoding="utf-16")
    files = {
        "app.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            app = Flask(__name__)
            app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://app@db/app"
            db = SQLAlchemy(app)
        """,
        "run.py": """
            from app import app

            app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": 15}
        """,
    }
    assert [p.where for p in scan(tmp_path, files, monkeypatch).pools] == ["app.py:6"]


def test_a_config_class_chosen_with_get_from_a_map_by_a_variable_is_one_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # quiz (round 56): `app.config.from_object(config.get(flask_env))` was 3 pools, one per class; with
    # `config[flask_env]` it was already the one engine at the bind, a branch per key
    files = {
        "requirements.txt": "Flask-SQLAlchemy==2.4.0\n",
        "app/ext.py": "from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n",
        "app/settings.py": """
            import os

            class Config:
                SQLALCHEMY_POOL_SIZE = 7

            class DevelopmentConfig(Config):
                SQLALCHEMY_DATABASE_URI = os.getenv("DEV_DATABASE_URL", "postgresql://dev@db/app")

            class ProductionConfig(Config):
                SQLALCHEMY_DATABASE_URI = os.getenv("DATABASE_URL", "postgresql://prod@db/app")

            config = dict(development=DevelopmentConfig, production=ProductionConfig)
        """,
        "app/factory.py": """
            import os

            from flask import Flask

            from app.ext import db
            from app.settings import config

            def create_app():
                app = Flask(__name__)
                app.config.from_object(config.get(os.getenv("FLASK_ENV", "development")))
                db.init_app(app)
                return app
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [p.where for p in report.pools] == ["app/factory.py:11"]
    pool = report.pools[0]
    assert pool.settings["pool_size"].value == 7
    assert [b.value for b in pool.settings["url"].branches] == ["postgresql://dev@db/app", "postgresql://prod@db/app"]


def test_a_url_a_known_constant_starts_names_its_driver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # asyncpg-datalayer (round 56): `_SA_PREFIX + rest`, the prefix a module constant, gave no driver (written
    # inline, the same prefix did)
    files = {
        "app/db.py": """
            import os

            from sqlalchemy.ext.asyncio import create_async_engine

            _SA_PREFIX = "postgresql+asyncpg://"
            url = _SA_PREFIX + os.environ["POSTGRES_URL"].removeprefix("postgresql://")
            engine = create_async_engine(url, pool_size=3)
            other = create_async_engine("sqlite+aiosqlite:///" + os.environ["DB_PATH"])
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    pool = at(report, "app/db.py:7")
    assert (url_driver(pool), pool.settings["url"].env) == ("asyncpg", "POSTGRES_URL")
    assert url_driver(at(report, "app/db.py:8")) is None  # (SQLite's: no PostgreSQL driver)


def test_a_database_url_variable_named_at_run_time_is_no_database_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # afex_app (round 56): `dj_database_url.config(config("RENDER_DATABASE_URL"), conn_max_age=600)` reads the
    # variable whose name RENDER_DATABASE_URL holds; the scan named DATABASE_URL as the URL's variable
    files = {
        "proj/settings.py": """
            import os

            import dj_database_url
            from decouple import config

            INSTALLED_APPS = ["django.contrib.auth"]
            DATABASES = {"default": dj_database_url.config(config("RENDER_DATABASE_URL"), conn_max_age=600)}
            if "DATABASE_URL_REPLICA" in os.environ:
                REPLICA_ENV = "DATABASE_URL_REPLICA"
            else:
                REPLICA_ENV = dj_database_url.DEFAULT_ENV
            DATABASES["replica"] = dj_database_url.config(env=REPLICA_ENV, default="postgres://u@h/d")
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    pool = at(report, "proj/settings.py:7")
    assert pool.settings["CONN_MAX_AGE"].value == 600
    assert [v.env for v in pool.settings.values() if v.env == "DATABASE_URL"] == []
    # the regression scan (saleor): a name chosen by a test, DATABASE_URL where no variable is set, as before
    replica = at(report, "proj/settings.py:12").settings["NAME"]
    assert (replica.value, replica.env) == ("d", "DATABASE_URL")
