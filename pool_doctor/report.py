"""The `check` pipeline: read the facts, run the rules, hand back one report object."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pool_doctor.config import Settings
from pool_doctor.model import SCHEMA_VERSION, Finding, ServerFacts, Severity, to_jsonable
from pool_doctor.rules import Facts, evaluate
from pool_doctor.connection.spec import ConnectionSpec
from pool_doctor.platforms import Recognised, Runtime, recognise


@dataclass(frozen=True)
class Inputs:
    """Everything a command needs, typed; built once in cli.py."""

    target: ConnectionSpec
    settings: Settings
    role: str | None = None
    timeout: float = 10.0
    config_path: str | None = None
    warnings: tuple[str, ...] = ()
    pgbouncer_admin_url: str | None = None  # default: the app's own credentials on database pgbouncer
    platform: Recognised | None = None  # the platform the user named (--platform, [network] platform)
    runtime: Runtime | None = None  # where pool-doctor runs, read from the environment (serverless, Kubernetes)


@dataclass(frozen=True)
class CheckReport:
    inputs: Inputs
    facts: Facts
    findings: list[Finding] = field(default_factory=list)

    @property
    def server(self) -> ServerFacts:
        return self.facts.server

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    def at_or_above(self, threshold: Severity | None) -> list[Finding]:
        if threshold is None:
            return []
        return [f for f in self.findings if f.severity.rank >= threshold.rank]

    def platform_json(self) -> dict[str, Any] | None:
        """The recognised (or named) platform: who, why, and what its vendor documents."""
        found = self.facts.platform
        if found is None:
            return None
        entry = found.entry
        return {**entry.to_json(), "evidence": list(found.evidence)}

    def to_json(self) -> dict[str, Any]:
        server = self.server
        return {
            "schema_version": SCHEMA_VERSION,
            "target": self.inputs.target.display(),
            "role": server.role,
            "server": {
                "version": server.version,
                "version_num": server.version_num,
                "database": server.database,
                "connected_as": server.connected_as,
                "superuser": server.superuser,
                "transport": server.transport,
                "ssl": server.ssl,
                "settings": {name: to_jsonable(s) for name, s in server.settings.items()},
                "slots": {
                    "max_connections": server.max_connections,
                    "superuser_reserved_connections": server.superuser_reserved_connections,
                    "reserved_connections": server.reserved_connections,
                    "role_connlimit": server.role_connlimit,
                    "database_connlimit": server.database_connlimit,
                },
                "activity": to_jsonable(server.activity),
                "backend_pid": server.backend_pid,
                "startup_pid": server.startup_pid,
                "server_port": server.server_port,
                "limitations": server.limitations,
            },
            "pooler": to_jsonable(self.facts.pooler) if self.facts.pooler is not None else None,
            "platform": self.platform_json(),
            "runtime": self.facts.runtime.to_json() if self.facts.runtime is not None else None,
            "driver": self.facts.driver.name,
            "path": self.facts.path.to_json(),
            "pool": self.inputs.settings.pool.model_dump(),
            "deployment": self.inputs.settings.deployment.model_dump(),
            "network": self.inputs.settings.network.model_dump(),
            "findings": [to_jsonable(f) for f in self.findings],
            "summary": {s.value: self.count(s) for s in Severity},
        }


async def gather_facts(inputs: Inputs) -> Facts:
    """One connection and one query, plus a second client and the pooler's console only when a pooler shows."""
    from pool_doctor import pooler
    from pool_doctor.server import read_facts_then

    async def detect(conn: Any, server: ServerFacts) -> pooler.PoolerFacts:
        return await pooler.detect(conn, inputs.target, server, inputs.timeout)

    server, found = await read_facts_then(inputs.target, inputs.role, inputs.timeout, detect)
    if found.present or inputs.pgbouncer_admin_url:
        found = await pooler.read_admin(found, pooler.admin_target(inputs.target, inputs.pgbouncer_admin_url), inputs.timeout)
    target = inputs.target
    platform = inputs.platform or recognise(target.host, target.port, target.user)
    return Facts(server=server, settings=inputs.settings, target=target,
                 pooler=pooler.with_documented(found, platform), platform=platform, runtime=inputs.runtime)


async def run_check(inputs: Inputs) -> CheckReport:
    facts = await gather_facts(inputs)
    return CheckReport(inputs=inputs, facts=facts, findings=evaluate(facts))
