"""The probe pipeline: read the facts, build the current and recommended configs, measure, reproduce, report."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol, TypeVar

from pool_doctor.errors import ConnectError, UsageError
from pool_doctor.model import Severity
from pool_doctor.probe import failover, frozen  # noqa: F401  (they register demoted_primary, frozen)
from pool_doctor.probe.context import ProbeContext, Scenario
from pool_doctor.probe.engines import ProbeConfig, ReadOnly
from pool_doctor.probe.model import IdleTimeoutResult, ProbeReport, ScenarioResult, percentile
from pool_doctor.probe.scenarios import SCENARIOS, scenario_names
from pool_doctor.rules.facts import Facts, rebuilt

if TYPE_CHECKING:
    from pool_doctor.check import CheckReport, Inputs
    from pool_doctor.config import AppConfig
    from pool_doctor.connection.spec import ConnectionSpec
    from pool_doctor.probe.model import Outcome as ProbeOutcome
    from pool_doctor.recommend import Recommendation

T = TypeVar("T")


@dataclass(frozen=True)
class ProbeOptions:
    connections: int = 5  # fresh connections timed by the connect step
    load_seconds: float = 2.0
    load_tasks: int | None = None  # default: pool_size + max_overflow + 2, a little over what the pool holds
    scenarios: tuple[str, ...] | None = None  # None: every registered scenario
    discover_max: float | None = None  # seconds; None: no idle-timeout discovery
    discover_connections: int = 20


class ProbeProgress(Protocol):
    def start(self, steps: int) -> None: ...

    def step(self, description: str) -> None: ...


class _Silent:
    def start(self, steps: int) -> None:
        pass

    def step(self, description: str) -> None:
        pass


def selected_scenarios(names: tuple[str, ...] | None) -> list[Scenario]:
    if names is None:
        return list(SCENARIOS)
    known = {s.name: s for s in SCENARIOS}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(f"unknown scenario {unknown[0]!r} (known: {', '.join(scenario_names())})")
    return [known[n] for n in names]


def pooling(facts: Facts) -> str:
    """ "none", "session" or "transaction": whether a pooler answers in the server's place, and how it pools
    (an unknown mode is treated as session pooling: the probe then avoids startup parameters)."""
    pooler = facts.pooler
    if pooler is None or not pooler.present:
        return "none"
    return "transaction" if pooler.breaks_session_state else "session"


async def run_probe(
    inputs: Inputs, options: ProbeOptions, progress: ProbeProgress | None = None, check: CheckReport | None = None
) -> ProbeReport:
    """`check`: the facts already read for these inputs (the demo has them), else the probe reads them."""
    from pool_doctor.check import run_check
    from pool_doctor.probe.discover import discover_idle_timeout
    from pool_doctor.probe.measure import (
        measure_connect,
        measure_load,
        measure_round_trip,
    )
    from pool_doctor.recommend import recommend

    progress = progress or _Silent()
    scenarios = selected_scenarios(options.scenarios)
    progress.start(4 + len(scenarios) + (1 if options.discover_max else 0))
    started = time.monotonic()
    target, settings, timeout = inputs.target, inputs.settings, inputs.timeout

    progress.step("reading the server's settings")
    check = check or await run_check(inputs)
    facts = check.facts
    current = _config("current", settings, facts)
    stack = current.stack.name
    pooled = pooling(facts)
    read_only: ReadOnly = "session" if pooled == "none" else "transaction"

    progress.step(f"opening {options.connections} fresh connections")
    connect = await _bounded(
        measure_connect(target, current.measuring(target), options.connections, timeout, read_only=read_only),
        (options.connections + 1) * 2 * timeout + 5,
        "opening connections",
        target,
    )

    progress.step("timing round trips and pre-ping")
    round_trip = await _bounded(
        measure_round_trip(target, current.measuring(target), timeout, read_only=read_only),
        6 * timeout + 10,
        "timing round trips",
        target,
    )

    round_trip_p95 = percentile(round_trip.select_1.samples, 95) or 0.001
    idle_timeout = None
    if options.discover_max:
        progress.step(f"discovering the path's idle timeout (up to {options.discover_max:g}s)")
        idle_timeout = await discover_idle_timeout(
            target,
            options.discover_max,
            options.discover_connections,
            timeout,
            query_timeout=max(1.0, 20 * round_trip_p95),
            startup_read_only=read_only == "session",
        )
        facts = with_discovered_network_limit(facts, idle_timeout)
    # After discovery: a limit it found on the path shapes the recommendation and the network scenarios.
    # Nothing is assumed where nothing is known: the scenario for such a limit says "not tested" and how to
    # test it, and the recommended settings are check's and recommend's own.
    limitations = list(facts.read_server.limitations)
    if options.discover_max and facts.settings.network.idle_timeout is None:
        limitations.append(f"discovery found no idle timeout up to {options.discover_max:g}s")
    rec = recommend(facts) if facts is not check.facts else check.recommendations()[0][1]
    recommended = _config("recommended", _recommended_settings(settings, rec), facts)

    load = None
    sizes = current.stack.probe_load(current.values)
    if sizes is not None:
        size, overflow, wait = sizes
        tasks = options.load_tasks or size + overflow + 2
        progress.step(f"load: {tasks} tasks for {options.load_seconds:g}s")
        load = await _bounded(
            measure_load(target, current, tasks, options.load_seconds, timeout, read_only=read_only),
            options.load_seconds + wait + 3 * timeout + 10,
            "under load",
            target,
        )
    else:
        progress.step("load: not measured for this stack")
        limitations.append(
            f"load: not measured: the load step drives SQLAlchemy's pool sizes; the {stack} stack's "
            "own pool ran the scenarios"
        )

    ctx = ProbeContext(
        target=target,
        facts=facts,
        timeout=timeout,
        read_only=read_only,
        pooling=pooled,
        round_trip=round_trip_p95,
    )
    results: list[ScenarioResult] = []
    for scenario in scenarios:
        progress.step(f"scenario {scenario.name} (current, recommended)")
        # The two configs run side by side: separate engines, separate proxies, the same wall time.
        pair = await asyncio.gather(_run(scenario, ctx, current), _run(scenario, ctx, recommended))
        if any(result.outcome != "ok" for result in pair):
            # Only a scenario that ran on a working server can fail a configuration.
            await _still_reachable(target, timeout, f"during scenario {scenario.name}")
        results.extend(_judged(scenario, ctx, result, config) for result, config in zip(pair, (current, recommended)))

    return ProbeReport(
        # --app: the pool whose settings were probed, by its file:line.
        target=target.display() + "".join(f" · {pool.where}" for pool in inputs.app_pools),
        driver=target.driver,
        stack=stack,
        configs={"current": current.to_json(), "recommended": recommended.to_json()},
        connect=connect,
        round_trip=round_trip,
        load=load,
        scenarios=results,
        idle_timeout=idle_timeout,
        seconds=time.monotonic() - started,
        limitations=limitations,
    )


async def _still_reachable(target: ConnectionSpec, timeout: float, when: str) -> None:
    """Exit 3, not a verdict, when the server itself went away: a fresh session and SELECT 1, directly."""
    from pool_doctor.connection.drivers import describe_error, driver_for

    try:
        session = await driver_for(target).open(target, timeout)
        try:
            await session.fetchval("SELECT 1", timeout=timeout)
        finally:
            await session.close()
    except Exception as exc:
        detail = str(exc) if isinstance(exc, ConnectError) else describe_error(exc)
        raise ConnectError(f"lost the server {when}: {detail}") from None


def with_discovered_network_limit(facts: Facts, found: IdleTimeoutResult) -> Facts:
    """Facts whose [network] idle_timeout is what discovery measured, unless the user gave one. The lower
    bound: a connection idle that long still worked, so pool_recycle must stay below it."""
    network = facts.settings.network
    if network.idle_timeout is not None or found.upper is None:
        return facts
    return with_network_limit(facts, round(found.lower or found.upper, 2))


def with_network_limit(facts: Facts, seconds: float) -> Facts:
    """Facts with a middlebox that forgets flows idle `seconds`, as [network] idle_timeout would say."""
    network = facts.settings.network
    settings = facts.settings.model_copy(update={"network": network.model_copy(update={"idle_timeout": seconds})})
    return rebuilt(facts, settings=settings)


async def _bounded(step: Awaitable[T], seconds: float, what: str, target: ConnectionSpec) -> T:
    """Every step has a deadline; missing it is a connection problem (exit 3), said in one line."""
    try:
        return await asyncio.wait_for(step, seconds)
    except TimeoutError:
        raise ConnectError(f"timed out after {seconds:g}s {what} on {target.display()}") from None


async def _run(scenario: Scenario, ctx: ProbeContext, config: ProbeConfig) -> ScenarioResult:
    """One scenario with one config; a failure of the probe itself is reported, not raised."""
    try:
        return await scenario.run(ctx, config)
    except Exception as exc:
        from pool_doctor.connection.drivers import describe_error

        return ScenarioResult(scenario.name, config.name, "skipped", reason=f"the probe failed: {describe_error(exc)}")


def _config(name: str, settings: AppConfig, facts: Facts) -> ProbeConfig:
    """The config a scenario runs, in the stack's own terms, with the policy the judge reads for it."""
    from pool_doctor.stacks import stack_of

    stack = stack_of(settings.pool)
    config = ProbeConfig.of(name, stack, stack.values(settings.pool), settings.connect_args)
    return replace(config, policy=rebuilt(facts, settings=settings).app_policy)


def _recommended_settings(settings: AppConfig, rec: Recommendation) -> AppConfig:
    """The app's settings with the recommendation applied: the stack's keys and [connect_args]."""
    return settings.model_copy(update={"pool": rec.pool, "connect_args": rec.connect_args})


def _judged(scenario: Scenario, ctx: ProbeContext, result: ScenarioResult, config: ProbeConfig) -> ScenarioResult:
    """The result with the judge's verdict for this config against the scenario's (unscaled) limit: the
    oracle the real pool is compared with. The judge reads real seconds; the scenario runs them scaled by
    one factor, which keeps every retirement on the same side of the limit (the judge's margin aside)."""
    from pool_doctor.path.judge import Outcome, judge

    limit_of = getattr(scenario, "limit", None)
    if result.outcome == "skipped":
        return result  # nothing ran: nothing to judge (the limit may not even be known)
    if limit_of is None or config.policy is None:
        # No limit to judge (prepared statements behind transaction pooling): as bad as check calls it.
        worst = getattr(scenario, "severity", Severity.CRITICAL)
        return replace(result, severity=worst) if result.outcome in ("error", "hang") else result
    notes = config.stack.probe_notes(config.values)  # how the probe ran the stack's pool
    if notes:
        result = replace(result, notes=[*result.notes, *notes])
    verdict = judge(config.policy, limit_of(ctx))
    if result.outcome in ("error", "hang"):
        # As bad as check says this limit is for this pool (a failure the judge did not foresee: the worst);
        # an event no limit schedules (a restart) is no worse than check's word for an unchecked pool.
        judged = verdict.severity or Severity.CRITICAL
        cap = getattr(scenario, "severity", Severity.CRITICAL)
        result = replace(result, severity=min(judged, cap, key=lambda s: s.rank))
    expected: dict[Outcome, ProbeOutcome] = {
        Outcome.SURVIVES: "ok",
        Outcome.AT_RISK: "ok",
        Outcome.REPLACED: "ok",
        Outcome.FAILS_BOUNDED: "error",
        Outcome.FAILS: "error",
        Outcome.HANGS: "hang",
    }
    return replace(
        result, judge_expected=expected[verdict.outcome], judge_verdict=f"{verdict.outcome.value}: {verdict.reason}"
    )
