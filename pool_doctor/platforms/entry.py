"""A catalogue entry: one managed service or middlebox, its documented limits, its pooler and its advice.

Plain frozen data with no I/O; platforms/catalogue.py builds these from catalogue.toml.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Literal

from pool_doctor.path.model import Layer, Limit, Provenance, Shape

__all__ = ["Entry", "EntryKind", "Number", "Pooler"]


class EntryKind(str, Enum):
    MIDDLEBOX = "middlebox"  # sits on the network path: NAT, load balancer, firewall, conntrack
    PLATFORM = "platform"  # the database service itself, or its pooler


def documented(name: str, seconds: float) -> str:
    """A vendor's number as its documentation writes it, its unit said once: `1800s`, not `30min`; for a
    setting counted in minutes (Azure's idleTimeoutInMinutes), `4 min`, not `240s`."""
    if name.endswith("Minutes"):
        return f"{seconds / 60:g} min"
    return f"{seconds:g}s"


@dataclass(frozen=True)
class Number:
    """One documented limit, or the documented absence of one (`seconds is None`)."""

    name: str  # the vendor's own name for it: "IdleClientTimeout", "tcp.idle_timeout.seconds"
    seconds: float | None  # the default; None: the vendor publishes no number (see `note`)
    shape: Shape  # how the connection ends when it fires, as the client sees it
    label: str  # what the source calls it, for "documented by <vendor> (<label>)"
    reference: str  # the public page: document name and URL
    layer: Layer = Layer.NETWORK
    # True for kernel/NAT-style flow timers that any packet (a TCP keepalive too) refreshes; False for
    # proxies, poolers and servers that count application idleness.
    refreshed_by_keepalives: bool = False
    kind: Literal["idle", "lifetime"] = "idle"
    configurable: str | None = None  # the documented range, if the user can change it: "60-6000 s"
    note: str | None = None  # what else the source says; required when seconds is None
    verified: bool = False  # True: read on the vendor's own page while writing the catalogue


@dataclass(frozen=True)
class Pooler:
    """What a platform's pooler does to the sessions behind it."""

    software: str  # "PgBouncer", "Supavisor", "RDS Proxy"
    mode: Literal["session", "transaction"] | None  # None: the user chooses (say so in `note`)
    # Named (protocol-level) prepared statements survive? None: not published.
    prepared_statements: bool | None
    settings: tuple[tuple[str, str], ...] = ()  # documented settings as the vendor names them
    note: str | None = None


@dataclass(frozen=True)
class Entry:
    key: str  # "aws-nat", "supavisor-transaction": what --platform / [network] middlebox take
    vendor: str  # "AWS": reads as "documented by AWS"
    name: str  # "AWS NAT gateway": the holder of its limits
    kind: EntryKind
    numbers: tuple[Number, ...]
    recognised_by: str  # the host/port shapes `recognise` knows, or why there are none
    pooler: Pooler | None = None
    advice: tuple[str, ...] = ()
    # How the service moves its endpoint to a new primary (Multi-AZ failover, an HA standby promoted): the
    # old primary's sessions may stay open read-only; None: no failover documented for this endpoint.
    fails_over: str | None = None

    def limits(self) -> list[Limit]:
        """The entry's documented limits as path limits (numbers the vendor does not publish are left out)."""
        return [
            Limit(
                name=number.name,
                seconds=number.seconds,
                shape=number.shape,
                layer=number.layer,
                holder=self.name,
                source=f"documented by {self.vendor} ({number.label})",
                provenance=Provenance.DOCUMENTED,
                kind=number.kind,
                refreshed_by_keepalives=number.refreshed_by_keepalives,
                value=documented(number.name, number.seconds),
                advice=self.advice,
            )
            for number in self.numbers
            if number.seconds is not None
        ]

    def unpublished(self) -> list[Number]:
        """The limits this vendor is known not to publish a number for (each with its note)."""
        return [number for number in self.numbers if number.seconds is None]

    def to_json(self) -> dict[str, object]:
        return {
            "key": self.key,
            "vendor": self.vendor,
            "name": self.name,
            "kind": self.kind.value,
            "limits": [limit.to_json() for limit in self.limits()],
            "unpublished": [{"name": n.name, "note": n.note, "reference": n.reference} for n in self.unpublished()],
            "pooler": None
            if self.pooler is None
            else {
                "software": self.pooler.software,
                "mode": self.pooler.mode,
                "prepared_statements": self.pooler.prepared_statements,
                "settings": dict(self.pooler.settings),
                "note": self.pooler.note,
            },
            "advice": list(self.advice),
            "fails_over": self.fails_over,
            "recognised_by": self.recognised_by,
        }
