"""The connection lifecycle monitor: evidence from the running app about why pooled connections die.

    from pool_doctor.monitor import watch, stats
    monitor = watch(engine, jsonl="deaths.jsonl")      # SQLAlchemy Engine or AsyncEngine
    ...
    stats(engine)   # {"deaths": 1, "failed_requests": 1, "deaths_by_cause": {"idle_session_timeout": 1}, ...}

Then `pool-doctor explain deaths.jsonl`. Light on purpose: importing this imports no driver, no SQLAlchemy
(until watch() attaches), and nothing of the CLI. Other stacks: `pool_doctor.monitor.psycopg_pool` and
`pool_doctor.monitor.asyncpg_pool`.
"""

from __future__ import annotations

from typing import Any

from pool_doctor.monitor.core import Monitor
from pool_doctor.monitor.records import LOGGER_NAME, SCHEMA_VERSION, Noticed
from pool_doctor.monitor.retry import NotRetryable, run_transaction, run_transaction_async
from pool_doctor.monitor.sqlalchemy import SQLAlchemyMonitor, watch, watching

__all__ = [
    "LOGGER_NAME",
    "SCHEMA_VERSION",
    "Monitor",
    "NotRetryable",
    "Noticed",
    "SQLAlchemyMonitor",
    "run_transaction",
    "run_transaction_async",
    "stats",
    "watch",
    "watching",
]


def stats(target: Any) -> dict[str, Any]:
    """Counters of a monitor, or of the monitor watch() attached to an engine."""
    monitor = target if isinstance(target, Monitor) else watching(target)
    if monitor is None:
        raise LookupError("this engine is not watched: call pool_doctor.monitor.watch(engine) first")
    return monitor.stats()
