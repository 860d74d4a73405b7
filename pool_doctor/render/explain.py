"""`explain`'s report: the deaths a running app recorded, by cause, their idle times, what prevents them."""

from __future__ import annotations

import math
import textwrap
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from pool_doctor.durations import format_seconds
from pool_doctor.monitor.explain import Bin, Cause, ExplainReport, Failure, Holder
from pool_doctor.render import RenderOptions, md_cell, write, write_json

NOTHING = "No connection deaths recorded: nothing to explain."
HISTOGRAM_BAR = 36  # characters for the longest bar: label + bar + count + marker fit 80 columns


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def _idle_range(cause: Cause) -> str:
    low, high = round(min(cause.idle), 1), round(max(cause.idle), 1)
    return format_seconds(low) if math.isclose(low, high) else f"{format_seconds(low)}-{format_seconds(high)}"


def histogram_lines(bins: list[Bin]) -> list[str]:
    """Plain lines, e.g. `  3s-3.5s │████████████ 1  ◂ idle_session_timeout 2s`; at most 80 columns."""
    if not bins:
        return []
    top = max(b.count for b in bins) or 1
    labels = [f"{format_seconds(b.low) if b.low else '0s'}-{format_seconds(b.high)}" for b in bins]
    label_width = max(len(label) for label in labels)
    lines = []
    for label, b in zip(labels, bins):
        bar = "█" * max(1 if b.count else 0, round(HISTOGRAM_BAR * b.count / top))
        mark = f"  ◂ {', '.join(b.limits)}" if b.limits else ""
        line = f"{label:>{label_width}} │{bar:<{HISTOGRAM_BAR}} {b.count:>3}{mark}"
        lines.append(line[:80])
    return lines


def _failures_table(failures: list[Failure]) -> list[Any]:
    """Requests that failed on live connections: the cause, how many, the driver's error and the remedy; lines
    wrapped at 80 columns with their continuations indented."""
    if not failures:
        return []
    total = sum(f.count for f in failures)
    lines = [f"{total} request(s) failed on connections that lived on."]
    for failure in failures:
        lines += textwrap.wrap(f"{failure.name}: {failure.what} (x{failure.count})", 80, subsequent_indent="  ")
        for error, count in failure.errors.most_common(2):
            lines += textwrap.wrap(f"{error} (x{count})", 80, initial_indent="  ", subsequent_indent="    ")
        if failure.remedy:
            lines += textwrap.wrap(f"fix: {failure.remedy}", 80, initial_indent="  ", subsequent_indent="    ")
    return [Text("\n".join(lines) + "\n")]


def _holders_title(report: ExplainReport) -> str:
    held = sum(h.held for h in report.holders)
    leaked = sum(h.leaked for h in report.holders)
    return f"Connections held too long ({held}) and leaked ({leaked}), by the line that took them"


def _longest(holder: Holder) -> str:
    if not holder.held + holder.leaked:
        return "-"
    return format_seconds(round(holder.longest_s, 1)) if holder.longest_s >= 0.1 else "<0.1s"


def _in_transaction(holder: Holder) -> str:
    return f"{holder.in_transaction} of {holder.held + holder.leaked}" if holder.held + holder.leaked else "-"


def holders_table(report: ExplainReport) -> Table:
    table = Table(title=_holders_title(report), title_justify="left", title_style="bold")
    table.add_column("where", overflow="fold", ratio=3)
    table.add_column("held", justify="right")
    table.add_column("leaked", justify="right")
    table.add_column("deaths", justify="right")
    table.add_column("longest", justify="right")
    table.add_column("in tx", justify="right")
    for holder in report.holders:
        table.add_row(
            Text(holder.at + (f" in {holder.function}" if holder.function else "")),
            str(holder.held),
            str(holder.leaked),
            str(holder.deaths),
            _longest(holder),
            _in_transaction(holder),
        )
    return table


def explain_table(report: ExplainReport) -> list[Any]:
    """Rich renderables for the terminal: summary, causes, histogram, the settings that prevent them; then the
    requests that failed on live connections, and the connections held too long and leaked, by the line that
    took them. Every value is plain text: a cause like `[network] idle_timeout` is never read as markup."""
    holders: list[Any] = [holders_table(report)] if report.holders else []
    extra = [*_failures_table(report.failures), *holders]
    if not report.deaths:
        return [Text("No connection deaths recorded."), *extra] if extra else [Text(NOTHING)]
    parts: list[Any] = [
        Text(
            f"{report.deaths} connection death(s): {report.failed} failed a request, {report.replaced} replaced "
            f"silently by the pool.",
            style="bold",
        )
    ]
    table = Table(title="Deaths by cause", title_justify="left", title_style="bold")
    table.add_column("cause", overflow="fold", ratio=3)
    table.add_column("deaths", justify="right")
    table.add_column("failed", justify="right")
    table.add_column("idle at death", justify="right")
    for cause in report.causes:
        table.add_row(
            Text(cause.what),
            str(cause.deaths),
            f"{cause.failed} ({_pct(cause.failed, cause.deaths)})",
            Text(_idle_range(cause)),
        )
    parts.append(table)
    errors = Text("Driver errors\n", style="bold")
    for cause in report.causes:
        for error, count in cause.errors.most_common(3):
            errors.append(f"  {cause.name}: ", style="bold")
            errors.append(f"{error} (x{count})\n")
    parts.append(errors)
    parts.append(Text("Idle time at death", style="bold"))
    parts.append(Text("\n".join(histogram_lines(report.histogram)) + "\n"))
    prevent = Text("Settings that would have prevented them\n", style="bold")
    for cause in report.causes:
        prevent.append(f"{cause.what}\n")
        for p in cause.prevented_by:
            prevent.append(f"  {p.setting}", style="bold green")
            prevent.append(f" ({p.stack}): {p.outcome}: {p.reason}" + (f"; cost: {p.cost}" if p.cost else "") + "\n")
        for advice in cause.advice:
            prevent.append(f"  {advice}\n")
        if not cause.prevented_by and not cause.advice:
            prevent.append("  no pool setting found that prevents it\n")
    parts.append(prevent)
    return parts + extra


def _failures_markdown(failures: list[Failure]) -> list[str]:
    if not failures:
        return []
    lines = ["", "## Requests that failed on live connections", ""]
    for failure in failures:
        error = failure.errors.most_common(1)[0][0] if failure.errors else "-"
        lines.append(f"- **{failure.name}** (x{failure.count}): {md_cell(failure.what)}; `{md_cell(error)}`")
        if failure.remedy:
            lines.append(f"  fix: {md_cell(failure.remedy)}")
    return lines


def holders_markdown(report: ExplainReport) -> list[str]:
    if not report.holders:
        return []
    lines = [
        "",
        f"## {_holders_title(report)}",
        "",
        "| where | held | leaked | deaths | longest | in a transaction |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for h in report.holders:
        longest = _longest(h)
        where = md_cell(h.at + (f" in {h.function}" if h.function else ""))
        lines.append(f"| {where} | {h.held} | {h.leaked} | {h.deaths} | {longest} | {_in_transaction(h)} |")
    return lines


def explain_markdown(report: ExplainReport) -> str:
    if not report.deaths:
        if report.holders or report.failures:
            return (
                "\n".join(
                    [
                        "# Connection deaths",
                        "",
                        "No connection deaths recorded.",
                        *_failures_markdown(report.failures),
                        *holders_markdown(report),
                    ]
                )
                + "\n"
            )
        return f"# Connection deaths\n\n{NOTHING}\n"
    lines = [
        "# Connection deaths",
        "",
        f"{report.deaths} death(s): {report.failed} failed a request, {report.replaced} replaced silently by the pool.",
        "",
        "| cause | deaths | failed | idle at death | driver error |",
        "|---|---:|---:|---:|---|",
    ]
    for cause in report.causes:
        error = cause.errors.most_common(1)[0][0] if cause.errors else "-"
        lines.append(
            f"| {md_cell(cause.what)} | {cause.deaths} | {cause.failed} | {_idle_range(cause)} | {md_cell(error)} |"
        )
    lines += [
        "",
        "## Idle time at death",
        "",
        "```",
        *histogram_lines(report.histogram),
        "```",
        "",
        "## Settings that would have prevented them",
        "",
    ]
    for cause in report.causes:
        for p in cause.prevented_by:
            cost = f" (cost: {p.cost})" if p.cost else ""
            lines.append(f"- **{cause.name}**: `{p.setting}` ({p.stack}): {p.outcome}, {p.reason}{cost}")
        for advice in cause.advice:
            lines.append(f"- **{cause.name}**: {advice}")
    return "\n".join(lines + _failures_markdown(report.failures) + holders_markdown(report)) + "\n"


def render_explain(report: ExplainReport, options: RenderOptions, out: Console) -> None:
    if options.format == "json":
        write_json(out, report.to_json())
    elif options.format == "markdown":
        write(out, explain_markdown(report))
    else:
        for part in explain_table(report):
            out.print(part)
