"""The fault proxy's vocabulary: its modes, its counters, its argument checks and how its messages show values."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, get_args

from pool_doctor.errors import UsageError

__all__ = ["MODES", "EventHandler", "Mode", "ProxyStats", "check_mode", "check_seconds", "fmt_addr", "fmt_secs"]

Mode = Literal["reset", "blackhole", "close", "pass"]
MODES: tuple[Mode, ...] = get_args(Mode)

EventHandler = Callable[[str], None]


@dataclass
class ProxyStats:
    """Counters for reporting; ``reset`` and ``blackholed`` count flows hit by a fault, not packets."""

    accepted: int = 0
    active: int = 0
    reset: int = 0  # flows RST because they idled past the timeout or by reset_now()
    blackholed: int = 0  # flows that started discarding (idle expiry or blackhole_now())
    closed: int = 0  # flows closed politely at their idle timeout, as a pooler's client_idle_timeout does
    connect_failed: int = 0  # flows RST because the upstream could not be reached
    lifetime_closed: int = 0  # flows RST because they reached max_flow_lifetime
    user_timeout: int = 0  # blackholed flows RST by the emulated client TCP_USER_TIMEOUT
    bytes_forwarded: int = 0
    bytes_dropped: int = 0


def check_mode(mode: str) -> Mode:
    if mode not in MODES:
        raise UsageError(f"unknown fault mode {mode!r}; expected one of {', '.join(MODES)}")
    return mode


def check_seconds(name: str, value: float | None) -> float | None:
    if value is not None and not value > 0:
        raise UsageError(f"{name} must be a positive number of seconds, got {value!r}")
    return value


def fmt_secs(seconds: float) -> str:
    # Time-scaled scenarios use 1-3 s timeouts, where one decimal hides the difference that matters.
    return f"{seconds:.1f}" if seconds >= 10 else f"{seconds:.2f}"


def fmt_addr(addr: object) -> str:
    if isinstance(addr, tuple) and len(addr) >= 2:
        host = str(addr[0])
        return f"[{host}]:{addr[1]}" if ":" in host else f"{host}:{addr[1]}"
    return str(addr)
