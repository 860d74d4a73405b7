"""Findings as a table of codes with their words below, or as markdown: shared by check and recommend."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from pool_doctor.model import Finding, Severity
from pool_doctor.render import md_cell, plain_table, prose, severity_cell


def fact_cell(finding: Finding) -> str:
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
    fits = any(0 < len(fact_cell(f)) <= room for f in findings)
    columns = ("Severity", "Code", "Fact") if fits else ("Severity", "Code")
    table = plain_table(*columns)  # the title above it, not as rich's title: that wraps to the table's width
    for column in table.columns:
        column.no_wrap = True  # a code is what people search for: whole, on one line
    for finding in findings:
        fact = fact_cell(finding)
        cells: list[Text | str] = [
            severity_cell(finding.severity),
            finding.code,
            Text(fact if 0 < len(fact) <= room else "-"),
        ]
        table.add_row(*cells[: len(columns)])
    heading = [Text(title, style="bold")] if title else []
    return [*heading, table, Text(), *findings_words(findings, verbose)]


def findings_words(findings: list[Finding], verbose: bool = False) -> list[Any]:
    """Each finding in words, below its table: the same words for another pool are said once."""
    parts: list[Any] = []
    said: set[tuple[str, str, str, str]] = set()
    for finding in findings:
        words = (finding.severity.value, finding.code, finding.title, finding.detail)
        if words in said and not verbose:  # the table's rows say which pools
            continue
        said.add(words)
        heading = Text.assemble((finding.code, "bold"), ": ", finding.title)
        parts.append(heading)
        if finding.severity is not Severity.INFO or verbose:  # an info finding's detail: --verbose or json
            parts.append(prose(finding.detail))
        if verbose and finding.evidence:
            parts.append(prose(Text("evidence: " + "; ".join(finding.evidence), style="dim")))
    return parts


def could_not_see(limitations: list[str]) -> list[Any]:
    return [Text("Could not see:", style="bold"), *(prose("- " + line) for line in limitations)]


def summary_line(findings: list[Finding]) -> str:
    counts = {s: sum(1 for f in findings if f.severity is s) for s in Severity}
    return ", ".join(f"{counts[s]} {s.value}" for s in (Severity.CRITICAL, Severity.WARNING, Severity.INFO))


def findings_markdown(findings: list[Finding]) -> list[str]:
    if not findings:
        return ["No findings."]
    lines = ["| severity | code | finding | fact |", "|---|---|---|---|"]
    lines += [f"| {f.severity.value} | `{f.code}` | {md_cell(f.title)} | {md_cell(fact_cell(f))} |" for f in findings]
    lines.append("")
    for f in findings:
        lines += [f"<details><summary><code>{f.code}</code>: {md_cell(f.title)}</summary>", "", f.detail, ""]
        lines += [f"- {md_cell(item)}" for item in f.evidence]
        lines += ["", "</details>", ""]
    return lines
