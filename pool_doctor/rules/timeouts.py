"""What bounds a pooled connection's life and its queries: the pool's own lifetime, liveness check and hang
bound (pool scope), and what the server's sessions show now (server scope). The server's limits on held
transactions and statements are in held.py."""

from __future__ import annotations

from pool_doctor.durations import format_seconds
from pool_doctor.model import Finding, Severity
from pool_doctor.path.judge import margin
from pool_doctor.rules import codes
from pool_doctor.rules.facts import Facts, idle_limits

CHURN_FLOOR = 30  # seconds; below this a pool reconnects so often that connection setup shows in latency


def _knob_lines(facts: Facts) -> list[str]:
    return [str(knob) for knob in facts.app_policy.knobs()] or [facts.app_policy.label]


def recycle_churn(facts: Facts) -> list[Finding]:
    policy = facts.app_policy
    if policy.max_age is None or policy.max_age >= CHURN_FLOOR or not policy.reuses:
        return []
    recycle = f"{policy.max_age:g}"
    key = policy.lever("max_age") or "max_age"
    forced_by = [limit for limit in idle_limits(facts) if limit.seconds - margin(limit.seconds) < CHURN_FLOOR]
    if forced_by:
        return [
            Finding(
                codes.RECYCLE_CHURN.code,
                Severity.INFO,
                f"{key} {recycle}s reconnects often, as the {forced_by[0].layer.value} limit forces",
                f"{forced_by[0].what} leaves no room for a longer lifetime; each connection is reopened every "
                f"{recycle}s. Raising that limit would cut the reconnects.",
                [f"{key} = {recycle}", forced_by[0].what],
            )
        ]
    return [
        Finding(
            codes.RECYCLE_CHURN.code,
            Severity.WARNING,
            f"{key} {recycle}s is below {CHURN_FLOOR}s: the pool reconnects constantly",
            f"Every checkout of a connection older than {key} opens a new one (TCP, TLS, authentication), "
            "adding latency and server load. Nothing known on the path needs so short a lifetime.",
            [f"{key} = {recycle}"],
        )
    ]


def no_liveness(facts: Facts) -> list[Finding]:
    """No limit known on the path: nothing tells how long idle connections live, so say what checks them.

    With the server read, a quiet server leaves only what cannot be seen from it (info); without it (the
    scan) nothing at all is known, and a pool that neither checks nor retires its connections is a warning.
    """
    policy = facts.app_policy
    if not policy.reuses or policy.ping or policy.notices_close or idle_limits(facts):
        return []  # the known limits have their own findings, through the judge
    keys = tuple(key for lever in ("ping", "max_age") if (key := policy.lever(lever)))
    unseen = facts.server is None and policy.max_age is None and policy.retires_by_idle is None
    pooler = facts.pooler
    if pooler is not None and pooler.client_limit_unknown and facts.server is not None:
        return [
            Finding(
                codes.NO_LIVENESS_CHECK.code,
                Severity.WARNING,
                codes.NO_LIVENESS_CHECK.summary,
                f"The app's connections end at {pooler.label}, whose client_idle_timeout could not be read: "
                "a pooler closes a client connection idle that long (PgBouncer's default is 0, off; managed "
                "poolers often set one), and this pool hands the closed connection to the next request "
                "('connection is closed'). Test connections at checkout, or give the pooler's value as "
                "[pooler] client_idle_timeout (or let check read the console with --pgbouncer-admin-url)."
                + (f" {policy.label} has no check of its own: test a connection before use." if not keys else ""),
                [*_knob_lines(facts), "unseen: the pooler's client_idle_timeout"],
                keys,
            )
        ]
    no_lever = "" if policy.lever("ping") else f" {policy.label} has no check of its own: test a connection before use."
    known = (
        "A connection that idled in the pool is handed out untested and never retired, and nothing is known yet of "
        "the limits on its path: `pool-doctor check` reads the server, and raises this when a limit exists."
        if unseen
        else "No idle limit is known on this path, but a restart, failover or an unseen middlebox that closes idle "
        "connections surfaces as one failed request per pooled connection."
    )
    return [
        Finding(
            codes.NO_LIVENESS_CHECK.code,
            Severity.WARNING if unseen else Severity.INFO,
            codes.NO_LIVENESS_CHECK.summary,
            f"{known} A ping at checkout costs one round trip; a lifetime bounds what an unseen limit can do."
            + no_lever,
            _knob_lines(facts),
            keys,
        )
    ]


def no_hang_bound(facts: Facts) -> list[Finding]:
    policy = facts.app_policy
    key = policy.lever("hang")
    if policy.hang_bound is not None or key is None:
        return []
    return [
        Finding(
            codes.NO_HANG_BOUND.code,
            Severity.INFO,
            codes.NO_HANG_BOUND.summary,
            "A middlebox that drops packets without a reset (Azure's load balancer by default, AWS Network "
            "Firewall) makes a query, or a pre-ping, wait until TCP gives up: about 15 minutes on Linux. "
            f"{key} fails it in seconds instead.",
            [f"{key} not set"],
            (key,),
        )
    ]


def unbounded(facts: Facts) -> list[Finding]:
    policy = facts.app_policy
    if not policy.unbounded:
        return []
    return [
        Finding(
            codes.UNBOUNDED_OVERFLOW.code,
            Severity.WARNING,
            codes.UNBOUNDED_OVERFLOW.summary,
            "Under load the pool opens connections without limit and can exhaust max_connections or a pooler's "
            "client limit. Give it a number.",
            [str(policy.size_knob)] if policy.size_knob else [],
            (policy.size_knob.key,) if policy.size_knob else (),
        )
    ]


def idle_in_transaction_now(facts: Facts) -> list[Finding]:
    server = facts.read_server
    count = server.activity.role_idle_in_transaction
    if not count:
        return []
    return [
        Finding(
            codes.SESSIONS_IDLE_IN_TRANSACTION.code,
            Severity.WARNING,
            f"{count} session(s) of role {server.role} are idle in a transaction now",
            "They hold locks and snapshots while doing nothing; an app that leaves transactions open between "
            "requests loses them to idle_in_transaction_session_timeout or blocks vacuum.",
            [f"pg_stat_activity: {count} idle in transaction"],
        )
    ]


def observed_idle(facts: Facts) -> list[Finding]:
    server = facts.read_server
    activity = server.activity
    if activity.role_oldest_idle_seconds is None:
        return []
    return [
        Finding(
            codes.OBSERVED_IDLE.code,
            Severity.INFO,
            f"Role {server.role}'s connections sit idle up to {format_seconds(round(activity.role_oldest_idle_seconds))}",
            "The longest a live connection of the app's role has been idle right now: the idle time a limit on "
            "the path has to tolerate, or the pool has to recycle before.",
            [f"{activity.role_connections} connection(s) of {server.role} open now"],
        )
    ]
