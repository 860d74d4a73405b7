"""Every limit on the path against the pool that meets it, through the one judge.

A verdict worth telling becomes a finding; its code names the limit (and the pool, when it is the
pooler's), its keys name the app's settings that would change the verdict.
"""

from __future__ import annotations

import re

from pool_doctor.durations import format_seconds
from pool_doctor.model import Finding, Severity
from pool_doctor.path.judge import Outcome, Verdict, judge, retire_by, retirement
from pool_doctor.path.model import Layer, Limit, Shape
from pool_doctor.rules.facts import Facts

SUFFIX = {
    Outcome.FAILS: "",
    Outcome.HANGS: "",
    Outcome.FAILS_BOUNDED: "-bounded",
    Outcome.AT_RISK: "-tight",
    Outcome.REPLACED: "-replaced",
}


def check(facts: Facts) -> list[Finding]:
    findings = []
    for facing, limit in facts.path.faced:
        policy = facts.policy_facing(facing)
        if policy is None:
            continue
        verdict = judge(policy, limit)
        if verdict.severity is not None:
            findings.append(_finding(facts, facing, verdict))
    return findings


def verdicts(facts: Facts, facing: str = "app") -> list[Verdict]:
    """The judge's verdict on every limit one pool meets (recommend and probe read these too)."""
    policy = facts.policy_facing(facing)
    return [judge(policy, limit) for pool, limit in facts.path.faced if pool == facing and policy is not None]


def limit_code(limit: Limit, facing: str) -> str:
    prefix = {Layer.SERVER: "", Layer.NETWORK: "network-", Layer.POOLER: "pooler-", Layer.PLATFORM: "platform-"}
    # Vendors' names become codes too: IdleClientTimeout -> idle-client-timeout, "scale to zero" -> scale-to-zero.
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", limit.name).lower()
    code = prefix[limit.layer] + re.sub(r"[^a-z0-9]+", "-", words).strip("-")
    return f"pooler-server-{code}" if facing == "pooler" else code


def fix_keys(verdict: Verdict) -> tuple[str, ...]:
    """The app's settings that would turn this verdict into survival."""
    policy, limit = verdict.policy, verdict.limit
    # A lifetime where the stack has one; else its idle timer, which must not spare a floor of connections.
    wanted = ["max_age"] if policy.lever("max_age") else ["max_idle"]
    replaced = verdict.outcome is Outcome.REPLACED
    if not replaced:
        wanted.append("ping")
    if not policy.lever("max_age") and policy.spares:
        wanted.append("spares")  # the idle timer retires before the limit only if it reaches every connection
    if limit.shape is Shape.DROP:
        wanted.append("hang")
    if limit.refreshed_by_keepalives:
        wanted.append("keepalive")
    return tuple(key for lever in wanted if (key := policy.lever(lever)))


def _finding(facts: Facts, facing: str, verdict: Verdict) -> Finding:
    limit, policy = verdict.limit, verdict.policy
    severity = verdict.severity or Severity.INFO
    evidence = [limit.what, *(str(k) for k in policy.knobs())]
    if facing == "pooler":
        return Finding(
            limit_code(limit, facing) + SUFFIX[verdict.outcome],
            severity,
            f"{limit.name} {limit.shown} ends {policy.label.removesuffix(' pool')} connections, not the app's",
            f"Behind transaction pooling the server's idle limit meets the pooler's own server connections: "
            f"{verdict.reason}. The app's connections to the pooler are not affected.",
            evidence,
        )
    keys = fix_keys(verdict) if verdict.outcome is not Outcome.SURVIVES else ()
    who = f"{limit.holder} ({limit.what})"
    before = format_seconds(retire_by(limit.seconds))
    if verdict.outcome in (Outcome.FAILS, Outcome.HANGS):
        error = facts.driver.error_text(limit)
        whose = f" of role {facts.read_server.role}" if limit.layer is Layer.SERVER else ""
        span = f"older than {_age(limit)}" if limit.kind == "lifetime" else f"idle for {limit.shown}"
        title = (
            f"{limit.holder} ends connections{whose} {span}; the pool will hand them out dead"
            if verdict.outcome is Outcome.FAILS
            else f"{limit.holder} drops flows idle for {limit.shown}; the next request on one hangs"
        )
        detail = (
            f"{limit.what}. {verdict.reason}. {_equal_timer(verdict)}The app's next request on such a connection "
            + (
                f"fails with {error}. "
                if verdict.outcome is Outcome.FAILS
                else "waits until TCP gives up (about 15 min on Linux). "
            )
            + _fix_words(keys, before)
        )
    elif verdict.outcome is Outcome.FAILS_BOUNDED:
        title = f"A dropped flow ({limit.shown}) costs one timed-out request per pooled connection"
        detail = f"{verdict.reason}. " + _fix_words(keys, before)
    elif verdict.outcome is Outcome.AT_RISK:
        timer = _retiring_knob(verdict)
        title = (
            f"{timer} races {limit.name} {limit.shown}: equal timers"
            if "a race" in verdict.reason
            else f"{timer} is barely below {limit.name} {limit.shown}"
        )
        detail = (
            f"{verdict.reason}. Age is checked only at checkout: a connection returned just before it "
            f"can idle past the limit. " + _fix_words(keys, before)
        )
    else:
        ended = (
            f"pooled connections older than {_age(limit)}" if limit.kind == "lifetime" else "idle pooled connections"
        )
        title = f"{limit.name} {limit.shown} ends {ended}; the pool replaces them"
        detail = f"{verdict.reason} (cost: {verdict.cost}). " + (
            f"Retire them before {who} does: " + _fix_words(keys, before) if keys else ""
        )
    if limit.advice:  # the vendor's own advice about its limit (Neon: what keeping a compute awake costs)
        detail = f"{detail.strip()} {limit.holder}: {' '.join(limit.advice)}"
    return Finding(limit_code(limit, facing) + SUFFIX[verdict.outcome], severity, title, detail.strip(), evidence, keys)


def _age(limit: Limit) -> str:
    """A lifetime as a reader counts it: `86400s (1d)`."""
    friendly = format_seconds(limit.seconds)
    return limit.shown if friendly == limit.shown else f"{limit.shown} ({friendly})"


def _equal_timer(verdict: Verdict) -> str:
    """A pool timer set to the limit itself, which the pool only acts on late: say the race is lost."""
    limit = verdict.limit
    for knob in (verdict.policy.max_idle_knob, verdict.policy.max_age_knob):
        if knob is not None and _seconds(knob.value) == limit.seconds:
            return (
                f"{knob} equals {limit.name} ({limit.shown}): a race at best, and {verdict.policy.label} acts on "
                "it late, so the limit wins. "
            )
    return ""


def _seconds(value: object) -> float | None:
    try:
        return float(str(value))
    except ValueError:
        return None


def _retiring_knob(verdict: Verdict) -> str:
    """The pool timer the verdict is about: its lifetime, or its idle timer when that retires sooner."""
    found = retirement(verdict.policy, verdict.limit)
    return found[1] if found is not None else "The pool lifetime"


def _fix_words(keys: tuple[str, ...], before: str) -> str:
    if not keys:
        return ""
    return f"Set {', '.join(keys)} (a lifetime of at most {before}; see recommend)."
