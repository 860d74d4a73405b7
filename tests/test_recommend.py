"""`pool-doctor recommend` on real servers, proven with real SQLAlchemy engines.

The engines are built from the command's own JSON output, the way a user would paste it.
"""

from __future__ import annotations

import ast
import asyncio
import json
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest
from cli_runner import Run, run_pool_doctor
from harness import LocalPostgres
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

PASSWORD = "rec-pw"
IDLE_KILL = "2s"


def run(*args: str, timeout: float = 60) -> Run:
    return run_pool_doctor(*args, secret=PASSWORD, timeout=timeout)


@pytest.fixture
def incident(pg: LocalPostgres, unique_name: str) -> tuple[LocalPostgres, str, str]:
    """The classic incident: the app's role has a short idle_session_timeout in its database."""
    role, db = f"{unique_name}_app", f"{unique_name}_db"
    pg.create_role(role, PASSWORD)
    pg.create_database(db, owner=role)
    pg.sql(f'ALTER ROLE "{role}" IN DATABASE "{db}" SET idle_session_timeout = \'{IDLE_KILL}\'')
    return pg, role, db


def recommendation(url: str, *extra: str) -> dict[str, Any]:
    result = run("recommend", "--url", url, "--format", "json", *extra)
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)


def engine_kwargs(pool: dict[str, Any]) -> dict[str, Any]:
    keys = ("pool_size", "max_overflow", "pool_recycle", "pool_pre_ping", "pool_timeout", "pool_use_lifo")
    return {key: pool[key] for key in keys}


DEFAULTS = {
    "pool_size": 5,
    "max_overflow": 10,
    "pool_recycle": -1,
    "pool_pre_ping": False,
    "pool_timeout": 30,
    "pool_use_lifo": False,
}


def use_idle_use_async(url: str, pool: dict[str, Any], connect_args: dict[str, Any]) -> str | None:
    """Query, idle 3 s (past the 2 s killer), query again; the error the app would see, or None."""

    async def scenario() -> str | None:
        engine = create_async_engine(url, **engine_kwargs(pool), connect_args=connect_args)
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            await asyncio.sleep(3)
            try:
                async with engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
            except DBAPIError as exc:
                return f"{type(exc.orig).__name__}: {exc.orig}"
            return None
        finally:
            await asyncio.wait_for(engine.dispose(), 10)

    return asyncio.run(scenario())


def use_idle_use_sync(url: str, pool: dict[str, Any], connect_args: dict[str, Any]) -> str | None:
    engine = create_engine(url, **engine_kwargs(pool), connect_args=connect_args)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        time.sleep(3)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except DBAPIError as exc:
            return f"{type(exc.orig).__name__}: {exc.orig}"
        return None
    finally:
        engine.dispose()


@pytest.mark.slow
def test_asyncpg_current_settings_fail_and_recommended_survive(incident: tuple[LocalPostgres, str, str]) -> None:
    pg, role, db = incident
    url = pg.url(role, PASSWORD, db, driver="asyncpg")
    doc = recommendation(url)
    rec = doc["recommendation"]
    assert rec["pool_pre_ping"] is True
    assert 0 < rec["pool_recycle"] < 2

    error = use_idle_use_async(url, DEFAULTS, {})
    # asyncpg saw the server's FATAL and closed its end: SQLAlchemy's "connection is closed".
    assert error is not None and "closed" in error, error
    assert use_idle_use_async(url, rec, rec["connect_args"]) is None


@pytest.mark.slow
def test_psycopg_current_settings_fail_and_recommended_survive(incident: tuple[LocalPostgres, str, str]) -> None:
    pg, role, db = incident
    url = pg.url(role, PASSWORD, db, driver="psycopg")
    doc = recommendation(url)
    rec = doc["recommendation"]
    # Only what check's findings speak of: no-hang-bound names tcp_user_timeout; no middlebox, no keepalives.
    assert rec["connect_args"]["tcp_user_timeout"] > 0 and "keepalives" not in rec["connect_args"]

    error = use_idle_use_sync(url, DEFAULTS, {})
    assert error is not None and "idle-session timeout" in error, error  # psycopg reads the server FATAL
    assert use_idle_use_sync(url, rec, rec["connect_args"]) is None


@pytest.mark.parametrize("driver", ["asyncpg", "psycopg"])
def test_toml_output_fed_back_to_check_leaves_no_warning(
    incident: tuple[LocalPostgres, str, str], driver: str, tmp_path: Path
) -> None:
    pg, role, db = incident
    url = pg.url(role, PASSWORD, db, driver=driver)
    flags = ("--network-idle-timeout", "350", "--replicas", "4", "--workers-per-replica", "4")
    before = run("check", "--url", url, "--json", "--fail-on", "warning", *flags)
    assert before.code == 1, before.stderr
    bad = {f["code"] for f in json.loads(before.stdout)["findings"] if f["severity"] in ("warning", "critical")}
    assert {"idle-session-timeout", "network-idle-timeout", "keepalives-too-slow"} <= bad

    toml_text = run("recommend", "--url", url, "--format", "toml", *flags).stdout
    config = tmp_path / "pool-doctor.toml"
    config.write_text(toml_text)
    assert tomllib.loads(toml_text)["network"]["idle_timeout"] == 350

    after = run("check", "--url", url, "--config", str(config), "--json", "--fail-on", "warning")
    assert after.code == 0, after.stdout
    left = [f for f in json.loads(after.stdout)["findings"] if f["severity"] != "info"]
    assert left == []


@pytest.mark.parametrize("driver", ["asyncpg", "psycopg"])
def test_python_output_compiles_and_builds_an_engine(incident: tuple[LocalPostgres, str, str], driver: str) -> None:
    pg, role, db = incident
    result = run("recommend", "--url", pg.url(role, PASSWORD, db, driver=driver), "--format", "python")
    assert result.code == 0, result.stderr
    code = result.stdout
    assert PASSWORD not in code
    namespace: dict[str, Any] = {}
    # Executing it proves more than compiling: create_engine rejects unknown keyword arguments.
    exec(compile(code, "<recommend>", "exec"), namespace)
    engine = namespace["engine"]
    assert engine.pool.size() >= 1
    assert engine.url.password is None


def test_sizes_fit_the_budget(make_pg: Any, unique_name: str) -> None:
    server = make_pg({"max_connections": "30"})
    role = f"{unique_name}_app"
    server.create_role(role, PASSWORD, connlimit=20)
    url = server.url(role, PASSWORD, "postgres", driver="asyncpg")
    doc = recommendation(url, "--replicas", "3", "--workers-per-replica", "2")
    rec = doc["recommendation"]
    pools = 3 * 2
    assert pools * (rec["pool_size"] + rec["max_overflow"]) <= 0.8 * 20  # the role's limit is the tighter cap
    assert rec["pool_size"] >= 1

    hopeless = run("recommend", "--url", url, "--format", "json", "--replicas", "40")
    assert hopeless.code == 1
    hopeless_doc = json.loads(hopeless.stdout)
    assert [f["code"] for f in hopeless_doc["findings"]] == ["budget-no-fit"]
    # The sizes' own reasons say the same, not that the pools fit.
    shorts = {r["key"]: r["short"] for r in hopeless_doc["reasons"]}
    assert shorts["pool_size"].startswith("the smallest pool: even so 40 pools overrun"), shorts


def test_network_idle_timeout_bounds_recycle_and_keepalives(pg: LocalPostgres, unique_name: str) -> None:
    role = f"{unique_name}_app"
    pg.create_role(role, PASSWORD)
    doc = recommendation(pg.url(role, PASSWORD, "postgres", driver="asyncpg"), "--network-idle-timeout", "350")
    rec = doc["recommendation"]
    assert 30 <= rec["pool_recycle"] < 350
    assert int(rec["connect_args"]["server_settings"]["tcp_keepalives_idle"]) < 350
    assert rec["connect_args"]["command_timeout"] > 0

    no_limit = recommendation(pg.url(role, PASSWORD, "postgres", driver="psycopg"))["recommendation"]
    assert no_limit["pool_recycle"] == 1800
    assert "keepalives_idle" not in no_limit["connect_args"]  # no middlebox known: no finding speaks of them
    assert no_limit["connect_args"]["tcp_user_timeout"] > 0


LONG_SETTINGS = {"tcp_keepalives_idle": "60", "tcp_keepalives_interval": "10", "tcp_keepalives_count": "3"}


@pytest.mark.parametrize(
    ("head", "value", "indent", "expected"),
    [
        (
            "server_settings=",
            {"tcp_keepalives_idle": "60"},
            8,
            ["        server_settings={'tcp_keepalives_idle': '60'},"],
        ),
        (
            "server_settings=",
            LONG_SETTINGS,
            8,
            [
                "        server_settings={",
                "            'tcp_keepalives_idle': '60',",
                "            'tcp_keepalives_interval': '10',",
                "            'tcp_keepalives_count': '3',",
                "        },",
            ],
        ),
        (  # only what does not fit is split: the outer dict, not the short inner one
            "kwargs=",
            {"options": {"a": 1}, "nested": LONG_SETTINGS},
            4,
            [
                "    kwargs={",
                "        'options': {'a': 1},",
                "        'nested': {",
                "            'tcp_keepalives_idle': '60',",
                "            'tcp_keepalives_interval': '10',",
                "            'tcp_keepalives_count': '3',",
                "        },",
                "    },",
            ],
        ),
        (
            "",
            "postgresql://app@db/" + "x" * 80,
            4,
            ["    'postgresql://app@db/" + "x" * 80 + "',"],
        ),  # a literal stays whole
    ],
)
def test_generated_code_is_laid_out_as_a_formatter_would(
    head: str, value: Any, indent: int, expected: list[str]
) -> None:
    from pool_doctor.stacks._code import code_lines

    lines = code_lines(head, value, ",", indent)
    assert lines == expected
    assert ast.literal_eval("\n".join(lines).strip().removeprefix(head).rstrip(",")) == value


def test_generated_code_writes_code_as_code_and_django_with_double_quotes() -> None:
    from pool_doctor.connection.values import UNIQUE_NAME_CODE, PythonCode
    from pool_doctor.stacks._code import code_lines

    code = PythonCode(UNIQUE_NAME_CODE, "uuid4")
    assert code_lines("", {"prepared_statement_name_func": code}, ",", 4, explode=True) == [
        "    {",
        f"        'prepared_statement_name_func': {UNIQUE_NAME_CODE},",
        "    },",
    ]
    assert code_lines('"OPTIONS": ', {"application_name": "it's"}, ",", 8, quote='"') == [
        '        "OPTIONS": {"application_name": "it\'s"},'
    ]


def test_a_key_the_app_does_not_give_was_unset_even_where_its_table_is_given(
    incident: tuple[LocalPostgres, str, str], tmp_path: Path
) -> None:
    """server_settings gives only application_name: the keepalive added to it was unset, not the table."""
    pg, role, db = incident
    url = pg.url(role, PASSWORD, db, driver="asyncpg")
    app = tmp_path / "app"
    app.mkdir()
    (app / "db.py").write_text(
        "from sqlalchemy.ext.asyncio import create_async_engine\n"
        'engine = create_async_engine("postgresql+asyncpg://app@db/appdb",'
        ' connect_args={"server_settings": {"application_name": "orders-api"}})\n'
    )
    result = run("recommend", "--url", url, "--app", str(app), "--middlebox", "aws-nat", "--format", "json")
    assert result.code == 0, result.stderr
    (pool,) = json.loads(result.stdout)["pools"]
    reasons = {reason["key"]: reason for reason in pool["reasons"]}
    assert reasons["connect_args.server_settings.tcp_keepalives_idle"]["current"] is None
