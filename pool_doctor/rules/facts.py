"""What the rules look at: the server's facts, the app's settings, the connection spec, and any pooler;
and what follows from them: the app's pool policy, the pooler's, and the path."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from pool_doctor.model import ServerFacts

if TYPE_CHECKING:
    from pool_doctor.config import AppConfig
    from pool_doctor.connection.drivers import Driver
    from pool_doctor.connection.spec import ConnectionSpec
    from pool_doctor.inspect.pooler import PoolerFacts
    from pool_doctor.path.model import Limit, Path
    from pool_doctor.path.policy import PoolPolicy
    from pool_doctor.platforms import Recognised, Runtime


@dataclass(frozen=True)
class Facts:
    server: ServerFacts
    settings: AppConfig
    target: ConnectionSpec
    pooler: PoolerFacts | None = None
    platform: Recognised | None = None  # the managed service the host name and port (or --platform) name
    runtime: Runtime | None = None  # where the app runs: serverless, Kubernetes
    # Every pool the app's code creates (--app), as (file:line, max connections): the budget sums them.
    app_pools: tuple[tuple[str, int], ...] = ()

    @property
    def driver(self) -> Driver:
        from pool_doctor.connection.drivers import driver_for

        return driver_for(self.target)

    @property
    def behind_pooler(self) -> bool:
        return self.pooler is not None and self.pooler.present

    @cached_property
    def app_policy(self) -> PoolPolicy:
        from pool_doctor.stacks import stack_of

        pool = self.settings.pool
        policy = stack_of(pool).policy(pool, self.settings.connect_args, self.driver)
        return with_server_keepalives(policy, self.server)

    @cached_property
    def pooler_policy(self) -> PoolPolicy | None:
        from pool_doctor.path.build import pgbouncer_server_pool

        if self.pooler is None or not self.pooler.present or not self.pooler.is_pgbouncer:
            return None  # Supavisor's or RDS Proxy's own server pool is not PgBouncer's: not judged
        return pgbouncer_server_pool(self.pooler)

    @cached_property
    def path(self) -> Path:
        from pool_doctor.path.build import build_path

        return build_path(self)

    def policy_facing(self, facing: str) -> PoolPolicy | None:
        return self.app_policy if facing == "app" else self.pooler_policy


def with_server_keepalives(policy: PoolPolicy, server: ServerFacts) -> PoolPolicy:
    """Keepalives the server sends refresh a middlebox's flow state as well as the client's do."""
    from dataclasses import replace

    from pool_doctor.path.policy import Knob

    setting = server.setting("tcp_keepalives_idle")
    if server.transport != "tcp" or not setting.is_on or not setting.seconds:
        return policy
    if policy.keepalive_idle is not None and policy.keepalive_idle <= setting.seconds:
        return policy
    return replace(policy, keepalive_idle=setting.seconds, keepalive_knob=Knob("tcp_keepalives_idle", setting.display))


def idle_limits(facts: Facts) -> list[Limit]:
    """Every limit the app's own pool meets, smallest first."""
    return facts.path.limits("app")
