"""The stack-neutral monitor: each adapter reports lifecycle events, this turns a death into one record.

A record goes to the `pool_doctor.monitor` logger, to the JSON-lines file (the format `explain` reads),
to the counters behind `stats()`, and to Prometheus / OpenTelemetry when asked for.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

from pool_doctor.errors import scrub
from pool_doctor.monitor.attribution import Measures, attribute, request_failure
from pool_doctor.monitor.holds import HOLD_EVENTS, Locator, hold_record, log_hold, show_where
from pool_doctor.monitor.records import (
    LOGGER_NAME,
    SCHEMA_VERSION,
    Clock,
    ConnState,
    Counters,
    JsonLines,
    Noticed,
    PoolSettings,
    describe_error,
    log_death,
    log_failure,
    monotonic,
    utc_now,
)
from pool_doctor.path.model import Limit, Shape

# What `limits_from=` takes: a check --json report (a dict or its file), or the limits themselves.
LimitsGiven = Mapping[str, Any] | str | os.PathLike[str] | Sequence[Limit] | None

LimitsSource = Callable[[], Sequence[Limit]]


class Sink:
    """One place records go (the JSON-lines file, the logger, a metrics exporter), guarded: the app never sees
    it fail. A failure is reported once through the monitor's logger; the sink then rests, and is tried again
    after a back-off that doubles up to MAX_REST seconds (a disk someone frees, a FIFO's new reader); records
    meanwhile are counted as dropped, and a recovery is reported with their number."""

    FIRST_REST = 1.0
    MAX_REST = 300.0

    def __init__(
        self,
        name: str,
        write: Callable[[dict[str, Any]], None],
        report: Callable[..., None],
        deaths_only: bool = False,  # metrics exporters count deaths: no other record (failure, held, frozen)
    ) -> None:
        self.name = name
        self.deaths_only = deaths_only
        self._write = write
        self._report = report
        self._lock = threading.Lock()
        self._rest = 0.0
        self._resume_at = 0.0
        self.failures = 0
        self.dropped = 0

    def __call__(self, record: dict[str, Any]) -> None:
        self.attempt(self._write, record)

    @property
    def rest(self) -> float:
        """Seconds the sink rests after its last failure; 0.0 while it works."""
        return self._rest

    def attempt(self, action: Callable[..., None], *args: Any) -> None:
        """Run `action(*args)` unless the sink rests; never raises.

        Attempts that ran side by side and failed together (a burst of deaths on a full disk, from many threads)
        are one failure for the back-off: only the first of them doubles the rest."""
        seen = self._resume_at
        if time.monotonic() < seen:  # resting: no write, no wait, no system call
            with self._lock:
                self.dropped += 1
            return
        try:
            action(*args)
        except Exception as exc:
            with self._lock:
                self.failures += 1
                self.dropped += bool(args)
                if self._resume_at != seen:  # one that ran alongside failed first and set the rest
                    return
                first = self._rest == 0.0
                self._rest = min(self.MAX_REST, self._rest * 2 or self.FIRST_REST)
                self._resume_at = time.monotonic() + self._rest
            if first:
                self._report(
                    logging.WARNING,
                    "pool_doctor.monitor: cannot write records to %s (%s: %s); the app is not affected; "
                    "records are dropped and the %s is tried again after a pause of up to %ds",
                    self.name,
                    type(exc).__name__,
                    exc,
                    self.name.split(" ", 1)[0],
                    int(self.MAX_REST),
                )
            return
        if self._rest:
            with self._lock:
                # Not a recovery: it started before a failure alongside it, or another success said it first.
                if self._resume_at != seen or not self._rest:
                    return
                dropped, self._rest, self.dropped = self.dropped, 0.0, 0
            self._report(
                logging.WARNING, "pool_doctor.monitor: writing records to %s again (%d dropped)", self.name, dropped
            )


class Monitor:
    """One watched pool. Adapters call opened/checked_out/statement/checked_in/died/retired.

    Nothing here raises into the app or waits on a sink: each sink is a guarded `Sink`, and `died` and
    `retired` report their own failures once through the logger instead of raising them."""

    def __init__(
        self,
        pool: PoolSettings,
        *,
        secrets: Sequence[str] = (),
        jsonl: str | os.PathLike[str] | TextIO | None = None,
        logger: logging.Logger | None = None,
        clock: Clock = monotonic,
        exporters: Sequence[Callable[[dict[str, Any]], None]] = (),
        hold_warn: float | None = None,
    ) -> None:
        self.pool = pool
        self._secrets = [s for s in secrets if s]
        self.logger = logger or logging.getLogger(LOGGER_NAME)
        self.clock = clock
        self.counters = Counters()
        self._numbers = itertools.count(1)
        self._reported: set[str] = set()
        self._file = JsonLines(jsonl) if jsonl is not None else None
        self.sinks: list[Sink] = []
        if self._file is not None:
            file_sink = Sink(f"file {self._file.name}", self._file.write, self._report)
            file_sink.attempt(self._file.open)  # the file exists from the start, or the failure is said now
            self.sinks.append(file_sink)
        self.sinks.append(Sink(f"logger {self.logger.name}", self._log, self._report))
        self.hold_warn = hold_warn
        self._locator = Locator() if hold_warn is not None else None
        self._out: dict[int, ConnState] = {}  # checked out now, by connection number (with hold_warn)
        self._exporters = list(exporters)  # the adapters also feed them the pool's state (metrics.PoolMetrics)
        self.sinks += [
            Sink(f"exporter {_exporter_name(export)}", export, self._report, deaths_only=True)
            for export in self._exporters
        ]
        self._limits: list[Limit] | None = None
        self._limits_note: str | None = None
        self._limits_lock = threading.Lock()
        self.records: list[dict[str, Any]] = []  # the last few, for stats() readers and tests
        self._keep = 100

    # -- limits --------------------------------------------------------------------------------

    def take_limits(self, limits_from: LimitsGiven, read_server_limits: bool | None) -> bool:
        """The limits given (a check --json report, its path, or Limit objects); returns whether the server
        is still to be read (by default only when nothing was given)."""
        if limits_from is not None:
            if isinstance(limits_from, Sequence) and not isinstance(limits_from, str):
                self.set_limits(list(limits_from))
            else:
                from pool_doctor.monitor.attribution import limits_from_report

                try:
                    self.set_limits(limits_from_report(limits_from))
                except Exception as exc:  # watch() never raises into the app: its deaths go unexplained
                    note = f"limits_from unusable: {' '.join(str(exc).split())}"
                    self.set_limits([], note)
                    self._report(logging.WARNING, "pool_doctor.monitor: %s; deaths will be unexplained", note)
        return limits_from is None if read_server_limits is None else read_server_limits

    def set_limits(self, limits: Sequence[Limit], note: str | None = None) -> None:
        with self._limits_lock:
            self._limits = list(limits)
            self._limits_note = note

    @property
    def limits_known(self) -> bool:
        return self._limits is not None

    @property
    def limits(self) -> list[Limit]:
        return list(self._limits or [])

    # -- lifecycle -----------------------------------------------------------------------------

    def opened(self) -> ConnState:
        now = self.clock()
        self.counters.add("connections")
        return ConnState(number=next(self._numbers), created_at=now, released_at=now)

    def checked_out(self, state: ConnState) -> None:
        state.checked_out_at = self.clock()
        state.statements = 0
        state.statement_at = state.previous_statement_at = None
        state.checkouts += 1
        self.counters.checkouts += 1
        if self._locator is not None:
            self.took(state)

    def statement(self, state: ConnState) -> None:
        state.previous_statement_at = state.statement_at
        state.statement_at = self.clock()
        state.statements += 1

    def checked_in(self, state: ConnState, in_transaction: bool | None = None) -> None:
        if self._locator is not None:
            self.returned(state, in_transaction)
        state.released_at = self.clock()
        state.checked_out_at = None

    # -- held and leaked connections (hold_warn): monitor/holds.py --------------------------------

    def took(self, state: ConnState) -> None:
        """Note the app's frame that took this connection (call right after its checkout)."""
        try:
            state.where = self._locator.where() if self._locator is not None else None
            self._out[state.number] = state
        except Exception as exc:
            self._failed("where a connection was taken", exc)

    def returned(self, state: ConnState, in_transaction: bool | None = None) -> None:
        """A checkout ends (call before checked_in clears it): a `held` record when it lasted over hold_warn."""
        self._out.pop(state.number, None)
        started, hold_warn = state.checked_out_at, self.hold_warn
        if started is None or hold_warn is None or self.clock() - started < hold_warn:
            return
        self._emit_hold("held", state, in_transaction)

    def leaked(self, state: ConnState, how: str, in_transaction: bool | None = None) -> None:
        """A connection that never came back: collected while checked out, or still out at dispose()."""
        if self._out.pop(state.number, None) is None or state.checked_out_at is None:
            return
        self._emit_hold("leaked", state, in_transaction, how)

    def still_out(self, how: str = "still checked out at dispose()") -> int:
        """Every connection checked out now, recorded as leaked; returns how many."""
        out = list(self._out.values())
        for state in out:
            self.leaked(state, how)
        return len(out)

    def _emit_hold(self, event: str, state: ConnState, in_transaction: bool | None, how: str | None = None) -> None:
        try:
            record = hold_record(
                event,
                self.pool,
                state,
                self.clock(),
                hold_warn=self.hold_warn or 0.0,
                in_transaction=in_transaction,
                how=how,
            )
            self.counters.add(event)
            self.note(record)
        except Exception as exc:
            self._failed(f"a {event} connection", exc)

    def retired(self, state: ConnState | None, reason: str) -> None:
        """The pool closed a connection of its own accord (recycle, max lifetime, dispose): not a death."""
        if state is not None:
            if state.dead:
                return
            state.dead = True
        try:
            self.counters.retired(reason)
            if state is not None:
                self.logger.debug(
                    "pooled connection #%s retired by %s at age %.1fs",
                    state.number,
                    reason,
                    self.clock() - state.created_at,
                )
        except Exception as exc:
            self._failed("a connection's retirement", exc)

    def died(
        self,
        state: ConnState,
        error: BaseException | None,
        noticed_by: str,
        extra: dict[str, Any] | None = None,
        *,
        mid_checkout: bool | None = None,
        error_text: str | None = None,
    ) -> dict[str, Any] | None:
        """Record one death once; returns the record (None for an echo of one already recorded).

        mid_checkout: for stacks without statement events, whether it died while the app held it.
        error_text: a stack that cannot hand over the exception may still know its message.
        """
        if state.dead:
            return None
        state.dead = True
        try:
            record = self.build_record(
                state, error, noticed_by, extra, mid_checkout=mid_checkout, error_text=error_text
            )
            self.emit(record)
        except Exception as exc:  # the app's request goes on exactly as if unwatched
            self._failed("a connection's death", exc)
            return None
        return record

    def build_record(
        self,
        state: ConnState,
        error: BaseException | None,
        noticed_by: str,
        extra: dict[str, Any] | None = None,
        *,
        mid_checkout: bool | None = None,
        error_text: str | None = None,
    ) -> dict[str, Any]:
        now = self.clock()
        if mid_checkout is None:
            mid_checkout = state.checked_out_at is not None and (
                state.statements >= 2 or (noticed_by == Noticed.RETURN and state.statements >= 1)
            )
        if noticed_by == Noticed.REQUEST and state.statement_at is not None:
            used_at = state.statement_at  # the failing statement's start: a hang after it is not idle time
            quiet_since = state.previous_statement_at if state.statements >= 2 else state.released_at
        elif noticed_by == Noticed.RETURN:
            used_at = now
            quiet_since = state.statement_at or state.checked_out_at or state.released_at
        elif mid_checkout and state.checked_out_at is not None:  # held, and no statement events (other stacks)
            used_at, quiet_since = now, state.checked_out_at
        else:  # found at checkout (ping, check, acquire), or a request with no statement event (other stacks)
            used_at = (
                state.checked_out_at if state.checked_out_at is not None and noticed_by == Noticed.REQUEST else now
            )
            quiet_since = state.released_at
        quiet_since = quiet_since if quiet_since is not None else state.released_at
        idle_s = round(max(used_at - quiet_since, 0.0), 3)
        age_s = round(max(now - state.created_at, 0.0), 3)
        held_s = round(now - state.checked_out_at, 3) if state.checked_out_at is not None else None
        # Held a while before its first statement: it may have died after a ping at checkout would have passed.
        held_before_use = (
            noticed_by == Noticed.REQUEST
            and state.statements == 1
            and state.statement_at is not None
            and state.checked_out_at is not None
            and state.statement_at - state.checked_out_at > max(1.0, 0.1 * idle_s)
        )
        err = describe_error(error, self._secrets)
        if err is None and error_text:
            err = {"type": None, "message": scrub(" ".join(error_text.split()), self._secrets)[:500], "sqlstate": None}
        sqlstate = err["sqlstate"] if err else None
        measures = Measures(
            idle_s=idle_s,
            age_s=age_s,
            held_s=held_s,
            mid_checkout=mid_checkout,
            sqlstate=sqlstate if isinstance(sqlstate, str) else None,
        )
        cause = attribute(measures, self.limits, self.limits_known)
        if self._limits_note and not cause["explained"]:
            cause["note"] = self._limits_note
        request_failed = noticed_by in (Noticed.REQUEST,)
        record: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "event": "death",
            "at": utc_now(),
            "stack": self.pool.stack,
            "pool": self.pool.pool,
            "driver": self.pool.driver,
            "target": self.pool.target,
            "pool_settings": dict(self.pool.settings),
            "connection": state.number,
            "age_s": age_s,
            "idle_s": idle_s,
            "idle_in_pool_s": round(max((state.checked_out_at or now) - state.released_at, 0.0), 3),
            "held_s": held_s,
            "died_mid_checkout": mid_checkout,
            "checkouts": state.checkouts,
            "noticed_by": noticed_by,
            "request_failed": request_failed,
            "outcome": "failed" if request_failed else "replaced",
            "error": err,
            "cause": cause,
            "pre_ping_would_catch": None
            if held_before_use
            else self._ping_would_catch(mid_checkout, noticed_by, cause),
            "recycle_would_catch": self._recycle_would_catch(mid_checkout, cause),
        }
        if state.where is not None:
            record["where"] = show_where(state.where)  # the app's line that took it (hold_warn)
        if extra:
            record.update(extra)
        return record

    def _ping_would_catch(self, mid_checkout: bool, noticed_by: str, cause: dict[str, Any]) -> bool | None:
        """A ping at checkout finds a connection that died in the pool, unless its packets are dropped
        (the ping then hangs like the query would). It runs only at checkout, never mid-request."""
        if noticed_by in Noticed.SILENT:
            return True
        if mid_checkout:
            return False
        limit = cause.get("limit") or {}
        if limit.get("shape") == Shape.DROP.value:
            return None  # only with a bound on the ping (command_timeout, tcp_user_timeout)
        return True

    def _recycle_would_catch(self, mid_checkout: bool, cause: dict[str, Any]) -> bool | None:
        """A max age below the limit retires every connection before it has been idle that long (age >= idle),
        at checkout; it cannot help mid-request, nor against a limit nobody knows."""
        if mid_checkout:
            return False
        return True if cause.get("limit") else None

    def request_failed(self, error: BaseException | None) -> dict[str, Any] | None:
        """A request that failed on a live connection for a reason the monitor names (prepared statements under
        transaction pooling): one `failure` record; None when the error is not one of those (or on any trouble)."""
        try:
            err = describe_error(error, self._secrets)
            cause = request_failure(err)
            if cause is None:
                return None
            record: dict[str, Any] = {
                "schema_version": SCHEMA_VERSION,
                "event": "failure",
                "at": utc_now(),
                "stack": self.pool.stack,
                "pool": self.pool.pool,
                "driver": self.pool.driver,
                "target": self.pool.target,
                "request_failed": True,
                "outcome": "failed",
                "error": err,
                "cause": cause,
            }
            self.counters.failure(str(cause["name"]))
            self.note(record)
            return record
        except Exception as exc:
            self._failed("a request's failure", exc)
            return None

    def emit(self, record: dict[str, Any]) -> None:
        self.counters.death(str(record["cause"]["name"]), bool(record["request_failed"]))
        self.records.append(record)
        del self.records[: -self._keep]
        for sink in self.sinks:
            sink(record)

    def note(self, record: dict[str, Any]) -> None:
        """A record that is not a death (failure, held, leaked, frozen): kept, written to the JSON-lines file
        and logged; the metrics exporters count deaths only."""
        self.records.append(record)
        del self.records[: -self._keep]
        for sink in self.sinks:
            if not sink.deaths_only:
                sink(record)

    def _log(self, record: dict[str, Any]) -> None:
        event = record.get("event", "death")
        if event == "failure":
            log_failure(self.logger, record)
        elif event in HOLD_EVENTS:
            log_hold(self.logger, record)
        elif event != "death":
            self.logger.warning("pool_doctor.monitor: %s", record.get("what"), extra={"pool_doctor": record})
        else:
            log_death(self.logger, record)

    def _report(self, level: int, message: str, *args: Any) -> None:
        """The monitor's own trouble, said through its logger (never raised: the logger may be what fails)."""
        try:
            self.logger.log(level, message, *args)
        except Exception:
            pass

    def _failed(self, what: str, exc: Exception) -> None:
        """A bug or a surprise in the monitor's own bookkeeping: reported once per kind, never raised."""
        if what in self._reported:
            return
        self._reported.add(what)
        self._report(
            logging.WARNING,
            "pool_doctor.monitor: could not record %s (%s: %s); the app is not affected",
            what,
            type(exc).__name__,
            scrub(str(exc), self._secrets),
        )

    def stats(self) -> dict[str, Any]:
        return {
            **self.counters.snapshot(),
            "stack": self.pool.stack,
            "pool": self.pool.pool,
            "limits": [limit.what for limit in self.limits],
            "limits_known": self.limits_known,
        }

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def _exporter_name(export: Callable[..., Any]) -> str:
    made_by = getattr(export, "__qualname__", type(export).__name__).split(".")[0]
    return {"PrometheusSink": "Prometheus", "OtelSink": "OpenTelemetry"}.get(made_by, made_by or "metrics")


# -- optional metrics exporters: monitor/metrics.py (the names, the instruments, the pools' state) -----------


def prometheus_exporter(registry: Any = None, pool: str = "") -> Callable[[dict[str, Any]], None]:
    """The pool's metrics with prometheus_client (pip install 'pool-doctor[monitor]'): monitor/metrics.py."""
    from pool_doctor.monitor.metrics import prometheus_sink

    return prometheus_sink(pool, registry)


def otel_exporter(meter: Any = None, pool: str = "") -> Callable[[dict[str, Any]], None]:
    """The pool's metrics through the OpenTelemetry metrics API (the app configures the SDK): monitor/metrics.py."""
    from pool_doctor.monitor.metrics import otel_sink

    return otel_sink(pool, meter)


def exporters(
    prometheus: Any, otel: Any, pool: str = "", logger: logging.Logger | None = None
) -> list[Callable[[dict[str, Any]], None]]:
    """`True` uses the default registry / meter; an object is the registry / meter to use; falsy: off. `pool` is
    the pool's name on every point (db.client.connection.pool.name). One that cannot be set up (its library
    missing, a registry that refuses the metrics) is said once through `logger` and left out: watch() never
    raises into the app."""
    chosen = []
    for asked, make, name in ((prometheus, prometheus_exporter, "Prometheus"), (otel, otel_exporter, "OpenTelemetry")):
        if not asked:
            continue
        try:
            chosen.append(make(None if asked is True else asked, pool))
        except Exception as exc:
            (logger or logging.getLogger(LOGGER_NAME)).warning(
                "pool_doctor.monitor: no %s export: %s", name, " ".join(str(exc).split()) or type(exc).__name__
            )
    return chosen
