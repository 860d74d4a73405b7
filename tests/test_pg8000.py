"""pg8000, through SQLAlchemy, on real runs: the errors check prints are the ones the app gets; a reset the
driver lets through unwrapped defeats pre-ping; check reads a pg8000 app's own arguments (no false exit 2);
recommend and fix write arguments pg8000 takes, and the fixed app still connects; check opens its session
through pg8000 when the URL says so."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cli_runner import run_pool_doctor
from harness import LocalPostgres

from pool_doctor.connection.drivers import DRIVERS
from pool_doctor.faults import ThreadedFaultProxy
from pool_doctor.path.judge import Outcome, judge
from pool_doctor.path.model import Layer, Limit, Provenance, Shape
from pool_doctor.stacks.sqlalchemy import SQLAlchemyStack

PASSWORD = "pg8000-pw-Q7"
PG8000 = DRIVERS["pg8000"]
PG8000_CHECKS = PG8000.argument_checks
APP = """\
from sqlalchemy import create_engine

engine = create_engine(
    "postgresql+pg8000://app@127.0.0.1:{port}/appdb",
    pool_size=5,
    connect_args={{"timeout": 10, "tcp_keepalive": True, "password": PASSWORD}},
)
"""


@pytest.fixture(scope="module")
def server(pg_bindirs: list[Path]) -> Iterator[LocalPostgres]:
    with LocalPostgres(pg_bindirs[0]) as pg:
        pg.create_role("app", PASSWORD, settings={"idle_session_timeout": "2s"})
        pg.create_database("appdb", owner="app")
        yield pg


def engine(server: LocalPostgres, port: int | None = None, **kwargs: Any) -> sa.Engine:
    url = sa.make_url(server.url("app", PASSWORD, "appdb", driver="pg8000"))
    return sa.create_engine(url.set(port=port or server.port), **kwargs)


def raised(conn: sa.Connection, statement: str) -> BaseException:
    with pytest.raises(Exception) as info:
        conn.exec_driver_sql(statement)
    error = info.value
    return getattr(error, "orig", None) or error


def said(text: str) -> str:
    """What a driver text says the app sees, after the driver's name and before any note."""
    return text.split("'s ", 1)[1].split(" (", 1)[0].removesuffix(", ...}")


def test_the_errors_check_prints_are_what_pg8000_raises(server: LocalPostgres, unique_name: str) -> None:
    server.create_role(unique_name, PASSWORD, settings={"idle_in_transaction_session_timeout": "500ms"})
    url = sa.make_url(server.url(unique_name, PASSWORD, "appdb", driver="pg8000"))
    seen: dict[str, BaseException] = {}
    with sa.create_engine(url, poolclass=sa.NullPool).connect() as conn:
        conn.exec_driver_sql("SELECT 1")  # a transaction begins, and idles
        time.sleep(1.0)
        seen["idle_in_transaction_session_timeout"] = raised(conn, "SELECT 1")
    with sa.create_engine(url, poolclass=sa.NullPool).connect() as conn:
        conn.exec_driver_sql("SET statement_timeout = '100ms'")
        seen["statement_timeout"] = raised(conn, "SELECT pg_sleep(1)")
    holder = sa.create_engine(url, poolclass=sa.NullPool).connect()
    holder.exec_driver_sql("SELECT pg_advisory_lock(4242)")
    with sa.create_engine(url, poolclass=sa.NullPool).connect() as conn:
        conn.exec_driver_sql("SET lock_timeout = '100ms'")
        seen["lock_timeout"] = raised(conn, "SELECT pg_advisory_lock(4242)")
    holder.close()
    with sa.create_engine(url.set(username="app", password=PASSWORD), poolclass=sa.NullPool).connect() as conn:
        conn.exec_driver_sql("SELECT 1")
        conn.commit()
        time.sleep(2.5)  # the role's idle_session_timeout (2s) ends the session
        closed = raised(conn, "SELECT 1")
    for name, error in seen.items():
        assert f"{type(error).__name__}: {error}".startswith(said(PG8000.held_error(name))), (name, error)
    assert f"{type(closed).__name__}: {closed}" == said(PG8000.errors["close"])


def test_a_reset_reaches_the_request_through_pre_ping_and_stays_in_the_pool_without(server: LocalPostgres) -> None:
    # pg8000 1.31 raises a reset on a reply's first read as Python's ConnectionResetError, which SQLAlchemy's
    # dialect never sees as a disconnect: the judge's ping_replaces_reset=False, and errors["reset"]
    outcomes: dict[bool, list[str]] = {}
    for ping in (True, False):
        with ThreadedFaultProxy("127.0.0.1", server.port, idle_timeout=0.5, mode="reset") as proxy:
            pool = engine(server, proxy.port, pool_size=1, max_overflow=0, pool_pre_ping=ping)
            with pool.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            time.sleep(1.0)
            outcomes[ping] = []
            for _ in range(2):
                try:
                    with pool.connect() as conn:
                        conn.exec_driver_sql("SELECT 1")
                    outcomes[ping].append("ok")
                except Exception as exc:
                    error = getattr(exc, "orig", None) or exc
                    outcomes[ping].append(f"{type(error).__name__}")
            pool.dispose()
    assert outcomes[True] == ["ConnectionResetError", "ok"]
    assert outcomes[False][0] == "ConnectionResetError" and outcomes[False][1] != "ok"
    assert not PG8000.reset_is_disconnect
    assert said(PG8000.errors["reset"]).startswith("ConnectionResetError")
    policy = SQLAlchemyStack().policy(
        SQLAlchemyStack.model.model_validate({"stack": "sqlalchemy", "pool_pre_ping": True}), {}, PG8000
    )
    assert not policy.ping_replaces_reset


def test_a_hung_pre_ping_fails_the_request_and_the_connection_is_replaced_after(server: LocalPostgres) -> None:
    # the first review: pg8000 raises its socket's timeout on a reply's first read as Python's TimeoutError,
    # unwrapped, so SQLAlchemy's pre-ping never sees a disconnect: the request fails after `timeout`
    with ThreadedFaultProxy("127.0.0.1", server.port, idle_timeout=0.5, mode="blackhole") as proxy:
        pool = engine(server, proxy.port, pool_size=1, max_overflow=0, pool_pre_ping=True, connect_args={"timeout": 1})
        with pool.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        time.sleep(1.0)
        outcomes = []
        for _ in range(2):
            try:
                with pool.connect() as conn:
                    conn.exec_driver_sql("SELECT 1")
                outcomes.append("ok")
            except Exception as exc:
                outcomes.append(type(getattr(exc, "orig", None) or exc).__name__)
        pool.dispose()
    assert outcomes == ["TimeoutError", "ok"]
    assert not PG8000.timeout_is_disconnect
    model = SQLAlchemyStack.model.model_validate({"stack": "sqlalchemy", "pool_pre_ping": True})
    policy = SQLAlchemyStack().policy(model, {"timeout": 1}, PG8000)
    verdict = judge(
        policy, Limit("idle_timeout", 60, Shape.DROP, Layer.NETWORK, "a middlebox", "x", Provenance.CONFIGURED)
    )
    assert verdict.outcome is Outcome.FAILS_BOUNDED


def test_pg8000_reads_no_password_file_and_takes_any_tcp_keepalive(server: LocalPostgres, tmp_path: Path) -> None:
    # the first review: PGPASSWORD filled in a password the app's pg8000 never finds (check passed where the app
    # could not connect), and `?tcp_keepalive=true`, which pg8000 takes, was "refused" (exit 2)
    url = server.url("app", None, "appdb", driver="pg8000")
    env = {"PGPASSWORD": PASSWORD}
    run = run_pool_doctor("check", "--url", url, secret=PASSWORD, cwd=tmp_path, env=env)
    assert run.code == 3
    assert "pg8000 reads neither PGPASSWORD nor ~/.pgpass" in run.stderr
    given = server.url("app", PASSWORD, "appdb", driver="pg8000") + "?tcp_keepalive=true"
    assert run_pool_doctor("check", "--url", given, "--fail-on", "never", secret=PASSWORD, cwd=tmp_path).code == 0


def test_check_recommend_and_fix_read_and_write_pg8000s_own_arguments(server: LocalPostgres, tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text(APP.format(port=server.port).replace("PASSWORD", repr(PASSWORD)))
    url = server.url("app", PASSWORD, "appdb")
    args = ("--url", url, "--app", ".", "--network-idle-timeout", "60")
    before = run_pool_doctor("check", *args, "--json", secret=PASSWORD, cwd=tmp_path)
    assert before.code == 1, before.stderr  # timeout and tcp_keepalive are pg8000's: no "would refuse" (exit 2)
    report = before.json()
    assert report["app"]["pools"][0]["driver"] == "pg8000"
    codes = {finding["code"] for finding in report["findings"]}
    assert "no-hang-bound" not in codes  # timeout=10 bounds a hung read
    assert {"network-idle-timeout", "idle-session-timeout"} <= codes
    diff = run_pool_doctor("recommend", *args, "--format", "diff", secret=PASSWORD, cwd=tmp_path)
    assert diff.code == 0, diff.stderr
    assert '"startup_params": {' in diff.stdout and '"tcp_keepalives_idle": "' in diff.stdout
    assert "keepalives_idle" not in diff.stdout.replace("tcp_keepalives_idle", "")  # no libpq keyword
    assert "tcp_user_timeout" not in diff.stdout
    fixed = run_pool_doctor("fix", *args, secret=PASSWORD, cwd=tmp_path)
    assert fixed.code == 0, fixed.stderr
    after = run_pool_doctor("check", *args, "--json", secret=PASSWORD, cwd=tmp_path)
    assert after.code == 0, after.stdout
    namespace: dict[str, Any] = {}
    exec(compile(app.read_text(), str(app), "exec"), namespace)  # the fixed app, as it runs
    with namespace["engine"].connect() as conn:
        keepalive = conn.exec_driver_sql("SHOW tcp_keepalives_idle").scalar()
    assert keepalive in ("30", "30s")  # the server sends them, as the app's startup_params asked
    namespace["engine"].dispose()


def test_check_opens_its_session_through_pg8000(server: LocalPostgres, tmp_path: Path) -> None:
    url = server.url("app", PASSWORD, "appdb", driver="pg8000")
    run = run_pool_doctor("check", "--url", url, "--json", secret=PASSWORD, cwd=tmp_path)
    assert run.code == 1, run.stderr  # the role's idle_session_timeout, with no pool setting against it
    report = json.loads(run.stdout)
    assert report["driver"] == "pg8000"
    assert report["server"]["startup_pid"] == report["server"]["backend_pid"]  # no pooler: one backend
    refused = run_pool_doctor("check", "--url", url + "?sslmode=require", secret=PASSWORD, cwd=tmp_path)
    assert refused.code == 2
    assert "pg8000 does not take sslmode" in refused.stderr and "ssl_context" in refused.stderr


def test_a_ping_that_fails_on_a_reset_does_not_cover_a_lifetime_within_the_margin() -> None:
    # the first review: pool_recycle 340 against a 350 s reset was judged to survive "with the check at checkout
    # covering the last seconds", though pg8000's ping meets the reset and fails the request
    model = SQLAlchemyStack.model.model_validate({"stack": "sqlalchemy", "pool_pre_ping": True, "pool_recycle": 340})
    policy = SQLAlchemyStack().policy(model, {}, PG8000)
    limit = Limit("idle_timeout", 350, Shape.RESET, Layer.NETWORK, "a NAT gateway", "x", Provenance.CONFIGURED)
    assert judge(policy, limit).outcome is Outcome.AT_RISK
    assert judge(SQLAlchemyStack().policy(model, {}, DRIVERS["psycopg2"]), limit).outcome is Outcome.SURVIVES


def test_the_startup_params_pg8000_takes_and_refuses() -> None:
    from pool_doctor.connection import arguments

    assert (
        arguments.problems({"startup_params": {"a": None, "b": b"x", "c": "1"}, "tcp_keepalive": 1}, PG8000_CHECKS)
        == []
    )
    refused = arguments.problems({"startup_params": {"application_name": "x"}}, PG8000_CHECKS)
    assert refused and "pg8000 refuses it there" in refused[0][1]
    assert arguments.problems({"startup_params": {"x": 60}}, PG8000_CHECKS)  # ("can't be of type int")
