"""Pure: facts -> recommended pool settings and driver connect_args, each with its reason.

Every value answers one question: what closes idle connections on this path, and how fast?
"""

from __future__ import annotations

import dataclasses
import math
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pool_doctor.durations import format_seconds
from pool_doctor.model import SCHEMA_VERSION, Finding, Severity, to_jsonable
from pool_doctor.path.judge import LINUX_KEEPALIVE_IDLE, margin
from pool_doctor.path.model import Limit
from pool_doctor.rules.budget import WARN_RATIO, caps, demand_line
from pool_doctor.rules.facts import Facts, idle_limits
from pool_doctor.rules.timeouts import CHURN_FLOOR
from pool_doctor.stacks.base import PoolModel
from pool_doctor.stacks.sqlalchemy import SQLAlchemyPool

if TYPE_CHECKING:
    from pool_doctor.check import CheckReport

DEFAULT_RECYCLE = 1800  # seconds: managed-cloud practice when nothing on the path is known to be shorter
COMMAND_TIMEOUT = 30  # seconds: a query on a blackholed flow fails here instead of after ~15 min of TCP retries
KEEPALIVE_IDLE = 60  # seconds of silence before the first keepalive, when no middlebox limit is known
KEEPALIVE_INTERVAL = 10
KEEPALIVE_COUNT = 3


class PythonCode(str):
    """A connect_args value that is code, not data (a function): `--format python` pastes it, JSON describes it."""

    def __new__(cls, code: str, description: str) -> PythonCode:
        self = super().__new__(cls, code)
        self.json_value = description
        return self

    json_value: str


@dataclass(frozen=True)
class Reason:
    key: str
    value: Any
    current: Any
    why: str
    evidence: list[str] = field(default_factory=list)
    short: str = ""  # the reason in a few words, for the terminal; `why` is the whole of it


@dataclass(frozen=True)
class Recommendation:
    driver: str  # "asyncpg", "psycopg" or "psycopg2": whose connect_args these are
    pool: PoolModel
    connect_args: dict[str, Any]
    reasons: list[Reason]
    server_sql: list[Reason]
    findings: list[Finding]
    stack: str = "sqlalchemy"
    # The stack's own keys after the changes, nested as the library takes them (every stack but SQLAlchemy,
    # whose keys are `pool` and `connect_args`).
    values: dict[str, Any] = field(default_factory=dict)
    # The library callable the app's code calls (--app: `psycopg_pool.AsyncConnectionPool`), so the code
    # recommended is the app's own variant, async or sync; None: the stack's usual one.
    call: str | None = None


def recommend(facts: Facts, findings: list[Finding] | None = None, call: str | None = None) -> Recommendation:
    """Values for the settings check's findings speak of, and only those: each finding names its keys.
    `call`: the callable the app's code creates the pool with, when it was scanned."""
    if findings is None:
        from pool_doctor.rules import evaluate

        findings = evaluate(facts)
    spoken = {key for finding in findings for key in finding.keys}
    limits = idle_limits(facts)
    current = facts.settings.pool
    if not isinstance(current, SQLAlchemyPool):
        return dataclasses.replace(_recommend_stack(facts, spoken, limits), call=call)
    reasons: list[Reason] = []
    if "poolclass" in spoken and facts.runtime is not None and facts.runtime.freezes:
        reasons.append(_poolclass(facts))
    if "pool_pre_ping" in spoken:
        reasons.append(_pool_pre_ping(facts, limits))
    if "pool_recycle" in spoken:
        reasons.append(_pool_recycle(facts, limits))
    sizes, size_findings = _sizes(facts) if {"pool_size", "max_overflow"} & spoken else ([], [])
    reasons += sizes
    connect_args, connect_reasons = _connect_args(facts, spoken)
    given = facts.settings.connect_args  # what the app passes today ([connect_args] in the config)
    reasons += [
        dataclasses.replace(r, current=given.get(r.key.removeprefix("connect_args.").split(".")[0]))
        for r in connect_reasons
    ]
    changes = {r.key: r.value for r in reasons if not r.key.startswith("connect_args.")}
    pool = current.model_copy(update=changes)
    return Recommendation(
        driver=facts.driver.name,
        pool=pool,
        connect_args={**given, **connect_args},
        reasons=reasons,
        server_sql=_server_sql(facts, limits),
        findings=size_findings,
        call=call,
    )


def _recommend_stack(facts: Facts, spoken: set[str], limits: list[Limit]) -> Recommendation:
    """asyncpg's pool, psycopg_pool, Django: each lever a finding names, set in the stack's own key."""
    from pool_doctor.stacks import flatten, stack_of, unflatten

    stack = stack_of(facts.settings.pool)
    policy = facts.app_policy
    lever_of = {key: lever for lever, key in policy.levers}
    current = flatten(stack.values(facts.settings.pool))
    target = recommended_recycle(limits)
    evidence = [limit.what for limit in limits]
    reasons: list[Reason] = []
    changes: dict[str, Any] = {}
    for key in sorted(spoken & set(lever_of), key=lambda k: [lever for lever, _ in policy.levers].index(lever_of[k])):
        lever = lever_of[key]
        value, why = _lever_value(facts, lever, key, target)
        if isinstance(value, dict):
            changes.update(flatten(value, key.rsplit(".", 1)[0] + "." if "." in key else ""))
        else:
            changes[key] = value
        reasons.append(Reason(key, value, current.get(key), why, evidence))
    merged = {**current, **changes}
    if stack.name == "django":
        merged.setdefault("ENGINE", "django.db.backends.postgresql")
    return Recommendation(
        driver=facts.driver.name,
        pool=facts.settings.pool,
        connect_args={},
        reasons=reasons,
        server_sql=_server_sql(facts, limits),
        findings=[],
        stack=stack.name,
        values=unflatten(merged),
    )


def _lever_value(facts: Facts, lever: str, key: str, target: int) -> tuple[Any, str]:
    """The value for one lever, in the stack's terms, and why."""
    asyncpg = facts.driver.name == "asyncpg"
    if lever == "max_age":
        return target, (
            f"Retire connections after {format_seconds(target)}, before the smallest limit on the path "
            "ends them; the age is checked when a request takes the connection."
        )
    if lever == "max_idle":
        if asyncpg:
            return float(target), (
                f"Close connections idle longer than the limits on the path allow (below {format_seconds(target + 1)})."
            )
        # psycopg_pool's shrink task closes one connection per max_idle period (pool_doctor/stacks/psycopg_pool.py).
        from pool_doctor.stacks import psycopg_pool

        values = {**psycopg_pool.DEFAULTS, **(facts.settings.pool.model_extra or {})}
        pool = values.get("pool") if isinstance(values.get("OPTIONS"), dict) else None
        sizes = pool if isinstance(pool, dict) else values
        low = int(sizes.get("min_size") or 4)
        high = int(sizes.get("max_size") or low)
        periods = max(high - low, 1) + 1
        return float(max(1, target // periods)), (
            f"psycopg_pool closes one idle connection above min_size per max_idle period: {periods} periods "
            f"stay below {format_seconds(target + 1)}."
        )
    if lever == "spares":
        return 0, (
            "The idle timer spares min_size connections: with nothing to test them at checkout, a floor "
            "of connections outlives the path's idle limit. 0 lets the timer retire every idle one."
        )
    if lever == "ping":
        value: Any = "check_connection" if key == "check" else True
        return value, "Test each connection when a request takes it, and replace it if the path has closed it."
    if lever == "hang":
        if asyncpg:
            return COMMAND_TIMEOUT, (
                "A query on a silently dropped flow fails after this many seconds instead of "
                "hanging until TCP gives up (~15 min)."
            )
        return COMMAND_TIMEOUT * 1000, (
            "Milliseconds unacknowledged data may wait: a query on a silently dropped "
            "flow fails after 30 s instead of ~15 min."
        )
    idle = keepalive_idle(facts)
    why = f"TCP keepalives after {idle}s of silence keep a middlebox from forgetting an idle flow."
    if asyncpg:
        return {
            "tcp_keepalives_idle": str(idle),
            "tcp_keepalives_interval": str(KEEPALIVE_INTERVAL),
            "tcp_keepalives_count": str(KEEPALIVE_COUNT),
        }, why + " asyncpg asks the server to send them."
    return {
        "keepalives": 1,
        "keepalives_idle": idle,
        "keepalives_interval": KEEPALIVE_INTERVAL,
        "keepalives_count": KEEPALIVE_COUNT,
    }, why


def _sqlalchemy(facts: Facts) -> SQLAlchemyPool:
    pool = facts.settings.pool
    assert isinstance(pool, SQLAlchemyPool)
    return pool


def _pool_pre_ping(facts: Facts, limits: list[Limit]) -> Reason:
    through = (
        f" Through {facts.pooler.label} the ping tests the app's connection to the pooler (and, in transaction "
        "mode, whichever backend runs it); the pooler replaces its own dead server connections."
        if facts.behind_pooler and facts.pooler is not None
        else ""
    )
    causes = [limit.what for limit in limits] or [
        "no idle limit is known on this path, but a restart, failover or an unseen middlebox can still close "
        "idle connections"
    ]
    return Reason(
        "pool_pre_ping",
        True,
        _sqlalchemy(facts).pool_pre_ping,
        "Something the pool cannot see may close idle connections; a ping at checkout finds a dead one and "
        f"replaces it before the request uses it. Cost: one round trip per checkout ({facts.driver.ping}).{through}",
        causes,
        "a ping at checkout replaces a dead connection",
    )


def _poolclass(facts: Facts) -> Reason:
    """A runtime that freezes between invocations: no pool at all, and a pooler outside the process."""
    runtime = facts.runtime
    assert runtime is not None
    return Reason(
        "poolclass",
        "NullPool",
        _sqlalchemy(facts).poolclass,
        f"{runtime.name} freezes the process between invocations, so no pool timer fires while it is frozen and "
        "a kept connection can come back dead. NullPool opens a connection per checkout and closes it at its end; "
        "put an external pooler (RDS Proxy, Supavisor transaction mode, Neon's -pooler host, PgBouncer) in front "
        "of the server so connecting stays cheap.",
        [*runtime.evidence, *runtime.advice],
    )


def recommended_recycle(limits: list[Limit]) -> int:
    """Below the smallest limit by the judge's margin; 30 s at the least unless that limit forces less."""
    if not limits:
        return DEFAULT_RECYCLE
    smallest = min(limit.seconds for limit in limits)
    below = math.floor(smallest - margin(smallest))
    return max(below, 1) if below < CHURN_FLOOR else below


def _pool_recycle(facts: Facts, limits: list[Limit]) -> Reason:
    current = _sqlalchemy(facts).pool_recycle
    value = recommended_recycle(limits)
    floor = min(CHURN_FLOOR, value)
    if limits:
        smallest = limits[0]
        if 0 < current <= value and current >= floor:
            value = current  # already safely below the limit: no churn from changing it
        why = (
            f"The smallest limit on the path is {smallest.shown} ({smallest.holder}); "
            f"retiring connections {format_seconds(smallest.seconds - value)} before it leaves room for a request that "
            "holds a connection past its checkout, since pool_recycle is only checked at checkout."
        )
        if value < CHURN_FLOOR:
            why += f" Below {CHURN_FLOOR}s because the limit itself forces it: expect frequent reconnects."
        evidence = [limit.what for limit in limits]
    else:
        if 0 < current <= DEFAULT_RECYCLE and current >= CHURN_FLOOR:
            value = current
        why = (
            "No idle or lifetime limit is known on this path; a lifetime of at most 30 minutes (managed-cloud "
            "practice) bounds what an unseen middlebox or a failover can do, at one reconnect per connection per period."
        )
        evidence = ["no server idle_session_timeout, [network] idle_timeout or pooler limit"]
    short = (
        f"retires connections before {format_seconds(limits[0].seconds)} ({limits[0].holder})"
        if limits
        else "bounds what an unseen limit can do"
    )
    return Reason("pool_recycle", value, current, why, evidence, short)


def _sizes(facts: Facts) -> tuple[list[Reason], list[Finding]]:
    pool = _sqlalchemy(facts)
    found = caps(facts)
    if not found:
        why = (
            "The app's connections end at the pooler, whose max_client_conn is unknown (no console access): "
            "keep the current sizes and let the pooler's pool size bound the server."
        )
        short = "unchanged: the pooler's limit is unknown"
        return [
            Reason("pool_size", pool.pool_size, pool.pool_size, why, short=short),
            Reason("max_overflow", pool.max_overflow, pool.max_overflow, why, short=short),
        ], []
    tightest = min(found, key=lambda c: c.limit)
    what, cap = tightest.what, tightest.limit
    pools = facts.settings.deployment.pools
    per_pool = math.floor(WARN_RATIO * cap / pools) if cap > 0 else 0
    evidence = [demand_line(facts), f"{what}: {cap} ({tightest.evidence})"]
    findings: list[Finding] = []
    if pool.max_connections <= per_pool:
        size, overflow = pool.pool_size, pool.max_overflow
        why = f"{pools} pool(s) at their maximum fit within 80% of {what} ({cap}); no change needed."
    elif per_pool >= 1:
        size = min(pool.pool_size, per_pool)
        overflow = per_pool - size
        why = (
            f"{pools} pool(s) x {per_pool} connections = {pools * per_pool} stays within 80% of {what} ({cap}), "
            "leaving headroom for deploys that briefly run old and new replicas together."
        )
    else:
        size, overflow = 1, 0
        why = f"Even one connection per pool does not fit: {pools} pool(s) against {what} ({cap})."
        findings.append(
            Finding(
                "budget-no-fit",
                Severity.CRITICAL,
                f"{pools} pools cannot each hold even one connection within {what} ({cap})",
                "Put a pooler in front (PgBouncer in transaction mode multiplexes many client connections onto few "
                "server connections), or run fewer replicas/workers per database.",
                evidence,
            )
        )
    short = (
        f"the smallest pool: even so {pools} pools overrun {what} ({cap})"
        if findings
        else f"all pools fit in 80% of {what} ({cap})"
    )
    return [
        Reason("pool_size", size, pool.pool_size, why, evidence, short),
        Reason("max_overflow", overflow, pool.max_overflow, why, evidence, short),
    ], findings


def keepalive_idle(facts: Facts) -> int:
    """The first keepalive must come well before a middlebox forgets the flow."""
    network_idle = facts.settings.network.idle_timeout
    if network_idle:
        return max(1, min(KEEPALIVE_IDLE, math.floor(network_idle / 2)))
    return KEEPALIVE_IDLE


def _connect_args(facts: Facts, spoken: set[str]) -> tuple[dict[str, Any], list[Reason]]:
    """The driver's arguments the findings name: a bound on hung queries, keepalives, statement caches."""
    policy = facts.app_policy
    args: dict[str, Any] = {}
    reasons: list[Reason] = []
    idle = keepalive_idle(facts)
    why_keepalive = (
        f"TCP keepalives after {idle}s of silence keep a middlebox from forgetting an idle flow"
        + (
            f" (its limit: {format_seconds(facts.settings.network.idle_timeout)})"
            if facts.settings.network.idle_timeout
            else ""
        )
        + ", and detect a dead peer in seconds instead of the OS default 2 h."
    )
    asyncpg = facts.driver.name == "asyncpg"
    if policy.lever("hang") in spoken:
        if asyncpg:
            args["command_timeout"] = COMMAND_TIMEOUT
            reasons.append(
                Reason(
                    "connect_args.command_timeout",
                    COMMAND_TIMEOUT,
                    None,
                    "A query (or pre-ping) on a silently dropped flow fails after this many seconds instead of hanging "
                    "until TCP gives up (~15 min). Raise it if the app runs longer queries on purpose.",
                    short=f"a dropped flow fails in {COMMAND_TIMEOUT}s, not ~15 min",
                )
            )
        else:
            args["tcp_user_timeout"] = COMMAND_TIMEOUT * 1000  # libpq takes milliseconds
            reasons.append(
                Reason(
                    "connect_args.tcp_user_timeout",
                    args["tcp_user_timeout"],
                    None,
                    "Milliseconds unacknowledged data may wait: a query (or pre-ping) on a silently dropped flow fails "
                    "after 30 s instead of ~15 min of TCP retries.",
                    short="a dropped flow fails in 30s, not ~15 min",
                )
            )
    if policy.lever("keepalive") in spoken:
        if asyncpg and not facts.behind_pooler:
            # asyncpg has no client-side keepalive options: ask the server to send them on this session.
            # (Not through a pooler: PgBouncer refuses startup parameters it does not know.)
            args["server_settings"] = {
                "tcp_keepalives_idle": str(idle),
                "tcp_keepalives_interval": str(KEEPALIVE_INTERVAL),
                "tcp_keepalives_count": str(KEEPALIVE_COUNT),
            }
            reasons.append(
                Reason(
                    "connect_args.server_settings.tcp_keepalives_idle",
                    args["server_settings"],
                    None,
                    why_keepalive + " asyncpg has no client keepalive options, so the server sends them.",
                    short=f"server keepalives every {idle}s keep the flow alive",
                )
            )
        elif not asyncpg:
            keepalives = {
                "keepalives": 1,
                "keepalives_idle": idle,
                "keepalives_interval": KEEPALIVE_INTERVAL,
                "keepalives_count": KEEPALIVE_COUNT,
            }
            args.update(keepalives)
            reasons.append(
                Reason(
                    "connect_args.keepalives_idle",
                    keepalives,
                    None,
                    why_keepalive,
                    short=f"keepalives every {idle}s keep the flow alive",
                )
            )
    return _statement_args(facts, args, reasons, spoken)


UNIQUE_NAME_CODE = "lambda: f'__asyncpg_{uuid4()}__'"


def unique_statement_name() -> str:
    """SQLAlchemy's documented prepared_statement_name_func for asyncpg behind PgBouncer."""
    return f"__asyncpg_{uuid.uuid4()}__"


def _statement_args(
    facts: Facts, args: dict[str, Any], reasons: list[Reason], spoken: set[str]
) -> tuple[dict[str, Any], list[Reason]]:
    """Behind transaction pooling, named prepared statements must not outlive a transaction."""
    pooler = facts.pooler
    if pooler is None or not ({"connect_args.statement_cache_size", "connect_args.prepare_threshold"} & spoken):
        return args, reasons
    evidence = [f"connections go through {pooler.label}", *pooler.evidence[-1:]]
    if facts.driver.name == "asyncpg":
        args.update(
            statement_cache_size=0,
            prepared_statement_cache_size=0,
            prepared_statement_name_func=PythonCode(UNIQUE_NAME_CODE, "uuid4"),
        )
        reasons.append(
            Reason(
                "connect_args.statement_cache_size",
                "statement_cache_size=0, prepared_statement_cache_size=0, prepared_statement_name_func=uuid4",
                None,
                "Transaction pooling runs each transaction on any backend: asyncpg's numbered statement names collide "
                "('prepared statement \"__asyncpg_stmt_1__\" already exists') and cached ones go missing. No caches and "
                "unique names (SQLAlchemy's asyncpg docs) make every statement live within its transaction.",
                evidence,
                "no statement outlives its transaction",
            )
        )
    else:
        args["prepare_threshold"] = None
        reasons.append(
            Reason(
                "connect_args.prepare_threshold",
                None,
                None,
                "Transaction pooling runs each transaction on any backend: psycopg's prepared statements (after 5 "
                "executions) go missing. None turns server-side preparing off.",
                evidence,
                "no prepared statements behind transaction pooling",
            )
        )
    return args, reasons


def jsonable_connect_args(args: dict[str, Any]) -> dict[str, Any]:
    """connect_args for JSON: code (PythonCode, or a function the probe made of it) is described, not dumped."""
    out: dict[str, Any] = {}
    for key, value in args.items():
        if isinstance(value, PythonCode):
            out[key] = value.json_value
        elif callable(value):
            out[key] = f"<function {getattr(value, '__name__', 'callable')}>"
        else:
            out[key] = value
    return out


def materialize_connect_args(args: dict[str, Any]) -> dict[str, Any]:
    """connect_args as a driver takes them: the config file describes Python-only values with strings
    (prepared_statement_name_func = "uuid4", prepare_threshold = "none")."""
    out = dict(args)
    if "prepared_statement_name_func" in out and not callable(out["prepared_statement_name_func"]):
        out["prepared_statement_name_func"] = unique_statement_name
    if isinstance(out.get("prepare_threshold"), str) and out["prepare_threshold"].lower() == "none":
        out["prepare_threshold"] = None
    return out


def _server_sql(facts: Facts, limits: list[Limit]) -> list[Reason]:
    """Suggestions for the DBA, as SQL. pool-doctor never applies them (nor suggests any without the server)."""
    server = facts.server
    if server is None:
        return []
    suggestions: list[Reason] = []
    network_idle = facts.settings.network.idle_timeout
    keepalive = server.setting("tcp_keepalives_idle")
    if network_idle and keepalive.present and (keepalive.seconds or LINUX_KEEPALIVE_IDLE) >= network_idle:
        idle = keepalive_idle(facts)
        suggestions.append(
            Reason(
                "server.tcp_keepalives_idle",
                f"ALTER ROLE {_ident(server.role)} SET tcp_keepalives_idle = {idle};",
                keepalive.display,
                f"The server's first keepalive comes after the middlebox forgets the flow "
                f"({format_seconds(network_idle)}); keepalives every {idle}s keep the app's idle connections alive.",
                [keepalive.describe()],
                "keepalives before the middlebox forgets the flow",
            )
        )
    idle_session = server.setting("idle_session_timeout")
    if idle_session.is_on and idle_session.seconds and idle_session.seconds < 300:
        suggestions.append(
            Reason(
                "server.idle_session_timeout",
                f"ALTER ROLE {_ident(server.role)} IN DATABASE {_ident(server.database)} SET idle_session_timeout = '10min';",
                idle_session.display,
                "A pooled app keeps connections idle by design; a limit this short forces reconnects every "
                f"{format_seconds(recommended_recycle(limits))}. If the limit exists to reap leaked sessions, a longer "
                "one does that too.",
                [idle_session.describe()],
                "a pooled app idles by design",
            )
        )
    return suggestions


def _ident(name: str) -> str:
    """Quote an identifier the way PostgreSQL's quote_ident does when it must."""
    if name.isidentifier() and name == name.lower():
        return name
    return '"' + name.replace('"', '""') + '"'


# -- the one JSON form of a recommendation ------------------------------------------------------


def recommendation_json(report: CheckReport, rec: Recommendation) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "target": report.inputs.target.display(),
        "role": report.server.role,
        "driver": rec.driver,
        "stack": rec.stack,
        "recommendation": (
            {**rec.pool.model_dump(exclude_none=True), "connect_args": jsonable_connect_args(rec.connect_args)}
            if rec.stack == "sqlalchemy"
            else rec.values
        ),
        "reasons": [to_jsonable(reason) for reason in rec.reasons],
        "server_sql": [to_jsonable(reason) for reason in rec.server_sql],
        "findings": [to_jsonable(finding) for finding in rec.findings],
        "limitations": report.server.limitations,
    }


def app_recommendations_json(report: CheckReport, recs: list[tuple[CheckReport, Recommendation]]) -> dict[str, Any]:
    """--app: one recommendation per pool the code creates, each under its file:line."""
    shared = ("target", "role", "schema_version")
    return {
        "schema_version": SCHEMA_VERSION,
        "target": report.inputs.target.display(),
        "role": report.server.role,
        "app": report.inputs.app,
        "pools": [
            {
                "pool": to_jsonable(one.pools[0].app.ref),
                **{k: v for k, v in recommendation_json(one, rec).items() if k not in shared},
            }
            for one, rec in recs
        ],
    }
