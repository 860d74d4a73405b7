"""`check`'s report: the findings, the facts behind them (--verbose) and the app's pools (--app)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from pool_doctor.render import (
    SEVERITY_STYLE,
    RenderOptions,
    md_cell,
    plain_table,
    short_value,
    wrap_tokens,
    write,
    write_json,
)
from pool_doctor.render import (
    heading as report_heading,
)
from pool_doctor.render.findings import could_not_see, findings_markdown, findings_parts, summary_line

if TYPE_CHECKING:
    from pool_doctor.check import CheckReport


def settings_table(report: CheckReport) -> Table:
    """Every setting read (--verbose), with where it was set."""
    server = report.server
    table = plain_table("Setting", "Value", "Set by", title="What the server says")
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


def app_pools_parts(report: CheckReport) -> list[Any]:
    """--app: each pool judged, under a heading line, with the values it was judged with and their origin."""
    parts: list[Any] = [Text(), Text(f"The app's pools (--app {report.inputs.app})", style="bold")]
    for judged in report.pools:
        app = judged.app
        worst = max((f.severity for f in judged.findings), key=lambda s: s.rank, default=None)
        verdict = f"{sum(1 for f in judged.findings if f.severity is worst)} {worst.value}" if worst else "no findings"
        heading = Text.assemble(
            (app.where, "bold"),
            f" · {app.ref.stack} · {app.target.driver}",
            f" (judged as {app.judged_as})" if app.judged_as else "",
            " · ",
            (verdict, SEVERITY_STYLE[worst] if worst else "green"),
        )
        # One setting a line, its source after it: values the user looks for in the code stay whole at any
        # width, broken only at their own separators (a table would cut them with "...").
        rows = Text()
        for key, (value, where) in app.sources.items():
            if where == "library default" and key not in _SHOWN_DEFAULTS:
                continue
            unknown = key in dict(app.unknown)
            shown = (
                (f"unknown (judged: {short_value(value)})" if value is not None else "unknown")
                if unknown
                else short_value(value)
            )
            lines = wrap_tokens(f"{key} = {shown} · {_relative(where, app.ref.file)}", indent="  ", subsequent="      ")
            rows.append("\n".join(lines) + "\n", style="yellow" if unknown else "")
        parts += [Text(), heading, rows]
    return parts


def _relative(where: str, pool_file: str) -> str:
    """Where a value came from, as seen from the pool's own file: `line 9` there, the path elsewhere."""
    folder = pool_file.rsplit("/", 1)[0] + "/" if "/" in pool_file else ""
    where = where.replace(f"{pool_file}:", "line ")
    return where.replace(folder, "") if folder else where


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
        report_heading("check", report.inputs.target.display(), out.width),
        Text(
            f"PostgreSQL {server.version} · judged as role {server.role} in database {server.database}"
            + (f" (connected as {server.connected_as})" if server.connected_as != server.role else "")
            + f" · {transport}"
        ),
        *([Text(f"config: {report.inputs.config_path}")] if report.inputs.config_path else []),
        Text(),
        *findings_parts(report.findings, out.width, options.verbose),
    ]
    if report.pools:
        parts += app_pools_parts(report)
    if options.verbose:
        parts += [Text(), settings_table(report)]
    if server.limitations:
        parts += could_not_see(server.limitations)
    more = "" if options.verbose else " · more: --verbose"
    parts.append(Text.assemble(("Summary: ", "bold"), summary_line(report.findings), more))
    out.print(Group(*parts))


def check_markdown(report: CheckReport) -> str:
    """A GitHub-flavoured report for $GITHUB_STEP_SUMMARY or a pull-request comment."""
    server = report.server
    lines = [
        f"## pool-doctor check: {summary_line(report.findings)}",
        "",
        f"`{report.inputs.target.display()}` · PostgreSQL {server.version} · role `{server.role}` "
        f"in database `{server.database}`"
        + (f" · config `{report.inputs.config_path}`" if report.inputs.config_path else ""),
        "",
        *findings_markdown(report.findings),
    ]
    from pool_doctor.render.recommend import reasons_markdown

    for one, rec in report.recommendations():
        if rec.reasons:
            where = f" for `{one.pools[0].app.where}`" if report.pools else ""
            lines += [f"### Recommended settings{where}", "", *reasons_markdown(rec), ""]
    if server.limitations:
        lines += ["### Could not see", "", *(f"- {md_cell(line)}" for line in server.limitations), ""]
    return "\n".join(lines).rstrip("\n") + "\n"
