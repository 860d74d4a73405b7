"""Held-out round 57 and the open cases of round 56: each test failed before its fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pool_doctor.scan import scan_path
from pool_doctor.scan.composed import composed_passwords
from tests.test_scan import at, scan, values


def test_a_short_password_is_masked_where_it_is_written_not_in_every_word(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # round 56's case2: the password `p` masked every `p` of the URL's source, `"***ostgresql+async***g://..."`
    files = {
        "app.py": """
            from sqlalchemy import create_engine

            engine = create_engine("postgresql+asyncpg://u:p@h/d")
            composed = create_engine("postgresql://u:%s@h/d" % "p")
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert at(report, "app.py:3").settings["url"].source == '"postgresql+asyncpg://u:***@h/d"'
    composed = at(report, "app.py:4").settings["url"]
    assert composed.value == "postgresql://u:***@h/d"
    assert '"p"' not in (composed.source or "")
    assert "postgresql" in (composed.source or "")
    assert "ostgresql" not in json.dumps(report.to_json()).replace("postgresql", "")


def test_a_none_default_filtered_out_leaves_the_key_unset_and_keeps_its_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # round 56's case2 (asyncpg-datalayer): `getenv_int("POOL_SIZE")` is None with no variable set, and a dict
    # comprehension drops None values; the key was dropped with its variable's branch
    files = {
        "app.py": """
            import os
            from sqlalchemy.ext.asyncio import create_async_engine


            class DB:
                def __init__(self, url, pool_size=None, max_overflow=None):
                    kwargs = {
                        k: v
                        for k, v in dict(pool_size=pool_size, max_overflow=max_overflow).items()
                        if v is not None
                    }
                    self.engine = create_async_engine(url, pool_pre_ping=True, **kwargs)


            def create_db():
                def getenv_int(key, default=None):
                    val = os.environ.get(key)
                    if val is None:
                        return default
                    return int(val)

                return DB(
                    "postgresql+asyncpg://app@db/app",
                    pool_size=getenv_int("POOL_SIZE"),
                    max_overflow=getenv_int("POOL_MAX_OVERFLOW", 2),
                )


            db = create_db()
        """,
    }
    pool = at(scan(tmp_path, files, monkeypatch), "app.py:22")
    size = pool.settings["pool_size"]
    assert not size.known and size.env == "POOL_SIZE"
    assert [(b.expr, b.env) for b in size.branches] == [("(not set)", None), ("int(val)", "POOL_SIZE")]
    overflow = pool.settings["max_overflow"]
    assert (overflow.value, overflow.env) == (2, "POOL_MAX_OVERFLOW")


GUARDED = """
    import asyncio
    import os
    from sqlalchemy.ext.asyncio import create_async_engine


    class Config:
        def __init__(self):
            self.url = "postgresql+asyncpg://app@db/app"
            self.pool_size = int(os.getenv("POOL_SIZE", 100))


    class Client:
        _instances = {}
{extra}
        def __new__(cls, config):
            if config.url not in cls._instances:
                cls._instances[config.url] = super().__new__(cls)
            return cls._instances[config.url]

        def __init__(self, config):
            if not hasattr(self, "_initialized") or not self._initialized:
                self._config = config
                self._initialized = True

        def engine(self):
            return create_async_engine(self._config.url, pool_size=self._config.pool_size)


    engine = Client(Config()).engine()
"""


@pytest.mark.parametrize(
    ("extra", "known"),
    [
        ("", True),
        ("        _initialized = False\n", False),
        ("        def __getattr__(self, name):\n            return None\n", False),
        # (hasattr holds, and `not self._initialized` does: the block runs, as Python runs it)
        ("        @property\n        def _initialized(self):\n            return False\n", True),
    ],
)
def test_a_guard_of_a_fresh_instance_in_its_init_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: str, known: bool
) -> None:
    # round 56's case3 (asyncpg-client): `if not hasattr(self, "_initialized")` in __init__ holds for the instance
    # being made, unless the class has the attribute or a hook that reads any; it made an unknown branch
    report = scan(tmp_path, {"app.py": GUARDED.replace("{extra}", extra)}, monkeypatch)
    size = report.pools[0].settings["pool_size"]
    assert size.known == known
    if known:
        assert (size.value, size.env, size.branches) == (100, "POOL_SIZE", ())


def test_a_module_beside_a_package_of_its_name_is_never_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # round 57's case2 (python-backend-starter): lib/database.py sits beside the package lib/database/, which
    # Python imports in its place; its engine is never made
    engine = """
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine("postgresql+asyncpg://app@db/app", pool_size={size})
    """
    files = {
        "app/__init__.py": "",
        "app/lib/__init__.py": "",
        "app/lib/database.py": engine.replace("{size}", "5"),
        "app/lib/database/__init__.py": "",
        "app/lib/database/engine.py": engine.replace("{size}", "20"),
        "app/lib/cache.py": engine.replace("{size}", "3"),
        "app/lib/cache/README.md": "a folder with no __init__.py: the module cache.py wins\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [p.where for p in report.pools] == ["app/lib/cache.py:3", "app/lib/database/engine.py:3"]
    assert any("app/lib/database.py: never imported" in w for w in report.warnings)
    assert [p.line for p in scan_path(Path("app/lib/database.py")).pools] == [3]  # (the file asked for: read)
    (tmp_path / "Dockerfile").write_text('CMD ["python", "app/lib/database.py"]\n')  # (the review: run as a script)
    assert "app/lib/database.py:3" in [p.where for p in scan_path(Path(".")).pools]


def test_a_split_settings_component_reads_the_including_modules_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # round 56's case4 (pochtamt): django-split-settings runs a component in the including module's globals, so
    # the `os` it never imports is settings.py's; its defaults were unknown
    files = {
        "manage.py": "import django\n",
        "conf/__init__.py": "",
        "conf/settings.py": """
            import os

            from split_settings.tools import include

            AGE = 60
            include("components/*.py")
        """,
        "conf/components/database.py": """
            DATABASES = {
                "default": {
                    "ENGINE": "django.db.backends.postgresql",
                    "CONN_MAX_AGE": int(os.environ.get("CONN_MAX_AGE", 60)),
                    "TIMEOUT": AGE,
                    "CONN_HEALTH_CHECKS": os.environ.get("HEALTH", "no") == "yes",
                }
            }
        """,
    }
    pool = scan(tmp_path, files, monkeypatch).pools[0]
    age = pool.settings["CONN_MAX_AGE"]
    assert (age.value, age.env) == (60, "CONN_MAX_AGE")
    checks = pool.settings["CONN_HEALTH_CHECKS"]
    assert (checks.value, checks.env) == (False, "HEALTH")
    assert not pool.settings["TIMEOUT"].known  # (a name the module assigns: it may change after the include)


BINDS_APP = """
    import os

    from flask import Flask
    from flask_sqlalchemy import SQLAlchemy

    WRITER = os.getenv("DATABASE_URL", "postgresql://app@db/app")
    READER = os.getenv("READER_URL", "postgresql://app@replica/app")


    class Config:
        SQLALCHEMY_DATABASE_URI = WRITER
        SQLALCHEMY_BINDS = {
            "writer": WRITER,
            "reader": READER,
        }
        SQLALCHEMY_POOL_SIZE = 5
        SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}


    app = Flask(__name__)
    app.config.from_object(Config)
    db = SQLAlchemy(app)
"""


@pytest.mark.parametrize("pin", ["Flask-SQLAlchemy==2.5.1", "Flask-SQLAlchemy==3.1.1", ""])
def test_binds_get_the_keys_their_release_gives_every_engine_and_sit_at_their_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pin: str
) -> None:
    # round 57's cases 1 and 2 (notification-api): Flask-SQLAlchemy 2.x makes a bind's engine with the pool keys
    # and SQLALCHEMY_ENGINE_OPTIONS as the default engine's (2.5.1 `_EngineConnector.get_options`); 3.x gives a bind
    # neither (3.1.1 `_app_engines`). The binds had neither under 2.x, and sat at their URL variables' lines
    report = scan(tmp_path, {"requirements.txt": f"{pin}\n", "app.py": BINDS_APP}, monkeypatch)
    writer, reader = at(report, "app.py:13"), at(report, "app.py:14")
    assert (writer.call, reader.call) == ("SQLALCHEMY_BINDS['writer']", "SQLALCHEMY_BINDS['reader']")
    for bind in (writer, reader):
        size, ping = bind.settings.get("pool_size"), bind.settings.get("pool_pre_ping")
        if pin.endswith("2.5.1"):
            assert (size and size.value, ping and ping.value) == (5, True)
        elif pin:
            assert (size, ping) == (None, None)
        else:
            assert size is not None and [b.value for b in size.branches] == [5, None]
            assert ping is not None and [b.value for b in ping.branches] == [True, None]


MAGPIE = """
    from pyramid.config import Configurator
    from pyramid.registry import Registry
    from sqlalchemy import engine_from_config


    def get_registry(container):
        if isinstance(container, Configurator):
            return container.registry
        raise TypeError("no registry")


    def get_settings(container):
        if isinstance(container, Registry):
            return container.settings
        if isinstance(container, dict):
            return container
        registry = get_registry(container)
        if isinstance(registry, Registry):
            return registry.settings
        raise TypeError("no settings")


    def get_engine(container=None, prefix="sqlalchemy."):
        settings = get_settings(container or {})
        settings.setdefault(prefix + "pool_pre_ping", True)
        return engine_from_config(settings, prefix)


    def includeme(config):
        get_engine(config)


    def main(global_config, **settings):
        with Configurator(settings=settings) as config:
            config.include(".")
        return get_engine(settings)
"""


def test_a_dict_or_a_pyramid_configurator_is_no_instance_of_another_library_class(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # round 57's case4 (Magpie): `isinstance(container, Registry)` of a **settings dict, and of Pyramid's
    # Configurator, could not be told; the Registry side left pool_pre_ping "(not set)" at 9 of 11 pools
    report = scan(tmp_path, {"app.py": MAGPIE}, monkeypatch)
    assert len(report.pools) == 2
    for pool in report.pools:
        ping = pool.settings["pool_pre_ping"]
        assert (ping.value, ping.branches) == (True, ())


@pytest.mark.parametrize(
    "change",
    [
        'options = database.setdefault("OPTIONS", {})\n                options["options"] = f"-c statement_timeout={TIMEOUT}"',
        'database.setdefault("OPTIONS", {})["options"] = f"-c statement_timeout={TIMEOUT}"',
    ],
)
def test_a_settings_loop_changing_each_alias_through_setdefault_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    # round 57's case7 (kpi): prod.py sets statement_timeout on each PostgreSQL alias through `setdefault`, under
    # `any(s in database.get("ENGINE", "") for s in [...])`; the scan missed the change and could not decide any()
    prod = """
        from .base import *

        for database in DATABASES.values():
            if any(s in database.get("ENGINE", "") for s in ["postgis", "postgres"]):
                {change}
    """.replace("{change}", change)
    files = {
        "manage.py": 'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.prod")\n',
        "settings/__init__.py": "",
        "settings/base.py": """
            import os

            INSTALLED_APPS = ["django.contrib.auth"]
            TIMEOUT = int(os.environ.get("TIMEOUT", 125)) * 1000
            DATABASES = {
                "default": {"ENGINE": "django.db.backends.postgresql", "NAME": "app"},
                "local": {"ENGINE": "django.db.backends.sqlite3", "NAME": "local.db"},
            }
            if "KC_DATABASE_URL" in os.environ:
                DATABASES["kobocat"] = {"ENGINE": os.environ["KC_ENGINE"], "NAME": "kc"}
        """,
        "settings/prod.py": prod,
    }
    report = scan(tmp_path, files, monkeypatch)
    pools = {p.call: p for p in report.pools if p.file == "settings/prod.py"}
    options = pools["DATABASES['default']"].settings["OPTIONS.options"]
    assert (options.value, options.env) == ("-c statement_timeout=125000", "TIMEOUT")
    assert "OPTIONS.options" not in pools["DATABASES['local']"].settings
    kobocat = pools["DATABASES['kobocat']"]
    assert kobocat.condition == '"KC_DATABASE_URL" in os.environ'  # (each side of the undecided any(): one test)
    assert [b.value for b in kobocat.settings["OPTIONS.options"].branches] == ["-c statement_timeout=125000", None]


def test_a_password_an_unknown_url_is_composed_with_is_never_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the last stop's note: a URL the scan cannot read (its host from a variable) showed the password literal it
    # is composed with in its expression's text, through `%`, `.format()` and `+`
    files = {
        "app.py": """
            import os
            from sqlalchemy import create_engine

            host = os.environ["DB_HOST"]
            a = create_engine("postgresql://app:%s@%s/app" % ("Pa55wordOne", host))
            b = create_engine("postgresql://app:{}@{}/app".format("Pa55wordTwo", host))
            c = create_engine("postgresql://app:{pw}@{h}/app".format(h=host, pw="Pa55wordThree"))
            d = create_engine("postgresql://app:" + "Pa55word" + "Four" + "@" + host + "/app")
            e = create_engine("postgresql://%(u)s:%(p)s@%(h)s/app" % {"u": "app", "p": "Pa55wordFive", "h": host})
            f = create_engine("postgresql://app@%s/app?application_name=%s" % (host, "Pa55wordNot"))
            g = create_engine(
                "postgresql+psycopg2://reporting_service_account_for_the_data_warehouse_team:%s@%s/analytics_db"
                % ("Pa55wordSix", host)
            )
            h = create_engine("postgresql://app:%(pw)s@%(h)s/app" % dict(pw="Pa55wordSeven", h=host))
            i = create_engine("postgresql://{u}:{pw}@{h}/app".format(**{"u": "app", "pw": "Pa55wordEight", "h": host}))
            j = create_engine("postgresql://{u}:{pw}@{h}/app".format_map({"u": "app", "pw": "Pa55wordNine", "h": host}))
            k = create_engine(f"postgresql://app:{'Pa55wordTen'}@{host}/app")
            m = create_engine("postgresql://app:%s@%s/app" % ("Pa55\\\\wordEleven", host))
            n = create_engine("postgresql://app:" + "Pa55word" + "Twelve" + "@" + host + "/app" + "?a=1" * 1 + "&b=2"
                + "&c=3" + "&d=4" + "&e=5" + "&f=6" + "&g=7" + "&h=8" + "&i=9" + "&j=10" + "&k=11" + "&l=12" + "&m=13"
                + "&n=14" + "&o=15" + "&p=16" + "&q=17" + "&r=18" + "&s=19" + "&t=20" + "&u=21" + "&v=22" + "&w=23"
                + "&x=24" + "&y=25" + "&z=26" + "&application_name=a_long_name_to_pass_four_hundred_characters_of_text"
                + "&and_more=" + "x" * 1 + "&then_more_still=yes_more_text_to_make_this_long_enough_to_cut_at_400")
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    shown = json.dumps(report.to_json())
    words = ("One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten", "Eleven", "Twelve")
    assert [w for w in words if w in shown] == []
    assert "Pa55wordNot" in shown  # (no password there: an application name)
    assert all(not p.settings["url"].known for p in report.pools)
    assert at(report, "app.py:7").driver == "psycopg2"  # (a long URL written out keeps its scheme: round 58's case1)


@pytest.mark.parametrize(
    ("text", "secrets"),
    [
        ('"postgresql://u:%s@%s/db" % ("pw", host)', ["pw"]),
        ('"postgresql://u:%%s@%s/db" % (host,)', ["%", "s"]),  # (`%%s` writes a literal `%s`)
        ('"postgresql://u:" + "p" + "w" + "@" + host', ["p", "w"]),
        ('f"postgresql://u:{pw}@{host}/db"', []),
        ('"postgresql://{}:{}@{}/db".format(user, "pw", host)', ["pw"]),
        ('"postgresql://u@%s/db" % "pw"', []),
        ("not python (", []),
    ],
)
def test_composed_passwords(text: str, secrets: list[str]) -> None:
    assert composed_passwords(text) == secrets


@pytest.mark.parametrize("typed", ["SQLAlchemy", "Database"])
def test_a_flask_subclass_binding_the_extension_it_is_handed_is_an_engine_at_that_bind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, typed: str
) -> None:
    # round 56's case3 (llmops-api): `db.init_app(self)` of a parameter typed with the extension's class (or the
    # project's subclass of it) is the bind; the engine sat at the from_object line
    files = {
        "ext.py": """
            from flask_sqlalchemy import SQLAlchemy


            class Database(SQLAlchemy):
                pass


            db = Database()
        """,
        "server.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            from config import Config
            from ext import Database


            class Http(Flask):
                def __init__(self, *args, conf: Config, db: {typed}, **kwargs):
                    super().__init__(*args, **kwargs)
                    self.config.from_object(conf)
                    self.register_error_handler(Exception, print)
                    db.init_app(self)
        """.replace("{typed}", typed),
        "config.py": """
            class Config:
                def __init__(self):
                    self.SQLALCHEMY_DATABASE_URI = "postgresql://app@db/app"
                    self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_recycle": 300}
        """,
        "app.py": """
            from config import Config
            from ext import db
            from server import Http

            app = Http(__name__, conf=Config(), db=db)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [p.where for p in report.pools] == ["server.py:13"]
    assert report.pools[0].settings["pool_recycle"].value == 300


@pytest.mark.parametrize(
    "source",
    [
        """
        import os
        from sqlalchemy.ext.asyncio import create_async_engine


        class Client:
            _instances = {}

            def __new__(cls, url):
                if url not in cls._instances:
                    cls._instances[url] = super().__new__(cls)
                return cls._instances[url]

            def __init__(self, url):
                if not hasattr(self, "pool_size"):
                    self.pool_size = 5
                self.url = url

            def engine(self):
                return create_async_engine(self.url, pool_size=self.pool_size)


        Client.pool_size = int(os.getenv("POOL_SIZE", "30"))

        engine = Client("postgresql+asyncpg://app@db/app").engine()
""",
        """
        import os
        from sqlalchemy.ext.asyncio import create_async_engine


        def _prepare(obj):
            obj.pool_size = int(os.getenv("POOL_SIZE", "30"))
            return obj


        class Client:
            def __new__(cls, url):
                return _prepare(super().__new__(cls))

            def __init__(self, url):
                if not hasattr(self, "pool_size"):
                    self.pool_size = 5
                self.url = url

            def engine(self):
                return create_async_engine(self.url, pool_size=self.pool_size)


        engine = Client("postgresql+asyncpg://app@db/app").engine()
""",
    ],
)
def test_a_guard_stays_undecided_where_something_else_may_set_the_attribute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    # the review: a class attribute set after the class, and a `__new__` handing the instance to a helper that sets
    # it, made the fresh-instance guard read False (pool_size 5, where 30 is right)
    size = scan(tmp_path, {"app.py": source}, monkeypatch).pools[0].settings["pool_size"]
    assert not size.known and 5 in [b.value for b in size.branches]


@pytest.mark.parametrize(("pin", "size"), [("Flask-SQLAlchemy==2.5.1", 3), ("Flask-SQLAlchemy==3.1.1", 10)])
def test_under_2x_the_extensions_engine_options_win_over_the_configs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pin: str, size: int
) -> None:
    # the review: 2.5.1's get_options lays SQLAlchemy(engine_options=...) over SQLALCHEMY_ENGINE_OPTIONS ("ultimate
    # priority"); 3.1.1's _app_engines the other way round; a bind under 3.x has the extension's alone
    files = {
        "requirements.txt": f"{pin}\n",
        "app.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy


            class Config:
                SQLALCHEMY_DATABASE_URI = "postgresql://app@db/app"
                SQLALCHEMY_BINDS = {
                    "reader": "postgresql://app@replica/app",
                }
                SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 10, "pool_recycle": 600}


            app = Flask(__name__)
            app.config.from_object(Config)
            db = SQLAlchemy(app, engine_options={"pool_size": 3})
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert values(at(report, "app.py:15"))["pool_size"] == size
    reader = values(at(report, "app.py:8"))
    assert (reader["pool_size"], reader.get("pool_recycle")) == (3, 600 if size == 3 else None)


def test_an_unread_engine_options_is_unresolved_on_a_2x_bind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the review: with 2.x pinned, SQLALCHEMY_ENGINE_OPTIONS = load_options() became a setting named "" on the bind
    files = {
        "requirements.txt": "Flask-SQLAlchemy==2.5.1\n",
        "app.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            from engine_options import load_options


            class Config:
                SQLALCHEMY_DATABASE_URI = "postgresql://app@db/app"
                SQLALCHEMY_BINDS = {"reader": "postgresql://app@replica/app"}
                SQLALCHEMY_ENGINE_OPTIONS = load_options()


            app = Flask(__name__)
            app.config.from_object(Config)
            db = SQLAlchemy(app)
        """,
    }
    reader = at(scan(tmp_path, files, monkeypatch), "app.py:9")
    assert "" not in reader.settings
    assert reader.unresolved == ["SQLALCHEMY_ENGINE_OPTIONS: load_options()"]


def test_a_long_url_written_out_with_format_names_its_driver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # round 58's case1 (unified_search): a `.format()` URL longer than 120 characters was cut before its end, so a
    # bare `postgresql://` could not be told from one a later call rewrites; the driver was null
    files = {
        "app.py": """
            import os
            from sqlalchemy import create_engine

            engine = create_engine(
                "postgresql://{POSTGRES_USER}:{POSTGRES_PASSWORD}@{POSTGRES_SERVER}/{POSTGRES_DB}".format(
                    POSTGRES_USER=os.getenv("POSTGRES_USER"),
                    POSTGRES_PASSWORD=os.getenv("POSTGRES_PASSWORD"),
                    POSTGRES_SERVER=os.getenv("POSTGRES_SERVER"),
                    POSTGRES_DB=os.getenv("POSTGRES_DB"),
                ),
                pool_size=5,
            )
        """,
    }
    assert [p.driver for p in scan(tmp_path, files, monkeypatch).pools] == ["psycopg2"]


def test_a_helper_binding_the_one_app_is_one_engine_with_the_extensions_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # round 58's case1 (Gold): init_extensions(app) binds the app the module makes; the helper's own view of its
    # parameter (the extension's engine_options alone) was a second engine at the same bind
    files = {
        "requirements.txt": "Flask-SQLAlchemy==3.1.1\n",
        "extensions.py": """
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy(engine_options={"pool_pre_ping": True, "pool_recycle": 300})


            def init_extensions(app):
                db.init_app(app)
        """,
        "app.py": """
            from flask import Flask

            from extensions import init_extensions

            app = Flask(__name__)
            app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://app@db/app"
            init_extensions(app)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [p.where for p in report.pools] == ["extensions.py:7"]
    assert values(report.pools[0]) == {"url": "postgresql://app@db/app", "pool_pre_ping": True, "pool_recycle": 300}


def test_config_a_module_writes_into_the_app_that_imports_it_before_its_bind_is_at_that_bind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # round 58's case3 (pairs-api): app.py makes the app, runs `import config` (whose top writes app.config through
    # `from app import app`), then `db.init_app(app)`; the engine sat at config.py's URL line
    files = {
        "requirements.txt": "Flask-SQLAlchemy==3.1.1\n",
        "app.py": """
            from flask import Flask

            app = Flask(__name__)

            import config

            from db import db

            db.init_app(app)
        """,
        "config.py": """
            import os

            from app import app

            app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("DATABASE_URL", "postgresql://app@db/app")
            app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_recycle": 300}
        """,
        "db.py": """
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [p.where for p in report.pools] == ["app.py:9"]
    assert values(report.pools[0]) == {"url": "postgresql://app@db/app", "pool_recycle": 300}


def test_two_apps_a_helper_binds_stay_two_engines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the second review: web's engine (the shared config alone) was merged into worker's (the same and pool_size 2)
    # as if it were the helper's own view of its parameter
    files = {
        "requirements.txt": "Flask-SQLAlchemy==3.1.1\n",
        "extensions.py": """
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy(engine_options={"pool_pre_ping": True})


            def init_extensions(app):
                db.init_app(app)
        """,
        "settings.py": 'class Config:\n    SQLALCHEMY_DATABASE_URI = "postgresql://app@db/app"\n',
        "web.py": """
            from flask import Flask

            from extensions import init_extensions
            from settings import Config

            app = Flask(__name__)
            app.config.from_object(Config)
            init_extensions(app)
        """,
        "worker.py": """
            from flask import Flask

            from extensions import init_extensions
            from settings import Config

            app = Flask(__name__)
            app.config.from_object(Config)
            app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": 2}
            init_extensions(app)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert sorted(values(p).get("pool_size", 5) for p in report.pools) == [2, 5]


def test_a_component_two_settings_modules_include_takes_the_os_they_both_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the second review: with two including modules the component's os.environ default became unknown
    include = 'import os\n\nfrom split_settings.tools import include\n\nAGE = {age}\ninclude("components/*.py")\n'
    files = {
        "manage.py": "import django\n",
        "conf/__init__.py": "",
        "conf/dev.py": include.replace("{age}", "0"),
        "conf/prod.py": include.replace("{age}", "600"),
        "conf/components/database.py": """
            DATABASES = {
                "default": {
                    "ENGINE": "django.db.backends.postgresql",
                    "CONN_MAX_AGE": int(os.environ.get("CONN_MAX_AGE", "60")),
                    "TIMEOUT": AGE,
                }
            }
        """,
    }
    pool = scan(tmp_path, files, monkeypatch).pools[0]
    assert (pool.settings["CONN_MAX_AGE"].value, pool.settings["CONN_MAX_AGE"].env) == (60, "CONN_MAX_AGE")
    assert not pool.settings["TIMEOUT"].known  # (0 or 600: each includer its own)


@pytest.mark.parametrize(
    ("launcher", "text", "read"),
    [
        ("Dockerfile", 'CMD ["python", "server.py"]\n', True),
        ("Procfile", "web: python -u server.py\n", True),
        ("Dockerfile", 'CMD ["python", "scripts/server.py"]\n', False),
        ("pyproject.toml", '[tool.ruff]\nextend-exclude = ["server.py"]\n', False),
    ],
)
def test_a_module_beside_its_package_is_read_only_where_a_launcher_runs_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, launcher: str, text: str, read: bool
) -> None:
    # the second review: a Dockerfile running scripts/server.py, or a ruff exclude naming server.py, brought back
    # the leftover server.py beside the server/ package
    engine = (
        'from sqlalchemy import create_engine\n\nengine = create_engine("postgresql://app@db/app", pool_size={n})\n'
    )
    files = {
        launcher: text,
        "server.py": engine.replace("{n}", "50"),
        "server/__init__.py": engine.replace("{n}", "10"),
        "scripts/server.py": "print('a script')\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    assert ("server.py:3" in [p.where for p in report.pools]) == read


def test_a_typed_parameter_binds_no_extension_where_the_project_makes_two(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the second review: an extension a factory makes (and hands in) was not counted, so the module's `db`, with
    # another pool_size, was taken for the handed one
    files = {
        "ext.py": """
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy(engine_options={"pool_size": 3})


            def make_db():
                return SQLAlchemy(engine_options={"pool_size": 20})
        """,
        "server.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy


            class Http(Flask):
                def __init__(self, *args, db: SQLAlchemy, **kwargs):
                    super().__init__(*args, **kwargs)
                    self.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://app@db/app"
                    db.init_app(self)
        """,
        "app.py": "from ext import make_db\nfrom server import Http\n\napp = Http(__name__, db=make_db())\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    assert all(values(p).get("pool_size") != 3 for p in report.pools if "url" in p.settings)


def test_a_class_whose_base_a_test_picks_reads_each_base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # round 59's case1 (bot_moderator): `class ConfigVars(get_settings())`, DevConfig where SET_DEV_SETTINGS is set,
    # else ProdConfig; ConfigVars.DATABASE_URL was unknown, with no variable named
    files = {
        "config.py": """
            import os


            class ProdConfig:
                DATABASE_URL = os.getenv("DATABASE_URL", "postgresql+asyncpg://app@db/app")
                POOL_SIZE = 20


            class DevConfig:
                DATABASE_URL = "postgresql+asyncpg://app@localhost/app"


            def get_settings():
                if os.getenv("SET_DEV_SETTINGS"):
                    return DevConfig
                return ProdConfig


            class ConfigVars(get_settings()):
                TOKEN = os.getenv("BOT_TOKEN")
        """,
        "db.py": """
            from sqlalchemy.ext.asyncio import create_async_engine

            from config import ConfigVars

            engine = create_async_engine(ConfigVars.DATABASE_URL, pool_size=ConfigVars.POOL_SIZE)
        """,
    }
    pool = at(scan(tmp_path, files, monkeypatch), "db.py:5")
    url = pool.settings["url"]
    assert (url.value, url.env) == ("postgresql+asyncpg://app@db/app", "DATABASE_URL")
    assert sorted(b.value for b in url.branches) == [
        "postgresql+asyncpg://app@db/app",
        "postgresql+asyncpg://app@localhost/app",
    ]
    assert pool.driver == "asyncpg"
    size = pool.settings["pool_size"]
    assert size.value == 20 and [b.known for b in size.branches].count(False) == 1  # (DevConfig has none)


def test_hasattr_of_a_name_a_class_defines_holds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # round 59's case2 (etl): `prefix = cls.Config.env_prefix if hasattr(cls.Config, "env_prefix") else ""`
    # left the prefix unknown, so `os.environ.get(prefix + "DATABASE_URL")` named no variable
    files = {
        "settings.py": """
            import os


            class Settings:
                class Config:
                    env_prefix = "ETL_"

                @classmethod
                def from_env(cls):
                    prefix = cls.Config.env_prefix if hasattr(cls.Config, "env_prefix") else ""
                    return os.environ.get(f"{prefix}DATABASE_URL", "postgresql://etl@db/etl")


            url = Settings.from_env()
        """,
        "db.py": "from sqlalchemy import create_engine\n\nfrom settings import url\n\nengine = create_engine(url)\n",
    }
    url = at(scan(tmp_path, files, monkeypatch), "db.py:5").settings["url"]
    assert (url.value, url.env) == ("postgresql://etl@db/etl", "ETL_DATABASE_URL")


def test_a_variable_scripts_set_to_different_values_is_none_of_theirs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # round 59's case4 (nuzum-edut): two scripts set DATABASE_URL, each to its own SQLite file, before importing
    # the app; the app's URL was the first one found; the third review: wsgi.py and asgi.py setting the same value
    # is that value, and a main.py whose main() starts the server is the app's own entry
    config = """
        import os

        DATABASE_URL = os.environ.get("DATABASE_URL") or "postgresql://app@db/app"
    """
    app = "from sqlalchemy import create_engine\n\nfrom config import DATABASE_URL\n\nengine = create_engine(DATABASE_URL)\n"
    script = """
        import os

        os.environ.setdefault("DATABASE_URL", "sqlite:///{name}.db")

        from app import engine


        def main():
            print(engine)


        if __name__ == "__main__":
            main()
    """
    files = {
        "config.py": config,
        "app.py": app,
        "scripts/create_test_data.py": script.replace("{name}", "test"),
        "tools/check_routes.py": script.replace("{name}", "other").split("\n\n\ndef")[0],
    }
    url = at(scan(tmp_path / "two", files, monkeypatch), "app.py:5").settings["url"]
    assert (url.value, url.env) == ("postgresql://app@db/app", "DATABASE_URL")
    same = {
        "config.py": config,
        "app.py": app,
        "wsgi.py": 'import os\n\nos.environ.setdefault("DATABASE_URL", "postgresql://app@prod/app")\n\nfrom app import engine\n',
        "asgi.py": 'import os\n\nos.environ.setdefault("DATABASE_URL", "postgresql://app@prod/app")\n\nfrom app import engine\n',
        "main.py": script.replace("{name}", "x").replace("sqlite:///x.db", "postgresql://app@prod/app"),
    }
    url = at(scan(tmp_path / "same", same, monkeypatch), "app.py:5").settings["url"]
    assert (url.value, url.env) == ("postgresql://app@prod/app", "DATABASE_URL")


def test_an_alias_sqlite_by_default_and_postgresql_under_a_variable_sits_at_the_postgresql_side(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # round 59's case6 (saasprislab): `if os.environ.get("DB_HOST"): DATABASES = {postgresql} else: {sqlite3}`;
    # the pool sat at the SQLite side's line, which makes no PostgreSQL pool
    files = {
        "manage.py": "import django\n",
        "settings.py": """
            import os

            if os.environ.get("DB_HOST"):
                DATABASES = {
                    "default": {
                        "ENGINE": "django.db.backends.postgresql",
                        "HOST": os.environ["DB_HOST"],
                        "CONN_MAX_AGE": 60,
                    }
                }
            else:
                DATABASES = {
                    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"},
                }
        """,
    }
    pool = scan(tmp_path, files, monkeypatch).pools[0]
    assert pool.where == "settings.py:5"
    engines = sorted(b.value for b in pool.settings["ENGINE"].branches)
    assert engines == ["django.db.backends.postgresql", "django.db.backends.sqlite3"]


def test_a_template_settings_module_a_split_settings_include_runs_is_the_apps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # round 59's cases 1 and 2 (DefectDojo): settings.py runs include("settings.dist.py"), so that template by its
    # name is the live settings (it was set aside as an example); settings/unittests.py is the unit tests'
    dist = """
        import os

        DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "HOST": os.getenv("DB_HOST", "db")}}
    """
    files = {
        "manage.py": "import django\n",
        "dojo/__init__.py": "",
        "dojo/settings/__init__.py": "",
        "dojo/settings/settings.py": 'from split_settings.tools import include, optional\n\ninclude("settings.dist.py", optional("local_settings.py"))\n',
        "dojo/settings/settings.dist.py": dist,
        "dojo/settings/unittests.py": """
            from .settings import *

            DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "unittest.sqlite"}}
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert {p.file: p.aside for p in report.pools} == {
        "dojo/settings/settings.dist.py": None,
        "dojo/settings/unittests.py": "tests",
    }


def test_split_settings_with_an_example_file_scans_and_an_examples_include_stays_an_example(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the third review: the loop over examples read project.modules while `included` parsed files into it (a
    # RuntimeError); and an example's own settings package including its components made them the app's
    component = 'DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "HOST": "{host}"}}\n'
    files = {
        "manage.py": "import django\n",
        "proj/__init__.py": "",
        "proj/settings/__init__.py": 'from split_settings.tools import include, optional\n\ninclude("components/*.py", optional("local.py"))\n',
        "proj/settings/components/database.py": component.replace("{host}", "db"),
        "proj/settings/local.example.py": component.replace("{host}", "localhost"),
        "examples/demo/settings/__init__.py": 'from split_settings.tools import include\n\ninclude("components/*.py")\n',
        "examples/demo/settings/components/database.py": component.replace("{host}", "demo"),
    }
    report = scan(tmp_path, files, monkeypatch)
    assert {p.file: p.aside for p in report.pools} == {
        "proj/settings/components/database.py": None,
        "proj/settings/local.example.py": "examples",
        "examples/demo/settings/components/database.py": "examples",
    }


@pytest.mark.parametrize(
    "body",
    [
        '    if os.getenv("USE_PG"):\n        DATABASE_URL = "postgresql://app@db/app"\n',
        '    DATABASE_URL = "postgresql://app@db/app"\n    del DATABASE_URL\n',
    ],
)
def test_hasattr_of_a_name_bound_only_under_a_test_or_deleted_stays_undecided(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str
) -> None:
    # the third review: a name the class body binds under an `if`, or binds and deletes, made hasattr True
    files = {
        "config.py": "import os\n\n\nclass Settings:\n" + body,
        "db.py": """
            from sqlalchemy import create_engine

            from config import Settings

            url = Settings.DATABASE_URL if hasattr(Settings, "DATABASE_URL") else "sqlite:///local.db"
            engine = create_engine(url, pool_size=10)
        """,
    }
    url = at(scan(tmp_path, files, monkeypatch), "db.py:6").settings["url"]
    assert not url.known and "sqlite:///local.db" in [b.value for b in url.branches]


def test_an_alias_mysql_by_default_stays_at_its_own_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the third review: the PostgreSQL-side placement took MySQL defaults too (the pool sat at the PostgreSQL dict
    # while showing the MySQL one's values)
    files = {
        "manage.py": "import django\n",
        "settings.py": """
            import os

            if os.environ.get("USE_PG"):
                DATABASES = {
                    "default": {"ENGINE": "django.db.backends.postgresql", "HOST": "db"},
                }
            else:
                DATABASES = {
                    "default": {"ENGINE": "django.db.backends.mysql", "HOST": "db", "CONN_MAX_AGE": 300},
                }
        """,
    }
    assert [p.where for p in scan(tmp_path, files, monkeypatch).pools] == ["settings.py:9"]
