"""Measure an unknown idle timeout on the real path, in wall time close to the timeout itself.

K connections ("lanes") test idle durations on a geometric grid x0, x0*r, x0*r^2, ... up to MAX. A lane
idles for its duration, then runs SELECT 1: success proves the path keeps a flow idle that long, and the
lane is fresh again, so it takes the next untested duration; failure bounds the timeout from above. The
first failure ends the search once every shorter duration in flight has answered, so the result is
`lower < T <= upper` with upper/lower <= r.

Timing: lane i finishes duration x_m at about x_m + x_(m-K) + x_(m-2K) + ... = x_m / (1 - r^-K), so
r = 5^(1/K) keeps the wall time near 1.25 x T (r is capped at 1.09 to keep the bounds within 10 %;
fewer lanes then cost time instead of precision).

A failure is a `reset` when the query errors (RST, EOF, or the server's own FATAL) and a `blackhole`
when it does not answer within the per-query timeout.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pool_doctor.errors import ConnectError, UsageError
from pool_doctor.probe.engines import APPLICATION_NAME, app_error
from pool_doctor.probe.model import AppError, IdleTimeoutResult, Shape

if TYPE_CHECKING:
    from pool_doctor.connection.drivers import Driver
    from pool_doctor.connection.spec import ConnectionSpec

FIRST_IDLE = 0.5  # seconds: the shortest idle tested
MAX_RATIO = 1.09  # grid step cap: successive durations at most 9 % apart, so the bounds are within 10 %
TIME_OVERHEAD = 5.0  # r^K: the chain of reused lanes then costs at most 1/(1 - 1/5) = 1.25 x T


def grid(max_seconds: float, lanes: int) -> tuple[float, list[float]]:
    """The ratio and the idle durations to test, ending exactly at max_seconds."""
    ratio = min(MAX_RATIO, TIME_OVERHEAD ** (1 / lanes))
    values = [min(FIRST_IDLE, max_seconds)]
    while values[-1] < max_seconds:
        values.append(min(values[-1] * ratio, max_seconds))
    return ratio, values


class Lane:
    """One raw driver connection (no pool: the probe decides exactly when it is used)."""

    def __init__(self, driver: Driver, conn: Any) -> None:
        self.driver = driver
        self.conn = conn
        self.fresh = time.monotonic()  # when the path last saw bytes of this connection
        self.dead = False

    @classmethod
    async def open(cls, target: ConnectionSpec, timeout: float, startup_read_only: bool) -> Lane:
        from pool_doctor.connection.drivers import driver_for

        driver = driver_for(target)
        url = target.render(hide_password=False, driver="")
        settings = {"default_transaction_read_only": "on"} if startup_read_only else {}
        kwargs = driver.probe_session_args({}, settings, APPLICATION_NAME)
        conn = await asyncio.wait_for(driver.probe_lane(url, kwargs, timeout), timeout + 1)
        return cls(driver, conn)

    async def query(self, timeout: float) -> tuple[bool, Shape | None, AppError | None]:
        """SELECT 1 (simple protocol, no prepared statement); (ok, failure shape, error)."""
        task = asyncio.ensure_future(self.conn.execute("SELECT 1"))
        # Whoever ends it (a timeout here, or the search cancelling this lane), its error is expected.
        task.add_done_callback(lambda t: t.cancelled() or t.exception())
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            task.cancel()
            self.abandon()
            await asyncio.wait({task}, timeout=2)
            return (
                False,
                "blackhole",
                AppError("TimeoutError", "builtins", f"no answer within {timeout:g}s", "python", None),
            )
        exc = task.exception()
        if exc is not None:
            self.abandon()
            return False, "reset", app_error(exc)
        self.fresh = time.monotonic()
        return True, None, None

    def abandon(self) -> None:
        """Drop the connection without a goodbye: a hung one would never answer it."""
        self.dead = True
        try:
            self.driver.probe_abandon(self.conn)  # closes the socket, which also ends a query still waiting on it
        except Exception:
            pass

    async def close(self) -> None:
        if self.dead:
            return
        try:
            await asyncio.wait_for(self.conn.close(), 1.0)
        except Exception:
            self.abandon()


@dataclass
class _Search:
    values: list[float]
    next_index: int = 0
    successes: list[float] = field(default_factory=list)
    upper: float | None = None
    shape: Shape | None = None
    error: AppError | None = None
    tests: int = 0
    in_flight: dict[int, float] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def take(self) -> float | None:
        if self.upper is not None or self.next_index >= len(self.values):
            return None
        value = self.values[self.next_index]
        self.next_index += 1
        return value

    def success(self, idle: float) -> None:
        self.tests += 1
        self.successes.append(idle)
        self.changed.set()

    def failure(self, idle: float, shape: Shape | None, error: AppError | None) -> None:
        self.tests += 1
        if self.upper is None or idle < self.upper:
            self.upper, self.shape, self.error = idle, shape, error
        self.changed.set()

    def settled(self) -> bool:
        """A failure is known and nothing shorter is still being tested."""
        return self.upper is not None and all(v >= self.upper for v in self.in_flight.values())


async def discover_idle_timeout(
    target: ConnectionSpec,
    max_seconds: float,
    connections: int,
    timeout: float,
    query_timeout: float = 1.0,
    startup_read_only: bool = True,
) -> IdleTimeoutResult:
    """Bounds on the path's idle timeout (see the module docstring), using at most `connections` connections."""
    if max_seconds <= 0:
        raise UsageError("--discover-idle-timeout needs a positive number of seconds")
    if connections < 1:
        raise UsageError("--discover-connections must be at least 1")
    started = time.monotonic()
    _, values = grid(max_seconds, connections)
    lanes_wanted = min(connections, len(values))
    opened = await asyncio.gather(
        *(Lane.open(target, timeout, startup_read_only) for _ in range(lanes_wanted)), return_exceptions=True
    )
    lanes = [lane for lane in opened if isinstance(lane, Lane)]
    if not lanes:
        first = next(exc for exc in opened if isinstance(exc, BaseException))
        raise ConnectError(f"cannot connect to {target.display()}: {app_error(first)}")
    search = _Search(values)

    async def run_lane(index: int, lane: Lane) -> None:
        while (value := search.take()) is not None:
            search.in_flight[index] = value
            await asyncio.sleep(max(0.0, lane.fresh + value - time.monotonic()))
            idle = time.monotonic() - lane.fresh
            ok, shape, error = await lane.query(query_timeout)
            del search.in_flight[index]
            if ok:
                search.success(idle)
            else:
                search.failure(idle, shape, error)
                return
        search.changed.set()

    tasks = [asyncio.ensure_future(run_lane(i, lane)) for i, lane in enumerate(lanes)]
    deadline = started + 2 * max_seconds + query_timeout + timeout + 10  # a safety net, never the plan
    try:
        while not all(t.done() for t in tasks) and not search.settled():
            search.changed.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                break
            waiter = asyncio.ensure_future(search.changed.wait())
            await asyncio.wait([waiter, *tasks], timeout=left, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks, timeout=3)
        for task in tasks:
            if task.done() and not task.cancelled():
                task.exception()
        await asyncio.gather(*(lane.close() for lane in lanes), return_exceptions=True)
    # A success longer than the shortest failure is noise (jitter on the path); bound below the failure.
    below = [idle for idle in search.successes if search.upper is None or idle < search.upper]
    lower = max(below) if below else None
    return IdleTimeoutResult(
        lower=lower,
        upper=search.upper,
        shape=search.shape,
        error=search.error,
        max_seconds=max_seconds,
        connections=len(lanes),
        tests=search.tests,
        seconds=time.monotonic() - started,
    )
