"""Raw driver sessions pool-doctor opens itself (its one connection to read the server, the probe's own):
SQL with $1-style parameters, the startup PID, bounded close; blocking drivers run in daemon threads."""

from __future__ import annotations

import asyncio
import inspect
import re
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pool_doctor.errors import ConnectError

T = TypeVar("T")
APPLICATION_NAME = "pool-doctor"


class Session:
    """A raw driver session: SQL with $1-style parameters, the startup PID, bounded close."""

    startup_pid: int | None = None

    async def fetchval(self, sql: str, *args: Any, timeout: float) -> Any:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    def terminate(self) -> None:
        raise NotImplementedError


class _Asyncpg(Session):
    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.startup_pid = conn.get_server_pid()

    async def fetchval(self, sql: str, *args: Any, timeout: float) -> Any:
        return await self.conn.fetchval(sql, *args, timeout=timeout)

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.conn.close(), 2)
        except Exception:
            self.conn.terminate()

    def terminate(self) -> None:
        self.conn.terminate()


async def open_asyncpg(kwargs: dict[str, Any], timeout: float) -> Session:
    import asyncpg

    kwargs = dict(kwargs)
    settings = dict(kwargs.get("server_settings") or {})
    settings["application_name"] = APPLICATION_NAME
    kwargs["server_settings"] = settings
    kwargs["timeout"] = timeout
    kwargs["statement_cache_size"] = 0  # our own statements: nothing named survives on a shared backend
    return _Asyncpg(await asyncpg.connect(**kwargs))


def _pyformat(sql: str) -> str:
    return re.sub(r"\$\d+", "%s", sql.replace("%", "%%"))


class _Psycopg(Session):
    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.startup_pid = conn.info.backend_pid

    async def fetchval(self, sql: str, *args: Any, timeout: float) -> Any:
        async def run() -> Any:
            cur = await self.conn.execute(_pyformat(sql), args, prepare=False)
            if cur.description is None:  # BEGIN, ROLLBACK: nothing to fetch
                return None
            row = await cur.fetchone()
            return row[0] if row else None

        task = asyncio.ensure_future(run())
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if task in done:
            return task.result()
        # Timed out. Cancelled as it is, psycopg would ask the server to cancel and wait up to 5 s for that, then
        # 5 s more for the query to end: behind a paused pooler, --timeout 5 took 15 s. The session is ended
        # first instead (the caller ends it on a timeout anyway), so the cancelled query has nothing to wait on.
        self.terminate()
        task.cancel()
        await asyncio.wait({task}, timeout=1)
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: no "exception was never retrieved" at exit
        raise TimeoutError

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.conn.close(), 2)
        except Exception:
            self.terminate()

    def terminate(self) -> None:
        try:
            self.conn.pgconn.finish()
        except Exception:
            pass


async def open_psycopg(kwargs: dict[str, Any], timeout: float) -> Session:
    import psycopg

    kwargs = {
        **kwargs,
        "application_name": APPLICATION_NAME,
        "autocommit": True,
        "connect_timeout": max(2, round(timeout)),
    }
    kwargs.pop("prepare_threshold", None)
    return _Psycopg(await psycopg.AsyncConnection.connect(**kwargs))


class _Psycopg2(Session):
    """A blocking DB-API session (psycopg2; pg8000 below): each call in a daemon thread."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.startup_pid = conn.info.backend_pid if hasattr(conn, "info") else None

    async def fetchval(self, sql: str, *args: Any, timeout: float) -> Any:
        def run() -> Any:
            cur = self.conn.cursor()  # (pg8000's cursor is no context manager)
            try:
                cur.execute(_pyformat(sql), args)
                if cur.description is None:
                    return None
                row = cur.fetchone()
                return row[0] if row else None
            finally:
                cur.close()

        # On a timeout the caller terminates the session; a cancel request here would block on a dead path.
        return await in_thread(run, timeout)

    async def close(self) -> None:
        try:
            await in_thread(self.conn.close, 2)
        except Exception:
            pass

    def terminate(self) -> None:
        # close() from another thread while a query waits: libpq's socket is shut and the query ends.
        threading.Thread(target=self._close_quietly, daemon=True).start()

    def _close_quietly(self) -> None:
        try:
            self.conn.close()
        except Exception:
            pass


def open_psycopg2(kwargs: dict[str, Any], timeout: float) -> Session:
    import psycopg2

    kwargs = {**kwargs, "application_name": APPLICATION_NAME, "connect_timeout": max(2, round(timeout))}
    conn = psycopg2.connect(**kwargs)
    conn.autocommit = True
    return _Psycopg2(conn)


class _Pg8000(_Psycopg2):
    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.startup_pid = pg8000_pid(conn)


def pg8000_pid(conn: Any) -> int | None:
    """pg8000 keeps BackendKeyData's bytes (the PID, then the cancel key) and offers no accessor for them."""
    key_data = getattr(conn, "_backend_key_data", None)
    return int.from_bytes(key_data[:4], "big") if key_data else None


def open_pg8000(kwargs: dict[str, Any], timeout: float) -> Session:
    """pg8000's DB-API connection; its timeout bounds the connect and each socket read."""
    import pg8000.dbapi

    conn = pg8000.dbapi.connect(**{**kwargs, "application_name": APPLICATION_NAME, "timeout": timeout})
    conn.autocommit = True
    return _Pg8000(conn)


async def in_thread(func: Callable[[], T], timeout: float) -> T:
    """Run blocking driver code in a daemon thread: a hung socket can never hold the process at exit.

    A result that arrives after the caller stopped waiting (timed out, or its event loop is gone) is
    closed, not left behind.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def deliver(ok: bool, value: Any) -> None:
        if future.done():
            _discard(ok, value)
        elif ok:
            future.set_result(value)
        else:
            future.set_exception(value)

    def work() -> None:
        value: Any
        try:
            ok, value = True, func()
        except BaseException as exc:
            ok, value = False, exc
        try:
            loop.call_soon_threadsafe(deliver, ok, value)
        except RuntimeError:  # the event loop has closed: nobody waits for this any more
            _discard(ok, value)

    threading.Thread(target=work, daemon=True, name="pool-doctor-driver").start()
    return await asyncio.wait_for(future, timeout)


def _discard(ok: bool, value: Any) -> None:
    """Close a late result (a session or connection nobody will use); a late error needs nothing."""
    if not ok:
        return
    for name in ("terminate", "close"):
        method = getattr(value, name, None)
        if callable(method) and not inspect.iscoroutinefunction(method):
            try:
                method()
            except Exception:
                pass
            return


async def bounded(awaitable: Awaitable[T], timeout: float, what: str) -> T:
    try:
        return await asyncio.wait_for(awaitable, timeout)
    except TimeoutError:
        raise ConnectError(f"timed out after {timeout:g}s {what}") from None
