"""The one judge: the same limit with the same shape gets the same verdict whatever layer holds it, and
recommend changes only what a finding speaks of, into values every verdict survives. No database."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pool_doctor.config import AppConfig, NetworkConfig
from pool_doctor.inspect.pooler import PoolerFacts
from pool_doctor.model import Severity
from pool_doctor.path import Limit, Outcome, PoolPolicy, Provenance, Shape, judge
from pool_doctor.path.model import Layer
from pool_doctor.path.policy import Knob
from pool_doctor.recommend import recommend
from pool_doctor.rules import Facts, evaluate
from pool_doctor.rules.facts import build_facts
from pool_doctor.rules.path import verdicts
from pool_doctor.stacks.sqlalchemy import SQLAlchemyPool
from tests.test_rules import server, setting

NAIVE = PoolPolicy("sqlalchemy", "naive pool")
PING = PoolPolicy("sqlalchemy", "ping", ping=True, ping_knob=Knob("pool_pre_ping", True))
PING_BOUNDED = PoolPolicy("sqlalchemy", "ping+bound", ping=True, hang_bound=30, hang_knob=Knob("t", 30))
RECYCLE = PoolPolicy("sqlalchemy", "recycle 300", max_age=300, max_age_knob=Knob("pool_recycle", 300))
NOTICES = PoolPolicy("asyncpg", "asyncpg pool", notices_close=True, max_idle=300, max_idle_knob=Knob("m", 300))
NULL = PoolPolicy("sqlalchemy", "NullPool", reuses=False)

EXPECTED = {
    # policy: {shape: outcome} against a 350 s limit
    NAIVE: {Shape.CLOSE: Outcome.FAILS, Shape.RESET: Outcome.FAILS, Shape.DROP: Outcome.HANGS},
    PING: {Shape.CLOSE: Outcome.REPLACED, Shape.RESET: Outcome.REPLACED, Shape.DROP: Outcome.HANGS},
    PING_BOUNDED: {Shape.CLOSE: Outcome.REPLACED, Shape.RESET: Outcome.REPLACED, Shape.DROP: Outcome.REPLACED},
    RECYCLE: {Shape.CLOSE: Outcome.SURVIVES, Shape.RESET: Outcome.SURVIVES, Shape.DROP: Outcome.SURVIVES},
    NOTICES: {Shape.CLOSE: Outcome.SURVIVES, Shape.RESET: Outcome.SURVIVES, Shape.DROP: Outcome.SURVIVES},
    NULL: {Shape.CLOSE: Outcome.SURVIVES, Shape.RESET: Outcome.SURVIVES, Shape.DROP: Outcome.SURVIVES},
}


@pytest.mark.parametrize("layer", list(Layer))
@pytest.mark.parametrize("shape", list(Shape))
@pytest.mark.parametrize("policy", list(EXPECTED), ids=lambda p: p.label)
def test_same_limit_same_shape_same_verdict_in_every_layer(policy: PoolPolicy, shape: Shape, layer: Layer) -> None:
    limit = Limit("some_limit", 350, shape, layer, "someone", "somewhere", Provenance.CONFIGURED)
    assert judge(policy, limit).outcome is EXPECTED[policy][shape]


def test_asyncpg_pool_defaults_against_middleboxes() -> None:
    """max_inactive_connection_lifetime 300 s retires idle connections before a 350 s NAT, not a 240 s LB."""
    for seconds, outcome in ((350, Outcome.SURVIVES), (240, Outcome.HANGS)):
        limit = Limit("idle_timeout", seconds, Shape.DROP, Layer.NETWORK, "a middlebox", "x", Provenance.CONFIGURED)
        assert judge(NOTICES, limit).outcome is outcome


def _facts(
    pool: dict[str, object],
    *,
    idle: float | None = None,
    network: float | None = None,
    shape: str = "reset",
    pooler_idle: float | None = None,
    driver: str = "psycopg",
    connect_args: dict[str, object] | None = None,
) -> Facts:
    from pool_doctor.connection.spec import parse_connection

    overrides = [setting("idle_session_timeout", idle)] if idle else []
    settings_ = AppConfig(
        pool=SQLAlchemyPool(**pool),
        network=NetworkConfig(idle_timeout=network, shape=shape),
        connect_args=connect_args or {},
    )
    pooler = None
    if pooler_idle is not None:
        pooler = PoolerFacts(
            "session",
            ["test"],
            product="PgBouncer 1.18.0",
            pool_mode="session",
            config={"client_idle_timeout": str(pooler_idle)},
        )
    spec = parse_connection(f"postgresql+{driver}://app@db.internal:5432/appdb").with_connect_args(connect_args or {})
    return build_facts(settings_, spec, server=server(*overrides), pooler=pooler)


def _path_severities(facts: Facts) -> list[Severity | None]:
    return sorted((v.severity for v in verdicts(facts)), key=lambda s: s.rank if s else -1)


@pytest.mark.parametrize("pool", [{}, {"pool_pre_ping": True}, {"pool_recycle": 300}, {"pool_recycle": 340}])
def test_a_350s_close_held_by_the_server_or_the_pooler_is_judged_alike(pool: dict[str, object]) -> None:
    by_server = _facts(pool, idle=350)
    by_pooler = _facts(pool, pooler_idle=350)
    assert _path_severities(by_server) == _path_severities(by_pooler)


@settings(max_examples=150, deadline=None)
@given(
    pre_ping=st.booleans(),
    recycle=st.sampled_from([-1, 0, 10, 60, 290, 300, 1800, 3600]),
    idle=st.sampled_from([None, 3.0, 60.0, 300.0, 600.0]),
    network=st.sampled_from([None, 20.0, 240.0, 350.0]),
    shape=st.sampled_from(["reset", "drop"]),
    driver=st.sampled_from(["asyncpg", "psycopg", "psycopg2"]),
    bounded=st.booleans(),
    pool_size=st.sampled_from([1, 5, 50]),
)
def test_recommend_changes_only_what_findings_speak_of_and_every_verdict_then_survives(
    pre_ping: bool,
    recycle: int,
    idle: float | None,
    network: float | None,
    shape: str,
    driver: str,
    bounded: bool,
    pool_size: int,
) -> None:
    args: dict[str, object] = {}
    if bounded:
        args = {"command_timeout": 30} if driver == "asyncpg" else {"tcp_user_timeout": 30000}
    pool = {"pool_pre_ping": pre_ping, "pool_recycle": recycle, "pool_size": pool_size}
    facts = _facts(pool, idle=idle, network=network, shape=shape, driver=driver, connect_args=args)
    findings = evaluate(facts)
    spoken = {key for finding in findings for key in finding.keys}
    rec = recommend(facts, findings)
    for reason in rec.reasons:
        if reason.value != reason.current:
            assert reason.key in spoken, (reason.key, [f.code for f in findings])
    after = _facts(
        rec.pool.model_dump(exclude_none=True),
        idle=idle,
        network=network,
        shape=shape,
        driver=driver,
        connect_args=rec.connect_args,
    )
    left = [v for v in verdicts(after) if v.severity is not None and v.severity is not Severity.INFO]
    assert not left, [(v.limit.what, v.outcome) for v in left]


# A lifetime limit (Fly's proxy restarts: connections older than 600 s are reset) counts age, not idleness:
# only a maximum age below it retires connections in time; an idle timer or keepalives do not.
IDLE_TIMER = PoolPolicy("asyncpg", "idle timer 300", max_idle=300, max_idle_knob=Knob("max_inactive", 300))
AGE_540 = PoolPolicy("sqlalchemy", "recycle 540", max_age=540, max_age_knob=Knob("pool_recycle", 540))
AGE_3600 = PoolPolicy("sqlalchemy", "recycle 3600", max_age=3600, max_age_knob=Knob("pool_recycle", 3600))
KEEPALIVE = PoolPolicy("sqlalchemy", "keepalives 60", keepalive_idle=60, keepalive_knob=Knob("keepalives_idle", 60))
LIFETIME_EXPECTED = [
    # (policy, outcome against a 600 s lifetime reset, outcome against a 600 s idle reset)
    (NAIVE, Outcome.FAILS, Outcome.FAILS),
    (IDLE_TIMER, Outcome.FAILS, Outcome.SURVIVES),
    (AGE_540, Outcome.SURVIVES, Outcome.SURVIVES),
    (AGE_3600, Outcome.FAILS, Outcome.FAILS),
    (PING, Outcome.REPLACED, Outcome.REPLACED),
    (KEEPALIVE, Outcome.FAILS, Outcome.FAILS),  # the limit's holder counts age (and is not refreshed by them)
    (NULL, Outcome.SURVIVES, Outcome.SURVIVES),
]


@pytest.mark.parametrize(("policy", "lifetime", "idle"), LIFETIME_EXPECTED, ids=lambda p: getattr(p, "label", None))
def test_a_lifetime_limit_is_met_only_by_a_max_age(policy: PoolPolicy, lifetime: Outcome, idle: Outcome) -> None:
    def limit(kind: str) -> Limit:
        return Limit(
            "Fly proxy restart",
            600,
            Shape.RESET,
            Layer.PLATFORM,
            "Fly.io",
            "documented by Fly.io",
            Provenance.DOCUMENTED,
            kind=kind,
        )

    assert judge(policy, limit("lifetime")).outcome is lifetime
    assert judge(policy, limit("idle")).outcome is idle
