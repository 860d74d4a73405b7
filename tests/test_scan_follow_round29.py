"""`scan_path` following values the way real projects spread them (issue 29), continued from
test_scan_follow_round28.py (the open cases of held-out rounds 28 and 29 and the reviews' findings). Each project is
a few small files written here (never a copy of a real one); line numbers in the assertions are the fixtures'
own."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from test_scan import at, scan

from pool_doctor.scan.target import url_driver

MERGE = """
from importlib import import_module


def merge_plugin_settings(setting, original):
    for plugin in ["a.settings", "b.settings"]:
        extra = getattr(import_module(plugin), setting, None) or {{}}
        for entry in extra:
{test}
"""


@pytest.mark.parametrize(
    "test",
    [
        """
            if entry in original:
                raise AttributeError(entry)
            else:
                original[entry] = extra[entry]
        """,
        """
            if entry not in original:
                original[entry] = extra[entry]
        """,
        """
            if not entry in original and entry:
                original[entry] = extra[entry]
        """,
    ],
    ids=["else", "not-in", "not-and"],
)
def test_a_write_under_a_test_that_the_key_is_new_cannot_replace_a_key_the_dict_has(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, test: str
) -> None:
    # A plugin's settings may add aliases, never replace "default": the write sits where `entry` is not a key
    body = textwrap.indent(textwrap.dedent(test).strip("\n"), " " * 12)
    report = scan(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/helpers.py": MERGE.format(test=body),
            "proj/settings.py": """
                from proj.helpers import merge_plugin_settings

                DATABASES = {
                    "default": {
                        "ENGINE": "django.db.backends.postgresql",
                        "NAME": "app",
                        "CONN_MAX_AGE": None,
                    }
                }

                merge_plugin_settings("DATABASES", DATABASES)
            """,
        },
        monkeypatch,
    )
    pool = at(report, "proj/settings.py:4")
    assert pool.settings["ENGINE"].value == "django.db.backends.postgresql"
    assert pool.settings["CONN_MAX_AGE"].known and pool.settings["CONN_MAX_AGE"].value is None


@pytest.mark.parametrize(
    "load",
    [
        '"app.settings.{env}.{Env}Config".format(env=env, Env=env.capitalize())',
        'f"app.settings.{env}.{env.capitalize()}Config"',
        '"app.settings." + env + "." + env.capitalize() + "Config"',
    ],
    ids=["format", "f-string", "plus"],
)
def test_a_config_class_named_by_a_template_is_one_of_the_project_classes_it_matches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, load: str
) -> None:
    # The name of the class comes from a setting the scan cannot read: any class whose dotted name fits the
    # template may be loaded; the engine is the app's, at the load, with each candidate's values as branches
    report = scan(
        tmp_path,
        {
            "app/__init__.py": f"""
                import os
                from flask import Flask
                from flask_sqlalchemy import SQLAlchemy

                db = SQLAlchemy()


                def create_app():
                    app = Flask(__name__)
                    env = app.config.get("ENV") or os.environ["APP_ENV"]
                    app.config.from_object({load})
                    db.init_app(app)
                    return app
            """,
            "app/settings/__init__.py": "",
            "app/settings/base.py": """
                class BaseSettings:
                    SQLALCHEMY_DATABASE_URI = "postgresql://db/app"
                    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
            """,
            "app/settings/development.py": """
                from .base import BaseSettings


                class DevelopmentConfig(BaseSettings):
                    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "pool_recycle": 300}
            """,
            "app/settings/production.py": """
                from .base import BaseSettings


                class ProductionConfig(BaseSettings):
                    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "pool_recycle": 600}


                class Unrelated:
                    SQLALCHEMY_ENGINE_OPTIONS = {"pool_recycle": 1}
            """,
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["app/__init__.py:12"]  # the bind
    pool = report.pools[0]
    assert pool.settings["url"].value == "postgresql://db/app"
    assert pool.settings["pool_pre_ping"].value is True
    recycle = pool.settings["pool_recycle"]
    assert not recycle.known and sorted(branch.value for branch in recycle.branches) == [300, 600]


def test_a_config_class_picked_by_getattr_in_a_helper_of_a_helper_is_the_apps_with_an_unread_side_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `init_config(app)` hands the app to a helper that loads `getattr(module, section)`: the module is the
    # packaged one under a variable, else a file the deployment brings; the engine is the app's, at its bind
    report = scan(
        tmp_path,
        {
            "svc/__init__.py": """
                from flask import Flask
                from flask_sqlalchemy import SQLAlchemy

                from svc.setup import init_config

                app = Flask(__name__)
                conf = init_config(app)
                db = SQLAlchemy(app)
            """,
            "svc/setup.py": """
                import importlib.util
                import os

                SITE_FILE = "/etc/svc/settings.py"


                def section_and_module():
                    from conf import settings

                    section, module = "Production", None
                    if os.environ.get("SVC_DEV"):
                        section, module = "Development", settings
                    return section, module


                def from_file(path):
                    spec = importlib.util.spec_from_file_location("site_settings", path)
                    module = importlib.util.module_from_spec(spec)
                    spec.loader.exec_module(module)
                    return module


                def load(app, section, module):
                    app.config.from_object(getattr(module, section))


                def init_config(app):
                    section, module = section_and_module()
                    if not module:
                        module = from_file(SITE_FILE)
                    return load(app, section, module)
            """,
            "conf/__init__.py": "",
            "conf/settings.py": """
                class Base:
                    SQLALCHEMY_DATABASE_URI = "postgresql://db/svc"
                    SQLALCHEMY_ENGINE_OPTIONS = {"pool_recycle": 300}


                class Development(Base):
                    DEBUG = True


                class Production(Base):
                    pass
            """,
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["svc/__init__.py:8"]
    url = report.pools[0].settings["url"]
    assert not url.known
    assert {branch.value for branch in url.branches if branch.known} == {"postgresql://db/svc"}
    assert any(not branch.known and "getattr(module, section)" in (branch.expr or "") for branch in url.branches)
    assert any("getattr(module, section)" in text for text in report.pools[0].unresolved)


def test_getattr_of_a_module_by_a_name_a_test_picks_is_each_class_it_may_be(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = scan(
        tmp_path,
        {
            "svc/__init__.py": """
                import os
                from flask import Flask
                from flask_sqlalchemy import SQLAlchemy

                from conf import settings

                app = Flask(__name__)
                section = "Production"
                if os.environ.get("SVC_TESTING"):
                    section = "Testing"
                app.config.from_object(getattr(settings, section))
                db = SQLAlchemy(app)
            """,
            "conf/__init__.py": "",
            "conf/settings.py": """
                class Production:
                    SQLALCHEMY_DATABASE_URI = "postgresql://db/svc"


                class Testing:
                    SQLALCHEMY_DATABASE_URI = "sqlite://"
            """,
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["svc/__init__.py:12"]
    url = report.pools[0].settings["url"]
    assert url.value == "postgresql://db/svc"  # with no variable set
    assert sorted(branch.value for branch in url.branches) == ["postgresql://db/svc", "sqlite://"]


def test_a_url_builder_with_a_required_part_unknown_still_names_its_driver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # POSTGRES_DB has no default, so the URL is unknown; the drivername the code writes still picks psycopg 3
    report = scan(
        tmp_path,
        {
            "svc/__init__.py": "",
            "svc/settings.py": """
                from pydantic_settings import BaseSettings
                from sqlalchemy.engine import URL


                class Settings(BaseSettings):
                    POSTGRES_HOST: str = "localhost"
                    POSTGRES_DB: str

                    @property
                    def DATABASE_URL(self) -> URL:
                        return URL.create(
                            drivername="postgresql+psycopg", host=self.POSTGRES_HOST, database=self.POSTGRES_DB
                        )
            """,
            "svc/db.py": """
                from sqlalchemy import create_engine

                from svc.settings import Settings

                engine = create_engine(Settings().DATABASE_URL, pool_pre_ping=True)
            """,
        },
        monkeypatch,
    )
    pool = at(report, "svc/db.py:5")
    assert not pool.settings["url"].known
    assert url_driver(pool) == "psycopg"


@pytest.mark.parametrize("decorator", ["", "@classmethod"])
def test_calling_an_instance_of_a_project_class_runs_its_call_method(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, decorator: str
) -> None:
    # A small dependency injector: `Inject(get_settings)` is get_settings()
    first = "cls" if decorator else "self"
    report = scan(
        tmp_path,
        {
            "svc/__init__.py": "",
            "svc/syringe.py": f"""
                class _Inject:
                    {decorator}
                    def __call__({first}, factory):
                        return factory()


                Inject = _Inject()
            """,
            "svc/db.py": """
                from sqlalchemy import create_engine

                from svc.syringe import Inject


                class Settings:
                    url = "postgresql://db/svc"
                    pool_size = 7


                def get_settings():
                    return Settings()


                def make_engine():
                    settings = Inject(get_settings)
                    return create_engine(settings.url, pool_size=settings.pool_size)
            """,
        },
        monkeypatch,
    )
    pool = at(report, "svc/db.py:17")
    assert pool.settings["url"].value == "postgresql://db/svc"
    assert pool.settings["pool_size"].value == 7


@pytest.mark.parametrize(
    ("imported", "made", "read"),
    [
        ("from gluetool.result import Ok", "Ok(value)", "result.unwrap()"),
        ("from gluetool.result import Ok", "Ok(value)", "result.value"),
        ("from result import Ok", "Ok(value)", "result.ok_value"),
        ("from result import Ok", "Ok(value)", "result.expect('a size')"),
        ("from returns.result import Success", "Success(value)", "result.value_or(1)"),
    ],
)
def test_a_result_types_ok_gives_back_the_value_it_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, imported: str, made: str, read: str
) -> None:
    # A setting read through a source that wraps it in a Result; the variable's name stays the value's, through a
    # cast the scan cannot name
    report = scan(
        tmp_path,
        {
            "svc/__init__.py": "",
            "svc/knobs.py": f"""
                import os

                {imported}


                class Knob:
                    def __init__(self, envvar, default, cast):
                        self.envvar, self.default, self.cast = envvar, default, cast
                        self.value = self._value()

                    def _source(self):
                        if self.envvar in os.environ:
                            value = self.cast(os.environ[self.envvar])
                        else:
                            value = self.default
                        return {made}

                    def _value(self):
                        result = self._source()
                        return {read}


                POOL_SIZE = Knob("SVC_POOL_SIZE", 20, cast=int)
            """,
            "svc/db.py": """
                from sqlalchemy import create_engine

                from svc.knobs import POOL_SIZE

                engine = create_engine("postgresql://db/svc", pool_size=POOL_SIZE.value)
            """,
        },
        monkeypatch,
    )
    size = at(report, "svc/db.py:5").settings["pool_size"]
    assert (size.value, size.env) == (20, "SVC_POOL_SIZE")


def test_a_call_the_scan_cannot_name_of_a_variables_value_keeps_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = scan(
        tmp_path,
        {
            "svc/db.py": """
                import os

                from sqlalchemy import create_engine


                def make_engine(cast):
                    return create_engine("postgresql://db/svc", pool_size=cast(os.environ["SVC_POOL_SIZE"]))
            """,
        },
        monkeypatch,
    )
    size = at(report, "svc/db.py:7").settings["pool_size"]
    assert (size.known, size.env) == (False, "SVC_POOL_SIZE")


@pytest.mark.parametrize("imported", [True, False])
def test_a_settings_template_a_module_beside_it_imports_is_the_apps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, imported: bool
) -> None:
    # settings_docker.py (the image's DJANGO_SETTINGS_MODULE) star-imports the template: its DATABASES are the
    # app's; a template nothing imports is one to copy, listed apart
    report = scan(
        tmp_path,
        {
            "site/__init__.py": "",
            "site/settings_template.py": """
                DATABASES = {
                    "default": {
                        "ENGINE": "django.db.backends.postgresql",
                        "NAME": "site",
                        "CONN_MAX_AGE": 0,
                    }
                }
            """,
            "site/settings_docker.py": (
                "from .settings_template import *  # noqa\n" if imported else "DEBUG = False\n"
            ),
            "site/settings_example.py": "from .settings_template import *  # an example importing it counts not\n",
            "examples/demo/settings_template.py": 'DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3"}}\n',
            "examples/demo/manage.py": "import settings_template\n",  # (under examples/: an example whatever)
        },
        monkeypatch,
    )
    pool = at(report, "site/settings_template.py:2")
    assert pool.aside == (None if imported else "examples")
    assert at(report, "examples/demo/settings_template.py:1").aside == "examples"
    assert pool.settings["CONN_MAX_AGE"].value == 0


@pytest.mark.parametrize("local", ["DEBUG = True\n", 'DATABASES = {"default": {"ENGINE": "x", "CONN_MAX_AGE": 60}}\n'])
def test_a_local_settings_module_that_star_imports_the_settings_importing_it_hands_their_names_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local: str
) -> None:
    # settings.py ends with `from .settings_local import *`; settings_local.py starts with `from .settings import *`:
    # Python gives it the settings as far as they had run, and what it does not change comes back as it was
    report = scan(
        tmp_path,
        {
            "site/__init__.py": "",
            "site/settings.py": """
                DATABASES = {
                    "default": {
                        "ENGINE": "django.db.backends.postgresql",
                        "NAME": "site",
                        "OPTIONS": {"connect_timeout": 10},
                    }
                }
                INSTALLED_APPS = ["site"]

                try:
                    from .settings_local import *
                except ImportError:
                    pass
            """,
            "site/settings_local.py": "from .settings import *\n\n" + local,
        },
        monkeypatch,
    )
    if "CONN_MAX_AGE" in local:  # its own DATABASES replaces the importer's
        assert [p.settings["CONN_MAX_AGE"].value for p in report.pools] == [60]
        return
    pool = at(report, "site/settings.py:2")
    assert pool.settings["ENGINE"].value == "django.db.backends.postgresql"
    assert pool.settings["OPTIONS.connect_timeout"].value == 10


def test_percent_formatting_with_a_mapping_fills_each_named_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = scan(
        tmp_path,
        {
            "svc/db.py": """
                import os

                from sqlalchemy import create_engine

                POSTGRES = {"user": os.environ.get("DB_USER", "svc"), "host": "localhost", "db": "svc"}
                READONLY = {"user": os.environ["RO_USER"], "host": "replica", "db": "svc"}
                engine = create_engine("postgresql://%(user)s@%(host)s/%(db)s" % POSTGRES)
                replica = create_engine("postgresql://%(user)s@%(host)s/%(db)s" % READONLY)
            """,
        },
        monkeypatch,
    )
    url = at(report, "svc/db.py:7").settings["url"]
    assert (url.value, url.env) == ("postgresql://svc@localhost/svc", "DB_USER")
    replica = at(report, "svc/db.py:8").settings["url"]
    assert (replica.known, replica.env) == (False, "RO_USER")


@pytest.mark.parametrize("bound", ['pytest.importorskip("psycopg_pool")', 'importlib.import_module("psycopg_pool")'])
def test_a_module_bound_by_importorskip_or_import_module_is_that_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bound: str
) -> None:
    report = scan(
        tmp_path,
        {
            "svc/pools.py": f"""
                import importlib

                import pytest

                psycopg_pool = {bound}


                def make_pool():
                    return psycopg_pool.ConnectionPool("dbname=svc", min_size=1, max_size=4, timeout=10)
            """,
        },
        monkeypatch,
    )
    pool = at(report, "svc/pools.py:9")
    assert (pool.stack, pool.settings["max_size"].value) == ("psycopg_pool", 4)


@pytest.mark.parametrize("made_too", [False, True])
def test_a_base_class_the_app_never_makes_runs_on_its_one_subclass_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, made_too: bool
) -> None:
    # Watchdog.__init__ reads self.dsn, which Ledger sets before super().__init__(); the app makes one Ledger.
    # Where it also makes a Watchdog of its own (a dsn nobody set there), self is not the Ledger's alone
    report = scan(
        tmp_path,
        {
            "mint/__init__.py": "",
            "mint/watchdog.py": """
                from sqlalchemy import create_engine


                class Watchdog:
                    def __init__(self):
                        self.engine = create_engine(self.dsn, pool_size=3)
            """,
            "mint/ledger.py": """
                from mint.watchdog import Watchdog


                class Ledger(Watchdog):
                    def __init__(self, dsn):
                        self.dsn = dsn
                        super().__init__()
            """,
            "mint/main.py": (
                "from mint.ledger import Ledger\nfrom mint.watchdog import Watchdog\n\n"
                'ledger = Ledger("postgresql://db/mint")\n' + ("spare = Watchdog()\n" if made_too else "")
            ),
        },
        monkeypatch,
    )
    url = at(report, "mint/watchdog.py:6").settings["url"]
    assert (url.known, url.value) == ((False, None) if made_too else (True, "postgresql://db/mint"))


def test_a_helper_called_first_in_a_returned_or_changes_what_the_rest_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = scan(
        tmp_path,
        {
            "svc/db.py": """
                from sqlalchemy import create_engine


                def apply_defaults(options):
                    options.setdefault("pool_pre_ping", True)
                    options.setdefault("pool_size", 1)


                def engine_options():
                    options = {"pool_size": 5}
                    return apply_defaults(options) or options


                engine = create_engine("postgresql://db/svc", **engine_options())
            """,
        },
        monkeypatch,
    )
    pool = at(report, "svc/db.py:14")
    assert (pool.settings["pool_pre_ping"].value, pool.settings["pool_size"].value) == (True, 5)


# --- the review's findings ------------------------------------------------------------------------------------


@pytest.mark.parametrize("first", ['os.environ.setdefault("POOL_SIZE", "5")', 'os.environ["POOL_SIZE"] = "5"'])
def test_a_setdefault_of_a_variable_set_before_leaves_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, first: str
) -> None:
    report = scan(
        tmp_path,
        {
            "app.py": f"""
                import os
                from sqlalchemy import create_engine

                {first}
                os.environ.setdefault("POOL_SIZE", "50")
                engine = create_engine("postgresql://db/app", pool_size=int(os.environ["POOL_SIZE"]))
            """,
        },
        monkeypatch,
    )
    assert at(report, "app.py:6").settings["pool_size"].value == 5


@pytest.mark.parametrize(
    "local",
    [
        "from .db_prod import *\n",  # names from its other star import are its own
        'db = DATABASES["default"]\ndb["CONN_MAX_AGE"] = 600\n',  # the shared dict changed through another name
    ],
)
def test_a_local_settings_module_that_star_imports_its_importer_keeps_what_it_names_or_gets_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local: str
) -> None:
    report = scan(
        tmp_path,
        {
            "site/__init__.py": "",
            "site/settings.py": """
                DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "site", "CONN_MAX_AGE": 0}}
                INSTALLED_APPS = ["site"]

                from .settings_local import *
            """,
            "site/db_prod.py": 'DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "CONN_MAX_AGE": 600}}\n',
            "site/settings_local.py": "from .settings import *\n" + local,
        },
        monkeypatch,
    )
    age = at(report, "site/settings.py:1").settings.get("CONN_MAX_AGE")
    if "db_prod" in local:
        assert age is not None and (age.value, age.known) == (600, True)
    else:  # (Python: 600, the same dict; the scan cannot follow the alias: not the 0 it had)
        assert age is None or not age.known, age


def test_a_key_rebound_after_the_test_that_it_is_new_may_replace_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = """
        if entry not in original:
            entry = extra[entry].get("ALIAS", entry)
            original[entry] = extra[entry]
    """
    report = scan(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/helpers.py": MERGE.format(test=textwrap.indent(textwrap.dedent(body).strip("\n"), " " * 12)),
            "proj/settings.py": """
                from proj.helpers import merge_plugin_settings

                DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "CONN_MAX_AGE": None}}
                merge_plugin_settings("DATABASES", DATABASES)
            """,
        },
        monkeypatch,
    )
    assert not at(report, "proj/settings.py:3").settings["ENGINE"].known


def test_a_template_reads_the_packages_own_classes_and_skips_modules_with_no_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = scan(
        tmp_path,
        {
            "app.py": """
                import os
                from flask import Flask
                from flask_sqlalchemy import SQLAlchemy

                app = Flask(__name__)
                app.config.from_object("config.%s" % os.environ["APP_CONFIG"])
                db = SQLAlchemy(app)
            """,
            "config/__init__.py": """
                class ProdConfig:
                    SQLALCHEMY_DATABASE_URI = "postgresql://db/app"
                    SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 30}


                class DevConfig(ProdConfig):
                    SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 2}
            """,
            "config/helpers.py": "def load(name):\n    return name\n",
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["app.py:7"]
    size = report.pools[0].settings["pool_size"]
    assert sorted(branch.value for branch in size.branches) == [2, 30]


@pytest.mark.parametrize("decorator", ["@staticmethod", ""])
def test_a_call_of_an_instance_runs_its_classs_call_not_one_set_on_the_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, decorator: str
) -> None:
    first = "" if decorator else "self"
    report = scan(
        tmp_path,
        {
            "app.py": f"""
                from sqlalchemy import create_engine


                def small():
                    return 5


                def big():
                    return 50


                class Getter:
                    def __init__(self):
                        self.__call__ = big

                    {decorator}
                    def __call__({first}):
                        return small()


                get = Getter()
                engine = create_engine("postgresql://db/app", pool_size=get())
            """,
        },
        monkeypatch,
    )
    assert at(report, "app.py:22").settings["pool_size"].value == 5


def test_percent_formatting_of_a_mapping_with_int_keys_is_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `"%(1)s" % {1: "db1"}` raises KeyError: '1' (the field is a str, the key an int)
    report = scan(
        tmp_path,
        {
            "app.py": 'from sqlalchemy import create_engine\nengine = create_engine("postgresql://u@%(1)s/app" % {1: "db1"})\n'
        },
        monkeypatch,
    )
    assert not at(report, "app.py:2").settings["url"].known


def test_a_template_named_in_a_docstring_beside_it_stays_an_example(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = scan(
        tmp_path,
        {
            "site/__init__.py": "",
            "site/settings.py": '"""Copy the template:\n\n    from .settings_template import *\n"""\nDEBUG = False\n',
            "site/settings_template.py": 'DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql"}}\n',
        },
        monkeypatch,
    )
    assert at(report, "site/settings_template.py:1").aside == "examples"


def test_a_template_the_environment_fills_with_a_default_names_that_class(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `env.capitalize()` of the variable's default: the load is ProductionConfig's unless APP_ENV says otherwise
    report = scan(
        tmp_path,
        {
            "app/__init__.py": """
                import os
                from flask import Flask
                from flask_sqlalchemy import SQLAlchemy

                db = SQLAlchemy()


                def create_app():
                    app = Flask(__name__)
                    env = os.environ.get("APP_ENV", "production")
                    app.config.from_object("app.settings.{env}.{Env}Config".format(env=env, Env=env.capitalize()))
                    db.init_app(app)
                    return app
            """,
            "app/settings/__init__.py": "",
            "app/settings/production.py": """
                class ProductionConfig:
                    SQLALCHEMY_DATABASE_URI = "postgresql://db/app"
                    SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 10}
            """,
            "app/settings/development.py": """
                from .production import ProductionConfig


                class DevelopmentConfig(ProductionConfig):
                    SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 2}
            """,
        },
        monkeypatch,
    )
    size = at(report, "app/__init__.py:12").settings["pool_size"]
    assert (size.value, size.known) == (10, True)
