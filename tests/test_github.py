"""On GitHub Actions, `scan` and `check --app` annotate each finding at its file and line and append their
markdown report to the job's summary; `POOL_DOCTOR_GITHUB=off` turns both off. Run as a user runs them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_runner import run_pool_doctor, run_pool_doctor_subprocess
from harness import LocalPostgres

from pool_doctor.model import Finding, Severity
from pool_doctor.render.github import Located, level, workflow_commands

PASSWORD = "gh-annot-pw-Q7"
APP_DB = """\
import os

from sqlalchemy import create_engine

engine = create_engine(
    os.environ.get("DATABASE_URL", "postgresql+psycopg://app@localhost/appdb"),
)
"""
GITHUB = {"GITHUB_ACTIONS": "true"}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project whose app/db.py creates an engine with SQLAlchemy's defaults: no pre-ping, no recycle."""
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "db.py").write_text(APP_DB)
    return tmp_path


def annotation_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("::")]


def test_scan_annotates_the_unguarded_engine_at_its_file_and_lines(project: Path) -> None:
    run = run_pool_doctor("scan", "app/", secret=PASSWORD, env=GITHUB, cwd=project)
    assert run.code == 0, run.stderr  # the default --fail-on critical: a warning does not fail the run
    lines = annotation_lines(run.stderr)
    assert lines[0].startswith(
        "::warning file=app/db.py,line=5,endLine=7,title=no-liveness-check::"
        "Nothing checks pooled connections at checkout (warning). "
    )
    assert {line.split(" ", 1)[0] for line in lines[1:]} == {"::notice"}
    assert "::" not in run.stdout  # stdout is the report, whatever the CI

    strict = run_pool_doctor("scan", "app/", "--fail-on", "warning", "--json", secret=PASSWORD, env=GITHUB, cwd=project)
    assert strict.code == 1
    assert annotation_lines(strict.stderr)[0].startswith(
        "::error file=app/db.py,line=5,endLine=7,title=no-liveness-check::"
    )
    assert json.loads(strict.stdout)["findings"]  # --json stays one document on stdout


def test_a_critical_finding_is_an_error_whatever_fail_on(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "db.py").write_text(
        "from sqlalchemy import create_engine\n\n"
        'engine = create_engine("postgresql+psycopg://app@aws-0-eu-central-1.pooler.supabase.com:6543/postgres")\n'
    )
    run = run_pool_doctor("scan", "app", "--fail-on", "never", secret=PASSWORD, env=GITHUB, cwd=tmp_path)
    assert run.code == 0
    assert "::error file=app/db.py,line=3,endLine=3,title=pooler-prepared-statements::" in run.stderr


def test_step_summary_gets_the_markdown_report_and_the_switch_turns_both_off(project: Path) -> None:
    summary = project / "summary.md"
    summary.write_text("earlier step\n")
    env = {**GITHUB, "GITHUB_STEP_SUMMARY": str(summary)}
    run_pool_doctor("scan", "app/", secret=PASSWORD, env=env, cwd=project)
    page = summary.read_text()
    assert page.startswith("earlier step\n## pool-doctor scan: 1 pool, 3 findings\n")  # appended, not replaced
    assert "| warning | `no-liveness-check` | `app/db.py:5` |" in page

    off = run_pool_doctor("scan", "app/", secret=PASSWORD, env={**env, "POOL_DOCTOR_GITHUB": "off"}, cwd=project)
    assert annotation_lines(off.stderr) == [] and summary.read_text() == page


def test_without_github_actions_nothing_is_annotated(project: Path) -> None:
    run = run_pool_doctor("scan", "app/", secret=PASSWORD, cwd=project)
    assert annotation_lines(run.stderr) == []


def test_paths_are_relative_to_the_checkout(project: Path) -> None:
    """Run from elsewhere, or on an absolute path: the annotation names the file as the repository does."""
    env = {**GITHUB, "GITHUB_WORKSPACE": str(project)}
    run = run_pool_doctor("scan", str(project / "app"), secret=PASSWORD, env=env, cwd=project.parent)
    assert annotation_lines(run.stderr)[0].startswith("::warning file=app/db.py,line=5,")


def test_the_installed_command_annotates(project: Path) -> None:
    """The done-when, through the real entry point: `GITHUB_ACTIONS=true pool-doctor scan app/`."""
    run = run_pool_doctor_subprocess("scan", "app/", "--fail-on", "warning", secret=PASSWORD, env=GITHUB, cwd=project)
    assert run.code == 1
    assert annotation_lines(run.stderr)[0].startswith(
        "::error file=app/db.py,line=5,endLine=7,title=no-liveness-check::"
    )


@pytest.mark.parametrize(
    "severity, threshold, expected",
    [
        (Severity.CRITICAL, Severity.CRITICAL, "error"),
        (Severity.CRITICAL, None, "error"),
        (Severity.WARNING, Severity.CRITICAL, "warning"),
        (Severity.WARNING, Severity.WARNING, "error"),
        (Severity.INFO, Severity.WARNING, "notice"),
        (Severity.INFO, Severity.INFO, "error"),
    ],
)
def test_level(severity: Severity, threshold: Severity | None, expected: str) -> None:
    assert level(Finding("x", severity, "t", "d"), threshold) == expected


def test_messages_and_properties_are_escaped() -> None:
    finding = Finding("a,b:c", Severity.WARNING, "50% of it", "line one\nline two")
    [line] = workflow_commands([Located("dir,1/db:x.py", 3, 2, finding)], None)
    assert (
        line
        == "::warning file=dir%2C1/db%3Ax.py,line=3,endLine=3,title=a%2Cb%3Ac::50%25 of it (warning). line one%0Aline two"
    )


# -- check --app, against a real server -------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(pg_bindirs: list[Path]) -> Iterator[LocalPostgres]:
    with LocalPostgres(pg_bindirs[0]) as pg:
        pg.create_role("app", PASSWORD, settings={"idle_session_timeout": "5min"})
        pg.create_database("appdb", owner="app")
        yield pg


def test_check_app_annotates_the_pool_the_finding_is_about(server: LocalPostgres, project: Path) -> None:
    summary = project / "summary.md"
    env = {**GITHUB, "GITHUB_STEP_SUMMARY": str(summary)}
    url = server.url("app", PASSWORD, "appdb", driver="psycopg")
    run = run_pool_doctor("check", "--url", url, "--app", "app", secret=PASSWORD, env=env, cwd=project)
    assert run.code == 1
    lines = annotation_lines(run.stderr)
    assert "::error file=app/db.py,line=5,endLine=7,title=idle-session-timeout::" in run.stderr, lines
    assert all(line.split(",", 1)[0].endswith("file=app/db.py") for line in lines)  # only findings with a place
    assert summary.read_text().startswith("## pool-doctor check: 1 critical")
