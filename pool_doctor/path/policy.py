"""A pool's lifecycle, stack-neutral: what retires a connection, what a checkout notices, what bounds a hang.

Each stack (SQLAlchemy, asyncpg's pool, psycopg_pool, Django, PgBouncer's server pool) maps its own keys
to a PoolPolicy in one place; the judge reads only this.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Knob:
    """The stack's own key for one lever of the policy, and its value now (for evidence lines)."""

    key: str  # "pool_recycle", "max_inactive_connection_lifetime", "CONN_HEALTH_CHECKS"
    value: object

    def __str__(self) -> str:
        shown = str(self.value).lower() if isinstance(self.value, bool) else self.value
        return f"{self.key} = {shown}"


@dataclass(frozen=True)
class PoolPolicy:
    stack: str  # "sqlalchemy", "asyncpg", "psycopg_pool", "django", "pgbouncer"
    label: str  # "SQLAlchemy QueuePool", "PgBouncer's server pool"
    reuses: bool = True  # False: a new connection for every request (NullPool, CONN_MAX_AGE = 0)
    # Retired when older than max_age seconds since connect (checked at checkout or return: age >= idle time).
    max_age: float | None = None
    max_age_knob: Knob | None = None
    # Closed by a timer when idle longer than max_idle seconds; `spares` connections are kept regardless.
    max_idle: float | None = None
    max_idle_knob: Knob | None = None
    spares: int = 0
    # At checkout: notices a connection the peer closed (the event loop read the FIN), without a round trip.
    notices_close: bool = False
    # At checkout: a round trip tests the connection, and a failed one is replaced.
    ping: bool = False
    ping_knob: Knob | None = None
    # Seconds after which a hung ping or query fails instead of waiting for TCP (~15 min); None: unbounded.
    hang_bound: float | None = None
    hang_knob: Knob | None = None
    # Seconds of silence before this connection's first TCP keepalive (client or server side); None: OS default.
    keepalive_idle: float | None = None
    keepalive_knob: Knob | None = None
    # False when a ping that times out is raised to the request instead of replacing the connection
    # (SQLAlchemy over asyncpg: command_timeout's TimeoutError is not a disconnect to the dialect).
    bounded_ping_replaces: bool = True
    # False when a ping that meets a reset raises it to the request instead of replacing the connection
    # (SQLAlchemy over pg8000: pg8000 lets the ConnectionResetError through unwrapped, so no disconnect is seen).
    ping_replaces_reset: bool = True
    # True when the pool opens connections without bound under load (SQLAlchemy's max_overflow = -1).
    unbounded: bool = False
    size_knob: Knob | None = None
    # The stack's own key for each lever, set or not: "max_age", "max_idle", "ping", "hang", "keepalive".
    levers: tuple[tuple[str, str], ...] = ()

    def lever(self, name: str) -> str | None:
        return dict(self.levers).get(name)

    @property
    def retires_by_idle(self) -> float | None:
        """The idle timer, when it retires every connection (none kept as spares)."""
        return self.max_idle if self.max_idle is not None and self.spares == 0 else None

    def knobs(self) -> list[Knob]:
        return [k for k in (self.max_age_knob, self.max_idle_knob, self.ping_knob, self.hang_knob) if k is not None]
