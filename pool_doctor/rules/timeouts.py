"""Server settings that close or cancel the app's connections, against the app's pool."""

from __future__ import annotations

from pool_doctor.durations import format_seconds
from pool_doctor.model import Finding, Severity
from pool_doctor.path.judge import margin
from pool_doctor.rules.facts import Facts, idle_limits

CHURN_FLOOR = 30  # seconds; below this a pool reconnects so often that connection setup shows in latency


def check(facts: Facts) -> list[Finding]:
    return [
        *_in_transaction(facts),
        *_statement_level(facts),
        *_recycle_churn(facts),
        *_no_liveness(facts),
        *_no_hang_bound(facts),
        *_observed(facts),
    ]


def _pool_line(facts: Facts) -> str:
    return ", ".join(str(knob) for knob in facts.app_policy.knobs()) or facts.app_policy.label


def _in_transaction(facts: Facts) -> list[Finding]:
    findings = []
    for name, code, what in (
        ("idle_in_transaction_session_timeout", "idle-in-transaction-timeout", "leaves its transaction open and idle"),
        ("transaction_timeout", "transaction-timeout", "keeps one transaction open"),
    ):
        setting = facts.server.setting(name)
        if setting.is_on:
            findings.append(
                Finding(
                    code,
                    Severity.WARNING,
                    f"{name} {setting.display}: a connection held across slow work is killed mid-use",
                    f"A request that {what} longer than {setting.display} loses its "
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
    policy = facts.app_policy
    if policy.max_age is None or policy.max_age >= CHURN_FLOOR or not policy.reuses:
        return []
    recycle = f"{policy.max_age:g}"
    key = policy.lever("max_age") or "max_age"
    forced_by = [limit for limit in idle_limits(facts) if limit.seconds - margin(limit.seconds) < CHURN_FLOOR]
    if forced_by:
        return [
            Finding(
                "recycle-churn",
                Severity.INFO,
                f"{key} {recycle}s reconnects often, as the {forced_by[0].layer.value} limit forces",
                f"{forced_by[0].what} leaves no room for a longer lifetime; each connection is reopened every "
                f"{recycle}s. Raising that limit would cut the reconnects.",
                [f"{key} = {recycle}", forced_by[0].what],
            )
        ]
    return [
        Finding(
            "recycle-churn",
            Severity.WARNING,
            f"{key} {recycle}s is below {CHURN_FLOOR}s: the pool reconnects constantly",
            f"Every checkout of a connection older than {key} opens a new one (TCP, TLS, authentication), "
            "adding latency and server load. Nothing known on the path needs so short a lifetime.",
            [f"{key} = {recycle}"],
        )
    ]


def _no_liveness(facts: Facts) -> list[Finding]:
    """No limit known on the path: nothing tells how long idle connections live, so say what checks them."""
    policy = facts.app_policy
    if not policy.reuses or policy.ping or policy.notices_close or idle_limits(facts):
        return []  # the known limits have their own findings, through the judge
    keys = tuple(key for lever in ("ping", "max_age") if (key := policy.lever(lever)))
    return [
        Finding(
            "no-liveness-check",
            Severity.INFO,
            "Nothing checks pooled connections at checkout",
            "No idle limit is known on this path, but a restart, failover or an unseen middlebox that closes idle "
            "connections surfaces as one failed request per pooled connection. A ping at checkout costs one round "
            "trip; a lifetime bounds what an unseen limit can do.",
            [_pool_line(facts)],
            keys,
        )
    ]


def _no_hang_bound(facts: Facts) -> list[Finding]:
    policy = facts.app_policy
    key = policy.lever("hang")
    if policy.hang_bound is not None or key is None:
        return []
    return [
        Finding(
            "no-hang-bound",
            Severity.INFO,
            "Nothing bounds a query on a silently dropped connection",
            "A middlebox that drops packets without a reset (Azure's load balancer by default, AWS Network "
            "Firewall) makes a query, or a pre-ping, wait until TCP gives up: about 15 minutes on Linux. "
            f"{key} fails it in seconds instead.",
            [f"{key} not set"],
            (key,),
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
