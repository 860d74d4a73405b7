"""SQLAlchemy's own engine for the probe: an async engine, or a sync one (psycopg2) behind ThreadedEngine.

The SQLAlchemy stack builds its probe pool here (pool_doctor/stacks/sqlalchemy.py, `probe_pool`), so nothing
here imports pool_doctor.stacks. SQLAlchemy loads when an engine is built, not when this module is imported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LONG = 3600.0  # seconds: the probe's own deadlines bound every call; this only backs them up


def sqlalchemy_engine(url: str, kwargs: Mapping[str, Any], *, null_pool: bool, sync: bool) -> Any:
    """`create_async_engine(url, **kwargs)`; with `null_pool` a NullPool (a new connection per checkout); with
    `sync` the app's own sync engine (a sync driver), each call in a daemon thread."""
    options = dict(kwargs)
    if null_pool:
        from sqlalchemy.pool import NullPool

        options["poolclass"] = NullPool
    if sync:
        from sqlalchemy import create_engine

        return ThreadedEngine(create_engine(url, **options))
    from sqlalchemy.ext.asyncio import create_async_engine

    return create_async_engine(url, **options)


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
