"""The libpq drivers: psycopg 3 and psycopg2, libpq's keywords."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from pool_doctor.connection import arguments
from pool_doctor.connection.drivers.base import Driver, StatementCache
from pool_doctor.connection.sessions import Session, in_thread, open_psycopg, open_psycopg2


@dataclass(frozen=True)
class PsycopgDriver(Driver):
    """psycopg 3: libpq's keywords; prepares a statement after prepare_threshold (5) executions."""

    # psycopg 3.3 Connection.connect() keywords; every other one goes into the conninfo, for libpq.
    own_keys: ClassVar[frozenset[str]] = frozenset(
        {"autocommit", "prepare_threshold", "context", "row_factory", "cursor_factory"}
    )
    session_hint: ClassVar[str] = "session settings as options='-c name=value'"
    argument_checks: ClassVar[Mapping[str, arguments.Check]] = arguments.PSYCOPG

    errors: ClassVar[Mapping[Any, str]] = {
        ("close", "idle_session_timeout"): "psycopg's IdleSessionTimeout: terminating connection due to "
        "idle-session timeout",
        "close": "psycopg's OperationalError: server closed the connection unexpectedly",
        "reset": "psycopg's OperationalError: server closed the connection unexpectedly",
    }
    held_errors: ClassVar[Mapping[str, str]] = {
        "idle_in_transaction_session_timeout": "psycopg's IdleInTransactionSessionTimeout: terminating connection "
        "due to idle-in-transaction timeout",
        "transaction_timeout": "psycopg's TransactionTimeout: terminating connection due to transaction timeout",
        "statement_timeout": "psycopg's QueryCanceled: canceling statement due to statement timeout",
        "lock_timeout": "psycopg's LockNotAvailable: canceling statement due to lock timeout",
    }

    prepared_statements: ClassVar[StatementCache | None] = StatementCache(
        "psycopg's prepared statements will go missing",
        "psycopg prepares a query after prepare_threshold (5) executions on one connection; under transaction "
        'pooling the next execution runs on another backend and the app gets: prepared statement "_pg3_0" does '
        "not exist. Set prepare_threshold=None, or use session pooling.",
        ("prepare_threshold",),
        values={"prepare_threshold": None},
        why="Transaction pooling runs each transaction on any backend: psycopg's prepared statements (after 5 "
        "executions) go missing. None turns server-side preparing off.",
        short="no prepared statements behind transaction pooling",
    )

    def statement_cache_off(self, args: Mapping[str, Any], adapter: bool = True) -> bool:
        """prepare_threshold=None; in a config file a Python-only value is a string: "none"."""
        threshold = args.get("prepare_threshold", 5)
        return threshold is None or (isinstance(threshold, str) and threshold.lower() == "none")

    def dialect_class(self) -> Any:
        from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

        return PGDialect_psycopg

    async def connect(self, kwargs: dict[str, Any], timeout: float) -> Session:
        return await open_psycopg(kwargs, timeout)


@dataclass(frozen=True)
class Psycopg2Driver(Driver):
    """psycopg2: libpq's keywords, blocking (run in a thread), never prepares statements itself."""

    # psycopg2 2.9 connect() keywords; every other one goes into the dsn, for libpq.
    own_keys: ClassVar[frozenset[str]] = frozenset({"connection_factory", "cursor_factory", "async", "async_"})
    session_hint: ClassVar[str] = "session settings as options='-c name=value'"

    errors: ClassVar[Mapping[Any, str]] = {
        "close": "psycopg2's OperationalError: server closed the connection unexpectedly",
        "reset": "psycopg2's OperationalError: server closed the connection unexpectedly (with TLS: SSL "
        "SYSCALL error: EOF detected)",
    }
    held_errors: ClassVar[Mapping[str, str]] = {
        "idle_in_transaction_session_timeout": "psycopg2's IdleInTransactionSessionTimeout: terminating connection "
        "due to idle-in-transaction timeout",
        "transaction_timeout": "psycopg2's TransactionTimeout: terminating connection due to transaction timeout",
        "statement_timeout": "psycopg2's QueryCanceled: canceling statement due to statement timeout",
        "lock_timeout": "psycopg2's LockNotAvailable: canceling statement due to lock timeout",
    }

    def dialect_class(self) -> Any:
        from sqlalchemy.dialects.postgresql.psycopg2 import PGDialect_psycopg2

        return PGDialect_psycopg2

    async def connect(self, kwargs: dict[str, Any], timeout: float) -> Session:
        return await in_thread(lambda: open_psycopg2(kwargs, timeout), timeout)
