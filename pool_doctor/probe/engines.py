"""The pool each scenario runs, for any stack: one config shape, built through the stack's own hooks.

A ProbeConfig is a stack, its own pool keys as its library takes them, the driver's arguments and the policy
the judge reads. `build_engine` hands them to the stack (Stack.probe_pool), which builds its real pool behind
the few AsyncEngine calls the probe makes; the driver (Driver.probe_session_args) makes every session
read-only. Everything that touches SQLAlchemy or a driver imports it inside the function, so importing the
probe package stays cheap.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from pool_doctor.errors import DRIVER_MODULES, driver_error
from pool_doctor.probe.model import AppError
from pool_doctor.stacks import REGISTRY

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy.ext.asyncio import AsyncEngine

    from pool_doctor.connection.spec import ConnectionSpec
    from pool_doctor.path.policy import PoolPolicy
    from pool_doctor.stacks.base import Stack

APPLICATION_NAME = "pool-doctor probe"
SELECT_1 = "SELECT 1"


ReadOnly = Literal["session", "transaction"]


@dataclass(frozen=True)
class ProbeConfig:
    """One pool the probe runs: everything its real pool is built from, whatever the stack."""

    name: str  # "current", "recommended", or a probe-internal name
    stack: Stack
    # The stack's pool keys as its library takes them (nested tables kept; Stack.probe_split): seconds may be
    # fractions here, since scenarios scale them down.
    values: dict[str, Any]
    driver_args: dict[str, Any]  # the driver's keyword arguments: [connect_args], then the stack's own
    # What the judge reads for this config (the oracle each scenario's result is compared with); for a
    # time-scaled config, the policy the stack reads from the scaled values.
    policy: PoolPolicy | None = field(default=None, compare=False)

    @classmethod
    def of(cls, name: str, stack: Stack, values: Mapping[str, Any], connect_args: Mapping[str, Any]) -> ProbeConfig:
        """A config from the stack's own keys (nested as the library takes them) and [connect_args]."""
        pool, driver_args = stack.probe_split(values, connect_args)
        return cls(name=name, stack=stack, values=pool, driver_args=driver_args)

    @property
    def path_view(self) -> ProbeConfig:
        """The config the path steps run (connect, round trips, an admin's second session): this one on the
        stack that measures the path, else that stack's defaults with this config's driver arguments (the
        path steps time the server and the network rather than the pool)."""
        if self.stack.measures_path:
            return self
        path = next(stack for stack in REGISTRY.values() if stack.measures_path)
        return replace(ProbeConfig.of(self.name, path, {}, {}), driver_args=dict(self.driver_args))

    def with_values(self, values: Mapping[str, Any]) -> ProbeConfig:
        return replace(self, values=dict(values))

    def measuring(self, target: ConnectionSpec) -> ProbeConfig:
        """The path view as the probe's own measurements run it: with the driver's named prepared statements
        off, so that behind transaction pooling they cannot collide with statements other clients left on the
        backend ('prepared statement "__asyncpg_stmt_1__" already exists'). The scenarios run the app's own."""
        return self.path_view.without_statement_cache(target)

    def without_statement_cache(self, target: ConnectionSpec) -> ProbeConfig:
        """This config with the driver's named prepared statements off (the prepared_statements fix)."""
        from pool_doctor.connection.drivers import driver_for

        cache = driver_for(target).prepared_statements
        if cache is None:
            return self
        return replace(self, driver_args={**self.driver_args, **cache.fix(self.stack.adapts_driver)})

    def to_json(self) -> dict[str, Any]:
        from pool_doctor.connection.values import jsonable_connect_args

        return self.stack.probe_json(self.values, jsonable_connect_args(self.driver_args))


def build_engine(
    target: ConnectionSpec,
    config: ProbeConfig,
    *,
    session_settings: dict[str, str] | None = None,
    null_pool: bool = False,
    read_only: ReadOnly = "session",
) -> AsyncEngine:
    """The config's real pool to `target`, with read-only sessions and any session settings a scenario needs.

    With `null_pool`, a new connection per checkout on the stack that measures the path, with the config's
    driver arguments: a second session of the same driver, as an admin's. The probe's own settings win over
    the app's for read-only, so it can never write user data. With read_only="transaction" (a pooler on the
    path rejects most startup parameters, and a SET would leak to other clients under transaction pooling)
    only application_name is added; the pool then begins every transaction READ ONLY instead.
    """
    from pool_doctor.connection.drivers import driver_for
    from pool_doctor.connection.values import materialize_connect_args

    if null_pool:
        config = config.path_view
        config = config.with_values(config.stack.probe_unpooled(config.values))
    driver = driver_for(target)
    startup = read_only == "session"
    wanted = {"default_transaction_read_only": "on", **(session_settings or {})} if startup else {}
    args = driver.probe_session_args(materialize_connect_args(config.driver_args), wanted, APPLICATION_NAME)
    engine: AsyncEngine = config.stack.probe_pool(
        target, driver, config.values, args, read_only_transactions=not startup
    )
    return engine


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


# The stacks' libraries whose own exceptions an app may catch, wrapping the driver's (SQLAlchemy, Django, ...).
WRAPPERS = tuple(stack.module for stack in REGISTRY.values() if stack.module and stack.module not in DRIVER_MODULES)


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
