"""Many targets at once: an inventory file (TOML), each target checked or observed concurrently (bounded),
each with its own timeout; one rollup, worst first; the services that share a server summed into one budget.

Credentials never sit in the file: a target names an environment variable (`password_env`) or relies on
~/.pgpass (or its libpq service's file). A password inline, in the URL or as a key, is refused (exit 2).
Each target runs through the same code as one `check --url` (inputs.build_inputs, check.run_check) or one
`observe --url` (observe.sampler.observe): only the environment it is handed differs.

    [[target]]
    name = "billing-api"
    url = "postgresql+asyncpg://billing@db1:5432/billing"
    password_env = "BILLING_DB_PASSWORD"
    app = "services/billing"      # optional: check --app
    stack = "sqlalchemy"          # optional: check --stack
    tags = ["team-payments"]
"""

from __future__ import annotations

import asyncio
import time
import tomllib
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pool_doctor.errors import ExitCode, PoolDoctorError, UsageError

if TYPE_CHECKING:
    from pool_doctor.check import CheckReport
    from pool_doctor.cli_options import CommonArgs
    from pool_doctor.model import Severity
    from pool_doctor.observe.model import ObserveReport
    from pool_doctor.observe.sampler import ObserveOptions

MAX_TARGETS = 1000
TARGET_KEYS = {"name", "url", "service", "password_env", "app", "stack", "config", "tags", "timeout"}
# Not the run's own: each target's credentials come from the file's names, its service or ~/.pgpass.
NOT_INHERITED = ("DATABASE_URL", "PGSERVICE", "PGPASSWORD")


@dataclass(frozen=True)
class Target:
    name: str
    url: str | None = None
    service: str | None = None  # a libpq service (pg_service.conf)
    password_env: str | None = None  # the environment variable that holds the password
    app: str | None = None
    stack: str | None = None
    config: str | None = None
    tags: tuple[str, ...] = ()
    timeout: float | None = None

    def shown(self) -> str:
        return self.url or f"service={self.service}"

    def environment(self, env: Mapping[str, str]) -> dict[str, str]:
        """The environment this target's connection is resolved in: the run's, with its own service and password."""
        own = {k: v for k, v in env.items() if k not in NOT_INHERITED}
        if self.service:
            own["PGSERVICE"] = self.service
        if self.password_env:
            value = env.get(self.password_env)
            if not value:
                raise UsageError(f"environment variable {self.password_env} (password_env) is not set")
            own["PGPASSWORD"] = value
        return own


def read_inventory(path: Path, found: Callable[[Iterable[str]], None] = lambda _: None) -> list[Target]:
    """The file's [[target]] tables, checked: each a name and a url or service, no inline password."""
    from pool_doctor.connection.spec import parse_connection
    from pool_doctor.files import check_depth, read_text

    text = read_text(path, "inventory")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"inventory {path} is not valid TOML: {exc}") from None
    except RecursionError:
        raise UsageError(f"inventory {path} nests tables or arrays too deeply") from None
    check_depth(data, f"inventory {path}")
    tables = data.get("target")
    if not isinstance(tables, list) or not tables:
        raise UsageError(f"inventory {path} has no [[target]] tables")
    if len(tables) > MAX_TARGETS:
        raise UsageError(f"inventory {path} has {len(tables)} targets: at most {MAX_TARGETS}")
    targets: list[Target] = []
    for number, table in enumerate(tables, 1):
        where = f"inventory {path}, target {number}"
        if not isinstance(table, dict):
            raise UsageError(f"{where} is not a table")
        if "password" in table or any("password" in key and key != "password_env" for key in table):
            found(str(v) for k, v in table.items() if "password" in k and isinstance(v, str))
            raise UsageError(f"{where}: no password in the inventory: name an environment variable (password_env)")
        unknown = sorted(set(table) - TARGET_KEYS)
        if unknown:
            raise UsageError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(TARGET_KEYS))})")
        name = table.get("name")
        if not isinstance(name, str) or not name.strip():
            raise UsageError(f"{where} needs a name")
        where = f"inventory {path}, target {name!r}"
        url, service = table.get("url"), table.get("service")
        if (url is None) == (service is None):
            raise UsageError(f"{where}: give one of url or service")
        for key in ("url", "service", "password_env", "app", "stack", "config"):
            if key in table and not isinstance(table[key], str):
                raise UsageError(f"{where}: {key} must be text")
        if url is not None:
            spec = parse_connection(url, where)
            if spec.password is not None:
                found(spec.secrets())
                raise UsageError(
                    f"{where}: the url holds a password; name an environment variable (password_env) or use ~/.pgpass"
                )
        tags = table.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            raise UsageError(f"{where}: tags must be a list of text")
        timeout = table.get("timeout")
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0):
            raise UsageError(f"{where}: timeout must be a positive number of seconds")
        if name in {t.name for t in targets}:
            raise UsageError(f"{where}: the name is used twice")
        targets.append(
            Target(
                name=name,
                url=url,
                service=service,
                password_env=table.get("password_env"),
                app=_beside(path, table.get("app")),
                stack=table.get("stack"),
                config=_beside(path, table.get("config")),
                tags=tuple(tags),
                timeout=float(timeout) if timeout is not None else None,
            )
        )
    return targets


def _beside(inventory: Path, name: str | None) -> str | None:
    """A relative `app` or `config` path is relative to the inventory file, wherever the run starts."""
    return None if name is None else str(inventory.parent / Path(name).expanduser())


@dataclass(frozen=True)
class Outcome:
    """One target's run: its report, or the one-line error it ended with."""

    target: Target
    exit_code: int
    seconds: float
    error: str | None = None
    check: CheckReport | None = None
    observe: ObserveReport | None = None


@dataclass(frozen=True)
class Share:
    name: str
    demand: int


@dataclass(frozen=True)
class SharedServer:
    """Every service on one server, at its pools' maximum, against the server's slots."""

    server: str  # host:port as dialled
    max_connections: int
    reserved: int
    shares: tuple[Share, ...]

    @property
    def usable(self) -> int:
        return self.max_connections - self.reserved

    @property
    def demand(self) -> int:
        return sum(share.demand for share in self.shares)

    @property
    def over(self) -> bool:
        return self.demand > self.usable

    def to_json(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "max_connections": self.max_connections,
            "reserved": self.reserved,
            "usable": self.usable,
            "demand": self.demand,
            "over": self.over,
            "services": [
                {"name": s.name, "demand": s.demand, "share": round(s.demand / max(self.usable, 1), 3)}
                for s in self.shares
            ],
        }


@dataclass(frozen=True)
class Rollup:
    inventory: str
    command: str  # "check" or "observe"
    outcomes: tuple[Outcome, ...]  # worst first
    servers: tuple[SharedServer, ...] = ()
    seconds: float = 0.0
    threshold: Severity | None = field(default=None)

    @property
    def exit_code(self) -> int:
        worst = max((o.exit_code for o in self.outcomes), default=0)
        if any(s.over for s in self.servers) and self.threshold is not None:
            worst = max(worst, ExitCode.FINDINGS)  # a shared budget overrun is critical, as budget-slots is
        return worst

    def to_json(self) -> dict[str, Any]:
        from pool_doctor.model import SCHEMA_VERSION

        return {
            "schema_version": SCHEMA_VERSION,
            "inventory": self.inventory,
            "command": self.command,
            "exit_code": self.exit_code,
            "seconds": round(self.seconds, 2),
            "targets": [_outcome_json(o) for o in self.outcomes],
            "servers": [s.to_json() for s in self.servers],
            "summary": {
                "targets": len(self.outcomes),
                "errors": sum(1 for o in self.outcomes if o.error is not None),
                "findings": sum(1 for o in self.outcomes if o.exit_code == ExitCode.FINDINGS),
            },
        }


def _outcome_json(outcome: Outcome) -> dict[str, Any]:
    from pool_doctor.model import Severity

    found: dict[str, Any] = {
        "name": outcome.target.name,
        "tags": list(outcome.target.tags),
        "target": outcome.check.inputs.target.display() if outcome.check else outcome.target.shown(),
        "exit_code": outcome.exit_code,
        "error": outcome.error,
        "seconds": round(outcome.seconds, 2),
    }
    if outcome.check is not None:
        report = outcome.check
        found["summary"] = {s.value: report.count(s) for s in Severity}
        found["findings"] = [{"code": f.code, "severity": f.severity.value, "title": f.title} for f in report.findings]
        found["demand"] = demand_of(report)
    if outcome.observe is not None:
        found["observe"] = outcome.observe.to_json()
    return found


def demand_of(report: CheckReport) -> int:
    """The connections this service's pools can open together (check's budget rule's own number)."""
    from pool_doctor.rules.budget import budget

    return budget(report.facts).demand


def worst_first(outcomes: Iterable[Outcome]) -> tuple[Outcome, ...]:
    def rank(o: Outcome) -> tuple[int, int, str]:
        critical = 0
        if o.check is not None:
            critical = sum(1 for f in o.check.findings if f.severity.rank >= 2) * 100 + len(o.check.findings)
        if o.observe is not None:
            critical = len(o.observe.deaths) * 100 + len(o.observe.forecasts)
        return (-o.exit_code, -critical, o.target.name)

    return tuple(sorted(outcomes, key=rank))


def shared_servers(outcomes: Iterable[Outcome]) -> tuple[SharedServer, ...]:
    """The services checked directly on one server (host:port as dialled), summed; behind a pooler the
    pooler's own client limit is check's business, so those are left out."""
    by_server: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        report = outcome.check
        if report is None or report.facts.behind_pooler or report.facts.server is None:
            continue
        spec = report.inputs.target
        by_server.setdefault(f"{spec.host}:{spec.port}", []).append(outcome)
    found = []
    for server, members in sorted(by_server.items()):
        facts = members[0].check.server  # type: ignore[union-attr]
        found.append(
            SharedServer(
                server=server,
                max_connections=facts.max_connections,
                reserved=facts.superuser_reserved_connections + facts.reserved_connections,
                shares=tuple(Share(o.target.name, demand_of(o.check)) for o in members if o.check is not None),
            )
        )
    return tuple(found)


async def _bounded(
    targets: list[Target],
    concurrency: int,
    run: Callable[[Target], Awaitable[Outcome]],
) -> list[Outcome]:
    gate = asyncio.Semaphore(concurrency)

    async def one(target: Target) -> Outcome:
        async with gate:
            return await run(target)

    return list(await asyncio.gather(*(one(target) for target in targets)))


async def _guarded(target: Target, budget: float, work: Callable[[], Awaitable[Outcome]]) -> Outcome:
    """A target's failure is its row: one line and its exit code; the others carry on."""
    from pool_doctor.connection.drivers import describe_error

    started = time.monotonic()
    try:
        return replace(await asyncio.wait_for(work(), budget), seconds=time.monotonic() - started)
    except TimeoutError:
        error, code = f"timed out after {budget:g}s", int(ExitCode.CONNECT)
    except PoolDoctorError as exc:
        error, code = str(exc), int(exc.exit_code)
    except Exception as exc:  # a bug: said as such, the other targets still reported
        error, code = f"unexpected {describe_error(exc)}", int(ExitCode.INTERNAL)
    return Outcome(target, code, time.monotonic() - started, error=" ".join(error.split()))


async def check_inventory(
    targets: list[Target],
    common: CommonArgs,
    env: Mapping[str, str],
    found: Callable[[Iterable[str]], None],
    threshold: Severity | None,
    concurrency: int = 8,
    inventory: str = "",
) -> Rollup:
    """`check` on every target, `concurrency` at a time; each bounded by its own timeout (3 network steps)."""
    from pool_doctor.check import run_check
    from pool_doctor.inputs import build_inputs

    started = time.monotonic()

    async def run(target: Target) -> Outcome:
        timeout = target.timeout or common.timeout

        async def work() -> Outcome:
            own = replace(
                common,
                url=target.url,
                app=Path(target.app) if target.app else common.app,
                stack=target.stack or common.stack,
                config=Path(target.config) if target.config else common.config,
                timeout=timeout,
            )
            inputs = build_inputs(own, target.environment(env), found)
            report = await run_check(inputs)
            code = ExitCode.FINDINGS if report.at_or_above(threshold) else ExitCode.OK
            return Outcome(target, int(code), 0.0, check=report)

        return await _guarded(target, 3 * timeout + 1, work)

    outcomes = await _bounded(targets, concurrency, run)
    return Rollup(
        inventory=inventory,
        command="check",
        outcomes=worst_first(outcomes),
        servers=shared_servers(outcomes),
        seconds=time.monotonic() - started,
        threshold=threshold,
    )


async def observe_inventory(
    targets: list[Target],
    options: ObserveOptions,
    env: Mapping[str, str],
    found: Callable[[Iterable[str]], None],
    concurrency: int = 8,
    inventory: str = "",
) -> Rollup:
    """`observe` on every target at once (each holds one backend for the window)."""
    from pool_doctor.connection.spec import resolve_connection
    from pool_doctor.observe.sampler import observe

    started = time.monotonic()

    async def run(target: Target) -> Outcome:
        own = replace(options, timeout=target.timeout or options.timeout)

        async def work() -> Outcome:
            spec = resolve_connection(target.url, target.environment(env))
            found(spec.secrets())
            report = await observe(spec, own)
            return Outcome(target, int(ExitCode.FINDINGS if report.alarming else ExitCode.OK), 0.0, observe=report)

        return await _guarded(target, own.window + 3 * own.timeout + 1, work)

    outcomes = await _bounded(targets, concurrency, run)
    return Rollup(
        inventory=inventory, command="observe", outcomes=worst_first(outcomes), seconds=time.monotonic() - started
    )
