"""What every scenario shares: the context it runs in, the Scenario protocol, and the idle pattern.

A scenario is any object with a `name`, a `summary` and `async run(ctx, config) -> ScenarioResult`
(pool_doctor/probe/scenarios.py holds them, and the registry they are run from).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from pool_doctor.probe.engines import Attempt, ProbeConfig, ReadOnly, attempt, build_engine, dispose, reap
from pool_doctor.probe.model import ScenarioResult
from pool_doctor.probe.timescale import MIN_DETECT

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from pool_doctor.connection.drivers import Driver
    from pool_doctor.connection.spec import ConnectionSpec
    from pool_doctor.rules.facts import Facts


@dataclass(frozen=True)
class ProbeContext:
    """What every scenario may use: the target, the facts `check` read, and the path's speed."""

    target: ConnectionSpec
    facts: Facts
    timeout: float  # seconds any one network step may take
    round_trip: float = 0.001  # seconds: p95 of SELECT 1, measured by the round-trip step
    read_only: ReadOnly = "session"  # "session": startup settings; "transaction": BEGIN READ ONLY (behind a pooler)
    pooling: str = "none"  # "none", "session" or "transaction": a pooler answering in the server's place
    # Held by a scenario whose run must not overlap another's: the configs run side by side (asyncio.gather),
    # and a freeze of the event loop (frozen) would freeze the other config's run in the middle of its own.
    alone: asyncio.Lock = field(default_factory=asyncio.Lock)

    def engine(
        self,
        config: ProbeConfig,
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
    def driver(self) -> Driver:
        """The target's driver: how its sessions open, what bounds a hang, how its time scales."""
        from pool_doctor.connection.drivers import driver_for

        return driver_for(self.target)

    @property
    def detect_floor(self) -> float:
        return max(MIN_DETECT, 20 * self.round_trip)


class Scenario(Protocol):
    name: str
    summary: str

    async def run(self, ctx: ProbeContext, config: ProbeConfig) -> ScenarioResult: ...


# -- the idle pattern shared by the idle-based scenarios -----------------------------------------


@dataclass
class IdleRun:
    """Warm one pooled connection, leave it idle past the killer, then use it as the app would."""

    engine: AsyncEngine
    idle: float
    bound: float
    warm_timeout: float
    # The idle time as a freeze of the event loop (blocking it: no timer, callback or socket event runs).
    freeze: Callable[[float], None] | None = None
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
        if self.freeze is not None:
            self.freeze(self.idle)  # blocks the loop on purpose: the process is stopped, as on a frozen runtime
        else:
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


def skipped(name: str, config: ProbeConfig, reason: str) -> ScenarioResult:
    return ScenarioResult(name, config.name, "skipped", reason=reason)
