"""`scan_path` following values the way real projects spread them (issue 29), continued from
test_scan_follow_round30.py (the open cases of held-out rounds 31 and 32). Each project is a few small files written
here (never a copy of a real one); line numbers in the assertions are the fixtures' own."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_scan import at, scan


@pytest.mark.parametrize(
    ("base", "imports", "named"),
    [
        ("Postgres", "from postgres import Postgres", "postgres.Postgres"),
        ("postgres.Postgres", "import postgres", "postgres.Postgres"),
        ("PooledPostgresqlDatabase", "from playhouse.pool import PooledPostgresqlDatabase", "playhouse.pool."),
    ],
)
def test_a_project_subclass_of_a_pool_of_a_library_without_a_stack_is_named_in_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, base: str, imports: str, named: str
) -> None:
    # liberapay: `class DB(Postgres)` with its own pool_class, made as `DB(dburl, maxconn=...)` elsewhere
    files = {
        "shop/__init__.py": "",
        "shop/models.py": f"""
            {imports}


            class DB({base}):
                def __init__(self, *a, **kw):
                    kw.setdefault("pool_class", None)
                    super().__init__(*a, **kw)
        """,
        "shop/wireup.py": """
            import os

            from shop.models import DB


            def database():
                return DB(os.environ["DATABASE_URL"], maxconn=int(os.environ["DATABASE_MAXCONN"]))
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert report.pools == []
    warned = [w for w in report.warnings if "makes a pool of a library pool-doctor does not read" in w]
    assert len(warned) == 1 and warned[0].startswith("shop/models.py:4: ") and f"subclass of {named}" in warned[0]


def test_a_module_of_the_tests_answers_no_import_of_the_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # docassemble: `docassemble` is a namespace package of several distributions (no __init__.py), and its behave
    # steps hold tests/features/steps/docassemble.py, which Python never finds for the app's imports
    files = {
        "docassemble_webapp/setup.py": "",
        "docassemble_webapp/docassemble/webapp/__init__.py": "",
        "docassemble_webapp/docassemble/webapp/database.py": """
            import os

            pool_pre_ping = os.environ.get("DA_PING", "") == "yes"


            def connection_string():
                return "postgresql+psycopg2://" + os.environ.get("DA_HOST", "db") + "/docassemble"
        """,
        "docassemble_webapp/docassemble/webapp/app.py": """
            from sqlalchemy import create_engine


            def make():
                import docassemble.webapp.database

                return create_engine(
                    docassemble.webapp.database.connection_string(),
                    pool_pre_ping=docassemble.webapp.database.pool_pre_ping,
                )
        """,
        "tests/features/steps/docassemble.py": """
            from behave import step


            @step("a page")
            def page(context):
                context.page = 1
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    [pool] = report.pools
    assert pool.settings["url"].value == "postgresql+psycopg2://db/docassemble"
    assert pool.settings["pool_pre_ping"].value is False


MIGRATIONS = """
from sqlalchemy.ext.asyncio import create_async_engine


async def run_alembic(url, engine=None):
    engine = engine or create_async_engine(url, pool_size=2)
    return engine


def run_sync(url, *, engine=None):
    if engine is None:
        engine = create_async_engine(url, pool_size=3)
    return engine
"""


@pytest.mark.parametrize(
    ("main", "lines"),
    [
        # every caller hands the engine it made: the fallbacks never run
        ("e = create_async_engine(URL)\nawait run_alembic(URL, e)\nrun_sync(URL, engine=e)\n", [9]),
        # a call that may give nothing (shared.engine() is no pool call of the app): that call's fallback is a pool
        ("await run_alembic(URL, create_async_engine(URL))\nrun_sync(URL, engine=await shared.engine())\n", [9, 10]),
        ("e = create_async_engine(URL)\nawait run_alembic(URL)\nrun_sync(URL, engine=e)\n", [9, 10]),
        ("", []),  # no caller in the app: each is a pool at its own line
    ],
)
def test_a_fallback_pool_no_caller_lets_run_is_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, main: str, lines: list[int]
) -> None:
    # monty-python: `engine = engine or create_async_engine(...)` in run_alembic(engine=None), whose one caller
    # passes the bot's engine
    body = "".join(f"    {line}\n" for line in main.splitlines()) or "    pass\n"
    files = {
        "app/__init__.py": "",
        "app/migrations.py": MIGRATIONS,
        "app/main.py": "from sqlalchemy.ext.asyncio import create_async_engine\n\n"
        "from app.migrations import run_alembic, run_sync\nimport shared\nURL = 'postgresql+asyncpg://db/app'\n\n\n"
        f"async def main():\n{body}",
    }
    report = scan(tmp_path, files, monkeypatch)
    found = sorted((p.file, p.line) for p in report.pools)
    own = [("app/migrations.py", 5), ("app/migrations.py", 11)] if not main else []
    assert found == [("app/main.py", line) for line in lines] + own


def test_defaults_filled_in_a_loop_into_a_config_file_read_at_run_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # sticker-finder, ultimate-poll-bot: every key the TOML file lacks is filled from default_config, one test per
    # key (`option not in config[key]` is its own test for each option), into sections the file may hold
    files = {
        "bot/__init__.py": "",
        "bot/config.py": """
            import os

            import toml

            default_config = {
                "telegram": {"api_key": "your_key"},
                "database": {"sql_uri": "postgresql://localhost/bot", "connection_count": 20, "overflow_count": 10},
            }
            config = toml.load(os.path.expanduser("~/.config/bot.toml"))
            for key, category in default_config.items():
                for option, value in category.items():
                    if option not in config[key]:
                        config[key][option] = value
        """,
        "bot/db.py": """
            from sqlalchemy import create_engine

            from bot.config import config

            engine = create_engine(
                config["database"]["sql_uri"],
                pool_size=config["database"]["connection_count"],
                max_overflow=config["database"]["overflow_count"],
            )
        """,
    }
    settings = scan(tmp_path, files, monkeypatch).pools[0].settings
    for name, option, default in [
        ("url", "sql_uri", "postgresql://localhost/bot"),
        ("pool_size", "connection_count", 20),
        ("max_overflow", "overflow_count", 10),
    ]:
        value = settings[name]
        assert not value.known and [(b.when, b.value) for b in value.branches] == [
            (f"{option!r} not in config['database']", default),
            (f"not ({option!r} not in config['database'])", None),
        ]


@pytest.mark.parametrize("first", ["global_settings", "global_config"])
def test_a_paste_app_factory_whatever_its_first_parameter_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, first: str
) -> None:
    # zam: `def make_app(global_settings, **settings)`; PasteDeploy gives the global conf by its place
    files = {
        "setup.py": """
            from setuptools import setup

            setup(name="zam_app", entry_points={"paste.app_factory": ["main = zam_app:make_app"]})
        """,
        "development.ini": "[app:main]\nuse = egg:zam_app\n\nsqlalchemy.url = postgresql://zam@localhost/zam\n",
        "zam_app/__init__.py": f"""
            from sqlalchemy import engine_from_config


            def make_app({first}, **settings):
                engine = engine_from_config(settings, "sqlalchemy.", pool_size=5)
                return engine
        """,
    }
    [pool] = scan(tmp_path, files, monkeypatch).pools
    assert pool.settings["url"].value == "postgresql://zam@localhost/zam"
    assert pool.settings["url"].from_ is not None and pool.settings["url"].from_.endswith("development.ini:4")


def test_a_console_script_named_alembic_inside_a_package_hides_no_alembic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # encoded: src/encoded/commands/alembic.py passes sys.argv to alembic.config.main; env.py's `from alembic
    # import context` is alembic's, and alembic.ini's URL is the one the migrations run with
    files = {
        "alembic.ini": "[alembic]\nscript_location = alembic\nsqlalchemy.url = postgresql:///encoded\n",
        "alembic/env.py": """
            from alembic import context
            from sqlalchemy import engine_from_config, pool

            config = context.config
            connectable = engine_from_config(
                config.get_section(config.config_ini_section), prefix="sqlalchemy.", poolclass=pool.NullPool
            )
        """,
        "src/encoded/__init__.py": "",
        "src/encoded/commands/__init__.py": "",
        "src/encoded/commands/alembic.py": """
            import sys

            import alembic.config


            def main():
                alembic.config.main(sys.argv[1:])
        """,
    }
    [pool] = scan(tmp_path, files, monkeypatch).pools
    assert pool.settings["url"].value == "postgresql:///encoded"


@pytest.mark.parametrize("other", [True, False])
def test_flask_migrate_env_reads_the_app_of_its_own_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, other: bool
) -> None:
    # knowledge-repo: a second Flask app in another package of the tree made `current_app` in the first app's
    # migrations/env.py unknown; the migrations are those of the app whose package holds them
    files = {
        "kr/__init__.py": "",
        "kr/app/__init__.py": "",
        "kr/app/models.py": "from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n",
        "kr/app/app.py": """
            from flask import Flask

            from kr.app.models import db

            app = Flask(__name__)
            app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://kr@db/kr"
            db.init_app(app)
        """,
        "kr/app/migrations/env.py": """
            from alembic import context
            from flask import current_app
            from sqlalchemy import engine_from_config, pool

            config = context.config
            config.set_main_option("sqlalchemy.url", current_app.config.get("SQLALCHEMY_DATABASE_URI"))
            engine = engine_from_config(
                config.get_section(config.config_ini_section), prefix="sqlalchemy.", poolclass=pool.NullPool
            )
        """,
    }
    if other:
        files["kr2/service/app.py"] = """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            app = Flask(__name__)
            app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://kr2@db/kr2"
            db = SQLAlchemy(app)
        """
    report = scan(tmp_path, files, monkeypatch)
    assert at(report, "kr/app/migrations/env.py:7").settings["url"].value == "postgresql://kr@db/kr"


@pytest.mark.parametrize(
    ("returns", "pools"),
    [
        (True, ["app/indexing.py:7", "app/indexing.py:11", "app/handler.py:6"]),
        (False, ["app/indexing.py:11", "app/util.py:10"]),
    ],
)
def test_a_function_that_returns_what_a_fixed_wrapper_makes_is_a_wrapper_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, returns: bool, pools: list[str]
) -> None:
    # sir: `def db_session(): return sessionmaker(bind=engine())`, engine() a fixed wrapper; each db_session()
    # call hands its caller a new engine. A function that only uses it inside is reported at its own line.
    session = "return sessionmaker(bind=engine())" if returns else "sessionmaker(bind=engine())()\n    return 1"
    files = {
        "app/__init__.py": "",
        "app/util.py": (
            "from sqlalchemy import create_engine\nfrom sqlalchemy.orm import sessionmaker\n\n\n"
            "def engine():\n    return create_engine('postgresql://u@db/mb')\n\n\n"
            f"def db_session():\n    {session}\n"
        ),
        "app/indexing.py": """
            from sqlalchemy.orm import Session

            from . import util


            def reindex():
                return util.db_session()


            def live_index():
                return Session(util.engine())
        """,
        "app/handler.py": """
            from app.util import db_session


            class Handler:
                def __init__(self):
                    self.db_session = db_session()
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert sorted(f"{p.file}:{p.line}" for p in report.pools) == sorted(pools)


def test_a_databases_dict_of_lists_is_no_django_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # ivre: DATABASES maps each storage backend to the test suites it skips; no alias is a database's settings
    files = {
        "tool/__init__.py": "",
        "tool/backends.py": """
            DATABASES = {
                "mongo": [],
                "postgres": ["15_rir", "60_flow"],
                "elastic": ["30_nmap"],
            }


            def skipped(backend):
                return DATABASES.get(backend, [])
        """,
    }
    assert scan(tmp_path, files, monkeypatch).pools == []


def test_a_path_made_of_a_value_a_test_decides_takes_each_side(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # KoalaBot: CONFIG_PATH is $CONFIG_PATH or "/config", then Path(CONFIG_PATH); the URL an f-string of it
    files = {
        "koala/__init__.py": "",
        "koala/db.py": """
            import os
            from pathlib import Path

            from sqlalchemy import create_engine

            CONFIG_PATH = os.environ.get("CONFIG_PATH")
            if not CONFIG_PATH:
                CONFIG_PATH = "/config"
            CONFIG_PATH = Path(CONFIG_PATH)
            DB_PATH = Path(CONFIG_PATH, "Koala.db")
            engine = create_engine(f"sqlite:///{DB_PATH.absolute()}?charset=utf8mb4")
        """,
    }
    url = scan(tmp_path, files, monkeypatch).pools[0].settings["url"]
    assert url.value == "sqlite:////config/Koala.db?charset=utf8mb4" and url.env == "CONFIG_PATH"
    assert [b.when for b in url.branches] == ["not CONFIG_PATH", "not (not CONFIG_PATH)"]


def test_apscheduler_job_stores_make_a_pool_inside_apscheduler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # ndscheduler: `class DatastoreBase(SQLAlchemyJobStore)` calls super().__init__(url=...), and a store made
    # directly; one given the app's own engine makes none
    files = {
        "sched/__init__.py": "",
        "sched/datastore.py": """
            from apscheduler.jobstores import sqlalchemy as sched_sqlalchemy


            class DatastoreBase(sched_sqlalchemy.SQLAlchemyJobStore):
                def __init__(self, db_config):
                    super().__init__(url="sqlite:///" + db_config["file_path"], tablename="scheduler_jobs")
        """,
        "sched/server.py": """
            from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
            from sqlalchemy import create_engine

            plain = SQLAlchemyJobStore(url="postgresql://u@db/jobs", engine_options={"pool_size": 5})
            shared = SQLAlchemyJobStore(engine=create_engine("postgresql://u@db/app"))
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [f"{p.file}:{p.line}" for p in report.pools] == ["sched/server.py:5"]
    inside = [w.split(": ")[0] for w in report.warnings if "makes a pool inside apscheduler" in w]
    assert inside == ["sched/datastore.py:4", "sched/server.py:4"]


def test_a_settings_module_that_runs_files_it_reads_is_named_in_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # akvo-rsr: the settings package exec()s every *.conf beside it, then every /config_overrides/*.conf (a
    # docker mount); DATABASES is set only there, so "no pools" alone would be a false all-clear
    files = {
        "manage.py": 'import os\n\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "akvo.settings")\n',
        "akvo/__init__.py": "",
        "akvo/settings/__init__.py": """
            import glob
            import os.path

            for f in sorted(glob.glob(os.path.join(os.path.dirname(__file__), "*.conf"))):
                with open(os.path.abspath(f), "rb") as g:
                    exec(compile(g.read(), f, "exec"))
        """,
        "akvo/settings/10-base.conf": "DEBUG = False\n",
        "akvo/tools.py": "def run(source):\n    exec(open(source).read())\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    assert report.pools == []
    warned = [w for w in report.warnings if "exec() runs settings read from files" in w]
    assert [w.split(": ")[0] for w in warned] == ["akvo/settings/__init__.py:6"]


def test_a_module_dict_a_loader_fills_in_place_is_not_known_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # docassemble: `daconfig = {}`, filled by load() from a YAML file at start-up; a bind set only where a key of it
    # is there was dropped as if the dict stayed empty
    files = {
        "webapp/__init__.py": "",
        "webapp/config.py": """
            import yaml

            daconfig = {"sql ping": False}


            def load(filename="/usr/share/docassemble/config/config.yml"):
                with open(filename) as stream:
                    for key, val in yaml.safe_load(stream).items():
                        daconfig[key.replace("_", " ")] = val
        """,
        "webapp/app.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            from webapp import config
            from webapp.config import daconfig

            config.load()
            app = Flask(__name__)
            app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://da@dbhost/docassemble"
            if daconfig.get("variables snapshot db") is not None:
                app.config["SQLALCHEMY_BINDS"] = {"snapshot": {"url": daconfig["variables snapshot db"]["url"]}}
            db = SQLAlchemy(app)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    calls = sorted(p.call for p in report.pools)
    assert len(calls) == 2 and any("snapshot" in c for c in calls)
    # what the module writes stays the value with nothing loaded
    engine = next(p for p in report.pools if "snapshot" not in p.call)
    assert engine.settings["url"].value == "postgresql://da@dbhost/docassemble"


def test_turbogears_1_config_loading_is_named_in_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # beaker: turbogears.update_config() loads server.cfg, whose sqlalchemy.dburi TurboGears 1 makes the engine of
    files = {
        "server.cfg": '[global]\nsqlalchemy.dburi = "mysql://beaker@localhost/beaker"\nsqlalchemy.pool_recycle = 3600\n',
        "bkr/__init__.py": "",
        "bkr/util.py": """
            import turbogears


            def load_config(configfile="/etc/beaker/server.cfg"):
                turbogears.update_config(configfile=configfile, modulename="bkr.config")
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert report.pools == []
    assert [w for w in report.warnings if w.startswith("bkr/util.py:5: turbogears.update_config() makes a pool")]


def test_each_run_of_a_loop_tests_its_own_item(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # debsources: guess_conffile() returns the first of three paths that exists; each run's `conffile.exists()`
    # is a test of its own file, not one test three times (which made the branches contradict each other)
    files = {
        "app/__init__.py": "",
        "app/db.py": """
            from pathlib import Path

            from sqlalchemy import create_engine

            CANDIDATES = [Path("/srv/app/local.db"), Path("/var/lib/app/app.db")]


            def guess():
                for candidate in CANDIDATES:
                    if candidate.exists():
                        return candidate
                return "/tmp/app.db"


            engine = create_engine(f"sqlite:///{guess()}")
        """,
    }
    url = scan(tmp_path, files, monkeypatch).pools[0].settings["url"]
    assert [(b.value, b.when) for b in url.branches] == [
        ("sqlite:////tmp/app.db", "otherwise"),
        ("sqlite:////srv/app/local.db", "'/srv/app/local.db'.exists()"),
        ("sqlite:////var/lib/app/app.db", "'/var/lib/app/app.db'.exists()"),
    ]
    # items the scan cannot write as a value: each run's test is named by its run
    files["app/db.py"] = """
        import json

        from sqlalchemy import create_engine

        SOURCES = [json.load(open("/etc/a.json")), json.load(open("/etc/b.json"))]


        def pick():
            for source in SOURCES:
                if source.get("url"):
                    return source["url"]
            return "sqlite://"


        engine = create_engine(pick())
    """
    url = scan(tmp_path / "unread", files, monkeypatch).pools[0].settings["url"]
    assert [b.when for b in url.branches] == [
        "otherwise",
        'source.get("url") (run 1 of source)',
        'source.get("url") (run 2 of source)',
    ]
