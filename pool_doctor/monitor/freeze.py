"""The freeze guard: notice that the process did not run for a while, and retire what idled across it.

On AWS Lambda between invocations, Cloud Run with its CPU throttled, after a SnapStart/CRaC restore, a laptop's
sleep or a SIGSTOP, no pool timer runs: a connection kept across the freeze can have been closed by the server
(idle_session_timeout) or forgotten by a NAT long ago, while the pool still thinks it young (field notes
section 10). HikariCP's housekeeper notices such a leap and only logs it; this guard also acts.

Two ways to notice, whichever comes first: a housekeeping thread that ticks every `period` seconds and finds
itself late, and a look at the clock at each checkout (the app's thread may run before the housekeeper after a
SIGCONT). A leap larger than `threshold` (the smallest limit on the path, when known) is a freeze. The clock
is CLOCK_BOOTTIME where there is one: it counts a system suspend, which CLOCK_MONOTONIC does not, and a
SIGSTOP, which both do. A connection released before a freeze ended is stale: the adapter replaces it at
its next checkout. Nothing here raises into the app.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pool_doctor.monitor.records import SCHEMA_VERSION, utc_now

if TYPE_CHECKING:
    from pool_doctor.monitor.core import Monitor

Clock = Callable[[], float]
DEFAULT_THRESHOLD = 30.0  # seconds: a leap this long is a freeze when no limit on the path is known
MIN_PERIOD, MAX_PERIOD = 0.5, 30.0


def boot_clock() -> float:
    """Seconds on a clock that keeps counting through a suspend (Linux CLOCK_BOOTTIME), else monotonic."""
    boottime = getattr(time, "CLOCK_BOOTTIME", None)
    return time.clock_gettime(boottime) if boottime is not None else time.monotonic()


@dataclass(frozen=True)
class Freeze:
    seconds: float  # how long nothing ran, beyond the housekeeper's own period
    ended_at: float  # on the monitor's clock (`stamp`), which the connections' release times are on
    noticed_by: str  # "housekeeper" or "checkout"

    @property
    def what(self) -> str:
        return f"frozen for {self.seconds:.1f} s"


class FreezeGuard:
    """Ticks on a daemon thread; `check()` at checkout; `stale(released_at)` says whether a connection
    released at that time (on the guard's clock) idled across a freeze."""

    def __init__(
        self,
        threshold: Callable[[], float | None],
        on_freeze: Callable[[Freeze], None],
        *,
        stamp: Clock,
        clock: Clock = boot_clock,
        period: float | None = None,
    ) -> None:
        self._threshold = threshold  # read at each look: the limits may be learnt after watch()
        self._on_freeze = on_freeze
        self.clock = clock
        self._stamp = stamp
        self._period = period
        self._lock = threading.Lock()
        self._last = clock()
        self._waiting = self.period()  # the housekeeper's wait from the last look
        self.last_freeze: Freeze | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def threshold(self) -> float:
        given = self._threshold()
        return given if given is not None and given > 0 else DEFAULT_THRESHOLD

    def period(self) -> float:
        if self._period is not None:
            return self._period
        return min(max(self.threshold() / 4, MIN_PERIOD), MAX_PERIOD)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="pool-doctor-freeze-guard", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)

    def _run(self) -> None:
        while not self._stop.wait(self._waiting):
            self.check("housekeeper")

    def check(self, noticed_by: str) -> Freeze | None:
        """Look at the clock: a leap since the last look beyond the housekeeper's wait and the threshold is a
        freeze. The wait is the one the housekeeper began at the last look: the limits learnt since (a shorter
        period) must not turn an ordinary wait into a leap."""
        try:
            with self._lock:
                now = self.clock()
                leap = now - self._last - self._waiting
                self._last = now
                self._waiting = self.period()
                if leap <= self.threshold():
                    return None
                freeze = self.last_freeze = Freeze(round(leap, 3), self._stamp(), noticed_by)
            self._on_freeze(freeze)
            return freeze
        except Exception:  # the guard never raises into the app
            return None

    def stale(self, released_at: float | None) -> Freeze | None:
        """The freeze a connection released at `released_at` (the monitor's clock) idled across, if any."""
        freeze = self.last_freeze
        if freeze is None or released_at is None:
            return None
        return freeze if released_at < freeze.ended_at else None


def start_guard(monitor: Monitor) -> FreezeGuard:
    """A started guard for this monitor: its threshold the smallest limit the monitor knows, its freezes
    written as `frozen` records."""

    def threshold() -> float | None:
        limits = monitor.limits
        return min(limit.seconds for limit in limits) if limits else None

    def on_freeze(freeze: Freeze) -> None:
        monitor.note(frozen_record(monitor, freeze, threshold()))

    guard = FreezeGuard(threshold, on_freeze, stamp=monitor.clock)
    guard.start()
    return guard


def frozen_record(monitor: Monitor, freeze: Freeze, threshold: float | None) -> dict[str, Any]:
    pool = monitor.pool
    return {
        "schema_version": SCHEMA_VERSION,
        "event": "frozen",
        "at": utc_now(),
        "stack": pool.stack,
        "pool": pool.pool,
        "driver": pool.driver,
        "target": pool.target,
        "frozen_s": freeze.seconds,
        "threshold_s": threshold if threshold is not None else DEFAULT_THRESHOLD,
        "noticed_by": freeze.noticed_by,
        "what": f"{freeze.what}: no pool timer ran; connections idle across it are replaced at their next checkout",
    }
