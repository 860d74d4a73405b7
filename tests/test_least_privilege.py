"""A role with nothing but CONNECT (no superuser, no pg_read_all_stats) still gets a useful report.

The report must say what it could not see (other roles' sessions), and the exit code must be about the
findings (0/1 by --fail-on), never a failure code.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from cli_runner import run_in_process
from harness import LocalPostgres


def run(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not (k.startswith(("PG", "POOL_DOCTOR_")) or k == "DATABASE_URL")}
    env.update(HOME=str(home), NO_COLOR="1", COLUMNS="200")
    return run_in_process([*args, "--timeout", "10"], cwd=home, env=env, timeout=60)


@dataclass(frozen=True)
class Setup:
    url: str  # as the least-privileged role
    role: str
    other_role: str


@pytest.fixture
def least(pg: LocalPostgres, unique_name: str) -> Iterator[Setup]:
    role, other, database = f"{unique_name}_lp", f"{unique_name}_other", f"{unique_name}_db"
    pg.create_database(database)
    pg.sql(f'REVOKE ALL ON DATABASE "{database}" FROM PUBLIC')
    pg.create_role(role, "lp-pw", settings={"idle_session_timeout": "5s"}, database=database)
    pg.sql(f'GRANT CONNECT ON DATABASE "{database}" TO "{role}"')
    pg.create_role(other, "other-pw", settings={"idle_in_transaction_session_timeout": "7s"})
    assert pg.sql("SELECT rolsuper FROM pg_roles WHERE rolname = %s", params=[role]) == [(False,)]
    assert pg.sql("SELECT pg_has_role(%s, 'pg_read_all_stats', 'USAGE')", params=[role]) == [(False,)]
    # Another role's session the least-privileged role may not look into.
    with psycopg.connect(
        host=pg.host,
        port=pg.port,
        user="postgres",
        password=pg.password,
        dbname=database,
        application_name="someone-else",
    ) as other_session:
        other_session.execute("SELECT 1")
        yield Setup(pg.url(role, "lp-pw", database), role, other)


def test_check_reports_and_says_what_it_could_not_see(least: Setup, tmp_path: Path) -> None:
    result = run(["check", "--json", "--url", least.url], tmp_path)
    # The incident itself is still found (idle_session_timeout on this role): exit 1 is about findings.
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    server = document["server"]
    assert server["superuser"] is False
    assert server["connected_as"] == least.role
    assert any("pg_read_all_stats" in line for line in server["limitations"]), server["limitations"]
    assert server["activity"]["hidden"] >= 1
    critical = [f for f in document["findings"] if f["severity"] == "critical"]
    assert critical and any(
        "idle_session_timeout" in f["title"] + f["detail"] + " ".join(f["evidence"]) for f in critical
    )
    assert server["settings"]["idle_session_timeout"]["value"] in ("5s", "5000")

    # With the fix applied, the same role gets a clean exit: the code follows findings, not privileges.
    fixed = run(["check", "--json", "--url", least.url, "--pool-pre-ping", "--pool-recycle", "3"], tmp_path)
    assert fixed.returncode == 0, fixed.stderr + fixed.stdout[-2000:]


def test_check_table_names_the_blind_spot(least: Setup, tmp_path: Path) -> None:
    result = run(["check", "--fail-on", "never", "--url", least.url], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Could not see" in result.stdout
    assert "pg_read_all_stats" in result.stdout
    assert result.stderr == ""


def test_check_judges_another_role_without_privileges(least: Setup, tmp_path: Path) -> None:
    """--role needs only the catalogs every role may read (pg_roles, pg_db_role_setting)."""
    result = run(["check", "--json", "--fail-on", "never", "--url", least.url, "--role", least.other_role], tmp_path)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    setting = document["server"]["settings"]["idle_in_transaction_session_timeout"]
    assert setting["seconds"] == 7 and least.other_role in setting["source"], setting


def test_recommend_still_recommends(least: Setup, tmp_path: Path) -> None:
    result = run(["recommend", "--format", "json", "--url", least.url], tmp_path)
    assert result.returncode in (0, 1), result.stderr
    document = json.loads(result.stdout)
    recommendation = document["recommendation"]
    # The idle killer it could see is answered: recycle below it, or pre-ping.
    assert recommendation["pool_pre_ping"] is True or 0 <= recommendation["pool_recycle"] < 5
    table = run(["recommend", "--url", least.url], tmp_path)
    assert table.returncode in (0, 1), table.stderr
    assert "Why each setting" in table.stdout and "engine = create_engine(" in table.stdout  # psycopg2: sync


def test_probe_runs_with_least_privilege(least: Setup, tmp_path: Path) -> None:
    """The probe terminates and breaks only its own role's sessions, which CONNECT alone allows."""
    result = run(
        [
            "probe",
            "--json",
            "--url",
            least.url,
            "--connections",
            "1",
            "--load-seconds",
            "0.1",
            "--scenario",
            "server_idle_timeout",
            "--scenario",
            "backend_terminated",
        ],
        tmp_path,
    )
    assert result.returncode in (0, 1), result.stderr
    document = json.loads(result.stdout)
    outcomes = {(s["name"], s["config"]): s["outcome"] for s in document["scenarios"]}
    assert outcomes[("backend_terminated", "recommended")] == "ok", document["scenarios"]
    assert ("server_idle_timeout", "recommended") in outcomes


@pytest.mark.parametrize(
    "command",
    [
        ["recommend", "--format", "json"],
        ["probe", "--json", "--connections", "1", "--load-seconds", "0.1", "--scenario", "backend_terminated"],
    ],
)
def test_every_command_says_what_it_could_not_see(least: Setup, command: list[str], tmp_path: Path) -> None:
    result = run([*command, "--url", least.url], tmp_path)
    assert result.returncode in (0, 1), result.stderr
    assert "pg_read_all_stats" in result.stdout
