"""What the rules look at, gathered once and frozen: the server's facts (when it was read), the app's
settings and connection, any pooler, platform and runtime, and what follows from them: the app's pool
policy, the pooler's own server pool, and the path. Built by `build_facts`; nothing here reads lazily."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from pool_doctor.connection.drivers import Driver, driver_for
from pool_doctor.model import CodeFacts, ServerFacts
from pool_doctor.path.build import APP, build_path
from pool_doctor.path.policy import Knob, PoolPolicy
from pool_doctor.stacks import pgbouncer, stack_of

if TYPE_CHECKING:
    from pool_doctor.config import AppConfig
    from pool_doctor.connection.spec import ConnectionSpec
    from pool_doctor.inspect.pooler import PoolerFacts
    from pool_doctor.path.model import Limit, Path
    from pool_doctor.platforms import Recognised, Runtime


@dataclass(frozen=True)
class Facts:
    settings: AppConfig
    target: ConnectionSpec
    driver: Driver
    app_policy: PoolPolicy  # the app's pool, with the server's keepalives when the server sends them
    path: Path
    server: ServerFacts | None = None  # None: not read (scan judges the code without a server)
    pooler: PoolerFacts | None = None
    pooler_policy: PoolPolicy | None = None  # PgBouncer's own server pool, behind a PgBouncer
    platform: Recognised | None = None  # the managed service the host name and port (or --platform) name
    runtime: Runtime | None = None  # where the app runs: serverless, Kubernetes
    # Every pool the app's code creates (--app), as (file:line, max connections): the budget sums them.
    app_pools: tuple[tuple[str, int], ...] = ()
    code: CodeFacts | None = None  # where and how the app's code creates this pool (scan, --app)

    @property
    def behind_pooler(self) -> bool:
        return self.pooler is not None and self.pooler.present

    @property
    def read_server(self) -> ServerFacts:
        """The server's facts, for the rules that only run when it was read (server and app scopes)."""
        if self.server is None:
            raise LookupError("the server was not read")
        return self.server

    def policy_facing(self, facing: str) -> PoolPolicy | None:
        return self.app_policy if facing == APP else self.pooler_policy


def build_facts(
    settings: AppConfig,
    target: ConnectionSpec,
    *,
    server: ServerFacts | None = None,
    pooler: PoolerFacts | None = None,
    platform: Recognised | None = None,
    runtime: Runtime | None = None,
    app_pools: tuple[tuple[str, int], ...] = (),
    code: CodeFacts | None = None,
) -> Facts:
    """Everything the rules read, worked out once: the pools' policies and the path between them."""
    driver = driver_for(target)
    pool = settings.pool
    policy = stack_of(pool).policy(pool, settings.connect_args, driver)
    if server is not None:
        policy = with_server_keepalives(policy, server)
    pooler_policy = None
    if pooler is not None and pooler.present and pooler.is_pgbouncer:
        # Supavisor's or RDS Proxy's own server pool is not PgBouncer's: not judged.
        pooler_policy = pgbouncer.server_pool(pooler.config, pooler.product)
    path = build_path(policy.label, server, settings.network, platform, pooler)
    return Facts(
        settings=settings,
        target=target,
        driver=driver,
        app_policy=policy,
        path=path,
        server=server,
        pooler=pooler,
        pooler_policy=pooler_policy,
        platform=platform,
        runtime=runtime,
        app_pools=app_pools,
        code=code,
    )


def rebuilt(facts: Facts, settings: AppConfig | None = None, target: ConnectionSpec | None = None) -> Facts:
    """The same facts for other app settings (or connection): the policies and the path worked out anew."""
    return build_facts(
        settings or facts.settings,
        target or facts.target,
        server=facts.server,
        pooler=facts.pooler,
        platform=facts.platform,
        runtime=facts.runtime,
        app_pools=facts.app_pools,
        code=facts.code,
    )


def with_server_keepalives(policy: PoolPolicy, server: ServerFacts) -> PoolPolicy:
    """Keepalives the server sends refresh a middlebox's flow state as well as the client's do."""
    setting = server.setting("tcp_keepalives_idle")
    if server.transport != "tcp" or not setting.is_on or not setting.seconds:
        return policy
    if policy.keepalive_idle is not None and policy.keepalive_idle <= setting.seconds:
        return policy
    return replace(policy, keepalive_idle=setting.seconds, keepalive_knob=Knob("tcp_keepalives_idle", setting.display))


def idle_limits(facts: Facts) -> list[Limit]:
    """Every limit the app's own pool meets, smallest first."""
    return facts.path.limits(APP)
