"""`pool-doctor proxy`: the fault proxy as a foreground command, against a real server, stopped by Ctrl-C."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from cli_runner import command
from harness import LocalPostgres

PASSWORD = "pr0xy-Pw!"
LISTENING = re.compile(r"listening on 127\.0\.0\.1:(\d+) -> ")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "FORCE_COLOR")}
    env["NO_COLOR"] = "1"
    return env


@pytest.fixture(scope="module")
def server(pg_bindirs: list[Path]) -> Iterator[LocalPostgres]:
    with LocalPostgres(pg_bindirs[0]) as started:
        started.create_role("proxied", PASSWORD)
        yield started


class ProxyProcess:
    """The command in the background; its stderr lines collected by a thread, so reads never block."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [*command(), "proxy", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env()
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert self.proc.stderr is not None
        self._pumping = threading.Thread(target=self._pump, args=(self.proc.stderr,), daemon=True)
        self._pumping.start()

    def _pump(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = 10) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.seen.append(line)
            found = re.search(pattern, line)
            if found:
                return found
        raise AssertionError(f"no stderr line matched {pattern!r}; saw {self.seen}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)
        self._pumping.join(5)  # the process is gone: its stderr ends, and the pump with it
        for stream in (self.proc.stdout, self.proc.stderr):  # the pipes are ours to close
            if stream is not None:
                stream.close()


def test_forwards_resets_an_idle_connection_and_stops_on_sigint(server: LocalPostgres) -> None:
    proxy = ProxyProcess(
        "--listen", "0", "--upstream", f"127.0.0.1:{server.port}", "--idle-timeout", "1", "--mode", "reset"
    )
    try:
        port = int(proxy.wait_for(LISTENING.pattern).group(1))
        with psycopg.connect(
            host="127.0.0.1",
            port=port,
            user="proxied",
            password=PASSWORD,
            dbname="postgres",
            connect_timeout=5,
            autocommit=True,
        ) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)  # a real connection, forwarded
            time.sleep(1.4)
            with pytest.raises(psycopg.OperationalError):
                conn.execute("SELECT 1")  # idle past the timeout: the proxy answers with a reset
        proxy.wait_for(r"idle \S+ s > 1 s: reset")

        proxy.proc.send_signal(signal.SIGINT)
        assert proxy.proc.wait(10) == 0  # Ctrl-C is how a foreground proxy ends: not an error
        proxy.wait_for(r"stopped: 1 flows accepted, 1 reset")
        rest = proxy.seen + list(proxy.lines.queue)
        assert not any("Traceback" in line or "error" in line for line in rest), rest
        assert proxy.proc.stdout is not None and proxy.proc.stdout.read() == ""  # events are talk: stderr only
    finally:
        proxy.stop()


def test_blackhole_mode_swallows_an_idle_connection(server: LocalPostgres) -> None:
    proxy = ProxyProcess(
        "--listen", "0", "--upstream", f"127.0.0.1:{server.port}", "--idle-timeout", "0.5", "--mode", "blackhole"
    )
    try:
        port = int(proxy.wait_for(LISTENING.pattern).group(1))
        conn = psycopg.connect(
            host="127.0.0.1",
            port=port,
            user="proxied",
            password=PASSWORD,
            dbname="postgres",
            connect_timeout=5,
            autocommit=True,
        )
        try:
            conn.execute("SELECT 1")
            time.sleep(0.8)
            with socket.socket() as probe:  # the listener still serves new flows while one hangs
                probe.settimeout(2)
                probe.connect(("127.0.0.1", port))
            ready = threading.Event()
            threading.Thread(target=lambda: (_quiet(conn), ready.set()), daemon=True).start()
            assert not ready.wait(1.0), "a blackholed query answered"
            proxy.wait_for(r"blackhole \(discarding from now on\)")
        finally:
            conn.pgconn.finish()
        proxy.proc.send_signal(signal.SIGINT)
        assert proxy.proc.wait(10) == 0
    finally:
        proxy.stop()


def _quiet(conn: psycopg.Connection) -> None:  # type: ignore[type-arg]
    try:
        conn.execute("SELECT 1")
    except psycopg.Error:
        pass


def _busy_port() -> tuple[socket.socket, int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock, int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--listen", "0", "--upstream", "nohost", "--idle-timeout", "1"], "expected HOST:PORT"),
        (["--listen", "0", "--upstream", "127.0.0.1:99999", "--idle-timeout", "1"], "out of range"),
        (["--listen", "abc", "--upstream", "127.0.0.1:5432", "--idle-timeout", "1"], "not a port number"),
        (["--listen", "0", "--upstream", "127.0.0.1:5432", "--idle-timeout", "-1"], "--idle-timeout"),
        (["--listen", "0", "--upstream", "127.0.0.1:5432", "--idle-timeout", "1", "--mode", "drop"], "--mode"),
        (["--listen", "0", "--idle-timeout", "1"], "--upstream"),
        (["--listen", "BUSY", "--upstream", "127.0.0.1:5432", "--idle-timeout", "1"], "cannot listen"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(args: list[str], says: str) -> None:
    busy, port = _busy_port()
    with busy:
        args = [str(port) if a == "BUSY" else a for a in args]
        done = subprocess.run([*command(), "proxy", *args], capture_output=True, text=True, timeout=30, env=_env())
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pool-doctor: error: ") and says in lines[0], done.stderr
    assert done.stdout == ""
