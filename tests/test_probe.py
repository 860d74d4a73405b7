"""`pool-doctor probe` end to end: the command (in process, through main(argv)) against real servers, and its parts on the real path.

Every failure is reproduced for real: a session-level idle_session_timeout, pg_terminate_backend, and the
package's own fault proxy on loopback. No mocks.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_runner import Run, run_pool_doctor
from harness import LocalPostgres

from pool_doctor.connection.drivers import DRIVERS
from pool_doctor.connection.spec import parse_connection
from pool_doctor.faults import ThreadedFaultProxy
from pool_doctor.probe.discover import MAX_RATIO, discover_idle_timeout, grid
from pool_doctor.probe.engines import ProbeConfig, build_engine, dispose
from pool_doctor.probe.model import percentile
from pool_doctor.probe.timescale import Killer, TimeScale
from pool_doctor.stacks import stack_for

PASSWORD = "pr0be-Pw!x"  # distinctive, so a leak is found by a plain substring search
INCIDENT = "connection was closed in the middle of operation"
IDLE_TIMEOUT = 3.0  # the proxy's idle timeout the discovery tests must find


def pool_doctor(*args: str, timeout: float = 90) -> Run:
    return run_pool_doctor(*args, secret=PASSWORD, cwd=Path(__file__).parent, timeout=timeout)


@pytest.fixture(scope="module")
def server(pg_bindirs: list[Path]) -> Iterator[LocalPostgres]:
    """One server for tests of the path and the engines, which do not vary with the major (`pg` does)."""
    with LocalPostgres(pg_bindirs[0]) as started:
        yield started


def app_url(
    server: LocalPostgres, name: str, driver: str, port: int | None = None, settings: dict[str, str] | None = None
) -> str:
    """A fresh non-superuser role owning a fresh database (a role may terminate its own backends)."""
    server.create_role(name, PASSWORD, settings=settings)
    server.create_database(f"{name}_db", owner=name)
    url = server.url(name, PASSWORD, f"{name}_db", driver=driver)
    return url if port is None else url.replace(f":{server.port}/", f":{port}/")


def by_name(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(s["name"], s["config"]): s for s in document["scenarios"]}


# -- the whole command ----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("driver", ["asyncpg", "psycopg"])
def test_incident_settings_fail_every_scenario_and_recommended_ones_pass(
    pg: LocalPostgres, unique_name: str, driver: str
) -> None:
    run = pool_doctor(
        "probe",
        "--json",
        "--url",
        app_url(pg, unique_name, driver, settings={"idle_session_timeout": "10min"}),
        "--no-pool-pre-ping",
        "--pool-recycle",
        "-1",
        "--network-idle-timeout",
        "350",
        "--load-seconds",
        "0.5",
    )
    assert run.code == 1, run.stderr  # the current settings fail: that is the finding
    assert run.seconds < 60
    doc = run.json()
    assert {"connect", "round_trip", "load", "scenarios"} <= doc.keys() and "idle_timeout" not in doc
    assert doc["driver"] == driver and PASSWORD not in doc["target"]

    connect = doc["connect"]
    assert connect["connections"] == 5 and 0 < connect["p50_ms"] <= connect["max_ms"]
    assert connect["pids_match"] is True and connect["tls"] is False
    assert connect["read_only"] is True and connect["read_only_by"] == "default_transaction_read_only"
    assert doc["round_trip"]["samples"] > 10 and doc["round_trip"]["pre_ping"]["cost_per_checkout_ms"] >= 0
    load = doc["load"]
    assert load["tasks"] == 5 + 10 + 2 and load["transactions"] > 0 and load["errors"] == 0
    assert load["checkout_wait_p50_ms"] is not None and load["pool_timeouts"] == 0

    scenarios = by_name(doc)
    assert len(scenarios) == 18  # nine scenarios, each with both configs
    # Nothing says this app's process is frozen between requests: frozen is not run, and says how to run it.
    assert scenarios[("frozen", "current")]["outcome"] == "skipped"
    # A demoted primary: the incident's pool keeps the read-only connection; recommend's code lets go of it.
    assert scenarios[("demoted_primary", "current")]["outcome"] == "error"
    assert scenarios[("demoted_primary", "current")]["recovered"] is False
    assert scenarios[("demoted_primary", "recommended")]["outcome"] == "ok"
    for config in ("current", "recommended"):  # no pooler on this path
        assert scenarios[("prepared_statements", config)]["outcome"] == "skipped"
        assert scenarios[("pooler_client_idle", config)]["outcome"] == "skipped"
    for name in ("server_idle_timeout", "backend_terminated", "network_reset"):
        current, recommended = scenarios[(name, "current")], scenarios[(name, "recommended")]
        assert current["outcome"] == "error", current
        assert current["error_source"] == driver and current["wrapped_as"].startswith("sqlalchemy")
        assert current["recovered"] is True  # SQLAlchemy invalidates the dead connection; the next request works
        assert recommended["outcome"] == "ok", recommended
    reset = scenarios[("network_reset", "current")]
    if driver == "asyncpg":  # the incident, word for word, under the driver's own exception type
        assert (reset["error_type"], reset["error"]) == ("ConnectionDoesNotExistError", INCIDENT)
        assert reset["error_module"] == "asyncpg.exceptions"
    else:
        assert reset["error_type"] == "OperationalError" and "server closed the connection" in reset["error"]
        assert scenarios[("server_idle_timeout", "current")]["error_type"] == "IdleSessionTimeout"
    hang = scenarios[("network_blackhole", "current")]
    assert hang["outcome"] == "hang" and hang["seconds"] < 10 and "no answer" in hang["error"]
    assert scenarios[("network_blackhole", "recommended")]["outcome"] == "ok"

    # Time-scaled: 350 s became 1.5 s, and the recommended recycle (315 s) shrank by the same factor.
    scaled = scenarios[("network_reset", "recommended")]["scaled"]
    assert scaled["killer_seconds"] == 350 and scaled["killer_scaled"] == 1.5 and not scaled["killer_assumed"]
    assert scaled["pool_recycle"] == pytest.approx(315 / (350 / 1.5), abs=0.01)
    assert scaled["idle_seconds"] > scaled["killer_scaled"]
    assert doc["summary"]["recommended_failed"] == []
    assert set(doc["summary"]["current_failed"]) == {
        "server_idle_timeout",
        "backend_terminated",
        "network_reset",
        "network_blackhole",
        "demoted_primary",
    }


@pytest.mark.slow
def test_a_limit_nothing_says_is_there_is_not_tested_and_probe_exits_as_check_does(
    pg: LocalPostgres, unique_name: str
) -> None:
    """No [network] idle_timeout and no idle_session_timeout: nothing is assumed. Those scenarios are "not
    tested" with how to test them; the recommended settings are recommend's own; the one event that can
    always come (a backend terminated) fails the default pool as check's no-liveness-check says: an info, so
    probe exits 0 as check does, and 1 with --fail-on info."""
    url = app_url(pg, unique_name, "asyncpg")
    check = pool_doctor("check", "--json", "--url", url)
    assert check.code == 0, check.stderr
    run = pool_doctor("probe", "--json", "--url", url, "--load-seconds", "0.2", "--connections", "1")
    assert run.code == 0, run.stderr
    document = run.json()
    scenarios = by_name(document)
    for name in ("server_idle_timeout", "network_reset", "network_blackhole"):
        for config in ("current", "recommended"):
            result = scenarios[(name, config)]
            assert result["outcome"] == "skipped" and result["reason"].startswith("not tested:"), result
    assert "--network-idle-timeout N" in scenarios[("network_reset", "current")]["reason"]
    terminated = scenarios[("backend_terminated", "current")]
    assert (terminated["outcome"], terminated["severity"]) == ("error", "info")
    assert scenarios[("backend_terminated", "recommended")]["outcome"] == "ok"
    assert document["configs"]["recommended"]["pool_recycle"] == 1800  # recommend's own, nothing assumed
    strict = pool_doctor(
        "probe", "--json", "--url", url, "--scenario", "backend_terminated", "--fail-on", "info", "--connections", "1"
    )
    assert strict.code == 1, strict.stderr


@pytest.mark.slow
def test_recommended_settings_as_current_exit_0_and_table_output(server: LocalPostgres, unique_name: str) -> None:
    run = pool_doctor(
        "probe",
        "--url",
        app_url(server, unique_name, "psycopg"),
        "--pool-pre-ping",
        "--pool-recycle",
        "300",
        "--network-idle-timeout",
        "350",
        "--scenario",
        "network_reset",
        "--scenario",
        "backend_terminated",
        "--load-seconds",
        "0.2",
    )
    assert run.code == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert "Failure scenarios, time-scaled" in [line.strip() for line in lines]
    assert any(re.fullmatch(r"network_reset\s+ok\s+ok\s*", line) for line in lines), run.stdout
    assert "pass every scenario" in run.stdout


@pytest.mark.slow
def test_table_at_80_columns_keeps_error_types_whole(server: LocalPostgres, unique_name: str) -> None:
    """One row per scenario, current beside recommended, the error type whole; the details below it.

    The role's idle_session_timeout (10 min) is scaled only in its own scenario: the network reset's sessions
    keep it unscaled, so the two kills never race.
    """
    server.create_role(unique_name, PASSWORD, settings={"idle_session_timeout": "10min"})
    server.create_database(f"{unique_name}_db", owner=unique_name)
    url = server.url(unique_name, PASSWORD, f"{unique_name}_db", driver="asyncpg")
    run = run_pool_doctor(
        "probe",
        "--url",
        url,
        "--network-idle-timeout",
        "350",
        "--scenario",
        "server_idle_timeout",
        "--scenario",
        "network_reset",
        "--load-seconds",
        "0.2",
        "--connections",
        "1",
        secret=PASSWORD,
        env={"COLUMNS": "80"},
        timeout=90,
    )
    assert run.code == 1, run.stderr
    lines = run.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, run.stdout
    assert any(re.fullmatch(r"server_idle_timeout\s+InterfaceError\s+ok\s*", line) for line in lines), run.stdout
    assert any(re.fullmatch(r"network_reset\s+ConnectionDoesNotExistError\s+ok\s*", line) for line in lines), run.stdout
    text = " ".join(run.stdout.split())
    assert "current: ConnectionDoesNotExistError: " + INCIDENT in text
    assert "raised as sqlalchemy.exc.InterfaceError" in text
    # Piped stderr: the progress as plain lines, one a step.
    progress = run.stderr.splitlines()
    assert progress and all(line.startswith("pool-doctor: probe [") for line in progress), run.stderr


def test_cannot_connect_exits_3_with_one_masked_line() -> None:
    url = f"postgresql+asyncpg://app:{PASSWORD}@127.0.0.1:1/appdb"
    run = pool_doctor("probe", "--url", url, "--timeout", "2")
    assert run.code == 3 and run.stdout == ""
    # Piped stderr: the step it was on, then the one error line.
    lines = run.stderr.strip().splitlines()
    assert lines[:-1] == ["pool-doctor: probe [1/13] reading the server's settings"], run.stderr
    assert lines[-1].startswith("pool-doctor: error: ") and "***" in lines[-1]
    quiet = pool_doctor("probe", "--quiet", "--url", url, "--timeout", "2")
    assert quiet.code == 3 and quiet.stderr == lines[-1] + "\n"


@pytest.mark.parametrize("flag", [["--scenario", "nope"], ["--discover-idle-timeout", "soon"], ["--connections", "0"]])
def test_bad_probe_options_exit_2(flag: list[str]) -> None:
    run = pool_doctor("probe", "--url", "postgresql://app@127.0.0.1:1/appdb", *flag)
    assert run.code == 2 and run.stdout == ""
    assert run.stderr.startswith("pool-doctor: error: ") and len(run.stderr.strip().splitlines()) == 1


# -- idle-timeout discovery on a path that really forgets idle flows -------------------------------


@pytest.mark.slow
def test_discovery_through_the_command_finds_a_reset_within_10_percent(server: LocalPostgres, unique_name: str) -> None:
    url = app_url(server, unique_name, "asyncpg")
    with ThreadedFaultProxy(server.host, server.port, idle_timeout=IDLE_TIMEOUT, mode="reset") as proxy:
        run = pool_doctor(
            "probe",
            "--json",
            "--url",
            url.replace(f":{server.port}/", f":{proxy.port}/"),
            "--scenario",
            "backend_terminated",
            "--pool-pre-ping",
            "--load-seconds",
            "0.2",
            "--discover-idle-timeout",
            "20",
        )
    assert run.code == 0, run.stderr
    found = run.json()["idle_timeout"]
    assert found["shape"] == "reset" and INCIDENT in found["error"]
    assert found["lower"] < IDLE_TIMEOUT <= found["upper"]
    assert found["lower"] >= 0.9 * IDLE_TIMEOUT and found["upper"] <= 1.1 * IDLE_TIMEOUT
    assert found["connections"] <= 20 and found["seconds"] <= 1.25 * IDLE_TIMEOUT + 3


@pytest.mark.slow
@pytest.mark.parametrize("driver", ["asyncpg", "psycopg"])
def test_discovery_finds_a_blackhole_within_10_percent(server: LocalPostgres, unique_name: str, driver: str) -> None:
    url = app_url(server, unique_name, driver)
    with ThreadedFaultProxy(server.host, server.port, idle_timeout=IDLE_TIMEOUT, mode="blackhole") as proxy:
        target = parse_connection(url.replace(f":{server.port}/", f":{proxy.port}/"))
        found = asyncio.run(discover_idle_timeout(target, max_seconds=20, connections=12, timeout=5))
    assert found.shape == "blackhole"
    assert found.lower is not None and found.upper is not None
    assert found.lower < IDLE_TIMEOUT <= found.upper <= 1.1 * IDLE_TIMEOUT and found.lower >= 0.9 * IDLE_TIMEOUT
    assert found.connections == 12
    # 12 lanes cost time rather than precision (ratio capped at 1.09): still well under twice the timeout.
    assert found.seconds < 2 * IDLE_TIMEOUT + 3


def test_discovery_without_a_limit_reports_none_up_to_max(server: LocalPostgres, unique_name: str) -> None:
    target = parse_connection(app_url(server, unique_name, "asyncpg"))
    found = asyncio.run(discover_idle_timeout(target, max_seconds=1.0, connections=20, timeout=5))
    assert found.upper is None and found.shape is None
    assert found.lower is not None and found.lower >= 1.0 and found.seconds < 2.5


# -- read-only sessions ---------------------------------------------------------------------------


@pytest.mark.parametrize("driver", ["asyncpg", "psycopg"])
@pytest.mark.parametrize("read_only", ["session", "transaction"])
def test_probe_engines_cannot_write(server: LocalPostgres, unique_name: str, driver: str, read_only: str) -> None:
    from sqlalchemy import text

    target = parse_connection(app_url(server, unique_name, driver))

    async def check() -> tuple[str, str]:
        config = ProbeConfig.of("test", stack_for("sqlalchemy"), {}, {})
        engine = build_engine(target, config, read_only=read_only)  # type: ignore[arg-type]
        try:
            async with engine.connect() as conn:
                setting = (await conn.execute(text("SHOW default_transaction_read_only"))).scalar()
            try:
                async with engine.connect() as conn:
                    await conn.execute(text("CREATE TABLE probe_must_not_write (i int)"))
                    await conn.commit()
            except Exception as exc:
                return setting, str(exc)
            return setting, "written"
        finally:
            await dispose(engine)

    setting, outcome = asyncio.run(check())
    assert "read-only transaction" in outcome
    assert setting == ("on" if read_only == "session" else "off")


# -- pure parts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("killer", "recycle", "scaled_recycle", "idle"),
    [
        (300, 1800, 9.0, 2.0),  # the example: recycle runs long after the killer
        (300, 270, 1.35, 2.0),  # recycle below the killer: retired before it strikes
        (300, 320, 1.6, 1.55),  # recycle just past the killer: idle between the two, where requests die
        (300, -1, -1, 2.0),
        (1, 1800, 1800, 1.5),  # a killer already short is not stretched
    ],
)
def test_time_scale_keeps_the_shape(killer: float, recycle: int, scaled_recycle: float, idle: float) -> None:
    scale = TimeScale(Killer(killer, "test"))
    config, shown = scale.apply(
        ProbeConfig.of("current", stack_for("sqlalchemy"), {"pool_recycle": recycle}, {"command_timeout": 30}),
        DRIVERS["asyncpg"],
        detect_floor=0.5,
    )
    assert config.values["pool_recycle"] == pytest.approx(scaled_recycle)
    assert scale.idle(config.values["pool_recycle"]) == pytest.approx(idle)
    assert config.driver_args["command_timeout"] >= 0.5  # never below the floor the path can answer in
    assert shown["killer_seconds"] == killer


@pytest.mark.parametrize("lanes", [1, 5, 12, 20, 50])
def test_discovery_grid_steps_stay_within_10_percent(lanes: int) -> None:
    ratio, values = grid(400, lanes)
    assert ratio <= MAX_RATIO and values[0] == 0.5 and values[-1] == 400
    assert all(b / a <= MAX_RATIO + 1e-9 for a, b in itertools.pairwise(values))
    if lanes >= 20:
        assert ratio**lanes == pytest.approx(5.0)  # the chain of reused lanes costs <= 1.25 x T


def test_percentile() -> None:
    assert percentile([], 50) is None
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([1.0, 2.0], 99) == pytest.approx(1.99)
