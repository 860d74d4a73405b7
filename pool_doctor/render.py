"""Reports to the terminal (rich) or to JSON. Takes report objects and a small options object, never CLI args."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from pool_doctor.model import Severity

if TYPE_CHECKING:
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
    table.add_column("Value", no_wrap=True)
    table.add_column("Set by")
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
    return table


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
    parts: list[Any] = [header, findings_table(report.findings), facts_table(report)]
    if server.limitations:
        parts.append(Text("Could not see:\n" + "\n".join(f"  - {line}" for line in server.limitations), style="yellow"))
    summary = ", ".join(f"{report.count(s)} {s.value}" for s in (Severity.CRITICAL, Severity.WARNING, Severity.INFO))
    parts.append(Text(f"Summary: {summary}", style="bold"))
    out.print(Group(*parts))
