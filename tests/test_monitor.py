"""pool_doctor.monitor against a real server: a role with a 2 s idle_session_timeout, real engines and pools.

One dedicated server (not one per major): the scenarios wait 3 s each, and what they test is the
monitor's bookkeeping, which does not depend on the major.
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness import LocalPostgres
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from pool_doctor.cli import main
from pool_doctor.inspect.sources import describe_source
from pool_doctor.monitor import NotRetryable, run_transaction, run_transaction_async, stats, watch

PASSWORD = "s3cr3t-Pw!mon"  # distinctive, so a leak is found by a plain substring search
IDLE_LIMIT = "2s"
IDLE = 3.0


@pytest.fixture(scope="module")
def server(pg_bindirs: list[Path]) -> Iterator[LocalPostgres]:
    with LocalPostgres(pg_bindirs[0]) as pg:
        yield pg


def role_limit(role: str) -> str:
    """How the record names a role-level limit: the tree's one wording of where a setting came from."""
    return f"idle_session_timeout = {IDLE_LIMIT}, set by {describe_source('user', role=role, database='postgres')}"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def test_idle_session_timeout_seen_from_the_app(
    server: LocalPostgres,
    unique_name: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The issue's done-when: defaults fail and the record names the limit; pre-ping replaces silently."""
    from prometheus_client import CollectorRegistry

    server.create_role(unique_name, PASSWORD, settings={"idle_session_timeout": IDLE_LIMIT})
    url = server.url(unique_name, PASSWORD, driver="asyncpg")
    registry = CollectorRegistry()
    files = {name: tmp_path / f"{name}.jsonl" for name in ("defaults", "pinged", "recycled")}
    caplog.set_level(logging.INFO, logger="pool_doctor.monitor")
    outcome: dict[str, Any] = {}

    async def scenario() -> None:
        engines = {
            "defaults": create_async_engine(url),
            "pinged": create_async_engine(url, pool_pre_ping=True),
            "recycled": create_async_engine(url, pool_recycle=1),
            "retried": create_async_engine(url),
        }
        monitors = []
        for name, engine in engines.items():
            monitors.append(watch(engine, jsonl=files.get(name), prometheus=registry if name == "defaults" else None))
            async with engine.connect() as conn:
                assert await conn.scalar(text("SELECT 1")) == 1
        await asyncio.sleep(IDLE)
        with pytest.raises(DBAPIError) as failed:
            async with engines["defaults"].connect() as conn:
                await conn.scalar(text("SELECT 2"))
        outcome["app_error"] = failed.value
        for name in ("pinged", "recycled"):
            async with engines[name].connect() as conn:
                assert await conn.scalar(text("SELECT 3")) == 3

        runs = 0

        async def work(conn: Any) -> int:
            nonlocal runs
            runs += 1
            return int(await conn.scalar(text("SELECT 4")))

        assert await run_transaction_async(engines["retried"], work) == 4
        outcome["retry_runs"] = runs
        outcome["stats"] = {name: stats(engine) for name, engine in engines.items()}
        for engine in engines.values():
            await engine.dispose()
        for monitor in monitors:
            monitor.close()  # the JSON-lines files are the monitor's to close

    asyncio.run(scenario())

    # SQLAlchemy's defaults: the request fails, and the one record says why.
    [record] = read_jsonl(files["defaults"])
    assert record["schema_version"] == 1 and record["stack"] == "sqlalchemy" and record["driver"] == "asyncpg"
    assert record["request_failed"] is True and record["noticed_by"] == "request"
    assert IDLE - 0.1 <= record["idle_s"] <= IDLE + 1.0
    assert record["error"]["type"].startswith("asyncpg.exceptions.")
    assert record["error"]["message"] in str(outcome["app_error"])  # the driver's own words, as the app saw them
    cause = record["cause"]
    assert cause["name"] == "idle_session_timeout" and cause["explained"] is True
    assert cause["what"] == role_limit(unique_name)
    assert record["pre_ping_would_catch"] is True and record["recycle_would_catch"] is True
    assert outcome["stats"]["defaults"]["failed_requests"] == 1
    assert (
        registry.get_sample_value(
            "pool_doctor_connection_deaths_total",
            {
                "db_client_connection_pool_name": f"{make_url(url).host}:{make_url(url).port}/{make_url(url).database}",
                "stack": "sqlalchemy",
                "cause": "idle_session_timeout",
                "outcome": "failed",
            },
        )
        == 1
    )
    [logged] = [r for r in caplog.records if getattr(r, "pool_doctor", None) == record]
    assert logged.levelno == logging.WARNING and "idle_session_timeout" in logged.getMessage()

    # pool_pre_ping=True: a replaced connection, no failed request.
    [pinged] = read_jsonl(files["pinged"])
    assert pinged["noticed_by"] == "pre_ping" and pinged["request_failed"] is False
    assert pinged["outcome"] == "replaced" and pinged["cause"]["name"] == "idle_session_timeout"
    assert pinged["error"]["type"].startswith("asyncpg.exceptions.")  # the ping's driver error, not SQLAlchemy's
    assert outcome["stats"]["pinged"]["failed_requests"] == 0 and outcome["stats"]["pinged"]["replaced"] == 1

    # pool_recycle below the limit: retired before it died, nothing to record.
    assert read_jsonl(files["recycled"]) == []
    assert outcome["stats"]["recycled"]["retired_by"].get("pool_recycle", 0) >= 1
    assert outcome["stats"]["recycled"]["deaths"] == 0

    # The retry helper re-ran the transaction once: its first statement found the connection dead.
    assert outcome["retry_runs"] == 2 and outcome["stats"]["retried"]["failed_requests"] == 1

    everything = "".join(path.read_text() for path in files.values()) + caplog.text
    assert PASSWORD not in everything

    # explain names the cause, draws the histogram within 80 columns and names the preventing settings.
    monkeypatch.setenv("COLUMNS", "80")
    code, out, err = run_cli(capsys, "explain", str(files["defaults"]))
    assert code == 0, err
    assert role_limit(unique_name) + "\n" in out  # its own line
    assert "█" in out and "◂ idle_session_timeout 2s" in out
    assert "pool_pre_ping = true" in out and "pool_recycle = 1" in out
    assert max(len(line) for line in out.splitlines()) <= 80
    code, out, _ = run_cli(capsys, "explain", str(files["defaults"]), "--format", "json")
    report = json.loads(out)
    assert code == 0 and report["failed_requests"] == 1
    [explained] = report["causes"]
    assert explained["limit"]["source"] == describe_source("user", role=unique_name, database="postgres")
    assert {p["setting"] for p in explained["prevented_by"]} == {"pool_pre_ping = true", "pool_recycle = 1"}
    code, out, _ = run_cli(capsys, "explain", str(files["pinged"]), "--format", "markdown")
    assert code == 0 and "| idle_session_timeout = 2s" in out and "```" in out


def test_retry_refuses_a_transaction_that_ran_a_statement(server: LocalPostgres, unique_name: str) -> None:
    server.create_role(unique_name, PASSWORD)
    engine = create_engine(server.url(unique_name, PASSWORD, driver="psycopg"))
    runs = 0

    def work(conn: Any) -> None:
        nonlocal runs
        runs += 1
        pid = conn.scalar(text("SELECT pg_backend_pid()"))
        server.sql("SELECT pg_terminate_backend(%s)", params=[pid])  # an admin (or failover) ends it mid-transaction
        conn.execute(text("SELECT 1"))

    try:
        with pytest.raises(NotRetryable, match="1 statement"):
            run_transaction(engine, work)
        assert runs == 1
        runs = 0

        def broken(conn: Any) -> None:
            nonlocal runs
            runs += 1
            conn.execute(text("SELECT 1/0"))

        with pytest.raises(DBAPIError, match="division by zero"):  # the app's own error: not retried, not wrapped
            run_transaction(engine, broken)
        assert runs == 1
    finally:
        engine.dispose()


def test_asyncpg_and_psycopg_pools(server: LocalPostgres, unique_name: str, tmp_path: Path) -> None:
    """The other stacks, as far as each exposes events: both see the 2 s limit and name it."""
    import psycopg
    from psycopg_pool import ConnectionPool

    from pool_doctor.monitor.asyncpg_pool import AsyncpgPoolMonitor
    from pool_doctor.monitor.psycopg_pool import PsycopgPoolMonitor

    server.create_role(unique_name, PASSWORD, settings={"idle_session_timeout": IDLE_LIMIT})
    conninfo = server.url(unique_name, PASSWORD)
    files = {name: tmp_path / f"{name}.jsonl" for name in ("asyncpg", "checked", "unchecked")}
    checked_monitor = PsycopgPoolMonitor(target="checked", password=PASSWORD, jsonl=files["checked"])
    unchecked_monitor = PsycopgPoolMonitor(target="unchecked", password=PASSWORD, jsonl=files["unchecked"])
    apg_monitor = AsyncpgPoolMonitor(target="asyncpg", password=PASSWORD, jsonl=files["asyncpg"])
    checked = ConnectionPool(
        conninfo,
        min_size=1,
        max_size=1,
        open=True,
        **checked_monitor.pool_kwargs(check=ConnectionPool.check_connection),
    )
    unchecked = ConnectionPool(conninfo, min_size=1, max_size=1, open=True, **unchecked_monitor.pool_kwargs())
    unchecked_monitor.attach(unchecked)

    async def scenario() -> None:
        pool = await apg_monitor.create_pool(
            host=server.host,
            port=server.port,
            user=unique_name,
            password=PASSWORD,
            database="postgres",
            min_size=1,
            max_size=1,
        )
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT 1") == 1
        for psycopg_pool in (checked, unchecked):
            with psycopg_pool.connection() as conn:
                conn.execute("SELECT 1")
        await asyncio.sleep(IDLE)
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT 2") == 2  # asyncpg's acquire replaced it: no failure
        await pool.close()

    try:
        asyncio.run(scenario())
        with checked.connection() as conn:
            assert conn.execute("SELECT 3").fetchone() == (3,)
        with pytest.raises(psycopg.OperationalError), unchecked.connection() as conn:
            conn.execute("SELECT 4")
        # psycopg_pool returns a connection in a worker thread when a reset callback is set (the monitor's):
        # wait for that return to be counted rather than read the counters at once.
        deadline = time.monotonic() + 5
        unchecked_stats = unchecked_monitor.stats()
        while "returns_bad" not in unchecked_stats["psycopg_pool"] and time.monotonic() < deadline:
            time.sleep(0.05)
            unchecked_stats = unchecked_monitor.stats()
    finally:
        checked.close()
        unchecked.close()
        for monitor in (checked_monitor, unchecked_monitor, apg_monitor):
            monitor.close()

    [apg] = read_jsonl(files["asyncpg"])
    assert apg["stack"] == "asyncpg" and apg["noticed_by"] == "acquire" and apg["request_failed"] is False
    assert apg["cause"]["name"] == "idle_session_timeout"
    assert 2.0 - 0.1 <= apg["idle_s"] < IDLE  # asyncpg hears the server's close as it happens
    [good] = read_jsonl(files["checked"])
    assert good["noticed_by"] == "check" and good["request_failed"] is False
    assert good["error"]["sqlstate"] == "57P05" and good["cause"]["matched_on"] == "sqlstate"
    assert good["cause"]["what"] == role_limit(unique_name)
    [bad] = read_jsonl(files["unchecked"])
    assert bad["request_failed"] is True and bad["cause"]["name"] == "idle_session_timeout"
    assert IDLE - 0.1 <= bad["idle_s"] <= IDLE + 1.0
    assert "idle-session timeout" in bad["error"]["message"]  # libpq's last message, kept by the broken connection
    assert unchecked_stats["psycopg_pool"]["returns_bad"] == 1  # psycopg_pool counted it too, without a callback
    assert all(PASSWORD not in path.read_text() for path in files.values())


def test_importing_the_monitor_stays_light() -> None:
    code = (
        "import sys, pool_doctor.monitor; "
        "heavy = [m for m in ('sqlalchemy', 'asyncpg', 'psycopg', 'psycopg2', 'typer', 'rich', 'pydantic', "
        "'pool_doctor.cli', 'prometheus_client') if m in sys.modules]; print(heavy)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"
