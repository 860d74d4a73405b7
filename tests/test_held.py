"""Held connections and open transactions (issue 26): what check says, what the drivers really raise, and what
the monitor records with hold_warn, against real servers.

The app is tests/apps/held/routes.py: plain coroutines standing in for FastAPI routes, one holding its
transaction across a slow call, one never closing its session. Limits are scaled (1 s, held 1.5 s).
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg
import jsonschema
import psycopg
import pytest
from cli_runner import run_pool_doctor
from harness import LocalPostgres
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from test_formats import schema
from test_rules import Case, server, setting

from pool_doctor.connection.drivers import DRIVERS
from pool_doctor.inspect.pooler import TRANSACTION, PoolerFacts
from pool_doctor.monitor import stats, watch
from pool_doctor.rules import evaluate

ROUTES = Path(__file__).parent / "apps" / "held"
PASSWORD = "s3cr3t-Pw!held"
LIMIT = "1s"
HOLD = 1.5


@pytest.fixture
def routes() -> Iterator[Any]:
    sys.path.insert(0, str(ROUTES))
    try:
        import routes as module

        yield module
    finally:
        sys.path.remove(str(ROUTES))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def line_of(path: Path, fragment: str) -> int:
    """The line of routes.py holding `fragment`: the test says which statement, not a number to keep in step."""
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if fragment in line)


# -- check: the rules, table-driven ---------------------------------------------------------------------


def test_idle_in_transaction_finding_says_the_drivers_error_the_patterns_and_the_pools_numbers() -> None:
    limit = setting("idle_in_transaction_session_timeout", 2, "ALTER ROLE app")
    for driver, error in (
        ("asyncpg", "asyncpg's InterfaceError: connection is closed"),
        ("psycopg", "psycopg's IdleInTransactionSessionTimeout"),
    ):
        case = Case(
            "iit", {}, server(limit), pool={"pool_size": 3, "max_overflow": 2, "pool_timeout": 7}, driver=driver
        )
        finding = next(f for f in evaluate(case.facts()) if f.code == "idle-in-transaction-timeout")
        assert "idle_in_transaction_session_timeout = 2s, set by ALTER ROLE app" in finding.detail
        assert error in finding.detail and f"the app sees: {DRIVERS[driver].held_error(limit.name)}" in finding.evidence
        assert "StreamingResponse" in finding.detail and "try/finally" in finding.detail
        assert (
            "5 connections held or leaked (pool_size 3 + max_overflow 2) and the next request waits: after 7s of "
            "waiting, sqlalchemy's TimeoutError: QueuePool limit of size 3 overflow 2 reached, connection timed "
            "out, timeout 7.00" in finding.evidence
        )


def test_no_exhaustion_line_for_a_pool_without_a_bound() -> None:
    limit = setting("idle_in_transaction_session_timeout", 2, "ALTER ROLE app")
    case = Case("nullpool", {}, server(limit), pool={"poolclass": "NullPool"})
    finding = next(f for f in evaluate(case.facts()) if f.code == "idle-in-transaction-timeout")
    assert not [line for line in finding.evidence if "QueuePool" in line]


def test_statement_level_limits_name_the_error_and_keep_the_connection() -> None:
    case = Case("st", {}, server(setting("statement_timeout", 30, "ALTER ROLE app")), driver="asyncpg")
    finding = next(f for f in evaluate(case.facts()) if f.code == "statement-timeout")
    assert "ERROR 57014" in finding.detail and "QueryCanceledError" in finding.detail


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({}, None),
        ({"idle_transaction_timeout": "0", "query_timeout": "0"}, None),
        ({"idle_transaction_timeout": "30", "query_timeout": "120"}, "idle_transaction_timeout 30s"),
        ({"query_timeout": "120", "transaction_timeout": "60"}, "transaction_timeout 1min"),
    ],
)
def test_pooler_held_limits(config: dict[str, str], expected: str | None) -> None:
    pooler = PoolerFacts(kind=TRANSACTION, product="PgBouncer 1.25.0", pool_mode="transaction", config=config)
    facts = replace(Case("pooler", {}).facts(), pooler=pooler)
    found = [f for f in evaluate(facts) if f.code == "pooler-held-limits"]
    if expected is None:
        assert found == []
        return
    (finding,) = found
    assert expected in finding.title
    assert all(f"{key} = " in " ".join(finding.evidence) for key, value in config.items() if value != "0")


# -- check, end to end on every major -------------------------------------------------------------------


def test_check_names_the_role_setting_and_its_source(pg: LocalPostgres, unique_name: str, tmp_path: Path) -> None:
    settings = {"idle_in_transaction_session_timeout": "2s", "statement_timeout": "30s"}
    if pg.major >= 17:
        settings["transaction_timeout"] = "1min"
    pg.create_role(unique_name, PASSWORD, settings=settings)
    run = run_pool_doctor(
        "check", "--json", "--url", pg.url(unique_name, PASSWORD, driver="asyncpg"), secret=PASSWORD, cwd=tmp_path
    )
    assert run.code == 0, run.stderr
    iit = run.finding("idle-in-transaction-timeout")
    assert f"idle_in_transaction_session_timeout = 2s, set by ALTER ROLE {unique_name}" in iit["detail"]
    assert "asyncpg's InterfaceError: connection is closed" in iit["detail"]
    assert "QueuePool limit of size 5 overflow 10 reached" in " ".join(iit["evidence"])
    assert "ERROR 57014" in run.finding("statement-timeout")["detail"]
    codes = {f["code"] for f in run.json()["findings"]}
    assert ("transaction-timeout" in codes) is (pg.major >= 17)  # PostgreSQL 17 added transaction_timeout


# -- the drivers' errors are what held_errors says (the claims check prints) ----------------------------


def test_drivers_raise_what_check_says(pg: LocalPostgres, unique_name: str) -> None:
    pg.create_role(unique_name, PASSWORD, settings={"idle_in_transaction_session_timeout": "500ms"})
    url = pg.url(unique_name, PASSWORD)
    seen: dict[tuple[str, str], str] = {}

    async def with_asyncpg() -> None:
        conn = await asyncpg.connect(url)
        await conn.transaction().start()
        await conn.execute("SELECT 1")
        await asyncio.sleep(0.8)
        try:
            await conn.execute("SELECT 1")
        except Exception as exc:
            seen[("asyncpg", "idle_in_transaction_session_timeout")] = f"{type(exc).__name__}: {exc}"
        conn = await asyncpg.connect(url)
        await conn.execute("SET statement_timeout = '100ms'")
        try:
            await conn.execute("SELECT pg_sleep(1)")
        except Exception as exc:
            seen[("asyncpg", "statement_timeout")] = f"{type(exc).__name__}: {exc}"
        await conn.close()

    asyncio.run(with_asyncpg())
    with psycopg.connect(url) as conn:
        conn.execute("SELECT 1")
        time.sleep(0.8)
        with pytest.raises(psycopg.Error) as raised:
            conn.execute("SELECT 1")
        seen[("psycopg", "idle_in_transaction_session_timeout")] = f"{type(raised.value).__name__}: {raised.value}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET statement_timeout = '100ms'")
        with pytest.raises(psycopg.Error) as raised:
            conn.execute("SELECT pg_sleep(1)")
        seen[("psycopg", "statement_timeout")] = f"{type(raised.value).__name__}: {raised.value}"
    for (driver, name), error in seen.items():
        said = DRIVERS[driver].held_error(name)
        assert said.split("'s ", 1)[1].split(" (a statement")[0] == error.strip(), (driver, name, error)
    assert len(seen) == 4


# -- the monitor: hold_warn, leaks, deaths with the app's line -----------------------------------------


@pytest.fixture(scope="module")
def held_server(pg_bindirs: list[Path]) -> Iterator[LocalPostgres]:
    with LocalPostgres(pg_bindirs[0]) as pg:
        yield pg


def test_held_transaction_dies_and_the_records_name_the_cause_and_the_apps_line(
    held_server: LocalPostgres,
    unique_name: str,
    tmp_path: Path,
    routes: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    held_server.create_role(unique_name, PASSWORD, settings={"idle_in_transaction_session_timeout": LIMIT})
    log = tmp_path / "held.jsonl"
    source = ROUTES / "routes.py"
    caplog.set_level(logging.WARNING, logger="pool_doctor.monitor")
    outcome: dict[str, Any] = {}

    async def scenario() -> None:
        engine = create_async_engine(held_server.url(unique_name, PASSWORD, driver="asyncpg"))
        watch(engine, hold_warn=1.0, jsonl=log)
        factory = async_sessionmaker(engine)
        opened: list[Any] = []

        def sessions() -> Any:
            opened.append(factory())
            return opened[-1]

        with pytest.raises(DBAPIError) as raised:
            await routes.summarise(sessions, HOLD)
        outcome["error"] = raised.value.orig
        assert await routes.report(sessions) == 3  # its session is never closed
        outcome["stats"] = stats(engine)
        await engine.dispose()
        for session in opened:  # the app never does; the test leaves no connection for the collector
            await session.close()

    asyncio.run(scenario())
    assert type(outcome["error"]).__name__ == "InterfaceError" and "connection is closed" in str(outcome["error"])
    records = read_jsonl(log)
    events = {record["event"]: record for record in records}
    assert set(events) == {"death", "held", "leaked"}, records
    taken = f"{source.relative_to(Path.cwd()) if source.is_relative_to(Path.cwd()) else source}"
    summarise_line = line_of(source, 'text("SELECT 1")')
    death = events["death"]
    assert death["cause"]["name"] == "idle_in_transaction_session_timeout"
    assert death["cause"]["what"] == f"idle_in_transaction_session_timeout = {LIMIT}, set by ALTER ROLE {unique_name}"
    assert death["where"] == {
        "file": taken,
        "line": summarise_line,
        "function": "summarise",
        "at": f"{taken}:{summarise_line}",
    }
    held = events["held"]
    assert held["where"]["at"] == f"{taken}:{summarise_line}" and held["in_transaction"] is True
    assert held["held_s"] >= HOLD and held["hold_warn_s"] == 1.0
    leaked = events["leaked"]
    assert leaked["where"]["at"] == f"{taken}:{line_of(source, 'SELECT 3')}"
    assert leaked["how"] == "still checked out at dispose()"
    assert (outcome["stats"]["held"], outcome["stats"]["leaked"]) == (1, 0)  # the leak is found at dispose()
    assert any(f"taken at {taken}:{summarise_line} in summarise" in r.getMessage() for r in caplog.records)

    run = run_pool_doctor("explain", str(log), "--format", "json", secret=PASSWORD, cwd=tmp_path)
    assert run.code == 0, run.stderr
    jsonschema.validate(run.json(), schema("explain"))
    holders = {h["at"]: h for h in run.json()["holders"]}
    assert holders[f"{taken}:{summarise_line}"] | {"longest_s": 0} == {
        "at": f"{taken}:{summarise_line}",
        "function": "summarise",
        "held": 1,
        "leaked": 0,
        "deaths": 1,
        "longest_s": 0,
        "in_transaction": 1,
    }
    assert holders[f"{taken}:{line_of(source, 'SELECT 3')}"]["leaked"] == 1
    table = run_pool_doctor("explain", str(log), secret=PASSWORD, cwd=tmp_path, env={"COLUMNS": "80"})
    assert "by the line that took them" in table.stdout
    assert max(len(line) for line in table.stdout.splitlines()) <= 80


def test_a_connection_collected_while_checked_out_is_a_leak(
    held_server: LocalPostgres, unique_name: str, recwarn: pytest.WarningsRecorder
) -> None:
    held_server.create_role(unique_name, PASSWORD)
    engine = create_engine(held_server.url(unique_name, PASSWORD, driver="psycopg"))
    monitor = watch(engine, hold_warn=5.0)

    def handler() -> None:
        conn = engine.connect()
        conn.execute(text("SELECT 1"))  # never closed

    def quick() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    handler()
    gc.collect()
    quick()
    assert monitor.stats()["leaked"] == 1 and monitor.stats()["held"] == 0
    (leak,) = [r for r in monitor.records if r["event"] == "leaked"]
    assert leak["where"]["function"] == "handler" and leak["in_transaction"] is True
    assert leak["how"] == "collected while checked out: never closed"
    assert engine.pool.checkedout() == 0  # SQLAlchemy's own finalizer returned it
    monitor.close()
    engine.dispose()


def test_without_hold_warn_nothing_is_located(held_server: LocalPostgres, unique_name: str) -> None:
    held_server.create_role(unique_name, PASSWORD)
    engine = create_engine(held_server.url(unique_name, PASSWORD, driver="psycopg"))
    monitor = watch(engine)
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_sleep(0.05)"))
    engine.dispose()
    assert monitor.stats()["held"] == monitor.stats()["leaked"] == 0
    assert vars(engine).get("dispose") is None  # no wrapper without hold_warn
    monitor.close()


# -- scan: the patterns at their lines, in every format ----------------------------------------------------

HELD_CODES = {
    "session-dependency-without-finally",
    "streaming-response-holds-session",
    "transaction-spans-external-call",
    "connection-never-released",
}


def flagged_in(source: Path) -> set[tuple[str, int]]:
    """(code, line) of each `# flagged: code` comment in the fixture: the scan must find these and no others."""
    return {
        (line.split("# flagged: ", 1)[1].strip(), number)
        for number, line in enumerate(source.read_text().splitlines(), 1)
        if "# flagged: " in line
    }


def test_scan_flags_the_patterns_at_their_lines_and_not_the_correct_ones() -> None:
    source = ROUTES / "deps.py"
    expected = flagged_in(source)
    assert {code for code, _ in expected} == HELD_CODES
    # From the fixture's directory, as a user scans their own app: the paths stay short enough for 80 columns.
    run = run_pool_doctor("scan", source.name, "--format", "json", secret=PASSWORD, cwd=ROUTES)
    assert run.code == 0, run.stderr
    found = {(f["code"], f["line"]) for f in run.json()["findings"] if f["code"] in HELD_CODES}
    assert found == expected
    for finding in run.json()["findings"]:
        if finding["code"] in HELD_CODES:
            assert finding["evidence"][0] == f"{source.name}:{finding['line']}"

    sarif = run_pool_doctor("scan", source.name, "--format", "sarif", secret=PASSWORD, cwd=ROUTES).json()
    results = {
        (r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"])
        for r in sarif["runs"][0]["results"]
        if r["ruleId"] in HELD_CODES
    }
    assert results == expected
    rules = {rule["id"]: rule for rule in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["session-dependency-without-finally"]["name"] == "SessionDependencyWithoutFinally"

    table = run_pool_doctor("scan", source.name, secret=PASSWORD, cwd=ROUTES, env={"COLUMNS": "80"})
    for code, line in expected:
        assert re.search(rf"{code}\s+{source.name}:{line}\b", table.stdout), (code, table.stdout)
    assert max(len(line) for line in table.stdout.splitlines()) <= 80


def test_scan_finds_them_in_a_file_that_creates_no_pool(tmp_path: Path) -> None:
    """Routes often live apart from the engine: the file is read for the patterns alone."""
    routes = tmp_path / "routes.py"
    routes.write_text(
        "from db import SessionLocal\n\n\n"
        "def get_db():\n"
        "    session = SessionLocal()\n"
        "    yield session\n"
        "    session.close()\n"
    )
    run = run_pool_doctor("scan", str(tmp_path), "--format", "json", secret=PASSWORD, cwd=tmp_path)
    assert [(f["code"], f["line"]) for f in run.json()["findings"]] == [("session-dependency-without-finally", 6)]
    table = run_pool_doctor("scan", str(tmp_path), secret=PASSWORD, cwd=tmp_path, env={"COLUMNS": "80"})
    assert "session-dependency-without-finally" in table.stdout


# -- the other stacks' monitors: the same held record, through their own hooks --------------------------


def test_asyncpg_and_psycopg_pool_monitors_name_the_line_that_held_too_long(
    held_server: LocalPostgres, unique_name: str
) -> None:
    from psycopg_pool import ConnectionPool

    from pool_doctor.monitor.asyncpg_pool import AsyncpgPoolMonitor
    from pool_doctor.monitor.psycopg_pool import PsycopgPoolMonitor

    held_server.create_role(unique_name, PASSWORD)
    url = held_server.url(unique_name, PASSWORD)
    here = Path(__file__).name

    async def with_asyncpg() -> AsyncpgPoolMonitor:
        monitor = AsyncpgPoolMonitor(target="app", hold_warn=0.2)
        pool = await monitor.create_pool(url, min_size=1, max_size=1)
        async with pool.acquire() as conn:  # the app's line
            await conn.execute("SELECT 1")
            await asyncio.sleep(0.3)
        async with pool.acquire() as conn:  # quick: no record
            await conn.execute("SELECT 1")
        await pool.close()
        return monitor

    monitor = asyncio.run(with_asyncpg())
    (held,) = monitor.records
    assert held["event"] == "held" and held["where"]["function"] == "with_asyncpg"
    assert held["where"]["file"].endswith(here) and held["held_s"] >= 0.3

    psycopg_monitor = PsycopgPoolMonitor(target="app", hold_warn=0.2)
    pool = ConnectionPool(url, min_size=1, open=True, **psycopg_monitor.pool_kwargs())
    psycopg_monitor.attach(pool)
    try:
        with pool.connection() as conn:  # the app's line
            conn.execute("SELECT 1")
            time.sleep(0.3)
        deadline = time.monotonic() + 5
        while not psycopg_monitor.records and time.monotonic() < deadline:
            time.sleep(0.02)  # psycopg_pool returns a connection through its worker when a reset is given
    finally:
        pool.close()
    (held,) = psycopg_monitor.records
    assert held["event"] == "held" and held["where"]["file"].endswith(here)
    assert held["where"]["function"] == "test_asyncpg_and_psycopg_pool_monitors_name_the_line_that_held_too_long"


# -- probe: the scenario, on a real pool ------------------------------------------------------------------


def test_probe_idle_in_transaction_shows_the_real_error_and_what_no_setting_changes(
    held_server: LocalPostgres, unique_name: str, tmp_path: Path
) -> None:
    held_server.create_role(unique_name, PASSWORD, settings={"idle_in_transaction_session_timeout": "2s"})
    args = ("probe", "--json", "--connections", "1", "--load-seconds", "0.2", "--scenario", "idle_in_transaction")
    url = held_server.url(unique_name, PASSWORD, driver="asyncpg")
    run = run_pool_doctor(*args, "--url", url, secret=PASSWORD, cwd=tmp_path, timeout=60)
    results = {s["config"]: s for s in run.json()["scenarios"] if s["name"] == "idle_in_transaction"}
    assert set(results) == {"current", "recommended"}, run.stdout
    for result in results.values():
        assert result["outcome"] == "error", result
        assert "the underlying connection is closed" in result["error"]  # asyncpg's InterfaceError, its own words
        assert result["recovered"] is True  # SQLAlchemy invalidated it: the next request gets a new connection
        assert result["severity"] == "warning"  # as check says it
        assert result["scaled"]["idle_seconds"] > result["scaled"]["killer_scaled"]
        assert "No pool setting shortens a transaction" in result["reason"]

    held_server.create_role(f"{unique_name}_off", PASSWORD)
    off = held_server.url(f"{unique_name}_off", PASSWORD, driver="asyncpg")
    quiet = run_pool_doctor(*args, "--url", off, secret=PASSWORD, cwd=tmp_path, timeout=60)
    (skipped, _) = [s for s in quiet.json()["scenarios"] if s["name"] == "idle_in_transaction"]
    assert skipped["outcome"] == "skipped" and "is off for role" in skipped["reason"]
