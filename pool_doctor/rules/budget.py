"""Connection budget: every pool at its maximum, against the slots the server can give."""

from __future__ import annotations

from dataclasses import dataclass

from pool_doctor.model import Finding, Severity
from pool_doctor.rules.facts import Facts
from pool_doctor.stacks import stack_of

WARN_RATIO = 0.8


@dataclass(frozen=True)
class Budget:
    demand: int  # replicas x workers x the pools' max connections (summed over the app's pools with --app)
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
    server = facts.read_server
    reserved = server.superuser_reserved_connections + server.reserved_connections
    other_now = server.activity.other_connections
    other_declared = facts.settings.deployment.other_connections
    return Budget(
        demand=facts.settings.deployment.pools * per_process(facts),
        usable=server.max_connections - reserved - other_now - other_declared,
        max_connections=server.max_connections,
        reserved=reserved,
        other_now=other_now,
        other_declared=other_declared,
    )


def per_process(facts: Facts) -> int:
    """The most connections one app process holds: its one pool's maximum, or every scanned pool's summed."""
    if facts.app_pools:
        return sum(most for _, most in facts.app_pools)
    from pool_doctor.stacks import stack_of

    return stack_of(facts.settings.pool).max_connections(facts.settings.pool)[0]


def demand_line(facts: Facts) -> str:
    deployment = facts.settings.deployment
    if facts.app_pools:
        each = " + ".join(f"{where} {most}" for where, most in facts.app_pools)
    else:
        each = stack_of(facts.settings.pool).max_connections(facts.settings.pool)[1]
    return (
        f"{deployment.replicas} replica(s) x {deployment.workers_per_replica} worker(s) x "
        f"({each}) = {deployment.pools * per_process(facts)} connections"
    )


@dataclass(frozen=True)
class Cap:
    """One limit on how many connections the app's pools may hold together."""

    code: str  # finding code suffix: "slots", "role-connlimit", "database-connlimit", "max-client-conn"
    what: str  # "the server's usable slots"
    limit: int
    evidence: str


def caps(facts: Facts) -> list[Cap]:
    """The limits the app's connections meet: the pooler's client limit behind a pooler (when known),
    else the server's usable slots and the role's and database's CONNECTION LIMITs."""
    if facts.pooler is not None and facts.pooler.present:
        limit = facts.pooler.number("max_client_conn")
        evidence = f"max_client_conn = {limit} (SHOW CONFIG), shared with every other client"
        return [Cap("max-client-conn", "PgBouncer's max_client_conn", limit, evidence)] if limit is not None else []
    server = facts.read_server
    numbers = budget(facts)
    found = [Cap("slots", "the server's usable slots", numbers.usable, numbers.explain())]
    if server.role_connlimit is not None:
        found.append(
            Cap(
                "role-connlimit",
                f"role {server.role}'s CONNECTION LIMIT",
                server.role_connlimit,
                f"pg_roles.rolconnlimit = {server.role_connlimit}",
            )
        )
    if server.database_connlimit is not None:
        found.append(
            Cap(
                "database-connlimit",
                f"database {server.database}'s CONNECTION LIMIT",
                server.database_connlimit,
                f"pg_database.datconnlimit = {server.database_connlimit}",
            )
        )
    return found


def check(facts: Facts) -> list[Finding]:
    """Every pool at its maximum against each cap: the server's (budget-...), or behind a pooler, the pooler's
    client limit (pooler-max-client-conn...)."""
    prefix = "pooler" if facts.behind_pooler else "budget"
    demand = budget(facts).demand
    findings = [_against(demand, cap, prefix, facts) for cap in caps(facts)]
    return [finding for finding in findings if finding is not None]


def _size_keys(facts: Facts) -> tuple[str, ...]:
    """The app's keys that size its pool, when its stack has them (SQLAlchemy's pool_size and max_overflow)."""
    return tuple(key for lever in ("size", "overflow") if (key := facts.app_policy.lever(lever)))


def _against(demand: int, cap: Cap, prefix: str, facts: Facts) -> Finding | None:
    evidence = [demand_line(facts), cap.evidence]
    if demand > cap.limit:
        return Finding(
            f"{prefix}-{cap.code}",
            Severity.CRITICAL,
            f"The pools can open {demand} connections; {cap.what} allow {max(cap.limit, 0)}",
            "Under load the last pools to grow get 'FATAL: too many connections' (or 'sorry, too many clients "
            "already', or PgBouncer's 'no more connections allowed') instead of a connection. Shrink "
            "pool_size/max_overflow, or put a pooler (PgBouncer in transaction mode) in front.",
            evidence,
            _size_keys(facts),
        )
    if demand > WARN_RATIO * cap.limit:
        return Finding(
            f"{prefix}-{cap.code}-tight",
            Severity.WARNING,
            f"The pools can open {demand} connections, {demand * 100 // max(cap.limit, 1)}% of {cap.what} ({cap.limit})",
            "A deploy that briefly runs old and new replicas side by side, or one more worker, runs out of slots.",
            evidence,
            _size_keys(facts),
        )
    return None
