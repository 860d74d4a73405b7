"""`scan_path` following values the way real projects spread them (issue 29), continued from
test_scan_follow_round32.py (the open cases of held-out round 33). Each project is a few small files written here
(never a copy of a real one); line numbers in the assertions are the fixtures' own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_scan import at, scan


def test_a_pool_call_a_library_star_import_gives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # fedora-tagger: `from sqlalchemy import *` then create_engine(db_url, echo=debug) in a wrapper
    files = {
        "tagger/__init__.py": "",
        "tagger/model.py": """
            from sqlalchemy import *
            from sqlalchemy.orm import sessionmaker


            def create_tables(db_url, debug=False):
                engine = create_engine(db_url, echo=debug)
                return sessionmaker(bind=engine)
        """,
        "createdb.py": "from tagger import model\n\nsession = model.create_tables('sqlite:////var/tmp/t.db', debug=True)\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    settings = at(report, "createdb.py:3").settings
    assert settings["url"].value == "sqlite:////var/tmp/t.db" and settings["echo"].value is True


REVIEW_DB = """
import os

from sqlalchemy import create_engine

URL = "postgresql://db/app"


def run(url, engine=None):
    engine = engine or create_engine(url, pool_size=7)
    return engine


def migrate(engine=None):
    if os.environ.get("MIGRATE_OWN_ENGINE"):
        engine = None
    engine = engine or create_engine(URL, pool_size=8)
    return engine


def prepare(engine=None):
    engine = engine or create_engine(URL, pool_size=9)
    return engine
"""


@pytest.mark.parametrize(
    ("main", "fallbacks"),
    [
        # the caller's own parameter, None by default, handed on
        (
            "def main(e=None):\n    if os.environ.get('FRESH'):\n        e = create_engine(URL)\n    run(URL, e)\n",
            [7, 8, 9],
        ),
        # a tuple's part
        ("def main():\n    e, fresh = None, os.environ.get('FRESH')\n    run(URL, e)\n", [7, 8, 9]),
        # handed on as a callback: called with nothing
        ("def main():\n    prepare(create_engine(URL))\n    threading.Thread(target=prepare).start()\n", [7, 8, 9]),
        # the function sets the parameter back to None itself
        ("def main():\n    migrate(create_engine(URL))\n", [7, 8, 9]),
        # every use is a call that hands the engine its caller made: no fallback pool
        ("def main():\n    e = create_engine(URL)\n    run(URL, e)\n", [8, 9]),  # (the others: no caller, a pool)
    ],
)
def test_review_a_fallback_pool_is_none_only_where_no_use_can_let_it_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, main: str, fallbacks: list[int]
) -> None:
    files = {
        "app/__init__.py": "",
        "app/db.py": REVIEW_DB,
        "app/main.py": "import os\nimport threading\n\nfrom sqlalchemy import create_engine\n\n"
        "from app.db import URL, migrate, prepare, run\n\n\n" + main,
    }
    report = scan(tmp_path, files, monkeypatch)
    sizes = [p.settings["pool_size"].value for p in report.pools if "pool_size" in p.settings]
    assert sorted(s for s in sizes if s in (7, 8, 9)) == fallbacks


def test_review_a_method_called_on_an_instance_the_scan_cannot_link_keeps_its_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {
        "app/__init__.py": "",
        "app/svc.py": """
            from sqlalchemy import create_engine


            class Service:
                def connect(self, engine=None):
                    self.engine = engine or create_engine("postgresql://db/app", pool_size=7)

                def replica(self):
                    self.connect(create_engine("postgresql://replica/app", pool_size=2))
        """,
        "app/main.py": "from app import svc\n\n\ndef main(service):\n    service.connect()\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    assert sorted(p.settings["pool_size"].value for p in report.pools) == [2, 7]


def test_review_a_loop_item_with_a_backslash_is_no_crash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Python 3.11's ast.unparse cannot write a backslash into an f-string's expression part
    files = {
        "app.py": """
            import os

            from sqlalchemy import create_engine

            url = "sqlite://"
            for folder in ("C:\\\\ProgramData\\\\app", "/var/lib/app"):
                if os.path.exists(f"{folder}/app.db"):
                    url = f"sqlite:///{folder}/app.db"
                    break
            engine = create_engine(url, pool_size=4)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [p.settings["pool_size"].value for p in report.pools] == [4]
    assert not [w for w in report.warnings if "could not be followed" in w]


def test_review_a_loop_over_dicts_tests_each_items_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "app.py": """
            import os

            from sqlalchemy import create_engine

            url = "postgresql://fallback/db"
            for env in ({"var": "A_URL"}, {"var": "B_URL"}):
                if os.environ.get(env["var"]):
                    url = os.environ[env["var"]]
            engine = create_engine(url)
        """,
    }
    url = scan(tmp_path, files, monkeypatch).pools[0].settings["url"]
    assert [b.when for b in url.branches] == [
        "not (os.environ.get('B_URL')) and not (os.environ.get('A_URL'))",
        "os.environ.get('B_URL')",
        "not (os.environ.get('B_URL')) and os.environ.get('A_URL')",
    ]


def test_review_an_apscheduler_store_given_the_apps_engine_makes_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {
        "sched/__init__.py": "",
        "sched/stores.py": """
            from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
            from sqlalchemy import create_engine

            ENGINE = create_engine("postgresql://u@db/jobs", pool_size=3)


            class JobStore(SQLAlchemyJobStore):
                def __init__(self, tablename="jobs"):
                    super().__init__(engine=ENGINE, tablename=tablename)


            store = SQLAlchemyJobStore(None, ENGINE)
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    assert len(report.pools) == 1 and not [w for w in report.warnings if "apscheduler" in w]


def test_a_private_class_constant_read_through_self(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # n6's recorder: `_MAX_WAIT_TIMEOUT = _DEFAULT_WAIT_TIMEOUT = 28800`, read as self._DEFAULT_WAIT_TIMEOUT
    files = {
        "app/__init__.py": "",
        "app/recorder.py": """
            from sqlalchemy import create_engine


            class Recorder:
                _MIN_WAIT_TIMEOUT = 3600
                _MAX_WAIT_TIMEOUT = _DEFAULT_WAIT_TIMEOUT = 28800
                _POOL_SIZE = 7

                def __init__(self, url):
                    self.engine = self._setup(url)

                def _setup(self, url):
                    wait = min(max(self._DEFAULT_WAIT_TIMEOUT, self._MIN_WAIT_TIMEOUT), self._MAX_WAIT_TIMEOUT)
                    return create_engine(url, pool_recycle=wait // 2, pool_size=self._POOL_SIZE)


            recorder = Recorder("postgresql://db/n6")
        """,
    }
    settings = scan(tmp_path, files, monkeypatch).pools[0].settings
    assert settings["pool_recycle"].value == 14400 and settings["pool_size"].value == 7


@pytest.mark.parametrize(
    "url",
    [
        "f\"postgresql://{os.getenv('DB_USER')}@{os.getenv('DB_HOST')}/app\"",
        '"postgresql://{user}@{host}/app".format(user=os.getenv("DB_USER"), host=os.getenv("DB_HOST"))',
        '"postgresql://%(user)s@%(host)s/app" % {"user": os.getenv("DB_USER"), "host": os.getenv("DB_HOST")}',
        '"postgresql://%s@%s/app" % (os.getenv("DB_USER"), os.getenv("DB_HOST"))',
    ],
)
def test_a_variable_with_no_default_written_into_a_url_is_no_none_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    # szurubooru, emergency-alerts-api: os.getenv() with no default, formatted into the URL; Python writes "None",
    # which no deployment means: the variable's value, unknown
    files = {"app.py": f"import os\n\nfrom sqlalchemy import create_engine\n\nengine = create_engine({url})\n"}
    value = scan(tmp_path, files, monkeypatch).pools[0].settings["url"]
    assert (value.known, value.value, value.env) == (False, None, "DB_USER")


@pytest.mark.parametrize("name", [".ci.settings.py", "ci_settings.py", "settings_ci.py", "travis-settings.py"])
def test_the_ci_settings_file_is_the_tests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    # DMOJ: the CI job copies .ci.settings.py over the local settings to run the tests
    code = "DATABASES = {'default': {'ENGINE': 'django.db.backends.mysql', 'NAME': 'dmoj', 'HOST': 'localhost'}}\n"
    assert [p.aside for p in scan(tmp_path, {name: code}, monkeypatch).pools] == ["tests"]


def test_the_settings_an_email_url_gives_leave_databases_be(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # timed-backend: `vars().update(env.email_url("EMAIL_URL", default=...))`: django-environ's email_url gives
    # EMAIL_* keys (and OPTIONS), never DATABASES, which the scan had made unknown
    files = {
        "timed/__init__.py": "",
        "timed/settings.py": """
            import environ

            env = environ.Env()

            DATABASES = {
                "default": {
                    "ENGINE": env.str("DJANGO_DATABASE_ENGINE", default="django.db.backends.postgresql"),
                    "NAME": env.str("DJANGO_DATABASE_NAME", default="timed"),
                }
            }

            EMAIL_CONFIG = env.email_url("EMAIL_URL", default="smtp://localhost:25")
            vars().update(EMAIL_CONFIG)
        """,
    }
    settings = scan(tmp_path, files, monkeypatch).pools[0].settings
    assert settings["ENGINE"].value == "django.db.backends.postgresql" and settings["NAME"].value == "timed"


def test_an_ini_starts_the_factory_its_entry_point_names_not_a_scaffolds_of_that_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # c2cgeoform: tests.ini's `use = egg:c2cgeoform` starts c2cgeoform:main (a poetry plugin entry point), not the
    # cookiecutter scaffold's own `main`, whose pools are a generated project's, an example
    files = {
        "pyproject.toml": '[project]\nname = "geo"\n\n[tool.poetry.plugins."paste.app_factory"]\nmain = "geo:main"\n',
        "tests.ini": "[app:main]\nuse = egg:geo\n\nsqlalchemy.url = postgresql://www-data@localhost:54321/geo_tests\n",
        "geo/__init__.py": "def main(global_config, **settings):\n    return None\n",
        "geo/scaffolds/{{cookiecutter.project}}/setup.py": (
            "from setuptools import setup\n\nsetup(name='{{cookiecutter.project}}', "
            "entry_points={'paste.app_factory': ['main = {{cookiecutter.package}}:main']})\n"
        ),
        "geo/scaffolds/{{cookiecutter.project}}/{{cookiecutter.package}}/__init__.py": """
            from sqlalchemy import engine_from_config


            def main(global_config, **settings):
                return engine_from_config(settings, "sqlalchemy.")
        """,
    }
    [pool] = scan(tmp_path, files, monkeypatch).pools
    assert pool.aside == "examples" and not pool.settings["url"].known


@pytest.mark.parametrize(
    "cls",
    [
        # a dataclass makes a private name an argument of __init__
        "@dataclass\nclass Db:\n    url: str\n    _pool_size: int = 5\n",
        # the instance's __dict__ filled from its options
        "class Db:\n    _pool_size = 5\n\n    def __init__(self, url, **options):\n        self.url = url\n"
        "        self.__dict__.update(options)\n",
        # a method sets it on the instance
        "class Db:\n    _pool_size = 5\n\n    def __init__(self, url):\n        self.url = url\n\n"
        "    def configure(self, n):\n        self._pool_size = n\n",
    ],
)
def test_review_a_private_class_attribute_an_instance_may_set_is_not_the_classs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cls: str
) -> None:
    code = (
        "from dataclasses import dataclass\n\nfrom sqlalchemy import create_engine\n\n\n"
        + cls
        + "\n    def engine(self):\n        return create_engine(self.url, pool_size=self._pool_size)\n"
    )
    assert not scan(tmp_path, {"app.py": code}, monkeypatch).pools[0].settings["pool_size"].known


@pytest.mark.parametrize(
    "writer",
    [
        "def defaults():\n    def build():\n        daconfig = {}\n        daconfig['snapshot db'] = 1\n"
        "        return daconfig\n    return build()\n",  # a nested function's own local
        "def prune(key):\n    daconfig.pop(key, None)\n    del daconfig['sql ping']\n",  # adds no key
        "def ping():\n    daconfig['sql ping'] = True\n",  # adds another key than the one tested
        "def get(key):\n    if key not in daconfig:\n        daconfig[key] = 1\n    return daconfig[key]\n",  # a cache
    ],
)
def test_review_only_a_function_that_may_add_the_key_makes_it_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writer: str
) -> None:
    files = {
        "webapp/__init__.py": "",
        "webapp/config.py": "daconfig = {'sql ping': False}\n\n\n" + writer,
        "webapp/app.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            from webapp.config import daconfig

            app = Flask(__name__)
            app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://da@dbhost/docassemble"
            app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": daconfig.get("pool size", 5)}
            if daconfig.get("snapshot db") is not None:
                app.config["SQLALCHEMY_BINDS"] = {"snapshot": {"url": "postgresql://da@dbhost/snapshots"}}
            db = SQLAlchemy(app)
        """,
    }
    [pool] = scan(tmp_path, files, monkeypatch).pools
    assert pool.settings["pool_size"].value == 5


def test_review_a_later_star_import_that_lacks_the_name_leaves_the_earlier_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # sqlalchemy.orm exports no create_engine: the project's own, star-imported first, is the one called
    files = {
        "myapp/__init__.py": "",
        "myapp/dbutil.py": """
            import sqlalchemy


            def create_engine(url):
                return sqlalchemy.create_engine(url, pool_size=20, pool_pre_ping=True)
        """,
        "myapp/models.py": """
            from myapp.dbutil import *
            from sqlalchemy.orm import *

            engine = create_engine("postgresql://u@h/app")
        """,
    }
    [pool] = scan(tmp_path, files, monkeypatch).pools
    assert pool.settings["pool_size"].value == 20 and pool.settings["url"].value == "postgresql://u@h/app"


def test_review_an_apscheduler_store_handed_its_callers_engine_may_make_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {
        "store.py": """
            from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore


            class JobStore(SQLAlchemyJobStore):
                def __init__(self, url, engine=None):
                    super().__init__(url=url, engine=engine)


            def make(url, engine=None):
                return SQLAlchemyJobStore(url=url, engine=engine)
        """,
    }
    warned = scan(tmp_path, files, monkeypatch).warnings
    assert sorted(w.split(": ")[0] for w in warned if "inside apscheduler" in w) == ["store.py:10", "store.py:4"]


def test_review_the_formatted_texts_keep_their_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code = """
        import os

        from sqlalchemy import create_engine

        HOST = os.getenv("DB_HOST")
        a = create_engine(f"postgresql://{os.environ.get('DB_USER', 'app')}@{pick_host()}/app")
        b = create_engine("postgresql://app@{}/app".format(HOST))
        c = create_engine("postgresql://app@%s/app" % os.getenv("DB_HOST"))
    """
    pools = scan(tmp_path, {"app.py": code}, monkeypatch).pools
    assert [(p.settings["url"].known, p.settings["url"].env) for p in pools] == [
        (False, "DB_USER"),
        (False, "DB_HOST"),
        (False, "DB_HOST"),
    ]


def test_review_nested_loops_name_each_run_of_each(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code = """
        from sqlalchemy import create_engine

        url = "postgresql://fallback/db"
        for primary in (open_a(), open_b()):
            for replica in (open_c(),):
                if reachable(primary, replica):
                    url = "postgresql://found/db"
        engine = create_engine(url)
    """
    whens = [b.when or "" for b in scan(tmp_path, {"app.py": code}, monkeypatch).pools[0].settings["url"].branches]
    tests = {t for w in whens for t in re.findall(r"\(run \d of primary, \d of replica\)", w)}
    assert tests == {"(run 1 of primary, 1 of replica)", "(run 2 of primary, 1 of replica)"}


@pytest.mark.parametrize(
    ("extra", "decorator"),
    [({}, "@atexit.register\n"), ({"pyproject.toml": '[project.scripts]\nmigrate = "app.db:prepare"\n'}, "")],
)
def test_review_a_fallback_a_callback_or_a_script_may_run_stays_a_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: dict[str, str], decorator: str
) -> None:
    files = {
        "app/__init__.py": "",
        "app/db.py": "import atexit\n\nfrom sqlalchemy import create_engine\n\n\n"
        f"{decorator}def prepare(engine=None):\n    return engine or create_engine('postgresql://db/app', pool_size=9)\n",
        "app/main.py": "from sqlalchemy import create_engine\n\nfrom app.db import prepare\n\n"
        "prepare(create_engine('postgresql://db/app'))\n",
        **extra,
    }
    sizes = [p.settings.get("pool_size") for p in scan(tmp_path, files, monkeypatch).pools]
    assert 9 in [s.value for s in sizes if s is not None]


def test_a_factory_picked_by_a_name_the_scan_cannot_read_is_not_its_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # build-relengapi: `getattr(self, f"create_{dialect}_engine")`, else (AttributeError) the generic factory; the
    # engine() caller's pool was the generic one's (pool_size 3), wrong for a sqlite or mysql URL. Each factory
    # stays a pool at its own line.
    code = """
        import sqlalchemy as sa


        class Alchemies:
            def engine(self, uri, dialect):
                try:
                    create_engine = getattr(self, "create_{}_engine".format(dialect))
                except AttributeError:
                    create_engine = self.create_generic_engine
                return create_engine(uri)

            def create_generic_engine(self, url):
                return sa.create_engine(url, pool_size=3, max_overflow=1)

            def create_sqlite_engine(self, url):
                return sa.create_engine(url)

            def session(self, name):
                return self.engine(name, name.split(":")[0])
    """
    pools = scan(tmp_path, {"app/__init__.py": "", "app/db.py": code}, monkeypatch).pools
    assert sorted(p.line for p in pools) == [13, 16]
