"""One pool, three ways in: the app's code through `scan`, the same code through `check --app`, and the same
values in a config file through `check --config`. Every way maps the pool through its stack and runs the same
pool rules (pool_doctor/rules/codes.py, scope "pool"), so the pool's codes are the same. The server is real
and its role has no limit of its own: what `check` adds from the server is about the server, not the pool."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_runner import run_pool_doctor
from harness import LocalPostgres

from pool_doctor.rules.codes import Scope, lookup

PASSWORD = "three-ways-pw-K2"


@pytest.fixture(scope="module")
def server(pg_bindirs: list[Path]) -> Any:
    with LocalPostgres(pg_bindirs[0]) as pg:
        pg.create_role("app", PASSWORD)
        pg.create_database("appdb", owner="app")
        yield pg


# (stack, the app's code, the same pool as [pool] keys, the URL's driver, the codes expected)
CASES = [
    (
        "sqlalchemy",
        "from sqlalchemy.ext.asyncio import create_async_engine\n\n\n"
        "def make():\n"
        '    return create_async_engine("postgresql+asyncpg://app@db.internal/appdb", pool_recycle=10, max_overflow=-1)\n',
        "[pool]\npool_recycle = 10\nmax_overflow = -1\n",
        "asyncpg",
        {"recycle-churn", "no-liveness-check", "no-hang-bound", "unbounded-overflow"},
    ),
    (
        "asyncpg",
        "import asyncpg\n\n\nasync def make():\n"
        '    return await asyncpg.create_pool("postgresql://app@db.internal/appdb", min_size=2, max_size=4)\n',
        '[pool]\nstack = "asyncpg"\nmin_size = 2\nmax_size = 4\n',
        "asyncpg",
        {"no-hang-bound"},  # its pool sees a server's close at acquire: no liveness finding
    ),
    (
        "psycopg_pool",
        "from psycopg_pool import ConnectionPool\n\n\ndef make():\n"
        '    return ConnectionPool("host=db.internal dbname=appdb", min_size=1, max_idle=5, open=False)\n',
        '[pool]\nstack = "psycopg_pool"\nmin_size = 1\nmax_idle = 5\nopen = false\n',
        "psycopg",
        {"no-liveness-check", "no-hang-bound"},
    ),
    (
        "django",
        'DATABASES = {\n    "default": {\n        "ENGINE": "django.db.backends.postgresql",\n'
        '        "NAME": "appdb",\n        "CONN_MAX_AGE": 5,\n    }\n}\n',
        '[pool]\nstack = "django"\nENGINE = "django.db.backends.postgresql"\nCONN_MAX_AGE = 5\n',
        "psycopg",
        {"recycle-churn", "no-liveness-check", "no-hang-bound"},
    ),
]


def pool_codes(findings: list[dict[str, Any]]) -> set[str]:
    return {f["code"] for f in findings if lookup(f["code"]).scope is Scope.POOL}


@pytest.mark.parametrize(("stack", "code", "config", "driver", "expected"), CASES, ids=[c[0] for c in CASES])
def test_scan_check_app_and_check_config_give_a_pool_the_same_codes(
    server: LocalPostgres, tmp_path: Path, stack: str, code: str, config: str, driver: str, expected: set[str]
) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "db.py").write_text(code)
    (tmp_path / "pool.toml").write_text(config)
    url = server.url("app", PASSWORD, "appdb").replace("postgresql://", f"postgresql+{driver}://")

    scanned = run_pool_doctor("scan", str(app), "--format", "json", secret=PASSWORD, cwd=tmp_path)
    assert scanned.code == 0, scanned.stderr
    from_scan = pool_codes(json.loads(scanned.stdout)["findings"])

    with_app = run_pool_doctor("check", "--url", url, "--app", str(app), "--json", secret=PASSWORD, cwd=tmp_path)
    assert with_app.code == 0, with_app.stderr
    report = json.loads(with_app.stdout)
    assert [pool["judged_as"] for pool in report["app"]["pools"]] == [stack]
    from_app = pool_codes(report["findings"])

    with_config = run_pool_doctor(
        "check", "--url", url, "--config", "pool.toml", "--json", secret=PASSWORD, cwd=tmp_path
    )
    assert with_config.code == 0, with_config.stderr
    from_config = pool_codes(json.loads(with_config.stdout)["findings"])

    assert from_scan == from_app == from_config == expected
