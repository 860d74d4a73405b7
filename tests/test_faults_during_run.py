"""Faults in the middle of a run: the command ends within --timeout plus a small margin, with one clear
line and exit 3 (cannot connect, authenticate, or timed out).

To hit the run *mid-query* deterministically, a superuser holds an ACCESS EXCLUSIVE lock on
pg_auth_members: a non-superuser logs in without reading it, but pool-doctor's settings query
(pg_has_role, pg_stat_activity's visibility check) needs it, so the query waits on the lock until the
test has applied the fault: backend terminated, server restarted, the path reset or blackholed (with
the fault proxy, `blackhole_now()` or a blackhole-mode idle timeout shorter than the query).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from cli_runner import command
from harness import LocalPostgres

from pool_doctor.faults import ThreadedFaultProxy

pytestmark = pytest.mark.slow  # real waiting: servers, idle limits, time-scaled probes

TIMEOUT = 3.0  # --timeout
MARGIN = 1.5  # the error's way out and the process's exit on a busy 2-core machine (start-up is not timed)
ROLE, PASSWORD, DATABASE = "fault_app", "fault-pw", "fault_db"


def pool_doctor_argv() -> list[str]:
    # A real process: the command must be stuck mid-query while this test terminates its backend.
    return command()


@pytest.fixture(scope="module")
def server(pg_bindirs: list[Path]) -> Iterator[LocalPostgres]:
    """A server of our own: one test restarts it."""
    with LocalPostgres(pg_bindirs[0]) as pg:
        pg.create_role(ROLE, PASSWORD)
        pg.create_database(DATABASE, owner=ROLE)
        yield pg


def admin(pg: LocalPostgres, autocommit: bool = True) -> psycopg.Connection:
    return psycopg.connect(
        host=pg.host,
        port=pg.port,
        user="postgres",
        password=pg.password,
        dbname=DATABASE,
        autocommit=autocommit,
        connect_timeout=5,
    )


@dataclass
class Stuck:
    """A pool-doctor process whose settings query is waiting on the lock."""

    proc: subprocess.Popen[str]
    started: float
    backend_pid: int
    lock: psycopg.Connection

    def finish(self) -> tuple[int, str, str, float]:
        try:
            out, err = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            pytest.fail(f"pool-doctor hung; stderr: {err}")
        return self.proc.returncode, out, err, time.monotonic() - self.started

    def release(self) -> None:
        try:
            self.lock.rollback()
        finally:
            self.lock.close()


def start_stuck(pg: LocalPostgres, port: int, command: list[str], home: Path) -> Stuck:
    lock = admin(pg, autocommit=False)
    lock.execute("LOCK TABLE pg_catalog.pg_auth_members IN ACCESS EXCLUSIVE MODE")
    env = {k: v for k, v in os.environ.items() if not (k.startswith(("PG", "POOL_DOCTOR_")) or k == "DATABASE_URL")}
    env.update(HOME=str(home), NO_COLOR="1")
    url = f"postgresql://{ROLE}:{PASSWORD}@127.0.0.1:{port}/{DATABASE}"
    proc = subprocess.Popen(
        [*pool_doctor_argv(), *command, "--timeout", f"{TIMEOUT:g}", "--url", url],
        cwd=home,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with admin(pg) as watcher:
        deadline = time.monotonic() + 30  # start-up under a loaded machine, not the bound tested
        while True:
            row = watcher.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = 'pool-doctor' AND wait_event_type = 'Lock'"
            ).fetchone()
            if row:  # the clock starts here: --timeout bounds the network step, not the interpreter's start-up
                return Stuck(proc, time.monotonic(), row[0], lock)
            if proc.poll() is not None or time.monotonic() > deadline:
                lock.close()
                _, err = proc.communicate()
                pytest.fail(f"pool-doctor never waited on the lock (exit {proc.returncode}): {err}")
            time.sleep(0.02)


def assert_one_line_exit_3(code: int, out: str, err: str, seconds: float, *, expect: str) -> None:
    context = f"exit {code} after {seconds:.1f}s\nstdout: {out[:300]!r}\nstderr: {err!r}"
    assert code == 3, context
    assert seconds < TIMEOUT + MARGIN, context
    assert out == "", "with --json, an error leaves stdout empty\n" + context
    assert "Traceback" not in err, context
    talk = ("pool-doctor: warning:", "pool-doctor: probe [")  # warnings, and probe's progress when piped
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith(talk)]
    assert len(lines) == 1 and lines[0].startswith("pool-doctor: error: "), context
    assert expect.lower() in lines[0].lower(), context
    assert PASSWORD not in err, context


# probe's first step is check's settings query, so the same lock holds it mid-query.
COMMANDS = {"check": ["check", "--json"], "recommend": ["recommend", "--format", "json"], "probe": ["probe", "--json"]}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_backend_terminated_mid_query(server: LocalPostgres, command: str, tmp_path: Path) -> None:
    stuck = start_stuck(server, server.port, COMMANDS[command], tmp_path)
    try:
        with admin(server) as killer:
            killer.execute("SELECT pg_terminate_backend(%s)", [stuck.backend_pid])
        code, out, err, seconds = stuck.finish()
    finally:
        stuck.release()
    assert_one_line_exit_3(code, out, err, seconds, expect="reading settings")


def test_server_restarted_mid_query(server: LocalPostgres, tmp_path: Path) -> None:
    stuck = start_stuck(server, server.port, COMMANDS["check"], tmp_path)
    try:
        server.restart()  # fast shutdown: every session is told, then the server comes back
        code, out, err, seconds = stuck.finish()
    finally:
        try:
            stuck.release()
        except psycopg.Error:
            pass  # the lock's session died with the restart
    assert_one_line_exit_3(code, out, err, seconds, expect="reading settings")
    # And the server is back: the next run works.
    again = subprocess.run(
        [
            *pool_doctor_argv(),
            "check",
            "--json",
            "--fail-on",
            "never",
            "--timeout",
            "10",
            "--url",
            f"postgresql://{ROLE}:{PASSWORD}@127.0.0.1:{server.port}/{DATABASE}",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert again.returncode == 0, again.stderr


Fault = Callable[[ThreadedFaultProxy], None]


@pytest.mark.parametrize(
    ("fault", "expect"),
    [
        pytest.param(ThreadedFaultProxy.reset_now, "reading settings", id="reset"),
        pytest.param(
            ThreadedFaultProxy.blackhole_now, f"timed out after {TIMEOUT:g}s reading settings", id="blackhole"
        ),
    ],
)
@pytest.mark.parametrize("command", list(COMMANDS))
def test_network_fault_mid_query(
    server: LocalPostgres, command: str, fault: Fault, expect: str, tmp_path: Path
) -> None:
    proxy = ThreadedFaultProxy("127.0.0.1", server.port, idle_timeout=None).start()
    try:
        stuck = start_stuck(server, proxy.port, COMMANDS[command], tmp_path)
        try:
            fault(proxy)
        finally:
            stuck.release()  # the server answers now; a blackholed path never delivers it
        code, out, err, seconds = stuck.finish()
    finally:
        proxy.stop()
    assert_one_line_exit_3(code, out, err, seconds, expect=expect)


def test_idle_timeout_shorter_than_the_query(server: LocalPostgres, tmp_path: Path) -> None:
    """A blackholing middlebox with a 1 s idle timeout; the server takes 1.5 s to answer: the answer is lost."""
    proxy = ThreadedFaultProxy("127.0.0.1", server.port, idle_timeout=1.0, mode="blackhole").start()
    try:
        stuck = start_stuck(server, proxy.port, COMMANDS["check"], tmp_path)
        try:
            time.sleep(1.5)
        finally:
            stuck.release()
        code, out, err, seconds = stuck.finish()
        assert proxy.stats.blackholed >= 1
    finally:
        proxy.stop()
    assert_one_line_exit_3(code, out, err, seconds, expect=f"timed out after {TIMEOUT:g}s")
