"""A target that can fail over: pre-ping cannot see a demoted primary, and a lost host hangs without a bound.

After a failover or switchover the old primary, still reachable read-only, answers `SELECT 1`: every pooled
connection to it passes pre-ping and fails every write with SQLSTATE 25006 (field notes section 9).
`target_session_attrs=read-write` is checked only when a connection is opened (libpq, asyncpg >= 0.28), so it
helps only once the pool lets go of the old ones: what each stack can add for that is its `demotion`.
"""

from __future__ import annotations

from pool_doctor.model import Finding, Severity
from pool_doctor.rules import codes
from pool_doctor.rules.facts import Facts
from pool_doctor.stacks import stack_of

WRITABLE = ("read-write", "primary")  # the target_session_attrs values that refuse a standby at connect
SESSION_ATTRS = "target_session_attrs"


def session_attrs(facts: Facts) -> tuple[str, str] | None:
    """(value, where) of target_session_attrs as the app's driver gets it: its arguments win over the URL."""
    given = facts.settings.connect_args.get(SESSION_ATTRS)
    if given is not None:
        return str(given), "connect_args"
    url_value = facts.target.param(SESSION_ATTRS) or dict(facts.target.driver_args).get(SESSION_ATTRS)
    return (url_value, "the URL") if url_value else None


def reasons_to_fail_over(facts: Facts) -> list[str]:
    """Why this target can fail over: several hosts, a target_session_attrs, a platform, the config."""
    found = []
    servers = [f"{host}:{port}" for host, port in zip(facts.target.hosts, facts.target.ports, strict=False)]
    if len(set(servers)) > 1:
        found.append(f"the URL names {len(servers)} hosts ({', '.join(servers)}): the driver picks one at connect")
    attrs = session_attrs(facts)
    if attrs is not None:
        found.append(f"{SESSION_ATTRS} = {attrs[0]} ({attrs[1]}): the app expects more than one server")
    platform = facts.platform
    if platform is not None and platform.entry.fails_over:
        found.append(f"{platform.entry.name}: {platform.entry.fails_over}")
    manager = facts.settings.network.failover
    if manager:
        found.append(f"[network] failover = {manager}: it can move the primary behind {facts.target.host}")
    return found


def _fact(facts: Facts) -> str:
    """Why it can fail over, in a few words (check's table shows the first evidence line)."""
    servers = {(host, port) for host, port in zip(facts.target.hosts, facts.target.ports, strict=False)}
    if len(servers) > 1:
        return f"fails over: {len(servers)} hosts in the URL"
    if facts.platform is not None and facts.platform.entry.fails_over:
        return f"fails over: {facts.platform.entry.key}"
    if facts.settings.network.failover:
        return f"fails over: {facts.settings.network.failover}"
    return f"fails over: {SESSION_ATTRS}"


def demoted_primary(facts: Facts) -> list[Finding]:
    reasons = reasons_to_fail_over(facts)
    policy = facts.app_policy
    if not reasons or not policy.reuses:
        return []
    stack = stack_of(facts.settings.pool)
    fix = stack.demotion(facts.driver, None)
    attrs = session_attrs(facts)
    value = attrs[0] if attrs is not None else None
    writable = value in WRITABLE
    keys: list[str] = []
    read_write = stack.read_write_key()
    evidence = [_fact(facts), *reasons]  # the first line is the table's short fact
    if writable:
        evidence.append(f"{SESSION_ATTRS} = {value}: a new connection goes to a writable server")
    elif read_write is not None:
        keys.append(read_write)
    if policy.hang_bound is not None:
        evidence.append(f"{policy.hang_knob}: a query to a lost host fails after {policy.hang_bound:g}s")
    else:
        hang = policy.lever("hang")
        if hang is not None:
            keys.append(hang)
        evidence.append("nothing bounds a query to a lost host: it waits for TCP to give up (about 15 min)")
    stack_words = f" {stack.label}: {fix.words} (recommend prints the code)." if fix is not None else ""
    detail = (
        "After a failover or switchover the old primary can stay reachable read-only: it answers the check at "
        "checkout (SELECT 1), and every write on a pooled connection to it fails with SQLSTATE 25006 "
        "'cannot execute ... in a read-only transaction' until the connection is closed."
        + stack_words
        + f" Ask the driver for a writable server ({SESSION_ATTRS}=read-write: libpq and asyncpg >= 0.28 check it "
        "when a connection is opened, never on a pooled one), and bound a query to a host that vanished."
    )
    severity = Severity.INFO if writable and policy.hang_bound is not None else Severity.WARNING
    return [
        Finding(
            codes.DEMOTED_PRIMARY.code,
            severity,
            "The target can fail over: pre-ping cannot see a demoted primary (writes fail with 25006)",
            detail,
            evidence,
            tuple(keys),
        )
    ]
