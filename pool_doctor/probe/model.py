"""What the probe measured, as plain dataclasses: the renderers print them, JSON is `to_json()`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from pool_doctor.model import Severity

Outcome = Literal["ok", "error", "hang", "skipped"]
Shape = Literal["reset", "blackhole"]


def percentile(samples: list[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation; None without samples."""
    if not samples:
        return None
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ms(seconds: float | None) -> float | None:
    """Seconds -> milliseconds, rounded for reading (JSON keeps three decimals)."""
    return None if seconds is None else round(seconds * 1000, 3)


def rounded(seconds: float | None, digits: int = 3) -> float | None:
    return None if seconds is None else round(seconds, digits)


@dataclass(frozen=True)
class Latency:
    """Percentiles of a list of durations, in seconds."""

    samples: list[float]

    def to_json(self) -> dict[str, Any]:
        return {
            "samples": len(self.samples),
            "p50_ms": ms(percentile(self.samples, 50)),
            "p95_ms": ms(percentile(self.samples, 95)),
            "p99_ms": ms(percentile(self.samples, 99)),
            "max_ms": ms(max(self.samples) if self.samples else None),
        }


@dataclass(frozen=True)
class ConnectResult:
    latency: Latency  # one fresh connection each, through a real engine with the current connect_args
    server_version: str
    tls: bool | None  # None: pg_stat_ssl not visible
    tls_version: str | None
    startup_pid: int | None  # the backend PID the driver got at startup (BackendKeyData)
    backend_pid: int  # SELECT pg_backend_pid() on the same connection
    server_port: int | None  # inet_server_port(); None over a unix socket
    read_only: bool  # transaction_read_only inside the probe's own transactions
    read_only_by: str  # "default_transaction_read_only" (session setting) or "BEGIN READ ONLY" (behind a pooler)

    @property
    def pids_match(self) -> bool | None:
        return None if self.startup_pid is None else self.startup_pid == self.backend_pid

    def to_json(self) -> dict[str, Any]:
        return {
            "connections": len(self.latency.samples),
            **{k: v for k, v in self.latency.to_json().items() if k != "samples"},
            "server_version": self.server_version,
            "tls": self.tls,
            "tls_version": self.tls_version,
            "startup_pid": self.startup_pid,
            "backend_pid": self.backend_pid,
            "pids_match": self.pids_match,  # False: a pooler (PgBouncer, ...) answers in the server's place
            "server_port": self.server_port,
            "read_only": self.read_only,
            "read_only_by": self.read_only_by,
        }


@dataclass(frozen=True)
class RoundTripResult:
    select_1: Latency  # SELECT 1 on one warm pooled connection
    checkout_without_ping: Latency  # checkout + return, pool_pre_ping off
    checkout_with_ping: Latency  # the same with pool_pre_ping on

    @property
    def pre_ping_cost(self) -> float | None:
        on, off = percentile(self.checkout_with_ping.samples, 50), percentile(self.checkout_without_ping.samples, 50)
        return None if on is None or off is None else max(on - off, 0.0)

    def to_json(self) -> dict[str, Any]:
        return {
            **self.select_1.to_json(),
            "pre_ping": {
                "checkout_off_p50_ms": ms(percentile(self.checkout_without_ping.samples, 50)),
                "checkout_on_p50_ms": ms(percentile(self.checkout_with_ping.samples, 50)),
                "cost_per_checkout_ms": ms(self.pre_ping_cost),
                "checkouts": len(self.checkout_with_ping.samples),
            },
        }


@dataclass(frozen=True)
class LoadResult:
    tasks: int
    seconds: float
    hold_seconds: float  # each task holds its connection this long per transaction (server-side pg_sleep)
    transactions: int
    checkout_wait: Latency
    pool_timeouts: int
    errors: int
    first_error: str | None
    pool_size: int
    max_overflow: int
    pool_timeout: float
    peak_checked_out: int

    @property
    def throughput(self) -> float:
        return self.transactions / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        wait = self.checkout_wait.samples
        return {
            "tasks": self.tasks,
            "seconds": rounded(self.seconds),
            "hold_ms": ms(self.hold_seconds),
            "transactions": self.transactions,
            "throughput_per_s": round(self.throughput, 1),
            "checkout_wait_p50_ms": ms(percentile(wait, 50)),
            "checkout_wait_p99_ms": ms(percentile(wait, 99)),
            "checkout_wait_max_ms": ms(max(wait) if wait else None),
            "pool_timeouts": self.pool_timeouts,
            "errors": self.errors,
            "first_error": self.first_error,
            "pool_size": self.pool_size,
            "max_overflow": self.max_overflow,
            "pool_timeout": self.pool_timeout,
            "peak_checked_out": self.peak_checked_out,
        }


@dataclass(frozen=True)
class AppError:
    """The exception the app would see, named after the driver's class rather than SQLAlchemy's wrapper."""

    type: str  # e.g. "ConnectionDoesNotExistError"
    module: str  # e.g. "asyncpg.exceptions"
    message: str  # first line of the driver's message
    source: str  # "asyncpg", "psycopg", "sqlalchemy" or "python": whose exception `type` is
    wrapped_as: str | None  # what the app catches when SQLAlchemy wraps it, e.g. "sqlalchemy.exc.DBAPIError"

    def __str__(self) -> str:
        return f"{self.type}: {self.message}" if self.message else self.type


@dataclass(frozen=True)
class ScenarioResult:
    name: str
    config: str  # "current" or "recommended"
    outcome: Outcome
    seconds: float | None = None  # time to failure (error), to recovery (ok), or the bound (hang)
    error: AppError | None = None
    reason: str | None = None  # why skipped, or what happened in words
    recovered: bool | None = None  # after an error: did the next checkout work?
    scaled: dict[str, Any] = field(default_factory=dict)  # the time-scaled values this run used
    notes: list[str] = field(default_factory=list)
    # The oracle: what the judge (pool_doctor/path/judge.py) says this config does against the scenario's
    # limit, as the outcome the probe should see ("ok", "error", "hang"); None when it has no limit to judge.
    judge_expected: Outcome | None = None
    judge_verdict: str | None = None  # the judge's outcome and reason, in words
    # How bad a failure is, as check says it of the same limit (the judge's verdict); None when it passed.
    severity: Severity | None = None

    @property
    def passed(self) -> bool:
        return self.outcome in ("ok", "skipped")

    @property
    def agrees(self) -> bool | None:
        """Whether the real pool did what the judge says; None when skipped or not judged."""
        if self.judge_expected is None or self.outcome == "skipped":
            return None
        return self.outcome == self.judge_expected

    def to_json(self) -> dict[str, Any]:
        error = self.error
        return {
            "name": self.name,
            "config": self.config,
            "outcome": self.outcome,
            "error": error.message if error else (self.reason if self.outcome == "hang" else None),
            "error_type": error.type if error else None,
            "error_module": error.module if error else None,
            "error_source": error.source if error else None,
            "wrapped_as": error.wrapped_as if error else None,
            "seconds": rounded(self.seconds),
            "recovered": self.recovered,
            "reason": self.reason,
            "scaled": self.scaled,
            "notes": self.notes,
            "judge_expected": self.judge_expected,
            "judge_verdict": self.judge_verdict,
            "agrees": self.agrees,
            "severity": self.severity.value if self.severity is not None else None,
        }


@dataclass(frozen=True)
class IdleTimeoutResult:
    """Bounds on the idle time after which the real path kills a connection."""

    lower: float | None  # the longest idle a connection survived
    upper: float | None  # the shortest idle a connection did not survive; None: none failed up to max
    shape: Shape | None
    error: AppError | None
    max_seconds: float
    connections: int
    tests: int
    seconds: float  # wall time the discovery took

    def to_json(self) -> dict[str, Any]:
        return {
            "lower": rounded(self.lower, 2),
            "upper": rounded(self.upper, 2),
            "shape": self.shape,
            "error": str(self.error) if self.error else None,
            "error_type": self.error.type if self.error else None,
            "max": self.max_seconds,
            "connections": self.connections,
            "tests": self.tests,
            "seconds": rounded(self.seconds, 2),
        }


@dataclass(frozen=True)
class ProbeReport:
    target: str  # masked
    driver: str
    configs: dict[str, dict[str, Any]]  # "current" / "recommended" -> pool + connect_args, as JSON
    connect: ConnectResult
    round_trip: RoundTripResult | None
    load: LoadResult | None
    scenarios: list[ScenarioResult]
    idle_timeout: IdleTimeoutResult | None
    seconds: float
    limitations: list[str] = field(default_factory=list)  # what the connecting role could not see
    stack: str = "sqlalchemy"  # whose pool the scenarios ran: sqlalchemy, asyncpg, psycopg_pool, django

    def failures(self, config: str) -> list[ScenarioResult]:
        return [s for s in self.scenarios if s.config == config and not s.passed]

    @property
    def all_passed(self) -> bool:
        return all(s.passed for s in self.scenarios)

    def at_or_above(self, threshold: Severity | None) -> list[ScenarioResult]:
        """The failures as bad as `threshold` or worse (check's exit code, for the same limits)."""
        if threshold is None:
            return []
        return [s for s in self.scenarios if s.severity is not None and s.severity.rank >= threshold.rank]

    def to_json(self) -> dict[str, Any]:
        from pool_doctor.model import SCHEMA_VERSION

        document: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "target": self.target,
            "driver": self.driver,
            "stack": self.stack,
            "configs": self.configs,
            "connect": self.connect.to_json(),
            "round_trip": self.round_trip.to_json() if self.round_trip else None,
            "load": self.load.to_json() if self.load else None,
            "scenarios": [s.to_json() for s in self.scenarios],
            "summary": {
                "current_failed": [s.name for s in self.failures("current")],
                "recommended_failed": [s.name for s in self.failures("recommended")],
                "skipped": sorted({s.name for s in self.scenarios if s.outcome == "skipped"}),
                # Where the real pool and the judge disagree: a finding about pool-doctor itself.
                "disagreements": [f"{s.name}/{s.config}" for s in self.scenarios if s.agrees is False],
            },
            "seconds": rounded(self.seconds, 2),
            "limitations": self.limitations,
        }
        if self.idle_timeout is not None:
            document["idle_timeout"] = self.idle_timeout.to_json()
        return document
