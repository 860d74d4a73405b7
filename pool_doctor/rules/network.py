"""A middlebox's idle timeout (`[network] idle_timeout`) against the pool and the server's keepalives."""

from __future__ import annotations

from pool_doctor.durations import format_seconds
from pool_doctor.model import Finding, Severity
from pool_doctor.path.judge import LINUX_KEEPALIVE_IDLE
from pool_doctor.rules import codes
from pool_doctor.rules.facts import Facts


def unix_socket(facts: Facts) -> list[Finding]:
    """Over a unix socket the server's keepalive settings read 0: they cannot be judged."""
    server = facts.server
    if not facts.settings.network.idle_timeout or server is None or server.transport != "unix":
        return []
    setting = server.setting("tcp_keepalives_idle")
    if not setting.present:
        return []
    return [
        Finding(
            codes.KEEPALIVES_UNKNOWN.code,
            Severity.INFO,
            "Server TCP keepalives cannot be read over a unix socket",
            "tcp_keepalives_idle reads 0 on a unix-socket session; connect over TCP to judge it against the "
            "network's idle timeout.",
            [setting.describe()],
        )
    ]


def too_slow(facts: Facts) -> list[Finding]:
    """The first keepalive, the app's driver's or the server's, against the middlebox's idle timeout."""
    idle_timeout = facts.settings.network.idle_timeout
    server = facts.server
    if not idle_timeout or server is None or server.transport == "unix":
        return []
    setting = server.setting("tcp_keepalives_idle")
    if not setting.present:
        return []
    client = facts.driver.keepalive_idle(dict(facts.target.connect_args))
    if client is not None and client[0] < idle_timeout:
        return []  # the app's driver asks for keepalives soon enough, whatever the server default
    effective = setting.seconds if setting.seconds else LINUX_KEEPALIVE_IDLE
    if effective < idle_timeout:
        return []
    shown = "0 (the OS default, 7200s on Linux)" if not setting.seconds else setting.display
    lever = facts.app_policy.lever("keepalive")  # the driver's own way: libpq's, or the server asked at startup
    own = f", or the app's {lever}" if lever else ""
    return [
        Finding(
            codes.KEEPALIVES_TOO_SLOW.code,
            Severity.WARNING,
            f"The server's first TCP keepalive ({format_seconds(effective)}) comes after the middlebox forgets the flow",
            f"tcp_keepalives_idle = {shown}: the server stays silent on an idle connection longer than the "
            f"{format_seconds(idle_timeout)} the middlebox remembers it, so keepalives cannot keep the flow alive. "
            f"Set tcp_keepalives_idle (server, per role{own}) below it.",
            [setting.describe(), f"network idle_timeout = {format_seconds(idle_timeout)}"],
            tuple(key for key in (lever,) if key),
        )
    ]
