"""observe's data: what one sample saw, and the report a window adds up to (one JSON form, versioned)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pool_doctor.model import SCHEMA_VERSION, Setting

IDLE = "idle"
IDLE_IN_TRANSACTION = "idle in transaction"
HIDDEN = "hidden"  # a row whose state the observing role may not see

# The limits that end a session observe can see coming, and the state each one waits on.
CLOSING_LIMITS = ("idle_session_timeout", "idle_in_transaction_session_timeout", "transaction_timeout")


@dataclass(frozen=True, order=True)
class GroupKey:
    """Sessions grouped as the issue asks: by application_name, role, database and client address."""

    user: str
    database: str
    application: str
    client: str  # "local" for a unix socket, "?" when hidden

    def label(self) -> str:
        app = self.application or "(no application_name)"
        return f"{app} · {self.user}@{self.database} · {self.client}"

    def to_json(self) -> dict[str, str]:
        return {"application": self.application, "role": self.user, "database": self.database, "client": self.client}


@dataclass(frozen=True)
class Seen:
    """One session in one sample (pg_stat_activity's row, ages in seconds at the sample's now())."""

    pid: int
    started: float  # backend_start, epoch: with pid, one session (a pid is reused)
    key: GroupKey
    state: str  # HIDDEN when the observer may not see it
    state_age: float | None
    xact_age: float | None
    statement: str | None  # idle in a transaction only: literals masked


@dataclass(frozen=True)
class Sample:
    at: float  # the server's now(), epoch seconds
    sessions: tuple[Seen, ...]
    counters: dict[str, tuple[int, int, int]] | None  # database -> (fatal, killed, abandoned); None before 14
    query_ms: float  # the sampling query's round trip


@dataclass(frozen=True)
class Limit:
    """A closing limit as the group's role and database see it, and who set it."""

    name: str
    seconds: float
    value: str
    source: str

    @classmethod
    def of(cls, setting: Setting) -> Limit | None:
        if not setting.present or not setting.seconds:  # absent on this version, or 0 (off)
            return None
        return cls(setting.name, setting.seconds, setting.value or "", setting.source)

    def text(self) -> str:
        return f"{self.name} = {self.value} ({self.source})"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "seconds": self.seconds, "value": self.value, "source": self.source}


@dataclass(frozen=True)
class Holder:
    """A session idle inside an open transaction."""

    pid: int
    idle_seconds: float
    transaction_seconds: float | None
    statement: str | None
    ended: bool = False  # its transaction (or session) ended before the window did

    def to_json(self) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "ended": self.ended,
            "idle_seconds": round(self.idle_seconds, 1),
            "transaction_seconds": None if self.transaction_seconds is None else round(self.transaction_seconds, 1),
            "statement": self.statement,
        }


@dataclass(frozen=True)
class Forecast:
    """`at_risk` of the group's `of` sessions in `state` reach `limit` within `within` seconds if they stay so."""

    key: GroupKey
    limit: Limit
    state: str
    at_risk: int
    of: int
    within: float
    at: float  # seconds into the window when it was made

    def text(self) -> str:
        noun = "idle connections" if self.state == IDLE else "sessions idle in a transaction"
        if self.limit.name == "transaction_timeout":
            noun = "open transactions"
        return (
            f"{self.at_risk} of role {self.key.user}'s {self.of} {noun} ({self.key.application or 'no app name'}) "
            f"will be closed by {self.limit.text()} within {self.within:.0f} s"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            **self.key.to_json(),
            "limit": self.limit.to_json(),
            "state": self.state,
            "at_risk": self.at_risk,
            "of": self.of,
            "within_seconds": round(self.within, 1),
            "at_seconds": round(self.at, 1),
            "text": self.text(),
        }


@dataclass(frozen=True)
class Death:
    """A session that vanished between two samples, and the limit that fits how long it had been idle."""

    pid: int
    key: GroupKey
    state: str  # at its last sighting
    age_seen: float  # idle (or idle in transaction) age at its last sighting
    age_by: float  # the age it would have had at the first sample without it: it ended in between
    at: float  # seconds into the window of the first sample without it
    cause: Limit | None
    statement: str | None = None

    def text(self) -> str:
        what = f"pid {self.pid} ({self.key.user}@{self.key.database}, {self.key.application or 'no app name'})"
        when = f"{self.state} {self.age_seen:.1f}-{self.age_by:.1f} s"
        cause = f"by {self.cause.text()}" if self.cause else "by its client or an operator (no limit fits)"
        last = f"; last statement: {self.statement}" if self.statement else ""
        return f"{what} ended after {when}, {cause}{last}"

    def to_json(self) -> dict[str, Any]:
        return {
            "pid": self.pid,
            **self.key.to_json(),
            "state": self.state,
            "age_seen_seconds": round(self.age_seen, 1),
            "age_by_seconds": round(self.age_by, 1),
            "at_seconds": round(self.at, 1),
            "cause": self.cause.to_json() if self.cause else None,
            "statement": self.statement,
        }


@dataclass(frozen=True)
class Group:
    key: GroupKey
    by_state: dict[str, int]
    idle_now: float | None  # the longest idle age in the last sample
    idle_max: float | None  # the longest seen in the window
    holders: tuple[Holder, ...]
    limits: tuple[Limit, ...]
    forecasts: tuple[Forecast, ...]
    deaths: tuple[Death, ...]

    @property
    def sessions(self) -> int:
        return sum(self.by_state.values())

    def to_json(self) -> dict[str, Any]:
        return {
            **self.key.to_json(),
            "sessions": self.sessions,
            "by_state": dict(sorted(self.by_state.items())),
            "idle_seconds_now": None if self.idle_now is None else round(self.idle_now, 1),
            "idle_seconds_max": None if self.idle_max is None else round(self.idle_max, 1),
            "idle_in_transaction": [h.to_json() for h in self.holders],
            "limits": [limit.to_json() for limit in self.limits],
            "forecasts": [f.to_json() for f in self.forecasts],
            "deaths": [d.to_json() for d in self.deaths],
        }


@dataclass(frozen=True)
class ObserveReport:
    target: str
    version: str
    version_num: int
    connected_as: str
    sees_all: bool  # superuser, or pg_monitor / pg_read_all_stats
    seconds: float  # the window observed
    samples: int
    query_ms_median: float | None
    query_ms_max: float | None
    groups: tuple[Group, ...]
    session_counters: dict[str, dict[str, int]] | None  # database -> deltas; None before PostgreSQL 14
    limitations: tuple[str, ...] = ()
    pooler: dict[str, Any] | None = None
    final: bool = True  # False for the live table's snapshots
    notes: tuple[str, ...] = field(default=())

    @property
    def forecasts(self) -> list[Forecast]:
        return [f for g in self.groups for f in g.forecasts]

    @property
    def deaths(self) -> list[Death]:
        return [d for g in self.groups for d in g.deaths]

    @property
    def alarming(self) -> bool:
        """What exit code 1 means for observe: a forecast, or a death a limit explains, was seen. A session
        that ended with no limit to explain it (its client closed it) is reported, not counted."""
        return bool(self.forecasts or any(d.cause is not None for d in self.deaths))

    def counter_totals(self) -> dict[str, int] | None:
        if self.session_counters is None:
            return None
        names = ("sessions_fatal", "sessions_killed", "sessions_abandoned")
        return {name: sum(c[name] for c in self.session_counters.values()) for name in names}

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "target": self.target,
            "server": {"version": self.version, "version_num": self.version_num},
            "connected_as": self.connected_as,
            "sees_all_sessions": self.sees_all,
            "seconds": round(self.seconds, 1),
            "samples": self.samples,
            "sample_query_ms": {"median": self.query_ms_median, "max": self.query_ms_max},
            "groups": [g.to_json() for g in self.groups],
            "forecasts": [f.to_json() for f in self.forecasts],
            "deaths": [d.to_json() for d in self.deaths],
            "session_counters": (
                None
                if self.session_counters is None
                else {"total": self.counter_totals(), "by_database": self.session_counters}
            ),
            "pooler": self.pooler,
            "limitations": list(self.limitations),
        }
