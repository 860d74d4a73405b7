"""Watch an asyncpg pool through the hooks it offers: `init` (new connection), `setup` (acquire), `reset`
(release), and each connection's termination listener (asyncpg calls it when the connection closes,
whether the server closed it or the pool did).

    monitor = AsyncpgPoolMonitor(target="app@db:5432/app", jsonl="deaths.jsonl")
    pool = await monitor.create_pool(dsn, min_size=2, max_inactive_connection_lifetime=300)

What asyncpg's pool cannot report, so the records cannot either:
- the error: a connection the server closed is dropped at acquire (`is_closed()`) and replaced silently,
  and no hook receives the exception an app's query raised; records carry the error as unknown.
- statements: there is no per-statement hook, so idle time while held is counted from acquire.
- a middlebox reset or a silent drop sends nothing until the next query, which then fails in the app:
  the record says the request failed, when the failing query closed the connection.
Telling the pool's own closes apart (max_inactive_connection_lifetime, max_queries, Pool.close) rests on
the settings passed to create_pool and Pool.is_closing(); expire_connections() reads as a death.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TextIO

from pool_doctor.monitor.attribution import (
    SERVER_LIMITS_SQL,
    WHO_SQL,
    _tolerance,
    limits_from_settings,
)
from pool_doctor.monitor.core import Monitor, exporters
from pool_doctor.monitor.metrics import PoolMetrics, PoolState
from pool_doctor.monitor.records import Clock, ConnState, Noticed, PoolSettings, monotonic
from pool_doctor.path.model import Limit

Hook = Callable[[Any], Awaitable[None]]


class AsyncpgPoolMonitor(Monitor):
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
            PoolSettings("asyncpg", "asyncpg.Pool", "asyncpg", target),
            secrets=[password or ""],
            jsonl=jsonl,
            logger=logger,
            clock=clock,
            exporters=exporters(prometheus, otel, pool_name or target.rpartition("@")[2], logger),
            hold_warn=hold_warn,  # held and leaked records (monitor/holds.py)
        )
        self.metrics = PoolMetrics(self._exporters)
        self._read_server = self.take_limits(limits_from, read_server_limits)
        self._states: dict[int, ConnState] = {}  # by backend PID (public on the pool's proxies too)
        self._pool: Any = None
        self._max_inactive = 300.0
        self._max_queries = 50000
        self._user: dict[str, Hook | None] = {"init": None, "setup": None, "reset": None}

    async def create_pool(self, dsn: str | None = None, **kwargs: Any) -> Any:
        """asyncpg.create_pool with this monitor's hooks chained before the caller's own init/setup/reset."""
        import asyncpg

        for name in ("init", "setup", "reset"):
            self._user[name] = kwargs.pop(name, None)
        self._max_inactive = float(kwargs.get("max_inactive_connection_lifetime", 300.0))
        self._max_queries = int(kwargs.get("max_queries", 50000))
        self.pool = PoolSettings(
            "asyncpg",
            "asyncpg.Pool",
            "asyncpg",
            self.pool.target,
            settings={"max_inactive_connection_lifetime": self._max_inactive, "max_queries": self._max_queries},
        )
        if self.metrics and "connect" not in kwargs:
            kwargs["connect"] = self._timed_connect  # asyncpg >= 0.30: how the pool opens a connection
        self._pool = await asyncpg.create_pool(dsn, init=self._init, setup=self._setup, reset=self._reset, **kwargs)
        if self.metrics:
            self.metrics.report_state(self.pool_state)
        return self._pool

    async def _timed_connect(self, *args: Any, **kwargs: Any) -> Any:
        import asyncpg

        started = self.clock()
        connection = await asyncpg.connect(*args, **kwargs)
        self.metrics.created(max(self.clock() - started, 0.0))
        return connection

    def pool_state(self) -> PoolState:
        """The pool now (asyncpg's public getters); waiting acquires are not counted by asyncpg."""
        pool = self._pool
        size, idle = pool.get_size(), pool.get_idle_size()
        return PoolState(
            idle=idle,
            used=max(size - idle, 0),
            max=pool.get_max_size(),
            idle_max=pool.get_max_size(),
            idle_min=pool.get_min_size(),
        )

    def close(self) -> None:
        self.metrics.close()
        super().close()

    async def _init(self, con: Any) -> None:
        state = self.opened()
        self._states[con.get_server_pid()] = state
        con.add_termination_listener(lambda closed: self._terminated(closed, state))
        if self._read_server and not self.limits_known:
            await self._read_limits(con)
        if self._user["init"] is not None:
            await self._user["init"](con)

    async def _setup(self, proxy: Any) -> None:
        state = self._states.get(proxy.get_server_pid())
        if state is not None:
            self.checked_out(state)
        if self._user["setup"] is not None:
            await self._user["setup"](proxy)

    async def _reset(self, con: Any) -> None:
        state = self._states.get(con.get_server_pid())
        if state is not None:
            if self.metrics and state.checked_out_at is not None:
                self.metrics.used(max(self.clock() - state.checked_out_at, 0.0))
            self.checked_in(state)
        if self._user["reset"] is not None:
            await self._user["reset"](con)

    def _terminated(self, con: Any, state: ConnState) -> None:
        self._states.pop(con.get_server_pid(), None)
        if state.dead:
            return
        if self._pool is not None and self._pool.is_closing():
            self.retired(state, "Pool.close")
            return
        now = self.clock()
        if state.checked_out_at is None:
            idle = now - state.released_at
            if self._max_inactive and idle >= self._max_inactive - _tolerance(self._max_inactive):
                self.retired(state, "max_inactive_connection_lifetime")
                return
            # The peer closed it while it sat in the pool; the next acquire sees is_closed() and reconnects.
            self.died(
                state,
                None,
                Noticed.ACQUIRE,
                error_text="closed by the peer while idle in the pool (asyncpg reports no error)",
            )
            return
        queries = getattr(getattr(con, "_protocol", None), "queries_count", 0)
        if queries >= self._max_queries:
            self.retired(state, "max_queries")
            return
        self.died(
            state,
            None,
            Noticed.REQUEST,
            mid_checkout=True,
            error_text="closed while the app held it (asyncpg's pool does not pass on the app's error)",
        )

    async def _read_limits(self, con: Any) -> None:
        try:
            role, database = await con.fetchrow(WHO_SQL)
            rows = await con.fetch(SERVER_LIMITS_SQL)
            self.set_limits(limits_from_settings([tuple(r) for r in rows], role=str(role), database=str(database)))
        except Exception as exc:
            note = f"could not read the server's limits ({type(exc).__name__})"
            self.set_limits([], note)
            self.logger.warning("pool_doctor.monitor: %s; deaths will be unexplained", note)
