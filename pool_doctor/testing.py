"""pool-doctor inside the app's own test suite: judge the app's real engine or pool against its database, and
put a fault proxy between the two.

    from pool_doctor.testing import assert_pool_survives

    def test_the_pool_survives_the_database():
        assert_pool_survives(app.db.engine)    # fails with the findings, and the settings that fix them

The object is read back, not the code: a SQLAlchemy Engine or AsyncEngine, an asyncpg Pool, a psycopg_pool
pool. Its settings come from the object itself, its database from the URL it connects with (password
included), and the server's settings are read as that role sees them, with `check`'s one connection and
query. The pytest plugin (registered on install, `pytest11`) adds the `fault_proxy` fixture.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from pool_doctor.check import CheckReport, Inputs
    from pool_doctor.faults import Mode, ProxyStats, ThreadedFaultProxy
    from pool_doctor.model import Finding

T = TypeVar("T")


class PoolWillNotSurvive(AssertionError):
    """The pool's findings at or above the threshold; `report` is check's whole report."""

    def __init__(self, message: str, report: CheckReport, findings: list[Finding]) -> None:
        super().__init__(message)
        self.report = report
        self.findings = findings


def inputs_for(
    pool: Any,
    *,
    network_idle_timeout: float | None = None,
    middlebox: str | None = None,
    platform: str | None = None,
    replicas: int = 1,
    workers_per_replica: int = 1,
    role: str | None = None,
    timeout: float = 10.0,
    env: Mapping[str, str] | None = None,
) -> Inputs:
    """What `check` needs to judge `pool`, read from the object: the stack that built it says how."""
    from pool_doctor.check import Inputs
    from pool_doctor.config import DeploymentConfig, NetworkConfig, code_settings
    from pool_doctor.connection.spec import resolve_connection
    from pool_doctor.platforms import chosen
    from pool_doctor.stacks import REGISTRY

    live = next((found for stack in REGISTRY.values() if (found := stack.live(pool)) is not None), None)
    if live is None:
        raise TypeError(
            f"pool_doctor.testing reads a SQLAlchemy Engine or AsyncEngine, an asyncpg Pool or a psycopg_pool pool, "
            f"not {type(pool).__module__}.{type(pool).__qualname__}"
        )
    settings = code_settings({"pool": live.pool, "connect_args": live.connect_args})
    network = {"idle_timeout": network_idle_timeout, "middlebox": middlebox, "platform": platform}
    settings = settings.model_copy(
        update={
            "deployment": DeploymentConfig(replicas=replicas, workers_per_replica=workers_per_replica),
            "network": NetworkConfig(**{key: value for key, value in network.items() if value is not None}),
        }
    )
    from pool_doctor.stacks import stack_of

    stack = stack_of(settings.pool)
    target = stack.connection(resolve_connection(live.url, os.environ if env is None else env))
    target = target.with_connect_args(stack.driver_args(settings.pool, settings.connect_args))
    return Inputs(
        target=target,
        settings=settings,
        role=role,
        timeout=timeout,
        platform=chosen(platform, "platform=") if platform else None,
    )


def check_pool(pool: Any, **options: Any) -> CheckReport:
    """`pool-doctor check` for the app's own pool object (keywords: see `inputs_for`)."""
    from pool_doctor.check import run_check

    return _run(run_check(inputs_for(pool, **options)))


def assert_pool_survives(pool: Any, *, fail_on: str = "critical", **options: Any) -> CheckReport:
    """Fail (AssertionError) when the database, or the network and platform named, will end the pool's idle
    connections before the pool notices: the findings at or above `fail_on` (critical, warning, info), each
    with its evidence, and the settings that fix them. Returns check's report when the pool survives.

    Keywords: network_idle_timeout (seconds a NAT or load balancer keeps an idle flow), middlebox
    ("aws-nat", ...), platform ("rds-proxy", ...), replicas, workers_per_replica, role, timeout."""
    from pool_doctor.model import Severity

    threshold = Severity(fail_on)
    report = check_pool(pool, **options)
    failing = report.at_or_above(threshold)
    if failing:
        raise PoolWillNotSurvive(_explain(report, failing, threshold), report, failing)
    return report


def _explain(report: CheckReport, findings: list[Finding], threshold: Any) -> str:
    server = report.server
    lines = [
        f"pool-doctor: this pool will hand out dead connections: {len(findings)} finding(s) at or above "
        f"{threshold.value} (PostgreSQL {server.version}, role {server.role}, database {server.database})"
    ]
    for finding in findings:
        lines.append(f"  {finding.severity.value} {finding.code}: {finding.title}")
        lines += [f"      {line}" for line in finding.evidence]
        lines.append(f"    {finding.detail}")
    rec = report.recommendation
    if rec is not None and rec.reasons:
        lines.append("  settings that fix it (pool-doctor recommend):")
        lines += [f"    {reason.key} = {reason.value!r}: {reason.short or reason.why}" for reason in rec.reasons]
    return "\n".join(lines)


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run to completion, also from inside a running event loop (an async test): then on a thread of its own."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    result: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            result.append(asyncio.run(coroutine))
        except BaseException as exc:  # handed back to the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=run, name="pool-doctor-check")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]


# -- the fault proxy, for the app's own tests --------------------------------------------------------------


@dataclass
class ProxiedDatabase:
    """A database reached through the fault proxy: give the app `url` (its URL with the proxy's host and port)."""

    url: str
    proxy: ThreadedFaultProxy
    upstream: tuple[str, int] = field(default=("", 0))

    @property
    def port(self) -> int:
        return self.proxy.port

    @property
    def stats(self) -> ProxyStats:
        return self.proxy.stats

    def set_mode(self, mode: Mode) -> None:
        self.proxy.set_mode(mode)

    def set_idle_timeout(self, seconds: float | None) -> None:
        self.proxy.set_idle_timeout(seconds)

    def reset_now(self) -> None:
        """Reset every open flow now (a failover, a NAT gateway replaced)."""
        self.proxy.reset_now()

    def blackhole_now(self) -> None:
        self.proxy.blackhole_now()

    def close(self) -> None:
        self.proxy.stop()


def proxied(
    database: Any,
    *,
    idle_timeout: float | None,
    mode: Mode = "reset",
    max_flow_lifetime: float | None = None,
) -> ProxiedDatabase:
    """Start a fault proxy in front of `database` (a URL, a SQLAlchemy URL or Engine) that forgets flows idle
    longer than `idle_timeout` seconds, as a NAT gateway (mode reset) or a load balancer (blackhole) does."""
    from pool_doctor.faults import ThreadedFaultProxy

    url = _url_text(database)
    parts = urlsplit(url)
    if not parts.scheme or parts.hostname is None or "," in parts.netloc:
        raise ValueError("fault_proxy takes a URL with one host (postgresql://user@host:5432/db)")
    host, port = parts.hostname, parts.port or 5432
    proxy = ThreadedFaultProxy(
        host, port, idle_timeout=idle_timeout, mode=mode, max_flow_lifetime=max_flow_lifetime
    ).start()
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@127.0.0.1:{proxy.port}" if credentials else f"127.0.0.1:{proxy.port}"
    return ProxiedDatabase(urlunsplit(parts._replace(netloc=netloc)), proxy, (host, port))


def _url_text(database: Any) -> str:
    url = getattr(getattr(database, "sync_engine", database), "url", database)  # an Engine: its URL
    render = getattr(url, "render_as_string", None)
    return str(render(hide_password=False)) if render is not None else str(url)
