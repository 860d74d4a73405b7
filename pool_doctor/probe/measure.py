"""Measure the path: fresh connections, round trips and pre-ping cost, and the pool under load.

Each step runs on the engine of the stack that measures the path (Stack.measures_path: SQLAlchemy's), with
the config's driver arguments (ProbeConfig.path_view): it times the server and the network, not the pool.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from pool_doctor.connection.drivers import driver_for
from pool_doctor.errors import ConnectError
from pool_doctor.probe.engines import (
    SELECT_1,
    ProbeConfig,
    ReadOnly,
    app_error,
    build_engine,
    dispose,
)
from pool_doctor.probe.model import ConnectResult, Latency, LoadResult, RoundTripResult

if TYPE_CHECKING:
    from pool_doctor.connection.spec import ConnectionSpec

# One round trip: what the server and the path look like from the probe's session.
SESSION_QUERY = """
SELECT current_setting('server_version'),
       pg_backend_pid(),
       (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()),
       (SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid()),
       inet_server_port(),
       current_setting('transaction_read_only')
"""

ROUND_TRIPS = 200  # SELECT 1 samples at most
CHECKOUTS = 40  # checkouts per pre-ping setting at most
STEP_BUDGET = 1.0  # seconds each sampling loop may take on a slow path
LOAD_HOLD = 0.01  # seconds a load task holds its connection: a request doing a little work


async def measure_connect(
    target: ConnectionSpec, settings: ProbeConfig, count: int, timeout: float, read_only: ReadOnly = "session"
) -> ConnectResult:
    """Open `count` fresh connections (after one untimed warm-up that initialises the dialect)."""
    from sqlalchemy import text

    engine = build_engine(target, settings, null_pool=True, read_only=read_only)
    samples: list[float] = []
    row: Any = None
    pid: int | None = None
    try:
        for index in range(count + 1):
            started = time.monotonic()
            try:
                conn = await asyncio.wait_for(engine.connect(), timeout)
            except TimeoutError:
                raise ConnectError(f"timed out after {timeout:g}s connecting to {target.display()}") from None
            except Exception as exc:
                raise ConnectError(f"cannot connect to {target.display()}: {app_error(exc)}") from None
            elapsed = time.monotonic() - started
            try:
                if index > 0:
                    samples.append(elapsed)
                if row is None:
                    row = (await asyncio.wait_for(conn.execute(text(SESSION_QUERY)), timeout)).one()
                    pid = driver_for(target).startup_pid((await conn.get_raw_connection()).driver_connection)
            except TimeoutError:
                raise ConnectError(f"timed out after {timeout:g}s querying {target.display()}") from None
            except ConnectError:
                raise
            except Exception as exc:
                raise ConnectError(f"querying {target.display()} failed: {app_error(exc)}") from None
            finally:
                await asyncio.wait_for(conn.close(), timeout)
    finally:
        await dispose(engine)
    version, backend_pid, ssl, ssl_version, port, transaction_read_only = row
    mode = "default_transaction_read_only" if read_only == "session" else "BEGIN READ ONLY"
    return ConnectResult(
        latency=Latency(samples),
        server_version=version,
        tls=ssl,
        tls_version=ssl_version,
        startup_pid=pid,
        backend_pid=int(backend_pid),
        server_port=port,
        read_only=transaction_read_only == "on",
        read_only_by=mode,
    )


async def measure_round_trip(
    target: ConnectionSpec, settings: ProbeConfig, timeout: float, read_only: ReadOnly = "session"
) -> RoundTripResult:
    """SELECT 1 on one warm pooled connection; checkout cost with pool_pre_ping off and on."""
    from sqlalchemy import text

    engine = build_engine(target, settings, read_only=read_only)
    selects: list[float] = []
    try:
        async with engine.connect() as conn:
            deadline = time.monotonic() + STEP_BUDGET
            for _ in range(ROUND_TRIPS):
                started = time.monotonic()
                await asyncio.wait_for(conn.execute(text(SELECT_1)), timeout)
                selects.append(time.monotonic() - started)
                if time.monotonic() > deadline:
                    break
    finally:
        await dispose(engine)
    checkouts = {}
    for pre_ping in (False, True):
        one = settings.with_values(settings.stack.probe_single(settings.values, ping=pre_ping))
        engine = build_engine(target, one, read_only=read_only)
        samples: list[float] = []
        try:
            async with engine.connect():
                pass  # open the one connection, so only checkouts are timed
            deadline = time.monotonic() + STEP_BUDGET
            for _ in range(CHECKOUTS):
                started = time.monotonic()
                conn = await asyncio.wait_for(engine.connect(), timeout)
                await conn.close()
                samples.append(time.monotonic() - started)
                if time.monotonic() > deadline:
                    break
        finally:
            await dispose(engine)
        checkouts[pre_ping] = Latency(samples)
    return RoundTripResult(
        select_1=Latency(selects), checkout_without_ping=checkouts[False], checkout_with_ping=checkouts[True]
    )


async def measure_load(
    target: ConnectionSpec,
    settings: ProbeConfig,
    tasks: int,
    seconds: float,
    timeout: float,
    read_only: ReadOnly = "session",
) -> LoadResult:
    """`tasks` concurrent requests for `seconds` through a pool built from the app's settings."""
    from sqlalchemy import exc as sa_exc
    from sqlalchemy import text

    sizes = settings.stack.probe_load(settings.values)
    if sizes is None:
        raise ValueError(f"the load step does not drive the {settings.stack.name} stack's pool")
    pool_size, max_overflow, pool_timeout = sizes

    engine = build_engine(target, settings, read_only=read_only)
    waits: list[float] = []
    counts = {"transactions": 0, "pool_timeouts": 0, "errors": 0, "held": 0, "peak": 0}
    first_error: list[str] = []
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        while time.monotonic() < deadline:
            started = time.monotonic()
            try:
                async with engine.connect() as conn:
                    waits.append(time.monotonic() - started)
                    counts["held"] += 1
                    counts["peak"] = max(counts["peak"], counts["held"])
                    try:
                        await asyncio.wait_for(conn.execute(text("SELECT pg_sleep(:s)"), {"s": LOAD_HOLD}), timeout)
                    finally:
                        counts["held"] -= 1
                counts["transactions"] += 1
            except sa_exc.TimeoutError:
                counts["pool_timeouts"] += 1
            except Exception as exc:
                counts["errors"] += 1
                if not first_error:
                    first_error.append(str(app_error(exc)))
                await asyncio.sleep(0.05)  # a failing server must not turn this into a busy loop

    started = time.monotonic()
    try:
        running = [asyncio.ensure_future(worker()) for _ in range(tasks)]
        _, pending = await asyncio.wait(running, timeout=seconds + pool_timeout + timeout)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=2)
        elapsed = time.monotonic() - started
    finally:
        await dispose(engine)
    return LoadResult(
        tasks=tasks,
        seconds=elapsed,
        hold_seconds=LOAD_HOLD,
        transactions=counts["transactions"],
        checkout_wait=Latency(waits),
        pool_timeouts=counts["pool_timeouts"],
        errors=counts["errors"],
        first_error=first_error[0] if first_error else None,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        peak_checked_out=counts["peak"],
    )
