"""A pooler on the path: its mode against the driver's prepared statements, its limits against the app's pool."""

from __future__ import annotations

from pool_doctor.durations import format_seconds
from pool_doctor.model import Finding, Severity
from pool_doctor.rules.budget import budget, over_caps
from pool_doctor.rules.facts import Facts

ASYNCPG_ERROR = 'prepared statement "__asyncpg_stmt_1__" already exists (or: ... does not exist)'
PSYCOPG_ERROR = 'prepared statement "_pg3_0" does not exist'


def check(facts: Facts) -> list[Finding]:
    if facts.pooler is None or not facts.pooler.present:
        return []
    return [*_about_pooler(facts), *_prepared_statements(facts), *_app_limits(facts)]


def check_pool(facts: Facts) -> list[Finding]:
    """What depends on one pool's driver arguments (each pool of an --app judged on its own)."""
    return _prepared_statements(facts) if facts.pooler is not None and facts.pooler.present else []


def check_app(facts: Facts) -> list[Finding]:
    """What holds for the app as a whole: the pooler itself, and every pool together against its limits."""
    if facts.pooler is None or not facts.pooler.present:
        return []
    return [*_about_pooler(facts), *_app_limits(facts)]


def _about_pooler(facts: Facts) -> list[Finding]:
    pooler = facts.pooler
    assert pooler is not None
    findings = [
        Finding(
            "pooler-detected",
            Severity.INFO,
            f"Connections go through {pooler.label}",
            "The app's connections end at the pooler; server settings apply to the pooler's own server "
            "connections, and the pooler's limits apply to the app's.",
            list(pooler.evidence),
        )
    ]
    if pooler.admin_error:
        findings.append(
            Finding(
                "pooler-settings-unknown",
                Severity.INFO,
                "The pooler's own limits could not be read",
                "Give a user listed in PgBouncer's admin_users or stats_users with --pgbouncer-admin-url "
                "postgresql://USER@HOST:PORT/pgbouncer to judge client_idle_timeout, max_client_conn and pool sizes.",
                [pooler.admin_error],
            )
        )
    return findings


def _app_limits(facts: Facts) -> list[Finding]:
    return [*_client_slots(facts), *_server_slots(facts), *_server_side_limits(facts)]


def _prepared_statements(facts: Facts) -> list[Finding]:
    pooler = facts.pooler
    assert pooler is not None
    if not pooler.breaks_session_state:
        return []
    driver = facts.driver.name
    args = dict(facts.target.connect_args)
    if facts.driver.statement_cache_off(args):
        return []
    protocol_support = pooler.number("max_prepared_statements")
    evidence = [*pooler.evidence[-1:], f"driver: {driver}, connect_args: {args or 'none given'}"]
    if not protocol_support and pooler.prepared_statements and pooler.documented_by:
        return [
            Finding(
                "pooler-prepared-statements-tracked",
                Severity.INFO,
                f"{pooler.product or 'The pooler'} keeps protocol-level prepared statements working "
                f"({pooler.documented_by})",
                f"{pooler.label}: its vendor documents that named (protocol-level) prepared statements survive "
                f"transaction pooling, so {driver}'s statement cache works; SQL-level PREPARE and session state "
                "(SET, LISTEN) still do not.",
                evidence,
            )
        ]
    if protocol_support:
        return [
            Finding(
                "pooler-prepared-statements-tracked",
                Severity.INFO,
                f"The pooler tracks prepared statements (max_prepared_statements = {protocol_support})",
                "PgBouncer 1.21+ re-prepares protocol-level statements on whichever backend runs them, so "
                f"{driver}'s statement cache works behind transaction pooling.",
                evidence,
            )
        ]
    if driver == "asyncpg":
        return [
            Finding(
                "pooler-prepared-statements",
                Severity.CRITICAL,
                "asyncpg's prepared statements will collide behind transaction pooling",
                "asyncpg names its prepared statements __asyncpg_stmt_N__ per client connection, and SQLAlchemy caches "
                "them per connection; under transaction pooling the next transaction runs on a backend that has "
                f"another client's statements, and the app gets: {ASYNCPG_ERROR}. Set connect_args "
                "statement_cache_size=0, prepared_statement_cache_size=0 and a unique prepared_statement_name_func "
                "(SQLAlchemy's asyncpg docs), or use session pooling.",
                evidence,
                (
                    "connect_args.statement_cache_size",
                    "connect_args.prepared_statement_cache_size",
                    "connect_args.prepared_statement_name_func",
                ),
            )
        ]
    return [
        Finding(
            "pooler-prepared-statements",
            Severity.CRITICAL,
            "psycopg's prepared statements will go missing behind transaction pooling",
            "psycopg prepares a query after prepare_threshold (5) executions on one connection; under transaction "
            f"pooling the next execution runs on another backend and the app gets: {PSYCOPG_ERROR}. Set "
            "connect_args prepare_threshold=None, or use session pooling.",
            evidence,
            ("connect_args.prepare_threshold",),
        )
    ]


def _client_slots(facts: Facts) -> list[Finding]:
    """The app's pools against max_client_conn: the budget rule's arithmetic, with the pooler's limit."""
    return over_caps(facts, prefix="pooler")


def _server_slots(facts: Facts) -> list[Finding]:
    pooler = facts.pooler
    assert pooler is not None
    size = pooler.number("default_pool_size")
    pairs = len({(p.get("database"), p.get("user")) for p in pooler.pools})
    if not size or not pairs:
        return []
    numbers = budget(facts)
    wanted = size * pairs
    evidence = [
        f"default_pool_size {size} x {pairs} database/user pair(s) in SHOW POOLS = {wanted}",
        f"server slots: {numbers.explain()}",
    ]
    findings: list[Finding] = []
    if wanted > numbers.usable + facts.server.activity.role_connections:
        findings.append(
            Finding(
                "pooler-server-slots",
                Severity.WARNING,
                f"PgBouncer may open {wanted} server connections; the server has about {numbers.usable} free",
                "When every pool fills, PgBouncer's server logins fail with 'too many connections' and clients "
                "wait (query_wait_timeout) instead.",
                evidence,
            )
        )
    if pooler.waiting_clients:
        findings.append(
            Finding(
                "pooler-clients-waiting",
                Severity.WARNING,
                f"{pooler.waiting_clients} client(s) are waiting for a server connection right now",
                "The pooler's pools are full: checkouts in the app wait, then fail after query_wait_timeout.",
                [f"cl_waiting = {pooler.waiting_clients} (SHOW POOLS)"],
            )
        )
    return findings


def _server_side_limits(facts: Facts) -> list[Finding]:
    pooler = facts.pooler
    assert pooler is not None
    parts = [
        f"{key} = {format_seconds(seconds)}"
        for key in ("server_idle_timeout", "server_lifetime", "query_wait_timeout")
        if (seconds := pooler.seconds(key))
    ]
    if not parts:
        return []
    return [
        Finding(
            "pooler-server-limits",
            Severity.INFO,
            "PgBouncer recycles its own server connections",
            "server_idle_timeout and server_lifetime close PgBouncer's server connections, not the app's: the "
            "pooler hides that churn. query_wait_timeout bounds how long a client waits for a server connection.",
            parts,
        )
    ]
