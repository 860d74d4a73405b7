"""The `check` pipeline: read the facts, run the rules, hand back one report object."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from pool_doctor.config import AppConfig
from pool_doctor.connection.spec import ConnectionSpec
from pool_doctor.model import SCHEMA_VERSION, CodeFacts, Finding, PoolRef, ServerFacts, Severity, to_jsonable
from pool_doctor.platforms import Recognised, Runtime, recognise
from pool_doctor.recommend import Recommendation, recommend
from pool_doctor.redact import MASK, is_secret_key, masked
from pool_doctor.rules import ONCE, PER_POOL, Facts, build_facts, by_severity, evaluate
from pool_doctor.scan.model import ScannedPool


@dataclass(frozen=True)
class AppPool:
    """One pool the app's code creates (--app), as the settings and connection it is judged with."""

    ref: PoolRef
    end_line: int
    call: str
    settings: AppConfig
    target: ConnectionSpec  # --url's server, with this pool's driver and connect_args
    sources: dict[str, tuple[Any, str]]  # dotted key -> (value judged, where it came from)
    unknown: tuple[tuple[str, str], ...] = ()  # keys the scan could not resolve -> their code: judged at the default
    judged_as: str | None = None  # psycopg2's pools: judged as a pool with no liveness check and no lifetime
    at_import: bool = False  # the code creates it while its module is imported
    unresolved: tuple[str, ...] = ()  # `**x` the scan could not read
    scanned: ScannedPool | None = None  # the call as the scan read it: what recommend's edits change
    # the other pools the scan found made by the same engine call in a project wrapper (its callers'): an edit of
    # that call changes them too
    shared: tuple[str, ...] = ()

    @property
    def where(self) -> str:
        return self.ref.where

    @property
    def code(self) -> CodeFacts:
        """What the code-scope rules read of this pool, and what its findings say of unknown values."""
        return CodeFacts(
            ref=self.ref,
            call=self.call,
            at_import=self.at_import,
            unknown=self.unknown,
            unresolved=self.unresolved,
            sources=tuple((key, value, where) for key, (value, where) in self.sources.items()),
            workers=self.scanned.workers if self.scanned is not None else (),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.ref.file,
            "line": self.ref.line,
            "end_line": self.end_line,
            "stack": self.ref.stack,
            "call": self.call,
            "judged_as": self.judged_as or self.settings.pool.stack,
            "driver": self.target.driver,
            "settings": {
                key: {
                    "value": MASK if is_secret_key(key) and value else to_jsonable(value),
                    "from": where,
                    "known": key not in dict(self.unknown),
                }
                for key, (value, where) in self.sources.items()
            },
        }


@dataclass(frozen=True)
class Inputs:
    """Everything a command needs, typed; built once in cli.py."""

    target: ConnectionSpec
    settings: AppConfig
    role: str | None = None
    timeout: float = 10.0
    config_path: str | None = None
    warnings: tuple[str, ...] = ()
    pgbouncer_admin_url: str | None = None  # default: the app's own credentials on database pgbouncer
    platform: Recognised | None = None  # the platform the user named (--platform, [network] platform)
    runtime: Runtime | None = None  # where pool-doctor runs, read from the environment (serverless, Kubernetes)
    app: str | None = None  # --app PATH
    app_pools: tuple[AppPool, ...] = ()  # the pools its code creates, each judged (empty: no --app)


@dataclass(frozen=True)
class PoolCheck:
    """One scanned pool, judged: its own facts (the server's, read once, as its session sees them) and findings."""

    app: AppPool
    facts: Facts
    findings: list[Finding]
    recommendation: Recommendation | None = None  # the fix for this pool's findings and the app's shared ones


@dataclass(frozen=True)
class CheckReport:
    inputs: Inputs
    facts: Facts
    findings: list[Finding] = field(default_factory=list)
    pools: tuple[PoolCheck, ...] = ()  # --app: each pool judged; `facts` is the first one's
    # The values that fix the findings (recommend's answer): one pool's here, each --app pool's in `pools`.
    recommendation: Recommendation | None = None

    def for_pool(self, pool: PoolCheck, shared: bool = True) -> CheckReport:
        """This report as if the app had this one pool: what recommend and the renderers read per pool."""
        own = [*pool.findings, *(self.shared_findings() if shared else [])]
        inputs = replace(self.inputs, target=pool.app.target, settings=pool.app.settings)
        return CheckReport(
            inputs=inputs,
            facts=pool.facts,
            findings=by_severity(own),
            pools=(pool,),
            recommendation=pool.recommendation,
        )

    def recommendations(self) -> list[tuple[CheckReport, Recommendation]]:
        """Each pool's report with its fix: every --app pool in its own terms, or the one pool."""
        if self.pools:
            found = [(self.for_pool(pool), pool.recommendation) for pool in self.pools]
            return [(one, rec) for one, rec in found if rec is not None]
        return [(self, self.recommendation)] if self.recommendation is not None else []

    def shared_findings(self) -> list[Finding]:
        """Findings about no one pool (the server, the budget of every pool together)."""
        return [f for f in self.findings if f.pool is None]

    @property
    def server(self) -> ServerFacts:
        return self.facts.read_server

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
            "config": self.inputs.config_path,  # the config file used (pyproject.toml [tool.pool-doctor]); null: none
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
            "pool": masked((self.pools[0].app.settings if self.pools else self.inputs.settings).pool.model_dump()),
            "deployment": self.inputs.settings.deployment.model_dump(),
            "network": self.inputs.settings.network.model_dump(),
            "findings": [to_jsonable(f) for f in self.findings],
            "summary": {s.value: self.count(s) for s in Severity},
            **({"recommended": _recommended(self.recommendation)} if not self.pools else {}),
            **(
                {
                    "app": {
                        "path": self.inputs.app,
                        "pools": [
                            {**p.app.to_json(), "recommended": _recommended(p.recommendation)} for p in self.pools
                        ],
                    }
                }
                if self.pools
                else {}
            ),
        }


def _recommended(rec: Recommendation | None) -> list[dict[str, Any]]:
    """The values that fix the findings, each with its reason (recommend shows them as code)."""
    return [reason.to_json() for reason in rec.reasons] if rec is not None else []


async def gather_facts(inputs: Inputs) -> Facts:
    """One connection and one query, plus a second client and the pooler's console only when a pooler shows."""
    from pool_doctor.inspect import pooler
    from pool_doctor.inspect.server import read_facts_then

    async def detect(conn: Any, server: ServerFacts) -> pooler.PoolerFacts:
        return await pooler.detect(conn, inputs.target, server, inputs.timeout)

    server, found = await read_facts_then(inputs.target, inputs.role, inputs.timeout, detect)
    if found.present or inputs.pgbouncer_admin_url:
        found = await pooler.read_admin(
            found, pooler.admin_target(inputs.target, inputs.pgbouncer_admin_url), inputs.timeout
        )
        if inputs.pgbouncer_admin_url and found.admin_error:
            # Asked for by name: a console that refuses is the user's to fix, not a finding to read past.
            from pool_doctor.errors import ConnectError

            raise ConnectError(f"--pgbouncer-admin-url: {found.admin_error}")
    target = inputs.target
    platform = inputs.platform or recognise(target.host, target.port, target.user)
    return build_facts(
        inputs.settings,
        target,
        server=server,
        pooler=pooler.with_configured(pooler.with_documented(found, platform), inputs.settings.pooler.given()),
        platform=platform,
        runtime=inputs.runtime,
    )


async def run_check(inputs: Inputs) -> CheckReport:
    facts = await gather_facts(inputs)
    if inputs.app_pools:
        return judge_app(inputs, facts)
    findings = evaluate(facts)
    return CheckReport(inputs=inputs, facts=facts, findings=findings, recommendation=recommend(facts, findings))


def judge_app(inputs: Inputs, read: Facts) -> CheckReport:
    """Every scanned pool through the same rules, on the server facts read once.

    A pool whose connect_args ask for session settings (server_settings, options) sees the server with them
    on top. The budget and the pooler's limits are judged once, with every pool's connections summed.
    Findings about one pool cite it (`pool`, and its file:line first in the evidence); a finding that speaks
    of no setting and is the same for every pool is about the server, and is said once.
    """
    from pool_doctor.connection.drivers import driver_for
    from pool_doctor.inspect.server import with_session_settings
    from pool_doctor.stacks import stack_of

    asked_by_all = driver_for(inputs.target).session_settings(inputs.target)
    demands = tuple((p.where, stack_of(p.settings.pool).max_connections(p.settings.pool)[0]) for p in inputs.app_pools)
    judged: list[tuple[AppPool, Facts, list[Finding]]] = []
    for app_pool in inputs.app_pools:
        own = driver_for(app_pool.target).session_settings(app_pool.target)
        asked = {k: v for k, v in own.items() if asked_by_all.get(k) != v}
        facts = build_facts(
            app_pool.settings,
            app_pool.target,
            server=with_session_settings(read.read_server, asked),
            pooler=read.pooler,
            app_pools=demands,
            platform=read.platform,
            runtime=read.runtime,
            code=app_pool.code,
        )
        judged.append((app_pool, facts, evaluate(facts, PER_POOL)))
    shared = [f for f in judged[0][2] if not f.keys and all(f in found for _, _, found in judged[1:])]
    pools = tuple(
        PoolCheck(
            app_pool,
            facts,
            [replace(f, pool=app_pool.ref, evidence=[app_pool.where, *f.evidence]) for f in found if f not in shared],
        )
        for app_pool, facts, found in judged
    )
    everyone = evaluate(judged[0][1], ONCE)
    # Each pool's fix from its own findings and those about no one pool, in its own keys and terms.
    pools = tuple(
        replace(
            pool, recommendation=recommend(pool.facts, by_severity([*pool.findings, *shared, *everyone]), pool.app.call)
        )
        for pool in pools
    )
    findings = by_severity([*[f for p in pools for f in p.findings], *shared, *everyone])
    return CheckReport(inputs=inputs, facts=pools[0].facts, findings=findings, pools=pools)
