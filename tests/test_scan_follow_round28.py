"""`scan_path` following values the way real projects spread them (issue 29), continued from
test_scan_follow_round25.py (the open cases of held-out rounds 25 to 28 and the reviews' findings). Each project is
a few small files written here (never a copy of a real one); line numbers in the assertions are the fixtures'
own."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_scan import at, scan

BASE_WITH_HEIRS = """
import abc
from sqlalchemy import create_engine


class Store{base}:
    POOL_SIZE = 5
    POOL_RECYCLE = 300

    def __init__(self):
        self.engine = create_engine(self.URL, pool_size=self.POOL_SIZE, pool_recycle=self.POOL_RECYCLE)
"""


@pytest.mark.parametrize("base", ["(abc.ABC)", ""])
def test_a_method_whose_self_may_be_one_of_several_subclasses_reads_what_they_override_as_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, base: str
) -> None:
    # Two subclasses, each made once: the base's __init__ runs for both, and a subclass sets POOL_SIZE to 10 in
    # its own body (in another file), so the base's 5 is not the pool's; POOL_RECYCLE no subclass sets
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/store.py": BASE_WITH_HEIRS.format(base=base),
            "app/orders.py": """
                from app.store import Store

                class Orders(Store):
                    URL = "postgresql://db/orders"
                    POOL_SIZE = 10
            """,
            "app/users.py": """
                from app import store

                class Users(store.Store):
                    URL = "postgresql://db/users"

                    def __init__(self):
                        self.POOL_RECYCLE = 300
                        super().__init__()
            """,
            "app/main.py": """
                from app.orders import Orders
                from app.users import Users

                stores = [Orders(), Users()]
            """,
        },
        monkeypatch,
    )
    pool = at(report, "app/store.py:10")
    assert not pool.settings["pool_size"].known
    assert "Orders" in (pool.settings["pool_size"].expr or "")
    assert not pool.settings["pool_recycle"].known  # Users sets it on self (to the same value, but it sets it)
    assert [p.where for p in report.pools] == ["app/store.py:10"]


def test_a_method_of_a_class_no_subclass_overrides_keeps_the_class_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A subclass that sets other names (and one in a test file) changes nothing of what the base reads
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/store.py": BASE_WITH_HEIRS.format(base="") + '\n    URL = "postgresql://db/app"\n',
            "app/orders.py": """
                from app.store import Store

                class Orders(Store):
                    TABLE = "orders"
            """,
            "tests/test_store.py": """
                from app.store import Store

                class Tiny(Store):
                    POOL_SIZE = 1
            """,
            "app/main.py": """
                from app.orders import Orders
                from app.store import Store

                stores = [Orders(), Store()]
            """,
        },
        monkeypatch,
    )
    pool = at(report, "app/store.py:10")
    assert pool.settings["pool_size"].value == 5
    assert pool.settings["pool_recycle"].value == 300


@pytest.mark.parametrize(
    ("body", "ping"),
    [
        ("done = set_ping(options)\n    return options", True),
        ("if set_ping(options):\n        pass\n    return options", True),
        ("done = options or set_ping(options)\n    return options", None),  # (a full dict: set_ping never runs)
        ('done = set_ping(options) if os.environ.get("PING") else 0\n    return options', None),
    ],
)
def test_a_helper_called_inside_an_expression_changes_the_dict_it_is_handed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, ping: bool | None
) -> None:
    # The helper's change of its argument lands whether its call is a statement of its own or sits in an
    # assignment or a test, where the call surely runs (not after `or`, not in an arm of `x if t else y`)
    body = body.replace("\n    ", "\n                    ")  # (the fixture's own indentation, dedented below)
    report = scan(
        tmp_path,
        {
            "app/db.py": f"""
                import os

                from sqlalchemy import create_engine


                def set_ping(options):
                    options["pool_pre_ping"] = True
                    return True


                def engine_options():
                    options = {{"max_overflow": 4}}
                    {body}


                engine = create_engine("postgresql://db/app", **engine_options())
            """,
        },
        monkeypatch,
    )
    pool = report.pools[0]
    assert (pool.settings["pool_pre_ping"].value if "pool_pre_ping" in pool.settings else None) is ping
    assert pool.settings["max_overflow"].value == 4


@pytest.mark.parametrize("body", ["options = bump(options)", "other = bump(options)\n    options = other"])
def test_a_helper_given_the_name_it_is_assigned_to_runs_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str
) -> None:
    # `options = bump(options)`, `other = bump(options)`: the helper's change is made once, not again when the
    # assigned value is worked out
    body = body.replace("\n    ", "\n                    ")
    report = scan(
        tmp_path,
        {
            "app/db.py": f"""
                from sqlalchemy import create_engine


                def bump(options):
                    options["pool_size"] = options.get("pool_size", 1) * 2
                    return options


                def engine_options():
                    options = {{"pool_size": 5}}
                    {body}
                    return options


                engine = create_engine("postgresql://db/app", **engine_options())
            """,
        },
        monkeypatch,
    )
    assert report.pools[0].settings["pool_size"].value == 10


@pytest.mark.parametrize(
    "merge",
    [
        'DATABASES["default"].update(\n    dj_database_url.config(env="DATABASE_URL", conn_max_age=500)\n)',
        'DATABASES["default"] = {**DATABASES["default"], **dj_database_url.config(conn_max_age=500)}',
    ],
)
def test_dj_database_url_config_with_no_default_changes_nothing_while_its_variable_is_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, merge: str
) -> None:
    # dj-database-url 3.1's config() returns {} when the variable is unset and no default is given: merged into a
    # dict, the dict's own sqlite3 keys stand and CONN_MAX_AGE is Django's; only a set DATABASE_URL changes them
    report = scan(
        tmp_path,
        {
            "manage.py": 'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")\n',
            "settings.py": "import dj_database_url\n\n"
            + 'DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}}\n'
            + merge
            + "\n",
        },
        monkeypatch,
    )
    [pool] = report.pools
    engine, age = pool.settings["ENGINE"], pool.settings["CONN_MAX_AGE"]
    assert engine.value == "django.db.backends.sqlite3"
    assert [b.when for b in engine.branches] == ['not ("DATABASE_URL" in os.environ)', '"DATABASE_URL" in os.environ']
    assert engine.branches[1].env == "DATABASE_URL" and not engine.branches[1].known
    assert [b.value for b in age.branches] == [None, 500]


def test_dj_database_url_config_as_a_whole_alias_still_reads_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # {"default": dj_database_url.config()}: without the variable Django has no database at all, so the alias is
    # the variable's (as before), not a branch of an empty dict
    report = scan(
        tmp_path,
        {"settings.py": 'import dj_database_url\n\nDATABASES = {"default": dj_database_url.config(conn_max_age=60)}\n'},
        monkeypatch,
    )
    pool = at(report, "settings.py:3")
    assert (pool.settings["HOST"].known, pool.settings["HOST"].env) == (False, "DATABASE_URL")
    assert pool.settings["CONN_MAX_AGE"].value == 60 and not pool.settings["CONN_MAX_AGE"].branches


def test_a_path_in_an_f_string_is_its_text_unless_the_working_directory_gives_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = scan(
        tmp_path,
        {
            "app.py": """
                from pathlib import Path

                from sqlalchemy import create_engine

                DATA_DIR = Path("/srv/blog")
                ROOT = Path().parent.resolve()
                engine = create_engine(f"sqlite:///{DATA_DIR / 'data' / 'blog.db'}")
                here = create_engine(f"sqlite:///{ROOT / 'blog.db'}")
            """,
        },
        monkeypatch,
    )
    assert at(report, "app.py:7").settings["url"].value == "sqlite:////srv/blog/data/blog.db"
    assert not at(report, "app.py:8").settings["url"].known  # the directory it runs in


@pytest.mark.parametrize(
    ("call", "backend", "variable"),
    [
        (
            'env.db_url("DB_URL", default="sqlite:///" + os.path.join(os.getcwd(), "app.db"))',
            "django.db.backends.sqlite3",
            "DB_URL",
        ),
        (
            'dj_database_url.config(default=f"postgres://app@{socket.gethostname()}/app")',
            "django.db.backends.postgresql",
            "DATABASE_URL",
        ),
    ],
)
def test_a_database_url_the_run_completes_still_names_its_engine_by_the_scheme_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call: str, backend: str, variable: str
) -> None:
    # Only the path (or host) is the run's: the scheme the code writes picks the backend
    report = scan(
        tmp_path,
        {
            "settings.py": "import os\nimport socket\n\nimport dj_database_url\nimport environ\n\n"
            + "env = environ.Env()\n"
            + f'DATABASES = {{"default": {call}}}\n',
        },
        monkeypatch,
    )
    pool = at(report, "settings.py:8")
    engine = pool.settings["ENGINE"]
    assert (engine.value, engine.env) == (backend, variable)
    assert not pool.settings["NAME"].known and not pool.settings["HOST"].known


def test_a_section_no_file_in_the_tree_gives_is_read_as_unknown_not_as_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # configparser raises for a section no file holds: where the code reads [database], it is in an ini the
    # deployment brings, so what it sets (ENGINE, CONN_MAX_AGE, any key) is unknown there, never "not set"
    report = scan(
        tmp_path,
        {
            "manage.py": 'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "srv.settings")\n',
            "srv/__init__.py": "",
            "srv/settings.py": """
                import configparser
                import os

                DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}}

                locations = [os.environ.get("SRV_CONFIG", ""), "srv.ini", "/etc/srv/srv.ini"]
                if any(os.path.isfile(x) for x in locations):
                    config = configparser.ConfigParser()
                    config.read(locations)
                    if "database" in config:
                        DATABASES = {"default": {x.upper(): y for x, y in config.items("database")}}
            """,
        },
        monkeypatch,
    )
    [pool] = report.pools
    engine = pool.settings["ENGINE"]
    assert "django.db.backends.sqlite3" in [b.value for b in engine.branches]
    [from_ini] = [b for b in engine.branches if b.value is None]
    assert not from_ini.known and "(not set)" not in (from_ini.expr or "")
    assert any("config.items" in note for note in pool.unresolved)


WALLET = """
from app.db import Database


class Wallet:
    def __init__(self, url, name="wallet"):
        self.db = Database(url)

    @classmethod
    def with_db(cls, url, name="wallet"):
        return cls(url, name=name)
"""


def test_a_classmethod_called_through_a_local_annotated_with_its_class_makes_a_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `wallet: Wallet = ctx.obj["WALLET"]`: what ctx holds is the run's, but the annotation names the class, so
    # `wallet.with_db(...)` is Wallet.with_db, a new instance and its engine
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/db.py": """
                from sqlalchemy.ext.asyncio import create_async_engine


                class Database:
                    def __init__(self, url):
                        self.engine = create_async_engine(url, pool_size=7)
            """,
            "app/wallet.py": WALLET,
            "app/cli.py": """
                from app.wallet import Wallet


                def balance(ctx):
                    wallet: Wallet = ctx.obj["WALLET"]
                    wallet = wallet.with_db("sqlite+aiosqlite:///data/wallet.db")
                    return wallet


                def main(ctx, url):
                    ctx.obj["WALLET"] = Wallet.with_db(url)
            """,
        },
        monkeypatch,
    )
    pool = at(report, "app/cli.py:6")
    assert pool.settings["url"].value == "sqlite+aiosqlite:///data/wallet.db"
    assert pool.settings["pool_size"].value == 7
    assert not at(report, "app/cli.py:11").settings["url"].known


@pytest.mark.parametrize("from_env", [False, True])
def test_a_configparser_subclass_method_that_reads_the_defaults_into_self_gives_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, from_env: bool
) -> None:
    # `config.load_config()`: the project's own method reads the packaged defaults into the parser (then a local
    # file the tree lacks); `config.get(...)` after it is the defaults' value, and (from_env) a loop over its
    # options that sets one from a variable makes that variable's the other branch
    loop = """
                        for section in self.sections():
                            for name in self[section]:
                                if name.upper() == "DATABASE_URL" and "DATABASE_URL" in os.environ:
                                    self.set(section, name, os.environ["DATABASE_URL"])
    """
    report = scan(
        tmp_path,
        {
            "survey/__init__.py": "",
            "survey/defaults.ini": "[Database Parameters]\ndatabase_url = sqlite:///participants.db\n",
            "survey/config.py": """
                import os
                from configparser import ConfigParser


                class SurveyConfig(ConfigParser):
                    def __init__(self, local_config="config.txt", **kwargs):
                        super().__init__(**kwargs)
                        self.local_file = local_config

                    def load_config(self):
                        defaults = os.path.join(os.path.dirname(__file__), "defaults.ini")
                        self.read_file(open(defaults))
                        self.read([self.local_file])
            """
            + (loop if from_env else ""),
            "survey/db.py": """
                from sqlalchemy import create_engine

                from survey.config import SurveyConfig

                config = SurveyConfig()
                config.load_config()
                engine = create_engine(config.get("Database Parameters", "database_url"), pool_recycle=3600)
            """,
        },
        monkeypatch,
    )
    url = at(report, "survey/db.py:7").settings["url"]
    if not from_env:
        assert (url.value, url.from_) == ("sqlite:///participants.db", "survey/defaults.ini:2")
        return
    assert [(b.value, b.env) for b in url.branches] == [(None, "DATABASE_URL"), ("sqlite:///participants.db", None)]


def test_a_method_assigned_from_that_sets_an_attribute_after_an_early_return_gives_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `res = self._read_conf()`: the method sets self.threads only past an early return; on that path the read
    # after it raises, so the pool is made only where it was set (from the option's default, 10)
    report = scan(
        tmp_path,
        {
            "agent/__init__.py": "",
            "agent/db.py": """
                from sqlalchemy import create_engine


                class JobsDB:
                    def __init__(self, pool_size=5):
                        self.engine = create_engine("postgresql://db/jobs", pool_size=pool_size, pool_recycle=3600)
            """,
            "agent/base.py": """
                import os


                class Agent:
                    def option(self, name, default):
                        return int(os.environ.get(name, default))
            """,
            "agent/worker.py": """
                from agent.base import Agent
                from agent.db import JobsDB
                from gridconfig import gConfig


                class Worker(Agent):
                    def _read_conf(self):
                        found = gConfig.servers()
                        if not found.get("OK"):
                            return found
                        self.threads = self.option("MAX_THREADS", 10)
                        return {"OK": True}

                    def initialize(self):
                        res = self._read_conf()
                        self.db = JobsDB(pool_size=2 * self.threads)
                        return res
            """,
        },
        monkeypatch,
    )
    size = at(report, "agent/worker.py:16").settings["pool_size"]
    assert (size.value, size.env) == (20, "MAX_THREADS")


def test_a_sanic_apps_config_gives_its_defaults_each_with_its_prefixed_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Sanic 25's Config is a dict read by attribute; `update()` sets keys and `load_environment_vars("OBS_")`
    # lets OBS_<KEY> replace each (cast to int, float or bool); a key nothing sets is unknown
    report = scan(
        tmp_path,
        {
            "obs/__init__.py": "",
            "obs/db.py": """
                from sqlalchemy.ext.asyncio import create_async_engine


                def connect_db(url, pool_size=10, max_overflow=20):
                    return create_async_engine(url, pool_size=pool_size, max_overflow=max_overflow)
            """,
            "obs/app.py": """
                from sanic import Sanic

                from obs.db import connect_db

                app = Sanic("obs-api", env_prefix="OBS_")
                app.config.update(dict(DEBUG=False, POSTGRES_POOL_SIZE=20, POSTGRES_MAX_OVERFLOW=40))
                app.config.load_environment_vars("OBS_")


                @app.before_server_start
                async def connect(app, loop):
                    app.ctx.engine = connect_db(
                        app.config.POSTGRES_URL, app.config.POSTGRES_POOL_SIZE, app.config["POSTGRES_MAX_OVERFLOW"]
                    )
            """,
        },
        monkeypatch,
    )
    pool = at(report, "obs/app.py:12")
    size, overflow, url = (pool.settings[k] for k in ("pool_size", "max_overflow", "url"))
    assert (size.value, size.env) == (20, "OBS_POSTGRES_POOL_SIZE")
    assert (overflow.value, overflow.env) == (40, "OBS_POSTGRES_MAX_OVERFLOW")
    assert not url.known


@pytest.mark.parametrize(
    ("load", "size"),
    [
        ('app.update_config({"POOL_SIZE": 30})', 30),
        ("app.update_config(Settings)", 40),
        ('app.update_config("/etc/obs/config.py")', None),  # a file the tree lacks may set any key
    ],
)
def test_sanic_update_config_loads_a_dict_an_object_or_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, load: str, size: int | None
) -> None:
    report = scan(
        tmp_path,
        {
            "app.py": "from sanic import Sanic\nfrom sqlalchemy import create_engine\n\n\n"
            + "class Settings:\n    POOL_SIZE = 40\n\n\n"
            + 'app = Sanic("api")\napp.config.update({"POOL_SIZE": 20})\n'
            + load
            + '\nengine = create_engine("postgresql://db/app", pool_size=app.config.POOL_SIZE)\n',
        },
        monkeypatch,
    )
    assert at(report, "app.py:12").settings["pool_size"].value == size


def test_a_subclass_the_app_never_makes_does_not_hide_the_class_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two Stores made, and a TinyStore subclass nobody makes (the second review's exact_twice)
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/store.py": BASE_WITH_HEIRS.format(base="") + '\n    URL = "postgresql://db/app"\n',
            "app/tiny.py": "from app.store import Store\n\n\nclass TinyStore(Store):\n    POOL_SIZE = 1\n",
            "app/main.py": "from app.store import Store\n\nstores = [Store(), Store()]\n",
        },
        monkeypatch,
    )
    assert at(report, "app/store.py:10").settings["pool_size"].value == 5


def test_an_annotated_name_may_hold_a_subclass_instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `store: Store = ctx.obj["store"]` may be an Orders, which sets POOL_SIZE: unknown, not the base's 5
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/store.py": """
                from sqlalchemy import create_engine


                class Store:
                    POOL_SIZE = 5

                    def connect(self, url):
                        return create_engine(url, pool_size=self.POOL_SIZE)


                class Orders(Store):
                    POOL_SIZE = 10
            """,
            "app/main.py": """
                from app.store import Orders, Store


                def setup(ctx):
                    ctx.obj["store"] = Orders() if ctx.big else Store()


                def run(ctx):
                    store: Store = ctx.obj["store"]
                    store.connect("postgresql://db/app")
            """,
        },
        monkeypatch,
    )
    assert not at(report, "app/main.py:10").settings["pool_size"].known


def test_an_attribute_a_library_base_may_give_keeps_the_path_that_leaves_it_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # socketserver.TCPServer has request_queue_size = 5: the early return's path reads it, so the value is not
    # only the set path's 20
    report = scan(
        tmp_path,
        {
            "worker.py": """
                import socketserver

                from gridconfig import gConfig
                from sqlalchemy import create_engine


                class Worker(socketserver.TCPServer):
                    def _read_conf(self):
                        if not gConfig.servers():
                            return None
                        self.request_queue_size = 10
                        return True

                    def initialize(self):
                        res = self._read_conf()
                        self.engine = create_engine("postgresql://db/jobs", pool_size=2 * self.request_queue_size)
                        return res
            """,
        },
        monkeypatch,
    )
    assert not at(report, "worker.py:16").settings["pool_size"].known


def test_a_path_from_a_variable_keeps_it_in_an_f_string_and_a_conversion_is_applied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = scan(
        tmp_path,
        {
            "app.py": """
                import os
                from pathlib import Path

                from sqlalchemy import create_engine

                DATA = Path(os.environ.get("DATA", "/srv")) / "app.db"
                NAME = "app"
                engine = create_engine(f"sqlite:///{DATA}")
                other = create_engine(f"sqlite:///{Path('/srv/x')!r}")
                third = create_engine(f"postgresql://db/{NAME!r}")
            """,
        },
        monkeypatch,
    )
    url = at(report, "app.py:8").settings["url"]
    assert (url.value, url.env) == ("sqlite:////srv/app.db", "DATA")
    assert not at(report, "app.py:9").settings["url"].known
    assert at(report, "app.py:10").settings["url"].value == "postgresql://db/'app'"


def test_a_scheme_a_later_call_rewrites_names_no_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = scan(
        tmp_path,
        {
            "settings.py": """
                import dj_database_url

                from backends import backend

                DATABASES = {"default": dj_database_url.config(default="sqlite:///app.db".replace("sqlite", backend()))}
            """,
        },
        monkeypatch,
    )
    assert not at(report, "settings.py:5").settings["ENGINE"].known


@pytest.mark.parametrize("library", ["pyramid_basemodel", "pyramid_sqlalchemy", "c2cgeoportal_geoportal"])
def test_a_pyramid_include_of_a_library_that_makes_the_engine_is_named_in_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, library: str
) -> None:
    # pyramid_basemodel 1.0's and pyramid_sqlalchemy 1.6's includeme: engine_from_config(settings, "sqlalchemy.");
    # c2cgeoportal_geoportal 2.9's: c2cwsgiutils' setup_session of the sqlalchemy.* settings
    report = scan(
        tmp_path,
        {
            "torque/model.py": f"""
                def includeme(config):
                    settings = config.get_settings()
                    settings.setdefault("sqlalchemy.url", "postgresql:///torque")
                    config.include("{library}")
            """,
        },
        monkeypatch,
    )
    assert report.pools == []
    assert [w for w in report.warnings if f"torque/model.py:4: config.include('{library}') makes a pool" in w]


def test_a_sanic_listener_is_given_the_app_whatever_branch_its_config_took(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `if isfile("./config.py"): app.update_config("./config.py")`, a file the tree lacks: the app is one of two
    report = scan(
        tmp_path,
        {
            "app.py": """
                from os.path import isfile

                from sanic import Sanic
                from sqlalchemy.ext.asyncio import create_async_engine

                app = Sanic("api")
                app.config.update({"POOL_SIZE": 20})
                if isfile("./config.py"):
                    app.update_config("./config.py")


                @app.listener("before_server_start")
                async def connect(app, loop):
                    app.ctx.engine = create_async_engine("postgresql+asyncpg://db/app", pool_size=app.config.POOL_SIZE)
            """,
        },
        monkeypatch,
    )
    size = at(report, "app.py:14").settings["pool_size"]
    assert [(b.value, b.known) for b in size.branches] == [(None, False), (20, True)]


def test_a_subclass_of_a_base_imported_under_another_name_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `from app.store import Store as BaseStore; class Orders(BaseStore)`: the index of bases knows it by its alias
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/store.py": BASE_WITH_HEIRS.format(base="") + '\n    URL = "postgresql://db/app"\n',
            "app/orders.py": """
                from app.store import (
                    Store as BaseStore,
                )

                class Orders(BaseStore):
                    POOL_SIZE = 10
            """,
            "app/users.py": "from app.store import Store\n\n\nclass Users(Store):\n    TABLE = 'users'\n",
            "app/main.py": "from app.orders import Orders\nfrom app.users import Users\n\nstores = [Orders(), Users()]\n",
        },
        monkeypatch,
    )
    assert not at(report, "app/store.py:10").settings["pool_size"].known
