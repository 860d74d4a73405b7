"""At COLUMNS=80 every line of check, recommend, scan and explain fits: values the user looks for in their code
are never cut with "...", long URLs break at their own separators with indented continuations, and no line
ends in padding spaces. The app's names are long on purpose (the trial's `quivr-api-assistant`)."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_runner import run_pool_doctor
from harness import LocalPostgres

PASSWORD = "width-pw"
APP = """\
import os
from sqlalchemy.ext.asyncio import create_async_engine

settings_url = os.environ.get("PG_DATABASE_ASYNC_URL", "postgresql+asyncpg://app@localhost/appdb")
async_engine = create_async_engine(
    settings_url,
    pool_size=int(os.environ.get("POOL_SIZE_FOR_THE_ASYNC_ENGINE_OF_THE_ASSISTANT", "7")),
    pool_recycle=1800,
    connect_args={"server_settings": {"application_name": "quivr-api-assistant-with-a-long-name"}},
)
"""


@pytest.fixture(scope="module")
def server(pg_bindirs: list[Path]) -> Iterator[LocalPostgres]:
    with LocalPostgres(pg_bindirs[0]) as pg:
        pg.create_role("app", PASSWORD)
        pg.create_database("appdb_with_a_long_name_for_the_assistant", owner="app")
        yield pg


def bad_lines(text: str, python: bool = False) -> list[str]:
    """Lines past 80 columns, cut with "...", or ending in spaces. The app's own call, as the recommendation
    edits it, keeps the code's own style: laid out at black's 88 columns, as the file it goes back into."""
    lines = text.splitlines()
    code = range(len(lines)) if python else range(0)
    if "paste this" in text and "Why each setting" in text:
        start = next(n for n, line in enumerate(lines) if "paste this" in line)
        code = range(start, next(n for n, line in enumerate(lines) if line.startswith("Why each setting")))
    return [
        line
        for n, line in enumerate(lines)
        if len(line) > (88 if n in code and not line.startswith("#") else 80) or "…" in line or line != line.rstrip()
    ]


def test_every_line_fits_80_columns_whole(server: LocalPostgres, tmp_path: Path) -> None:
    app = tmp_path / "quivr_api_assistant" / "modules"
    app.mkdir(parents=True)
    (app / "database_engine_factory_for_the_assistant.py").write_text(APP)
    base = f"postgresql+{{}}://app:{PASSWORD}@127.0.0.1:{server.port}/appdb_with_a_long_name_for_the_assistant"
    asyncpg_url = base.format("asyncpg")
    psycopg_url = base.format("psycopg") + "?options=-c%20idle_session_timeout%3D0&application_name=quivr-api-assistant"
    env = {"COLUMNS": "80", "NO_COLOR": "1"}
    runs = {
        "check --app --verbose": ["check", "--url", asyncpg_url, "--app", str(tmp_path), "--verbose"],
        "recommend --app": ["recommend", "--url", asyncpg_url, "--app", str(tmp_path)],
        "recommend --app python": ["recommend", "--url", asyncpg_url, "--app", str(tmp_path), "--format", "python"],
        "check long url --verbose": ["check", "--url", psycopg_url, "--verbose"],
        "recommend long url": ["recommend", "--url", psycopg_url],
        "scan": ["scan", str(tmp_path)],
    }
    for name, argv in runs.items():
        result = run_pool_doctor(*argv, secret=PASSWORD, env=env, cwd=tmp_path)
        assert result.code in (0, 1), (name, result.stderr)
        python = name.endswith("python")
        assert not bad_lines(result.stdout, python), (name, bad_lines(result.stdout, python))
        if name == "check --app --verbose":  # the values the user looks for, whole
            flat = " ".join(result.stdout.split())
            assert "$POOL_SIZE_FOR_THE_ASYNC_ENGINE_OF_THE_ASSISTANT" in flat
            assert "application_name = quivr-api-assistant-with-a-long-name" in flat
        if name == "check long url --verbose":  # the header breaks at the URL's separators, continuations indented
            lines = result.stdout.splitlines()
            url_lines = lines[1 : next(n for n, line in enumerate(lines) if line.startswith("PostgreSQL"))]
            assert lines[0] == "pool-doctor check" and all(line.startswith("  ") for line in url_lines), lines[:5]
            assert "".join(line.strip() for line in url_lines) == psycopg_url.replace(PASSWORD, "***").replace(
                "%20", "+"
            )
        if name == "recommend long url":  # the pasted code holds the same URL, as adjacent literals
            code = result.stdout[result.stdout.index("from sqlalchemy") : result.stdout.index("\n)\n") + 3]
            call = ast.parse(code).body[-1]
            assert isinstance(call, ast.Assign) and isinstance(call.value, ast.Call)
            url = ast.literal_eval(call.value.args[0])
            assert url.endswith("?options=-c+idle_session_timeout%3D0&application_name=quivr-api-assistant")

    log = tmp_path / "monitor.jsonl"
    record = {
        "schema_version": 1,
        "event": "death",
        "stack": "sqlalchemy",
        "target": asyncpg_url.replace(PASSWORD, "***"),
        "idle_s": 6.0,
        "request_failed": True,
        "error": {"type": "asyncpg.exceptions.ConnectionDoesNotExistError", "message": "x " * 60, "sqlstate": None},
        "cause": {"name": "unexplained", "explained": False, "what": "no known limit matches " * 5},
    }
    log.write_text(json.dumps(record) + "\n")
    result = run_pool_doctor("explain", str(log), secret=PASSWORD, env=env, cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert not bad_lines(result.stdout), bad_lines(result.stdout)
