"""`scan_path` following values the way real projects spread them (issue 29), continued from
test_scan_follow_round10.py. Each project is a few small files written here (never a copy of a real one); line
numbers in the assertions are the fixtures' own."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_scan import at, scan


def test_a_factory_with_no_parameters_is_a_pool_at_each_of_its_callers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # fmtm, drone-tm: `def get_db_connection_pool(): return AsyncConnectionPool(conninfo=URL, ...)` keeps nothing,
    # so the API's lifespan and each background task open a pool of their own. A factory one place calls stays
    # at its own line; one that keeps what it makes (a global under a test, lru_cache) is one pool.
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/database.py": """
            import functools
            import os

            from psycopg_pool import AsyncConnectionPool
            from sqlalchemy import create_engine

            URL = os.getenv("DB_URL", "postgresql://app@db/app")


            def get_db_connection_pool():
                return AsyncConnectionPool(conninfo=URL, open=False, max_size=10)


            @functools.lru_cache
            def get_engine():
                return create_engine(URL, pool_size=3)


            _reporting = None


            def reporting_engine():
                global _reporting
                if _reporting is None:
                    _reporting = create_engine(URL, pool_size=4)
                return _reporting


            def admin_engine():
                return create_engine(URL, pool_size=5)
            """,
            "app/main.py": """
            from app.database import admin_engine, get_db_connection_pool, get_engine, reporting_engine


            async def lifespan(app):
                pool = get_db_connection_pool()
                engine = get_engine()
                reports = reporting_engine()
                admin = admin_engine()
                yield
            """,
            "app/tasks.py": """
            from app import database


            async def update_task(task_id):
                pool = database.get_db_connection_pool()
                engine = database.get_engine()
                reports = database.reporting_engine()
            """,
            "tests/test_tasks.py": """
            from app.database import get_db_connection_pool


            def test_pool():
                pool = get_db_connection_pool()
            """,
        },
        monkeypatch,
    )
    assert not [p for p in report.pools if p.file.startswith("tests/")]  # the app's pool made again by a test
    for where in ("app/main.py:5", "app/tasks.py:5"):
        pool = at(report, where)
        assert pool.via == ["app/database.py:11"]
        assert pool.settings["max_size"].value == 10
        assert pool.settings["conninfo"].env == "DB_URL"
    assert not [p for p in report.pools if p.where == "app/database.py:11"]
    assert at(report, "app/database.py:16").settings["pool_size"].value == 3  # lru_cache: one engine
    assert at(report, "app/database.py:25").settings["pool_size"].value == 4  # kept in a global
    assert at(report, "app/database.py:30").settings["pool_size"].value == 5  # one caller: at its own line
    assert not [p for p in report.pools if p.file == "app/main.py" and p.line != 5]
    assert not [p for p in report.pools if p.file == "app/tasks.py" and p.line != 5]


def test_a_dict_returned_from_before_the_pool_is_made_keeps_one_pool_per_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # CKAN's datastore: `engine = _engines.get(url); if engine: return engine`, then the pool call and
    # `_engines[url] = engine`. Every caller asking for the read URL shares one engine, and those asking for the
    # write URL another, even where the URL is read at run time (the same read is the same key).
    report = scan(
        tmp_path,
        {
            "store/__init__.py": "",
            "store/backend.py": """
            import os

            import sqlalchemy as sa

            _engines = {}
            config = dict(os.environ)


            def _engine_from_url(url, **kwargs):
                engine = _engines.get(url)
                if engine:
                    return engine
                engine = sa.create_engine(url, pool_pre_ping=True, **kwargs)
                _engines[url] = engine
                return engine


            def _keyed(url):
                if url in _engines:
                    return _engines[url]
                _engines[url] = sa.create_engine(url, pool_size=2)
                return _engines[url]


            def get_read_engine():
                return _engine_from_url(config["READ_URL"], isolation_level="READ_UNCOMMITTED")


            def get_write_engine():
                return _engine_from_url(config["WRITE_URL"])
            """,
            "store/api.py": """
            from store.backend import _keyed, get_read_engine, get_write_engine


            def search():
                return get_read_engine()


            def create():
                return get_write_engine()


            def delete():
                return get_write_engine()


            def upsert():
                get_read_engine()
                return get_write_engine()


            def reports():
                return _keyed("postgresql://app@db/reports"), _keyed("postgresql://app@db/reports")
            """,
        },
        monkeypatch,
    )
    read = [p for p in report.pools if p.settings.get("isolation_level")]
    write = [p for p in report.pools if p.via and "isolation_level" not in p.settings and "pool_size" not in p.settings]
    assert [p.where for p in read] == ["store/api.py:5"]
    assert [p.where for p in write] == ["store/api.py:9"]
    keyed = [p for p in report.pools if "pool_size" in p.settings]
    assert [p.where for p in keyed] == ["store/api.py:22"]
    assert len(report.pools) == 3


def test_a_settings_class_keyword_is_its_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # aiogram_bot_template: `class SQLAlchemyConfig(EnvSettings, env_prefix="ALCHEMY_")`; pydantic takes class
    # keywords over model_config, so the variables are ALCHEMY_POOL_SIZE and POSTGRES_USER, not POOL_SIZE and USER.
    report = scan(
        tmp_path,
        {
            "bot/__init__.py": "",
            "bot/config.py": """
            from pydantic_settings import BaseSettings, SettingsConfigDict


            class EnvSettings(BaseSettings):
                model_config = SettingsConfigDict(extra="ignore", env_prefix="APP_")


            class SQLAlchemyConfig(EnvSettings, env_prefix="ALCHEMY_"):
                pool_size: int = 25


            class PostgresConfig(EnvSettings, env_prefix="POSTGRES_"):
                user: str = "bot"


            class Plain(EnvSettings):
                pool_recycle: int = 600
            """,
            "bot/db.py": """
            from sqlalchemy import create_engine

            from bot.config import Plain, PostgresConfig, SQLAlchemyConfig

            engine = create_engine(
                f"postgresql://{PostgresConfig().user}@db/bot",
                pool_size=SQLAlchemyConfig().pool_size,
                pool_recycle=Plain().pool_recycle,
            )
            """,
        },
        monkeypatch,
    )
    settings = at(report, "bot/db.py:5").settings
    assert (settings["pool_size"].value, settings["pool_size"].env) == (25, "ALCHEMY_POOL_SIZE")
    assert (settings["url"].value, settings["url"].env) == ("postgresql://bot@db/bot", "POSTGRES_USER")
    assert (settings["pool_recycle"].value, settings["pool_recycle"].env) == (600, "APP_POOL_RECYCLE")


def test_django_environ_prefix_names_the_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # opencve: `env = environ.Env(); env.prefix = "OPENCVE_"`; django-environ 0.11 reads f"{prefix}{var}", so the
    # database URL is OPENCVE_DATABASE_URL (DATABASE_URL changes nothing), and the scheme is keyed so too.
    report = scan(
        tmp_path,
        {
            "web/settings.py": """
            import environ

            env = environ.Env(OPENCVE_CONN_AGE=(int, 60))
            env.prefix = "OPENCVE_"

            DATABASES = {
                "default": env.db("DATABASE_URL", default="postgresql://cve@db:5432/opencve"),
            }
            DATABASES["default"]["CONN_MAX_AGE"] = env("CONN_AGE")
            """,
        },
        monkeypatch,
    )
    settings = report.pools[0].settings
    assert (settings["HOST"].value, settings["HOST"].env) == ("db", "OPENCVE_DATABASE_URL")
    assert (settings["CONN_MAX_AGE"].value, settings["CONN_MAX_AGE"].env) == (60, "OPENCVE_CONN_AGE")


def test_pydantic_v1_config_fields_name_the_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # takahe (pydantic 1.10): `class Config: env_prefix = "PROJ_"; fields = {"PGHOST": {"env": "PGHOST"}}` reads
    # PGHOST itself, without the prefix; a field Config.fields does not name keeps the prefix.
    report = scan(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/settings.py": """
            from pydantic import BaseSettings


            class Settings(BaseSettings):
                PGHOST: str = "db"
                PGNAME: str = "proj"

                class Config:
                    env_prefix = "PROJ_"
                    fields = {"PGHOST": {"env": "PGHOST"}, "OTHER": "ALIAS"}


            SETUP = Settings()
            DATABASES = {
                "default": {
                    "ENGINE": "django.db.backends.postgresql",
                    "HOST": SETUP.PGHOST,
                    "NAME": SETUP.PGNAME,
                }
            }
            """,
        },
        monkeypatch,
    )
    settings = report.pools[0].settings
    assert (settings["HOST"].value, settings["HOST"].env) == ("db", "PGHOST")
    assert (settings["NAME"].value, settings["NAME"].env) == ("proj", "PROJ_PGNAME")


def test_settings_env_files_named_by_paths_are_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # MasterApi: `env_file=[root_path / ".env.template", root_path / ".env"]`, root_path built from __file__ in
    # another module; the committed template gives the URL (a later file would win). pydantic's
    # `Url.encoded_string()` of an ASCII URL is its text.
    report = scan(
        tmp_path,
        {
            ".env.template": "API__DATABASE__DB_URL=postgresql+asyncpg://api@db:5432/api\n",
            "src/shared/__init__.py": "",
            "src/shared/paths.py": """
            from pathlib import Path

            root_path = Path(__file__).parents[1].parent
            """,
            "src/settings.py": """
            from typing import Optional

            from pydantic import BaseModel, Field, PostgresDsn
            from pydantic_settings import BaseSettings, SettingsConfigDict

            from shared.paths import root_path


            class DatabaseSettings(BaseModel):
                db_url: Optional[PostgresDsn] = Field(default=None)


            class ApiSettings(BaseSettings):
                model_config = SettingsConfigDict(
                    env_prefix="API__",
                    env_nested_delimiter="__",
                    env_file=[root_path / ".env.template", root_path / ".env"],
                )
                database: DatabaseSettings = Field(default_factory=DatabaseSettings)


            settings = ApiSettings()
            """,
            "src/db.py": """
            from sqlalchemy.ext.asyncio import create_async_engine

            from settings import settings

            engine = create_async_engine(settings.database.db_url.encoded_string(), pool_size=15)
            """,
        },
        monkeypatch,
    )
    url = at(report, "src/db.py:5").settings["url"]
    assert (url.value, url.env, url.from_) == (
        "postgresql+asyncpg://api@db:5432/api",
        "API__DATABASE__DB_URL",
        ".env.template:1",
    )


def test_load_dotenv_of_a_named_file_sets_its_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # topix, RuoYi: `load_dotenv(Path(__file__).parent / ".env.dev")` at import puts the file's variables in the
    # environment for every later read (pydantic-settings' too); the first load wins unless override=True.
    report = scan(
        tmp_path,
        {
            "app/.env.dev": "DB_POOL_SIZE=50\nDB_RECYCLE=900\n",
            "app/.env.local": "DB_RECYCLE=300\nDB_TIMEOUT=7\n",
            "app/settings.py": """
            import os
            from pathlib import Path

            from dotenv import load_dotenv
            from pydantic_settings import BaseSettings

            load_dotenv(Path(__file__).parent / ".env.dev")
            load_dotenv(Path(__file__).parent / ".env.local")
            load_dotenv("missing.env", override=True)


            class S(BaseSettings):
                db_pool_size: int = 20


            s = S()
            RECYCLE = int(os.getenv("DB_RECYCLE", "1800"))
            TIMEOUT = int(os.environ.get("DB_TIMEOUT", "30"))
            """,
            "app/db.py": """
            from sqlalchemy import create_engine

            from settings import RECYCLE, TIMEOUT, s

            engine = create_engine("postgresql://app@db/app", pool_size=s.db_pool_size, pool_recycle=RECYCLE,
                                   pool_timeout=TIMEOUT)
            """,
        },
        monkeypatch,
    )
    settings = at(report, "app/db.py:5").settings
    assert (settings["pool_size"].value, settings["pool_size"].from_) == (50, "app/.env.dev:1")
    assert (settings["pool_recycle"].value, settings["pool_recycle"].from_) == (900, "app/.env.dev:2")
    assert (settings["pool_timeout"].value, settings["pool_timeout"].env) == (7, "DB_TIMEOUT")


def test_a_projects_own_flask_extension_makes_no_flask_sqlalchemy_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # tahrir: its own DatabaseExtension calls `self.init_app(app)` and there makes `create_engine(app.config[...])`
    # after `app.config.setdefault(KEY, "sqlite:///:memory:")`. No Flask-SQLAlchemy: one pool, the create_engine;
    # and the setdefault's default is not the value where the app's config module sets that key: that module's is.
    report = scan(
        tmp_path,
        {
            "badges/__init__.py": "",
            "badges/defaults.py": """
            SQLALCHEMY_DATABASE_URI = "postgresql://badges@db/badges"
            """,
            "badges/database.py": """
            from sqlalchemy import create_engine


            class DatabaseExtension:
                def __init__(self, app=None):
                    if app is not None:
                        self.init_app(app)

                def init_app(self, app):
                    app.config.setdefault("SQLALCHEMY_DATABASE_URI", "sqlite:///:memory:")
                    app.config.setdefault("BADGES_POOL_SIZE", 7)
                    engine = create_engine(
                        app.config["SQLALCHEMY_DATABASE_URI"], pool_size=app.config["BADGES_POOL_SIZE"]
                    )


            db = DatabaseExtension()
            """,
            "badges/app.py": """
            from flask import Flask

            from .database import db


            def create_app():
                app = Flask(__name__)
                app.config.from_object("badges.defaults")
                db.init_app(app)
                return app
            """,
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["badges/app.py:9"]
    settings = report.pools[0].settings
    assert (settings["url"].value, settings["url"].from_) == ("postgresql://badges@db/badges", "badges/defaults.py:1")
    assert settings["pool_size"].value == 7  # no config of the app's sets it


def test_an_empty_default_of_a_url_field_is_no_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # chat_template: `dsn: PostgresDsn = ""` in a BaseSettings; pydantic-settings validates defaults, so with the
    # variable unset the settings do not load: the URL is the variable's, never "" (alembic's str() of it neither).
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/config.py": """
            from pydantic.networks import PostgresDsn
            from pydantic_settings import BaseSettings, SettingsConfigDict


            class DBSettings(BaseSettings):
                pool_size: int = 5
                dsn: PostgresDsn = ""  # type: ignore[assignment]
                name: str | PostgresDsn = ""  # a str takes ""
                model_config = SettingsConfigDict(env_prefix="databases_")


            database = DBSettings()
            """,
            "app/db.py": """
            from sqlalchemy import create_engine

            from app.config import database

            engine = create_engine(
                str(database.dsn), pool_size=database.pool_size, connect_args={"application_name": database.name}
            )
            """,
            "alembic.ini": "[alembic]\nscript_location = %(here)s/alembic\n",
            "alembic/env.py": """
            from alembic import context
            from sqlalchemy import engine_from_config, pool

            from app.config import database

            config = context.config
            config.set_main_option("sqlalchemy.url", str(database.dsn))


            def run_migrations_online():
                return engine_from_config(config.get_section(config.config_ini_section), poolclass=pool.NullPool)
            """,
        },
        monkeypatch,
    )
    for where in ("app/db.py:5", "alembic/env.py:11"):
        url = at(report, where).settings["url"]
        assert (url.known, url.env) == (False, "DATABASES_DSN")
    assert at(report, "app/db.py:5").settings["connect_args.application_name"].value == ""


def test_a_wrapper_run_through_async_to_sync_is_a_call_of_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # notification_service: the API awaits `init_engine(uri)`; each Celery worker runs
    # `async_to_sync(init_engine)(uri)` at process start: a pool there too.
    report = scan(
        tmp_path,
        {
            "src/__init__.py": "",
            "src/db.py": """
            from sqlalchemy.ext.asyncio import create_async_engine

            engine = None


            async def init_engine(uri, size=5):
                global engine
                engine = create_async_engine(uri, pool_size=size)
            """,
            "src/rest.py": """
            from src.db import init_engine


            async def startup():
                await init_engine("postgresql+asyncpg://api@db/app")
            """,
            "src/tasks.py": """
            from asgiref.sync import async_to_sync

            from src.db import init_engine


            def on_start(**kwargs):
                async_to_sync(init_engine)("postgresql+asyncpg://worker@db/app", size=2)
            """,
        },
        monkeypatch,
    )
    assert at(report, "src/rest.py:5").settings["pool_size"].value == 5
    worker = at(report, "src/tasks.py:7").settings
    assert (worker["url"].value, worker["pool_size"].value) == ("postgresql+asyncpg://worker@db/app", 2)


def test_a_getter_keeping_its_engine_is_no_pool_per_caller(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # fides: get_api_session() makes its engine once (`global _engine; if not _engine: _engine = get_db_engine(...)`)
    # and hands it to get_db_session(engine=_engine), whose `engine or get_db_engine(config)` is another pool call.
    # Its thirty callers share the one engine: none of them is a pool.
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/session.py": """
            from sqlalchemy import create_engine
            from sqlalchemy.orm import sessionmaker

            URL = "postgresql://app@db/app"


            def get_db_engine(url=URL, pool_size=5):
                return create_engine(url, pool_size=pool_size)


            def get_db_session(engine=None):
                return sessionmaker(bind=engine or get_db_engine())


            _engine = None


            def get_api_session():
                global _engine
                if not _engine:
                    _engine = get_db_engine(pool_size=50)
                return get_db_session(engine=_engine)()
            """,
            "app/views.py": """
            from app.session import get_api_session


            def one():
                return get_api_session()


            def two():
                return get_api_session()
            """,
        },
        monkeypatch,
    )
    assert not [p for p in report.pools if p.file == "app/views.py"]
    assert at(report, "app/session.py:21").settings["pool_size"].value == 50


def test_a_registry_keeping_engines_by_key_under_a_lock_is_one_pool_per_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # onyx: ShardRegistry.get_engine(name) returns `cls._engines.get(name)` when kept, checks again under a lock,
    # then makes one through `cls._build_engine(spec)` (the pool call is a level down) and keeps it; a reset
    # method sets `cls._engines = {}`, still the class's. Callers asking for the same shard share one engine.
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/registry.py": """
            import threading

            from sqlalchemy import create_engine


            class ShardRegistry:
                _engines: dict = {}
                _lock = threading.Lock()

                @classmethod
                def get_engine(cls, name):
                    engine = cls._engines.get(name)
                    if engine is not None:
                        return engine
                    with cls._lock:
                        engine = cls._engines.get(name)
                        if engine is not None:
                            return engine
                        engine = cls._build_engine(name)
                        cls._engines[name] = engine
                        return engine

                @classmethod
                def _build_engine(cls, name):
                    return create_engine(f"postgresql://app@{name}/app", pool_size=4)

                @classmethod
                def reset(cls):
                    cls._engines = {}


            def catalog_engine():
                return ShardRegistry.get_engine("catalog")
            """,
            "app/views.py": """
            from app.registry import ShardRegistry, catalog_engine


            def one():
                return catalog_engine()


            def two():
                return catalog_engine()


            def three():
                return ShardRegistry.get_engine("east")
            """,
        },
        monkeypatch,
    )
    urls = sorted(p.settings["url"].value for p in report.pools)
    assert urls == ["postgresql://app@catalog/app", "postgresql://app@east/app"]


def test_a_pool_kept_on_an_object_after_an_early_return_is_made_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # RuoYi: `if runtime.async_engine is not None: return`, then `runtime.async_engine = make_engine(...)`, the
    # runtime one per data source the registry keeps; its three callers share the engine: one pool, not three.
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/database.py": """
            from sqlalchemy.ext.asyncio import create_async_engine


            def make_engine(host):
                return create_async_engine(f"postgresql+asyncpg://app@{host}/app", pool_size=20)


            class Runtime:
                def __init__(self, host):
                    self.host = host
                    self.async_engine = None


            class Registry:
                def __init__(self):
                    self._runtimes = {}

                def _runtime(self, name):
                    return self._runtimes.setdefault(name, Runtime("db"))

                @staticmethod
                def _ensure(runtime):
                    if runtime.async_engine is not None:
                        return
                    runtime.async_engine = make_engine(runtime.host)

                def connection(self, name="primary"):
                    runtime = self._runtime(name)
                    self._ensure(runtime)
                    return runtime.async_engine

                def health(self, name="primary"):
                    runtime = self._runtime(name)
                    self._ensure(runtime)


            registry = Registry()
            """,
            "app/ai.py": """
            from app.database import registry


            def engine():
                return registry.connection()
            """,
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["app/database.py:25"]
    assert report.pools[0].settings["pool_size"].value == 20


def test_a_fixed_factorys_callers_are_not_factories_and_tests_reaching_it_add_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # mathesar: get_dummy_engine() (no parameters) is called by sql_function() and by convert(); sql_function() is
    # called from many places, but it is no factory of its own: one pool at each of its two calls. Polar: a test
    # calling the script's run(session=...) that reaches the app's fixed helper makes no pool of the app's again.
    report = scan(
        tmp_path,
        {
            "db/__init__.py": "",
            "db/engine.py": """
            from sqlalchemy import create_engine


            def get_dummy_engine():
                return create_engine("postgresql://", future=True)
            """,
            "db/functions.py": """
            from db.engine import get_dummy_engine


            def sql_function(name):
                engine = get_dummy_engine()
                return engine.dialect, name


            A = sql_function("a")
            B = sql_function("b")
            C = sql_function("c")
            """,
            "db/convert.py": """
            from sqlalchemy import create_engine

            from db.engine import get_dummy_engine


            def convert():
                return get_dummy_engine()


            def batched(session=None):
                if session is None:
                    session = create_engine("postgresql://app@db/app", pool_size=3)
                return session


            def run(session=None):
                return batched(session=session)


            def main():
                run()


            def other():
                run()


            def direct():
                return batched()
            """,
            "tests/test_convert.py": """
            from db.convert import run


            def test_run(session):
                run(session=session)
            """,
        },
        monkeypatch,
    )
    made = sorted(p.where for p in report.pools)  # batched() at main's, other's and direct's calls; not the test's
    assert made == ["db/convert.py:21", "db/convert.py:25", "db/convert.py:29", "db/convert.py:7", "db/functions.py:5"]


@pytest.mark.parametrize(
    "factory",
    [
        # kept on a class attribute, in `x = x or ...`, in a module's dict, after an early return through a local
        "class _State:\n    engine = None\n\n\ndef get_engine():\n    if _State.engine is None:\n"
        "        _State.engine = create_engine(URL, pool_size=7)\n    return _State.engine\n",
        "_engine = None\n\n\ndef get_engine():\n    global _engine\n"
        "    _engine = _engine or create_engine(URL, pool_size=7)\n    return _engine\n",
        "_cache = {}\n\n\ndef get_engine():\n    if not _cache:\n"
        "        _cache['engine'] = create_engine(URL, pool_size=7)\n    return _cache['engine']\n",
        "_engine = None\n\n\ndef get_engine():\n    global _engine\n    if _engine is not None:\n"
        "        return _engine\n    engine = create_engine(URL, pool_size=7)\n    _engine = engine\n    return engine\n",
    ],
    ids=["class-attribute", "or", "dict", "early-return"],
)
def test_a_factory_that_keeps_its_engine_any_way_is_one_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, factory: str
) -> None:
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/db.py": 'from sqlalchemy import create_engine\n\nURL = "postgresql://u@h/db"\n' + factory,
            "app/a.py": "from app.db import get_engine\n\n\ndef one():\n    return get_engine()\n\n\n"
            "def two():\n    return get_engine()\n",
        },
        monkeypatch,
    )
    assert [p.file for p in report.pools] == ["app/db.py"]


def test_keys_read_at_run_time_stay_apart_where_their_text_or_variable_differs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `config[role]` is a key per role, not one key; two variables unset alike are two keys; a dataclass's dict is
    # each instance's own.
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/db.py": """
            import os
            from dataclasses import dataclass, field

            from sqlalchemy import create_engine

            config = dict(os.environ)
            _engines = {}


            def get_engine(url, size):
                if url not in _engines:
                    _engines[url] = create_engine(url, pool_size=size)
                return _engines[url]


            def engine_for(role, size):
                return get_engine(config[role], size)


            @dataclass
            class Registry:
                _engines: dict = field(default_factory=dict)

                def get(self, url, size):
                    if url not in self._engines:
                        self._engines[url] = create_engine(url, max_overflow=size)
                    return self._engines[url]


            read = engine_for("read_url", 5)
            write = engine_for("write_url", 10)
            a = get_engine(os.environ.get("A_URL"), 3)
            b = get_engine(os.environ.get("B_URL"), 4)
            first = Registry().get("postgresql://u@h/db", 1)
            second = Registry().get("postgresql://u@h/db", 2)
            """,
        },
        monkeypatch,
    )
    sizes = sorted(p.settings["pool_size"].value for p in report.pools if "pool_size" in p.settings)
    assert sizes == [3, 4, 5, 10]
    assert sorted(p.settings["max_overflow"].value for p in report.pools if "max_overflow" in p.settings) == [1, 2]


def test_an_environ_prefix_and_a_dotenv_load_apply_where_they_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `env.prefix = "PLUGIN_"` changes the reads after it, not those before; a script's load_dotenv("seed.env") is
    # its own program's environment, not the app's.
    report = scan(
        tmp_path,
        {
            "proj/settings.py": """
            import environ

            env = environ.Env()
            DATABASES = {"default": env.db("DATABASE_URL", default="postgresql://u@realdb/main")}
            env.prefix = "PLUGIN_"
            PLUGIN = env("NAME", default="x")
            """,
            "seed.env": "POOL_SIZE=1\n",
            "app/__init__.py": "",
            "app/db.py": """
            import os

            from sqlalchemy import create_engine

            engine = create_engine("postgresql://u@prod/db", pool_size=int(os.getenv("POOL_SIZE", "10")))
            """,
            "scripts/seed.py": """
            from dotenv import load_dotenv

            load_dotenv("seed.env")

            from app.db import engine
            """,
        },
        monkeypatch,
    )
    assert at(report, "proj/settings.py:4").settings["HOST"].env == "DATABASE_URL"
    assert at(report, "app/db.py:5").settings["pool_size"].value == 10


def test_a_fixed_factory_called_many_times_is_one_pool_at_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # listenbrainz: every command of a CLI calls create_app(); a getter the whole app calls. Past ten calls the
    # callers are not read (a scan of a large tree would parse most of it): one pool at the factory's own line.
    files = {
        "app/__init__.py": "",
        "app/db.py": 'from sqlalchemy import create_engine\n\n\ndef get_engine():\n    return create_engine("postgresql://a@db/app")\n',
    }
    for number in range(11):
        files[f"app/command{number}.py"] = "from app.db import get_engine\n\n\ndef run():\n    return get_engine()\n"
    report = scan(tmp_path, files, monkeypatch)
    assert [p.where for p in report.pools] == ["app/db.py:5"]
