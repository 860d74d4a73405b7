"""`scan_path` following values the way real projects spread them (issue 29), continued from
test_scan_follow_round40.py (the open cases of earlier rounds and of held-out round 44). Each project is a few
small files written here (never a copy of a real one); line numbers in the assertions are the fixtures' own."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_scan import at, scan

from pool_doctor.scan.target import url_driver
from tests.cli_runner import run_pool_doctor


def test_an_f_string_url_of_unset_variables_keeps_its_literal_scheme(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # sparte, NetExec, parsl: the credentials come from variables with no default, so the URL is unknown, but
    # its scheme is written in the code and names the driver (asyncpg wants command_timeout, not
    # tcp_user_timeout); the unset variable's "$DB_USER" took the f-string's place and the driver was lost
    files = {
        "app/db.py": """
            import os

            from sqlalchemy import create_engine

            def make(user, host):
                return create_engine(f"postgresql+asyncpg://{user}@{host}/app")

            DB_USER = os.getenv("DB_USER")
            main = create_engine(f"postgresql+asyncpg://{DB_USER}@{os.getenv('DB_HOST')}/x")
            other = make(os.getenv("U"), os.getenv("H"))
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    for where in ("app/db.py:9", "app/db.py:10"):
        pool = at(report, where)
        url = pool.settings["url"]
        assert (url.known, url_driver(pool)) == (False, "asyncpg"), where
    assert at(report, "app/db.py:9").settings["url"].env == "DB_USER"


def test_a_pool_maker_handed_to_a_project_function_that_calls_it_is_a_pool_at_the_handing_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # raw-data-repository: `singletons.get(INDEX, _SqlDatabase, **kwargs)` runs `constructor(**kwargs)`; the
    # engine was reported at the class's own line with its defaults, the sizes the app gives lost
    files = {
        "app/__init__.py": "",
        "app/singletons.py": """
            _cache = {}

            def get(index, constructor=None, **kwargs):
                if index not in _cache:
                    _cache[index] = constructor(**kwargs)
                return _cache[index]
        """,
        "app/database.py": """
            import asyncpg
            from sqlalchemy import create_engine

            from app import singletons

            class _SqlDatabase:
                def __init__(self, url, pool_size=5):
                    self.engine = create_engine(url, pool_size=pool_size, pool_recycle=300)

            class Clock:
                def __init__(self, tick=1):
                    self.tick = tick

            def make_engine(url, **kw):
                return create_engine(url, **kw)

            def build(factory, *args, **kwargs):
                return factory(*args, **kwargs)

            async def retry(fn, *args, **kwargs):
                return await fn(*args, **kwargs)

            def get_database():
                return singletons.get(1, _SqlDatabase, url="postgresql://h/main", pool_size=7)

            clock = singletons.get(2, Clock, tick=3)
            reports = build(make_engine, "postgresql://h/reports", pool_pre_ping=True)

            async def events():
                return await retry(asyncpg.create_pool, "postgresql://h/events", max_size=4)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    main = at(report, "app/database.py:24")
    assert (main.settings["url"].value, main.settings["pool_size"].value, main.settings["pool_recycle"].value) == (
        "postgresql://h/main",
        7,
        300,
    )
    assert main.via == ["app/singletons.py:5", "app/database.py:8"]
    other = at(report, "app/database.py:27")
    assert (other.settings["url"].value, other.settings["pool_pre_ping"].value) == ("postgresql://h/reports", True)
    events = at(report, "app/database.py:30")
    assert (events.stack, events.settings["max_size"].value) == ("asyncpg", 4)
    # the class's and the factory's own lines are no pools of their own; nor is the handing of a clock
    assert sorted(f"{p.file}:{p.line}" for p in report.pools) == [
        "app/database.py:24",
        "app/database.py:27",
        "app/database.py:30",
    ]


@pytest.mark.parametrize(
    ("written", "driver"),
    [
        # two literals, the second cut: data-engineering-toolkit's `f"postgresql+psycopg2://..." f":{port}/{db}"`
        (
            "f\"postgresql+asyncpg://{config['username']}:{config['password']}@{config['host']}\" f\":{config['port']}/{config['database']}\"",
            "asyncpg",
        ),
        # one literal cut inside, after its scheme
        (
            'f"postgresql+asyncpg://{settings_object.postgres_user}:{settings_object.postgres_password}@{settings_object.postgres_host}/db"',
            "asyncpg",
        ),
        # a URL written out whole is cut at 400 characters: the cut one still names its driver
        (
            'f"postgresql+asyncpg://{settings_object.postgres_user}@{settings_object.postgres_host}/db?'
            + "&".join(f"option{i}={{settings_object.option{i}}}" for i in range(20))
            + '"',
            "asyncpg",
        ),
        # a cut text whose scheme is another database's is not read (the part cut off may rewrite it)
        (
            'f"sqlite:///{settings_object.data_directory}/{settings_object.database_file_name}/{settings_object.suffix}".replace("sqlite:///", config["url"])',
            None,
        ),
    ],
)
def test_a_long_url_expression_cut_for_display_still_names_its_driver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, written: str, driver: str | None
) -> None:
    # the unknown URL's text is cut for display (at 120 characters, at 400 where it is a URL written out whole),
    # and the scheme was read from the cut text, which no longer parses: the driver was lost (judged:
    # SQLAlchemy's default for postgresql, psycopg2)
    files = {
        "app/db.py": f"""
            import yaml
            from sqlalchemy.ext.asyncio import create_async_engine

            config = yaml.safe_load(open("/etc/app.yaml"))
            settings_object = config["settings"]
            engine = create_async_engine({written})
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    pool = at(report, "app/db.py:6")
    assert (pool.settings["url"].known, url_driver(pool)) == (False, driver)


HANDING_GET = """
    from sqlalchemy import create_engine

    def get(constructor=None, url=None, **kw):
        if constructor is None:
            return create_engine(url, **kw)
        return constructor(url, **kw)
"""


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(  # a function handed makers that calls the library itself too: each pool once (it was twice)
            {
                "app/db.py": HANDING_GET,
                "app/main.py": """
                    from sqlalchemy import create_engine

                    from app.db import get

                    def make_engine(url, **kw):
                        return create_engine(url, **kw)

                    main = get(make_engine, "postgresql://h/main", pool_size=7)
                    plain = get(url="postgresql://h/plain", pool_size=3)
                """,
            },
            {"app/main.py:8": ("postgresql://h/main", 7), "app/main.py:9": ("postgresql://h/plain", 3)},
            id="handed-and-wrapper",
        ),
        pytest.param(  # the same, the handing module read first: its plain call of get was lost
            {
                "app/a.py": """
                    from sqlalchemy import create_engine

                    from app.z import get

                    def make_engine(url, pool_size=5):
                        return create_engine(url, pool_size=pool_size)

                    main = get(make_engine, "postgresql://h/main", pool_size=7)
                    plain = get(None, "postgresql://h/plain", pool_size=3)
                """,
                "app/z.py": HANDING_GET,
            },
            {"app/a.py:8": ("postgresql://h/main", 7), "app/a.py:9": ("postgresql://h/plain", 3)},
            id="handing-module-first",
        ),
        pytest.param(  # a helper handed a wrapper that hands the library to the same helper: no recursion
            {
                "app/db.py": """
                    from sqlalchemy import create_engine

                    def retry(fn, *args, **kwargs):
                        return fn(*args, **kwargs)

                    def make_engine(url, pool_size=5):
                        return retry(create_engine, url, pool_size=pool_size)

                    a = make_engine("postgresql://h/a", pool_size=1)
                    b = retry(make_engine, "postgresql://h/b", pool_size=2)
                """,
            },
            {"app/db.py:9": ("postgresql://h/a", 1), "app/db.py:10": ("postgresql://h/b", 2)},
            id="helper-at-two-levels",
        ),
        pytest.param(  # the module handing the class is read before the class's module is known to make pools
            {
                "app/api.py": """
                    # engines come from create_engine in models
                    from app import singletons
                    from app.models import SqlDatabase

                    db = singletons.get(1, SqlDatabase, url="postgresql://h/api", pool_size=9)
                """,
                "app/models.py": """
                    from sqlalchemy import create_engine

                    class SqlDatabase:
                        def __init__(self, url, pool_size=5):
                            self.engine = create_engine(url, pool_size=pool_size)
                """,
                "app/singletons.py": """
                    def get(index, constructor=None, **kwargs):
                        return constructor(**kwargs)
                """,
            },
            {"app/api.py:5": ("postgresql://h/api", 9)},
            id="handing-module-read-first",
        ),
        pytest.param(  # makers handed under an import alias
            {
                "app/db.py": """
                    from sqlalchemy import create_engine as ce

                    from app.makers import make_engine as mk

                    def build(factory, *args, **kwargs):
                        return factory(*args, **kwargs)

                    x = build(ce, "postgresql://h/x", pool_size=3)
                    w = build(mk, "postgresql://h/w", pool_size=6)
                """,
                "app/makers.py": """
                    from sqlalchemy import create_engine

                    def make_engine(url, pool_size=5):
                        return create_engine(url, pool_size=pool_size)
                """,
            },
            {"app/db.py:8": ("postgresql://h/x", 3), "app/db.py:9": ("postgresql://h/w", 6)},
            id="aliases",
        ),
    ],
)
def test_handed_makers_are_one_pool_each_whatever_the_order_the_files_are_read_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str], expected: dict[str, tuple[str, int]]
) -> None:
    # the review of the handoffs change: pools reported twice, lost with the file order, or not found
    files = {"app/__init__.py": "", **files}
    report = scan(tmp_path, files, monkeypatch)
    found = {p.where: (p.settings["url"].value, p.settings["pool_size"].value) for p in report.pools}
    assert (found, len(report.pools)) == (expected, len(expected))


def test_an_init_app_of_what_a_project_factory_returns_from_another_library_binds_no_flask_sqlalchemy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ambuda: `login_manager = auth.create_login_manager()` returning flask_login's `LoginManager()`, then
    # `login_manager.init_app(app)`: the config class's SQLALCHEMY_DATABASE_URI was a Flask-SQLAlchemy engine
    files = {
        "config.py": """
            import os

            class BaseConfig:
                SQLALCHEMY_DATABASE_URI = os.environ.get("SQLALCHEMY_DATABASE_URI")

            def load_config_object(name):
                return {"development": BaseConfig}[name]
        """,
        "pkg/auth.py": """
            from flask_login import LoginManager

            def create_login_manager():
                login_manager = LoginManager()
                login_manager.login_view = "login"
                return login_manager
        """,
        "pkg/ext.py": """
            def make_db():
                from somewhere_installed import db
                return db
        """,
        "pkg/__init__.py": """
            from flask import Flask

            import config
            from pkg import auth, ext

            def create_app(config_env):
                app = Flask(__name__)
                app.config.from_object(config.load_config_object(config_env))
                login_manager = auth.create_login_manager()
                login_manager.init_app(app)
                return app
        """,
    }
    assert scan(tmp_path, files, monkeypatch).pools == []
    # what a project factory returns that the scan cannot tell stays a possible extension
    files["pkg/__init__.py"] = files["pkg/__init__.py"].replace("auth.create_login_manager()", "ext.make_db()")
    assert [p.where for p in scan(tmp_path, files, monkeypatch).pools] == ["config.py:3"]


def test_an_init_running_its_own_wrapper_method_makes_the_pool_where_the_instance_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # TimeInData: `__init__` keeps the url and runs `self.init()`, which makes the engine from `self.url`: the
    # pool was at `self.init()` inside `__init__`, one for every instance, with their values mixed as branches
    files = {
        "app/db.py": """
            from sqlalchemy.ext.asyncio import create_async_engine

            class Manager:
                def __init__(self, url, size=5):
                    self.url = url
                    self.size = size
                    self.init()

                def init(self):
                    self.engine = create_async_engine(self.url, pool_size=self.size)

            main = Manager("postgresql+asyncpg://u@h/main", size=7)
            reports = Manager("postgresql+asyncpg://u@h/reports")
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    found = {p.where: (p.settings["url"].value, p.settings["pool_size"].value) for p in report.pools}
    assert found == {
        "app/db.py:12": ("postgresql+asyncpg://u@h/main", 7),
        "app/db.py:13": ("postgresql+asyncpg://u@h/reports", 5),
    }


def test_a_url_of_too_many_possible_texts_keeps_the_scheme_they_share(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # WeVoteServer: each part of the URL comes from a helper returning True, False or the variable's text, so the
    # f-string has 9 possible texts and is unknown, but every one starts with postgresql+psycopg2://
    files = {
        "app/settings_base.py": """
            import os

            def get_environment_variable(var_name):
                try:
                    val = os.environ[var_name]
                    if val.lower() == "true":
                        return True
                    elif val.lower() == "false":
                        return False
                    return val
                except KeyError:
                    raise RuntimeError(var_name)
        """,
        "app/db.py": """
            import sqlalchemy as sa

            from app.settings_base import get_environment_variable

            def connect_to_db():
                url = (
                    f"postgresql+asyncpg://{get_environment_variable('DATABASE_USER')}:secret@"
                    f"{get_environment_variable('DATABASE_HOST')}/db"
                )
                return sa.create_engine(url)

            engine = connect_to_db()
        """,
    }
    pool = at(scan(tmp_path, files, monkeypatch), "app/db.py:10")  # (a fixed factory one place calls)
    url = pool.settings["url"]
    assert (url.known, url.expr, url_driver(pool)) == (
        False,
        "'postgresql+asyncpg://' + ...  # one of 9 values, depending on tests",
        "asyncpg",
    )


def test_settings_kept_on_a_starlette_apps_state_are_read_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # swoop: `app.state.settings = Settings()` in the app factory, read back by the startup hook's pool factory
    files = {
        "app/config.py": """
            from pydantic_settings import BaseSettings, SettingsConfigDict

            class Settings(BaseSettings):
                model_config = SettingsConfigDict(env_prefix="SWOOP_")
                db_min_conn_size: int = 2
                db_max_inactive_conn_lifetime: float = 300
        """,
        "app/main.py": """
            import asyncpg
            from fastapi import FastAPI

            from app.config import Settings

            async def connect_to_db(app):
                app.state.pool = await asyncpg.create_pool(
                    min_size=app.state.settings.db_min_conn_size,
                    max_inactive_connection_lifetime=app.state.settings.db_max_inactive_conn_lifetime,
                )

            def get_app():
                app = FastAPI(title="api")
                app.state.settings = Settings()

                @app.on_event("startup")
                async def startup():
                    await connect_to_db(app)

                return app
        """,
    }
    pool = at(scan(tmp_path, files, monkeypatch), "app/main.py:18")
    size, lifetime = pool.settings["min_size"], pool.settings["max_inactive_connection_lifetime"]
    assert (size.value, size.env, lifetime.value, lifetime.env) == (
        2,
        "SWOOP_DB_MIN_CONN_SIZE",
        300,
        "SWOOP_DB_MAX_INACTIVE_CONN_LIFETIME",
    )


def test_a_maker_handed_to_a_method_of_the_instance_is_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the second review: handoffs read the callee only where the module names it, so `self._with_retry(...)`
    # and a local helper lost the pool the scan found before
    files = {
        "app/db.py": """
            import asyncpg
            from sqlalchemy import create_engine

            class Store:
                async def _with_retry(self, maker, *args, **kwargs):
                    return await maker(*args, **kwargs)

                async def open(self):
                    self.pool = await self._with_retry(asyncpg.create_pool, "postgresql://app@db/app", max_size=7)

            def build():
                def attempt(maker, url, **kw):
                    return maker(url, **kw)

                return attempt(create_engine, "postgresql://app@db/app", pool_size=11)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert (
        at(report, "app/db.py:9").settings["max_size"].value,
        at(report, "app/db.py:15").settings["pool_size"].value,
    ) == (7, 11)


def test_a_bare_postgresql_scheme_in_a_cut_text_names_no_driver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the second review: what is cut off may pick the driver (`.replace("postgresql://", "postgresql+asyncpg://")`)
    written = (
        'f"postgresql://{settings.postgres_user}:{settings.postgres_password}@{settings.postgres_host}:'
        '{settings.postgres_port}/{settings.postgres_db}".replace("postgresql://", "postgresql+asyncpg://")'
    )
    files = {
        "app/db.py": f"""
            import yaml
            from sqlalchemy.ext.asyncio import create_async_engine

            settings = yaml.safe_load(open("/etc/app.yaml"))
            engine = create_async_engine({written}, pool_size=10)
        """,
    }
    pool = at(scan(tmp_path, files, monkeypatch), "app/db.py:5")
    assert (pool.settings["url"].expr.endswith("..."), url_driver(pool)) == (True, None)


def test_an_init_running_a_method_that_reads_nothing_it_sets_keeps_one_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the second review: `self.connect()` in `__init__`, connect taking only its own default: one pool, as when
    # `__init__` makes it itself, not one per instance made in twelve modules
    files = {
        "app/db.py": """
            import asyncpg

            class Store:
                def __init__(self):
                    self.connect()

                def connect(self, max_size=10):
                    self.pool = asyncpg.create_pool("postgresql://app@db/app", max_size=max_size)
        """,
        **{f"app/use{n}.py": "from app.db import Store\n\nstore = Store()\n" for n in range(3)},
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [(p.where, p.settings["max_size"].value) for p in report.pools] == [("app/db.py:5", 10)]


def test_an_app_state_attribute_written_in_two_places_is_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the second review: a default set at import and the value a startup hook sets: the first was read back
    files = {
        "app/main.py": """
            import os

            import asyncpg
            from fastapi import FastAPI

            app = FastAPI()
            app.state.pool_size = 1

            def configure():
                app.state.pool_size = int(os.environ.get("POOL_SIZE", "20"))

            @app.on_event("startup")
            async def startup():
                configure()
                app.state.pool = await asyncpg.create_pool("postgresql://app@db/app", max_size=app.state.pool_size)
        """,
    }
    size = at(scan(tmp_path, files, monkeypatch), "app/main.py:15").settings["max_size"]
    assert (size.known, size.value) == (False, None)


def test_a_password_in_a_url_cut_for_display_is_masked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the second review: the cut came inside the password, before the `@` masking looks for (a URL written out
    # whole is cut at 400 characters)
    user = "a_really_long_username_for_the_reporting_service_account_of_the_company_xy" * 5
    files = {
        "app/db.py": f"""
            import os

            from sqlalchemy import create_engine

            engine = create_engine(
                f"postgresql+psycopg2://{user}:TopSecretPassw0rdThatIsLongerStill@{{os.environ['H']}}/db"
            )
        """,
    }
    url = at(scan(tmp_path, files, monkeypatch), "app/db.py:5").settings["url"]
    assert ("TopSecret" not in (url.expr or ""), (url.expr or "").endswith(":***...")) == (True, True)


def test_a_factorys_engine_from_none_of_its_parameters_is_made_at_each_of_its_callers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # autosubmit-api: a repository factory taking `expid` makes a PostgreSQL engine from none of its parameters
    # beside a SQLite one from `expid`: the SQLite engine was at each caller, the PostgreSQL one once, at the
    # factory's own line (15 pools missed)
    files = {
        "app/repo.py": """
            import os

            from sqlalchemy import create_engine

            BACKEND = os.environ.get("BACKEND", "postgres")
            URL = os.environ.get("DB_URL", "postgresql+psycopg2://u@h/db")

            def make_repo(expid):
                if BACKEND == "postgres":
                    engine = create_engine(URL, pool_size=7)
                else:
                    engine = create_engine(f"sqlite:///{expid}.db")
                return engine
        """,
        "app/a.py": """
            from app.repo import make_repo

            def one(e):
                return make_repo(e)

            def two(e):
                return make_repo(e)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [(p.where, p.settings["pool_size"].value) for p in report.pools] == [("app/a.py:4", 7), ("app/a.py:7", 7)]


def test_an_engine_made_in_an_except_handler_after_its_try_made_one_is_no_second_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # baltrad-exchange: `except: result = engine.create_engine(url)` falls back from the `create_engine(url,
    # pool_size=poolsize)` of its try: each call of the factory was two pools, one of them with no size
    files = {
        "app/util.py": """
            from sqlalchemy import engine

            def create_engine_from_url(url, poolsize=10):
                try:
                    result = engine.create_engine(url, echo=False, pool_size=poolsize)
                except Exception:
                    result = engine.create_engine(url, echo=False)
                return result
        """,
        "app/main.py": """
            import os

            from app.util import create_engine_from_url

            ENGINE = create_engine_from_url(os.environ.get("DB_URI", "postgresql://u@h/db"))
            OTHER = create_engine_from_url("postgresql://u@h/other", poolsize=3)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [(p.where, p.settings["pool_size"].value) for p in report.pools] == [
        ("app/main.py:5", 10),
        ("app/main.py:6", 3),
    ]


def test_a_flask_sqlalchemy_2_subclass_pinning_options_in_apply_driver_hacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # crime-data-api: `apply_driver_hacks(self, app, info, options)` sets `options["poolclass"] = NullPool`;
    # Flask-SQLAlchemy 2 calls it after apply_pool_defaults, before the app's options (2.5.1 get_options), 3
    # never calls it (renamed _apply_driver_defaults): 2's branch, as apply_pool_defaults' writes are
    files = {
        "app/extensions.py": """
            from flask_sqlalchemy import SQLAlchemy as SQLAlchemyBase
            from sqlalchemy.pool import NullPool

            class SQLAlchemy(SQLAlchemyBase):
                def apply_driver_hacks(self, app, info, options):
                    super(SQLAlchemy, self).apply_driver_hacks(app, info, options)
                    options["poolclass"] = NullPool

            db = SQLAlchemy()
        """,
        "app/main.py": """
            from flask import Flask

            from app.extensions import db

            app = Flask(__name__)
            app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://app@db/app"
            db.init_app(app)
        """,
    }
    poolclass = at(scan(tmp_path, files, monkeypatch), "app/main.py:7").settings["poolclass"]
    assert [(b.value if b.known else b.expr, b.when) for b in poolclass.branches or []] == [
        ("sqlalchemy.pool.NullPool", "Flask-SQLAlchemy 2"),
        ("(not set)", "Flask-SQLAlchemy 3, which never calls it"),
    ]


def test_databases_built_by_a_dict_comprehension_over_a_range(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # frepple: one alias per `i` of `range(3)`, "default" for the first: `range` was unknown, so DATABASES was
    files = {
        "settings.py": """
            import os

            DATABASES = {
                "default" if i == 0 else f"scenario{i}": {
                    "ENGINE": "django.db.backends.postgresql",
                    "NAME": f"{os.environ.get('POSTGRES_DBNAME', 'frepple')}{i}",
                    "CONN_MAX_AGE": None,
                    "CONN_HEALTH_CHECKS": True,
                }
                for i in range(3)
            }
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    found = [
        (p.settings["NAME"].value, p.settings["CONN_MAX_AGE"].known, p.settings["CONN_HEALTH_CHECKS"].value)
        for p in report.pools
    ]
    assert found == [("frepple0", True, True), ("frepple1", True, True), ("frepple2", True, True)]


def test_a_url_whose_every_branch_writes_one_scheme_names_its_driver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # food-delivery-backend: the settings object is one of four classes, so the URL (two f-strings joined by a
    # line's `\`) has a branch each, unknown, all `postgresql+asyncpg://...`: the driver was lost, and the
    # table's Unknown column said "-"
    files = {
        "app/settings.py": """
            import os

            class Develop:
                pg_user = os.environ.get("PG_USER")

            class Production:
                pg_user = os.environ["PG_USER"]

            config = os.environ.get("CONFIG", "Develop")
            settings = Develop() if config == "Develop" else Production()
        """,
        "app/engine.py": """
            from sqlalchemy.ext.asyncio import create_async_engine

            from app.settings import settings

            URL = f"postgresql+asyncpg://{settings.pg_user}:secret@" \\
                f"db:5432/app_database_with_a_very_long_name_so_that_the_text_is_cut_for_display_{settings.pg_user}"
            engine = create_async_engine(URL)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    pool = at(report, "app/engine.py:7")
    assert (bool(pool.settings["url"].branches), url_driver(pool)) == (True, "asyncpg")
    table = run_pool_doctor("scan", secret="secret", cwd=tmp_path, env={"COLUMNS": "200"}).stdout
    row = next(line for line in table.splitlines() if "engine.py:7" in line)
    assert "url (postgresql+asyncpg://...)" in row


def test_an_ini_template_the_code_formats_itself_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # DARPA-ASKEM data-service: alembic.ini's `sqlalchemy.url = postgresql+psycopg2://{SQL_USER}:...` filled by
    # env.py's own `url.format(**params)`: the URL was unknown, its driver lost; unformatted, it stays unknown
    files = {
        "migrations/alembic.ini": """
            [alembic]
            script_location = migrations
            sqlalchemy.url = postgresql+asyncpg://{SQL_USER}:{SQL_PASSWORD}@{SQL_URL}:{SQL_PORT}/{SQL_DB}
        """,
        "migrations/env.py": """
            from alembic import context
            from sqlalchemy import create_engine

            config = context.config

            def get_url():
                params = {"SQL_USER": "dev", "SQL_PASSWORD": "dev", "SQL_URL": "rdb", "SQL_PORT": 5432, "SQL_DB": "askem"}
                return config.get_main_option("sqlalchemy.url").format(**params)

            formatted = create_engine(get_url())
            plain = create_engine(config.get_main_option("sqlalchemy.url"))
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    formatted, plain = (
        at(report, "migrations/env.py:10").settings["url"],
        at(report, "migrations/env.py:11").settings["url"],
    )
    assert (formatted.value, plain.known) == ("postgresql+asyncpg://dev:***@rdb:5432/askem", False)  # (masked)


def test_a_database_url_value_with_no_default_is_false_while_its_variable_is_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # meet: `dj_database_url.config() if values.DatabaseURLValue(None, environ_name="DATABASE_URL") else {...}`:
    # unset, the value is `{}` (django-configurations 2.5, Value.__bool__), so the else dict may be the one in
    # effect; the scan took the first side only
    files = {
        "meet/settings.py": """
            import dj_database_url
            from configurations import Configuration, values

            class Base(Configuration):
                DATABASES = {
                    "default": dj_database_url.config()
                    if values.DatabaseURLValue(None, environ_name="DATABASE_URL", environ_prefix=None)
                    else {
                        "ENGINE": values.Value(
                            "django.db.backends.postgresql_psycopg2", environ_name="DB_ENGINE", environ_prefix=None
                        ),
                        "CONN_MAX_AGE": 60,
                    }
                }
        """,
    }
    (pool,) = scan(tmp_path, files, monkeypatch).pools
    engine, age = pool.settings["ENGINE"], pool.settings["CONN_MAX_AGE"]
    # (the test is unknown, not the no-variable side: a dict's truth that a variable changes, which `not` and
    # `or` do not carry, is read as unknown; both sides are judged)
    assert "django.db.backends.postgresql_psycopg2" in [b.value for b in engine.branches or []]
    assert 60 in [b.value for b in age.branches or []]


def test_a_partly_fixed_factory_called_from_many_places_is_one_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the third review: twelve commands calling `make_engine()` with no URL were twelve identical pools, where a
    # wholly fixed factory called as often is one, at its line (scanner.FIXED_CALLS)
    commands = "\n".join(f"@click.command()\ndef cmd{n}():\n    make_engine()\n" for n in range(12))
    files = {
        "app/db.py": """
            from sqlalchemy import create_engine

            def make_engine(url=None):
                if url:
                    return create_engine(url)
                return create_engine("postgresql+psycopg2://localhost/app", pool_size=10)
        """,
        "app/cli.py": "import click\n\nfrom app.db import make_engine\n\n" + commands,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [(p.where, p.settings["pool_size"].value) for p in report.pools] == [("app/db.py:6", 10)]


def test_a_settings_loop_over_range_adds_aliases_at_their_line_and_a_variables_count_stays_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the third review: replicas a loop over `range(2)` adds were at DATABASES' own line; over `range(N)` of a
    # variable they were made with no condition naming it (now unread, as before range() was read)
    files = {
        "proj/settings.py": """
            import os

            READ_REPLICAS = int(os.getenv("READ_REPLICAS", "2"))
            DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "CONN_MAX_AGE": 60}}
            for i in range(2):
                DATABASES[f"replica{i}"] = {"ENGINE": "django.db.backends.postgresql", "CONN_MAX_AGE": 0}
            for i in range(READ_REPLICAS):
                DATABASES[f"extra{i}"] = {"ENGINE": "django.db.backends.postgresql", "CONN_MAX_AGE": 5}
            for a in range(17):
                DATABASES[f"many{a}"] = {"ENGINE": "django.db.backends.postgresql"}
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    found = sorted((p.line, p.settings["CONN_MAX_AGE"].value) for p in report.pools if "CONN_MAX_AGE" in p.settings)
    assert found == [(4, 60), (6, 0), (6, 0)]


def test_a_dict_a_variable_fills_keeps_its_branches_through_not_and_or(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the third review: `extra` is `{}` unless DB_ECHO is set; `... if not extra else {..., **extra}` lost echo
    files = {
        "app/db.py": """
            import os

            from sqlalchemy import create_engine

            extra = {}
            if os.getenv("DB_ECHO"):
                extra["echo"] = True
            settings = {"pool_size": 5} if not extra else {"pool_size": 5, **extra}
            engine = create_engine("postgresql+psycopg2://db/app", **settings)
        """,
    }
    echo = at(scan(tmp_path, files, monkeypatch), "app/db.py:9").settings["echo"]
    assert True in [b.value for b in echo.branches or []]


def test_a_cut_password_with_a_slash_is_masked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the third review: SQLAlchemy's URL takes `/` in a password; the cut-password mask stopped at it
    files = {
        "app/db.py": """
            import os

            from sqlalchemy import create_engine

            USER = os.environ["DB_USER"]
            engine = create_engine(
                f"postgresql+psycopg2://{USER}:Very/Secret/Passw0rd_that_is_long_enough_to_be_cut_for_display_somewhere_after_here_and_more_text@db/app"
            )
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    texts = [str(v.expr) + str(v.value) for p in report.pools for v in p.settings.values()]
    assert not any("Secret" in text for text in texts)


def test_an_import_error_handler_making_another_librarys_pool_is_an_alternative(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the third review: `except ImportError:` runs where the try's library is missing, so its pool is the one made
    files = {
        "app/db.py": """
            def make_pool(dsn, size=10):
                try:
                    from psycopg_pool import ConnectionPool

                    return ConnectionPool(dsn, min_size=1, max_size=size)
                except ImportError:
                    from psycopg2.pool import ThreadedConnectionPool

                    return ThreadedConnectionPool(1, size, dsn)

            pool = make_pool("postgresql://db/app")
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert sorted(p.call for p in report.pools) == [
        "psycopg2.pool.ThreadedConnectionPool",
        "psycopg_pool.ConnectionPool",
    ]


def test_a_dict_with_keys_set_whatever_the_variables_is_true(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # onyx (the corpus, after the change above): `merged = {**keepalives, **ssl_args()}; return merged or None`,
    # the SSL keys set only where a variable is: the keepalives set whatever it is made the dict true (they
    # were unknown)
    files = {
        "app/db.py": """
            import os

            from sqlalchemy import create_engine

            KEEPALIVES = os.getenv("KEEPALIVES", "true").lower() == "true"
            SSLMODE = os.getenv("PGSSLMODE")

            def keepalive_args():
                if not KEEPALIVES:
                    return {}
                return {"keepalives": 1, "keepalives_idle": 30}

            def ssl_args():
                if not SSLMODE:
                    return {}
                return {"sslmode": SSLMODE}

            def connect_args():
                merged = {**keepalive_args(), **ssl_args()}
                return merged or None

            engine = create_engine("postgresql+psycopg2://db/app", connect_args=connect_args())
        """,
    }
    settings = at(scan(tmp_path, files, monkeypatch), "app/db.py:22").settings
    assert (settings["connect_args.keepalives"].value, settings["connect_args.keepalives_idle"].value) == (1, 30)


def test_a_dict_a_variable_may_empty_decides_no_test_by_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the fourth review: `extra` has its key unless SMALL_POOL is set: `20 if extra else 1` is both
    files = {
        "app/db.py": """
            import os

            from sqlalchemy import create_engine

            extra = {}
            if not os.getenv("SMALL_POOL"):
                extra["max_overflow"] = 10
            size = 20 if extra else 1
            engine = create_engine("postgresql+psycopg2://db/app", pool_size=size)
        """,
    }
    size = at(scan(tmp_path, files, monkeypatch), "app/db.py:9").settings["pool_size"]
    assert sorted(b.value for b in size.branches or []) == [1, 20]


@pytest.mark.parametrize(
    ("written", "shown", "hidden"),
    [
        # an Azure single-server login: the user holds an `@`
        ('"postgresql://admin@myserver:hunter2secret@myserver.postgres.example.com/db"', None, "hunter2secret"),
        # the password split over adjacent literals
        ('"postgresql+psycopg2://app_user:hunter2secret" "@db.example.com/app"', None, "hunter2secret"),
        # a cut text showing a host's port is no password
        (
            '"postgresql://db-primary.internal.example.com:5432/application_database_name?sslmode=verify-full'
            '&application_name=web_frontend_service"',
            ":5432/application_database_name",
            None,
        ),
    ],
)
def test_passwords_in_a_urls_text_are_masked_and_ports_are_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, written: str, shown: str | None, hidden: str | None
) -> None:
    files = {"app/db.py": f"from sqlalchemy import create_engine\n\nengine = create_engine({written}, pool_size=5)\n"}
    url = at(scan(tmp_path, files, monkeypatch), "app/db.py:3").settings["url"]
    texts = f"{url.value} {url.expr} {url.source}"
    assert (hidden is None or hidden not in texts, shown is None or shown in texts) == (True, True)


@pytest.mark.parametrize("written", ["range(0, 3, 0)", "range(10**20)"])
def test_a_range_python_refuses_is_unread_and_the_settings_module_still_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, written: str
) -> None:
    # the fourth review: ValueError / OverflowError made the whole settings module "could not be followed"
    files = {
        "proj/settings.py": f"""
            DATABASES = {{"default": {{"ENGINE": "django.db.backends.postgresql", "CONN_MAX_AGE": 60}}}}
            for i in {written}:
                break
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert ([p.settings["CONN_MAX_AGE"].value for p in report.pools], report.warnings) == ([60], [])
