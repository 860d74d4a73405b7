"""`scan`'s report: the pools the code creates and what needs no server, as a table, markdown, JSON or SARIF."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from rich.console import Console

from pool_doctor import __version__
from pool_doctor.model import Severity
from pool_doctor.render import RenderOptions, md_cell, write, write_json
from pool_doctor.rules.codes import lookup
from pool_doctor.scan.app import stack_judging
from pool_doctor.scan.model import ASIDE, SHORT_NAMES, ScannedPool, ScanReport
from pool_doctor.scan.target import URL_KEYS, elsewhere, url_scheme

SARIF_LEVEL = {Severity.CRITICAL: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def scan_sarif(report: ScanReport) -> dict[str, Any]:
    """SARIF 2.1.0: one rule per finding code found, one result per finding at the pool's first line."""
    codes = list(dict.fromkeys(finding.code for _, finding in report.findings))
    rules = []
    for code in codes:
        entry = lookup(code)
        rules.append(
            {
                "id": code,
                "name": entry.name if entry.pattern is None else _pascal(code),
                "shortDescription": {"text": entry.summary},
                "fullDescription": {"text": entry.help},
                "help": {"text": entry.help},
                "defaultConfiguration": {"level": "warning"},
            }
        )
    results = []
    for pool, finding in report.findings:
        results.append(
            {
                "ruleId": finding.code,
                "ruleIndex": codes.index(finding.code),
                "level": SARIF_LEVEL[finding.severity],
                "message": {"text": f"{finding.title}. {finding.detail} ({'; '.join(finding.evidence[1:])})"},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": _uri(pool.file)},
                            "region": {"startLine": pool.line, "endLine": max(pool.end_line, pool.line)},
                        }
                    }
                ],
            }
        )
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "pool-doctor", "version": __version__, "rules": rules}},
                "results": results,
                "invocations": [
                    {
                        "executionSuccessful": True,
                        "toolExecutionNotifications": [
                            {"level": "warning", "message": {"text": w}} for w in report.warnings
                        ],
                    }
                ],
            }
        ],
    }


def _pascal(code: str) -> str:
    return "".join(word.capitalize() for word in code.split("-"))


def _uri(file: str) -> str:
    path = Path(file)
    if path.is_absolute():
        return path.as_uri()
    return quote(path.as_posix())


def scan_table(report: ScanReport, width: int = 80) -> Any:
    """The pools (short cells), then the findings as check shows them: codes in a table, words below."""
    from rich.console import Group
    from rich.text import Text

    from pool_doctor.render import plain_table, severity_cell
    from pool_doctor.render.findings import findings_words

    if not report.pools and not report.findings:
        return Text(f"No pools found in {report.root} ({report.files_seen} .py files).", style="yellow")
    pools = plain_table("Where", "Stack", "Idle settings", "Unknown", title="Pools in the code")
    pools.columns[0].overflow = "fold"  # a long path folds; stacks and settings stay whole
    pools.columns[1].no_wrap = True
    pools.columns[2].overflow = pools.columns[3].overflow = "fold"  # a variable's name folds, never cut with "..."
    for pool in (p for p in report.pools if not p.aside):
        where = Text(pool.where)
        if pool.via:
            where.append(f"\nvia {pool.via[-1]}", style="dim")
        if other := elsewhere(pool):
            where.append(f"\n{other}, not PostgreSQL: not judged", style="dim")
        pools.add_row(where, SHORT_NAMES.get(pool.stack, pool.stack), _settings_cell(pool), _unknown_cell(pool))
    aside = _aside(report)
    if aside:
        pools.caption, pools.caption_justify, pools.caption_style = "\n".join(aside), "left", "dim"
    # Worst first, as check lists them; each row names its pool (a long path folds, the code never does).
    found = sorted(report.findings, key=lambda pair: -pair[1].severity.rank)
    findings = [finding for _, finding in found]
    shown: Any = pools
    if not pools.rows:  # the tests' pools alone
        shown = Text("\n".join(["No pools in the app's code.", *aside]), style="yellow")
    parts: list[Any] = [shown, Text()]
    if findings:
        table = plain_table("Severity", "Code", "Where", title="Findings (no server asked)")
        table.columns[0].no_wrap = table.columns[1].no_wrap = True
        table.columns[2].overflow = "fold"
        for site, finding in found:
            table.add_row(severity_cell(finding.severity), finding.code, Text(site.where))
        parts += [table, Text(), *findings_words(findings)]
    else:
        parts.append(Text("No findings.", style="green"))
    parts += [Text()]
    parts.append(
        Text(
            f"{_pools(report)} · {_count(len(findings), 'finding')} · "
            f"{_count(report.files_seen, '.py file')} read, {report.files_parsed} naming a pool library parsed",
            style="dim",
        )
    )
    return Group(*parts)


def _pools(report: ScanReport) -> str:
    aside = [pool.aside for pool in report.pools if pool.aside]
    shown = ", ".join(f"{aside.count(kind)} in {label}" for kind, label in ASIDE if kind in aside)
    return _count(len(report.pools), "pool") + (f" ({shown})" if shown else "")


def _aside(report: ScanReport, most: int = 10) -> list[str]:
    """The pools the tests and the examples make (listed, not judged), the first `most` of each."""
    lines = []
    for kind, label in ASIDE:
        found = [pool.where for pool in report.pools if pool.aside == kind]
        more = f" and {len(found) - most} more (--json lists them)" if len(found) > most else ""
        lines += [f"In {label}, not judged: {', '.join(found[:most])}{more}"] if found else []
    return lines


def _shown_keys(pool: ScannedPool) -> tuple[str, ...]:
    """The settings that decide what happens to an idle connection, as the code names them (its stack says)."""
    return stack_judging(pool).code_shown(pool.stack)


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}" if n == 1 else f"{n} {thing}s"


def _settings_cell(pool: ScannedPool) -> Any:
    from rich.text import Text

    lines = []
    for key in _shown_keys(pool):
        value = pool.get(key)
        if value is not None and (value.known or value.branches):  # a value per branch: `5|20`
            lines.append(f"{key.rsplit('.', 1)[-1]} {value.show()}")
    if lines:
        return Text("\n".join(lines))
    unknown = any(not value.known for value in pool.settings.values()) or pool.unresolved
    return Text("-" if unknown else "defaults", style="dim")  # "defaults" only when nothing could hide a value


def _unknown_cell(pool: ScannedPool) -> Any:
    from rich.text import Text

    shown = _shown_keys(pool)  # (a value per branch is shown there; an unknown URL's branches nowhere else)
    callables = stack_judging(pool).callables  # (asyncpg's `loop=loop`: nothing a setting says)
    names = [
        key.rsplit(".", 1)[-1]
        for key, value in pool.settings.items()
        if not value.known and (not value.branches or key not in shown) and key.split(".")[0] not in callables
    ]
    scheme = url_scheme(pool)  # (an unknown URL whose scheme the code writes: `f"sqlite:///{path}"`)
    names = [f"{name} ({scheme}://...)" if name in URL_KEYS and scheme else name for name in names]
    names += [u.split(":", 1)[-1].strip() if ":" in u else u for u in pool.unresolved]
    return Text("\n".join(names) if names else "-", style="" if names else "dim")


def scan_markdown(report: ScanReport) -> str:
    """A GitHub-flavoured report: the pools found, then a findings table, for $GITHUB_STEP_SUMMARY."""

    findings = report.findings
    lines = [f"## pool-doctor scan: {_pools(report)}, {_count(len(findings), 'finding')}", ""]
    if any(not pool.aside for pool in report.pools):
        lines += ["| where | stack | idle settings |", "|---|---|---|"]
        for pool in (p for p in report.pools if not p.aside):
            shown = [
                f"{key.rsplit('.', 1)[-1]} {value.show()}"
                for key in _shown_keys(pool)
                if (value := pool.get(key)) is not None and (value.known or value.branches)
            ]
            other = f" ({other}, not PostgreSQL: not judged)" if (other := elsewhere(pool)) else ""
            lines.append(f"| `{md_cell(pool.where)}`{other} | {pool.stack} | {md_cell(', '.join(shown) or '-')} |")
        lines.append("")
    for line in _aside(report):
        lines += [md_cell(line), ""]
    if findings:
        lines += ["| severity | code | where | finding |", "|---|---|---|---|"]
        lines += [
            f"| {f.severity.value} | `{f.code}` | `{md_cell(site.where)}` | {md_cell(f.title)} |"
            for site, f in findings
        ]
        lines.append("")
        for site, f in findings:
            lines += [f"- **`{f.code}`** at `{md_cell(site.where)}`: {md_cell(f.detail)}"]
    else:
        lines.append("No findings.")
    return "\n".join(lines) + "\n"


def render_scan(report: ScanReport, options: RenderOptions, out: Console) -> None:
    if options.format == "json":
        write_json(out, report.to_json())
    elif options.format == "sarif":
        write_json(out, scan_sarif(report))
    elif options.format == "markdown":
        write(out, scan_markdown(report))
    else:
        out.print(scan_table(report, out.width))
