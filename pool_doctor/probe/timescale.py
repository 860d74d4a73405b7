"""Time scaling: a scenario's limit runs in seconds, and the app's own timings shrink by the same factor.

Each scenario maps its killer (the limit it reproduces) to SCALED_KILLER seconds and divides the config's
timings by the same factor, so the shape holds: pool_recycle 1800 s against an idle limit of 300 s becomes
9 s against 1.5 s. What scales is the stack's (Stack.time_keys, Stack.probe_scaled) and the driver's
(Driver.probe_scaled_args: asyncpg's command_timeout, libpq's tcp_user_timeout); when the pool retires a
connection comes from the policy the stack reads from the scaled values.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pool_doctor.connection.drivers import Driver
    from pool_doctor.path.policy import PoolPolicy
    from pool_doctor.probe.engines import ProbeConfig

SCALED_KILLER = 1.5  # seconds: long enough to tell from jitter, short enough to wait for twice per scenario
ASSUMED_IDLE_LIMIT = 300.0  # seconds, when nothing on the path is known to close idle connections
PAST_KILLER = 0.5  # seconds the probe idles past the scaled killer, at most
MIN_DETECT = 0.5  # seconds: scaled command/user timeouts never go below this (nor below 20 round trips)
MIN_HANG_BOUND = 2.5  # seconds an attempt may take before the probe calls it a hang (loopback answers in ms)


@dataclass(frozen=True)
class Killer:
    """What a scenario reproduces, in real seconds."""

    seconds: float
    what: str
    assumed: bool = False


@dataclass(frozen=True)
class TimeScale:
    killer: Killer

    @property
    def factor(self) -> float:
        """Real seconds per probe second (never below 1: a killer already short is used as is)."""
        return max(1.0, self.killer.seconds / SCALED_KILLER)

    @property
    def scaled_killer(self) -> float:
        return self.killer.seconds / self.factor

    def down(self, seconds: float) -> float:
        return seconds / self.factor

    def apply(self, config: ProbeConfig, driver: Driver, detect_floor: float) -> tuple[ProbeConfig, dict[str, Any]]:
        """The config with its timings divided by the factor (the driver's hang bound never below
        `detect_floor`) and the policy the stack reads from them; and what was scaled, for the report."""
        shown: dict[str, Any] = {
            "factor": round(self.factor, 2),
            "killer_seconds": self.killer.seconds,
            "killer_scaled": round(self.scaled_killer, 3),
            "killer": self.killer.what,
            "killer_assumed": self.killer.assumed,
            # The report has named SQLAlchemy's pool_recycle for every stack (-1: nothing recycled); the
            # stack that has it says its scaled value below, in this place.
            "pool_recycle": -1,
        }
        args, by_driver = driver.probe_scaled_args(config.driver_args, lambda s: max(detect_floor, self.down(s)))
        values, by_stack = config.stack.probe_scaled(config.values, self.factor)
        shown.update(by_driver)
        shown.update(by_stack)
        policy = config.stack.probe_policy(values, args, driver)
        return replace(config, values=values, driver_args=args, policy=policy), shown

    def idle_for(self, scaled: ProbeConfig) -> float:
        return self.idle(retirement(scaled))

    def idle(self, scaled_recycle: float) -> float:
        """How long to leave the connection idle: just past the killer, and before a recycle that comes
        after it (a request between the two is exactly the one that dies)."""
        idle = self.scaled_killer + PAST_KILLER
        if scaled_recycle > self.scaled_killer:
            idle = min(idle, (self.scaled_killer + scaled_recycle) / 2)
        return idle


def _policy(config: ProbeConfig) -> PoolPolicy:
    if config.policy is None:
        raise ValueError(f"config {config.name!r} has no policy: scale it first (TimeScale.apply)")
    return config.policy


def retirement(config: ProbeConfig) -> float:
    """Seconds after which a (scaled) config's pool retires the warm connection by age or idle time (-1:
    never; 0: at every checkout), as the stack reads it from the policy of those values
    (Stack.probe_retirement)."""
    seconds = config.stack.probe_retirement(_policy(config))
    return seconds if seconds is not None and seconds >= 0 else -1


def detect_seconds(config: ProbeConfig, driver: Driver) -> float | None:
    """How long the driver waits on a silent peer before failing: asyncpg's command_timeout, libpq's
    tcp_user_timeout (milliseconds); None when nothing bounds it."""
    bound = driver.hang_bound(config.driver_args)
    return bound[0] if bound else None


def hang_bound(config: ProbeConfig, driver: Driver, idle: float) -> float:
    """How long an attempt may take before the probe calls it a hang: room for the config's own (scaled)
    timeouts to fire twice, and for what the pool itself takes after a connection died (Stack.probe_slack:
    SQLAlchemy's adapter closing a recycled dead connection gracefully, psycopg_pool's getconn back-off)."""
    detect = detect_seconds(config, driver) or 0.0
    slack = config.stack.probe_slack(config.values, _policy(config), driver, idle)
    return max(MIN_HANG_BOUND, 1.0 + slack + 2 * detect)


def keepalive_note(config: ProbeConfig, driver: Driver) -> str | None:
    found = driver.keepalive_idle(config.driver_args)
    if found is None:
        return None
    idle = found[0]
    return (
        f"TCP keepalives (first after {idle:g}s) are not modelled: they are kernel packets the loopback proxy "
        "cannot see; on a real path, keepalives more frequent than the middlebox's idle timeout keep the flow alive."
    )
