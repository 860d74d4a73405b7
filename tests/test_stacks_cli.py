"""Each pool stack judged, recommended and pasted in its own terms, through the command, on a real server
whose app role has a 3 s idle_session_timeout (issue 12's "done when"). One PostgreSQL major: the stacks'
semantics do not depend on it."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest
from cli_runner import Run, run_pool_doctor
from harness import LocalPostgres

PASSWORD = "stacks-pw-Qx7"


@pytest.fixture(scope="module")
def server(pg_bindirs: list[Path]) -> Any:
    with LocalPostgres(pg_bindirs[0]) as pg:
        pg.create_role("app", PASSWORD, settings={"idle_session_timeout": "3s"})
        pg.create_database("appdb", owner="app")
        yield pg


def run(server: LocalPostgres, tmp_path: Path, command: str, config: str, *extra: str) -> Run:
    path = tmp_path / "pool-doctor.toml"
    path.write_text(config)
    return run_pool_doctor(
        command,
        "--url",
        server.url("app", PASSWORD, "appdb"),
        "--config",
        str(path),
        *extra,
        secret=PASSWORD,
        cwd=tmp_path,
    )


def severities(result: Run) -> dict[str, str]:
    assert result.code in (0, 1), result.stderr
    return {f["code"]: f["severity"] for f in json.loads(result.stdout)["findings"]}


CASES = [
    # (config, extra flags, the server's kill is critical?)
    ('[pool]\nstack = "asyncpg"\n', (), False),  # its pool sees the server's close at acquire
    ('[pool]\nstack = "psycopg_pool"\n', (), True),
    ('[pool]\nstack = "psycopg_pool"\ncheck = "check_connection"\n', (), False),
    ('[pool]\nstack = "django"\nCONN_MAX_AGE = 600\n', (), True),
    ('[pool]\nstack = "django"\nCONN_MAX_AGE = 600\nCONN_HEALTH_CHECKS = true\n', (), False),
    ('[pool]\nstack = "django"\nCONN_MAX_AGE = 0\n', (), False),
    ('[pool]\npoolclass = "NullPool"\n', (), False),
    ("[pool]\n", (), True),  # SQLAlchemy's QueuePool defaults: the incident
]


@pytest.mark.parametrize(("config", "extra", "critical"), CASES, ids=[c[0].replace("\n", " ") for c in CASES])
def test_each_stack_is_judged_by_its_own_semantics(
    server: LocalPostgres, tmp_path: Path, config: str, extra: tuple[str, ...], critical: bool
) -> None:
    found = severities(run(server, tmp_path, "check", config, "--json", *extra))
    assert (found.get("idle-session-timeout") == "critical") is critical, found


@pytest.mark.parametrize(
    ("seconds", "fixed_by"), [(240, "min_size = 0\nmax_inactive_connection_lifetime = 200\n"), (350, "min_size = 0\n")]
)
def test_asyncpg_pool_behind_a_middlebox(server: LocalPostgres, tmp_path: Path, seconds: int, fixed_by: str) -> None:
    """asyncpg 0.32 keeps min_size connections past max_inactive_connection_lifetime (pool_doctor/stacks/FACTS.md):
    with min_size = max_size = 10 a reset by any middlebox reaches the app; with min_size 0 the idle timer
    (300 s by default) retires every idle connection, which is soon enough for 350 s but not for 240 s."""
    found = severities(
        run(server, tmp_path, "check", '[pool]\nstack = "asyncpg"\n', "--json", "--network-idle-timeout", str(seconds))
    )
    assert found.get("network-idle-timeout") == "critical", found
    fixed = severities(
        run(
            server,
            tmp_path,
            "check",
            '[pool]\nstack = "asyncpg"\n' + fixed_by,
            "--json",
            "--network-idle-timeout",
            str(seconds),
        )
    )
    assert "network-idle-timeout" not in fixed, fixed


def test_a_key_of_another_stack_is_a_warning_naming_it(server: LocalPostgres, tmp_path: Path) -> None:
    result = run(server, tmp_path, "check", '[pool]\nstack = "asyncpg"\npool_recycle = 30\nmin_sise = 1\n', "--json")
    assert "'pool_recycle' does not belong to stack asyncpg" in result.stderr
    assert "'min_sise' does not belong to stack asyncpg" in result.stderr


@pytest.mark.parametrize("stack", ["asyncpg", "psycopg_pool", "django"])
def test_recommend_toml_fed_back_to_check_clears_the_findings(
    server: LocalPostgres, tmp_path: Path, stack: str
) -> None:
    config = f'[pool]\nstack = "{stack}"\n' + ("CONN_MAX_AGE = 600\n" if stack == "django" else "")
    before = severities(run(server, tmp_path, "check", config, "--json", "--network-idle-timeout", "240"))
    assert any(s in ("critical", "warning") for s in before.values()), before
    toml = run(server, tmp_path, "recommend", config, "--format", "toml", "--network-idle-timeout", "240")
    assert toml.code == 0, toml.stderr
    after = severities(run(server, tmp_path, "check", toml.stdout, "--json", "--network-idle-timeout", "240"))
    assert not [c for c, s in after.items() if s in ("critical", "warning")], (toml.stdout, after)


@pytest.mark.parametrize("stack", ["asyncpg", "psycopg_pool", "django"])
def test_recommend_python_is_code_in_the_stacks_own_terms(server: LocalPostgres, tmp_path: Path, stack: str) -> None:
    config = f'[pool]\nstack = "{stack}"\n' + ("CONN_MAX_AGE = 600\n" if stack == "django" else "")
    result = run(server, tmp_path, "recommend", config, "--format", "python", "--network-idle-timeout", "240")
    assert result.code == 0, result.stderr
    code = result.stdout
    compile(code, f"<recommend {stack}>", "exec")
    marker = {"asyncpg": "asyncpg.create_pool(", "psycopg_pool": "ConnectionPool(", "django": "DATABASES = {"}[stack]
    assert marker in code, code


def test_the_psycopg_pool_snippet_builds_a_pool_that_answers(
    server: LocalPostgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run(server, tmp_path, "recommend", '[pool]\nstack = "psycopg_pool"\n', "--format", "python")
    assert result.code == 0, result.stderr
    monkeypatch.setenv("PGPASSWORD", PASSWORD)  # the snippet leaves the password to libpq, as it says
    namespace: dict[str, Any] = {}
    exec(compile(result.stdout, "<snippet>", "exec"), namespace)
    pool = namespace["pool"]
    try:
        with pool.connection(timeout=10) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        pool.close()


# A role name long enough (PostgreSQL's 63) that its URL and the DBA's ALTER ROLE line are wider than 80 columns.
LONG_ROLE = "reporting_service_readonly_replica_eu_west_1_blue_green_canary"


@pytest.fixture(scope="module")
def long_role(server: LocalPostgres) -> str:
    server.create_role(LONG_ROLE, PASSWORD)
    return LONG_ROLE


PASTE_CASES = [
    ("sqlalchemy", "asyncpg"),
    ("sqlalchemy", "psycopg"),
    ("asyncpg", None),
    ("psycopg_pool", None),
    ("django", None),
]


@pytest.mark.parametrize(("stack", "driver"), PASTE_CASES, ids=[f"{s}-{d}" if d else s for s, d in PASTE_CASES])
def test_recommend_table_prints_the_code_whole_at_80_columns(
    server: LocalPostgres, long_role: str, tmp_path: Path, stack: str, driver: str | None
) -> None:
    """At 80 columns the table's code is the code --format python gives, and it compiles: a dict argument too
    wide for one line (the keepalives) goes one item a line, and a URL too long for its line goes as adjacent
    literals (the same value), never cut or folded."""
    config = tmp_path / "pool-doctor.toml"
    config.write_text(f'[pool]\nstack = "{stack}"\n' + ("CONN_MAX_AGE = 600\n" if stack == "django" else ""))
    url = server.url(long_role, PASSWORD, "postgres", driver=driver)
    flags = ("recommend", "--url", url, "--config", str(config), "--network-idle-timeout", "240")
    table = run_pool_doctor(*flags, secret=PASSWORD, env={"COLUMNS": "80"})
    python = run_pool_doctor(*flags, "--format", "python", secret=PASSWORD)
    assert table.code == 0 and python.code == 0, table.stderr + python.stderr
    compile(python.stdout, f"<recommend {stack}>", "exec")
    code = table.stdout.split("paste this\n\n", 1)[1].split("\n\nWhy each setting", 1)[0] + "\n"
    compile(code, "<recommend>", "exec")
    assert ast.dump(ast.parse(code)) == ast.dump(ast.parse(python.stdout))
    key = "tcp_keepalives_idle" if "asyncpg" in (stack, driver) else "keepalives_idle"
    assert re.search(rf"^ +['\"]{key}['\"]: ", code, re.MULTILINE), code  # the keepalives, one a line
    # No line past 80 columns: the long URL goes as adjacent literals broken at its separators (one value).
    assert not [line for line in code.splitlines() if len(line) > 80], code
    if stack != "django":  # Django's entry has no URL
        assert re.search(r"^ +\($", code, re.MULTILINE) and long_role in ast.dump(ast.parse(code)), code
    assert f"  ALTER ROLE {long_role} SET tcp_keepalives_idle = 60;\n" in table.stdout


@pytest.mark.parametrize(
    ("driver", "factory"), [("psycopg_async", "create_async_engine"), ("psycopg", "create_engine")]
)
def test_recommend_python_builds_the_engine_the_urls_driver_takes(
    server: LocalPostgres, driver: str, factory: str
) -> None:
    """`postgresql+psycopg_async` is psycopg's asyncio dialect: only create_async_engine takes it."""
    url = server.url("app", PASSWORD, "appdb", driver=driver)
    result = run_pool_doctor("recommend", "--url", url, "--format", "python", secret=PASSWORD)
    assert result.code == 0, result.stderr
    namespace: dict[str, Any] = {}
    exec(compile(result.stdout, "<recommend>", "exec"), namespace)
    assert type(namespace["engine"]).__name__ == ("AsyncEngine" if factory == "create_async_engine" else "Engine")
    assert f"engine = {factory}(" in result.stdout
