"""`scan_path` following values the way real projects spread them (issue 29), continued from
test_scan_follow_round20.py (the open cases of held-out rounds 20 to 22, and round 23's shapes). Each project is a
few small files written here (never a copy of a real one); line numbers in the assertions are the fixtures' own."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_scan import at, scan

CHAINED_CONFIG = """
import argparse
import yaml
from {module} import ChainMap

DEFAULTS = {{
    "config_file": "/etc/svc/config.yml",
    "db_uri": "postgresql://svc@localhost/svc",
    "rest_api": {{"min_threads": 10, "max_threads": 100}},
}}

def _read(path):
    try:
        with open(path) as f:
            return yaml.safe_load(f) or {{}}
    except OSError:
        return {{}}

def _cli(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen")
    args = parser.parse_args(argv)
    result = {{}}
    if args.listen:
        result["rest_api"] = {{"listen": args.listen}}
    return result

def load(argv):
    cli = _cli(argv)
    return ChainMap(cli, _read(DEFAULTS["config_file"]), DEFAULTS)
"""

CHAINED_APP = """
import sys
from sqlalchemy import create_engine
from svc.config import load

config = load(sys.argv[1:])
threads = config["rest_api"]
engine = create_engine(
    config["db_uri"],
    pool_size=threads["min_threads"],
    max_overflow=threads["max_threads"] - threads["min_threads"],
)
"""


@pytest.mark.parametrize("module", ["collections", "xivo.chain_map"])
def test_a_chain_map_of_config_layers_gives_the_defaults_layer_where_no_readable_layer_has_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: str
) -> None:
    # wazo's services: ChainMap(cli, file_config, DEFAULTS), the file outside the tree (given at deploy time, as
    # an unset variable is), the defaults a literal dict: the first layer that has a key gives it. All unknown.
    files = {"svc/__init__.py": "", "svc/config.py": CHAINED_CONFIG.format(module=module), "app.py": CHAINED_APP}
    pool = at(scan(tmp_path, files, monkeypatch), "app.py:7")
    url, size, overflow = (pool.settings[key] for key in ("url", "pool_size", "max_overflow"))
    assert (url.value, url.from_) == ("postgresql://svc@localhost/svc", "svc/config.py:7")
    if module == "xivo.chain_map":  # rest_api merged: --listen adds a key to the defaults' dict
        assert (size.value, size.from_, overflow.value) == (10, "svc/config.py:8", 90)
    else:  # collections: with --listen, rest_api is the command line's dict, which lacks the thread counts
        assert [(b.when, b.value) for b in size.branches] == [("args.listen", None), ("not (args.listen)", 10)]
        assert (size.branches[1].from_, overflow.branches[-1].value) == ("svc/config.py:8", 90)


def test_a_chain_maps_first_layer_that_has_the_key_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = """
    import collections
    from sqlalchemy import create_engine

    DEFAULTS = {"size": 5, "options": {"recycle": 300, "timeout": 30}}
    given = {"size": 20, "options": {"recycle": 60}}
    config = collections.ChainMap(given, DEFAULTS)
    engine = create_engine("postgresql://h/d", pool_size=config["size"], pool_recycle=config["options"]["recycle"])
    timeout = config["options"].get("timeout", 10)
    engine2 = create_engine("postgresql://h/d", pool_timeout=timeout)
    """
    report = scan(tmp_path, {"app.py": app}, monkeypatch)
    pool = at(report, "app.py:7")
    assert (pool.settings["pool_size"].value, pool.settings["pool_recycle"].value) == (20, 60)
    # collections.ChainMap does not merge nested dicts: "options" is the first layer's whole
    assert at(report, "app.py:9").settings["pool_timeout"].value == 10


def test_xivos_chain_map_merges_nested_dicts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = """
    from sqlalchemy import create_engine
    from xivo.chain_map import ChainMap

    DEFAULTS = {"options": {"recycle": 300, "timeout": 30}}
    config = ChainMap({"options": {"recycle": 60}}, DEFAULTS)
    engine = create_engine("postgresql://h/d", pool_recycle=config["options"]["recycle"], pool_timeout=config["options"]["timeout"])
    """
    pool = at(scan(tmp_path, {"app.py": app}, monkeypatch), "app.py:6")
    assert (pool.settings["pool_recycle"].value, pool.settings["pool_timeout"].value) == (60, 30)


def test_a_chain_map_layer_a_test_sets_a_key_in_gives_the_next_layers_value_where_it_does_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = """
    import os
    from collections import ChainMap
    from sqlalchemy import create_engine

    given = {}
    if os.getenv("POOL_SIZE"):
        given["size"] = int(os.environ["POOL_SIZE"])
    config = ChainMap(given, {"size": 5})
    engine = create_engine("postgresql://h/d", pool_size=config["size"])
    """
    size = at(scan(tmp_path, {"app.py": app}, monkeypatch), "app.py:9").settings["pool_size"]
    assert (size.value, size.from_, size.env) == (5, "app.py:8", "POOL_SIZE")
    assert [(b.when, b.value) for b in size.branches] == [
        ('not (os.getenv("POOL_SIZE"))', 5),
        ('os.getenv("POOL_SIZE")', None),
    ]


def test_a_chain_map_over_the_environment_is_the_variable_of_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the Python docs' own example: ChainMap(cli, os.environ, defaults)
    app = """
    import os
    from collections import ChainMap
    from sqlalchemy import create_engine

    config = ChainMap(os.environ, {"DATABASE_URL": "postgresql://h/d"})
    engine = create_engine(config["DATABASE_URL"])
    """
    url = at(scan(tmp_path, {"app.py": app}, monkeypatch), "app.py:6").settings["url"]
    assert (url.value, url.env) == ("postgresql://h/d", "DATABASE_URL")


def test_a_dicts_get_gives_its_default_on_the_paths_that_leave_the_key_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = """
    import os
    from sqlalchemy import create_engine

    options = {"size": 10}
    if os.getenv("LISTEN"):
        options = {"listen": os.environ["LISTEN"]}
    engine = create_engine("postgresql://h/d", pool_size=options.get("size", 5))
    """
    size = at(scan(tmp_path, {"app.py": app}, monkeypatch), "app.py:7").settings["pool_size"]
    assert [(b.when, b.value) for b in size.branches] == [('not (os.getenv("LISTEN"))', 10), ('os.getenv("LISTEN")', 5)]


def test_a_service_handed_to_another_classs_constructor_makes_its_pool_where_that_class_calls_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # tux: the bot's engine is made through `self.db_service.connect(url)` in a setup class given the service
    # (`db_service: DatabaseService`); the scan saw only the scripts that make a service of their own
    files = {
        "bot/__init__.py": "",
        "bot/service.py": """
        from sqlalchemy.ext.asyncio import create_async_engine

        class DatabaseService:
            def __init__(self) -> None:
                self._engine = None

            async def connect(self, url: str) -> None:
                self._engine = create_async_engine(url, pool_pre_ping=True, pool_size=20)
        """,
        "bot/setup.py": """
        from bot.service import DatabaseService

        class DatabaseSetup:
            def __init__(self, db_service: DatabaseService, retries: int = 3) -> None:
                self.db_service = db_service
                self.retries = retries

            async def setup(self) -> None:
                await self.db_service.connect("postgresql://u@localhost/botdb")
        """,
        "bot/main.py": """
        from bot.service import DatabaseService
        from bot.setup import DatabaseSetup

        class Bot:
            def __init__(self) -> None:
                self.db_service = DatabaseService()

            async def setup_hook(self) -> None:
                await DatabaseSetup(self.db_service).setup()

        class Other:
            def __init__(self, size) -> None:
                self.size = size
        """,
        "scripts/health.py": """
        from bot.service import DatabaseService

        async def health() -> None:
            await DatabaseService().connect("postgresql://u@localhost/health")
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    pool = at(report, "bot/setup.py:9")
    assert (pool.settings["url"].value, pool.settings["pool_size"].value) == ("postgresql://u@localhost/botdb", 20)
    assert at(report, "scripts/health.py:4").settings["url"].value == "postgresql://u@localhost/health"


def test_a_change_made_through_a_name_bound_to_part_of_a_dict_is_made_to_that_dict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # zentral: `database = DATABASES.setdefault(key, DATABASES["default"].copy())`, then `database[k] = v`: the
    # writes went to the local name only, so the aliases were listed without them (CONN_MAX_AGE: Django's 0)
    settings = """
    import os

    DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "app"}}
    db = DATABASES["default"]
    db["CONN_MAX_AGE"] = 60
    for key, host in (("default", None), ("ro", "replica")):
        database = DATABASES.setdefault(key, DATABASES["default"].copy())
        if host:
            database["HOST"] = host
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options.update(connect_timeout=5)
    db = {"CONN_MAX_AGE": 0}
    db["CONN_MAX_AGE"] = 1
    """
    report = scan(tmp_path, {"settings.py": settings}, monkeypatch)
    default, ro = (p for p in report.pools if p.file == "settings.py")
    assert {k: v.value for k, v in default.settings.items()} == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "app",
        "CONN_MAX_AGE": 60,
        "OPTIONS.connect_timeout": 5,
    }
    assert ro.call == "DATABASES['ro']"
    assert (ro.settings["CONN_MAX_AGE"].value, ro.settings["HOST"].value) == (60, "replica")
    assert "OPTIONS.connect_timeout" not in ro.settings  # copied before


MAPPING_CONFIG = """
import os


class Config(dict):
    defaults = {{"DB_HOST": "127.0.0.1", "DB_MAX_OVERFLOW": 80}}

    def db_settings(self):
        return {{
            "ENGINE": "django.db.backends.postgresql",
            "HOST": self.get("DB_HOST"),
            "CONN_MAX_AGE": 0,
            "OPTIONS": {{"max_overflow": int(self["DB_MAX_OVERFLOW"]), "pool_size": 20}},
        }}


class Manager:
    def __init__(self):
        self.config = Config()
        for key in Config.defaults:
            self.config[key] = Config.defaults[key]
{load}
    @classmethod
    def load(cls):
        manager = cls()
{call}        return manager.config


CONFIG = Manager.load()
DATABASES = {{"default": CONFIG.db_settings()}}
"""
FROM_ENV = """
    def load_from_env(self):
        for key in os.environ:
            if key.startswith("APP_"):
                self.config[key[4:]] = os.environ[key]
"""


@pytest.mark.parametrize("from_env", [True, False])
def test_a_dict_subclass_with_methods_is_a_dict_whose_methods_are_known(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, from_env: bool
) -> None:
    # MaxKB: a dict subclass filled from its defaults, then (load_from_env) from variables named at run time;
    # its method returns DATABASES['default']. A dict subclass with methods was unknown whole ("its own methods
    # fill it"), so the alias had no settings at all; one filled with item writes became a plain dict, methods lost.
    settings = MAPPING_CONFIG.format(
        load=FROM_ENV if from_env else "", call="        manager.load_from_env()\n" if from_env else ""
    )
    pool = next(p for p in scan(tmp_path, {"settings.py": settings}, monkeypatch).pools if p.file == "settings.py")
    values = {key: value.value if value.known else "?" for key, value in pool.settings.items()}
    read = {"HOST": "?", "OPTIONS.max_overflow": "?"} if from_env else {"HOST": "127.0.0.1", "OPTIONS.max_overflow": 80}
    assert values == {
        "ENGINE": "django.db.backends.postgresql",
        "CONN_MAX_AGE": 0,
        "OPTIONS.pool_size": 20,
        **read,
    }


def test_a_settings_objects_field_read_on_the_side_of_a_test_no_default_takes_is_the_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PasarGuard: `IS_SQLITE = settings.is_sqlite` (the URL field's default is sqlite), then the PostgreSQL engine
    # in `else:` was given the sqlite default: a WRONG known URL (its driver aiosqlite). A module name read there
    # was already the variable's; a field of a settings object was not.
    files = {
        "config.py": """
        from functools import cached_property
        from pydantic import Field
        from pydantic_settings import BaseSettings

        class DatabaseSettings(BaseSettings):
            url: str = Field(default="sqlite+aiosqlite:///db.sqlite3", validation_alias="DATABASE_URL")
            pool_size: int = 25

            @cached_property
            def is_sqlite(self) -> bool:
                return self.url.startswith("sqlite")

        settings = DatabaseSettings()
        """,
        "db.py": """
        from sqlalchemy.ext.asyncio import create_async_engine
        from config import settings

        IS_SQLITE = settings.is_sqlite
        if IS_SQLITE:
            engine = create_async_engine(settings.url)
        else:
            engine = create_async_engine(settings.url, pool_size=settings.pool_size)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert at(report, "db.py:6").settings["url"].value == "sqlite+aiosqlite:///db.sqlite3"
    url, size = (at(report, "db.py:8").settings[key] for key in ("url", "pool_size"))
    assert (url.known, url.env, url.expr) == (False, "DATABASE_URL", "$DATABASE_URL")
    assert size.value == 25


def test_django_environs_default_is_handed_back_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # glitchtip: `DATABASE_HOST = env.str("DATABASE_HOST", None)` was the string "None" (cast as a set variable's
    # text would be), so `if DATABASE_HOST and DATABASE_PASSWORD:` held with no variable set and HOST was a WRONG
    # known "None" on the path the judge took. django-environ 0.14's get_value casts only a variable's text.
    settings = """
    import environ

    env = environ.Env()
    DATABASES = {"default": env.db(default="postgres://app@postgres:5432/app")}
    DATABASE_HOST = env.str("DATABASE_HOST", None)
    DATABASE_PASSWORD = env.str("DATABASE_PASSWORD", None)
    if DATABASE_HOST and DATABASE_PASSWORD:
        DATABASES["default"] = {"ENGINE": "django.db.backends.postgresql", "HOST": DATABASE_HOST, "PORT": 5432}
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default="60")
    """
    pool = next(p for p in scan(tmp_path, {"settings.py": settings}, monkeypatch).pools if p.file == "settings.py")
    host = pool.settings["HOST"]
    assert (host.value, host.env) == ("postgres", "DATABASE_URL")
    assert [(b.when, b.known, b.env) for b in host.branches] == [
        ("not (DATABASE_HOST and DATABASE_PASSWORD)", True, "DATABASE_URL"),
        ("DATABASE_HOST and DATABASE_PASSWORD", False, "DATABASE_HOST"),
    ]
    assert pool.settings["CONN_MAX_AGE"].value == "60"  # as the code gives it: a text


@pytest.mark.parametrize("keyword", ["envvar_prefix", "ENVVAR_PREFIX", "ENVVAR_PREFIX_FOR_DYNACONF"])
def test_dynaconfs_own_settings_in_each_spelling_it_takes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keyword: str
) -> None:
    # ara: `LazySettings(ENVVAR_PREFIX_FOR_DYNACONF="ARA")` named the variables DYNACONF_DATABASE_*; dynaconf 3.2's
    # normalize_kwargs takes `envvar_prefix`, `ENVVAR_PREFIX` and `ENVVAR_PREFIX_FOR_DYNACONF` alike
    settings = f"""
    from dynaconf import LazySettings

    settings = LazySettings({keyword}="ARA")
    DATABASES = {{"default": {{"ENGINE": "django.db.backends.postgresql", "CONN_MAX_AGE": settings.get("CONN_MAX_AGE", 0)}}}}
    """
    pool = next(p for p in scan(tmp_path, {"settings.py": settings}, monkeypatch).pools if p.file == "settings.py")
    assert (pool.settings["CONN_MAX_AGE"].value, pool.settings["CONN_MAX_AGE"].env) == (0, "ARA_CONN_MAX_AGE")


def test_a_stub_a_handler_defines_when_the_pool_library_is_missing_is_not_what_the_app_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # maubot: `try: from sqlalchemy import create_engine` / `except ImportError: def create_engine(...): raise`;
    # the scan took the stub, so the plugin instances' engines were missed
    files = {
        "bot/__init__.py": "",
        "bot/optional.py": """
        try:
            from sqlalchemy import MetaData, create_engine
        except ImportError:
            class FakeEngine:
                pass

            def create_engine(*args, **kwargs):
                raise Exception("SQLAlchemy is not installed")

            MetaData = FakeEngine
        """,
        "bot/instance.py": """
        from .optional import create_engine

        class Instance:
            def start(self, path: str) -> None:
                self.db = create_engine(f"sqlite:///{path}", pool_size=3)
        """,
    }
    pool = at(scan(tmp_path, files, monkeypatch), "bot/instance.py:5")
    assert (pool.call, pool.settings["pool_size"].value) == ("sqlalchemy.create_engine", 3)


def test_a_url_yarl_builds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # AgentGPT (s3rius' FastAPI template): `db_url` a property returning yarl's URL.build(...) over the settings'
    # defaults, given to create_async_engine(str(settings.db_url)); the URL was unknown
    files = {
        "settings.py": """
        from pydantic_settings import BaseSettings, SettingsConfigDict
        from yarl import URL

        class Settings(BaseSettings):
            db_host: str = "localhost"
            db_port: int = 5432
            db_user: str = "app"
            db_base: str = "app"
            model_config = SettingsConfigDict(env_prefix="APP_")

            @property
            def db_url(self) -> URL:
                return URL.build(scheme="postgresql+asyncpg", host=self.db_host, port=self.db_port, user=self.db_user, path=f"/{self.db_base}")

            @property
            def bad_url(self) -> URL:
                return URL.build(scheme="postgresql+asyncpg", host=self.db_host, port="5432", path="/x")

        settings = Settings()
        """,
        "db.py": """
        from sqlalchemy.ext.asyncio import create_async_engine
        from settings import settings

        engine = create_async_engine(str(settings.db_url))
        other = create_async_engine(str(settings.bad_url))
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    url = at(report, "db.py:4").settings["url"]
    assert (url.value, url.env) == ("postgresql+asyncpg://app@localhost:5432/app", "APP_DB_USER")
    assert not at(report, "db.py:5").settings["url"].known  # yarl raises for a port that is no int


def test_a_marshmallow_schema_through_a_project_base_describes_a_config_it_is_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # TaxHub: `class AppSchemaConf(AppConf)` with `AppConf(Schema)`: its SQLALCHEMY_DATABASE_URI is a marshmallow
    # field validating the TOML file the app loads, and it was a second Flask-SQLAlchemy pool
    files = {
        "schema.py": """
        from marshmallow import Schema, fields

        class AppConf(Schema):
            API_PREFIX = fields.String(load_default="")

        class AppSchemaConf(AppConf):
            SQLALCHEMY_DATABASE_URI = fields.String(required=True)
            SQLALCHEMY_POOL_SIZE = fields.Integer(load_default=5)
        """,
        "app.py": """
        import toml
        from flask import Flask
        from flask_sqlalchemy import SQLAlchemy
        from schema import AppSchemaConf

        db = SQLAlchemy()

        def create_app():
            app = Flask(__name__)
            app.config.update(AppSchemaConf().load(toml.load("config.toml")))
            db.init_app(app)
            return app
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [p.where for p in report.pools] == ["app.py:11"]


@pytest.mark.parametrize("merge", ["data.update(extra)", "data = {**data, **extra}"])
def test_a_key_a_merged_dict_sets_only_on_some_paths_keeps_the_dicts_own_on_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, merge: str
) -> None:
    # byceps: `data.update(_get_config_from_environment())`, whose dict has the URL only when a variable is set:
    # with it unset the URL was "(not set)" (the key erased), not the one `data` had
    app = f"""
    import os
    from sqlalchemy import create_engine

    data = {{"url": "postgresql://app@db/app", "size": 5}}
    extra = {{}}
    if os.getenv("DATABASE_URL"):
        extra["url"] = os.environ["DATABASE_URL"]
    {merge}
    engine = create_engine(data["url"], pool_size=data["size"])
    """
    url = at(scan(tmp_path, {"app.py": app}, monkeypatch), "app.py:9").settings["url"]
    assert (url.value, url.env) == ("postgresql://app@db/app", "DATABASE_URL")
    assert [(b.when, b.value) for b in url.branches] == [
        ('not (os.getenv("DATABASE_URL"))', "postgresql://app@db/app"),
        ('os.getenv("DATABASE_URL")', None),
    ]


def test_an_alembic_option_set_to_a_variables_none_is_the_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # papermerge: `config.set_section_option(section, "PM_DB_URL", os.environ.get("PM_DB_URL"))` under
    # `sqlalchemy.url = %(PM_DB_URL)s`: the URL was a WRONG known "None"; ConfigParser.set refuses a value that is
    # no string (TypeError), so a run that gets on has the variable set
    env = """
    import os
    from alembic import context
    from sqlalchemy import engine_from_config, pool

    config = context.config
    config.set_section_option(config.config_ini_section, "PM_DB_URL", os.environ.get("PM_DB_URL"))
    engine = engine_from_config(config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool)
    """
    ini = "[alembic]\nscript_location = migrations\nsqlalchemy.url = %(PM_DB_URL)s\n"
    url = at(
        scan(tmp_path, {"alembic.ini": ini, "migrations/env.py": env}, monkeypatch), "migrations/env.py:7"
    ).settings["url"]
    assert (url.known, url.env, url.expr) == (False, "PM_DB_URL", "$PM_DB_URL")


def test_a_change_to_a_dict_placed_in_another_is_a_change_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # jumpserver: `DATABASES = {"default": {..., "OPTIONS": DB_OPTIONS}}`, then `DB_OPTIONS["init_command"] = ...`
    # and `DB_OPTIONS.update(...)`: OPTIONS was a WRONG known {}
    settings = """
    import os

    DB_ENGINE = os.getenv("DB_ENGINE", "mysql")
    DB_OPTIONS = {}
    DATABASES = {"default": {"ENGINE": f"django.db.backends.{DB_ENGINE}", "NAME": "app", "OPTIONS": DB_OPTIONS}}
    if DB_ENGINE == "mysql":
        DB_OPTIONS["init_command"] = "SET sql_mode='STRICT_TRANS_TABLES'"
    DB_OPTIONS.update({"connect_timeout": 5})
    db = DATABASES["default"]
    DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "other"}}
    db["CONN_MAX_AGE"] = 60
    DB_OPTIONS["ignored"] = 1
    """
    pool = next(p for p in scan(tmp_path, {"settings.py": settings}, monkeypatch).pools if p.file == "settings.py")
    # DATABASES bound again: neither `db` nor DB_OPTIONS is part of it any longer
    assert {key: value.value for key, value in pool.settings.items()} == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "other",
    }
    first = settings.replace(
        '    DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "other"}}\n', ""
    )
    pool = next(p for p in scan(tmp_path, {"settings.py": first}, monkeypatch).pools if p.file == "settings.py")
    init = pool.settings["OPTIONS.init_command"]
    assert (init.value, init.env) == ("SET sql_mode='STRICT_TRANS_TABLES'", "DB_ENGINE")
    assert [pool.settings[k].value for k in ("OPTIONS.connect_timeout", "CONN_MAX_AGE", "OPTIONS.ignored")] == [
        5,
        60,
        1,
    ]


def test_a_databases_entry_with_no_engine_is_djangos_dummy_backend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # prowler: DATABASES["neo4j"] and ["neptune"] hold a graph database's settings for the app's own drivers, with
    # no ENGINE: Django 5.2 (ConnectionHandler.configure_settings) gives them its dummy backend, which opens nothing
    settings = """
    import dj_database_url
    import environ

    env = environ.Env()
    DATABASES = {
        "default": {"ENGINE": "django.db.backends.postgresql", "NAME": "app"},
        "neo4j": {"HOST": "neo4j", "PORT": "7687"},
        "blank": {"ENGINE": "", "NAME": "x"},
        "cockroach": env.db("COCKROACH_URL", default="cockroachdb://app@db:26257/app"),
        "other": dj_database_url.parse("timescale://app@db/app"),
    }
    """
    report = scan(tmp_path, {"settings.py": settings}, monkeypatch)
    engines = {p.call: p.settings["ENGINE"] for p in report.pools if p.file == "settings.py"}
    assert sorted(engines) == ["DATABASES['cockroach']", "DATABASES['default']", "DATABASES['other']"]
    assert engines["DATABASES['cockroach']"].value == "cockroachdb"  # django-environ 0.14: the scheme itself
    assert (engines["DATABASES['other']"].known, engines["DATABASES['other']"].expr) == (
        False,
        "the engine of timescale://",
    )


@pytest.mark.parametrize(
    ("between", "write", "expected"),
    [
        ('conf = DATABASES\nconf = conf["default"]\n', 'conf["CONN_MAX_AGE"] = 60', None),  # no part of itself
        ('db = DATABASES["default"]\ndb, other = {"CONN_MAX_AGE": 0}, 1\n', 'db["CONN_MAX_AGE"] = 600', None),
        ('db = DATABASES["default"]\nfor db in [{"CONN_MAX_AGE": 0}]:\n    pass\n', 'db["CONN_MAX_AGE"] = 600', None),
        (
            'db = DATABASES["default"]\nDATABASES["default"] = {"ENGINE": "x.postgresql"}\n',
            'db["CONN_MAX_AGE"] = 1',
            None,
        ),
        ('db = DATABASES["default"]\ndel DATABASES["default"]["NAME"]\n', 'db["CONN_MAX_AGE"] = 9', 9),
        ('db = DATABASES["default"]\nif (db := {}) is not None:\n    pass\n', 'db["CONN_MAX_AGE"] = 7', None),
    ],
)
def test_an_alias_ends_where_either_name_is_bound_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, between: str, write: str, expected: int | None
) -> None:
    # (review) a name bound to itself looped (RecursionError, the file skipped); a name bound again by unpacking, a
    # loop or `:=`, or the part it was replaced, still wrote through the old alias: WRONG known values
    settings = 'DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "app"}}\n'
    files = {"settings.py": settings + between + write + "\n"}
    report = scan(tmp_path, files, monkeypatch)
    assert not report.warnings
    pool = next(p for p in report.pools if p.file == "settings.py")
    age = pool.settings.get("CONN_MAX_AGE")
    assert (age.value if age is not None else None) == expected


def test_a_dict_subclass_that_fills_itself_or_is_changed_later_has_unknown_items(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (review) a method of its own writing `self[...]` left the items the call made (a WRONG sqlite default and
    # pool_size 5); an attribute made with items and changed by another method kept them (a WRONG 5 for 40)
    files = {
        "fills.py": """
        import os
        from sqlalchemy import create_engine

        class Config(dict):
            def load(self):
                self["DB_URL"] = os.environ["DB_URL"]
                self["POOL_SIZE"] = 30

        config = Config()
        config.load()
        engine = create_engine(config.get("DB_URL", "sqlite:///local.db"), pool_size=config.get("POOL_SIZE", 5))
        """,
        "later.py": """
        from sqlalchemy import create_engine

        class Config(dict):
            def url(self):
                return "postgresql://app@db/app"

        class Manager:
            def __init__(self):
                self.config = Config(pool_size=5)

            def load(self):
                self.config["pool_size"] = 40

            def engine(self):
                return create_engine(self.config.url(), pool_size=self.config["pool_size"])
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    fills = at(report, "fills.py:11").settings
    assert (fills["url"].known, fills["pool_size"].known) == (False, False)
    later = at(report, "later.py:15").settings
    assert (later["url"].value, later["pool_size"].known) == ("postgresql://app@db/app", False)


def test_vars_of_a_parsed_namespace_holds_every_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # (review) `ChainMap(vars(args), DEFAULTS)`: vars(args) holds every option, None where none is given, so the
    # first layer wins with None (the Python docs' example filters those out); it was read as the defaults' 5
    app = """
    import argparse
    from collections import ChainMap
    from sqlalchemy import create_engine

    DEFAULTS = {"pool_size": 5, "url": "postgresql://h/d"}
    parser = argparse.ArgumentParser()
    parser.add_argument("--pool_size", type=int)
    args = parser.parse_args()
    config = ChainMap(vars(args), DEFAULTS)
    given = ChainMap({k: v for k, v in vars(args).items() if v is not None}, DEFAULTS)
    engine = create_engine(config["url"], pool_size=config["pool_size"])
    other = create_engine(given["url"], pool_size=given["pool_size"])
    """
    report = scan(tmp_path, {"app.py": app}, monkeypatch)
    assert at(report, "app.py:11").settings["pool_size"].value is None
    assert at(report, "app.py:12").settings["pool_size"].value == 5


def test_django_environs_parse_default_casts_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = """
    import environ

    env = environ.Env()
    DATABASES = {"default": {
        "ENGINE": "django.db.backends.postgresql",
        "CONN_MAX_AGE": env.int("CONN_MAX_AGE", default="60", parse_default=True),
        "CONN_HEALTH_CHECKS": env.bool("HEALTH", default="false", parse_default=True),
    }}
    """
    pool = next(p for p in scan(tmp_path, {"settings.py": settings}, monkeypatch).pools if p.file == "settings.py")
    assert (pool.settings["CONN_MAX_AGE"].value, pool.settings["CONN_HEALTH_CHECKS"].value) == (60, False)


def test_a_yarl_path_with_no_slash_under_a_host_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # yarl 1.25 URL.build: "Path in a URL with authority should start with a slash ('/') if set"
    app = """
    from sqlalchemy import create_engine
    from yarl import URL

    engine = create_engine(str(URL.build(scheme="postgresql", host="db", port=5432, user="app", path="appdb")))
    """
    assert not at(scan(tmp_path, {"app.py": app}, monkeypatch), "app.py:4").settings["url"].known


def test_a_service_handed_to_the_one_instance_the_app_makes_keeps_what_it_was_made_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (review) with the service's class typed on the setup class's parameter, the pool moved to the setup's call and
    # lost the service's arguments (url, pool_size: "what its caller gives"); the one DatabaseSetup the app makes
    # gives them
    files = {
        "service.py": """
        from sqlalchemy.ext.asyncio import create_async_engine

        class DatabaseService:
            def __init__(self, url: str, size: int) -> None:
                self.url = url
                self.size = size

            async def connect(self) -> None:
                self.engine = create_async_engine(self.url, pool_size=self.size)
        """,
        "setup.py": """
        from service import DatabaseService

        class DatabaseSetup:
            def __init__(self, db_service: DatabaseService) -> None:
                self.db_service = db_service

            async def setup(self) -> None:
                await self.db_service.connect()
        """,
        "main.py": """
        from service import DatabaseService
        from setup import DatabaseSetup

        async def main() -> None:
            await DatabaseSetup(DatabaseService("postgresql+asyncpg://app@db/app", 20)).setup()
        """,
    }
    pool = at(scan(tmp_path, files, monkeypatch), "setup.py:8")
    assert (pool.settings["url"].value, pool.settings["pool_size"].value) == ("postgresql+asyncpg://app@db/app", 20)


def test_aliases_made_on_each_side_of_a_test_end_there(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # (re-scan: meltano) two paths that made different aliases joined into branches of them, and the next
    # assignment failed on them: five files skipped, 75 pools lost
    app = """
    import os
    from sqlalchemy import create_engine

    config = {"db": {"url": "postgresql://h/d"}, "other": {}}
    if os.getenv("X"):
        part = config["db"]
    else:
        part = config["other"]
    again = config["db"]
    again["pool_size"] = 3
    engine = create_engine(config["db"]["url"], pool_size=config["db"]["pool_size"])
    """
    report = scan(tmp_path, {"app.py": app}, monkeypatch)
    assert not report.warnings
    assert at(report, "app.py:11").settings["pool_size"].value == 3


def test_a_name_a_tuple_assignment_binds_at_a_modules_top(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # patchew: `DEBUG, DATA_DIR, DATABASES = env_detect()`, a function returning a tuple per deployment: no
    # settings module was seen, so no alias at all
    settings = """
    import os

    INSTALLED_APPS = ["django.contrib.auth"]

    def env_detect():
        if "DB_HOST" in os.environ:
            return False, "/srv", {"default": {"ENGINE": "django.db.backends.postgresql", "HOST": os.environ["DB_HOST"]}}
        return True, "/tmp", {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "dev.db"}}

    DEBUG, DATA_DIR, DATABASES = env_detect()
    A, B = 1, {"x": 2}
    """
    pool = next(p for p in scan(tmp_path, {"settings.py": settings}, monkeypatch).pools if p.file == "settings.py")
    engine = pool.settings["ENGINE"]
    assert [b.value for b in engine.branches] == ["django.db.backends.sqlite3", "django.db.backends.postgresql"]


def test_a_pool_made_in_init_from_what_the_one_maker_gives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # llvm-lnt: Instance.__init__(self, path, config) calls `self.config.get_database(name)` (a factory making the
    # engine); the one Instance the app makes is given a Config: the web server's pools were missed
    files = {
        "config.py": """
        from sqlalchemy import create_engine

        class Config:
            def __init__(self, urls):
                self.urls = urls

            def get_database(self, name):
                return create_engine(self.urls[name], pool_size=3)
        """,
        "instance.py": """
        from config import Config

        class Instance:
            @staticmethod
            def frompath(path):
                return Instance(path, Config({"main": "postgresql://app@db/main"}))

            def __init__(self, path, config):
                self.config = config
                self.db = self.config.get_database("main")
        """,
        "tool.py": """
        from config import Config

        def run():
            return Config({"x": "postgresql://app@db/x"}).get_database("x")
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    pool = at(report, "instance.py:10")
    assert (pool.settings["url"].value, pool.settings["pool_size"].value) == ("postgresql://app@db/main", 3)
    assert at(report, "tool.py:4").settings["url"].value == "postgresql://app@db/x"


def test_a_dict_subclass_a_project_function_fills_has_what_it_fills(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (final read, sync-engine's shape) `config = Config(); load(config)` where load updates it from a JSON file
    # outside the tree: the function's change was lost, so `config.get("pool_size", 5)` was a WRONG known 5; with
    # the file read only `if os.path.exists(path):`, a run without it has the defaults
    app = """
    import json
    import os
    from sqlalchemy import create_engine

    class Config(dict):
        def required(self, key):
            return self[key]

    def load(c):
        with open("/etc/app/config.json") as f:
            c.update(json.load(f))

    def load_if_there(c):
        if os.path.exists("/etc/app/other.json"):
            with open("/etc/app/other.json") as f:
                c.update(json.load(f))

    config = Config()
    load(config)
    other = Config()
    load_if_there(other)
    engine = create_engine("postgresql://h/d", pool_size=config.get("pool_size", 5), max_overflow=other.get("max", 7))
    """
    settings = at(scan(tmp_path, {"app.py": app}, monkeypatch), "app.py:22").settings
    assert (settings["pool_size"].known, settings["max_overflow"].value) == (False, 7)
