"""Watch a psycopg_pool ConnectionPool through the callbacks it offers: `configure` (new connection),
`check` (at getconn, 3.2+), `reset` (on return), plus `get_stats()`.

    monitor = PsycopgPoolMonitor(target="app@db:5432/app", jsonl="deaths.jsonl")
    pool = ConnectionPool(conninfo, **monitor.pool_kwargs(check=ConnectionPool.check_connection))

With a check (recommended), a connection found dead at getconn is recorded with the driver's error and
replaced by the pool: no request fails. Without one the app's query fails, and psycopg_pool discards the
broken connection on return with no callback (get_stats: returns_bad); the monitor notices it at the next new connection or
`stats()`, from the connection's own state, with libpq's last message when it is still there.

What psycopg_pool cannot report: no per-statement hook (idle time while held counts from getconn);
max_lifetime and max_idle closes have no callback either, so they are counted, not timed.
Sync ConnectionPool only: AsyncConnectionPool takes async callbacks, not covered here.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

from pool_doctor.monitor.attribution import SERVER_LIMITS_SQL, WHO_SQL, limits_from_settings
from pool_doctor.monitor.core import Monitor, exporters
from pool_doctor.monitor.metrics import PoolMetrics, PoolState
from pool_doctor.monitor.records import Clock, ConnState, Noticed, PoolSettings, monotonic
from pool_doctor.path.model import Limit

Callback = Callable[[Any], None]


class PsycopgPoolMonitor(Monitor):
    def __init__(
        self,
        *,
        target: str = "",
        password: str | None = None,
        limits_from: Mapping[str, Any] | str | os.PathLike[str] | Sequence[Limit] | None = None,
        read_server_limits: bool | None = None,
        jsonl: str | os.PathLike[str] | TextIO | None = None,
        logger: logging.Logger | None = None,
        prometheus: Any = None,
        otel: Any = None,
        pool_name: str | None = None,
        clock: Clock = monotonic,
        hold_warn: float | None = None,
    ) -> None:
        super().__init__(
            PoolSettings("psycopg_pool", "ConnectionPool", "psycopg", target),
            secrets=[password or ""],
            jsonl=jsonl,
            logger=logger,
            clock=clock,
            exporters=exporters(prometheus, otel, pool_name or target.rpartition("@")[2], logger),
            hold_warn=hold_warn,  # held and leaked records (monitor/holds.py)
        )
        self.metrics = PoolMetrics(self._exporters)
        self._read_server = self.take_limits(limits_from, read_server_limits)
        self._lock = threading.Lock()
        # Strong references on purpose: the pool drops a broken connection without a callback, and only
        # the object itself can still say it was lost. Removed once recorded.
        self._tracked: dict[int, tuple[Any, ConnState]] = {}
        self._check: Callback | None = None
        self._configure: Callback | None = None
        self._reset: Callback | None = None
        self.psycopg_pool: Any = None

    def pool_kwargs(
        self, *, check: Callback | None = None, configure: Callback | None = None, reset: Callback | None = None
    ) -> dict[str, Callback]:
        """configure/check/reset for ConnectionPool(...), chained to the caller's own."""
        self._check, self._configure, self._reset = check, configure, reset
        self.pool = PoolSettings(
            "psycopg_pool",
            "ConnectionPool",
            "psycopg",
            self.pool.target,
            settings={"check": getattr(check, "__qualname__", None) if check else None},
            pings_at_checkout=check is not None,
        )
        return {"configure": self._on_configure, "check": self._on_check, "reset": self._on_reset}

    def attach(self, pool: Any) -> None:
        """Give the monitor the pool, so stats() includes its get_stats() and metrics read its state."""
        self.psycopg_pool = pool
        if self.metrics:
            self.metrics.report_state(self.pool_state)

    def pool_state(self) -> PoolState:
        """The pool now, from psycopg_pool's get_stats(): it counts the requests waiting too."""
        stats = self.psycopg_pool.get_stats()
        size, idle = int(stats.get("pool_size", 0)), int(stats.get("pool_available", 0))
        return PoolState(
            idle=idle,
            used=max(size - idle, 0),
            max=stats.get("pool_max"),
            idle_max=stats.get("pool_max"),
            idle_min=stats.get("pool_min"),
            pending=int(stats.get("requests_waiting", 0)),
        )

    def close(self) -> None:
        self.metrics.close()
        super().close()

    def _on_configure(self, conn: Any) -> None:
        self.sweep()  # a new connection often replaces one the pool discarded: record that one first
        state = self.opened()
        with self._lock:
            self._tracked[id(conn)] = (conn, state)
        if self._read_server and not self.limits_known:
            self._read_limits(conn)
        if self._configure is not None:
            self._configure(conn)

    def _on_check(self, conn: Any) -> None:
        entry = self._tracked.get(id(conn))
        if self._check is not None:
            try:
                self._check(conn)
            except Exception as exc:
                if entry is not None:
                    self._forget(conn)
                    self.died(entry[1], exc, Noticed.CHECK)
                raise
        if entry is not None:
            self.checked_out(entry[1])

    def _on_reset(self, conn: Any) -> None:
        entry = self._tracked.get(id(conn))
        if entry is not None:
            if self.metrics and entry[1].checked_out_at is not None:
                self.metrics.used(max(self.clock() - entry[1].checked_out_at, 0.0))
            self.checked_in(entry[1])
        if self._reset is not None:
            self._reset(conn)

    def _forget(self, conn: Any) -> None:
        with self._lock:
            self._tracked.pop(id(conn), None)

    def sweep(self) -> None:
        """Record the tracked connections the pool has closed since the last look."""
        with self._lock:
            gone = [(key, conn, state) for key, (conn, state) in self._tracked.items() if conn.closed]
            for key, _, _ in gone:
                del self._tracked[key]
        for _, conn, state in gone:
            if getattr(conn, "broken", False):
                message = ""
                try:
                    message = conn.pgconn.error_message.decode("utf-8", "replace")
                except Exception:
                    pass
                self.died(
                    state,
                    None,
                    Noticed.REQUEST,
                    mid_checkout=False,
                    error_text=message or "lost in a request (psycopg_pool passes the app's error to no callback)",
                )
            else:
                self.retired(state, "the pool closed it (max_lifetime, max_idle, resize or close)")

    def stats(self) -> dict[str, Any]:
        self.sweep()
        stats = super().stats()
        if self.psycopg_pool is not None:
            stats["psycopg_pool"] = self.psycopg_pool.get_stats()
        return stats

    def _read_limits(self, conn: Any) -> None:
        try:
            with conn.cursor() as cursor:
                role, database = cursor.execute(WHO_SQL).fetchone()
                rows = cursor.execute(SERVER_LIMITS_SQL).fetchall()
            conn.rollback()  # psycopg_pool wants configure to leave the connection idle
            self.set_limits(limits_from_settings(rows, role=str(role), database=str(database)))
        except Exception as exc:
            note = f"could not read the server's limits ({type(exc).__name__})"
            self.set_limits([], note)
            self.logger.warning("pool_doctor.monitor: %s; deaths will be unexplained", note)
