"""Held-out round 78 and the open cases of earlier rounds: each test failed before its fix."""

from __future__ import annotations

import pytest

from tests.cli_runner import run_pool_doctor
from tests.test_scan import at, scan

SAAS = {
    "manage.py": "import django\n",
    "home/__init__.py": "",
    "home/settings.py": """
    INSTALLED_APPS = ["django.contrib.admin"]

    DATABASES = {
        'default': {
            'ENGINE': 'django.db.backends.sqlite3',
            'NAME': 'db.sqlite3',
        }
    }

    from home.db import *
    """,
    "home/db.py": """
    from decouple import config

    CONN_MAX_AGE = config("CONN_MAX_AGE", cast=int, default=300)
    DATABASE_URL = config("DATABASE_URL", default=None)

    if DATABASE_URL is not None:
        import dj_database_url
        DATABASES = {
            'default': dj_database_url.config(
                default=DATABASE_URL,
                conn_max_age=CONN_MAX_AGE,
                conn_health_checks=True
            )
        }
    """,
}


def test_databases_rebound_by_a_star_import_is_at_the_alias_entry_and_judged_in_one_line(tmp_path, monkeypatch) -> None:
    # saas-fundation (round 77): the whole DATABASES rebound in home/db.py, which settings.py star-imports after its
    # own SQLite dict: the pool was placed at the `DATABASES = {` line, not at its alias's entry; and the judged
    # side was said once for each of its eight keys
    report = scan(tmp_path, SAAS, monkeypatch)
    pool = at(report, "home/settings.py:4")
    assert pool.call == "DATABASES['default']"
    said = [line for p, f in report.findings if p is pool for line in f.evidence if line.startswith("judged when")]
    assert said and all(line.count("judged when") == 1 for line in said)
    assert "CONN_MAX_AGE = 300" in said[0] and "CONN_HEALTH_CHECKS = True" in said[0]


MIGRATE_APP = {
    "app/__init__.py": """
    from flask import Flask
    from flask_migrate import Migrate
    from flask_sqlalchemy import SQLAlchemy

    db = SQLAlchemy()
    migrate = Migrate()


    def create_app():
        app = Flask(__name__)
        app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://app@db:5432/app"
        db.init_app(app)
        migrate.init_app(app, db)
        return app
    """,
    "wsgi.py": "from app import create_app\n\napp = create_app()\n",
}

OLD_TEMPLATE = """
from alembic import context
from flask import current_app
from sqlalchemy import engine_from_config, pool

config = context.config
config.set_main_option(
    'sqlalchemy.url',
    str(current_app.extensions['migrate'].db.engine.url).replace('%', '%%'))
connectable = engine_from_config(
    config.get_section(config.config_ini_section), prefix='sqlalchemy.', poolclass=pool.NullPool
)
"""

NEW_TEMPLATE = """
from alembic import context
from flask import current_app
from sqlalchemy import engine_from_config, pool

config = context.config


def get_engine():
    try:
        # this works with Flask-SQLAlchemy<3 and Alchemical
        return current_app.extensions['migrate'].db.get_engine()
    except (TypeError, AttributeError):
        # this works with Flask-SQLAlchemy>=3
        return current_app.extensions['migrate'].db.engine


def get_engine_url():
    try:
        return get_engine().url.render_as_string(hide_password=False).replace('%', '%%')
    except AttributeError:
        return str(get_engine().url).replace('%', '%%')


config.set_main_option('sqlalchemy.url', get_engine_url())
connectable = engine_from_config(
    config.get_section(config.config_ini_section), prefix='sqlalchemy.', poolclass=pool.NullPool
)
"""


@pytest.mark.parametrize(("template", "line"), [(OLD_TEMPLATE, 9), (NEW_TEMPLATE, 25)])
def test_a_migration_reads_the_running_apps_url_through_flask_migrates_extension(
    tmp_path, monkeypatch, template: str, line: int
) -> None:
    # task-scheduler-celery (round 77): Flask-Migrate's env.py reads the URL as
    # `current_app.extensions['migrate'].db.engine.url` (its templates since 2.x; the newer through get_engine()):
    # the engine the Migrate extension was given, the running app's; it was unknown
    report = scan(tmp_path, {**MIGRATE_APP, "migrations/env.py": template}, monkeypatch)
    url = at(report, f"migrations/env.py:{line}").settings["url"]
    assert url.value == "postgresql://app@db:5432/app"


def test_a_scheme_a_variable_replaces_whose_default_names_no_database_is_not_another_database(
    tmp_path, monkeypatch
) -> None:
    # shotgun (round 78): the URL's scheme is `os.environ.get("DB_PROTOCOL", "protocol")`, a placeholder; the
    # pool was listed as "protocol, not PostgreSQL: not judged" and its missing liveness check went unsaid
    report = scan(
        tmp_path,
        {
            "requirements.txt": "sqlalchemy\npsycopg2-binary\n",
            "app/db.py": """
            import os

            from sqlalchemy import create_engine

            DATABASE_URL = "{protocol}://{user}@{host}:{port}/{db}".format(
                protocol=os.environ.get("DB_PROTOCOL", "protocol"),
                host=os.environ.get("DB_HOST", "localhost"),
                user=os.environ.get("DB_USER", "postgres"),
                port=os.environ.get("DB_PORT", "5432"),
                db=os.environ.get("DB_DATABASE", "postgres"),
            )
            engine = create_engine(DATABASE_URL, pool_size=20)
            """,
            "app/other.py": """
            import os

            from sqlalchemy import create_engine

            HOST = os.environ.get("S2_HOST", "localhost")
            engine = create_engine(os.environ.get("CLICKHOUSE_URL", "clickhousedb://localhost/app"))
            store = create_engine(f"singlestoredb://admin@{HOST}:3306/app")
            """,
        },
        monkeypatch,
    )
    pool = at(report, "app/db.py:12")
    assert "no-liveness-check" in {f.code for p, f in report.findings if p is pool}
    # the review's: a scheme the code writes itself, whatever its name, is that database's (a variable gives the
    # URL or its host): not judged
    others = [at(report, "app/other.py:6"), at(report, "app/other.py:7")]
    assert not any(p is other for p, _ in report.findings for other in others)


def test_a_string_conn_health_checks_is_true_to_django_and_shown_as_a_string(tmp_path, monkeypatch) -> None:
    # recommandationsystem (round 78): `'CONN_HEALTH_CHECKS': 'False'` is a non-empty string, which Django tests
    # for truth (`if self.health_check_enabled`, 5.2 BaseDatabaseWrapper): the checks are on; the table showed
    # it as the boolean False, and with CONN_MAX_AGE above 0 the judge said nothing checked connections
    report = scan(
        tmp_path,
        {
            "proj/settings.py": """
            INSTALLED_APPS = ["django.contrib.admin"]
            DATABASES = {
                "default": {
                    "ENGINE": "django.db.backends.postgresql",
                    "HOST": "db",
                    "CONN_MAX_AGE": 60,
                    "CONN_HEALTH_CHECKS": "False",
                }
            }
            """,
        },
        monkeypatch,
    )
    pool = at(report, "proj/settings.py:3")
    assert pool.settings["CONN_HEALTH_CHECKS"].show() == "'False'"
    assert "no-liveness-check" not in {f.code for p, f in report.findings if p is pool}


ATMCRAFT = {
    "setup.py": "from setuptools import setup\nsetup(name='atmcraft')\n",
    "development.ini": "[DEFAULT]\nsqlalchemy.url = postgresql://scott@localhost/atmcraft\n",
    "atmcraft/__init__.py": "",
    "atmcraft/util.py": """
    from ConfigParser import SafeConfigParser


    def setup_from_file(fname):
        cfg_parser = SafeConfigParser()
        cfg_parser.read(fname)
        settings = dict(cfg_parser.items('DEFAULT'))
        return settings
    """,
    "atmcraft/tests/__init__.py": """
    import os
    import unittest

    import pkg_resources
    from sqlalchemy import engine_from_config

    from ..util import setup_from_file

    config_file = (
        os.environ.get('TEST_INI') or
        pkg_resources.resource_filename("atmcraft", "../development.ini"))


    class AppTest(unittest.TestCase):
        settings = setup_from_file(config_file)

        def setUp(self):
            self.engine = engine_from_config(self.settings, "sqlalchemy.")
    """,
    "atmcraft/client.py": """
    from argparse import ArgumentParser
    from configparser import ConfigParser

    from sqlalchemy import engine_from_config


    def setup_from_file(fname):
        cfg_parser = ConfigParser()
        cfg_parser.read(fname)
        return dict(cfg_parser.items('DEFAULT'))


    def main(argv=None):
        parser = ArgumentParser()
        parser.add_argument("config", type=str, help="config file")
        options = parser.parse_args(argv)
        engine = engine_from_config(setup_from_file(options.config), "sqlalchemy.")
    """,
}


def test_a_package_resource_read_by_a_python_2_config_parser(tmp_path, monkeypatch) -> None:
    # atmcraft (round 79): the tests' settings file is `pkg_resources.resource_filename("atmcraft",
    # "../development.ini")`, read by Python 2's `ConfigParser.SafeConfigParser`: both were unread, the URL unknown
    report = scan(tmp_path, ATMCRAFT, monkeypatch)
    url = at(report, "atmcraft/tests/__init__.py:18").settings["url"]
    assert (url.value, url.from_) == ("postgresql://scott@localhost/atmcraft", "development.ini:2")


def test_a_config_file_only_the_command_line_names_leaves_its_options_unknown(tmp_path, monkeypatch) -> None:
    # atmcraft's client.py reads the ini its command line names: `items('DEFAULT')` was an empty dict, so the
    # engine was judged at the defaults with nothing unresolved (a false all-clear)
    report = scan(tmp_path, ATMCRAFT, monkeypatch)
    pool = at(report, "atmcraft/client.py:17")
    assert not pool.settings.get("url") or not pool.settings["url"].known
    assert pool.unresolved


def test_a_config_file_beside_a_package_named_through_importlib_resources(tmp_path, monkeypatch) -> None:
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/db.ini": "[db]\nurl = postgresql://app@db/app\n",
            "app/db.py": """
            from configparser import ConfigParser
            from importlib.resources import files

            from sqlalchemy import create_engine

            parser = ConfigParser()
            parser.read(files("app") / "db.ini")
            engine = create_engine(parser["db"]["url"])
            """,
        },
        monkeypatch,
    )
    url = at(report, "app/db.py:8").settings["url"]
    assert (url.value, url.from_) == ("postgresql://app@db/app", "app/db.ini:2")


def test_a_pytest_fixture_yielding_a_session_is_no_route_dependency(tmp_path, monkeypatch) -> None:
    # fastapi-sqla (round 79): its pytest plugin's fixtures yield a session and close it after; pytest runs that
    # code when the test fails too, so session-dependency-without-finally was false there (a route's stays)
    report = scan(
        tmp_path,
        {
            "app/deps.py": """
            import pytest
            from pytest import fixture
            from sqlalchemy.orm import Session


            @fixture
            def session(engine):
                session = Session(engine)
                yield session
                session.close()


            @pytest.fixture(scope="session")
            def other(engine):
                db = Session(engine)
                yield db
                db.close()


            def get_db(engine):
                db = Session(engine)
                yield db
                db.close()
            """,
        },
        monkeypatch,
    )
    held = [(p.line, f.code) for p, f in report.findings if f.code == "session-dependency-without-finally"]
    assert held == [(22, "session-dependency-without-finally")]  # get_db's yield


def test_an_asyncpg_loop_argument_is_not_listed_as_an_unknown_setting(tmp_path) -> None:
    # sanic-postgres-docker (round 79): `create_pool(dsn=..., loop=loop)`: the table's Unknown column listed `loop`,
    # an object no setting says anything of (the judge never reads it); the unknown DSN stays listed
    (tmp_path / "app.py").write_text(
        "import os\n\nimport asyncpg\n\n\nasync def start(app, loop):\n"
        "    app.pool = await asyncpg.create_pool(dsn=os.environ['DATABASE_URL'], loop=loop)\n"
    )
    run = run_pool_doctor("scan", ".", secret="unused-secret", cwd=tmp_path)
    row = next(line for line in run.stdout.splitlines() if "app.py:7" in line)
    assert "dsn" in row and "loop" not in run.stdout


def test_engine_from_config_under_a_prefix_the_scan_cannot_tell_takes_no_key_of_the_default_prefix(
    tmp_path, monkeypatch
) -> None:
    # fastapi-sqla (round 79): `engine_from_config(config, prefix=envvar_prefix)`, the prefix per key in a loop:
    # the URL was named `sqlalchemy.url` (the default prefix's), and a known `sqlalchemy.*` key would have been
    # read as the engine's
    report = scan(
        tmp_path,
        {
            "db.py": """
            import os

            from sqlalchemy import engine_from_config

            CONFIG = {"sqlalchemy.url": "postgresql://a@b/c", "sqlalchemy.pool_size": "5"}
            engine = engine_from_config(CONFIG, prefix=os.environ["ENGINE_PREFIX"])
            """,
        },
        monkeypatch,
    )
    pool = at(report, "db.py:6")
    assert not pool.settings["url"].known and "pool_size" not in pool.settings
    assert "sqlalchemy.url" not in (pool.settings["url"].expr or "") and pool.unresolved


def test_an_example_ini_to_copy_starts_no_pyramid_app(tmp_path, monkeypatch) -> None:
    # web_stunting_be (round 80): development.example.ini, a template with placeholders, was one of the ini files
    # that start the app, and the side judged; its name says it is one to copy (as config.example.py's does)
    report = scan(
        tmp_path,
        {
            "myapp/__init__.py": """
            from pyramid.config import Configurator
            from sqlalchemy import engine_from_config

            def main(global_config, **settings):
                config = Configurator(settings=settings)
                config.registry.engine = engine_from_config(settings, "sqlalchemy.")
                return config.make_wsgi_app()
            """,
            "setup.py": "from setuptools import setup\nsetup(name='myapp')\n",
            "development.example.ini": """
            [app:main]
            use = egg:myapp
            sqlalchemy.url = postgresql://{DB_USER}@{DB_HOST}/app
            sqlalchemy.pool_size = 3
            """,
            "production.ini": """
            [app:main]
            use = egg:myapp
            sqlalchemy.url = postgresql://app@db/prod
            sqlalchemy.pool_size = 40
            """,
        },
        monkeypatch,
    )
    size = at(report, "myapp/__init__.py:6").settings["pool_size"]
    assert (size.value, size.from_, size.branches) == (40, "production.ini:4", ())


def test_a_migration_of_another_bind_is_not_the_main_engines_url(tmp_path, monkeypatch) -> None:
    # the review's case3: Flask-Migrate's multi-database template reads each bind's URL through
    # `db.get_engine(bind=key)`: another engine, unknown (it was the main engine's URL)
    env = """
    from alembic import context
    from flask import current_app
    from sqlalchemy import engine_from_config, pool

    users = str(current_app.extensions['migrate'].db.get_engine(bind='users').url)
    connectable = engine_from_config({"sqlalchemy.url": users}, prefix='sqlalchemy.', poolclass=pool.NullPool)
    """
    report = scan(tmp_path, {**MIGRATE_APP, "migrations/env.py": env}, monkeypatch)
    assert not at(report, "migrations/env.py:6").settings["url"].known


def test_an_optional_override_beside_a_file_in_the_tree_keeps_the_files_options(tmp_path, monkeypatch) -> None:
    # the review's case6a: `read([<the tree's app.ini>, expanduser("~/.app.ini")])`, the second an optional
    # override ConfigParser skips when absent: the tree's file's options stay known
    report = scan(
        tmp_path,
        {
            "app.ini": "[app:main]\nsqlalchemy.url = postgresql://app@db/app\nsqlalchemy.pool_size = 20\n",
            "db.py": """
            import os
            from configparser import ConfigParser

            from sqlalchemy import engine_from_config

            here = os.path.dirname(os.path.abspath(__file__))
            parser = ConfigParser()
            parser.read([os.path.join(here, "app.ini"), os.path.expanduser("~/.app.ini")])
            engine = engine_from_config(dict(parser.items("app:main")), "sqlalchemy.")
            """,
        },
        monkeypatch,
    )
    assert at(report, "db.py:9").settings["pool_size"].value == 20


def test_an_engine_given_sqlites_check_same_thread_is_sqlites(tmp_path, monkeypatch) -> None:
    # shiny-couscous (round 80): an engine of a URL the scan cannot read, given `check_same_thread`, an argument
    # only sqlite3.connect takes, was judged as asyncpg's
    report = scan(
        tmp_path,
        {
            "db.py": """
            import os

            from sqlalchemy.ext.asyncio import create_async_engine

            url = os.environ["DATABASE_URL"].replace("sqlite://", "sqlite+aiosqlite://")
            engine = create_async_engine(url, connect_args={"check_same_thread": False})
            """,
        },
        monkeypatch,
    )
    pool = at(report, "db.py:6")
    assert not any(p is pool for p, _ in report.findings)


def test_a_psycopg2_pools_implied_values_say_they_are_what_its_pool_does(tmp_path, monkeypatch) -> None:
    # PayFlow (round 81): psycopg2's ThreadedConnectionPool, judged as a pool that never checks or retires a
    # connection: the evidence said `pool_recycle = -1 (pool.py:12 (psycopg2.pool...))`, as if the code set it
    report = scan(
        tmp_path,
        {
            "pool.py": """
            from psycopg2.pool import ThreadedConnectionPool

            pg_pool = ThreadedConnectionPool(minconn=1, maxconn=10, host="db", dbname="app")
            """,
        },
        monkeypatch,
    )
    finding = next(f for _, f in report.findings if f.code == "no-liveness-check")
    assert any(
        line.startswith("pool_recycle = -1 (what psycopg2.pool.ThreadedConnectionPool does")
        for line in finding.evidence
    )


STREAMING = """
from fastapi import Depends, FastAPI
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from db import get_db

app = FastAPI()


@app.get("/logs")
def logs(db: Session = Depends(get_db)):
    return StreamingResponse(iter(db.execute("select 1")), media_type="text/plain")
"""


@pytest.mark.parametrize(
    ("requirements", "held"),
    [
        ("fastapi==0.115.14\n", False),
        ("fastapi==0.105.0\n", True),
        ("fastapi==0.118.0\n", True),
        ("fastapi>=0.100\n", True),
    ],
)
def test_a_streaming_response_holds_its_session_only_where_fastapi_closes_it_after_the_response(
    tmp_path, monkeypatch, requirements: str, held: bool
) -> None:
    # audit-log (round 82) pins fastapi==0.115.14: from 0.106 until 0.118 FastAPI ran a yield dependency's exit
    # code before sending the response (0.118.0's release notes), so the stream holds no session there
    report = scan(tmp_path, {"requirements.txt": requirements, "routes.py": STREAMING}, monkeypatch)
    codes = [f.code for _, f in report.findings]
    assert ("streaming-response-holds-session" in codes) == held


def test_a_side_no_path_takes_is_no_branch(tmp_path, monkeypatch) -> None:
    # leftbookclub (round 82): base.py makes DATABASES `if os.getenv("SKIP_DB") != "1" and isinstance(URL, str)`,
    # dev.py sets its CONN_MAX_AGE to 0 `if os.getenv("SKIP_DB") != "1"`: the 600 of base.py was a branch "when not
    # (SKIP_DB != 1) and (SKIP_DB != 1 and ...)", which no run meets, and the judge's worst side
    report = scan(
        tmp_path,
        {
            "manage.py": "import django\n",
            "proj/__init__.py": "",
            "proj/base.py": """
            import os

            INSTALLED_APPS = ["django.contrib.admin"]
            PLATFORM_DATABASE_URL = os.getenv("DATABASE_URL", None)
            if os.getenv("SKIP_DB") != "1" and isinstance(PLATFORM_DATABASE_URL, str):
                DATABASES = {
                    "default": {"ENGINE": "django.db.backends.postgresql", "HOST": "db", "CONN_MAX_AGE": 600}
                }
            """,
            "proj/dev.py": """
            import os

            from .base import *

            if os.getenv("SKIP_DB") != "1":
                DATABASES["default"]["CONN_MAX_AGE"] = 0
            """,
        },
        monkeypatch,
    )
    pool = next(p for p in report.pools if p.file.endswith("dev.py"))
    assert 600 not in [b.value for b in pool.settings["CONN_MAX_AGE"].branches]
    assert "no-liveness-check" not in {f.code for p, f in report.findings if p is pool}


@pytest.mark.parametrize(("silent", "known"), [("", False), (", silent=True", True)])
def test_a_file_a_variable_names_and_the_app_must_load_may_set_its_url(
    tmp_path, monkeypatch, silent: str, known: bool
) -> None:
    # analytics-tracker (round 82): `from_object('config.default')` (a SQLite URL), then
    # `from_envvar('APP_CONFIG_FILE')`, which must load a file (production's is PostgreSQL): the URL was the known
    # SQLite one and the engine "not PostgreSQL: not judged"; a load that may be absent (silent=True) leaves it
    report = scan(
        tmp_path,
        {
            "config/__init__.py": "",
            "config/default.py": "SQLALCHEMY_DATABASE_URI = 'sqlite:///:memory:'\n",
            "app/__init__.py": f"""
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            app = Flask(__name__)
            app.config.from_object('config.default')
            app.config.from_envvar('APP_CONFIG_FILE'{silent})
            db = SQLAlchemy(app)
            """,
        },
        monkeypatch,
    )
    url = at(report, "app/__init__.py:7").settings["url"]
    assert url.known == known
