"""A pooler on the path: its mode against the driver's prepared statements (pool scope), its limits against
every pool of the app together (app scope)."""

from __future__ import annotations

from pool_doctor.durations import format_seconds
from pool_doctor.model import Finding, Severity
from pool_doctor.rules import codes
from pool_doctor.rules.budget import budget
from pool_doctor.rules.facts import Facts
from pool_doctor.stacks import stack_of


def detected(facts: Facts) -> list[Finding]:
    pooler = facts.pooler
    if pooler is None or not pooler.present:
        return []
    return [
        Finding(
            codes.POOLER_DETECTED.code,
            Severity.INFO,
            f"Connections go through {pooler.label}",
            "The app's connections end at the pooler; server settings apply to the pooler's own server "
            "connections, and the pooler's limits apply to the app's.",
            list(pooler.evidence),
        )
    ]


def settings_unknown(facts: Facts) -> list[Finding]:
    pooler = facts.pooler
    if pooler is None or not pooler.present or not pooler.admin_error:
        return []
    return [
        Finding(
            codes.POOLER_SETTINGS_UNKNOWN.code,
            Severity.INFO,
            "The pooler's own limits could not be read",
            "Judged with what is known of it: the vendor's documentation where the platform is recognised, "
            "[pooler] in the config, else PgBouncer's defaults (client_idle_timeout = 0, off). Give a user "
            "listed in PgBouncer's admin_users or stats_users with --pgbouncer-admin-url "
            "postgresql://USER@HOST:PORT/pgbouncer, or the values as [pooler] client_idle_timeout and "
            "pool_mode, to judge client_idle_timeout, max_client_conn and pool sizes.",
            [pooler.admin_error, *(f"{key} = {value} ({pooler.source(key)})" for key, value in pooler.config.items())],
        )
    ]


def prepared_statements(facts: Facts) -> list[Finding]:
    """The app's driver's named prepared statements against a pooler that may run each transaction on another
    server connection. A pooler whose mode is not known (a pooler port seen in the code) is a warning."""
    pooler = facts.pooler
    if pooler is None or not pooler.present:
        return []
    if not (pooler.breaks_session_state or pooler.mode_unknown):
        return []
    driver, stack = facts.driver, stack_of(facts.settings.pool)
    args = dict(facts.target.connect_args)
    statements = driver.prepared_statements
    if statements is None or driver.statement_cache_off(args, stack.adapts_driver):
        return []
    protocol_support = pooler.number("max_prepared_statements")
    evidence = [*pooler.evidence[-1:], f"driver: {driver.name}, connect_args: {args or 'none given'}"]
    if not protocol_support and pooler.prepared_statements and pooler.documented_by:
        return [
            Finding(
                codes.POOLER_PREPARED_STATEMENTS_TRACKED.code,
                Severity.INFO,
                f"{pooler.product or 'The pooler'} keeps protocol-level prepared statements working "
                f"({pooler.documented_by})",
                f"{pooler.label}: its vendor documents that named (protocol-level) prepared statements survive "
                f"transaction pooling, so {driver.name}'s statement cache works; SQL-level PREPARE and session state "
                "(SET, LISTEN) still do not.",
                evidence,
            )
        ]
    if protocol_support:
        return [
            Finding(
                codes.POOLER_PREPARED_STATEMENTS_TRACKED.code,
                Severity.INFO,
                f"The pooler tracks prepared statements (max_prepared_statements = {protocol_support})",
                "PgBouncer 1.21+ re-prepares protocol-level statements on whichever backend runs them, so "
                f"{driver.name}'s statement cache works behind transaction pooling.",
                evidence,
            )
        ]
    fix = statements.keys + (statements.adapter_keys if stack.adapts_driver else ())
    keys = tuple(stack.args_prefix + key for key in fix)
    if pooler.mode_unknown:
        return [
            Finding(
                codes.POOLER_PREPARED_STATEMENTS.code,
                statements.unknown_mode_severity,
                f"{statements.title} if the pooler runs transaction pooling",
                f"The pooling mode is not known. In transaction mode: {statements.detail} Harmless in session mode.",
                evidence,
                keys,
            )
        ]
    return [
        Finding(
            codes.POOLER_PREPARED_STATEMENTS.code,
            Severity.CRITICAL,
            f"{statements.title} behind transaction pooling",
            statements.detail,
            evidence,
            keys,
        )
    ]


def server_slots(facts: Facts) -> list[Finding]:
    """The pooler's own pools at their size against the server's free slots."""
    pooler = facts.pooler
    if pooler is None or not pooler.present:
        return []
    size = pooler.number("default_pool_size")
    pairs = len({(p.get("database"), p.get("user")) for p in pooler.pools})
    if not size or not pairs:
        return []
    numbers = budget(facts)
    wanted = size * pairs
    if wanted <= numbers.usable + facts.read_server.activity.role_connections:
        return []
    return [
        Finding(
            codes.POOLER_SERVER_SLOTS.code,
            Severity.WARNING,
            f"PgBouncer may open {wanted} server connections; the server has about {numbers.usable} free",
            "When every pool fills, PgBouncer's server logins fail with 'too many connections' and clients "
            "wait (query_wait_timeout) instead.",
            [
                f"default_pool_size {size} x {pairs} database/user pair(s) in SHOW POOLS = {wanted}",
                f"server slots: {numbers.explain()}",
            ],
        )
    ]


def clients_waiting(facts: Facts) -> list[Finding]:
    pooler = facts.pooler
    if pooler is None or not pooler.present or not pooler.waiting_clients:
        return []
    return [
        Finding(
            codes.POOLER_CLIENTS_WAITING.code,
            Severity.WARNING,
            f"{pooler.waiting_clients} client(s) are waiting for a server connection right now",
            "The pooler's pools are full: checkouts in the app wait, then fail after query_wait_timeout.",
            [f"cl_waiting = {pooler.waiting_clients} (SHOW POOLS)"],
        )
    ]


def server_limits(facts: Facts) -> list[Finding]:
    pooler = facts.pooler
    if pooler is None or not pooler.present:
        return []
    parts = [
        f"{key} = {format_seconds(seconds)}"
        for key in ("server_idle_timeout", "server_lifetime", "query_wait_timeout")
        if (seconds := pooler.seconds(key))
    ]
    if not parts:
        return []
    return [
        Finding(
            codes.POOLER_SERVER_LIMITS.code,
            Severity.INFO,
            "PgBouncer recycles its own server connections",
            "server_idle_timeout and server_lifetime close PgBouncer's server connections, not the app's: the "
            "pooler hides that churn. query_wait_timeout bounds how long a client waits for a server connection.",
            parts,
        )
    ]
