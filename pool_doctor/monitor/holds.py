"""Connections held too long, and connections never returned: where the app took them.

HikariCP's `leakDetectionThreshold`, for Python pools. With `watch(..., hold_warn=SECONDS)` each checkout
notes the app's own frame that took the connection: the first frame outside SQLAlchemy, the drivers, the
pools, pool-doctor, asyncio and greenlet (file, line, function). A connection returned after more than
`hold_warn` seconds gives a `held` record; one collected while still checked out, or still out when the
pool is disposed, gives a `leaked` record with the same location. Deaths carry it too.

Cost: one walk up the stack per checkout, each code object judged once (bench/monitor.py).
"""

from __future__ import annotations

import logging
import os
import sys
from importlib.util import find_spec
from types import FrameType
from typing import Any

from pool_doctor.monitor.records import ConnState, PoolSettings, utc_now

HOLD_EVENTS = ("held", "leaked")  # hold_warn's records

Where = tuple[str, int, str]  # (file, line, function)

# Whose frames are not the app's: the pools and drivers, pool-doctor, and the machinery that runs them.
LIBRARIES = (
    "sqlalchemy",
    "asyncpg",
    "psycopg",
    "psycopg_pool",
    "psycopg2",
    "greenlet",
    "pool_doctor",
    "asyncio",
    "concurrent",
    "contextlib",
    "threading",
)
# Code compiled at run time by the libraries themselves: the stdlib's frozen modules, SQLAlchemy's wrappers.
GENERATED = ("<frozen ", "<sqlalchemy ")
_MAX_CACHED = 50_000  # code objects judged; a program that makes code at run time does not grow it forever


def _library_paths() -> tuple[str, ...]:
    """The directories (packages) and files (modules) of LIBRARIES, found without importing them."""
    paths: list[str] = []
    for name in LIBRARIES:
        try:
            spec = find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is None:
            continue
        if spec.submodule_search_locations:
            paths += [os.path.join(location, "") for location in spec.submodule_search_locations]
        elif spec.origin:
            paths.append(spec.origin)
    return tuple(paths)


class Locator:
    """Finds the app's frame that took a connection. Each code object is judged once and remembered."""

    def __init__(self, skip: tuple[str, ...] | None = None) -> None:
        self.skip = _library_paths() if skip is None else skip
        self._library: dict[Any, bool] = {}

    def _is_library(self, code: Any) -> bool:
        known = self._library.get(code)
        if known is None:
            if len(self._library) > _MAX_CACHED:
                self._library.clear()
            filename = code.co_filename
            known = self._library[code] = filename.startswith(self.skip) or filename.startswith(GENERATED)
        return known

    def where(self) -> Where | None:
        """The app's frame on the current stack; inside SQLAlchemy's greenlet (the async engine), the
        coroutine that awaited it, in the parent greenlet. Runs on every checkout: the cache lookup is inlined."""
        library = self._library
        frame: FrameType | None = sys._getframe(1)
        hops = 0
        while frame is not None and hops < 4:
            while frame is not None:
                code = frame.f_code
                known = library.get(code)
                if known is None:
                    known = self._is_library(code)
                if not known:
                    return code.co_filename, frame.f_lineno, code.co_name
                frame = frame.f_back
            frame = _parent_greenlet_frame(hops)
            hops += 1
        return None


def _parent_greenlet_frame(depth: int) -> FrameType | None:
    """The suspended frame of the greenlet `depth + 1` levels above the current one, if greenlet is in use."""
    greenlet = sys.modules.get("greenlet")
    if greenlet is None:
        return None
    try:
        current = greenlet.getcurrent()
        for _ in range(depth + 1):
            current = current.parent
            if current is None:
                return None
        frame: FrameType | None = current.gr_frame
        return frame
    except Exception:
        return None


def show_where(where: Where | None) -> dict[str, Any] | None:
    """The record's `where`: the file relative to the working directory when it is inside it."""
    if where is None:
        return None
    filename, line, function = where
    try:
        relative = os.path.relpath(filename)
    except ValueError:  # another drive (Windows)
        relative = filename
    shown = filename if relative.startswith("..") else relative
    return {"file": shown, "line": line, "function": function, "at": f"{shown}:{line}"}


def hold_record(
    event: str,
    pool: PoolSettings,
    state: ConnState,
    now: float,
    *,
    hold_warn: float,
    in_transaction: bool | None,
    how: str | None = None,
) -> dict[str, Any]:
    """A `held` or `leaked` record (schema: pool_doctor/schemas, the monitor's JSON lines)."""
    from pool_doctor.monitor.records import SCHEMA_VERSION

    started = state.checked_out_at if state.checked_out_at is not None else now
    last = state.statement_at
    record: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "event": event,
        "at": utc_now(),
        "stack": pool.stack,
        "pool": pool.pool,
        "driver": pool.driver,
        "target": pool.target,
        "connection": state.number,
        "where": show_where(state.where),
        "held_s": round(max(now - started, 0.0), 3),
        # Quiet since the last statement began (or since checkout): the clock idle_in_transaction counts.
        "idle_in_checkout_s": round(max(now - (last if last is not None else started), 0.0), 3),
        "statements": state.statements,
        "in_transaction": in_transaction,
        "hold_warn_s": hold_warn,
    }
    if how is not None:
        record["how"] = how
    return record


def log_hold(logger: logging.Logger, record: dict[str, Any]) -> None:
    """One line a person reads (WARNING), the record attached as `extra` as for deaths."""
    where = (record.get("where") or {}).get("at") or "an unknown place"
    function = (record.get("where") or {}).get("function")
    transaction = {True: "in a transaction", False: "outside a transaction", None: "transaction unknown"}
    if record["event"] == "leaked":
        message = "pooled connection #%s leaked (%s) after %.1fs out, %s; taken at %s%s"
        args: tuple[Any, ...] = (record["connection"], record.get("how") or "never returned", record["held_s"])
    else:
        message = "pooled connection #%s held %.1fs (hold_warn %gs), %s; taken at %s%s"
        args = (record["connection"], record["held_s"], record["hold_warn_s"])
    logger.warning(
        message,
        *args,
        transaction[record.get("in_transaction")],
        where,
        f" in {function}" if function else "",
        extra={"pool_doctor": record},
    )
