"""`scan_path` following values the way real projects spread them (issue 29), continued from
test_scan_follow_round5.py. Each project is a few small files written here (never a copy of a real one); line
numbers in the assertions are the fixtures' own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_scan import at, scan, values, write

import pool_doctor

CHAIN = """
from sqlalchemy import create_engine

def d_engine(url, size):
    return create_engine(url, pool_size=size)

def c_engine(url, size):
    return d_engine(url, size)

def b_engine(url, size):
    return c_engine(url, size)

def a_engine(url, size):
    return b_engine(url, size)

def session_for(tenant):
    return a_engine(f"postgresql://app@db/{tenant}", 7)

engine = a_engine("postgresql://app@db/app", 7)

def list_users(tenant):
    return session_for(tenant)

def list_orders(tenant):
    return session_for(tenant)
"""


def test_wrappers_of_wrappers_are_followed_four_deep_whatever_order_their_names_sort_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Four wrappers deep (their names sorting outermost first): the app's call is the pool. A fifth, taking a
    # tenant (onyx's session getter over a cached engine), is no wrapper: its callers would each be a pool.
    report = scan(tmp_path, {"app/db.py": CHAIN}, monkeypatch)
    assert sorted(p.where for p in report.pools) == ["app/db.py:16", "app/db.py:18"]
    assert values(at(report, "app/db.py:18")) == {"url": "postgresql://app@db/app", "pool_size": 7}
    assert at(report, "app/db.py:18").via == ["app/db.py:13", "app/db.py:10", "app/db.py:7", "app/db.py:4"]
    assert not at(report, "app/db.py:16").settings["url"].known


# cognee's shape: a classmethod's `cls(...)` makes an instance whose __init__ calls a cache factory (a wrapper
# of a wrapper of an adapter class), itself called from a factory in a file read before it.
LADDER = {
    "app/a_factory.py": """
    from app.graph import Graph

    graph = Graph.open("/data/graph")
    """,
    "app/graph.py": """
    from app.z_cache import get_cache

    class Graph:
        def __init__(self, path):
            self.path = path
            self.lock = get_cache(lock_key="lock-" + path)

        @classmethod
        def open(cls, path):
            return cls(path)
    """,
    "app/z_cache.py": """
    from app.z_sql import SqlCache

    def get_cache(lock_key="default"):
        return SqlCache("postgresql://app@db/cache", lock_key=lock_key)
    """,
    "app/z_sql.py": """
    from sqlalchemy.ext.asyncio import create_async_engine

    class SqlCache:
        def __init__(self, url, lock_key):
            self.lock_key = lock_key
            self.engine = create_async_engine(url, pool_recycle=300)
    """,
}


def test_a_chain_of_wrappers_across_modules_read_in_reverse_is_followed_to_the_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each file here names the wrapper of the file after it, so each link takes a round of its own; whether the
    # classmethod was learned in its module's round hung on the order of a set of names.
    report = scan(tmp_path, LADDER, monkeypatch)
    assert sorted(p.where for p in report.pools) == ["app/a_factory.py:3"]
    pool = at(report, "app/a_factory.py:3")
    assert values(pool) == {"url": "postgresql://app@db/cache", "pool_recycle": 300}


# The ladder one rung deeper (a factory function over the classmethod, a maker under the cache getter): past the
# wrapper depth, where the order names were read in decided how far the wrappers went.
DEEPER = {
    **LADDER,
    "app/a_factory.py": """
    from app.graph import Graph

    def make_graph(path):
        return Graph.open(path)

    graph = make_graph("/data/graph")
    """,
    "app/z_cache.py": """
    from app.z_sql import SqlCache

    def make_cache(url, lock_key):
        return SqlCache(url, lock_key=lock_key)

    def get_cache(lock_key="default"):
        return make_cache("postgresql://app@db/cache", lock_key)
    """,
}


def test_the_pools_found_do_not_hang_on_the_hash_seed(tmp_path: Path) -> None:
    # cognee gave 199 pools or 197 depending on PYTHONHASHSEED: sites were read in the order of a set of names.
    write(tmp_path, {**DEEPER, "app/db.py": CHAIN})
    found = set()
    for seed in ("1", "2", "3", "4"):
        out = subprocess.run(
            [sys.executable, "-m", "pool_doctor", "scan", ".", "--format", "json"],
            cwd=tmp_path,
            env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(Path(pool_doctor.__file__).parents[1])},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        found.add(json.dumps(json.loads(out)["pools"], sort_keys=True))
    assert len(found) == 1


def test_a_test_with_an_or_inside_an_and_keeps_its_parentheses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `if LOCK:` then `if CACHING or LOGGING:` was reported as "LOCK and CACHING or LOGGING", which reads otherwise.
    report = scan(
        tmp_path,
        {
            "app/db.py": """
            import os
            from sqlalchemy import create_engine

            def make():
                if os.getenv("LOCK"):
                    if os.getenv("CACHING") or os.getenv("LOGGING"):
                        return create_engine("postgresql://app@db/app")
            """
        },
        monkeypatch,
    )
    assert at(report, "app/db.py:7").condition == 'os.getenv("LOCK") and (os.getenv("CACHING") or os.getenv("LOGGING"))'


def test_a_method_called_under_a_test_of_an_attribute_reads_it_as_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # bunkerweb's shape: the read-only URL defaults to "", the fallback engine is made only by a caller under
    # `if self.replica_url:`; the scan reported a known '' URL for it.
    report = scan(
        tmp_path,
        {
            "app/db.py": """
            from os import getenv
            from sqlalchemy import create_engine

            class Store:
                def __init__(self):
                    self.main_url = getenv("MAIN_URL", "postgresql://app@db/app")
                    self.replica_url = getenv("REPLICA_URL", "")
                    self.options = {"pool_size": 12}
                    self.engine = create_engine(self.main_url, **self.options)

                def reconnect(self, *, replica=False, **extra):
                    self.engine.dispose()
                    self.engine = create_engine(self.replica_url if replica else self.main_url, **self.options | extra)

                def failed(self):
                    if self.replica_url:
                        self.reconnect(replica=True, pool_timeout=2)
            """
        },
        monkeypatch,
    )
    fallback = at(report, "app/db.py:17")
    url = fallback.settings["url"]
    assert (url.known, url.env, url.expr) == (False, "REPLICA_URL", "$REPLICA_URL")
    assert values(fallback) == {"url": None, "pool_size": 12, "pool_timeout": 2}
    assert values(at(report, "app/db.py:9"))["url"] == "postgresql://app@db/app"


def test_settings_made_by_model_validate_from_a_mapping_a_loop_fills(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # fides builds each nested settings object with `Model.model_validate(section)` in a loop that puts it back in
    # the dict it walks: the loop's name was written back over the new item, and model_validate was not read,
    # so every field was unknown (`Field(default=5, ...)`). Checked with pydantic 2.13 / pydantic-settings 2.14:
    # model_validate({}) of a settings class reads its environment; a key of the mapping wins over it.
    report = scan(
        tmp_path,
        {
            "app/config.py": """
            from pydantic import BaseModel, Field
            from pydantic_settings import BaseSettings, SettingsConfigDict

            class DatabaseSettings(BaseSettings):
                pool_size: int = Field(default=5, description="Connections.")
                max_overflow: int = Field(default=10)
                model_config = SettingsConfigDict(env_prefix="APP__DATABASE__")

            class Tuning(BaseModel):
                pool_recycle: int = 300

            class AppConfig(BaseSettings):
                database: DatabaseSettings
                tuning: Tuning

            def build_config(config_dict):
                settings_map = {"database": DatabaseSettings, "tuning": Tuning}
                for key, value in settings_map.items():
                    settings_map[key] = value.model_validate(config_dict.get(key, {}))
                return AppConfig(**settings_map)

            CONFIG = build_config({"database": {"max_overflow": 20}})
            """,
            "app/session.py": """
            from sqlalchemy import create_engine
            from app.config import CONFIG

            engine = create_engine(
                "postgresql://app@db/app",
                pool_size=CONFIG.database.pool_size,
                max_overflow=CONFIG.database.max_overflow,
                pool_recycle=CONFIG.tuning.pool_recycle,
            )
            """,
        },
        monkeypatch,
    )
    pool = at(report, "app/session.py:4")
    assert values(pool) == {"url": "postgresql://app@db/app", "pool_size": 5, "max_overflow": 20, "pool_recycle": 300}
    assert pool.settings["pool_size"].env == "APP__DATABASE__POOL_SIZE"
    assert pool.settings["max_overflow"].from_ == "app/config.py:22"


def test_a_variable_that_replaces_the_whole_url_is_its_origin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # agenta: `os.getenv("URI") or f"...{USER}..."` named USER's variable and line, which set only a part; the one
    # deployments set to replace the URL (URI) appeared nowhere.
    report = scan(
        tmp_path,
        {
            "app/db.py": """
            import os
            from sqlalchemy import create_engine

            USER = os.getenv("PGUSER") or "app"
            URI = os.getenv("DB_URI") or f"postgresql://{USER}@db/app"
            SIZE = os.getenv("POOL_SIZE") and int(os.getenv("POOL_SIZE")) or 5
            engine = create_engine(URI, pool_size=SIZE)
            """
        },
        monkeypatch,
    )
    url = at(report, "app/db.py:7").settings["url"]
    assert (url.value, url.env, url.from_) == ("postgresql://app@db/app", "DB_URI", "app/db.py:5")
    size = at(report, "app/db.py:7").settings["pool_size"]
    assert (size.value, size.env) == (5, "POOL_SIZE")


def test_aliases_whose_entries_name_a_dict_written_above_are_at_their_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # rapidpro: both aliases were reported at line 1, where the shared dict is written; DATABASES was never shown.
    report = scan(
        tmp_path,
        {
            "proj/settings.py": """
            _default = {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": "app",
                "CONN_MAX_AGE": 60,
            }

            DATABASES = {
                "default": _default,
                "readonly": _default.copy(),
            }
            """
        },
        monkeypatch,
    )
    assert sorted((p.where, p.call) for p in report.pools) == [
        ("proj/settings.py:8", "DATABASES['default']"),
        ("proj/settings.py:9", "DATABASES['readonly']"),
    ]
    assert values(at(report, "proj/settings.py:9"))["CONN_MAX_AGE"] == 60


def test_a_config_manager_keeps_its_own_dict_and_loads_it_into_the_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Mailu: `self.config` of a ConfigManager (no Flask app) was read as the app's config, so the template line
    # under `if self.config["DB_FLAVOR"]:` made the URL unknown even with no variable set.
    report = scan(
        tmp_path,
        {
            "app/configuration.py": """
            import os

            DEFAULT_CONFIG = {"DB_FLAVOR": None, "DB_USER": "app", "SQLALCHEMY_DATABASE_URI": "postgresql://app@db/app"}

            class ConfigManager:
                TEMPLATES = {"postgresql": "postgresql://{DB_USER}@db/app"}

                def __init__(self):
                    self.config = dict()

                def init_app(self, app):
                    self.config.update(app.config)
                    self.config.update({key: os.environ.get(key, value) for key, value in DEFAULT_CONFIG.items()})
                    if self.config["DB_FLAVOR"]:
                        template = self.TEMPLATES[self.config["DB_FLAVOR"]]
                        self.config["SQLALCHEMY_DATABASE_URI"] = template.format(**self.config)
                    app.config.update(self.config)
            """,
            "app/models.py": """
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()
            """,
            "app/__init__.py": """
            import flask
            from app import configuration, models

            def create_app():
                app = flask.Flask(__name__)
                configuration.ConfigManager().init_app(app)
                models.db.init_app(app)
                return app
            """,
        },
        monkeypatch,
    )
    url = at(report, "app/__init__.py:7").settings["url"]
    assert (url.value, url.env) == ("postgresql://app@db/app", "SQLALCHEMY_DATABASE_URI")
    assert [(b.known, b.when) for b in url.branches] == [
        (True, 'not (self.config["DB_FLAVOR"])'),
        (False, 'self.config["DB_FLAVOR"]'),
    ]


def test_a_pyramid_app_factory_takes_its_settings_from_the_ini_files_that_start_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # appenlight: `main(global_config, **settings)` with engine_from_config(settings, "sqlalchemy.") had no value
    # at all. PasteDeploy 3.1 hands the factory the app section's options as text, less [DEFAULT]'s and `use`;
    # engine_from_config coerces pool_size and echo.
    report = scan(
        tmp_path,
        {
            "src/myapp/__init__.py": """
            from pyramid.config import Configurator
            from sqlalchemy import engine_from_config

            def main(global_config, **settings):
                config = Configurator(settings=settings)
                config.registry.engine = engine_from_config(settings, "sqlalchemy.")
                return config.make_wsgi_app()
            """,
            "development.ini": """
            [DEFAULT]
            sqlalchemy.pool_recycle = 60

            [app:main]
            use = egg:myapp
            sqlalchemy.url = postgresql://app@localhost/dev
            sqlalchemy.pool_size = 10
            sqlalchemy.echo = true
            """,
            "production.ini": """
            [app:main]
            use = egg:myapp
            sqlalchemy.url = postgresql://app@db/prod
            sqlalchemy.pool_size = 40
            sqlalchemy.echo = false
            sqlalchemy.connect_args = %(here)s/args
            """,
        },
        monkeypatch,
    )
    pool = at(report, "src/myapp/__init__.py:6")
    size = pool.settings["pool_size"]
    assert [(b.value, b.from_, b.when) for b in size.branches] == [
        (10, "development.ini:7", "pserve development.ini ([app:main])"),
        (40, "production.ini:4", "pserve production.ini ([app:main])"),
    ]
    assert [b.value for b in pool.settings["echo"].branches] == [True, False]
    assert [b.value for b in pool.settings["url"].branches] == [
        "postgresql://app@localhost/dev",
        "postgresql://app@db/prod",
    ]
    assert "pool_recycle" not in pool.settings  # a [DEFAULT] option is no app setting
    assert not pool.unresolved


def test_an_attribute_no_one_sets_is_what_the_class_getattr_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # OpenSlides: an Environment class keeps defaults in a dict, overwrites them from os.environ in __init__ and
    # reads them back through __getattr__; every pool setting was unknown.
    report = scan(
        tmp_path,
        {
            "app/env.py": """
            class Environment:
                vars = {"DB_POOL_MIN_SIZE": "4", "DB_POOL_TIMEOUT": "30"}

                def __init__(self, os_env):
                    for key in self.vars.keys():
                        value = os_env.get(key)
                        if value is not None:
                            self.vars[key] = value

                def __getattr__(self, attr):
                    value = self.vars.get(attr)
                    if value is None:
                        raise AttributeError(attr)
                    return value
            """,
            "app/db.py": """
            import os
            from psycopg_pool import ConnectionPool
            from app.env import Environment

            env = Environment(os.environ)
            pool = ConnectionPool(
                "dbname=app", min_size=int(env.DB_POOL_MIN_SIZE), timeout=float(env.DB_POOL_TIMEOUT), open=False
            )
            """,
        },
        monkeypatch,
    )
    pool = at(report, "app/db.py:6")
    assert (values(pool)["min_size"], values(pool)["timeout"]) == (4, 30.0)
    assert (pool.settings["min_size"].env, pool.settings["min_size"].from_) == ("DB_POOL_MIN_SIZE", "app/env.py:2")


def test_a_url_create_engine_cannot_parse_is_no_pools_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Polar: `str(settings.get_read_dsn())` is 'None' where no replica is configured; SQLAlchemy 2.0 refuses it
    # (ArgumentError: Could not parse SQLAlchemy URL), so no app runs with it: unknown, not a known 'None'.
    report = scan(
        tmp_path,
        {
            "app/db.py": """
            import os
            from sqlalchemy import create_engine

            class Settings:
                READ_HOST = os.getenv("READ_HOST")

                def read_dsn(self):
                    if not self.READ_HOST:
                        return None
                    return f"postgresql://app@{self.READ_HOST}/app"

            settings = Settings()
            replica = create_engine(str(settings.read_dsn()))
            fallback = create_engine(os.getenv("FALLBACK_URL", ""))
            """
        },
        monkeypatch,
    )
    replica = at(report, "app/db.py:13").settings["url"]
    assert not replica.known
    assert [(b.known, b.value) for b in replica.branches] == [(False, None), (False, None)]
    fallback = at(report, "app/db.py:14").settings["url"]
    assert (fallback.known, fallback.env, fallback.expr) == (False, "FALLBACK_URL", "$FALLBACK_URL")


def test_a_constant_chosen_by_a_variables_flag_is_that_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # keep: `pool_pre_ping=True if PRE_PING else False`, PRE_PING a Starlette Config bool defaulting to False: the
    # value was a pinned False with no variable, though PRE_PING's variable turns it on.
    report = scan(
        tmp_path,
        {
            "app/db.py": """
            from starlette.config import Config
            from sqlalchemy import create_engine

            config = Config()
            PRE_PING = config("DB_PRE_PING", default=False, cast=bool)
            engine = create_engine("postgresql://app@db/app", pool_pre_ping=True if PRE_PING else False)
            """
        },
        monkeypatch,
    )
    ping = at(report, "app/db.py:6").settings["pool_pre_ping"]
    assert (ping.value, ping.env) == (False, "DB_PRE_PING")
    assert [(b.value, b.env) for b in ping.branches] == [(False, "DB_PRE_PING"), (True, None)]


def test_a_setting_on_the_path_a_variables_test_chose_is_that_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # linkding's shape: `if DB_ENGINE == "postgres": {...postgresql...} else: {...sqlite3...}`: ENGINE was a pinned
    # sqlite3 with no variable, though DB_ENGINE picks the other dict.
    report = scan(
        tmp_path,
        {
            "proj/settings.py": """
            import os

            DB_ENGINE = os.getenv("DB_ENGINE", "sqlite")
            if DB_ENGINE == "postgres":
                default = {"ENGINE": "django.db.backends.postgresql", "NAME": os.getenv("DB_NAME", "app")}
            else:
                default = {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}
            DATABASES = {"default": default}
            """
        },
        monkeypatch,
    )
    pool = at(report, "proj/settings.py:8")
    engine = pool.settings["ENGINE"]
    assert (engine.value, engine.env) == ("django.db.backends.sqlite3", "DB_ENGINE")
    assert [(b.value, b.env) for b in engine.branches] == [
        ("django.db.backends.sqlite3", "DB_ENGINE"),
        ("django.db.backends.postgresql", None),
    ]
    assert [b.env for b in pool.settings["NAME"].branches] == ["DB_ENGINE", "DB_NAME"]


def test_a_value_a_variables_test_chose_is_not_that_variables_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Polar: `ssl = "require" if settings.SSL else None`, then `if ssl is not None: connect_args["ssl"] = ssl`. The
    # None that SSL's test chose is SSL's to change, but SSL's own text never reaches `ssl`: no third, unknown
    # branch "ssl is not None and not SSL" ($SSL).
    report = scan(
        tmp_path,
        {
            "app/db.py": """
            import os
            from sqlalchemy.ext.asyncio import create_async_engine

            SSL = os.getenv("DB_SSL", "") == "on"
            ssl = "require" if SSL else None
            connect_args = {}
            if ssl is not None:
                connect_args["ssl"] = ssl
            engine = create_async_engine("postgresql+asyncpg://app@db/app", connect_args=connect_args)
            """
        },
        monkeypatch,
    )
    ssl = at(report, "app/db.py:9").settings["connect_args.ssl"]
    assert [(b.value, b.known) for b in ssl.branches] == [(None, False), ("require", True)]


def test_a_dataclass_whose_post_init_makes_the_pool_is_a_pool_where_it_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pgmq: fields default to os.getenv(...), __post_init__ opens ConnectionPool(conninfo, **self.kwargs). The pool
    # was reported in the class with the fields' defaults, a known conninfo the app never runs with.
    report = scan(
        tmp_path,
        {
            "qlib/queue.py": """
            import os
            from dataclasses import dataclass, field
            from psycopg_pool import ConnectionPool

            @dataclass
            class Queue:
                host: str = field(default_factory=lambda: os.getenv("PG_HOST", "localhost"))
                kwargs: dict = field(default_factory=dict)

                def __post_init__(self) -> None:
                    self.pool = ConnectionPool(f"host={self.host} dbname=app", open=True, **self.kwargs)
            """,
            "app.py": """
            from qlib.queue import Queue

            queue = Queue(host="db.internal", kwargs={"max_size": 50})
            """,
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["app.py:3"]
    assert values(at(report, "app.py:3")) == {"conninfo": "host=db.internal dbname=app", "open": True, "max_size": 50}


def test_a_factorys_engine_that_takes_none_of_its_parameters_is_still_a_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # listenbrainz: create_app(bypass_pgbouncer) makes the main engine from a constant and the timescale one from the
    # flag; the factory's callers made the main engine vanish (reported neither at the callers nor in the factory).
    report = scan(
        tmp_path,
        {
            "app/web.py": """
            from sqlalchemy import create_engine

            def create_app(bypass_pgbouncer=False):
                main_engine = create_engine("postgresql://lb@db/main", pool_pre_ping=True)
                ts_engine = create_engine("postgresql://ts@db/ts" if bypass_pgbouncer else "postgresql://ts@bouncer/ts")
                return main_engine, ts_engine
            """,
            "run.py": """
            from app.web import create_app

            engines = create_app()
            """,
        },
        monkeypatch,
    )
    assert sorted(p.where for p in report.pools) == ["app/web.py:4", "run.py:3"]
    assert values(at(report, "app/web.py:4"))["url"] == "postgresql://lb@db/main"
    assert values(at(report, "run.py:3"))["url"] == "postgresql://ts@bouncer/ts"


def test_a_factory_whose_app_nothing_binds_makes_no_engine_where_others_are_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # listenbrainz: a docs-only factory makes its app (of a project subclass of Flask), loads a config file with a
    # database URL and binds no extension; the web factory binds it. Only the web app's engine is real.
    report = scan(
        tmp_path,
        {
            "lb/model.py": "from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n",
            "lb/docs_config.py": 'SQLALCHEMY_DATABASE_URI = "postgresql://lb@docs/lb"\n',
            "lb/web.py": """
            import os
            from flask import Flask
            from lb.model import db

            def create_web_app():
                app = Flask(__name__)
                app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("DATABASE_URL", "postgresql://lb@prod/lb")
                db.init_app(app)
                return app

            class CustomFlask(Flask):
                pass

            def create_docs_app():
                app = CustomFlask(__name__)
                app.config.from_object("lb.docs_config")
                return app
            """,
            "lb/server.py": "from lb.web import create_web_app\n\napplication = create_web_app()\n",
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["lb/web.py:8"]
    assert values(at(report, "lb/web.py:8"))["url"] == "postgresql://lb@prod/lb"


def test_a_paste_app_factory_called_by_the_project_too_still_starts_from_its_ini(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Kotti: a testing helper inside the package calls main() too, which made main a wrapper reported at that call
    # only: the `pserve development.ini` start was gone. c2cgeoportal names the factory's first parameter `_`.
    report = scan(
        tmp_path,
        {
            "myadmin/__init__.py": """
            from sqlalchemy import engine_from_config

            def main(_, **settings):
                engine = engine_from_config(settings)
                return engine
            """,
            "myadmin/testing.py": """
            from myadmin import main

            def set_up(**extra):
                return main({}, **{"sqlalchemy.url": "sqlite://"}, **extra)
            """,
            "development.ini": """
            [app:main]
            use = egg:myadmin
            sqlalchemy.url = postgresql://app@db:5432/admin
            sqlalchemy.pool_recycle = 30
            """,
        },
        monkeypatch,
    )
    assert sorted(p.where for p in report.pools) == ["myadmin/__init__.py:4", "myadmin/testing.py:4"]
    assert values(at(report, "myadmin/__init__.py:4")) == {"url": "postgresql://app@db:5432/admin", "pool_recycle": 30}
    assert values(at(report, "myadmin/testing.py:4"))["url"] == "sqlite://"


def test_a_bound_app_whose_config_file_is_written_at_deploy_time_is_an_engine_of_unknown_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # listenbrainz: from_pyfile names a config.py generated at deploy time (not in the repository), then
    # db.init_app(app): the extension makes an engine with that file's URL, which the scan cannot read. It had none.
    report = scan(
        tmp_path,
        {
            "lb/model.py": "from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n",
            "lb/web.py": """
            import os
            from flask import Flask
            from lb.model import db

            def create_app():
                app = Flask(__name__)
                app.config.from_pyfile(os.path.join(os.path.dirname(__file__), "config.py"))
                db.init_app(app)
                return app
            """,
            "lb/server.py": "from lb.web import create_app\n\napplication = create_app()\n",
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["lb/web.py:8"]
    pool = at(report, "lb/web.py:8")
    assert pool.stack == "flask_sqlalchemy" and "url" not in values(pool)
    assert pool.unresolved and "(not read)" in pool.unresolved[0]


def test_a_secret_field_is_its_text_where_the_url_takes_get_secret_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # minimal-fastapi-postgres-template: `password: SecretStr = SecretStr("change-me")` and a computed field
    # URL.create(password=self.database.password.get_secret_value(), ...): the whole URL was unknown.
    report = scan(
        tmp_path,
        {
            "app/config.py": """
            from pydantic import BaseModel, Field, SecretStr, computed_field
            from pydantic_settings import BaseSettings, SettingsConfigDict
            from sqlalchemy.engine.url import URL

            class Database(BaseModel):
                hostname: str = "postgres"
                password: SecretStr = SecretStr("change-me")

            class Settings(BaseSettings):
                database: Database = Field(default_factory=Database)
                model_config = SettingsConfigDict(env_nested_delimiter="__")

                @computed_field
                @property
                def url(self) -> URL:
                    return URL.create(
                        drivername="postgresql+asyncpg",
                        username="app",
                        password=self.database.password.get_secret_value(),
                        host=self.database.hostname,
                    )

            settings = Settings()
            """,
            "app/db.py": """
            from sqlalchemy.ext.asyncio import create_async_engine
            from app.config import settings

            engine = create_async_engine(settings.url)
            """,
        },
        monkeypatch,
    )
    assert values(at(report, "app/db.py:4"))["url"] == "postgresql+asyncpg://app:***@postgres"


def test_a_url_that_is_a_dict_on_one_path_stays_an_unknown_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # meltano: a settings getter returns either the stored value or a dict it fills in a loop; the URL vanished
    # from the pool, replaced by `url: **...` fragments under unresolved.
    report = scan(
        tmp_path,
        {
            "app/db.py": """
            import os
            from sqlalchemy import create_engine

            class SettingsService:
                def __init__(self, store):
                    self.store = store

                def get(self, name):
                    value = self.store.get(name)
                    if self.store.kind(name) == "object":
                        object_value = {}
                        for key, item in os.environ.items():
                            object_value[key] = item
                        if object_value:
                            value = object_value
                    return value

            def make_engine(settings: SettingsService):
                return create_engine(settings.get("database_uri"), pool_size=3)
            """
        },
        monkeypatch,
    )
    pool = at(report, "app/db.py:19")
    assert (pool.settings["url"].known, pool.settings["url"].expr) == (False, 'settings.get("database_uri")')
    assert values(pool)["pool_size"] == 3 and not pool.unresolved


def test_a_factory_handed_one_config_class_or_another_is_one_engine_with_branches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # flask-realworld: `create_app(DevConfig if get_debug_flag() else ProdConfig)`; each class was reported as an
    # engine of its own at its class line, and none at db.init_app.
    report = scan(
        tmp_path,
        {
            "conduit/extensions.py": "from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n",
            "conduit/settings.py": """
            import os

            class ProdConfig:
                SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", "postgresql://localhost/example")

            class DevConfig:
                SQLALCHEMY_DATABASE_URI = "postgresql://localhost/dev"
            """,
            "conduit/app.py": """
            from flask import Flask
            from conduit.extensions import db
            from conduit.settings import ProdConfig

            def create_app(config_object=ProdConfig):
                app = Flask(__name__)
                app.config.from_object(config_object)
                db.init_app(app)
                return app
            """,
            "autoapp.py": """
            from flask.helpers import get_debug_flag
            from conduit.app import create_app
            from conduit.settings import DevConfig, ProdConfig

            app = create_app(DevConfig if get_debug_flag() else ProdConfig)
            """,
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["conduit/app.py:8"]
    url = at(report, "conduit/app.py:8").settings["url"]
    assert [(b.value, b.when) for b in url.branches] == [
        ("postgresql://localhost/dev", "get_debug_flag()"),
        ("postgresql://localhost/example", "not (get_debug_flag())"),
    ]


def test_a_pool_class_handed_through_a_wrapper_comes_from_where_it_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # listenbrainz: init_db_connection(url, poolclass=NullPool) forwards `poolclass=poolclass`; every pool's
    # poolclass came from that forwarding line, not from the caller's QueuePool or the NullPool default.
    report = scan(
        tmp_path,
        {
            "app/db.py": """
            from sqlalchemy import create_engine
            from sqlalchemy.pool import NullPool, QueuePool

            def init_db_connection(url, poolclass=NullPool):
                return create_engine(url, poolclass=poolclass)

            main = init_db_connection("postgresql://app@db/main", poolclass=QueuePool)
            other = init_db_connection("postgresql://app@db/other")
            """
        },
        monkeypatch,
    )
    main, other = at(report, "app/db.py:7"), at(report, "app/db.py:8")
    assert (main.settings["poolclass"].value, main.settings["poolclass"].from_) == (
        "sqlalchemy.pool.QueuePool",
        "app/db.py:7",
    )
    assert (other.settings["poolclass"].value, other.settings["poolclass"].from_) == (
        "sqlalchemy.pool.NullPool",
        "app/db.py:4",
    )


def test_the_same_test_of_a_variable_twice_keeps_the_side_the_first_one_chose(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # listenbrainz's manage.py: `if "TESTS" in os.environ:` picks the connection dict, a second `if` with the same
    # test makes the engine from it; the URL was "one of: not set ..., ..." though only one side reaches the call.
    report = scan(
        tmp_path,
        {
            "manage.py": """
            import os
            from sqlalchemy import create_engine

            def init_db():
                if "TESTS" in os.environ:
                    db_connect = {"URI": "postgresql://app@db/test"}
                else:
                    db_connect = {"NAME": "app"}
                if "TESTS" in os.environ:
                    return create_engine(db_connect["URI"])
            """
        },
        monkeypatch,
    )
    url = at(report, "manage.py:10").settings["url"]
    assert (url.known, url.value, url.branches) == (True, "postgresql://app@db/test", ())


def test_only_what_a_variables_test_changes_is_that_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # pontoon: `if DATABASE_SSLMODE: DATABASES["default"]["OPTIONS"]["sslmode"] = "require"` changes one key of
    # the dict; ENGINE and NAME, the same on both paths, are not DATABASE_SSLMODE's.
    report = scan(
        tmp_path,
        {
            "proj/settings.py": """
            import os

            DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "pontoon", "OPTIONS": {}}}
            DATABASE_SSLMODE = os.environ.get("DATABASE_SSLMODE", "True") != "False"
            if DATABASE_SSLMODE:
                DATABASES["default"]["OPTIONS"]["sslmode"] = "require"
            """
        },
        monkeypatch,
    )
    pool = at(report, "proj/settings.py:3")
    assert (pool.settings["ENGINE"].env, pool.settings["NAME"].env) == (None, None)
    assert (pool.settings["OPTIONS.sslmode"].value, pool.settings["OPTIONS.sslmode"].env) == (
        "require",
        "DATABASE_SSLMODE",
    )
