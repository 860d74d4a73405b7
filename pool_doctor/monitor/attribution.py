"""Which limit on the path killed a connection: its idle time (or age) at death against each known Limit.

Limits come from a `check --json` report (its "path" section) or are read once from the server through the
watched pool's own connection (`SERVER_LIMITS_SQL`), so the role and database are the app's. Pure, no I/O,
except `load_report`, which reads a file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pool_doctor.errors import UsageError
from pool_doctor.inspect.sources import describe_source
from pool_doctor.path.model import Layer, Limit, Provenance, Shape

# The settings that end a session from the server side (FIELD_NOTES 1), read as the app's role sees them.
SERVER_LIMITS_SQL = (
    "SELECT name, setting, unit, source, sourcefile, sourceline FROM pg_settings "
    "WHERE name IN ('idle_session_timeout', 'idle_in_transaction_session_timeout', 'transaction_timeout')"
)
WHO_SQL = "SELECT current_user, current_database()"

# Limits that only run while a transaction is open: a connection idle in the pool (reset by rollback) is
# outside any transaction, so only a connection that died while checked out can have met them.
IN_TRANSACTION = frozenset({"idle_in_transaction_session_timeout", "transaction_timeout"})
# The SQLSTATE PostgreSQL sends when it ends a session for a limit: stronger evidence than timing.
SQLSTATE_LIMIT = {
    "57P05": "idle_session_timeout",
    "25P03": "idle_in_transaction_session_timeout",
    "25P04": "transaction_timeout",
}
SQLSTATE_OTHER = {
    "57P01": "terminated by an administrator (pg_terminate_backend) or a server shutdown",
    "57P02": "crash shutdown of the server",
    "57P03": "the server is starting up or shutting down",
}
# 25006 read_only_sql_transaction: the server turned read-only under the pool, a demoted primary after a
# failover or switchover (or default_transaction_read_only switched on); the connection is open but useless
# for writes, and pre-ping's SELECT 1 still passes (field notes section 9).
READ_ONLY = "25006"
DEMOTED_PRIMARY = "demoted-primary"
_UNITS = {"ms": 0.001, "s": 1.0, "min": 60.0}
# Errors that end no connection but fail the request: a statement prepared on one server backend, used on
# another (transaction pooling). 42P05 duplicate_prepared_statement, 26000 invalid_sql_statement_name, and
# 08P01 protocol_violation for a cached statement bound on a backend where the name means another statement.
PREPARED_STATEMENT_SQLSTATES = frozenset({"42P05", "26000"})
PREPARED_STATEMENT_REMEDY = (
    "Turn the driver's named prepared statements off behind transaction pooling (asyncpg: statement_cache_size=0, "
    "through SQLAlchemy also prepared_statement_cache_size=0 and a unique prepared_statement_name_func; psycopg: "
    "prepare_threshold=None), use session pooling, or a pooler that tracks them (PgBouncer 1.21+ "
    "max_prepared_statements). `pool-doctor recommend` prints the exact keys."
)


def _tolerance(seconds: float) -> float:
    """How far below a limit a measured idle time may fall and still match it: the pool's clock starts a
    round trip after the server's (the reset at check-in), and timers fire a little late or early."""
    return max(0.05, seconds * 0.02)


# -- where limits come from ---------------------------------------------------------------------------


def limit_from_json(data: Mapping[str, Any]) -> Limit:
    """A Limit from its `to_json()` form (one entry of a report's path.limits)."""
    try:
        return Limit(
            name=str(data["name"]),
            seconds=float(data["seconds"]),
            shape=Shape(data.get("shape", "close")),
            layer=Layer(data.get("layer", "server")),
            holder=str(data.get("holder", "")),
            source=str(data.get("source", "")),
            provenance=Provenance(data.get("provenance", Provenance.CONFIGURED.value)),
            kind=str(data.get("kind", "idle")),
            value=str(data["value"]) if data.get("value") is not None else None,
            refreshed_by_keepalives=bool(data.get("refreshed_by_keepalives", False)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"not a limit in the report's path.limits: {exc}") from None


def limits_from_report(report: Mapping[str, Any] | str | os.PathLike[str]) -> list[Limit]:
    """The limits that face the app's pool, from a `check --json` report (a dict or a file path).

    A limit that faces the pooler's server pool (behind a transaction pooler) never reaches the app's
    connections: the pooler reconnects to the server on its own, so it is left out.
    """
    data = load_report(report) if not isinstance(report, Mapping) else report
    path = data.get("path")
    if not isinstance(path, Mapping) or not isinstance(path.get("limits"), list):
        raise UsageError("the report has no path.limits section (write it with `pool-doctor check --json`)")
    return [
        limit_from_json(item)
        for item in path["limits"]
        if isinstance(item, Mapping) and item.get("faces", "app") == "app"
    ]


def load_report(path: str | os.PathLike[str]) -> Mapping[str, Any]:
    """A `check --json` report file: a regular file of at most 16 MiB (a FIFO is refused, never waited on)."""
    from pool_doctor.files import read_text

    text = read_text(path, "report", limit=16 << 20)
    try:
        data = json.loads(text)
    except RecursionError:
        raise UsageError(f"the report {os.fspath(path)} nests arrays or objects too deeply") from None
    except ValueError as exc:
        raise UsageError(f"the report {os.fspath(path)} is not JSON: {exc}") from None
    if not isinstance(data, Mapping):
        raise UsageError(f"the report {os.fspath(path)} is not a JSON object")
    return data


def limits_from_settings(rows: Iterable[Sequence[Any]], *, role: str, database: str) -> list[Limit]:
    """Limits from SERVER_LIMITS_SQL's rows; 0 (off) and unknown units are left out."""
    limits = []
    for name, setting, unit, source, sourcefile, sourceline in rows:
        try:
            seconds = float(setting) * _UNITS[unit or "ms"]
        except (KeyError, TypeError, ValueError):
            continue
        if seconds <= 0:
            continue
        limits.append(
            Limit(
                name=str(name),
                seconds=seconds,
                shape=Shape.CLOSE,
                layer=Layer.SERVER,
                holder="PostgreSQL",
                source=describe_source(
                    str(source), role=role, database=database, sourcefile=sourcefile, sourceline=sourceline
                ),
                provenance=Provenance.SERVER,
                kind="lifetime" if name == "transaction_timeout" else "idle",
            )
        )
    return sorted(limits, key=lambda limit: limit.seconds)


# -- attribution ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measures:
    """What the monitor measured at one death, in seconds."""

    idle_s: float  # quiet time before the use that found it dead
    age_s: float  # since connect
    held_s: float | None  # checked out this long (None: it died in the pool, found at checkout)
    mid_checkout: bool  # a statement of this checkout had already run: it died while the app held it
    sqlstate: str | None = None


def _measure(limit: Limit, m: Measures) -> float | None:
    """The clock this limit counts, or None when it cannot have fired on this connection."""
    if limit.name in IN_TRANSACTION:
        if not m.mid_checkout:
            return None
        return m.held_s if limit.kind == "lifetime" else m.idle_s
    return m.age_s if limit.kind == "lifetime" else m.idle_s


def request_failure(error: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The cause of a request's failure that ended no connection, or None when the error is not one the monitor
    names: prepared statements that moved server backends under transaction pooling."""
    if not error:
        return None
    sqlstate, message = error.get("sqlstate"), str(error.get("message") or "")
    if sqlstate in PREPARED_STATEMENT_SQLSTATES or (sqlstate == "08P01" and "bind message supplies" in message):
        return {
            "name": "pooler-prepared-statements",
            "explained": True,
            "matched_on": "sqlstate",
            "what": "prepared statements behind transaction pooling: a statement the driver prepared on one "
            "server backend was used on another",
            "limit": None,
            "layer": "pooler",
            "remedy": PREPARED_STATEMENT_REMEDY,
        }
    return None


def attribute(m: Measures, limits: Sequence[Limit], known: bool = True) -> dict[str, Any]:
    """The cause of one death, as the record's "cause" object.

    Explained: the limit that fired first among those the measured time had passed (an idle session killed
    at 2 s may only be noticed after 3 s; a 350 s NAT timer behind it never got the chance). Unexplained:
    no known limit had passed, with the nearest ones as candidates. `known`: the limits were read (an empty
    list then means the path has none), not merely never given.
    """
    by_sqlstate = SQLSTATE_LIMIT.get(m.sqlstate or "")
    if by_sqlstate is not None:
        named = [limit for limit in limits if limit.name == by_sqlstate]
        if named:
            return _explained(named[0], "sqlstate", _measure(named[0], m))
        return {
            "name": by_sqlstate,
            "explained": True,
            "matched_on": "sqlstate",
            "what": by_sqlstate,
            "limit": None,
            "layer": "server",
        }
    if m.sqlstate == READ_ONLY:
        return {
            "name": DEMOTED_PRIMARY,
            "explained": True,
            "matched_on": "sqlstate",
            "what": "the server is read-only (SQLSTATE 25006): a demoted primary after a failover or switchover; "
            "pre-ping cannot see it (see recommend's handle_error code)",
            "limit": None,
            "layer": "server",
        }
    if m.sqlstate in SQLSTATE_OTHER:
        return {
            "name": "terminated",
            "explained": True,
            "matched_on": "sqlstate",
            "what": SQLSTATE_OTHER[m.sqlstate or ""],
            "limit": None,
            "layer": "server",
        }

    fired: list[tuple[float, Limit, float]] = []  # (seconds before the use it fired, limit, measure)
    for limit in limits:
        measure = _measure(limit, m)
        if measure is not None and measure >= limit.seconds - _tolerance(limit.seconds):
            fired.append((measure - limit.seconds, limit, measure))
    if fired:
        _, limit, measure = max(fired, key=lambda item: item[0])
        return _explained(limit, "age" if limit.kind == "lifetime" else "idle", measure)

    candidates = []
    for limit in limits:
        measure = _measure(limit, m)
        if measure is not None:
            candidates.append(
                {
                    "what": limit.what,
                    "name": limit.name,
                    "seconds": limit.seconds,
                    "measured_s": round(measure, 3),
                    "short_by_s": round(limit.seconds - measure, 3),
                }
            )
    candidates.sort(key=lambda item: abs(float(item["short_by_s"])))  # type: ignore[arg-type]
    return {
        "name": "unexplained",
        "explained": False,
        "matched_on": None,
        "what": "no known limit matches"
        if limits
        else "no known limit matches: none was found on this path (a restart, pg_terminate_backend, a failover "
        "or an unseen middlebox)"
        if known
        else "no limits known (pass limits_from=)",
        "limit": None,
        "layer": None,
        "candidates": candidates[:3],
    }


def _explained(limit: Limit, matched_on: str, measure: float | None) -> dict[str, Any]:
    return {
        "name": limit.name,
        "explained": True,
        "matched_on": matched_on,
        "what": limit.what,
        "limit": limit.to_json(),
        "layer": limit.layer.value,
        "measured_s": round(measure, 3) if measure is not None else None,
    }
