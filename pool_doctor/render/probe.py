"""`probe`'s report: the measured path, one row per failure scenario, and the verdict."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from pool_doctor.model import Severity
from pool_doctor.render import SEVERITY_STYLE, RenderOptions, md_cell, plain_table, prose, write, write_json
from pool_doctor.render import heading as report_heading
from pool_doctor.render.findings import could_not_see
from pool_doctor.stacks import DEFAULT, REGISTRY

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
    table = plain_table("Measured", "Result", title="The path")
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
        if load.get("first_error"):
            table.add_row("first load error", Text(load["first_error"]))
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
        # What a scenario says of its outcome beyond the error (idle_in_transaction: what settings can change), once.
        said = dict.fromkeys(r.reason for r in results.values() if r.reason and r.outcome in ("ok", "error"))
        sentences += [reason if reason.endswith(".") else f"{reason}." for reason in said]
        if sentences:
            parts += [Text(name, style="bold"), prose(" ".join(sentences))]
    for reason, names in skipped.items():
        parts += [Text(", ".join(names) + " skipped", style="bold"), prose(reason)]
    return parts


def _scenario_scale(result: ScenarioResult) -> str:
    scaled = result.scaled
    parts = []
    if scaled.get("pool_recycle", -1) > 0:
        parts.append(f"recycle {scaled['pool_recycle']:g}s")
    driver_keys = (("command_timeout", "command_timeout {}s"), ("tcp_user_timeout_ms", "tcp_user_timeout {}ms"))
    for key, label in (*driver_keys, ("timeout", "timeout {}s")):  # (Driver.probe_scaled_args: pg8000's timeout)
        if key in scaled:
            parts.append(label.format(f"{scaled[key]:g}"))
    # Each stack's time keys (Stack.time_keys) under their own names; pool_recycle is the recycle above.
    for key in dict.fromkeys(key for stack in REGISTRY.values() for key in stack.time_keys):
        if key in scaled and key != "pool_recycle":
            parts.append(f"{key} {scaled[key]:g}s")
    return ", ".join(parts)


def probe_scenarios_table(report: ProbeReport) -> Table:
    """One row per scenario: what the app sees with its current settings and with the recommended ones."""
    table = plain_table("Scenario", "Current", "Recommended", title="Failure scenarios, time-scaled")
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
        report_heading("probe", report.target, out.width),
        Text(
            (f"stack {report.stack} · " if report.stack != DEFAULT else "")  # the default goes unnamed, as in [pool]
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
            cells = [
                md_cell(_outcome_cell(results[c]).plain) if c in results else "-" for c in ("current", "recommended")
            ]
            lines.append(f"| `{name}` | {cells[0]} | {cells[1]} |")
        lines.append("")
        for result in report.scenarios:
            if result.error is not None:
                lines.append(f"- `{result.name}` ({result.config}): `{md_cell(result.error)}`")
        lines.append("")
    idle = _idle_timeout_line(report)
    if idle is not None:
        lines += [idle.plain, ""]
    lines.append(_probe_verdict(report).plain)
    return "\n".join(lines) + "\n"
