"""Real servers, real clients: the throwaway PostgreSQL/PgBouncer helpers do what the suite relies on."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

import asyncpg
import psycopg
import pytest
from conftest import MakePg, MakePgBouncer
from harness import (
    LocalPostgres,
    LocalPostgresError,
    available_bindirs,
    embedded_bindir,
    server_major,
    server_supports_ssl,
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_available_bindirs_put_embedded_first_and_one_per_major() -> None:
    bindirs = available_bindirs()
    majors = [server_major(b) for b in bindirs]
    assert len(majors) == len(set(majors))
    embedded = embedded_bindir()
    if embedded is not None:
        assert bindirs[0] == embedded


def test_server_answers_over_tcp_with_its_major(pg: LocalPostgres) -> None:
    async def version() -> tuple[str, int]:
        conn = await asyncpg.connect(pg.url(), timeout=10)
        try:
            return await conn.fetchval("SELECT version()"), int(await conn.fetchval("SHOW server_version_num"))
        finally:
            await conn.close()

    text, num = asyncio.run(version())
    assert f"PostgreSQL {pg.major}." in text
    assert num // 10000 == pg.major == server_major(pg.bindir)
    assert pg.host == "127.0.0.1"
    # Only TCP on 127.0.0.1 (plus the private unix socket): nothing on other addresses.
    assert pg.sql("SHOW listen_addresses") == [("127.0.0.1",)]


def test_server_settings_take_effect(pg: LocalPostgres, make_pg: MakePg) -> None:
    server = make_pg(settings={"max_connections": "20", "idle_session_timeout": "7s"}, bindir=pg.bindir)
    assert server.sql("SHOW max_connections") == [("20",)]
    assert server.sql("SHOW idle_session_timeout") == [("7s",)]
    assert server.sql("SHOW fsync") == [("off",)]


def test_create_role_and_database_with_settings(pg: LocalPostgres, unique_name: str) -> None:
    role, db = unique_name, f"{unique_name}_db"
    pg.create_role(role, "p@ss:w/rd", settings={"idle_session_timeout": "5min"}, connlimit=7)
    pg.create_database(db, owner=role, connlimit=9)
    pg.create_role(f"{role}_x", "pw", settings={"statement_timeout": "3s"}, database=db)

    rows = pg.sql(
        "SELECT r.rolname, d.datname, s.setconfig FROM pg_db_role_setting s "
        "JOIN pg_roles r ON r.oid = s.setrole LEFT JOIN pg_database d ON d.oid = s.setdatabase "
        "WHERE r.rolname IN (%s, %s) ORDER BY r.rolname",
        params=(role, f"{role}_x"),
    )
    assert rows == [
        (role, None, ["idle_session_timeout=5min"]),
        (f"{role}_x", db, ["statement_timeout=3s"]),
    ]
    assert pg.sql("SELECT rolconnlimit FROM pg_roles WHERE rolname = %s", params=(role,)) == [(7,)]
    assert pg.sql("SELECT datconnlimit FROM pg_database WHERE datname = %s", params=(db,)) == [(9,)]

    # The role really logs in over TCP (scram) with a password that needs percent-encoding,
    # and sees its own setting where the superuser does not.
    with psycopg.connect(pg.url(role, "p@ss:w/rd", database=db), connect_timeout=10) as conn:
        assert conn.execute("SHOW idle_session_timeout").fetchone() == ("5min",)
    assert pg.sql("SHOW idle_session_timeout") == [("0",)]


def test_url_shapes() -> None:
    server = LocalPostgres(available_bindirs()[0], password="s3cr:t/")
    server.port = 5999
    assert server.url() == "postgresql://postgres:s3cr%3At%2F@127.0.0.1:5999/postgres"
    assert server.url("app", driver="asyncpg") == "postgresql+asyncpg://app@127.0.0.1:5999/postgres"
    assert server.url("a b", "p w", "d1") == "postgresql://a%20b:p%20w@127.0.0.1:5999/d1"


def test_stop_leaves_no_process_and_no_files(pg: LocalPostgres) -> None:
    server = LocalPostgres(pg.bindir).start()
    pid = server.pid
    root = server.root
    assert pid is not None and root is not None and root.is_dir()
    # A live client makes a backend child: it must go too.
    with psycopg.connect(server.url(), connect_timeout=10, autocommit=True) as conn:
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert backend is not None
        server.stop()
    assert not _alive(pid)
    assert not _alive(backend[0])
    assert not root.exists()
    assert not server.running
    server.stop()  # idempotent


def test_restart_keeps_port_and_data(pg: LocalPostgres, make_pg: MakePg) -> None:
    server = make_pg(bindir=pg.bindir)
    server.sql("CREATE TABLE kept (v int)")
    server.sql("INSERT INTO kept VALUES (42)")
    port, pid = server.port, server.pid
    server.restart()
    assert server.port == port
    assert server.pid != pid and pid is not None and not _alive(pid)
    assert server.sql("SELECT v FROM kept") == [(42,)]


def test_failed_start_reports_the_log_and_cleans_up(pg: LocalPostgres) -> None:
    server = LocalPostgres(pg.bindir, settings={"no_such_setting_xyz": "1"})
    with pytest.raises(LocalPostgresError, match="no_such_setting_xyz"):
        server.start(timeout=20)
    assert server.root is None and not server.running


def test_busy_fixed_port_is_an_error_not_a_hang(pg: LocalPostgres) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        server = LocalPostgres(pg.bindir, port=busy.getsockname()[1])
        with pytest.raises(LocalPostgresError, match="Address already in use"):
            server.start(timeout=20)
    assert server.root is None


def test_ssl_server(pg: LocalPostgres, make_pg: MakePg) -> None:
    if server_supports_ssl(pg.bindir) is False:
        # The embedded wheel is built without OpenSSL: asking for SSL must fail loudly, at once.
        with pytest.raises(LocalPostgresError, match="without SSL"):
            make_pg(bindir=pg.bindir, ssl=True)
        return
    server = make_pg(bindir=pg.bindir, ssl=True)
    with psycopg.connect(server.url(), sslmode="require", connect_timeout=10) as conn:
        row = conn.execute("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()
    assert row is not None and row[0] is True and row[1].startswith("TLS")


def test_pgbouncer_transaction_mode(pg: LocalPostgres, make_pgbouncer: MakePgBouncer, unique_name: str) -> None:
    pg.create_role(unique_name, "app-pw")
    bouncer = make_pgbouncer(pg, pool_mode="transaction", users={unique_name: "app-pw"})
    assert bouncer.port != pg.port and bouncer.host == "127.0.0.1"

    # prepare_threshold=None: no named prepared statements, which transaction pooling breaks.
    with psycopg.connect(
        bouncer.url(unique_name, "app-pw"), connect_timeout=10, autocommit=True, prepare_threshold=None
    ) as conn:
        row = conn.execute("SELECT pg_backend_pid(), inet_server_port()").fetchone()
        assert row is not None
        backend_pid, server_port = row
        assert server_port == pg.port  # we really went through to the upstream
        # The pid the driver got at startup is PgBouncer's random one, not the backend's.
        assert conn.info.backend_pid != backend_pid

    with psycopg.connect(bouncer.url(database="pgbouncer"), connect_timeout=10, autocommit=True) as admin:
        cur = admin.execute("SHOW POOLS", prepare=False)  # the console speaks only simple query
        assert cur.description is not None
        cols = [c.name for c in cur.description]
        pools = [dict(zip(cols, r)) for r in cur.fetchall()]
    mine = [p for p in pools if p["user"] == unique_name]
    assert mine and mine[0]["database"] == "postgres" and mine[0]["pool_mode"] == "transaction"
    assert ("pool_mode", "transaction") in {(r[0], r[1]) for r in bouncer.admin("SHOW CONFIG")}


def test_pgbouncer_with_asyncpg_and_settings(pg: LocalPostgres, make_pgbouncer: MakePgBouncer) -> None:
    bouncer = make_pgbouncer(pg, settings={"server_idle_timeout": "17", "default_pool_size": "3"})
    config = {r[0]: r[1] for r in bouncer.admin("SHOW CONFIG")}
    assert config["server_idle_timeout"] == "17"
    assert config["default_pool_size"] == "3"

    async def through() -> int:
        # asyncpg sends startup parameters PgBouncer must be told to ignore.
        conn = await asyncpg.connect(bouncer.url(), timeout=10, server_settings={"application_name": "t"})
        try:
            return int(await conn.fetchval("SELECT inet_server_port()"))
        finally:
            await conn.close()

    assert asyncio.run(through()) == pg.port


def test_pgbouncer_stop_leaves_nothing(pg: LocalPostgres, make_pgbouncer: MakePgBouncer) -> None:
    bouncer = make_pgbouncer(pg)
    pid, root = bouncer.pid, bouncer.root
    assert pid is not None and isinstance(root, Path) and root.is_dir()
    bouncer.stop()
    assert not _alive(pid) and not root.exists()
    bouncer.stop()
