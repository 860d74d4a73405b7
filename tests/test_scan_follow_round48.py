"""`scan_path` following values the way real projects spread them (issue 29), continued from
test_scan_follow_round44.py (the open cases of earlier rounds and of held-out round 48). Each project is a few
small files written here (never a copy of a real one); line numbers in the assertions are the fixtures' own."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_scan import at, scan

from pool_doctor.scan.target import url_driver
from tests.cli_runner import run_pool_doctor


@pytest.mark.parametrize("caught", ["(ImportError, AttributeError)", "(AttributeError, ModuleNotFoundError)"])
def test_a_handler_catching_an_import_error_among_others_makes_an_alternative(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caught: str
) -> None:
    # the fourth review: a handler that also catches ImportError runs where the try's library is missing, so
    # its pool may be the one made; it was dropped as a fallback of the try's
    files = {
        "app/db.py": f"""
            def make_pool(dsn, size=10):
                try:
                    from psycopg_pool import ConnectionPool

                    return ConnectionPool(dsn, min_size=1, max_size=size)
                except {caught}:
                    from psycopg2.pool import ThreadedConnectionPool

                    return ThreadedConnectionPool(1, size, dsn)

            pool = make_pool("postgresql://db/app")
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert sorted(p.call for p in report.pools) == [
        "psycopg2.pool.ThreadedConnectionPool",
        "psycopg_pool.ConnectionPool",
    ]


def test_a_databases_swapped_by_an_if_sits_at_the_side_that_may_be_postgresql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SecObserve (round 46): a required variable picks SQLite's dict or the one it names; the alias sat at the
    # SQLite dict's line, while the side judged (and the only one that can be PostgreSQL) is the second
    files = {
        "config/settings.py": """
            import environ

            env = environ.Env()

            if env("DATABASE_ENGINE") == "django.db.backends.sqlite3":
                DATABASES = {
                    "default": {
                        "ENGINE": "django.db.backends.sqlite3",
                        "NAME": "/var/lib/app.db",
                    }
                }
            else:
                DATABASES = {
                    "default": {
                        "ENGINE": env("DATABASE_ENGINE"),
                        "CONN_MAX_AGE": 60,
                    }
                }
        """,
        "manage.py": "import django\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    [pool] = report.pools
    assert (pool.call, pool.line) == ("DATABASES['default']", 14)


def test_a_configuration_classs_post_setup_changes_its_databases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # suitenumerique/docs (round 47): django-configurations runs the class's `post_setup()` after its values are
    # set up, and that one adds psycopg's pool OPTIONS where a variable asks; they were missing
    files = {
        "app/settings.py": """
            from configurations import Configuration, values


            class Base(Configuration):
                DATABASES = {
                    "default": {
                        "ENGINE": "django.db.backends.postgresql",
                        "NAME": "app",
                    }
                }

                @classmethod
                def post_setup(klass):
                    super().post_setup()
                    pool_enabled = values.BooleanValue(False, environ_name="DB_POOL_ENABLED", environ_prefix="")
                    if pool_enabled:
                        klass.DATABASES["default"].update(
                            {"OPTIONS": {"pool": {"min_size": values.IntegerValue(4, environ_name="DB_POOL_MIN")}}}
                        )


            class Production(Base):
                pass
        """,
        "manage.py": """
            import os

            os.environ.setdefault("DJANGO_CONFIGURATION", "Production")
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    [pool] = report.pools
    size = pool.settings["OPTIONS.pool.min_size"]
    assert [(b.value, b.env) for b in size.branches] == [(None, None), (4, "DJANGO_DB_POOL_MIN")]
    assert size.branches[1].when == "pool_enabled"


def test_a_new_dict_post_setup_binds_reaches_no_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the importer set the module's DATABASES before post_setup() runs: a dict bound to cls.DATABASES then is
    # the class's alone (the class's own stays unresolved, as a classmethod sets it again)
    files = {
        "app/settings.py": """
            from configurations import Configuration


            class Production(Configuration):
                DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "CONN_MAX_AGE": 60}}

                @classmethod
                def post_setup(cls):
                    cls.DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "CONN_MAX_AGE": 0}}
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    [pool] = report.pools
    assert pool.unresolved == ["DATABASES, set again by post_setup()"]
    assert pool.settings == {}


def test_a_url_made_by_url_create_keeps_its_driver_through_render_as_string(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ChatModerator (round 48): `URL.create(drivername=f"postgresql+{driver}", username=os.environ[...], ...)`
    # handed on as `uri.render_as_string(hide_password=False)`: the URL is unknown, but the driver written in the
    # code was lost with it (asyncpg wants command_timeout, not tcp_user_timeout)
    files = {
        "app/db.py": """
            import os

            from sqlalchemy.engine.url import URL
            from sqlalchemy.ext.asyncio import create_async_engine

            def url(driver="asyncpg"):
                uri = URL.create(drivername=f"postgresql+{driver}", username=os.environ["U"], host="db")
                return uri.render_as_string(hide_password=False)

            engine = create_async_engine(url())
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    [pool] = report.pools
    assert (pool.settings["url"].known, url_driver(pool)) == (False, "asyncpg")


def test_a_pool_each_instance_makes_once_is_one_per_instance_where_it_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # bazarvpn (round 48): `if self._pool is None: self._pool = await asyncpg.create_pool(dsn=self._dsn, ...)`,
    # each instance keeping its own pool: two instances were one pool inside the class, its dsn "one of" theirs
    # (one instance's stays at the call making it, with that instance's arguments: test_scan_follow_round37)
    files = {
        "app/db.py": """
            import asyncpg


            class Database:
                def __init__(self, dsn):
                    self._dsn = dsn
                    self._pool = None

                async def connect(self):
                    if self._pool is None:
                        self._pool = await asyncpg.create_pool(dsn=self._dsn, min_size=1, max_size=10)
                    return self._pool
        """,
        "app/main.py": """
            import os

            from app.db import Database


            async def main():
                main_db = Database(os.getenv("MAIN_URL", "postgresql://a@main/x"))
                await main_db.connect()
                stats_db = Database("postgresql://b@stats/y")
                await stats_db.connect()
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    found = sorted((p.file, p.line, p.settings["dsn"].value, p.settings["dsn"].env, p.via) for p in report.pools)
    assert found == [
        ("app/main.py", 7, "postgresql://a@main/x", "MAIN_URL", ["app/db.py:11"]),
        ("app/main.py", 9, "postgresql://b@stats/y", None, ["app/db.py:11"]),
    ]


def test_a_global_only_a_function_sets_is_what_that_function_leaves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # LBGenerator (round 48): `set_globals()` writes DB_URL and POOL_SIZE through `global`, the module assigns
    # neither, and `create_new_engine()` reads them: whatever reads them works only once it ran (they were
    # unknown)
    files = {
        "app/config.py": """
            import os

            from sqlalchemy import create_engine


            def set_globals(**settings):
                global DB_URL, POOL_SIZE
                DB_URL = os.environ.get("DATABASE_URL")
                if DB_URL is None:
                    DB_URL = settings["sqlalchemy.url"]
                POOL_SIZE = int(os.environ.get("SQLALCHEMY_POOL_SIZE", "20"))


            def create_new_engine():
                return create_engine(DB_URL, pool_size=POOL_SIZE)
        """,
        "app/__init__.py": """
            from .config import set_globals


            def main(global_config, **settings):
                set_globals(**settings)
        """,
        "app/views.py": """
            from .config import create_new_engine

            ENGINE = create_new_engine()
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    [pool] = report.pools
    size, url = pool.settings["pool_size"], pool.settings["url"]
    assert (size.value, size.env, size.from_) == (20, "SQLALCHEMY_POOL_SIZE", "app/config.py:11")
    assert (url.known, url.env) == (False, "DATABASE_URL")


@pytest.mark.parametrize(
    ("reads", "copy"),
    [
        ("import config", "config."),
        ("from config import SQLALCHEMY_DATABASE_URI, SQLALCHEMY_POOL_SIZE", ""),
    ],
)
def test_a_module_whose_keys_the_app_copies_one_by_one_is_no_config_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reads: str, copy: str
) -> None:
    # flask-be (round 48): `app.config["SQLALCHEMY_POOL_SIZE"] = config.SQLALCHEMY_POOL_SIZE`, each of the
    # module's pool keys copied, the module never loaded whole: it was a second pool ("module config")
    (tmp_path / "requirements.txt").write_text("Flask-SQLAlchemy==2.5.1\n")  # (2.x reads SQLALCHEMY_POOL_*)
    files = {
        "config.py": """
            SQLALCHEMY_DATABASE_URI = "postgresql://u@h/db"
            SQLALCHEMY_POOL_SIZE = 2
        """,
        "server.py": f"""
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            {reads}

            app = Flask(__name__)
            app.config["SQLALCHEMY_DATABASE_URI"] = {copy}SQLALCHEMY_DATABASE_URI
            app.config["SQLALCHEMY_POOL_SIZE"] = {copy}SQLALCHEMY_POOL_SIZE
            db = SQLAlchemy(app)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [(p.where, p.settings["pool_size"].value) for p in report.pools] == [("server.py:9", 2)]


@pytest.mark.parametrize(
    "made",
    [
        "Env(**MANDATORY)",
        'SmartEnv(DATABASE_URL=(str, "psql://postgres:@postgres:5432/aurora"))',
        "SmartEnv(**MANDATORY, **OPTIONAL)",
    ],
)
def test_a_django_environ_scheme_spread_or_a_subclass_gives_its_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, made: str
) -> None:
    # aurora (round 48): `env = SmartEnv(**MANDATORY, **OPTIONS)`, SmartEnv a subclass of environ.Env adding a
    # cache_url of its own: the scheme's DATABASE_URL default (psql://, PostgreSQL) was lost, spread or subclassed
    files = {
        "app/settings.py": f"""
            from environ import Env

            MANDATORY = {{"DATABASE_URL": (str, "psql://postgres:@postgres:5432/aurora")}}
            OPTIONAL = {{"DEBUG": (bool, False)}}


            class SmartEnv(Env):
                def cache_url(self, var="CACHE_URL", default=Env.NOTSET, backend=None):
                    return super().cache_url(var, default, backend)


            env = {made}
            DATABASES = {{"default": env.db("DATABASE_URL")}}
        """,
        "manage.py": "import django\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    [pool] = report.pools
    engine = pool.settings["ENGINE"]
    assert (engine.value, engine.env) == ("django.db.backends.postgresql", "DATABASE_URL")


def test_a_django_environ_subclass_reading_values_its_own_way_is_not_read_as_the_library(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {
        "app/settings.py": """
            from environ import Env


            class VaultEnv(Env):
                def get_value(self, var, cast=None, default=Env.NOTSET, parse_default=False):
                    return vault.read(var)


            env = VaultEnv(DATABASE_URL=(str, "psql://postgres:@postgres:5432/aurora"))
            DATABASES = {"default": env.db("DATABASE_URL")}
        """,
        "manage.py": "import django\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    [pool] = report.pools
    assert "ENGINE" not in pool.settings or not pool.settings["ENGINE"].known


def test_the_json_names_the_driver_the_pool_is_judged_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # graders of rounds 47 and 48: a URL the scan cannot read all of shows its driver only in its text
    # (`postgresql+asyncpg://...`); the JSON says which driver the rules judged, null where the code does not say
    files = {
        "app/db.py": """
            import os

            import asyncpg
            from sqlalchemy import create_engine
            from sqlalchemy.ext.asyncio import create_async_engine

            a = create_async_engine(f"postgresql+asyncpg://{os.environ['DB_USER']}@db/app")
            b = create_engine("postgresql://db/app")
            c = create_engine(os.environ["DATABASE_URL"])
            d = asyncpg.create_pool("postgresql://db/app")
            e = create_async_engine(
                "postgresql+asyncpg://db/app" if os.getenv("MODE") == "prod" else "sqlite+aiosqlite:///app.db"
            )
        """,
    }
    scan(tmp_path, files, monkeypatch)
    done = run_pool_doctor("scan", "--format", "json", secret="secret", cwd=tmp_path)
    assert done.code == 0
    drivers = {pool["line"]: pool["driver"] for pool in done.json()["pools"]}
    assert drivers == {7: "asyncpg", 8: "psycopg2", 9: None, 10: "asyncpg", 11: "asyncpg"}  # (11: as judged)


def test_pool_settings_handed_to_an_installed_package_are_named_in_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ouranos-core (round 48), fastapi-sqlalchemy users: the engine is made inside an installed package, so the
    # scan has no pool to report; it said nothing at all
    files = {
        "app/db.py": """
            import functools, types

            from fastapi_sqlalchemy import DBSessionMiddleware
            from sqlalchemy_wrapper import AsyncSQLAlchemyWrapper as Wrapper

            from app import settings

            db = Wrapper(engine_options={"pool_recycle": 3600})
            app.add_middleware(DBSessionMiddleware, db_url=settings.URL, engine_args={"pool_pre_ping": True})
            own = settings.make(pool_recycle=60)
            bound = functools.partial(create_engine, pool_recycle=60)
            options = types.SimpleNamespace(pool_recycle=60)
        """,
        "app/settings.py": """
            URL = "postgresql://db/app"

            def make(**kwargs):
                return kwargs
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert report.pools == []
    warned = [w for w in report.warnings if "installed package" in w]
    assert warned == [
        "app/db.py:8: hands pool settings (pool_recycle) to sqlalchemy_wrapper.AsyncSQLAlchemyWrapper(), of an"
        " installed package the scan does not read: a pool made there is not judged"
    ]


def test_a_url_read_from_a_variable_names_the_driver_set_on_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # olmo-api (round 49): `make_url(conninfo).set(drivername="postgresql+psycopg")` of a variable's URL: the
    # URL is unknown, the driver is the one the code sets (was lost; a `.set()` of anything else stays unknown)
    files = {
        "app/db.py": """
            import os

            from sqlalchemy import create_engine, make_url

            def url(conninfo):
                return make_url(conninfo).set(drivername="postgresql+psycopg")

            engine = create_engine(url(os.environ["DATABASE_URL"]))
            other = create_engine(make_url(os.environ["OTHER_URL"]).set(database="x"))
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    found = sorted((p.line, p.settings["url"].known, p.settings["url"].env, url_driver(p)) for p in report.pools)
    assert found == [(8, False, "DATABASE_URL", "psycopg"), (9, False, "OTHER_URL", None)]


def test_a_name_a_modules_getattr_gives_is_what_it_returns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # mm_microkit (round 49): `from kit.config import settings`, which the module binds through its PEP 562
    # `__getattr__` returning `Settings()`: the pool's dsn and sizes were unknown
    files = {
        "kit/__init__.py": "",
        "kit/config.py": """
            from pydantic import Field
            from pydantic_settings import BaseSettings


            class Settings(BaseSettings):
                postgres_dsn: str = Field("postgres://meta@localhost:5432/metadata")
                db_min_size: int = Field(10)


            def __getattr__(name):
                if name == "settings":
                    return Settings()
                raise AttributeError(name)
        """,
        "kit/db.py": """
            import asyncpg

            from kit import config
            from kit.config import settings


            async def get_pool():
                return await asyncpg.create_pool(dsn=settings.postgres_dsn, min_size=config.settings.db_min_size)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    [pool] = report.pools
    dsn, size = pool.settings["dsn"], pool.settings["min_size"]
    assert (dsn.value, dsn.env, size.value, size.env) == (
        "postgres://meta@localhost:5432/metadata",
        "POSTGRES_DSN",
        10,
        "DB_MIN_SIZE",
    )


def test_a_test_each_value_of_a_name_decides_keeps_on_each_side_the_values_that_take_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # leaderboard (round 49): `if settings['sqlalchemy.url'][0] == '%': url = os.environ[url[1:]]`, the URL one per
    # ini file; the development URL was read as the name of a variable (`ostgres:///...`, the engine's env) and
    # the production text `%HEROKU_...` as a URL
    files = {
        "app/__init__.py": """
            import os

            from sqlalchemy import engine_from_config


            def main(global_config, **settings):
                if settings["sqlalchemy.url"][0] == "%":
                    settings["sqlalchemy.url"] = os.environ[settings["sqlalchemy.url"][1:]]
                engine = engine_from_config(settings, "sqlalchemy.")
        """,
        "development.ini": """
            [app:main]
            use = egg:app
            sqlalchemy.url = postgresql://db/dev
        """,
        "production.ini": """
            [app:main]
            use = egg:app
            sqlalchemy.url = %HEROKU_DATABASE_URL
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    [pool] = report.pools
    url = pool.settings["url"]
    assert {(b.value, b.env) for b in url.branches} == {(None, "HEROKU_DATABASE_URL"), ("postgresql://db/dev", None)}


def test_a_config_module_whose_uri_alone_a_script_copies_is_still_a_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the review of the change above: a script copying the URI alone, the app loading its config from a file the
    # scan cannot read: the module's engine options were reported nowhere
    files = {
        "config.py": """
            SQLALCHEMY_DATABASE_URI = "postgresql://u@h/db"
            SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 20}
        """,
        "app.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            app = Flask(__name__)
            app.config.from_envvar("APP_SETTINGS")
            db = SQLAlchemy(app)
        """,
        "scripts/dump.py": """
            from flask import Flask

            import config

            tool = Flask(__name__)
            tool.config["SQLALCHEMY_DATABASE_URI"] = config.SQLALCHEMY_DATABASE_URI
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert any(p.file == "config.py" and p.settings["pool_size"].value == 20 for p in report.pools)


@pytest.mark.parametrize(
    ("keeps", "opens"),
    [
        ("global _pool\n        if _pool is None:\n            _pool", "async def pool(self):"),
        ("if cls._pool is None:\n            cls._pool", "@classmethod\n    async def pool(cls):"),
    ],
)
def test_a_pool_kept_for_every_instance_is_one_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keeps: str, opens: str
) -> None:
    # the review of the change above: kept in a global or on the class, the one pool all instances share
    db = f"""
import asyncpg

_pool = None


class Database:
    _pool = None

    def __init__(self, name):
        self.name = name

    {opens}
        {keeps} = await asyncpg.create_pool(dsn="postgresql://u@db/app", max_size=10)
        return _pool
"""
    files = {
        "app/db.py": db,
        "app/main.py": """
            from app.db import Database


            async def main():
                await Database("users").pool()
                await Database("stats").pool()
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [p.where for p in report.pools] == ["app/db.py:15"]


def test_a_global_the_module_imports_stays_the_imported_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the review of the change above: `from app.settings import POOL_SIZE` and a function that sets it to 1 through
    # `global` for the tests: at import the engine takes 15 (it took the function's 1)
    files = {
        "app/settings.py": "POOL_SIZE = 15\n",
        "app/db.py": """
            from sqlalchemy import create_engine

            from app.settings import POOL_SIZE


            def use_small_pool_for_tests():
                global POOL_SIZE
                POOL_SIZE = 1


            engine = create_engine("postgresql://db/app", pool_size=POOL_SIZE)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    [pool] = report.pools
    assert pool.settings["pool_size"].value == 15


def test_a_handler_catching_an_import_error_among_others_after_a_try_importing_nothing_is_a_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the review of the change above: nothing imported in the try, the handler is where the first pool failed
    files = {
        "app/db.py": """
            import psycopg2
            from psycopg2.pool import ThreadedConnectionPool

            def make_pool(dsn, fallback_dsn):
                try:
                    return ThreadedConnectionPool(5, 20, dsn)
                except (psycopg2.OperationalError, ImportError):
                    return ThreadedConnectionPool(1, 5, fallback_dsn)

            pool = make_pool("postgresql://db/app", "postgresql://replica/app")
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert len(report.pools) == 1


def test_a_default_given_where_none_is_among_a_variable_and_a_cast_is_the_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # movie-database (round 50): `return cast(value) if None not in (value, cast) else default`, `cast` being
    # `int`: a function in the tuple was no value the scan could compare, so the sizes were unknown
    files = {
        "app/config.py": """
            import os


            def get_env(key, cast=None, default=None):
                value = os.getenv(key)
                return cast(value) if None not in (value, cast) else default


            MIN_SIZE = get_env("DB_MIN_CONNECTIONS", int, default=10)
        """,
        "app/db.py": """
            from asyncpg import create_pool

            from app.config import MIN_SIZE


            async def main():
                return await create_pool(dsn="postgresql://db/app", min_size=MIN_SIZE)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    [pool] = report.pools
    size = pool.settings["min_size"]
    assert (size.value, size.env) == (10, "DB_MIN_CONNECTIONS")


def test_a_url_pydantic_cores_multihosturl_builds_names_its_driver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # task-manager (round 50): `MultiHostUrl.build(scheme="postgresql+asyncpg", ...)` from pydantic_core, which
    # pydantic 2's MultiHostUrl wraps: the URL was wholly unknown, its driver lost
    files = {
        "app/db.py": """
            import os

            from pydantic_core import MultiHostUrl
            from sqlalchemy.ext.asyncio import create_async_engine

            url = MultiHostUrl.build(scheme="postgresql+asyncpg", username="app", host="db", port=5432, path="app")
            other = MultiHostUrl.build(scheme="postgresql+asyncpg", username="app", host=os.getenv("DB_HOST", ""))
            engine = create_async_engine(str(url))
            unknown_host = create_async_engine(str(other))
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    found = sorted((p.line, p.settings["url"].value, url_driver(p)) for p in report.pools)
    assert found == [(8, "postgresql+asyncpg://app@db:5432/app", "asyncpg"), (9, None, "asyncpg")]


def test_a_programs_main_its_own_module_runs_makes_its_pool_inside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pyvac, pyshop (round 50): `def main(argv=sys.argv): ... engine = create_engine("pyvac", settings)`, run by
    # `if __name__ == "__main__": main()`: the pool sat at the `main()` line, not at the call making it
    files = {
        "app/sqla.py": """
            from sqlalchemy import engine_from_config


            def create_engine(name, settings, prefix="sqlalchemy."):
                return engine_from_config(settings, prefix, pool_recycle=300)
        """,
        "app/bin/add.py": """
            import sys

            from pyramid.paster import get_appsettings

            from app.sqla import create_engine


            def main(argv=sys.argv):
                settings = get_appsettings(argv[1])
                engine = create_engine("app", settings)


            if __name__ == "__main__":
                main()
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [(p.where, p.settings["pool_recycle"].value) for p in report.pools] == [("app/bin/add.py:10", 300)]


def test_a_mixins_databases_reaches_a_composed_configuration_through_other_mixins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ResonantGeoData (round 50): DATABASES in a django-composed-configuration ConfigMixin, which another mixin
    # takes in, and the project's configuration (a ComposedConfiguration, so a django-configurations one) takes
    # that: the alias was missed
    files = {
        "rgd/configuration.py": """
            from composed_configuration import ConfigMixin
            from configurations import values


            class RgdMixin(ConfigMixin):
                DATABASES = values.DatabaseURLValue(
                    environ_name="DATABASE_URL",
                    environ_prefix="DJANGO",
                    environ_required=True,
                    engine="django.contrib.gis.db.backends.postgis",
                    conn_max_age=600,
                )
        """,
        "example/settings.py": """
            from composed_configuration import ConfigMixin, DevelopmentBaseConfiguration

            from rgd.configuration import RgdMixin


            class ExampleMixin(RgdMixin, ConfigMixin):
                WSGI_APPLICATION = "example.wsgi.application"


            class DevelopmentConfiguration(ExampleMixin, DevelopmentBaseConfiguration):
                pass
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    [pool] = report.pools
    assert (pool.where, pool.settings["CONN_MAX_AGE"].value) == ("rgd/configuration.py:6", 600)
    assert pool.settings["ENGINE"].value == "django.contrib.gis.db.backends.postgis"


def test_a_helper_binding_the_extension_and_handing_the_app_back_binds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # AUCR (round 50): `app = init_app(app)`, the helper running `db.init_app(app)` and returning the app: the
    # engine was missed (`init_app(app)` alone was read)
    files = {
        "config.py": """
            import os


            class Config:
                SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", "postgresql://localhost/aucr")
        """,
        "app/__init__.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            from config import Config

            db = SQLAlchemy()


            def create_app(config_class=Config):
                app = Flask(__name__)
                app.config.from_object(config_class)
                return app


            def init_app(app):
                db.init_app(app)
                return app


            def make_app():
                app = create_app()
                app = init_app(app)
                return app
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    [pool] = report.pools
    url = pool.settings["url"]
    assert (url.value, url.env) == ("postgresql://localhost/aucr", "DATABASE_URL")


def test_a_programs_main_given_arguments_makes_its_pool_where_it_is_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the review of the change above: `main(pool_size=30)` under `if __name__ == "__main__":` gives the values
    files = {
        "run.py": """
            from sqlalchemy import create_engine


            def main(url="postgresql://db/app", pool_size=5):
                engine = create_engine(url, pool_size=pool_size)


            if __name__ == "__main__":
                main(pool_size=30)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [(p.where, p.settings["pool_size"].value) for p in report.pools] == [("run.py:9", 30)]


def test_a_star_import_that_lacks_the_name_leaves_what_the_function_sets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the review of the change above: `from app.constants import *`, which has no POOL_SIZE, hid set_globals()'s
    files = {
        "app/constants.py": "APP_NAME = 'app'\n",
        "app/config.py": """
            from sqlalchemy import create_engine

            from app.constants import *


            def set_globals():
                global POOL_SIZE
                POOL_SIZE = 25


            def make():
                return create_engine("postgresql://db/app", pool_size=POOL_SIZE)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    [pool] = report.pools
    assert pool.settings["pool_size"].value == 25


@pytest.mark.parametrize(
    ("extra", "opens"),
    [
        ("", "global _opened\n        _opened += 1\n        "),
        ("def __new__(cls, *args):\n        made.append(cls)\n        return super().__new__(cls)\n\n    ", ""),
    ],
)
def test_an_unrelated_global_or_a_registering_new_keeps_one_pool_per_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: str, opens: str
) -> None:
    # the review of the change above: a counter kept through `global`, a `__new__` that hands back a new
    # instance each time: each instance still keeps a pool of its own
    db = f"""
import asyncpg

_opened = 0
made = []


class Database:
    {extra}def __init__(self, dsn, size):
        self._dsn, self._size, self._pool = dsn, size, None

    async def connect(self):
        {opens}if self._pool is None:
            self._pool = await asyncpg.create_pool(dsn=self._dsn, max_size=self._size)
        return self._pool
"""
    files = {
        "app/db.py": db,
        "app/main.py": """
            from app.db import Database


            async def main():
                await Database("postgresql://db/main", 50).connect()
                await Database("postgresql://db/stats", 5).connect()
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert sorted((p.where, p.settings["max_size"].value) for p in report.pools) == [
        ("app/main.py:5", 50),
        ("app/main.py:6", 5),
    ]


def test_a_text_method_test_keeps_each_url_on_its_own_side(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Heroku's `if url.startswith("postgres://"): url = url.replace(...)` after an if/elif picking the URL: the
    # Heroku text also sat on the side where it does not start so (an impossible branch, `postgres://` kept)
    files = {
        "app/db.py": """
            from sqlalchemy import create_engine


            def make(kind):
                if kind == "heroku":
                    url = "postgres://u@heroku/db"
                else:
                    url = "postgresql+psycopg://u@db/app"
                if url.startswith("postgres://"):
                    url = url.replace("postgres://", "postgresql://", 1)
                return create_engine(url)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    [pool] = report.pools
    assert sorted(b.value for b in pool.settings["url"].branches) == [
        "postgresql+psycopg://u@db/app",
        "postgresql://u@heroku/db",
    ]


def test_a_name_each_side_of_an_if_imports_from_its_own_module_is_that_modules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # jobseek (round 51): `from pkg.salary import run_from_args` under `if`, `from pkg.occupation import
    # run_from_args` under `elif`, each called there: both calls were read as the first import (wrong values)
    files = {
        "pkg/__init__.py": "",
        "pkg/salary.py": """
            import asyncpg


            async def run_from_args(args):
                return await asyncpg.create_pool("postgresql://u@h/salary", max_size=4)
        """,
        "pkg/occupation.py": """
            import asyncpg


            async def run_from_args(args):
                return await asyncpg.create_pool("postgresql://u@h/occupation", max_size=9)
        """,
        "pkg/cli.py": """
            async def dispatch(args):
                if args.command == "salary":
                    from pkg.salary import run_from_args

                    await run_from_args(args)
                elif args.command == "occupation":
                    from pkg.occupation import run_from_args

                    await run_from_args(args)
                    await run_from_args(args)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    found = sorted((p.where, p.settings["dsn"].value, p.settings["max_size"].value) for p in report.pools)
    assert found == [
        ("pkg/cli.py:10", "postgresql://u@h/occupation", 9),
        ("pkg/cli.py:9", "postgresql://u@h/occupation", 9),
        ("pkg/salary.py:5", "postgresql://u@h/salary", 4),
    ]


def test_the_third_reviews_cases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a star-imported name its source sets through `global` is not what an uncalled test helper sets; a singleton
    # keeping its instance in a dict of the class is one pool; a name an enclosing function imports is that
    # import; a module __getattr__ giving a partly known URL keeps its driver
    files = {
        "app/__init__.py": "",
        "app/base.py": """
            import os


            def _load():
                global DATABASE_URL
                DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql+asyncpg://u@db/app")


            _load()
        """,
        "app/settings.py": """
            from app.base import *


            def use_test_db():
                global DATABASE_URL
                DATABASE_URL = "sqlite+aiosqlite:///test.db"
        """,
        "app/db.py": """
            from sqlalchemy.ext.asyncio import create_async_engine

            from app.settings import DATABASE_URL

            engine = create_async_engine(DATABASE_URL, pool_size=20)
        """,
        "app/single.py": """
            import asyncpg


            class Database:
                _instances = {}

                def __new__(cls, *args):
                    if cls not in cls._instances:
                        cls._instances[cls] = super().__new__(cls)
                    return cls._instances[cls]

                def __init__(self, dsn):
                    self._dsn, self._pool = dsn, None

                async def connect(self):
                    if self._pool is None:
                        self._pool = await asyncpg.create_pool(dsn=self._dsn, max_size=10)
                    return self._pool


            async def main():
                await Database("postgresql://a@main/x").connect()
                await Database("postgresql://b@stats/y").connect()
        """,
        "app/config.py": """
            from pathlib import Path


            def __getattr__(name):
                if name == "SECRET_URL":
                    return f"postgresql+asyncpg://app:{Path('/run/secrets/db').read_text()}@db/app"
                raise AttributeError(name)
        """,
        "app/secret.py": """
            from sqlalchemy.ext.asyncio import create_async_engine

            from app import config

            engine = create_async_engine(config.SECRET_URL)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    url = at(report, "app/db.py:5").settings["url"]
    assert url.value != "sqlite+aiosqlite:///test.db"
    assert [p.where for p in report.pools if p.file == "app/single.py"] == ["app/single.py:17"]
    assert at(report, "app/secret.py:5").driver == "asyncpg"


def test_a_scheme_a_settings_field_gives_an_f_string_url_names_its_driver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # backend-template (round 52): `f"{self.driver}://{self.user}:{self.password}@..."`, the driver a field's
    # default `postgresql+asyncpg`, the password required: the URL is unknown and its driver was lost
    files = {
        "app/settings.py": """
            from pydantic_settings import BaseSettings


            class DatabaseSettings(BaseSettings):
                driver: str = "postgresql+asyncpg"
                user: str
                host: str = "db"

                @property
                def url(self) -> str:
                    return f"{self.driver}://{self.user}@{self.host}/app"
        """,
        "app/db.py": """
            from sqlalchemy.ext.asyncio import create_async_engine

            from app.settings import DatabaseSettings

            engine = create_async_engine(DatabaseSettings().url)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    [pool] = report.pools
    assert (pool.settings["url"].known, url_driver(pool)) == (False, "asyncpg")


@pytest.mark.parametrize(
    ("pins", "ping"),
    [
        ({"Pipfile": '[packages]\nFlask-SQLAlchemy = "==2.4.0"\n'}, True),
        ({"requirements.txt": "flask-sqlalchemy==3.1.1\n"}, None),
    ],
)
def test_a_pinned_flask_sqlalchemy_release_decides_what_its_hooks_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pins: dict[str, str], ping: bool | None
) -> None:
    # python-skeleton (round 52): a subclass's `apply_pool_defaults` setting pool_pre_ping, Flask-SQLAlchemy 2.4.0
    # pinned in the Pipfile: 2.x's side alone holds (both sides were judged: a false no-liveness-check)
    files = {
        **pins,
        "app/__init__.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy as _Base


            class SQLAlchemy(_Base):
                def apply_pool_defaults(self, app, options):
                    super().apply_pool_defaults(app, options)
                    options["pool_pre_ping"] = True


            app = Flask(__name__)
            app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://db/app"
            db = SQLAlchemy()
            db.init_app(app)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    [pool] = report.pools
    found = pool.settings.get("pool_pre_ping")
    assert (found.value, found.branches) == (True, ()) if ping else found is None, found
