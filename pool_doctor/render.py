"""Reports as a terminal table (rich), JSON, markdown, TOML or Python.

Each renderer takes a report, a small options object and a console, and prints only to that console;
cli.py chooses the console (stdout). Tables hold short values; the prose that explains them goes below.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from rich import box
from rich.console import Console, Group
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from pool_doctor.model import SCHEMA_VERSION, Finding, Severity, to_jsonable
from pool_doctor.recommend import PythonCode, jsonable_connect_args

if TYPE_CHECKING:
    from pool_doctor.recommend import Recommendation
    from pool_doctor.report import CheckReport

SEVERITY_STYLE = {Severity.CRITICAL: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
FORMATS = ("table", "json", "markdown", "toml", "python", "sarif")


@dataclass(frozen=True)
class RenderOptions:
    format: str = "table"  # one of FORMATS the command supports
    verbose: bool = False  # table: every setting read, every finding's evidence

    @property
    def json(self) -> bool:
        return self.format == "json"


def console(file: IO[str] | None = None, *, width: int | None = None, no_color: bool = False) -> Console:
    """The CLI's console on stdout (rich decides width and colour: COLUMNS, NO_COLOR, FORCE_COLOR, a TTY)."""
    return Console(file=file or sys.stdout, width=width, no_color=no_color or None, highlight=False, emoji=False)


def stderr_console() -> Console:
    """Talk (progress, warnings) goes to stderr so stdout stays data."""
    return Console(stderr=True, highlight=False)


def write(out: Console, text: str) -> None:
    """Data (JSON, TOML, Python, markdown) goes to the console's file as is: no wrapping, markup or colour."""
    out.file.write(text)
    out.file.flush()


def write_json(out: Console, document: Any) -> None:
    write(out, json.dumps(document, indent=2, default=str) + "\n")


def _table(*columns: str, title: str | None = None) -> Table:
    """Short values in cells, no outer border: the prose that explains them goes below the table."""
    table = Table(
        *columns,
        title=title,
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        header_style="bold",
        expand=False,
    )
    return table


def _prose(text: str | Text, indent: int = 2) -> Padding:
    """A paragraph wrapped to the console's width, indented under what it explains."""
    return Padding(text if isinstance(text, Text) else Text(text), (0, 0, 0, indent), expand=False)


def _severity(severity: Severity) -> Text:
    return Text(severity.value, style=SEVERITY_STYLE[severity])


def _fact(finding: Finding) -> str:
    """The first piece of evidence without where it was set (the prose says that): a short cell value."""
    first = finding.evidence[0] if finding.evidence else ""
    return first.split(", set by ", 1)[0]


def findings_parts(findings: list[Finding], width: int, verbose: bool = False, title: str | None = None) -> list[Any]:
    """A table of severity, code and the fact behind each finding; then each finding in words.

    Cells are never wrapped or cut: a fact longer than the room left beside the codes shows as "-" (the
    prose below says it whole), and without room for facts the column goes.
    """
    if not findings:
        return [Text("No findings.")]
    room = width - len("critical") - max(len(f.code) for f in findings) - 6  # 6: the gaps between columns
    fits = any(0 < len(_fact(f)) <= room for f in findings)
    columns = ("Severity", "Code", "Fact") if fits else ("Severity", "Code")
    table = _table(*columns, title=title)
    for column in table.columns:
        column.no_wrap = True  # a code is what people search for: whole, on one line
    for finding in findings:
        fact = _fact(finding)
        cells: list[Text | str] = [
            _severity(finding.severity),
            finding.code,
            Text(fact if 0 < len(fact) <= room else "-"),
        ]
        table.add_row(*cells[: len(columns)])
    parts: list[Any] = [table, Text()]
    for finding in findings:
        heading = Text.assemble((finding.code, "bold"), ": ", finding.title)
        parts.append(heading)
        if finding.severity is not Severity.INFO or verbose:  # an info finding's detail: --verbose or json
            parts.append(_prose(finding.detail))
        if verbose and finding.evidence:
            parts.append(_prose(Text("evidence: " + "; ".join(finding.evidence), style="dim")))
    return parts


def settings_table(report: CheckReport) -> Table:
    """Every setting read (--verbose), with where it was set."""
    server = report.server
    table = _table("Setting", "Value", "Set by", title="What the server says")
    table.columns[0].no_wrap = table.columns[1].no_wrap = True
    for setting in server.settings.values():
        if setting.name in ("max_connections", "superuser_reserved_connections", "reserved_connections"):
            continue
        table.add_row(setting.name, setting.display, Text(setting.source if setting.present else "not in this version"))
    slots = (
        f"{server.max_connections} max, {server.superuser_reserved_connections + server.reserved_connections} reserved"
    )
    if server.role_connlimit is not None:
        slots += f", role limit {server.role_connlimit}"
    if server.database_connlimit is not None:
        slots += f", database limit {server.database_connlimit}"
    table.add_row("connection slots", Text(slots), "")
    activity = server.activity
    states = ", ".join(f"{n} {state}" for state, n in sorted(activity.by_state.items())) or "none"
    table.add_row("connections now", f"{activity.total}", Text(states))
    platform = report.facts.platform
    if platform is not None:
        documented = ", ".join(limit.what for limit in platform.entry.limits()) or "no published limit"
        table.add_row("platform", Text(platform.entry.name), Text("\n".join([*platform.evidence, documented])))
    for hop in report.facts.path.hops:
        if hop.kind == "middlebox":
            table.add_row("middlebox", Text(hop.name), Text(", ".join(limit.what for limit in hop.limits)))
    runtime = report.facts.runtime
    if runtime is not None:
        table.add_row("runtime", Text(runtime.name), Text(", ".join(runtime.evidence)))
    pooler = report.facts.pooler
    if pooler is not None and pooler.present:
        table.add_row(
            "pooler",
            Text(pooler.label),
            Text(
                pooler.admin_error
                or ", ".join(
                    f"{k} {v}"
                    for k, v in pooler.config.items()
                    if k in ("pool_mode", "client_idle_timeout", "max_client_conn", "default_pool_size")
                )
            ),
        )
    return table


def app_pools_table(report: CheckReport) -> Table:
    """--app: each pool judged, the values it was judged with and where each came from."""
    table = _table("Pool", "Setting", "Value", "From", title=f"The app's pools (--app {report.inputs.app})")
    table.columns[0].no_wrap = table.columns[1].no_wrap = True
    table.columns[2].max_width = 30
    table.columns[3].overflow = "fold"
    for judged in report.pools:
        app = judged.app
        label = Text(f"{app.where}\n{app.ref.stack} · {app.target.driver}", style="bold")
        if app.judged_as:
            label.append(f"\n{app.judged_as}", style="dim")
        worst = max((f.severity for f in judged.findings), key=lambda s: s.rank, default=None)
        label.append(
            "\n"
            + (f"{sum(1 for f in judged.findings if f.severity is worst)} {worst.value}" if worst else "no findings"),
            style=SEVERITY_STYLE[worst] if worst else "green",
        )
        rows = [
            (key, value, where)
            for key, (value, where) in app.sources.items()
            if where != "library default" or key in _SHOWN_DEFAULTS
        ]
        for index, (key, value, where) in enumerate(rows):
            shown = (
                Text(f"unknown (judged: {_short(value)})" if value is not None else "unknown", style="yellow")
                if key in app.unknown
                else Text(_short(value))
            )
            table.add_row(label if index == 0 else "", key, shown, Text(where))
    return table


# Library defaults worth a row even when nothing sets them: what decides whether idle connections survive.
_SHOWN_DEFAULTS = frozenset(
    {
        "pool_recycle",
        "pool_pre_ping",
        "pool_size",
        "max_overflow",
        "min_size",
        "max_size",
        "max_inactive_connection_lifetime",
        "check",
        "max_idle",
        "CONN_MAX_AGE",
        "CONN_HEALTH_CHECKS",
    }
)


def could_not_see(limitations: list[str]) -> list[Any]:
    return [Text("Could not see:", style="bold"), *(_prose("- " + line) for line in limitations)]


def _summary(findings: list[Finding]) -> str:
    counts = {s: sum(1 for f in findings if f.severity is s) for s in Severity}
    return ", ".join(f"{counts[s]} {s.value}" for s in (Severity.CRITICAL, Severity.WARNING, Severity.INFO))


def render_check(report: CheckReport, options: RenderOptions, out: Console) -> None:
    if options.format == "json":
        write_json(out, report.to_json())
        return
    if options.format == "markdown":
        write(out, check_markdown(report))
        return
    server = report.server
    transport = server.transport + (", TLS" if server.ssl else ", no TLS" if server.transport == "tcp" else "")
    parts: list[Any] = [
        Text.assemble(("pool-doctor check ", "bold"), report.inputs.target.display()),
        Text(
            f"PostgreSQL {server.version} · judged as role {server.role} in database {server.database}"
            + (f" (connected as {server.connected_as})" if server.connected_as != server.role else "")
            + f" · {transport}"
        ),
        Text(),
        *findings_parts(report.findings, out.width, options.verbose),
    ]
    if report.pools:
        parts += [Text(), app_pools_table(report)]
    if options.verbose:
        parts += [Text(), settings_table(report)]
    if server.limitations:
        parts += could_not_see(server.limitations)
    more = "" if options.verbose else " · more: --verbose"
    parts.append(Text.assemble(("Summary: ", "bold"), _summary(report.findings), more))
    out.print(Group(*parts))


def _md(text: Any) -> str:
    """A markdown table cell: pipes escaped, one line."""
    return " ".join(str(text).split()).replace("|", "\\|")


def findings_markdown(findings: list[Finding]) -> list[str]:
    if not findings:
        return ["No findings."]
    lines = ["| severity | code | finding | fact |", "|---|---|---|---|"]
    lines += [f"| {f.severity.value} | `{f.code}` | {_md(f.title)} | {_md(_fact(f))} |" for f in findings]
    lines.append("")
    for f in findings:
        lines += [f"<details><summary><code>{f.code}</code>: {_md(f.title)}</summary>", "", f.detail, ""]
        lines += [f"- {_md(item)}" for item in f.evidence]
        lines += ["", "</details>", ""]
    return lines


def check_markdown(report: CheckReport) -> str:
    """A GitHub-flavoured report for $GITHUB_STEP_SUMMARY or a pull-request comment."""
    server = report.server
    lines = [
        f"## pool-doctor check: {_summary(report.findings)}",
        "",
        f"`{report.inputs.target.display()}` · PostgreSQL {server.version} · role `{server.role}` "
        f"in database `{server.database}`",
        "",
        *findings_markdown(report.findings),
    ]
    if report.findings:
        from pool_doctor.recommend import recommend

        rec = recommend(report.facts, report.findings)
        if rec.reasons:
            lines += ["### Recommended settings", "", *reasons_markdown(rec), ""]
    if server.limitations:
        lines += ["### Could not see", "", *(f"- {_md(line)}" for line in server.limitations), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def reasons_markdown(rec: Recommendation) -> list[str]:
    lines = ["| setting | recommended | current | why |", "|---|---|---|---|"]
    for reason in rec.reasons:
        current = "-" if reason.current is None else _short(reason.current)
        lines.append(f"| `{reason.key}` | `{_md(_short(reason.value))}` | `{_md(current)}` | {_md(reason.why)} |")
    return lines


def recommendation_json(report: CheckReport, rec: Recommendation) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "target": report.inputs.target.display(),
        "role": report.server.role,
        "driver": rec.driver,
        "stack": rec.stack,
        "recommendation": (
            {**rec.pool.model_dump(exclude_none=True), "connect_args": jsonable_connect_args(rec.connect_args)}
            if rec.stack == "sqlalchemy"
            else rec.values
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
    pool = rec.pool.model_dump(exclude_none=True, exclude={"stack"})  # `stack` is pool-doctor's key, not SQLAlchemy's
    if "poolclass" in pool:
        lines.insert(1, f"from sqlalchemy.pool import {pool['poolclass']}")
    if pool.get("poolclass") == "NullPool":
        # NullPool takes no sizes: create_engine refuses pool_size/max_overflow/pool_timeout with it.
        pool = {key: value for key, value in pool.items() if key not in ("pool_size", "max_overflow", "pool_timeout")}
    lines.append(f"engine = {factory}(")
    lines.append("    # the password: from your secret store or ~/.pgpass, never in code")
    lines.append(f"    {url!r},")
    for key, value in pool.items():
        lines.append(f"    {key}={value if key == 'poolclass' else repr(value)},")
    lines.append("    connect_args={")
    for key, value in rec.connect_args.items():
        if isinstance(value, dict):  # one key a line: the block stays within 80 columns
            lines.append(f"        {key!r}: {{")
            lines += [f"            {k!r}: {v!r}," for k, v in value.items()]
            lines.append("        },")
            continue
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
    secret_note = "# the password: from your secret store or ~/.pgpass, never in code"
    if rec.stack == "asyncpg":
        lines = [
            "import asyncpg",
            "",
            "",
            "async def make_pool() -> asyncpg.Pool:",
            "    return await asyncpg.create_pool(",
            f"        {secret_note}",
            f"        {dsn!r},",
        ]
        lines += [f"        {key}={value!r}," for key, value in values.items()]
        return "\n".join([*lines, "    )"]) + "\n"
    if rec.stack == "psycopg_pool":
        check = values.pop("check", None)
        lines = [
            "from psycopg_pool import ConnectionPool",
            "",
            "pool = ConnectionPool(",
            f"    {secret_note}",
            f"    {dsn!r},",
        ]
        if check:
            lines.append("    check=ConnectionPool.check_connection,")
        lines += [f"    {key}={value!r}," for key, value in values.items()]
        return "\n".join([*lines, "    open=True,", ")"]) + "\n"
    entry: dict[str, Any] = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": target.database,
        "USER": target.user,
        "HOST": target.host,
        "PORT": str(target.port),
    }
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
    network = settings.network
    if network.idle_timeout is not None or network.platform:
        out += ["", "[network]"]
        if network.middlebox:
            out.append(f"middlebox = {_toml_value(network.middlebox)}")
        if network.idle_timeout is not None and (network.given("idle_timeout") or not network.middlebox):
            out.append(f"idle_timeout = {_toml_value(network.idle_timeout)}")
        if network.given("shape"):
            out.append(f"shape = {_toml_value(network.shape)}")
        if network.platform:
            out.append(f"platform = {_toml_value(network.platform)}")
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


def render_app_recommendations(
    report: CheckReport, recs: list[tuple[CheckReport, Recommendation]], options: RenderOptions, out: Console
) -> None:
    """--app: the fix for each pool, in that pool's own terms, each under its file:line."""
    fmt = options.format
    if fmt == "json":
        write_json(
            out,
            {
                "schema_version": SCHEMA_VERSION,
                "target": report.inputs.target.display(),
                "role": report.server.role,
                "app": report.inputs.app,
                "pools": [
                    {
                        "pool": to_jsonable(one.pools[0].app.ref),
                        **_without(recommendation_json(one, rec), "target", "role", "schema_version"),
                    }
                    for one, rec in recs
                ],
            },
        )
        return
    if fmt == "python":
        write(
            out,
            "\n\n".join(
                f"# {one.pools[0].app.where}: {one.pools[0].app.call}\n" + recommendation_python(one, rec)
                for one, rec in recs
            ),
        )
        return
    if fmt == "toml":  # one [pool] per file: the command asks for --pool first when there are several
        one, rec = recs[0]
        write(out, f"# {one.pools[0].app.where}: {one.pools[0].app.call}\n" + recommendation_toml(one, rec))
        return
    for one, rec in recs:
        app = one.pools[0].app
        render_recommendation(
            one, rec, options, out, title=f"Recommended settings for {app.where} ({app.ref.stack}, {app.target.driver})"
        )


def _without(document: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key not in keys}


def render_recommendation(
    report: CheckReport, rec: Recommendation, options: RenderOptions, out: Console, title: str | None = None
) -> None:
    fmt = options.format
    if fmt == "json":
        write_json(out, recommendation_json(report, rec))
        return
    if fmt in ("python", "toml"):
        write(out, recommendation_python(report, rec) if fmt == "python" else recommendation_toml(report, rec))
        return
    if fmt == "markdown":
        write(out, recommendation_markdown(report, rec))
        return
    parts: list[Any] = [
        Text(title, style="bold")
        if title
        else Text.assemble(("pool-doctor recommend ", "bold"), report.inputs.target.display()),
        Text(f"for role {report.server.role}, driver {rec.driver}: paste this"),
        Text(),
    ]
    if rec.reasons:
        # The block is the answer: plain lines to paste, never wrapped (each is shorter than 80 columns).
        parts.append(Text(recommendation_python(report, rec).rstrip("\n"), no_wrap=True, overflow="ignore"))
        parts.append(Text())
        parts.append(Text("Why each setting (the whole reasons and evidence: --format json):", style="bold"))
        for reason in rec.reasons:
            current = "unset" if reason.current is None else _short(reason.current)
            parts.append(_prose(Text.assemble((reason.key, "bold"), f" (was {current})")))
            parts.append(_prose(reason.short or reason.why, indent=4))
    else:
        parts.append(Text("Nothing to change: no finding names a setting of the app's."))
    if rec.server_sql:
        parts += [Text(), Text("For the DBA (pool-doctor never changes the server):", style="bold")]
        for reason in rec.server_sql:
            parts.append(_prose(Text(str(reason.value), no_wrap=True, overflow="fold")))
            parts.append(_prose(reason.short or reason.why, indent=4))
    if rec.findings:
        parts += [Text(), *findings_parts(rec.findings, out.width, title="Problems no setting fixes")]
    if report.server.limitations:
        parts += could_not_see(report.server.limitations)
    parts.append(Text("As a config file for check --config: --format toml.", style="dim"))
    out.print(Group(*parts))


def recommendation_markdown(report: CheckReport, rec: Recommendation) -> str:
    lines = [f"## pool-doctor recommend for `{report.inputs.target.display()}`", ""]
    if rec.reasons:
        lines += ["```python", recommendation_python(report, rec).rstrip("\n"), "```", "", *reasons_markdown(rec), ""]
    else:
        lines += ["Nothing to change: no finding names a setting of the app's.", ""]
    if rec.server_sql:
        lines += ["### For the DBA", "", "```sql", *(str(r.value) for r in rec.server_sql), "```", ""]
        lines += [f"- {_md(r.why)}" for r in rec.server_sql]
        lines.append("")
    if rec.findings:
        lines += ["### Problems no setting fixes", "", *findings_markdown(rec.findings)]
    return "\n".join(lines).rstrip("\n") + "\n"


def _short(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


# -- probe ----------------------------------------------------------------------------------------

if TYPE_CHECKING:
    from pool_doctor.probe.model import ProbeReport, ScenarioResult

OUTCOME_STYLE = {
    "ok": "",
    "error": SEVERITY_STYLE[Severity.CRITICAL],
    "hang": SEVERITY_STYLE[Severity.CRITICAL],
    "skipped": "dim",
}


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms" if value >= 1 else f"{value:.2f} ms"


def probe_path_table(data: dict[str, Any]) -> Table:
    connect, trip, load = data["connect"], data["round_trip"], data["load"]
    table = _table("Measured", "Result", title="The path")
    table.columns[0].no_wrap = True
    table.add_row(
        f"connect ({connect['connections']} fresh)",
        f"p50 {_ms(connect['p50_ms'])} · p95 {_ms(connect['p95_ms'])} · max {_ms(connect['max_ms'])}",
    )
    pids = {
        True: "no pooler (startup PID = backend PID)",
        False: "a pooler answers (startup PID != backend PID)",
        None: "startup PID unknown",
    }[connect["pids_match"]]
    tls = f"TLS {connect['tls_version'] or ''}".rstrip() if connect["tls"] else "no TLS"
    table.add_row("server", Text(f"PostgreSQL {connect['server_version']} · {tls} · {pids}"))
    if trip:
        table.add_row(
            f"SELECT 1 ({trip['samples']}x)",
            f"p50 {_ms(trip['p50_ms'])} · p95 {_ms(trip['p95_ms'])} · p99 {_ms(trip['p99_ms'])}",
        )
        ping = trip["pre_ping"]
        table.add_row("pre-ping cost", f"{_ms(ping['cost_per_checkout_ms'])} per checkout")
    if load:
        verdict = Text(
            f"{load['throughput_per_s']:g}/s · wait p99 {_ms(load['checkout_wait_p99_ms'])} · "
            f"{load['pool_timeouts']} timeouts · {load['errors']} errors"
        )
        if load["pool_timeouts"] or load["errors"]:
            verdict.stylize(SEVERITY_STYLE[Severity.CRITICAL])
        table.add_row(f"load ({load['tasks']} tasks, {load['seconds']:.1f}s)", verdict)
    return table


def _outcome_cell(result: ScenarioResult) -> Text:
    """What the app sees, in one short cell: ok, the error's type whole, hang, skipped."""
    if result.outcome == "error" and result.error is not None:
        return Text(result.error.type, style=OUTCOME_STYLE["error"])
    if result.outcome == "hang":
        bound = f" ({result.seconds:g}s)" if result.seconds is not None else ""
        return Text(f"hang{bound}", style=OUTCOME_STYLE["hang"])
    return Text(result.outcome, style=OUTCOME_STYLE[result.outcome])


def _scenario_lines(report: ProbeReport) -> list[Any]:
    """Below the table, per scenario: the limit it reproduced, what failed and how, what the fix ran as."""
    parts: list[Any] = []
    skipped: dict[str, list[str]] = {}
    for name in dict.fromkeys(s.name for s in report.scenarios):
        results = {s.config: s for s in report.scenarios if s.name == name}
        sentences: list[str] = []
        for result in results.values():
            scaled = result.scaled
            if "factor" in scaled and not sentences:
                assumed = (
                    " (assumed: none known; --network-idle-timeout or --discover-idle-timeout)"
                    if scaled.get("killer_assumed")
                    else ""
                )
                sentences.append(
                    f"{scaled['killer_seconds']:g}s ran as {scaled['killer_scaled']:g}s, "
                    f"idle {scaled.get('idle_seconds', 0):g}s{assumed}."
                )
            if result.outcome == "skipped":
                skipped.setdefault(result.reason or "skipped", []).append(name)
                break
            if result.error is not None:
                wrapped = f", raised as {result.error.wrapped_as}" if result.error.wrapped_as else ""
                recovered = (
                    ""
                    if result.recovered is None
                    else "; the next request worked"
                    if result.recovered
                    else "; the next request failed too"
                )
                sentences.append(f"{result.config}: {result.error}{wrapped}{recovered}.")
            elif result.outcome == "hang":
                sentences.append(f"{result.config}: {result.reason or 'hang'}.")
            elif result.config == "recommended" and _scenario_scale(result):
                sentences.append(f"recommended ran with {_scenario_scale(result)}.")
            if result.agrees is False:  # the model was wrong: say so, it is itself a finding
                sentences.append(
                    f"{result.config}: the judge expected {result.judge_expected} ({result.judge_verdict})."
                )
        if sentences:
            parts += [Text(name, style="bold"), _prose(" ".join(sentences))]
    for reason, names in skipped.items():
        parts += [Text(", ".join(names) + " skipped", style="bold"), _prose(reason)]
    return parts


def _scenario_scale(result: ScenarioResult) -> str:
    scaled = result.scaled
    parts = []
    if scaled.get("pool_recycle", -1) > 0:
        parts.append(f"recycle {scaled['pool_recycle']:g}s")
    for key, label in (("command_timeout", "command_timeout {}s"), ("tcp_user_timeout_ms", "tcp_user_timeout {}ms")):
        if key in scaled:
            parts.append(label.format(f"{scaled[key]:g}"))
    # Another stack's own time keys (probe/scenarios.py STACK_TIME_KEYS), under their own names.
    for key in (
        "max_inactive_connection_lifetime",
        "max_idle",
        "max_lifetime",
        "CONN_MAX_AGE",
        "OPTIONS.pool.max_idle",
        "OPTIONS.pool.max_lifetime",
    ):
        if key in scaled:
            parts.append(f"{key} {scaled[key]:g}s")
    return ", ".join(parts)


def probe_scenarios_table(report: ProbeReport) -> Table:
    """One row per scenario: what the app sees with its current settings and with the recommended ones."""
    table = _table("Scenario", "Current", "Recommended", title="Failure scenarios, time-scaled")
    for column in table.columns:
        column.no_wrap = True  # error types are what people search for: never cut, never split
    for name in dict.fromkeys(s.name for s in report.scenarios):
        results = {s.config: s for s in report.scenarios if s.name == name}
        cells = [_outcome_cell(results[c]) if c in results else Text("-") for c in ("current", "recommended")]
        table.add_row(name, *cells)
    return table


def _probe_verdict(report: ProbeReport) -> Text:
    current = [s.name for s in report.failures("current")]
    recommended = [s.name for s in report.failures("recommended")]
    return Text.assemble(
        ("Current settings: ", "bold"),
        f"fail {', '.join(current)}" if current else "pass every scenario",
        ("; recommended: ", "bold"),
        f"fail {', '.join(recommended)}" if recommended else "pass every scenario",
        " (see pool-doctor recommend).",
    )


def _idle_timeout_line(report: ProbeReport) -> Text | None:
    found = report.idle_timeout
    if found is None:
        return None
    if found.upper is None:
        line = f"no idle timeout up to {found.max_seconds:g}s"
    else:
        lower = f"{found.lower:.2f}s" if found.lower is not None else "0s"
        line = f"between {lower} and {found.upper:.2f}s, shape: {found.shape}"
        if found.error is not None:
            line += f" ({found.error})"
    return Text.assemble(
        ("Idle timeout on this path: ", "bold"),
        f"{line} [{found.connections} connections, {found.tests} tests, {found.seconds:.1f}s]",
    )


def render_probe(report: ProbeReport, options: RenderOptions, out: Console) -> None:
    if options.format == "json":
        write_json(out, report.to_json())
        return
    if options.format == "markdown":
        write(out, probe_markdown(report))
        return
    parts: list[Any] = [
        Text.assemble(("pool-doctor probe ", "bold"), report.target),
        Text(
            (f"stack {report.stack} · " if report.stack != "sqlalchemy" else "")
            + f"driver {report.driver} · {report.seconds:.1f}s"
        ),
        Text(),
        probe_path_table(report.to_json()),
    ]
    if report.scenarios:
        parts += [Text(), probe_scenarios_table(report), Text(), *_scenario_lines(report)]
    idle = _idle_timeout_line(report)
    if idle is not None:
        parts.append(idle)
    if report.limitations:
        parts += could_not_see(report.limitations)
    parts.append(_probe_verdict(report))
    out.print(Group(*parts))


def probe_markdown(report: ProbeReport) -> str:
    current = report.failures("current")
    lines = [
        f"## pool-doctor probe: {'current settings fail ' + str(len({s.name for s in current})) + ' scenario(s)' if current else 'every scenario passes'}",
        "",
        f"`{report.target}` · driver {report.driver} · {report.seconds:.1f}s",
        "",
    ]
    if report.scenarios:
        lines += ["| scenario | current | recommended |", "|---|---|---|"]
        for name in dict.fromkeys(s.name for s in report.scenarios):
            results = {s.config: s for s in report.scenarios if s.name == name}
            cells = [_md(_outcome_cell(results[c]).plain) if c in results else "-" for c in ("current", "recommended")]
            lines.append(f"| `{name}` | {cells[0]} | {cells[1]} |")
        lines.append("")
        for result in report.scenarios:
            if result.error is not None:
                lines.append(f"- `{result.name}` ({result.config}): `{_md(result.error)}`")
        lines.append("")
    idle = _idle_timeout_line(report)
    if idle is not None:
        lines += [idle.plain, ""]
    lines.append(_probe_verdict(report).plain)
    return "\n".join(lines) + "\n"


class ProbeProgressBar:
    """The probe's steps on stderr (stdout stays the report): a rich bar on a terminal, else one plain line
    a step (CI logs and pipes see that work is going on), or nothing with --quiet."""

    def __init__(self, quiet: bool = False, label: str = "probe", stream: IO[str] | None = None) -> None:
        self._stream = stream or sys.stderr
        self._quiet = quiet
        self._live = not quiet and self._stream.isatty()
        self._label = label
        self._task: Any = None
        self._steps = 0
        self._total = 0
        if self._live:
            from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TimeElapsedColumn(),
                console=Console(file=self._stream),
                transient=True,
            )

    def __enter__(self) -> ProbeProgressBar:
        if self._live:
            self._progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._live:
            self._progress.stop()

    def start(self, steps: int) -> None:
        self._total = steps
        if self._live:
            self._task = self._progress.add_task(self._label, total=steps)

    def step(self, description: str) -> None:
        self._steps += 1
        if self._quiet:
            return
        if not self._live:
            self._stream.write(f"pool-doctor: {self._label} [{self._steps}/{self._total}] {description}\n")
            self._stream.flush()
            return
        if self._steps > 1:
            self._progress.advance(self._task)
        self._progress.update(self._task, description=description)
