"""Server settings that close or cancel the app's connections, against the app's pool."""

from __future__ import annotations

from pool_doctor.durations import format_seconds
from pool_doctor.model import Finding, Severity
from pool_doctor.rules.facts import Facts, idle_limits, recycle_margin

CHURN_FLOOR = 30  # seconds; below this a pool reconnects so often that connection setup shows in latency


def check(facts: Facts) -> list[Finding]:
    return [
        *_idle_session(facts),
        *_in_transaction(facts),
        *_statement_level(facts),
        *_recycle_churn(facts),
        *_no_liveness(facts),
        *_observed(facts),
    ]


def _pool_line(facts: Facts) -> str:
    pool = facts.settings.pool
    return f"pool_recycle = {pool.pool_recycle}, pool_pre_ping = {str(pool.pool_pre_ping).lower()}"


def _idle_session(facts: Facts) -> list[Finding]:
    setting = facts.server.setting("idle_session_timeout")
    if not setting.is_on or not setting.seconds:
        return []
    pool = facts.settings.pool
    limit = setting.seconds
    recycle = pool.recycle
    evidence = [setting.describe(), f"role {facts.server.role}, database {facts.server.database}", _pool_line(facts)]
    if recycle is not None and recycle < limit:
        if recycle > limit - recycle_margin(limit) and not pool.pool_pre_ping:
            return [
                Finding(
                    "idle-session-timeout-tight",
                    Severity.WARNING,
                    f"pool_recycle {recycle}s is barely below idle_session_timeout {setting.display}",
                    "pool_recycle is only checked at checkout: a connection returned just before its recycle age "
                    "can idle past the server's limit. Leave a margin, or turn on pool_pre_ping.",
                    evidence,
                )
            ]
        return []
    if pool.pool_pre_ping:
        return [
            Finding(
                "idle-session-timeout-preping",
                Severity.INFO,
                f"idle_session_timeout {setting.display} kills idle pooled connections; pre-ping replaces them",
                f"Every connection idle over {setting.display} is closed by the server and reopened at the next "
                f"checkout (a ping plus a reconnect). Set pool_recycle below {format_seconds(limit)} to retire "
                "them before the server does.",
                evidence,
            )
        ]
    return [
        Finding(
            "idle-session-timeout",
            Severity.CRITICAL,
            f"The server kills connections of role {facts.server.role} idle for {setting.display}; the pool will hand them out dead",
            f"{setting.describe()}. The pool keeps connections idle for as long as traffic allows, and with "
            f"{_pool_line(facts)} nothing notices the server closed them: the next request fails with "
            "'connection is closed' / 'connection was closed in the middle of operation' (FATAL 57P05). "
            f"Turn on pool_pre_ping, and set pool_recycle below {format_seconds(limit)}.",
            evidence,
        )
    ]


def _in_transaction(facts: Facts) -> list[Finding]:
    findings = []
    for name, code, what in (
        ("idle_in_transaction_session_timeout", "idle-in-transaction-timeout", "idle inside an open transaction"),
        ("transaction_timeout", "transaction-timeout", "in one transaction"),
    ):
        setting = facts.server.setting(name)
        if setting.is_on:
            findings.append(
                Finding(
                    code,
                    Severity.WARNING,
                    f"{name} {setting.display}: a connection held across slow work is killed mid-use",
                    f"A request that keeps a transaction open {what} longer than {setting.display} loses its "
                    "connection (FATAL), and the next statement fails. pool_pre_ping cannot help: it only runs at "
                    "checkout. Keep transactions short, or hold no transaction across slow work.",
                    [setting.describe()],
                )
            )
    return findings


def _statement_level(facts: Facts) -> list[Finding]:
    findings = []
    for name in ("statement_timeout", "lock_timeout"):
        setting = facts.server.setting(name)
        if setting.is_on:
            findings.append(
                Finding(
                    name.replace("_", "-"),
                    Severity.INFO,
                    f"{name} {setting.display} cancels long statements; the connection survives",
                    "The statement fails with an ERROR and the pooled connection stays usable.",
                    [setting.describe()],
                )
            )
    return findings


def _recycle_churn(facts: Facts) -> list[Finding]:
    recycle = facts.settings.pool.recycle
    if recycle is None or recycle >= CHURN_FLOOR:
        return []
    forced_by = [limit for limit in idle_limits(facts) if limit.seconds - recycle_margin(limit.seconds) < CHURN_FLOOR]
    if forced_by:
        return [
            Finding(
                "recycle-churn",
                Severity.INFO,
                f"pool_recycle {recycle}s reconnects often, as the {forced_by[0].layer} limit forces",
                f"{forced_by[0].what} leaves no room for a longer lifetime; each connection is reopened every "
                f"{recycle}s. Raising that limit would cut the reconnects.",
                [f"pool_recycle = {recycle}", forced_by[0].what],
            )
        ]
    return [
        Finding(
            "recycle-churn",
            Severity.WARNING,
            f"pool_recycle {recycle}s is below {CHURN_FLOOR}s: the pool reconnects constantly",
            "Every checkout of a connection older than pool_recycle opens a new one (TCP, TLS, authentication), "
            "adding latency and server load. Nothing known on the path needs so short a lifetime.",
            [f"pool_recycle = {recycle}"],
        )
    ]


def _no_liveness(facts: Facts) -> list[Finding]:
    pool = facts.settings.pool
    if pool.pool_pre_ping or idle_limits(facts):
        return []  # the known limits have their own findings
    return [
        Finding(
            "no-pre-ping",
            Severity.INFO,
            "Nothing checks pooled connections at checkout",
            "With pool_pre_ping off, a restart, failover or network middlebox that closes idle connections "
            "surfaces as one failed request per pooled connection. pool_pre_ping costs one round trip per checkout.",
            [_pool_line(facts)],
        )
    ]


def _observed(facts: Facts) -> list[Finding]:
    activity = facts.server.activity
    findings = []
    if activity.role_idle_in_transaction:
        findings.append(
            Finding(
                "sessions-idle-in-transaction",
                Severity.WARNING,
                f"{activity.role_idle_in_transaction} session(s) of role {facts.server.role} are idle in a transaction now",
                "They hold locks and snapshots while doing nothing; an app that leaves transactions open between "
                "requests loses them to idle_in_transaction_session_timeout or blocks vacuum.",
                [f"pg_stat_activity: {activity.role_idle_in_transaction} idle in transaction"],
            )
        )
    if activity.role_oldest_idle_seconds is not None:
        findings.append(
            Finding(
                "observed-idle",
                Severity.INFO,
                f"Role {facts.server.role}'s connections sit idle up to {format_seconds(round(activity.role_oldest_idle_seconds))}",
                "The longest a live connection of the app's role has been idle right now: the idle time a limit on "
                "the path has to tolerate, or the pool has to recycle before.",
                [f"{activity.role_connections} connection(s) of {facts.server.role} open now"],
            )
        )
    return findings
