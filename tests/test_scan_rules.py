"""Scanned pools built by hand, judged without a server by the rules `check` runs on a pool (the pool and
code scopes): table-driven, pure, no files, no server."""

from __future__ import annotations

from typing import Any

import pytest

from pool_doctor.inspect.pooler import USUAL_PORTS
from pool_doctor.model import Severity
from pool_doctor.rules.codes import Scope, lookup
from pool_doctor.scan.judge import judge as check
from pool_doctor.scan.model import ScannedPool, ScannedValue
from pool_doctor.scan.target import port_of
from pool_doctor.scan.target import url_driver as driver_of


def pool(
    stack: str,
    settings: dict[str, Any],
    *,
    call: str = "sqlalchemy.create_engine",
    at_import: bool = False,
    unresolved: list[str] | None = None,
) -> ScannedPool:
    values = {k: v if isinstance(v, ScannedValue) else ScannedValue(v, "app/db.py:3") for k, v in settings.items()}
    return ScannedPool(
        file="app/db.py",
        line=3,
        end_line=4,
        stack=stack,
        call=call,  # type: ignore[arg-type]
        settings=values,
        unresolved=unresolved or [],
        at_import=at_import,
    )


UNKNOWN = ScannedValue(None, "app/db.py:3", "PRE_PING", known=False, expr="flag()")
PG = "postgresql://h/db"
ASYNCPG = "postgresql+asyncpg://h/db"

CASES: list[tuple[str, ScannedPool, dict[str, Severity]]] = [
    (
        "engine with defaults",
        pool("sqlalchemy", {"url": PG}),
        {"no-liveness-check": Severity.WARNING, "no-hang-bound": Severity.INFO},
    ),
    (
        "pre-ping is enough",
        pool("sqlalchemy", {"url": PG, "pool_pre_ping": True}),
        {"no-hang-bound": Severity.INFO},
    ),
    (
        "recycle is enough",
        pool("sqlalchemy", {"url": PG, "pool_recycle": 1800, "connect_args.keepalives_idle": 30}),
        {"no-liveness-check": Severity.INFO, "no-hang-bound": Severity.INFO},
    ),
    (
        "recycle -1 is none",
        pool("sqlalchemy", {"url": PG, "pool_recycle": -1, "connect_args.tcp_user_timeout": 1000}),
        {"no-liveness-check": Severity.WARNING},
    ),
    (
        "keepalives in the URL count",
        pool("sqlalchemy", {"url": PG + "?keepalives_idle=30", "pool_pre_ping": True}),
        {"no-hang-bound": Severity.INFO},
    ),
    (
        "unknown pre-ping softens what depends on it; a 5 s recycle churns",
        pool("sqlalchemy", {"url": PG, "pool_pre_ping": UNKNOWN, "pool_recycle": 5, "connect_args.keepalives": 1}),
        {"recycle-churn": Severity.WARNING, "no-liveness-check": Severity.INFO, "no-hang-bound": Severity.INFO},
    ),
    (
        "unread **kwargs soften it to info",
        pool("sqlalchemy", {"url": PG, "connect_args.keepalives": 1}, unresolved=["**OPTIONS"]),
        {"no-liveness-check": Severity.INFO, "no-hang-bound": Severity.INFO},
    ),
    ("sqlite for tests is not judged", pool("sqlalchemy", {"url": "sqlite://"}), {}),
    (
        "NullPool keeps nothing idle",
        pool(
            "sqlalchemy",
            {"url": PG, "poolclass": "sqlalchemy.pool.NullPool", "connect_args.keepalives": 1},
            at_import=True,
        ),
        {"no-hang-bound": Severity.INFO},
    ),
    (
        "unbounded overflow",
        pool("sqlalchemy", {"url": PG, "pool_pre_ping": True, "max_overflow": -1, "connect_args.keepalives": 1}),
        {"unbounded-overflow": Severity.WARNING, "no-hang-bound": Severity.INFO},
    ),
    (
        "asyncpg engine without command_timeout",
        pool("sqlalchemy", {"url": ASYNCPG, "pool_pre_ping": True}),
        {"no-hang-bound": Severity.INFO},
    ),
    (
        "asyncpg engine with command_timeout",
        pool("sqlalchemy", {"url": ASYNCPG, "pool_pre_ping": True, "connect_args.command_timeout": 30}),
        {},
    ),
    (
        "pooler port, asyncpg cache on",
        pool(
            "sqlalchemy",
            {"url": "postgresql+asyncpg://h:6543/db", "pool_pre_ping": True, "connect_args.command_timeout": 30},
        ),
        {"pooler-prepared-statements": Severity.WARNING},
    ),
    (
        "pooler port, caches off and unique names",
        pool(
            "sqlalchemy",
            {
                "url": "postgresql+asyncpg://h:6432/db",
                "pool_pre_ping": True,
                "connect_args.command_timeout": 30,
                "connect_args.statement_cache_size": 0,
                "connect_args.prepared_statement_cache_size": 0,
                "connect_args.prepared_statement_name_func": "<lambda>",
            },
        ),
        {},
    ),
    (
        "pooler port, SQLAlchemy's adapter still caches",  # its cache outlives the transaction (sqlalchemy #10226)
        pool(
            "sqlalchemy",
            {
                "url": "postgresql+asyncpg://h:6432/db",
                "pool_pre_ping": True,
                "connect_args.command_timeout": 30,
                "connect_args.statement_cache_size": 0,
                "connect_args.prepared_statement_name_func": "<lambda>",
            },
        ),
        {"pooler-prepared-statements": Severity.WARNING},
    ),
    (
        "asyncpg's own pool needs only its cache off",
        pool(
            "asyncpg",
            {"dsn": "postgresql://h:6432/db", "command_timeout": 10, "statement_cache_size": 0},
            call="asyncpg.create_pool",
        ),
        {},
    ),
    (
        "port 5432 is not a pooler",
        pool("asyncpg", {"dsn": "postgresql://h:5432/db", "command_timeout": 10}, call="asyncpg.create_pool"),
        {},
    ),
    (
        "asyncpg pool on a pooler port",
        pool("asyncpg", {"dsn": "postgresql://h:6432/db", "command_timeout": 10}, call="asyncpg.create_pool"),
        {"pooler-prepared-statements": Severity.WARNING},
    ),
    (
        "asyncpg pool, no command_timeout",
        pool("asyncpg", {"dsn": "postgresql://h/db"}, call="asyncpg.create_pool"),
        {"no-hang-bound": Severity.INFO},
    ),
    (
        "psycopg through a pooler port",
        pool(
            "sqlalchemy", {"url": "postgresql+psycopg://h:6432/db", "pool_pre_ping": True, "connect_args.keepalives": 1}
        ),
        {"pooler-prepared-statements": Severity.INFO, "no-hang-bound": Severity.INFO},
    ),
    (
        "psycopg with prepare_threshold=None",
        pool(
            "psycopg_pool",
            {
                "conninfo": "host=h port=6432",
                "check": "c",
                "kwargs.prepare_threshold": None,
                "kwargs.tcp_user_timeout": 1000,
            },
            call="psycopg_pool.ConnectionPool",
        ),
        {"no-liveness-check": Severity.WARNING},  # check="c" names no check pool-doctor can read
    ),
    (
        "engine at import",
        pool("sqlalchemy", {"url": PG, "pool_pre_ping": True, "connect_args.keepalives": 1}, at_import=True),
        {"engine-at-import": Severity.INFO, "no-hang-bound": Severity.INFO},
    ),
    (
        "psycopg_pool without check",
        pool("psycopg_pool", {"conninfo": "dbname=app keepalives=1"}, call="psycopg_pool.ConnectionPool"),
        {"no-liveness-check": Severity.WARNING, "no-hang-bound": Severity.INFO},
    ),
    (
        "psycopg_pool null pool keeps nothing",
        pool("psycopg_pool", {"conninfo": "dbname=app keepalives=1"}, call="psycopg_pool.NullConnectionPool"),
        {"no-hang-bound": Severity.INFO},
    ),
    (
        "psycopg2 pool",
        pool(
            "psycopg2",
            {"minconn": 1, "maxconn": 5, "dsn": "dbname=app", "keepalives_idle": 5},
            call="psycopg2.pool.SimpleConnectionPool",
        ),
        {"no-liveness-check": Severity.WARNING, "no-hang-bound": Severity.INFO},
    ),
    (
        "django persistent without health checks",
        pool(
            "django",
            {"ENGINE": "django.db.backends.postgresql", "CONN_MAX_AGE": 600, "OPTIONS.keepalives_idle": 30},
            call="DATABASES['default']",
        ),
        {"no-liveness-check": Severity.INFO, "no-hang-bound": Severity.INFO},
    ),
    (
        "django CONN_MAX_AGE None",
        pool(
            "django",
            {"ENGINE": "django.db.backends.postgresql", "CONN_MAX_AGE": None, "OPTIONS.keepalives_idle": 30},
            call="DATABASES['default']",
        ),
        {"no-liveness-check": Severity.WARNING, "no-hang-bound": Severity.INFO},
    ),
    (
        "django pool option",
        pool(
            "django",
            {"ENGINE": "django.db.backends.postgresql", "OPTIONS.pool": True, "OPTIONS.keepalives_idle": 30},
            call="DATABASES['default']",
        ),
        {"no-liveness-check": Severity.WARNING, "no-hang-bound": Severity.INFO},
    ),
    (
        "django with health checks",
        pool(
            "django",
            {
                "ENGINE": "django.db.backends.postgresql",
                "CONN_MAX_AGE": 600,
                "CONN_HEALTH_CHECKS": True,
                "OPTIONS.keepalives_idle": 30,
            },
            call="DATABASES['default']",
        ),
        {"no-hang-bound": Severity.INFO},
    ),
    (
        "django per-request connections",
        pool(
            "django",
            {"ENGINE": "django.db.backends.postgresql", "OPTIONS.keepalives_idle": 30},
            call="DATABASES['default']",
        ),
        {"no-hang-bound": Severity.INFO},
    ),
    (
        "django sqlite",
        pool("django", {"ENGINE": "django.db.backends.sqlite3", "CONN_MAX_AGE": 600}, call="DATABASES['default']"),
        {},
    ),
    (
        "flask defaults",
        pool("flask_sqlalchemy", {"url": PG, "connect_args.keepalives": 1}, call="class Config"),
        {"no-liveness-check": Severity.WARNING, "no-hang-bound": Severity.INFO},
    ),
]


@pytest.mark.parametrize(("name", "scanned", "expected"), CASES, ids=[c[0] for c in CASES])
def test_rules(name: str, scanned: ScannedPool, expected: dict[str, Severity]) -> None:
    findings = check(scanned)
    assert {f.code: f.severity for f in findings} == expected
    for finding in findings:
        assert finding.evidence[0] == "app/db.py:3"  # every finding cites the pool's file:line first
        assert lookup(finding.code).scope in (Scope.POOL, Scope.CODE)
        assert finding.severity is not Severity.CRITICAL  # no limit is known: none of these hosts is a platform


def test_evidence_says_where_values_come_from() -> None:
    engine = pool("sqlalchemy", {"url": PG, "pool_recycle": ScannedValue(-1, "app/config.py:9", "POOL_RECYCLE")})
    (finding,) = [f for f in check(engine) if f.code == "no-liveness-check"]
    assert finding.evidence[1:] == [
        "pool_recycle = -1 (app/config.py:9, $POOL_RECYCLE overrides it)",
        "pool_pre_ping = false (library default)",
    ]


@pytest.mark.parametrize(
    ("settings", "stack", "driver"),
    [
        ({"url": "postgresql://h/db"}, "sqlalchemy", "psycopg2"),
        ({"url": "postgresql+psycopg://h/db"}, "sqlalchemy", "psycopg"),
        ({"url": "postgresql+asyncpg://h/db"}, "sqlalchemy", "asyncpg"),
        ({"url": UNKNOWN}, "sqlalchemy", None),
        ({}, "asyncpg", None),  # asyncpg's own pool: no URL names a driver (the stack's is asyncpg)
    ],
)
def test_driver_of(settings: dict[str, Any], stack: str, driver: str | None) -> None:
    assert driver_of(pool(stack, settings)) == driver


@pytest.mark.parametrize(
    ("settings", "port"),
    [
        ({"url": "postgresql://u@h:6543/db"}, 6543),
        ({"dsn": "host=h port=6432 dbname=x"}, 6432),
        ({"HOST": "h", "PORT": "6432"}, 6432),
        ({"url": "postgresql://h:5432/db"}, None),
        ({"url": "postgresql://h/db"}, None),
    ],
)
def test_pooler_port(settings: dict[str, Any], port: int | None) -> None:
    found = port_of(pool("sqlalchemy", settings))
    assert (found if found in USUAL_PORTS else None) == port
