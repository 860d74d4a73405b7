"""`scan_path` following values the way real projects spread them (issue 29), continued from
test_scan_follow_round6.py. Each project is a few small files written here (never a copy of a real one); line
numbers in the assertions are the fixtures' own."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_scan import at, scan, values

DEVELOPMENT_INI = """
[app:main]
use = egg:myadmin
pyramid.reload_templates = true
sqlalchemy.url = postgresql://app@db:5432/admin
sqlalchemy.pool_recycle = 30
"""


@pytest.mark.parametrize(
    "read",
    ["config.registry.settings", "config.get_settings()"],
)
def test_a_pyramid_configurator_holds_the_settings_it_was_made_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, read: str
) -> None:
    # c2cgeoportal's admin and Kotti: `Configurator(settings=settings)`, then the engine from
    # `config.get_settings()` or `config.registry.settings`. Pyramid 2.0's Configurator.setup_registry makes the
    # registry's settings from the dict given (`Settings(settings)`, a dict of it plus Pyramid's own keys), and
    # get_settings() returns `self.registry.settings`. The ini's values were lost.
    report = scan(
        tmp_path,
        {
            "myadmin/__init__.py": f"""
            from pyramid.config import Configurator
            from sqlalchemy import engine_from_config

            def main(_, **settings):
                config = Configurator(settings=settings)
                engine = engine_from_config({read})
                return config.make_wsgi_app()
            """,
            "development.ini": DEVELOPMENT_INI,
        },
        monkeypatch,
    )
    pool = at(report, "myadmin/__init__.py:6")
    assert values(pool) == {"url": "postgresql://app@db:5432/admin", "pool_recycle": 30}
    assert pool.settings["pool_recycle"].from_ == "development.ini:5"


def test_a_configurator_returned_by_a_helper_keeps_its_settings_and_what_is_stored_into_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Kotti: main() gets its Configurator from base_configure(), which fills in the settings' defaults, makes the
    # Configurator and stores into `config.registry.settings`; a testing helper calls main() with its own URL.
    # A store into the registry's settings is what later readers see, so a URL put there wins over the ini's.
    report = scan(
        tmp_path,
        {
            "myadmin/__init__.py": """
            import os
            from pyramid.config import Configurator
            from sqlalchemy import engine_from_config

            DEFAULTS = {"sqlalchemy.pool_recycle": "300", "myadmin.includes": ""}

            def main(global_config, **settings):
                config = base_configure(global_config, **settings)
                engine = engine_from_config(config.registry.settings)
                return config.make_wsgi_app()

            def base_configure(global_config, **settings):
                for key, value in DEFAULTS.items():
                    settings.setdefault(key, value)
                includes = settings.pop("myadmin.includes", "")
                config = Configurator(settings=settings)
                config.registry.settings["myadmin.includes"] = includes
                if os.environ.get("ADMIN_DB"):
                    config.registry.settings["sqlalchemy.url"] = os.environ["ADMIN_DB"]
                return config
            """,
            "myadmin/testing.py": """
            from myadmin import main

            def set_up(**extra):
                return main({}, **{"sqlalchemy.url": "sqlite://"}, **extra)
            """,
            "development.ini": DEVELOPMENT_INI,
        },
        monkeypatch,
    )
    served = at(report, "myadmin/__init__.py:9")
    url = served.settings["url"]
    assert url.value == "postgresql://app@db:5432/admin" and url.env == "ADMIN_DB"
    assert served.settings["pool_recycle"].value == 30
    tested = at(report, "myadmin/testing.py:4")
    assert values(tested) == {"url": "sqlite://", "pool_recycle": 300}
    assert tested.settings["url"].env == "ADMIN_DB"


def test_settings_a_configurator_adds_are_in_its_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Configurator.add_settings(settings=None, **kw) updates the registry's settings: a value added after the
    # Configurator is made wins over the one it was made with.
    report = scan(
        tmp_path,
        {
            "myadmin/__init__.py": """
            from pyramid.config import Configurator
            from sqlalchemy import engine_from_config

            def main(global_config, **settings):
                config = Configurator(settings=settings)
                config.add_settings({"sqlalchemy.pool_recycle": "60"}, **{"sqlalchemy.echo": "true"})
                engine = engine_from_config(config.get_settings())
                return config.make_wsgi_app()
            """,
            "development.ini": DEVELOPMENT_INI,
        },
        monkeypatch,
    )
    assert values(at(report, "myadmin/__init__.py:7")) == {
        "url": "postgresql://app@db:5432/admin",
        "pool_recycle": 60,
        "echo": True,
    }


def test_a_configurator_made_without_settings_has_none_the_scan_can_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Configurator() with no settings: what an include or a later add_settings puts there is not read here, so
    # the URL is unknown, never the ini's.
    report = scan(
        tmp_path,
        {
            "myadmin/__init__.py": """
            from pyramid.config import Configurator
            from sqlalchemy import engine_from_config

            def main(global_config, **settings):
                config = Configurator()
                config.include("myadmin.db")
                engine = engine_from_config(config.registry.settings)
                return config.make_wsgi_app()
            """,
            "development.ini": DEVELOPMENT_INI,
        },
        monkeypatch,
    )
    pool = at(report, "myadmin/__init__.py:7")
    assert "url" not in values(pool)


def test_only_the_factory_an_ini_names_is_started_with_its_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Kotti's testing helper `setUpFunctional(global_config=None, **settings)` has an app factory's signature, so
    # it was given the ini's settings, and its test engines the ini's URL. PasteDeploy starts the factory that an
    # app section's `use` names: `egg:dist` is the entry point "main", `egg:dist#name` the entry point "name" (its
    # function declared under paste.app_factory), `call:module:function` that function. c2cgeoportal's scaffold
    # ini starts an app of a distribution the tree does not declare.
    report = scan(
        tmp_path,
        {
            "myapp/__init__.py": """
            from sqlalchemy import engine_from_config

            def main(global_config, **settings):
                return engine_from_config(settings)

            def set_up_functional(global_config=None, **settings):
                return engine_from_config(settings)
            """,
            "myapp/admin.py": """
            from sqlalchemy import engine_from_config

            def build(global_config, **settings):
                return engine_from_config(settings)

            def make_api(global_config, **settings):
                return engine_from_config(settings)
            """,
            "setup.py": """
            from setuptools import setup

            setup(
                name="myapp",
                entry_points={"paste.app_factory": ["main = myapp:main", "admin = myapp.admin:build"]},
            )
            """,
            "development.ini": """
            [app:main]
            use = egg:myapp
            sqlalchemy.url = postgresql://app@db/main

            [app:admin]
            use = egg:myapp#admin
            sqlalchemy.url = postgresql://app@db/admin

            [app:api]
            use = call:myapp.admin:make_api
            sqlalchemy.url = postgresql://app@db/api
            """,
            "scaffolds/project/production.ini": """
            [app:main]
            use = egg:{{cookiecutter.package}}
            sqlalchemy.url = postgresql://app@db/scaffold

            [app:other]
            use = egg:otherdist
            sqlalchemy.url = postgresql://app@db/other
            """,
            "scaffolds/project/setup.py": 'from setuptools import setup\n\nsetup(name="{{cookiecutter.package}}")\n',
        },
        monkeypatch,
    )
    assert values(at(report, "myapp/__init__.py:4")) == {"url": "postgresql://app@db/main"}
    assert values(at(report, "myapp/admin.py:4")) == {"url": "postgresql://app@db/admin"}
    assert values(at(report, "myapp/admin.py:7")) == {"url": "postgresql://app@db/api"}
    assert not at(report, "myapp/__init__.py:7").settings["url"].known


def test_an_app_configured_in_one_helper_and_bound_in_another_is_an_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # listenbrainz's admin engine: create_app() loads the config through load_config(app) (from_pyfile of a file
    # written at deploy time), and create_web_app() binds the extension through init_admin(app), which imports
    # the model inside. The config and the bind are two helpers apart; manage.py's create_app() binds nothing.
    report = scan(
        tmp_path,
        {
            "lb/__init__.py": "",
            "lb/model/__init__.py": "from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n",
            "lb/webserver/__init__.py": """
            import os
            from flask import Flask

            def load_config(app):
                config_file = os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "config.py")
                app.config.from_pyfile(config_file)

            def create_app(debug=None):
                app = Flask(__name__)
                load_config(app)
                return app

            def init_admin(app):
                from lb import model
                model.db.init_app(app)

            def create_web_app(debug=None):
                app = create_app(debug=debug)
                init_admin(app)
                return app
            """,
            "lb/server.py": "from lb.webserver import create_web_app\n\napplication = create_web_app()\n",
            "lb/manage.py": "from lb.webserver import create_app\n\n\ndef run():\n    return create_app()\n",
        },
        monkeypatch,
    )
    assert [(p.where, p.stack) for p in report.pools] == [("lb/webserver/__init__.py:15", "flask_sqlalchemy")]
    pool = report.pools[0]
    assert "url" not in values(pool)
    assert any("from_pyfile" in u for u in pool.unresolved)


def test_a_config_file_a_helper_loads_that_the_tree_lacks_still_makes_the_bound_app_an_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The factory writes a key of its own, loads the rest through a helper (a file written at deploy time), and
    # binds: the helper's writes are the factory's, and so is the file it could not read.
    report = scan(
        tmp_path,
        {
            "lb/__init__.py": "",
            "lb/web.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()

            def load_config(app):
                app.config.from_pyfile("/etc/lb/config.py")

            def create_app():
                app = Flask(__name__)
                app.config["SECRET_KEY"] = "dev"
                load_config(app)
                db.init_app(app)
                return app
            """,
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["lb/web.py:13"]


def test_a_value_equal_on_both_sides_of_a_test_keeps_the_origin_in_effect_with_no_variable_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # umap's test settings: base settings read DATABASES from DATABASE_URL (a default URL), and under
    # `if os.environ.get("CI") == "true":` replace it with literals, HOST and PORT the same as the URL's. With
    # CI unset the values are the URL's, which DATABASE_URL changes; the equal literal's origin had won.
    report = scan(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/base.py": """
            import environ

            env = environ.Env()
            DATABASES = {
                "default": env.db(default="postgres://localhost:5432/app"),
            }
            """,
            "proj/test_settings.py": """
            import os

            from proj.base import *  # noqa

            if os.environ.get("CI") == "true":
                DATABASES = {
                    "default": {
                        "ENGINE": "django.db.backends.postgresql",
                        "NAME": "ci",
                        "HOST": "localhost",
                        "PORT": 5432,
                    }
                }
            """,
        },
        monkeypatch,
    )
    pool = at(report, "proj/test_settings.py:7")  # (its alias entry)
    for key in ("ENGINE", "HOST", "PORT"):
        value = pool.settings[key]
        assert (value.from_, value.env) == ("proj/base.py:5", "DATABASE_URL"), key
    assert pool.settings["NAME"].env == "DATABASE_URL"


@pytest.mark.parametrize(
    ("arguments", "prefix"),
    [('ENVVAR_PREFIX_FOR_DYNACONF="PULP", load_dotenv=False', "PULP"), ("", "DJANGO")],
)
def test_django_settings_that_dynaconf_wraps_name_its_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, arguments: str, prefix: str
) -> None:
    # pulpcore ends its settings module with DjangoDynaconf(__name__, ENVVAR_PREFIX_FOR_DYNACONF="PULP"): every
    # upper-case setting is then overridden by `PULP_<NAME>`, a nested key by `__` (dynaconf 3.2
    # contrib/django_dynaconf_v2.py, whose prefix defaults to "DJANGO"). The values read as pinned.
    report = scan(
        tmp_path,
        {
            "manage.py": 'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "pulpapp.settings")\n',
            "pulpapp/__init__.py": "",
            "pulpapp/settings.py": f"""
            import os
            from dynaconf import DjangoDynaconf

            DATABASES = {{
                "default": {{
                    "ENGINE": "django.db.backends.postgresql",
                    "NAME": "pulp",
                    "HOST": os.environ.get("DB_HOST", "localhost"),
                    "CONN_MAX_AGE": 0,
                    "OPTIONS": {{"connect_timeout": 5}},
                }},
            }}

            settings = DjangoDynaconf(__name__, {arguments})
            """,
        },
        monkeypatch,
    )
    pool = at(report, "pulpapp/settings.py:5")
    assert values(pool)["CONN_MAX_AGE"] == 0
    assert pool.settings["CONN_MAX_AGE"].env == f"{prefix}_DATABASES__default__CONN_MAX_AGE"
    assert pool.settings["OPTIONS.connect_timeout"].env == f"{prefix}_DATABASES__default__OPTIONS__connect_timeout"
    assert pool.settings["HOST"].env == "DB_HOST"  # the variable the code reads stays the one named


@pytest.mark.parametrize("others", [0, 38])
def test_defaults_a_loop_overrides_one_variable_at_a_time_name_their_own_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, others: int
) -> None:
    # OpenSlides: a class's dict of 41 defaults, each overwritten in __init__ from the variable of its key's name.
    # Read back afresh on the path that skipped the change, every key looked chosen by the first key's test, so
    # min_size and max_size named DB_A; and past 32 keys the loop was read as "maybe ran", naming none.
    more = "".join(f'"OTHER_{n}": "{n}", ' for n in range(others))
    report = scan(
        tmp_path,
        {
            "app/db.py": f"""
            import os

            from psycopg_pool import ConnectionPool


            class Environment:
                vars = {{"DB_A": "db", "DB_MIN": "4", "DB_MAX": "8", {more}}}

                def __init__(self, os_env):
                    for key in self.vars.keys():
                        value = os_env.get(key)
                        if value is not None:
                            self.vars[key] = value


            env = Environment(os.environ)
            pool = ConnectionPool(env.vars["DB_A"], min_size=int(env.vars["DB_MIN"]), max_size=int(env.vars["DB_MAX"]))
            """,
        },
        monkeypatch,
    )
    pool = at(report, "app/db.py:17")
    assert values(pool) == {"conninfo": "db", "min_size": 4, "max_size": 8}
    assert [pool.settings[key].env for key in ("conninfo", "min_size", "max_size")] == ["DB_A", "DB_MIN", "DB_MAX"]
    assert pool.settings["min_size"].branches[0].env is None


def test_defaults_read_from_a_dotenv_file_with_dotenv_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Nominatim: a Configuration whose __getattr__ reads APP_<NAME> from the environment, else the defaults file
    # shipped in the repository, read with python-dotenv's dotenv_values(Path(__file__) / ".." / "settings" /
    # "env.defaults") (`.resolve()` takes the `..` away). pool_size and echo were unknown.
    report = scan(
        tmp_path,
        {
            "app/config.py": """
            import os
            from pathlib import Path

            from dotenv import dotenv_values

            CONFIG_DIR = (Path(__file__) / ".." / "settings").resolve()


            class Configuration:
                def __init__(self, environ=None):
                    self.environ = os.environ if environ is None else environ
                    self._config = dotenv_values(str(CONFIG_DIR / "env.defaults"))

                def __getattr__(self, name):
                    name = "APP_" + name
                    if name in self.environ:
                        return self.environ[name]
                    return self._config[name] or ""

                def get_bool(self, name):
                    return getattr(self, name).lower() in ("1", "yes", "true")

                def get_int(self, name):
                    return int(getattr(self, name))
            """,
            "app/core.py": """
            from sqlalchemy import create_engine

            from app.config import Configuration

            config = Configuration()
            engine = create_engine(
                "postgresql:///appdb", echo=config.get_bool("DEBUG_SQL"), pool_size=config.get_int("API_POOL_SIZE")
            )
            """,
            "app/settings/env.defaults": 'APP_DATABASE_DSN="pgsql:dbname=appdb"\nAPP_API_POOL_SIZE=5\nAPP_DEBUG_SQL=no\n',
        },
        monkeypatch,
    )
    pool = at(report, "app/core.py:6")
    assert values(pool) == {"url": "postgresql:///appdb", "echo": False, "pool_size": 5}
    size = pool.settings["pool_size"]
    assert (size.from_, size.env) == ("app/settings/env.defaults:2", "APP_API_POOL_SIZE")
    assert pool.settings["echo"].env == "APP_DEBUG_SQL"


LAZY_CLIENT = """
import asyncpg


class Client:
    def __init__(self, service_url, max_db_connections=None):
        self.service_url = service_url
        self.pool = None
        self.max_db_connections = max_db_connections

    async def connect(self):
        if self.pool is None:
            self.pool = await asyncpg.create_pool(dsn=self.service_url, min_size=1, max_size=10)
        return self.pool.acquire()

    async def count(self):
        async with await self.connect() as conn:
            return await conn.fetchval("select 1")

    async def drop(self):
        async with await self.connect() as conn:
            await conn.execute("select 2")
"""


def test_a_method_that_makes_its_pool_once_and_keeps_it_is_one_pool_at_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # python-vector: connect() makes the pool only when self.pool is None and keeps it there; every other method
    # calls it. Each of those calls was reported as a pool of its own (19 in the project) and the real line never.
    report = scan(tmp_path, {"vec/client.py": LAZY_CLIENT}, monkeypatch)
    assert [p.where for p in report.pools] == ["vec/client.py:12"]
    assert {k: v for k, v in values(report.pools[0]).items() if k != "dsn"} == {"min_size": 1, "max_size": 10}


def test_an_attribute_a_test_leaves_alone_keeps_the_value_it_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # python-vector: `if self.max_db_connections == None: self.max_db_connections = await query()`, then
    # create_pool(max_size=self.max_db_connections). Where the test fails the attribute holds the caller's value
    # (unknown here); the scan said "not set", which would mean asyncpg's default of 10.
    report = scan(
        tmp_path,
        {
            "vec/client.py": """
            import asyncpg


            class Client:
                def __init__(self, service_url, max_db_connections=None):
                    self.service_url = service_url
                    self.max_db_connections = max_db_connections

                async def open(self):
                    if self.max_db_connections == None:
                        self.max_db_connections = await self.query_max()
                    self.pool = await asyncpg.create_pool(dsn=self.service_url, max_size=self.max_db_connections)
                    return self.pool

                async def query_max(self):
                    conn = await asyncpg.connect(dsn=self.service_url)
                    return await conn.fetchval("show max_connections")
            """,
        },
        monkeypatch,
    )
    size = at(report, "vec/client.py:12").settings["max_size"]
    assert not size.known
    assert [b.expr for b in size.branches if not b.known] != [] and all(b.expr != "(not set)" for b in size.branches)


def test_a_pool_an_instance_makes_once_has_the_arguments_of_the_one_instance_the_app_makes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = scan(
        tmp_path,
        {
            "vec/client.py": LAZY_CLIENT,
            "vec/app.py": 'import os\nfrom vec.client import Client\n\nclient = Client(os.environ.get("VEC_URL", "postgresql://db/vec"))\n',
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["vec/client.py:12"]
    dsn = report.pools[0].settings["dsn"]
    assert (dsn.value, dsn.env, dsn.from_) == ("postgresql://db/vec", "VEC_URL", "vec/app.py:4")


def test_a_wrapper_called_through_a_parameter_whose_default_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # oslo.db: create_engine(url, ..., _engine_target=_create_engine) builds the engine arguments and returns
    # `_engine_target(url, **engine_args)`. The pool was left at the inner call with `**engine_args` unresolved;
    # it is the app's call, with the settings the factory pins.
    report = scan(
        tmp_path,
        {
            "lib/__init__.py": "",
            "lib/engines.py": """
            import sqlalchemy


            def _create_engine(url, **engine_args):
                return sqlalchemy.create_engine(url, **engine_args)


            def create_engine(sql_connection, connection_recycle_time=3600, max_pool_size=None, _engine_target=_create_engine):
                engine_args = {"pool_recycle": connection_recycle_time, "pool_pre_ping": True}
                if max_pool_size is not None:
                    engine_args["pool_size"] = max_pool_size
                return _engine_target(sql_connection, **engine_args)
            """,
            "lib/app.py": 'from lib import engines\n\nengine = engines.create_engine("postgresql://app@db/app", max_pool_size=5)\n',
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["lib/app.py:3"]
    pool = report.pools[0]
    assert values(pool) == {
        "url": "postgresql://app@db/app",
        "pool_recycle": 3600,
        "pool_pre_ping": True,
        "pool_size": 5,
    }
    assert pool.via == ["lib/engines.py:12", "lib/engines.py:5"]


FLASK_FACTORY = """
import os
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()


def create_app(test_config=None):
    app = Flask(__name__)
    {body}
    db.init_app(app)
    return app
"""


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (  # openFEC: both arms on a parameter the app's own call leaves at None
            'if test_config is None:\n        app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://prod/db"\n'
            '    else:\n        app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://test/db"',
            {"url": ("postgresql://prod/db", [])},
        ),
        (  # one arm, on a variable: the value with none set, and the other as a branch
            'app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://prod/db"\n'
            '    if os.environ.get("TESTING"):\n        app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://test/db"',
            {"url": ("postgresql://prod/db", ["postgresql://prod/db", "postgresql://test/db"])},
        ),
        (  # both arms on a test the scan cannot decide, through update()
            'if app.debug:\n        app.config.update(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1})\n'
            '    else:\n        app.config.update(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 20})\n'
            '    app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://prod/db"',
            {"pool_size": (None, [1, 20])},
        ),
    ],
)
def test_flask_config_written_under_a_test_keeps_each_side(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, expected: dict[str, tuple[object, list[object]]]
) -> None:
    # openFEC: app.config written in both arms of an `if` collapsed to the last one written, so the production
    # engine's URL was the test database's. A test the code decides leaves one arm; one the environment decides
    # gives the value with no variable set and the other as a branch; one nothing decides gives both.
    report = scan(tmp_path, {"rest.py": FLASK_FACTORY.format(body=body)}, monkeypatch)
    assert len(report.pools) == 1
    pool = report.pools[0]
    for key, (value, branches) in expected.items():
        setting = pool.settings[key]
        assert (setting.value, sorted(b.value for b in setting.branches)) == (value, branches), key


def test_an_engine_made_unless_one_is_given_is_made_by_each_caller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # agno: `_engine = db_engine; if _engine is None and db_url is not None: _engine = create_engine(db_url)` in
    # __init__ keeps nothing across calls: each instance the app makes is an engine, at its call. A global the
    # function keeps (`global _DB; if _DB is None: _DB = Database()`) is one, at its own line.
    report = scan(
        tmp_path,
        {
            "app/db.py": """
            from sqlalchemy import create_engine


            class PostgresDb:
                def __init__(self, db_url=None, db_engine=None):
                    _engine = db_engine
                    if _engine is None and db_url is not None:
                        _engine = create_engine(db_url, pool_pre_ping=True)
                    self.db_engine = _engine


            _DB = None


            def get_db():
                global _DB
                if _DB is None:
                    _DB = PostgresDb(db_url="postgresql://app@db/shared")
                return _DB
            """,
            "app/one.py": 'from app.db import PostgresDb, get_db\n\ndb = PostgresDb(db_url="postgresql://app@db/one")\nget_db()\n',
            "app/two.py": "from app.db import get_db\n\n\ndef handler():\n    return get_db()\n",
        },
        monkeypatch,
    )
    assert sorted(p.where for p in report.pools) == ["app/db.py:18", "app/one.py:3"]
    assert values(at(report, "app/one.py:3"))["url"] == "postgresql://app@db/one"
    assert values(at(report, "app/db.py:18"))["url"] == "postgresql://app@db/shared"


def test_a_key_written_under_a_name_the_scan_cannot_read_may_be_any_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # anitya: the config starts from defaults and copies in every key of a TOML file read at run time
    # (`config[key.upper()] = file_config[key]`). The default URL was reported as pinned; the file may set it.
    report = scan(
        tmp_path,
        {
            "app/db.py": """
            import os
            import tomllib

            from sqlalchemy import create_engine

            DEFAULTS = {"DB_URL": "postgresql://localhost/dev", "POOL_SIZE": 5}


            def load():
                config = dict(DEFAULTS)
                with open(os.environ.get("APP_CONFIG", "/etc/app/app.toml"), "rb") as fd:
                    file_config = tomllib.load(fd)
                    for key in file_config:
                        config[key.upper()] = file_config[key]
                return config


            config = load()
            engine = create_engine(config["DB_URL"], pool_size=config["POOL_SIZE"])
            """,
        },
        monkeypatch,
    )
    pool = at(report, "app/db.py:19")
    for key, default in (("url", "postgresql://localhost/dev"), ("pool_size", 5)):
        setting = pool.settings[key]
        assert not setting.known, key
        assert sorted((b.value for b in setting.branches), key=str) == sorted([default, None], key=str), key


def test_an_other_extension_bound_from_a_local_is_no_flask_sqlalchemy_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # anitya: the factory makes its own engine from app.config and binds a LoginManager held in a local; that
    # init_app was taken for Flask-SQLAlchemy's (a local is no module global), and the config a second engine.
    report = scan(
        tmp_path,
        {
            "web/app.py": """
            import flask
            from flask_login import LoginManager
            from sqlalchemy import create_engine

            CONFIG = {"SQLALCHEMY_DATABASE_URI": "postgresql://db/app"}


            def create():
                app = flask.Flask(__name__)
                app.config.update(CONFIG)
                engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], pool_size=3)
                login_manager = LoginManager()
                login_manager.init_app(app)
                return app, engine
            """,
        },
        monkeypatch,
    )
    assert [(p.where, p.stack) for p in report.pools] == [("web/app.py:11", "sqlalchemy")]


@pytest.mark.parametrize(
    "load",
    [
        'app.config.from_envvar("APP_SETTINGS")',
        'app.config.from_file("/etc/app/config.toml", load=tomllib.load, text=False)',
        'app.config.update(tomllib.load(open(os.environ.get("APP_CONFIG", "config/app.toml"), "rb")))',
    ],
)
def test_a_bound_app_whose_config_is_read_at_run_time_is_an_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, load: str
) -> None:
    # GeoNature: the config is a TOML file (app.config.update of what tomllib reads), no SQLALCHEMY_ key is
    # written in Python, and the extension is bound: the app has an engine (Flask-SQLAlchemy 3 makes it at
    # init_app), with a URL the scan cannot read. There was none.
    report = scan(
        tmp_path,
        {
            "app.py": f"""
            import os
            import tomllib

            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()


            def create_app():
                app = Flask(__name__)
                {load}
                db.init_app(app)
                return app
            """,
        },
        monkeypatch,
    )
    assert [(p.where, p.stack) for p in report.pools] == [("app.py:13", "flask_sqlalchemy")]
    assert report.pools[0].unresolved and "url" not in values(report.pools[0])


def test_flask_config_written_under_the_tests_the_bind_runs_under_has_no_unbound_side(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A module that configures and binds only `if sql_connection is not None:`: where it is None no engine is
    # made, so the values are those of the side that binds, and a key set under one more test is split by it.
    (tmp_path / "requirements.txt").write_text("Flask-SQLAlchemy==2.5.1\n")  # (2.x reads SQLALCHEMY_POOL_*)
    report = scan(
        tmp_path,
        {
            "app.py": """
            import os

            import flask
            import flask_sqlalchemy

            DEBUG = os.environ.get("DEBUG") == "1"
            APP = flask.Flask("x")
            sql_connection = os.environ.get("SQL_CONNECTION")
            if sql_connection is not None:
                if DEBUG:
                    APP.config["SQLALCHEMY_ECHO"] = True
                APP.config["SQLALCHEMY_DATABASE_URI"] = sql_connection
                APP.config["SQLALCHEMY_POOL_SIZE"] = 25
                DB = flask_sqlalchemy.SQLAlchemy(APP)
            """,
        },
        monkeypatch,
    )
    pool = at(report, "app.py:14")
    assert pool.settings["pool_size"].value == 25 and not pool.settings["pool_size"].branches
    assert sorted(str(b.value) for b in pool.settings["echo"].branches) == ["None", "True"]


def test_oslo_config_options_give_their_defaults_and_their_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # oslo.db (every OpenStack service): options declared with cfg.IntOpt(name, default=N), registered under a
    # group, read as CONF.database.max_pool_size. The defaults are written in the code; the .conf file and
    # OS_DATABASE__MAX_POOL_SIZE change them. They were unknown, with no origin. A default-less option stays
    # unknown; a mapping's .get() that the scan cannot read names its default's variable (txtai).
    report = scan(
        tmp_path,
        {
            "svc/options.py": """
            from oslo_config import cfg

            database_opts = [
                cfg.StrOpt("connection", secret=True),
                cfg.IntOpt("max_pool_size", default=5),
                cfg.IntOpt("connection_recycle_time", default=3600),
            ]
            cfg.CONF.register_opts(database_opts, group="database")
            """,
            "svc/db.py": """
            import os

            import sqlalchemy
            from oslo_config import cfg

            CONF = cfg.CONF


            def get_engine():
                return sqlalchemy.create_engine(
                    CONF.database.connection,
                    pool_size=CONF.database.max_pool_size,
                    pool_recycle=CONF.database.connection_recycle_time,
                )


            def get_graph(config):
                return sqlalchemy.create_engine(config.get("url", os.environ.get("GRAPH_URL")))
            """,
        },
        monkeypatch,
    )
    pool = at(report, "svc/db.py:10")
    size, url = pool.settings["pool_size"], pool.settings["url"]
    assert (size.value, size.from_, size.env) == (5, "svc/options.py:5", "OS_DATABASE__MAX_POOL_SIZE")
    assert pool.settings["pool_recycle"].value == 3600
    assert (url.known, url.env) == (False, "OS_DATABASE__CONNECTION")
    assert at(report, "svc/db.py:18").settings["url"].env == "GRAPH_URL"


def test_django_settings_a_class_exports_with_databases_as_a_property(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # readthedocs.org: a settings class whose DATABASES is a @property, exported to the module by
    # `DockerSettings.load_settings(__name__)`; a mixin's property takes getattr(super(), "DATABASES", {}) and
    # sets CONN_MAX_AGE on each alias. No pool was found.
    report = scan(
        tmp_path,
        {
            "proj/core.py": """
            import inspect
            import sys


            class Settings:
                @classmethod
                def load_settings(cls, module_name):
                    self = cls()
                    module = sys.modules[module_name]
                    for member, value in inspect.getmembers(self):
                        if member.isupper():
                            setattr(module, member, value)
            """,
            "proj/docker.py": """
            import os

            from proj.core import Settings


            class DockerSettings(Settings):
                @property
                def DATABASES(self):
                    return {
                        "default": {
                            "ENGINE": "django.db.backends.postgresql",
                            "NAME": "docs",
                            "HOST": os.environ.get("DB_HOST", "database"),
                        },
                    }


            DockerSettings.load_settings(__name__)
            """,
            "proj/proxito.py": """
            from proj.docker import DockerSettings


            class ProxitoMixin:
                @property
                def DATABASES(self):
                    dbs = getattr(super(), "DATABASES", {})
                    for db in dbs:
                        dbs[db]["CONN_MAX_AGE"] = 86400
                    return dbs


            class ProxitoSettings(ProxitoMixin, DockerSettings):
                pass


            ProxitoSettings.load_settings(__name__)
            """,
        },
        monkeypatch,
    )
    docker = at(report, "proj/docker.py:10")
    assert values(docker) == {"ENGINE": "django.db.backends.postgresql", "NAME": "docs", "HOST": "database"}
    assert docker.settings["HOST"].env == "DB_HOST"
    proxito = at(report, "proj/proxito.py:17")
    assert values(proxito)["CONN_MAX_AGE"] == 86400 and values(proxito)["NAME"] == "docs"


def test_a_pool_a_library_makes_from_the_apps_arguments_is_named_in_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # openreplay calls mlflow's create_sqlalchemy_engine(uri), txtai grand's SQLBackend(db_url=...), and Litestar
    # apps advanced-alchemy's SQLAlchemyAsyncConfig(...): each makes an engine inside the library, which the scan
    # does not read. Nothing said so; now a warning names each call, and no pool is made up for it.
    report = scan(
        tmp_path,
        {
            "app/feedback.py": """
            from mlflow.store.db.utils import create_sqlalchemy_engine

            engine = create_sqlalchemy_engine("postgresql://app@db/feedback")
            """,
            "app/db.py": """
            from advanced_alchemy.config import EngineConfig, SQLAlchemyAsyncConfig
            from grand.backends import SQLBackend

            config = SQLAlchemyAsyncConfig(
                connection_string="postgresql+asyncpg://app@db/app", engine_config=EngineConfig(pool_size=10)
            )
            graph = SQLBackend(db_url="postgresql://app@db/graph")
            given = SQLAlchemyAsyncConfig(engine_instance=graph.engine)  # the app's own engine: none made inside
            """,
        },
        monkeypatch,
    )
    assert report.pools == []
    named = sorted(w.split(": ", 1)[0] + " " + w.split(" ", 2)[1] for w in report.warnings)
    assert named == [
        "app/db.py:4 advanced_alchemy.config.SQLAlchemyAsyncConfig()",
        "app/db.py:7 grand.backends.SQLBackend()",
        "app/feedback.py:3 mlflow.store.db.utils.create_sqlalchemy_engine()",
    ]


def test_a_key_chosen_by_a_test_among_known_names_is_written_under_that_test(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # paperless: `timeout_key = "timeout" if engine == "sqlite" else "connect_timeout"; options[timeout_key] =
    # timeout`. The key is one of two names the scan knows: each is set on its side, the others keep their values.
    report = scan(
        tmp_path,
        {
            "app/db.py": """
            import os

            from sqlalchemy import create_engine

            engine_name = os.environ.get("DB_ENGINE", "postgresql")
            options = {"application_name": "app"}
            key = "timeout" if engine_name == "sqlite" else "connect_timeout"
            options[key] = 10
            engine = create_engine("postgresql://app@db/app", connect_args=options)
            """,
        },
        monkeypatch,
    )
    settings = at(report, "app/db.py:9").settings
    assert settings["connect_args.application_name"].value == "app"
    assert settings["connect_args.connect_timeout"].value == 10
    assert settings["connect_args.timeout"].value is None


def test_an_absolute_sqlite_path_in_a_database_url_keeps_its_slash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # fx-private-relay: dj_database_url.parse("sqlite:////srv/app/db.sqlite3") names "/srv/app/db.sqlite3"
    # (dj-database-url takes the URL's path less its first slash); the scan said "srv/app/db.sqlite3".
    report = scan(
        tmp_path,
        {
            "proj/settings.py": """
            import dj_database_url

            DATABASES = {"default": dj_database_url.parse("sqlite:////srv/app/db.sqlite3")}
            """,
        },
        monkeypatch,
    )
    assert values(at(report, "proj/settings.py:3"))["NAME"] == "/srv/app/db.sqlite3"


def test_a_marshmallow_schema_named_after_the_keys_is_no_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GeoNature validates its TOML config with a marshmallow Schema whose fields are named SQLALCHEMY_*: it was
    # reported as a config class (an engine at the class line), and it hid the bound app's own engine.
    report = scan(
        tmp_path,
        {
            "gn/schema.py": """
            from marshmallow import Schema, fields


            class ConfigSchema(Schema):
                SQLALCHEMY_DATABASE_URI = fields.String(required=True)
                SQLALCHEMY_ENGINE_OPTIONS = fields.Dict(load_default={})
            """,
            "gn/app.py": """
            import tomllib

            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            from gn.schema import ConfigSchema

            db = SQLAlchemy()


            def create_app():
                app = Flask(__name__)
                app.config.update(ConfigSchema().load(tomllib.load(open("/etc/gn/config.toml", "rb"))))
                db.init_app(app)
                return app
            """,
        },
        monkeypatch,
    )
    assert [(p.where, p.stack) for p in report.pools] == [("gn/app.py:14", "flask_sqlalchemy")]


def test_an_alembic_env_whose_ini_is_not_in_the_tree_never_leaves_the_url_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # tracim: env.py takes the URL from $APP_SQLALCHEMY__URL when set, else from the ini alembic is given with
    # -c (only a .sample is in the repository). The path without the variable read "(not set)", no URL at all.
    report = scan(
        tmp_path,
        {
            "migration/env.py": """
            import os

            from alembic import context
            from sqlalchemy import engine_from_config, pool

            config = context.config
            url = os.environ.get("APP_SQLALCHEMY__URL")
            if url:
                config.set_main_option("sqlalchemy.url", url)
            engine = engine_from_config(
                config.get_section(config.config_ini_section), prefix="sqlalchemy.", poolclass=pool.NullPool
            )
            """,
        },
        monkeypatch,
    )
    url = at(report, "migration/env.py:10").settings["url"]
    assert url.env == "APP_SQLALCHEMY__URL"
    assert url.branches and all(b.expr != "(not set)" for b in url.branches)


def test_a_test_package_named_like_the_app_does_not_hide_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # notifications-api: tests/ is a package holding a helper package tests/app/; tests/conftest.py's
    # `from app import create_app, db` is the top-level app/ (pytest puts the folder above the package on
    # sys.path), so its fixture's db.init_app(app) is an engine. The nearer tests/app/ hid it.
    report = scan(
        tmp_path,
        {
            "app/__init__.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()


            def create_app(app):
                app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://localhost/app"
                db.init_app(app)
                return app
            """,
            "tests/__init__.py": "",
            "tests/app/__init__.py": "HELPER = 1\n",
            "tests/conftest.py": """
            from flask import Flask

            from app import create_app, db


            def notify_db(worker_id):
                app = Flask("test")
                create_app(app)
                app.config["SQLALCHEMY_DATABASE_URI"] = f"postgresql://localhost/test_{worker_id}"
                db.init_app(app)
                return app
            """,
        },
        monkeypatch,
    )
    assert sorted(p.where for p in report.pools) == ["app/__init__.py:9", "tests/conftest.py:10"]


def test_mitol_env_helpers_read_their_variable_or_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # mitxonline (and every mitodl Django app): mitol-django-common's get_string / get_int / get_bool(name="X",
    # default=...) read the variable X, else the default. The database settings were unknown, with no origin.
    report = scan(
        tmp_path,
        {
            "main/settings.py": """
            import dj_database_url
            from mitol.common.envs import get_bool, get_int, get_string

            DB = dj_database_url.parse(get_string(name="DATABASE_URL", default="postgres://mitx@db:5432/mitx"))
            DB["CONN_MAX_AGE"] = get_int(name="DB_CONN_MAX_AGE", default=0, description="max age")
            if get_bool(name="DB_DISABLE_SSL", default=False):
                DB["OPTIONS"] = {}
            else:
                DB["OPTIONS"] = {"sslmode": "require"}
            DATABASES = {"default": DB}
            """,
        },
        monkeypatch,
    )
    settings = at(report, "main/settings.py:10").settings
    assert (settings["NAME"].value, settings["NAME"].env) == ("mitx", "DATABASE_URL")
    assert (settings["CONN_MAX_AGE"].value, settings["CONN_MAX_AGE"].env) == (0, "DB_CONN_MAX_AGE")
    assert (settings["OPTIONS.sslmode"].value, settings["OPTIONS.sslmode"].env) == ("require", "DB_DISABLE_SSL")


def test_a_config_class_an_app_may_load_keeps_its_engine_at_the_class(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # OpenOversight: `from_object(config[config_name])` that the scan cannot read, and config classes whose
    # __init__ sets SQLALCHEMY_DATABASE_URI well into its body: the engine is reported at those classes, not
    # once more at init_app as a bound app whose config is read at run time.
    report = scan(
        tmp_path,
        {
            "oo/config.py": """
            import os


            class BaseConfig:
                def __init__(self):
                    self.BOOTSTRAP_SERVE_LOCAL = True
                    self.DEBUG = False
                    self.TIMEZONE = os.environ.get("TIMEZONE", "America/Chicago")
                    self.SQLALCHEMY_DATABASE_URI = os.environ.get("SQLALCHEMY_DATABASE_URI")


            config = {"default": BaseConfig}
            """,
            "oo/app.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            from oo.config import config

            db = SQLAlchemy()


            def create_app(config_name):
                app = Flask(__name__)
                app.config.from_object(config[config_name])
                db.init_app(app)
                return app
            """,
        },
        monkeypatch,
    )
    assert "oo/app.py:12" not in [p.where for p in report.pools]


def test_an_app_config_updated_from_a_mapping_read_in_part_at_run_time_is_an_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GeoNature: app.config.update(config), config a mapping whose keys come in part from a TOML file read at run
    # time; the only SQLALCHEMY_DATABASE_URI written in Python is in a test module. The bound app is an engine.
    report = scan(
        tmp_path,
        {
            "gn/config.py": 'import tomllib\n\nconfig = {**tomllib.load(open("/etc/gn.toml", "rb")), "DEBUG": False}\n',
            "gn/app.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            from gn.config import config

            db = SQLAlchemy()


            def create_app():
                app = Flask(__name__)
                app.config.update(config)
                db.init_app(app)
                return app
            """,
            "gn/tests/test_utils.py": 'SQLALCHEMY_DATABASE_URI = "postgresql://test@localhost/test"\n',
        },
        monkeypatch,
    )
    assert ("gn/app.py:12", "flask_sqlalchemy") in [(p.where, p.stack) for p in report.pools]
