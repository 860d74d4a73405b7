"""observe against a real server: roles with their own closing limits, clients holding idle connections and an
idle transaction; what it forecasts, who it names, what died, pg_stat_database's counters; and what a role
without pg_monitor is told it cannot see. Pure parts (statement masking, limit resolution, forecasts and
deaths from samples) are table-tested without a server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import jsonschema
import psycopg
import pytest
from cli_runner import run_pool_doctor
from harness import LocalPostgres

from pool_doctor.observe.analysis import Observation
from pool_doctor.observe.limits import GroupLimits
from pool_doctor.observe.model import GroupKey, Sample, Seen
from pool_doctor.observe.queries import masked_statement

PASSWORD = "0bserve-Pw!"


def schema() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(files("pool_doctor").joinpath("schemas/observe.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(document)
    return document


@dataclass(frozen=True)
class Scene:
    pg: LocalPostgres
    api: str
    worker: str
    monitor: str
    database: str


@pytest.fixture
def scene(pg: LocalPostgres, unique_name: str) -> Iterator[Scene]:
    """api: idle_session_timeout 3s (ALTER ROLE); worker: idle_in_transaction_session_timeout 2.5s (ALTER ROLE
    IN DATABASE); two idle api connections and one worker transaction left open after an UPDATE."""
    api, worker, monitor, database = (f"{unique_name}_{x}" for x in ("api", "worker", "mon", "db"))
    pg.create_database(database)
    pg.create_role(api, PASSWORD, settings={"idle_session_timeout": "3s"})
    pg.create_role(worker, PASSWORD, settings={"idle_in_transaction_session_timeout": "2500ms"}, database=database)
    pg.create_role(monitor, PASSWORD)
    pg.sql(f'GRANT pg_monitor TO "{monitor}"')
    pg.sql("CREATE TABLE jobs (id int, state text)", database=database)
    pg.sql(f'GRANT ALL ON jobs TO "{worker}"', database=database)

    def client(user: str, app: str) -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=pg.host, port=pg.port, user=user, password=PASSWORD, dbname=database, application_name=app
        )

    apis = [client(api, "api-web") for _ in range(2)]
    for conn in apis:
        conn.execute("SELECT 1")
        conn.commit()
    held = client(worker, "billing-worker")
    held.execute("UPDATE jobs SET state = 'running' WHERE id = 42")
    try:
        yield Scene(pg, api, worker, monitor, database)
    finally:
        for conn in [*apis, held]:
            conn.close()


def observe(url: str, *args: str, env: dict[str, str] | None = None) -> Any:
    return run_pool_doctor("observe", "--url", url, "--for", "4.5s", "--every", "0.5s", *args, secret=PASSWORD, env=env)


def test_observe_forecasts_names_the_holder_and_reports_the_deaths(scene: Scene) -> None:
    run = observe(scene.pg.url(scene.monitor, PASSWORD, scene.database), "--json")
    assert run.code == 1, run.stderr
    report = run.json()
    jsonschema.validate(report, schema())
    assert report["sees_all_sessions"] is True and report["limitations"] == []
    groups = {g["role"]: g for g in report["groups"] if g["role"] in (scene.api, scene.worker)}
    assert set(groups) == {scene.api, scene.worker}
    api, worker = groups[scene.api], groups[scene.worker]
    assert api["application"] == "api-web" and api["client"] == "127.0.0.1" and api["database"] == scene.database
    assert api["limits"] == [
        {"name": "idle_session_timeout", "seconds": 3.0, "value": "3s", "source": f"ALTER ROLE {scene.api}"}
    ]
    assert worker["limits"][0]["source"] == f"ALTER ROLE {scene.worker} IN DATABASE {scene.database}"
    # The forecast, with the limit's source.
    (forecast,) = api["forecasts"]
    assert forecast["at_risk"] == 2 and forecast["of"] == 2
    assert f"will be closed by idle_session_timeout = 3s (ALTER ROLE {scene.api})" in forecast["text"]
    # The idle transaction's holder and its statement, literals masked.
    (holder,) = worker["idle_in_transaction"]
    assert holder["statement"] == "UPDATE jobs SET state = ? WHERE id = ?"
    # Every one of them died within the window, each by its own limit.
    causes = sorted((d["role"], d["cause"]["name"] if d["cause"] else None) for d in report["deaths"])
    assert causes == sorted(
        [(scene.api, "idle_session_timeout")] * 2 + [(scene.worker, "idle_in_transaction_session_timeout")]
    )
    for death in api["deaths"]:
        assert death["age_seen_seconds"] <= 3.0 + 0.1 and death["age_by_seconds"] >= 3.0 - 0.1
    # Each FATAL counted by the server (14+): at least ours in this database, which no other test uses.
    assert report["session_counters"]["by_database"][scene.database]["sessions_fatal"] == 3


def test_observe_table_on_a_pipe_is_the_final_report(scene: Scene) -> None:
    run = observe(scene.pg.url(scene.monitor, PASSWORD, scene.database), env={"COLUMNS": "80"})
    assert run.code == 1, run.stderr
    assert "forecast: 2 of role" in run.stdout
    assert "last statement: UPDATE jobs SET state = ? WHERE id = ?" in " ".join(run.stdout.split())
    assert "sessions_fatal +" in run.stdout
    assert max(len(line) for line in run.stdout.splitlines()) <= 80


def test_without_pg_monitor_it_says_what_it_cannot_see(scene: Scene) -> None:
    run = observe(scene.pg.url(scene.api, PASSWORD, scene.database), "--json")
    report = run.json()
    assert report["sees_all_sessions"] is False
    (line,) = [x for x in report["limitations"] if "pg_monitor" in x]
    assert f"{scene.api} has neither pg_monitor nor pg_read_all_stats" in line
    assert scene.worker in line  # the hidden session's role is named
    assert f"GRANT pg_monitor TO {scene.api}" in line
    # The worker's session is listed by role, database and application only: no holder, forecast or death
    # (the same scene seen with pg_monitor has all three).
    worker = next(g for g in report["groups"] if g["role"] == scene.worker)
    assert worker["client"] == "?" and worker["application"] == "billing-worker"
    assert worker["idle_in_transaction"] == [] and worker["forecasts"] == [] and worker["deaths"] == []
    # Its own role's other sessions it does see (its own backend is left out).
    api = next(g for g in report["groups"] if g["role"] == scene.api)
    assert api["forecasts"] and api["limits"][0]["source"] == f"ALTER ROLE {scene.api}"
    assert run.code == 1


def test_nothing_foreseen_exits_0(pg: LocalPostgres, unique_name: str) -> None:
    role = f"{unique_name}_calm"
    pg.create_role(role, PASSWORD)
    with psycopg.connect(host=pg.host, port=pg.port, user=role, password=PASSWORD, dbname="postgres") as conn:
        conn.execute("SELECT 1")
        run = run_pool_doctor(
            "observe",
            "--url",
            pg.url(role, PASSWORD),
            "--for",
            "1s",
            "--every",
            "0.5s",
            "-f",
            "markdown",
            secret=PASSWORD,
        )
    assert run.code == 0, run.stderr
    assert run.stdout.startswith("### pool-doctor observe:")
    assert "| group | sessions |" in run.stdout


@pytest.mark.parametrize("args", [["--for", "soon"], ["--every", "0s"], ["--for", "2d"]])
def test_bad_durations_are_usage_errors(args: list[str]) -> None:
    run = run_pool_doctor("observe", "--url", "postgresql://u@127.0.0.1:1/d", *args, secret=PASSWORD)
    assert run.code == 2 and run.stderr.startswith("pool-doctor: error: --")


def test_unreachable_server_exits_3() -> None:
    run = run_pool_doctor(
        "observe", "--url", f"postgresql://u:{PASSWORD}@127.0.0.1:1/d", "--timeout", "2", secret=PASSWORD
    )
    assert run.code == 3 and "***" in run.stderr


# -- pure parts ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("UPDATE t SET a = 'x''y', b = 42 WHERE id = $1", "UPDATE t SET a = ?, b = ? WHERE id = $1"),
        ("SELECT $tag$secret$tag$, E'\\n', -3.5e2 FROM t2", "SELECT ?, ?, ? FROM t2"),
        ("INSERT INTO t VALUES ('cut off by left(query, 300", "INSERT INTO t VALUES (?"),
        ("SELECT col1\n  FROM   t", "SELECT col1 FROM t"),
        ("<insufficient privilege>", "<insufficient privilege>"),
    ],
)
def test_statements_are_shown_without_values(text: str, shown: str) -> None:
    assert masked_statement(text) == shown


def limits_data(role_settings: list[dict[str, Any]], connected_as: str = "dba") -> dict[str, Any]:
    return {
        "version": "18.0",
        "version_num": 180000,
        "database": "appdb",
        "connected_as": connected_as,
        "superuser": False,
        "read_all_stats": True,
        "settings": [
            {"name": "idle_session_timeout", "setting": "0", "unit": "ms", "source": "default", "boot_val": "0"},
            {
                "name": "idle_in_transaction_session_timeout",
                "setting": "60000",
                "unit": "ms",
                "source": "configuration file",
                "sourcefile": "/data/postgresql.conf",
                "sourceline": 7,
                "boot_val": "0",
            },
        ],
        "role_settings": role_settings,
        "role_connlimits": {},
        "database_connlimits": {},
    }


def test_limits_resolve_in_postgresql_order() -> None:
    data = limits_data(
        [
            {"role": None, "database": None, "config": ["idle_session_timeout=10min"]},
            {"role": None, "database": "appdb", "config": ["idle_session_timeout=5min"]},
            {"role": "api", "database": None, "config": ["idle_session_timeout=20s"]},
            {"role": "api", "database": "appdb", "config": ["idle_in_transaction_session_timeout=10s"]},
            {"role": "api", "database": "other", "config": ["idle_session_timeout=1s"]},
        ]
    )
    limits = GroupLimits(data)
    shown = {x.name: (x.value, x.source) for x in limits.for_group("api", "appdb")[0]}
    assert shown == {
        "idle_session_timeout": ("20s", "ALTER ROLE api"),
        "idle_in_transaction_session_timeout": ("10s", "ALTER ROLE api IN DATABASE appdb"),
    }
    assert {x.name: (x.value, x.source) for x in limits.for_group("batch", "appdb")[0]} == {
        "idle_session_timeout": ("5min", "ALTER DATABASE appdb"),
        "idle_in_transaction_session_timeout": ("1min", "postgresql.conf:7"),
    }
    assert limits.for_group("batch", "postgres")[0][0].source == "ALTER ROLE ALL"


def seen(pid: int, state: str, age: float, user: str = "api") -> Seen:
    return Seen(pid, 1000.0 + pid, GroupKey(user, "appdb", "web", "10.0.0.5"), state, age, None, None)


def test_forecast_then_death_from_samples() -> None:
    limits = GroupLimits(limits_data([{"role": "api", "database": None, "config": ["idle_session_timeout=20s"]}]))
    observation = Observation(limits, window=10, target="t")
    observation.add(Sample(0.0, (seen(1, "idle", 12), seen(2, "idle", 1), seen(3, "active", 0)), None, 1.0))
    observation.add(Sample(9.0, (seen(2, "idle", 10), seen(3, "idle", 0.5)), None, 1.0))
    report = observation.report()
    (forecast,) = report.forecasts
    assert (forecast.at_risk, forecast.of, round(forecast.within)) == (2, 2, 19)
    assert forecast.text() == (
        "2 of role api's 2 idle connections (web) will be closed by idle_session_timeout = 20s (ALTER ROLE api) "
        "within 19 s"
    )
    (death,) = report.deaths
    assert (death.pid, death.age_seen, death.age_by, death.cause and death.cause.name) == (
        1,
        12,
        21,
        "idle_session_timeout",
    )
    assert report.alarming and report.session_counters is None


def test_a_death_no_limit_explains_has_no_cause() -> None:
    limits = GroupLimits(limits_data([{"role": "api", "database": None, "config": ["idle_session_timeout=10min"]}]))
    observation = Observation(limits, window=10, target="t")
    observation.add(Sample(0.0, (seen(1, "idle", 3),), None, 1.0))  # 10 min away: beyond the 60 s horizon
    observation.add(Sample(1.0, (), None, 1.0))
    report = observation.report()
    (death,) = report.deaths
    assert death.cause is None and "no limit fits" in death.text()
    assert not report.alarming  # reported, but a client closing its own connection is not exit 1


def test_behind_pgbouncer_the_console_gives_the_poolers_side(
    pg: LocalPostgres, make_pgbouncer: Any, unique_name: str
) -> None:
    role = f"{unique_name}_pooled"
    pg.create_role(role, PASSWORD, settings={"idle_session_timeout": "30s"})
    bouncer = make_pgbouncer(pg, users={role: PASSWORD})
    with psycopg.connect(
        host=bouncer.host, port=bouncer.port, user=role, password=PASSWORD, dbname="postgres", application_name="x"
    ) as conn:
        conn.execute("SELECT 1")
        conn.commit()
        run = run_pool_doctor(
            "observe", "--url", pg.url(), "--for", "0.5s", "--every", "0.5s", "--json",
            "--pgbouncer-admin-url", bouncer.url("postgres", database="pgbouncer"),
            secret=PASSWORD,
        )  # fmt: skip
    report = run.json()
    jsonschema.validate(report, schema())
    pooler = report["pooler"]
    assert pooler["error"] is None and pooler["console"].endswith("/pgbouncer")
    assert [c["user"] for c in pooler["clients"] if c["user"] == role] == [role]
    assert any(s["user"] == role for s in pooler["servers"])
    # The server's side of the same connection: PgBouncer's backend, in the role's group, with its limit.
    group = next(g for g in report["groups"] if g["role"] == role)
    assert group["limits"][0]["source"] == f"ALTER ROLE {role}" and run.code == 1


def test_its_own_session_outlives_its_roles_idle_limit(pg: LocalPostgres, unique_name: str) -> None:
    """Sampling less often than the observing role's idle_session_timeout: observe's own session is exempt."""
    role = f"{unique_name}_short"
    pg.create_role(role, PASSWORD, settings={"idle_session_timeout": "1s"})
    run = run_pool_doctor(
        "observe", "--url", pg.url(role, PASSWORD), "--for", "1.5s", "--every", "1.5s", "--json", secret=PASSWORD
    )
    assert run.code in (0, 1), run.stderr
    assert run.json()["samples"] == 2


class StepClock:
    """The seam: time moves only when observe sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def test_the_window_is_cut_into_samples_by_the_clock(pg: LocalPostgres) -> None:
    import asyncio

    from pool_doctor.connection.spec import resolve_connection
    from pool_doctor.observe.sampler import ObserveOptions
    from pool_doctor.observe.sampler import observe as observe_server

    clock = StepClock()
    seen: list[int] = []
    spec = resolve_connection(pg.url(), {})
    report = asyncio.run(
        observe_server(spec, ObserveOptions(window=30, every=10), lambda r: seen.append(r.samples), clock=clock)
    )
    assert clock.slept == [10.0, 10.0, 10.0] and seen == [1, 2, 3, 4] and report.samples == 4
    assert report.final and report.version_num >= 140000 and report.session_counters is not None


def test_on_a_terminal_the_table_is_live(pg: LocalPostgres, unique_name: str) -> None:
    """A real terminal (a pty): rich's Live redraws the table after each sample, then the final report stays."""
    import os
    import pty
    import subprocess

    from cli_runner import clean_environment, command

    role = f"{unique_name}_tty"
    pg.create_role(role, PASSWORD, settings={"idle_session_timeout": "30s"})
    url = pg.url(role, PASSWORD)
    idle = psycopg.connect(host=pg.host, port=pg.port, user=role, password=PASSWORD, dbname="postgres")
    idle.execute("SELECT 1")
    idle.commit()
    controller, terminal = pty.openpty()
    env = clean_environment({"COLUMNS": "80", "TERM": "xterm"})
    env.pop("NO_COLOR", None)
    with subprocess.Popen(
        [*command(), "observe", "--url", url, "--for", "1.5s", "--every", "0.5s"],
        stdout=terminal,
        stderr=subprocess.PIPE,
        env=env,
    ) as proc:
        os.close(terminal)
        chunks = []
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        proc.wait(timeout=60)
    os.close(controller)
    idle.close()
    shown = b"".join(chunks).decode()
    assert proc.returncode == 1, proc.stderr  # the idle connection's forecast (30 s: it cannot die meanwhile)
    assert "\x1b[?25l" in shown  # Live hides the cursor while it redraws
    assert shown.count("group (app") >= 3  # frames, then the final report
    assert "sampling query: median" in shown and PASSWORD not in shown
