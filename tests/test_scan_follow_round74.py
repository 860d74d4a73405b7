"""Held-out round 74 and the open cases of earlier rounds: each test failed before its fix."""

from __future__ import annotations

from tests.test_scan import at, scan


def test_two_variables_each_unset_on_their_own_branch_are_two_branches_not_one(tmp_path, monkeypatch) -> None:
    # backups-service: DB_ENGINE picks the URL among three variables; os.getenv() with no default is None on both
    # the MYSQL and the POSTGRES side, which were merged as one value named by DB_URL_MYSQL
    report = scan(
        tmp_path,
        {
            "config.py": """
            import os

            DB_ENGINE = os.getenv("DB_ENGINE", "").upper()
            DB_URL = os.getenv("DB_URL")

            if DB_ENGINE == "MYSQL":
                DB_URL = os.getenv("DB_URL_MYSQL")
            elif DB_ENGINE == "POSTGRES":
                DB_URL = os.getenv("DB_URL_POSTGRES")
            elif not DB_URL:
                raise ValueError("no DB_URL")
            """,
            "db.py": """
            from sqlalchemy import create_engine

            from config import DB_URL

            engine = create_engine(DB_URL)
            """,
        },
        monkeypatch,
    )
    url = at(report, "db.py:5").settings["url"]
    shown = {(b.env, b.from_) for b in url.branches}
    assert shown == {
        ("DB_URL", "config.py:4"),
        ("DB_URL_MYSQL", "config.py:7"),
        ("DB_URL_POSTGRES", "config.py:9"),
    }
    postgres = next(b for b in url.branches if b.env == "DB_URL_POSTGRES")
    assert postgres.when == 'not (DB_ENGINE == "MYSQL") and DB_ENGINE == "POSTGRES"'


YAURP = {
    "services/__init__.py": "",
    "services/post/__init__.py": """
    import flask
    from services.post.config import current_config

    app = flask.Flask(__name__)
    app.config.from_object( current_config)
    """,
    "services/post/config.py": """
    class Config(object):
        SQLALCHEMY_DATABASE_URI = ""

    class DevelopmentConfig(Config):
        SQLALCHEMY_DATABASE_URI = "postgresql+psycopg2://tester@localhost/posts_db"
        SQLALCHEMY_ENGINE_OPTIONS = {"pool_recycle": 280}

    current_config = DevelopmentConfig()
    """,
    "services/post/repository/__init__.py": "",
    "services/post/repository/post_repository.py": """
    from flask_sqlalchemy import SQLAlchemy
    from services.post import app

    db = SQLAlchemy(app)
    """,
    "services/post/post_service.py": """
    from services.post import app
    from services.post.repository.post_repository import db
    from services.post.config import current_config

    app.config.from_object(current_config)
    """,
    "services/gateway/__init__.py": "",
    "services/gateway/gateway_service.py": """
    from services.post import app
    from services.post.config import current_config

    app.config.from_object( current_config)
    """,
    "services/statistics/__init__.py": "",
    "services/statistics/statistics_repository.py": """
    from flask_sqlalchemy import SQLAlchemy
    from services.post import app

    db = SQLAlchemy(app)
    """,
}


def test_an_app_bound_in_another_module_and_configured_again_as_it_was_is_that_apps_engine(
    tmp_path, monkeypatch
) -> None:
    # yaurp: the post service's app, made and configured in its package, bound by its repository module; its
    # service and the gateway load the same config again (no engine of their own); a second module binds the
    # same app again (Flask-SQLAlchemy 2's second engine)
    report = scan(tmp_path / "2", YAURP, monkeypatch)
    places = sorted(f"{p.file}:{p.line}" for p in report.pools)
    assert places == [
        "services/post/repository/post_repository.py:4",
        "services/statistics/statistics_repository.py:4",
    ]
    for place in places:
        assert at(report, place).settings["pool_recycle"].value == 280
    # Flask-SQLAlchemy 3 refuses a second extension on one app (init_app raises): no second engine
    report = scan(tmp_path / "3", {**YAURP, "requirements.txt": "Flask-SQLAlchemy==3.1.1\n"}, monkeypatch)
    assert [f"{p.file}:{p.line}" for p in report.pools] == ["services/post/repository/post_repository.py:4"]


def test_a_url_an_fstring_makes_of_several_variables_is_from_the_fstrings_line(tmp_path, monkeypatch) -> None:
    # avito_monitor: f"postgresql://{USER}@{HOST}/{NAME}" was named by POSTGRES_USER at POSTGRES_DB's line; as `%`
    # and `.format` are, it is from where it is made of them (public_transport_wro), named by the first
    report = scan(
        tmp_path,
        {
            "app.py": """
            import os
            from sqlalchemy import create_engine

            USER = os.getenv("PGUSER_X", "u")
            HOST = os.getenv("PGHOST_X", "h")
            NAME = os.getenv("PGNAME_X", "n")

            engine = create_engine(f"postgresql://{USER}@{HOST}/{NAME}", pool_size=3)
            """
        },
        monkeypatch,
    )
    url = at(report, "app.py:8").settings["url"]
    assert (url.value, url.env, url.from_) == ("postgresql://u@h/n", "PGUSER_X", "app.py:8")


def test_an_app_factory_a_module_calls_at_its_top_makes_its_engine_at_import(tmp_path, monkeypatch) -> None:
    # ae2-bridge: main.py's `flask_app = create_app()` (the WSGI server's target) runs create_app's
    # db.init_app(app) as main.py is imported; a factory only a function or `__main__` calls does not
    files = {
        "api/__init__.py": "",
        "api/app.py": """
        from flask import Flask
        from flask_sqlalchemy import SQLAlchemy

        db = SQLAlchemy()

        def create_app():
            app = Flask(__name__)
            app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://db/app"
            app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True}
            db.init_app(app)
            return app
        """,
        "main.py": """
        from api.app import create_app

        flask_app = create_app()
        """,
    }
    report = scan(tmp_path / "top", files, monkeypatch)
    assert at(report, "api/app.py:10").at_import is True
    later = {
        **files,
        "main.py": "from api.app import create_app\n\nif __name__ == '__main__':\n    create_app().run()\n",
    }
    report = scan(tmp_path / "main", later, monkeypatch)
    assert at(report, "api/app.py:10").at_import is False


def test_django_postgres_extras_backend_is_a_postgresql_alias(tmp_path, monkeypatch) -> None:
    # notifications_sprint_1: ENGINE "psqlextra.backend" (django-postgres-extra, Django's PostgreSQL backend
    # underneath) was listed but never judged
    report = scan(
        tmp_path,
        {
            "settings.py": """
            DATABASES = {
                "default": {
                    "ENGINE": "psqlextra.backend",
                    "NAME": "movies",
                    "HOST": "db",
                    "CONN_MAX_AGE": 60,
                },
            }
            """
        },
        monkeypatch,
    )
    pool = at(report, "settings.py:2")
    assert pool.settings["CONN_MAX_AGE"].value == 60
    assert any(scanned is pool for scanned, _ in report.findings)  # judged


def test_a_factorys_config_updated_from_a_spread_parameter_and_bound_through_a_local_extension(
    tmp_path, monkeypatch
) -> None:
    # ecology_bot's admin: create_app(config) runs `app.config.update(**config)` and binds `db = get_db()`, a
    # factory returning SQLAlchemy(...); wsgi.py gives the config: no engine at all before
    report = scan(
        tmp_path,
        {
            "database/__init__.py": "",
            "database/engine.py": """
            from flask_sqlalchemy import SQLAlchemy

            def get_db() -> SQLAlchemy:
                db = SQLAlchemy()
                return db
            """,
            "app.py": """
            from flask import Flask

            from database.engine import get_db

            def create_app(config: dict) -> Flask:
                db = get_db()
                flask_app = Flask(__name__)
                flask_app.config.update(**config)
                db.init_app(app=flask_app)
                return flask_app
            """,
            "wsgi.py": """
            import os

            from app import create_app

            app = create_app(config={
                "SQLALCHEMY_DATABASE_URI": os.environ["DB_URI"],
                "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 7},
            })
            """,
        },
        monkeypatch,
    )
    [pool] = report.pools
    assert pool.where == "app.py:9"
    assert (pool.settings["pool_size"].value, pool.settings["pool_size"].from_) == (7, "wsgi.py:7")
    assert pool.settings["url"].env == "DB_URI"


def test_an_extension_class_setting_defaults_binds_the_app_its_caller_configured(tmp_path, monkeypatch) -> None:
    # the review's case14: `Database(app)` sets the URL and options only where the app has none
    # (app.config.setdefault) and binds; app.py configured its own: one engine at the call, with app.py's values
    # (the class's default only for a key app.py leaves unset, the one it assigns over app.py's)
    report = scan(
        tmp_path,
        {
            "ext.py": """
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()

            class Database:
                def __init__(self, app=None):
                    if app is not None:
                        self.init_app(app)

                def init_app(self, app):
                    app.config.setdefault("SQLALCHEMY_DATABASE_URI", "sqlite:///default.db")
                    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_size": 5})
                    app.config.setdefault("SQLALCHEMY_POOL_RECYCLE", 299)
                    app.config["SQLALCHEMY_ECHO"] = True
                    db.init_app(app)
            """,
            "app.py": """
            from flask import Flask

            from ext import Database

            app = Flask(__name__)
            app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://db/app"
            app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": 20}
            app.config["SQLALCHEMY_ECHO"] = False
            Database(app)
            """,
        },
        monkeypatch,
    )
    [pool] = report.pools
    assert pool.where == "app.py:9"
    shown = {k: (v.value, v.from_) for k, v in pool.settings.items() if v.known}
    assert shown["url"] == ("postgresql://db/app", "app.py:6")
    assert shown["pool_size"] == (20, "app.py:7")
    assert shown["echo"] == (True, "ext.py:14")


def test_a_top_level_import_in_a_tree_of_no_packages_is_found_from_the_folder_the_importer_is_imported_from(
    tmp_path, monkeypatch
) -> None:
    # movie_service: main.py runs `from app.repository.database import engine`, so database.py's
    # `from settings import POOL_SIZE` finds svc/settings.py (sys.path[0] is svc/), not app/settings.py beside it
    files = {
        "svc/main.py": "from app.repository.database import engine\nfrom settings import POOL_SIZE\n",
        "svc/settings.py": 'import os\nPOOL_SIZE = int(os.getenv("POOL_SIZE", 7))\n',
        "svc/app/settings.py": 'import os\nPOOL_SIZE = int(os.getenv("POOL_SIZE", 3))\n',
        "svc/app/repository/database.py": """
        from sqlalchemy import create_engine
        from settings import POOL_SIZE

        engine = create_engine("postgresql://u@h/db", pool_size=POOL_SIZE)
        """,
    }
    size = at(scan(tmp_path / "a", files, monkeypatch), "svc/app/repository/database.py:4").settings["pool_size"]
    assert (size.value, size.from_) == (7, "svc/settings.py:2")
    # with nothing importing it by its folder's name, the settings beside it (the closest) as before
    files["svc/main.py"] = "import uvicorn\n"
    size = at(scan(tmp_path / "b", files, monkeypatch), "svc/app/repository/database.py:4").settings["pool_size"]
    assert (size.value, size.from_) == (3, "svc/app/settings.py:2")


def test_a_pool_whose_code_names_no_database_is_the_one_its_requirements_declare_a_driver_of(
    tmp_path, monkeypatch
) -> None:
    # web-interface-backend: DATABASES from $DATABASE_URL, mysqlclient its one driver: judged as PostgreSQL's before
    files = {
        "requirements.txt": "Django==4.2\ndjango-environ==0.11\nmysqlclient==2.0.3  # the database\n",
        "app/settings.py": """
        import environ

        env = environ.Env()
        DATABASES = {"default": env.db()}
        DATABASES["default"]["CONN_MAX_AGE"] = 600
        """,
        "app/db.py": """
        import os
        from sqlalchemy import create_engine

        engine = create_engine(os.environ["DATABASE_URL"], pool_size=5)
        local = create_engine("postgresql://db/app", pool_size=5)
        """,
    }
    report = scan(tmp_path / "mysql", files, monkeypatch)
    for place in ("app/settings.py:4", "app/db.py:4"):
        assert at(report, place).database == "mysql"
        assert not [f for pool, f in report.findings if pool.where == place]
    assert at(report, "app/db.py:5").database is None  # (its URL says PostgreSQL)
    assert [f for pool, f in report.findings if pool.where == "app/db.py:5"]
    # a PostgreSQL driver beside it, or none named at all: PostgreSQL's, as before
    for requirements in ("mysqlclient==2.0.3\npsycopg2-binary==2.9\n", "Django==4.2\n"):
        report = scan(tmp_path / str(len(requirements)), {**files, "requirements.txt": requirements}, monkeypatch)
        assert at(report, "app/settings.py:4").database is None
        assert [f for pool, f in report.findings if pool.where == "app/settings.py:4"]


def test_a_config_copied_key_by_key_in_a_factorys_nested_helper_is_the_apps(tmp_path, monkeypatch) -> None:
    # koup-api: create_app's own `config_parser(app, obj)` runs `for key, data in obj.items(): app.config[key] =
    # data` over the dict wsgi's call gives: its URL and pool_recycle (pinned Flask-SQLAlchemy 2.4) were unread
    report = scan(
        tmp_path,
        {
            "Pipfile.lock": '{"default": {"flask-sqlalchemy": {"version": "==2.4.0"}}}',
            "conf.py": """
            import os

            def get_config_obj():
                url = os.environ.get("DATABASE_URL", "None")
                if url == "None":
                    url = "postgresql://%s@%s/%s" % ("u", "h", "n")
                return dict(SQLALCHEMY_DATABASE_URI=url, SQLALCHEMY_POOL_RECYCLE=7200)
            """,
            "app.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            from conf import get_config_obj

            def create_app(name_handler, config_object):
                def config_parser(app, obj):
                    for key, data in obj.items():
                        app.config[key] = data

                app = Flask(name_handler)
                config_parser(app, config_object)
                return app

            app = create_app(__name__, get_config_obj())
            db = SQLAlchemy(app)
            """,
        },
        monkeypatch,
    )
    pool = at(report, "app.py:16")
    assert not pool.unresolved
    assert (pool.settings["pool_recycle"].value, pool.settings["pool_recycle"].from_) == (7200, "conf.py:7")
    assert pool.settings["url"].value == "postgresql://u@h/n"


def test_settings_a_package_star_imports_under_a_test_hold_under_it(tmp_path, monkeypatch) -> None:
    # filmography_app: `if app_stage == 'prod': from .production import *` (elif testing, else development): the
    # production alias was listed with no condition
    report = scan(
        tmp_path,
        {
            "proj/__init__.py": "",
            "proj/settings/__init__.py": """
            import os

            from .base import *

            app_stage = os.environ.get("DJANGO_APP_STAGE", "development")
            if app_stage == "prod":
                from .production import *
            else:
                from .development import *
            """,
            "proj/settings/base.py": 'INSTALLED_APPS = ["django.contrib.auth"]\n',
            "proj/settings/production.py": """
            DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "films", "CONN_MAX_AGE": 60}}
            """,
            "proj/settings/development.py": """
            DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "dev", "CONN_MAX_AGE": 0}}
            """,
        },
        monkeypatch,
    )
    assert at(report, "proj/settings/production.py:1").condition == 'app_stage == "prod"'
    assert at(report, "proj/settings/development.py:1").condition == 'not (app_stage == "prod")'


def test_decouples_config_of_a_repository_reads_the_variable_then_that_file(tmp_path, monkeypatch) -> None:
    # django-configuration: `env = Config(RepositoryEnv(f"...{os.environ.get('ENVIRONMENT')}/.env"))`: each value
    # was named by ENVIRONMENT (the unknown object's), not by the variable decouple reads first
    report = scan(
        tmp_path,
        {
            ".envs/.production/.env": "DB_CONN_MAX_AGE=1200\n",
            "conf/.env.local": "DB_CONN_MAX_AGE=30\n",
            "conf/settings.py": """
            import os
            from decouple import AutoConfig, Config, RepositoryEnv

            picked = Config(RepositoryEnv(os.path.join(".envs", f".{os.environ.get('ENVIRONMENT')}", ".env")))
            local = Config(RepositoryEnv(".env.local"))
            auto = AutoConfig()
            DATABASES = {
                "default": {
                    "ENGINE": "django.db.backends.postgresql",
                    "CONN_MAX_AGE": picked("DB_CONN_MAX_AGE", cast=int),
                    "OPTIONS": {"connect_timeout": auto("DB_CONNECT_TIMEOUT", default=7, cast=int)},
                },
                "local": {"ENGINE": "django.db.backends.postgresql", "CONN_MAX_AGE": local("DB_CONN_MAX_AGE", cast=int)},
            }
            """,
        },
        monkeypatch,
    )
    age = at(report, "conf/settings.py:8").settings["CONN_MAX_AGE"]
    assert (age.known, age.env) == (False, "DB_CONN_MAX_AGE")
    timeout = at(report, "conf/settings.py:8").settings["OPTIONS.connect_timeout"]
    assert (timeout.value, timeout.env) == (7, "DB_CONNECT_TIMEOUT")
    local = at(report, "conf/settings.py:13").settings["CONN_MAX_AGE"]
    assert (local.value, local.env, local.from_) == (30, "DB_CONN_MAX_AGE", "conf/.env.local:1")


def test_a_helpers_test_of_a_key_it_is_given_names_that_key(tmp_path, monkeypatch) -> None:
    # pyramid_openshift_starter: `def get(environ_key): if environ_key in os.environ: ...` called with five keys;
    # the branches said `environ_key in os.environ and not (environ_key in os.environ)`
    report = scan(
        tmp_path,
        {
            "db.py": """
            import os
            from sqlalchemy import create_engine

            SETTINGS = {"user": "develop", "host": "127.0.0.1"}

            def get(environ_key, fallback):
                if environ_key in os.environ:
                    return os.environ[environ_key]
                return SETTINGS[fallback]

            user = get("DB_USERNAME", "user")
            host = get("DB_HOST", "host")
            engine = create_engine("postgresql://{0}@{1}/app".format(user, host))
            """
        },
        monkeypatch,
    )
    url = at(report, "db.py:13").settings["url"]
    whens = [b.when or "" for b in url.branches]
    assert all("environ_key" not in when for when in whens)
    assert any("'DB_HOST' in os.environ" in when for when in whens)
    assert url.value == "postgresql://develop@127.0.0.1/app"


def test_the_reviews_cases_of_this_round(tmp_path, monkeypatch) -> None:
    # 1: from_mapping(mapping, KEY=...) still loads the mapping
    report = scan(
        tmp_path / "1",
        {
            "app.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            DB = {"SQLALCHEMY_DATABASE_URI": "postgresql://db/app", "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 25}}
            app = Flask(__name__)
            app.config.from_mapping(DB, SECRET_KEY="dev")
            db = SQLAlchemy(app)
            """
        },
        monkeypatch,
    )
    assert at(report, "app.py:7").settings["pool_size"].value == 25
    # 2: a nested teardown's own `db` does not hide the factory's bind of the global extension
    report = scan(
        tmp_path / "2",
        {
            "app.py": """
            from flask import Flask, g
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()

            def create_app():
                app = Flask(__name__)

                @app.teardown_appcontext
                def close(exc):
                    db = g.pop("legacy_db", None)

                app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://db/app"
                db.init_app(app)
                return app
            """
        },
        monkeypatch,
    )
    assert [p.where for p in report.pools] == ["app.py:14"]
    # 5: a PostgreSQL extra beside a MySQL driver for a side job: PostgreSQL's, judged
    report = scan(
        tmp_path / "5",
        {
            "requirements.txt": "SQLAlchemy[postgresql_psycopg2binary]==2.0.30\nPyMySQL==1.1.0\n",
            "db.py": "import os\nfrom sqlalchemy import create_engine\n\nengine = create_engine(os.environ['DATABASE_URL'])\n",
        },
        monkeypatch,
    )
    assert at(report, "db.py:4").database is None
    # 6: a seed script's top calling the factory is no server's import
    files = {
        "app/__init__.py": """
        from flask import Flask
        from flask_sqlalchemy import SQLAlchemy

        db = SQLAlchemy()

        def create_app():
            app = Flask(__name__)
            app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://db/app"
            db.init_app(app)
            return app
        """,
        "scripts/seed.py": "from app import create_app, db\n\napp = create_app()\n",
    }
    assert at(scan(tmp_path / "6", files, monkeypatch), "app/__init__.py:9").at_import is False
    # 7: a settings module wsgi.py names runs whatever the package's test says
    report = scan(
        tmp_path / "7",
        {
            "proj/__init__.py": "",
            "proj/wsgi.py": 'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings.production")\n',
            "proj/settings/__init__.py": """
            import os
            if os.environ.get("DJANGO_ENV") == "production":
                from .production import *
            """,
            "proj/settings/production.py": """
            INSTALLED_APPS = []
            DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "app"}}
            """,
        },
        monkeypatch,
    )
    assert at(report, "proj/settings/production.py:2").condition is None


def test_a_config_class_a_variable_names_by_its_dotted_path_is_one_engine_at_the_bind(tmp_path, monkeypatch) -> None:
    # homeeasy, flask-inventory: `app.config.from_object(os.getenv("APP_SETTINGS"))` with APP_SETTINGS set to
    # "project.config.DevelopmentConfig" by the deployment: the pools were the config classes (BaseConfig, with
    # no URL, a false one), none at db.init_app
    files = {
        "project/__init__.py": """
        import os

        from flask import Flask
        from flask_sqlalchemy import SQLAlchemy

        db = SQLAlchemy()

        def create_app():
            app = Flask(__name__)
            app_settings = os.getenv("APP_SETTINGS")
            app.config.from_object(app_settings)
            db.init_app(app)
            return app
        """,
        "project/config.py": """
        import os

        class BaseConfig:
            SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 10, "pool_pre_ping": True}

        class DevelopmentConfig(BaseConfig):
            SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL")

        class ProductionConfig(BaseConfig):
            SQLALCHEMY_DATABASE_URI = "postgresql://db/prod"
            SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 30}
        """,
    }
    report = scan(tmp_path, files, monkeypatch)
    pool = at(report, "project/__init__.py:12")
    assert [p.where for p in report.pools if not p.aside] == ["project/__init__.py:12"]  # (no BaseConfig)
    size = pool.settings["pool_size"]
    assert {(b.when, b.value) for b in size.branches} == {
        ("$APP_SETTINGS == 'project.config.DevelopmentConfig'", 10),
        ("$APP_SETTINGS == 'project.config.ProductionConfig'", 30),
    }


def test_a_fixed_factory_called_once_at_a_modules_top_makes_its_pool_at_import(tmp_path, monkeypatch) -> None:
    # Insomnia: loader.py's `db = loop.run_until_complete(users.create_pool())`; the pool stays at the factory's
    # line (one caller) and was said to be made in a function, not at import
    files = {
        "users.py": """
        import asyncpg

        async def create_pool():
            return await asyncpg.create_pool(dsn="postgresql://db/app", max_size=5)
        """,
        "loader.py": "import asyncio\nimport users\n\nloop = asyncio.get_event_loop()\ndb = loop.run_until_complete(users.create_pool())\n",
    }
    assert at(scan(tmp_path / "a", files, monkeypatch), "users.py:4").at_import is True
    called_later = {**files, "loader.py": "import users\n\nasync def main():\n    return await users.create_pool()\n"}
    assert at(scan(tmp_path / "b", called_later, monkeypatch), "users.py:4").at_import is False


def test_keys_set_under_the_same_test_are_judged_on_the_same_side_of_it(tmp_path, monkeypatch) -> None:
    # saas-fundation: CONN_MAX_AGE 300 and CONN_HEALTH_CHECKS True both only `if DATABASE_URL is not None`; the
    # judge took CONN_MAX_AGE from that side and CONN_HEALTH_CHECKS from the other: a false no-liveness-check
    report = scan(
        tmp_path,
        {
            "settings.py": """
            import os

            DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "app"}}
            if os.environ.get("PROD") is not None:
                DATABASES["default"]["CONN_MAX_AGE"] = 300
                DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
            """
        },
        monkeypatch,
    )
    pool = at(report, "settings.py:3")
    assert pool.settings["CONN_MAX_AGE"].branches and pool.settings["CONN_HEALTH_CHECKS"].branches
    assert "no-liveness-check" not in [f.code for scanned, f in report.findings if scanned is pool]


def test_a_migration_scripts_own_top_call_makes_no_engine_at_import(tmp_path, monkeypatch) -> None:
    # alembic's env.py runs run_migrations_online() at its top: a command's, no server imports it
    files = {
        "migrations/env.py": """
        from sqlalchemy import create_engine

        def run_migrations_online():
            engine = create_engine("postgresql://db/app", pool_size=2)
            engine.dispose()

        run_migrations_online()
        """,
    }
    assert at(scan(tmp_path, files, monkeypatch), "migrations/env.py:4").at_import is False
