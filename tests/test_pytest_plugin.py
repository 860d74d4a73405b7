"""pool-doctor in the app's own test suite: `assert_pool_survives` judges the app's real engine or pool against
its database, and the `fault_proxy` fixture reproduces an idle drop against the app's own code.

A sample app's suite is run for real (a pytest subprocess), before and after the fix `recommend` gives. Here the
plugin is named with `-p`; tests/test_packaging.py runs the same suite where only the installed wheel's
`pytest11` entry point brings it in.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import sample_app
from harness import LocalPostgres
from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import create_async_engine

from pool_doctor.model import Severity
from pool_doctor.testing import PoolWillNotSurvive, assert_pool_survives, check_pool, inputs_for, proxied

PASSWORD = "plugin-pw-Vx9"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def server(pg_bindirs: list[Path]) -> Iterator[LocalPostgres]:
    """The incident's server: the app's role has a 2 s idle_session_timeout in its database."""
    with LocalPostgres(pg_bindirs[0]) as pg:
        pg.create_role("app", PASSWORD)
        pg.create_database("appdb", owner="app")
        pg.sql("ALTER ROLE app IN DATABASE appdb SET idle_session_timeout = '2s'")
        yield pg


def run_suite(root: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "POOL_DOCTOR_", "PYTEST_"))}
    env["DATABASE_URL"] = url
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    # Installed (pip install -e .), the entry point brings the plugin in; from a bare checkout, -p names it.
    installed = any(ep.value == "pool_doctor.pytest_plugin" for ep in entry_points(group="pytest11"))
    plugin = [] if installed else ["-p", "pool_doctor.pytest_plugin"]
    return subprocess.run(
        [sys.executable, "-m", "pytest", *plugin, "-q", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_sample_apps_suite_fails_on_the_unguarded_engine_and_passes_after_the_fix(
    server: LocalPostgres, tmp_path: Path
) -> None:
    root = sample_app.write(tmp_path / "sample")
    url = server.url("app", PASSWORD, "appdb", driver="psycopg")
    failed = run_suite(root, url)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "2 failed" in failed.stdout
    # The judge's words, as the test's failure: the limit, where it was set, and the settings that fix it.
    assert "PoolWillNotSurvive: pool-doctor: this pool will hand out dead connections" in failed.stdout
    assert "critical idle-session-timeout" in failed.stdout
    assert "set by ALTER ROLE app IN DATABASE appdb" in failed.stdout
    assert "pool_pre_ping = True" in failed.stdout
    # The NAT's reset, through the app's own engine factory: the error the incident is about.
    assert "server closed the connection unexpectedly" in failed.stdout
    assert PASSWORD not in failed.stdout + failed.stderr

    sample_app.fix(root)
    passed = run_suite(root, url)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "2 passed" in passed.stdout


def test_the_object_is_read_not_the_code(server: LocalPostgres) -> None:
    """Settings come from the engine itself: an engine built with a recycle below the limit passes."""
    url = server.url("app", PASSWORD, "appdb", driver="psycopg")
    engine = create_engine(url, pool_recycle=1, pool_size=2, max_overflow=3, connect_args={"connect_timeout": 5})
    inputs = inputs_for(engine)
    pool = inputs.settings.pool.model_dump()
    assert (pool["pool_recycle"], pool["pool_size"], pool["max_overflow"]) == (1, 2, 3)
    assert inputs.settings.connect_args == {"connect_timeout": 5}
    assert inputs.target.password is not None and inputs.target.driver == "psycopg"
    assert_pool_survives(engine)
    engine.dispose()


def test_async_engine_from_inside_a_running_loop(server: LocalPostgres) -> None:
    url = server.url("app", PASSWORD, "appdb", driver="asyncpg")

    async def judged() -> str:
        engine = create_async_engine(url)
        try:
            with pytest.raises(PoolWillNotSurvive) as failed:
                assert_pool_survives(engine)
            return str(failed.value)
        finally:
            await engine.dispose()

    message = asyncio.run(judged())
    assert "idle-session-timeout" in message and "asyncpg" not in message.split("\n")[0]


def test_asyncpg_and_psycopg_pools(server: LocalPostgres) -> None:
    from psycopg_pool import ConnectionPool

    dsn = server.url("app", PASSWORD, "appdb")

    async def asyncpg_pool() -> None:
        import asyncpg

        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2, max_inactive_connection_lifetime=1)
        try:
            report = check_pool(pool)  # closes its own idle connections after 1 s: below the 2 s limit
            assert report.inputs.settings.pool.stack == "asyncpg"
            assert not report.at_or_above(Severity.CRITICAL), report.findings
        finally:
            await pool.close()

    asyncio.run(asyncpg_pool())
    with ConnectionPool(dsn, min_size=1, max_size=2, open=False) as pool, pytest.raises(PoolWillNotSurvive) as failed:
        assert_pool_survives(pool)
    assert "critical idle-session-timeout" in str(failed.value)
    with ConnectionPool(dsn, min_size=1, check=ConnectionPool.check_connection, open=False) as pool:
        assert assert_pool_survives(pool).inputs.settings.pool.own()["check"] == "ConnectionPool.check_connection"


def test_fault_proxy_rewrites_the_url_and_stops(server: LocalPostgres) -> None:
    url = server.url("app", PASSWORD, "appdb", driver="psycopg")
    nat = proxied(url, idle_timeout=5)
    try:
        assert nat.url.startswith(f"postgresql+psycopg://app:{PASSWORD}@127.0.0.1:{nat.port}/appdb")
        engine = create_engine(nat.url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
        engine.dispose()
        assert nat.stats.accepted == 1
    finally:
        nat.close()
    with pytest.raises(ValueError, match="one host"):
        proxied("postgresql://a@h1:5432,h2:5432/db", idle_timeout=1)


def test_a_foreign_object_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"not builtins\.dict"):
        assert_pool_survives({})


def test_the_plugin_imports_nothing_heavy() -> None:
    code = (
        "import sys, pool_doctor.pytest_plugin; "
        "print([m for m in ('sqlalchemy', 'asyncpg', 'psycopg', 'pydantic', 'pool_doctor.testing') if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
