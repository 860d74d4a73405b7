"""observe's I/O: one read-only session, LIMITS_QUERY once, then SAMPLE_QUERY every tick, each bounded twice
(the session's own statement_timeout, set for itself only, and the client-side timeout), until the window ends.

The clock is a seam: tests hand in one that does not sleep."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from pool_doctor.connection.drivers import describe_error
from pool_doctor.connection.sessions import Session
from pool_doctor.connection.spec import ConnectionSpec
from pool_doctor.errors import ConnectError
from pool_doctor.observe.analysis import Observation, parse_sample
from pool_doctor.observe.limits import GroupLimits
from pool_doctor.observe.model import ObserveReport
from pool_doctor.observe.queries import (
    IDLE_OFF_SQL,
    LIMIT_SETTINGS,
    LIMITS_QUERY,
    SAMPLE_QUERY,
    SAMPLE_QUERY_14,
    STATEMENT_TIMEOUT_SQL,
)
from pool_doctor.redact import printable_data

SESSION_COUNTERS_SINCE = 140000  # pg_stat_database.sessions_* (PostgreSQL 14)


@dataclass(frozen=True)
class ObserveOptions:
    window: float = 60.0  # --for
    every: float = 1.0  # --every
    timeout: float = 10.0  # each network step


class Clock(Protocol):
    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        import asyncio

        await asyncio.sleep(seconds)


async def _ask(session: Session, spec: ConnectionSpec, timeout: float, sql: str, *args: Any, data: bool = True) -> Any:
    try:
        raw = await session.fetchval(sql, *args, timeout=timeout)
    except TimeoutError:
        raise ConnectError(f"timed out after {timeout:g}s reading pg_stat_activity from {spec.display()}") from None
    except Exception as exc:
        raise ConnectError(f"reading pg_stat_activity from {spec.display()} failed: {describe_error(exc)}") from None
    # Names, application_name and statements come from clients: control characters escaped before any use.
    if not data:
        return raw
    return printable_data(raw if not isinstance(raw, str) else json.loads(raw))


async def observe(
    spec: ConnectionSpec,
    options: ObserveOptions,
    on_sample: Callable[[ObserveReport], None] | None = None,
    clock: Clock | None = None,
    pooler: Callable[[], Awaitable[dict[str, Any] | None]] | None = None,
) -> ObserveReport:
    """Watch the server for `options.window` seconds over one connection; the report of the whole window.

    `on_sample` gets the report so far after every sample (the live table)."""
    from pool_doctor.inspect.server import FILE_SETTINGS_QUERY, connect

    clock = clock or SystemClock()
    session = await connect(spec, options.timeout)
    try:
        data = await _ask(session, spec, options.timeout, LIMITS_QUERY, list(LIMIT_SETTINGS))
        limits = GroupLimits(data)
        hidden = limits.hidden_names()
        if hidden and data.get("superuser"):  # the server-wide value behind the observer's own override
            rows = await _ask(session, spec, options.timeout, FILE_SETTINGS_QUERY, hidden)
            limits = GroupLimits(data, {row["name"]: row for row in rows or []})
        await _ask(
            session, spec, options.timeout, STATEMENT_TIMEOUT_SQL, str(max(1, int(options.timeout * 1000))), data=False
        )
        if any(row["name"] == "idle_session_timeout" for row in data.get("settings") or []):
            # Its own session only: an --every longer than the observing role's idle limit must not end it.
            await _ask(session, spec, options.timeout, IDLE_OFF_SQL, data=False)
        query = SAMPLE_QUERY_14 if data["version_num"] >= SESSION_COUNTERS_SINCE else SAMPLE_QUERY
        pooler_side = await pooler() if pooler is not None else None
        observation = Observation(limits, options.window, spec.display(), pooler_side)
        started = clock.monotonic()
        tick = 0
        while True:
            before = clock.monotonic()
            raw = await _ask(session, spec, options.timeout, query)
            observation.add(parse_sample(raw, (clock.monotonic() - before) * 1000))
            if on_sample is not None:
                on_sample(observation.report(final=False))
            tick += 1
            due = started + tick * options.every
            if due - started > options.window + 1e-9:
                break
            await clock.sleep(max(0.0, due - clock.monotonic()))
    except BaseException:
        session.terminate()
        raise
    await session.close()
    return observation.report()
