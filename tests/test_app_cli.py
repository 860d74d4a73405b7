"""`--app PATH` for check, recommend and probe, tried as a new user would: the small applications under
tests/apps/ (their code read, never run) against a real server whose app role has a 1 h idle_session_timeout
(issue 13's "done when"). One PostgreSQL major: reading the code does not depend on it."""

from __future__ import annotations

import asyncio
import re
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest
from cli_runner import Run, run_pool_doctor
from harness import LocalPostgres

PASSWORD = "app-scan-pw-Zr4"
APPS = Path(__file__).parent / "apps"


@pytest.fixture(scope="module")
def server(pg_bindirs: list[Path]) -> Any:
    with LocalPostgres(pg_bindirs[0]) as pg:
        pg.create_role("app", PASSWORD, settings={"idle_session_timeout": "1h"})
        pg.create_database("appdb", owner="app")
        yield pg


def run(server: LocalPostgres, command: str, *args: str, env: dict[str, str] | None = None) -> Run:
    return run_pool_doctor(
        command, "--url", server.url("app", PASSWORD, "appdb"), *args, secret=PASSWORD, cwd=APPS, env=env
    )


def by_pool(result: Run) -> dict[str | None, dict[str, str]]:
    """file:line (None: about the app as a whole) -> {finding code: severity}."""
    out: dict[str | None, dict[str, str]] = {}
    for finding in result.json()["findings"]:
        pool = finding["pool"]
        where = f"{pool['file']}:{pool['line']}" if pool else None
        if pool:
            assert finding["evidence"][0] == where  # every finding about a pool cites it first
        out.setdefault(where, {})[finding["code"]] = finding["severity"]
    return out


def settings_of(result: Run, where: str) -> dict[str, dict[str, Any]]:
    pools = {f"{p['file']}:{p['line']}": p for p in result.json()["app"]["pools"]}
    return pools[where]["settings"]  # type: ignore[no-any-return]


def test_the_incidents_engine_is_critical_at_its_line_and_passes_once_fixed(server: LocalPostgres) -> None:
    bad = run(server, "check", "--app", "incident", "--json")
    assert bad.code == 1, bad.stderr
    assert by_pool(bad)["incident/app/db.py:6"]["idle-session-timeout"] == "critical"
    table = run(server, "check", "--app", "incident")
    assert table.code == 1 and "incident/app/db.py:6" in table.stdout

    fixed = run(server, "check", "--app", "fixed", "--json")
    assert fixed.code == 0, fixed.stdout
    found = by_pool(fixed).get("fixed/app/db.py:6", {})
    assert "idle-session-timeout" not in found and "critical" not in found.values(), found
    recycle = settings_of(fixed, "fixed/app/db.py:6")["pool_recycle"]
    assert recycle == {"value": 1800, "from": "fixed/app/db.py:6", "known": True}
    assert fixed.json()["pool"]["pool_pre_ping"] is True


def test_the_pools_table_fits_80_columns_and_says_where_from_the_pools_own_file(server: LocalPostgres) -> None:
    """Each pool under its own heading; a value's origin as the pool's file sees it (`line 9`, `settings.py:3`),
    whole words, never a path folded letter by letter into a narrow cell."""
    table = run(server, "check", "--app", "two_engines", env={"COLUMNS": "80"})
    assert table.code == 1, table.stderr
    lines = table.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    headings = [line for line in lines if line.startswith("two_engines/app/db.py:")]
    assert headings == [
        "two_engines/app/db.py:8 · sqlalchemy · psycopg · no findings",
        "two_engines/app/db.py:11 · sqlalchemy · psycopg · 1 critical",
    ]
    rows = {tuple(line.split()[:3]): line for line in lines if line.startswith("  ")}
    assert rows[("pool_size", "=", "10")] == "  pool_size = 10 · line 9"
    assert "settings.py:3, $POOL_RECYCLE" in rows[("pool_recycle", "=", "1800")]
    assert not [line for line in lines if "…" in line or line != line.rstrip()]


def test_two_engines_only_the_forgotten_one_has_findings(server: LocalPostgres) -> None:
    result = run(server, "check", "--app", "two_engines", "--json")
    assert result.code == 1, result.stderr
    found = by_pool(result)
    assert found["two_engines/app/db.py:11"]["idle-session-timeout"] == "critical"
    assert "two_engines/app/db.py:8" not in found, found  # the fixed one: nothing to say
    web = settings_of(result, "two_engines/app/db.py:8")
    assert web["pool_recycle"] == {
        "value": 1800,
        "from": "two_engines/app/settings.py:3, $POOL_RECYCLE overrides it",
        "known": True,
    }
    assert web["pool_size"]["value"] == 10
    # A value the code reads from a variable with no default: unknown, SQLAlchemy's default judged, and said.
    size = settings_of(result, "two_engines/app/db.py:11")["pool_size"]
    assert size["known"] is False and size["value"] == 5 and "unknown in two_engines/app/db.py:11" in size["from"]
    assert "warning: two_engines/app/db.py:11: pool_size is unknown" in result.stderr


def test_flags_environment_and_config_override_the_code_and_say_so(server: LocalPostgres, tmp_path: Path) -> None:
    config = tmp_path / "pool-doctor.toml"
    config.write_text("[pool]\npool_pre_ping = true\n")
    result = run(
        server,
        "check",
        "--app",
        "two_engines",
        "--pool",
        "two_engines/app/db.py:11",
        "--config",
        str(config),
        "--pool-recycle",
        "900",
        "--json",
        env={"POOL_DOCTOR_POOL__POOL_SIZE": "3"},
    )
    assert result.code == 0, result.stdout
    assert [f"{p['file']}:{p['line']}" for p in result.json()["app"]["pools"]] == ["two_engines/app/db.py:11"]
    judged = settings_of(result, "two_engines/app/db.py:11")
    assert judged["pool_recycle"]["value"] == 900 and judged["pool_recycle"]["from"] == "--pool-recycle"
    assert judged["pool_pre_ping"] == {"value": True, "from": str(config), "known": True}
    assert judged["pool_size"]["value"] == 3 and judged["pool_size"]["from"] == "$POOL_DOCTOR_POOL__POOL_SIZE"
    assert "idle-session-timeout" not in by_pool(result).get("two_engines/app/db.py:11", {})


def test_each_stack_is_judged_in_its_own_terms(server: LocalPostgres) -> None:
    result = run(server, "check", "--app", "stacks", "--json")
    found = by_pool(result)
    assert found["stacks/site/settings.py:4"]["idle-session-timeout"] == "critical"  # CONN_MAX_AGE None, no checks
    assert found["stacks/svc/pools.py:6"]["idle-session-timeout"] == "critical"  # psycopg2's pool checks nothing
    # The engine whose session turns the timeout off, and asyncpg's pool, which sees the server's close: fine.
    assert "idle-session-timeout" not in found.get("stacks/svc/pools.py:9", {})
    assert found["stacks/svc/pools.py:14"].get("idle-session-timeout") is None
    pools = {f"{p['file']}:{p['line']}": p for p in result.json()["app"]["pools"]}
    assert pools["stacks/svc/pools.py:6"]["judged_as"].startswith("psycopg2's pool")
    assert pools["stacks/svc/pools.py:9"]["driver"] == "asyncpg"  # from the code's URL; the server is --url's
    assert pools["stacks/svc/pools.py:14"]["judged_as"] == "asyncpg"


def test_the_budget_sums_every_pool(server: LocalPostgres) -> None:
    result = run(server, "check", "--app", "budget", "--json")
    assert result.code == 1
    budget = [f for f in result.json()["findings"] if f["code"] == "budget-slots"]
    assert len(budget) == 1 and budget[0]["pool"] is None
    assert "(budget/app/db.py:6 50 + budget/app/db.py:7 50) = 100 connections" in budget[0]["evidence"][0]
    alone = run(server, "check", "--app", "budget", "--pool", "budget/app/db.py:7", "--json")
    assert not any(f["code"].startswith("budget") for f in alone.json()["findings"]), alone.stdout


def test_recommend_shows_the_fix_for_each_pool(server: LocalPostgres) -> None:
    result = run(server, "recommend", "--app", "two_engines", "--format", "json")
    assert result.code == 0, result.stderr
    pools = {f"{p['pool']['file']}:{p['pool']['line']}": p for p in result.json()["pools"]}
    forgotten = {r["key"]: r["value"] for r in pools["two_engines/app/db.py:11"]["reasons"]}
    assert forgotten["pool_pre_ping"] is True and 0 < forgotten["pool_recycle"] < 3600
    assert "pool_recycle" not in {r["key"] for r in pools["two_engines/app/db.py:8"]["reasons"]}
    code = run(server, "recommend", "--app", "two_engines", "--format", "python").stdout
    assert "# two_engines/app/db.py:8: sqlalchemy.create_engine" in code
    assert "# two_engines/app/db.py:11: sqlalchemy.create_engine" in code
    compile(code, "recommended.py", "exec")
    table = run(server, "recommend", "--app", "two_engines").stdout
    assert "Recommended settings for two_engines/app/db.py:11" in table


def snippets(code: str) -> dict[str, str]:
    """recommend --app --format python: file:line -> that pool's code (each under `# file:line: call`)."""
    parts = re.split(r"^# (\S+:\d+): \S+\n", code, flags=re.MULTILINE)
    assert parts[0] == "", code
    return {where: snippet for where, snippet in zip(parts[1::2], parts[2::2], strict=True)}


def test_recommend_keeps_the_apps_own_pool_classes_and_open(
    server: LocalPostgres, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The code recommend shows for a pool --app found is the app's own call, edited: an async pool stays an
    AsyncConnectionPool with its own open=False (psycopg_pool warns when an async pool is opened in its
    constructor: the app opens it in the running loop), a null pool stays one, and an async engine stays
    create_async_engine, whatever its driver. The app patched by fix imports and its pools work."""
    flags = ("--app", "async_pools", "--network-idle-timeout", "240")
    result = run(server, "recommend", *flags, "--format", "python")
    assert result.code == 0, result.stderr
    code = snippets(result.stdout)
    async_pool = code["async_pools/app/db.py:5"]
    # Too long for one line with the new keys: one argument a line, as black would lay it out.
    assert async_pool.startswith(
        'pool = AsyncConnectionPool(\n    "dbname=appdb",\n    check=AsyncConnectionPool.check_connection,\n'
    )
    assert "    open=False,\n" in async_pool and "kwargs={" in async_pool and async_pool.count("kwargs=") == 1
    assert not re.search(r"(?<!Async)ConnectionPool", async_pool), async_pool
    assert code["async_pools/app/db.py:7"].startswith('reports = create_async_engine(\n    "postgresql+psycopg://')
    null_pool = code["async_pools/app/db.py:9"]
    assert null_pool.startswith('batch = NullConnectionPool(\n    "dbname=appdb",') and "open=False" in null_pool

    app = tmp_path / "async_pools"
    shutil.copytree(APPS / "async_pools", app)
    fixed = run_pool_doctor("fix", "--url", server.url("app", PASSWORD, "appdb"), *flags, secret=PASSWORD, cwd=tmp_path)
    assert fixed.code == 0, fixed.stderr
    monkeypatch.setenv("PGPASSWORD", PASSWORD)  # the app's conninfo leaves the password to libpq
    monkeypatch.setenv("PGHOST", "127.0.0.1")
    monkeypatch.setenv("PGPORT", str(server.port))
    monkeypatch.setenv("PGUSER", "app")
    namespace: dict[str, Any] = {}
    exec(compile((app / "app" / "db.py").read_text(), "async_pools/app/db.py", "exec"), namespace)  # no warning

    async def use(pool: Any) -> Any:
        await pool.open(wait=True, timeout=10)
        try:
            async with pool.connection(timeout=10) as conn:
                return await (await conn.execute("SELECT 1")).fetchone()
        finally:
            await pool.close()

    assert asyncio.run(use(namespace["pool"])) == (1,)
    from sqlalchemy.ext.asyncio import AsyncEngine

    assert isinstance(namespace["reports"], AsyncEngine)
    asyncio.run(namespace["reports"].dispose())

    toml = run(server, "recommend", *flags, "--pool", "async_pools/app/db.py:5", "--format", "toml")
    assert toml.code == 0, toml.stderr
    pool = tomllib.loads(toml.stdout)["pool"]
    assert pool["check"] == "AsyncConnectionPool.check_connection" and pool["open"] is False, toml.stdout
    table = run(server, "recommend", *flags, env={"COLUMNS": "80"})
    assert "pool = AsyncConnectionPool(" in table.stdout and "reports = create_async_engine(" in table.stdout


def test_choosing_a_pool(server: LocalPostgres) -> None:
    missing = run(server, "check", "--app", "two_engines", "--pool", "two_engines/app/db.py:3")
    assert missing.code == 2
    assert "no pool there; the app's pools: two_engines/app/db.py:8, two_engines/app/db.py:11" in missing.stderr
    inside = run(server, "check", "--app", "two_engines", "--pool", "two_engines/app/db.py:9", "--json")
    assert [p["line"] for p in inside.json()["app"]["pools"]] == [8]  # a line inside the call picks it
    probe = run(server, "probe", "--app", "two_engines")
    assert probe.code == 2 and "pick one with --pool FILE:LINE" in probe.stderr
    toml = run(server, "recommend", "--app", "two_engines", "--format", "toml")
    assert toml.code == 2 and toml.stdout == ""
    alone = run(server, "check", "--pool", "x.py:1")
    assert alone.code == 2 and "give --app too" in alone.stderr


def test_probe_runs_the_chosen_pools_engine(server: LocalPostgres) -> None:
    result = run(
        server,
        "probe",
        "--app",
        "incident",
        "--scenario",
        "server_idle_timeout",
        "--connections",
        "1",
        "--load-seconds",
        "0.2",
        "--json",
    )
    assert result.code == 1, result.stderr  # the engine as the code has it fails; the recommended one passes
    data = result.json()
    assert data["target"].endswith(" · incident/app/db.py:6") and data["driver"] == "asyncpg"
    outcomes = {s["config"]: s["outcome"] for s in data["scenarios"]}
    assert outcomes == {"current": "error", "recommended": "ok"}


def test_the_tests_own_engines_are_listed_and_judged_only_when_chosen(server: LocalPostgres) -> None:
    # A fixture's engine (no ping, no recycle) would be critical against the role's timeout: it is the tests',
    # not the app's, so check --app judges the app's engine alone and names the fixture's in a warning.
    result = run(server, "check", "--app", "with_tests", "--json")
    assert result.code == 0, result.stdout
    assert [p["line"] for p in result.json()["app"]["pools"]] == [6]
    assert "pools not judged: 1 in the tests (with_tests/tests/fixtures.py:7); --pool FILE:LINE" in result.stderr
    chosen = run(server, "check", "--app", "with_tests", "--pool", "with_tests/tests/fixtures.py:7", "--json")
    assert chosen.code == 1
    assert by_pool(chosen)["with_tests/tests/fixtures.py:7"]["idle-session-timeout"] == "critical"
    scan = run_pool_doctor("scan", "with_tests", "--fail-on", "warning", "--json", secret=PASSWORD, cwd=APPS)
    assert scan.code == 0, scan.stdout
    pools = {f"{p['file']}:{p['line']}": p["aside"] for p in scan.json()["pools"]}
    assert pools == {"with_tests/app/db.py:6": None, "with_tests/tests/fixtures.py:7": "tests"}
    assert {f["file"] for f in scan.json()["findings"]} <= {"with_tests/app/db.py"}
    table = run_pool_doctor("scan", "with_tests", secret=PASSWORD, cwd=APPS, env={"COLUMNS": "80"})
    assert "In the tests, not judged: with_tests/tests/fixtures.py:7" in table.stdout
    assert "2 pools (1 in the tests)" in table.stdout
