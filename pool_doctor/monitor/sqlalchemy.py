"""Watch a SQLAlchemy Engine or AsyncEngine through SQLAlchemy's own pool and engine events.

Events used (SQLAlchemy 2.x, `sqlalchemy.events.PoolEvents` / `DialectEvents` / `ConnectionEvents`):
  connect, checkout, checkin      creation, each checkout, each return (the idle clock)
  invalidate(dbapi, rec, exc)     a hard invalidation: a disconnect in a request, a failed pre-ping
                                  (exc is DisconnectionError; the driver's error came just before
                                  through handle_error with is_pre_ping=True), or a failed reset at check-in
  soft_invalidate, close          retirements: pool_recycle, pool-wide invalidation, dispose
  handle_error(ctx)               the driver's exception, is_disconnect, is_pre_ping
  do_execute, do_execute_no_params, do_executemany
                                  when the app last used the connection inside a checkout

What it cannot see: a connection that dies and is never used again (closed by dispose or overflow
without a statement); the exact moment a limit fired (only the idle time before the use that noticed
it); whether a hung statement was a dropped flow or a slow query, until the driver raises.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO
from urllib.parse import quote

from pool_doctor.errors import driver_error
from pool_doctor.monitor.attribution import READ_ONLY, SERVER_LIMITS_SQL, WHO_SQL, limits_from_settings
from pool_doctor.monitor.core import Monitor, exporters
from pool_doctor.monitor.freeze import FreezeGuard, start_guard
from pool_doctor.monitor.metrics import PoolMetrics, PoolState
from pool_doctor.monitor.records import Clock, ConnState, Noticed, PoolSettings, monotonic
from pool_doctor.path.model import Limit

LimitsFrom = Mapping[str, Any] | str | os.PathLike[str] | Sequence[Limit] | None

_WATCHED: weakref.WeakKeyDictionary[Any, SQLAlchemyMonitor] = weakref.WeakKeyDictionary()


class SQLAlchemyMonitor(Monitor):
    """A Monitor attached to one engine's pool; `close()` removes its listeners."""

    def __init__(self, engine: Any, pool: PoolSettings, **kwargs: Any) -> None:
        super().__init__(pool, **kwargs)
        self.engine = engine
        self.key = f"pool_doctor.monitor.{id(self)}"  # per monitor: two watches on one engine don't collide
        self._local = threading.local()  # the last handle_error, read by the invalidate that follows it
        self._listeners: list[tuple[Any, str, Any]] = []
        self._read_server = False
        self._reading = threading.Lock()
        self.metrics = PoolMetrics(self._exporters)
        self._outstanding = 0  # checkouts not yet returned, for pools that keep no count (NullPool)
        self._pending = 0  # pool.connect() calls under way: waiting for a connection
        self._metrics_lock = threading.Lock()
        self._wrapped: tuple[Any, Any, Any] | None = None  # (pool, our wrapper of its connect, what it replaced)
        self.freeze_guard: FreezeGuard | None = None  # watch(..., freeze_guard=True)
        self._proxies: dict[int, weakref.ReferenceType[Any]] = {}  # checked-out proxies (hold_warn)
        self._original_dispose: Any = None

    # -- event handlers (hot path: keep them small) --------------------------------------------

    def _state(self, record: Any) -> ConnState:
        state: ConnState | None = record.info.get(self.key)
        if state is None:  # opened before watch(): its creation time is unknown, count from now
            state = record.info[self.key] = self.opened()
        return state

    def on_connect(self, dbapi_connection: Any, record: Any) -> None:
        record.info[self.key] = self.opened()
        if self._read_server and not self.limits_known:
            self._read_limits(dbapi_connection)

    def on_checkout(self, dbapi_connection: Any, record: Any, proxy: Any) -> None:
        # Monitor.checked_out, inlined: this runs on every checkout (bench/monitor.py).
        state = record.info.get(self.key) or self._state(record)
        if self.freeze_guard is not None:
            self._after_freeze(self.freeze_guard, state)
        state.checked_out_at = self.clock()
        state.statements = 0
        state.statement_at = state.previous_statement_at = None
        state.checkouts += 1
        self.counters.checkouts += 1

    def on_checkin(self, dbapi_connection: Any, record: Any) -> None:
        state = record.info.get(self.key)
        if state is not None:
            state.released_at = self.clock()
            state.checked_out_at = None

    def on_statement(self, cursor: Any, statement: Any, parameters: Any = None, context: Any = None) -> None:
        # A dialect event (do_execute*), not ConnectionEvents.before_cursor_execute: an engine-level listener
        # turns on every Connection event dispatch, which cost ~40 us per checkout (bench/monitor.py).
        if context is None:  # do_execute_no_params passes (cursor, statement, context)
            context = parameters
        try:
            state = context.root_connection.connection.info.get(self.key)
        except Exception:
            return
        if state is not None:
            state.previous_statement_at = state.statement_at
            state.statement_at = self.clock()
            state.statements += 1

    def on_handle_error(self, context: Any) -> None:
        self._local.last = (context.original_exception, context.is_pre_ping)
        if context.is_disconnect:
            self.counters.add("disconnect_errors")
        elif getattr(driver_error(context.original_exception), "sqlstate", None) == READ_ONLY:
            self._demoted(context)
        elif not context.is_pre_ping:
            self.request_failed(context.original_exception)  # the connection lives on: a failure, not a death

    def _demoted(self, context: Any) -> None:
        """25006 on a connection SQLAlchemy keeps (nothing marked it a disconnect): recorded once per
        connection, as cause demoted-primary; the app's own handle_error may still invalidate it."""
        try:
            state = context.connection.connection.info.get(self.key)
        except Exception:
            return
        if state is not None:
            self.died(state, context.original_exception, Noticed.REQUEST)

    def _after_freeze(self, guard: FreezeGuard, state: ConnState) -> None:
        """A connection idle across a freeze is replaced before the app gets it: DisconnectionError from a
        checkout listener makes SQLAlchemy invalidate it and connect anew (its pessimistic-disconnect recipe)."""
        guard.check("checkout")
        freeze = guard.stale(state.released_at)
        if freeze is None or state.dead:
            return
        self.retired(state, freeze.what)
        from sqlalchemy.exc import DisconnectionError

        raise DisconnectionError(f"idle across a freeze ({freeze.what}): replaced by pool_doctor's freeze_guard")

    def on_invalidate(self, dbapi_connection: Any, record: Any, exception: BaseException | None) -> None:
        state = record.info.get(self.key)
        last = self._local.__dict__.pop("last", None)
        if state is None or state.dead:
            return
        if exception is None:
            self.retired(state, "invalidated by the app")
            return
        from sqlalchemy.exc import DisconnectionError

        error: BaseException = exception
        if isinstance(exception, DisconnectionError) and state.checked_out_at is None:
            noticed = Noticed.PRE_PING  # pre-ping, or a checkout listener that raised DisconnectionError
            if last is not None and last[1]:
                error = last[0]  # the ping's own driver error, not SQLAlchemy's InvalidatePoolError
        elif last is not None and last[0] is exception:
            noticed = Noticed.REQUEST  # handle_error saw it: it reached the app
        elif state.checked_out_at is not None:
            noticed = Noticed.RETURN  # the pool's reset (rollback) at check-in failed
        else:
            noticed = Noticed.CHECK
        self.died(state, error, noticed)

    def on_soft_invalidate(self, dbapi_connection: Any, record: Any, exception: BaseException | None) -> None:
        # Nothing has died yet: the pool closes it at its next checkout, and on_close counts that retirement.
        self.logger.debug("pooled connection soft-invalidated (%s)", type(exception).__name__ if exception else "-")

    def on_close(self, dbapi_connection: Any, record: Any) -> None:
        state = record.info.get(self.key)
        if state is None or state.dead:
            return
        recycle = self.pool.max_age
        if recycle is not None and self.clock() - state.created_at > recycle:
            self.retired(state, "pool_recycle")
        else:
            self.retired(state, "the pool closed it (dispose, overflow, or after another connection's disconnect)")

    # -- held and leaked connections (listeners added only with hold_warn) -----------------------------------

    def _hold_checkout(self, dbapi_connection: Any, record: Any, proxy: Any) -> None:
        """on_checkout with hold_warn (one listener, not two: each costs a dispatch on every checkout): note
        where the app took it, and watch the checkout's proxy (SQLAlchemy's _ConnectionFairy) die: collected
        while still out, it leaked (its own finalizer then returns it)."""
        self.on_checkout(dbapi_connection, record, proxy)
        state = record.info[self.key]
        self.took(state)
        try:
            self._proxies[state.number] = weakref.ref(proxy)
        except TypeError:
            pass

    def _hold_checkin(self, dbapi_connection: Any, record: Any) -> None:
        """on_checkin with hold_warn. A proxy already collected means SQLAlchemy's finalizer is returning a
        connection the app never closed."""
        state = record.info.get(self.key)
        if state is not None and state.checked_out_at is not None:
            ref = self._proxies.pop(state.number, None)
            # SQLAlchemy begins a transaction at the first statement unless the connection is in autocommit.
            in_transaction = state.statements > 0 and not getattr(dbapi_connection, "autocommit", False)
            if ref is not None and ref() is None:
                self.leaked(state, "collected while checked out: never closed", in_transaction)
            else:
                self.returned(state, in_transaction)
        self.on_checkin(dbapi_connection, record)

    def _dispose(self, *args: Any, **kwargs: Any) -> Any:
        """engine.dispose(), after recording every connection still checked out as leaked."""
        try:
            self.still_out()
        except Exception as exc:  # the app's dispose goes on whatever the monitor's bookkeeping does
            self._failed("the connections still out at dispose()", exc)
        return self._original_dispose(*args, **kwargs)

    # -- metrics (listeners added only when a sink is asked for: the checkout path stays as it was) ----------

    def _metrics_do_connect(self, dialect: Any, record: Any, cargs: Any, cparams: Any) -> None:
        self._local.connecting = self.clock()  # returns None: SQLAlchemy then connects as it would

    def _metrics_connect(self, dbapi_connection: Any, record: Any) -> None:
        started = self._local.__dict__.pop("connecting", None)
        if started is not None:
            self.metrics.created(max(self.clock() - started, 0.0))
        self._wrap_connect(self.engine.pool)  # after dispose() the engine has a new pool

    def _metrics_checkout(self, dbapi_connection: Any, record: Any, proxy: Any) -> None:
        record.info[self.key + ".out"] = self.clock()
        self._count("_outstanding", 1)

    def _metrics_checkin(self, dbapi_connection: Any, record: Any) -> None:
        started = record.info.pop(self.key + ".out", None)
        if started is not None:
            self._count("_outstanding", -1)
            self.metrics.used(max(self.clock() - started, 0.0))

    def _wrap_connect(self, pool: Any) -> None:
        """Time Pool.connect (what Engine.connect calls) on this pool object and count its timeouts: SQLAlchemy
        has no event before a checkout. Undone by close()."""
        if self._wrapped is not None and self._wrapped[0] is pool:
            return
        from sqlalchemy.exc import TimeoutError as PoolTimeout

        before = vars(pool).get("connect")  # another monitor's wrapper, if one watches this engine too
        original = pool.connect

        def connect() -> Any:
            if not self._listeners:  # closed, while a later monitor's wrapper still calls this one
                return original()
            started = self.clock()
            self._count("_pending", 1)
            try:
                connection = original()
            except PoolTimeout:
                self.metrics.timed_out()
                raise
            finally:
                self._count("_pending", -1)
            self.metrics.waited(max(self.clock() - started, 0.0))
            return connection

        pool.connect = connect
        self._wrapped = (pool, connect, before)

    def _unwrap_connect(self) -> None:
        if self._wrapped is None:
            return
        pool, wrapper, before = self._wrapped
        self._wrapped = None
        if vars(pool).get("connect") is wrapper:
            if before is None:
                del pool.connect
            else:
                pool.connect = before

    def _count(self, name: str, step: int) -> None:
        with self._metrics_lock:
            setattr(self, name, getattr(self, name) + step)

    def pool_state(self) -> PoolState:
        """The engine's pool now: idle and used connections and its limits (read when metrics are collected)."""
        pool = self.engine.pool
        size = pool.size() if hasattr(pool, "size") else None
        overflow = getattr(pool, "_max_overflow", None)  # QueuePool's, no public reader
        if hasattr(pool, "checkedout"):
            idle, used = int(pool.checkedin()), int(pool.checkedout())
        else:  # NullPool keeps nothing idle; StaticPool one connection
            idle, used = 0, max(self._outstanding, 0)
        most = None if size is None or overflow is None or overflow < 0 else size + overflow
        return PoolState(
            idle=idle,
            used=used,
            max=most,
            idle_max=size if size is not None else 0,
            idle_min=0,  # SQLAlchemy's pools keep no minimum
            pending=max(self._pending, 0),
        )

    # -- limits ----------------------------------------------------------------------------------

    def _read_limits(self, dbapi_connection: Any) -> None:
        """Read the server's limits once, through the first connection this pool opens (the app's role)."""
        if not self._reading.acquire(blocking=False):
            return  # another connect is reading them
        try:
            if self.limits_known:
                return
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute(WHO_SQL)
                role, database = cursor.fetchone()
                cursor.execute(SERVER_LIMITS_SQL)
                rows = cursor.fetchall()
            finally:
                cursor.close()
                dbapi_connection.rollback()  # leave no transaction open on the app's connection
            self.set_limits(limits_from_settings(rows, role=str(role), database=str(database)))
        except Exception as exc:
            note = f"could not read the server's limits ({type(exc).__name__})"
            self.set_limits([], note)
            self.logger.warning("pool_doctor.monitor: %s; deaths will be unexplained", note)
        finally:
            self._reading.release()

    # -- attach / detach -------------------------------------------------------------------------

    def attach(self, read_server: bool) -> None:
        from sqlalchemy import event

        self._read_server = read_server
        pool = self.engine.pool
        listeners: list[tuple[Any, str, Callable[..., None]]] = [
            (pool, "connect", self.on_connect),
            (pool, "checkout", self.on_checkout),
            (pool, "checkin", self.on_checkin),
            (pool, "invalidate", self.on_invalidate),
            (pool, "soft_invalidate", self.on_soft_invalidate),
            (pool, "close", self.on_close),
            (self.engine, "handle_error", self.on_handle_error),
            (self.engine, "do_execute", self.on_statement),
            (self.engine, "do_execute_no_params", self.on_statement),
            (self.engine, "do_executemany", self.on_statement),
        ]
        if self.hold_warn is not None:
            listeners[1:3] = [(pool, "checkout", self._hold_checkout), (pool, "checkin", self._hold_checkin)]
            self._original_dispose = self.engine.dispose
            self.engine.dispose = self._dispose
        if self.metrics:  # only then: without a sink, a checkout costs what it did
            listeners += [
                (self.engine, "do_connect", self._metrics_do_connect),
                (pool, "connect", self._metrics_connect),
                (pool, "checkout", self._metrics_checkout),
                (pool, "checkin", self._metrics_checkin),
            ]
            self._wrap_connect(pool)
            self.metrics.report_state(self.pool_state)
        for target, name, fn in listeners:
            event.listen(target, name, fn)
            self._listeners.append((target, name, fn))

    def close(self) -> None:
        from sqlalchemy import event

        for target, name, fn in self._listeners:
            if event.contains(target, name, fn):
                event.remove(target, name, fn)
        self._listeners.clear()
        if self.freeze_guard is not None:
            self.freeze_guard.stop()
        self.metrics.close()
        self._unwrap_connect()
        if self._original_dispose is not None and vars(self.engine).get("dispose") == self._dispose:
            del self.engine.dispose
        self._original_dispose = None
        if _WATCHED.get(self.engine) is self:
            del _WATCHED[self.engine]
        super().close()


def watch(
    engine: Any,
    *,
    limits_from: LimitsFrom = None,
    read_server_limits: bool | None = None,
    jsonl: str | os.PathLike[str] | TextIO | None = None,
    logger: logging.Logger | None = None,
    prometheus: Any = None,
    otel: Any = None,
    pool_name: str | None = None,
    clock: Clock = monotonic,
    freeze_guard: bool = False,
    hold_warn: float | None = None,
) -> SQLAlchemyMonitor:
    """Attach the lifecycle monitor to a SQLAlchemy Engine or AsyncEngine; returns it (`.stats()`, `.close()`).

    limits_from: a `pool-doctor check --json` report (path or dict) or Limit objects to attribute deaths to.
    Without it, the limits are read once from the server through the pool's first new connection
    (read_server_limits=False turns that off). jsonl: append one JSON line per death (what `explain` reads).
    prometheus / otel: True (default registry / meter) or the registry / meter to use: the pool's connections
    by state, its limits, timeouts, create/wait/use times and deaths by cause, under OpenTelemetry's
    `db.client.connection.*` names (pool_doctor/monitor/metrics.py). pool_name: the pool's
    `db.client.connection.pool.name` (default: host:port/database, as the conventions suggest).
    freeze_guard: notice that the process was frozen (serverless, SIGSTOP, suspend) longer than the smallest
    limit on the path (30 s when none is known), write a `frozen` record, and replace each connection that
    idled across it at its next checkout (pool_doctor/monitor/freeze.py). Off by default: it runs a thread.
    hold_warn: seconds; a connection held longer gives a `held` record naming the app's line that took it,
    and one never returned (collected while out, or out at engine.dispose()) a `leaked` record.

    Example:
        engine = create_async_engine(url)
        monitor = watch(engine, jsonl="deaths.jsonl")
    """
    sync_engine = getattr(engine, "sync_engine", engine)  # AsyncEngine: the events live on its sync engine
    url = sync_engine.url
    pool = sync_engine.pool
    recycle = getattr(pool, "_recycle", -1)  # SQLAlchemy keeps these on the pool, with no public reader
    pre_ping = bool(getattr(pool, "_pre_ping", False))
    settings = PoolSettings(
        stack="sqlalchemy",
        pool=type(pool).__name__,
        driver=str(sync_engine.dialect.driver),
        target=url.render_as_string(hide_password=True),
        settings={"pool_pre_ping": pre_ping, "pool_recycle": recycle},
        pings_at_checkout=pre_ping,
        max_age=float(recycle) if recycle is not None and recycle > -1 else None,
    )
    password = url.password or ""
    monitor = SQLAlchemyMonitor(
        sync_engine,
        settings,
        secrets=[password, quote(password, safe="")],
        jsonl=jsonl,
        logger=logger,
        clock=clock,
        exporters=exporters(prometheus, otel, pool_name or f"{url.host}:{url.port or 5432}/{url.database}", logger),
        hold_warn=hold_warn,
    )
    monitor.attach(read_server=monitor.take_limits(limits_from, read_server_limits))
    if freeze_guard:
        monitor.freeze_guard = start_guard(monitor)
    _WATCHED[sync_engine] = monitor
    return monitor


def watching(engine: Any) -> SQLAlchemyMonitor | None:
    """The monitor watch() attached to this engine, if any."""
    return _WATCHED.get(getattr(engine, "sync_engine", engine))
