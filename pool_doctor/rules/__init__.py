"""Pure rules: `(Facts) -> list[Finding]`, one module per family, one implementation per code.

The codes and what they mean are one table (pool_doctor/rules/codes.py); RULES below pairs each code with
the function that finds it. `evaluate` runs the rules of the scopes asked for: `scan` the pool and code
rules, `check` all of them. No I/O anywhere below this package.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, replace

from pool_doctor.model import Finding, Severity
from pool_doctor.rules import budget, code, codes, failover, held, network, path, platform, pooler, timeouts
from pool_doctor.rules.codes import Code, Scope
from pool_doctor.rules.facts import Facts, build_facts, idle_limits, rebuilt
from pool_doctor.stacks import stack_of

Check = Callable[[Facts], list[Finding]]


@dataclass(frozen=True)
class Rule:
    code: Code
    check: Check

    @property
    def scope(self) -> Scope:
        return self.code.scope


RULES: tuple[Rule, ...] = (
    Rule(codes.LIMIT, path.check),
    Rule(codes.RECYCLE_CHURN, timeouts.recycle_churn),
    Rule(codes.NO_LIVENESS_CHECK, timeouts.no_liveness),
    Rule(codes.NO_HANG_BOUND, timeouts.no_hang_bound),
    Rule(codes.UNBOUNDED_OVERFLOW, timeouts.unbounded),
    Rule(codes.KEEPALIVES_UNKNOWN, network.unix_socket),
    Rule(codes.KEEPALIVES_TOO_SLOW, network.too_slow),
    Rule(codes.POOLER_PREPARED_STATEMENTS, pooler.prepared_statements),
    Rule(codes.PLATFORM_RECOGNISED, platform.recognised),
    Rule(codes.SERVERLESS_RUNTIME, platform.serverless),
    Rule(codes.KUBERNETES_CONNTRACK, platform.kubernetes),
    Rule(codes.DEMOTED_PRIMARY, failover.demoted_primary),
    Rule(codes.ENGINE_AT_IMPORT, code.at_import),
    Rule(codes.WORKER_CONN_MAX_AGE, code.worker_conn_max_age),
    Rule(codes.IDLE_IN_TRANSACTION_TIMEOUT, held.in_transaction),
    Rule(codes.TRANSACTION_TIMEOUT, held.transaction_age),
    Rule(codes.STATEMENT_TIMEOUT, held.statement),
    Rule(codes.LOCK_TIMEOUT, held.lock),
    Rule(codes.SESSIONS_IDLE_IN_TRANSACTION, timeouts.idle_in_transaction_now),
    Rule(codes.OBSERVED_IDLE, timeouts.observed_idle),
    Rule(codes.BUDGET, budget.check),
    Rule(codes.POOLER_DETECTED, pooler.detected),
    Rule(codes.POOLER_SETTINGS_UNKNOWN, pooler.settings_unknown),
    Rule(codes.POOLER_SERVER_SLOTS, pooler.server_slots),
    Rule(codes.POOLER_CLIENTS_WAITING, pooler.clients_waiting),
    Rule(codes.POOLER_SERVER_LIMITS, pooler.server_limits),
    Rule(codes.POOLER_HELD_LIMITS, held.pooler_limits),
)
# Codes found by something other than a rule: recommend's (when no size fits), and the -tracked variant the
# prepared-statements rule gives instead of its own code.
FOUND_ELSEWHERE = (
    codes.BUDGET_NO_FIT,
    codes.POOLER_PREPARED_STATEMENTS_TRACKED,
    # the scan's walk of the app's source (scan/held.py): patterns at their own lines, not facts about a pool
    codes.SESSION_DEPENDENCY_WITHOUT_FINALLY,
    codes.STREAMING_RESPONSE_HOLDS_SESSION,
    codes.TRANSACTION_SPANS_EXTERNAL_CALL,
    codes.CONNECTION_NEVER_RELEASED,
)

# What `scan` can judge without a server; what `check` judges per pool; what it judges once for the app.
WITHOUT_SERVER = frozenset({Scope.POOL, Scope.CODE})
PER_POOL = frozenset({Scope.POOL, Scope.SERVER, Scope.CODE})
ONCE = frozenset({Scope.APP})
EVERY = PER_POOL | ONCE


def evaluate(facts: Facts, scopes: Collection[Scope] = EVERY) -> list[Finding]:
    """Every rule of these scopes on the facts, most severe first (stable within a severity); what the
    pool's code leaves unknown softens the findings that depend on it."""
    findings = [finding for rule in RULES if rule.scope in scopes for finding in rule.check(facts)]
    if facts.code is not None:
        findings = [_as_far_as_known(facts, finding) for finding in findings]
    return by_severity(findings)


def by_severity(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: -f.severity.rank)


_SOFTER = {Severity.CRITICAL: Severity.WARNING, Severity.WARNING: Severity.INFO, Severity.INFO: Severity.INFO}


def _as_far_as_known(facts: Facts, finding: Finding) -> Finding:
    """A finding about a pool whose code computes a key it names at run time (or hides keys in a `**x` the
    scan could not read) is one step softer, and says which value was taken at the library default; each
    value the finding names says where it came from."""
    code = facts.code
    assert code is not None
    sources = {key: where for key, _, where in code.sources}
    evidence = [_with_origin(line, sources) for line in finding.evidence]
    unknown = [(key, expr) for key, expr in code.unknown if _names(finding, key)]
    driver_args = stack_of(facts.settings.pool).args_prefix
    driver_unknown = code.driver_unknown is not None and any(key.startswith(driver_args) for key in finding.keys)
    severity = finding.severity
    if unknown or driver_unknown or (code.unresolved and finding.keys):
        severity = _SOFTER[severity]
        evidence += [f"not read: {key} = {expr} (judged at the library default)" for key, expr in unknown]
        if driver_unknown:
            evidence.append(f"not read: the URL ({code.driver_unknown}), so the driver (judged: {facts.driver.name})")
        if code.unresolved and finding.keys:
            evidence.append(f"not read: {', '.join(code.unresolved)}")
    return replace(finding, severity=severity, evidence=evidence)


def _names(finding: Finding, key: str) -> bool:
    """Whether the finding depends on the key: it names it as a fix, or states its value as evidence."""
    return key in finding.keys or any(line.startswith(f"{key} = ") for line in finding.evidence)


def _with_origin(line: str, sources: dict[str, str]) -> str:
    """`pool_recycle = -1` -> `pool_recycle = -1 (app/config.py:9)`: where the code (or a flag) set it."""
    key, sep, _ = line.partition(" = ")
    where = sources.get(key) if sep else None
    return f"{line} ({where})" if where else line


__all__ = [
    "EVERY",
    "ONCE",
    "PER_POOL",
    "RULES",
    "WITHOUT_SERVER",
    "Facts",
    "Rule",
    "build_facts",
    "by_severity",
    "evaluate",
    "idle_limits",
    "rebuilt",
]
