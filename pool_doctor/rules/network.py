"""A middlebox's idle timeout (`[network] idle_timeout`) against the pool and the server's keepalives."""

from __future__ import annotations

from pool_doctor.durations import format_seconds
from pool_doctor.model import Finding, Severity
from pool_doctor.path.judge import LINUX_KEEPALIVE_IDLE
from pool_doctor.rules.facts import Facts


def check(facts: Facts) -> list[Finding]:
    idle_timeout = facts.settings.network.idle_timeout
    if not idle_timeout:
        return []
    return _keepalives(facts, idle_timeout)


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
    client = facts.driver.keepalive_idle(dict(facts.target.connect_args))
    if client is not None and client[0] < idle_timeout:
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
            tuple(key for key in (facts.app_policy.lever("keepalive"),) if key),
        )
    ]
