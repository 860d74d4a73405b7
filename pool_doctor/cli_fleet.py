"""The commands that look at the server's side and at many targets: `observe`, and `check --inventory`.

Kept out of cli.py (which registers them) so that file stays one screen of dispatch; like cli.py, nothing
here imports SQLAlchemy, a driver or pydantic at module level (`--help` stays light). Options are typed
here, then the core (pool_doctor.observe, pool_doctor.inventory) runs on plain values."""

from __future__ import annotations

import sys
from collections.abc import Coroutine, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol, TypeVar

import typer

from pool_doctor import cli_options as opt
from pool_doctor.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from pool_doctor.cli_options import CommonArgs
    from pool_doctor.passwords import Passwords

T = TypeVar("T")


class Running(Protocol):
    """What cli.main hands a command (cli.Invocation), as much of it as these commands use."""

    env: Mapping[str, str]
    secrets: Passwords

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T: ...


def _seconds(text: str, flag: str, least: float) -> float:
    from pool_doctor.durations import parse_duration

    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc}") from None
    if not least <= seconds <= 86400:
        raise UsageError(f"{flag} {text}: give between {least:g}s and 1d")
    return seconds


InventoryOption = Annotated[
    Path | None,
    typer.Option(
        "--inventory",
        help="TOML file of targets ([[target]]: name, url or service, password_env, app, stack, tags): each "
        "is run concurrently; one rollup, worst first; the exit code is the worst target's.",
        metavar="FILE",
        show_default=False,
    ),
]
Concurrency = Annotated[
    int, typer.Option("--concurrency", help="With --inventory: targets run at once.", min=1, max=64)
]
Window = Annotated[str, typer.Option("--for", help="How long to watch: 60s, 5min.", metavar="DURATION")]
Every = Annotated[str, typer.Option("--every", help="Seconds between samples: 1s, 0.5s.", metavar="DURATION")]
Url = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="Database URL (as check's). Default: $DATABASE_URL, else libpq's PG* and ~/.pgpass.",
        show_default=False,
    ),
]
Timeout = Annotated[float, typer.Option("--timeout", help="Seconds any network step may take.", min=0.1, max=3600)]
AdminUrl = Annotated[
    str | None,
    typer.Option(
        "--pgbouncer-admin-url",
        help="Behind PgBouncer: its console (database pgbouncer), read with SHOW CLIENTS and SHOW SERVERS.",
        metavar="URL",
        show_default=False,
    ),
]


def observe(
    ctx: typer.Context,
    url: Url = None,
    window: Window = "60s",
    every: Every = "1s",
    timeout: Timeout = 10.0,
    output_format: opt.Format = opt.CheckFormat.table,
    json_output: opt.Json = False,
    inventory: InventoryOption = None,
    concurrency: Concurrency = 8,
    pgbouncer_admin_url: AdminUrl = None,
    debug: opt.Debug = False,
) -> int:
    """Watch pg_stat_activity: sessions grouped by application, role, database and client; each group's idle
    ages, idle transactions and their holders, the limits its role meets (and who set them); what will be
    closed soon, and what died in the window (with pg_stat_database's sessions_fatal/killed/abandoned, 14+).

    One read-only connection; each sample bounded by --timeout. On a terminal a live table, then the report.
    Without pg_monitor it sees its own role's sessions, and says what it cannot see.

    Exit codes: 0 nothing foreseen · 1 a session will be closed by a limit, or a limit closed one · 2 bad usage ·
    3 cannot connect or timed out.

    \b
    Example:
      pool-doctor observe --url postgresql://dba@db/appdb --for 30s
    """
    from pool_doctor.connection.spec import resolve_connection
    from pool_doctor.observe.sampler import ObserveOptions, observe
    from pool_doctor.render import RenderOptions, console
    from pool_doctor.render.observe import live_view, render_observe

    invocation: Running = ctx.obj
    fmt = opt.chosen(output_format, json_output, ctx)
    options = ObserveOptions(
        window=_seconds(window, "--for", 0.1), every=_seconds(every, "--every", 0.1), timeout=timeout
    )
    out = console()
    if inventory is not None:
        if url is not None:
            raise UsageError("--inventory names each target's url or service: give --url or --inventory, not both")
        from pool_doctor.inventory import observe_inventory, read_inventory
        from pool_doctor.render.inventory import render_observe_rollup

        targets = read_inventory(inventory)
        rollup = invocation.run(
            observe_inventory(targets, options, invocation.env, invocation.secrets.add, concurrency, str(inventory))
        )
        render_observe_rollup(rollup, RenderOptions(format=fmt), out)
        return rollup.exit_code
    spec = resolve_connection(url, invocation.env)
    invocation.secrets.add(spec.secrets())
    pooler = _pooler_reader(spec, pgbouncer_admin_url, timeout)
    if fmt == "table" and out.is_terminal:
        from rich.live import Live

        with Live(console=out, auto_refresh=False, transient=True) as live:
            report = invocation.run(
                observe(spec, options, lambda r: live.update(live_view(r), refresh=True), pooler=pooler)
            )
    else:
        report = invocation.run(observe(spec, options, pooler=pooler))
    render_observe(report, RenderOptions(format=fmt), out)
    return ExitCode.FINDINGS if report.alarming else ExitCode.OK


def _pooler_reader(spec: Any, admin_url: str | None, timeout: float) -> Any:
    if admin_url is None:
        return None
    from pool_doctor.inspect.pooler import admin_target, read_clients_servers

    target = admin_target(spec, admin_url)

    async def read() -> dict[str, Any] | None:
        return await read_clients_servers(target, timeout)

    return read


def check_inventory(
    ctx: typer.Context, inventory: Path, common: CommonArgs, fmt: str, fail_on: opt.FailOn, concurrency: int
) -> int:
    """check over every target of an inventory: one rollup; the exit code is the worst."""
    from pool_doctor.inventory import check_inventory as run
    from pool_doctor.inventory import read_inventory
    from pool_doctor.model import Severity
    from pool_doctor.render import RenderOptions, console
    from pool_doctor.render.inventory import render_check_rollup

    if common.url is not None:
        raise UsageError("--inventory names each target's url or service: give --url or --inventory, not both")
    invocation: Running = ctx.obj
    threshold = None if fail_on is opt.FailOn.never else Severity(fail_on.value)
    targets = read_inventory(inventory, invocation.secrets.add)
    found = invocation.secrets.add
    rollup = invocation.run(run(targets, common, invocation.env, found, threshold, concurrency, str(inventory)))
    render_check_rollup(rollup, RenderOptions(format=fmt), console())
    sys.stdout.flush()
    return rollup.exit_code
