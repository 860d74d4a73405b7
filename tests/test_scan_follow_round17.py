"""`scan_path` following values the way real projects spread them (issue 29), continued from
test_scan_follow_round13.py (held-out round 17's shapes). Each project is a few small files written here (never
a copy of a real one); line numbers in the assertions are the fixtures' own."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_scan import at, scan

from pool_doctor.scan import scan_path

SETTINGS = """
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    DB_HOST: str = "localhost"
    POSTGRES_USER: str = "coffee"

    @property
    def database_url(self) -> str:
        return f"postgresql+asyncpg://{self.POSTGRES_USER}@{self.DB_HOST}:5432/coffee"
"""


def test_a_dependency_injector_provider_is_the_call_it_makes_when_first_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # RandomCoffeeBot: `providers.Singleton(create_async_engine, settings.provided.database_url, ...)` is the app's
    # engine, made when the container first provides it (not at import); `.provided` is the provided instance
    report = scan(
        tmp_path,
        {
            "src/__init__.py": "",
            "src/settings.py": SETTINGS,
            "src/depends.py": """
            from dependency_injector import containers, providers
            from sqlalchemy.ext.asyncio import create_async_engine

            from src.settings import Settings


            class Container(containers.DeclarativeContainer):
                settings = providers.Singleton(Settings)
                engine = providers.Singleton(create_async_engine, settings.provided.database_url, pool_size=7)
            """,
        },
        monkeypatch,
    )
    pool = at(report, "src/depends.py:9")
    assert pool.settings["url"].value == "postgresql+asyncpg://coffee@localhost:5432/coffee"
    assert (pool.settings["pool_size"].value, pool.at_import) == (7, False)


def test_a_provider_of_a_project_class_passes_its_keywords_to_the_wrapper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # fake-ecommerce: `providers.Singleton(Database, db_url=configs.DATABASE_URI)` makes Database(db_url=...)
    report = scan(
        tmp_path,
        {
            "core/__init__.py": "",
            "core/database.py": """
            from sqlalchemy import create_engine


            class Database:
                def __init__(self, db_url: str) -> None:
                    self._engine = create_engine(db_url, echo=True)
            """,
            "core/container.py": """
            from dependency_injector.providers import Factory
            from dependency_injector import containers

            from core.database import Database

            DATABASE_URI = "postgresql://shop@localhost/shop"


            class Container(containers.DeclarativeContainer):
                db = Factory(Database, db_url=DATABASE_URI)
            """,
        },
        monkeypatch,
    )
    pool = at(report, "core/container.py:10")
    assert (pool.settings["url"].value, pool.via) == ("postgresql://shop@localhost/shop", ["core/database.py:6"])


def test_an_installed_modules_init_app_is_no_flask_sqlalchemy_bind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # simple-login: `import flask_profiler` ... `flask_profiler.init_app(app)` in a project that never makes the
    # extension (flask-sqlalchemy only in its lock file): its own create_engine is its one pool
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/db.py": 'from sqlalchemy import create_engine\n\nengine = create_engine("postgresql://sl@db/sl")\n',
            "requirements.lock": "flask-sqlalchemy==2.5.1\n",
            "server.py": """
            import flask_profiler
            from flask import Flask


            def create_app():
                app = Flask(__name__)
                app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://sl@db/sl"
                flask_profiler.init_app(app)
                return app
            """,
        },
        monkeypatch,
    )
    assert [(p.where, p.stack) for p in report.pools] == [("app/db.py:3", "sqlalchemy")]


def test_an_example_config_is_aside_and_a_testing_config_is_no_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # lastuser: instance/settings-sample.py (a sample to copy) and instance/testing.py (`TESTING = True`) are no
    # engines; the app an installed loader configures (coaster.app.init_app) is one at its bind, values unknown
    report = scan(
        tmp_path,
        {
            "instance/settings-sample.py": 'SQLALCHEMY_DATABASE_URI = "postgresql:///localhost/lastuser"\n',
            "instance/testing.py": 'TESTING = True\nSQLALCHEMY_DATABASE_URI = "postgresql:///lastuser_test"\n',
            "core/__init__.py": "",
            "core/models.py": "from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n",
            "app/__init__.py": """
            from flask import Flask

            import coaster.app
            from core.models import db

            app = Flask(__name__, instance_relative_config=True)
            coaster.app.init_app(app)
            db.init_app(app)
            """,
        },
        monkeypatch,
    )
    assert [(p.where, p.aside) for p in report.pools] == [("app/__init__.py:8", None)]
    assert report.pools[0].unresolved == ["(the app's config: no code of the project writes it)"]


def test_an_app_bound_with_no_engine_key_anywhere_is_an_engine_of_unknown_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ctfscoreboard: its defaults set SQLALCHEMY_TRACK_MODIFICATIONS only; the URL comes from a config.py the tree
    # lacks (config.example.py is the template to copy): the engine is at `SQLAlchemy(app)`, not the example's
    report = scan(
        tmp_path,
        {
            "config.example.py": 'SQLALCHEMY_DATABASE_URI = "sqlite:////tmp/scoreboard.db"\n',
            "scoreboard/__init__.py": "",
            "scoreboard/defaults.py": "class Defaults:\n    SQLALCHEMY_TRACK_MODIFICATIONS = True\n",
            "scoreboard/main.py": """
            import flask

            _app = None


            def get_app():
                global _app
                if _app is None:
                    _app = flask.Flask("scoreboard")
                    _app.config.from_object("scoreboard.defaults.Defaults")
                return _app
            """,
            "scoreboard/models.py": """
            import flask_sqlalchemy

            from scoreboard import main

            db = flask_sqlalchemy.SQLAlchemy(main.get_app())
            """,
        },
        monkeypatch,
    )
    assert [(p.where, p.aside) for p in report.pools] == [("scoreboard/models.py:5", None)]
    assert "url" not in report.pools[0].settings or not report.pools[0].settings["url"].known


def test_django_settings_examples_are_listed_not_judged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = scan(
        tmp_path,
        {
            "proj/settings.py": """
            INSTALLED_APPS = ["django.contrib.auth"]
            DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "app", "CONN_MAX_AGE": 60}}
            """,
            "proj/local_settings.example.py": """
            DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "mine", "CONN_MAX_AGE": 600}}
            """,
        },
        monkeypatch,
    )
    assert {p.where: p.aside for p in report.pools} == {
        "proj/settings.py:2": None,
        "proj/local_settings.example.py:1": "examples",
    }
    assert {p.where for p, _ in report.findings} <= {"proj/settings.py:2"}


def test_a_settings_module_with_installed_apps_from_its_base_is_no_fragment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # adhocracy-plus: dev.py gets INSTALLED_APPS from base.py and sets DATABASES under a test; the package runs
    # on it unchanged, docker.py star-imports it and replaces DATABASES: dev.py's alias stays its own
    report = scan(
        tmp_path,
        {
            "proj/settings/__init__.py": "from .dev import *\n",
            "proj/settings/base.py": """
            INSTALLED_APPS = ["django.contrib.auth"]
            DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}}
            """,
            "proj/settings/dev.py": """
            import os

            from .base import *

            if os.getenv("DATABASE") == "postgresql":
                DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "django", "PORT": "5556"}}
            """,
            "proj/settings/docker.py": """
            from .dev import *

            DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "django", "HOST": "db"}}
            """,
        },
        monkeypatch,
    )
    assert sorted(p.where for p in report.pools) == [
        "proj/settings/base.py:2",
        "proj/settings/dev.py:6",
        "proj/settings/docker.py:3",
    ]
    port = at(report, "proj/settings/dev.py:6").settings["PORT"]
    assert [b.value for b in port.branches] == [None, "5556"]


@pytest.mark.parametrize(
    ("name", "aside"),
    [
        ("config.example.py", "examples"),
        ("settings-sample.py", "examples"),
        ("example_settings.py", "examples"),
        ("examples/app.py", "examples"),
        ("tests/helpers.py", "tests"),
        ("settings/production.example.py", "examples"),
        ("dist_utils.py", None),  # an example's word in an app module's name
        ("template_tags.py", None),
        ("sample_data.py", None),
        ("app/email_template.py", None),
        ("dumps/sample.py", None),
    ],
)
def test_which_files_are_examples_or_tests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, aside: str | None
) -> None:
    report = scan(
        tmp_path, {name: 'import asyncpg\n\npool = asyncpg.create_pool("postgresql://a@db/a")\n'}, monkeypatch
    )
    assert [p.aside for p in report.pools] == [aside]


@pytest.mark.parametrize("name", ["app.session", ".session"])
def test_pyramid_include_by_dotted_name_runs_that_modules_includeme(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    # thinkhazard: `config.include("thinkhazard.session")` calls session.includeme(config), whose engine reads
    # the ini's settings through config.get_settings()
    report = scan(
        tmp_path,
        {
            "development.ini": "[app:main]\nuse = egg:app\nsqlalchemy.url = postgresql://a@db/a\nsqlalchemy.pool_recycle = 30\n",
            "setup.py": 'from setuptools import setup\n\nsetup(name="app", entry_points={"paste.app_factory": ["main = app:main"]})\n',
            "app/__init__.py": f"""
            from pyramid.config import Configurator


            def main(global_config, **settings):
                config = Configurator(settings=settings)
                config.include("{name}")
                return config.make_wsgi_app()
            """,
            "app/session.py": """
            from sqlalchemy import engine_from_config


            def includeme(config):
                settings = config.get_settings()
                config.registry["engine"] = engine_from_config(settings, "sqlalchemy.")
            """,
        },
        monkeypatch,
    )
    pool = at(report, "app/__init__.py:6")
    assert (pool.settings["pool_recycle"].value, pool.settings["url"].value) == (30, "postgresql://a@db/a")


def test_an_absent_local_settings_star_import_may_set_settings_not_modules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # adhocracy-plus: dev.py's `try: from .local import * except ImportError: pass` (local.py not in the tree) may
    # set any setting, but not `os`: docker.py's os.environ.get(...) defaults are known
    report = scan(
        tmp_path,
        {
            "proj/settings/base.py": 'import os\n\nINSTALLED_APPS = ["django.contrib.auth"]\n',
            "proj/settings/dev.py": "from .base import *\n\ntry:\n    from .local import *\nexcept ImportError:\n    pass\n",
            "proj/settings/docker.py": """
            import os

            from .dev import *

            DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": os.environ.get("PG_DB", "app")}}
            """,
        },
        monkeypatch,
    )
    name = at(report, "proj/settings/docker.py:5").settings["NAME"]
    assert (name.value, name.env) == ("app", "PG_DB")


def test_the_one_file_the_user_names_is_judged_whatever_its_name(tmp_path: Path) -> None:
    for name in ("example.py", "test_pool.py"):
        (tmp_path / name).write_text('import asyncpg\n\npool = asyncpg.create_pool("postgresql://a@db/a")\n')
        report = scan_path(tmp_path / name)
        assert [p.aside for p in report.pools] == [None] and report.findings


def test_a_value_two_paths_write_alike_comes_from_the_path_with_no_variable_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # vial: ENGINE is postgis either way; with no DATABASE_URL it is the dict literal's, not the line under the test
    report = scan(
        tmp_path,
        {
            "settings.py": """
            import os

            import dj_database_url

            INSTALLED_APPS = ["django.contrib.auth"]
            DATABASES = {"default": {"ENGINE": "django.contrib.gis.db.backends.postgis", "NAME": "vaccinate"}}
            if "DATABASE_URL" in os.environ:
                DATABASES["default"] = dj_database_url.config()
                DATABASES["default"]["ENGINE"] = "django.contrib.gis.db.backends.postgis"
            """,
        },
        monkeypatch,
    )
    engine = at(report, "settings.py:6").settings["ENGINE"]
    assert (engine.value, engine.from_) == ("django.contrib.gis.db.backends.postgis", "settings.py:6")


def test_snovaults_configure_dbsession_is_named_as_a_pool_it_makes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # fourfront: `config.include(configure_dbsession)`: snovault makes the engine from the Pyramid settings
    report = scan(
        tmp_path,
        {
            "encoded/__init__.py": """
            from pyramid.config import Configurator
            from snovault import configure_dbsession


            def main(global_config, **settings):
                config = Configurator(settings=settings)
                config.include(configure_dbsession)
                return config.make_wsgi_app()
            """,
        },
        monkeypatch,
    )
    assert report.pools == []
    assert report.warnings == [
        "encoded/__init__.py:7: snovault.configure_dbsession() makes a pool inside snovault; the scan reads only "
        "the project's code, so this pool is not reported"
    ]


def test_django_configurations_classes_give_their_databases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # normandy: `DATABASES = values.DatabaseURLValue("postgres://...")` in a Configuration class (env DATABASE_URL);
    # a subclass's own DATABASES is an alias of its own
    report = scan(
        tmp_path,
        {
            "proj/settings.py": """
            from configurations import Configuration, values


            class Base(Configuration):
                INSTALLED_APPS = ["django.contrib.auth"]
                DATABASES = values.DatabaseURLValue("postgres://postgres@localhost/normandy", conn_max_age=60)


            class Development(Base):
                DEBUG = values.BooleanValue(True)


            class Replica(Base):
                DATABASES = values.DatabaseURLValue(alias="replica", environ_prefix="DJANGO", environ_name="RO_URL")
            """,
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["proj/settings.py:6", "proj/settings.py:14"]
    settings = at(report, "proj/settings.py:6").settings
    assert (settings["NAME"].value, settings["NAME"].env, settings["CONN_MAX_AGE"].value) == (
        "normandy",
        "DATABASE_URL",
        60,
    )
    replica = at(report, "proj/settings.py:14")  # no default: a database only where the variable is set
    assert (replica.call, replica.condition) == ("DATABASES['replica']", '"DJANGO_RO_URL" in os.environ')


def test_advanced_alchemys_config_through_litestar_is_named_as_a_pool_it_makes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = scan(
        tmp_path,
        {
            "app/db.py": """
            from litestar.plugins.sqlalchemy import SQLAlchemyAsyncConfig

            config = SQLAlchemyAsyncConfig(connection_string="postgresql+asyncpg://a@db/a")
            """,
        },
        monkeypatch,
    )
    assert report.pools == [] and report.warnings == [
        "app/db.py:3: litestar.plugins.sqlalchemy.SQLAlchemyAsyncConfig() makes a pool inside advanced_alchemy; "
        "the scan reads only the project's code, so this pool is not reported"
    ]


def test_a_pydantic_url_made_from_a_text_is_that_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # fastapi_template: `STORAGE_URI: PostgresDsn = PostgresDsn("postgresql+asyncpg://...")`, then str() of it
    report = scan(
        tmp_path,
        {
            "settings.py": """
            from pydantic import PostgresDsn
            from pydantic_settings import BaseSettings, SettingsConfigDict


            class PostgresSettings(BaseSettings):
                model_config = SettingsConfigDict(env_prefix="PG_")

                STORAGE_URI: PostgresDsn = PostgresDsn("postgresql+asyncpg://shop@localhost:5432/shop")


            settings = PostgresSettings()
            """,
            "engine.py": """
            from sqlalchemy.ext.asyncio import create_async_engine

            from settings import settings

            engine = create_async_engine(url=str(settings.STORAGE_URI))
            """,
        },
        monkeypatch,
    )
    url = at(report, "engine.py:5").settings["url"]
    assert (url.value, url.env) == ("postgresql+asyncpg://shop@localhost:5432/shop", "PG_STORAGE_URI")


def test_an_and_whose_later_operand_is_false_with_no_variable_set_is_false(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # helios: get_from_env returns os.environ[var] only `if not TESTING and var in os.environ` (TESTING from
    # sys.argv): with no variable set the default, so the DATABASE_URL override does not run
    report = scan(
        tmp_path,
        {
            "settings.py": """
            import os
            import sys

            TESTING = "test" in sys.argv


            def get_from_env(var, default):
                if not TESTING and var in os.environ:
                    return os.environ[var]
                return default


            INSTALLED_APPS = ["django.contrib.auth"]
            DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "helios", "CONN_MAX_AGE": 600}}
            if get_from_env("DATABASE_URL", None):
                import dj_database_url

                DATABASES["default"] = dj_database_url.config(conn_max_age=600)
            """,
        },
        monkeypatch,
    )
    name = at(report, "settings.py:14").settings["NAME"]
    assert (name.value, name.from_, name.env) == ("helios", "settings.py:14", "DATABASE_URL")


def test_flask_ext_names_the_extension_as_flask_sqlalchemy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # dropbox/changes: `from flask.ext.sqlalchemy import SQLAlchemy` (Flask < 1.0): the engine is at db.init_app
    (tmp_path / "requirements.txt").write_text("Flask-SQLAlchemy==2.5.1\n")  # (2.x reads SQLALCHEMY_POOL_*)
    report = scan(
        tmp_path,
        {
            "app/config.py": """
            from flask import Flask
            from flask.ext.sqlalchemy import SQLAlchemy

            db = SQLAlchemy(session_options={})


            def create_app():
                app = Flask(__name__)
                app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql:///changes"
                app.config["SQLALCHEMY_POOL_SIZE"] = 60
                db.init_app(app)
                return app
            """,
        },
        monkeypatch,
    )
    pool = at(report, "app/config.py:11")
    assert (pool.stack, pool.settings["pool_size"].value) == ("flask_sqlalchemy", 60)


def test_a_set_of_no_item_or_one_is_read_and_of_more_unknown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Geotrek: `",".join(("public", *tuple(set(DATABASE_SCHEMAS.values()))))` with no schema: "public"
    report = scan(
        tmp_path,
        {
            "db.py": """
            from sqlalchemy import create_engine

            SCHEMAS = {}
            MORE = {"a": "x", "b": "y"}
            path = "-c search_path={}".format(",".join(("public", *tuple(set(SCHEMAS.values())))))
            engine = create_engine(
                "postgresql://a@db/a", connect_args={"options": path, "both": ",".join(set(MORE.values()))}
            )
            """,
        },
        monkeypatch,
    )
    settings = at(report, "db.py:6").settings
    assert settings["connect_args.options"].value == "-c search_path=public"
    assert not settings["connect_args.both"].known  # a set's order is the hash's


@pytest.mark.parametrize(
    ("made", "toml", "env"),
    [
        # sqlalchemy-orm: environments=True, no prefix: [default] + [development] (ENV_FOR_DYNACONF unset)
        (
            'Dynaconf(settings_files=["settings.toml"], envvar_prefix=False, environments=True)',
            '[default]\nECHO = true\n\n[test]\nURL = "sqlite:///t.db"\n\n[development]\nURL = "postgresql://a@db/a"\n',
            ("URL", "ECHO", "settings.toml:8"),
        ),
        # top-level keys, the default DYNACONF_ prefix
        (
            'Dynaconf(settings_files="settings.toml")',
            'url = "postgresql://a@db/a"\necho = true\n',
            ("DYNACONF_URL", "DYNACONF_ECHO", "settings.toml:1"),
        ),
    ],
)
def test_a_dynaconf_object_gives_its_files_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, made: str, toml: str, env: tuple[str, str, str]
) -> None:
    report = scan(
        tmp_path,
        {
            "settings.toml": toml,
            "app/config.py": f"from dynaconf import Dynaconf\n\nsettings = {made}\n",
            "app/db.py": """
            from sqlalchemy import create_engine

            from app.config import settings

            engine = create_engine(settings.get("URL"), echo=settings.echo, pool_size=settings.get("POOL", 7))
            """,
        },
        monkeypatch,
    )
    settings = at(report, "app/db.py:5").settings
    url, echo = settings["url"], settings["echo"]
    assert (url.value, echo.value, settings["pool_size"].value) == ("postgresql://a@db/a", True, 7)
    assert (url.env, echo.env, url.from_) == env


def test_dynaconf_as_it_reads_its_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # (second review) env= chooses the section; settings.local.toml is read after settings.toml; a table's keys
    # are named DYNACONF_DATABASE__URL at their own line; get()'s default is named by its variable
    report = scan(
        tmp_path,
        {
            "settings.toml": (
                '[default]\npool = 5\n\n[production]\npool = 40\n\n[production.database]\nurl = "postgresql://p@prod/app"\n'
            ),
            "settings.local.toml": "[production]\npool = 50\n",
            "app/config.py": """
            from dynaconf import Dynaconf

            settings = Dynaconf(settings_files=["settings.toml"], environments=True, env="production")
            """,
            "app/db.py": """
            from sqlalchemy import create_engine

            from app.config import settings

            engine = create_engine(
                settings.DATABASE["url"], pool_size=settings.pool, max_overflow=settings.get("OVERFLOW", 10)
            )
            """,
        },
        monkeypatch,
    )
    settings = at(report, "app/db.py:5").settings
    url, size, overflow = settings["url"], settings["pool_size"], settings["max_overflow"]
    assert (url.value, url.env, url.from_) == ("postgresql://p@prod/app", "DYNACONF_DATABASE__URL", "settings.toml:8")
    assert (size.value, size.env, size.from_) == (50, "DYNACONF_POOL", "settings.local.toml:2")
    assert (overflow.value, overflow.env) == (10, "DYNACONF_OVERFLOW")


@pytest.mark.parametrize(
    "files",
    [
        {"app/settings.toml": "pool = 3\n", "config/settings.toml": "pool = 30\n"},  # which: where it is started
        {"settings.toml": "pool = 3\n", "app/more.py": "POOL = 30\n"},  # a file the scan cannot read may set it
    ],
)
def test_dynaconf_values_the_scan_cannot_place_are_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str]
) -> None:
    report = scan(
        tmp_path,
        {
            **files,
            "app/config.py": (
                'from dynaconf import Dynaconf\n\nsettings = Dynaconf(settings_files=["settings.toml", "app/more.py"])\n'
            ),
            "app/db.py": 'from sqlalchemy import create_engine\n\nfrom app.config import settings\n\nengine = create_engine("postgresql://a@db/a", pool_size=settings.pool)\n',
        },
        monkeypatch,
    )
    assert not at(report, "app/db.py:5").settings["pool_size"].known


def test_django_configurations_environ_false_reads_no_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = scan(
        tmp_path,
        {
            "settings.py": """
            from configurations import Configuration, values


            class Base(Configuration):
                INSTALLED_APPS = ["django.contrib.auth"]
                DATABASES = values.DatabaseURLValue("postgres://u@localhost/base", environ=False, conn_max_age=60)
            """,
        },
        monkeypatch,
    )
    name = at(report, "settings.py:6").settings["NAME"]
    assert (name.value, name.env) == ("base", None)


def test_a_parameter_a_call_may_give_through_unread_spreads_is_unknown_not_its_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (second review) `make(url, *opts)` / `make(**opts)` with opts read at run time: ping may come from them
    report = scan(
        tmp_path,
        {
            "app.py": """
            from sqlalchemy import create_engine

            from somewhere_external import get_options

            opts = get_options()


            def make(url, ping=None, **kw):
                return create_engine(url, pool_pre_ping=ping, **kw)


            e1 = make("postgresql://u@h/db", *opts)
            e2 = make(url="postgresql://u@h/db", **opts)
            e3 = make("postgresql://u@h/db")
            """,
        },
        monkeypatch,
    )
    assert not at(report, "app.py:12").settings["pool_pre_ping"].known
    assert not at(report, "app.py:13").settings["pool_pre_ping"].known
    assert at(report, "app.py:13").settings["url"].value == "postgresql://u@h/db"
    assert at(report, "app.py:14").settings["pool_pre_ping"].known


def test_a_url_whose_port_is_no_number_is_no_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # TokenHolders: f"postgresql://{USER}:{PASSWORD}@{HOST}:{PORT}/{NAME}" of unset variables is
    # "postgresql://None:None@None:None/None", which make_url refuses (port "None"): unknown, never that text
    report = scan(
        tmp_path,
        {
            "settings.py": 'import os\n\nPG_HOST = os.environ.get("PG_HOST")\nPG_PORT = os.environ.get("PG_PORT")\n',
            "engine.py": """
            from sqlalchemy import create_engine

            from settings import PG_HOST, PG_PORT

            engine = create_engine(f"postgresql://app@{PG_HOST}:{PG_PORT}/app", echo=True)
            ok = create_engine("postgresql://app@[::1]:5432/app")
            """,
        },
        monkeypatch,
    )
    url = at(report, "engine.py:5").settings["url"]
    assert (url.known, url.value) == (False, None)
    assert at(report, "engine.py:6").settings["url"].value == "postgresql://app@[::1]:5432/app"


def test_a_provider_called_on_the_container_gives_its_instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # cosmicpython-study: `db = container.db()` (a Singleton of the project's class), then `await db.connect(echo=True)`
    report = scan(
        tmp_path,
        {
            "shop/__init__.py": "",
            "shop/postgres.py": """
            from sqlalchemy.ext.asyncio import create_async_engine


            class AsyncSQLAlchemy:
                def __init__(self, db_uri: str) -> None:
                    self._db_uri = db_uri

                async def connect(self, **kwargs):
                    self._engine = create_async_engine(self._db_uri, **kwargs)
            """,
            "shop/container.py": """
            from dependency_injector import containers, providers

            from shop.postgres import AsyncSQLAlchemy


            class Container(containers.DeclarativeContainer):
                db = providers.Singleton(AsyncSQLAlchemy, db_uri="postgresql+asyncpg://shop@localhost:5432/shop")
            """,
            "shop/app.py": """
            from shop.container import Container

            db = Container().db()


            async def startup():
                await db.connect(echo=True, pool_size=20)
            """,
        },
        monkeypatch,
    )
    pool = at(report, "shop/app.py:7")
    assert (pool.settings["url"].value, pool.settings["pool_size"].value) == (
        "postgresql+asyncpg://shop@localhost:5432/shop",
        20,
    )


def test_flask_config_setdefault_keeps_the_value_a_loaded_config_gave(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # flask-expenses-manager: `app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})` after from_object(Config)
    report = scan(
        tmp_path,
        {
            "config.py": """
            class Config:
                SQLALCHEMY_DATABASE_URI = "postgresql://app@db/app"
                SQLALCHEMY_ENGINE_OPTIONS = {"pool_recycle": 300, "pool_pre_ping": True}
            """,
            "app.py": """
            import os

            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()


            def create_app():
                app = Flask(__name__)
                app.config.from_object("config.Config")
                if os.getenv("FLASK_TESTING") == "true":
                    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
                db.init_app(app)
                return app
            """,
        },
        monkeypatch,
    )
    settings = at(report, "app.py:14").settings
    assert (settings["pool_recycle"].value, settings["pool_pre_ping"].value) == (300, True)
    assert not settings["pool_pre_ping"].branches


def test_a_settings_module_with_installed_apps_two_star_imports_away_is_no_fragment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # django-bims: dev_docker.py <- dev.py <- base.py (INSTALLED_APPS); travis_docker.py replaces DATABASES
    report = scan(
        tmp_path,
        {
            "core/settings/base.py": 'INSTALLED_APPS = ["django.contrib.auth"]\n',
            "core/settings/dev.py": "from .base import *\n\nDEBUG = True\n",
            "core/settings/dev_docker.py": """
            from .dev import *

            DATABASES = {"default": {"ENGINE": "django.contrib.gis.db.backends.postgis", "NAME": "gis", "HOST": "db"}}
            """,
            "core/settings/travis_docker.py": """
            from .dev_docker import *

            DATABASES = {"default": {"ENGINE": "django.contrib.gis.db.backends.postgis", "NAME": "gis_ci"}}
            """,
        },
        monkeypatch,
    )
    assert sorted(p.where for p in report.pools) == [
        "core/settings/dev_docker.py:3",
        "core/settings/travis_docker.py:3",
    ]


def test_the_base_of_a_loaded_config_class_is_no_engine_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # hrms-flask: create_app(config_name) loads config_by_name[config_name]; run.py gives a variable, a script "dev":
    # the base Config's keys reach the app through DevelopmentConfig, not as a second engine
    report = scan(
        tmp_path,
        {
            "app/__init__.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            from .config import config_by_name

            db = SQLAlchemy()


            def create_app(config_name):
                app = Flask(__name__)
                app.config.from_object(config_by_name[config_name])
                db.init_app(app)
                return app
            """,
            "app/config.py": """
            class Config:
                SQLALCHEMY_DATABASE_URI = "postgresql://postgres@localhost/hr"
                SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 10, "pool_pre_ping": True}


            class DevelopmentConfig(Config):
                DEBUG = True


            class ProductionConfig(Config):
                DEBUG = False


            config_by_name = {"dev": DevelopmentConfig, "prod": ProductionConfig}
            """,
            "run.py": 'import os\n\nfrom app import create_app\n\napp = create_app(os.getenv("FLASK_ENV", "dev"))\n',
            "inspect_db.py": 'from app import create_app\n\napp = create_app("dev")\n',
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["app/__init__.py:12"]


def test_setdefault_gives_its_value_where_no_path_set_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # (third review) a key set only under a test: setdefault's value on the other path
    report = scan(
        tmp_path,
        {
            "app.py": """
            import os

            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()


            def create_app():
                app = Flask(__name__)
                app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://u@h/db"
                if os.environ.get("FAST"):
                    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": 50}
                app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_size": 3, "pool_recycle": 300})
                db.init_app(app)
                return app
            """,
        },
        monkeypatch,
    )
    settings = at(report, "app.py:15").settings
    assert (settings["pool_size"].value, settings["pool_recycle"].value) == (3, 300)
    assert [b.value for b in settings["pool_size"].branches] == [3, 50]


PROVIDED = """
from dependency_injector import containers, providers
from sqlalchemy import create_engine


class Settings:
    def __init__(self, database_url="postgresql://u@default/db", pool_size=5):
        self.database_url = database_url
        self.pool_size = pool_size


class Database:
    def __init__(self, settings):
        self.engine = create_engine(settings.database_url, pool_size=settings.pool_size)


class Container(containers.DeclarativeContainer):
    settings = providers.Singleton(Settings, database_url="postgresql://u@first/db", pool_size=15)
    db = providers.Singleton(Database, settings=settings)


container = Container()
"""


@pytest.mark.parametrize(
    ("tail", "where", "expected"),
    [
        # a provider given to a provider is given as what it provides
        ("db = container.db()\n", "main.py:18", ("postgresql://u@first/db", 15)),
        # the call's keywords win over the provider's
        (
            's = container.settings(database_url="postgresql://u@second/db", pool_size=20)\n'
            "engine = create_engine(s.database_url, pool_size=s.pool_size)\n",
            "main.py:23",
            ("postgresql://u@second/db", 20),
        ),
        # the app overrides it: what it gives is not the definition's
        (
            "container.settings.override(providers.Object(None))\ns = container.settings()\n"
            "engine = create_engine(s.database_url, pool_size=s.pool_size)\n",
            "main.py:24",
            (None, None),
        ),
    ],
)
def test_dependency_injector_providers_as_the_container_gives_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tail: str, where: str, expected: tuple[object, object]
) -> None:
    report = scan(tmp_path, {"main.py": PROVIDED.lstrip("\n") + tail}, monkeypatch)
    settings = at(report, where).settings
    url, size = settings["url"], settings["pool_size"]
    assert (url.value if url.known else None, size.value if size.known else None) == expected


def test_settings_modules_that_star_import_each_other_are_read_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (third review) a dozen settings modules each star-importing the others: each module looked at once
    names = [f"s{i}" for i in range(12)]
    files = {
        f"proj/{name}.py": "".join(f"from .{other} import *\n" for other in names if other != name)
        + f'\nDATABASES = {{"default": {{"ENGINE": "django.db.backends.postgresql", "NAME": "{name}"}}}}\n'
        for name in names
    }
    from pool_doctor.scan.finder import Project

    calls = 0
    original = Project.module_by_name

    def counted(self: Project, dotted: str, near: Path | None = None) -> object:
        nonlocal calls
        calls += 1
        return original(self, dotted, near)

    monkeypatch.setattr(Project, "module_by_name", counted)
    scan(tmp_path, files, monkeypatch)
    assert calls < 20_000  # (each path walked again: 12 x 11^5)
