"""The real pools of the stacks that are not SQLAlchemy, behind the few AsyncEngine calls the probe makes.

The probe's scenarios talk to an "engine": `connect()` (awaitable and an async context manager) gives a
connection with `execute(text(...), params)`, `commit()`, `rollback()`, `close()` and
`get_raw_connection()`; `dispose()` closes the pool. SQLAlchemy's AsyncEngine has them (and ThreadedEngine
for psycopg2). Here each other stack's own pool is put behind the same calls, built from the stack's own
keys as the library takes them, so a scenario runs the pool the app runs and meets the error the app meets:

- asyncpg: `asyncpg.create_pool(dsn, **values)`; a checkout is `pool.acquire()`, a return `pool.release()`.
- psycopg_pool: `AsyncConnectionPool(conninfo, kwargs=..., **values)`, with
  `check=AsyncConnectionPool.check_connection` when the config says `check = "check_connection"`.
- Django: a `DATABASES` entry added under a probe-only alias to Django's own connection handler (settings
  configured in process with nothing but `DATABASES`, unless the process already configured them). Each
  checkout is one request: `request_started` ... `request_finished`, the signals that run
  `close_old_connections` and reset `CONN_HEALTH_CHECKS`, exactly as Django's handler sends them. Django
  keeps a connection per thread, so each probe pool has one daemon "worker" thread that makes every call:
  the connection it keeps between requests is that thread's, as in a worker process.

Everything imports its library inside the function: importing the probe stays cheap.
"""

from __future__ import annotations

import asyncio
import itertools
import queue
import re
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from pool_doctor.connection.spec import ConnectionSpec

T = TypeVar("T")

# Keys that say where to connect: the probe connects to its target (or its fault proxy), never elsewhere.
_TARGET_KEYS = frozenset(
    {
        "dsn",
        "conninfo",
        "host",
        "port",
        "user",
        "password",
        "passfile",
        "database",
        "dbname",
        "service",
        "servicefile",
        "NAME",
        "USER",
        "PASSWORD",
        "HOST",
        "PORT",
        "ENGINE",
        "TEST",
    }
)
# asyncpg keywords that take Python callables or classes: a config file cannot give them.
_ASYNCPG_CALLABLES = frozenset({"connect", "setup", "init", "reset", "loop", "connection_class", "record_class"})
_PSYCOPG_POOL_CALLABLES = frozenset(
    {"connection_class", "configure", "reset", "reconnect_failed", "open", "kwargs", "pool_class"}
)
_DJANGO_ENTRY_KEYS = frozenset(
    {"CONN_MAX_AGE", "CONN_HEALTH_CHECKS", "ATOMIC_REQUESTS", "AUTOCOMMIT", "TIME_ZONE", "DISABLE_SERVER_SIDE_CURSORS"}
)


def split_values(
    stack: str, values: Mapping[str, Any], connect_args: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A stack's own keys -> (the pool's keys, the driver's keyword arguments), as pool_doctor.stacks reads
    them: asyncpg's connect() keys sit among create_pool's, psycopg_pool's under `kwargs`, Django's in
    `OPTIONS` (and `OPTIONS["pool"]` is psycopg_pool's). `connect_args` ([connect_args]) goes under them."""
    if stack == "asyncpg":
        from pool_doctor.stacks import asyncpg_pool

        pool = {k: v for k, v in values.items() if k in asyncpg_pool.DEFAULTS}
        own = {
            k: v
            for k, v in values.items()
            if k in asyncpg_pool.KEYS
            and k not in asyncpg_pool.DEFAULTS
            and k not in _TARGET_KEYS
            and k not in _ASYNCPG_CALLABLES
        }
    elif stack == "psycopg_pool":
        from pool_doctor.stacks import psycopg_pool

        pool = {
            k: v
            for k, v in values.items()
            if k in psycopg_pool.KEYS and k not in _TARGET_KEYS and k not in _PSYCOPG_POOL_CALLABLES
        }
        own = {k: v for k, v in dict(values.get("kwargs") or {}).items() if k not in _TARGET_KEYS}
    elif stack == "django":
        options = dict(values.get("OPTIONS") or {})
        pool = {k: v for k, v in values.items() if k in _DJANGO_ENTRY_KEYS}
        if options.get("pool"):
            pool["OPTIONS"] = {"pool": options["pool"]}
        own = {k: v for k, v in options.items() if k != "pool" and k not in _TARGET_KEYS}
    else:
        raise ValueError(f"no probe pool for stack {stack!r}")
    return pool, {**connect_args, **own}


def join_values(stack: str, pool: Mapping[str, Any], driver_args: Mapping[str, Any]) -> dict[str, Any]:
    """The inverse of split_values: the stack's keys nested as the library takes them (for the report)."""
    if stack == "asyncpg":
        return {**pool, **driver_args}
    if stack == "psycopg_pool":
        return {**pool, **({"kwargs": dict(driver_args)} if driver_args else {})}
    options = {**driver_args, **dict(pool.get("OPTIONS") or {})}
    return {**{k: v for k, v in pool.items() if k != "OPTIONS"}, **({"OPTIONS": options} if options else {})}


# -- parameters: SQLAlchemy's :name in the probe's SQL, in each driver's own style ---------------------

_NAMED = re.compile(r"(?<![:\w]):(\w+)")


def _dollar(sql: str, params: Mapping[str, Any] | None) -> tuple[str, list[Any]]:
    """`:n` -> `$1` for asyncpg."""
    if not params:
        return sql, []
    order: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in order:
            order.append(match.group(1))
        return f"${order.index(match.group(1)) + 1}"

    return _NAMED.sub(number, sql), [params[name] for name in order]


def _pyformat(sql: str, params: Mapping[str, Any] | None) -> str:
    """`:n` -> `%(n)s` for psycopg and Django's cursors (a literal % doubled when there are parameters)."""
    if not params:
        return sql
    return _NAMED.sub(lambda m: f"%({m.group(1)})s", sql.replace("%", "%%"))


class Rows:
    """The part of SQLAlchemy's Result the probe reads."""

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self._rows = rows

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def scalar_one(self) -> Any:
        if len(self._rows) != 1:
            raise ValueError(f"expected one row, got {len(self._rows)}")
        return self._rows[0][0]

    def one(self) -> tuple[Any, ...]:
        if len(self._rows) != 1:
            raise ValueError(f"expected one row, got {len(self._rows)}")
        return self._rows[0]


class RawConnection:
    def __init__(self, driver_connection: Any) -> None:
        self.driver_connection = driver_connection


class _Checkout:
    """What `engine.connect()` returns: awaitable, and an async context manager that returns on exit."""

    async def start(self) -> Any:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    def __await__(self) -> Any:
        return self.start().__await__()

    async def __aenter__(self) -> Any:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


# -- asyncpg.create_pool -------------------------------------------------------------------------------


class AsyncpgPool:
    """`asyncpg.create_pool(dsn, **values)`, created at the first checkout (creating it opens min_size)."""

    def __init__(self, dsn: str, values: Mapping[str, Any], read_only_transactions: bool) -> None:
        self._dsn = dsn
        self._values = dict(values)
        self._read_only_transactions = read_only_transactions
        self._pool: Any = None
        self._lock = asyncio.Lock()

    async def pool(self) -> Any:
        async with self._lock:
            if self._pool is None:
                import asyncpg

                self._pool = await asyncpg.create_pool(self._dsn, **self._values)
            return self._pool

    def connect(self) -> AsyncpgConnection:
        return AsyncpgConnection(self)

    async def dispose(self, close: bool = True) -> None:
        if self._pool is None:
            return
        if close:
            await self._pool.close()
        else:
            self._pool.terminate()


class AsyncpgConnection(_Checkout):
    def __init__(self, owner: AsyncpgPool) -> None:
        self._owner = owner
        self._conn: Any = None
        self._transaction: Any = None

    async def start(self) -> AsyncpgConnection:
        if self._conn is None:
            self._conn = await (await self._owner.pool()).acquire()
        return self

    async def execute(self, statement: Any, params: Mapping[str, Any] | None = None) -> Rows:
        if self._owner._read_only_transactions and self._transaction is None:
            self._transaction = self._conn.transaction(readonly=True)
            await self._transaction.start()
        sql, args = _dollar(str(statement), params)
        return Rows([tuple(record) for record in await self._conn.fetch(sql, *args)])

    async def commit(self) -> None:
        transaction, self._transaction = self._transaction, None
        if transaction is not None:
            await transaction.commit()

    async def rollback(self) -> None:
        transaction, self._transaction = self._transaction, None
        if transaction is not None:
            await transaction.rollback()

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._transaction = None  # release() rolls an open transaction back (Connection.reset)
            await (await self._owner.pool()).release(conn)

    async def get_raw_connection(self) -> RawConnection:
        return RawConnection(self._conn)


# -- psycopg_pool.AsyncConnectionPool ------------------------------------------------------------------


class PsycopgPool:
    """`AsyncConnectionPool(conninfo, kwargs=..., **values)`, opened (waiting for min_size) at first use."""

    def __init__(
        self,
        conninfo: str,
        values: Mapping[str, Any],
        kwargs: Mapping[str, Any],
        open_timeout: float,
        read_only_transactions: bool,
    ) -> None:
        from pool_doctor.stacks.psycopg_pool import is_pool_check

        self._conninfo = conninfo
        self._values = {k: v for k, v in values.items() if k != "check"}
        self._check = values.get("check") is True or is_pool_check(values.get("check"))
        self._kwargs = dict(kwargs)
        self._open_timeout = open_timeout
        self._read_only_transactions = read_only_transactions
        self._pool: Any = None
        self._lock = asyncio.Lock()

    async def pool(self) -> Any:
        async with self._lock:
            if self._pool is None:
                from psycopg_pool import AsyncConnectionPool

                pool = AsyncConnectionPool(
                    self._conninfo,
                    kwargs=self._kwargs,
                    open=False,
                    check=AsyncConnectionPool.check_connection if self._check else None,
                    **self._values,
                )
                await pool.open(wait=True, timeout=self._open_timeout)
                self._pool = pool
            return self._pool

    def connect(self) -> PsycopgConnection:
        return PsycopgConnection(self)

    async def dispose(self, close: bool = True) -> None:
        if self._pool is not None:
            await self._pool.close(timeout=1.0 if close else 0.0)


class PsycopgConnection(_Checkout):
    def __init__(self, owner: PsycopgPool) -> None:
        self._owner = owner
        self._conn: Any = None

    async def start(self) -> PsycopgConnection:
        if self._conn is None:
            self._conn = await (await self._owner.pool()).getconn()
            if self._owner._read_only_transactions:
                await self._conn.set_read_only(True)  # BEGIN READ ONLY: no startup settings through a pooler
        return self

    async def execute(self, statement: Any, params: Mapping[str, Any] | None = None) -> Rows:
        cursor = await self._conn.execute(_pyformat(str(statement), params), dict(params) if params else None)
        return Rows([tuple(row) for row in await cursor.fetchall()] if cursor.description else [])

    async def commit(self) -> None:
        await self._conn.commit()

    async def rollback(self) -> None:
        await self._conn.rollback()

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await (await self._owner.pool()).putconn(conn)  # the pool rolls back an open transaction

    async def get_raw_connection(self) -> RawConnection:
        return RawConnection(self._conn)


# -- Django ------------------------------------------------------------------------------------------


class _Worker:
    """One daemon thread that runs every call of one Django "pool": Django's connections are per thread.

    A daemon, so a call hung on a blackholed flow (it ends when the probe cuts the flow) never keeps the
    process alive at exit.
    """

    def __init__(self) -> None:
        self._calls: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="pool-doctor-django")
        self._thread.start()

    def _loop(self) -> None:
        while (call := self._calls.get()) is not None:
            call()

    async def run(self, func: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()

        def deliver(setter: Callable[[Any], None], value: Any) -> None:
            if not future.done():
                setter(value)

        def work() -> None:
            try:
                result = func()
            except BaseException as exc:
                loop.call_soon_threadsafe(deliver, future.set_exception, exc)
            else:
                loop.call_soon_threadsafe(deliver, future.set_result, result)

        self._calls.put(work)
        return await future

    def stop(self) -> None:
        self._calls.put(None)


_aliases = itertools.count(1)
_django_lock = threading.Lock()


def _django_connections() -> Any:
    """Django's connection handler, with settings configured for the probe only if nobody has: nothing
    but DATABASES (a dummy default), no settings module, no logging config, no apps."""
    with _django_lock:
        from django.conf import settings

        if not settings.configured:
            settings.configure(DATABASES={}, USE_TZ=True, LOGGING_CONFIG=None, INSTALLED_APPS=[])
            import django
            from django.apps import apps

            if not apps.ready:  # no apps to load; Django warns about queries made before setup()
                django.setup(set_prefix=False)
        from django.db import connections

        return connections


def _swap_aliases(connections: Any, add: Mapping[str, Any] | None = None, remove: str | None = None) -> None:
    """Add or remove a DATABASES alias by replacing the handler's settings dict, never mutating it: another
    thread may be iterating it (close_old_connections runs over every alias on every request signal)."""
    with _django_lock:
        current = connections.settings  # the configured dict (a cached_property)
        updated = {k: v for k, v in current.items() if k != remove}
        if add:
            updated.update(connections.configure_settings({"default": current["default"], **add}))
            updated["default"] = current["default"]
        connections.__dict__["settings"] = updated
        connections._settings = updated


class DjangoPool:
    """One DATABASES entry under a probe-only alias, used one request at a time from its own thread."""

    def __init__(self, entry: Mapping[str, Any], read_only_transactions: bool) -> None:
        self.alias = f"pool_doctor_probe_{next(_aliases)}"
        self._entry = dict(entry)
        self._read_only_transactions = read_only_transactions
        self._worker = _Worker()
        self._registered = False

    def _connection(self) -> Any:
        """Django's connection for the alias, in the worker thread (registering the alias on first use)."""
        connections = _django_connections()
        if not self._registered:
            _swap_aliases(connections, add={self.alias: self._entry})
            self._registered = True
        return connections[self.alias]

    async def call(self, func: Callable[[], T]) -> T:
        return await self._worker.run(func)

    def connect(self) -> DjangoRequest:
        return DjangoRequest(self)

    async def dispose(self, close: bool = True) -> None:
        def close_all() -> None:
            if not self._registered:
                return
            connections = _django_connections()
            try:
                conn = connections[self.alias]
                if close:
                    conn.close()
                if getattr(conn, "pool", None) is not None:
                    conn.close_pool()
                del connections[self.alias]
            finally:
                _swap_aliases(connections, remove=self.alias)

        try:
            await self.call(close_all)
        finally:
            self._worker.stop()


class DjangoRequest(_Checkout):
    """One request: request_started on checkout, request_finished on return, queries in between."""

    def __init__(self, owner: DjangoPool) -> None:
        self._owner = owner
        self._started = False
        self._in_transaction = False

    async def start(self) -> DjangoRequest:
        if not self._started:

            def begin() -> None:
                from django.core.signals import request_started

                self._owner._connection()
                request_started.send(sender=DjangoRequest)

            await self._owner.call(begin)
            self._started = True
        return self

    async def execute(self, statement: Any, params: Mapping[str, Any] | None = None) -> Rows:
        sql = _pyformat(str(statement), params)

        def run() -> Rows:
            with self._owner._connection().cursor() as cursor:
                if self._owner._read_only_transactions and not self._in_transaction:
                    # Django runs in autocommit: a read-only transaction of the probe's own, not a startup setting.
                    cursor.execute("BEGIN READ ONLY")
                    self._in_transaction = True
                cursor.execute(sql, dict(params) if params else None)
                return Rows([tuple(row) for row in cursor.fetchall()] if cursor.description else [])

        return await self._owner.call(run)

    async def _end(self, word: str) -> None:
        if not self._in_transaction:
            return
        self._in_transaction = False

        def end() -> None:
            with self._owner._connection().cursor() as cursor:
                cursor.execute(word)

        await self._owner.call(end)

    async def commit(self) -> None:
        await self._end("COMMIT")

    async def rollback(self) -> None:
        await self._end("ROLLBACK")

    async def close(self) -> None:
        if not self._started:
            return
        self._started = False
        try:
            await self.rollback()
        except Exception:
            pass

        def finish() -> None:
            from django.core.signals import request_finished

            request_finished.send(sender=DjangoRequest)

        await self._owner.call(finish)

    async def get_raw_connection(self) -> RawConnection:
        def raw() -> Any:
            return self._owner._connection().connection

        return RawConnection(await self._owner.call(raw))


def django_entry(target: ConnectionSpec, values: Mapping[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """A DATABASES entry for `target` with the stack's keys; libpq parameters of the target go in OPTIONS."""
    skip = {"host", "port", "user", "dbname", "password"}
    extra = {k: v for k, v in target.params if k not in skip}
    entry_options = {**extra, **options, **dict(values.get("OPTIONS") or {})}
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": target.database,
        "USER": target.user,
        "PASSWORD": target.password.get_secret_value() if target.password is not None else "",
        "HOST": target.param("host") or target.host,
        "PORT": str(target.param("port") or target.port),
        **{k: v for k, v in values.items() if k != "OPTIONS"},
        "OPTIONS": entry_options,
    }
