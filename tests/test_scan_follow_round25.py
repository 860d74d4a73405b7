"""`scan_path` following values the way real projects spread them (issue 29), continued from
test_scan_follow_round23.py (the open cases of held-out rounds 23 to 25). Each project is a few small files
written here (never a copy of a real one); line numbers in the assertions are the fixtures' own."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_scan import at, scan


def manage(settings: str) -> str:
    """A Django project's manage.py naming its settings module."""
    return f'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "{settings}")\n'


SETTINGS_HOLDER = """
from app.store import Store

class Settings:
    def __init__(self, urls):
        self.urls = urls

    def open_store(self, name):
        url = self.urls.get(name)
        return Store(url)
"""

STORE = """
import sqlalchemy

class Store:
    def __init__(self, url):
        self.engine = sqlalchemy.create_engine(url, pool_pre_ping=True)
"""


@pytest.mark.parametrize("passed", ["settings, name", "name=name, settings=settings"])
def test_a_factory_method_called_on_a_parameter_every_caller_passes_an_instance_of_its_class_is_a_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, passed: str
) -> None:
    # `settings.open_store(name)` where `settings` is a parameter nobody annotates: the callers the app has pass
    # a Settings, so the call makes a Store's pool, as at a caller holding the Settings in a local
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/settings.py": SETTINGS_HOLDER,
            "app/store.py": STORE,
            "app/shadow.py": """
                def copy_to_shadow(settings, name):
                    if settings.urls.get("shadow"):
                        store = settings.open_store("shadow")
                        return store
            """,
            "app/cli.py": f"""
                from app.settings import Settings
                from app.shadow import copy_to_shadow

                def main(urls, name):
                    settings = Settings(urls)
                    db = settings.open_store(name)
                    copy_to_shadow({passed})
                    return db
            """,
        },
        monkeypatch,
    )
    assert at(report, "app/shadow.py:3").settings["pool_pre_ping"].value is True
    assert at(report, "app/cli.py:6").settings["pool_pre_ping"].value is True


def test_a_parameter_callers_pass_instances_of_two_classes_is_not_given_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/settings.py": SETTINGS_HOLDER,
            "app/store.py": STORE,
            "app/shadow.py": """
                def copy_to_shadow(settings, name):
                    return settings.open_store(name)
            """,
            "app/cli.py": """
                from app.settings import Settings
                from app.shadow import copy_to_shadow

                class Fake:
                    def open_store(self, name):
                        return name

                def main(urls, name):
                    copy_to_shadow(Settings(urls), name)
                    copy_to_shadow(Fake(), name)
            """,
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools if p.where.startswith("app/shadow.py")] == []


@pytest.mark.parametrize(
    "body",
    [
        ['databases["default"]["CONN_MAX_AGE"] = 60'],
        ['databases["default"].update({"CONN_MAX_AGE": 60})'],
        ["for alias, config in databases.items():", '    config["CONN_MAX_AGE"] = 60'],
        [
            "for config in databases.values():",
            '    config.setdefault("OPTIONS", {})["x"] = 1',
            '    config["CONN_MAX_AGE"] = 60',
        ],
    ],
)
def test_a_function_the_settings_hand_databases_to_changes_its_aliases_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: list[str]
) -> None:
    # `label_connections(DATABASES)` at the settings' end: what the function writes into an alias's dict (through
    # a subscript of it, or a loop over the aliases) is the alias's, not a default Django fills in
    report = scan(
        tmp_path,
        {
            "manage.py": manage("site/settings"),
            "site/__init__.py": "",
            "site/settings.py": f"""
                DATABASES = {{
                    "default": {{"ENGINE": "django.db.backends.postgresql", "NAME": "app"}},
                }}

                def label_connections(databases):
                    {(chr(10) + " " * 20).join(body)}

                label_connections(DATABASES)
            """,
        },
        monkeypatch,
    )
    assert at(report, "site/settings.py:2").settings["CONN_MAX_AGE"].value == 60


def test_a_slice_of_a_known_text_is_known(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # prowler's `f"{component}:{alias}"[:63]`, PostgreSQL's limit on an application_name
    report = scan(
        tmp_path,
        {
            "db.py": """
                import os
                from sqlalchemy import create_engine

                component = os.environ.get("APP_COMPONENT", "api")
                engine = create_engine(
                    "postgresql://db/app",
                    connect_args={"application_name": f"{component}:worker-pool"[:10]},
                )
            """,
        },
        monkeypatch,
    )
    name = at(report, "db.py:5").settings["connect_args.application_name"]
    assert (name.value, name.env) == ("api:worker", "APP_COMPONENT")


PLACEHOLDER_BASE = """
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.",
        "NAME": "shop",
        "CONN_MAX_AGE": 60,
    }
}
"""


def test_a_placeholder_engine_a_variable_replaces_in_a_loop_of_overrides_is_a_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # openedx's settings: base's ENGINE is Django's dummy backend ("django.db.backends."), which the production
    # module replaces from a variable in a loop over its overrides: a database in every deployment, not none
    report = scan(
        tmp_path,
        {
            "manage.py": manage("shop.settings.production"),
            "shop/__init__.py": "",
            "shop/settings/__init__.py": "",
            "shop/settings/base.py": PLACEHOLDER_BASE,
            "shop/settings/production.py": """
                from os import environ
                from shop.settings.base import *

                OVERRIDES = dict(
                    ENGINE=environ.get("DB_ENGINE", DATABASES["default"]["ENGINE"]),
                    NAME=environ.get("DB_NAME", DATABASES["default"]["NAME"]),
                )

                for override, value in OVERRIDES.items():
                    DATABASES["default"][override] = value
            """,
        },
        monkeypatch,
    )
    pool = at(report, "shop/settings/production.py:9")
    engine, name = pool.settings["ENGINE"], pool.settings["NAME"]
    assert (engine.known, engine.env) == (False, "DB_ENGINE")
    assert (name.value, name.env) == ("shop", "DB_NAME")
    assert pool.settings["CONN_MAX_AGE"].value == 60
    assert [p.where for p in report.pools if p.where.startswith("shop/settings/base.py")] == []


@pytest.mark.parametrize("loaded", ["yaml.safe_load(f)", '{"DEBUG": False}'])
def test_module_names_updated_from_a_dict_the_scan_cannot_read_are_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loaded: str
) -> None:
    # `vars().update(config_from_yaml)` with the YAML file the deployment names: it may set DATABASES, so base's
    # CONN_MAX_AGE is no longer known; a dict the scan reads sets only its own keys
    report = scan(
        tmp_path,
        {
            "manage.py": manage("shop.settings.production"),
            "shop/__init__.py": "",
            "shop/settings/__init__.py": "",
            "shop/settings/base.py": PLACEHOLDER_BASE.replace("django.db.backends.", "django.db.backends.postgresql"),
            "shop/settings/production.py": f"""
                import os
                import yaml
                from shop.settings.base import *

                with open(os.environ["SHOP_CFG"]) as f:
                    config_from_yaml = {loaded}
                    vars().update(config_from_yaml)

                DATABASES["default"]["ATOMIC_REQUESTS"] = True
            """,
        },
        monkeypatch,
    )
    pools = [p for p in report.pools if p.file.startswith("shop/settings/production.py")]
    assert len(pools) == 1
    max_age = pools[0].get("CONN_MAX_AGE")
    if loaded.startswith("yaml"):
        assert max_age is None or not max_age.known
        assert pools[0].unresolved
    else:
        assert max_age is not None and max_age.value == 60


def test_django_environment_config_classes_each_give_their_databases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # django-environment-config: each Environment subclass sets the module's settings when it is the one
    # DJANGO_SETTINGS_ENVIRONMENT names; values.DatabaseURLValue reads DATABASE_URL (else its default) through
    # dj_database_url.parse with the rest of its keywords; a @classproperty DATABASES is what it returns
    report = scan(
        tmp_path,
        {
            "manage.py": manage("site/settings"),
            "site/__init__.py": "",
            "site/settings.py": """
                import os
                import dj_database_url
                from env_config import Environment, values
                from env_config.decorators import classproperty

                class Common(Environment):
                    DATABASES = values.DatabaseURLValue(conn_max_age=int(os.getenv("CONN_MAX_AGE", "60")))

                class Local(Common):
                    DATABASES = values.DatabaseURLValue(default="postgres://app@127.0.0.1/app", db_alias="main")

                class Production(Common, use_environ=True):
                    @classproperty
                    def DATABASES(cls):
                        config = dj_database_url.parse(os.environ["DATABASE_URL"])
                        config["CONN_HEALTH_CHECKS"] = True
                        return {"default": config}
            """,
        },
        monkeypatch,
    )
    common, local, production = (at(report, f"site/settings.py:{line}") for line in (7, 10, 15))
    assert (common.settings["CONN_MAX_AGE"].value, common.settings["CONN_MAX_AGE"].env) == (60, "CONN_MAX_AGE")
    assert (common.settings["HOST"].known, common.settings["HOST"].env) == (False, "DATABASE_URL")
    assert (local.call, local.settings["HOST"].value) == ("DATABASES['main']", "127.0.0.1")
    assert production.settings["CONN_HEALTH_CHECKS"].value is True


ATTRIBUTE_CONFIG = """
import copy
from collections.abc import Mapping

defaults = {{"db": {{"dsn": "postgresql://db/app", "pool": {{"size": 64, "recycle": 3600}}}}}}


class Config:
    _missing = object()

    def __init__(self, cfg=None):
        cfg = {{}} if cfg is None else cfg
        {store}

    def __getattr__(self, attr):
        val = self._cfg.get(attr, self._missing)
        if val is self._missing:
            raise AttributeError(attr)
        if isinstance(val, Mapping):
            return self.__class__(val)
        return val


config = Config(copy.deepcopy(defaults))
"""


@pytest.mark.parametrize(
    ("store", "known"),
    [
        ('object.__setattr__(self, "_cfg", cfg)', True),
        ('setattr(self, "_cfg", cfg)', True),
        ("self.__dict__.update(_cfg=cfg)", False),  # (not read: `self._cfg` is then __getattr__'s own read)
    ],
)
def test_a_dict_read_through_attributes_by_getattr_gives_its_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: str, known: bool
) -> None:
    # mlrun's Config: `__getattr__` reads a dict stored with object.__setattr__ and wraps a nested one in the
    # same class (`self.__class__(val)`); a store the scan does not read leaves `self._cfg` to __getattr__
    # itself, which reads it again: unknown, at once, not followed round until the budget runs out
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/config.py": ATTRIBUTE_CONFIG.format(store=store),
            "app/db.py": """
                from sqlalchemy import create_engine
                from app.config import config

                engine = create_engine(
                    config.db.dsn, pool_size=config.db.pool.size, pool_recycle=config.db.pool.recycle
                )
            """,
        },
        monkeypatch,
    )
    pool = at(report, "app/db.py:4")
    assert not report.warnings
    assert pool.settings["url"].known is known
    if known:
        assert (pool.settings["pool_size"].value, pool.settings["pool_recycle"].value) == (64, 3600)


@pytest.mark.parametrize(
    ("name", "aside"),
    [
        ("pkg/docs/source/user_guide/extract_grades.py", "examples"),  # nbgrader's user guide snippet
        ("docs_src/sql_databases/tutorial001.py", "examples"),
        ("doc/snippets/pool.py", "examples"),
        ("pkg/documents/store.py", None),
        ("pkg/docstore.py", None),
    ],
)
def test_a_documentation_trees_snippet_is_an_example(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, aside: str | None
) -> None:
    report = scan(
        tmp_path, {name: 'import asyncpg\n\npool = asyncpg.create_pool("postgresql://a@db/a")\n'}, monkeypatch
    )
    assert [p.aside for p in report.pools] == [aside]


def test_a_package_of_the_app_named_docs_is_the_apps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a Django app called `docs` (djangoproject.com's) is a package the app imports, not a documentation tree
    report = scan(
        tmp_path,
        {
            "docs/__init__.py": "",
            "docs/db.py": 'import asyncpg\n\npool = asyncpg.create_pool("postgresql://a@db/a")\n',
            "site/app.py": "from docs.db import pool\n",
        },
        monkeypatch,
    )
    assert [(p.where, p.aside) for p in report.pools] == [("docs/db.py:3", None)]


def test_a_property_made_by_a_call_gives_what_its_getter_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Langchain-Chatchat's settings container: `kb = settings_property(KBSettings())`, a helper returning
    # `property(wrapper)` whose wrapper returns the instance it closed over
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/settings.py": """
                from pydantic_settings import BaseSettings

                class KBSettings(BaseSettings):
                    kbs_config: dict = {"pg": {"connection_uri": "postgresql://kb@db/kb", "size": 7}}

                def settings_property(settings):
                    def wrapper(self):
                        return settings
                    return property(wrapper)

                class Container:
                    kb: KBSettings = settings_property(KBSettings())

                Settings = Container()
            """,
            "app/store.py": """
                import sqlalchemy
                from app.settings import Settings

                pg = Settings.kb.kbs_config.get("pg")
                engine = sqlalchemy.create_engine(pg.get("connection_uri"), pool_size=pg["size"])
            """,
        },
        monkeypatch,
    )
    pool = at(report, "app/store.py:5")
    assert (pool.settings["url"].value, pool.settings["pool_size"].value) == ("postgresql://kb@db/kb", 7)


def test_a_loop_over_a_hundred_options_of_an_env_file_runs_once_per_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # karrot's options: every key of config/options.env (71 in the real file) read from its variable, else the
    # file's default; a loop over more items than the scan runs would leave each unknown
    filler = "".join(f"OPTION_{n}=value{n}\n" for n in range(100))
    report = scan(
        tmp_path,
        {
            "manage.py": manage("config.settings"),
            "config/__init__.py": "",
            "config/options.env": filler + "DATABASE_HOST=localhost\nDATABASE_CONN_MAX_AGE=0\n",
            "config/options.py": """
                import os
                from dotenv import dotenv_values

                def get_options():
                    options = {}
                    defaults = dotenv_values(os.path.join(os.path.dirname(__file__), "options.env"))
                    for key, default in defaults.items():
                        value = os.environ[key] if key in os.environ else default
                        options[key] = value if value else None
                    return options
            """,
            "config/settings.py": """
                from config.options import get_options

                options = get_options()
                DATABASES = {
                    "default": {
                        "ENGINE": "django.db.backends.postgresql",
                        "HOST": options["DATABASE_HOST"],
                        "CONN_MAX_AGE": int(options["DATABASE_CONN_MAX_AGE"]),
                    }
                }
            """,
        },
        monkeypatch,
    )
    pool = at(report, "config/settings.py:5")
    assert (pool.settings["HOST"].value, pool.settings["CONN_MAX_AGE"].value) == ("localhost", 0)


def test_a_function_registered_again_under_its_name_is_not_followed_for_its_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # oslo.db's `@_init_connection_args.dispatch_for("mysql+mysqldb")`: the last body defined under the name is
    # MySQL's, which a PostgreSQL URL never runs; the dispatcher chooses, so what it changes is not read
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/engines.py": """
                from sqlalchemy import create_engine
                from app.utils import dispatch_for_dialect

                @dispatch_for_dialect("*", multiple=True)
                def _init_args(url, engine_args):
                    engine_args["connect_args"]["application_name"] = "app"

                @_init_args.dispatch_for("mysql+mysqldb")
                def _init_args(url, engine_args):
                    engine_args["connect_args"]["use_unicode"] = 1

                def make(url):
                    engine_args = {"connect_args": {}}
                    _init_args(url, engine_args)
                    return create_engine(url, **engine_args)

                engine = make("postgresql://db/app")
            """,
        },
        monkeypatch,
    )
    pool = at(report, "app/engines.py:17")
    assert "connect_args.use_unicode" not in pool.settings
    assert not pool.settings["connect_args"].known  # what the chosen body writes there is the dispatcher's


def test_the_one_instance_a_classmethod_factory_makes_gives_a_dataclass_its_fields(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # renku's DBConfig.from_env(): `cls(host=..., pool_size=pool_size)`, the only instance the app makes; the
    # engine a property's closure makes reads those fields, not the dataclass's defaults
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/config.py": """
                import os
                from dataclasses import dataclass
                from sqlalchemy.ext.asyncio import create_async_engine

                @dataclass
                class DBConfig:
                    host: str = "localhost"
                    pool_size: int = 4

                    @classmethod
                    def from_env(cls):
                        pool_size = int(os.environ.get("DB_POOL_SIZE", "8"))
                        return cls(host=os.environ.get("DB_HOST") or "db", pool_size=pool_size)

                    @property
                    def session_maker(self):
                        db = self

                        def make_session():
                            return create_async_engine(f"postgresql+asyncpg://app@{db.host}/app", pool_size=db.pool_size)

                        return make_session
            """,
            "app/main.py": """
                from app.config import DBConfig

                db = DBConfig.from_env()
                session_maker = db.session_maker
            """,
        },
        monkeypatch,
    )
    pool = at(report, "app/config.py:20")
    size, url = pool.settings["pool_size"], pool.settings["url"]
    assert (size.value, size.env) == (8, "DB_POOL_SIZE")
    assert (url.value, url.env) == ("postgresql+asyncpg://app@db/app", "DB_HOST")


def test_setdefault_of_a_key_set_on_some_paths_gives_the_default_on_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # doccano's settings: one `if` makes OPTIONS for MySQL, a later, separate one does
    # `setdefault("OPTIONS", {}).setdefault("driver", ...)` for SQL Server: driver is set whenever the second
    # test holds, not only where the first made OPTIONS too
    report = scan(
        tmp_path,
        {
            "manage.py": manage("site/settings"),
            "site/__init__.py": "",
            "site/settings.py": """
                import os

                DATABASES = {"default": {"ENGINE": os.environ.get("DB_ENGINE", "django.db.backends.postgresql")}}

                if DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
                    DATABASES["default"].setdefault("OPTIONS", {})["charset"] = "utf8mb4"

                if DATABASES["default"]["ENGINE"] == "sql_server.pyodbc":
                    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("driver", "ODBC Driver 17")
            """,
        },
        monkeypatch,
    )
    driver = at(report, "site/settings.py:3").settings["OPTIONS.driver"]
    set_when = [b.when for b in driver.branches if b.value == "ODBC Driver 17"]
    assert set_when and all("mysql" not in (when or "") for when in set_when)


def test_configmanager_items_read_as_attributes_are_their_schema_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pyaleph: `Config(schema=get_defaults())` (configmanager), read as `config.postgres.pool_size.value`
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/config.py": """
                from configmanager import Config

                def get_defaults():
                    return {"postgres": {"host": "db", "pool_size": 50, "pool_recycle": 3600}}

                app_config = Config(schema=get_defaults())
            """,
            "app/db.py": """
                from sqlalchemy import create_engine
                from app.config import app_config

                def make_engine(config=None):
                    config = config or app_config
                    return create_engine(
                        f"postgresql://app@{config.postgres.host.value}/app",
                        pool_size=config.postgres.pool_size.value,
                        pool_recycle=config.postgres.pool_recycle.value,
                    )

                engine = make_engine(app_config)
            """,
        },
        monkeypatch,
    )
    pool = at(report, "app/db.py:12")
    assert pool.settings["url"].value == "postgresql://app@db/app"
    assert (pool.settings["pool_size"].value, pool.settings["pool_recycle"].value) == (50, 3600)


@pytest.mark.parametrize(
    ("imports", "annotation"),
    [
        ("from app.deps import SettingsDep", "SettingsDep"),  # ooni's type alias, imported
        ("from app.deps import get_settings", "Annotated[Settings, Depends(get_settings)]"),
        ("", "Annotated[Settings, Depends()]"),  # the type is the dependency
    ],
)
def test_a_fastapi_dependency_parameter_is_what_the_dependency_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, imports: str, annotation: str
) -> None:
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/config.py": """
                from pydantic_settings import BaseSettings

                class Settings(BaseSettings):
                    postgresql_url: str = "postgresql://api@db/api"
                    pool_size: int = 7
            """,
            "app/deps.py": """
                from functools import lru_cache
                from typing import Annotated, TypeAlias
                from fastapi import Depends
                from app.config import Settings

                @lru_cache
                def get_settings() -> Settings:
                    return Settings()

                SettingsDep: TypeAlias = Annotated[Settings, Depends(get_settings)]
            """,
            "app/db.py": f"""
                from typing import Annotated
                from fastapi import Depends
                from sqlalchemy import create_engine
                from app.config import Settings
                {imports}

                def get_session(settings: {annotation}):
                    engine = create_engine(settings.postgresql_url, pool_size=settings.pool_size)
                    return engine
            """,
        },
        monkeypatch,
    )
    pool = at(report, "app/db.py:8")
    url = pool.settings["url"]
    assert (url.value, url.env) == ("postgresql://api@db/api", "POSTGRESQL_URL")
    assert pool.settings["pool_size"].value == 7


def test_a_project_class_subscripted_through_its_getitem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Empire's DatabaseConfig: `__getitem__` returns `getattr(self, key)`, so `config["postgres"]` is its field
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/config.py": """
                from pydantic import BaseModel

                class PostgresConfig(BaseModel):
                    host: str = "db"
                    pool_size: int = 12

                class DatabaseConfig(BaseModel):
                    use: str = "postgres"
                    postgres: PostgresConfig = PostgresConfig()

                    def __getitem__(self, key):
                        return getattr(self, key)

                database = DatabaseConfig()
            """,
            "app/db.py": """
                from sqlalchemy import create_engine
                from app.config import database

                chosen = database[database.use]
                engine = create_engine(f"postgresql://app@{chosen.host}/app", pool_size=chosen.pool_size)
            """,
        },
        monkeypatch,
    )
    pool = at(report, "app/db.py:5")
    assert (pool.settings["url"].value, pool.settings["pool_size"].value) == ("postgresql://app@db/app", 12)


def test_keys_written_into_a_librarys_databases_are_the_projects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # open-zaak: DATABASES comes from an installed framework's settings by a star import; the keys the project
    # writes into it afterwards are its own, the rest the library's (unresolved)
    report = scan(
        tmp_path,
        {
            "manage.py": manage("site/settings"),
            "site/__init__.py": "",
            "site/settings.py": """
                from open_api_framework.conf.base import *

                DATABASES["default"]["ENGINE"] = "django.contrib.gis.db.backends.postgis"
                DATABASES["default"]["CONN_MAX_AGE"] = 60
            """,
        },
        monkeypatch,
    )
    pool = at(report, "site/settings.py:3")
    assert pool.settings["ENGINE"].value == "django.contrib.gis.db.backends.postgis"
    assert pool.settings["CONN_MAX_AGE"].value == 60
    assert pool.unresolved


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        ("config.postgres.pool_size.value = 25", 25),  # its setter
        ('config.yaml.load("/etc/app/config.yaml")', None),  # the deployment's file: unknown
        ('config.load_values({"postgres": {"pool_size": 3}})', None),
        ('if os.environ.get("APP_CONFIG"):\n    config.yaml.load(os.environ["APP_CONFIG"])', 10),  # with it unset
    ],
)
def test_configmanager_values_the_code_sets_or_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, after: str, expected: int | None
) -> None:
    report = scan(
        tmp_path,
        {
            "db.py": "import os\n"
            "from configmanager import Config\n"
            "from sqlalchemy import create_engine\n"
            'config = Config({"postgres": {"pool_size": 10}})\n'
            f"{after}\n"
            'engine = create_engine("postgresql://db/app", pool_size=config.postgres.pool_size.value)\n',
        },
        monkeypatch,
    )
    pool = next(p for p in report.pools if p.file == "db.py")
    size = pool.settings["pool_size"]
    assert size.value == expected and size.known is (expected is not None)


def test_django_environment_config_takes_a_dict_default_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # env_config's DatabaseURLValue.convert: a default that is no string is the alias's config unparsed
    report = scan(
        tmp_path,
        {
            "manage.py": manage("site/settings"),
            "site/__init__.py": "",
            "site/settings.py": """
                from env_config import Environment, values

                class Production(Environment, use_environ=True):
                    DATABASES = values.DatabaseURLValue(
                        default={"ENGINE": "django.db.backends.postgresql", "NAME": "app", "CONN_MAX_AGE": 60},
                    )
            """,
        },
        monkeypatch,
    )
    assert at(report, "site/settings.py:5").settings["CONN_MAX_AGE"].value == 60


def test_a_redefined_function_that_writes_a_setting_leaves_it_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (review) which definition runs is decided at run time: the value it writes is no known default
    report = scan(
        tmp_path,
        {
            "app.py": """
                import functools
                from sqlalchemy import create_engine

                def _tune(args):
                    args["pool_size"] = 10

                @functools.wraps(_tune)
                def _tune(args):
                    args["pool_size"] = 30

                engine_args = {"pool_size": 5}
                _tune(engine_args)
                engine = create_engine("postgresql://db/a", **engine_args)
            """,
        },
        monkeypatch,
    )
    assert not at(report, "app.py:13").settings["pool_size"].known


def test_a_parameter_a_method_passes_its_own_self_for_is_not_given_that_class(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (review) `copy_to_shadow(self, name)` in Store: only BigStore, a subclass with its own factory, is made
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/shadow.py": "def copy_to_shadow(store, name):\n    return store.open_store(name)\n",
            "app/base.py": """
                import sqlalchemy
                from app.shadow import copy_to_shadow

                class Store:
                    def open_store(self, name):
                        return sqlalchemy.create_engine("postgresql://db/" + name, pool_size=5)

                    def run(self, name):
                        return copy_to_shadow(self, name)

                class BigStore(Store):
                    def open_store(self, name):
                        return sqlalchemy.create_engine("postgresql://db/" + name, pool_size=40)

                store = BigStore()
            """,
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools if p.file == "app/shadow.py"] == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ('setattr(cfg, "pool_size", 20)', 20),
        ("def grow(c):\n    c.pool_size = 99\n    return c\ngrow(cfg)", 99),
        ('def grow(c):\n    setattr(c, "pool_size", 99)\ngrow(cfg)', 99),
        ('def override(c, key, value):\n    setattr(c, key, value)\noverride(cfg, "pool_size", 50)', None),
    ],
)
def test_attributes_set_on_a_settings_instance_after_it_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, changes: str, expected: int | None
) -> None:
    # (review) setattr at a module's top, and a helper that sets an attribute of the instance it is handed
    app = (
        "import sqlalchemy\n"
        "class Cfg:\n"
        "    def __init__(self):\n"
        "        self.pool_size = 5\n"
        "cfg = Cfg()\n"
        f"{changes}\n"
        'engine = sqlalchemy.create_engine("postgresql://db/a", pool_size=cfg.pool_size)\n'
    )
    report = scan(tmp_path, {"app.py": app}, monkeypatch)
    pool = next(p for p in report.pools if p.file == "app.py")
    assert pool.settings["pool_size"].value == expected and pool.settings["pool_size"].known is (expected is not None)


@pytest.mark.parametrize(
    "loading",
    [
        "def _load():\n    with open('/etc/app.yaml') as f:\n        globals().update(yaml.safe_load(f))\n_load()",
        "with open('/etc/app.yaml') as f:\n    locals().update(yaml.safe_load(f))",
    ],
)
def test_globals_updated_from_a_function_or_locals_at_the_top_make_settings_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loading: str
) -> None:
    settings = (
        "import yaml\n"
        'DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "app", "CONN_MAX_AGE": 0}}\n'
        f"{loading}\n"
    )
    report = scan(
        tmp_path,
        {
            "manage.py": manage("site/settings"),
            "site/__init__.py": "",
            "site/settings.py": settings,
        },
        monkeypatch,
    )
    pool = next(p for p in report.pools if p.file == "site/settings.py")
    assert pool.get("CONN_MAX_AGE") is None or not pool.settings["CONN_MAX_AGE"].known
    assert pool.unresolved


def test_a_write_through_get_of_a_key_the_dict_has_is_a_write_to_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = scan(
        tmp_path,
        {
            "manage.py": manage("site/settings"),
            "site/__init__.py": "",
            "site/settings.py": """
                DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "app"}}

                def checks(databases):
                    databases.get("default", {})["CONN_HEALTH_CHECKS"] = True
                    databases.get("replica", {})["CONN_MAX_AGE"] = 60

                checks(DATABASES)
            """,
        },
        monkeypatch,
    )
    pool = at(report, "site/settings.py:1")
    assert pool.settings["CONN_HEALTH_CHECKS"].value is True
    assert [p.call for p in report.pools] == ["DATABASES['default']"]


def test_the_class_of_a_methods_self_is_unknown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # (review) `self.__class__.POOL` in a base method: only the subclass is made
    report = scan(
        tmp_path,
        {
            "app.py": """
                import sqlalchemy

                class Base:
                    POOL = 5

                    def engine(self):
                        return sqlalchemy.create_engine("postgresql://db/a", pool_size=self.__class__.POOL)

                class Big(Base):
                    POOL = 50

                engine = Big().engine()
            """,
        },
        monkeypatch,
    )
    assert all(p.settings["pool_size"].value != 5 for p in report.pools)


def test_a_helper_handed_a_dict_whose_every_path_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # (crash, CKAN's environment.py) a function with no way out but a raise left no locals to read
    report = scan(
        tmp_path,
        {
            "app.py": """
                from sqlalchemy import create_engine

                def refuse(options):
                    options["pool_size"] = 1
                    raise SystemExit("no database configured")

                options = {"pool_size": 5}
                try:
                    refuse(options)
                except SystemExit:
                    pass
                engine = create_engine("postgresql://db/a", **options)
            """,
        },
        monkeypatch,
    )
    assert not report.warnings
    assert at(report, "app.py:12").settings["pool_size"].value == 5


def test_a_pool_an_abstract_base_makes_from_what_its_one_subclass_instance_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # AstrBot: BaseDatabase.__init__ reads self.DATABASE_URL, which SQLiteDatabase.__init__ sets before calling
    # super().__init__(); the base's own class attribute ("") gave a WRONG known connect_args {}
    report = scan(
        tmp_path,
        {
            "bot/__init__.py": "",
            "bot/db/__init__.py": """
                import abc
                from sqlalchemy.ext.asyncio import create_async_engine

                class BaseDatabase(abc.ABC):
                    DATABASE_URL = ""

                    def __init__(self) -> None:
                        connect_args = {"timeout": 30} if "sqlite" in self.DATABASE_URL else {}
                        self.engine = create_async_engine(self.DATABASE_URL, connect_args=connect_args)
            """,
            "bot/db/sqlite.py": """
                from bot.db import BaseDatabase

                class SQLiteDatabase(BaseDatabase):
                    def __init__(self, db_path):
                        self.DATABASE_URL = f"sqlite+aiosqlite:///{db_path}"
                        super().__init__()
            """,
            "bot/core.py": """
                from bot.db.sqlite import SQLiteDatabase

                db_helper = SQLiteDatabase("data/bot.db")
            """,
        },
        monkeypatch,
    )
    pool = at(report, "bot/db/__init__.py:9")
    assert pool.settings["url"].value == "sqlite+aiosqlite:///data/bot.db"
    assert pool.settings["connect_args.timeout"].value == 30


@pytest.mark.parametrize(
    ("name", "aside"),
    [
        ("settings/testmysql.py", "tests"),
        ("settings/test_postgres.py", "tests"),
        ("settings/production.py", None),
        ("config/testnet.py", None),  # (review) a deployment's own settings, not a test database's
        ("settings/testing_defaults.py", None),
    ],
)
def test_a_settings_packages_test_module_is_the_tests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, aside: str | None
) -> None:
    # archivematica's settings/testmysql.py, which only the integration tests' compose file names
    report = scan(
        tmp_path, {name: 'import asyncpg\n\npool = asyncpg.create_pool("postgresql://a@db/a")\n'}, monkeypatch
    )
    assert [p.aside for p in report.pools] == [aside]


def test_a_flask_config_instances_property_is_what_from_object_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # realms-wiki: `conf = Config()` whose `SQLALCHEMY_DATABASE_URI` is a property returning self.DB_URI
    report = scan(
        tmp_path,
        {
            "wiki/__init__.py": """
                from flask import Flask
                from flask_sqlalchemy import SQLAlchemy

                db = SQLAlchemy()

                def create_app():
                    app = Flask(__name__)
                    app.config.from_object("wiki.config.conf")
                    db.init_app(app)
                    return app
            """,
            "wiki/config/__init__.py": """
                class Config:
                    DB_URI = "postgresql://wiki@db/wiki"
                    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

                    @property
                    def SQLALCHEMY_DATABASE_URI(self):
                        return self.DB_URI

                conf = Config()
            """,
        },
        monkeypatch,
    )
    pool = at(report, "wiki/__init__.py:9")
    assert pool.settings["url"].value == "postgresql://wiki@db/wiki"


def test_a_pydantic_1_validator_for_every_field_meets_each_fields_own_name_and_type(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # MoviePilot: `@validator("*", pre=True, always=True)` branching on field.name and field.type_
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/config.py": """
                import secrets
                from pydantic import BaseSettings, validator

                class Settings(BaseSettings):
                    API_TOKEN: str = ""
                    DB_POOL_SIZE: int = 100
                    DB_POOL_PRE_PING: bool = False

                    @validator("*", pre=True, always=True)
                    def generic_type_validator(cls, value, field):
                        if field.name == "API_TOKEN":
                            return value or secrets.token_urlsafe(16)
                        if field.type_ is bool:
                            return value if isinstance(value, bool) else field.default
                        if field.type_ is int:
                            return int(value)
                        return value

                settings = Settings()
            """,
            "app/db.py": """
                from sqlalchemy import create_engine
                from app.config import settings

                engine = create_engine(
                    "postgresql://db/app", pool_size=settings.DB_POOL_SIZE, pool_pre_ping=settings.DB_POOL_PRE_PING
                )
            """,
        },
        monkeypatch,
    )
    pool = at(report, "app/db.py:4")
    assert (pool.settings["pool_size"].value, pool.settings["pool_size"].env) == (100, "DB_POOL_SIZE")
    assert pool.settings["pool_pre_ping"].value is False and pool.settings["pool_pre_ping"].known


def test_safirs_engines_are_named_in_warnings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # gafaelfawr: every engine is safir's (9.3: create_async_engine(url) inside); a method of the app's own named
    # `initialize` is no library's
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/main.py": """
                from safir.database import create_database_engine
                from safir.dependencies.arq import arq_dependency
                from safir.dependencies.db_session import db_session_dependency

                class Cache:
                    def initialize(self, url):
                        return url

                async def startup(config):
                    await arq_dependency.initialize(mode=config.mode, redis_settings=config.redis)
                    await db_session_dependency.initialize(config.database_url, config.database_password)
                    Cache().initialize(config.database_url)
                    return create_database_engine(config.database_url, config.database_password)
            """,
        },
        monkeypatch,
    )
    assert report.pools == []
    assert sorted(w.split(": ", 1)[0] for w in report.warnings) == ["app/main.py:11", "app/main.py:13"]


def test_globals_updated_from_a_function_make_lower_case_names_unknown_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = scan(
        tmp_path,
        {
            "app.py": """
                import json
                from sqlalchemy import create_engine

                db_url = "postgresql://db/dev"
                pool_size = 5

                def load(path):
                    with open(path) as f:
                        globals().update(json.load(f))

                load("/etc/app.json")
                engine = create_engine(db_url, pool_size=pool_size)
            """,
        },
        monkeypatch,
    )
    pool = at(report, "app.py:12")
    assert not pool.settings["url"].known and not pool.settings["pool_size"].known
