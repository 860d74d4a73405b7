"""Held-out round 60 and the open cases of earlier rounds: each test failed before its fix."""

from __future__ import annotations

import pytest

from pool_doctor.scan import releases
from tests.test_scan import at, scan, values

OPTIONS_APP = """
    import os

    from flask import Flask
    from flask_sqlalchemy import SQLAlchemy
    from sqlalchemy.pool import NullPool

    class Config:
        SQLALCHEMY_DATABASE_URI = "postgresql://h/d"
        SQLALCHEMY_POOL_SIZE = 7
        SQLALCHEMY_ENGINE_OPTIONS = {"poolclass": NullPool}

    app = Flask(__name__)
    app.config.from_object(Config)
    db = SQLAlchemy(app)
"""


@pytest.mark.parametrize(
    ("pins", "poolclass"),
    [
        ({"requirements.txt": "Flask-SQLAlchemy==2.3.2\n"}, None),
        ({"requirements.txt": "flask-sqlalchemy<2.4\n"}, None),
        ({"requirements.txt": "flask-sqlalchemy~=2.3.0\n"}, None),
        ({"requirements.txt": "flask-sqlalchemy>=2.1,<2.4.1\n"}, "sqlalchemy.pool.NullPool"),
        ({"requirements.txt": "Flask-SQLAlchemy==2.4.0\n"}, "sqlalchemy.pool.NullPool"),
        ({"requirements.txt": "Flask-SQLAlchemy~=2.3\n"}, "sqlalchemy.pool.NullPool"),
        (
            {
                "pyproject.toml": '[tool.poetry.dependencies]\nFlask-SQLAlchemy = { git = "https://x/y.git", rev = "500e" }\n',
                "poetry.lock": '[[package]]\nname = "Flask-SQLAlchemy"\nversion = "2.3.2.dev20260422"\n',
            },
            None,
        ),
    ],
)
def test_a_flask_sqlalchemy_pinned_before_2_4_reads_no_engine_options(
    tmp_path, monkeypatch, pins: dict[str, str], poolclass: str | None
) -> None:
    # round 57's case3 (notification-api, Flask-SQLAlchemy locked at git 500e732, "2.3.2.dev"): 2.4.0 added
    # SQLALCHEMY_ENGINE_OPTIONS, so a NullPool set there was reported where the release pinned never reads it
    report = scan(tmp_path, {**pins, "app.py": OPTIONS_APP}, monkeypatch)
    pool = at(report, "app.py:14")
    got = values(pool)
    assert got.get("poolclass") == poolclass
    assert got["pool_size"] == 7
    warned = any("SQLALCHEMY_ENGINE_OPTIONS sets nothing" in w for w in report.warnings)
    assert warned is (poolclass is None)


def test_the_release_read_from_specifiers() -> None:
    assert releases._capped_before(b"==2.3.2", (2, 4))
    assert releases._capped_before(b"<=2.3", (2, 4))
    assert not releases._capped_before(b"==2", (2, 4))
    assert not releases._capped_before(b">=2.3", (2, 4))
    assert not releases._capped_before(b"<3", (2, 4))


def test_a_config_key_written_under_tests_then_changed_under_another_keeps_short_conditions(
    tmp_path, monkeypatch
) -> None:
    # round 59's case5 (nuzum-edut): options picked by the URL's scheme, then changed under `if not sqlite`; each
    # value's condition repeated every path (`not (pg) and ... and pg`), and cut at 160 characters all read alike
    files = {
        "requirements.txt": "Flask-SQLAlchemy==3.1.1\n",
        "app.py": """
            import os

            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            app = Flask(__name__)
            database_url = os.environ.get("DATABASE_URL", "sqlite:///local.db")
            app.config["SQLALCHEMY_DATABASE_URI"] = database_url
            if database_url.startswith("postgresql://") or database_url.startswith("postgres://"):
                app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": 10, "pool_recycle": 300}
            elif database_url.startswith("mysql://"):
                app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": 5, "pool_recycle": 300}
            else:
                app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_recycle": -1}
            if not database_url.startswith("sqlite"):
                if "execution_options" not in app.config["SQLALCHEMY_ENGINE_OPTIONS"]:
                    app.config["SQLALCHEMY_ENGINE_OPTIONS"]["execution_options"] = {}
                app.config["SQLALCHEMY_ENGINE_OPTIONS"]["execution_options"]["isolation_level"] = "READ COMMITTED"
            db = SQLAlchemy(app)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    size = at(report, "app.py:19").settings["pool_size"]
    whens = {branch.value: branch.when for branch in size.branches}
    pg = 'database_url.startswith("postgresql://") or database_url.startswith("postgres://")'
    assert whens[10] == pg
    assert whens[5] == f'not ({pg}) and database_url.startswith("mysql://")'
    assert whens[None] == f'not ({pg}) and not (database_url.startswith("mysql://"))'


def test_a_config_class_picked_by_a_variable_through_a_name_and_a_fallback_and_bound_two_helpers_down(
    tmp_path, monkeypatch
) -> None:
    # round 59's case3 (nuzum-edut): `cfg = config.get(config_name) or config["default"]`, then
    # `from_object(cfg)`: the production class's options were no branch; and the engine sat at `from_object`,
    # not at the `db.init_app(app)` that `_init_extensions(app)` reaches through `init_extensions(app)`
    files = {
        "requirements.txt": "Flask-SQLAlchemy==3.1.1\n",
        "config/__init__.py": """
            from .dev import DevelopmentConfig
            from .prod import ProductionConfig

            config = {"development": DevelopmentConfig, "production": ProductionConfig, "default": DevelopmentConfig}
        """,
        "config/dev.py": """
            class DevelopmentConfig:
                SQLALCHEMY_DATABASE_URI = "postgresql://h/dev"
        """,
        "config/prod.py": """
            class ProductionConfig:
                SQLALCHEMY_DATABASE_URI = "postgresql://h/prod"
                SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 20, "pool_pre_ping": True}
        """,
        "ext.py": """
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()

            def init_extensions(app):
                db.init_app(app)
        """,
        "factory.py": """
            import os

            from flask import Flask

            def create_app(config_name=None):
                if config_name is None:
                    config_name = os.environ.get("FLASK_ENV", "development")
                from config import config
                cfg = config.get(config_name) or config["default"]
                app = Flask(__name__)
                app.config.from_object(cfg)
                _init_extensions(app)
                return app

            def _init_extensions(app):
                from ext import init_extensions
                init_extensions(app)
        """,
        "wsgi.py": "from factory import create_app\n\napp = create_app()\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [pool.where for pool in report.pools] == ["ext.py:6"]
    pool = at(report, "ext.py:6")
    size = pool.settings["pool_size"]
    assert {branch.value: branch.when for branch in size.branches} == {
        None: "config_name == 'development' or config_name == 'default'",
        20: "config_name == 'production'",
    }
    assert size.branches[0].value is None  # FLASK_ENV unset: development
    assert pool.settings["url"].value == "postgresql://h/dev"


def test_a_fallback_the_map_does_not_hold_is_not_read_as_one_of_it(tmp_path, monkeypatch) -> None:
    files = {
        "app.py": """
            import os

            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            class Dev:
                SQLALCHEMY_DATABASE_URI = "postgresql://h/dev"

            class Prod:
                SQLALCHEMY_DATABASE_URI = "postgresql://h/prod"

            class Other:
                SQLALCHEMY_DATABASE_URI = "postgresql://h/other"

            configs = {"dev": Dev, "prod": Prod}
            others = {"x": Other}
            cfg = configs.get(os.environ.get("APP_ENV", "dev")) or others["x"]
            app = Flask(__name__)
            app.config.from_object(cfg)
            db = SQLAlchemy(app)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    url = at(report, "app.py:20").settings["url"]
    assert "postgresql://h/prod" not in [branch.value for branch in url.branches]


def test_a_pg8000_url_names_pg8000_as_the_pools_driver(tmp_path, monkeypatch) -> None:
    # round 60's case1 (flask-api-skeleton): `postgresql+pg8000://` was reported, and judged, as psycopg2, whose
    # keepalive arguments pg8000's connect refuses
    files = {
        "app.py": """
            import os

            import sqlalchemy

            url = f"postgresql+pg8000://{os.environ['DATABASE_USER']}@{os.environ['DATABASE_HOST']}/db"
            engine = sqlalchemy.create_engine(url, pool_size=5, pool_recycle=1800)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert at(report, "app.py:6").driver == "pg8000"


def test_an_unknown_url_written_with_its_scheme_then_added_to_keeps_its_driver(tmp_path, monkeypatch) -> None:
    # round 60's case1 (postgres-fastapi): alembic's env.py sets `settings.db.dsn_asyncpg + "?async_fallback=True"`,
    # a settings property's f-string plus a query; the driver, asyncpg where the property is used alone, was unknown
    files = {
        "config.py": """
            from pydantic_settings import BaseSettings

            class DbSettings(BaseSettings):
                db_host: str
                db_user: str

                @property
                def dsn_asyncpg(self):
                    return f"postgresql+asyncpg://{self.db_user}@{self.db_host}/app"

            settings = DbSettings()
        """,
        "env.py": """
            from sqlalchemy import create_engine

            from config import settings

            engine = create_engine(settings.dsn_asyncpg + "?async_fallback=True")
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    pool = at(report, "env.py:5")
    assert pool.driver == "asyncpg"
    assert pool.settings["url"].expr.startswith('f"postgresql+asyncpg://')


def test_a_script_that_imports_the_app_for_a_job_of_its_own_sets_a_variable_in_its_own_process_only(
    tmp_path, monkeypatch
) -> None:
    # round 60's case2 and case3 (ml-checker): generate_diagram.py sets DATABASE_URL to an in-memory SQLite URL,
    # then imports the app's models to draw them; its value was the app's URL, and that of a runner and a
    # migration script that never import it
    files = {
        "backend/app/__init__.py": "",
        "backend/app/config.py": """
            import os

            DATABASE_URL = os.getenv("DATABASE_URL", "postgresql://postgres@localhost/checker")
        """,
        "backend/app/database.py": """
            from sqlalchemy import create_engine

            from .config import DATABASE_URL

            engine = create_engine(DATABASE_URL)
        """,
        "backend/app/models.py": "from .database import engine\n",
        "backend/generate_diagram.py": """
            import os

            os.environ["DATABASE_URL"] = "sqlite:///:memory:"

            from app.models import engine

            print(engine)
        """,
        "runner/runner.py": """
            import os

            from sqlalchemy import create_engine

            engine = create_engine(os.getenv("DATABASE_URL", "postgresql://postgres@localhost:5432/checker"))
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    app = at(report, "backend/app/database.py:5").settings["url"]
    assert (app.value, app.env) == ("postgresql://postgres@localhost/checker", "DATABASE_URL")
    runner = at(report, "runner/runner.py:5").settings["url"]
    assert runner.value == "postgresql://postgres@localhost:5432/checker"
    # an entry that serves the app it imports sets it for the app's process (a wsgi.py)
    files["backend/wsgi.py"] = 'import os\n\nos.environ.setdefault("DATABASE_URL", "postgresql://app@prod/checker")\n'
    files["backend/wsgi.py"] += "\nfrom app.database import engine\n"
    del files["backend/generate_diagram.py"]
    served = at(scan(tmp_path / "served", files, monkeypatch), "backend/app/database.py:5").settings["url"]
    assert served.value == "postgresql://app@prod/checker"


def test_a_bind_reached_through_a_project_chain_of_functions(tmp_path, monkeypatch) -> None:
    # round 58's case4 (flask-api-backend-boilerplate): `chain(register_commands, register_extensions)(app)`,
    # whose function calls each in turn; the bind in register_extensions made no engine at all
    files = {
        "requirements.txt": "Flask-SQLAlchemy==2.5.1\n",
        "app/__init__.py": """
            from flask import Flask

            from app.extensions import register_commands, register_extensions
            from app.helpers import chain

            class Config:
                SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

            def create_app(config_object=Config):
                app = Flask(__name__)
                app.config.from_object(config_object)
                chained_function = chain(register_commands, register_extensions)
                app = chained_function(app)
                return app
        """,
        "app/helpers.py": """
            def chain(*functions):
                def returned_function(var):
                    for func in functions:
                        var = func(var)
                    return var

                return returned_function
        """,
        "app/extensions.py": """
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()

            def register_commands(app):
                return app

            def register_extensions(app):
                db.init_app(app)
                return app
        """,
        "autoapp.py": "from app import create_app\n\napp = create_app()\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [pool.where for pool in report.pools] == ["app/extensions.py:9"]
    assert values(report.pools[0])["pool_pre_ping"] is True


def test_a_config_module_whose_url_the_app_copies_by_hand_is_no_pool_of_its_own(tmp_path, monkeypatch) -> None:
    # round 61's case3 (bdc-stac): create_app copies SQLALCHEMY_DATABASE_URI from its config module by hand and
    # never loads the module; its SQLALCHEMY_ENGINE_OPTIONS reach no engine, yet made a pool of their own
    files = {
        "app/config.py": """
            import os

            SQLALCHEMY_DATABASE_URI = os.getenv("DATABASE_URL", "postgresql://app@db/stac")
            SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": int(os.getenv("POOL_SIZE", 5)), "pool_recycle": -1}
        """,
        "app/__init__.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            from . import config as _config

            db = SQLAlchemy()

            def create_app():
                app = Flask(__name__)
                app.config["SQLALCHEMY_DATABASE_URI"] = _config.SQLALCHEMY_DATABASE_URI
                db.init_app(app)
                return app
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [pool.where for pool in report.pools] == ["app/__init__.py:11"]
    assert "pool_size" not in report.pools[0].settings


def test_settings_under_a_templates_folder_are_examples_to_copy(tmp_path, monkeypatch) -> None:
    # round 61's case2 (affiliate-backend): settings/templates/settings.prod.py, copied by the Makefile into
    # local/, made two more judged pools of the one alias
    alias = '\nDATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "CONN_MAX_AGE": 600}}\n'
    files = {
        "manage.py": "import django\n",
        "core/project/__init__.py": "",
        "core/project/settings/__init__.py": "from .database import *  # noqa\n",
        "core/project/settings/database.py": alias,
        "core/project/settings/templates/settings.prod.py": alias,
    }
    report = scan(tmp_path, files, monkeypatch)
    asides = {pool.where: pool.aside for pool in report.pools}
    assert asides == {
        "core/project/settings/database.py:1": None,
        "core/project/settings/templates/settings.prod.py:1": "examples",
    }


def test_a_paste_app_factory_reads_the_ini_default_section_through_global_config(tmp_path, monkeypatch) -> None:
    # round 61's case1 (atmcraft): `settings = global_config.copy(); settings.update(app_settings)`, the URL in
    # development.ini's [DEFAULT] section, which PasteDeploy hands the factory as global_config only
    files = {
        "setup.py": 'from setuptools import setup\n\nsetup(name="craft", entry_points={"paste.app_factory": ["main = craft.app:main"]})\n',
        "development.ini": "[DEFAULT]\nsqlalchemy.url = postgresql://scott@localhost/craft\n\n[app:main]\nuse = egg:craft\nsqlalchemy.pool_recycle = 300\n",
        "craft/__init__.py": "",
        "craft/app.py": """
            from pyramid.config import Configurator
            from sqlalchemy import engine_from_config

            def main(global_config, **app_settings):
                settings = global_config.copy()
                settings.update(app_settings)
                config = Configurator(settings=settings)
                engine = engine_from_config(settings, "sqlalchemy.")
                return config.make_wsgi_app()
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    pool = at(report, "craft/app.py:8")
    assert values(pool)["url"] == "postgresql://scott@localhost/craft"
    assert pool.settings["url"].from_ == "development.ini:2"
    assert values(pool)["pool_recycle"] == 300  # (engine_from_config coerces it)


def test_alembic_get_main_option_with_its_default_given_by_keyword(tmp_path, monkeypatch) -> None:
    # round 61's case3 (tg_bot): `config.get_main_option(name="test_db_url", default=f"postgresql://...")`; the
    # same call with positional arguments was read, the keyword one left the driver unknown
    files = {
        "alembic.ini": "[alembic]\nscript_location = alembic\nsqlalchemy.url = driver://user:pass@localhost/dbname\n",
        "alembic/env.py": """
            import os

            from alembic import context
            from sqlalchemy import engine_from_config, pool

            config = context.config
            host = os.environ["PG_HOST"]
            url = config.get_main_option(name="test_db_url", default=f"postgresql://app@{host}/bot")
            config.set_main_option("sqlalchemy.url", url)
            connectable = engine_from_config(
                config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
            )
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert at(report, "alembic/env.py:10").driver == "psycopg2"


def test_a_branch_the_defaults_never_take_keeps_the_defaults_of_parameters_its_test_does_not_read(
    tmp_path, monkeypatch
) -> None:
    # round 61's case1 (gcsql): under `if project_id:` (default None) every parameter became a caller's unknown,
    # so the pool_size=pool_size passed on was unknown there and 20 on the other side
    files = {
        "db.py": """
            from sqlalchemy import create_engine

            def cloud_engine(host, pool_size=20):
                return create_engine("postgresql+pg8000://", pool_size=pool_size)

            def local_engine(host, pool_size=20):
                return create_engine("postgresql+pg8000://u@" + host + "/db", pool_size=pool_size)

            def make_engine(host, project_id=None, pool_size=20):
                if project_id:
                    return cloud_engine(host, pool_size=pool_size)
                else:
                    return local_engine(host, pool_size=pool_size)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert values(at(report, "db.py:11"))["pool_size"] == 20
    assert values(at(report, "db.py:13"))["pool_size"] == 20


def test_a_module_name_found_above_the_importer_wins_over_another_services_module(tmp_path, monkeypatch) -> None:
    # round 61's case2 (wp-front): backend/app runs as the service's root (`from settings import settings`), and
    # the bot service's bot/settings.py, found from a folder of its own, hid the backend's: the driver was lost
    files = {
        "backend/app/__init__.py": "",
        "backend/app/settings.py": """
            from pydantic_settings import BaseSettings

            class DBSettings(BaseSettings):
                host: str = "db"

                @property
                def url(self):
                    return f"postgresql+asyncpg://app@{self.host}/front"

            class Settings(BaseSettings):
                db: DBSettings = DBSettings()

            settings = Settings()
        """,
        "backend/app/infrastructure/__init__.py": "",
        "backend/app/infrastructure/db/__init__.py": """
            from settings import settings
            from sqlalchemy.ext.asyncio import create_async_engine

            engine = create_async_engine(settings.db.url, pool_recycle=1800)
        """,
        "bot/settings.py": "class Settings:\n    token = 'x'\n\nsettings = Settings()\n",
        "bot/main.py": "from settings import settings\n\nprint(settings.token)\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    pool = at(report, "backend/app/infrastructure/db/__init__.py:4")
    assert (pool.driver, values(pool)["url"]) == ("asyncpg", "postgresql+asyncpg://app@db/front")


SOURCES_SETTINGS = """
    import os

    from pydantic import BaseModel
    from pydantic_settings import BaseSettings, SettingsConfigDict, YamlConfigSettingsSource

    class DatabaseSettings(BaseModel):
        url: str
        pool_size: int = 5

    class Settings(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="SYNC__", env_nested_delimiter="__", env_file=".env")
        database: DatabaseSettings

        @classmethod
        def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings):
            yaml_file_path = os.getenv("SYNC_CONFIG_FILE", "config.yml")
            yaml_settings = YamlConfigSettingsSource(settings_cls, yaml_file=yaml_file_path)
            return ORDER

    settings = Settings()
"""


@pytest.mark.parametrize(
    ("order", "size"),
    [
        ("(init_settings, env_settings, dotenv_settings, file_secret_settings, yaml_settings)", 7),
        ("(init_settings, yaml_settings, env_settings)", 12),
    ],
)
def test_a_pydantic_settings_yaml_source_gives_values_where_no_variable_does(
    tmp_path, monkeypatch, order: str, size: int
) -> None:
    # round 61's case4 (syncmaster): settings_customise_sources returns a YamlConfigSettingsSource of config.yml
    # after the environment's; the URL was "required, no default" and the driver unknown at 7 pools
    files = {
        "config.yml": "database:\n  url: postgresql+asyncpg://sync@localhost:5432/sync\n  pool_size: 12\n",
        ".env": "SYNC__DATABASE__POOL_SIZE=7\n",
        "app/settings.py": SOURCES_SETTINGS.replace("ORDER", order),
        "app/db.py": """
            from sqlalchemy.ext.asyncio import create_async_engine

            from app.settings import settings

            engine = create_async_engine(settings.database.url, pool_size=settings.database.pool_size)
        """,
    }
    monkeypatch.chdir(tmp_path)
    report = scan(tmp_path, files, monkeypatch)
    pool = at(report, "app/db.py:5")
    assert pool.driver == "asyncpg"
    url = pool.settings["url"]
    assert (url.value, url.from_, url.env) == (
        "postgresql+asyncpg://sync@localhost:5432/sync",
        "config.yml:2",
        "SYNC__DATABASE__URL",
    )
    assert values(pool)["pool_size"] == size  # the .env file's variable, unless the YAML source comes first


def test_a_dependency_injector_provider_written_with_its_type_parameter(tmp_path, monkeypatch) -> None:
    # round 62's case1 (babyhelm-api): `Singleton[Database](Database, url, pool_size=7)` was not read as the call
    # that makes the pool; it sat in the wrapper with the wrapper's default pool_size 5
    files = {
        "pkg/__init__.py": "",
        "pkg/db.py": """
            from sqlalchemy.ext.asyncio import create_async_engine

            class Database:
                def __init__(self, url: str, echo: bool = False, pool_size: int = 5):
                    self._engine = create_async_engine(url, echo=echo, pool_size=pool_size)
        """,
        "pkg/containers.py": """
            from dependency_injector.containers import DeclarativeContainer
            from dependency_injector.providers import Singleton

            from pkg.db import Database

            class GatewaysContainer(DeclarativeContainer):
                db: Singleton[Database] = Singleton[Database](Database, "postgresql+asyncpg://u@h/db", pool_size=7)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [pool.where for pool in report.pools] == ["pkg/containers.py:7"]
    assert values(report.pools[0])["pool_size"] == 7


def test_a_main_its_module_and_its_packages_main_run_makes_its_pool_at_its_own_line(tmp_path, monkeypatch) -> None:
    # round 62's case2 (MVNHelperBot): `main()` made the pool; bot/main.py's and bot/__main__.py's
    # `asyncio.run(main())` each reported it, at their own lines
    files = {
        "bot/__init__.py": "",
        "bot/db.py": """
            from sqlalchemy.ext.asyncio import create_async_engine

            def create_engine(url):
                return create_async_engine(url, pool_pre_ping=True)
        """,
        "bot/main.py": """
            import asyncio

            from bot.db import create_engine

            async def main():
                engine = create_engine("postgresql+asyncpg://bot@db/bot")

            if __name__ == "__main__":
                asyncio.run(main())
        """,
        "bot/__main__.py": """
            import asyncio

            from bot.main import main

            if __name__ == "__main__":
                asyncio.run(main())
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [pool.where for pool in report.pools] == ["bot/main.py:6"]


def test_an_alias_a_settings_module_adds_where_no_path_set_it_exists_on_every_path(tmp_path, monkeypatch) -> None:
    # round 62's case2 (dis-wagtail): `if "read_replica" not in DATABASES: DATABASES["read_replica"] =
    # deepcopy(DATABASES["default"])` after an `if` that adds the alias on some paths; the copy was left out, so the
    # alias existed only where a variable was set
    files = {
        "manage.py": "import django\n",
        "settings.py": """
            import os
            from copy import deepcopy

            if "PG_DB_ADDR" in os.environ:
                DATABASES = {
                    "default": {"ENGINE": "django.db.backends.postgresql", "HOST": os.environ["PG_DB_ADDR"]},
                    "read_replica": {"ENGINE": "django.db.backends.postgresql", "HOST": os.environ["PG_DB_ADDR"]},
                }
            else:
                DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "HOST": "localhost", "CONN_HEALTH_CHECKS": True}}

            if "read_replica" not in DATABASES:
                DATABASES["read_replica"] = deepcopy(DATABASES["default"])
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    replica = next(pool for pool in report.pools if pool.call == "DATABASES['read_replica']")
    assert (values(replica)["HOST"], values(replica)["CONN_HEALTH_CHECKS"]) == ("localhost", True)


@pytest.mark.parametrize(
    "files",
    [
        {  # the reader's own package __init__.py sets it (Python runs that first)
            "app/__init__.py": 'import os\n\nos.environ.setdefault("DATABASE_URL", "postgresql+psycopg2://u@db/prod")\n\nfrom app.views import bp\n',
            "app/views.py": "bp = None\n",
            "app/db.py": 'import os\n\nfrom sqlalchemy import create_engine\n\nengine = create_engine(os.environ["DATABASE_URL"], pool_size=3)\n',
        },
        {  # an entry that serves the app imports the setter, then the reader
            "svc/__init__.py": "",
            "svc/constants.py": 'DB = "postgresql+psycopg2://u@db/prod"\n',
            "svc/env_setup.py": 'import os\n\nfrom svc.constants import DB\n\nos.environ.setdefault("DATABASE_URL", DB)\n',
            "svc/db.py": 'import os\n\nfrom sqlalchemy import create_engine\n\nengine = create_engine(os.environ["DATABASE_URL"], pool_size=3)\n',
            "svc/main.py": "import svc.env_setup\nfrom svc.db import engine\n",
        },
    ],
    ids=["package-init", "entry-imports-both"],
)
def test_a_variable_set_where_the_reader_always_runs_after_it_is_the_readers(tmp_path, monkeypatch, files) -> None:
    # the first review of round 60's fixes: both layouts lost the URL the old rule (every setter) had given
    report = scan(tmp_path, files, monkeypatch)
    (pool,) = report.pools
    assert (pool.driver, values(pool)["url"]) == ("psycopg2", "postgresql+psycopg2://u@db/prod")


def test_a_pin_below_2_4_for_one_python_and_above_for_another_reads_the_engine_options(tmp_path, monkeypatch) -> None:
    # the first review: `Flask-SQLAlchemy==2.3.2; python_version < "3"` beside `==2.5.1; python_version >= "3"`
    pins = 'Flask-SQLAlchemy==2.3.2; python_version < "3"\nFlask-SQLAlchemy==2.5.1; python_version >= "3"\n'
    report = scan(tmp_path, {"requirements.txt": pins, "app.py": OPTIONS_APP}, monkeypatch)
    assert values(at(report, "app.py:14")).get("poolclass") == "sqlalchemy.pool.NullPool"


@pytest.mark.parametrize(
    "files",
    [
        {  # a click command's lazy import of a demo script that sets the URL
            "manage.py": "import click\n\n@click.command()\ndef demo():\n    from scripts.demo import load\n    load()\n",
            "scripts/__init__.py": "",
            "scripts/demo.py": 'import os\n\nos.environ["DATABASE_URL"] = "sqlite:///demo.db"\n\nfrom app.db import engine\n\ndef load():\n    pass\n',
            "app/__init__.py": "",
            "app/db.py": 'import os\n\nfrom sqlalchemy import create_engine\n\nengine = create_engine(os.getenv("DATABASE_URL", "postgresql://app@db/prod"))\n',
        },
        {  # a setter that imports the engine's module before it sets the URL
            "dashboard/__init__.py": "",
            "dashboard/app.py": "import dashboard.demo_env\nfrom app.db import engine\n",
            "dashboard/demo_env.py": 'import os\n\nfrom app.models import engine\n\nos.environ["DATABASE_URL"] = "sqlite:///demo.db"\n',
            "app/__init__.py": "",
            "app/models.py": "from app.db import engine\n",
            "app/db.py": 'import os\n\nfrom sqlalchemy import create_engine\n\nengine = create_engine(os.getenv("DATABASE_URL", "postgresql://app@db/prod"))\n',
        },
    ],
    ids=["lazy-import", "set-after-the-engine"],
)
def test_a_variable_set_where_the_reader_never_runs_after_it_is_not_the_readers(tmp_path, monkeypatch, files) -> None:
    # the second review: the process rule followed imports inside functions and ignored the order of a module's
    # imports, so a demo script's SQLite URL was the app's again
    report = scan(tmp_path, files, monkeypatch)
    assert values(at(report, "app/db.py:5"))["url"] == "postgresql://app@db/prod"


def test_a_config_module_a_side_app_copies_a_key_of_stays_a_pool(tmp_path, monkeypatch) -> None:
    # the second review: a CLI app that binds nothing copied the URL, and the module the real app loads through
    # a loop the scan cannot read lost its pool
    files = {
        "app/__init__.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            from app import settings

            db = SQLAlchemy()

            def create_app():
                app = Flask(__name__)
                for key in dir(settings):
                    if key.isupper():
                        app.config[key] = getattr(settings, key)
                db.init_app(app)
                return app
        """,
        "app/cli.py": """
            from flask import Flask

            from app import settings

            def make_cli_app():
                cli = Flask("cli")
                cli.config["SQLALCHEMY_DATABASE_URI"] = settings.SQLALCHEMY_DATABASE_URI
                return cli
        """,
        "app/settings.py": """
            SQLALCHEMY_DATABASE_URI = "postgresql://app@db/x"
            SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 9, "pool_recycle": 120}
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert values(at(report, "app/settings.py:1"))["pool_size"] == 9


def test_a_paste_set_option_overrides_the_default_sections_value_in_global_config(tmp_path, monkeypatch) -> None:
    # the second review: `set sqlalchemy.url = ...` in [app:main] is what PasteDeploy 3.1 puts in global_conf
    files = {
        "setup.py": 'from setuptools import setup\n\nsetup(name="craft", entry_points={"paste.app_factory": ["main = craft.app:main"]})\n',
        "development.ini": "[DEFAULT]\nsqlalchemy.url = postgresql://scott@localhost/dev\n\n[app:main]\nuse = egg:craft\nset sqlalchemy.url = postgresql://scott@prod/craft\n",
        "craft/__init__.py": "",
        "craft/app.py": """
            from sqlalchemy import engine_from_config

            def main(global_config, **app_settings):
                settings = global_config.copy()
                settings.update(app_settings)
                engine = engine_from_config(settings, "sqlalchemy.")
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert values(at(report, "craft/app.py:6"))["url"] == "postgresql://scott@prod/craft"


def test_a_packages_main_with_no_guard_runs_only_as_the_program(tmp_path, monkeypatch) -> None:
    files = {
        "bot/__init__.py": "",
        "bot/main.py": """
            import asyncio

            from sqlalchemy.ext.asyncio import create_async_engine

            async def main():
                engine = create_async_engine("postgresql+asyncpg://bot@db/bot")

            if __name__ == "__main__":
                asyncio.run(main())
        """,
        "bot/__main__.py": "import asyncio\n\nfrom bot.main import main\n\nasyncio.run(main())\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [pool.where for pool in report.pools] == ["bot/main.py:6"]
