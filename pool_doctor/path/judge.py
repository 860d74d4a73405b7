"""The one judge: will a pool's idle connections survive one limit on its hop? One margin policy for all."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

from pool_doctor.durations import format_seconds
from pool_doctor.model import Severity
from pool_doctor.path.model import Limit, Shape
from pool_doctor.path.policy import PoolPolicy

LINUX_KEEPALIVE_IDLE = 7200.0  # seconds; tcp_keepalives_idle = 0 means the OS default (net.ipv4.tcp_keepalive_time)


class Outcome(str, Enum):
    SURVIVES = "survives"  # retired (or kept alive) before the limit fires, or never idle that long
    AT_RISK = "at risk"  # retired before the limit, but with less than the margin to spare
    REPLACED = "replaced"  # dead at checkout, noticed and replaced: costs a reconnect (and maybe a wait)
    FAILS_BOUNDED = "fails after a bounded wait"  # one request per dead connection times out, then it is replaced
    FAILS = "fails"  # the request gets the driver's error
    HANGS = "hangs"  # the request waits until TCP gives up (~15 min on Linux)


SEVERITY = {
    Outcome.SURVIVES: None,
    Outcome.AT_RISK: Severity.WARNING,
    Outcome.REPLACED: Severity.INFO,
    Outcome.FAILS_BOUNDED: Severity.WARNING,
    Outcome.FAILS: Severity.CRITICAL,
    Outcome.HANGS: Severity.CRITICAL,
}


def margin(limit_seconds: float) -> float:
    """How far below a limit a pool must retire connections: 10 % of it, at least 1 s, at most 60 s.

    Age is checked only at checkout, and a request may hold a connection a while after it.
    """
    return min(max(limit_seconds * 0.1, 1.0), 60.0)


def retire_by(limit_seconds: float) -> int:
    """The longest whole-second lifetime that retires connections the judge's margin before a limit: what
    check says and recommend sets, one number (at least 1 s)."""
    return max(math.floor(limit_seconds - margin(limit_seconds)), 1)


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    limit: Limit
    policy: PoolPolicy
    reason: str  # one sentence: why this outcome
    cost: str | None = None  # for REPLACED: what a replacement costs the request

    @property
    def severity(self) -> Severity | None:
        if self.outcome is Outcome.REPLACED and self.cost_is_wait:
            return Severity.WARNING  # the request waits out the hang bound before its retry
        return SEVERITY[self.outcome]

    @property
    def cost_is_wait(self) -> bool:
        return self.outcome is Outcome.REPLACED and self.limit.shape is Shape.DROP


def judge(policy: PoolPolicy, limit: Limit) -> Verdict:
    """One pool against one limit on its hop."""

    def verdict(outcome: Outcome, reason: str, cost: str | None = None) -> Verdict:
        return Verdict(outcome, limit, policy, reason, cost)

    if not policy.reuses:
        return verdict(Outcome.SURVIVES, f"{policy.label} opens a new connection for every request")
    if limit.refreshed_by_keepalives:
        keepalive = policy.keepalive_idle or LINUX_KEEPALIVE_IDLE
        if keepalive <= limit.seconds - margin(limit.seconds):
            knob = f" ({policy.keepalive_knob})" if policy.keepalive_knob else ""
            return verdict(
                Outcome.SURVIVES,
                f"TCP keepalives every {format_seconds(keepalive)}{knob} keep the flow alive through {limit.holder}",
            )
    retire = retirement(policy, limit)
    noticed = _noticed_at_checkout(policy, limit)
    if retire is not None:
        seconds, how = retire
        if seconds <= limit.seconds - margin(limit.seconds):
            return verdict(Outcome.SURVIVES, f"{how} retires connections before {limit.name} ({limit.shown})")
        if seconds <= limit.seconds:
            # Idle time never exceeds age, so a lifetime below the limit holds; the margin covers a request
            # holding the connection past its checkout. A check at checkout covers that margin too. A timer
            # equal to the limit is a race between two clocks (psycopg_pool max_idle = 300 against Neon's
            # 300 s suspend): whichever fires first wins, so it is judged with the timers just below it.
            if noticed is not None and noticed.outcome is Outcome.REPLACED and seconds < limit.seconds:
                return verdict(
                    Outcome.SURVIVES,
                    f"{how} retires connections before {limit.name} ({limit.shown}), "
                    "and the check at checkout covers the last seconds",
                )
            if noticed is None or noticed.outcome is not Outcome.REPLACED:  # (pg8000's ping meets a reset: fails)
                close = (
                    f"is equal to {limit.name} ({limit.shown}): a race between two timers"
                    if seconds == limit.seconds
                    else f"is within {format_seconds(margin(limit.seconds))} of {limit.name} ({limit.shown})"
                )
                checked = "nothing tests" if noticed is None else "the check fails the request on"
                return verdict(Outcome.AT_RISK, f"{how} {close}, and {checked} a connection at checkout")
    if noticed is not None:
        return noticed
    if limit.shape is Shape.DROP and policy.hang_bound is not None:
        return verdict(
            Outcome.FAILS_BOUNDED,
            f"{policy.label} hands out a connection whose packets {limit.holder} drops; {policy.hang_knob} fails "
            "the request after its wait, and the connection is replaced for the next one",
        )
    if limit.shape is Shape.DROP:
        return verdict(
            Outcome.HANGS,
            f"{policy.label} hands out a connection whose packets {limit.holder} drops; nothing bounds the wait",
        )
    return verdict(
        Outcome.FAILS,
        f"{policy.label} hands out a connection {limit.holder} has ended, and "
        f"nothing at checkout notices ({_shape_words(limit.shape)})",
    )


def retirement(policy: PoolPolicy, limit: Limit) -> tuple[float, str] | None:
    """The soonest a pool retires every connection the limit would end, and what does it.

    Against a lifetime limit (age since connect: Fly's proxy restarts) only a maximum age helps: an idle
    timer retires idle connections, not old ones that keep being used.
    """
    candidates = []
    if policy.max_age is not None:
        candidates.append((policy.max_age, str(policy.max_age_knob or f"max age {policy.max_age:g}s")))
    idle = policy.retires_by_idle
    if idle is not None and limit.kind != "lifetime":
        candidates.append((idle, str(policy.max_idle_knob or f"max idle {idle:g}s")))
    return min(candidates, key=lambda pair: pair[0]) if candidates else None


def _noticed_at_checkout(policy: PoolPolicy, limit: Limit) -> Verdict | None:
    ping = str(policy.ping_knob) if policy.ping_knob else "a ping at checkout"
    if limit.shape is Shape.CLOSE and policy.notices_close and not policy.ping:
        return Verdict(
            Outcome.REPLACED,
            limit,
            policy,
            f"{policy.label} sees at checkout that {limit.holder} closed the connection, and replaces it",
            "a reconnect",
        )
    if policy.ping and limit.shape is Shape.RESET and not policy.ping_replaces_reset:
        return Verdict(
            Outcome.FAILS,
            limit,
            policy,
            f"{ping} meets the reset, which the driver raises unwrapped, so the request fails; the connection is "
            "replaced for the next one",
        )
    if policy.ping and limit.shape in (Shape.CLOSE, Shape.RESET):
        return Verdict(
            Outcome.REPLACED,
            limit,
            policy,
            f"{ping} finds the dead connection and replaces it",
            "one round trip per checkout, and a reconnect",
        )
    if policy.ping and limit.shape is Shape.DROP and policy.hang_bound is not None and not policy.bounded_ping_replaces:
        return Verdict(
            Outcome.FAILS_BOUNDED,
            limit,
            policy,
            f"{ping} hangs on the dropped flow until {policy.hang_knob} fails the request with a timeout; "
            "the connection is replaced for the next one",
        )
    if policy.ping and limit.shape is Shape.DROP and policy.hang_bound is not None:
        return Verdict(
            Outcome.REPLACED,
            limit,
            policy,
            f"{ping} hangs on the dropped flow until {policy.hang_knob} fails it, then replaces it",
            f"a {format_seconds(policy.hang_bound)} wait, then a reconnect",
        )
    return None


def _shape_words(shape: Shape) -> str:
    return {
        Shape.CLOSE: "the server-side close is only seen at the next use",
        Shape.RESET: "the next packet is answered with a reset",
        Shape.DROP: "packets are dropped silently",
    }[shape]
