"""`scan_path` following values the way real projects spread them (issue 29), continued from
test_scan_follow_more.py: shapes found on held-out projects after that file's. Each project is a few small
files written here (never a copy of a real one); line numbers in the assertions are the fixtures' own."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_scan import at, scan


def test_a_walrus_through_a_secret_helper_is_the_variable_where_the_test_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `if url := secret("X"):` with a helper that reads X_FILE or X: on the side where the test holds, the
    # helper's os.getenv branch is X's value, never its default None (privacyidea's DockerConfig).
    report = scan(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/config.py": """
            import os

            def secret(name):
                if f"{name}_FILE" in os.environ:
                    with open(os.environ[f"{name}_FILE"]) as f:
                        return f.read().strip()
                return os.getenv(name)

            class DockerConfig:
                if url := secret("APP_DATABASE_URL"):
                    SQLALCHEMY_DATABASE_URI = url
            """,
            "pkg/app.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy
            from pkg.config import DockerConfig

            db = SQLAlchemy()

            def create_app():
                app = Flask(__name__)
                app.config.from_object(DockerConfig)
                db.init_app(app)
                return app
            """,
        },
        monkeypatch,
    )
    url = at(report, "pkg/app.py:10").settings["url"]
    assert not any(branch.known for branch in url.branches), url.branches
    assert [branch.expr for branch in url.branches][2] == "$APP_DATABASE_URL"
    assert url.branches[2].env == "APP_DATABASE_URL"


def test_a_url_known_to_be_none_where_create_engine_refuses_one_is_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A class loaded by name (importlib) with the app's config: read with `config=None`, its URL comes out None,
    # which create_engine refuses (SQLAlchemy 2.1.9: ArgumentError), so no run has it (privacyidea's audit).
    report = scan(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/auditsql.py": """
            from sqlalchemy import create_engine

            class Audit:
                def __init__(self, config=None):
                    self.config = config or {}
                    self.engine = self._create_engine()

                def _create_engine(self):
                    url = self.config.get("AUDIT_SQL_URI", self.config.get("SQLALCHEMY_DATABASE_URI"))
                    return create_engine(url, pool_recycle=self.config.get("AUDIT_POOL_RECYCLE", 600))
            """,
            "pkg/audit.py": """
            import importlib

            def get_audit(config):
                return importlib.import_module(config["AUDIT_MODULE"]).Audit(config)
            """,
        },
        monkeypatch,
    )
    url = at(report, "pkg/auditsql.py:6").settings["url"]
    assert (url.known, url.value, url.expr) == (False, None, "url")
    assert at(report, "pkg/auditsql.py:6").settings["pool_recycle"].value == 600


def test_a_model_validator_after_fills_the_fields_it_sets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # pydantic runs a `@model_validator(mode="after")` on the instance once its fields are read: what it sets is
    # the value (cognee's fill_derived; checked by running such a class: db.internal 20), the variable's
    # where the variable is set; the fields' own defaults ("", 0) are never the answer.
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/config.py": """
            import pydantic
            from pydantic_settings import BaseSettings

            class DBConfig(BaseSettings):
                db_host: str = ""
                pool_size: int = 0
                pool_recycle: int = 300

                @pydantic.model_validator(mode="after")
                def fill_derived(self):
                    if not self.db_host:
                        self.db_host = "db.internal"
                    if not self.pool_size:
                        self.pool_size = 20
                    return self

            config = DBConfig()
            """,
            "app/engine.py": """
            from sqlalchemy import create_engine
            from app.config import config

            engine = create_engine(
                f"postgresql://app@{config.db_host}/app",
                pool_size=config.pool_size,
                pool_recycle=config.pool_recycle,
            )
            """,
        },
        monkeypatch,
    )
    pool = at(report, "app/engine.py:4")
    assert pool.settings["url"].value == "postgresql://app@db.internal/app"
    size = pool.settings["pool_size"]
    assert (size.value, size.env, size.from_) == (20, "POOL_SIZE", "app/config.py:14")
    assert [(b.value, b.known, b.expr) for b in size.branches][1] == (None, False, "$POOL_SIZE")
    recycle = pool.settings["pool_recycle"]
    assert (recycle.value, recycle.env, recycle.branches) == (300, "POOL_RECYCLE", ())


def test_a_replica_made_only_when_its_variable_is_set_has_that_variable_as_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `X: str | None = None` tested before the pool is made: create_engine refuses None, so the URL there is
    # the variable's (Skyvern's replica), never a known None.
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/config.py": """
            from pydantic_settings import BaseSettings

            class Settings(BaseSettings):
                DATABASE_STRING: str = "postgresql+asyncpg://app@localhost/app"
                DATABASE_REPLICA_STRING: str | None = None

            settings = Settings()
            """,
            "app/main.py": """
            from sqlalchemy.ext.asyncio import create_async_engine
            from app.config import settings

            primary = create_async_engine(settings.DATABASE_STRING)
            if settings.DATABASE_REPLICA_STRING and settings.DATABASE_REPLICA_STRING != settings.DATABASE_STRING:
                replica = create_async_engine(settings.DATABASE_REPLICA_STRING)
            """,
        },
        monkeypatch,
    )
    url = at(report, "app/main.py:6").settings["url"]
    assert (url.known, url.env, url.expr) == (False, "DATABASE_REPLICA_STRING", "$DATABASE_REPLICA_STRING")
    assert at(report, "app/main.py:4").settings["url"].value == "postgresql+asyncpg://app@localhost/app"


def test_an_ini_placeholder_the_code_fills_at_run_time_is_that_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # alembic.ini `sqlalchemy.url = %(DB_URI)s`, filled by `set_section_option` before the engine is made
    # (cognee): configparser interpolates it, so the URL is what the code sets, never the placeholder's text;
    # a placeholder nothing fills is unknown (configparser raises InterpolationMissingOptionError).
    report = scan(
        tmp_path,
        {
            "alembic.ini": "[alembic]\nscript_location = migrations\nsqlalchemy.url = %(DB_URI)s\n"
            "sqlalchemy.pool_recycle = %(recycle)s\nrecycle = 280\n",
            "migrations/env.py": """
            import os
            from alembic import context
            from sqlalchemy import engine_from_config, pool

            config = context.config
            config.set_section_option(config.config_ini_section, "DB_URI", os.environ["APP_DATABASE_URL"])

            def run_migrations_online():
                connectable = engine_from_config(
                    config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
                )
            """,
            "other/alembic.ini": "[alembic]\nsqlalchemy.url = postgresql://h/%(missing)s\n",
            "other/env.py": """
            from alembic import context
            from sqlalchemy import engine_from_config

            engine = engine_from_config(context.config.get_section("alembic"), prefix="sqlalchemy.")
            """,
        },
        monkeypatch,
    )
    pool = at(report, "migrations/env.py:9")
    url = pool.settings["url"]
    assert (url.known, url.env) == (False, "APP_DATABASE_URL")
    assert pool.settings["pool_recycle"].value == 280
    other = at(report, "other/env.py:4").settings["url"]
    assert (other.known, other.expr) == (
        False,
        "[alembic] sqlalchemy.url = postgresql://h/%(missing)s: nothing gives missing",
    )


def test_a_model_validator_that_returns_early_by_default_leaves_its_fields(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `if self.URL_NON_POOLING is None: return self` before it rewrites the host (polar): with no variable set
    # the fields are as read, and a URL built from them through a library builder stays known (pydantic 2.13.4
    # builds it with no "/" when no path is given).
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/config.py": """
            from urllib.parse import urlparse
            from pydantic import PostgresDsn, model_validator
            from pydantic_settings import BaseSettings

            class Settings(BaseSettings):
                POSTGRES_HOST: str = "127.0.0.1"
                POSTGRES_URL_NON_POOLING: str | None = None

                @model_validator(mode="after")
                def apply_non_pooling(self):
                    if self.POSTGRES_URL_NON_POOLING is None:
                        return self
                    url = urlparse(self.POSTGRES_URL_NON_POOLING)
                    if url.hostname:
                        self.POSTGRES_HOST = url.hostname
                    return self

                def dsn(self):
                    return str(PostgresDsn.build(scheme="postgresql+asyncpg", username="app", host=self.POSTGRES_HOST))

            settings = Settings()
            """,
            "app/db.py": """
            from sqlalchemy.ext.asyncio import create_async_engine
            from app.config import settings

            engine = create_async_engine(settings.dsn())
            """,
        },
        monkeypatch,
    )
    url = at(report, "app/db.py:4").settings["url"]
    assert (url.known, url.value, url.env) == (True, "postgresql+asyncpg://app@127.0.0.1", "POSTGRES_HOST")


def test_flask_config_from_an_instance_whose_init_sets_the_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `app.config.from_object(DevelopmentConfig())` with SQLALCHEMY_* set on self in __init__ (OpenOversight):
    # from_object reads the instance's attributes, so the engine is at db.init_app with them.
    report = scan(
        tmp_path,
        {
            "app/__init__.py": """
            from flask import Flask
            from app.config import config
            from app.database import db

            def create_app(config_name="default"):
                app = Flask(__name__)
                app.config.from_object(config[config_name])
                db.init_app(app)
                return app
            """,
            "app/database.py": "from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n",
            "app/config.py": """
            import os

            class BaseConfig:
                def __init__(self):
                    self.SQLALCHEMY_DATABASE_URI = os.environ.get("SQLALCHEMY_DATABASE_URI", "postgresql://h/app")
                    self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

            class DevelopmentConfig(BaseConfig):
                def __init__(self):
                    super().__init__()
                    self.SQLALCHEMY_ECHO = True

            config = {"default": DevelopmentConfig()}
            """,
        },
        monkeypatch,
    )
    pool = at(report, "app/__init__.py:8")
    url = pool.settings["url"]
    assert (url.value, url.env, url.from_) == ("postgresql://h/app", "SQLALCHEMY_DATABASE_URI", "app/config.py:5")
    assert (pool.settings["pool_pre_ping"].value, pool.settings["echo"].value) == (True, True)


def test_a_flask_extension_import_alone_makes_no_flask_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A pydantic settings class with a leftover SQLALCHEMY_ENGINE_OPTIONS, and a stale `from flask_migrate import`
    # (tasking-manager, now FastAPI): no Flask app, so no Flask-SQLAlchemy pool.
    report = scan(
        tmp_path,
        {
            "backend/config.py": """
            from pydantic_settings import BaseSettings

            class Settings(BaseSettings):
                SQLALCHEMY_DATABASE_URI: str = "postgresql://h/app"
                SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_size": 10}
            """,
            "manage.py": "from flask_migrate import Migrate\n",
        },
        monkeypatch,
    )
    assert report.pools == []


def test_settings_star_imported_through_a_package_that_star_imports_its_base(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # test.py: `from app.settings import *`, whose __init__ is `from app.settings.base import *` (ralph): the
    # DATABASES test.py updates is base.py's, each update under its test; a name prod.py reads is base.py's too.
    report = scan(
        tmp_path,
        {
            "src/app/__init__.py": "",
            "src/app/settings/__init__.py": "from app.settings.base import *  # noqa\n",
            "src/app/settings/base.py": """
            import os

            TIMEOUT = 60
            DATABASES = {
                "default": {
                    "ENGINE": os.environ.get("DATABASE_ENGINE", "django.db.backends.mysql"),
                    "CONN_MAX_AGE": TIMEOUT,
                }
            }
            """,
            "src/app/settings/test.py": """
            import os
            from app.settings import *  # noqa

            if os.environ.get("TEST_DB_ENGINE", "mysql") == "psql":
                DATABASES["default"].update({"ENGINE": "django.db.backends.postgresql"})
            """,
            "src/app/settings/prod.py": """
            from app.settings import *  # noqa

            DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "CONN_MAX_AGE": TIMEOUT * 5}}
            """,
            "src/app/db.py": """
            from sqlalchemy import create_engine
            from app.settings.test import TIMEOUT

            engine = create_engine("postgresql://h/d", pool_recycle=TIMEOUT)
            """,
        },
        monkeypatch,
    )
    pool = at(report, "src/app/settings/test.py:5")
    engine = pool.settings["ENGINE"]
    assert (engine.value, engine.env) == ("django.db.backends.mysql", "DATABASE_ENGINE")
    assert [b.value for b in engine.branches] == ["django.db.backends.mysql", "django.db.backends.postgresql"]
    assert pool.settings["CONN_MAX_AGE"].value == 60
    assert at(report, "src/app/settings/prod.py:3").settings["CONN_MAX_AGE"].value == 300
    assert at(report, "src/app/db.py:4").settings["pool_recycle"].value == 60  # imported through both


def test_values_a_variable_decides_name_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The variable behind a value stays its origin: a variable whose default depends on another (nautobot's
    # ENGINE: DB_ENGINE overrides both sides), `json.loads(os.getenv("X") or "{}")` (linkding's OPTIONS), and
    # `"%s" % (...)` (security_monkey's URL). A flag that only picks a side (keep's `True if FLAG else False`)
    # is its branches' test, not a variable that overrides the value.
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/db.py": """
            import os
            from sqlalchemy import create_engine

            PRE_PING = os.environ.get("PRE_PING", "0") == "1"
            engine = create_engine(
                "postgresql://%s@%s/db" % (os.getenv("DB_USER", "app"), os.getenv("DB_HOST", "localhost")),
                pool_pre_ping=True if PRE_PING else False,
            )
            """,
            "app/settings.py": """
            import json
            import os

            METRICS = os.getenv("METRICS", "false") == "true"
            DATABASES = {
                "default": {
                    "ENGINE": os.getenv(
                        "DB_ENGINE", "django_prometheus.db.backends.postgresql" if METRICS else "django.db.backends.postgresql"
                    ),
                    "OPTIONS": json.loads(os.getenv("DB_OPTIONS") or "{}"),
                }
            }
            """,
        },
        monkeypatch,
    )
    pool = at(report, "app/db.py:5")
    url = pool.settings["url"]
    assert (url.value, url.env) == ("postgresql://app@localhost/db", "DB_USER")
    pre_ping = pool.settings["pool_pre_ping"]
    assert (pre_ping.value, [b.when for b in pre_ping.branches]) == (False, ["not (PRE_PING)", "PRE_PING"])
    django = at(report, "app/settings.py:6")
    engine = django.settings["ENGINE"]
    assert (engine.value, engine.env) == ("django.db.backends.postgresql", "DB_ENGINE")
    assert {b.env for b in engine.branches} == {"DB_ENGINE"}
    options = django.settings["OPTIONS"]
    assert (options.value, options.env) == ({}, "DB_OPTIONS")


def test_flask_config_from_a_path_built_on_one_side_of_an_if(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `if os.environ.get("APP_SETTINGS"): from_envvar(...) else: path = join(dirname(...)); from_pyfile(path)`
    # at module level, then `db = SQLAlchemy(app)` (security_monkey): the path is the one that side builds, so
    # the engine is at SQLAlchemy(app) with that file's URL, and the variable's file is listed as unread.
    report = scan(
        tmp_path,
        {
            "env-config/config.py": 'SQLALCHEMY_DATABASE_URI = "postgresql://app@localhost/appdb"\n',
            "security_app/__init__.py": """
            import os
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            app = Flask(__name__)
            if os.environ.get("APP_SETTINGS"):
                app.config.from_envvar("APP_SETTINGS")
            else:
                from os.path import dirname, join, isfile
                path = join(join(dirname(dirname(__file__)), "env-config"), "config.py")
                if isfile(path):
                    app.config.from_pyfile(path)
                else:
                    exit(-1)

            db = SQLAlchemy(app)
            """,
        },
        monkeypatch,
    )
    pool = at(report, "security_app/__init__.py:16")
    url = pool.settings["url"]
    assert (url.value, url.from_) == ("postgresql://app@localhost/appdb", "env-config/config.py:1")
    assert pool.unresolved == ['app.config.from_envvar("APP_SETTINGS") (not read)']


def test_a_model_validator_that_changes_a_field_only_when_its_variable_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # cognee's `if self.pool_args and isinstance(self.pool_args, str): self.pool_args = tuple(...)`: with no
    # variable set the field is as read (None), so the defaults the engine's builder sets stay known.
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/config.py": """
            import json
            import pydantic
            from pydantic_settings import BaseSettings

            class RelationalConfig(BaseSettings):
                pool_args: str | None = None

                @pydantic.model_validator(mode="after")
                def parse_pool_args(self):
                    if self.pool_args and isinstance(self.pool_args, str):
                        self.pool_args = tuple(sorted(json.loads(self.pool_args).items()))
                    return self

            config = RelationalConfig()
            """,
            "app/engine.py": """
            from sqlalchemy.ext.asyncio import create_async_engine
            from app.config import config

            def build(url, pool_args=None):
                pool_args = dict(pool_args) if pool_args else {}
                if pool_args.get("poolclass", "").lower() == "nullpool":
                    pool_args["poolclass"] = "NullPool"
                else:
                    pool_args.setdefault("pool_size", 5)
                return create_async_engine(url, **pool_args)

            engine = build("postgresql+asyncpg://app@db/app", config.pool_args)
            """,
        },
        monkeypatch,
    )
    size = at(report, "app/engine.py:12").settings["pool_size"]
    assert (size.known, size.value) == (True, 5)


def test_the_last_star_import_that_gives_a_name_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # settings/__init__.py: `from .common import *` (which star-imports base.py) then `from .local import *`:
    # Python keeps local's POOL_SIZE (checked: 20), read by name or by star import.
    report = scan(
        tmp_path,
        {
            "settings/__init__.py": "from .common import *\nfrom .local import *\n",
            "settings/common.py": "from .base import *\n",
            "settings/base.py": "POOL_SIZE = 5\n",
            "settings/local.py": "POOL_SIZE = 20\n",
            "db.py": """
            from sqlalchemy import create_engine
            from settings import *

            engine = create_engine("postgresql://h/d", pool_size=POOL_SIZE)
            """,
            "db2.py": """
            from sqlalchemy import create_engine
            from settings import POOL_SIZE

            engine = create_engine("postgresql://h/d2", pool_size=POOL_SIZE)
            """,
        },
        monkeypatch,
    )
    assert at(report, "db.py:4").settings["pool_size"].value == 20
    assert at(report, "db2.py:4").settings["pool_size"].value == 20


def test_model_validators_run_in_pydantics_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Checked with pydantic 2.13.4: a field validator reading info.data meets fields before any model validator
    # (db_url 'postgresql://app@/app'); after-validators run as written, each meeting what those before it
    # leave; a subclass's method of the same name replaces its base's (3), and one not decorated removes it (0).
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/config.py": """
            from pydantic import ValidationInfo, field_validator, model_validator
            from pydantic_settings import BaseSettings

            class Settings(BaseSettings):
                db_host: str = ""
                db_url: str = ""
                other_url: str = ""

                @field_validator("db_url")
                @classmethod
                def build_url(cls, v, info: ValidationInfo):
                    return v or f"postgresql://app@{info.data['db_host']}/app"

                @model_validator(mode="after")
                def build_other(self):
                    if not self.other_url:
                        self.other_url = f"postgresql://app@{self.db_host}/other"
                    return self

                @model_validator(mode="after")
                def fill_host(self):
                    if not self.db_host:
                        self.db_host = "db.internal"
                    return self

            class Base(BaseSettings):
                pool_size: int = 0

                @model_validator(mode="after")
                def fill(self):
                    if not self.pool_size:
                        self.pool_size = 20
                    return self

            class Prod(Base):
                @model_validator(mode="after")
                def fill(self):
                    if not self.pool_size:
                        self.pool_size = 3
                    return self

            class Test(Base):
                def fill(self):
                    return self

            settings = Settings()
            prod = Prod()
            test = Test()
            """,
            "app/db.py": """
            from sqlalchemy import create_engine
            from app.config import prod, settings, test

            a = create_engine(settings.db_url, pool_size=prod.pool_size)
            b = create_engine(settings.other_url, pool_size=test.pool_size)
            """,
        },
        monkeypatch,
    )
    first, second = at(report, "app/db.py:4").settings, at(report, "app/db.py:5").settings
    assert (first["url"].value, first["pool_size"].value) == ("postgresql://app@/app", 3)
    assert (second["url"].value, second["pool_size"].value) == ("postgresql://app@/other", 0)


def test_review_shapes_of_walrus_none_urls_and_percent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `if (url := secret("X")) is not None:` narrows like `if url := ...:`; a URL whose default branch is a
    # variable with no default is that variable's at the top too; `"%s" % [a, b]` is one argument (TypeError
    # here), so unknown, never the tuple's text.
    report = scan(
        tmp_path,
        {
            "db.py": """
            import os
            from sqlalchemy import create_engine

            def secret(name):
                if f"{name}_FILE" in os.environ:
                    return open(os.environ[f"{name}_FILE"]).read()
                return os.getenv(name)

            if (walrus := secret("APP_URL")) is not None:
                a = create_engine(walrus)
            if os.getenv("PROD"):
                url = "postgresql://prod/db"
            else:
                url = os.getenv("DATABASE_URL")
            b = create_engine(url)
            c = create_engine("postgresql://%s@%s/list" % ["u", "h"])
            d = create_engine(os.getenv("X") if __import__("sys").argv[1] == "a" else "postgresql://h/d")
            """,
        },
        monkeypatch,
    )
    walrus = at(report, "db.py:10").settings["url"]
    assert not any(branch.known for branch in walrus.branches) and not walrus.known
    url = at(report, "db.py:15").settings["url"]
    assert (url.known, url.expr, url.env) == (False, "$DATABASE_URL", "DATABASE_URL")
    assert not at(report, "db.py:16").settings["url"].known
    either = at(report, "db.py:17").settings["url"]  # its text says what its branches say
    assert (either.known, either.expr.startswith("one of: ? when "), either.branches[0].expr) == (False, True, "$X")


def test_flask_is_seen_however_it_is_imported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `import os, flask` with Windows line ends, and an app that loads its config by a variable's name: the
    # config module is the engine's source, as before the import test was narrowed to Flask itself.
    (tmp_path / "requirements.txt").write_text("Flask-SQLAlchemy==2.5.1\n")  # (2.x reads SQLALCHEMY_POOL_*)
    report = scan(
        tmp_path,
        {
            "app.py": "import os, flask\r\nfrom flask_appbuilder import SQLA\r\n\r\napp = flask.Flask(__name__)\r\n"
            'app.config.from_object(os.environ["APP_CONFIG"])\r\ndb = SQLA(app)\r\n',
            "config.py": """
            SQLALCHEMY_DATABASE_URI = "postgresql://app@db/app"
            SQLALCHEMY_POOL_SIZE = 15
            """,
        },
        monkeypatch,
    )
    assert at(report, "config.py:1").settings["pool_size"].value == 15


def test_flask_config_instances_an_app_picks_by_a_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # OpenOversight: `create_app(name)` loads `config[name]` (instances whose __init__ sets the keys) and is
    # called with two names: the engine at the bind, with a branch per name its callers give (as dribdat's
    # classes), none lost.
    report = scan(
        tmp_path,
        {
            "app/__init__.py": """
            import os
            from flask import Flask
            from app.config import config
            from app.database import db

            def create_app(config_name="default"):
                app = Flask(__name__)
                app.config.from_object(config[config_name])
                db.init_app(app)
                return app

            app = create_app()
            other = create_app(os.environ.get("ENV", "production"))
            """,
            "app/database.py": "from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n",
            "app/config.py": """
            import os

            class DevelopmentConfig:
                def __init__(self):
                    self.SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URI")
                    self.SQLALCHEMY_ECHO = True

            class ProductionConfig:
                def __init__(self):
                    self.SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URI")

            config = {"default": DevelopmentConfig(), "production": ProductionConfig()}
            """,
        },
        monkeypatch,
    )
    engine = at(report, "app/__init__.py:9").settings
    assert [(b.value, b.when) for b in engine["echo"].branches] == [
        (True, "config_name == 'default'"),
        (None, "config_name == 'production'"),
    ]
    assert engine["url"].env == "DATABASE_URI" and len(report.pools) == 1


def test_an_attribute_a_helper_only_init_calls_sets_is_the_instances(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # buildbot: __init__ calls self.create_child_services(), which sets self.db; start() calls self.db.setup(URL),
    # a wrapper around create_engine: the pool is at that call with its URL. A helper something else calls
    # again is not part of __init__ (its attribute may change after).
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/connector.py": """
            import sqlalchemy as sa

            class DBConnector:
                def setup(self, db_url):
                    self._engine = sa.create_engine(db_url, pool_size=7)
            """,
            "app/master.py": """
            from app import connector

            DB_URL = "postgresql://app@localhost/app"

            class Master:
                def __init__(self):
                    self.create_child_services()

                def create_child_services(self):
                    self.db = connector.DBConnector()

                def start(self):
                    self.db.setup(DB_URL)
            """,
        },
        monkeypatch,
    )
    pool = at(report, "app/master.py:13")
    assert (pool.settings["url"].value, pool.settings["pool_size"].value) == ("postgresql://app@localhost/app", 7)
