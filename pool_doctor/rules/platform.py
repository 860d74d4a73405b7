"""The platform the database runs on and the runtime the app runs in: what their vendors document.

The platform's limits themselves are judged on the path (rules/path.py); this family says which platform
was recognised and why, what its vendor does not publish, and what a serverless runtime or Kubernetes
does to any pool.
"""

from __future__ import annotations

from pool_doctor.model import Finding, Severity
from pool_doctor.rules.facts import Facts


def check(facts: Facts) -> list[Finding]:
    return [*_platform(facts), *_runtime(facts)]


def _platform(facts: Facts) -> list[Finding]:
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
            "platform-recognised",
            Severity.INFO,
            f"The database runs on {entry.name}",
            detail,
            [*found.evidence, *(limit.what for limit in limits), *unpublished],
        )
    ]


def _runtime(facts: Facts) -> list[Finding]:
    runtime = facts.runtime
    if runtime is None:
        return []
    findings = []
    if runtime.freezes and facts.app_policy.reuses:
        findings.append(
            Finding(
                "serverless-runtime",
                Severity.WARNING,
                f"{runtime.name} freezes the process between invocations; the pool's idle connections go stale",
                " ".join(runtime.advice),
                list(runtime.evidence),
                ("poolclass",),
            )
        )
    if runtime.middlebox == "kube-conntrack":
        from pool_doctor.platforms.runtime import KUBERNETES_ADVICE

        findings.append(
            Finding(
                "kubernetes-conntrack",
                Severity.INFO,
                "The app runs in Kubernetes: Service traffic crosses conntrack",
                " ".join(KUBERNETES_ADVICE) + " Name the egress NAT with [network] middlebox (aws-nat, gcp-nat, "
                "azure-nat) to judge the pool against it.",
                [line for line in runtime.evidence if "KUBERNETES" in line],
            )
        )
    return findings
