"""A demoted primary, for real: the code `recommend` prints makes each pool let go of it.

Two local servers stand for a switchover: A, the primary the app's pool is on, is switched read-only by
`ALTER SYSTEM SET default_transaction_read_only = on` and a reload (existing sessions pick it up: their writes
fail with SQLSTATE 25006, as on a demoted primary); B, a second server with the same role and table, is the
writable server that is there now. The app's URL names both hosts with target_session_attrs=read-write. No
replication between them: what is tested is which server the pool's connections write to.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness import LocalPostgres

from pool_doctor.stacks import demotion
from tests.cli_runner import run_pool_doctor

PASSWORD = "dem0ted-Secret"
ROLE = "app"


@pytest.fixture(scope="module")
def servers(pg_bindirs: list[Path]) -> Iterator[tuple[LocalPostgres, LocalPostgres]]:
    with LocalPostgres(pg_bindirs[0]) as a, LocalPostgres(pg_bindirs[0]) as b:
        for server in (a, b):
            server.create_role(ROLE, PASSWORD)
            server.sql("CREATE TABLE writes (port int)")
            server.sql(f"GRANT INSERT, SELECT ON writes TO {ROLE}")
        yield a, b


@pytest.fixture
def switchover(servers: tuple[LocalPostgres, LocalPostgres]) -> Iterator[Any]:
    """`switchover()` demotes A (read-only by reload); A is writable again after the test."""
    a, _ = servers

    def demote() -> None:
        a.sql("ALTER SYSTEM SET default_transaction_read_only = on")
        a.sql("SELECT pg_reload_conf()")
        # The reload reaches each backend at its next command; wait until a new session sees it.
        for _ in range(100):
            if a.sql("SHOW default_transaction_read_only") == [("on",)]:
                return
            asyncio.run(asyncio.sleep(0.05))
        raise AssertionError("the reload did not reach the server")

    yield demote
    a.sql("ALTER SYSTEM RESET default_transaction_read_only")
    a.sql("SELECT pg_reload_conf()")


def url(servers: tuple[LocalPostgres, LocalPostgres], driver: str) -> str:
    hosts = "&".join(f"host={s.host}:{s.port}" for s in servers)
    return f"postgresql+{driver}://{ROLE}:{PASSWORD}@/postgres?{hosts}&target_session_attrs=read-write"


def libpq_dsn(servers: tuple[LocalPostgres, LocalPostgres]) -> str:
    a, b = servers
    return (
        f"host={a.host},{b.host} port={a.port},{b.port} dbname=postgres user={ROLE} password={PASSWORD} "
        "target_session_attrs=read-write"
    )


def recommended_code(target: str, *args: str) -> str:
    """The code recommend prints for this target (JSON form): the app pastes exactly this."""
    run = run_pool_doctor("recommend", "--format", "json", "--timeout", "5", "--url", target, *args, secret=PASSWORD)
    assert run.code == 0, run.stderr
    [fix] = run.json()["code"]
    assert fix["for"] == "demoted-primary"
    return str(fix["code"])


def sqlalchemy_writes(target: str, demote: Any, code: str | None) -> list[str]:
    """Three writes after the demotion through a pre-pinging SQLAlchemy + asyncpg engine: each one's outcome."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    outcomes: list[str] = []

    async def scenario() -> None:
        engine = create_async_engine(target, pool_pre_ping=True)
        if code is not None:
            exec(code, {"engine": engine})  # the recommended code, as the app pastes it after create_async_engine
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO writes SELECT inet_server_port()"))
        demote()
        for _ in range(3):
            try:
                async with engine.begin() as conn:
                    port = await conn.scalar(text("INSERT INTO writes SELECT inet_server_port() RETURNING port"))
                outcomes.append(f"ok {port}")
            except Exception as exc:  # the app's error, as its request would see it
                outcomes.append(f"{getattr(exc.orig, 'sqlstate', None)}" if hasattr(exc, "orig") else repr(exc))
        await engine.dispose()

    asyncio.run(scenario())
    return outcomes


def test_sqlalchemy_asyncpg_pre_ping_keeps_failing_writes_and_the_handle_error_code_recovers(
    servers: tuple[LocalPostgres, LocalPostgres], switchover: Any
) -> None:
    target = url(servers, "asyncpg")
    # pool_pre_ping=True: the ping's `;` passes on the read-only server, so the pool keeps its connection.
    assert sqlalchemy_writes(target, switchover, None) == ["25006", "25006", "25006"]


def test_sqlalchemy_asyncpg_with_recommended_handle_error_recovers(
    servers: tuple[LocalPostgres, LocalPostgres], switchover: Any
) -> None:
    _, b = servers
    target = url(servers, "asyncpg")
    code = recommended_code(target, "--pool-pre-ping")
    assert '@event.listens_for(engine.sync_engine, "handle_error")' in code
    # The write that meets the demoted primary fails; the pool drops its connections, and the next writes
    # reach B (target_session_attrs=read-write skips A at connect).
    assert sqlalchemy_writes(target, switchover, code) == ["25006", f"ok {b.port}", f"ok {b.port}"]


def test_psycopg_pool_recommended_check_discards_a_demoted_primary(
    servers: tuple[LocalPostgres, LocalPostgres], switchover: Any, tmp_path: Path
) -> None:
    from psycopg_pool import ConnectionPool

    a, b = servers
    config = tmp_path / "pool-doctor.toml"
    config.write_text('[pool]\nstack = "psycopg_pool"\nmin_size = 1\nmax_size = 1\n')
    code = recommended_code(url(servers, "psycopg"), "--config", str(config))
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    for check, expected in ((ConnectionPool.check_connection, "25006"), (namespace["check_writable"], f"ok {b.port}")):
        with ConnectionPool(libpq_dsn(servers), min_size=1, max_size=1, check=check, open=True, timeout=10) as pool:
            with pool.connection() as conn:
                assert conn.execute("SELECT inet_server_port()").fetchone() == (a.port,)
            switchover()
            import psycopg

            try:
                with pool.connection() as conn:
                    row = conn.execute("INSERT INTO writes SELECT inet_server_port() RETURNING port").fetchone()
                outcome = f"ok {row[0] if row else None}"
            except psycopg.Error as exc:
                outcome = str(exc.sqlstate)
            assert outcome == expected
        a.sql("ALTER SYSTEM RESET default_transaction_read_only")
        a.sql("SELECT pg_reload_conf()")


def test_asyncpg_pool_recommended_expire_recovers(
    servers: tuple[LocalPostgres, LocalPostgres], switchover: Any, tmp_path: Path
) -> None:
    import asyncpg

    a, b = servers
    config = tmp_path / "pool-doctor.toml"
    config.write_text('[pool]\nstack = "asyncpg"\nmin_size = 1\nmax_size = 1\n')
    code = recommended_code(url(servers, "asyncpg"), "--config", str(config))
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    execute_write = namespace["execute_write"]
    outcomes: list[str] = []

    async def scenario() -> None:
        pool = await asyncpg.create_pool(
            host=[a.host, b.host], port=[a.port, b.port], user=ROLE, password=PASSWORD, database="postgres",
            target_session_attrs="read-write", min_size=1, max_size=1,
        )  # fmt: skip
        assert await pool.fetchval("SELECT inet_server_port()") == a.port
        switchover()
        for _ in range(2):
            try:
                await execute_write(pool, "INSERT INTO writes SELECT inet_server_port()")
                outcomes.append(f"ok {await pool.fetchval('SELECT inet_server_port()')}")
            except asyncpg.PostgresError as exc:
                outcomes.append(str(exc.sqlstate))
        await pool.close()

    asyncio.run(scenario())
    assert outcomes == ["25006", f"ok {b.port}"]


DJANGO_APP = """
import sys
import django
from django.conf import settings

hosts, ports, user, password, engine = sys.argv[1:6]
settings.configure(
    DATABASES={
        "default": {
            "ENGINE": engine,
            "NAME": "postgres",
            "USER": user,
            "PASSWORD": password,
            "HOST": hosts,
            "PORT": ports,
            "CONN_MAX_AGE": 600,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": {"target_session_attrs": "read-write"},
        }
    },
)
django.setup()
from django.db import close_old_connections, connection


def request():
    close_old_connections()  # request_started, as Django's handler sends it
    try:
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO writes SELECT inet_server_port() RETURNING port")
            return f"ok:{cursor.fetchone()[0]}"
    except Exception as exc:
        return str(getattr(exc.__cause__, "sqlstate", type(exc).__name__))
    finally:
        close_old_connections()  # request_finished


print(request(), flush=True)
sys.stdin.readline()  # the switchover happens meanwhile
print(request(), request(), flush=True)
"""


@pytest.mark.parametrize("recommended", [False, True], ids=["CONN_HEALTH_CHECKS only", "recommended backend"])
def test_django_recommended_backend_lets_go_of_a_demoted_primary(
    servers: tuple[LocalPostgres, LocalPostgres], switchover: Any, tmp_path: Path, recommended: bool
) -> None:
    """Django with CONN_MAX_AGE and CONN_HEALTH_CHECKS: the stock is_usable() (SELECT 1) keeps the connection to
    the demoted A; the recommended backend's is_usable() closes it, and the reconnect reaches B."""
    a, b = servers
    engine = "django.db.backends.postgresql"
    if recommended:
        package = tmp_path / "yourproject_db"
        package.mkdir()
        (package / "__init__.py").write_text("")
        (package / "base.py").write_text(demotion.DJANGO.code)
        engine = "yourproject_db"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(Path(__file__).resolve().parent.parent)])}
    hosts, ports = f"{a.host},{b.host}", f"{a.port},{b.port}"
    args = [sys.executable, "-c", DJANGO_APP, hosts, ports, ROLE, PASSWORD, engine]
    with subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env) as app:
        assert app.stdin is not None and app.stdout is not None
        try:
            assert app.stdout.readline().split() == [f"ok:{a.port}"]
            switchover()
            app.stdin.write("go\n")
            app.stdin.flush()
            answers = app.stdout.readline().split()
        finally:
            app.stdin.close()
            app.wait(timeout=30)
    assert answers == ([f"ok:{b.port}", f"ok:{b.port}"] if recommended else ["25006", "25006"])
