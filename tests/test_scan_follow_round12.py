"""`scan_path` following values the way real projects spread them (issue 29), continued from
test_scan_follow_round10.py. Each project is a few small files written here (never a copy of a real one); line
numbers in the assertions are the fixtures' own."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_scan import at, scan


def test_a_factory_with_no_parameters_is_a_pool_at_each_of_its_callers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # fmtm, drone-tm: `def get_db_connection_pool(): return AsyncConnectionPool(conninfo=URL, ...)` keeps nothing,
    # so the API's lifespan and each background task open a pool of their own. A factory one place calls stays
    # at its own line; one that keeps what it makes (a global under a test, lru_cache) is one pool.
    report = scan(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/database.py": """
            import functools
            import os

            from psycopg_pool import AsyncConnectionPool
            from sqlalchemy import create_engine

            URL = os.getenv("DB_URL", "postgresql://app@db/app")


            def get_db_connection_pool():
                return AsyncConnectionPool(conninfo=URL, open=False, max_size=10)


            @functools.lru_cache
            def get_engine():
                return create_engine(URL, pool_size=3)


            _reporting = None


            def reporting_engine():
                global _reporting
                if _reporting is None:
                    _reporting = create_engine(URL, pool_size=4)
                return _reporting


            def admin_engine():
                return create_engine(URL, pool_size=5)
            """,
            "app/main.py": """
            from app.database import admin_engine, get_db_connection_pool, get_engine, reporting_engine


            async def lifespan(app):
                pool = get_db_connection_pool()
                engine = get_engine()
                reports = reporting_engine()
                admin = admin_engine()
                yield
            """,
            "app/tasks.py": """
            from app import database


            async def update_task(task_id):
                pool = database.get_db_connection_pool()
                engine = database.get_engine()
                reports = database.reporting_engine()
            """,
            "tests/test_tasks.py": """
            from app.database import get_db_connection_pool


            def test_pool():
                pool = get_db_connection_pool()
            """,
        },
        monkeypatch,
    )
    for where in ("app/main.py:5", "app/tasks.py:5", "tests/test_tasks.py:5"):
        pool = at(report, where)
        assert pool.via == ["app/database.py:11"]
        assert pool.settings["max_size"].value == 10
        assert pool.settings["conninfo"].env == "DB_URL"
    assert not [p for p in report.pools if p.where == "app/database.py:11"]
    assert at(report, "app/database.py:16").settings["pool_size"].value == 3  # lru_cache: one engine
    assert at(report, "app/database.py:25").settings["pool_size"].value == 4  # kept in a global
    assert at(report, "app/database.py:30").settings["pool_size"].value == 5  # one caller: at its own line
    assert not [p for p in report.pools if p.file == "app/main.py" and p.line != 5]
    assert not [p for p in report.pools if p.file == "app/tasks.py" and p.line != 5]
