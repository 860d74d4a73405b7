"""Pure: facts -> recommended values in the app's own stack and driver, each with its reason.

Every value answers one question: what closes idle connections on this path, and how fast? Only the keys
check's findings name are changed (each finding names the keys that fix it); each is set through the lever
the stack's policy names for it, with the value the stack (or the driver) takes for that lever.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from pool_doctor.durations import format_seconds
from pool_doctor.model import Finding, Severity, to_jsonable
from pool_doctor.path.judge import LINUX_KEEPALIVE_IDLE, retire_by
from pool_doctor.path.model import Limit
from pool_doctor.redact import is_secret_key, masked
from pool_doctor.rules import codes
from pool_doctor.rules.budget import WARN_RATIO, caps, demand_line
from pool_doctor.rules.facts import Facts, idle_limits
from pool_doctor.rules.timeouts import CHURN_FLOOR
from pool_doctor.stacks import Stack, flatten, stack_of, unflatten
from pool_doctor.stacks.base import CONNECT_ARGS, PoolModel
from pool_doctor.stacks.demotion import Demotion

DEFAULT_RECYCLE = 1800  # seconds: managed-cloud practice when nothing on the path is known to be shorter
COMMAND_TIMEOUT = 30  # seconds: a query on a blackholed flow fails here instead of after ~15 min of TCP retries
KEEPALIVE_IDLE = 60  # seconds of silence before the first keepalive, when no middlebox limit is known
KEEPALIVE_INTERVAL = 10
KEEPALIVE_COUNT = 3
ARGS = CONNECT_ARGS + "."  # [connect_args], as recommend names its keys


@dataclass(frozen=True)
class Reason:
    key: str
    value: Any
    current: Any
    why: str
    evidence: list[str] = field(default_factory=list)
    short: str = ""  # the reason in a few words, for the terminal; `why` is the whole of it
    # The keys (dotted, as `key`) this reason sets, when more than `key` itself: keepalives' three or four,
    # the statement caches and their names.
    sets: dict[str, Any] = field(default_factory=dict, compare=False)

    def changes(self) -> dict[str, Any]:
        return self.sets or {self.key: self.value}

    def to_json(self) -> dict[str, Any]:
        """The reason as JSON: what it sets is the recommendation's own, so `sets` stays out."""
        return {key: value for key, value in to_jsonable(self).items() if key != "sets"}


@dataclass(frozen=True)
class Recommendation:
    driver: str  # "asyncpg", "psycopg" or "psycopg2": whose connect arguments these are
    pool: PoolModel  # the stack's config model with the changes
    connect_args: dict[str, Any]  # [connect_args] with the changes (SQLAlchemy's connect_args=...)
    reasons: list[Reason]
    server_sql: list[Reason]
    findings: list[Finding]
    stack: str = "sqlalchemy"
    # The stack's own keys after the changes, nested as the library takes them.
    values: dict[str, Any] = field(default_factory=dict)
    # The library callable the app's code calls (--app: `psycopg_pool.AsyncConnectionPool`), so the code
    # recommended is the app's own variant, async or sync; None: the stack's usual one.
    call: str | None = None
    # The app's keys named like secrets (dotted): kept here (the probe connects with them), left out of every
    # form the recommendation is shown in (render/recommend.py).
    left_out: tuple[str, ...] = ()
    # Code for the app to add where no setting can do the job (a demoted primary: stacks/demotion.py).
    code: tuple[Demotion, ...] = ()


def recommend(facts: Facts, findings: list[Finding] | None = None, call: str | None = None) -> Recommendation:
    """Values for the settings check's findings speak of, and only those: each finding names its keys.
    `call`: the callable the app's code creates the pool with, when it was scanned."""
    if findings is None:
        from pool_doctor.rules import evaluate

        findings = evaluate(facts)
    spoken = {key for finding in findings for key in finding.keys}
    limits = idle_limits(facts)
    stack = stack_of(facts.settings.pool)
    current = {
        **flatten(stack.values(facts.settings.pool)),
        **{ARGS + key: value for key, value in flatten(facts.settings.connect_args).items()},
    }
    reasons: list[Reason] = []
    sizes_found: list[Finding] = []
    for lever in LEVERS:
        key = facts.app_policy.lever(lever)
        if lever == "statements":
            reasons += _statements(facts, stack, spoken)
        elif lever == "sizes":
            found, sizes_found = _sizes(facts, spoken)
            reasons += found
        elif key is not None and key in spoken:
            advice = ADVICE[lever](facts, stack, key, limits)
            if advice is not None:
                reasons.append(advice)
    demoted = next((f for f in findings if f.code == codes.DEMOTED_PRIMARY.code), None)
    code: tuple[Demotion, ...] = ()
    if demoted is not None:
        reasons += _read_write(stack, spoken, demoted)
        fix = stack.demotion(facts.driver, call)
        code = (fix,) if fix is not None else ()
    nested = unflatten(current)
    reasons = [
        # What the app has now for the key, any password in it masked.
        replace(reason, current=masked(_now(nested, reason.key))) if reason.current is None else reason
        for reason in reasons
    ]
    changes = {key: value for reason in reasons for key, value in reason.changes().items()}
    merged = {**stack.required, **current, **changes}
    own = {key: value for key, value in merged.items() if not key.startswith(ARGS)}
    connect_args = unflatten({key.removeprefix(ARGS): value for key, value in merged.items() if key.startswith(ARGS)})
    values = unflatten(own)
    return Recommendation(
        driver=facts.driver.name,
        pool=stack.model.model_validate({"stack": stack.name, **values}),
        connect_args=connect_args,
        reasons=reasons,
        server_sql=_server_sql(facts, limits),
        findings=sizes_found,
        stack=stack.name,
        values=values,
        call=call,
        left_out=tuple(key for key in current if is_secret_key(key)),
        code=code,
    )


def _read_write(stack: Stack, spoken: set[str], demoted: Finding) -> list[Reason]:
    """target_session_attrs=read-write, when the demoted-primary finding names it: checked at connect only,
    so it is what sends the connections the pool opens after dropping the old ones to the new primary."""
    key = stack.read_write_key()
    if key is None or key not in spoken:
        return []
    return [
        Reason(
            key,
            "read-write",
            None,
            "A new connection goes only to a server that accepts writes (libpq and asyncpg >= 0.28 try each host "
            "in turn and skip a standby or a server with default_transaction_read_only on). It is checked at "
            "connect only: the code below makes the pool let go of connections to a demoted primary.",
            list(demoted.evidence),
            short="a writable server at connect",
        )
    ]


def _now(nested: dict[str, Any], key: str) -> Any:
    """What the app has now for a key; None (shown "unset") when the app does not give it, even where it gives
    the table the key goes in (server_settings with only application_name: tcp_keepalives_idle is unset)."""
    node: Any = nested
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


# -- one value per lever, in the stack's or the driver's terms -------------------------------------------


def _no_pool(facts: Facts, stack: Stack, key: str, limits: list[Limit]) -> Reason:
    """A runtime that freezes between invocations: no pool at all, and a pooler outside the process."""
    runtime = facts.runtime
    assert runtime is not None
    return Reason(
        key,
        stack.no_pool_value,
        None,
        f"{runtime.name} freezes the process between invocations, so no pool timer fires while it is frozen and "
        "a kept connection can come back dead. NullPool opens a connection per checkout and closes it at its end; "
        "put an external pooler (RDS Proxy, Supavisor transaction mode, Neon's -pooler host, PgBouncer) in front "
        "of the server so connecting stays cheap.",
        [*runtime.evidence, *runtime.advice],
    )


def _ping(facts: Facts, stack: Stack, key: str, limits: list[Limit]) -> Reason:
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
        key,
        stack.ping_value,
        None,
        "Something the pool cannot see may close idle connections; a ping at checkout finds a dead one and "
        f"replaces it before the request uses it. Cost: one round trip per checkout ({stack.ping_cost(facts.driver)})."
        f"{through}",
        causes,
        "a ping at checkout replaces a dead connection",
    )


def recommended_recycle(limits: list[Limit]) -> int:
    """Below the smallest limit by the judge's margin (the number check's findings give), at least 1 s."""
    if not limits:
        return DEFAULT_RECYCLE
    return retire_by(min(limit.seconds for limit in limits))


def _max_age(facts: Facts, stack: Stack, key: str, limits: list[Limit]) -> Reason:
    policy = facts.app_policy
    now = policy.max_age or 0  # seconds; SQLAlchemy's -1 (never) reads as none
    value = recommended_recycle(limits)
    floor = min(CHURN_FLOOR, value)
    if limits:
        smallest = limits[0]
        if 0 < now <= value and now >= floor:
            value = int(now)  # already safely below the limit: no churn from changing it
        why = (
            f"The smallest limit on the path is {smallest.shown} ({smallest.holder}); "
            f"retiring connections {format_seconds(smallest.seconds - value)} before it leaves room for a request that "
            f"holds a connection past its checkout, since {key} is only checked at checkout."
        )
        if value < CHURN_FLOOR:
            why += f" Below {CHURN_FLOOR}s because the limit itself forces it: expect frequent reconnects."
        evidence = [limit.what for limit in limits]
        short = f"retires connections before {format_seconds(limits[0].seconds)} ({limits[0].holder})"
    else:
        if 0 < now <= DEFAULT_RECYCLE and now >= CHURN_FLOOR:
            value = int(now)
        why = (
            "No idle or lifetime limit is known on this path; a lifetime of at most 30 minutes (managed-cloud "
            "practice) bounds what an unseen middlebox or a failover can do, at one reconnect per connection per period."
        )
        evidence = ["no server idle_session_timeout, [network] idle_timeout or pooler limit"]
        short = "bounds what an unseen limit can do"
    return Reason(key, value, None, why, evidence, short)


def _max_idle(facts: Facts, stack: Stack, key: str, limits: list[Limit]) -> Reason:
    target = recommended_recycle(limits)
    value, why = stack.max_idle_value(target, facts.settings.pool)
    return Reason(key, value, None, why, [limit.what for limit in limits])


def _spares(facts: Facts, stack: Stack, key: str, limits: list[Limit]) -> Reason:
    sets = stack.no_spares(key, facts.settings.pool)
    return Reason(
        key,
        0,
        None,
        "The idle timer spares min_size connections: a floor of connections outlives the path's idle limit. 0 "
        "lets the timer retire every idle one before the limit"
        + (" (max_size said, as the pool would otherwise take max_size = min_size)." if len(sets) > 1 else "."),
        [limit.what for limit in limits],
        "",
        sets,
    )


def _hang(facts: Facts, stack: Stack, key: str, limits: list[Limit]) -> Reason:
    value, why, short = facts.driver.hang_setting(COMMAND_TIMEOUT)
    return Reason(key, value, None, why, [], short)


def keepalive_idle(facts: Facts) -> int:
    """The first keepalive must come well before a middlebox forgets the flow."""
    return keepalive_timing(facts)[0]


def keepalive_timing(facts: Facts) -> tuple[int, int, int]:
    """(idle, interval, count): the first keepalive halfway to the middlebox's limit, and the last probe that
    would find a dead peer still within the judge's margin of it (idle + interval x count)."""
    network_idle = facts.settings.network.idle_timeout
    if not network_idle:
        return KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_COUNT
    idle = max(1, min(KEEPALIVE_IDLE, math.floor(network_idle / 2)))
    remaining = max(retire_by(network_idle) - idle, 1)
    interval = max(1, min(KEEPALIVE_INTERVAL, remaining // KEEPALIVE_COUNT))
    return idle, interval, max(1, min(KEEPALIVE_COUNT, remaining // interval))


def _keepalive(facts: Facts, stack: Stack, key: str, limits: list[Limit]) -> Reason | None:
    if facts.behind_pooler and not facts.driver.keepalives_through_pooler:
        return None  # asyncpg asks the server in startup parameters, which PgBouncer refuses when it does not know them
    idle = keepalive_idle(facts)
    network_idle = facts.settings.network.idle_timeout
    why = (
        f"TCP keepalives after {idle}s of silence keep a middlebox from forgetting an idle flow"
        + (f" (its limit: {format_seconds(network_idle)})" if network_idle else "")
        + ", and detect a dead peer in seconds instead of the OS default 2 h."
        + facts.driver.keepalive_note
    )
    settings = facts.driver.keepalive_settings(*keepalive_timing(facts))
    short = (
        "server keepalives" if facts.driver.keepalive_note else "keepalives"
    ) + f" every {idle}s keep the flow alive"
    return Reason(
        key,
        {
            name.rsplit(".", 1)[-1]: setting for name, setting in settings.items()
        },  # server_settings' three, libpq's four
        None,
        why,
        [],
        short,
        {stack.args_prefix + name: setting for name, setting in settings.items()},
    )


ADVICE: dict[str, Callable[[Facts, Stack, str, list[Limit]], Reason | None]] = {
    "no_pool": _no_pool,
    "ping": _ping,
    "max_age": _max_age,
    "max_idle": _max_idle,
    "spares": _spares,
    "hang": _hang,
    "keepalive": _keepalive,
}
# The order the reasons are given in: what the pool does, then what the driver does.
LEVERS = ("no_pool", "ping", "max_age", "max_idle", "spares", "sizes", "hang", "keepalive", "statements")


def _statements(facts: Facts, stack: Stack, spoken: set[str]) -> list[Reason]:
    """Behind transaction pooling, named prepared statements must not outlive a transaction."""
    pooler = facts.pooler
    cache = facts.driver.prepared_statements
    if pooler is None or cache is None:
        return []
    fix = cache.fix(stack.adapts_driver)
    keys = [stack.args_prefix + key for key in fix]
    if not set(keys) & spoken:
        return []
    evidence = [f"connections go through {pooler.label}", *pooler.evidence[-1:]]
    value: Any = fix[cache.keys[0]] if len(fix) == 1 else ", ".join(f"{k}={_described(v)}" for k, v in fix.items())
    sets = {stack.args_prefix + name: setting for name, setting in fix.items()}
    return [Reason(keys[0], value, None, cache.why, evidence, cache.short, sets)]


def _described(value: Any) -> str:
    return getattr(value, "json_value", None) or str(value)


def _sizes(facts: Facts, spoken: set[str]) -> tuple[list[Reason], list[Finding]]:
    policy = facts.app_policy
    size_key, overflow_key = policy.lever("size"), policy.lever("overflow")
    if size_key is None or overflow_key is None or not {size_key, overflow_key} & spoken:
        return [], []
    now = flatten(stack_of(facts.settings.pool).values(facts.settings.pool))
    current_size, current_overflow = int(now[size_key]), int(now[overflow_key])
    most = current_size + max(current_overflow, 0)
    found = caps(facts)
    if not found:
        why = (
            "The app's connections end at the pooler, whose max_client_conn is unknown (no console access): "
            "keep the current sizes and let the pooler's pool size bound the server."
        )
        short = "unchanged: the pooler's limit is unknown"
        return [
            Reason(size_key, current_size, current_size, why, short=short),
            Reason(overflow_key, current_overflow, current_overflow, why, short=short),
        ], []
    tightest = min(found, key=lambda c: c.limit)
    what, cap = tightest.what, tightest.limit
    pools = facts.settings.deployment.pools
    per_pool = math.floor(WARN_RATIO * cap / pools) if cap > 0 else 0
    evidence = [demand_line(facts), f"{what}: {cap} ({tightest.evidence})"]
    findings: list[Finding] = []
    if most <= per_pool:
        size, overflow = current_size, current_overflow
        why = f"{pools} pool(s) at their maximum fit within 80% of {what} ({cap}); no change needed."
    elif per_pool >= 1:
        size = min(current_size, per_pool)
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
        Reason(size_key, size, current_size, why, evidence, short),
        Reason(overflow_key, overflow, current_overflow, why, evidence, short),
    ], findings


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
