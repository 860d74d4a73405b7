"""Held-out round 70 and the open cases of earlier rounds: each test failed before its fix."""

from __future__ import annotations

from tests.test_scan import at, scan


def test_a_modules_own_names_read_through_locals_or_globals_are_the_names_or_the_default(tmp_path, monkeypatch) -> None:
    # django-openipam: `DATABASES = locals().pop("DATABASES", {...})` after a star import of local settings the
    # checkout lacks (in a try that lets it fail): the default dict
    report = scan(
        tmp_path,
        {
            "conf/__init__.py": "",
            "conf/settings.py": """
            INSTALLED_APPS = ["django.contrib.auth"]
            BASE_DIR = "/srv"
            AGE = 45
            try:
                from .local_settings import *  # noqa
            except ImportError:
                pass

            POOL = globals().get("AGE", 30)
            TIMEOUT = vars().setdefault("TIMEOUT", 7)
            DATABASES = locals().pop(
                "DATABASES",
                {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "%s/db" % BASE_DIR, "CONN_MAX_AGE": POOL}},
            )
            DATABASES["default"]["OPTIONS"] = {"connect_timeout": TIMEOUT}
            """,
        },
        monkeypatch,
    )
    pool = at(report, "conf/settings.py:13")
    assert not pool.unresolved
    shown = {k: (v.value, v.from_) for k, v in pool.settings.items()}
    assert shown["CONN_MAX_AGE"] == (45, "conf/settings.py:3")
    assert shown["OPTIONS.connect_timeout"] == (7, "conf/settings.py:10")
    assert shown["NAME"] == ("/srv/db", "conf/settings.py:13")


def test_a_star_import_the_module_needs_and_the_tree_lacks_leaves_a_name_read_through_locals_unknown(
    tmp_path, monkeypatch
) -> None:
    report = scan(
        tmp_path,
        {
            "conf/__init__.py": "",
            "conf/settings.py": """
            from sqlalchemy import create_engine

            from .deploy_settings import *  # noqa

            engine = create_engine("postgresql://db/app", pool_size=globals().get("POOL_SIZE", 5))

            def make():
                return create_engine("postgresql://db/app", max_overflow=globals().get("OVERFLOW", 2))
            """,
        },
        monkeypatch,
    )
    first = at(report, "conf/settings.py:5").settings["pool_size"]
    assert (first.known, first.expr) == (False, "POOL_SIZE (what conf.deploy_settings sets; the tree lacks it)")
    assert at(report, "conf/settings.py:8").settings["max_overflow"].known is False


def test_a_fixture_that_replaces_djangos_databases_makes_the_tests_pool(tmp_path, monkeypatch) -> None:
    # django-project-template: pytest-django's `django_db_setup` overridden to set `settings.DATABASES = {...}`
    report = scan(
        tmp_path,
        {
            "config/settings.py": """
            INSTALLED_APPS = ["django.contrib.auth"]
            DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "app", "CONN_MAX_AGE": 30}}
            """,
            "conftest.py": """
            import os

            import pytest
            from django.conf import settings


            @pytest.fixture(scope="session")
            def django_db_setup():
                settings.DATABASES = {
                    "default": {
                        "ENGINE": "django.db.backends.postgresql",
                        "NAME": os.environ.get("TEST_DB_NAME", "test_app"),
                        "CONN_MAX_AGE": 0,
                    }
                }
            """,
            "app/tenants.py": """
            from django.conf import settings


            def use_replica():
                settings.DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "replica"}}
            """,
        },
        monkeypatch,
    )
    where = {p.where: (p.aside, p.settings["CONN_MAX_AGE"].value) for p in report.pools if "CONN_MAX_AGE" in p.settings}
    assert where == {"config/settings.py:2": (None, 30), "conftest.py:10": ("tests", 0)}
    replica = at(report, "app/tenants.py:5")
    assert (replica.aside, replica.settings["NAME"].value, replica.at_import) == (None, "replica", False)


EXTENSION = """
    from ._db import database


    class RestApi:
        def __init__(self, app=None):
            self.database = database
            if app is not None:
                self.init_app(app)

        def init_app(self, app):
            self._init_config(app)
            self._init_database(app)

        def _init_config(self, app):
            app.config.setdefault("MAIL_SENDER", "noreply@example.com")

        def _init_database(self, app):
            if app.config.get("SQLALCHEMY_DATABASE_URI", None) is None:
                app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://camp@localhost:5432/camp"
            app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})
            self.database.init_app(app)
"""


def test_an_extension_class_handed_the_app_makes_the_engine_at_each_call_that_hands_it(tmp_path, monkeypatch) -> None:
    # flask-camp: `api = RestApi(app=app)`, whose __init__ calls init_app, which calls _init_database, which binds
    # (at _init_database's call before: the helper that binds was read as one that only configures); its tests'
    # RestApi(app=...) were no test pools
    report = scan(
        tmp_path,
        {
            "camp/__init__.py": "from .api import RestApi",
            "camp/_db.py": "from flask_sqlalchemy import SQLAlchemy\n\ndatabase = SQLAlchemy()",
            "camp/api.py": EXTENSION,
            "app.py": """
            from flask import Flask

            from camp import RestApi

            app = Flask(__name__)
            api = RestApi(app=app)
            docs = RestApi()
            """,
            "tests/conftest.py": """
            import pytest
            from flask import Flask

            from camp import RestApi


            @pytest.fixture
            def api():
                app = Flask(__name__)
                app.config["TESTING"] = True
                return RestApi(app)
            """,
        },
        monkeypatch,
    )
    placed = {p.where: (p.aside, p.via) for p in report.pools}
    assert placed == {
        "app.py:6": (None, ["camp/api.py:8", "camp/api.py:12", "camp/api.py:21"]),
        "tests/conftest.py:11": ("tests", ["camp/api.py:8", "camp/api.py:12", "camp/api.py:21"]),
    }
    pool = at(report, "app.py:6")
    assert (pool.settings["url"].value, pool.settings["pool_pre_ping"].value) == (
        "postgresql://camp@localhost:5432/camp",
        True,
    )


def test_a_class_that_binds_the_app_it_is_made_with_makes_the_engine_where_it_is_made(tmp_path, monkeypatch) -> None:
    # cards-amusing-humanity: `records = RecordStore(app)` in a script beside a folder it imports from
    report = scan(
        tmp_path,
        {
            "analytics/persistence/records.py": """
            import os

            from flask_sqlalchemy import SQLAlchemy


            class RecordStore:
                def __init__(self, app):
                    app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://%s@analytics/app" % os.getenv("PGUSER", "")
                    self.db = SQLAlchemy(app)
            """,
            "analytics/main.py": """
            from flask import Flask

            from persistence.records import RecordStore

            app = Flask(__name__)
            records = RecordStore(app)
            """,
        },
        monkeypatch,
    )
    assert [(p.where, p.via) for p in report.pools] == [("analytics/main.py:6", ["analytics/persistence/records.py:9"])]


def test_a_settings_fields_default_that_reads_a_variable_names_that_variable(tmp_path, monkeypatch) -> None:
    # crawly: `min_connections: int = os.environ.get("PSQL_POOL_MIN_CONN", 2)` on a BaseSettings (the compose
    # files set PSQL_POOL_MIN_CONN; pydantic's MIN_CONNECTIONS, read first, was the one named); a field whose
    # variable is written (`alias=`) keeps that one
    report = scan(
        tmp_path,
        {
            "app.py": """
            import os

            from psycopg2.pool import ThreadedConnectionPool
            from pydantic import Field
            from pydantic_settings import BaseSettings


            class PoolSettings(BaseSettings):
                min_connections: int = os.environ.get("PSQL_POOL_MIN_CONN", 2)
                max_connections: int = Field(os.environ.get("PSQL_POOL_MAX_CONN", 20), alias="POOL_MAX")


            settings = PoolSettings()
            pool = ThreadedConnectionPool(settings.min_connections, settings.max_connections, dsn="dbname=app")
            """
        },
        monkeypatch,
    )
    pool = at(report, "app.py:14")
    shown = {k: (pool.settings[k].value, pool.settings[k].env) for k in ("minconn", "maxconn")}
    assert shown == {"minconn": (2, "PSQL_POOL_MIN_CONN"), "maxconn": (20, "POOL_MAX")}


def test_each_instance_holding_its_own_engine_from_a_fixed_factory_is_a_pool_where_it_is_made(
    tmp_path, monkeypatch
) -> None:
    # SDI-Search-Engine: `DataAccess()` in four places, whose __init__ stores `data_access.create_engine()` (a
    # factory of none of its parameters) on the instance: one pool at the factory's line before
    report = scan(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/factory.py": """
            import sqlalchemy as sql


            def create_engine():
                return sql.create_engine("postgresql://db/app", pool_size=10)
            """,
            "pkg/access.py": """
            from pkg import factory


            class DataAccess(object):
                def __init__(self, _engine=None):
                    if _engine is None:
                        self._engine = factory.create_engine()

                def find(self):
                    return self._engine.execute("select 1")
            """,
            "pkg/service.py": """
            from pkg.access import DataAccess


            def one():
                for row in DataAccess().find():
                    print(row)


            class Two:
                def __init__(self):
                    self.data = DataAccess()
            """,
            "pkg/shared.py": """
            import functools

            import sqlalchemy as sql


            @functools.cache
            def engine():
                return sql.create_engine("postgresql://db/other")


            class Repo:
                def __init__(self):
                    self.engine = engine()


            a, b = Repo(), Repo()
            """,
        },
        monkeypatch,
    )
    placed = sorted((p.where, tuple(p.via)) for p in report.pools)
    assert placed == [
        ("pkg/service.py:11", ("pkg/access.py:7", "pkg/factory.py:5")),
        ("pkg/service.py:5", ("pkg/access.py:7", "pkg/factory.py:5")),
        ("pkg/shared.py:8", ()),
    ]


def test_a_global_left_none_until_an_init_function_sets_it_is_what_that_function_sets(tmp_path, monkeypatch) -> None:
    # DeanAgent-Backend: `_connect_kwargs: dict | None = None`, set through `global` by `init_pool(dsn=...)` (or
    # `init_pool(host=...)`), then spread into the per-loop pool's create_pool: min and max sizes were unknown
    report = scan(
        tmp_path,
        {
            "db.py": """
            import asyncpg

            _connect_kwargs: dict | None = None


            async def resolve():
                if _connect_kwargs is None:
                    raise RuntimeError("call init_pool() first")
                return await asyncpg.create_pool(**_connect_kwargs)


            async def init_pool(dsn=None, *, host=None, **kwargs):
                global _connect_kwargs
                if host:
                    connect_kwargs = {"host": host, "min_size": 2, "max_size": 10, **kwargs}
                else:
                    if not dsn:
                        raise ValueError("dsn or host")
                    connect_kwargs = {"dsn": dsn, "min_size": 2, "max_size": 10, **kwargs}
                _connect_kwargs = connect_kwargs
            """,
            "main.py": """
            import os

            from db import init_pool


            async def startup():
                if os.environ.get("DB_HOST"):
                    await init_pool(host=os.environ["DB_HOST"])
                else:
                    await init_pool(dsn=os.environ["DATABASE_URL"])
            """,
        },
        monkeypatch,
    )
    pool = at(report, "db.py:9")
    assert not pool.unresolved
    shown = {k: pool.settings[k].value for k in ("min_size", "max_size")}
    assert shown == {"min_size": 2, "max_size": 10}


def test_a_yaml_files_merge_keys_give_the_keys_a_mapping_does_not_set_itself(tmp_path, monkeypatch) -> None:
    # `production: {<<: *defaults, pool_size: 20}`: PyYAML's loaders merge the anchored mapping in
    report = scan(
        tmp_path,
        {
            "config.yml": "defaults: &defaults\n  pool_size: 5\n  max_overflow: 2\n"
            "extra: &extra\n  pool_timeout: 9\n  pool_size: 7\n"
            "production:\n  <<: [*defaults, *extra]\n  pool_size: 20\n",
            "app.py": """
            import yaml
            from sqlalchemy import create_engine

            with open("config.yml") as f:
                conf = yaml.safe_load(f)["production"]
            engine = create_engine("postgresql://db/app", **conf)
            """,
        },
        monkeypatch,
    )
    pool = at(report, "app.py:6")
    shown = {k: (v.value, v.from_) for k, v in pool.settings.items() if k != "url"}
    assert shown == {
        "pool_size": (20, "config.yml:9"),
        "max_overflow": (2, "config.yml:3"),
        "pool_timeout": (9, "config.yml:5"),
    }


def test_a_tests_app_from_a_factory_whose_helpers_configure_and_bind_it_is_a_test_pool(tmp_path, monkeypatch) -> None:
    # flaskmvc: `create_app(overrides)` calls `load_config(app, overrides)` (config.py) and `init_db(app)`
    # (database.py); the test's `create_app({...})` was no test pool
    report = scan(
        tmp_path,
        {
            "App/__init__.py": "",
            "App/default_config.py": 'SQLALCHEMY_DATABASE_URI = "postgresql://app@db/app"\n',
            "App/config.py": """
            def load_config(app, overrides):
                app.config.from_object("App.default_config")
                app.config["SQLALCHEMY_ENGINE_OPTIONS"] = overrides.get("ENGINE_OPTIONS", {"pool_size": 5})
            """,
            "App/database.py": """
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()


            def init_db(app):
                db.init_app(app)
            """,
            "App/main.py": """
            from flask import Flask

            from App.config import load_config
            from App.database import init_db


            def create_app(overrides={}):
                app = Flask(__name__)
                load_config(app, overrides)
                init_db(app)
                return app
            """,
            "wsgi.py": "from App.main import create_app\n\napp = create_app()\n",
            "App/tests/test_app.py": """
            from App.main import create_app


            def test_app():
                app = create_app({"ENGINE_OPTIONS": {"pool_size": 1}})
                assert app
            """,
        },
        monkeypatch,
    )
    sizes = {(p.where, p.aside): p.settings["pool_size"].value for p in report.pools}
    assert sizes == {("App/database.py:7", None): 5, ("App/tests/test_app.py:5", "tests"): 1}


def test_calls_of_other_functions_of_the_same_name_do_not_count_toward_a_factorys_callers(
    tmp_path, monkeypatch
) -> None:
    # sats-rover: seed_places' `main()` (one pool, called once) was said to be "named in 14 calls": other scripts'
    # own main() and the tests' unittest.main()
    others = {
        f"scripts/other{n}.py": "def main():\n    print('x')\n\n\nif __name__ == '__main__':\n    main()\n    main()\n"
        for n in range(6)
    }
    report = scan(
        tmp_path,
        {
            "scripts/seed_places.py": """
            import asyncio
            import os

            from sqlalchemy.ext.asyncio import create_async_engine


            async def main():
                engine = create_async_engine(os.environ["DATABASE_URL"])
                await engine.dispose()


            if __name__ == "__main__":
                asyncio.run(main())
            """,
            **others,
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["scripts/seed_places.py:8"]
    assert not [w for w in report.warnings if "named in" in w]


def test_a_helpers_test_of_a_local_a_variable_gives_names_the_variable(tmp_path, monkeypatch) -> None:
    # django-shopman: `_env_bool(name, default)` reads `raw = os.environ.get(name)`, then `if raw is None:`; the
    # branch said `raw is None`, the helper's own name
    report = scan(
        tmp_path,
        {
            "config/settings.py": """
            import os


            def _env_bool(name, default=False):
                raw = os.environ.get(name)
                if raw is None:
                    return default
                return raw.lower() in ("true", "1", "yes")


            INSTALLED_APPS = ["django.contrib.auth"]
            DATABASES = {
                "default": {
                    "ENGINE": "django.db.backends.postgresql",
                    "NAME": "shop",
                    "CONN_HEALTH_CHECKS": _env_bool("DATABASE_CONN_HEALTH_CHECKS", True),
                }
            }
            """
        },
        monkeypatch,
    )
    value = at(report, "config/settings.py:13").settings["CONN_HEALTH_CHECKS"]
    assert [b.when for b in value.branches] == [
        "$DATABASE_CONN_HEALTH_CHECKS is None",
        "not ($DATABASE_CONN_HEALTH_CHECKS is None)",
    ]


def test_a_dotenv_value_quoted_before_a_comment_is_read_as_python_dotenv_reads_it(tmp_path, monkeypatch) -> None:
    # tech-support: `POSTGRES_PASSWORD = 'test'  # comment` was read with its quotes, and the URL made of it showed
    # the password in clear (`'test':'test'@postgres`)
    report = scan(
        tmp_path,
        {
            ".env": "POSTGRES_USER = 'app'  # who\nPOSTGRES_PASSWORD = 's3cr3t'  # never shown\nexport POOL='7'\n",
            "main.py": """
            import os

            from sqlalchemy.ext.asyncio import create_async_engine

            user, password = os.getenv("POSTGRES_USER"), os.getenv("POSTGRES_PASSWORD")
            engine = create_async_engine(
                f"postgresql+asyncpg://{user}:{password}@postgres/app", pool_size=int(os.getenv("POOL", "5"))
            )
            """,
        },
        monkeypatch,
    )
    pool = at(report, "main.py:6")
    assert pool.settings["url"].value == "postgresql+asyncpg://app:***@postgres/app"
    assert (pool.settings["pool_size"].value, pool.settings["pool_size"].from_) == (7, ".env:3")
    assert "s3cr3t" not in repr(report.pools)


def test_a_url_value_whose_password_holds_quotes_or_spaces_is_masked() -> None:
    from pool_doctor.scan.model import mask_text

    assert mask_text("postgresql://u:'p w'@h/db") == "postgresql://u:***@h/db"
    assert mask_text("postgresql://u:pa/ss@h/db") == "postgresql://u:***@h/db"
    assert mask_text("postgresql://h:5432/db") == "postgresql://h:5432/db"


def test_a_global_an_init_function_sets_is_none_where_read_at_import_and_may_stay_none_past_an_early_return(
    tmp_path, monkeypatch
) -> None:
    # the review's cases: a read at the module's top runs before init() can; init() returning before it sets the
    # global leaves it None; a caller giving **kwargs in a file nothing else makes the scan read is still seen
    report = scan(
        tmp_path,
        {
            "db.py": """
            import asyncpg
            from sqlalchemy import create_engine

            POOL_SIZE = None
            _timeout = None
            _kwargs = None


            def configure(url=None):
                global POOL_SIZE, _timeout
                POOL_SIZE = 20
                if not url:
                    return
                _timeout = 7


            def init_pool(**kwargs):
                global _kwargs
                _kwargs = {"min_size": 2, "max_size": 10, **kwargs}


            engine = create_engine("postgresql://db/app", pool_size=POOL_SIZE)


            def make():
                return create_engine("postgresql://db/app", pool_timeout=_timeout or 30)


            async def pool():
                return await asyncpg.create_pool(**_kwargs)
            """,
            "main.py": "from db import configure, init_pool\n\nconfigure('postgresql://db/app')\ninit_pool(max_size=50)\n",
        },
        monkeypatch,
    )
    assert at(report, "db.py:22").settings["pool_size"].known is False
    timeout = at(report, "db.py:26").settings["pool_timeout"]
    assert 30 in [b.value for b in timeout.branches]
    assert at(report, "db.py:30").unresolved == ["**kwargs"]


def test_an_init_of_a_class_that_may_hand_back_one_instance_is_no_pool_per_place_it_is_made(
    tmp_path, monkeypatch
) -> None:
    # the review's cases 3 to 5: a metaclass or decorator singleton, and an __init__ that returns early once set,
    # run the factory once (each of its three calls): a pool at each of those, not one per `Repo()`
    makers = "\n".join(f"def use{n}():\n    return Repo(), Guarded(), Decorated()\n" for n in range(3))
    report = scan(
        tmp_path,
        {
            "factory.py": """
            from sqlalchemy import create_engine


            def make_engine():
                return create_engine("postgresql://db/app", pool_size=4)
            """,
            "access.py": """
            from factory import make_engine


            class Singleton(type):
                _instances = {}

                def __call__(cls, *args, **kwargs):
                    if cls not in cls._instances:
                        cls._instances[cls] = super().__call__(*args, **kwargs)
                    return cls._instances[cls]


            def singleton(cls):
                instances = {}
                return lambda: instances.setdefault(cls, cls())


            class Repo(metaclass=Singleton):
                def __init__(self):
                    self.engine = make_engine()


            class Guarded:
                _ready = False

                def __init__(self):
                    if self._ready:
                        return
                    self.engine = make_engine()
                    self._ready = True


            @singleton
            class Decorated:
                def __init__(self):
                    self.engine = make_engine()
            """,
            "service.py": "from access import Decorated, Guarded, Repo\n\n\n" + makers,
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["access.py:20", "access.py:29", "access.py:36"]


def test_globals_get_in_a_function_reads_a_name_a_star_import_gives(tmp_path, monkeypatch) -> None:
    # the review's case13: `globals().get("SIZE", 5)` in a function, SIZE from `from .local import *`
    report = scan(
        tmp_path,
        {
            "conf/__init__.py": "",
            "conf/local.py": "SIZE = 8\n",
            "conf/settings.py": """
            from sqlalchemy import create_engine

            try:
                from .local import *  # noqa
            except ImportError:
                pass


            def make():
                return create_engine("postgresql://db/fn", pool_size=globals().get("SIZE", 5))
            """,
        },
        monkeypatch,
    )
    assert at(report, "conf/settings.py:10").settings["pool_size"].value == 8


def test_an_extension_method_helper_that_binds_through_self_is_one_engine_with_the_factorys_config(
    tmp_path, monkeypatch
) -> None:
    # the review's case15: create_app sets the URL, then `store.init_app(app)` sets the engine options and binds
    # through `self.db`: one engine with both, not two halves
    report = scan(
        tmp_path,
        {
            "web/__init__.py": """
            import os

            from flask import Flask

            from web.ext import store


            def create_app():
                app = Flask(__name__)
                app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
                store.init_app(app)
                return app
            """,
            "web/ext.py": """
            from flask_sqlalchemy import SQLAlchemy


            class Store:
                def __init__(self, app=None):
                    self.db = SQLAlchemy()
                    if app is not None:
                        self.init_app(app)

                def init_app(self, app):
                    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_size": 7})
                    self.db.init_app(app)


            store = Store()
            """,
            "wsgi.py": "from web import create_app\n\napp = create_app()\n",
        },
        monkeypatch,
    )
    assert len(report.pools) == 1
    pool = report.pools[0]
    assert (pool.settings["pool_size"].value, pool.settings["url"].env) == (7, "DATABASE_URL")


def test_a_pool_call_after_an_engine_in_an_or_never_runs(tmp_path, monkeypatch) -> None:
    # TheDailyGlobe's env.py: `engine or async_engine_from_config(...)` right after `engine = create_async_engine(...)`
    report = scan(
        tmp_path,
        {
            "migrations/env.py": """
            from sqlalchemy import pool
            from sqlalchemy.ext.asyncio import async_engine_from_config, create_async_engine


            async def run_migrations_online(configuration, url):
                engine = create_async_engine(url)
                connectable = engine or async_engine_from_config(
                    configuration, prefix="sqlalchemy.", poolclass=pool.NullPool
                )
                async with connectable.connect() as connection:
                    await connection.run_sync(print)
            """
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["migrations/env.py:6"]


def test_a_pydantic_settings_class_with_a_flask_key_no_app_loads_is_no_engine(tmp_path, monkeypatch) -> None:
    # ecology_bot: `class Settings(BaseSettings)` with a SQLALCHEMY_DATABASE_URI field (a Celery worker's), beside
    # a Flask app: two false Flask-SQLAlchemy pools
    report = scan(
        tmp_path,
        {
            "config.py": """
            from typing import Optional

            from pydantic import PostgresDsn
            from pydantic_settings import BaseSettings


            class Settings(BaseSettings):
                SQLALCHEMY_DATABASE_URI: Optional[PostgresDsn] = None
                SQLALCHEMY_POOL_SIZE: int = 5
            """,
            "app.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()
            app = Flask(__name__)
            app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://app@db/app"
            db.init_app(app)
            """,
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["app.py:7"]


def test_an_engine_handed_to_a_library_through_an_annotated_parameter_makes_no_pool_there(
    tmp_path, monkeypatch
) -> None:
    # ergostar: `get_alchemy_config(engine: AsyncEngine, ...)` returns `SQLAlchemyAsyncConfig(engine_instance=engine)`:
    # the app's engine, not a pool made inside advanced_alchemy (one that may be None still warns)
    report = scan(
        tmp_path,
        {
            "config.py": """
            from typing import Optional

            from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
            from sqlalchemy.ext.asyncio import AsyncEngine


            def get_alchemy_config(engine: AsyncEngine) -> SQLAlchemyAsyncConfig:
                return SQLAlchemyAsyncConfig(engine_instance=engine)


            def maybe_config(engine: Optional[AsyncEngine] = None) -> SQLAlchemyAsyncConfig:
                return SQLAlchemyAsyncConfig(engine_instance=engine, connection_string="postgresql+asyncpg://db/app")
            """
        },
        monkeypatch,
    )
    assert [w.split(": ", 1)[0] for w in report.warnings] == ["config.py:12"]


def test_settings_star_imported_each_under_a_test_of_its_own_are_each_a_pool(tmp_path, monkeypatch) -> None:
    # troupon: `if not os.getenv('HEROKU'): from development import *` then `if os.getenv('HEROKU') is not None:
    # from production import *`: production's DATABASES was read as an override of development's, and lost
    report = scan(
        tmp_path,
        {
            "proj/settings/__init__.py": """
            import os

            if not os.getenv("CI") and not os.getenv("HEROKU"):
                from .development import *

            if os.getenv("HEROKU") is not None:
                from .production import *
            """,
            "proj/settings/development.py": (
                "INSTALLED_APPS = []\nDATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql', 'NAME': 'dev'}}\n"
            ),
            "proj/settings/production.py": (
                "import dj_database_url\n\nDATABASES = {'default': dj_database_url.config(conn_max_age=600)}\n"
            ),
        },
        monkeypatch,
    )
    assert sorted(p.where for p in report.pools) == ["proj/settings/development.py:2", "proj/settings/production.py:3"]


def test_same_named_factories_of_several_packages_are_counted_each_for_its_own_callers(tmp_path, monkeypatch) -> None:
    # the review's case22: three packages, each with its own fixed get_engine() called four times: "named in 12
    # calls" for each, and one pool each at its own line instead of four at their calls
    jobs = "".join(f"\n\ndef job{n}():\n    return get_engine()\n" for n in range(4))
    files: dict[str, str] = {}
    for package in ("billing", "orders", "users"):
        files[f"{package}/__init__.py"] = ""
        files[f"{package}/db.py"] = (
            f"import sqlalchemy as sql\n\n\ndef get_engine():\n    return sql.create_engine('postgresql://db/{package}')\n"
        )
        files[f"{package}/jobs.py"] = f"from {package}.db import get_engine\n{jobs}"
    report = scan(tmp_path, files, monkeypatch)
    assert len(report.pools) == 12
    assert not [w for w in report.warnings if "named in" in w]


def test_an_ini_option_of_a_section_a_variable_picks_names_that_variable(tmp_path, monkeypatch) -> None:
    # falcon-asyncpg: `config.get(os.environ.get("ENV", "development"), "DSN")`: [development]'s DSN, ENV unnamed
    report = scan(
        tmp_path,
        {
            "config.ini": "[development]\nDSN = postgresql://app@localhost:5432/blocks\n\n[production]\nDSN = ''\n",
            "db.py": """
            import configparser
            import os

            import asyncpg

            config = configparser.ConfigParser()
            config.read("config.ini")
            env = os.environ.get("ENV", "development")


            async def make():
                return await asyncpg.create_pool(dsn=config.get(env, "DSN"), min_size=2, max_size=4)
            """,
        },
        monkeypatch,
    )
    dsn = at(report, "db.py:12").settings["dsn"]
    assert (dsn.value, dsn.from_, dsn.env) == ("postgresql://app@localhost:5432/blocks", "config.ini:2", "ENV")


def test_a_services_app_that_loads_a_config_and_is_handed_to_nothing_makes_no_engine(tmp_path, monkeypatch) -> None:
    # yaurp: each service makes its own Flask app and loads a config with a URL; only the post service binds
    # Flask-SQLAlchemy (`SQLAlchemy(app)` in repository.py, importing the app): the gui service's app was a pool
    config = 'class Config(object):\n    SQLALCHEMY_DATABASE_URI = "postgresql+psycopg2://tester@localhost/db"\n'
    service = "import flask\n\nfrom services.{0}.config import Config\n\napp = flask.Flask(__name__)\napp.config.from_object(Config)\n"
    report = scan(
        tmp_path,
        {
            "services/__init__.py": "",
            "services/post/__init__.py": service.format("post"),
            "services/post/config.py": config,
            "services/post/repository.py": "from flask_sqlalchemy import SQLAlchemy\n\nfrom services.post import app\n\ndb = SQLAlchemy(app)\n",
            "services/gui/__init__.py": service.format("gui"),
            "services/gui/config.py": config,
            "services/gui/views.py": "from services.gui import app\n\n\n@app.route('/')\ndef index():\n    return 'ok'\n",
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["services/post/repository.py:5"]


def test_a_config_class_only_a_test_loads_may_still_be_what_the_app_loads(tmp_path, monkeypatch) -> None:
    # flask-inventory: `app.config.from_object(os.environ["APP_SETTINGS"])`; the tests load each config class by
    # name, which took them all out of the classes the app may load: no pool at all
    report = scan(
        tmp_path,
        {
            "config.py": """
            class BaseConfig:
                SQLALCHEMY_TRACK_MODIFICATIONS = False


            class ProductionConfig(BaseConfig):
                SQLALCHEMY_DATABASE_URI = "postgresql:///inventory"
                SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 8}
            """,
            "app/__init__.py": """
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
            "tests/test_config.py": """
            from app import create_app


            def test_production():
                app = create_app()
                app.config.from_object("config.ProductionConfig")
                assert app.config["SQLALCHEMY_DATABASE_URI"]
            """,
        },
        monkeypatch,
    )
    sizes = [p.settings["pool_size"].value for p in report.pools if p.aside is None and "pool_size" in p.settings]
    assert sizes == [8]


def test_a_setter_that_returns_what_it_sets_at_its_end_leaves_it_set(tmp_path, monkeypatch) -> None:
    report = scan(
        tmp_path,
        {
            "db.py": """
            from sqlalchemy import create_engine

            _size = None


            def configure():
                global _size
                _size = 12
                return _size


            def make():
                return create_engine("postgresql://db/app", pool_size=_size)
            """
        },
        monkeypatch,
    )
    assert at(report, "db.py:13").settings["pool_size"].value == 12
