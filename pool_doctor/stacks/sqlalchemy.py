"""SQLAlchemy's pools (QueuePool / AsyncAdaptedQueuePool, NullPool, StaticPool) as a PoolPolicy.

Defaults from SQLAlchemy 2.0/2.1 `lib/sqlalchemy/engine/create.py` and `pool/impl.py`: pool_size 5,
max_overflow 10, pool_timeout 30, pool_recycle -1 (never), pool_pre_ping False. pool_recycle is age since
connect, checked at checkout (`_ConnectionRecord.get_connection`); pre-ping runs at checkout only, and
nothing in the pool notices a connection the server closed while it sat idle (pooling.rst, "Dealing with
Disconnects"). Flask-SQLAlchemy and SQLModel build these same engines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pool_doctor.path.policy import Knob, PoolPolicy

if TYPE_CHECKING:
    from pool_doctor.config import PoolConfig
    from pool_doctor.connection.drivers import Driver

STACK = "sqlalchemy"
LIBRARY_VERSION = "SQLAlchemy 2.0"
DEFAULTS: dict[str, object] = {
    "pool_size": 5,
    "max_overflow": 10,
    "pool_recycle": -1,
    "pool_pre_ping": False,
    "pool_timeout": 30,
    "pool_use_lifo": False,
    "poolclass": "QueuePool",
}


def engine_factory(call: str | None, url_driver: str) -> tuple[str, str]:
    """(module, function) that builds the engine: an async engine when the app's code calls
    create_async_engine (async_engine_from_config) or the URL's driver is an async one (asyncpg,
    psycopg_async); `postgresql+psycopg` serves either. `call` is the callable the app's code calls, when scanned."""
    name = (call or "").rsplit(".", 1)[-1]
    if url_driver in ("asyncpg", "psycopg_async") or name in ("create_async_engine", "async_engine_from_config"):
        return "sqlalchemy.ext.asyncio", "create_async_engine"
    return "sqlalchemy", "create_engine"


def policy(pool: PoolConfig, driver: Driver, connect_args: dict[str, object]) -> PoolPolicy:
    hang = driver.hang_bound(connect_args)
    keepalive = driver.keepalive_idle(connect_args)
    poolclass = pool.poolclass or "QueuePool"
    levers = (
        ("max_age", "pool_recycle"),
        ("ping", "pool_pre_ping"),
        ("hang", "connect_args.command_timeout" if driver.name == "asyncpg" else "connect_args.tcp_user_timeout"),
        (
            "keepalive",
            "connect_args.server_settings.tcp_keepalives_idle"
            if driver.name == "asyncpg"
            else "connect_args.keepalives_idle",
        ),
    )
    return PoolPolicy(
        stack=STACK,
        label=f"SQLAlchemy's {poolclass}",
        reuses=poolclass != "NullPool",
        max_age=float(pool.recycle) if pool.recycle is not None else None,
        max_age_knob=Knob("pool_recycle", pool.pool_recycle),
        ping=pool.pool_pre_ping,
        ping_knob=Knob("pool_pre_ping", pool.pool_pre_ping),
        hang_bound=hang[0] if hang else None,
        hang_knob=hang[1] if hang else None,
        keepalive_idle=keepalive[0] if keepalive else None,
        keepalive_knob=keepalive[1] if keepalive else None,
        # SQLAlchemy's asyncpg dialect does not count command_timeout's TimeoutError as a disconnect.
        bounded_ping_replaces=driver.name != "asyncpg",
        levers=levers,
    )
