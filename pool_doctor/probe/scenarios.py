"""Failure scenarios: each reproduces one way a pooled connection dies, against the real server, in seconds.

Time-scaled (pool_doctor/probe/timescale.py): each maps its killer to SCALED_KILLER seconds and divides the
app's own timings by the same factor. The registry is a plain list: a scenario is any object with a `name`,
a `summary` and `async run(ctx, config) -> ScenarioResult` (pool_doctor/probe/context.py). Add one with
`register(MyScenario())`.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from pool_doctor.durations import format_seconds
from pool_doctor.model import Severity
from pool_doctor.path.model import Layer, Limit, Provenance, Shape
from pool_doctor.probe.context import IdleRun, ProbeContext, Scenario, skipped
from pool_doctor.probe.engines import ProbeConfig, app_error, attempt, dispose, reap
from pool_doctor.probe.held import IdleInTransaction
from pool_doctor.probe.model import ScenarioResult
from pool_doctor.probe.timescale import (
    ASSUMED_IDLE_LIMIT,
    MIN_HANG_BOUND,
    Killer,
    TimeScale,
    detect_seconds,
    hang_bound,
    keepalive_note,
)

SCENARIOS: list[Scenario] = []


def register(scenario: Scenario) -> Scenario:
    """Add a scenario to the registry (probe runs them in registration order)."""
    SCENARIOS.append(scenario)
    return scenario


def scenario_names() -> list[str]:
    return [s.name for s in SCENARIOS]


# -- the scenarios --------------------------------------------------------------------------------


class ServerIdleTimeout:
    name = "server_idle_timeout"
    summary = "the server ends a session idle longer than idle_session_timeout (FATAL 57P05)"

    def killer(self, ctx: ProbeContext) -> Killer:
        setting = ctx.facts.read_server.setting("idle_session_timeout")
        if setting.is_on and setting.seconds:
            return Killer(setting.seconds, f"{setting.describe()} (as role {ctx.facts.read_server.role} sees it)")
        return Killer(
            ASSUMED_IDLE_LIMIT,
            f"idle_session_timeout is off here; assumed {format_seconds(ASSUMED_IDLE_LIMIT)}",
            assumed=True,
        )

    def limit(self, ctx: ProbeContext) -> Limit:
        killer = self.killer(ctx)
        return Limit(
            "idle_session_timeout",
            killer.seconds,
            Shape.CLOSE,
            Layer.SERVER,
            "PostgreSQL",
            killer.what,
            Provenance.SERVER,
        )

    async def run(self, ctx: ProbeContext, config: ProbeConfig) -> ScenarioResult:
        if ctx.facts.read_server.version_num < 140000:
            return skipped(
                self.name,
                config,
                f"idle_session_timeout needs PostgreSQL 14+ (server: {ctx.facts.read_server.version})",
            )
        if ctx.pooling != "none":
            return skipped(
                self.name,
                config,
                "a pooler is on the path: the server's idle timeout ends the pooler's "
                "server connection, which the app's client connection outlives",
            )
        if self.killer(ctx).assumed:
            role = ctx.facts.read_server.role
            return skipped(
                self.name,
                config,
                f"not tested: the server does not end role {role}'s idle sessions (idle_session_timeout is off), "
                "so there is nothing to reproduce; check says so too",
            )
        driver = ctx.driver
        scale = TimeScale(self.killer(ctx))
        scaled_config, scaled = scale.apply(config, driver, ctx.detect_floor)
        engine = ctx.engine(
            scaled_config, session_settings={"idle_session_timeout": str(max(1, round(scale.scaled_killer * 1000)))}
        )  # milliseconds
        idle = scale.idle_for(scaled_config)
        run = IdleRun(engine, idle, hang_bound(scaled_config, driver, idle), ctx.timeout)
        try:
            await run.run()
        finally:
            await run.close()
        return run.result(self.name, config.name, scaled, [])


class BackendTerminated:
    name = "backend_terminated"
    summary = "pg_terminate_backend() on the pooled connection's backend, as in a failover or an admin's cleanup"
    # A restart or failover may come, but no limit on the path says when: a pool it breaks is check's
    # no-liveness-check, an info; the limits that do end connections have their own scenarios.
    severity = Severity.INFO

    def limit(self, ctx: ProbeContext) -> Limit:
        # The backend ends right after the checkout returned: a close no retirement can come before.
        return Limit(
            "pg_terminate_backend",
            0.0,
            Shape.CLOSE,
            Layer.SERVER,
            "PostgreSQL",
            "an admin or a failover",
            Provenance.SERVER,
        )

    async def run(self, ctx: ProbeContext, config: ProbeConfig) -> ScenarioResult:
        from sqlalchemy import text

        if ctx.pooling == "transaction":
            return skipped(
                self.name,
                config,
                "transaction pooling: the pooler hands the app's connection a different "
                "server backend per transaction, so there is no one backend to terminate",
            )
        engine = ctx.engine(config)
        other = ctx.engine(config, null_pool=True)
        bound = max(MIN_HANG_BOUND, ctx.timeout)
        notes = ["not time-scaled: a termination does not wait for idleness"]
        first = second = None

        async def terminate_pooled_backend() -> int | None:
            async with engine.connect() as conn:
                pid = int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())
            async with other.connect() as conn:  # a second session, as an admin's or a failover's
                done = (await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})).scalar()
                if not done:
                    return None
                await _wait_gone(conn, pid, ctx.timeout)
            return pid

        try:
            try:
                if await asyncio.wait_for(terminate_pooled_backend(), 3 * ctx.timeout) is None:
                    return skipped(self.name, config, "the pooled connection's backend was already gone")
            except Exception as exc:
                error = app_error(exc)
                if (
                    error.type == "InsufficientPrivilege"
                    or "permission denied" in error.message
                    or "must be a member" in error.message
                ):
                    return skipped(
                        self.name, config, f"role {ctx.target.user} may not terminate backends here: {error.message}"
                    )
                return skipped(self.name, config, f"could not set up: {error}")
            first = await attempt(engine, bound)
            if first.outcome == "error":
                second = await attempt(engine, bound)
        finally:
            for task in (first.task if first else None, second.task if second else None):
                await reap(task)
            await dispose(engine)
            await dispose(other)
        if first.outcome == "hang":
            return ScenarioResult(
                self.name,
                config.name,
                "hang",
                seconds=first.seconds,
                reason=f"no answer within {bound:g}s",
                notes=notes,
            )
        return ScenarioResult(
            self.name,
            config.name,
            first.outcome,
            seconds=first.seconds,
            error=first.error,
            recovered=None if second is None else second.outcome == "ok",
            notes=notes,
        )


async def _wait_gone(conn: Any, pid: int, timeout: float) -> None:
    """pg_terminate_backend only signals; wait (bounded) until the backend has really exited."""
    from sqlalchemy import text

    deadline = time.monotonic() + min(timeout, 3.0)
    while time.monotonic() < deadline:
        left = (
            await conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid})
        ).scalar()
        await conn.rollback()  # pg_stat_activity is a snapshot per transaction: the next poll needs a new one
        if not left:
            return
        await asyncio.sleep(0.05)


class NetworkIdle:
    """A middlebox that forgets flows idle longer than its timeout: it resets them, or drops their packets."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.name = f"network_{mode}"
        self.summary = (
            "a NAT gateway / load balancer forgets an idle flow and answers the next packet with a reset"
            if mode == "reset"
            else "a middlebox silently drops the packets of a flow idle too long: the next query hangs"
        )

    def killer(self, ctx: ProbeContext) -> Killer:
        idle = ctx.facts.settings.network.idle_timeout
        if idle:
            return Killer(
                idle, f"network idle_timeout = {format_seconds(idle)} ([network] config, or measured by discovery)"
            )
        return Killer(
            ASSUMED_IDLE_LIMIT,
            f"no [network] idle_timeout given; assumed {format_seconds(ASSUMED_IDLE_LIMIT)}",
            assumed=True,
        )

    def limit(self, ctx: ProbeContext) -> Limit:
        # Not refreshed by keepalives here: they are kernel packets the loopback proxy never sees.
        killer = self.killer(ctx)
        return Limit(
            "idle_timeout",
            killer.seconds,
            Shape.RESET if self.mode == "reset" else Shape.DROP,
            Layer.NETWORK,
            "a middlebox",
            killer.what,
            Provenance.CONFIGURED,
        )

    async def run(self, ctx: ProbeContext, config: ProbeConfig) -> ScenarioResult:
        from pool_doctor.faults import FaultProxy

        target = ctx.target
        driver = ctx.driver
        if target.is_unix_socket:
            return skipped(self.name, config, "the target is a unix socket: there is no network path to fault")
        if target.sslmode == "verify-full":
            return skipped(
                self.name,
                config,
                "sslmode=verify-full: the server certificate would not match the loopback proxy's address",
            )
        if self.killer(ctx).assumed:
            return skipped(
                self.name,
                config,
                "not tested: no idle timeout is known on the network path; give it with --network-idle-timeout N "
                "(or --middlebox KEY), or measure it with --discover-idle-timeout MAX, to reproduce it",
            )
        scale = TimeScale(self.killer(ctx))
        scaled_config, scaled = scale.apply(config, driver, ctx.detect_floor)
        notes = [n for n in [keepalive_note(scaled_config, driver)] if n]
        # A hang bound the kernel enforces (libpq's tcp_user_timeout) is one the loopback proxy must emulate.
        user_timeout = detect_seconds(scaled_config, driver) if driver.hang_bound_in_kernel else None
        if user_timeout is not None and self.mode == "blackhole":
            notes.append(
                "tcp_user_timeout is emulated: loopback acknowledges every byte, so the proxy resets the flow "
                "when the client's kernel would give up (ETIMEDOUT on a real path, a reset here)."
            )
        idle = scale.idle_for(scaled_config)
        bound = hang_bound(scaled_config, driver, idle)
        proxy = FaultProxy(
            target.host,
            target.port,
            idle_timeout=scale.scaled_killer,
            mode=self.mode,  # type: ignore[arg-type]
            max_flow_lifetime=ctx.timeout + idle + 3 * bound,  # a hung flow never outlives the scenario
            connect_timeout=ctx.timeout,
            client_user_timeout=user_timeout,
        )
        result = await _idle_through(proxy, ctx, scaled_config, idle, bound, (self.name, config.name, scaled, notes))
        stats = proxy.stats
        result.scaled["proxy"] = {
            "flows": stats.accepted,
            "reset": stats.reset,
            "blackholed": stats.blackholed,
            "user_timeout": stats.user_timeout,
        }
        return result


class PoolerClientIdle:
    """The pooler closes a client connection idle longer than its client_idle_timeout (PgBouncer's janitor):
    emulated, time-scaled, by the fault proxy's close mode in front of the pooler."""

    name = "pooler_client_idle"
    summary = "the pooler closes a client connection idle longer than its client_idle_timeout"

    def _limit(self, ctx: ProbeContext) -> Limit | None:
        from pool_doctor.path.build import pooler_client_limits

        pooler = ctx.facts.pooler
        found = pooler_client_limits(pooler) if pooler is not None and pooler.present else []
        return found[0] if found else None

    def killer(self, ctx: ProbeContext) -> Killer:
        limit = self._limit(ctx)
        if limit is None:
            return Killer(ASSUMED_IDLE_LIMIT, "the pooler's client_idle_timeout is not known", assumed=True)
        return Killer(limit.seconds, f"client_idle_timeout = {limit.shown} ({limit.source})")

    def limit(self, ctx: ProbeContext) -> Limit:
        limit = self._limit(ctx)
        assert limit is not None  # run() skips the scenario first
        return limit

    async def run(self, ctx: ProbeContext, config: ProbeConfig) -> ScenarioResult:
        from pool_doctor.faults import FaultProxy

        target, driver, pooler = ctx.target, ctx.driver, ctx.facts.pooler
        if pooler is None or not pooler.present:
            return skipped(self.name, config, "no pooler on the path")
        if self.killer(ctx).assumed:
            return skipped(
                self.name,
                config,
                "not tested: the pooler's client_idle_timeout is not known (0, off, is PgBouncer's default); "
                "give it as [pooler] client_idle_timeout, or let the probe read the console with "
                "--pgbouncer-admin-url, to reproduce it",
            )
        if target.is_unix_socket or target.sslmode == "verify-full":
            return skipped(self.name, config, "the loopback proxy that stands in for the pooler cannot be put here")
        notes = [
            "emulated: a loopback proxy in front of the pooler closes each client connection idle longer than the "
            "scaled client_idle_timeout, as the pooler does"
        ]
        if pooler.breaks_session_state or pooler.mode_unknown:
            # One failure at a time: the statements' collisions are prepared_statements' to show.
            config = config.without_statement_cache(target)
            notes.append("run with the driver's prepared statements off (the prepared_statements scenario's part)")
        scale = TimeScale(self.killer(ctx))
        scaled_config, scaled = scale.apply(config, driver, ctx.detect_floor)
        idle = scale.idle_for(scaled_config)
        bound = hang_bound(scaled_config, driver, idle)
        proxy = FaultProxy(
            target.host,
            target.port,
            idle_timeout=scale.scaled_killer,
            mode="close",
            max_flow_lifetime=ctx.timeout + idle + 3 * bound,
            connect_timeout=ctx.timeout,
        )
        result = await _idle_through(proxy, ctx, scaled_config, idle, bound, (self.name, config.name, scaled, notes))
        result.scaled["proxy"] = {"flows": proxy.stats.accepted, "closed": proxy.stats.closed}
        return result


async def _idle_through(
    proxy: Any,
    ctx: ProbeContext,
    config: ProbeConfig,
    idle: float,
    bound: float,
    result_args: tuple[str, str, dict[str, Any], list[str]],
) -> ScenarioResult:
    """The idle run of a scenario whose fault is the loopback proxy in front of the target: started, the
    config's pool through it, the proxy stopped with the run."""
    await proxy.start()
    engine = ctx.engine(config, target=ctx.target.with_params(host="127.0.0.1", port=str(proxy.port)))
    run = IdleRun(engine, idle, bound, ctx.timeout)
    try:
        await run.run()
    finally:
        await run.close(cut=proxy.stop)
    return run.result(*result_args)


class PreparedStatements:
    """Two client connections of one pool take turns on the pooler's backends, as under any real load."""

    name = "prepared_statements"
    summary = "transaction pooling runs a client's next transaction on a backend without (or with another client's) prepared statements"
    ROUNDS = 8

    async def run(self, ctx: ProbeContext, config: ProbeConfig) -> ScenarioResult:
        from sqlalchemy import text

        if ctx.pooling != "transaction":
            return skipped(
                self.name,
                config,
                "no transaction pooling on the path: a client keeps its backend, and its prepared statements with it",
            )
        if config.stack.one_connection_per_thread:
            return skipped(
                self.name,
                config,
                f"{config.stack.one_connection_per_thread}: the two interleaved "
                "clients this scenario needs would be one connection",
            )
        engine = ctx.engine(config)
        query = text("SELECT CAST(:n AS integer)")  # parameters: the extended protocol, as an ORM query uses it
        started = time.monotonic()
        bound = max(MIN_HANG_BOUND, 3 * ctx.timeout)

        async def take_turns() -> None:
            async with engine.connect() as a, engine.connect() as b:
                for n in range(self.ROUNDS):
                    await a.execute(query, {"n": n})
                    await a.commit()  # a's backend goes back to the pooler...
                    await b.execute(query, {"n": n})  # ...and b may get it, holding it in a transaction
                    await a.execute(query, {"n": n})  # so a lands on another backend
                    await a.commit()
                    await b.commit()

        try:
            await asyncio.wait_for(take_turns(), bound)
        except TimeoutError:
            return ScenarioResult(self.name, config.name, "hang", seconds=bound, reason=f"no answer within {bound:g}s")
        except Exception as exc:
            return ScenarioResult(
                self.name,
                config.name,
                "error",
                seconds=time.monotonic() - started,
                error=app_error(exc),
                notes=[f"{self.ROUNDS} rounds of two interleaved clients"],
            )
        finally:
            await dispose(engine)
        return ScenarioResult(
            self.name,
            config.name,
            "ok",
            seconds=time.monotonic() - started,
            notes=[f"{self.ROUNDS} rounds of two interleaved clients, {4 * self.ROUNDS} queries"],
        )


register(ServerIdleTimeout())
register(BackendTerminated())
register(NetworkIdle("reset"))
register(NetworkIdle("blackhole"))
register(PoolerClientIdle())
register(PreparedStatements())
register(IdleInTransaction())
