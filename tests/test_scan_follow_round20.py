"""`scan_path` following values the way real projects spread them (issue 29), continued from
test_scan_follow_round17.py (held-out round 20's shapes and the open cases of earlier rounds). Each project is a
few small files written here (never a copy of a real one); line numbers in the assertions are the fixtures' own."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_scan import at, scan

ENV_PY = """
from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config

def run_migrations_online():
    engine = engine_from_config(
        config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
    )
"""


@pytest.mark.parametrize(
    "ini",
    [
        "[app:main]\nuse = egg:app\nsqlalchemy.url = postgresql://app@localhost/app\n",
        "[app]\nsqlalchemy.url = postgresql://app@localhost/app\n\n[app_test]\nsqlalchemy.url = postgresql://t@x/t\n",
    ],
)
def test_an_alembic_ini_with_no_alembic_section_is_read_with_the_section_alembic_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ini: str
) -> None:
    # getitfixed's alembic.ini has no [alembic] section: alembic runs with `-n <section>`, so
    # `config.config_ini_section` is that section. The URL was left out (the default `{}`), as if the migrations'
    # engine had none.
    report = scan(tmp_path, {"alembic.ini": ini, "migrations/env.py": ENV_PY}, monkeypatch)
    url = at(report, "migrations/env.py:7").settings["url"]
    assert (url.known, url.expr) == (False, "sqlalchemy.url of the ini section alembic is named (-n)")


def test_an_alembic_ini_with_its_alembic_section_is_still_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ini = "[alembic]\nscript_location = migrations\nsqlalchemy.url = postgresql://app@localhost/app\n"
    report = scan(tmp_path, {"alembic.ini": ini, "migrations/env.py": ENV_PY}, monkeypatch)
    assert at(report, "migrations/env.py:7").settings["url"].value == "postgresql://app@localhost/app"


def test_an_alembic_main_option_of_an_ini_with_no_alembic_section_is_the_named_sections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = """
    from alembic import context
    from sqlalchemy import create_engine

    engine = create_engine(context.config.get_main_option("sqlalchemy.url"))
    """
    ini = "[app:main]\nsqlalchemy.url = postgresql://app@localhost/app\n"
    report = scan(tmp_path, {"alembic.ini": ini, "migrations/env.py": env}, monkeypatch)
    url = at(report, "migrations/env.py:4").settings["url"]
    assert (url.known, url.expr) == (False, "sqlalchemy.url of the ini section alembic is named (-n)")


@pytest.mark.parametrize(
    ("made", "expected"),
    [
        ("Env()", ("postgresql://app@localhost:5432/payments", 10)),
        ("Env(DB_POOL_SIZE=dict(cast=int, default=3))", (None, None)),  # a schema's default: not read, unknown
    ],
)
def test_an_envparse_env_the_project_makes_reads_as_envparses_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, made: str, expected: tuple[object, object]
) -> None:
    # payments: `from envparse import Env; env = Env()`, then `env.str("DB_DSN", default=...)` and
    # `env.int("DB_POOL_SIZE", default=10)`: both were unknown (only envparse's own `env` was read)
    report = scan(
        tmp_path,
        {
            "settings.py": f"""
            from envparse import Env

            env = {made}
            DB_DSN = env.str("DB_DSN", default="postgresql://app@localhost:5432/payments")
            DB_POOL_SIZE = env.int("DB_POOL_SIZE", default=10)
            """,
            "db.py": """
            import asyncpg

            import settings

            async def init():
                return await asyncpg.create_pool(dsn=settings.DB_DSN, max_size=settings.DB_POOL_SIZE)
            """,
        },
        monkeypatch,
    )
    pool = at(report, "db.py:6")
    assert (pool.settings["dsn"].value, pool.settings["max_size"].value) == expected
    if expected[0] is not None:
        assert (pool.settings["dsn"].env, pool.settings["max_size"].env) == ("DB_DSN", "DB_POOL_SIZE")


def test_a_flask_app_loading_a_class_filled_at_run_time_keeps_its_engine_beside_a_data_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # cuckoo's distributed app loads `settings`, an empty class its init_settings() fills with setattr from a
    # file it execs at run time; a copy of that file (data/settings.py, setting SQLALCHEMY_DATABASE_URI) was taken
    # for a config module reported on its own, though every load was read: the app's engine vanished
    report = scan(
        tmp_path,
        {
            "dist/__init__.py": "",
            "dist/data/settings.py": 'SQLALCHEMY_DATABASE_URI = "postgresql://cuckoo@localhost/distributed"\n',
            "dist/misc.py": """
            class settings:
                pass


            def init_settings():
                s = {}
                exec(open("distributed/settings.py").read(), s)
                for key, value in s.items():
                    setattr(settings, key, value)
            """,
            "dist/db.py": "from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n",
            "dist/app.py": """
            import flask

            from dist.db import db
            from dist.misc import init_settings, settings


            def create_app():
                app = flask.Flask("dist")
                init_settings()
                app.config.from_object(settings)
                db.init_app(app)
                return app
            """,
        },
        monkeypatch,
    )
    assert [pool.where for pool in report.pools] == ["dist/app.py:11"]
    assert report.pools[0].unresolved == ["app.config.from_object(settings) (not read)"]


def test_a_wsgi_file_is_read_as_the_python_a_server_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # balrog's web apps make their engine in uwsgi/public.wsgi (uWSGI's `wsgi-file`, mod_wsgi's WSGIScriptAlias):
    # only .py files were read, so with a script also calling the wrapper the web app's pool vanished
    report = scan(
        tmp_path,
        {
            "src/app/__init__.py": "",
            "src/app/db.py": """
            from sqlalchemy import create_engine


            def set_db(dburi):
                return create_engine(dburi, pool_recycle=60)
            """,
            "scripts/rules.py": 'from app.db import set_db\n\nset_db("sqlite:///:memory:")\n',
            "uwsgi/public.wsgi": """
            import os

            from app.db import set_db

            set_db(os.environ["DBURI"])
            """,
        },
        monkeypatch,
    )
    pool = at(report, "uwsgi/public.wsgi:5")
    assert (pool.settings["url"].env, pool.settings["pool_recycle"].value) == ("DBURI", 60)
    assert sorted(p.where for p in report.pools) == ["scripts/rules.py:3", "uwsgi/public.wsgi:5"]


@pytest.mark.parametrize(
    ("name", "aside"),
    [
        ("configuration-default.py", "examples"),
        ("settings.default.py", "examples"),
        ("default_settings.py", None),  # importable: may be the app's own settings
        ("configuration_default.py", None),
    ],
)
def test_a_settings_file_named_default_that_no_import_reaches_is_an_example(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, aside: str | None
) -> None:
    # fiduswriter's configuration-default.py ("After copying this file to configuration.py, adjust ...") was
    # judged as a second alias of the app beside base/settings.py's
    settings = """
    INSTALLED_APPS = ["django.contrib.auth"]
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3", "CONN_MAX_AGE": 15}}
    """
    report = scan(tmp_path, {name: settings}, monkeypatch)
    assert at(report, f"{name}:2").aside == aside


@pytest.mark.parametrize(
    "python2",
    [
        "try:\n    import json\nexcept ImportError, e:\n    raise RuntimeError, 'no json: %s' % e",
        "os.umask(0077)",
        'print "starting"\nprint >>sys.stderr, "starting", 1L\nprint',
        "if VERBOSE <> 0: exec 'x = 1' in {}",
        "NAME = `VERBOSE`\nLABEL = ur'\\d'",
        "def helper():\n\tif VERBOSE:\n\t    return 1\n        return 2",  # tabs and spaces, as Python 2 read them
    ],
)
def test_a_python_2_module_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, python2: str) -> None:
    # tokenserver's sql.py (`except ValueError, e:`) and server-syncstorage's dbconnect.py (`os.umask(0077)`) hold
    # the projects' only pools; they did not parse, so the pools went unread
    source = f"""import os
import sys

from sqlalchemy import create_engine

VERBOSE = 0
{python2}


class Connector(object):
    def __init__(self, sqluri, pool_size=100, pool_recycle=60):
        self.engine = create_engine(sqluri, pool_size=pool_size, pool_recycle=pool_recycle)
"""
    line = source.splitlines().index(
        "        self.engine = create_engine(sqluri, pool_size=pool_size, pool_recycle=pool_recycle)"
    )
    report = scan(tmp_path, {"app/dbconnect.py": source}, monkeypatch)
    pool = at(report, f"app/dbconnect.py:{line + 1}")
    assert (pool.settings["pool_size"].value, pool.settings["pool_recycle"].value) == (100, 60)
    assert report.warnings == []


@pytest.mark.parametrize(
    ("name", "aside"),
    [
        ("web/settings/ci.py", "tests"),
        ("web/settings/travis.py", "tests"),
        ("web/config/testing.py", "tests"),
        ("webserver/testing.py", "tests"),  # a package's test support (acousticbrainz's TestCase.create_app)
        ("web/settings/production.py", None),
        ("buildbot/ci.py", None),  # a module of a CI app: not a settings package's
    ],
)
def test_a_settings_packages_ci_module_is_the_tests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, aside: str | None
) -> None:
    # lutris' settings/ci.py and settings/travis.py set the database the CI runs the tests against: they were
    # judged as the app's aliases
    settings = """
    INSTALLED_APPS = ["django.contrib.auth"]
    DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "ci", "CONN_MAX_AGE": 600}}
    """
    report = scan(tmp_path, {name: settings}, monkeypatch)
    assert at(report, f"{name}:2").aside == aside


@pytest.mark.parametrize(
    ("ini_url", "expected"),
    [("", "postgresql://app@localhost/app"), ("postgresql://ini@db/app", "postgresql://ini@db/app")],
)
def test_an_alembic_url_set_when_the_ini_has_none_is_read_by_the_ini(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ini_url: str, expected: str
) -> None:
    # `if not config.get_main_option("sqlalchemy.url"): config.set_main_option("sqlalchemy.url", f"{driver}://...")`
    # with the driver from a variable with a default: the test was left undecided and the URL built from
    # variables' defaults unknown ("$DATABASE_DRIVER"), as if the test needed the variable set
    env = """
    import os

    from alembic import context
    from sqlalchemy import engine_from_config, pool

    config = context.config
    if not config.get_main_option("sqlalchemy.url"):
        driver = os.environ.get("DATABASE_DRIVER", "postgresql")
        config.set_main_option("sqlalchemy.url", f"{driver}://app@localhost/app")


    def run_migrations_online():
        engine = engine_from_config(config.get_section(config.config_ini_section), prefix="sqlalchemy.")
    """
    ini = f"[alembic]\nscript_location = migrations\nsqlalchemy.url = {ini_url}\n"
    report = scan(tmp_path, {"alembic.ini": ini, "migrations/env.py": env}, monkeypatch)
    assert at(report, "migrations/env.py:13").settings["url"].value == expected


@pytest.mark.parametrize(
    "written",
    [
        'DATABASES["default"].setdefault("OPTIONS", {})["sslmode"] = config("DB_SSLMODE", default="require")',
        'DATABASES["default"].setdefault("OPTIONS", {}).update(sslmode=config("DB_SSLMODE", default="require"))',
    ],
)
def test_a_key_set_in_a_dict_setdefault_gives_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, written: str
) -> None:
    # tecken: `DATABASES["default"].setdefault("OPTIONS", {})["sslmode"] = ...` on the alias a URL gives: the
    # option was lost
    settings = f"""
    import dj_database_url
    from decouple import config

    INSTALLED_APPS = ["django.contrib.auth"]
    DATABASES = {{"default": config("DATABASE_URL", cast=dj_database_url.parse)}}
    {written}
    """
    report = scan(tmp_path, {"settings.py": settings}, monkeypatch)
    sslmode = at(report, "settings.py:5").settings["OPTIONS.sslmode"]
    assert (sslmode.value, sslmode.env) == ("require", "DB_SSLMODE")


@pytest.mark.parametrize("read", ["main", "section"])
def test_an_alembic_ini_with_no_alembic_section_takes_the_url_a_program_sets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, read: str
) -> None:
    # (review) alembic's Config.set_main_option adds the [alembic] section when the file has none
    # (set_section_option: `if not self.file_config.has_section(section): add_section`), so a program that loads
    # alembic.ini and sets the URL runs the migrations with it, no -n needed
    call = (
        'create_engine(config.get_main_option("sqlalchemy.url"), pool_size=3)'
        if read == "main"
        else 'engine_from_config(config.get_section(config.config_ini_section), prefix="sqlalchemy.")'
    )
    env = f"""
    from alembic import context
    from sqlalchemy import create_engine, engine_from_config

    config = context.config
    engine = {call}
    """
    manage = """
    from alembic import command
    from alembic.config import Config

    cfg = Config("alembic.ini")
    cfg.set_main_option("sqlalchemy.url", "postgresql://runner@db/app")
    command.upgrade(cfg, "head")
    """
    ini = "[loggers]\nkeys = root\n"
    report = scan(tmp_path, {"alembic.ini": ini, "manage.py": manage, "migrations/env.py": env}, monkeypatch)
    url = at(report, "migrations/env.py:5").settings["url"]
    assert [(b.when, b.value) for b in url.branches or []] == [
        ("run by manage.py:5", "postgresql://runner@db/app"),
        ("run by the alembic command", None),
    ]


@pytest.mark.parametrize(("name", "aside"), [("conf/default.wsgi", None), ("locale/ci.py", None)])
def test_a_server_script_or_a_module_outside_a_settings_folder_stays_the_apps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, aside: str | None
) -> None:
    # (review) `default.wsgi` was taken for a `-default` template (its suffix read as part of the name), and a
    # `ci.py` below `locale/` for a settings package's CI module
    source = 'from sqlalchemy import create_engine\n\nengine = create_engine("postgresql://u@h/db", pool_size=9)\n'
    report = scan(tmp_path, {name: source}, monkeypatch)
    assert at(report, f"{name}:3").aside == aside


@pytest.mark.parametrize("made", ["Env()", "env"])
def test_envparse_reads_a_bool_with_its_own_words(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, made: str) -> None:
    # (review) envparse 0.2's Env.cast: `value.lower() in ('true', 'on', 'ok', 'y', 'yes', '1')`, any other word
    # False; marshmallow's words (environs') took "t" for True and "ok" for an error
    source = f"""
    from envparse import Env, env as shared
    from sqlalchemy import create_engine

    env = {"Env()" if made == "Env()" else "shared"}
    engine = create_engine(env("DATABASE_URL"), pool_pre_ping=env.bool("DB_PRE_PING"), echo_pool=env.bool("DB_ECHO"))
    """
    report = scan(tmp_path, {".env": "DB_PRE_PING=t\nDB_ECHO=ok\n", "db.py": source}, monkeypatch)
    pool = at(report, "db.py:5")
    assert (pool.settings["pool_pre_ping"].value, pool.settings["echo_pool"].value) == (False, True)


@pytest.mark.parametrize("python2", [True, False])
def test_a_module_keeps_its_lines_and_its_values_source_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, python2: bool
) -> None:
    # (review) a form feed ended a line for the Python 2 rewrite and for the values' source text (splitlines) but
    # not for the tokenizer: every later edit, and every later value's text, was a line off ("eate_engine(url,
    # pool" for the URL); tab indents expanded moved every column
    say = 'print "making", url' if python2 else 'print("making", url)'
    source = (
        "import os\n"
        "from sqlalchemy import create_engine\n"
        "\x0c\n"
        f"def report(x): {say}\n"
        "def connect(url):\n"
        f"\t{say}\n"
        '\treturn create_engine(url, pool_size=int("5"), pool_recycle=3600)\n'
        'engine = connect("postgresql://u@h/db")\n'
    )
    report = scan(tmp_path, {"app/db.py": source}, monkeypatch)
    pool = at(report, "app/db.py:8")
    assert (pool.settings["pool_size"].value, pool.settings["pool_size"].source) == (5, '"5"')
    assert (pool.settings["url"].source, pool.settings["pool_recycle"].source) == ('"postgresql://u@h/db"', "3600")


@pytest.mark.parametrize("ends", ['sys.exit(f"Missing {name}.")', "exit(1)", "os._exit(1)", "raise SystemExit(1)"])
def test_a_path_that_ends_the_program_gives_no_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ends: str
) -> None:
    # Kurisu's get_env(): the variable, else the file NAME_FILE names, else `sys.exit(...)`: the path with
    # neither set never returns, yet its None was the URL's ("postgresql://None@kurisu_db/None", known)
    source = f"""
    import os
    import sys

    import asyncpg


    def get_env(name):
        contents = os.environ.get(name)
        if contents is None:
            contents_file = os.environ.get(name + "_FILE")
            if contents_file:
                with open(contents_file) as f:
                    contents = f.readline().strip()
            else:
                {ends}
        return contents


    async def main():
        user = get_env("DB_USER")
        return await asyncpg.create_pool(f"postgresql://{{user}}@db/{{user}}", min_size=20)
    """
    report = scan(tmp_path, {"bot.py": source}, monkeypatch)
    dsn = at(report, "bot.py:21").settings["dsn"]
    assert dsn.known is False
    assert all(not branch.known for branch in dsn.branches or [])


def test_an_empty_url_a_test_of_a_variable_chose_is_refused_not_the_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # FallenRobot: `if ENV: DB_URI = os.environ.get("DATABASE_URL") else: DB_URI = Config.DATABASE_URL` with
    # `DATABASE_URL = ""` pinned: the side with no variable set was reported as "$ENV", the variable that only
    # picks the side
    source = """
    import os

    from sqlalchemy import create_engine

    ENV = bool(os.environ.get("ENV", False))


    class Config:
        DATABASE_URL = ""


    if ENV:
        DB_URI = os.environ.get("DATABASE_URL")
    else:
        DB_URI = Config.DATABASE_URL

    engine = create_engine(DB_URI, client_encoding="utf8")
    """
    report = scan(tmp_path, {"bot.py": source}, monkeypatch)
    url = at(report, "bot.py:17").settings["url"]
    refused = "'' (no URL: create_engine refuses it)"
    assert (url.known, url.expr) == (False, refused)
    assert [(b.when, b.expr) for b in url.branches or []] == [("not (ENV)", refused), ("ENV", "$DATABASE_URL")]


@pytest.mark.parametrize("star", ["from ggrc.settings.default import *", "from .default import *"])
@pytest.mark.parametrize("made", ["direct", "factory"])
def test_a_flask_app_loading_a_settings_package_that_star_imports_its_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, star: str, made: str
) -> None:
    # ggrc: `app.config.from_object(settings)` of a package whose __init__ only star-imports default.py, and the
    # extension made by `bootstrap.get_db()` (`db = SQLAlchemy(); return db`): no pool at all
    (tmp_path / "requirements.txt").write_text("Flask-SQLAlchemy==2.5.1\n")  # (2.x reads SQLALCHEMY_POOL_*)
    db = (
        "from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n"
        if made == "direct"
        else "from ggrc import bootstrap\n\ndb = bootstrap.get_db()\n"
    )
    report = scan(
        tmp_path,
        {
            "src/ggrc/__init__.py": db,
            "src/ggrc/bootstrap.py": """
            def get_db():
                from flask_sqlalchemy import SQLAlchemy

                db = SQLAlchemy()
                return db
            """,
            "src/ggrc/settings/__init__.py": f"{star}  # noqa\n",
            "src/ggrc/settings/default.py": """
            import os

            SQLALCHEMY_POOL_RECYCLE = 120
            SQLALCHEMY_DATABASE_URI = os.environ.get("GGRC_DATABASE_URI", "")
            """,
            "src/ggrc/app.py": """
            from flask import Flask

            from ggrc import db, settings

            app = Flask("ggrc")
            app.config.from_object(settings)
            db.init_app(app)
            """,
        },
        monkeypatch,
    )
    assert [pool.where for pool in report.pools] == ["src/ggrc/app.py:7"]
    pool = report.pools[0]
    assert (pool.settings["pool_recycle"].value, pool.settings["url"].env) == (120, "GGRC_DATABASE_URI")


def test_a_flask_extension_bound_to_an_attribute_is_the_apps_one_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GeoHealthCheck: `App.db_instance = SQLAlchemy(app, engine_options={...})` in a staticmethod: two pools, one
    # at the from_pyfile line with the URL, one at the bind without it
    report = scan(
        tmp_path,
        {
            "ghc/__init__.py": "",
            "ghc/config_main.py": 'SQLALCHEMY_DATABASE_URI = "sqlite:///data.db"\n',
            "ghc/init.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy


            class App:
                db_instance = None

                @staticmethod
                def init():
                    app = Flask(__name__)
                    app.config.from_pyfile("config_main.py")
                    App.db_instance = SQLAlchemy(app, engine_options={"pool_pre_ping": True})
                    return app


            APP = App.init()
            """,
        },
        monkeypatch,
    )
    assert [pool.where for pool in report.pools] == ["ghc/init.py:12"]
    pool = report.pools[0]
    assert (pool.settings["url"].value, pool.settings["pool_pre_ping"].value) == ("sqlite:///data.db", True)


def test_a_paste_app_factory_named_in_a_python_2_setup_py(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # rhodecode: setup.py's `except IOError, err:` kept its `paste.app_factory` entry point unread, so
    # production.ini's `use = egg:...` led to no app and the engine's URL and pool_recycle were unknown
    report = scan(
        tmp_path,
        {
            "setup.py": """
            from setuptools import setup

            try:
                long_description = open("README.rst").read()
            except IOError, err:
                long_description = ""

            setup(name="shop-enterprise", entry_points={"paste.app_factory": ["main = shop:make_app"]})
            """,
            "shop/__init__.py": """
            from sqlalchemy import engine_from_config


            def make_app(global_config, **settings):
                return engine_from_config(settings, "sqlalchemy.")
            """,
            "production.ini": """
            [app:main]
            use = egg:shop-enterprise
            sqlalchemy.url = postgresql://shop@localhost/shop
            sqlalchemy.pool_recycle = 3600
            """,
        },
        monkeypatch,
    )
    settings = report.pools[0].settings
    assert (settings["url"].value, settings["pool_recycle"].value) == ("postgresql://shop@localhost/shop", 3600)


ENGINE = 'from sqlalchemy import create_engine\n\nengine = create_engine("postgresql://u@h/db")\n'


def test_packages_installed_or_vendored_into_the_tree_are_not_the_apps_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # bazarr vendors its dependencies in libs/ (put on sys.path): alembic's templates, APScheduler's job store
    # and Flask-SQLAlchemy's own engine_from_config were judged as five pools of the app. Only what the
    # .dist-info folders' RECORD lists is someone else's: the app's own files beside them stay read (review: a
    # Lambda handler beside `pip install -t .`, an app's file in libs/)
    report = scan(
        tmp_path,
        {
            "libs/APScheduler-3.10.4.dist-info/RECORD": "apscheduler/__init__.py,sha256=x,1\napscheduler/jobs.py,,\n",
            "libs/alembic-1.14.0.dist-info/RECORD": "alembic/templates/generic/env.py,,\n",
            "libs/apscheduler/__init__.py": "",
            "libs/apscheduler/jobs.py": ENGINE,
            "libs/alembic/templates/generic/env.py": ENGINE,
            "libs/sqlalchemy/engine/create.py": ENGINE,  # a copy with no metadata, known by its own files
            "libs/app_helpers.py": ENGINE,
            "bazarr/app/database.py": ENGINE,
            "functions/orders/SQLAlchemy-2.0.30.dist-info/RECORD": "sqlalchemy/engine/create.py,,\n",
            "functions/orders/sqlalchemy/engine/create.py": ENGINE,
            "functions/orders/handler.py": ENGINE,
        },
        monkeypatch,
    )
    found = sorted(pool.where for pool in report.pools)
    assert found == ["bazarr/app/database.py:3", "functions/orders/handler.py:3", "libs/app_helpers.py:3"]


@pytest.mark.parametrize(
    ("folder", "aside"),
    [
        ("integration_tests/suite/helpers", "tests"),
        ("tests_e2e", "tests"),
        ("contest_app", None),
        ("latest", None),
        ("online_test", None),  # (review) FOSSEE's Yaksh keeps its Django settings in online_test/
    ],
)
def test_a_folder_named_for_a_kind_of_tests_holds_tests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, folder: str, aside: str | None
) -> None:
    # wazo's integration_tests/suite/helpers/base.py made the integration suites' engines: judged as the app's
    report = scan(tmp_path, {f"{folder}/base.py": ENGINE}, monkeypatch)
    assert at(report, f"{folder}/base.py:3").aside == aside


def test_an_apps_own_integration_package_named_for_a_library_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = scan(
        tmp_path, {"app/integrations/sqlalchemy/__init__.py": "", "app/integrations/db.py": ENGINE}, monkeypatch
    )
    assert [pool.where for pool in report.pools] == ["app/integrations/db.py:3"]


OWN_QUIT = """
import os

from sqlalchemy import create_engine


def quit(reason):
    print(reason)


def pool_size():
    size = os.environ.get("POOL_SIZE")
    if not size:
        quit("POOL_SIZE not set")
        size = "10"
    return int(size)


engine = create_engine("postgresql://u@h/db", pool_size=pool_size())
"""
CAUGHT_EXIT = """
import os
import sys

from sqlalchemy import create_engine


def pool_size():
    size, given = 10, os.environ.get("POOL_SIZE")
    try:
        if given:
            size = int(given)
        else:
            sys.exit("POOL_SIZE not set")
    except SystemExit:
        print("POOL_SIZE not set: 10")
    return size


engine = create_engine("postgresql://u@h/db", pool_size=pool_size())
"""
EXIT_AFTER_MAIN = """
import os
import sys

from sqlalchemy import create_engine

POOL_SIZE = 5


def main():
    return create_engine("postgresql://u@h/db", pool_size=POOL_SIZE)


if os.environ.get("ONE_SHOT"):
    POOL_SIZE = 1
    sys.exit(main())
main()
"""


@pytest.mark.parametrize(
    ("source", "at_line", "expected"),
    [(OWN_QUIT, 18, [10]), (CAUGHT_EXIT, 19, [10]), (EXIT_AFTER_MAIN, 15, [5, 1])],
)
def test_an_exit_that_does_not_end_the_path_keeps_its_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, at_line: int, expected: list[int]
) -> None:
    # (review) the name alone was taken for the builtin's quit(), an exit inside `try ... except SystemExit` for
    # the function's end, and `sys.exit(main())` for a path that makes nothing: their values were lost
    report = scan(tmp_path, {"app.py": source}, monkeypatch)
    size = at(report, f"app.py:{at_line}").settings["pool_size"]
    assert size.value == expected[0] and set(expected) <= {b.value for b in size.branches or [size]}


def test_an_app_a_factory_makes_and_binds_elsewhere_keeps_its_bind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (review) following project factories for the extension followed them for the app too: `app = make_app()`
    # became the factory's Flask(...) and the bind in models.py was lost (the pool placed at the config)
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/factory.py": "from flask import Flask\n\n\ndef make_app():\n    app = Flask(__name__)\n    return app\n",
            "app/main.py": """
            from app.factory import make_app

            app = make_app()
            app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://u@h/db"
            app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": 7}
            """,
            "app/models.py": "from flask_sqlalchemy import SQLAlchemy\n\nfrom app.main import app\n\ndb = SQLAlchemy(app)\n",
        },
        monkeypatch,
    )
    assert [(pool.where, pool.at_import) for pool in report.pools] == [("app/models.py:5", True)]
    assert report.pools[0].settings["pool_size"].value == 7


def test_a_pydantic_field_whose_default_is_in_its_annotated_type(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # tux: `POOL_SIZE: Annotated[int, Field(default=20, description="...")]` (pydantic 2 reads the default there)
    # was reported "required, no default"; the alias in the Annotated Field names the variable too
    report = scan(
        tmp_path,
        {
            "settings.py": """
            from typing import Annotated

            from pydantic import Field
            from pydantic_settings import BaseSettings


            class Settings(BaseSettings):
                POOL_SIZE: Annotated[int, Field(default=20, description="a bool-free description of a float")]
                MAX_OVERFLOW: Annotated[int, Field(default=40, alias="DB_MAX_OVERFLOW")]
                POOL_TIMEOUT: Annotated[float, Field(gt=0)] = 30.0


            settings = Settings()
            """,
            "db.py": """
            from sqlalchemy.ext.asyncio import create_async_engine

            from settings import settings

            engine = create_async_engine(
                "postgresql+asyncpg://u@h/db",
                pool_size=settings.POOL_SIZE,
                max_overflow=settings.MAX_OVERFLOW,
                pool_timeout=settings.POOL_TIMEOUT,
            )
            """,
        },
        monkeypatch,
    )
    found = {k: (v.value, v.env) for k, v in at(report, "db.py:5").settings.items() if k != "url"}
    assert found == {
        "pool_size": (20, "POOL_SIZE"),
        "max_overflow": (40, "DB_MAX_OVERFLOW"),
        "pool_timeout": (30.0, "POOL_TIMEOUT"),
    }


@pytest.mark.parametrize(("made", "expected"), [("Postgres(app=self, **config)", None), ("Postgres()", "localhost")])
def test_a_method_pool_of_an_instance_made_with_arguments_elsewhere_reads_them_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, made: str, expected: str | None
) -> None:
    # temboard: `Postgres(app=self, **config)` in a module naming no pool library; the pool method read
    # `__init__`'s defaults (host None, user None: known) as if the instance were made with no arguments
    report = scan(
        tmp_path,
        {
            "agent/__init__.py": "",
            "agent/postgres.py": """
            from psycopg2.pool import ThreadedConnectionPool


            class Postgres(object):
                def __init__(self, host="localhost", user=None, app=None, **kw):
                    self.host = host
                    self.user = user

                def pool(self):
                    return ThreadedConnectionPool(minconn=1, maxconn=2, host=self.host, user=self.user)
            """,
            "agent/app.py": f"""
            from agent.postgres import Postgres


            class AgentApp:
                def __init__(self, config):
                    self.postgres = {made}
            """,
        },
        monkeypatch,
    )
    pool = at(report, "agent/postgres.py:10")
    assert (pool.settings["host"].value, pool.settings["host"].known) == (expected, expected is not None)


def test_a_method_pool_of_an_instance_made_with_an_unread_mapping_reads_its_parameters_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # temboard's one instance: `Postgres(app=self, **postgresql)`, a dict the app updates at run time from a
    # mapping the scan cannot read: any parameter may come from it, not its default
    report = scan(
        tmp_path,
        {
            "agent/__init__.py": "",
            "agent/postgres.py": """
            from psycopg2.pool import ThreadedConnectionPool


            class Postgres:
                def __init__(self, host=None, user=None, app=None, **kw):
                    self.host = host
                    self.user = user

                def pool(self):
                    return ThreadedConnectionPool(minconn=1, maxconn=2, host=self.host, user=self.user)
            """,
            "agent/app.py": """
            from agent.postgres import Postgres


            class AgentApp:
                def __init__(self, overrides):
                    postgresql = {"host": "/var/run/postgresql"}
                    postgresql.update(overrides)
                    self.postgres = Postgres(app=self, **postgresql)

                def start(self):
                    return self.postgres.pool()
            """,
        },
        monkeypatch,
    )
    pools = [p for p in report.pools if p.settings.get("user") is not None]
    assert pools and all(not p.settings["user"].known for p in pools)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {
                "sauce/config/app_cfg.py": """
                from tg.configuration import AppConfig


                class SauceAppConfig(AppConfig):
                    def __init__(self):
                        super().__init__()
                        self.use_sqlalchemy = True
                """
            },
            "sauce/config/app_cfg.py:7: TurboGears makes a pool",
        ),
        (
            {
                "app/cfg.py": 'from tg import AppConfig\n\nbase_config = AppConfig()\nbase_config["use_sqlalchemy"] = True\n'
            },
            "app/cfg.py:4: TurboGears makes a pool",
        ),
        (
            {
                "glottolog3/__init__.py": """
                from pyramid.config import Configurator


                def main(global_config, **settings):
                    config = Configurator(settings=settings)
                    config.include("clldmpg")
                    return config.make_wsgi_app()
                """
            },
            "glottolog3/__init__.py:6: config.include('clldmpg') makes a pool inside clld",
        ),
    ],
)
def test_an_engine_turbogears_or_clld_makes_is_named_in_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str], expected: str
) -> None:
    # SAUCE and Kallithea (TurboGears' use_sqlalchemy) and glottolog3 (clld's includeme): the web app's engine is
    # made by the library, from the ini's sqlalchemy.* settings: no pool and no word of it
    report = scan(tmp_path, files, monkeypatch)
    assert report.pools == []
    assert [w for w in report.warnings if expected in w]


def test_databases_left_unset_beside_a_star_import_the_tree_lacks_are_what_it_sets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # tacticalrmm: `with suppress(ImportError): from .local_settings import *` (written at install time) gives
    # the deployed DATABASES; settings.py sets it only under `if "GHACTIONS" in os.environ:` (the CI's): only
    # the CI database was listed, as if it were the app's
    report = scan(
        tmp_path,
        {
            "api/rmm/__init__.py": "",
            "api/rmm/settings.py": """
            import os
            from contextlib import suppress

            INSTALLED_APPS = ["django.contrib.auth"]

            with suppress(ImportError):
                from .local_settings import *  # noqa

            if "GHACTIONS" in os.environ:
                DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "pipeline"}}
            """,
        },
        monkeypatch,
    )
    assert [(p.where, p.condition) for p in report.pools] == [("api/rmm/settings.py:10", None)]
    name = report.pools[0].settings["NAME"]
    assert name.known is False
    assert sorted((b.when, b.value) for b in name.branches or []) == [
        ('"GHACTIONS" in os.environ', "pipeline"),
        ('not ("GHACTIONS" in os.environ)', None),
    ]


def test_pydantic_merges_annotated_fields_with_the_assigned_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (review) pydantic 2.14's FieldInfo.from_annotated_attribute: an assigned value is only the default (the
    # Annotated Field's alias still names the variable), several Fields merge, and an assigned Field(...) merges
    # with the Annotated one; a nested model behind Annotated[Model, Field(default_factory=Model)] is one
    report = scan(
        tmp_path,
        {
            ".env": "DB_POOL_SIZE=15\nDB__RECYCLE=99\n",
            "settings.py": """
            from typing import Annotated

            from pydantic import BaseModel, Field
            from pydantic_settings import BaseSettings, SettingsConfigDict


            class DB(BaseModel):
                RECYCLE: int = 5


            class Settings(BaseSettings):
                model_config = SettingsConfigDict(env_file=".env", env_nested_delimiter="__")
                POOL_SIZE: Annotated[int, Field(alias="DB_POOL_SIZE")] = 5
                MAX_OVERFLOW: Annotated[int, Field(default=40), Field(alias="DB_MAX_OVERFLOW")]
                POOL_TIMEOUT: Annotated[int, Field(default=30)] = Field(alias="DB_POOL_TIMEOUT")
                db: Annotated[DB, Field(default_factory=DB)]


            settings = Settings()
            """,
            "db.py": """
            from sqlalchemy import create_engine

            from settings import settings

            engine = create_engine(
                "postgresql://u@h/db",
                pool_size=settings.POOL_SIZE,
                max_overflow=settings.MAX_OVERFLOW,
                pool_timeout=settings.POOL_TIMEOUT,
                pool_recycle=settings.db.RECYCLE,
            )
            """,
        },
        monkeypatch,
    )
    found = {k: (v.value, v.env) for k, v in at(report, "db.py:5").settings.items() if k != "url"}
    assert found == {
        "pool_size": (15, "DB_POOL_SIZE"),
        "max_overflow": (40, "DB_MAX_OVERFLOW"),
        "pool_timeout": (30, "DB_POOL_TIMEOUT"),
        "pool_recycle": (99, "DB__RECYCLE"),
    }


@pytest.mark.parametrize(
    ("made", "expected"),
    [
        ('Postgres(*("db.internal", "agent"))', ("db.internal", 20)),  # a known tuple: read
        ("Postgres(*sys.argv[1:])", (None, 20)),  # keyword-only maxconn: no *args gives it
    ],
)
def test_a_star_spread_reaches_positional_parameters_only_and_a_known_one_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, made: str, expected: tuple[object, object]
) -> None:
    report = scan(
        tmp_path,
        {
            "agent/__init__.py": "",
            "agent/postgres.py": """
            from psycopg2.pool import ThreadedConnectionPool


            class Postgres:
                def __init__(self, host="localhost", user=None, *, maxconn=20):
                    self.host = host
                    self.maxconn = maxconn

                def pool(self):
                    return ThreadedConnectionPool(minconn=1, maxconn=self.maxconn, host=self.host)
            """,
            "agent/app.py": f"""
            import sys

            from agent.postgres import Postgres

            POSTGRES = {made}
            """,
        },
        monkeypatch,
    )
    settings = report.pools[0].settings
    assert (settings["host"].value, settings["maxconn"].value) == expected


def test_an_exit_whose_message_is_formatted_still_ends_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (review) `sys.exit("...".format(...))` runs no code of the app: the path ends there, its 50 is no value
    source = """
    import os
    import sys

    from sqlalchemy import create_engine

    pool_size = int(os.environ.get("POOL_SIZE", "10"))
    if pool_size > 50:
        pool_size = 50
        sys.exit("POOL_SIZE {} is over the limit".format(os.environ["POOL_SIZE"]))
    engine = create_engine("postgresql://u@h/db", pool_size=pool_size)
    """
    report = scan(tmp_path, {"app.py": source}, monkeypatch)
    size = at(report, "app.py:10").settings["pool_size"]
    assert 50 not in {b.value for b in size.branches or [size]}


def test_vendored_libraries_without_metadata_are_known_by_their_own_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = scan(
        tmp_path,
        {
            "vendor/sqlalchemy/engine/create.py": ENGINE,
            "vendor/alembic/runtime/environment.py": "",
            "vendor/alembic/templates/generic/env.py": ENGINE,
            "vendor/flask_sqlalchemy/extension.py": ENGINE,
            "app/db.py": ENGINE,
        },
        monkeypatch,
    )
    assert [pool.where for pool in report.pools] == ["app/db.py:3"]


@pytest.mark.parametrize(("folder", "aside"), [("selenium_tests", "tests"), ("tests_py3", "tests")])
def test_a_folder_of_tests_of_any_kind_in_the_plural_holds_tests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, folder: str, aside: str
) -> None:
    report = scan(tmp_path, {f"{folder}/helpers.py": ENGINE}, monkeypatch)
    assert at(report, f"{folder}/helpers.py:3").aside == aside


def test_use_sqlalchemy_outside_turbogears_names_no_pool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # (review) the project's own `tg` package (a Telegram helper) and a keyword to another library's call
    report = scan(
        tmp_path,
        {
            "tg/__init__.py": "def send(text):\n    return text\n",
            "reports.py": "import tg\nfrom exporters import Exporter\n\nexporter = Exporter(target=1, use_sqlalchemy=True)\n",
        },
        monkeypatch,
    )
    assert not [w for w in report.warnings if "TurboGears" in w]


def test_a_site_packages_named_on_purpose_is_read_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the folder the user names is read, vendored copies at its top included (bench/scan.py scans site-packages)
    report = scan(tmp_path, {"sqlalchemy/engine/create.py": ENGINE, "SQLAlchemy-2.0.dist-info/RECORD": ""}, monkeypatch)
    assert [pool.where for pool in report.pools] == ["sqlalchemy/engine/create.py:3"]


def test_psycopg2s_old_async_keyword_after_a_form_feed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # (final read) the `async=` rewrite counted lines with splitlines, as the Python 2 rewrite did: a form feed
    # before it put the edit on the wrong line and the file went unread
    source = 'import psycopg2\n\x0c\nconn = psycopg2.connect("dbname=x", async=False)\nfrom sqlalchemy import create_engine\n'
    source += 'engine = create_engine("postgresql://u@h/db", pool_size=3)\n'
    report = scan(tmp_path, {"app.py": source}, monkeypatch)
    assert at(report, "app.py:5").settings["pool_size"].value == 3
    assert report.warnings == []
