"""The inventory's rollup: one row per target, worst first (an error is its row), then the servers the
services share, each service's share of the slots; JSON from the rollup's own to_json(); markdown."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from pool_doctor.errors import ExitCode
from pool_doctor.inventory import Outcome, Rollup
from pool_doctor.render import RenderOptions, md_cell, plain_table, prose, write, write_json

EXIT_WORD = {0: "ok", 1: "findings", 2: "usage", 3: "connect", 4: "internal"}
EXIT_STYLE = {0: "green", 1: "yellow", 2: "bold red", 3: "bold red", 4: "bold red"}


def _counts(outcome: Outcome) -> str:
    if outcome.check is not None:
        from pool_doctor.model import Severity

        return "/".join(str(outcome.check.count(s)) for s in sorted(Severity, key=lambda s: -s.rank))
    if outcome.observe is not None:
        return f"{len(outcome.observe.forecasts)}/{len(outcome.observe.deaths)}"
    return "-"


def _what(outcome: Outcome) -> str:
    if outcome.error is not None:
        return outcome.error
    if outcome.check is not None:
        return ", ".join(dict.fromkeys(f.code for f in outcome.check.findings)) or "no findings"
    if outcome.observe is not None:
        report = outcome.observe
        totals = report.counter_totals()
        fatal = f", sessions_fatal +{totals['sessions_fatal']}" if totals else ""
        return f"{len(report.groups)} group(s){fatal}"
    return ""


def _rows(rollup: Rollup) -> list[tuple[str, int, str, str]]:
    return [(o.target.name, o.exit_code, _counts(o), _what(o)) for o in rollup.outcomes]


def render_rollup(rollup: Rollup, options: RenderOptions, out: Console) -> None:
    if options.json:
        write_json(out, rollup.to_json())
        return
    counts = "crit/warn/info" if rollup.command == "check" else "fcst/died"
    if options.format == "markdown":
        lines = [
            f"### pool-doctor {rollup.command} --inventory {md_cell(rollup.inventory)}",
            "",
            f"| target | exit | {counts} | detail |",
            "|---|---|---|---|",
        ]
        lines += [f"| {md_cell(n)} | {c} | {k} | {md_cell(w)} |" for n, c, k, w in _rows(rollup)]
        lines += ["", *_server_lines(rollup)]
        write(out, "\n".join(lines) + "\n")
        return
    title = f"{rollup.command} --inventory {rollup.inventory}: {len(rollup.outcomes)} target(s), worst first"
    table = plain_table("target", "exit", counts, "detail", title=title)
    table.columns[0].overflow = "fold"
    table.columns[3].overflow = "fold"
    table.columns[3].ratio = 3
    for name, code, found, what in _rows(rollup):
        table.add_row(name, Text(f"{code} {EXIT_WORD.get(code, '')}", style=EXIT_STYLE.get(code, "")), found, what)
    out.print(table)
    for line in _server_lines(rollup):
        out.print(prose(line, indent=0))
    code = rollup.exit_code
    out.print(
        Text(f"exit {code} ({EXIT_WORD.get(code, ExitCode(code).name.lower())}) in {rollup.seconds:.1f} s", style="dim")
    )


def _server_lines(rollup: Rollup) -> list[str]:
    lines = []
    for server in rollup.servers:
        shares = ", ".join(
            f"{s.name} {s.demand} ({100 * s.demand / max(server.usable, 1):.0f}%)" for s in server.shares
        )
        verdict = "OVER BUDGET" if server.over else "fits"
        lines.append(
            f"server {server.server}: {len(server.shares)} service(s) can open {server.demand} connections of "
            f"{server.usable} usable (max_connections {server.max_connections} - reserved {server.reserved}): "
            f"{verdict}; {shares}"
        )
    return lines


render_check_rollup = render_rollup
render_observe_rollup = render_rollup
