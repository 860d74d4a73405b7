"""The monitor on a demoted primary and on a frozen process, against a real server.

Demotion: one server switched read-only by `ALTER SYSTEM SET default_transaction_read_only = on` and a reload
(existing sessions pick it up: their writes fail with 25006, as on a demoted primary). Freeze: a watched app in
a subprocess, stopped with SIGSTOP for longer than its role's idle_session_timeout, then continued.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness import LocalPostgres

from pool_doctor.monitor import watch
from pool_doctor.stacks import demotion

PASSWORD = "m0nitor-Failover"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def server(pg_bindirs: list[Path]) -> Iterator[LocalPostgres]:
    with LocalPostgres(pg_bindirs[0]) as pg:
        pg.sql("CREATE TABLE writes (x int)")
        pg.sql("GRANT INSERT ON writes TO PUBLIC")
        yield pg


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def demoted_writes(server: LocalPostgres, role: str, jsonl: Path, hook: bool) -> list[str]:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    outcomes: list[str] = []

    async def scenario() -> None:
        engine = create_async_engine(server.url(role, PASSWORD, driver="asyncpg"), pool_pre_ping=True)
        monitor = watch(engine, jsonl=jsonl)
        if hook:
            exec(demotion.SQLALCHEMY_ASYNC.code, {"engine": engine})
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO writes VALUES (1)"))
        server.sql("ALTER SYSTEM SET default_transaction_read_only = on")
        server.sql("SELECT pg_reload_conf()")
        time.sleep(0.3)
        try:
            for _ in range(2):
                try:
                    async with engine.begin() as conn:
                        await conn.execute(text("INSERT INTO writes VALUES (2)"))
                    outcomes.append("ok")
                except Exception as exc:
                    outcomes.append(str(getattr(getattr(exc, "orig", None), "sqlstate", repr(exc))))
        finally:
            server.sql("ALTER SYSTEM RESET default_transaction_read_only")
            server.sql("SELECT pg_reload_conf()")
            await engine.dispose()
            monitor.close()

    asyncio.run(scenario())
    return outcomes


@pytest.mark.parametrize("hook", [False, True], ids=["pre-ping only", "recommended handle_error"])
def test_25006_is_recorded_as_demoted_primary(
    server: LocalPostgres, unique_name: str, tmp_path: Path, hook: bool
) -> None:
    server.create_role(unique_name, PASSWORD)
    jsonl = tmp_path / "deaths.jsonl"
    # One server: the pool has nowhere writable to go, so both keep failing; what differs is the pool's view.
    assert demoted_writes(server, unique_name, jsonl, hook) == ["25006", "25006"]
    records = read_jsonl(jsonl)
    # Pre-ping alone keeps the connection: one record for it. With the hook each failed write's connection is
    # invalidated, and the next one (on the still read-only server) is recorded too.
    assert len(records) == (2 if hook else 1)
    for record in records:
        assert record["cause"]["name"] == "demoted-primary"
        assert record["cause"]["matched_on"] == "sqlstate"
        assert record["error"]["sqlstate"] == "25006"
        assert record["request_failed"] is True


APP = textwrap.dedent(
    """
    import json, sys
    from sqlalchemy import create_engine, text
    from pool_doctor.monitor import watch

    url, jsonl, guard = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
    engine = create_engine(url)  # defaults: no pre-ping, no recycle
    watch(engine, jsonl=jsonl, freeze_guard=guard)
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    print("ready", flush=True)
    sys.stdin.readline()  # the next request, once continued
    try:
        with engine.connect() as conn:
            print(json.dumps({"ok": conn.execute(text("SELECT 2")).scalar()}), flush=True)
    except Exception as exc:
        print(json.dumps({"error": type(exc).__name__}), flush=True)
    """
)


def frozen_app(server: LocalPostgres, role: str, jsonl: Path, guard: bool) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    url = server.url(role, PASSWORD, driver="psycopg")
    with subprocess.Popen(
        [sys.executable, "-c", APP, url, str(jsonl), "1" if guard else "0"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    ) as app:
        assert app.stdin is not None and app.stdout is not None
        try:
            assert app.stdout.readline().strip() == "ready"
            os.kill(app.pid, signal.SIGSTOP)
            time.sleep(3.5)  # past the role's 2 s idle_session_timeout: the server ends the idle session
            os.kill(app.pid, signal.SIGCONT)
            app.stdin.write("go\n")
            app.stdin.flush()
            answer: dict[str, Any] = json.loads(app.stdout.readline())
        finally:
            os.kill(app.pid, signal.SIGCONT)
            app.stdin.close()
            app.wait(timeout=20)
    return answer


@pytest.mark.parametrize("guard", [False, True], ids=["unguarded", "freeze_guard"])
def test_sigstop_past_idle_session_timeout(
    server: LocalPostgres, unique_name: str, tmp_path: Path, guard: bool
) -> None:
    server.create_role(unique_name, PASSWORD, settings={"idle_session_timeout": "2s"})
    jsonl = tmp_path / "monitor.jsonl"
    answer = frozen_app(server, unique_name, jsonl, guard)
    records = read_jsonl(jsonl)
    if not guard:
        assert answer == {"error": "OperationalError"}  # the first request after the thaw fails
        assert [r["event"] for r in records] == ["death"]
        assert records[0]["cause"]["name"] == "idle_session_timeout"
        return
    assert answer == {"ok": 2}
    [frozen] = [r for r in records if r["event"] == "frozen"]
    assert frozen["frozen_s"] > 2 and frozen["threshold_s"] == 2
    assert frozen["what"].startswith(f"frozen for {frozen['frozen_s']:.1f} s")
    assert not [r for r in records if r["event"] == "death"]  # replaced before the app saw it


def test_a_limit_learnt_after_watch_does_not_turn_an_idle_spell_into_a_freeze() -> None:
    """The clock seam only: the limits (3 s) are learnt while the housekeeper waits its first, longer period
    (the 30 s default's); an app idle 5 s and never stopped is not frozen, a real 8 s stop is."""
    from pool_doctor.monitor.freeze import FreezeGuard

    now = [0.0]
    limit: list[float | None] = [None]
    frozen: list[Any] = []

    def clock() -> float:
        return now[0]

    guard = FreezeGuard(lambda: limit[0], frozen.append, stamp=clock, clock=clock)
    limit[0] = 3.0  # read through the pool's first connection
    now[0] = 5.0  # 1 s held, 4 s idle: the housekeeper is still in its first wait
    assert guard.check("checkout") is None and not frozen
    now[0] += guard.period() + 0.1  # the housekeeper's next tick, on time
    assert guard.check("housekeeper") is None
    now[0] += guard.period() + 8.0  # a SIGSTOP of 8 s between ticks
    freeze = guard.check("housekeeper")
    assert freeze is not None and frozen == [freeze] and 7.9 <= freeze.seconds <= 8.1
