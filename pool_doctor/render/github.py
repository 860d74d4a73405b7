"""Findings with a place in the code as GitHub Actions workflow commands, which the runner turns into annotations
on the pull request's diff: `::error file=app/db.py,line=5,endLine=7,title=no-liveness-check::...`.

The level says what the finding does to this run (ruff's `--output-format github` makes every violation an
error, since each fails the run): `error` for a critical finding and for any at or above `--fail-on` (the step
fails because of it), else `warning`, or `notice` for info.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pool_doctor.model import Finding, Severity


@dataclass(frozen=True)
class Located:
    """A finding and the lines of the call that creates its pool."""

    file: str
    line: int
    end_line: int
    finding: Finding


def _data(text: str) -> str:
    """A command's message: the runner reads %, CR and LF escaped."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    """A command's property value: also : and , escaped (they separate properties)."""
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def level(finding: Finding, threshold: Severity | None) -> str:
    if finding.severity is Severity.CRITICAL or (threshold is not None and finding.severity.rank >= threshold.rank):
        return "error"
    return "notice" if finding.severity is Severity.INFO else "warning"


def repository_path(file: str, workspace: str | None, cwd: Path) -> str:
    """The file as GitHub names it: relative to the checkout ($GITHUB_WORKSPACE) when it lies inside it,
    else as the scan gave it (relative to the directory pool-doctor ran in)."""
    path = Path(file)
    if workspace:
        try:
            return (cwd / path).resolve().relative_to(Path(workspace).resolve()).as_posix()
        except ValueError:
            pass
    return path.as_posix()


def workflow_commands(
    found: Iterable[Located], threshold: Severity | None, workspace: str | None = None, cwd: Path | None = None
) -> list[str]:
    """One workflow command per located finding, worst first."""
    here = cwd if cwd is not None else Path.cwd()
    lines = []
    for item in sorted(found, key=lambda one: -one.finding.severity.rank):
        finding = item.finding
        properties = ",".join(
            [
                f"file={_property(repository_path(item.file, workspace, here))}",
                f"line={item.line}",
                f"endLine={max(item.end_line, item.line)}",
                f"title={_property(finding.code)}",
            ]
        )
        message = f"{finding.title} ({finding.severity.value}). {finding.detail}"
        lines.append(f"::{level(finding, threshold)} {properties}::{_data(message)}")
    return lines
