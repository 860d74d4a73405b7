"""Limits on the path and the hops that hold them. Plain data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from pool_doctor.durations import format_seconds


class Shape(str, Enum):
    """How a connection ends when a limit fires, as the client sees it."""

    CLOSE = "close"  # the holder closes it and says so (FATAL, FIN): a reader of the socket notices at once
    RESET = "reset"  # the holder forgot the flow: the next packet is answered with RST, nothing before
    DROP = "drop"  # the holder forgot the flow and drops packets silently: the next use hangs until a timeout


class Provenance(str, Enum):
    """Where pool-doctor learned a limit."""

    SERVER = "server setting"  # read from the server (pg_settings, pg_db_role_setting)
    POOLER = "pooler setting"  # read from the pooler's console
    CONFIGURED = "configured"  # the user said so ([network] idle_timeout, --network-idle-timeout)
    DOCUMENTED = "documented"  # a vendor documents it (the platform catalogue)
    MEASURED = "measured"  # probe --discover-idle-timeout measured it


class Layer(str, Enum):
    SERVER = "server"
    POOLER = "pooler"
    NETWORK = "network"
    PLATFORM = "platform"


@dataclass(frozen=True)
class Limit:
    """Something on the path that ends a connection idle (or alive) for `seconds`."""

    name: str  # the setting's own name: idle_session_timeout, client_idle_timeout, idle_timeout
    seconds: float
    shape: Shape
    layer: Layer
    holder: str  # who enforces it: "PostgreSQL", "PgBouncer", "a middlebox", "AWS NAT gateway"
    source: str  # where it was set: "ALTER ROLE ALL SET", "SHOW CONFIG", "--network-idle-timeout", "AWS docs"
    provenance: Provenance
    kind: str = "idle"  # "idle": counts idle time; "lifetime": counts age since connect
    # A middlebox's flow timer is refreshed by TCP keepalives; a server's or pooler's idle timer is not.
    refreshed_by_keepalives: bool = False
    value: str | None = None  # as the holder shows it ("5min"); default: formatted seconds
    advice: tuple[str, ...] = ()  # what the holder's vendor advises about it (catalogue), said with a finding

    @property
    def shown(self) -> str:
        return self.value if self.value is not None else format_seconds(self.seconds)

    @property
    def what(self) -> str:
        """`idle_session_timeout = 5min, set by ALTER ROLE app`: names the setting, its value and its source."""
        if self.provenance is Provenance.DOCUMENTED:  # source reads "documented by AWS (...)"
            return f"{self.name} = {self.shown}, {self.source}"
        return f"{self.name} = {self.shown}, set by {self.source}"

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "seconds": self.seconds,
            "value": self.shown,
            "shape": self.shape.value,
            "kind": self.kind,
            "layer": self.layer.value,
            "holder": self.holder,
            "source": self.source,
            "provenance": self.provenance.value,
            "what": self.what,
        }


@dataclass(frozen=True)
class Hop:
    """One stop on the path: the app's pool, a middlebox, a pooler, a platform, the server."""

    kind: str  # "app", "middlebox", "pooler", "platform", "server"
    name: str  # "SQLAlchemy QueuePool", "PgBouncer 1.18.0 (transaction pooling)", "PostgreSQL 18.1"
    limits: tuple[Limit, ...] = ()
    evidence: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "name": self.name,
            "limits": [limit.to_json() for limit in self.limits],
            "evidence": list(self.evidence),
        }


@dataclass(frozen=True)
class Path:
    """The hops from the app to the server, and which pool faces which limit.

    `faced` pairs each limit with the pool that meets it: the app's pool, or, behind a transaction
    pooler, the pooler's own server pool for the server's limits.
    """

    hops: tuple[Hop, ...]
    faced: tuple[tuple[str, Limit], ...] = field(default=())  # (facing pool: "app" | "pooler", limit)

    def limits(self, facing: str | None = None) -> list[Limit]:
        """Every limit (or those one pool faces), smallest first."""
        found = [limit for pool, limit in self.faced if facing is None or pool == facing]
        return sorted(found, key=lambda limit: limit.seconds)

    def to_json(self) -> dict[str, object]:
        return {
            "hops": [hop.to_json() for hop in self.hops],
            "limits": [
                {**limit.to_json(), "faces": pool}
                for pool, limit in sorted(self.faced, key=lambda pair: pair[1].seconds)
            ],
        }
