"""Every rule, table-driven over hand-built facts: no database, no I/O.

Each case lists *all* the findings it expects (code -> severity), so a rule firing where it should not
fails as loudly as one staying silent.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from pool_doctor.config import AppConfig, DeploymentConfig, NetworkConfig
from pool_doctor.connection.spec import parse_connection
from pool_doctor.inspect.server import WATCHED_SETTINGS
from pool_doctor.model import Activity, Finding, ServerFacts, Setting, Severity
from pool_doctor.rules import Facts, evaluate
from pool_doctor.rules.facts import build_facts
from pool_doctor.stacks.sqlalchemy import SQLAlchemyPool

C, W, I = Severity.CRITICAL, Severity.WARNING, Severity.INFO
ROLE_DB = "ALTER ROLE app IN DATABASE appdb"

# Unit and default of each watched setting, as pg_settings reports them on PostgreSQL 18 over TCP.
_DEFAULTS: dict[str, tuple[str | None, str]] = {
    "idle_session_timeout": ("ms", "0"),
    "idle_in_transaction_session_timeout": ("ms", "0"),
    "transaction_timeout": ("ms", "0"),
    "statement_timeout": ("ms", "0"),
    "lock_timeout": ("ms", "0"),
    "tcp_keepalives_idle": ("s", "7200"),
    "tcp_keepalives_interval": ("s", "75"),
    "tcp_keepalives_count": (None, "9"),
    "tcp_user_timeout": ("ms", "0"),
    "client_connection_check_interval": ("ms", "0"),
    "max_connections": (None, "100"),
    "superuser_reserved_connections": (None, "3"),
    "reserved_connections": (None, "0"),
}
_FACTOR = {"ms": 1000, "s": 1}


@pytest.fixture(autouse=True)
def _no_pool_doctor_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """AppConfig reads POOL_DOCTOR_* variables; the developer's shell must not change a rule's input."""
    import os

    for name in list(os.environ):
        if name.startswith("POOL_DOCTOR_"):
            monkeypatch.delenv(name)


def setting(name: str, seconds: float | None = None, source: str = ROLE_DB, *, value: str | None = None) -> Setting:
    """A present setting; time settings are given in seconds and stored in the setting's own unit."""
    unit, default = _DEFAULTS[name]
    if seconds is not None:
        value = f"{seconds * _FACTOR[unit or 's']:g}"
    return Setting(name=name, present=True, value=value or default, unit=unit, seconds=seconds, source=source)


def absent(name: str) -> Setting:
    return Setting(name=name, present=False)


def server(*overrides: Setting, transport: str = "tcp", activity: Activity | None = None, **kwargs: Any) -> ServerFacts:
    settings = {}
    for name in WATCHED_SETTINGS:
        unit, default = _DEFAULTS[name]
        seconds = float(default) / _FACTOR[unit] if unit in _FACTOR else None
        settings[name] = Setting(name=name, present=True, value=default, unit=unit, seconds=seconds, source="default")
    settings.update({s.name: s for s in overrides})
    base: dict[str, Any] = {
        "version": "18.1",
        "version_num": 180001,
        "role": "app",
        "database": "appdb",
        "connected_as": "app",
        "superuser": False,
        "settings": settings,
        "max_connections": 100,
        "superuser_reserved_connections": 3,
        "reserved_connections": 0,
        "role_connlimit": None,
        "database_connlimit": None,
        "activity": activity or Activity(),
        "transport": transport,
        "ssl": False,
        "server_port": 5432,
        "backend_pid": 4242,
        "startup_pid": 4242,
    }
    return ServerFacts(**{**base, **kwargs})


@dataclass(frozen=True)
class Case:
    id: str
    expected: dict[str, Severity]
    server: ServerFacts = field(default_factory=server)
    pool: dict[str, Any] = field(default_factory=dict)
    deployment: dict[str, Any] = field(default_factory=dict)
    network: dict[str, Any] = field(default_factory=dict)
    # A bound on hung queries by default, so each case shows its own rule; no-hang-bound has its own cases.
    connect_args: dict[str, Any] = field(default_factory=lambda: {"tcp_user_timeout": 30000})
    driver: str = "psycopg"

    def facts(self) -> Facts:
        settings = AppConfig(
            pool=SQLAlchemyPool(**self.pool),
            deployment=DeploymentConfig(**self.deployment),
            network=NetworkConfig(**self.network),
            connect_args=self.connect_args,
        )
        target = parse_connection(f"postgresql+{self.driver}://app@db.internal:5432/appdb").with_connect_args(
            self.connect_args
        )
        return build_facts(settings, target, server=self.server)


IDLE_5S = setting("idle_session_timeout", 5)
IDLE_5MIN = setting("idle_session_timeout", 300)
PRE_PING = {"pool_pre_ping": True}
NAT = {"idle_timeout": 350}

TIMEOUT_CASES = [
    Case("quiet server, default pool: only the missing liveness check", {"no-liveness-check": I}),
    Case("quiet server, pre-ping", {}, pool=PRE_PING),
    Case(
        "idle_session_timeout 0 is off", {"no-liveness-check": I}, server(setting("idle_session_timeout", 0, "default"))
    ),
    Case(
        "idle_session_timeout absent (PostgreSQL 13)",
        {"no-liveness-check": I},
        server(absent("idle_session_timeout"), version_num=130010),
    ),
    # The incident: the server kills idle sessions and nothing in the pool notices.
    Case("incident: idle_session_timeout, no pre-ping, no recycle", {"idle-session-timeout": C}, server(IDLE_5S)),
    Case(
        "idle_session_timeout, recycle equal to it: a race",
        {"idle-session-timeout-tight": W},
        server(IDLE_5MIN),
        pool={"pool_recycle": 300},
    ),
    Case(
        "idle_session_timeout, recycle above it",
        {"idle-session-timeout": C},
        server(IDLE_5MIN),
        pool={"pool_recycle": 3600},
    ),
    Case(
        "idle_session_timeout, pre-ping only: replaced at checkout",
        {"idle-session-timeout-replaced": I},
        server(IDLE_5MIN),
        pool=PRE_PING,
    ),
    Case(
        "idle_session_timeout, recycle within the margin, no pre-ping",
        {"idle-session-timeout-tight": W},
        server(IDLE_5MIN),
        pool={"pool_recycle": 290},
    ),
    Case(
        "idle_session_timeout, recycle within the margin, pre-ping",
        {},
        server(IDLE_5MIN),
        pool={"pool_recycle": 290, "pool_pre_ping": True},
    ),
    Case("idle_session_timeout, recycle well below", {}, server(IDLE_5MIN), pool={"pool_recycle": 250}),
    # The issue's "fixed" configuration: a 5 s limit forces a short recycle, so the churn is only info.
    Case(
        "idle_session_timeout 5s, pre-ping and recycle 3",
        {"recycle-churn": I},
        server(IDLE_5S),
        pool={"pool_recycle": 3, "pool_pre_ping": True},
    ),
    Case(
        "idle_in_transaction_session_timeout",
        {"idle-in-transaction-timeout": W},
        server(setting("idle_in_transaction_session_timeout", 60)),
        pool=PRE_PING,
    ),
    Case(
        "idle_in_transaction_session_timeout does not silence the idle killer",
        {"idle-in-transaction-timeout": W, "idle-session-timeout": C},
        server(setting("idle_in_transaction_session_timeout", 60), IDLE_5MIN),
    ),
    Case(
        "transaction_timeout (17+)",
        {"transaction-timeout": W},
        server(setting("transaction_timeout", 600)),
        pool=PRE_PING,
    ),
    Case(
        "transaction_timeout absent (PostgreSQL 15)",
        {},
        server(absent("transaction_timeout"), version_num=150010),
        pool=PRE_PING,
    ),
    Case(
        "statement_timeout and lock_timeout only cancel",
        {"statement-timeout": I, "lock-timeout": I},
        server(setting("statement_timeout", 30), setting("lock_timeout", 5)),
        pool=PRE_PING,
    ),
    Case("recycle 0 reconnects at every checkout", {"recycle-churn": W}, pool={"pool_recycle": 0, **PRE_PING}),
    Case("recycle 10 with nothing forcing it", {"recycle-churn": W}, pool={"pool_recycle": 10, **PRE_PING}),
    Case("recycle 29 with nothing forcing it", {"recycle-churn": W}, pool={"pool_recycle": 29, **PRE_PING}),
    Case("recycle 30 is not churn", {}, pool={"pool_recycle": 30, **PRE_PING}),
    Case(
        "recycle 10 forced by a 20s network limit is only info",
        {"recycle-churn": I, "keepalives-too-slow": W},
        pool={"pool_recycle": 10, **PRE_PING},
        network={"idle_timeout": 20},
    ),
    Case(
        "sessions idle in transaction now",
        {"sessions-idle-in-transaction": W},
        server(
            activity=Activity(
                total=2, role_connections=2, role_idle_in_transaction=2, by_state={"idle in transaction": 2}
            )
        ),
        pool=PRE_PING,
    ),
    Case(
        "observed idle connections of the role",
        {"observed-idle": I},
        server(activity=Activity(total=3, role_connections=3, role_oldest_idle_seconds=125.4, by_state={"idle": 3})),
        pool=PRE_PING,
    ),
]

NETWORK_CASES = [
    Case("NAT 350s, default pool", {"network-idle-timeout": C, "keepalives-too-slow": W}, network=NAT),
    Case(
        "NAT 350s, recycle equal to it: a race",
        {"network-idle-timeout-tight": W, "keepalives-too-slow": W},
        network=NAT,
        pool={"pool_recycle": 350},
    ),
    Case(
        "NAT 350s, pre-ping only: a reset is replaced at checkout",
        {"network-idle-timeout-replaced": I, "keepalives-too-slow": W},
        network=NAT,
        pool=PRE_PING,
    ),
    Case(
        "silent drop 350s, pre-ping with a bound: replaced after a wait",
        {"network-idle-timeout-replaced": W, "keepalives-too-slow": W},
        network={**NAT, "shape": "drop"},
        pool=PRE_PING,
    ),
    Case(
        "silent drop 350s, pre-ping without a bound: the ping hangs",
        {"network-idle-timeout": C, "keepalives-too-slow": W, "no-hang-bound": I},
        network={**NAT, "shape": "drop"},
        pool=PRE_PING,
        connect_args={},
    ),
    Case("no bound on hung queries", {"no-hang-bound": I}, pool=PRE_PING, connect_args={}),
    Case("NAT 350s, recycle below it", {"keepalives-too-slow": W}, network=NAT, pool={"pool_recycle": 300}),
    Case(
        "NAT 350s, recycle below, server keepalives 60s",
        {},
        server(setting("tcp_keepalives_idle", 60)),
        network=NAT,
        pool={"pool_recycle": 300},
    ),
    Case(
        "server keepalives 0 means the OS's 7200s",
        {"keepalives-too-slow": W},
        server(setting("tcp_keepalives_idle", 0, "default")),
        network=NAT,
        pool={"pool_recycle": 300},
    ),
    Case(
        "server keepalives equal to the NAT timeout are too slow",
        {"keepalives-too-slow": W},
        server(setting("tcp_keepalives_idle", 350)),
        network=NAT,
        pool={"pool_recycle": 300},
    ),
    Case(
        "server keepalives just below the NAT timeout",
        {},
        server(setting("tcp_keepalives_idle", 349)),
        network=NAT,
        pool={"pool_recycle": 300},
    ),
    Case(
        "psycopg keepalives_idle in connect_args",
        {},
        network=NAT,
        pool={"pool_recycle": 300},
        connect_args={"keepalives": 1, "keepalives_idle": 60, "tcp_user_timeout": 30000},
    ),
    Case(
        "psycopg keepalives_idle while keepalives=0 is off",
        {"keepalives-too-slow": W},
        network=NAT,
        pool={"pool_recycle": 300},
        connect_args={"keepalives": 0, "keepalives_idle": 60, "tcp_user_timeout": 30000},
    ),
    Case(
        "psycopg keepalives_idle above the NAT timeout",
        {"keepalives-too-slow": W},
        network=NAT,
        pool={"pool_recycle": 300},
        connect_args={"keepalives_idle": 400, "tcp_user_timeout": 30000},
    ),
    Case(
        "asyncpg server_settings.tcp_keepalives_idle",
        {},
        network=NAT,
        pool={"pool_recycle": 300},
        connect_args={"server_settings": {"tcp_keepalives_idle": "60"}, "command_timeout": 30},
        driver="asyncpg",
    ),
    Case(
        "asyncpg server_settings without keepalives",
        {"keepalives-too-slow": W},
        network=NAT,
        pool={"pool_recycle": 300},
        connect_args={"server_settings": {"application_name": "web"}, "command_timeout": 30},
        driver="asyncpg",
    ),
    Case(
        "unix socket: server keepalives unreadable",
        {"keepalives-unknown": I},
        server(transport="unix"),
        network=NAT,
        pool={"pool_recycle": 300},
    ),
    Case(
        "tcp_keepalives_idle absent: nothing to judge",
        {},
        server(absent("tcp_keepalives_idle")),
        network=NAT,
        pool={"pool_recycle": 300},
    ),
    Case(
        "both a server and a network idle limit",
        {"idle-session-timeout": C, "network-idle-timeout": C, "keepalives-too-slow": W},
        server(IDLE_5MIN),
        network=NAT,
    ),
]

BUDGET_CASES = [
    Case("default pool, 100 slots", {}, pool=PRE_PING),
    Case("pools over the usable slots", {"budget-slots": C}, server(max_connections=15), pool=PRE_PING),
    Case(
        "replicas x workers over the slots",
        {"budget-slots": C},
        pool=PRE_PING,
        deployment={"replicas": 4, "workers_per_replica": 2},
    ),
    Case("above 80% of the usable slots", {"budget-slots-tight": W}, server(max_connections=21), pool=PRE_PING),
    Case("exactly 80% is not above it", {}, server(max_connections=23), pool={"pool_size": 6, **PRE_PING}),
    Case(
        "reserved_connections (16+) counts",
        {"budget-slots": C},
        server(max_connections=20, reserved_connections=3),
        pool=PRE_PING,
    ),
    Case(
        "reserved_connections 2 leaves 15: tight",
        {"budget-slots-tight": W},
        server(max_connections=20, reserved_connections=2),
        pool=PRE_PING,
    ),
    Case(
        "other roles' connections now count",
        {"budget-slots": C},
        server(activity=Activity(total=90, other_connections=90, by_state={"idle": 90})),
        pool=PRE_PING,
    ),
    Case("declared other_connections count", {"budget-slots": C}, pool=PRE_PING, deployment={"other_connections": 85}),
    Case(
        "role CONNECTION LIMIT below the pools", {"budget-role-connlimit": C}, server(role_connlimit=10), pool=PRE_PING
    ),
    Case("role CONNECTION LIMIT 0", {"budget-role-connlimit": C}, server(role_connlimit=0), pool=PRE_PING),
    Case(
        "role CONNECTION LIMIT above 80%", {"budget-role-connlimit-tight": W}, server(role_connlimit=18), pool=PRE_PING
    ),
    Case("role CONNECTION LIMIT with room", {}, server(role_connlimit=50), pool=PRE_PING),
    Case(
        "database CONNECTION LIMIT below the pools",
        {"budget-database-connlimit": C},
        server(database_connlimit=12),
        pool=PRE_PING,
    ),
    Case(
        "database CONNECTION LIMIT above 80%",
        {"budget-database-connlimit-tight": W},
        server(database_connlimit=16),
        pool=PRE_PING,
    ),
    Case(
        "every limit at once",
        {"budget-slots": C, "budget-role-connlimit": C, "budget-database-connlimit-tight": W},
        server(max_connections=10, role_connlimit=5, database_connlimit=17),
        pool=PRE_PING,
    ),
]


def _codes(findings: list[Finding]) -> dict[str, Severity]:
    codes = {f.code: f.severity for f in findings}
    assert len(codes) == len(findings), f"a code fired twice: {[f.code for f in findings]}"
    return codes


@pytest.mark.parametrize("case", TIMEOUT_CASES + NETWORK_CASES + BUDGET_CASES, ids=lambda c: c.id)
def test_rule_table(case: Case) -> None:
    assert _codes(evaluate(case.facts())) == case.expected


def test_findings_come_most_severe_first() -> None:
    case = Case("mixed", {}, server(IDLE_5MIN, setting("statement_timeout", 30), max_connections=21), network=NAT)
    ranks = [f.severity.rank for f in evaluate(case.facts())]
    assert ranks == sorted(ranks, reverse=True) and len(set(ranks)) == 3


@pytest.mark.parametrize(
    ("case", "code", "must_say"),
    [
        (
            Case("incident", {}, server(IDLE_5S)),
            "idle-session-timeout",
            "idle_session_timeout = 5s, set by ALTER ROLE app IN DATABASE appdb",
        ),
        (
            Case("role level", {}, server(setting("idle_session_timeout", 300, "ALTER ROLE app"))),
            "idle-session-timeout",
            "idle_session_timeout = 5min, set by ALTER ROLE app",
        ),
        (
            Case("config file", {}, server(setting("idle_session_timeout", 600, "postgresql.conf:812")), pool=PRE_PING),
            "idle-session-timeout-replaced",
            "idle_session_timeout = 10min, set by postgresql.conf:812",
        ),
        (
            Case("tight", {}, server(IDLE_5MIN), pool={"pool_recycle": 290}),
            "idle-session-timeout-tight",
            "idle_session_timeout = 5min, set by ALTER ROLE app IN DATABASE appdb",
        ),
        (
            Case("in tx", {}, server(setting("idle_in_transaction_session_timeout", 60, "ALTER DATABASE appdb"))),
            "idle-in-transaction-timeout",
            "idle_in_transaction_session_timeout = 1min, set by ALTER DATABASE appdb",
        ),
        (
            Case("tx", {}, server(setting("transaction_timeout", 90, "server command line"))),
            "transaction-timeout",
            "transaction_timeout = 90s, set by server command line",
        ),
        (
            Case("statement", {}, server(setting("statement_timeout", 30, "ALTER ROLE app"))),
            "statement-timeout",
            "statement_timeout = 30s, set by ALTER ROLE app",
        ),
        (Case("nat", {}, network=NAT), "network-idle-timeout", "idle_timeout = 350s, set by [network] idle_timeout"),
        (Case("keepalives", {}, network=NAT), "keepalives-too-slow", "tcp_keepalives_idle = 2h, set by default"),
        (Case("churn", {}, pool={"pool_recycle": 10}), "recycle-churn", "pool_recycle = 10"),
        (
            Case("slots", {}, server(max_connections=10)),
            "budget-slots",
            "max_connections 10 - reserved 3 - other roles now 0 - other_connections 0 = 7 usable",
        ),
        (Case("role limit", {}, server(role_connlimit=10)), "budget-role-connlimit", "pg_roles.rolconnlimit = 10"),
        (
            Case("db limit", {}, server(database_connlimit=10)),
            "budget-database-connlimit",
            "pg_database.datconnlimit = 10",
        ),
    ],
    ids=lambda v: v.id if isinstance(v, Case) else None,
)
def test_finding_names_setting_value_and_source(case: Case, code: str, must_say: str) -> None:
    finding = next(f for f in evaluate(case.facts()) if f.code == code)
    assert must_say in finding.evidence or must_say in finding.detail, finding
    assert finding.title and finding.detail


def test_budget_evidence_shows_the_arithmetic() -> None:
    case = Case("b", {}, server(max_connections=10), deployment={"replicas": 3, "workers_per_replica": 2})
    finding = next(f for f in evaluate(case.facts()) if f.code == "budget-slots")
    assert "3 replica(s) x 2 worker(s) x (pool_size 5 + max_overflow 10) = 90 connections" in finding.evidence
    assert "allow 7" in finding.title


def test_rules_do_not_mutate_facts() -> None:
    case = Case("m", {}, server(IDLE_5S), network=NAT)
    facts = case.facts()
    before = replace(facts.server)
    evaluate(facts)
    assert facts.server == before
