"""probe's demoted_primary scenario through the CLI against a real server: the probe's own pooled session turns
read-only (session-local state), the server is left as it was, and no tuple is written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import LocalPostgres

from tests.cli_runner import run_pool_doctor

PASSWORD = "pr0be-Demoted"


@pytest.fixture(scope="module")
def server(pg_bindirs: list[Path]) -> Iterator[LocalPostgres]:
    with LocalPostgres(pg_bindirs[0]) as pg:
        pg.create_role("app", PASSWORD)
        yield pg


@pytest.mark.parametrize("driver", ["asyncpg", "psycopg"])
def test_demoted_primary_current_keeps_failing_recommended_lets_go(server: LocalPostgres, driver: str) -> None:
    url = f"postgresql+{driver}://app:{PASSWORD}@{server.host}:{server.port}/postgres"
    run = run_pool_doctor(
        "probe", "--json", "--url", url, "--pool-pre-ping", "--scenario", "demoted_primary",
        "--connections", "1", "--load-seconds", "0.1", "--timeout", "5",
        secret=PASSWORD, timeout=120,
    )  # fmt: skip
    assert run.code in (0, 1), run.stderr
    results = {s["config"]: s for s in run.json()["scenarios"] if s["name"] == "demoted_primary"}
    current, recommended = results["current"], results["recommended"]
    # Pre-ping's SELECT 1 passes on the read-only session: the pool keeps it, and every write fails.
    assert current["outcome"] == "error" and current["recovered"] is False
    assert current["error"] == "cannot execute DROP TABLE in a read-only transaction"
    assert current["reason"] == "3 of 3 writes after the demotion failed: the pool kept the connection"
    assert current["severity"] == "warning"
    # recommend's code (handle_error marks 25006 a disconnect): one write fails, then the pool lets go.
    assert recommended["outcome"] == "ok" and recommended["recovered"] is True
    assert any("handle_error" in note for note in recommended["notes"])
    # The server was not touched: its own setting is as it was.
    assert server.sql("SHOW default_transaction_read_only") == [("off",)]
