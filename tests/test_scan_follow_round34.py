"""`scan_path` following values the way real projects spread them (issue 29), continued from
test_scan_follow_round33.py (round 33's leftovers and the open cases of held-out round 34). Each project is a few
small files written here (never a copy of a real one); line numbers in the assertions are the fixtures' own."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_scan import at, scan

SINGLETON = """
class Config:
    instance = None

    class __Inner:
        def __init__(self, name=None):
            self.url = f"postgresql://db/{name or 'app'}"

    def __init__(self, name=None):
        if not Config.instance:
            Config.instance = Config.__Inner(name)

    def __getattr__(self, attr):
        return getattr(self.instance, attr)
"""


def test_a_singleton_its_own_init_fills_forwards_to_the_inner_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # laniakea's LocalConfig: `instance` is set by the class's own __init__, guarded by `if not Config.instance:`;
    # __getattr__ forwards every read to it
    files = {
        "app/__init__.py": "",
        "app/config.py": SINGLETON,
        "app/db.py": """
            from sqlalchemy import create_engine

            from app.config import Config


            def engine(conf=None):
                conf = conf or Config()
                return create_engine(conf.url)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert at(report, "app/db.py:8").settings["url"].value == "postgresql://db/app"


@pytest.mark.parametrize(
    "init",
    [
        # a counter: which value a read meets depends on how many instances were made
        "def __init__(self):\n        Config.instance = (Config.instance or 0) + 1",
        # another function sets it too
        "def __init__(self):\n        Config.instance = 'postgresql://db/a'\n\n"
        "    def reset(self):\n        Config.instance = 'postgresql://db/b'",
    ],
)
def test_a_class_attribute_its_init_changes_otherwise_stays_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, init: str
) -> None:
    files = {
        "config.py": f"class Config:\n    instance = None\n\n    {init}\n",
        "db.py": "from sqlalchemy import create_engine\n\nfrom config import Config\n\n"
        "engine = create_engine(Config().instance)\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    assert not at(report, "db.py:5").settings["url"].known


CHECKOUT_PING = """
    from sqlalchemy import create_engine, event, exc
    from sqlalchemy.pool import Pool

    engine = create_engine("postgresql://db/app")


    @event.listens_for(Pool, "checkout")
    def ping_connection(dbapi_connection, connection_record, connection_proxy):
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        except Exception:
            raise exc.DisconnectionError()
        cursor.close()
"""

ENGINE_CONNECT_PING = """
    from sqlalchemy import create_engine, event, select
    from sqlalchemy import exc


    def make_engine(url):
        engine = create_engine(url, pool_pre_ping=False)

        def ping(connection, branch):
            try:
                connection.scalar(select(1))
            except exc.DBAPIError as err:
                if err.connection_invalidated:
                    connection.scalar(select(1))
                else:
                    raise

        event.listen(engine, "engine_connect", ping)
        return engine


    engine = make_engine("postgresql://db/app")
"""

# the multiprocessing recipe: it replaces a connection another process opened, and tests nothing
PID_CHECK = """
    import os

    from sqlalchemy import create_engine, event
    from sqlalchemy.exc import DisconnectionError

    engine = create_engine("postgresql://db/app")


    @event.listens_for(engine, "checkout")
    def checkout(dbapi_connection, connection_record, connection_proxy):
        if connection_record.info["pid"] != os.getpid():
            raise DisconnectionError("belongs to another process")
"""


@pytest.mark.parametrize(
    ("source", "line", "tested"),
    [(CHECKOUT_PING, 4, "app/db.py:7"), (ENGINE_CONNECT_PING, 21, "app/db.py:17"), (PID_CHECK, 6, None)],
)
def test_a_listener_that_tests_connections_at_checkout_is_a_pre_ping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, line: int, tested: str | None
) -> None:
    # build-relengapi: SQLAlchemy's pessimistic-disconnect recipe from before pool_pre_ping, on the Pool class
    report = scan(tmp_path, {"app/__init__.py": "", "app/db.py": source}, monkeypatch)
    pool = at(report, f"app/db.py:{line}")
    ping = pool.get("pool_pre_ping")
    if tested is None:
        assert ping is None
        assert any(f.code == "no-liveness-check" for p, f in report.findings if p is pool)
    else:
        assert ping is not None and ping.value is True and ping.from_ == tested
        assert not any(f.code == "no-liveness-check" for p, f in report.findings if p is pool)


def test_a_listener_on_the_pool_class_in_an_unlinked_module_tests_nothing_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {
        "app/__init__.py": "",
        "app/db.py": "from sqlalchemy import create_engine\n\nengine = create_engine('postgresql://db/app')\n",
        "other/__init__.py": "",
        "other/ping.py": CHECKOUT_PING.replace('engine = create_engine("postgresql://db/app")', ""),
    }
    report = scan(tmp_path, files, monkeypatch)
    assert at(report, "app/db.py:3").get("pool_pre_ping") is None


def test_a_path_helper_given_star_args_spreads_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # enterprise-access: `def root(*fragments): return join(abspath(PROJECT_ROOT), *fragments)`
    files = {
        "site/__init__.py": "",
        "site/settings.py": """
            from os.path import abspath, dirname, join
            from pathlib import Path

            ROOT = join(abspath(dirname(__file__)), "..")


            def root(*fragments):
                return join(abspath(ROOT), *fragments)


            def under(*fragments):
                return Path(ROOT, *fragments)


            DATABASES = {
                "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": root("data", "default.db")},
                "other": {"ENGINE": "django.db.backends.sqlite3", "NAME": under("other.db")},
            }
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    names = {p.call: p.settings["NAME"] for p in report.pools}
    assert names["DATABASES['default']"].value == str(tmp_path / "data" / "default.db")
    assert names["DATABASES['other']"].value == str(tmp_path / "site" / ".." / "other.db")


def test_engine_from_config_of_the_environment_reads_each_key_from_a_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # opnreco: `engine_from_config(os.environ, prefix)`: the URL is $sqlalchemy_url, any pool key a variable's
    files = {
        "app.py": """
            import os

            from sqlalchemy import engine_from_config

            engine = engine_from_config(os.environ, "sqlalchemy_")
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    pool = at(report, "app.py:5")
    assert not pool.settings["url"].known and pool.settings["url"].env == "sqlalchemy_url"
    assert pool.unresolved == ["configuration: os.environ (any sqlalchemy_* variable)"]


def test_a_star_import_of_a_module_updating_its_names_from_a_file_may_set_any_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # edx-analytics-dashboard: production.py star-imports yaml_config, whose `vars().update(config_from_yaml)`
    # reads a YAML file a required variable names
    files = {
        "dash/__init__.py": "",
        "dash/base.py": "DATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql', 'HOST': 'db'}}\n",
        "dash/yaml_config.py": """
            import os

            import yaml

            with open(os.environ["DASH_CFG"]) as f:
                config_from_yaml = yaml.safe_load(f)

            vars().update(config_from_yaml)
        """,
        "dash/production.py": "from dash.base import *\nfrom dash.yaml_config import *\n\nDATABASES['default']['NAME'] = 'dash'\n",
        "dash/staging.py": "from dash.base import *\n\nDATABASES['default']['NAME'] = 'dash'\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    pools = {p.file: p for p in report.pools}
    assert "HOST" not in pools["dash/production.py"].settings and pools["dash/production.py"].unresolved
    assert pools["dash/staging.py"].settings["HOST"].value == "db"


ALEMBIC_ENV = """
    from alembic import context
    from sqlalchemy import engine_from_config, pool

    config = context.config
    engine = engine_from_config(config.get_section(config.config_ini_section), prefix="sqlalchemy.")
"""


@pytest.mark.parametrize(("location", "runs"), [("inspect.getfile(migrations)", True), ("'/elsewhere/x'", False)])
def test_a_program_anywhere_that_points_alembic_at_the_migrations_runs_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, location: str, runs: bool
) -> None:
    # faf's bin/faf-migrate-db: `Config()`, script_location set to the migrations package's folder, the URL
    # set to the app's own; alembic.ini's URL is the alembic command's alone
    files = {
        "app/__init__.py": "",
        "app/storage/__init__.py": "",
        "app/storage/migrations/__init__.py": "",
        "app/storage/migrations/alembic.ini": "[alembic]\nscript_location = .\nsqlalchemy.url = postgresql:///ini\n",
        "app/storage/migrations/env.py": ALEMBIC_ENV,
        "bin/app-migrate": f"""
            #!/usr/bin/python3
            import inspect
            import os

            from alembic import command
            from alembic.config import Config

            from app.storage import migrations

            cfg = Config()
            cfg.set_main_option("script_location", os.path.dirname({location}))
            cfg.set_main_option("sqlalchemy.url", "postgresql://db/app")
            command.upgrade(cfg, "head")
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    url = at(report, "app/storage/migrations/env.py:5").settings["url"]
    if runs:
        assert [b.value for b in url.branches] == ["postgresql://db/app", "postgresql:///ini"]
        assert url.branches[0].when == "run by bin/app-migrate:12"
    else:
        assert url.value == "postgresql:///ini" and not url.branches


MEMO_DB = """
    import os

    from sqlalchemy import create_engine

    _engines = {}


    def name():
        if os.path.isfile("/etc/app/defaults"):
            return read_config()["name"]
        return read_config()["fallback"]


    def get_engine(dbname=None, echo=False):
        if not dbname:
            dbname = name()
        if dbname not in _engines:
            if os.environ.get("OTLP_ENDPOINT"):
                _engines[dbname] = create_engine("postgresql://db/app", pool_size=7, echo=echo)
            else:
                _engines[dbname] = create_engine("postgresql://db/app", pool_size=5, echo=echo)
        return _engines.get(dbname)


    def connect():
        return get_engine().connect()
"""


def test_a_wrappers_two_calls_on_the_sides_of_one_test_are_one_pool_per_caller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # aurweb's get_engine: a traced engine or a plain one, into the same memo; its key read from a config file
    # that may be there or not (the same for every caller of a run); its scripts run as programs of their own
    files = {
        "app/__init__.py": "",
        "app/db.py": MEMO_DB,
        "app/asgi.py": "from app.db import get_engine\n\n\ndef startup():\n    get_engine()\n",
        "app/scripts/__init__.py": "",
        "app/scripts/notify.py": """
            from app import db


            def main():
                db.get_engine()


            if __name__ == "__main__":
                main()
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert sorted(p.where for p in report.pools) == ["app/asgi.py:5", "app/scripts/notify.py:5"]
    pool = at(report, "app/asgi.py:5")
    size = pool.settings["pool_size"]
    assert [(b.value, b.when) for b in size.branches] == [
        (5, 'not (os.environ.get("OTLP_ENDPOINT"))'),
        (7, 'os.environ.get("OTLP_ENDPOINT")'),
    ]
    assert pool.settings["url"].value == "postgresql://db/app" and pool.condition == "dbname not in _engines"


def test_a_package_attribute_its_init_rebinds_over_the_submodule_of_that_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ayon-backend: config/__init__.py does `from .ayonconfig import ayonconfig`, the instance over the submodule
    files = {
        "app/__init__.py": "",
        "app/config/__init__.py": "from .appconfig import appconfig\n",
        "app/config/appconfig.py": """
            from pydantic import BaseModel


            class AppConfig(BaseModel):
                postgres_url: str = "postgres://app@postgres/app"
                pool_size: int = 64


            appconfig = AppConfig()
        """,
        "app/postgres.py": """
            import asyncpg

            from app import config
            from app.config import appconfig


            async def connect():
                return await asyncpg.create_pool(appconfig.postgres_url, max_size=config.appconfig.pool_size)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    settings = at(report, "app/postgres.py:8").settings
    assert settings["dsn"].value == "postgres://app@postgres/app" and settings["max_size"].value == 64


CLICK_COMMAND = """
    import click
    import typer
    from sqlalchemy import create_engine


    @click.command()
    @click.option("--database-url", "-d", default="postgresql://db/app", envvar="DATABASE_URL")
    @click.option("--echo/--no-echo", is_flag=True)
    @click.option("--size", type=int, required=True)
    @click.argument("dsn")
    def rebuild(database_url, echo, size, dsn):
        create_engine(database_url, echo=echo, pool_size=size)
        create_engine(dsn)


    def main(url: str = typer.Option("postgresql://db/typer", envvar="TYPER_URL"), size: int = typer.Option(...)):
        create_engine(url, pool_size=size)
"""


def test_a_click_commands_options_give_its_parameters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # shipit: `@click.option("--database-url", ..., default="postgresql://...")` on the command making the engine
    report = scan(tmp_path, {"cli.py": CLICK_COMMAND}, monkeypatch)
    settings = at(report, "cli.py:12").settings
    assert (settings["url"].value, settings["url"].env) == ("postgresql://db/app", "DATABASE_URL")
    assert settings["echo"].value is False
    assert not settings["pool_size"].known and "given on the command line" in (settings["pool_size"].expr or "")
    assert not at(report, "cli.py:13").settings["url"].known
    typer_settings = at(report, "cli.py:17").settings
    assert (typer_settings["url"].value, typer_settings["url"].env) == ("postgresql://db/typer", "TYPER_URL")
    assert not typer_settings["pool_size"].known


def test_a_method_of_a_class_the_app_makes_in_two_places_reads_each_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # quarry's Connections(config), made by the web app and by the killer, its property making the engine
    files = {
        "app/__init__.py": "",
        "app/connections.py": """
            from sqlalchemy import create_engine


            class Connections:
                def __init__(self, config):
                    self.config = config

                @property
                def engine(self):
                    return create_engine(self.config["URL"], pool_size=self.config["SIZE"])
        """,
        "app/web.py": "from app.connections import Connections\n\nconn = Connections({'URL': 'postgresql://db/q', 'SIZE': 5})\n",
        "app/killer.py": "from app.connections import Connections\n\nconn = Connections({'URL': 'postgresql://db/q', 'SIZE': 2})\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    settings = at(report, "app/connections.py:10").settings
    assert settings["url"].value == "postgresql://db/q"
    assert sorted((b.value, b.when) for b in settings["pool_size"].branches) == [
        (2, "self made at app/killer.py:3"),
        (5, "self made at app/web.py:3"),
    ]


# The review's cases: listeners that register no test of the pool's connections
RECIPE = """
def ping(dbapi_connection, connection_record, connection_proxy):
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SELECT 1")
    except Exception:
        raise exc.DisconnectionError()
"""


@pytest.mark.parametrize(
    "files",
    [
        {  # under an `if` no variable set takes
            "db.py": "import os\nfrom sqlalchemy import create_engine, event, exc\n\nengine = create_engine('postgresql://db/a')\n"
            + RECIPE
            + "\n\nif os.environ.get('DB_PING'):\n    event.listen(engine, 'checkout', ping)\n",
        },
        {  # on the Pool class in a function nothing calls
            "db.py": "from sqlalchemy import create_engine, event, exc\nfrom sqlalchemy.pool import Pool\n\n"
            "engine = create_engine('postgresql://db/a')\n\n\ndef install():\n"
            + "\n".join(f"    {line}" for line in RECIPE.strip().splitlines())
            + "\n\n    event.listen(Pool, 'checkout', ping)\n",
        },
        {  # on the Pool class in a script that imports the pool's module, which never imports it
            "db.py": "from sqlalchemy import create_engine\n\nengine = create_engine('postgresql://db/a')\n",
            "backfill.py": "import db\nfrom sqlalchemy import create_engine, event, exc\nfrom sqlalchemy.pool import Pool\n"
            + RECIPE
            + "\n\nevent.listen(Pool, 'checkout', ping)\nown = create_engine('postgresql://db/b')\n",
        },
        {  # engine_connect that only logs connection_invalidated and raises
            "db.py": """
                import logging

                from sqlalchemy import create_engine, event, text
                from sqlalchemy.exc import DBAPIError

                engine = create_engine("postgresql://db/a")


                @event.listens_for(engine, "engine_connect")
                def on_connect(connection):
                    try:
                        connection.execute(text("SET search_path TO app"))
                    except DBAPIError as err:
                        logging.warning("invalidated: %s", err.connection_invalidated)
                        raise
            """,
        },
    ],
)
def test_a_listener_that_may_not_test_the_pools_connections_is_no_pre_ping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str]
) -> None:
    report = scan(tmp_path, files, monkeypatch)
    pool = next(p for p in report.pools if p.file == "db.py")
    assert pool.get("pool_pre_ping") is None


def test_a_listener_on_a_name_is_on_the_engine_it_holds_then(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = (
        "from sqlalchemy import create_engine, event, exc\n\nengine = create_engine('postgresql://db/a')\n"
        + RECIPE
        + "\n\nevent.listen(engine, 'checkout', ping)\nengine = create_engine('postgresql://db/b')\n"
    )
    report = scan(tmp_path, {"db.py": source}, monkeypatch)
    assert at(report, "db.py:3").get("pool_pre_ping") is not None
    assert at(report, "db.py:14").get("pool_pre_ping") is None


def test_calls_on_the_sides_of_a_test_in_a_loop_are_two_pools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "db.py": """
            from sqlalchemy import create_engine


            def make_engines(urls):
                engines = {}
                for url in urls:
                    if url.startswith("sqlite"):
                        engines[url] = create_engine(url)
                    else:
                        engines[url] = create_engine(url, pool_size=20)
                return engines


            ENGINES = make_engines(["sqlite://", "postgresql://db/a"])
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert len([p for p in report.pools if p.where == "db.py:14"]) == 2


def test_an_if_elif_else_of_three_calls_is_one_pool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "db.py": """
            import os

            from sqlalchemy import create_engine

            _engines = {}


            def get_engine(name="app", echo=False):
                if name not in _engines:
                    if os.environ.get("DB_REPLICA"):
                        _engines[name] = create_engine("postgresql://replica/app", pool_size=3, echo=echo)
                    elif os.environ.get("DB_TRACE"):
                        _engines[name] = create_engine("postgresql://db/app", pool_size=9, echo=not echo)
                    else:
                        _engines[name] = create_engine("postgresql://db/app", pool_size=5, echo=echo)
                return _engines[name]
        """,
        "app.py": "from db import get_engine\n\nengine = get_engine()\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    (pool,) = report.pools
    size = pool.settings["pool_size"]
    assert [b.value for b in size.branches] == [5, 3, 9] and size.branches[0].when == (
        'not (os.environ.get("DB_REPLICA")) and not (os.environ.get("DB_TRACE"))'
    )


@pytest.mark.parametrize(
    ("files", "pools"),
    [
        (  # a Flask app's own `app.run()` under __main__: the web app, one process with what it imports
            {
                "app.py": "from db import get_engine\nfrom models import load\n\n\ndef health():\n"
                "    get_engine()\n\n\nif __name__ == '__main__':\n    app.run(debug=True)\n",
                "models.py": "from db import get_engine\n\n\ndef load():\n    get_engine()\n",
            },
            ["app.py:6"],
        ),
        (  # a console script naming another module (`myapi:main`) is not api.py's
            {
                "pyproject.toml": '[project]\nname = "x"\n\n[project.scripts]\nadmin = "myapi:main"\n',
                "api.py": "from db import get_engine\n\n\ndef a():\n    get_engine()\n",
                "views.py": "from db import get_engine\n\n\ndef v():\n    get_engine()\n",
            },
            ["api.py:5"],
        ),
        (  # each caller's own test of the key: two keys
            {
                "jobs.py": "from db import get_engine\n\n\ndef a(replica):\n    get_engine('ro' if replica else 'rw')\n"
                "\n\ndef b(dry):\n    get_engine('ro' if dry else 'rw')\n",
            },
            ["jobs.py:5", "jobs.py:9"],
        ),
    ],
)
def test_a_memo_is_one_pool_per_process_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str], pools: list[str]
) -> None:
    memo = (
        "from sqlalchemy import create_engine\n\n_engines = {}\n\n\ndef get_engine(name='main', echo=False):\n"
        "    if name not in _engines:\n        _engines[name] = create_engine('postgresql://db/' + name, echo=echo)\n"
        "    return _engines[name]\n"
    )
    report = scan(tmp_path, {"db.py": memo, **files}, monkeypatch)
    assert sorted(p.where for p in report.pools) == pools


def test_a_singleton_made_with_other_arguments_elsewhere_stays_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {
        "config.py": "class Config:\n    instance = None\n\n    def __init__(self, url=None):\n"
        "        if not Config.instance:\n            Config.instance = url or 'sqlite:///dev.db'\n",
        "main.py": "from config import Config\n\nConfig('postgresql://prod/app')\n",
        "db.py": "from sqlalchemy import create_engine\n\nfrom config import Config\n\n"
        "engine = create_engine(Config().instance)\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    assert not at(report, "db.py:5").settings["url"].known


def test_a_star_of_what_the_scan_cannot_read_is_unknown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "db.py": """
            import os
            import sys

            from sqlalchemy import create_engine


            def db_path(*parts):
                return os.path.join("/srv/data", *parts)


            engine = create_engine("sqlite:///" + db_path(*sys.argv[1:]))
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert not at(report, "db.py:11").settings["url"].known


def test_click_options_typed_callbacks_flags_and_casts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "cli.py": """
            import click
            from sqlalchemy import create_engine


            def _normalize(ctx, param, value):
                return value.replace("postgres://", "postgresql://")


            @click.command()
            @click.option("--database-url", prompt="Database URL")
            @click.option("--ping/--no-ping")
            @click.option("--pool-size", default="5", type=int)
            @click.option("--replica", default="postgres://db/r", callback=_normalize)
            @click.argument("names", nargs=-1)
            def rebuild(database_url, ping, pool_size, replica, names):
                create_engine(database_url, pool_pre_ping=ping, pool_size=pool_size)
                create_engine(replica)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    settings = at(report, "cli.py:16").settings
    assert not settings["url"].known and "prompt" in (settings["url"].expr or "")
    assert settings["pool_pre_ping"].value is False and settings["pool_size"].value == 5
    assert not at(report, "cli.py:17").settings["url"].known


def test_a_spread_of_a_dict_set_under_a_test_keeps_each_sides_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # crt-portal: DATABASES set under an `if`, then `DATABASES["analytics"] = {**DATABASES["default"], "USER": ...}`
    files = {
        "site/__init__.py": "",
        "site/settings.py": """
            import os

            DATABASES = {}
            if os.environ.get("ENV") != "LOCAL":
                DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "x", "HOST": "db"}}
            DATABASES["analytics"] = {**DATABASES["default"], "USER": "a"}
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    settings = next(p for p in report.pools if p.call == "DATABASES['analytics']").settings
    assert {k: v.value for k, v in settings.items()} == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "x",
        "HOST": "db",
        "USER": "a",
    }


@pytest.mark.parametrize(
    ("path", "aside"),
    [
        ("site/specimen_secret_local_settings/local_settings.py", "examples"),  # crate's settings to copy
        ("docs/source/website_config/_web_config.py", "examples"),  # docs/ a package, docs/source/ none
        ("project/settings/circleci.py", "tests"),  # intake's CircleCI settings
    ],
)
def test_settings_to_copy_and_the_cis_are_not_the_apps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str, aside: str
) -> None:
    databases = "DATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql', 'NAME': 'x'}}\n"
    files = {"docs/__init__.py": "", "project/__init__.py": "", "project/settings/__init__.py": "", path: databases}
    report = scan(tmp_path, files, monkeypatch)
    assert at(report, f"{path}:1").aside == aside


def test_a_documentations_demo_ini_starts_no_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # crate's nlp_webserver: the only ini with its [app:main] is docs/source/nlp/'s demo
    files = {
        "setup.py": "from setuptools import setup\n\nsetup(name='nlp', entry_points={'paste.app_factory': "
        "['main = nlp.app:make_app']})\n",
        "nlp/__init__.py": "",
        "nlp/app.py": """
            from sqlalchemy import engine_from_config


            def make_app(global_config, **settings):
                engine = engine_from_config(settings, "sqlalchemy.")
                return engine
        """,
        "docs/source/nlp/demo.ini": "[app:main]\nuse = egg:nlp\nsqlalchemy.url = mysql://user:pw@localhost/db\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    assert not at(report, "nlp/app.py:5").settings["url"].known


def test_the_side_a_set_variable_takes_reads_it_as_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # beacon-python: `DB_SCHEMA if DB_SCHEMA else "public"` with DB_SCHEMA = os.environ.get("DATABASE_SCHEMA", None)
    files = {
        "config.py": """
            import os

            import asyncpg

            DB_SCHEMA = os.environ.get("DATABASE_SCHEMA", None)


            async def pool():
                return await asyncpg.create_pool(server_settings={"search_path": DB_SCHEMA if DB_SCHEMA else "public"})
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    path = at(report, "config.py:9").settings["server_settings.search_path"]
    assert path.value == "public"
    assert [(b.known, b.env) for b in path.branches] == [(True, "DATABASE_SCHEMA"), (False, "DATABASE_SCHEMA")]


# The second review's cases
def test_a_listener_after_an_if_is_on_the_engine_either_side_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = (
        "import os\nfrom sqlalchemy import create_engine, event, exc\n\nif os.environ.get('PROD'):\n"
        "    engine = create_engine('postgresql://db/a', pool_size=10)\nelse:\n"
        "    engine = create_engine('sqlite:///dev.db')\n" + RECIPE + "\n\nevent.listen(engine, 'checkout', ping)\n"
    )
    report = scan(tmp_path, {"db.py": source}, monkeypatch)
    assert [at(report, where).get("pool_pre_ping") is not None for where in ("db.py:5", "db.py:7")] == [True, True]


def test_the_inverted_engine_connect_recipe_is_a_pre_ping(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = """
        from sqlalchemy import create_engine, event, exc, select

        engine = create_engine("postgresql://db/a")


        @event.listens_for(engine, "engine_connect")
        def ping(connection, branch):
            try:
                connection.scalar(select(1))
            except exc.DBAPIError as err:
                if not err.connection_invalidated:
                    raise
                connection.scalar(select(1))
    """
    report = scan(tmp_path, {"db.py": source}, monkeypatch)
    assert at(report, "db.py:3").get("pool_pre_ping") is not None


def test_a_script_running_its_own_event_loop_is_a_program_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    memo = (
        "from sqlalchemy import create_engine\n\n_engines = {}\n\n\ndef get_engine(name='main', echo=False):\n"
        "    if name not in _engines:\n        _engines[name] = create_engine('postgresql://db/' + name, echo=echo)\n"
        "    return _engines[name]\n"
    )
    files = {
        "db.py": memo,
        "job.py": "import asyncio\n\nfrom db import get_engine\n\n\nasync def main():\n    get_engine()\n\n\n"
        "if __name__ == '__main__':\n    asyncio.run(main())\n",
        "web.py": "from db import get_engine\n\nengine = get_engine()\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    assert sorted(p.where for p in report.pools) == ["job.py:7", "web.py:3"]


def test_a_package_named_as_an_example_is_the_apps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "sample_project/__init__.py": "",
        "sample_project/settings.py": "DATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql'}}\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    assert at(report, "sample_project/settings.py:1").aside is None


def test_a_spread_of_a_dict_set_under_a_variables_test_keeps_the_default_sides_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {
        "site/__init__.py": "",
        "site/settings.py": """
            import os

            DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "dev"}}
            if os.environ.get("ENV") == "prod":
                DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "prod"}}
            elif os.environ.get("ENV") == "none":
                DATABASES = {}
            DATABASES["analytics"] = {**DATABASES["default"], "USER": "a"}
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    name = next(p for p in report.pools if p.call == "DATABASES['analytics']").settings["NAME"]
    assert name.value == "dev" and {b.value for b in name.branches} == {"dev", "prod"}


def test_a_singleton_made_with_a_name_elsewhere_stays_unknown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "config.py": "class Config:\n    instance = None\n\n    def __init__(self, url=None):\n"
        "        if not Config.instance:\n            Config.instance = url or 'sqlite:///dev.db'\n",
        "main.py": "import os\n\nfrom config import Config\n\nurl = os.environ['URL']\nConfig(url)\n",
        "db.py": "from sqlalchemy import create_engine\n\nfrom config import Config\n\nurl = None\n\n"
        "engine = create_engine(Config(url).instance)\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    assert not at(report, "db.py:7").settings["url"].known


def test_a_click_command_run_by_its_scripts_main_block_takes_its_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `main()` under `if __name__ == "__main__":`: click parses the command line; nothing runs at import
    source = """
        import click
        from sqlalchemy import create_engine


        @click.command()
        @click.option("--database-url", default="postgresql://db/app", envvar="DATABASE_URL")
        def main(database_url):
            create_engine(database_url, pool_size=5)


        if __name__ == "__main__":
            main()
    """
    report = scan(tmp_path, {"cli.py": source}, monkeypatch)
    pool = at(report, "cli.py:12")
    assert (pool.settings["url"].value, pool.settings["url"].env) == ("postgresql://db/app", "DATABASE_URL")
    assert not pool.at_import


def test_a_flask_config_key_a_classmethod_sets_is_unknown_not_absent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ok: `@initialize_config` runs the classmethod that sets `cls.SQLALCHEMY_DATABASE_URI`; the engine is made
    files = {
        "server/__init__.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            from server.settings import Config

            db = SQLAlchemy()


            def create_app():
                app = Flask(__name__)
                app.config.from_object(Config)
                db.init_app(app)
                return app
        """,
        "server/settings.py": """
            import os


            def initialize_config(cls):
                cls.initialize_config()
                return cls


            @initialize_config
            class Config:
                @classmethod
                def initialize_config(cls):
                    cls.SQLALCHEMY_DATABASE_URI = os.getenv("DATABASE_URL") or "sqlite:///ok.db"
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    url = at(report, "server/__init__.py:12").settings["url"]
    assert not url.known and "initialize_config" in (url.expr or "")


def test_a_variable_set_under_another_programs_main_block_is_no_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # mobility-feed-api: export_csv's local run sets FEEDS_DATABASE_URL under `if __name__ == "__main__":`
    files = {
        "db.py": "import os\n\nfrom sqlalchemy import create_engine\n\nengine = create_engine(os.environ['FEEDS_DATABASE_URL'])\n",
        "export.py": "import os\n\nif __name__ == '__main__':\n    os.environ['FEEDS_DATABASE_URL'] = 'postgresql://local/test'\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    url = at(report, "db.py:5").settings["url"]
    assert not url.known and url.env == "FEEDS_DATABASE_URL"


def test_django_configurations_values_with_an_environ_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # joanie: `values.Value(default, environ_name="DB_HOST", environ_prefix=None)` inside DATABASES
    files = {
        "site/__init__.py": "",
        "site/settings.py": """
            from configurations import Configuration, values


            class Base(Configuration):
                DATABASES = {
                    "default": {
                        "ENGINE": values.Value("django.db.backends.postgresql", environ_name="DB_ENGINE", environ_prefix=None),
                        "HOST": values.Value("localhost", environ_name="DB_HOST"),
                        "PORT": values.IntegerValue("5432", environ_name="DB_PORT", environ_prefix=None),
                    }
                }
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    settings = report.pools[0].settings
    assert (settings["ENGINE"].value, settings["ENGINE"].env) == ("django.db.backends.postgresql", "DB_ENGINE")
    assert (settings["HOST"].value, settings["HOST"].env) == ("localhost", "DJANGO_DB_HOST")
    assert (settings["PORT"].value, settings["PORT"].env) == (5432, "DB_PORT")


def test_a_singleton_class_making_its_engine_once_is_one_pool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # mobility-feed-api's Database: `__new__` hands back cls.instance, `__init__` returns once it has run
    files = {
        "app/__init__.py": "",
        "app/database.py": """
            from sqlalchemy import create_engine


            class Database:
                instance = None
                initialized = False

                def __new__(cls, *args, **kwargs):
                    if not isinstance(cls.instance, cls):
                        cls.instance = object.__new__(cls)
                    return cls.instance

                def __init__(self, url="postgresql://db/app"):
                    if Database.initialized:
                        return
                    Database.initialized = True
                    self.engine = create_engine(url, pool_size=10)
        """,
        "app/feeds.py": "from app.database import Database\n\n\ndef a():\n    Database()\n\n\ndef b():\n    Database()\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [p.where for p in report.pools] == ["app/feeds.py:5"]


def test_a_method_kept_by_a_decorator_makes_the_instances_one_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # codalab's Manager: `@cached def model(self)`, which other methods call as self.model()
    files = {
        "app/__init__.py": "",
        "app/manager.py": """
            from sqlalchemy import create_engine


            def cached(fn):
                def inner(self):
                    if fn.__name__ not in self.cache:
                        self.cache[fn.__name__] = fn(self)
                    return self.cache[fn.__name__]

                return inner


            class Manager:
                def __init__(self, url):
                    self.cache = {}
                    self.url = url

                @cached
                def model(self):
                    return create_engine(self.url, pool_size=20)

                @cached
                def worker_model(self):
                    return ("worker", self.model())
        """,
        "app/server.py": "from app.manager import Manager\n\nmanager = Manager('postgresql://db/app')\n"
        "model = manager.model()\nworker = manager.worker_model()\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [p.where for p in report.pools] == ["app/server.py:4"]
