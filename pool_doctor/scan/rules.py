"""Rules that need no server: what a scanned pool's own settings say about idle connections.

Pure functions `(ScannedPool) -> list[Finding]`. Severities stay modest (warning, info): without the
server's facts nothing is known to close idle connections; `check` raises them when a limit is known.
Every finding's first evidence line is the pool's `file:line`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from pool_doctor.model import Finding, Severity
from pool_doctor.scan.model import ScannedPool, ScannedValue

POOLER_PORTS = {6432: "PgBouncer's usual port", 6543: "Supabase's transaction pooler"}

# What each stack does when a key is not given (FIELD_NOTES section 3), for the evidence lines.
DEFAULTS: dict[str, dict[str, Any]] = {
    "sqlalchemy": {"pool_pre_ping": False, "pool_recycle": -1, "max_overflow": 10},
    "flask_sqlalchemy": {"pool_pre_ping": False, "pool_recycle": -1, "max_overflow": 10},
    "asyncpg": {"command_timeout": None, "statement_cache_size": 100},
    "django": {"CONN_MAX_AGE": 0, "CONN_HEALTH_CHECKS": False},
}
LIBPQ_BOUNDS = ("tcp_user_timeout", "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count")


@dataclass(frozen=True)
class Rule:
    code: str
    name: str  # SARIF rule name: PascalCase
    summary: str
    help: str


RULES: dict[str, Rule] = {
    rule.code: rule
    for rule in (
        Rule(
            "no-liveness-check",
            "NoLivenessCheck",
            "Engine has neither pool_pre_ping nor pool_recycle",
            "A connection that idled in the pool is handed out as it is. If anything on the path (idle_session_timeout, "
            "a NAT gateway, a load balancer, a pooler) closes idle connections, the next query on it fails. "
            "Set pool_pre_ping=True, and pool_recycle below the shortest idle limit on the path.",
        ),
        Rule(
            "unbounded-overflow",
            "UnboundedOverflow",
            "max_overflow=-1: the pool may open any number of connections",
            "Under load the pool opens connections without bound and can exhaust max_connections or a pooler's "
            "client limit. Give max_overflow a number.",
        ),
        Rule(
            "no-hang-bound",
            "NoHangBound",
            "Nothing bounds a query on a silently dropped connection",
            "When a middlebox drops packets instead of resetting (a blackhole), a query waits until TCP gives up, "
            "about 15 minutes on Linux. asyncpg: set command_timeout. libpq drivers (psycopg, psycopg2): set "
            "tcp_user_timeout and keepalives.",
        ),
        Rule(
            "pooler-statement-cache",
            "PoolerStatementCache",
            "Prepared statements through a transaction pooler",
            "The URL points at a pooler port. In transaction mode (PgBouncer before 1.21 or max_prepared_statements=0, "
            "Supavisor's 6543) named prepared statements break: 'prepared statement \"__asyncpg_stmt_N__\" does not "
            "exist'. asyncpg: statement_cache_size=0 (with SQLAlchemy also a unique prepared_statement_name_func); "
            "psycopg: prepare_threshold=None. Harmless in session mode.",
        ),
        Rule(
            "engine-at-import",
            "EngineAtImport",
            "Pool created when the module is imported",
            "A forking server that imports the app before forking (gunicorn --preload, Celery prefork, uWSGI without "
            "lazy-apps) shares the parent's connections with every child: 'decryption failed or bad record mac', "
            "crossed results. Create the pool after the fork, or dispose it in the child "
            "(SQLAlchemy: engine.dispose(close=False)).",
        ),
        Rule(
            "django-no-health-checks",
            "DjangoNoHealthChecks",
            "Persistent Django connections without CONN_HEALTH_CHECKS",
            "With CONN_MAX_AGE > 0 (or None) Django reuses a connection across requests without testing it, so a "
            "connection closed while idle fails the next request. Set CONN_HEALTH_CHECKS=True (Django 4.1+).",
        ),
        Rule(
            "psycopg-pool-no-check",
            "PsycopgPoolNoCheck",
            "psycopg_pool hands out connections unchecked",
            "Without check= a connection the server or the network closed while idle is handed out as it is. "
            "Pass check=ConnectionPool.check_connection (psycopg_pool 3.2+).",
        ),
        Rule(
            "psycopg2-pool-no-check",
            "Psycopg2PoolNoCheck",
            "psycopg2's pool never checks a connection",
            "psycopg2.pool returns whatever connection it holds; one closed while idle fails at its next use. "
            "Test it on checkout (SELECT 1), or use a pool that can (SQLAlchemy with pool_pre_ping, psycopg_pool).",
        ),
    )
}


def check(pool: ScannedPool) -> list[Finding]:
    return [
        *_no_liveness(pool),
        *_unbounded_overflow(pool),
        *_no_hung_query_bound(pool),
        *_pooler_statement_cache(pool),
        *_at_import(pool),
        *_django_health_checks(pool),
        *_psycopg_pool_check(pool),
        *_psycopg2_pool(pool),
    ]


def _finding(code: str, severity: Severity, pool: ScannedPool, detail: str, evidence: list[str]) -> Finding:
    rule = RULES[code]
    if pool.unresolved:
        evidence = [*evidence, f"not read: {', '.join(pool.unresolved)}"]
    return Finding(code, severity, rule.summary, detail, [pool.where, *evidence])


def describe(pool: ScannedPool, key: str) -> str:
    """`pool_recycle = 1800 (app/config.py:6, $POOL_RECYCLE)`, or `pool_recycle not set (default -1)`."""
    value = pool.get(key)
    if value is None:
        default = DEFAULTS.get(pool.stack, {}).get(key, "none")
        return f"{key} not set (default {_text(default)})"
    where = ", ".join(p for p in (value.from_, f"${value.env}" if value.env else None) if p)
    shown = _text(value.value) if value.known else f"unknown: {value.expr}"
    return f"{key} = {shown}" + (f" ({where})" if where else "")


def _text(value: Any) -> str:
    if value is True or value is False:
        return str(value).lower()
    return "None" if value is None else str(value)


def _known(pool: ScannedPool, key: str, default: Any = None) -> tuple[bool, Any]:
    """(known, value in effect); a key the code does not set has the library's default."""
    value = pool.get(key)
    if value is None:
        return True, default
    return value.known, value.value


def _severity(pool: ScannedPool, severity: Severity) -> Severity:
    # A `**x` the scan could not read may set the very key this rule misses: say so, softly.
    return Severity.INFO if pool.unresolved else severity


def _no_pool(pool: ScannedPool) -> bool:
    known, poolclass = _known(pool, "poolclass")
    return known and isinstance(poolclass, str) and poolclass.endswith("NullPool")


def _no_liveness(pool: ScannedPool) -> list[Finding]:
    if pool.stack not in ("sqlalchemy", "flask_sqlalchemy") or not is_postgres(pool) or _no_pool(pool):
        return []
    ping_known, ping = _known(pool, "pool_pre_ping", False)
    recycle_known, recycle = _known(pool, "pool_recycle", -1)
    if not (ping_known and recycle_known) or ping:
        return []
    if isinstance(recycle, (int, float)) and not isinstance(recycle, bool) and recycle > 0:
        return []
    return [
        _finding(
            "no-liveness-check",
            _severity(pool, Severity.WARNING),
            pool,
            "A connection that idled in the pool is handed out untested and never retired. Nothing is known yet to "
            "close idle connections: `pool-doctor check` reads the server and raises this when a limit exists.",
            [describe(pool, "pool_pre_ping"), describe(pool, "pool_recycle")],
        )
    ]


def _unbounded_overflow(pool: ScannedPool) -> list[Finding]:
    if pool.stack not in ("sqlalchemy", "flask_sqlalchemy"):
        return []
    known, overflow = _known(pool, "max_overflow", 10)
    if not known or overflow != -1:
        return []
    return [
        _finding(
            "unbounded-overflow",
            Severity.WARNING,
            pool,
            "max_overflow=-1 lets the pool open connections without limit under load.",
            [describe(pool, "max_overflow")],
        )
    ]


def _no_hung_query_bound(pool: ScannedPool) -> list[Finding]:
    driver = driver_of(pool)
    if driver == "asyncpg":
        key = "command_timeout" if pool.stack == "asyncpg" else "connect_args.command_timeout"
        known, timeout = _known(pool, key)
        if not known or timeout is not None:
            return []
        return [
            _finding(
                "no-hang-bound",
                _severity(pool, Severity.WARNING),
                pool,
                "asyncpg waits for an answer without limit: on a silently dropped connection a query "
                "hangs until TCP gives up (about 15 minutes). Set command_timeout.",
                [describe(pool, key)],
            )
        ]
    if driver in ("psycopg", "psycopg2"):
        if any(_mentions(pool, bound) for bound in LIBPQ_BOUNDS) or _any_unknown_connection_keys(pool):
            return []
        return [
            _finding(
                "no-hang-bound",
                Severity.INFO,
                pool,
                "Neither tcp_user_timeout nor TCP keepalives are set: on a silently dropped connection "
                "a query waits until TCP gives up (about 15 minutes on Linux).",
                ["tcp_user_timeout, keepalives not set"],
            )
        ]
    return []


def _pooler_statement_cache(pool: ScannedPool) -> list[Finding]:
    port = pooler_port(pool)
    if port is None:
        return []
    driver = driver_of(pool)
    evidence = [f"port {port}: {POOLER_PORTS[port]}"]
    if driver == "asyncpg":
        key = "statement_cache_size" if pool.stack == "asyncpg" else "connect_args.statement_cache_size"
        known, size = _known(pool, key, 100)
        if not known:
            return []
        missing = []
        if size != 0:
            missing.append(describe(pool, key))
        if (
            pool.stack != "asyncpg"
            and not _mentions(pool, "prepared_statement_name_func")
            and _url_query(pool).get("prepared_statement_cache_size") != "0"
        ):
            missing.append("prepared_statement_name_func not set")
        if not missing:
            return []
        return [
            _finding(
                "pooler-statement-cache",
                _severity(pool, Severity.WARNING),
                pool,
                "asyncpg prepares named statements; a transaction-mode pooler may run them on another "
                "server connection.",
                [*evidence, *missing],
            )
        ]
    if driver == "psycopg":
        for key in ("connect_args.prepare_threshold", "kwargs.prepare_threshold", "OPTIONS.prepare_threshold"):
            value = pool.get(key)
            if value is not None:
                if not value.known or value.value is None:
                    return []
                break
        return [
            _finding(
                "pooler-statement-cache",
                Severity.INFO,
                pool,
                "psycopg 3 prepares a statement after 5 executions; through a transaction-mode pooler "
                "that needs PgBouncer >= 1.22 with max_prepared_statements > 0 (and libpq >= 17).",
                [*evidence, "prepare_threshold not None (default 5)"],
            )
        ]
    return []


def _at_import(pool: ScannedPool) -> list[Finding]:
    if not pool.at_import or pool.stack not in ("sqlalchemy", "psycopg_pool", "psycopg2") or _no_pool(pool):
        return []
    return [
        _finding(
            "engine-at-import",
            Severity.INFO,
            pool,
            "Created at import time: under a forking server that imports before forking (gunicorn "
            "--preload, Celery prefork) children inherit the parent's connections.",
            [f"{pool.call} at module level"],
        )
    ]


def _django_health_checks(pool: ScannedPool) -> list[Finding]:
    if pool.stack != "django" or not is_postgres(pool):
        return []
    age_known, age = _known(pool, "CONN_MAX_AGE", 0)
    pooled = _known(pool, "OPTIONS.pool")[1] not in (None, False)
    persistent = age is None or (isinstance(age, (int, float)) and not isinstance(age, bool) and age > 0)
    if not pooled and not (age_known and persistent):
        return []
    checks_known, checks = _known(pool, "CONN_HEALTH_CHECKS", False)
    if not checks_known or checks:
        return []
    return [
        _finding(
            "django-no-health-checks",
            _severity(pool, Severity.WARNING),
            pool,
            "Django keeps this connection between requests and reuses it without testing it.",
            [describe(pool, "CONN_MAX_AGE"), describe(pool, "CONN_HEALTH_CHECKS")],
        )
    ]


def _psycopg_pool_check(pool: ScannedPool) -> list[Finding]:
    if pool.stack != "psycopg_pool" or "Null" in pool.call or pool.get("check") is not None:
        return []
    return [
        _finding(
            "psycopg-pool-no-check",
            _severity(pool, Severity.WARNING),
            pool,
            "psycopg_pool does not test a connection before handing it out unless given check=.",
            ["check not set (default None)"],
        )
    ]


def _psycopg2_pool(pool: ScannedPool) -> list[Finding]:
    if pool.stack != "psycopg2":
        return []
    return [
        _finding(
            "psycopg2-pool-no-check",
            Severity.INFO,
            pool,
            "psycopg2's pools have no liveness check and no lifetime.",
            [f"{pool.call}"],
        )
    ]


# --- what the settings say about the connection ------------------------------------------------------


def url_of(pool: ScannedPool) -> ScannedValue | None:
    for key in ("url", "dsn", "conninfo"):
        value = pool.get(key)
        if value is not None:
            return value
    return None


def is_postgres(pool: ScannedPool) -> bool:
    """False only when the code visibly points elsewhere (sqlite for tests, mysql): unknown counts as yes."""
    if pool.stack == "django":
        known, engine = _known(pool, "ENGINE")
        return not (known and isinstance(engine, str) and "postg" not in engine and "psycopg" not in engine)
    url = url_of(pool)
    if url is None or not url.known or not isinstance(url.value, str) or "://" not in url.value:
        return True  # a libpq conninfo ("dbname=app host=db") is PostgreSQL's own
    return url.value.split(":", 1)[0].split("+", 1)[0] in ("postgresql", "postgres", "pgsql")


def driver_of(pool: ScannedPool) -> str | None:
    """asyncpg, psycopg, psycopg2, or None when the code does not say."""
    if pool.stack == "asyncpg":
        return "asyncpg"
    if pool.stack == "psycopg_pool":
        return "psycopg"
    if pool.stack == "psycopg2":
        return "psycopg2"
    if pool.stack == "django":
        return "psycopg" if is_postgres(pool) and pool.get("ENGINE") is not None else None
    url = url_of(pool)
    if url is None or not url.known or not isinstance(url.value, str) or not is_postgres(pool):
        return None
    scheme = url.value.split(":", 1)[0]
    driver = scheme.split("+", 1)[1] if "+" in scheme else "psycopg2"  # SQLAlchemy's default PostgreSQL driver
    return {"psycopg_async": "psycopg", "psycopg2cffi": "psycopg2"}.get(driver, driver)


def _url_query(pool: ScannedPool) -> dict[str, str]:
    url = url_of(pool)
    if url is None or not url.known or not isinstance(url.value, str) or "://" not in url.value:
        return {}
    try:
        return dict(parse_qsl(urlsplit(url.value).query))
    except ValueError:
        return {}


def _mentions(pool: ScannedPool, name: str) -> bool:
    """The parameter is given: as a key (any prefix: connect_args., kwargs., OPTIONS.) or inside the URL/conninfo."""
    if any(key == name or key.endswith(f".{name}") for key in pool.settings):
        return True
    url = url_of(pool)
    return url is not None and url.known and isinstance(url.value, str) and name in url.value


def _any_unknown_connection_keys(pool: ScannedPool) -> bool:
    url = url_of(pool)
    if url is not None and not url.known:
        return True  # a conninfo built at run time may carry keepalives
    return any(
        not value.known and key.split(".")[0] in ("connect_args", "kwargs", "OPTIONS")
        for key, value in pool.settings.items()
    )


def pooler_port(pool: ScannedPool) -> int | None:
    """A pooler port the code visibly connects to (6432, 6543); None when it does not say so."""
    candidates: list[Any] = []
    url = url_of(pool)
    if url is not None and url.known and isinstance(url.value, str):
        text = url.value
        if "://" in text:
            try:
                candidates.append(urlsplit(text).port)
            except ValueError:
                pass
            candidates.extend(v for k, v in _url_query(pool).items() if k == "port")
        else:  # conninfo: "host=... port=6432"
            candidates.extend(part.split("=", 1)[1] for part in text.split() if part.startswith("port="))
    for key in ("port", "PORT", "kwargs.port", "connect_args.port"):
        value = pool.get(key)
        if value is not None and value.known:
            candidates.append(value.value)
    for candidate in candidates:
        try:
            port = int(candidate)
        except (TypeError, ValueError):
            continue
        if port in POOLER_PORTS:
            return port
    return None
