"""Held-out round 63 and the open cases of earlier rounds: each test failed before its fix."""

from __future__ import annotations

import pytest

from tests.test_scan import at, scan, values
from tests.test_scan_follow_round60 import SOURCES_SETTINGS


def test_a_toml_settings_source_gives_each_value_the_line_of_its_key(tmp_path, monkeypatch) -> None:
    # the last note's twin: a TOML or JSON settings source held every value at the file's first line
    files = {
        "config.toml": '# the service\n\n[database]\npool_size = 12\nurl = "postgresql+asyncpg://s@h/d"\n',
        "app/settings.py": SOURCES_SETTINGS.replace("YamlConfigSettingsSource", "TomlConfigSettingsSource")
        .replace("yaml_file=", "toml_file=")
        .replace("config.yml", "config.toml")
        .replace("ORDER", "(init_settings, env_settings, yaml_settings)"),
        "app/db.py": """
            from sqlalchemy.ext.asyncio import create_async_engine

            from app.settings import settings

            engine = create_async_engine(settings.database.url, pool_size=settings.database.pool_size)
        """,
    }
    monkeypatch.chdir(tmp_path)
    report = scan(tmp_path, files, monkeypatch)
    pool = at(report, "app/db.py:5")
    shown = {k: (pool.settings[k].value, pool.settings[k].from_) for k in ("url", "pool_size")}
    assert shown == {"url": ("postgresql+asyncpg://s@h/d", "config.toml:5"), "pool_size": (12, "config.toml:4")}


@pytest.mark.parametrize(
    ("order", "size"),
    [
        ("(init_settings, env_settings, yaml_settings, dotenv_settings)", 12),  # the YAML before the env file
        ("(init_settings, env_settings, dotenv_settings, yaml_settings)", 7),
        ("(init_settings, env_settings, yaml_settings)", 12),  # the env file is not read at all
        ("(init_settings, my_source, yaml_settings)", 12),  # an unknown source: the env file is read last
        ("(init_settings, env_settings, my_source, dotenv_settings)", 7),
    ],
)
def test_a_settings_source_tuple_places_the_env_file_too(tmp_path, monkeypatch, order: str, size: int) -> None:
    # the second review of session 29: the place of dotenv_settings in the returned tuple was not read, so the
    # env file's variable beat a file source before it, or was read where the tuple leaves it out
    files = {
        "config.yml": "database:\n  url: postgresql+asyncpg://sync@localhost:5432/sync\n  pool_size: 12\n",
        ".env": "SYNC__DATABASE__POOL_SIZE=7\n",
        "app/settings.py": SOURCES_SETTINGS.replace("ORDER", order).replace(
            "            return", "            my_source = env_settings\n            return"
        ),
        "app/db.py": """
            from sqlalchemy.ext.asyncio import create_async_engine

            from app.settings import settings

            engine = create_async_engine(settings.database.url, pool_size=settings.database.pool_size)
        """,
    }
    monkeypatch.chdir(tmp_path)
    report = scan(tmp_path, files, monkeypatch)
    assert values(at(report, "app/db.py:5"))["pool_size"] == size


NESTED_DEFAULT = """
    from pydantic import BaseModel
    from pydantic_settings import BaseSettings, SettingsConfigDict, YamlConfigSettingsSource
    from sqlalchemy import create_engine

    class Db(BaseModel):
        url: str = "postgresql://h/d"
        pool_size: int = 5

    class Settings(BaseSettings):
        model_config = SettingsConfigDict(CONFIG)
        db: Db = Db(pool_size=3)

        @classmethod
        def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings):
            return (init_settings, env_settings, YamlConfigSettingsSource(settings_cls, yaml_file="config.yml"))

    s = Settings()
    engine = create_engine(s.db.url, pool_size=s.db.pool_size)
"""


@pytest.mark.parametrize("config", ['env_nested_delimiter="__"', ""])
@pytest.mark.parametrize(
    ("yaml", "url", "size"),
    [
        (None, ("postgresql://h/d", "app/s.py:6"), (3, "app/s.py:11")),  # the field's default instance
        ("db:\n  pool_size: 12\n", ("postgresql://h/d", "app/s.py:6"), (12, "config.yml:2")),
        ("db:\n  url: postgresql://y/d\n", ("postgresql://y/d", "config.yml:2"), (5, "app/s.py:7")),  # made anew
    ],
)
def test_a_nested_settings_model_takes_its_default_instance_and_file_sources(
    tmp_path, monkeypatch, config: str, yaml: str | None, url: tuple[str, str], size: tuple[int, str]
) -> None:
    # the second review of session 29: a nested model with no env_nested_delimiter took its class defaults, not
    # the YAML's; and a field's default instance (`Db(pool_size=3)`) was left for the class's defaults, a wrong
    # value (both checked by a real run of pydantic-settings 2.14)
    files = {"app/s.py": NESTED_DEFAULT.replace("CONFIG", config), **({"config.yml": yaml} if yaml else {})}
    monkeypatch.chdir(tmp_path)
    pool = at(scan(tmp_path, files, monkeypatch), "app/s.py:18")
    shown = {k: (pool.settings[k].value, pool.settings[k].from_) for k in ("url", "pool_size")}
    assert shown == {"url": url, "pool_size": size}


def test_a_helper_init_calls_and_another_method_calls_again_keeps_its_value(tmp_path, monkeypatch) -> None:
    # round 63's case2 (flask_covid19): `db_uri`, set in `__init_db()` (which `__init__` calls, and `get_db()`
    # again), was "set again after __init__"; and the helper's own write to `self.app.config[...]` made its read
    # of `self.app.config["KIND"]` before it unknown: 10 URLs and drivers unknown
    files = {
        "project/config.py": 'KIND = "postgresql"\nHOST = "db"\n',
        "project/database.py": """
            from flask import Flask

            from project import config

            class Application:
                def __init__(self):
                    self.app = Flask("x")
                    self.app.config.from_object(config)
                    self.__init_db()

                def __init_db(self):
                    self.kind = self.app.config["KIND"]
                    self.db_uri = self.__create_db_uri(self.kind)
                    self.app.config["SQLALCHEMY_DATABASE_URI"] = self.db_uri
                    return self

                def __create_db_uri(self, kind):
                    if kind == "mysql":
                        return "mysql://{host}/d".format(host=self.app.config["HOST"])
                    if kind == "postgresql":
                        return "postgresql+psycopg2://{host}/d".format(host=self.app.config["HOST"])
                    return None

                def get_db(self):
                    self.__init_db()

            application = Application()
        """,
        "project/service.py": """
            import sqlalchemy

            from project.database import application

            def load():
                engine = sqlalchemy.create_engine(application.db_uri)
        """,
    }
    pool = at(scan(tmp_path, files, monkeypatch), "project/service.py:6")
    assert (pool.driver, values(pool)["url"]) == ("psycopg2", "postgresql+psycopg2://db/d")


def test_a_helper_with_arguments_another_method_calls_again_is_set_again(tmp_path, monkeypatch) -> None:
    # the same rule's limit: a helper another method calls with its own arguments may set another value
    files = {
        "app.py": """
            from sqlalchemy import create_engine

            class Application:
                def __init__(self):
                    self.connect("postgresql://h/d")

                def connect(self, url):
                    self.url = url

                def reconnect(self):
                    self.connect("postgresql://other/d")

            application = Application()
            engine = create_engine(application.url)
        """,
    }
    assert values(at(scan(tmp_path, files, monkeypatch), "app.py:14"))["url"] is None


COVID_APP = """
    from flask import Flask
    from flask_cors import CORS
    from flask_sqlalchemy import SQLAlchemy

    from project import config

    class Application:
        def __init__(self):
            self.app = Flask("x")
            self.cors = CORS()
            self.app.config.from_object(config)
            self.__init_db()
            BIND

        def __init_db(self):
            self.db = SQLAlchemy()
            self.kind = self.app.config["KIND"]
            self.db_uri = self.__create_db_uri(self.kind)
            self.app.config["SQLALCHEMY_DATABASE_URI"] = self.db_uri

        def __create_db_uri(self, kind):
            if kind == "postgresql":
                return "postgresql+psycopg2://{host}/d".format(host=self.app.config["HOST"])
            return None

    application = Application()
"""


@pytest.mark.parametrize(
    "bind",
    [
        "self.db.init_app(self.app)",
        "oo_list = [self.cors, self.db]\n            for oo in oo_list:\n                oo.init_app(self.app)",
    ],
)
def test_an_extension_an_instance_holds_bound_in_its_init(tmp_path, monkeypatch, bind: str) -> None:
    # round 63's case1 (flask_covid19): `self.db = SQLAlchemy()` in a helper `__init__` calls, bound by
    # `oo.init_app(self.app)` in a loop over a list holding it; the URL the helper writes to `self.app.config`
    files = {
        "project/config.py": 'KIND = "postgresql"\nHOST = "db"\n',
        "project/database.py": COVID_APP.replace("BIND", bind),
    }
    pool = at(
        scan(tmp_path, files, monkeypatch), "project/database.py:13" if "oo" not in bind else "project/database.py:15"
    )
    assert (pool.stack, pool.driver, values(pool)["url"]) == (
        "flask_sqlalchemy",
        "psycopg2",
        "postgresql+psycopg2://db/d",
    )


MIGRATE = """
    import os

    import sqlalchemy as sa

    def run(database_url):
        engine = sa.create_engine(database_url, pool_pre_ping=True)
        try:
            with engine.connect() as conn:
                tables = list_tables(conn)
        finally:
            engine.dispose()
        check(database_url)
        return len(tables)

    def check(database_url):
        engine = sa.create_engine(database_url)
        with engine.connect() as conn:
            row = conn.execute(sa.text("select 1")).first()
        engine.dispose()
        name, active = row
        return active

    def list_tables(conn):
        return []

    def main():
        return run(os.environ.get("DATABASE_URL", "postgresql://db/app"))

    if __name__ == "__main__":
        raise SystemExit(main())
"""


def test_a_function_that_makes_uses_and_drops_its_pool_has_it_at_its_own_line(tmp_path, monkeypatch) -> None:
    # round 63's case4 (FlaskApp): `run(url)` and the `check(url)` it calls each make, use and dispose an engine;
    # both were reported at main's one `run(...)` line, two pools at one line
    report = scan(tmp_path, {"migrate.py": MIGRATE}, monkeypatch)
    first, second = at(report, "migrate.py:6"), at(report, "migrate.py:16")
    assert (first.via, values(first)["pool_pre_ping"]) == (["migrate.py:27"], True)
    assert second.via == ["migrate.py:27", "migrate.py:12"]
    url = second.settings["url"]
    assert (url.value, url.env) == ("postgresql://db/app", "DATABASE_URL")  # its caller's argument


@pytest.mark.parametrize(
    "keeps",
    [
        "return engine",
        "return sa.orm.sessionmaker(bind=engine)",
        "global ENGINE\n        ENGINE = engine",
        "app.engine = engine",
        "conn = engine.connect()\n        return conn",
        "return lambda: engine",
        # the review of the change: a session factory configured with it, a class holding it, a test giving it,
        # a function of the module keeping it
        "Session.configure(bind=engine)",
        "return Repo(engine)",
        "return engine if url else None",
        "register(engine)",
        "return sa.MetaData(bind=engine)",
        'setattr(app, "engine", engine)',
    ],
)
def test_a_function_whose_pool_leaves_it_stays_a_factory(tmp_path, monkeypatch, keeps: str) -> None:
    app = f"""
    import sqlalchemy as sa
    from sqlalchemy.orm import sessionmaker

    Session = sessionmaker()
    ENGINES = []

    class App:
        engine = None

    class Repo:
        def __init__(self, engine):
            self.engine = engine

    def register(engine):
        ENGINES.append(engine)

    app = App()

    def make(url):
        engine = sa.create_engine(url)
        {keeps}

    def main():
        return make("postgresql://db/app")
    """
    report = scan(tmp_path, {"app.py": app}, monkeypatch)
    assert [p.line for p in report.pools] == [24 if "global" not in keeps and "conn" not in keeps else 25]


def test_a_django_alias_a_variable_names_is_a_pool_of_its_own(tmp_path, monkeypatch) -> None:
    # round 63's case3 (django-bims): `DATABASES[os.getenv("STORE")] = dj_database_url.parse(...)`, read back,
    # changed and written again, was folded into 'default' under a condition that never holds
    files = {
        "manage.py": 'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")\n',
        "proj/__init__.py": "",
        "proj/settings.py": """
            import os

            import dj_database_url

            DATABASES = {"default": dj_database_url.parse("postgres://u@h/d", conn_max_age=0)}

            if os.getenv("STORE"):
                GEO = os.getenv("GEO", "postgis://geo@localhost:5432/geo")
                DATABASES[os.getenv("STORE")] = dj_database_url.parse(GEO, conn_max_age=60)
                _geo_db = DATABASES[os.getenv("STORE")]
                _geo_db["OPTIONS"] = {}
                _geo_db["OPTIONS"].update({"connect_timeout": 5})
                DATABASES[os.getenv("STORE")] = _geo_db
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    alias = at(report, "proj/settings.py:9")
    assert alias.call == "DATABASES['$STORE']"
    assert alias.condition == 'os.getenv("STORE") and not (os.getenv("STORE") == \'default\')'
    shown = values(alias)
    assert (shown["ENGINE"], shown["CONN_MAX_AGE"], shown["OPTIONS.connect_timeout"]) == (
        "django.contrib.gis.db.backends.postgis",
        60,
        5,
    )
    assert alias.settings["ENGINE"].env == "GEO"
    default = at(report, "proj/settings.py:5")
    assert default.condition is None and values(default)["CONN_MAX_AGE"] == 0  # (60 where STORE is "default")


SEED_APP = """
    import os

    from flask import Flask
    from flask_sqlalchemy import SQLAlchemy

    db = SQLAlchemy()

    def create_app():
        app = Flask(__name__)
        app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("DATABASE_URL", "postgresql://db/app")
        db.init_app(app)
        return app
"""


@pytest.mark.parametrize(
    ("seed_tail", "url"),
    [
        ("with app.app_context():\n    db.create_all()\n", "postgresql://db/app"),  # a script: not the served app
        ("app.run()\n", "sqlite:///seed.db"),  # it serves the app it configures
    ],
)
def test_a_seed_script_that_makes_the_app_does_not_serve_it(tmp_path, monkeypatch, seed_tail: str, url: str) -> None:
    # the last note's open case: a Flask seed script setting DATABASE_URL, then `app = create_app()` and
    # `with app.app_context():`, counted as serving the app, so its SQLite URL was the app's
    files = {
        "app/__init__.py": SEED_APP,
        "seed.py": 'import os\n\nos.environ["DATABASE_URL"] = "sqlite:///seed.db"\n\nfrom app import create_app, db\n\n'
        "app = create_app()\n\n" + seed_tail,
        "wsgi.py": "from app import create_app\n\napp = create_app()\n",
    }
    assert values(at(scan(tmp_path, files, monkeypatch), "app/__init__.py:11"))["url"] == url


@pytest.mark.parametrize(
    ("signature", "returned", "size"),
    [
        # pydantic-settings passes the sources by keyword: their order in the signature is no matter
        (
            "cls, settings_cls, init_settings, dotenv_settings, env_settings, file_secret_settings",
            "(init_settings, env_settings, yaml_settings, dotenv_settings)",
            12,
        ),
        # its own sources first, then the YAML's: the env file's variable wins
        (
            "cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings",
            "(*super().settings_customise_sources(settings_cls, init_settings, env_settings, dotenv_settings,"
            " file_secret_settings), yaml_settings)",
            7,
        ),
    ],
)
def test_the_sources_tuple_is_read_by_the_names_pydantic_settings_passes(
    tmp_path, monkeypatch, signature: str, returned: str, size: int
) -> None:
    # the review of this change (its case9 and case18), each checked by a real run of pydantic-settings 2.14
    settings = SOURCES_SETTINGS.replace("ORDER", returned).replace(
        "cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings", signature
    )
    files = {
        "config.yml": "database:\n  url: postgresql+asyncpg://sync@localhost:5432/sync\n  pool_size: 12\n",
        ".env": "SYNC__DATABASE__POOL_SIZE=7\n",
        "app/settings.py": settings,
        "app/db.py": """
            from sqlalchemy.ext.asyncio import create_async_engine

            from app.settings import settings

            engine = create_async_engine(settings.database.url, pool_size=settings.database.pool_size)
        """,
    }
    monkeypatch.chdir(tmp_path)
    assert values(at(scan(tmp_path, files, monkeypatch), "app/db.py:5"))["pool_size"] == size


def test_a_variable_that_gives_part_of_a_nested_model_makes_it_anew(tmp_path, monkeypatch) -> None:
    # the review of this change (its case4): `DB__URL` in the env file makes `db` anew from what the sources give,
    # so pool_size is the class's 5, not the field's default instance's 3 (a real run of pydantic-settings 2.14)
    files = {
        ".env": "DB__URL=postgresql://envhost/d\n",
        "app/s.py": """
            from pydantic import BaseModel
            from pydantic_settings import BaseSettings, SettingsConfigDict
            from sqlalchemy import create_engine

            class Db(BaseModel):
                url: str = "postgresql://h/d"
                pool_size: int = 5

            class Settings(BaseSettings):
                model_config = SettingsConfigDict(env_file=".env", env_nested_delimiter="__")
                db: Db = Db(pool_size=3)

            s = Settings()
            engine = create_engine(s.db.url, pool_size=s.db.pool_size)
        """,
    }
    monkeypatch.chdir(tmp_path)
    shown = values(at(scan(tmp_path, files, monkeypatch), "app/s.py:14"))
    assert (shown["url"], shown["pool_size"]) == ("postgresql://envhost/d", 5)


def test_a_flask_subclass_configured_in_its_init_takes_the_arguments_it_is_made_with(tmp_path, monkeypatch) -> None:
    # the review of this change (its case14): `self` in a method was a fresh instance of the class, so the class
    # attribute 3 was read where the one instance the app makes is given 9 (a real run: pool.size() == 9)
    files = {
        "app.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()

            class App(Flask):
                pool_size = 3

                def __init__(self, name, pool_size=None):
                    super().__init__(name)
                    if pool_size:
                        self.pool_size = pool_size
                    self.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://h/e"
                    self.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": self.pool_size}
                    db.init_app(self)

            app = App(__name__, pool_size=9)
        """,
    }
    assert values(at(scan(tmp_path, files, monkeypatch), "app.py:15"))["pool_size"] == 9


PYRAMID_INI = "[app:main]\nuse = egg:app\nsqlalchemy.url = postgresql://a@db/a\n"
PYRAMID_SETUP = (
    'from setuptools import setup\n\nsetup(name="app", entry_points={"paste.app_factory": ["main = app:main"]})\n'
)


def test_pyramid_settings_a_function_expands_the_variables_of_keep_the_ini_values(tmp_path, monkeypatch) -> None:
    # round 64's case1 (pyramid_auth_api): `Configurator(settings=replace_env_vars(settings))`, each str value
    # through `os.path.expandvars` under `isinstance(value, (str, bytes))`: the URL and driver were unknown
    files = {
        "development.ini": PYRAMID_INI,
        "setup.py": PYRAMID_SETUP,
        "app/__init__.py": """
            import os

            from pyramid.config import Configurator
            from sqlalchemy import engine_from_config

            def expand(value):
                if isinstance(value, dict):
                    return {k: expand(v) for k, v in value.items()}
                if isinstance(value, (str, bytes)):
                    return os.path.expandvars(value)
                return value

            def main(global_config, **settings):
                config = Configurator(settings=expand(settings))
                engine = engine_from_config(config.get_settings(), "sqlalchemy.")
                return config.make_wsgi_app()
        """,
    }
    url = at(scan(tmp_path, files, monkeypatch), "app/__init__.py:15").settings["url"]
    assert (url.value, url.from_) == ("postgresql://a@db/a", "development.ini:3")


@pytest.mark.parametrize("imported", [False, True])
def test_pyramid_runs_a_directive_the_app_adds_with_the_configurator(tmp_path, monkeypatch, imported: bool) -> None:
    # round 64's case3 (pyramid_auth_api): `config.add_directive("db_sanity_check", db_sanity_check)` in an
    # includeme, then `config.db_sanity_check()`: the engine it makes lost the app's settings
    files = {
        "development.ini": PYRAMID_INI,
        "setup.py": PYRAMID_SETUP,
        "app/__init__.py": """
            from pyramid.config import Configurator

            def main(global_config, **settings):
                config = Configurator(settings=settings)
                config.include(".checks")
                config.db_sanity_check()
                return config.make_wsgi_app()
        """,
        "app/checks.py": """
            from sqlalchemy import engine_from_config

            def includeme(config):
                config.add_directive("db_sanity_check", db_sanity_check)

            def db_sanity_check(config):
                engine = engine_from_config(config.registry.settings, "sqlalchemy.")
                engine.dispose()
        """,
    }
    if imported:  # (the review: a directive function the includeme's module imports from the project)
        checks = files["app/checks.py"]
        files["app/sanity.py"] = (
            checks[: checks.index("            def includeme")] + checks[checks.index("            def db_s") :]
        )
        files["app/checks.py"] = """
            from app.sanity import db_sanity_check

            def includeme(config):
                config.add_directive("db_sanity_check", db_sanity_check)
        """
    pool = at(scan(tmp_path, files, monkeypatch), "app/__init__.py:6")
    assert (pool.driver, values(pool)["url"]) == ("psycopg2", "postgresql://a@db/a")


def test_a_key_a_variable_names_is_an_alias_of_its_own_only_in_databases(tmp_path, monkeypatch) -> None:
    # the review of this change (its case19): a `$EXTRA_OPTION` item leaked into create_engine's keywords through
    # `**OPTIONS`, as a setting no library takes
    files = {
        "app.py": """
            import os

            from sqlalchemy import create_engine

            OPTIONS = {"connect_args": {"connect_timeout": 5}}
            OPTIONS[os.getenv("EXTRA_OPTION")] = {"application_name": "svc"}

            engine = create_engine("postgresql://h/d", pool_size=3, **OPTIONS)
        """,
    }
    pool = at(scan(tmp_path, files, monkeypatch), "app.py:8")
    assert not [name for name in pool.settings if name.startswith("$")]


def test_a_toml_files_keys_are_found_in_their_own_table(tmp_path, monkeypatch) -> None:
    # the review of this change (its case10 and case11): the second table's keys took the first's lines, and a
    # blank line before a key moved its line up by one
    files = {
        "config.toml": '[primary]\nurl = "postgresql://p/d"\npool_size = 10\n\n[replica]\n\nurl = "postgresql://r/d"\n'
        "pool_size = 20\n",
        "app.py": """
            import tomllib

            from sqlalchemy import create_engine

            with open("config.toml", "rb") as f:
                config = tomllib.load(f)
            primary = create_engine(config["primary"]["url"], pool_size=config["primary"]["pool_size"])
            replica = create_engine(config["replica"]["url"], pool_size=config["replica"]["pool_size"])
        """,
    }
    monkeypatch.chdir(tmp_path)
    report = scan(tmp_path, files, monkeypatch)
    for line, (url, size) in {7: ("config.toml:2", "config.toml:3"), 8: ("config.toml:7", "config.toml:8")}.items():
        pool = at(report, f"app.py:{line}")
        assert (pool.settings["url"].from_, pool.settings["pool_size"].from_) == (url, size)


@pytest.mark.parametrize(("typed", "size"), [("Db | None", 10), ("Optional[Db]", 10), ("Db | None = None", None)])
def test_a_required_optional_nested_settings_field_is_built_from_its_model(
    tmp_path, monkeypatch, typed: str, size: int | None
) -> None:
    # round 64's case4 (osparc-simcore storage and api-server): `STORAGE_POSTGRES: PostgresSettings | None` with no
    # default (filled from the environment) gave unknown pool values, where `PostgresSettings` alone gave them
    files = {
        "app/settings.py": f"""
            from typing import Optional

            from pydantic_settings import BaseSettings, SettingsConfigDict

            class Db(BaseSettings):
                model_config = SettingsConfigDict(env_prefix="POSTGRES_")
                url: str = "postgresql://db/app"
                max_poolsize: int = 10

            class Settings(BaseSettings):
                model_config = SettingsConfigDict(env_nested_delimiter="__")
                STORAGE_POSTGRES: {typed}

            settings = Settings()
        """,
        "app/db.py": """
            from sqlalchemy import create_engine

            from app.settings import settings

            db = settings.STORAGE_POSTGRES
            assert db is not None
            engine = create_engine(db.url, pool_size=db.max_poolsize)
        """,
    }
    assert values(at(scan(tmp_path, files, monkeypatch), "app/db.py:7")).get("pool_size") == size


def test_an_apps_state_read_back_is_what_the_factory_stored(tmp_path, monkeypatch) -> None:
    # round 64's case5 (osparc-simcore dynamic-sidecar): `app.state.settings` read in a module handed the app,
    # stored by the app's factory; each service of the monorepo stores its own
    service = {
        "settings.py": """
            from pydantic_settings import BaseSettings

            class Settings(BaseSettings):
                url: str = "postgresql://db/app"
                pool_size: int = SIZE
        """,
        "main.py": """
            from fastapi import FastAPI

            from .settings import Settings

            def create_app() -> FastAPI:
                app = FastAPI()
                app.state.settings = Settings()
                return app
        """,
        "db.py": """
            from fastapi import FastAPI
            from sqlalchemy.ext.asyncio import create_async_engine

            async def connect(app: FastAPI) -> None:
                settings = app.state.settings
                app.state.engine = create_async_engine(settings.url, pool_size=settings.pool_size)
        """,
    }
    files = {
        f"{name}/svc/{file}": text.replace("SIZE", size)
        for name, size in (("one", "10"), ("two", "20"))
        for file, text in {"__init__.py": "", **service}.items()
    }
    report = scan(tmp_path, files, monkeypatch)
    assert [values(at(report, f"{name}/svc/db.py:6"))["pool_size"] for name in ("one", "two")] == [10, 20]


@pytest.mark.parametrize("handed", ["config, env=env", "config=config, env=env"])
def test_a_config_module_a_library_call_is_handed_is_that_librarys_to_change(
    tmp_path, monkeypatch, handed: str
) -> None:
    # round 64's case1 (customer-service-api): `pmc_config.register_config(config, env=env)` overlays the env's
    # module (prod.py, pool size 60) on the config package before `from_object(config.App)`; the scan read the
    # package's own App (30) as the app's, a wrong value; the classes it may load are now reported each
    files = {
        "app/__init__.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy
            from pytoolbox import pmc_config

            db = SQLAlchemy()

            def create_app(env="prod"):
                from . import config

                app = Flask(__name__)
                pmc_config.register_config(HANDED)
                app.config.from_object(config.App)
                db.init_app(app)
                return app
        """.replace("HANDED", handed),
        "app/config/__init__.py": "class App:\n    SQLALCHEMY_DATABASE_URI = 'postgresql://dev/d'\n    SQLALCHEMY_POOL_SIZE = 30\n",
        "app/config/prod.py": "class App:\n    SQLALCHEMY_DATABASE_URI = 'postgresql://prod/d'\n    SQLALCHEMY_POOL_SIZE = 60\n",
        "requirements.txt": "flask-sqlalchemy==2.5.1\n",
        "wsgi.py": "from app import create_app\n\napp = create_app()\n",
    }
    report = scan(tmp_path, files, monkeypatch)
    assert sorted(values(p).get("url") for p in report.pools) == ["postgresql://dev/d", "postgresql://prod/d"]


def test_a_nested_settings_class_a_yaml_source_gives_part_of_reads_its_own_variables_too(tmp_path, monkeypatch) -> None:
    # the first review of this session (its case6): the YAML's url was dropped for the env file's; a real run of
    # pydantic-settings 2.14 gives url from the YAML and pool_size 20 from the nested class's own PG_ variable
    files = {
        "config.yml": "db:\n  url: postgresql://y/d\n",
        ".env": "PG_POOL_SIZE=20\nPG_URL=postgresql://envhost/d\n",
        "s.py": """
            from pydantic import Field
            from pydantic_settings import BaseSettings, SettingsConfigDict, YamlConfigSettingsSource
            from sqlalchemy import create_engine

            class Db(BaseSettings):
                model_config = SettingsConfigDict(env_prefix="PG_", env_file=".env", extra="ignore")
                url: str = "postgresql://h/d"
                pool_size: int = 5

            class Settings(BaseSettings):
                model_config = SettingsConfigDict(env_file=".env", extra="ignore")
                db: Db = Field(default_factory=Db)

                @classmethod
                def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings):
                    return (init_settings, env_settings, dotenv_settings, YamlConfigSettingsSource(settings_cls, yaml_file="config.yml"))

            s = Settings()
            engine = create_engine(s.db.url, pool_size=s.db.pool_size)
        """,
    }
    monkeypatch.chdir(tmp_path)
    shown = values(at(scan(tmp_path, files, monkeypatch), "s.py:19"))
    assert (shown["url"], shown["pool_size"]) == ("postgresql://y/d", 20)


def test_dynaconf_settings_files_given_as_paths_and_dotted_keys(tmp_path, monkeypatch) -> None:
    # round 65's case1 (clutch-or-predict): `settings_files=[settings_dir / "settings.yaml"]` (a Path) was not
    # read, so `settings.get("postgres.sslmode", "prefer")` gave its fallback, named CLUTCH_POSTGRES.SSLMODE
    files = {
        "conf/__init__.py": """
            from pathlib import Path

            from dynaconf import Dynaconf

            settings = Dynaconf(
                envvar_prefix="CLUTCH",
                settings_files=[Path(__file__).parent / "settings.yaml"],
                environments=True,
            )
        """,
        "conf/settings.yaml": "default:\n  postgres:\n    host: db\n    sslmode: disable\n",
        "db.py": """
            from sqlalchemy import create_engine

            from conf import settings

            host = settings.get("postgres.host", "localhost")
            mode = settings.get("postgres.sslmode", "prefer")
            size = settings.get("postgres.pool_size", 5)
            engine = create_engine(f"postgresql://{host}/app", connect_args={"sslmode": mode}, pool_size=size)
        """,
    }
    pool = at(scan(tmp_path, files, monkeypatch), "db.py:8")
    mode, size = pool.settings["connect_args.sslmode"], pool.settings["pool_size"]
    assert (mode.value, mode.from_, mode.env) == ("disable", "conf/settings.yaml:4", "CLUTCH_POSTGRES__SSLMODE")
    assert (size.value, size.env) == (5, "CLUTCH_POSTGRES__POOL_SIZE")
    assert values(pool)["url"] == "postgresql://db/app"


@pytest.mark.parametrize(
    "call",
    [
        'logger.info("settings: %s", config)',
        "celery.current_app.config_from_object(config)",
        "click.echo(config)",
    ],
)
def test_a_config_module_a_library_call_only_reads_keeps_its_values(tmp_path, monkeypatch, call: str) -> None:
    # the second review of this session (its case2): any library call handed the module made it unknown
    files = {
        "app/config.py": "URL = 'postgresql://u@db/app'\nPOOL_SIZE = 25\n",
        "app/db.py": f"""
            import celery
            import click
            from loguru import logger
            from sqlalchemy import create_engine

            def make():
                from app import config

                {call}
                return create_engine(config.URL, pool_size=config.POOL_SIZE)

            engine = make()
        """,
    }
    assert values(at(scan(tmp_path, files, monkeypatch), "app/db.py:10"))["pool_size"] == 25


def test_a_requests_state_is_not_the_apps(tmp_path, monkeypatch) -> None:
    # the second review of this session (its case3): a handler's `request.state.settings = ...` was read as the
    # app's state (a real Starlette run gives the factory's 15)
    files = {
        "svc/__init__.py": "",
        "svc/main.py": """
            from fastapi import FastAPI
            from pydantic_settings import BaseSettings

            class Settings(BaseSettings):
                pool_size: int = 15

            def create_app() -> FastAPI:
                app = FastAPI()
                app.state.settings = Settings()
                return app
        """,
        "svc/api/__init__.py": "",
        "svc/api/routes.py": """
            from fastapi import FastAPI, Request
            from sqlalchemy import create_engine

            from svc.main import Settings

            async def handler(request: Request) -> None:
                request.state.settings = Settings(pool_size=8)

            def connect(app: FastAPI) -> None:
                settings = app.state.settings
                app.state.engine = create_engine("postgresql://db/app", pool_size=settings.pool_size)
        """,
    }
    assert values(at(scan(tmp_path, files, monkeypatch), "svc/api/routes.py:11"))["pool_size"] == 15


def test_a_pydantic_1_optional_field_with_no_default_is_none_not_its_model(tmp_path, monkeypatch) -> None:
    # the second review of this session (its case4): pydantic 1 makes `Optional[X]` with no default None
    files = {
        "app/settings.py": """
            from typing import Optional

            from pydantic import BaseModel, BaseSettings

            class Db(BaseModel):
                url: str = "postgresql://replica/app"
                pool_size: int = 40

            class Settings(BaseSettings):
                url: str = "postgresql://primary/app"
                pool_size: int = 10
                replica: Optional[Db]

            settings = Settings()
        """,
        "app/db.py": """
            from sqlalchemy import create_engine

            from app.settings import settings

            db = settings.replica or settings
            engine = create_engine(db.url, pool_size=db.pool_size)
        """,
    }
    assert values(at(scan(tmp_path, files, monkeypatch), "app/db.py:6"))["pool_size"] == 10  # (real pydantic 1.10)


def test_a_dotted_dynaconf_key_into_a_table_a_file_it_cannot_read_sets_is_unknown(tmp_path, monkeypatch) -> None:
    # the third review of this session (its case2): `settings.get("postgres.sslmode", "prefer")` where an
    # overrides.py after the YAML may set POSTGRES gave the default as known (real dynaconf: the .py's value)
    files = {
        "conf/__init__.py": """
            from pathlib import Path

            from dynaconf import Dynaconf

            HERE = Path(__file__).parent
            settings = Dynaconf(envvar_prefix="CLUTCH", settings_files=[HERE / "settings.yaml", HERE / "overrides.py"])
        """,
        "conf/settings.yaml": "postgres:\n  host: localhost\n",
        "conf/overrides.py": "POSTGRES = {'host': 'prod-db', 'sslmode': 'require'}\n",
        "db.py": """
            from sqlalchemy import create_engine

            from conf import settings

            mode = settings.get("postgres.sslmode", "prefer")
            engine = create_engine("postgresql://db/app", connect_args={"sslmode": mode})
        """,
    }
    assert not at(scan(tmp_path, files, monkeypatch), "db.py:6").settings["connect_args.sslmode"].known


def test_a_table_a_yaml_source_gives_a_nested_settings_class_keeps_its_models_defaults(tmp_path, monkeypatch) -> None:
    # the third review of this session (its case5): `db: {url, pool: {size: 20}}` made `s.db.pool.recycle`
    # unknown where its model's default 3600 holds (a real run: 3600)
    files = {
        "config.yml": "db:\n  url: postgresql://y/d\n  pool:\n    size: 20\n",
        "s.py": """
            from pydantic import BaseModel, Field
            from pydantic_settings import BaseSettings, SettingsConfigDict, YamlConfigSettingsSource
            from sqlalchemy import create_engine

            class Pool(BaseModel):
                size: int = 5
                recycle: int = 3600

            class Db(BaseSettings):
                model_config = SettingsConfigDict(env_prefix="PG_", extra="ignore")
                url: str = "postgresql://h/d"
                pool: Pool = Pool()

            class Settings(BaseSettings):
                db: Db = Field(default_factory=Db)

                @classmethod
                def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings):
                    return (init_settings, env_settings, YamlConfigSettingsSource(settings_cls, yaml_file="config.yml"))

            s = Settings()
            engine = create_engine(s.db.url, pool_recycle=s.db.pool.recycle)
        """,
    }
    monkeypatch.chdir(tmp_path)
    shown = values(at(scan(tmp_path, files, monkeypatch), "s.py:22"))
    assert (shown["url"], shown["pool_recycle"]) == ("postgresql://y/d", 3600)


def test_two_file_sources_giving_parts_of_a_nested_settings_class_are_merged(tmp_path, monkeypatch) -> None:
    # the third review of this session (its case4): the first source's table alone was read; pydantic-settings
    # merges them key by key, the earlier source winning (a real run: url from local.yml, pool_size 20)
    files = {
        "local.yml": "db:\n  url: postgresql://local/d\n",
        "config.toml": '[db]\nurl = "postgresql://toml/d"\npool_size = 20\n',
        "s.py": """
            from pydantic import Field
            from pydantic_settings import BaseSettings, SettingsConfigDict, TomlConfigSettingsSource
            from pydantic_settings import YamlConfigSettingsSource
            from sqlalchemy import create_engine

            class Db(BaseSettings):
                model_config = SettingsConfigDict(env_prefix="PG_", extra="ignore")
                url: str = "postgresql://h/d"
                pool_size: int = 5

            class Settings(BaseSettings):
                db: Db = Field(default_factory=Db)

                @classmethod
                def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings):
                    yaml = YamlConfigSettingsSource(settings_cls, yaml_file="local.yml")
                    toml = TomlConfigSettingsSource(settings_cls, toml_file="config.toml")
                    return (init_settings, env_settings, yaml, toml)

            s = Settings()
            engine = create_engine(s.db.url, pool_size=s.db.pool_size)
        """,
    }
    monkeypatch.chdir(tmp_path)
    shown = values(at(scan(tmp_path, files, monkeypatch), "s.py:21"))
    assert (shown["url"], shown["pool_size"]) == ("postgresql://local/d", 20)


def test_a_kept_pools_parameter_its_one_caller_gives_is_that_calls(tmp_path, monkeypatch) -> None:
    # round 65's case5 (travel-sentinel): `get_pool(dsn)` keeps its pool in a global; its one caller, in a module
    # that names no pool library, gives `settings.postgres_dsn`: the DSN was "dsn (not given)"
    files = {
        "src/__init__.py": "",
        "src/db/__init__.py": "",
        "src/db/pool.py": """
            import asyncpg

            _pool = None

            async def get_pool(dsn: str):
                global _pool
                if _pool is None:
                    _pool = await asyncpg.create_pool(dsn, min_size=2, max_size=10)
                return _pool
        """,
        "src/api/__init__.py": "",
        "src/api/app.py": """
            import os

            from src.db.pool import get_pool

            async def startup():
                return await get_pool(os.environ.get("DSN", "postgresql://db/app"))
        """,
    }
    url = at(scan(tmp_path, files, monkeypatch), "src/db/pool.py:8").settings["dsn"]
    assert (url.value, url.env) == ("postgresql://db/app", "DSN")
