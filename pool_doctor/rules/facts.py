"""What the rules look at: the server's facts, the app's settings, the target, and any pooler."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pool_doctor.durations import format_seconds
from pool_doctor.model import ServerFacts

if TYPE_CHECKING:
    from pool_doctor.config import Settings
    from pool_doctor.pooler import PoolerFacts
    from pool_doctor.target import Target


@dataclass(frozen=True)
class Facts:
    server: ServerFacts
    settings: Settings
    target: Target
    pooler: PoolerFacts | None = None


@dataclass(frozen=True)
class IdleLimit:
    """Something on the path that closes a connection idle for `seconds`."""

    seconds: float
    layer: str  # "server", "network" or "pooler"
    what: str  # names the setting, its value and where it was set

    def __str__(self) -> str:
        return self.what


def idle_limits(facts: Facts) -> list[IdleLimit]:
    """Every known idle limit on the path, smallest first."""
    limits: list[IdleLimit] = []
    idle = facts.server.setting("idle_session_timeout")
    if idle.is_on and idle.seconds:
        limits.append(IdleLimit(idle.seconds, "server", f"{idle.describe()} (as role {facts.server.role} sees it)"))
    network_idle = facts.settings.network.idle_timeout
    if network_idle:
        limits.append(IdleLimit(network_idle, "network", f"network idle_timeout = {format_seconds(network_idle)} ([network] config)"))
    if facts.pooler is not None:
        limits.extend(facts.pooler.idle_limits())
    return sorted(limits, key=lambda limit: limit.seconds)


def recycle_margin(limit_seconds: float) -> float:
    """How far below a limit pool_recycle must stay: 10 % of it, at least 1 s, at most 60 s.

    pool_recycle is only checked at checkout, and a request can hold a connection a while after it.
    """
    return min(max(limit_seconds * 0.1, 1.0), 60.0)
