"""`scan_path` following values the way real projects spread them (issue 29), continued from
test_scan_follow_round13.py (held-out round 17's shapes). Each project is a few small files written here (never
a copy of a real one); line numbers in the assertions are the fixtures' own."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_scan import at, scan

SETTINGS = """
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    DB_HOST: str = "localhost"
    POSTGRES_USER: str = "coffee"

    @property
    def database_url(self) -> str:
        return f"postgresql+asyncpg://{self.POSTGRES_USER}@{self.DB_HOST}:5432/coffee"
"""


def test_a_dependency_injector_provider_is_the_call_it_makes_when_first_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # RandomCoffeeBot: `providers.Singleton(create_async_engine, settings.provided.database_url, ...)` is the app's
    # engine, made when the container first provides it (not at import); `.provided` is the provided instance
    report = scan(
        tmp_path,
        {
            "src/__init__.py": "",
            "src/settings.py": SETTINGS,
            "src/depends.py": """
            from dependency_injector import containers, providers
            from sqlalchemy.ext.asyncio import create_async_engine

            from src.settings import Settings


            class Container(containers.DeclarativeContainer):
                settings = providers.Singleton(Settings)
                engine = providers.Singleton(create_async_engine, settings.provided.database_url, pool_size=7)
            """,
        },
        monkeypatch,
    )
    pool = at(report, "src/depends.py:9")
    assert pool.settings["url"].value == "postgresql+asyncpg://coffee@localhost:5432/coffee"
    assert (pool.settings["pool_size"].value, pool.at_import) == (7, False)


def test_a_provider_of_a_project_class_passes_its_keywords_to_the_wrapper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # fake-ecommerce: `providers.Singleton(Database, db_url=configs.DATABASE_URI)` makes Database(db_url=...)
    report = scan(
        tmp_path,
        {
            "core/__init__.py": "",
            "core/database.py": """
            from sqlalchemy import create_engine


            class Database:
                def __init__(self, db_url: str) -> None:
                    self._engine = create_engine(db_url, echo=True)
            """,
            "core/container.py": """
            from dependency_injector.providers import Factory
            from dependency_injector import containers

            from core.database import Database

            DATABASE_URI = "postgresql://shop@localhost/shop"


            class Container(containers.DeclarativeContainer):
                db = Factory(Database, db_url=DATABASE_URI)
            """,
        },
        monkeypatch,
    )
    pool = at(report, "core/container.py:10")
    assert (pool.settings["url"].value, pool.via) == ("postgresql://shop@localhost/shop", ["core/database.py:6"])


def test_an_installed_modules_init_app_is_no_flask_sqlalchemy_bind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # simple-login: `import flask_profiler` ... `flask_profiler.init_app(app)` in a project that never makes the
    # extension (flask-sqlalchemy only in its lock file): its own create_engine is its one pool
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/db.py": 'from sqlalchemy import create_engine\n\nengine = create_engine("postgresql://sl@db/sl")\n',
            "requirements.lock": "flask-sqlalchemy==2.5.1\n",
            "server.py": """
            import flask_profiler
            from flask import Flask


            def create_app():
                app = Flask(__name__)
                app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://sl@db/sl"
                flask_profiler.init_app(app)
                return app
            """,
        },
        monkeypatch,
    )
    assert [(p.where, p.stack) for p in report.pools] == [("app/db.py:3", "sqlalchemy")]
