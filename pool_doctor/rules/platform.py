"""The platform the database runs on and the runtime the app runs in: what their vendors document.

The platform's limits themselves are judged on the path (rules/path.py); this family says which platform
was recognised and why, what its vendor does not publish, and what a serverless runtime or Kubernetes
does to any pool.
"""

from __future__ import annotations

from pool_doctor.model import Finding, Severity
from pool_doctor.platforms.runtime import KUBERNETES_ADVICE
from pool_doctor.rules import codes
from pool_doctor.rules.facts import Facts


def recognised(facts: Facts) -> list[Finding]:
    found = facts.platform
    if found is None:
        return []
    entry = found.entry
    limits = entry.limits()
    said = [f"{limit.name} = {limit.shown} ({limit.shape.value})" for limit in limits]
    unpublished = [f"{number.name}: {number.note}" for number in entry.unpublished() if number.note]
    detail = (
        f"{entry.vendor} documents " + "; ".join(said) + ": judged against the pool below."
        if said
        else f"{entry.vendor} publishes no number of its own for this service."
    )
    if entry.pooler is not None and entry.pooler.note:
        detail += f" Its pooler ({entry.pooler.software}): {entry.pooler.note}."
    if entry.advice and not limits:  # with limits, the advice goes with the finding about them
        detail += " " + " ".join(entry.advice)
    return [
        Finding(
            codes.PLATFORM_RECOGNISED.code,
            Severity.INFO,
            f"The database runs on {entry.name}",
            detail,
            [*found.evidence, *(limit.what for limit in limits), *unpublished],
        )
    ]


def serverless(facts: Facts) -> list[Finding]:
    runtime = facts.runtime
    if runtime is None or not runtime.freezes or not facts.app_policy.reuses:
        return []
    return [
        Finding(
            codes.SERVERLESS_RUNTIME.code,
            Severity.WARNING,
            f"{runtime.name} freezes the process between invocations; the pool's idle connections go stale",
            " ".join(runtime.advice),
            list(runtime.evidence),
            tuple(key for key in (facts.app_policy.lever("no_pool"),) if key),
        )
    ]


def kubernetes(facts: Facts) -> list[Finding]:
    runtime = facts.runtime
    if runtime is None or runtime.middlebox != "kube-conntrack":
        return []
    return [
        Finding(
            codes.KUBERNETES_CONNTRACK.code,
            Severity.INFO,
            "The app runs in Kubernetes: Service traffic crosses conntrack",
            " ".join(KUBERNETES_ADVICE) + " Name the egress NAT with [network] middlebox (aws-nat, gcp-nat, "
            "azure-nat) to judge the pool against it.",
            [line for line in runtime.evidence if "KUBERNETES" in line],
        )
    ]
