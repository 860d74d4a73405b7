"""What `scan` and `check` tell the CI they run in: on GitHub Actions, an annotation per finding that has a place
in the code (stderr: the runner reads workflow commands there too, and stdout stays the report), and the
markdown report appended to the job's summary page.

    GITHUB_ACTIONS=true          set by GitHub's runner: annotations on
    GITHUB_STEP_SUMMARY=PATH     set by GitHub's runner: the markdown report is appended to PATH
    GITHUB_WORKSPACE=DIR         the checkout: annotation paths are made relative to it
    POOL_DOCTOR_GITHUB=off       neither (also 0, false, no)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from pool_doctor.check import CheckReport
    from pool_doctor.model import Severity
    from pool_doctor.render.github import Located
    from pool_doctor.scan import ScanReport

OFF = frozenset({"0", "off", "false", "no"})


def _off(env: Mapping[str, str]) -> bool:
    return env.get("POOL_DOCTOR_GITHUB", "").strip().lower() in OFF


def annotating(env: Mapping[str, str]) -> bool:
    return env.get("GITHUB_ACTIONS", "").strip().lower() == "true" and not _off(env)


def publish(
    env: Mapping[str, str],
    found: Callable[[], Iterable[Located]],
    markdown: Callable[[], str],
    threshold: Severity | None,
    stderr: TextIO,
) -> None:
    """Annotations to stderr and the markdown report to the step summary, as the environment asks."""
    if annotating(env):
        from pool_doctor.render.github import workflow_commands

        for line in workflow_commands(found(), threshold, env.get("GITHUB_WORKSPACE")):
            stderr.write(line + "\n")
        stderr.flush()
    summary = env.get("GITHUB_STEP_SUMMARY", "").strip()
    if summary and not _off(env):
        try:
            with open(summary, "a", encoding="utf-8") as page:
                page.write(markdown() + "\n")
        except OSError as exc:  # the report itself is already out: a summary that cannot be written is talk
            stderr.write(f"pool-doctor: warning: cannot append to $GITHUB_STEP_SUMMARY {summary}: {exc.strerror}\n")


def publish_scan(report: ScanReport, threshold: Severity | None, env: Mapping[str, str], stderr: TextIO) -> None:
    from pool_doctor.render.github import Located
    from pool_doctor.render.scan import scan_markdown

    def found() -> list[Located]:
        return [Located(pool.file, pool.line, pool.end_line, finding) for pool, finding in report.findings]

    publish(env, found, lambda: scan_markdown(report), threshold, stderr)


def publish_check(report: CheckReport, threshold: Severity | None, env: Mapping[str, str], stderr: TextIO) -> None:
    """check: findings about a pool --app found carry its place; the others (the server's) have none."""
    from pool_doctor.render.check import check_markdown
    from pool_doctor.render.github import Located

    def found() -> list[Located]:
        ends = {pool.app.ref: pool.app.end_line for pool in report.pools}
        return [
            Located(f.pool.file, f.pool.line, ends.get(f.pool, f.pool.line), f)
            for f in report.findings
            if f.pool is not None
        ]

    publish(env, found, lambda: check_markdown(report), threshold, stderr)
