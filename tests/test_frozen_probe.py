"""probe's frozen scenario through the CLI against a real server: the probe's event loop stops (as a frozen
serverless process does) past the role's idle_session_timeout, time-scaled, and the next request comes before
any pool timer or socket event runs. The headline error of the incident write-up, reproduced."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness import LocalPostgres

from tests.cli_runner import run_pool_doctor

PASSWORD = "pr0be-Frozen"
# What a request on a connection the server closed while the process was frozen gets from asyncpg, by how
# far the socket's last bytes (the FATAL, then the close) were read when the query went out.
DEAD = ("connection was closed in the middle of operation", "connection is closed")


@pytest.fixture(scope="module")
def server(pg_bindirs: list[Path]) -> Iterator[LocalPostgres]:
    with LocalPostgres(pg_bindirs[0]) as pg:
        pg.create_role("app", PASSWORD, settings={"idle_session_timeout": "60s"})
        yield pg


def probe(server: LocalPostgres, *args: str, idle_too: bool = True) -> tuple[int, dict[str, dict[str, Any]]]:
    """frozen, and server_idle_timeout beside it (`idle_too`): the same idle limit, the loop running."""
    url = f"postgresql+asyncpg://app:{PASSWORD}@{server.host}:{server.port}/postgres"
    scenarios = ["--scenario", "frozen", *(["--scenario", "server_idle_timeout"] if idle_too else [])]
    run = run_pool_doctor(
        "probe", "--json", "--url", url, *scenarios, "--connections", "1", "--load-seconds", "0.1", "--timeout", "5",
        *args, secret=PASSWORD, timeout=120,
    )  # fmt: skip
    assert run.code in (0, 1), run.stderr
    return run.code, {f"{s['name']}/{s['config']}": s for s in run.json()["scenarios"]}


def test_a_frozen_sqlalchemy_engine_fails_as_in_the_incident_and_the_recommended_one_does_not(
    server: LocalPostgres,
) -> None:
    code, results = probe(server, "--runtime", "aws-lambda")
    frozen = results["frozen/current"]
    assert frozen["outcome"] == "error" and frozen["severity"] == "warning"
    assert any(words in frozen["error"] for words in DEAD), frozen["error"]
    assert any("AWS Lambda: frozen past idle_session_timeout = 1min" in note for note in frozen["notes"])
    assert results["frozen/recommended"]["outcome"] == "ok"  # recycled at checkout, by the clock
    assert results["server_idle_timeout/current"]["outcome"] == "error" and code == 1


def test_a_ping_at_checkout_survives_the_freeze(server: LocalPostgres) -> None:
    """The configs run side by side, but the freeze of one is not inside the other's request (was: a hang)."""
    _, results = probe(server, "--runtime", "aws-lambda", "--pool-pre-ping", idle_too=False)
    assert results["frozen/current"]["outcome"] == "ok" and results["frozen/recommended"]["outcome"] == "ok"


def test_asyncpgs_pool_survives_an_idle_close_but_not_a_freeze(server: LocalPostgres) -> None:
    """Its pool drops a connection the server closed while the loop ran (server_idle_timeout passes); frozen,
    it hands the closed one out. No setting of it checks at checkout: the recommended config fails too, and
    says what is left."""
    code, results = probe(server, "--runtime", "aws-lambda", "--stack", "asyncpg")
    assert results["server_idle_timeout/current"]["outcome"] == "ok"
    for config in ("current", "recommended"):
        assert results[f"frozen/{config}"]["outcome"] == "error"
        assert any(words in results[f"frozen/{config}"]["error"] for words in DEAD)
    assert any("Use NullPool" in note for note in results["frozen/recommended"]["notes"])
    assert code == 0  # a warning: under --fail-on critical, as check's serverless-runtime finding


def test_not_run_where_nothing_freezes_the_process(server: LocalPostgres) -> None:
    _, results = probe(server, idle_too=False)
    assert results["frozen/current"]["outcome"] == "skipped"
    assert "--runtime aws-lambda" in results["frozen/current"]["reason"]
