"""The command line's vocabulary: every option and its help (the ones check, recommend and probe share, each
command's own, the --format choices), and the parsers of flags whose values have a shape (HOST:PORT, MAX).

Imported by `pool-doctor --help`: Typer and the standard library only.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from pool_doctor.errors import UsageError

R = TypeVar("R")


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
    diff = "diff"


class ScanFormat(str, Enum):
    table = "table"
    json = "json"
    markdown = "markdown"
    sarif = "sarif"


class ProxyMode(str, Enum):
    reset = "reset"
    blackhole = "blackhole"
    close = "close"
    passthrough = "pass"


FORMAT_HELP = (
    "table (terminal), json (one document on stdout; --json is the same), markdown (a GitHub-flavoured "
    "report, for $GITHUB_STEP_SUMMARY or a pull-request comment)"
)
JSON_HELP = (
    "Same as --format json. On error stdout stays empty: the one-line error goes to stderr and the "
    "exit code says what failed."
)


def chosen(output_format: Enum, json_output: bool, ctx: Any) -> str:
    """The format asked for: --json is --format json; --json with another --format given is a usage error, not
    a silent choice between the two."""
    if json_output and output_format.value != "json" and _given(ctx, output_format):
        raise UsageError(f"--json and --format {output_format.value} ask for different formats: give one of them")
    return "json" if json_output else str(output_format.value)


def _given(ctx: Any, value: Any) -> bool:
    """Whether the option holding `value` was given (on the command line or from the environment)."""
    for name, held in ctx.params.items():
        if held is value:
            source = ctx.get_parameter_source(name)
            return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")
    return False


# -- each command's own options, as its signature names them ---------------------------------------------

Format = Annotated[CheckFormat, typer.Option("--format", "-f", help=FORMAT_HELP)]
Json = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
JsonToo = Annotated[bool, typer.Option("--json", help="Same as --format json.")]
FailOnOption = Annotated[FailOn, typer.Option("--fail-on", help="Exit 1 when a finding is at or above this severity.")]

# check
Verbose = Annotated[
    bool,
    typer.Option(
        "--verbose",
        "-v",
        help="table: every setting read and each finding's evidence, not only the facts behind the findings.",
    ),
]

# recommend
RecommendFormatOption = Annotated[
    RecommendFormat,
    typer.Option(
        "--format",
        "-f",
        help="On error stdout stays empty. " + FORMAT_HELP + "; python (the engine call to paste); toml (a "
        "config file for check --config); diff (with --app: the app's own code edited, for git apply).",
    ),
]

# probe
ProbeQuiet = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="No progress on stderr (default: a bar on a terminal, else one line a step)."),
]
Connections = Annotated[
    int, typer.Option("--connections", help="Fresh connections the connect step times.", min=1, max=100)
]
LoadSeconds = Annotated[float, typer.Option("--load-seconds", help="How long the load step runs.", min=0.1, max=600)]
LoadTasks = Annotated[
    int | None,
    typer.Option(
        "--load-tasks",
        help="Concurrent tasks in the load step. Default: pool_size + max_overflow + 2.",
        min=1,
        max=10_000,
        show_default=False,
    ),
]
Scenarios = Annotated[
    list[str] | None,
    typer.Option(
        "--scenario",
        help="Run only this failure scenario (repeatable): server_idle_timeout, backend_terminated, "
        "network_reset, network_blackhole, pooler_client_idle, prepared_statements, idle_in_transaction, "
        "demoted_primary, frozen. Default: all.",
        metavar="NAME",
        show_default=False,
    ),
]
DiscoverIdleTimeout = Annotated[
    str | None,
    typer.Option(
        "--discover-idle-timeout",
        help="Also measure the path's own idle timeout, up to MAX (350, 6min, 1h): "
        "takes about 1.25x the timeout found.",
        metavar="MAX",
        show_default=False,
    ),
]
DiscoverConnections = Annotated[
    int,
    typer.Option("--discover-connections", help="Connections the discovery may open (fewer: slower).", min=1, max=200),
]

# demo
DryRun = Annotated[
    bool, typer.Option("--dry-run", help="Print the diff of the edits (for git apply) instead of making them.")
]
Keep = Annotated[
    bool,
    typer.Option(
        "--keep", help="Leave the server running and print how to reach it (password in a private pgpass file)."
    ),
]
DemoQuiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress on stderr.")]
Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks (passwords still masked).")]

# explain
Log = Annotated[
    str | None,
    typer.Argument(
        help="JSON-lines file written by pool_doctor.monitor.watch(engine, jsonl=...); - or nothing: stdin.",
        metavar="[LOG]",
        show_default=False,
    ),
]

# scan
ScanPath = Annotated[Path, typer.Argument(help="Project folder or .py file to read.", show_default=True)]
ScanFormatOption = Annotated[
    ScanFormat, typer.Option("--format", "-f", help=FORMAT_HELP + "; sarif (SARIF 2.1.0, for code scanning).")
]
ScanDebug = Annotated[bool, typer.Option("--debug", help="Show tracebacks.")]

# proxy
Listen = Annotated[
    str,
    typer.Option(
        "--listen",
        help="PORT, or HOST:PORT, to listen on (host default 127.0.0.1; 0 picks a free port).",
        metavar="[HOST:]PORT",
        show_default=False,
    ),
]
Upstream = Annotated[
    str,
    typer.Option(
        "--upstream", help="HOST:PORT of the server behind the proxy.", metavar="HOST:PORT", show_default=False
    ),
]
IdleTimeout = Annotated[
    float,
    typer.Option(
        "--idle-timeout", help="Seconds a flow may stay idle before the fault hits it.", min=0.001, show_default=False
    ),
]
Mode = Annotated[
    ProxyMode,
    typer.Option(
        "--mode",
        help="reset: RST the next bytes (NAT gateway, NLB); blackhole: drop them silently (Azure LB); "
        "close: close the idle client unasked (a pooler's client_idle_timeout); pass: forward only.",
    ),
]
MaxFlowLifetime = Annotated[
    float | None,
    typer.Option(
        "--max-flow-lifetime",
        help="RST any flow this many seconds old, whatever its mode.",
        min=0.001,
        show_default=False,
    ),
]


@dataclasses.dataclass(frozen=True)
class CommonArgs:
    """The options check, recommend and probe share, as Typer parsed them: one field per option, in the order
    `--help` lists them after the command's own. `with_common_options` puts them on each command."""

    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            help="Database URL: postgresql://, postgres://, postgresql+asyncpg://, postgresql+psycopg://, +psycopg2://, +pg8000://. "
            "Default: $DATABASE_URL, else libpq's PGHOST/PGPORT/PGUSER/PGDATABASE/PGPASSWORD and ~/.pgpass.",
            show_default=False,
        ),
    ] = None
    role: Annotated[
        str | None,
        typer.Option(
            "--role",
            help="Judge settings as the app's role NAME sees them, while connected as someone else (an admin).",
            metavar="NAME",
        ),
    ] = None
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="TOML config file (of a pyproject.toml, its [tool.pool-doctor] table). Default: the first "
            "pool-doctor.toml, or pyproject.toml with [tool.pool-doctor], walking up from the current directory.",
            metavar="PATH",
        ),
    ] = None
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds any network step may take.", min=0.1, max=3600)
    ] = 10.0
    ask_password: Annotated[
        bool,
        typer.Option(
            "--ask-password",
            "-W",
            help="Prompt for the password (never echoed, never printed); when stdin is not a terminal, read one line from it.",
        ),
    ] = False
    stack: Annotated[
        str | None,
        typer.Option(
            "--stack",
            help="[pool] stack: the app's pool: sqlalchemy (default), asyncpg (create_pool), psycopg_pool "
            "or django. Its keys go under [pool] with the library's own names.",
            metavar="NAME",
            show_default=False,
        ),
    ] = None
    pool_size: Annotated[
        int | None,
        typer.Option(
            "--pool-size", help="[pool] pool_size: connections the pool keeps. Default 5.", show_default=False
        ),
    ] = None
    max_overflow: Annotated[
        int | None,
        typer.Option(
            "--max-overflow", help="[pool] max_overflow: extra connections under load. Default 10.", show_default=False
        ),
    ] = None
    pool_recycle: Annotated[
        int | None,
        typer.Option("--pool-recycle", help="[pool] pool_recycle, seconds; -1 = never (default).", show_default=False),
    ] = None
    pool_pre_ping: Annotated[
        bool | None,
        typer.Option(
            "--pool-pre-ping/--no-pool-pre-ping", help="[pool] pool_pre_ping. Default off.", show_default=False
        ),
    ] = None
    pool_timeout: Annotated[
        float | None,
        typer.Option("--pool-timeout", help="[pool] pool_timeout, seconds. Default 30.", show_default=False),
    ] = None
    pool_use_lifo: Annotated[
        bool | None,
        typer.Option(
            "--pool-use-lifo/--no-pool-use-lifo", help="[pool] pool_use_lifo. Default off.", show_default=False
        ),
    ] = None
    replicas: Annotated[
        int | None,
        typer.Option(
            "--replicas", help="[deployment] replicas: app instances at autoscaler max. Default 1.", show_default=False
        ),
    ] = None
    workers_per_replica: Annotated[
        int | None,
        typer.Option(
            "--workers-per-replica",
            help="[deployment] workers_per_replica: processes per instance, each with its own pool. Default 1.",
            show_default=False,
        ),
    ] = None
    other_connections: Annotated[
        int | None,
        typer.Option(
            "--other-connections",
            help="[deployment] other_connections: slots other clients need. Default 0.",
            show_default=False,
        ),
    ] = None
    network_idle_timeout: Annotated[
        float | None,
        typer.Option(
            "--network-idle-timeout",
            help="[network] idle_timeout: seconds a middlebox keeps an idle flow (AWS NAT gateway: 350).",
            show_default=False,
        ),
    ] = None
    middlebox: Annotated[
        str | None,
        typer.Option(
            "--middlebox",
            help="[network] middlebox: a named middlebox whose documented idle timeout and shape apply "
            "(aws-nat, aws-nlb, aws-network-firewall, azure-lb, azure-nat, gcp-nat, kube-conntrack, ...); "
            "--network-idle-timeout still wins.",
            metavar="KEY",
            show_default=False,
        ),
    ] = None
    platform: Annotated[
        str | None,
        typer.Option(
            "--platform",
            help="[network] platform: the managed service the database runs on (rds-proxy, "
            "supavisor-transaction, neon-pooler, azure-pgbouncer, fly-mpg, ...). Default: recognised from the "
            "host name and port.",
            metavar="KEY",
            show_default=False,
        ),
    ] = None
    runtime: Annotated[
        str | None,
        typer.Option(
            "--runtime",
            help="Where the app runs, when its environment is not this one: aws-lambda, vercel, "
            "cloud-functions, cloud-run, azure-functions (they freeze the process between requests), "
            "kubernetes. Default: read from the environment (AWS_LAMBDA_FUNCTION_NAME, K_SERVICE, ...).",
            metavar="KEY",
            show_default=False,
        ),
    ] = None
    pgbouncer_admin_url: Annotated[
        str | None,
        typer.Option(
            "--pgbouncer-admin-url",
            help="PgBouncer's console (database pgbouncer) as an admin_users/stats_users user. "
            "Default when a pooler shows: the app's own host, port and credentials on database pgbouncer.",
            metavar="URL",
            show_default=False,
        ),
    ] = None
    app: Annotated[
        Path | None,
        typer.Option(
            "--app",
            help="Judge the pools the app's code creates (read as pool-doctor scan PATH reads it): each pool "
            "found is judged, findings cite its file:line. Flags, environment and --config still override the code.",
            metavar="PATH",
            show_default=False,
        ),
    ] = None
    pool: Annotated[
        str | None,
        typer.Option(
            "--pool",
            help="With --app: judge only the pool created at FILE:LINE (as pool-doctor scan prints it).",
            metavar="FILE:LINE",
            show_default=False,
        ),
    ] = None
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks (passwords still masked).")] = False


def with_common_options(func: Callable[..., R]) -> Callable[..., R]:
    """Add CommonArgs' options to a command's signature, after its own, and hand them to it as `common`.

    Typer reads a command's options from its signature; this writes the shared ones in from the one table
    above, instead of the same 22 parameters spelt out in check, recommend and probe."""
    own = [p for p in inspect.signature(func, eval_str=True).parameters.values() if p.name != "common"]
    hints = typing.get_type_hints(CommonArgs, include_extras=True)
    fields = dataclasses.fields(CommonArgs)
    shared = [
        inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=hints[f.name])
        for f in fields
    ]

    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> R:
        common = CommonArgs(**{f.name: kwargs.pop(f.name) for f in fields})
        return func(common=common, **kwargs)

    wrapper.__signature__ = inspect.Signature(own + shared)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in own + shared}
    return wrapper


def host_port(text: str, flag: str, default_host: str | None = None) -> tuple[str, int]:
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


def discovery_limit(text: str) -> float:
    """--discover-idle-timeout MAX: a duration (350, 6min, 1h) up to 2 h, in seconds; a one-line UsageError otherwise."""
    from pool_doctor.durations import parse_duration

    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"--discover-idle-timeout: {exc}") from None
    if not 0 < seconds <= 7200:
        # The discovery waits up to MAX when the path has no idle timeout; the longest a cloud load
        # balancer allows is 100 min (Azure), so anything past 2 h would only be a hang.
        raise UsageError(f"--discover-idle-timeout must be a positive duration up to 2h, not {text!r}")
    return seconds


def usage_error_types() -> tuple[type[BaseException], ...]:
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
