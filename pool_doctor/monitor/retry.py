"""A retry that is safe by construction: it re-runs a transaction only when nothing of it can have run.

When a retry helps: the pool handed out a connection that was already dead (an idle limit fired while
it sat in the pool) and the *first* statement of the transaction failed with a disconnect. Nothing ran;
running the whole transaction again on a fresh connection is the same as running it once.

When it is dangerous: after any statement of the transaction completed, or when the failure was the
COMMIT itself. The server may have committed (a reset after COMMIT reached it), or the function may have
done things outside the database (sent a mail, charged a card) between statements. A blind retry
decorator re-runs those writes. This helper refuses (raises NotRetryable, chained to the driver's error).

Also dangerous: autocommit. Every statement commits on its own, so even the first one may have run before
the connection broke; the helper never retries once a statement was sent in autocommit mode.

Better than any retry: pool_pre_ping=True or pool_recycle below the path's idle limit, which stop the
stale-connection case before the app sees it (`pool-doctor recommend`, `pool-doctor explain`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


class NotRetryable(Exception):
    """The connection died after part of the transaction ran: re-running it could apply writes twice."""


class _Tally:
    """Counts statements started and completed on one connection (SQLAlchemy connection events)."""

    def __init__(self) -> None:
        self.started = 0
        self.completed = 0

    def before(self, *args: Any) -> None:
        self.started += 1

    def after(self, *args: Any) -> None:
        self.completed += 1

    def attach(self, sync_connection: Any) -> None:
        from sqlalchemy import event

        event.listen(sync_connection, "before_cursor_execute", self.before)
        event.listen(sync_connection, "after_cursor_execute", self.after)


def _autocommit(sync_connection: Any) -> bool:
    levels = (
        sync_connection.get_execution_options().get("isolation_level"),
        getattr(sync_connection.dialect, "isolation_level", None),
    )
    return "AUTOCOMMIT" in levels


def _decide(exc: BaseException, tally: _Tally, autocommit: bool, attempt: int, attempts: int) -> None:
    """Return to retry; raise to give up. Only a disconnect with nothing of the transaction done is retried."""
    from sqlalchemy.exc import DBAPIError

    if not isinstance(exc, DBAPIError) or not exc.connection_invalidated:
        raise exc  # not a connection-level failure: the app's own error, not ours to hide
    if tally.completed > 0 or (autocommit and tally.started > 0):
        raise NotRetryable(
            f"the connection died after {tally.completed} statement(s) of this transaction completed"
            + (" (autocommit: each statement commits on its own)" if autocommit else "")
            + "; re-running it could apply them twice"
        ) from exc
    if attempt >= attempts:
        raise exc


def run_transaction(engine: Any, fn: Callable[[Any], T], *, attempts: int = 2) -> T:
    """Run fn(connection) in one transaction on a sync Engine; retried only if its first statement found the
    connection dead. Example: total = run_transaction(engine, lambda conn: conn.execute(q).scalar())"""
    attempt = 0
    while True:
        attempt += 1
        tally = _Tally()
        with engine.connect() as conn:
            tally.attach(conn)
            autocommit = _autocommit(conn)
            try:
                with conn.begin():
                    return fn(conn)
            except Exception as exc:
                _decide(exc, tally, autocommit, attempt, attempts)


async def run_transaction_async(engine: Any, fn: Callable[[Any], Awaitable[T]], *, attempts: int = 2) -> T:
    """The same for an AsyncEngine: `await run_transaction_async(engine, work)` with `async def work(conn)`."""
    attempt = 0
    while True:
        attempt += 1
        tally = _Tally()
        async with engine.connect() as conn:
            tally.attach(conn.sync_connection)
            autocommit = _autocommit(conn.sync_connection)
            try:
                async with conn.begin():
                    return await fn(conn)
            except Exception as exc:
                _decide(exc, tally, autocommit, attempt, attempts)
