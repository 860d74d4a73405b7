"""The command line: parse flags, build typed inputs, call the core, render, map errors to exit codes.

No SQL and no rules here. Heavy imports (SQLAlchemy, drivers, pydantic) happen inside the commands,
so `pool-doctor --help` stays as fast as Typer itself.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import os
import sys
import traceback
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Callable, Optional

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
    pretty_exceptions_enable=False,  # one error funnel in main(); tracebacks only with --debug
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

INTERNAL_ERROR = 4


@app.callback()
def _root() -> None:
    """Keeps pool-doctor a group of commands (Typer would collapse a lone command into the root)."""


class FailOn(str, Enum):
    info = "info"
    warning = "warning"
    critical = "critical"
    never = "never"


class Format(str, Enum):
    table = "table"
    json = "json"
    python = "python"
    toml = "toml"


@dataclass(frozen=True)
class CommonArgs:
    """The options check, recommend and probe share, as Typer parsed them."""

    url: str | None
    role: str | None
    config: Path | None
    timeout: float
    ask_password: bool
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
    debug: bool


TARGET = "Target"
POOL = "App pool (\\[pool] in the config file)"
DEPLOY = "Deployment (\\[deployment])"
COMMON_OPTIONS: dict[str, tuple[Any, Any]] = {
    "url": (Optional[str], typer.Option(
        "--url", help="Database URL: postgresql://, postgres://, postgresql+asyncpg://, postgresql+psycopg://. "
        "Default: $DATABASE_URL, else libpq's PGHOST/PGPORT/PGUSER/PGDATABASE/PGPASSWORD and ~/.pgpass.",
        show_default=False, rich_help_panel=TARGET)),
    "role": (Optional[str], typer.Option(
        "--role", help="Judge settings as the app's role NAME sees them, while connected as someone else (an admin).",
        metavar="NAME", rich_help_panel=TARGET)),
    "config": (Optional[Path], typer.Option(
        "--config", help="TOML config file. Default: ./pool-doctor.toml when present.", metavar="PATH",
        rich_help_panel=TARGET)),
    "timeout": (float, typer.Option(
        "--timeout", help="Seconds any network step may take.", min=0.1, max=3600, rich_help_panel=TARGET)),
    "ask_password": (bool, typer.Option(
        "--ask-password", "-W", help="Prompt for the password (never echoed, never printed).",
        rich_help_panel=TARGET)),
    "pool_size": (Optional[int], typer.Option("--pool-size", help="Default 5.", show_default=False, rich_help_panel=POOL)),
    "max_overflow": (Optional[int], typer.Option("--max-overflow", help="Default 10.", show_default=False, rich_help_panel=POOL)),
    "pool_recycle": (Optional[int], typer.Option(
        "--pool-recycle", help="Seconds; -1 = never (default).", show_default=False, rich_help_panel=POOL)),
    "pool_pre_ping": (Optional[bool], typer.Option(
        "--pool-pre-ping/--no-pool-pre-ping", help="Default off.", show_default=False, rich_help_panel=POOL)),
    "pool_timeout": (Optional[float], typer.Option("--pool-timeout", help="Seconds; default 30.", show_default=False, rich_help_panel=POOL)),
    "pool_use_lifo": (Optional[bool], typer.Option(
        "--pool-use-lifo/--no-pool-use-lifo", help="Default off.", show_default=False, rich_help_panel=POOL)),
    "replicas": (Optional[int], typer.Option("--replicas", help="App instances at autoscaler max; default 1.", show_default=False, rich_help_panel=DEPLOY)),
    "workers_per_replica": (Optional[int], typer.Option(
        "--workers-per-replica", help="Processes per instance, each with its own pool; default 1.", show_default=False,
        rich_help_panel=DEPLOY)),
    "other_connections": (Optional[int], typer.Option(
        "--other-connections", help="Slots other clients need; default 0.", show_default=False, rich_help_panel=DEPLOY)),
    "network_idle_timeout": (Optional[float], typer.Option(
        "--network-idle-timeout", help="Seconds a middlebox keeps an idle flow (AWS NAT gateway: 350).",
        show_default=False, rich_help_panel="Network (\\[network])")),
    "debug": (bool, typer.Option("--debug", help="Show tracebacks (passwords still masked).")),
}
COMMON_DEFAULTS: dict[str, Any] = {"timeout": 10.0, "ask_password": False, "debug": False}


def with_common_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the shared options to a command's signature and hand them to it as one CommonArgs."""
    own = [p for p in inspect.signature(func, eval_str=True).parameters.values() if p.name != "common"]
    shared = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=COMMON_DEFAULTS.get(name),
                          annotation=Annotated[kind, option])
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
    from pool_doctor.config import load_settings, read_config_file, unknown_keys
    from pool_doctor.report import Inputs
    from pool_doctor.target import resolve_target

    file_data, path = read_config_file(common.config)
    origin = str(path) if path else "settings"
    warnings = tuple(f"unknown key {key!r} in {path} (ignored)" for key in unknown_keys(file_data))
    overrides = {
        "pool": _given(common, "pool_size", "max_overflow", "pool_recycle", "pool_pre_ping", "pool_timeout", "pool_use_lifo"),
        "deployment": _given(common, "replicas", "workers_per_replica", "other_connections"),
        "network": {"idle_timeout": common.network_idle_timeout} if common.network_idle_timeout is not None else {},
    }
    settings = load_settings(overrides, file_data, origin=origin)
    target = resolve_target(common.url)
    if common.ask_password:
        import getpass

        target = target.with_password(getpass.getpass(f"Password for {target.user}@{target.host}: ", stream=sys.stderr))
    if common.role is not None and not common.role.strip():
        raise UsageError("--role needs a role name")
    return Inputs(
        target=target, settings=settings, role=common.role, timeout=common.timeout,
        config_path=str(path) if path else None, warnings=warnings,
    )


def _given(common: CommonArgs, *names: str) -> dict[str, Any]:
    return {name: getattr(common, name) for name in names if getattr(common, name) is not None}


def _warn(inputs: Any) -> None:
    from pool_doctor.render import stderr_console

    for line in inputs.warnings:
        stderr_console().print(f"pool-doctor: warning: {line}", style="yellow", markup=False)


@app.command()
@with_common_options
def check(
    common: CommonArgs,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")] = False,
    fail_on: Annotated[FailOn, typer.Option("--fail-on", help="Exit 1 when a finding is at or above this severity.")] = FailOn.critical,
) -> int:
    """Read the server's settings as the app's role sees them and judge the app's pool against them.

    Example: pool-doctor check --url postgresql+asyncpg://app@db:5432/appdb --pool-recycle 1800 --pool-pre-ping
    """
    from pool_doctor.model import Severity
    from pool_doctor.render import RenderOptions, render_check
    from pool_doctor.report import run_check

    inputs = build_inputs(common)
    _warn(inputs)
    report = asyncio.run(run_check(inputs))
    render_check(report, RenderOptions(json=json_output))
    threshold = None if fail_on is FailOn.never else Severity(fail_on.value)
    return ExitCode.FINDINGS if report.at_or_above(threshold) else ExitCode.OK


@app.command()
@with_common_options
def recommend(
    common: CommonArgs,
    output_format: Annotated[Format, typer.Option("--format", "-f", help="table, json, python (engine call) or toml ([pool] for check --config).")] = Format.table,
) -> int:
    """Recommend pool_recycle, pool_pre_ping, sizes and driver connect_args, each with its reason.

    Example: pool-doctor recommend --url postgresql+asyncpg://app@db/appdb --network-idle-timeout 350 --format python
    """
    from pool_doctor.recommend import recommend as build_recommendation
    from pool_doctor.render import RenderOptions, render_recommendation
    from pool_doctor.report import run_check

    inputs = build_inputs(common)
    _warn(inputs)
    report = asyncio.run(run_check(inputs))
    rec = build_recommendation(report.facts)
    render_recommendation(report, rec, RenderOptions(), output_format.value)
    return ExitCode.FINDINGS if any(f.severity.value == "critical" for f in rec.findings) else ExitCode.OK


def _secrets_from_environment(argv: list[str]) -> list[str]:
    """Passwords the user may have handed us, to scrub from anything printed (defence in depth)."""
    from urllib.parse import unquote, urlsplit

    secrets = [os.environ.get("PGPASSWORD", "")]
    for text in [*argv, os.environ.get("DATABASE_URL", "")]:
        if "://" in text and "@" in text:
            auth = text.split("://", 1)[1].rpartition("@")[0]
            if ":" in auth:
                raw = auth.split(":", 1)[1]
                secrets += [raw, unquote(raw)]
            try:
                password = urlsplit(text).password
            except ValueError:
                password = None
            secrets += [password or "", unquote(password or "")]
    return sorted({s for s in secrets if len(s) >= 1}, key=len, reverse=True)


def _emit_error(message: str, secrets: list[str]) -> None:
    from pool_doctor.target import scrub

    line = " ".join(scrub(message, secrets).split())
    sys.stderr.write(f"pool-doctor: error: {line}\n")
    sys.stderr.flush()


def main(argv: list[str] | None = None) -> None:
    """Entry point: the one error funnel. Every failure is one line on stderr and an exit code."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    secrets = _secrets_from_environment(args)
    command = typer.main.get_command(app)
    code: int
    try:
        result = command.main(args=args, prog_name="pool-doctor", standalone_mode=False)
        code = int(result) if isinstance(result, int) else 0
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
    except Exception as exc:  # noqa: BLE001 - click's usage errors and anything unexpected
        import click

        if isinstance(exc, click.ClickException):
            if debug:
                _print_traceback(secrets)
            _emit_error(exc.format_message(), secrets)
            code = ExitCode.USAGE
        else:
            if debug:
                _print_traceback(secrets)
            from pool_doctor.server import describe_error

            _emit_error(f"unexpected {describe_error(exc)} (run with --debug for the traceback)", secrets)
            code = INTERNAL_ERROR
    sys.stdout.flush()
    raise SystemExit(code)


def _print_traceback(secrets: list[str]) -> None:
    from pool_doctor.target import scrub

    sys.stderr.write(scrub(traceback.format_exc(), secrets))


if __name__ == "__main__":
    main()
