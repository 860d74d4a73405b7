"""Every report as a terminal table (rich), JSON, markdown, TOML, Python or SARIF: one module per report.

    render.check      check's findings, the settings behind them, the app's pools
    render.recommend  the recommended values as code, TOML, JSON, markdown
    render.probe      the measured path and the failure scenarios
    render.scan       the pools found in the source, SARIF for code scanning
    render.explain    the deaths a running app recorded
    render.observe    what the server sees: groups, forecasts, deaths (also the live table)
    render.inventory  many targets' rollup and their shared servers
    render.progress   progress on stderr for the slow commands

Each renderer takes a report, a small options object and a console, and prints only to that console;
cli.py chooses the console (stdout). A report's JSON is the report's own `to_json()`; renderers only
write it. Tables hold short values; the prose that explains them goes below.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import IO, Any

from rich import box
from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from pool_doctor.model import Severity

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
    write(out, json.dumps(document, indent=2) + "\n")


def plain_table(*columns: str, title: str | None = None) -> Table:
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


def prose(text: str | Text, indent: int = 2) -> Padding:
    """A paragraph wrapped to the console's width, indented under what it explains."""
    return Padding(text if isinstance(text, Text) else Text(text), (0, 0, 0, indent), expand=False)


def severity_cell(severity: Severity) -> Text:
    return Text(severity.value, style=SEVERITY_STYLE[severity])


def md_cell(text: Any) -> str:
    """A markdown table cell: pipes escaped, one line."""
    return " ".join(str(text).split()).replace("|", "\\|")


def short_value(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


WIDTH = 80  # what every line of a terminal report fits when the terminal is no wider
BREAKS = "/?&.,=:"  # where a token too long for a line may break: after one of these, never inside a name


def wrap_tokens(
    text: str, width: int = WIDTH, indent: str = "", subsequent: str = "  ", breaks: str = BREAKS
) -> list[str]:
    """`text` in lines of at most `width` characters, broken at spaces, and a token longer than a line (a URL,
    a dotted path) after one of BREAKS: every character stays (no "..."), continuations are indented."""
    import textwrap

    lines: list[str] = []
    for line in textwrap.wrap(
        text,
        width,
        initial_indent=indent,
        subsequent_indent=subsequent,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [indent]:
        while len(line) > width:
            cut = _cut(line, width, len(subsequent), breaks)
            if cut <= len(subsequent):  # no break in reach: leave the token whole rather than split a name
                break
            lines.append(line[: cut + 1])
            line = subsequent + line[cut + 1 :]
        lines.append(line)
    return lines


def _cut(line: str, width: int, start: int, breaks: str) -> int:
    """Where to break a line too long: after the strongest separator in reach (a URL's ? and &, then /, then
    the rest, an IP address's dots last), provided it leaves at least a third of the line; else the latest."""
    tiers = [tier for tier in ("?&", "/,", "=:", "@", ".", "_-") if any(mark in breaks for mark in tier)]
    found = -1
    for tier in tiers:
        cut = max((line.rfind(mark, start + 1, width - 1) for mark in tier if mark in breaks), default=-1)
        if cut >= start + (width - start) // 3:
            return cut
        found = max(found, cut)
    return found


def heading(command: str, target: str, width: int = WIDTH) -> Text:
    """`pool-doctor check URL` as the first line of a report: bold command, the URL broken at its own tokens."""
    lines = wrap_tokens(f"pool-doctor {command} {target}", width)
    text = Text()
    for number, line in enumerate(lines):
        if number == 0 and line.startswith(f"pool-doctor {command}"):
            text.append(f"pool-doctor {command}", "bold")
            text.append(line[len(f"pool-doctor {command}") :])
        else:
            text.append(line)
        if number < len(lines) - 1:
            text.append("\n")
    return text
