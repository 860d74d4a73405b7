"""Connection budget: every pool at its maximum, against the slots the server can give."""

from __future__ import annotations

from dataclasses import dataclass

from pool_doctor.model import Finding, Severity
from pool_doctor.rules.facts import Facts

WARN_RATIO = 0.8


@dataclass(frozen=True)
class Budget:
    demand: int  # replicas x workers x (pool_size + max_overflow)
    usable: int  # slots left for the app's role
    max_connections: int
    reserved: int
    other_now: int  # other roles' connections right now
    other_declared: int  # [deployment] other_connections

    def explain(self) -> str:
        return (
            f"max_connections {self.max_connections} - reserved {self.reserved} - other roles now {self.other_now} "
            f"- other_connections {self.other_declared} = {self.usable} usable"
        )


def budget(facts: Facts) -> Budget:
    server = facts.server
    reserved = server.superuser_reserved_connections + server.reserved_connections
    other_now = server.activity.other_connections
    other_declared = facts.settings.deployment.other_connections
    return Budget(
        demand=facts.settings.deployment.pools * facts.settings.pool.max_connections,
        usable=server.max_connections - reserved - other_now - other_declared,
        max_connections=server.max_connections,
        reserved=reserved,
        other_now=other_now,
        other_declared=other_declared,
    )


def demand_line(facts: Facts) -> str:
    deployment, pool = facts.settings.deployment, facts.settings.pool
    return (
        f"{deployment.replicas} replica(s) x {deployment.workers_per_replica} worker(s) x "
        f"(pool_size {pool.pool_size} + max_overflow {pool.max_overflow}) = "
        f"{deployment.pools * pool.max_connections} connections"
    )


def check(facts: Facts) -> list[Finding]:
    if facts.pooler is not None and facts.pooler.present:
        return []  # the app's connections end at the pooler: rules/pooler.py weighs them against its limits
    numbers = budget(facts)
    findings = [_against(numbers.demand, numbers.usable, "server's usable slots", "slots", facts, numbers.explain())]
    if facts.server.role_connlimit is not None:
        findings.append(
            _against(numbers.demand, facts.server.role_connlimit, f"role {facts.server.role}'s CONNECTION LIMIT",
                     "role-connlimit", facts, f"pg_roles.rolconnlimit = {facts.server.role_connlimit}")
        )
    if facts.server.database_connlimit is not None:
        findings.append(
            _against(numbers.demand, facts.server.database_connlimit, f"database {facts.server.database}'s CONNECTION LIMIT",
                     "database-connlimit", facts, f"pg_database.datconnlimit = {facts.server.database_connlimit}")
        )
    return [finding for finding in findings if finding is not None]


def _against(demand: int, limit: int, what: str, code: str, facts: Facts, evidence: str) -> Finding | None:
    if demand > limit:
        return Finding(
            f"budget-{code}",
            Severity.CRITICAL,
            f"The pools can open {demand} connections; the {what} allow {max(limit, 0)}",
            "Under load the last pools to grow get 'FATAL: too many connections' (or 'sorry, too many clients "
            "already') instead of a connection. Shrink pool_size/max_overflow, or put a pooler (PgBouncer) in front.",
            [demand_line(facts), evidence],
        )
    if demand > WARN_RATIO * limit:
        return Finding(
            f"budget-{code}-tight",
            Severity.WARNING,
            f"The pools can open {demand} connections, {demand * 100 // max(limit, 1)}% of the {what} ({limit})",
            "A deploy that briefly runs old and new replicas side by side, or one more worker, runs out of slots.",
            [demand_line(facts), evidence],
        )
    return None
