"""What the monitor knows about one pooled connection, and the one record it writes when that connection dies.

Plain data and the output side (logging, JSON lines, counters). No driver, no SQLAlchemy: every stack's
adapter (sqlalchemy.py, psycopg_pool.py, asyncpg_pool.py) fills the same `ConnState` and hands deaths to
`core.Monitor`, so `explain` reads one format whatever the stack.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from pool_doctor.errors import driver_error, scrub

SCHEMA_VERSION = 1  # of one JSON line; explain refuses a different major
LOGGER_NAME = "pool_doctor.monitor"

Clock = Callable[[], float]  # monotonic seconds; the tests' seam


class Noticed:
    """Who found the connection dead: the app's request, or the pool before the app could see it."""

    REQUEST = "request"  # a statement of the app failed: the app saw the error
    PRE_PING = "pre_ping"  # the pool's ping at checkout failed; the pool replaced it
    CHECK = "check"  # psycopg_pool's check callback at getconn failed; the pool replaced it
    ACQUIRE = "acquire"  # asyncpg's acquire saw is_closed() and reconnected silently
    RETURN = "return"  # the reset at check-in (rollback) failed: noticed after the request's work

    SILENT = (PRE_PING, CHECK, ACQUIRE)


@dataclass(slots=True)
class ConnState:
    """One DBAPI connection's life as the monitor saw it. Times are the monitor's clock (monotonic)."""

    number: int  # the monitor's own counter: connection 1, 2, ... (stable across log lines)
    created_at: float
    released_at: float  # last check-in (or creation): the pool's idle clock starts here
    checked_out_at: float | None = None  # None while it sits in the pool
    statement_at: float | None = None  # start of the latest statement in this checkout
    previous_statement_at: float | None = None
    statements: int = 0  # statements started in this checkout (the failing one included)
    checkouts: int = 0
    dead: bool = False  # recorded once; later invalidate/close events for it are echoes
    where: tuple[str, int, str] | None = None  # the app's frame that took it (with hold_warn): file, line, function


@dataclass(frozen=True)
class PoolSettings:
    """The watched pool's own levers, as the record shows them (what was on when the connection died)."""

    stack: str  # "sqlalchemy", "psycopg_pool", "asyncpg"
    pool: str  # "QueuePool", "AsyncAdaptedQueuePool", "ConnectionPool", "asyncpg.Pool"
    driver: str  # "asyncpg", "psycopg", "psycopg2"
    target: str  # URL or host:port/db with the password masked
    settings: dict[str, object] = field(default_factory=dict)  # {"pool_pre_ping": False, "pool_recycle": -1}
    pings_at_checkout: bool = False
    max_age: float | None = None  # pool_recycle or the like, seconds; None: off


def describe_error(exc: BaseException | None, secrets: Iterable[str]) -> dict[str, object] | None:
    """The driver's own exception (not SQLAlchemy's wrapper): its qualified type, message and SQLSTATE."""
    if exc is None:
        return None
    inner = driver_error(exc)
    kind = type(inner)
    module = kind.__module__
    # asyncpg's public names live in asyncpg.exceptions; its classes say asyncpg.exceptions._base.
    from pool_doctor.connection.drivers import public_module

    module = public_module(module)
    sqlstate = getattr(inner, "sqlstate", None)
    message = " ".join(str(inner).split()) or kind.__name__
    return {
        "type": f"{module}.{kind.__qualname__}" if module != "builtins" else kind.__qualname__,
        "message": scrub(message, list(secrets))[:500],
        "sqlstate": sqlstate if isinstance(sqlstate, str) else None,
    }


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Counters:
    """What stats() returns: plain integers, safe to read from any thread."""

    NAMES = (
        "connections",
        "checkouts",
        "deaths",
        "failed_requests",
        "replaced",
        "retired",
        "disconnect_errors",
        "failures",
        "held",
        "leaked",
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, int] = dict.fromkeys(self.NAMES, 0)
        # Bumped on every checkout, so without the lock (bench/monitor.py): under heavy thread contention
        # an increment can be lost, which a rate counter tolerates and a checkout must not pay for.
        self.checkouts = 0
        self._by_cause: dict[str, int] = {}
        self._retired_by: dict[str, int] = {}
        self._failures_by_cause: dict[str, int] = {}

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._values[name] += amount

    def death(self, cause: str, failed: bool) -> None:
        with self._lock:
            self._values["deaths"] += 1
            self._values["failed_requests" if failed else "replaced"] += 1
            self._by_cause[cause] = self._by_cause.get(cause, 0) + 1

    def failure(self, cause: str) -> None:
        """A request failed on a connection that lives on (failed_requests counts it too)."""
        with self._lock:
            self._values["failures"] += 1
            self._values["failed_requests"] += 1
            self._failures_by_cause[cause] = self._failures_by_cause.get(cause, 0) + 1

    def retired(self, reason: str) -> None:
        with self._lock:
            self._values["retired"] += 1
            self._retired_by[reason] = self._retired_by.get(reason, 0) + 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                **self._values,
                "checkouts": self.checkouts,
                "deaths_by_cause": dict(self._by_cause),
                "failures_by_cause": dict(self._failures_by_cause),
                "retired_by": dict(self._retired_by),
            }


class JsonLines:
    """Appends one JSON object per line. Each line goes out in one write() of the whole line, unbuffered, so
    concurrent writers never interleave and a reader sees whole lines as soon as they are written.

    A path is opened lazily and non-blocking (a FIFO with no reader fails at once instead of waiting), and
    opened again after a failure. A line the disk took only part of (a full disk) is ended with a newline before
    the next one, so it stays one torn line, which `explain` skips. Failures raise: Monitor guards its sinks.
    """

    def __init__(self, path: str | os.PathLike[str] | TextIO) -> None:
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._torn = False  # the file ends inside a line: the next write starts with a newline
        if isinstance(path, str | os.PathLike):
            self.path: Path | None = Path(path)
            self._stream: TextIO | None = None
        else:
            self.path = None
            self._stream = path

    @property
    def name(self) -> str:
        """The file, for the monitor's own messages."""
        return str(self.path) if self.path is not None else str(getattr(self._stream, "name", "the stream"))

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, separators=(",", ":"), default=str) + "\n"
        with self._lock:
            if self._stream is not None:
                self._stream.write(line)
                self._stream.flush()  # explain may read the file while the app runs
                return
            assert self.path is not None
            data = (b"\n" if self._torn else b"") + line.encode("utf-8")
            try:
                written = os.write(self._open(), data)
            except OSError:
                self._close_fd()  # opened again at the next write (a rotated file, a FIFO's new reader)
                raise
            if written < len(data):
                self._torn = True
                raise OSError(errno.ENOSPC, f"{self.path}: only {written} of {len(data)} bytes written")
            self._torn = False

    def open(self) -> None:
        """Create or open the file now (watch() does, so the file exists from the start); raises OSError."""
        if self.path is not None:
            with self._lock:
                self._open()

    def _open(self) -> int:
        if self._fd is None:
            assert self.path is not None
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
            self._fd = os.open(self.path, flags, 0o644)
        return self._fd

    def _close_fd(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None

    def close(self) -> None:
        with self._lock:
            self._close_fd()


def log_death(logger: logging.Logger, record: dict[str, Any]) -> None:
    """One line a person reads, with the whole record attached as `extra` for structured log handlers."""
    cause = record["cause"]
    error = record.get("error") or {}
    how = "the request failed" if record["request_failed"] else f"replaced by the pool ({record['noticed_by']})"
    where = record.get("where")
    if isinstance(where, dict) and where.get("at"):  # hold_warn: the app's line that took it
        how += f", taken at {where['at']}"
    # A failed request is the incident; a silent replacement is the pool doing its job (worth counting).
    logger.log(
        logging.WARNING if record["request_failed"] else logging.INFO,
        "pooled connection #%s died after %.1fs idle (age %.1fs, %s checkouts): %s; cause: %s; error: %s: %s",
        record["connection"],
        record["idle_s"],
        record["age_s"],
        record["checkouts"],
        how,
        cause.get("what") or cause["name"],
        error.get("type") or "-",
        error.get("message") or "-",
        extra={"pool_doctor": record},
    )


def log_failure(logger: logging.Logger, record: dict[str, Any]) -> None:
    """A request that failed on a live connection: its cause and remedy, as one warning."""
    cause = record["cause"]
    error = record.get("error") or {}
    logger.warning(
        "request failed: %s; error: %s: %s; %s",
        cause.get("what") or cause["name"],
        error.get("type") or "-",
        error.get("message") or "-",
        cause.get("remedy") or "",
        extra={"pool_doctor": record},
    )


def elapsed(clock: Clock, since: float) -> float:
    return round(max(clock() - since, 0.0), 3)


monotonic: Clock = time.monotonic
