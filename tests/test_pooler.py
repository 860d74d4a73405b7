"""A real PgBouncer between pool-doctor and a real PostgreSQL, in session and transaction pooling."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cli_runner import Run, run_pool_doctor, run_pool_doctor_subprocess
from harness import LocalPostgres

pytestmark = pytest.mark.pgbouncer

PASSWORD = "pb-app-pw"


def run(*args: str, timeout: float = 60) -> Run:
    return run_pool_doctor(*args, secret=PASSWORD, timeout=timeout)


def run_fresh(*args: str) -> Run:
    return run_pool_doctor_subprocess(*args, secret=PASSWORD, timeout=180)


def check_json(*args: str) -> tuple[int, dict[str, Any]]:
    result = run("check", "--json", *args)
    assert result.code in (0, 1), result.stderr
    return result.code, json.loads(result.stdout)


def by_code(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {finding["code"]: finding for finding in doc["findings"]}


@pytest.fixture
def app(pg: LocalPostgres, unique_name: str) -> tuple[str, str]:
    role, db = f"{unique_name}_app", f"{unique_name}_db"
    pg.create_role(role, PASSWORD)
    pg.create_database(db, owner=role)
    return role, db


@pytest.mark.parametrize("driver", ["asyncpg", "psycopg"])
def test_session_pooling_is_detected_without_a_prepared_statement_finding(
    pg: LocalPostgres, make_pgbouncer: Any, app: tuple[str, str], driver: str
) -> None:
    role, db = app
    bouncer = make_pgbouncer(pg, pool_mode="session", users={role: PASSWORD})
    code, doc = check_json("--url", bouncer.url(role, PASSWORD, db, driver=driver))
    assert doc["pooler"]["kind"] == "session"
    findings = by_code(doc)
    assert "pooler-detected" in findings
    assert not [c for c in findings if c.startswith("pooler-prepared")]
    # The app's role is not a console user here: detection came from the client's own clues.
    assert doc["pooler"]["admin_error"] and PASSWORD not in doc["pooler"]["admin_error"]
    assert any("startup" in line for line in doc["pooler"]["evidence"])
    assert code == 0


def test_transaction_pooling_with_asyncpg_is_critical_with_the_exact_error(
    pg: LocalPostgres, make_pgbouncer: Any, app: tuple[str, str]
) -> None:
    role, db = app
    bouncer = make_pgbouncer(pg, pool_mode="transaction", users={role: PASSWORD})
    code, doc = check_json("--url", bouncer.url(role, PASSWORD, db, driver="asyncpg"))
    assert code == 1
    assert doc["pooler"]["kind"] == "transaction"
    finding = by_code(doc)["pooler-prepared-statements"]
    assert finding["severity"] == "critical"
    assert 'prepared statement "__asyncpg_stmt_1__" already exists' in finding["detail"]


def test_admin_console_client_idle_timeout_below_recycle_is_critical(
    pg: LocalPostgres, make_pgbouncer: Any, app: tuple[str, str]
) -> None:
    role, db = app
    bouncer = make_pgbouncer(
        pg, pool_mode="session", users={role: PASSWORD}, settings={"client_idle_timeout": "60", "stats_users": role}
    )
    url = bouncer.url(role, PASSWORD, db, driver="asyncpg")
    code, doc = check_json("--url", url, "--pool-recycle", "1800", "--no-pool-pre-ping")
    assert doc["pooler"]["admin_error"] is None
    assert doc["pooler"]["product"].startswith("PgBouncer")
    assert doc["pooler"]["config"]["client_idle_timeout"] in ("60", "60s")
    finding = by_code(doc)["pooler-client-idle-timeout"]
    assert finding["severity"] == "critical" and code == 1

    # The one judge: a close the pooler sends is caught by pre-ping, as the server's own would be.
    code, doc = check_json("--url", url, "--pool-recycle", "1800", "--pool-pre-ping")
    assert by_code(doc)["pooler-client-idle-timeout-replaced"]["severity"] == "info"

    code, doc = check_json("--url", url, "--pool-recycle", "50", "--pool-pre-ping")
    assert "pooler-client-idle-timeout" not in by_code(doc)
    assert code == 0


def test_explicit_admin_url_reads_the_console_as_another_user(
    pg: LocalPostgres, make_pgbouncer: Any, app: tuple[str, str]
) -> None:
    role, db = app
    bouncer = make_pgbouncer(pg, pool_mode="transaction", users={role: PASSWORD}, settings={"max_client_conn": "20"})
    admin = bouncer.url("postgres", database="pgbouncer")
    result = run(
        "check",
        "--json",
        "--url",
        bouncer.url(role, PASSWORD, db, driver="psycopg"),
        "--pgbouncer-admin-url",
        admin,
        "--replicas",
        "2",
    )
    doc = json.loads(result.stdout)
    assert doc["pooler"]["pool_mode"] == "transaction"
    findings = by_code(doc)
    assert findings["pooler-max-client-conn"]["severity"] == "critical"  # 2 x 15 > 20
    assert findings["pooler-prepared-statements"]["severity"] == "critical"
    assert pg.password not in result.stdout + result.stderr


@pytest.mark.parametrize("driver", ["asyncpg", "psycopg"])
def test_recommendation_behind_transaction_pooling_clears_the_finding(
    pg: LocalPostgres, make_pgbouncer: Any, app: tuple[str, str], driver: str, tmp_path: Path
) -> None:
    role, db = app
    bouncer = make_pgbouncer(
        pg,
        pool_mode="transaction",
        users={role: PASSWORD},
        settings={"client_idle_timeout": "120", "stats_users": role},
    )
    url = bouncer.url(role, PASSWORD, db, driver=driver)
    rec = json.loads(run("recommend", "--url", url, "--format", "json").stdout)["recommendation"]
    assert rec["pool_recycle"] < 120 and rec["pool_pre_ping"] is True
    args = rec["connect_args"]
    if driver == "asyncpg":
        assert args["statement_cache_size"] == 0 and args["prepared_statement_cache_size"] == 0
        assert args["prepared_statement_name_func"]
        assert "server_settings" not in args  # PgBouncer refuses unknown startup parameters
    else:
        assert "prepare_threshold" in args and args["prepare_threshold"] is None

    config = tmp_path / "pool-doctor.toml"
    config.write_text(run("recommend", "--url", url, "--format", "toml").stdout)
    code, doc = check_json("--url", url, "--config", str(config), "--fail-on", "warning")
    assert [f for f in doc["findings"] if f["severity"] != "info"] == []
    assert code == 0

    python = run("recommend", "--url", url, "--format", "python").stdout
    compile(python, "<recommend>", "exec")
    if driver == "asyncpg":
        assert "uuid4()" in python


def test_no_pooler_costs_no_second_connection(pg: LocalPostgres, app: tuple[str, str]) -> None:
    role, db = app
    _, doc = check_json("--url", pg.url(role, PASSWORD, db, driver="asyncpg"))
    assert doc["pooler"]["kind"] == "none"
    assert not [f for f in doc["findings"] if f["code"].startswith("pooler")]


@pytest.mark.parametrize("driver", ["asyncpg", "psycopg"])
def test_probe_reproduces_the_prepared_statement_failure_and_the_fix(
    pg: LocalPostgres, make_pgbouncer: Any, app: tuple[str, str], driver: str
) -> None:
    role, db = app
    bouncer = make_pgbouncer(pg, pool_mode="transaction", users={role: PASSWORD})
    result = run(
        "probe",
        "--json",
        "--url",
        bouncer.url(role, PASSWORD, db, driver=driver),
        "--scenario",
        "prepared_statements",
        "--load-seconds",
        "0.5",
        timeout=120,
    )
    assert result.code == 1, result.stderr  # the current settings fail
    doc = json.loads(result.stdout)
    outcomes = {s["config"]: s for s in doc["scenarios"] if s["name"] == "prepared_statements"}
    current, recommended = outcomes["current"], outcomes["recommended"]
    assert current["outcome"] == "error"
    assert re.search(
        r'prepared statement "(__asyncpg_stmt_[0-9a-f]+__|_pg3_\d+)" (does not exist|already exists)', current["error"]
    ), current
    assert recommended["outcome"] == "ok", recommended
    assert (
        doc["configs"]["recommended"]["connect_args"].get(
            "prepared_statement_name_func" if driver == "asyncpg" else "prepare_threshold", "missing"
        )
        != "missing"
    )


def test_prepared_statement_scenario_is_skipped_without_transaction_pooling(
    pg: LocalPostgres, make_pgbouncer: Any, app: tuple[str, str]
) -> None:
    role, db = app
    bouncer = make_pgbouncer(pg, pool_mode="session", users={role: PASSWORD})
    result = run(
        "probe",
        "--json",
        "--url",
        bouncer.url(role, PASSWORD, db, driver="asyncpg"),
        "--scenario",
        "prepared_statements",
        "--load-seconds",
        "0.5",
        timeout=120,
    )
    doc = json.loads(result.stdout)
    assert {s["outcome"] for s in doc["scenarios"]} == {"skipped"}
    assert result.code == 0, result.stderr


LEAVE_STATEMENTS = """
import asyncio, sys
import asyncpg

async def client(inside):
    port, user, password, database = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    conn = await asyncpg.connect(
        host="127.0.0.1", port=port, user=user, password=password, database=database, timeout=10
    )
    try:
        async with conn.transaction():
            for n in range(4):
                await conn.fetchval("SELECT $1::int", n)
            await asyncio.wait_for(inside.wait(), 10)
    finally:
        await conn.close()

async def clients(backends):
    inside = asyncio.Barrier(backends)
    await asyncio.gather(*(client(inside) for _ in range(backends)))

asyncio.run(clients(int(sys.argv[5])))
"""


BACKENDS = 3  # the pooler's default_pool_size in the test below: the app's statements are on each


def _leave_asyncpg_statements(bouncer: Any, role: str, db: str, backends: int = BACKENDS) -> None:
    """An app's asyncpg clients ran through the pooler first: their numbered statements (__asyncpg_stmt_1__
    and on) stay on the server backends. In a process of their own, as an app's: asyncpg numbers statements
    per process, so a client in the test's process would never collide with a fresh one. `backends` clients
    at once, each in a transaction until all are in one, so that many backends each hold them."""
    args = [str(bouncer.port), role, PASSWORD, db, str(backends)]
    subprocess.run([sys.executable, "-c", LEAVE_STATEMENTS, *args], check=True, capture_output=True, timeout=60)


def test_probe_behind_transaction_pooling_runs_whatever_the_backends_hold(
    pg: LocalPostgres, make_pgbouncer: Any, app: tuple[str, str], tmp_path: Path
) -> None:
    """Backends that already hold asyncpg's __asyncpg_stmt_N__ (the app ran first): the probe's own measurements
    cannot collide with them, every scenario runs, and the pooler's client_idle_timeout, given in [pooler] as the
    console cannot be read, is reproduced: current fails as the app does, recommended passes. Exit 1, not 3."""
    role, db = app
    bouncer = make_pgbouncer(
        pg, pool_mode="transaction", users={role: PASSWORD}, settings={"default_pool_size": str(BACKENDS)}
    )
    _leave_asyncpg_statements(bouncer, role, db)
    config = tmp_path / "pooler.toml"
    config.write_text('[pooler]\nclient_idle_timeout = 4\npool_mode = "transaction"\n')
    url = bouncer.url(role, PASSWORD, db, driver="asyncpg")
    # In processes of their own, as pool-doctor runs beside an app: its statements are numbered from 1 too.
    result = run_fresh("probe", "--json", "--url", url, "--config", str(config), "--load-seconds", "0.5")
    assert result.code == 1, result.stderr
    doc = json.loads(result.stdout)
    outcomes = {(s["name"], s["config"]): s for s in doc["scenarios"]}
    assert outcomes[("prepared_statements", "current")]["outcome"] == "error"
    assert outcomes[("prepared_statements", "recommended")]["outcome"] == "ok"
    idle = outcomes[("pooler_client_idle", "current")]
    assert idle["outcome"] == "error" and "connection is closed" in idle["error"], idle
    assert outcomes[("pooler_client_idle", "recommended")]["outcome"] == "ok"
    # Without the value, the scenario says how to give it.
    result = run_fresh("probe", "--url", url, "--scenario", "pooler_client_idle", "--load-seconds", "0.5")
    assert result.code == 0, result.stderr
    flat = " ".join(result.stdout.split())
    assert "client_idle_timeout is not known" in flat
    # the load step's errors are counted, and the first is named (the app's statements collide)
    assert "first load error" in flat and "prepared statement" in flat, result.stdout


def test_unreadable_pooler_limits_are_a_warning_naming_client_idle_timeout(
    pg: LocalPostgres, make_pgbouncer: Any, app: tuple[str, str], tmp_path: Path
) -> None:
    """The console refuses the app's role: a pool without a liveness check is a warning that names the limit it
    cannot see; given in [pooler], the limit is judged as the console's would be, with its source."""
    role, db = app
    bouncer = make_pgbouncer(pg, pool_mode="session", users={role: PASSWORD}, settings={"client_idle_timeout": "4"})
    url = bouncer.url(role, PASSWORD, db, driver="asyncpg")
    code, doc = check_json("--url", url, "--no-pool-pre-ping")
    assert doc["pooler"]["admin_error"]
    finding = by_code(doc)["no-liveness-check"]
    assert finding["severity"] == "warning" and "client_idle_timeout" in finding["detail"], finding
    assert code == 0  # a warning: --fail-on critical passes
    assert run("check", "--url", url, "--no-pool-pre-ping", "--fail-on", "warning").code == 1
    code, doc = check_json("--url", url, "--pool-pre-ping")
    assert "no-liveness-check" not in by_code(doc)

    config = tmp_path / "pooler.toml"
    config.write_text("[pooler]\nclient_idle_timeout = 4\n")
    code, doc = check_json("--url", url, "--no-pool-pre-ping", "--config", str(config))
    finding = by_code(doc)["pooler-client-idle-timeout"]
    assert finding["severity"] == "critical" and code == 1
    assert "[pooler] client_idle_timeout" in finding["detail"]
    assert "no-liveness-check" not in by_code(doc)


def test_a_console_named_with_a_wrong_password_is_an_error_not_a_finding(
    pg: LocalPostgres, make_pgbouncer: Any, app: tuple[str, str]
) -> None:
    """--pgbouncer-admin-url asks for the console by name: refused, the run says so in one line, exit 3."""
    role, db = app
    bouncer = make_pgbouncer(pg, pool_mode="transaction", users={role: PASSWORD})
    admin = bouncer.url("postgres", f"wrong-{PASSWORD}", database="pgbouncer")
    result = run("check", "--url", bouncer.url(role, PASSWORD, db, driver="asyncpg"), "--pgbouncer-admin-url", admin)
    assert result.code == 3, result.stdout + result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("pool-doctor: error:")]
    assert "--pgbouncer-admin-url" in line and "postgres:***@" in line and "wrong-" not in line, line
