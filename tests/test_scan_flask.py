"""Flask-SQLAlchemy's engines as an app's configuration makes them: one engine per app (and per bind), its keys
merged from the classes and modules the app loads and the writes after them, in program order.

Each project is a few small files written here; line numbers in the assertions are the fixtures' own.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_scan import at, scan, values

from pool_doctor.scan.model import NOT_SET

CONFIG = """
class Settings:
    SQLALCHEMY_DATABASE_URI = "postgresql://web@pg/shop"
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "pool_recycle": 600}
"""


@pytest.mark.parametrize(
    ("load", "override"),
    [
        ("from_object(Settings)", 'app.config["SQLALCHEMY_POOL_SIZE"] = 15'),
        ('from_object("settings.Settings")', "app.config.update(SQLALCHEMY_POOL_SIZE=15)"),
        ("from_object(Settings())", 'app.config.update({"SQLALCHEMY_POOL_SIZE": 15})'),
    ],
)
def test_a_loaded_class_and_the_writes_after_it_are_one_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, load: str, override: str
) -> None:
    (tmp_path / "requirements.txt").write_text("Flask-SQLAlchemy==2.5.1\n")  # (2.x reads SQLALCHEMY_POOL_*)
    report = scan(
        tmp_path,
        {
            "settings.py": CONFIG,
            "web.py": f"""
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            from settings import Settings

            db = SQLAlchemy()


            def make_app():
                app = Flask(__name__)
                app.config.{load}
                {override}
                db.init_app(app)
                return app
            """,
        },
        monkeypatch,
    )
    # One engine, at the call that makes it (init_app); each value from where it is written.
    assert [p.where for p in report.pools] == ["web.py:13"]
    pool = report.pools[0]
    assert values(pool) == {
        "url": "postgresql://web@pg/shop",
        "pool_pre_ping": True,
        "pool_recycle": 600,
        "pool_size": 15,
    }
    assert pool.settings["pool_size"].from_ == "web.py:12"
    assert pool.settings["pool_recycle"].from_ == "settings.py:3"
    assert not pool.at_import
    assert not [f.code for _, f in report.findings if f.code == "no-liveness-check"]


def test_a_later_write_wins_over_the_loaded_class(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = scan(
        tmp_path,
        {
            "settings.py": CONFIG,
            "web.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            app = Flask(__name__)
            app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": 4}
            app.config.from_object("settings.Settings")
            app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://web@other/shop"
            db = SQLAlchemy(app)
            """,
        },
        monkeypatch,
    )
    pool = at(report, "web.py:8")
    # The class's options replace the dict written before the load; the URL written after it wins.
    assert values(pool) == {"url": "postgresql://web@other/shop", "pool_pre_ping": True, "pool_recycle": 600}
    assert pool.at_import  # SQLAlchemy(app) at module level makes the engine as the module is imported


def test_the_extensions_engine_options_are_defaults_under_the_apps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = scan(
        tmp_path,
        {
            "settings.py": """
            import os

            class Settings:
                SQLALCHEMY_DATABASE_URI = os.environ.get("DB_URL", "postgresql://web@pg/shop")
                SQLALCHEMY_ENGINE_OPTIONS = {"pool_recycle": 900}
            """,
            "ext.py": """
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy(engine_options={"pool_pre_ping": True, "pool_recycle": 120})
            """,
            "web.py": """
            from flask import Flask

            from ext import db
            from settings import Settings

            def make_app():
                app = Flask(__name__)
                app.config.from_object(Settings)
                db.init_app(app)
                return app
            """,
        },
        monkeypatch,
    )
    # Flask-SQLAlchemy 3's init_app: engine_options updated by SQLALCHEMY_ENGINE_OPTIONS; one engine, made in
    # make_app (no engine at import: SQLAlchemy(engine_options=...) alone makes none).
    assert [p.where for p in report.pools] == ["web.py:9"]
    pool = report.pools[0]
    assert values(pool) == {"url": "postgresql://web@pg/shop", "pool_pre_ping": True, "pool_recycle": 900}
    assert pool.settings["pool_pre_ping"].from_ == "ext.py:3"
    assert pool.settings["url"].env == "DB_URL"
    assert not [f for _, f in report.findings if f.code == "engine-at-import"]


def test_a_class_body_reads_the_module_global_of_the_same_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = scan(
        tmp_path,
        {
            "settings.py": """
            import os

            DATABASE_URL = os.environ.get("DB_URL", "postgresql://web@pg/shop")

            class Settings:
                DATABASE_URL = DATABASE_URL
                SQLALCHEMY_DATABASE_URI = DATABASE_URL
            """,
            "app.py": "from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n",
        },
        monkeypatch,
    )
    url = at(report, "settings.py:5").settings["url"]
    assert (url.value, url.from_, url.env) == ("postgresql://web@pg/shop", "settings.py:3", "DB_URL")


def test_a_settings_field_named_like_flasks_key_in_a_project_without_flask_is_no_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The full-stack FastAPI template's `SQLALCHEMY_DATABASE_URI` settings field: the engine the project makes
    is its pool; the class is not a Flask-SQLAlchemy configuration (was: a second pool, flagged and counted)."""
    report = scan(
        tmp_path,
        {
            "app.py": """
            from pydantic_settings import BaseSettings
            from sqlalchemy import create_engine

            class Settings(BaseSettings):
                SQLALCHEMY_DATABASE_URI: str = "postgresql+psycopg://shop@db/shop"

            engine = create_engine(Settings().SQLALCHEMY_DATABASE_URI, pool_pre_ping=True)
            """,
        },
        monkeypatch,
    )
    assert [(p.where, p.stack) for p in report.pools] == [("app.py:7", "sqlalchemy")]


def test_the_word_flask_alone_does_not_make_a_config_class_flasks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """reflex: a class of SQLALCHEMY_POOL_SIZE-like settings in a project whose only "flask" is an icon's name
    (`"flask_round"`) is no Flask-SQLAlchemy pool (was one, with Flask-SQLAlchemy's defaults judged)."""
    report = scan(
        tmp_path,
        {
            "environment.py": """
            class EnvironmentVariables:
                SQLALCHEMY_POOL_SIZE: int = 5
                SQLALCHEMY_MAX_OVERFLOW: int = 10
            """,
            "icons.py": 'ICONS = ["flask_round", "flask_conical"]\n',
        },
        monkeypatch,
    )
    assert report.pools == []


def test_module_constants_a_loaded_class_reads_are_no_pool_of_their_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = scan(
        tmp_path,
        {
            "settings.py": """
            import os

            SQLALCHEMY_DATABASE_URI = os.environ.get("DB_URL", "postgresql://web@pg/shop")
            SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 2}

            class Settings:
                SQLALCHEMY_DATABASE_URI = SQLALCHEMY_DATABASE_URI
                SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 7}
            """,
            "web.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            from settings import Settings

            app = Flask(__name__)
            app.config.from_object(Settings)
            db = SQLAlchemy(app)
            """,
        },
        monkeypatch,
    )
    # The module's own constants are read by the class, never loaded themselves: no pool of their own.
    assert [p.where for p in report.pools] == ["web.py:8"]
    pool = report.pools[0]
    assert values(pool) == {"url": "postgresql://web@pg/shop", "pool_size": 7}
    assert (pool.settings["url"].from_, pool.settings["url"].env) == ("settings.py:3", "DB_URL")


def test_a_settings_module_loaded_by_name_is_the_apps_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = scan(
        tmp_path,
        {
            "settings.py": """
            SQLALCHEMY_DATABASE_URI = "postgresql://web@pg/shop"
            SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 3}
            """,
            "other_settings.py": """
            SQLALCHEMY_DATABASE_URI = "postgresql://web@pg/other"
            """,
            "web.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()

            def make_app():
                app = Flask(__name__)
                app.config.from_pyfile("settings.py")
                app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_timeout"] = 5
                db.init_app(app)
                return app
            """,
        },
        monkeypatch,
    )
    # other_settings.py is loaded by no app (and every load is read): no pool.
    assert [p.where for p in report.pools] == ["web.py:10"]
    assert values(report.pools[0]) == {"url": "postgresql://web@pg/shop", "pool_size": 3, "pool_timeout": 5}


def test_config_sources_stay_pools_while_a_load_cannot_be_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = scan(
        tmp_path,
        {
            "settings.py": """
            class Base:
                SQLALCHEMY_DATABASE_URI = "postgresql://web@pg/shop"

            class Production(Base):
                SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 20}

            class Development(Base):
                SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 2}

            CONFIGS = {"production": Production, "development": Development}
            """,
            "web.py": """
            import os

            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            from settings import CONFIGS

            db = SQLAlchemy()

            def make_app():
                app = Flask(__name__)
                app.config.from_object(CONFIGS[os.environ.get("APP_ENV", "development")])
                db.init_app(app)
                return app
            """,
        },
        monkeypatch,
    )
    # The variable picks the class: the app's one engine is Development's with no variable set, and each class
    # the map holds is a branch of it (the judge takes the worst), not an engine of its own.
    assert [p.where for p in report.pools] == ["web.py:13"]
    assert values(at(report, "web.py:13")) == {"url": "postgresql://web@pg/shop", "pool_size": 2}
    size = at(report, "web.py:13").settings["pool_size"]
    assert {b.value for b in size.branches} == {2, 20}


def test_a_test_in_a_loaded_class_keeps_its_branches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = scan(
        tmp_path,
        {
            "settings.py": """
            import os

            class Settings:
                DATABASE_URL = os.getenv("DATABASE_URL", "sqlite:///app.db")
                SQLALCHEMY_DATABASE_URI = DATABASE_URL
                if not DATABASE_URL.startswith("sqlite"):
                    SQLALCHEMY_ENGINE_OPTIONS = {"max_overflow": 20}
            """,
            "web.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            app = Flask(__name__)
            app.config.from_object("settings.Settings")
            app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})["pool_pre_ping"] = True
            db = SQLAlchemy(app)
            """,
        },
        monkeypatch,
    )
    pool = at(report, "web.py:7")
    overflow = pool.settings["max_overflow"]
    assert [(b.value, b.expr) for b in overflow.branches] == [(None, NOT_SET), (20, None)]  # no variable set: first
    assert pool.settings["pool_pre_ping"].value is True  # added to each branch's dict


def test_writes_inside_the_engine_options_dict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = scan(
        tmp_path,
        {
            "web.py": """
            import os

            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            app = Flask(__name__)
            app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://web@pg/shop"
            app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": 6}
            if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
                app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_recycle"] = int(os.getenv("RECYCLE", "240"))
            app.config["SQLALCHEMY_ENGINE_OPTIONS"].update({"max_overflow": 1}, pool_timeout=9)
            app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})["pool_pre_ping"] = True
            app.config["SQLALCHEMY_ENGINE_OPTIONS"].setdefault("pool_size", 99)
            db = SQLAlchemy(app)
            """,
        },
        monkeypatch,
    )
    pool = at(report, "web.py:14")
    assert values(pool) == {
        "url": "postgresql://web@pg/shop",
        "pool_size": 6,
        "pool_recycle": 240,
        "max_overflow": 1,
        "pool_timeout": 9,
        "pool_pre_ping": True,
    }
    assert (pool.settings["pool_recycle"].from_, pool.settings["pool_recycle"].env) == ("web.py:10", "RECYCLE")


@pytest.mark.parametrize(
    ("calls", "expected"),
    [
        ("configure(app, 30)", 30),  # the one call's argument
        ("configure(app)", 8),  # the parameter's default
        ("configure(app, 30)\n    configure(app, 40)", None),  # two calls: unknown
    ],
)
def test_a_parameter_is_never_the_global_of_the_same_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, calls: str, expected: int | None
) -> None:
    report = scan(
        tmp_path,
        {
            "web.py": f"""
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

POOL_SIZE = 5
db = SQLAlchemy()


def configure(app, POOL_SIZE=8):
    app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://web@pg/shop"
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {{"pool_size": POOL_SIZE}}
    db.init_app(app)


def make_app():
    app = Flask(__name__)
    {calls}
    return app
""",
        },
        monkeypatch,
    )
    size = at(report, "web.py:11").settings["pool_size"]
    assert size.value == expected
    assert size.known is (expected is not None)
    assert size.from_ != "web.py:4"


def test_each_bind_is_an_engine_of_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = scan(
        tmp_path,
        {
            "web.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            app = Flask(__name__)
            app.config.update(
                SQLALCHEMY_DATABASE_URI="postgresql://web@pg/shop",
                SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 10},
                SQLALCHEMY_BINDS={
                    "audit": "postgresql://web@pg/audit",
                    "reports": {"url": "postgresql://web@replica/shop", "pool_size": 2, "pool_recycle": 300},
                },
            )
            db = SQLAlchemy(app, engine_options={"pool_pre_ping": True})
            """,
        },
        monkeypatch,
    )
    # Each engine at a place of its own: the app's at SQLAlchemy(app), a bind's at its entry.
    assert {(p.where, p.call) for p in report.pools} == {
        ("web.py:13", "app.config"),
        ("web.py:9", "SQLALCHEMY_BINDS['audit']"),
        ("web.py:10", "SQLALCHEMY_BINDS['reports']"),
    }
    assert values(at(report, "web.py:13")) == {
        "url": "postgresql://web@pg/shop",
        "pool_pre_ping": True,
        "pool_size": 10,
    }
    # A bind takes the extension's engine_options, never SQLALCHEMY_ENGINE_OPTIONS (Flask-SQLAlchemy 3).
    assert values(at(report, "web.py:9")) == {"url": "postgresql://web@pg/audit", "pool_pre_ping": True}
    assert values(at(report, "web.py:10")) == {
        "url": "postgresql://web@replica/shop",
        "pool_pre_ping": True,
        "pool_size": 2,
        "pool_recycle": 300,
    }


def test_binds_alone_make_no_default_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = scan(
        tmp_path,
        {
            "settings.py": """
            class Settings:
                SQLALCHEMY_BINDS = {
                    "users": {"url": "postgresql://web@pg/users", "pool_size": 3},
                    "orders": "postgresql://web@pg/orders",
                }
            """,
            "web.py": "import flask_sqlalchemy\n\ndb = flask_sqlalchemy.SQLAlchemy()\n",
        },
        monkeypatch,
    )
    # A class no load is seen reading is still reported, as its engines: one per bind, no default one (no URI).
    assert {(p.where, p.call) for p in report.pools} == {
        ("settings.py:3", "SQLALCHEMY_BINDS['users']"),
        ("settings.py:4", "SQLALCHEMY_BINDS['orders']"),
    }
    assert values(at(report, "settings.py:3")) == {"url": "postgresql://web@pg/users", "pool_size": 3}


@pytest.mark.parametrize(("caller", "alone"), [("web_main.py", []), ("serve.txt", ["settings.py:4"])])
def test_a_class_a_factory_takes_as_a_parameter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caller: str, alone: list[str]
) -> None:
    report = scan(
        tmp_path,
        {
            "settings.py": """
            class Settings:
                SQLALCHEMY_DATABASE_URI = "postgresql://web@pg/shop"

            class Staging(Settings):
                SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 9}
            """,
            "web.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            from settings import Settings

            db = SQLAlchemy()

            def make_app(settings=Settings):
                app = Flask(__name__)
                app.config.from_object(settings)
                db.init_app(app)
                return app
            """,
            caller: "from web import make_app\n\napp = make_app()\n",
            "tests/test_web.py": "from settings import Staging\nfrom web import make_app\n\nmake_app(Staging)\n",
        },
        monkeypatch,
    )
    # The app's one call gives the default (the tests' call does not count): Staging is no app's. With no call in
    # sight the default is a guess, and the classes it may be instead are still reported.
    assert values(at(report, "web.py:11")) == {"url": "postgresql://web@pg/shop"}
    assert [p.where for p in report.pools if p.file == "settings.py"] == alone


def test_config_classes_of_an_app_flask_appbuilder_binds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Flask-AppBuilder's `SQLA(app)` (or `flask.ext.sqlalchemy`) never spells flask_sqlalchemy: a config class
    loaded through a variable is still the app's possible configuration (was: no pool at all)."""
    report = scan(
        tmp_path,
        {
            "app.py": """
            import os
            from flask import Flask
            from flask_appbuilder import SQLA

            app = Flask(__name__)
            app.config.from_object(os.environ["APP_SETTINGS"])
            db = SQLA(app)
            """,
            "config.py": """
            class Config:
                SQLALCHEMY_DATABASE_URI = "postgresql://app@db/app"
                SQLALCHEMY_ENGINE_OPTIONS = {"pool_recycle": 280}
            """,
        },
        monkeypatch,
    )
    assert values(at(report, "config.py:1"))["pool_recycle"] == 280


def test_the_engine_is_placed_where_a_helper_or_a_late_import_binds_the_extension(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """flaskbb configures the app in one helper and binds `db` in another, both called by the factory; CTFd
    imports `db` inside create_app. The engine is at `db.init_app(app)` (was: at the `from_object` line)."""
    report = scan(
        tmp_path,
        {
            "shop/__init__.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()

            class Base:
                SQLALCHEMY_DATABASE_URI = "postgresql://shop@db/shop"
                SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 7}

            def make_app():
                app = Flask(__name__)
                apply_config(app)
                register_extensions(app)
                return app

            def apply_config(app):
                app.config.from_object(Base)

            def register_extensions(app):
                db.init_app(app)
            """,
            "ctf/__init__.py": """
            from flask import Flask

            class Base:
                SQLALCHEMY_DATABASE_URI = "postgresql://ctf@db/ctf"

            def create_app():
                app = Flask(__name__)
                app.config.from_object(Base)
                from ctf.models import db

                db.init_app(app)
                return app
            """,
            "ctf/models.py": "from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n",
        },
        monkeypatch,
    )
    assert sorted(pool.where for pool in report.pools) == ["ctf/__init__.py:11", "shop/__init__.py:20"]
    assert values(at(report, "shop/__init__.py:20"))["pool_size"] == 7


def test_a_loaded_name_that_is_an_instance_of_a_config_class(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`from_object("shop.settings.Settings")` where Settings is an instance (`Settings = ServerSettings()`,
    CTFd): its class's keys, the engine at init_app (was: only the class, reported alone)."""
    report = scan(
        tmp_path,
        {
            "shop/__init__.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()

            def make_app(config="shop.settings.Settings"):
                app = Flask(__name__)
                app.config.from_object(config)
                db.init_app(app)
                return app
            """,
            "shop/settings.py": """
            class ServerSettings:
                SQLALCHEMY_DATABASE_URI = "postgresql://shop@db/shop"
                SQLALCHEMY_ENGINE_OPTIONS = {"max_overflow": 20}

            Settings = ServerSettings()
            """,
            "wsgi.py": "from shop import make_app\n\napp = make_app()\n",
        },
        monkeypatch,
    )
    assert [pool.where for pool in report.pools] == ["shop/__init__.py:9"]
    assert values(report.pools[0]) == {"url": "postgresql://shop@db/shop", "max_overflow": 20}


def test_keys_a_prefixed_variable_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`app.config.from_prefixed_env()` (Flask 2.1+): each key set before it is named by its FLASK_ variable
    (`prefix="SHOP"`: SHOP_); a key written after it is the code's alone."""
    (tmp_path / "requirements.txt").write_text("Flask-SQLAlchemy==2.5.1\n")  # (2.x reads SQLALCHEMY_POOL_*)
    report = scan(
        tmp_path,
        {
            "app.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            class Base:
                SQLALCHEMY_DATABASE_URI = "postgresql://shop@db/shop"
                SQLALCHEMY_POOL_SIZE = 7

            app = Flask(__name__)
            app.config.from_object(Base)
            app.config.from_prefixed_env(prefix="SHOP")
            app.config["SQLALCHEMY_POOL_RECYCLE"] = 300
            db = SQLAlchemy(app)
            """,
        },
        monkeypatch,
    )
    pool = report.pools[0]
    assert values(pool) == {"url": "postgresql://shop@db/shop", "pool_size": 7, "pool_recycle": 300}
    assert {key: value.env for key, value in pool.settings.items()} == {
        "url": "SHOP_SQLALCHEMY_DATABASE_URI",
        "pool_size": "SHOP_SQLALCHEMY_POOL_SIZE",
        "pool_recycle": None,
    }


def test_a_subclass_that_pins_pool_options_in_the_extensions_hook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """lemur's `class SQLAlchemy(flask_sqlalchemy.SQLAlchemy)` whose `apply_pool_defaults(app, options)` sets
    `options["pool_pre_ping"] = True` for every engine: Flask-SQLAlchemy 2 applies it under the app's own
    options, 3 never calls it, so it is that version's branch (was: not reported). What 3's
    `_apply_driver_defaults(options, app)` writes wins over the app's options (as a run with 3.1.1 shows:
    pre_ping False, recycle the hook's)."""
    report = scan(
        tmp_path,
        {
            "app.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy as Base

            class SQLAlchemy(Base):
                def apply_pool_defaults(self, app, options):
                    options = super().apply_pool_defaults(app, options)
                    options["pool_pre_ping"] = True
                    return options

                def _apply_driver_defaults(self, options, app):
                    super()._apply_driver_defaults(options, app)
                    options["pool_recycle"] = 77

            db = SQLAlchemy()

            def make_app():
                app = Flask(__name__)
                app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://app@db/app"
                app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_recycle": 499}
                db.init_app(app)
                return app
            """,
        },
        monkeypatch,
    )
    pool = at(report, "app.py:20")
    assert values(pool) == {"url": "postgresql://app@db/app", "pool_recycle": 77, "pool_pre_ping": None}
    ping = pool.settings["pool_pre_ping"]
    assert [(b.value if b.known else b.expr, b.when) for b in ping.branches] == [
        (True, "Flask-SQLAlchemy 2"),
        (NOT_SET, "Flask-SQLAlchemy 3, which never calls it"),
    ]
    assert pool.settings["pool_recycle"].from_ == "app.py:12"


def test_pinned_options_reach_a_config_loaded_at_run_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """lemur loads its config from a file named at run time: its config module is reported as the engine's
    configuration, with what the project's extension subclass pins (Flask-SQLAlchemy 2's branch; was: without
    pool_pre_ping, and a second, split entry at init_app holding only the pinned option). No release is pinned:
    the 2.x key SQLALCHEMY_POOL_RECYCLE is a branch too (3.x reads none)."""
    report = scan(
        tmp_path,
        {
            "app.py": """
            import os
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy as Base

            class SQLAlchemy(Base):
                def apply_pool_defaults(self, app, options):
                    options["pool_pre_ping"] = True
                    return options

            db = SQLAlchemy()

            def make_app():
                app = Flask(__name__)
                app.config.from_pyfile(os.environ["APP_CONF"])
                db.init_app(app)
                return app
            """,
            "app.conf.py": 'SQLALCHEMY_DATABASE_URI = "postgresql://app@db/app"\nSQLALCHEMY_POOL_RECYCLE = 499\n',
        },
        monkeypatch,
    )
    assert [pool.where for pool in report.pools] == ["app.conf.py:1"]
    assert values(report.pools[0]) == {"url": "postgresql://app@db/app", "pool_recycle": None, "pool_pre_ping": None}
    assert [b.value for b in report.pools[0].settings["pool_pre_ping"].branches] == [True, None]
    assert [b.value for b in report.pools[0].settings["pool_recycle"].branches] == [499, None]
