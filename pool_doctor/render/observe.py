"""`observe`'s report: one row per group (terminal table, also the live one), then the forecasts, the idle
transactions' holders, the deaths and the session counters, as prose under it; or JSON, or markdown."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.console import Group as Stack
from rich.table import Table
from rich.text import Text

from pool_doctor.observe.model import HIDDEN, IDLE, IDLE_IN_TRANSACTION, Group, ObserveReport
from pool_doctor.render import RenderOptions, md_cell, plain_table, prose, write, write_json

STATE_SHORT = {IDLE: "idle", IDLE_IN_TRANSACTION: "idle-tx", "active": "active", HIDDEN: "hidden"}


def _states(group: Group) -> str:
    return " ".join(
        f"{n} {STATE_SHORT.get(state, state.replace('idle in transaction', 'idle-tx'))}"
        for state, n in sorted(group.by_state.items())
    )


def _age(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.0f}s"


def _limits(group: Group) -> str:
    names = {
        "idle_session_timeout": "idle",
        "idle_in_transaction_session_timeout": "idle-tx",
        "transaction_timeout": "tx",
    }
    return ", ".join(f"{names[x.name]} {x.value}" for x in group.limits) or "none"


def groups_table(report: ObserveReport) -> Table:
    title = f"{report.target}: {report.samples} sample(s) over {report.seconds:.0f} s"
    table = plain_table("group (app · role@db · client)", "sessions", "idle now/max", "limits", title=title)
    table.columns[0].overflow = "fold"
    table.columns[0].ratio = 3
    table.columns[3].overflow = "fold"
    table.columns[3].ratio = 2
    for group in report.groups:
        style = "bold red" if group.deaths else ("yellow" if group.forecasts else "")
        table.add_row(
            Text(group.key.label(), style=style),
            _states(group) or "gone",
            f"{_age(group.idle_now)}/{_age(group.idle_max)}",
            _limits(group),
        )
    return table


def observe_renderables(report: ObserveReport) -> list[Any]:
    parts: list[Any] = [groups_table(report)]
    if not report.groups:
        parts.append(prose("No client sessions but observe's own."))
    for forecast in report.forecasts:
        parts.append(Text("forecast: ", style="yellow").append(forecast.text(), style=""))
    for group in report.groups:
        for holder in group.holders:
            parts.append(
                prose(
                    f"idle in transaction: pid {holder.pid} ({group.key.label()}) idle {holder.idle_seconds:.0f} s"
                    + (" when last seen" if holder.ended else "")
                    + ", "
                    f"transaction open {_age(holder.transaction_seconds)}; last statement: {holder.statement or '?'}",
                    indent=0,
                )
            )
    for death in report.deaths:
        label, style = ("died: ", "bold red") if death.cause else ("ended: ", "dim")
        parts.append(Text(label, style=style).append(death.text(), style=""))
    totals = report.counter_totals()
    if totals is not None and report.final:
        changed = (
            ", ".join(
                f"{db}: " + ", ".join(f"{k} +{v}" for k, v in c.items() if v)
                for db, c in report.session_counters.items()
            )
            if report.session_counters
            else ""
        )
        parts.append(
            prose(
                f"pg_stat_database over the window: sessions_fatal +{totals['sessions_fatal']}, sessions_killed "
                f"+{totals['sessions_killed']}, sessions_abandoned +{totals['sessions_abandoned']}"
                + (f" ({changed})" if changed else ""),
                indent=0,
            )
        )
    elif report.final:
        parts.append(prose(f"PostgreSQL {report.version} has no pg_stat_database.sessions_* (14+).", indent=0))
    if report.pooler:
        parts.append(prose(_pooler_line(report.pooler), indent=0))
    for line in report.limitations:
        parts.append(prose(f"cannot see: {line}", indent=0))
    if report.final and report.query_ms_max is not None:
        parts.append(
            Text(
                f"sampling query: median {report.query_ms_median:.1f} ms, max {report.query_ms_max:.1f} ms",
                style="dim",
            )
        )
    return parts


def _pooler_line(pooler: dict[str, Any]) -> str:
    if pooler.get("error"):
        return f"pooler: {pooler['error']}"
    clients, servers = pooler.get("clients") or [], pooler.get("servers") or []
    return f"pooler ({pooler.get('console')}): {len(clients)} client(s), {len(servers)} server connection(s)"


def live_view(report: ObserveReport) -> Stack:
    """What the live table shows after each sample (terminal only)."""
    return Stack(*observe_renderables(report))


def render_observe(report: ObserveReport, options: RenderOptions, out: Console) -> None:
    if options.json:
        write_json(out, report.to_json())
    elif options.format == "markdown":
        write(out, observe_markdown(report))
    else:
        for part in observe_renderables(report):
            out.print(part)


def observe_markdown(report: ObserveReport) -> str:
    lines = [
        f"### pool-doctor observe: {report.target}",
        "",
        f"{report.samples} sample(s) over {report.seconds:.0f} s, as {report.connected_as}.",
        "",
        "| group | sessions | idle now/max | limits |",
        "|---|---|---|---|",
    ]
    for group in report.groups:
        lines.append(
            f"| {md_cell(group.key.label())} | {md_cell(_states(group))} | "
            f"{_age(group.idle_now)}/{_age(group.idle_max)} | {md_cell(', '.join(x.text() for x in group.limits))} |"
        )
    lines.append("")
    lines += [f"- forecast: {md_cell(f.text())}" for f in report.forecasts]
    lines += [f"- {'died' if d.cause else 'ended'}: {md_cell(d.text())}" for d in report.deaths]
    lines += [f"- cannot see: {md_cell(line)}" for line in report.limitations]
    totals = report.counter_totals()
    if totals is not None:
        lines.append("- pg_stat_database: " + ", ".join(f"{k} +{v}" for k, v in totals.items()))
    return "\n".join(lines) + "\n"
