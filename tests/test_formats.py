"""Every command's JSON against the schema shipped in the package; --version; progress on stderr.

The documents are the commands' real output: check, recommend and probe against a real server (a role whose
idle_session_timeout is 1s, behind a 350s middlebox), scan over a real file, explain over the deaths a watched
engine recorded on that server.
"""

from __future__ import annotations

import asyncio
import json
from importlib.metadata import version
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from cli_runner import Run, run_pool_doctor
from harness import LocalPostgres

from pool_doctor.model import SCHEMA_VERSION

PASSWORD = "f0rmat-Pw!"
COMMANDS = ("check", "recommend", "probe", "scan", "explain")


def pool_doctor(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> Run:
    return run_pool_doctor(*args, secret=PASSWORD, cwd=cwd, env=env)


def schema(command: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(files("pool_doctor").joinpath(f"schemas/{command}.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(document)
    return document


@pytest.fixture(scope="module")
def url(pg: LocalPostgres) -> str:
    pg.create_role("formats_app", PASSWORD, settings={"idle_session_timeout": "1s"})
    pg.create_database("formats_db", owner="formats_app")
    return pg.url("formats_app", PASSWORD, "formats_db", driver="asyncpg")


@pytest.fixture(scope="module")
def probed(url: str, tmp_path_factory: pytest.TempPathFactory) -> Run:
    run = pool_doctor(
        "probe",
        "--json",
        "--url",
        url,
        "--network-idle-timeout",
        "350",
        "--connections",
        "1",
        "--load-seconds",
        "0.2",
        "--scenario",
        "server_idle_timeout",
        "--scenario",
        "network_reset",
        cwd=tmp_path_factory.mktemp("probe"),
    )
    assert run.code == 1, run.stderr  # the current settings fail both
    return run


def deaths_log(url: str, path: Path) -> None:
    """A watched engine with SQLAlchemy's defaults meets the role's 1s idle_session_timeout."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.ext.asyncio import create_async_engine

    from pool_doctor.monitor import watch

    async def scenario() -> None:
        engine = create_async_engine(url)
        watch(engine, jsonl=path)
        async with engine.connect() as conn:
            await conn.scalar(text("SELECT 1"))
        await asyncio.sleep(1.5)
        with pytest.raises(DBAPIError):
            async with engine.connect() as conn:
                await conn.scalar(text("SELECT 2"))
        await engine.dispose()

    asyncio.run(scenario())


def documents(command: str, url: str, probed: Run, tmp_path: Path) -> list[dict[str, Any]]:
    if command == "probe":
        return [probed.json()]
    if command == "scan":
        (tmp_path / "db.py").write_text("from sqlalchemy import create_engine\nengine = create_engine(URL)\n")
        runs = [pool_doctor("scan", str(tmp_path), *flag, cwd=tmp_path) for flag in (["--json"], ["--format", "json"])]
    elif command == "explain":
        deaths_log(url, tmp_path / "deaths.jsonl")
        runs = [
            pool_doctor("explain", str(tmp_path / "deaths.jsonl"), *flag) for flag in (["--json"], ["--format", "json"])
        ]
    else:
        args = ("--url", url, "--network-idle-timeout", "350")
        runs = [pool_doctor(command, *flag, *args, cwd=tmp_path) for flag in (["--json"], ["--format", "json"])]
    assert same(runs[0].json()) == same(runs[1].json())  # --json is --format json
    return [runs[0].json()]


def same(document: dict[str, Any]) -> dict[str, Any]:
    """A document without what differs from one connection to the next (backend PIDs, live sessions)."""
    if "server" in document:
        server = {k: v for k, v in document["server"].items() if k not in ("backend_pid", "startup_pid", "activity")}
        document = {**document, "server": server}
    return document


@pytest.mark.parametrize("command", COMMANDS)
def test_every_json_validates_against_the_shipped_schema(command: str, url: str, probed: Run, tmp_path: Path) -> None:
    validator = jsonschema.Draft202012Validator(schema(command))
    for document in documents(command, url, probed, tmp_path):
        errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
        assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])
        assert document["schema_version"] == SCHEMA_VERSION
        if command == "explain":
            assert document["deaths"] >= 1 and document["causes"][0]["name"] == "idle_session_timeout"
        if command == "check":
            setting = document["server"]["settings"]["idle_session_timeout"]
            assert (setting["value"], setting["seconds"], setting["unit"]) == ("1s", 1, "ms")


def test_schema_rejects_a_setting_in_another_shape(url: str, tmp_path: Path) -> None:
    """The schema is not a rubber stamp: the old mixed forms ("1000" beside "5min") fail it."""
    document = pool_doctor("check", "--json", "--url", url, cwd=tmp_path).json()
    document["server"]["settings"]["idle_session_timeout"]["value"] = "1 second"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema("check"))
    del document["server"]["settings"]["idle_session_timeout"]["seconds"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema("check"))


def test_probe_progress_is_plain_lines_on_piped_stderr(probed: Run) -> None:
    lines = probed.stderr.splitlines()
    assert lines and all(line.startswith("pool-doctor: probe [") for line in lines), probed.stderr
    assert lines[0] == "pool-doctor: probe [1/6] reading the server's settings"
    assert lines[-1].startswith("pool-doctor: probe [6/6] scenario network_reset")
    json.loads(probed.stdout)  # stdout stays one document


def test_quiet_probe_says_nothing_on_stderr(url: str, tmp_path: Path) -> None:
    run = pool_doctor(
        "probe",
        "--quiet",
        "--url",
        url,
        "--connections",
        "1",
        "--load-seconds",
        "0.1",
        "--scenario",
        "prepared_statements",
        cwd=tmp_path,
        env={"COLUMNS": "80"},
    )
    assert run.code == 0, run.stderr
    assert run.stderr == ""
    assert "prepared_statements" in run.stdout and max(len(line) for line in run.stdout.splitlines()) <= 80


def test_version_is_the_package_version() -> None:
    run = pool_doctor("--version")
    assert run.code == 0 and run.stdout == f"pool-doctor {version('pool-doctor')}\n" and run.stderr == ""


@pytest.mark.parametrize(("command", "fmt"), [("check", "toml"), ("probe", "python"), ("recommend", "sarif")])
def test_a_format_a_command_does_not_have_is_a_usage_error(command: str, fmt: str) -> None:
    run = pool_doctor(command, "--format", fmt, "--url", "postgresql://nobody@127.0.0.1:1/x")
    assert run.code == 2 and run.stdout == ""
    assert "--format" in run.stderr and len(run.stderr.splitlines()) == 1
