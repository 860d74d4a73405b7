"""Failure scenarios: each reproduces one way a pooled connection dies, against the real server, in seconds.

Time-scaled: each scenario maps its killer (the idle limit it reproduces) to SCALED_KILLER seconds and
divides the app's own timings (pool_recycle, command_timeout, tcp_user_timeout) by the same factor, so
the shape holds: pool_recycle 1800 s against an idle limit of 300 s becomes 9 s against 1.5 s.

The registry is a plain list: a scenario is any object with a `name`, a `summary` and
`async run(ctx, config) -> ScenarioResult`. Add one with `register(MyScenario())`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from pool_doctor.durations import format_seconds
from pool_doctor.path.model import Layer, Limit, Provenance, Shape
from pool_doctor.probe.engines import (
    Attempt,
    EngineSettings,
    ReadOnly,
    app_error,
    attempt,
    build_engine,
    dispose,
    reap,
)
from pool_doctor.probe.model import ScenarioResult

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from pool_doctor.connection.spec import ConnectionSpec
    from pool_doctor.rules.facts import Facts

SCALED_KILLER = 1.5  # seconds: long enough to tell from jitter, short enough to wait for twice per scenario
ASSUMED_IDLE_LIMIT = 300.0  # seconds, when nothing on the path is known to close idle connections
PAST_KILLER = 0.5  # seconds the probe idles past the scaled killer, at most
MIN_DETECT = 0.5  # seconds: scaled command/user timeouts never go below this (nor below 20 round trips)
SQLALCHEMY_GRACEFUL_CLOSE = 2.0  # SQLAlchemy's asyncpg adapter waits this long closing a dead connection
# Each stack's own keys that are times (seconds): TimeScale scales them with pool_recycle.
STACK_TIME_KEYS: dict[str, tuple[str, ...]] = {
    "asyncpg": ("max_inactive_connection_lifetime",),
    "psycopg_pool": ("max_idle", "max_lifetime"),
    "django": ("CONN_MAX_AGE",),
}
PSYCOPG_POOL_BACKOFF = 1.1  # seconds: AttemptWithBackoff's first delay (1 s, 10 % jitter), psycopg_pool 3.3
MIN_HANG_BOUND = 2.5  # seconds an attempt may take before the probe calls it a hang (loopback answers in ms)


@dataclass(frozen=True)
class Killer:
    """What a scenario reproduces, in real seconds."""

    seconds: float
    what: str
    assumed: bool = False


@dataclass(frozen=True)
class ProbeContext:
    """What every scenario may use: the target, the facts `check` read, and the path's speed."""

    target: ConnectionSpec
    facts: Facts
    timeout: float  # seconds any one network step may take
    round_trip: float = 0.001  # seconds: p95 of SELECT 1, measured by the round-trip step
    read_only: ReadOnly = "session"  # "session": startup settings; "transaction": BEGIN READ ONLY (behind a pooler)
    pooling: str = "none"  # "none", "session" or "transaction": a pooler answering in the server's place

    def engine(
        self,
        config: EngineSettings,
        *,
        target: ConnectionSpec | None = None,
        session_settings: dict[str, str] | None = None,
        null_pool: bool = False,
    ) -> AsyncEngine:
        return build_engine(
            target or self.target,
            config,
            session_settings=session_settings,
            null_pool=null_pool,
            read_only=self.read_only,
        )

    @property
    def detect_floor(self) -> float:
        return max(MIN_DETECT, 20 * self.round_trip)


class Scenario(Protocol):
    name: str
    summary: str

    async def run(self, ctx: ProbeContext, config: EngineSettings) -> ScenarioResult: ...


SCENARIOS: list[Scenario] = []


def register(scenario: Scenario) -> Scenario:
    """Add a scenario to the registry (probe runs them in registration order)."""
    SCENARIOS.append(scenario)
    return scenario


def scenario_names() -> list[str]:
    return [s.name for s in SCENARIOS]


# -- time scaling ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimeScale:
    killer: Killer

    @property
    def factor(self) -> float:
        """Real seconds per probe second (never below 1: a killer already short is used as is)."""
        return max(1.0, self.killer.seconds / SCALED_KILLER)

    @property
    def scaled_killer(self) -> float:
        return self.killer.seconds / self.factor

    def down(self, seconds: float) -> float:
        return seconds / self.factor

    def apply(self, config: EngineSettings, driver: str, detect_floor: float) -> tuple[EngineSettings, dict[str, Any]]:
        """The config with its timings divided by the factor; and what was scaled, for the report."""
        shown: dict[str, Any] = {
            "factor": round(self.factor, 2),
            "killer_seconds": self.killer.seconds,
            "killer_scaled": round(self.scaled_killer, 3),
            "killer": self.killer.what,
            "killer_assumed": self.killer.assumed,
        }
        recycle = config.pool_recycle
        if recycle > 0:
            recycle = self.down(recycle)
            shown["pool_recycle"] = round(recycle, 3)
        else:
            shown["pool_recycle"] = -1
        args = dict(config.connect_args)
        if driver == "asyncpg" and args.get("command_timeout"):
            args["command_timeout"] = max(detect_floor, self.down(float(args["command_timeout"])))
            shown["command_timeout"] = round(args["command_timeout"], 3)
        if driver in ("psycopg", "psycopg2") and args.get("tcp_user_timeout"):
            seconds = max(detect_floor, self.down(float(args["tcp_user_timeout"]) / 1000))
            args["tcp_user_timeout"] = max(1, round(seconds * 1000))
            shown["tcp_user_timeout_ms"] = args["tcp_user_timeout"]
        values = self._scaled_stack_values(config, shown)
        return config.with_changes(pool_recycle=recycle, connect_args=args, values=values), shown

    def _scaled_stack_values(self, config: EngineSettings, shown: dict[str, Any]) -> dict[str, Any]:
        """Another stack's own time keys, divided by the same factor: asyncpg's
        max_inactive_connection_lifetime, psycopg_pool's max_idle and max_lifetime, Django's CONN_MAX_AGE
        (and OPTIONS["pool"]'s max_idle and max_lifetime). Counts (max_queries) and waits (timeout) stay."""
        from pool_doctor.stacks import _values

        values = dict(config.values)
        keys = STACK_TIME_KEYS.get(config.stack, ())
        for key in keys:
            seconds = _values.seconds(values, key)
            if seconds is not None and seconds > 0:  # 0 and None mean "off" or "forever": not a time to scale
                values[key] = self.down(seconds)
                shown[key] = round(values[key], 3)
        options = values.get("OPTIONS")
        pool = options.get("pool") if isinstance(options, dict) else None
        if config.stack == "django" and isinstance(options, dict) and isinstance(pool, dict):
            pool = dict(pool)
            for key in ("max_idle", "max_lifetime"):
                seconds = _values.seconds(pool, key)
                if seconds is not None and seconds > 0:
                    pool[key] = self.down(seconds)
                    shown[f"OPTIONS.pool.{key}"] = round(pool[key], 3)
            values["OPTIONS"] = {**options, "pool": pool}
        return values

    def idle_for(self, scaled: EngineSettings) -> float:
        return self.idle(retirement(scaled))

    def idle(self, scaled_recycle: float) -> float:
        """How long to leave the connection idle: just past the killer, and before a recycle that comes
        after it (a request between the two is exactly the one that dies)."""
        idle = self.scaled_killer + PAST_KILLER
        if scaled_recycle > self.scaled_killer:
            idle = min(idle, (self.scaled_killer + scaled_recycle) / 2)
        return idle


def retirement(config: EngineSettings) -> float:
    """Seconds after which the config retires a connection by age or idle time (-1: never): SQLAlchemy's
    pool_recycle, asyncpg's max_inactive_connection_lifetime, Django's CONN_MAX_AGE. psycopg_pool's
    max_lifetime is checked on return and its max_idle shrinks one connection per period: neither is one."""
    if config.stack == "sqlalchemy":
        return config.pool_recycle
    from pool_doctor.stacks import _values

    key = {"asyncpg": "max_inactive_connection_lifetime", "django": "CONN_MAX_AGE"}.get(config.stack)
    seconds = _values.seconds(config.values, key) if key else None
    return seconds if seconds is not None and seconds > 0 else -1


def detect_seconds(config: EngineSettings, driver: str) -> float | None:
    """How long the driver waits on a silent peer before failing: asyncpg's command_timeout, libpq's
    tcp_user_timeout (milliseconds); None when nothing bounds it."""
    from pool_doctor.connection.drivers import DRIVERS

    bound = DRIVERS[driver].hang_bound(config.connect_args)
    return bound[0] if bound else None


def hang_bound(config: EngineSettings, driver: str, idle: float) -> float:
    """How long an attempt may take before the probe calls it a hang: room for the config's own (scaled)
    timeouts to fire twice, and for SQLAlchemy's graceful close when pool_recycle retires a dead connection."""
    from pool_doctor.probe.engines import uses_psycopg_pool

    detect = detect_seconds(config, driver) or 0.0
    recycles = 0 < config.pool_recycle < idle
    close = SQLALCHEMY_GRACEFUL_CLOSE if recycles and driver == "asyncpg" else 0.0
    # psycopg_pool's getconn waits ~1 s (1 s +- 10 %) after a failed check before it tries the replacement.
    backoff = PSYCOPG_POOL_BACKOFF if uses_psycopg_pool(config) else 0.0
    return max(MIN_HANG_BOUND, 1.0 + close + backoff + 2 * detect)


def keepalive_note(config: EngineSettings, driver: str) -> str | None:
    from pool_doctor.connection.drivers import DRIVERS

    found = DRIVERS[driver].keepalive_idle(config.connect_args)
    if found is None:
        return None
    idle = found[0]
    return (
        f"TCP keepalives (first after {idle:g}s) are not modelled: they are kernel packets the loopback proxy "
        "cannot see; on a real path, keepalives more frequent than the middlebox's idle timeout keep the flow alive."
    )


# -- the idle pattern shared by the idle-based scenarios -----------------------------------------


@dataclass
class IdleRun:
    """Warm one pooled connection, leave it idle past the killer, then use it as the app would."""

    engine: AsyncEngine
    idle: float
    bound: float
    warm_timeout: float
    first: Attempt | None = None
    second: Attempt | None = None
    setup_error: str | None = None
    hung: list[asyncio.Task[Any]] = field(default_factory=list)

    async def run(self) -> None:
        warm = await attempt(self.engine, self.warm_timeout)
        if warm.outcome != "ok":
            self.hung += [warm.task] if warm.task else []
            self.setup_error = str(warm.error) if warm.error else f"no answer within {self.warm_timeout:g}s"
            return
        await asyncio.sleep(self.idle)
        self.first = await attempt(self.engine, self.bound)
        if self.first.task is not None:
            self.hung.append(self.first.task)
        if self.first.outcome == "error":  # does the pool heal, or does the next request fail too?
            self.second = await attempt(self.engine, self.bound)
            if self.second.task is not None:
                self.hung.append(self.second.task)

    async def close(self, cut: Callable[[], Awaitable[None]] | None = None) -> None:
        """Cut the path first (a hung connection then fails at once), then reap and dispose."""
        if cut is not None:
            await cut()
        for task in self.hung:
            await reap(task)
        await dispose(self.engine)

    def result(self, name: str, config: str, scaled: dict[str, Any], notes: list[str]) -> ScenarioResult:
        scaled = {**scaled, "idle_seconds": round(self.idle, 3), "hang_after_seconds": round(self.bound, 3)}
        if self.setup_error is not None or self.first is None:
            return ScenarioResult(
                name, config, "skipped", reason=f"could not set up: {self.setup_error}", scaled=scaled, notes=notes
            )
        first = self.first
        if first.outcome == "hang":
            reason = (
                f"no answer within {self.bound:g}s: the app would wait until TCP gives up "
                "(~15 min on Linux) unless a client-side timeout fires"
            )
            return ScenarioResult(
                name, config, "hang", seconds=first.seconds, reason=reason, scaled=scaled, notes=notes
            )
        recovered = None if self.second is None else self.second.outcome == "ok"
        return ScenarioResult(
            name,
            config,
            first.outcome,
            seconds=first.seconds,
            error=first.error,
            recovered=recovered,
            scaled=scaled,
            notes=notes,
        )


def _skipped(name: str, config: EngineSettings, reason: str) -> ScenarioResult:
    return ScenarioResult(name, config.name, "skipped", reason=reason)


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

    async def run(self, ctx: ProbeContext, config: EngineSettings) -> ScenarioResult:
        if ctx.facts.read_server.version_num < 140000:
            return _skipped(
                self.name,
                config,
                f"idle_session_timeout needs PostgreSQL 14+ (server: {ctx.facts.read_server.version})",
            )
        if ctx.pooling != "none":
            return _skipped(
                self.name,
                config,
                "a pooler is on the path: the server's idle timeout ends the pooler's "
                "server connection, which the app's client connection outlives",
            )
        driver = ctx.target.driver
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

    async def run(self, ctx: ProbeContext, config: EngineSettings) -> ScenarioResult:
        from sqlalchemy import text

        if ctx.pooling == "transaction":
            return _skipped(
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
                    return _skipped(self.name, config, "the pooled connection's backend was already gone")
            except Exception as exc:
                error = app_error(exc)
                if (
                    error.type == "InsufficientPrivilege"
                    or "permission denied" in error.message
                    or "must be a member" in error.message
                ):
                    return _skipped(
                        self.name, config, f"role {ctx.target.user} may not terminate backends here: {error.message}"
                    )
                return _skipped(self.name, config, f"could not set up: {error}")
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

    async def run(self, ctx: ProbeContext, config: EngineSettings) -> ScenarioResult:
        from pool_doctor.faults import FaultProxy

        target = ctx.target
        driver = target.driver
        if target.is_unix_socket:
            return _skipped(self.name, config, "the target is a unix socket: there is no network path to fault")
        if target.sslmode == "verify-full":
            return _skipped(
                self.name,
                config,
                "sslmode=verify-full: the server certificate would not match the loopback proxy's address",
            )
        scale = TimeScale(self.killer(ctx))
        scaled_config, scaled = scale.apply(config, driver, ctx.detect_floor)
        notes = [n for n in [keepalive_note(scaled_config, ctx.target.driver)] if n]
        user_timeout = detect_seconds(scaled_config, driver) if driver in ("psycopg", "psycopg2") else None
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
        await proxy.start()
        engine = ctx.engine(scaled_config, target=target.with_params(host="127.0.0.1", port=str(proxy.port)))
        run = IdleRun(engine, idle, bound, ctx.timeout)
        try:
            await run.run()
        finally:
            await run.close(cut=proxy.stop)
        if scale.killer.assumed:
            notes.append(
                "the path's idle timeout is unknown (assumed here): give it with --network-idle-timeout, or measure "
                "it with --discover-idle-timeout, so pool_recycle retires connections before a middlebox forgets them"
            )
        result = run.result(self.name, config.name, scaled, notes)
        stats = proxy.stats
        result.scaled["proxy"] = {
            "flows": stats.accepted,
            "reset": stats.reset,
            "blackholed": stats.blackholed,
            "user_timeout": stats.user_timeout,
        }
        return result


class PreparedStatements:
    """Two client connections of one pool take turns on the pooler's backends, as under any real load."""

    name = "prepared_statements"
    summary = "transaction pooling runs a client's next transaction on a backend without (or with another client's) prepared statements"
    ROUNDS = 8

    async def run(self, ctx: ProbeContext, config: EngineSettings) -> ScenarioResult:
        from sqlalchemy import text

        if ctx.pooling != "transaction":
            return _skipped(
                self.name,
                config,
                "no transaction pooling on the path: a client keeps its backend, and its prepared statements with it",
            )
        if config.stack == "django":
            return _skipped(
                self.name,
                config,
                "Django keeps one connection per alias and thread: the two interleaved "
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
register(PreparedStatements())
