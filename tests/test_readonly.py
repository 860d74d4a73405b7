"""`check`, `recommend` (and `probe`, when the CLI has it) never write to the target.

Proof on a real server: `pg_stat_database` tuple counters (inserted/updated/deleted) and catalog object
counts, taken before and after every command, are equal. The measurement is itself checked: a real
INSERT afterwards must move the counter, so "equal" cannot come from stale statistics (PostgreSQL 15+
flushes a backend's counters when it exits; we wait for pool-doctor's backends to be gone first).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from cli_runner import run_in_process
from harness import LocalPostgres

CATALOGS = ("pg_class", "pg_roles", "pg_database", "pg_proc", "pg_namespace", "pg_db_role_setting", "pg_type")


def cli_commands() -> set[str]:
    from typer.main import get_command

    from pool_doctor.cli import app

    return set(getattr(get_command(app), "commands", {}))


def run(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not (k.startswith(("PG", "POOL_DOCTOR_")) or k == "DATABASE_URL")}
    env.update(HOME=str(home), NO_COLOR="1", COLUMNS="120")
    return run_in_process(args, cwd=home, env=env, timeout=120)


def snapshot(pg: LocalPostgres, database: str) -> dict[str, Any]:
    """Tuple counters of the target database and of the whole cluster, and catalog object counts."""
    counters = pg.sql(
        "SELECT sum(tup_inserted) FILTER (WHERE datname = %(db)s), sum(tup_updated) FILTER (WHERE datname = %(db)s),"
        "       sum(tup_deleted) FILTER (WHERE datname = %(db)s),"
        "       sum(tup_inserted), sum(tup_updated), sum(tup_deleted) FROM pg_stat_database",
        database=database,
        params={"db": database},
    )[0]
    counts = pg.sql(
        "SELECT " + ", ".join(f"(SELECT count(*) FROM pg_catalog.{name})" for name in CATALOGS), database=database
    )[0]
    names = ["db_inserted", "db_updated", "db_deleted", "all_inserted", "all_updated", "all_deleted"]
    return {**dict(zip(names, (int(v or 0) for v in counters))), **dict(zip(CATALOGS, counts))}


def wait_for_our_backends_to_exit(pg: LocalPostgres, database: str) -> None:
    """A backend flushes its statistics when it exits, a moment after the client hangs up: wait until every
    session in the target database (pool-doctor's, whatever application_name a probe engine used) is gone."""
    deadline = time.monotonic() + 15
    query = (
        "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
        "AND (datname = %(db)s OR application_name = 'pool-doctor')"
    )
    while pg.sql(query, params={"db": database})[0][0]:
        assert time.monotonic() < deadline, "pool-doctor's backends did not exit"
        time.sleep(0.05)
    time.sleep(0.2)


def test_commands_never_write(pg: LocalPostgres, pg_bindirs: list[Path], unique_name: str, tmp_path: Path) -> None:
    role, database = f"{unique_name}_app", f"{unique_name}_db"
    pg.create_database(database)
    pg.create_role(role, "ro-pw", settings={"idle_session_timeout": "5s"}, database=database)
    pg.sql(f'GRANT ALL ON DATABASE "{database}" TO "{role}"')
    pg.sql("CREATE TABLE canary (id int)", database=database)
    as_app = pg.url(role, "ro-pw", database)
    as_admin = pg.url("postgres", None, database)

    commands: list[list[str]] = [
        ["check", "--json", "--url", as_app],
        ["check", "--url", as_admin, "--role", role, "--network-idle-timeout", "350"],
        ["recommend", "--format", "json", "--url", as_app],
        ["recommend", "--url", as_admin, "--role", role, "--format", "toml"],
    ]
    if "probe" in cli_commands():
        # Every scenario on the first server of the matrix, one on the others (runtime budget; same SQL).
        quick = (
            []
            if pg.bindir == pg_bindirs[0]
            else ["--connections", "1", "--load-seconds", "0.1", "--scenario", "backend_terminated"]
        )
        commands.append(["probe", "--json", "--url", as_app, "--timeout", "10", *quick])

    wait_for_our_backends_to_exit(pg, database)
    before = snapshot(pg, database)
    for args in commands:
        result = run([*args, "--timeout", "10"] if args[0] != "probe" else args, tmp_path)
        assert result.returncode in (0, 1), f"{args}: {result.returncode}\n{result.stderr}"
        if "--json" in args or "json" in args:
            json.loads(result.stdout)
    wait_for_our_backends_to_exit(pg, database)
    after = snapshot(pg, database)
    assert after == before, {k: (before[k], after[k]) for k in before if before[k] != after[k]}

    # The measurement works: a real write moves the counter once its backend has exited.
    pg.sql("INSERT INTO canary VALUES (1)", database=database)
    deadline = time.monotonic() + 10
    while snapshot(pg, database)["db_inserted"] == after["db_inserted"]:
        assert time.monotonic() < deadline, "an INSERT never showed up in pg_stat_database: the check is blind"
        time.sleep(0.1)


def test_check_runs_in_a_read_only_session(pg: LocalPostgres, unique_name: str, tmp_path: Path) -> None:
    """A role whose every transaction is read-only gets the full report: nothing pool-doctor does needs a write."""
    role, database = f"{unique_name}_ro", f"{unique_name}_db"
    pg.create_database(database)
    pg.create_role(role, "ro-pw", settings={"default_transaction_read_only": "on"})
    result = run(
        ["check", "--json", "--fail-on", "never", "--timeout", "10", "--url", pg.url(role, "ro-pw", database)], tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["server"]["connected_as"] == role
    result = run(
        ["recommend", "--format", "json", "--timeout", "10", "--url", pg.url(role, "ro-pw", database)], tmp_path
    )
    assert result.returncode in (0, 1), result.stderr
    json.loads(result.stdout)


@pytest.fixture(autouse=True)
def _server_is_pg15_or_later(pg: LocalPostgres) -> None:
    if pg.major < 15:
        pytest.skip("statistics are flushed at backend exit only from PostgreSQL 15")
