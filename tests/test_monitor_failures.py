"""What the monitor records besides a death: a request that failed on a live connection (prepared statements
behind a real PgBouncer in transaction mode), a session another session ended when the limits were read and
none matched, and explain's cells, which are text, never markup."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness import LocalPostgres
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from pool_doctor.cli import main
from pool_doctor.monitor import watch

PASSWORD = "mf-app-pw"


@pytest.fixture(scope="module")
def server(pg_bindirs: list[Path]) -> Iterator[LocalPostgres]:
    with LocalPostgres(pg_bindirs[0]) as pg:
        yield pg


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def test_prepared_statement_failures_behind_transaction_pooling_are_recorded_and_explained(
    server: LocalPostgres, make_pgbouncer: Any, unique_name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SQLAlchemy + asyncpg with its statement cache behind transaction pooling: every request that collides
    is a `failure` record (no connection died), stats() counts them, and explain names the cause and the fix."""
    role, db = f"{unique_name}_app", f"{unique_name}_db"
    server.create_role(role, PASSWORD)
    server.create_database(db, owner=role)
    bouncer = make_pgbouncer(server, pool_mode="transaction", users={role: PASSWORD})
    log = tmp_path / "monitor.jsonl"
    engine = create_async_engine(bouncer.url(role, PASSWORD, db, driver="asyncpg"), pool_size=2)
    monitor = watch(engine, jsonl=str(log))
    failed = 0

    async def request(n: int) -> None:
        nonlocal failed
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT CAST(:n AS integer)"), {"n": n})
        except Exception:
            failed += 1

    async def main_() -> None:
        # Which backend a transaction lands on is the pooler's choice: a statement prepared on one is missing on
        # another (26000), or one of the same name is there (42P05). Rounds until some have collided (nearly
        # always the first; a CI run once had none in three).
        for _ in range(30):
            await asyncio.gather(*(request(n) for n in range(4)))
            if failed >= 2:
                break
        await engine.dispose()

    asyncio.run(main_())
    assert failed > 0  # the collisions are real
    records = read_jsonl(log)
    failures = [r for r in records if r["event"] == "failure"]
    assert len(failures) == failed and not [r for r in records if r["event"] == "death"]
    assert {r["cause"]["name"] for r in failures} == {"pooler-prepared-statements"}
    assert all(r["error"]["sqlstate"] in ("42P05", "26000", "08P01") for r in failures)
    stats = monitor.stats()
    assert stats["failures"] == failed and stats["failures_by_cause"] == {"pooler-prepared-statements": failed}

    code, out, _ = run_cli(capsys, "explain", str(log))
    flat = " ".join(out.split())
    assert code == 0 and "No connection deaths recorded." in flat
    assert f"{failed} request(s) failed on connections that lived on" in flat
    assert "pooler-prepared-statements" in flat and "statement_cache_size=0" in flat
    assert '"__asyncpg_stmt_N__"' in flat and "HINT" not in flat
    assert max(len(line) for line in out.splitlines()) <= 80

    code, out, _ = run_cli(capsys, "explain", str(log), "--format", "json")
    doc = json.loads(out)
    assert doc["deaths"] == 0 and doc["failures"][0]["failed_requests"] == failed


def test_a_session_ended_by_another_with_limits_read_is_unexplained_not_unknown(
    server: LocalPostgres, unique_name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """pg_terminate_backend on an idle pooled connection, where the monitor read the limits and found none:
    the death says no known limit matches, never "no limits known (pass limits_from=)"."""
    role = f"{unique_name}_term"
    server.create_role(role, PASSWORD)
    log = tmp_path / "monitor.jsonl"
    url = server.url(role, PASSWORD, "postgres", driver="asyncpg")
    engine = create_async_engine(url, pool_size=1, max_overflow=0)
    monitor = watch(engine, jsonl=str(log))

    async def main_() -> None:
        async with engine.connect() as conn:
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar()
        server.sql(f"SELECT pg_terminate_backend({int(pid or 0)})")
        await asyncio.sleep(0.3)  # asyncpg reads the FATAL while idle: the next use finds it closed
        with pytest.raises(DBAPIError):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        await engine.dispose()

    asyncio.run(main_())
    assert monitor.stats()["limits_known"] is True
    (death,) = [r for r in read_jsonl(log) if r["event"] == "death"]
    assert death["error"]["sqlstate"] is None  # asyncpg's "connection is closed": the 57P01 is not passed on
    assert death["cause"]["explained"] is False
    assert death["cause"]["what"].startswith("no known limit matches")
    assert "pass limits_from" not in death["cause"]["what"]


def test_explain_cells_are_text_not_markup(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A cause whose text holds square brackets ([network] idle_timeout) is printed as it is."""
    record = {
        "schema_version": 1,
        "event": "death",
        "stack": "sqlalchemy",
        "target": "postgresql://app@db/app",
        "idle_s": 6.0,
        "request_failed": True,
        "error": {"type": "X", "message": "[bold]closed[/bold]", "sqlstate": None},
        "cause": {
            "name": "idle_timeout",
            "explained": True,
            "what": "idle_timeout = 5s, set by [network] idle_timeout",
            "limit": {
                "name": "idle_timeout",
                "seconds": 5.0,
                "shape": "reset",
                "layer": "network",
                "holder": "a middlebox",
                "source": "[network] idle_timeout",
                "provenance": "configured",
            },
        },
    }
    log = tmp_path / "monitor.jsonl"
    log.write_text(json.dumps(record) + "\n")
    code, out, _ = run_cli(capsys, "explain", str(log))
    flat = " ".join(out.split())
    assert code == 0
    assert "set by [network] idle_timeout" in flat
    assert "[bold]closed[/bold]" in flat
