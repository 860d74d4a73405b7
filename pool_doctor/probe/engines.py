"""Real SQLAlchemy async engines for the probe: the app's pool settings, read-only sessions, bounded steps.

Everything here that touches SQLAlchemy or a driver imports it inside the function, so importing the
probe package stays cheap.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from pool_doctor.errors import DRIVER_MODULES, driver_error
from pool_doctor.probe.model import AppError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from pool_doctor.connection.spec import ConnectionSpec
    from pool_doctor.path.policy import PoolPolicy
    from pool_doctor.stacks.sqlalchemy import SQLAlchemyPool

APPLICATION_NAME = "pool-doctor probe"
SELECT_1 = "SELECT 1"


ReadOnly = Literal["session", "transaction"]


@dataclass(frozen=True)
class EngineSettings:
    """Everything an engine is built from: the pool keywords and the driver's connect_args.

    Unlike SQLAlchemyPool, pool_recycle may be fractional: scenarios scale it down to seconds.
    """

    name: str  # "current", "recommended", or a probe-internal name
    pool_size: int = 5
    max_overflow: int = 10
    pool_recycle: float = -1
    pool_pre_ping: bool = False
    pool_timeout: float = 30
    pool_use_lifo: bool = False
    connect_args: dict[str, Any] = field(default_factory=dict)
    poolclass: str | None = None  # SQLAlchemy's; "NullPool" opens a connection per checkout
    # Another stack's pool (pool_doctor/probe/pools.py): its own pool keys as the library takes them
    # (driver keyword arguments are in connect_args, where the time scale finds them).
    stack: str = "sqlalchemy"
    values: dict[str, Any] = field(default_factory=dict)
    # What the judge reads for this config (the oracle each scenario's result is compared with).
    policy: PoolPolicy | None = field(default=None, compare=False)

    @classmethod
    def from_pool(cls, name: str, pool: SQLAlchemyPool, connect_args: dict[str, Any]) -> EngineSettings:
        return cls(
            name=name,
            pool_size=pool.pool_size,
            max_overflow=pool.max_overflow,
            pool_recycle=pool.pool_recycle,
            pool_pre_ping=pool.pool_pre_ping,
            pool_timeout=pool.pool_timeout,
            pool_use_lifo=pool.pool_use_lifo,
            connect_args=dict(connect_args),
            poolclass=pool.poolclass,
        )

    @classmethod
    def from_stack(cls, name: str, stack: str, values: dict[str, Any], connect_args: dict[str, Any]) -> EngineSettings:
        """Another stack's config from its own keys (nested as the library takes them) and [connect_args]."""
        from pool_doctor.probe.pools import split_values

        pool, driver_args = split_values(stack, values, connect_args)
        return cls(name=name, stack=stack, values=pool, connect_args=driver_args)

    @property
    def sqlalchemy_view(self) -> EngineSettings:
        """A SQLAlchemy engine with this config's driver arguments: for the steps that measure the path
        (connect, round trips), which time the server and the network rather than the pool."""
        return replace(self, stack="sqlalchemy", values={}, poolclass=None) if self.stack != "sqlalchemy" else self

    def with_changes(self, **changes: Any) -> EngineSettings:
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        from pool_doctor.connection.values import jsonable_connect_args

        if self.stack != "sqlalchemy":
            from pool_doctor.probe.pools import join_values

            return {
                "stack": self.stack,
                **join_values(self.stack, self.values, jsonable_connect_args(self.connect_args)),
            }
        return {
            "pool_size": self.pool_size,
            "max_overflow": self.max_overflow,
            "pool_recycle": self.pool_recycle,
            "pool_pre_ping": self.pool_pre_ping,
            "pool_timeout": self.pool_timeout,
            "pool_use_lifo": self.pool_use_lifo,
            "connect_args": jsonable_connect_args(self.connect_args),
        }


def session_args(
    driver: str, connect_args: dict[str, Any], settings: dict[str, str] | None = None, *, startup: bool = True
) -> dict[str, Any]:
    """The app's connect_args plus read-only sessions and any session settings a scenario needs.

    asyncpg takes session settings as `server_settings`; libpq (psycopg) as `-c name=value` in `options`.
    The probe's own values win over the app's for read-only, so it can never write user data.
    With `startup=False` (a pooler on the path rejects most startup parameters, and a SET would leak to
    other clients under transaction pooling) only application_name is added; the engine then begins
    every transaction READ ONLY instead.
    """
    from pool_doctor.connection.values import materialize_connect_args

    args = materialize_connect_args(connect_args)
    wanted = {"default_transaction_read_only": "on", **(settings or {})} if startup else {}
    if driver == "asyncpg":
        server_settings = {"application_name": APPLICATION_NAME, **dict(args.get("server_settings") or {})}
        server_settings.update(wanted)
        args["server_settings"] = server_settings
    else:
        extra = " ".join(f"-c {name}={value}" for name, value in wanted.items())
        if extra:
            args["options"] = f"{args['options']} {extra}" if args.get("options") else extra
        args.setdefault("application_name", APPLICATION_NAME)
    return args


def build_engine(
    target: ConnectionSpec,
    settings: EngineSettings,
    *,
    session_settings: dict[str, str] | None = None,
    null_pool: bool = False,
    read_only: ReadOnly = "session",
) -> AsyncEngine:
    """An async engine for `target` with the pool and connect_args of `settings`, read-only sessions
    (or, with read_only="transaction", read-only transactions: see session_args)."""
    driver = target.driver
    startup = read_only == "session"
    if settings.stack != "sqlalchemy" and not null_pool:
        return build_stack_pool(target, settings, session_settings=session_settings, read_only=read_only)
    if settings.stack != "sqlalchemy":
        settings = settings.sqlalchemy_view  # a second session of the same driver, as an admin's
    null_pool = null_pool or settings.poolclass == "NullPool"
    url = target.render(hide_password=False, driver=driver)
    kwargs: dict[str, Any] = {
        "connect_args": session_args(driver, settings.connect_args, session_settings, startup=startup),
        "pool_pre_ping": settings.pool_pre_ping,
    }
    if not startup:
        kwargs["execution_options"] = {"postgresql_readonly": True}
    if null_pool:
        from sqlalchemy.pool import NullPool

        kwargs["poolclass"] = NullPool
    else:
        kwargs.update(
            pool_size=settings.pool_size,
            max_overflow=settings.max_overflow,
            pool_recycle=settings.pool_recycle,
            pool_timeout=settings.pool_timeout,
            pool_use_lifo=settings.pool_use_lifo,
        )
    if driver == "psycopg2":  # a sync driver: the app's own sync engine, each call in a daemon thread
        from sqlalchemy import create_engine

        return ThreadedEngine(create_engine(url, **kwargs))  # type: ignore[return-value]
    from sqlalchemy.ext.asyncio import create_async_engine

    return create_async_engine(url, **kwargs)


OPEN_TIMEOUT = 10.0  # seconds a stack's pool may take to open its min_size connections (bounded again above)


def build_stack_pool(
    target: ConnectionSpec,
    settings: EngineSettings,
    *,
    session_settings: dict[str, str] | None = None,
    read_only: ReadOnly = "session",
) -> AsyncEngine:
    """The stack's own pool (asyncpg, psycopg_pool, Django) behind the AsyncEngine calls the probe makes."""
    from pool_doctor.probe import pools

    startup = read_only == "session"
    args = session_args(target.driver, settings.connect_args, session_settings, startup=startup)
    values = dict(settings.values)
    if settings.stack == "asyncpg":
        dsn = target.render(hide_password=False, driver="")
        return pools.AsyncpgPool(dsn, {**values, **args}, not startup)  # type: ignore[return-value]
    if target.driver in ("psycopg", "psycopg2"):
        # libpq's own connect timeout, so a connect on a dead path fails inside the probe's bounds.
        args.setdefault("connect_timeout", 10)
    if settings.stack == "psycopg_pool":
        conninfo = target.render(hide_password=False, driver="")
        return pools.PsycopgPool(conninfo, one_connection(values), args, OPEN_TIMEOUT, not startup)  # type: ignore[return-value]
    if settings.stack == "django":
        options = values.get("OPTIONS")
        if isinstance(options, dict) and options.get("pool"):
            pool = options["pool"] if isinstance(options["pool"], dict) else {}
            values["OPTIONS"] = {**options, "pool": one_connection(pool)}
        return pools.DjangoPool(pools.django_entry(target, values, args), not startup)  # type: ignore[return-value]
    raise ValueError(f"no probe pool for stack {settings.stack!r}")


PSYCOPG_POOL_ONE_CONNECTION = (
    "psycopg_pool ran with min_size = max_size = 1 (the scenario uses one connection): after a failed check its "
    "getconn backs off 1, 2, 4, 8 s before the next, so with min_size 4 the connections it adds meanwhile outlive "
    "the time-scaled limit and die too (PoolTimeout), which the real, unscaled limit would not do"
)


def one_connection(values: dict[str, Any]) -> dict[str, Any]:
    """psycopg_pool keys with one connection: see PSYCOPG_POOL_ONE_CONNECTION."""
    return {**values, "min_size": 1, "max_size": 1}


def uses_psycopg_pool(settings: EngineSettings) -> bool:
    options = settings.values.get("OPTIONS")
    return settings.stack == "psycopg_pool" or (
        settings.stack == "django" and isinstance(options, dict) and bool(options.get("pool"))
    )


LONG = 3600.0  # seconds: the probe's own deadlines bound every call; this only backs them up


class ThreadedEngine:
    """A sync SQLAlchemy engine (psycopg2) behind the few AsyncEngine calls the probe makes.

    Each call runs in a daemon thread: a query hung on a blackholed flow ends when the probe cuts the
    flow, and can never keep the process alive at exit.
    """

    def __init__(self, engine: Any) -> None:
        self.sync_engine = engine

    def connect(self) -> ThreadedConnection:
        return ThreadedConnection(self.sync_engine)

    async def dispose(self, close: bool = True) -> None:
        from pool_doctor.connection.sessions import in_thread

        await in_thread(lambda: self.sync_engine.dispose(close=close), LONG)


class ThreadedConnection:
    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self._conn: Any = None

    async def start(self) -> ThreadedConnection:
        from pool_doctor.connection.sessions import in_thread

        if self._conn is None:
            self._conn = await in_thread(self._engine.connect, LONG)
        return self

    def __await__(self) -> Any:
        return self.start().__await__()

    async def __aenter__(self) -> ThreadedConnection:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _call(self, func: Any, *args: Any) -> Any:
        from pool_doctor.connection.sessions import in_thread

        return await in_thread(lambda: func(*args), LONG)

    async def execute(self, statement: Any, params: Any = None) -> Any:
        return await self._call(self._conn.execute, statement, params)

    async def commit(self) -> None:
        await self._call(self._conn.commit)

    async def rollback(self) -> None:
        await self._call(self._conn.rollback)

    async def close(self) -> None:
        if self._conn is not None:
            await self._call(self._conn.close)

    async def get_raw_connection(self) -> Any:
        return self._conn.connection


async def dispose(engine: AsyncEngine, timeout: float = 5.0) -> None:
    """Close the engine's pool without letting a hung connection hold the probe.

    On timeout the remaining connections are dropped without goodbye (garbage collection terminates them).
    """
    try:
        await asyncio.wait_for(engine.dispose(), timeout)
    except Exception:
        try:
            await asyncio.wait_for(engine.dispose(close=False), 1.0)
        except Exception:
            pass


WRAPPERS = ("sqlalchemy", "django", "psycopg_pool")  # libraries whose own exceptions an app may catch


def app_error(exc: BaseException) -> AppError:
    """The driver's exception behind SQLAlchemy's wrappers (DBAPIError.orig, then the adapter's __cause__)."""
    outer = f"{type(exc).__module__}.{type(exc).__qualname__}"
    inner = driver_error(exc)
    root = type(inner).__module__.split(".")[0]
    source = root if root in (*DRIVER_MODULES, *WRAPPERS) else "python"
    text = str(inner).strip()
    message = " ".join(text.splitlines()[0].split()) if text else ""
    if not message and isinstance(inner, TimeoutError):
        message = "timed out"
    return AppError(
        type=type(inner).__name__,
        module=type(inner).__module__,
        message=message,
        source=source,
        wrapped_as=outer if inner is not exc and outer.split(".")[0] in WRAPPERS else None,
    )


@dataclass(frozen=True)
class Attempt:
    """One checkout and query, as the app would run it, bounded by the probe."""

    outcome: Literal["ok", "error", "hang"]
    seconds: float
    error: AppError | None = None
    task: asyncio.Task[Any] | None = None  # a hung attempt, still running until its connection is cut


async def checkout_and_query(engine: AsyncEngine, sql: str = SELECT_1) -> Any:
    from sqlalchemy import text

    async with engine.connect() as conn:
        return (await conn.execute(text(sql))).scalar()


async def attempt(engine: AsyncEngine, bound: float) -> Attempt:
    """Check out, run SELECT 1, return; `hang` when nothing comes back within `bound` seconds.

    A hung attempt is cancelled but keeps its task: the caller cuts the connection (stops the proxy)
    and then reaps it, so a hung connection never blocks the probe or the engine's disposal.
    """
    started = time.monotonic()
    task = asyncio.ensure_future(checkout_and_query(engine))
    done, _ = await asyncio.wait({task}, timeout=bound)
    elapsed = time.monotonic() - started
    if not done:
        task.cancel()
        return Attempt("hang", bound, task=task)
    exc = task.exception()
    if exc is None:
        return Attempt("ok", elapsed)
    return Attempt("error", elapsed, app_error(exc))


async def reap(task: asyncio.Task[Any] | None, timeout: float = 3.0) -> None:
    """Wait (bounded) for a cancelled attempt to finish, and swallow its outcome."""
    if task is None:
        return
    if not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=timeout)
    if task.done() and not task.cancelled():
        task.exception()  # retrieved, so asyncio does not log "exception was never retrieved"
