"""A middlebox's idle timeout (`[network] idle_timeout`) against the pool and the server's keepalives."""

from __future__ import annotations

from typing import Any

from pool_doctor.durations import format_seconds
from pool_doctor.model import Finding, Severity
from pool_doctor.rules.facts import Facts

LINUX_KEEPALIVE_IDLE = 7200  # seconds; tcp_keepalives_idle = 0 means the OS default (net.ipv4.tcp_keepalive_time)


def check(facts: Facts) -> list[Finding]:
    idle_timeout = facts.settings.network.idle_timeout
    if not idle_timeout:
        return []
    return [*_pool_against_middlebox(facts, idle_timeout), *_keepalives(facts, idle_timeout)]


def _pool_against_middlebox(facts: Facts, idle_timeout: float) -> list[Finding]:
    pool = facts.settings.pool
    shown = format_seconds(idle_timeout)
    evidence = [
        f"network idle_timeout = {shown} ([network] config)",
        f"pool_recycle = {pool.pool_recycle}, pool_pre_ping = {str(pool.pool_pre_ping).lower()}",
    ]
    if pool.recycle is not None and pool.recycle < idle_timeout:
        return []
    if not pool.pool_pre_ping:
        return [
            Finding(
                "network-idle-timeout",
                Severity.CRITICAL,
                f"A middlebox forgets flows idle for {shown}; the pool will hand out dead connections",
                f"After {shown} without traffic the NAT gateway or load balancer drops the flow: the next query on "
                "that pooled connection gets a reset ('connection was closed in the middle of operation') or hangs "
                f"until TCP gives up (~15 min) if packets are silently dropped. Set pool_recycle below {shown} "
                "and turn on pool_pre_ping.",
                evidence,
            )
        ]
    return [
        Finding(
            "network-idle-preping-only",
            Severity.WARNING,
            f"Only pre-ping stands between the pool and a middlebox that forgets flows after {shown}",
            "A reset flow is caught by the ping, but a middlebox that silently drops packets (Azure's default) makes "
            "the ping itself hang until TCP gives up, unless the driver has a command or TCP user timeout. "
            f"Set pool_recycle below {shown} so connections are retired before the middlebox forgets them.",
            evidence,
        )
    ]


def client_keepalive_idle(connect_args: dict[str, Any]) -> float | None:
    """Seconds before the first keepalive the app's connect_args ask for: psycopg's keepalives_idle, or
    asyncpg's server_settings.tcp_keepalives_idle (asyncpg has no client-side keepalive options)."""
    server_settings = connect_args.get("server_settings")
    candidates = [
        connect_args.get("keepalives_idle") if connect_args.get("keepalives", 1) not in (0, "0") else None,
        server_settings.get("tcp_keepalives_idle") if isinstance(server_settings, dict) else None,
    ]
    for value in candidates:
        try:
            seconds = float(value) if value is not None else 0.0
        except (TypeError, ValueError):
            continue
        if seconds > 0:
            return seconds
    return None


def _keepalives(facts: Facts, idle_timeout: float) -> list[Finding]:
    setting = facts.server.setting("tcp_keepalives_idle")
    if not setting.present:
        return []
    if facts.server.transport == "unix":
        return [
            Finding(
                "keepalives-unknown",
                Severity.INFO,
                "Server TCP keepalives cannot be read over a unix socket",
                "tcp_keepalives_idle reads 0 on a unix-socket session; connect over TCP to judge it against the "
                "network's idle timeout.",
                [setting.describe()],
            )
        ]
    client = client_keepalive_idle(facts.settings.connect_args)
    if client is not None and client < idle_timeout:
        return []  # the app's driver asks for keepalives soon enough, whatever the server default
    effective = setting.seconds if setting.seconds else LINUX_KEEPALIVE_IDLE
    if effective < idle_timeout:
        return []
    shown = "0 (the OS default, 7200s on Linux)" if not setting.seconds else setting.display
    return [
        Finding(
            "keepalives-too-slow",
            Severity.WARNING,
            f"The server's first TCP keepalive ({format_seconds(effective)}) comes after the middlebox forgets the flow",
            f"tcp_keepalives_idle = {shown}: the server stays silent on an idle connection longer than the "
            f"{format_seconds(idle_timeout)} the middlebox remembers it, so keepalives cannot keep the flow alive. "
            "Set tcp_keepalives_idle (server, per role, or in the driver's server_settings) below it.",
            [setting.describe(), f"network idle_timeout = {format_seconds(idle_timeout)}"],
        )
    ]
