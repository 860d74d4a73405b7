"""`pool-doctor check` end to end: the command (in process, through main(argv)) against real servers (every major).

Each test makes its own role and database on the session's shared server (`pg`), so tests never see each
other's settings; server-level settings live on one dedicated server per major (`tuned`).
"""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from cli_runner import Run, run_pool_doctor
from harness import LocalPostgres

from pool_doctor.inspect.server import facts_from_row

PASSWORD = "s3cr3t-Pw!"  # distinctive, so a leak is found by a plain substring search


def pool_doctor(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 60) -> Run:
    return run_pool_doctor(*args, secret=PASSWORD, env=env, cwd=cwd, timeout=timeout)


def one_error_line(run: Run) -> str:
    lines = run.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("pool-doctor: error: "), run.stderr
    return lines[0]


@dataclass(frozen=True)
class App:
    """A login role and a database it owns, on one server."""

    server: LocalPostgres
    role: str
    database: str

    def url(self, driver: str | None = "asyncpg") -> str:
        return self.server.url(self.role, PASSWORD, self.database, driver=driver)

    def admin_url(self) -> str:
        return self.server.url("postgres", None, self.database)

    def alter(self, setting: str, value: str, *, in_database: bool = True) -> None:
        scope = f" IN DATABASE {self.database}" if in_database else ""
        self.server.sql(f"ALTER ROLE {self.role}{scope} SET {setting} = '{value}'")


def make_app(server: LocalPostgres, name: str, **role_options: Any) -> App:
    server.create_role(name, PASSWORD, **role_options)
    server.create_database(f"{name}_db", owner=name)
    return App(server, name, f"{name}_db")


@pytest.fixture
def app(pg: LocalPostgres, unique_name: str) -> App:
    return make_app(pg, unique_name)


@pytest.fixture(scope="module")
def tuned(pg: LocalPostgres) -> Iterator[LocalPostgres]:
    """A dedicated server of pg's major with server-level settings the shared one must not carry."""
    settings = {
        "idle_session_timeout": "50s",  # the server level of the precedence chain
        "max_connections": "10",  # 10 - 3 reserved: the default pool (15) does not fit
        "log_connections": "on",  # to count check's connections and statements
        "log_statement": "all",
        "log_disconnections": "on",  # a session's last line: its log is complete once this is written
    }
    with LocalPostgres(pg.bindir, settings=settings) as server:
        yield server


def wait_until(condition: Callable[[], bool], failure: str, seconds: float = 10.0) -> None:
    """A condition the server reaches a moment later (a reload, a log line), awaited instead of slept for."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, failure
        time.sleep(0.02)


# -- the incident --------------------------------------------------------------------------------


def test_incident_exits_1_naming_setting_value_and_where_it_was_set(app: App, tmp_path: Path) -> None:
    app.alter("idle_session_timeout", "5s")
    run = pool_doctor("check", "--json", "--url", app.url(), cwd=tmp_path)
    assert run.code == 1, run.stderr
    assert run.stderr == ""
    finding = run.finding("idle-session-timeout")
    assert finding["severity"] == "critical"
    assert f"idle_session_timeout = 5s, set by ALTER ROLE {app.role} IN DATABASE {app.database}" in finding["detail"]
    assert app.role in finding["title"]
    setting = run.json()["server"]["settings"]["idle_session_timeout"]
    assert (setting["value"], setting["source"]) == ("5s", f"ALTER ROLE {app.role} IN DATABASE {app.database}")


def test_incident_table_output_for_people(app: App, tmp_path: Path) -> None:
    """The incident at 80 columns (the width of CI logs and pipes): 40 lines at most, nothing wider, each
    finding's severity and code whole on one line of the table, the prose below it, the source in words."""
    app.alter("idle_session_timeout", "5min")
    run = pool_doctor("check", "--url", app.url(), "--network-idle-timeout", "350", cwd=tmp_path, env={"COLUMNS": "80"})
    assert run.code == 1
    lines = run.stdout.splitlines()
    assert len(lines) <= 40, run.stdout
    assert max(len(line) for line in lines) <= 80, run.stdout
    assert "\x1b[" not in run.stdout  # NO_COLOR honoured
    text = " ".join(run.stdout.split())
    assert f"judged as role {app.role} in database {app.database}" in text
    for severity, code, fact in (
        ("critical", "network-idle-timeout", "idle_timeout = 350s"),
        ("critical", "idle-session-timeout", "idle_session_timeout = 5min"),
        ("warning", "keepalives-too-slow", "tcp_keepalives_idle = 2h"),
    ):
        assert any(re.fullmatch(rf"{severity}\s+{code}\s+{re.escape(fact)}\s*", line) for line in lines), run.stdout
    assert f"set by ALTER ROLE {app.role} IN DATABASE {app.database}" in text  # where it was set, in the prose
    assert "ConnectionDoesNotExistError" in text and "InterfaceError" in text
    assert "Summary: 2 critical, 1 warning, 1 info" in text
    assert ":***@" in text
    # Only the facts behind the findings; --verbose shows every setting read, with where it was set.
    assert "lock_timeout" not in text
    verbose = pool_doctor(
        "check", "--verbose", "--url", app.url(), "--network-idle-timeout", "350", cwd=tmp_path, env={"COLUMNS": "80"}
    )
    assert verbose.code == 1
    assert max(len(line) for line in verbose.stdout.splitlines()) <= 80
    rows = {line.split()[0]: line for line in verbose.stdout.splitlines() if line.strip()}
    assert "lock_timeout" in rows and rows["idle_session_timeout"].split()[1] == "5min"


def test_markdown_report_for_a_ci_summary(app: App, tmp_path: Path) -> None:
    app.alter("idle_session_timeout", "5min")
    run = pool_doctor("check", "--format", "markdown", "--url", app.url(), cwd=tmp_path)
    assert run.code == 1
    lines = run.stdout.splitlines()
    assert lines[0] == "## pool-doctor check: 1 critical, 0 warning, 1 info"
    header = lines.index("| severity | code | finding | fact |")
    assert lines[header + 1] == "|---|---|---|---|"
    assert lines[header + 2].startswith("| critical | `idle-session-timeout` | ")
    assert "### Recommended settings" in lines and any(line.startswith("| `pool_recycle` | `270` |") for line in lines)
    assert "\x1b[" not in run.stdout and ":***@" in run.stdout


@pytest.mark.parametrize("how", ["flags", "config-file", "environment"])
def test_pre_ping_and_recycle_clear_the_incident(app: App, tmp_path: Path, how: str) -> None:
    app.alter("idle_session_timeout", "5s")
    args, env = ["check", "--json", "--url", app.url()], {}
    if how == "flags":
        args += ["--pool-pre-ping", "--pool-recycle", "3"]
    elif how == "config-file":
        (tmp_path / "app.toml").write_text("[pool]\npool_pre_ping = true\npool_recycle = 3\n")
        args += ["--config", str(tmp_path / "app.toml")]
    else:
        env = {"POOL_DOCTOR_POOL__POOL_PRE_PING": "true", "POOL_DOCTOR_POOL__POOL_RECYCLE": "3"}
    run = pool_doctor(*args, env=env, cwd=tmp_path)
    assert run.code == 0, run.stdout
    assert "critical" not in run.findings().values()
    assert run.json()["pool"]["pool_recycle"] == 3 and run.json()["pool"]["pool_pre_ping"] is True


def test_role_flag_judges_the_app_role_while_connected_as_admin(app: App, tmp_path: Path) -> None:
    app.alter("idle_session_timeout", "5s")
    run = pool_doctor("check", "--json", "--url", app.admin_url(), "--role", app.role, cwd=tmp_path)
    assert run.code == 1
    document = run.json()
    assert (document["server"]["connected_as"], document["role"]) == ("postgres", app.role)
    assert f"set by ALTER ROLE {app.role} IN DATABASE {app.database}" in run.finding("idle-session-timeout")["detail"]

    missing = pool_doctor("check", "--url", app.admin_url(), "--role", "no_such_role_x", cwd=tmp_path)
    assert missing.code == 2
    assert "role 'no_such_role_x' does not exist" in one_error_line(missing)


def test_role_flag_sees_the_server_value_an_admins_own_override_hides(pg: LocalPostgres, tmp_path: Path) -> None:
    """Connected as an admin whose role has its own idle_session_timeout, pg_settings shows the admin's value;
    the judged role gets the server's, from ALTER SYSTEM here: the superuser reads it from the files."""
    with LocalPostgres(pg.bindir) as server:
        server.sql("ALTER SYSTEM SET idle_session_timeout = '90s'")
        server.sql("SELECT pg_reload_conf()")
        wait_until(lambda: server.sql("SHOW idle_session_timeout") == [("90s",)], "the reload did not apply")
        server.create_role("admin2", PASSWORD, superuser=True)
        server.sql("ALTER ROLE admin2 SET idle_session_timeout = '5s'")
        server.create_role("viewer", PASSWORD)
        server.sql("ALTER ROLE viewer SET idle_session_timeout = '5s'")
        member = make_app(server, "member")

        run = pool_doctor(
            "check", "--json", "--url", server.url("admin2", PASSWORD, member.database), "--role", "member"
        )
        assert run.code == 1, run.stdout + run.stderr
        setting = run.json()["server"]["settings"]["idle_session_timeout"]
        assert (setting["seconds"], setting["source"].split(":")[0]) == (90, "postgresql.auto.conf"), setting
        assert run.finding("idle-session-timeout")["severity"] == "critical"
        notes = [line for line in run.json()["server"]["limitations"] if line.startswith("idle_session_timeout:")]
        assert len(notes) == 1 and "read from postgresql.auto.conf" in notes[0] and "changed" not in notes[0], notes
        direct = pool_doctor("check", "--json", "--url", member.url())
        assert direct.json()["server"]["settings"]["idle_session_timeout"]["seconds"] == 90

        # Written but not reloaded: the files no longer say what the server runs, and the report says so.
        # A file's time has whole seconds: the write must come in a later second than the reload.
        loaded = float(server.sql("SELECT extract(epoch FROM pg_conf_load_time())")[0][0])
        wait_until(lambda: time.time() >= int(loaded) + 1.05, "the clock did not pass the reload's second")
        server.sql("ALTER SYSTEM SET idle_session_timeout = '120s'")
        stale = pool_doctor(
            "check", "--json", "--url", server.url("admin2", PASSWORD, member.database), "--role", "member"
        )
        assert any("may not be in effect yet" in line for line in stale.json()["server"]["limitations"])

        # A non-superuser cannot read the files: the report says what it could not see, and how to see it.
        hidden = pool_doctor(
            "check", "--json", "--url", server.url("viewer", PASSWORD, member.database), "--role", "member"
        )
        limitations = hidden.json()["server"]["limitations"]
        assert any(
            line.startswith("idle_session_timeout: viewer has its own override") and "connect as member" in line
            for line in limitations
        ), limitations


def test_without_role_flag_the_role_judged_is_the_one_the_session_got(app: App, tmp_path: Path) -> None:
    """A service file names the user, not the URL: the judged role is the server's current_user."""
    app.alter("idle_session_timeout", "5s")
    services = tmp_path / "pg_service.conf"
    services.write_text(
        f"[appsvc]\nhost=127.0.0.1\nport={app.server.port}\ndbname={app.database}\nuser={app.role}\n"
        f"password={PASSWORD}\n"
    )
    run = pool_doctor(
        "check", "--json", "--url", "postgresql+psycopg:///?service=appsvc", env={"PGSERVICEFILE": str(services)}
    )
    assert run.code == 1, run.stderr
    assert (run.json()["role"], run.json()["server"]["connected_as"]) == (app.role, app.role)
    assert run.finding("idle-session-timeout")["severity"] == "critical"


def test_a_login_role_that_sets_role_is_judged_as_the_login_role(pg: LocalPostgres, unique_name: str) -> None:
    """ALTER ROLE login SET role = owner: the login role's settings and limits apply (session_user), not the
    role its privileges run as (current_user)."""
    login, owner = f"{unique_name}_login", f"{unique_name}_owner"
    pg.create_role(owner, PASSWORD, login=False, connlimit=1)
    pg.create_role(login, PASSWORD, settings={"idle_session_timeout": "5s", "role": owner})
    pg.sql(f"GRANT {owner} TO {login}")
    run = pool_doctor("check", "--json", "--url", pg.url(login, PASSWORD, "postgres"))
    assert run.code == 1, run.stderr
    document = run.json()
    assert (document["role"], document["server"]["connected_as"]) == (login, login)
    assert document["server"]["slots"]["role_connlimit"] is None
    assert f"ALTER ROLE {login}" in run.finding("idle-session-timeout")["detail"]


# -- what the server says -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "database", "seconds", "source"),
    [
        ("r1", "d1", 20, "ALTER ROLE {r1} IN DATABASE {d1}"),
        ("r1", "d2", 30, "ALTER ROLE {r1}"),
        ("r2", "d1", 40, "ALTER DATABASE {d1}"),
        ("r2", "d2", 50, "server command line"),
    ],
    ids=["role+database", "role", "database", "server"],
)
def test_precedence_role_database_then_role_then_database_then_server(
    tuned: LocalPostgres, unique_name: str, tmp_path: Path, role: str, database: str, seconds: int, source: str
) -> None:
    names = {"r1": f"{unique_name}_r1", "r2": f"{unique_name}_r2", "d1": f"{unique_name}_d1", "d2": f"{unique_name}_d2"}
    for key in ("r1", "r2"):
        tuned.create_role(names[key], PASSWORD)
    for key in ("d1", "d2"):
        tuned.create_database(names[key])  # PUBLIC may connect to a new database
    tuned.sql(f"ALTER DATABASE {names['d1']} SET idle_session_timeout = '40s'")
    tuned.sql(f"ALTER ROLE {names['r1']} SET idle_session_timeout = '30s'")
    tuned.sql(f"ALTER ROLE {names['r1']} IN DATABASE {names['d1']} SET idle_session_timeout = '20s'")

    as_role = pool_doctor("check", "--json", "--url", tuned.url(names[role], PASSWORD, names[database]), cwd=tmp_path)
    as_admin = pool_doctor(
        "check", "--json", "--url", tuned.url("postgres", None, names[database]), "--role", names[role], cwd=tmp_path
    )
    for run in (as_role, as_admin):
        setting = run.json()["server"]["settings"]["idle_session_timeout"]
        assert (setting["seconds"], setting["source"]) == (seconds, source.format(**names)), run.stdout
        assert run.finding("idle-session-timeout")["severity"] == "critical"


def test_settings_a_version_lacks_are_reported_absent(pg: LocalPostgres, app: App, tmp_path: Path) -> None:
    run = pool_doctor("check", "--json", "--url", app.url(), cwd=tmp_path)
    assert run.code == 0, run.stderr
    server = run.json()["server"]
    assert server["version_num"] // 10000 == pg.major
    settings = server["settings"]
    assert settings["reserved_connections"]["present"] is (pg.major >= 16)
    assert settings["transaction_timeout"]["present"] is (pg.major >= 17)
    assert settings["idle_session_timeout"]["present"] is True
    assert server["slots"]["reserved_connections"] == 0
    if pg.major < 17:
        table = pool_doctor("check", "--verbose", "--url", app.url(), cwd=tmp_path)
        assert re.search(r"transaction_timeout\s+absent\s+not in this version", table.stdout), table.stdout


def test_non_superuser_gets_a_report_saying_what_it_could_not_see(app: App, tmp_path: Path) -> None:
    # Another role's session is open, so its state is hidden from the app role (no pg_read_all_stats).
    with psycopg.connect(app.admin_url(), autocommit=True):
        as_json = pool_doctor("check", "--json", "--url", app.url(), cwd=tmp_path)
        as_table = pool_doctor("check", "--url", app.url(), cwd=tmp_path)
    assert as_json.code == 0 and as_table.code == 0
    server = as_json.json()["server"]
    assert server["superuser"] is False
    assert any(f"hidden from {app.role}" in line for line in server["limitations"]), server["limitations"]
    assert server["activity"]["hidden"] >= 1
    assert "Could not see:" in as_table.stdout and "pg_read_all_stats" in as_table.stdout


def test_json_is_one_document_with_the_target_masked(app: App, tmp_path: Path) -> None:
    run = pool_doctor("check", "--json", "--url", app.url(), cwd=tmp_path)
    document = run.json()
    server = app.server
    assert document["target"] == f"postgresql+asyncpg://{app.role}:***@127.0.0.1:{server.port}/{app.database}"
    assert {"target", "server", "pool", "findings"} <= set(document)
    assert {"version", "settings"} <= set(document["server"])
    for finding in document["findings"]:
        assert {"code", "severity", "title", "detail"} <= set(finding)
    assert run.stderr == ""


# -- exit codes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "pool", "fail_on", "code"),
    [
        ({"idle_session_timeout": "5s"}, [], "critical", 1),
        ({"idle_session_timeout": "5s"}, [], "never", 0),
        ({"idle_in_transaction_session_timeout": "1min"}, ["--pool-pre-ping"], "critical", 0),
        ({"idle_in_transaction_session_timeout": "1min"}, ["--pool-pre-ping"], "warning", 1),
        ({"statement_timeout": "30s"}, ["--pool-pre-ping"], "warning", 0),
        ({"statement_timeout": "30s"}, ["--pool-pre-ping"], "info", 1),
    ],
    ids=[
        "critical-at-critical",
        "critical-at-never",
        "warning-at-critical",
        "warning-at-warning",
        "info-at-warning",
        "info-at-info",
    ],
)
def test_fail_on_levels(
    app: App, tmp_path: Path, settings: dict[str, str], pool: list[str], fail_on: str, code: int
) -> None:
    for name, value in settings.items():
        app.alter(name, value)
    run = pool_doctor("check", "--json", "--url", app.url(), "--fail-on", fail_on, *pool, cwd=tmp_path)
    assert run.code == code, run.stdout
    json.loads(run.stdout)


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://app:{PASSWORD}@db.internal:notaport/appdb",
        f"mysql://app:{PASSWORD}@db.internal/appdb",
        f"postgresql+odbc://app:{PASSWORD}@db.internal/appdb",
        "db.internal:5432/appdb",
        f"postgresql://app:{PASSWORD}@db.internal:99999/appdb",
    ],
    ids=["port-not-a-number", "not-postgres", "unknown-driver", "no-scheme", "port-out-of-range"],
)
def test_malformed_url_exits_2_with_one_line(url: str, tmp_path: Path) -> None:
    run = pool_doctor("check", "--json", "--url", url, cwd=tmp_path)
    assert run.code == 2
    assert run.stdout == ""  # --json: stdout is data, and there is none
    one_error_line(run)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_closed_port_exits_3_within_timeout(tmp_path: Path) -> None:
    run = pool_doctor(
        "check", "--url", f"postgresql://app:{PASSWORD}@127.0.0.1:{_free_port()}/appdb", "--timeout", "2", cwd=tmp_path
    )
    assert run.code == 3
    assert "cannot connect to postgresql://app:***@127.0.0.1" in one_error_line(run)
    assert run.seconds < 2 + 3  # refused at once; the slack is interpreter start-up


def test_silent_listener_exits_3_within_timeout(tmp_path: Path) -> None:
    # The kernel completes the handshake from the backlog, then nothing ever answers: the blackhole case.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        run = pool_doctor(
            "check", "--url", f"postgresql://app:{PASSWORD}@127.0.0.1:{port}/appdb", "--timeout", "1", cwd=tmp_path
        )
    assert run.code == 3
    assert "timed out after 1s" in one_error_line(run)
    assert run.seconds < 1 + 3  # --timeout, and start-up


@pytest.mark.parametrize("driver", ["asyncpg", "psycopg", "psycopg2"])
def test_connect_is_bounded_by_the_timeout_itself_below_libpqs_two_seconds(driver: str) -> None:
    """libpq waits at least 2 s (connect_timeout); "timed out after 0.3s" must be true of every driver."""
    import asyncio
    import importlib

    from pool_doctor.connection.drivers import driver_for
    from pool_doctor.connection.spec import parse_connection
    from pool_doctor.errors import ConnectError

    importlib.import_module(driver)  # its import is not the connect step
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        spec = parse_connection(f"postgresql+{driver}://app:pw@127.0.0.1:{silent.getsockname()[1]}/appdb")

        async def open_timed() -> float:
            started = time.monotonic()  # inside the loop: its start-up is not the connect step
            with pytest.raises(ConnectError, match=r"timed out after 0\.3s connecting"):
                await driver_for(spec).open(spec, 0.3)
            return time.monotonic() - started

        # The old bound (--timeout + 1) took 1.3 s; libpq's own 2 s.
        assert asyncio.run(open_timed()) < 0.3 + 0.7


def test_wrong_password_exits_3_without_echoing_it(app: App, tmp_path: Path) -> None:
    url = app.server.url(app.role, PASSWORD + "x", app.database)
    run = pool_doctor("check", "--url", url, cwd=tmp_path)
    assert run.code == 3
    line = one_error_line(run)
    assert "password authentication failed" in line and PASSWORD + "x" not in line


# -- budget and network on servers set up for them ---------------------------------------------------


def test_budget_critical_when_pools_outgrow_max_connections(
    tuned: LocalPostgres, unique_name: str, tmp_path: Path
) -> None:
    app = make_app(tuned, unique_name)
    run = pool_doctor("check", "--json", "--url", app.url(), "--pool-pre-ping", "--pool-recycle", "40", cwd=tmp_path)
    assert run.code == 1
    finding = run.finding("budget-slots")
    assert finding["severity"] == "critical"
    assert any("max_connections 10 - reserved 3" in line for line in finding["evidence"])

    fits = pool_doctor(
        "check",
        "--json",
        "--url",
        app.url(),
        "--pool-pre-ping",
        "--pool-recycle",
        "40",
        "--pool-size",
        "3",
        "--max-overflow",
        "0",
        cwd=tmp_path,
    )
    assert not any(code.startswith("budget") for code in fits.findings())


def test_budget_against_role_and_database_connection_limits(
    pg: LocalPostgres, unique_name: str, tmp_path: Path
) -> None:
    pg.create_role(unique_name, PASSWORD, connlimit=10)
    pg.create_database(f"{unique_name}_db", owner=unique_name, connlimit=17)
    run = pool_doctor(
        "check", "--json", "--url", pg.url(unique_name, PASSWORD, f"{unique_name}_db"), "--pool-pre-ping", cwd=tmp_path
    )
    assert run.code == 1
    assert run.findings() == {
        "budget-role-connlimit": "critical",
        "budget-database-connlimit-tight": "warning",
        "no-hang-bound": "info",
    }
    assert run.json()["server"]["slots"]["role_connlimit"] == 10


def test_network_idle_timeout_and_server_keepalives(app: App, tmp_path: Path) -> None:
    run = pool_doctor("check", "--json", "--url", app.url(), "--network-idle-timeout", "350", cwd=tmp_path)
    assert run.code == 1
    assert run.findings() == {
        "network-idle-timeout": "critical",
        "keepalives-too-slow": "warning",
        "no-hang-bound": "info",
    }

    app.alter("tcp_keepalives_idle", "60", in_database=False)
    fixed = pool_doctor(
        "check", "--json", "--url", app.url(), "--network-idle-timeout", "350", "--pool-recycle", "300", cwd=tmp_path
    )
    assert fixed.code == 0
    assert fixed.findings() == {"no-hang-bound": "info"}
    setting = fixed.json()["server"]["settings"]["tcp_keepalives_idle"]
    with psycopg.connect(app.url(driver=None)) as conn:  # as SHOW prints it to the app's role over TCP
        shown = conn.execute("SHOW tcp_keepalives_idle").fetchone()
    assert shown is not None and shown[0] == "60"  # its SHOW hook prints bare seconds
    assert (setting["value"], setting["seconds"], setting["unit"], setting["source"]) == (
        "60",
        60,
        "s",
        f"ALTER ROLE {app.role}",
    )


def test_a_setting_has_one_shape_whatever_set_it(tuned: LocalPostgres, unique_name: str, tmp_path: Path) -> None:
    """lock_timeout written as 90000 (ms) in a config file and as '90s' by ALTER ROLE reads the same: the
    value as SHOW prints it, seconds, the unit, and where it was set."""
    by_file, by_role = make_app(tuned, f"{unique_name}_f"), make_app(tuned, f"{unique_name}_r")
    tuned.sql("ALTER SYSTEM SET lock_timeout = 90000")  # postgresql.auto.conf
    tuned.sql("SELECT pg_reload_conf()")
    try:
        by_role.alter("lock_timeout", "90s", in_database=False)
        wait_until(lambda: tuned.sql("SHOW lock_timeout")[0][0] == "90s", "the reload never reached new backends")
        seen = {}
        for app in (by_file, by_role):
            run = pool_doctor("check", "--json", "--url", app.url(), "--pool-pre-ping", cwd=tmp_path)
            assert run.code in (0, 1), run.stderr
            seen[app.role] = run.json()["server"]["settings"]["lock_timeout"]
            with psycopg.connect(app.url(driver=None)) as conn:
                shown = conn.execute("SHOW lock_timeout").fetchone()
            assert shown is not None and seen[app.role]["value"] == shown[0] == "90s"
    finally:
        tuned.sql("ALTER SYSTEM RESET lock_timeout")
        tuned.sql("SELECT pg_reload_conf()")
    file_setting, role_setting = seen[by_file.role], seen[by_role.role]
    assert file_setting.keys() == role_setting.keys()
    assert {k: v for k, v in file_setting.items() if k != "source"} == {
        k: v for k, v in role_setting.items() if k != "source"
    }
    assert file_setting["seconds"] == 90 and file_setting["unit"] == "ms"
    # The file's name shows to roles that may read pg_settings.sourcefile (superusers, pg_read_all_settings).
    assert file_setting["source"] == "configuration file" or "postgresql.auto.conf" in file_setting["source"]
    assert role_setting["source"] == f"ALTER ROLE {by_role.role}"


# -- where the target comes from --------------------------------------------------------------------


def test_database_url_then_pg_variables(app: App, tmp_path: Path) -> None:
    server = app.server
    by_url = pool_doctor("check", "--json", env={"DATABASE_URL": app.url(driver=None)}, cwd=tmp_path)
    assert by_url.code == 0, by_url.stderr
    assert by_url.json()["target"] == f"postgresql://{app.role}:***@127.0.0.1:{server.port}/{app.database}"

    libpq = {
        "PGHOST": "127.0.0.1",
        "PGPORT": str(server.port),
        "PGUSER": app.role,
        "PGDATABASE": app.database,
        "PGPASSWORD": PASSWORD,
    }
    by_pg = pool_doctor("check", "--json", env=libpq, cwd=tmp_path)
    assert by_pg.code == 0, by_pg.stderr
    assert by_pg.json()["server"]["connected_as"] == app.role

    # --url beats DATABASE_URL, which beats PG*: both of those point at a closed port here.
    closed = f"postgresql://nobody:{PASSWORD}@127.0.0.1:{_free_port()}/nowhere"
    first = pool_doctor("check", "--json", "--url", app.url(), env={"DATABASE_URL": closed, **libpq}, cwd=tmp_path)
    assert first.code == 0, first.stderr
    assert pool_doctor("check", env={"DATABASE_URL": closed, **libpq}, cwd=tmp_path).code == 3


def test_password_from_pgpass(app: App, tmp_path: Path) -> None:
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"127.0.0.1:{app.server.port}:{app.database}:{app.role}:{PASSWORD}\n")
    passfile.chmod(0o600)
    libpq = {
        "PGHOST": "127.0.0.1",
        "PGPORT": str(app.server.port),
        "PGUSER": app.role,
        "PGDATABASE": app.database,
        "PGPASSFILE": str(passfile),
    }
    run = pool_doctor("check", "--json", env=libpq, cwd=tmp_path)
    assert run.code == 0, run.stderr
    where = f"127.0.0.1:{app.server.port}/{app.database}"
    assert run.json()["target"] in (f"postgresql://{app.role}@{where}", f"postgresql://{app.role}:***@{where}")


def test_no_target_at_all_exits_2(tmp_path: Path) -> None:
    run = pool_doctor("check", cwd=tmp_path)
    assert run.code == 2
    assert "no database given" in one_error_line(run)


# -- cost -------------------------------------------------------------------------------------------


def test_check_uses_one_connection_and_at_most_two_queries(
    tuned: LocalPostgres, unique_name: str, tmp_path: Path
) -> None:
    app = make_app(tuned, unique_name)  # a fresh role: its log lines are check's and nobody else's
    run = pool_doctor("check", "--json", "--url", app.url(), cwd=tmp_path)
    assert run.code in (0, 1), run.stderr
    log_path = tuned.log_path
    assert log_path is not None
    # The server writes its log asynchronously to our read. A marker from a session opened after check
    # ended, and a disconnection line for every session check opened, mean its lines are all there.
    marker = f"{unique_name}_log_complete"
    tuned.sql(f"SELECT '{marker}'")

    def complete() -> bool:
        text = log_path.read_text(errors="replace")
        opened = set(re.findall(rf"\[(\d+)\] LOG:  connection authorized: user={app.role} ", text))
        closed = set(re.findall(rf"\[(\d+)\] LOG:  disconnection: .* user={app.role} ", text))
        return marker in text and bool(opened) and opened <= closed

    wait_until(complete, "check's sessions never logged their disconnection")
    log = log_path.read_text(errors="replace")
    pids = set(re.findall(rf"\[(\d+)\] LOG:  connection authorized: user={app.role} ", log))
    assert len(pids) == 1, f"check opened {len(pids)} connections"
    (pid,) = pids
    statements = re.findall(rf"\[{pid}\] LOG:  (?:statement|execute [^:]*):", log)
    assert 1 <= len(statements) <= 2, statements


# -- the row-to-facts step, without a server ---------------------------------------------------------


def _row(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "version": "16.4",
        "version_num": 160004,
        "database": "appdb",
        "connected_as": "app",
        "superuser": False,
        "role": {"name": "app", "connlimit": -1, "superuser": False},
        "database_connlimit": -1,
        "settings": [],
        "overrides": [],
        "activity": [],
        "read_all_stats": False,
        "ssl": False,
        "server_addr": "127.0.0.1",
        "server_port": 5432,
        "backend_pid": 7,
    }
    row.update(overrides)
    return row


@pytest.mark.parametrize(("datconnlimit", "expected"), [(-1, None), (0, 0), (25, 25), (None, None)])
def test_database_connection_limit_zero_is_a_limit(datconnlimit: int | None, expected: int | None) -> None:
    facts = facts_from_row(_row(database_connlimit=datconnlimit), startup_pid=7)
    assert facts.database_connlimit == expected
