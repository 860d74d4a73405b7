"""Reports to the terminal (rich) or to JSON. Takes report objects and a small options object, never CLI args."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from pool_doctor.model import Severity, to_jsonable
from pool_doctor.recommend import PythonCode, jsonable_connect_args

if TYPE_CHECKING:
    from pool_doctor.recommend import Recommendation
    from pool_doctor.report import CheckReport

SEVERITY_STYLE = {Severity.CRITICAL: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


@dataclass(frozen=True)
class RenderOptions:
    json: bool = False
    width: int | None = None  # None: rich decides (terminal width, COLUMNS)
    no_color: bool = False


def console(options: RenderOptions, file: IO[str] | None = None) -> Console:
    return Console(file=file or sys.stdout, width=options.width, no_color=options.no_color or None, highlight=False)


def stderr_console() -> Console:
    """Talk (progress, warnings) goes to stderr so stdout stays data."""
    return Console(stderr=True, highlight=False)


def print_json(document: Any, file: IO[str] | None = None) -> None:
    out = file or sys.stdout
    out.write(json.dumps(document, indent=2, default=str) + "\n")
    out.flush()


def findings_table(findings: list[Any], title: str = "Findings") -> Table | Text:
    if not findings:
        return Text("No findings.", style="green")
    table = Table(title=title, title_justify="left", show_lines=True, expand=False)
    table.add_column("Severity", no_wrap=True)
    table.add_column("Finding", ratio=3)
    table.add_column("Evidence", ratio=2)
    for finding in findings:
        body = Text(finding.title, style="bold")
        body.append("\n" + finding.detail, style="default")
        body.append(f"\n[{finding.code}]", style="dim")
        table.add_row(
            Text(finding.severity.value, style=SEVERITY_STYLE[finding.severity]),
            body,
            Text("\n".join(finding.evidence)),  # Text: evidence like "[network] config" is not markup
        )
    return table


def facts_table(report: CheckReport) -> Table:
    server = report.server
    table = Table(title="What the server says", title_justify="left")
    table.add_column("Setting", no_wrap=True)
    table.add_column("Value", no_wrap=True, max_width=40)
    table.add_column("Set by", overflow="fold")
    for setting in server.settings.values():
        if setting.name in ("max_connections", "superuser_reserved_connections", "reserved_connections"):
            continue
        table.add_row(setting.name, setting.display, setting.source if setting.present else "not in this version")
    slots = f"{server.max_connections} max, {server.superuser_reserved_connections + server.reserved_connections} reserved"
    if server.role_connlimit is not None:
        slots += f", role limit {server.role_connlimit}"
    if server.database_connlimit is not None:
        slots += f", database limit {server.database_connlimit}"
    table.add_row("connection slots", slots, "")
    activity = server.activity
    states = ", ".join(f"{n} {state}" for state, n in sorted(activity.by_state.items())) or "none"
    table.add_row("connections now", f"{activity.total}", states)
    pooler = report.facts.pooler
    if pooler is not None and pooler.present:
        table.add_row("pooler", pooler.label, pooler.admin_error or ", ".join(f"{k} {v}" for k, v in pooler.config.items()
                                                                                if k in ("pool_mode", "client_idle_timeout",
                                                                                         "max_client_conn", "default_pool_size")))
    return table


def app_pools_table(report: CheckReport) -> Table:
    """--app: each pool judged, the values it was judged with and where each came from."""
    table = Table(title=f"The app's pools (--app {report.inputs.app})", title_justify="left", show_lines=True)
    table.add_column("Pool", no_wrap=True)
    table.add_column("Setting", no_wrap=True)
    table.add_column("Value", max_width=30)
    table.add_column("From", overflow="fold")
    for judged in report.pools:
        app = judged.app
        label = Text(f"{app.where}\n{app.ref.stack} · {app.target.driver}", style="bold")
        if app.judged_as:
            label.append(f"\n{app.judged_as}", style="dim")
        worst = max((f.severity for f in judged.findings), key=lambda s: s.rank, default=None)
        label.append("\n" + (f"{sum(1 for f in judged.findings if f.severity is worst)} {worst.value}"
                              if worst else "no findings"), style=SEVERITY_STYLE[worst] if worst else "green")
        rows = [(key, value, where) for key, (value, where) in app.sources.items()
                if where != "library default" or key in _SHOWN_DEFAULTS]
        for index, (key, value, where) in enumerate(rows):
            shown = Text(f"unknown (judged: {_short(value)})" if value is not None else "unknown", style="yellow") \
                if key in app.unknown else Text(_short(value))
            table.add_row(label if index == 0 else "", key, shown, Text(where))
    return table


# Library defaults worth a row even when nothing sets them: what decides whether idle connections survive.
_SHOWN_DEFAULTS = frozenset({"pool_recycle", "pool_pre_ping", "pool_size", "max_overflow", "min_size", "max_size",
                             "max_inactive_connection_lifetime", "check", "max_idle", "CONN_MAX_AGE",
                             "CONN_HEALTH_CHECKS"})


def could_not_see(limitations: list[str]) -> Text:
    return Text("Could not see:\n" + "\n".join(f"  - {line}" for line in limitations), style="yellow")


def render_check(report: CheckReport, options: RenderOptions) -> None:
    if options.json:
        print_json(report.to_json())
        return
    out = console(options)
    server = report.server
    transport = server.transport + (", TLS" if server.ssl else ", no TLS" if server.transport == "tcp" else "")
    header = Text.assemble(
        ("pool-doctor check ", "bold"),
        f"{report.inputs.target.display()}\n",
        f"PostgreSQL {server.version} · judged as role {server.role} in database {server.database} "
        f"(connected as {server.connected_as}, {transport})",
    )
    parts: list[Any] = [header, findings_table(report.findings)]
    if report.pools:
        parts.append(app_pools_table(report))
    parts.append(facts_table(report))
    if server.limitations:
        parts.append(could_not_see(server.limitations))
    summary = ", ".join(f"{report.count(s)} {s.value}" for s in (Severity.CRITICAL, Severity.WARNING, Severity.INFO))
    parts.append(Text(f"Summary: {summary}", style="bold"))
    out.print(Group(*parts))


def recommendation_json(report: CheckReport, rec: Recommendation) -> dict[str, Any]:
    return {
        "target": report.inputs.target.display(),
        "role": report.server.role,
        "driver": rec.driver,
        "stack": rec.stack,
        "recommendation": (
            {**rec.pool.model_dump(exclude_none=True), "connect_args": jsonable_connect_args(rec.connect_args)}
            if rec.stack == "sqlalchemy" else rec.values
        ),
        "reasons": [to_jsonable(reason) for reason in rec.reasons],
        "server_sql": [to_jsonable(reason) for reason in rec.server_sql],
        "findings": [to_jsonable(finding) for finding in rec.findings],
        "limitations": report.server.limitations,
    }


def recommendation_python(report: CheckReport, rec: Recommendation) -> str:
    """Ready-to-paste code in the app's own stack; the password is left out."""
    if rec.stack != "sqlalchemy":
        return _stack_python(report, rec)
    target = report.inputs.target
    url = target.with_password(None).render(hide_password=True)
    is_async = target.driver == "asyncpg"
    factory = "create_async_engine" if is_async else "create_engine"
    module = "sqlalchemy.ext.asyncio" if is_async else "sqlalchemy"
    lines = [f"from {module} import {factory}", ""]
    if any(isinstance(v, PythonCode) for v in rec.connect_args.values()):
        lines[0:0] = ["from uuid import uuid4", ""]  # the standard library first, as isort would
    lines.append(f"engine = {factory}(")
    lines.append(f"    {url!r},  # password: from your secret store or ~/.pgpass, never in code")
    # `stack` is pool-doctor's own key: create_engine would refuse it.
    for key, value in rec.pool.model_dump(exclude_none=True, exclude={"stack"}).items():
        lines.append(f"    {key}={value!r},")
    lines.append("    connect_args={")
    for key, value in rec.connect_args.items():
        shown = str(value) if isinstance(value, PythonCode) else repr(value)
        lines.append(f"        {key!r}: {shown},")
    lines.append("    },")
    lines.append(")")
    return "\n".join(lines) + "\n"


def _stack_python(report: CheckReport, rec: Recommendation) -> str:
    """asyncpg.create_pool(...), ConnectionPool(...) or a Django DATABASES entry, with the recommended keys."""
    target = report.inputs.target.with_password(None)
    dsn = target.render(hide_password=True, driver="")
    values = dict(rec.values)
    secret_note = "  # password: from your secret store or ~/.pgpass, never in code"
    if rec.stack == "asyncpg":
        lines = ["import asyncpg", "", "", "async def make_pool() -> asyncpg.Pool:",
                 "    return await asyncpg.create_pool(", f"        {dsn!r},{secret_note}"]
        lines += [f"        {key}={value!r}," for key, value in values.items()]
        return "\n".join([*lines, "    )"]) + "\n"
    if rec.stack == "psycopg_pool":
        check = values.pop("check", None)
        lines = ["from psycopg_pool import ConnectionPool", "", "pool = ConnectionPool(", f"    {dsn!r},{secret_note}"]
        if check:
            lines.append("    check=ConnectionPool.check_connection,")
        lines += [f"    {key}={value!r}," for key, value in values.items()]
        return "\n".join([*lines, "    open=True,", ")"]) + "\n"
    entry: dict[str, Any] = {"ENGINE": "django.db.backends.postgresql", "NAME": target.database, "USER": target.user,
                             "HOST": target.host, "PORT": str(target.port)}
    entry.update({k: v for k, v in values.items() if k != "ENGINE"})
    lines = ["DATABASES = {", '    "default": {']
    lines += [f"        {key!r}: {value!r}," for key, value in entry.items()]
    lines += ['        # "PASSWORD": from your secret store or ~/.pgpass, never in code', "    },", "}"]
    return "\n".join(lines).replace("'", '"') + "\n"


def recommendation_toml(report: CheckReport, rec: Recommendation) -> str:
    """A config file `check --config` accepts as is: the recommended [pool] plus the inputs it was judged with."""
    settings = report.inputs.settings
    out = [f"# pool-doctor recommend for {report.inputs.target.display()} (role {report.server.role})", "[pool]"]
    if rec.stack != "sqlalchemy":
        out.append(f"stack = {_toml_value(rec.stack)}")
        nested = {key: value for key, value in rec.values.items() if isinstance(value, dict)}
        out += [f"{key} = {_toml_value(value)}" for key, value in rec.values.items() if not isinstance(value, dict)]
        out += ["", "[deployment]"]
        out += [f"{key} = {_toml_value(value)}" for key, value in settings.deployment.model_dump().items()]
        for name, table in nested.items():
            out += _toml_tables(f"pool.{name}", table)
        return "\n".join(out) + "\n"
    out += [f"{key} = {_toml_value(value)}" for key, value in rec.pool.model_dump(exclude_none=True).items()]
    out += ["", "[deployment]"]
    out += [f"{key} = {_toml_value(value)}" for key, value in settings.deployment.model_dump().items()]
    if settings.network.idle_timeout is not None:
        out += ["", "[network]", f"idle_timeout = {_toml_value(settings.network.idle_timeout)}"]
    tables = {k: v for k, v in rec.connect_args.items() if isinstance(v, dict)}
    out += ["", f"[connect_args]  # {rec.driver}'s, for create_engine(..., connect_args=...)"]
    for key, value in rec.connect_args.items():
        if isinstance(value, PythonCode):  # described by a string; `check` and `probe` know what it stands for
            out.append(f"{key} = {_toml_value(value.json_value)}  # Python: {value} (see --format python)")
        elif value is None:
            out.append(f'{key} = "none"  # Python: None')
        elif not isinstance(value, dict):
            out.append(f"{key} = {_toml_value(value)}")
    for key, table in tables.items():
        out += ["", f"[connect_args.{key}]"]
        out += [f"{k} = {_toml_value(v)}" for k, v in table.items()]
    return "\n".join(out) + "\n"


def _toml_tables(name: str, table: dict[str, Any]) -> list[str]:
    out = ["", f"[{name}]"]
    out += [f"{key} = {_toml_value(value)}" for key, value in table.items() if not isinstance(value, dict)]
    for key, value in table.items():
        if isinstance(value, dict):
            out += _toml_tables(f"{name}.{key}", value)
    return out


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) + ".0"
    return repr(value)


def render_app_recommendations(report: CheckReport, recs: list[tuple[CheckReport, Recommendation]],
                               options: RenderOptions, fmt: str) -> None:
    """--app: the fix for each pool, in that pool's own terms, each under its file:line."""
    if fmt == "json":
        print_json({
            "target": report.inputs.target.display(), "role": report.server.role, "app": report.inputs.app,
            "pools": [{"pool": to_jsonable(one.pools[0].app.ref), **_without(recommendation_json(one, rec), "target", "role")}
                      for one, rec in recs],
        })
        return
    if fmt == "python":
        sys.stdout.write("\n\n".join(f"# {one.pools[0].app.where}: {one.pools[0].app.call}\n"
                                      + recommendation_python(one, rec) for one, rec in recs))
        return
    if fmt == "toml":  # one [pool] per file: the command asks for --pool first when there are several
        one, rec = recs[0]
        sys.stdout.write(f"# {one.pools[0].app.where}: {one.pools[0].app.call}\n" + recommendation_toml(one, rec))
        return
    for one, rec in recs:
        app = one.pools[0].app
        render_recommendation(one, rec, options, fmt,
                              title=f"Recommended settings for {app.where} ({app.ref.stack}, {app.target.driver})")


def _without(document: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key not in keys}


def render_recommendation(report: CheckReport, rec: Recommendation, options: RenderOptions, fmt: str,
                          title: str | None = None) -> None:
    if fmt == "json":
        print_json(recommendation_json(report, rec))
        return
    if fmt in ("python", "toml"):
        text = recommendation_python(report, rec) if fmt == "python" else recommendation_toml(report, rec)
        sys.stdout.write(text)
        return
    out = console(options)
    table = Table(title=title or f"Recommended settings for {report.inputs.target.display()}", title_justify="left",
                  show_lines=True)
    table.add_column("Setting", no_wrap=True)
    table.add_column("Value", max_width=28)
    table.add_column("Current", max_width=12)
    table.add_column("Why (evidence: --format json)", ratio=3)
    previous_why = None
    for reason in rec.reasons:
        changed = reason.current is not None and reason.current != reason.value
        # Rows that share one reason (pool_size, max_overflow) say it once.
        why = Text("ditto", style="dim") if reason.why == previous_why else Text(reason.why)
        previous_why = reason.why
        table.add_row(reason.key, Text(_short(reason.value), style="bold green" if changed else ""),
                      Text(_short(reason.current) if reason.current is not None else "-"), why)
    parts: list[Any] = [table]
    if rec.server_sql:
        sql = Table(title="For the DBA (not applied: pool-doctor never changes the server)", title_justify="left")
        sql.add_column("SQL")
        sql.add_column("Why", ratio=2)
        for reason in rec.server_sql:
            sql.add_row(Text(str(reason.value)), Text(reason.why))
        parts.append(sql)
    if rec.findings:
        parts.append(findings_table(rec.findings, title="Problems no setting fixes"))
    if report.server.limitations:
        parts.append(could_not_see(report.server.limitations))
    parts.append(Text("Paste-ready: --format python (engine call), --format toml (config for check --config).", style="dim"))
    out.print(Group(*parts))


def _short(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


# -- probe ----------------------------------------------------------------------------------------

if TYPE_CHECKING:
    from pool_doctor.probe.model import ProbeReport, ScenarioResult

OUTCOME_STYLE = {"ok": "green", "error": "bold red", "hang": "bold red", "skipped": "dim"}


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms" if value >= 1 else f"{value:.2f} ms"


def probe_path_table(data: dict[str, Any]) -> Table:
    connect, trip, load = data["connect"], data["round_trip"], data["load"]
    table = Table(title="The path", title_justify="left")
    table.add_column("Measured", no_wrap=True)
    table.add_column("Result")
    table.add_row(
        f"connect ({connect['connections']} fresh)",
        f"p50 {_ms(connect['p50_ms'])} · p95 {_ms(connect['p95_ms'])} · max {_ms(connect['max_ms'])}",
    )
    pids = {True: "startup PID = pg_backend_pid()", False: "startup PID != pg_backend_pid(): a pooler answers",
            None: "startup PID unknown"}[connect["pids_match"]]
    table.add_row("server", Text(f"PostgreSQL {connect['server_version']} · "
                                 f"{'TLS ' + (connect['tls_version'] or '') if connect['tls'] else 'no TLS'} · {pids}"))
    if trip:
        table.add_row(f"SELECT 1 ({trip['samples']}x, warm)",
                      f"p50 {_ms(trip['p50_ms'])} · p95 {_ms(trip['p95_ms'])} · p99 {_ms(trip['p99_ms'])}")
        ping = trip["pre_ping"]
        table.add_row("pre-ping cost", f"{_ms(ping['cost_per_checkout_ms'])} per checkout "
                      f"({_ms(ping['checkout_on_p50_ms'])} with, {_ms(ping['checkout_off_p50_ms'])} without)")
    if load:
        verdict = Text(f"{load['throughput_per_s']:g}/s over {load['seconds']:g}s · checkout wait "
                       f"p50 {_ms(load['checkout_wait_p50_ms'])} p99 {_ms(load['checkout_wait_p99_ms'])} · "
                       f"{load['pool_timeouts']} pool timeouts · {load['errors']} errors")
        if load["pool_timeouts"] or load["errors"]:
            verdict.stylize("bold red")
        table.add_row(f"load ({load['tasks']} tasks, pool {load['pool_size']}+{load['max_overflow']})", verdict)
        if load["first_error"]:
            table.add_row("first load error", Text(load["first_error"], style="red"))
    return table


def _scenario_what(result: ScenarioResult) -> Text:
    if result.outcome == "skipped":
        return Text(result.reason or "", style="dim")
    if result.outcome == "hang":
        return Text(result.reason or "hang")
    if result.error is None:
        return Text("the app's query worked", style="green")
    text = Text(f"{result.error.type}: {result.error.message}")
    if result.error.wrapped_as:
        text.append(f"\n(raised as {result.error.wrapped_as})", style="dim")
    if result.recovered is not None:
        text.append("\nnext request: " + ("ok" if result.recovered else "failed too"), style="dim")
    return text


def _scenario_scale(result: ScenarioResult) -> str:
    scaled = result.scaled
    parts = []
    if scaled.get("pool_recycle", -1) > 0:
        parts.append(f"recycle {scaled['pool_recycle']:g}s")
    for key, label in (("command_timeout", "command_timeout {}s"), ("tcp_user_timeout_ms", "tcp_user_timeout {}ms")):
        if key in scaled:
            parts.append(label.format(f"{scaled[key]:g}"))
    return "\n".join(parts) or "-"


def _killers(report: ProbeReport) -> str:
    """One line per scenario: the limit it reproduces and what it became."""
    lines: dict[str, str] = {}
    for result in report.scenarios:
        scaled = result.scaled
        if "factor" in scaled and result.name not in lines:
            assumed = " (assumed: nothing known; --network-idle-timeout or --discover-idle-timeout)" \
                if scaled.get("killer_assumed") else ""
            lines[result.name] = (f"{result.name}: {scaled['killer_seconds']:g}s ran as {scaled['killer_scaled']:g}s, "
                                  f"idle {scaled.get('idle_seconds', 0):g}s{assumed}")
    return "\n".join(lines.values())


def probe_scenarios_table(report: ProbeReport) -> Table:
    table = Table(title="Failure scenarios, time-scaled", title_justify="left", show_lines=True,
                  caption=_killers(report) or None, caption_justify="left")
    table.add_column("Scenario", no_wrap=True)
    table.add_column("Config", no_wrap=True)
    table.add_column("Outcome", no_wrap=True)
    table.add_column("What the app sees", ratio=3, overflow="fold")  # never cut the names users search for
    table.add_column("Scaled timings", ratio=1)
    previous = None
    for result in report.scenarios:
        outcome = Text(result.outcome, style=OUTCOME_STYLE[result.outcome])
        if result.seconds is not None:
            outcome.append(f"\n{result.seconds:.2f}s", style="dim")
        table.add_row(result.name if result.name != previous else "", result.config, outcome,
                      _scenario_what(result), Text(_scenario_scale(result)))
        previous = result.name
    return table


def render_probe(report: ProbeReport, options: RenderOptions) -> None:
    data = report.to_json()
    if options.json:
        print_json(data)
        return
    out = console(options)
    parts: list[Any] = [
        Text.assemble(("pool-doctor probe ", "bold"), f"{report.target} · driver {report.driver} · "
                      f"{report.seconds:.1f}s"),
        probe_path_table(data),
    ]
    if report.scenarios:
        parts.append(probe_scenarios_table(report))
    if report.idle_timeout is not None:
        found = report.idle_timeout
        if found.upper is None:
            line = f"no idle timeout up to {found.max_seconds:g}s"
        else:
            lower = f"{found.lower:.2f}s" if found.lower is not None else "0s"
            line = f"between {lower} and {found.upper:.2f}s, shape: {found.shape}"
            if found.error is not None:
                line += f" ({found.error})"
        parts.append(Text(f"Idle timeout on this path: {line} "
                          f"[{found.connections} connections, {found.tests} tests, {found.seconds:.1f}s]", style="bold"))
    if report.limitations:
        parts.append(could_not_see(report.limitations))
    current = [s.name for s in report.failures("current")]
    recommended = [s.name for s in report.failures("recommended")]
    parts.append(Text(
        "Current settings: " + (f"fail {', '.join(current)}" if current else "pass every scenario")
        + " · recommended settings: " + (f"fail {', '.join(recommended)}" if recommended else "pass every scenario")
        + "  (pool-doctor recommend shows them)",
        style="bold red" if current or recommended else "bold green",
    ))
    out.print(Group(*parts))


class ProbeProgressBar:
    """The probe's steps as a rich progress bar on stderr (stdout stays the report)."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        err = stderr_console()
        self._progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                  TimeElapsedColumn(), console=err, transient=True)
        self._live = err.is_terminal  # piped stderr (CI, tests) gets no bar and no stray blank lines
        self._task: Any = None
        self._steps = 0

    def __enter__(self) -> ProbeProgressBar:
        if self._live:
            self._progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._live:
            self._progress.stop()

    def start(self, steps: int) -> None:
        if self._live:
            self._task = self._progress.add_task("probe", total=steps)

    def step(self, description: str) -> None:
        if self._task is None:
            return
        if self._steps:
            self._progress.advance(self._task)
        self._steps += 1
        self._progress.update(self._task, description=description)
