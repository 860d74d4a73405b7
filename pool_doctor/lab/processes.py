"""Throwaway servers as child processes we own: the base class, and the helpers for their files, ports,
environment, logs and shutdown. Shared by the demo's PostgreSQL (lab/postgres.py) and the test suite's
PgBouncer (tests/harness.py)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Self

from pool_doctor.errors import PoolDoctorError

__all__ = [
    "HOST",
    "LOG_TAIL_LINES",
    "PORT_ATTEMPTS",
    "STOP_GRACE_SECONDS",
    "ChildProcess",
    "LocalPostgresError",
    "child_env",
    "free_port",
    "rmtree",
    "short_tmp",
    "tail",
    "terminate",
]

HOST = "127.0.0.1"
PORT_ATTEMPTS = 5  # a port found free can be taken before the server binds it
STOP_GRACE_SECONDS = 5.0  # fast shutdown normally takes milliseconds
LOG_TAIL_LINES = 25


class LocalPostgresError(PoolDoctorError):
    """A throwaway server could not be prepared, started or reached; carries the log tail.

    Also what the lab's plumbing (the OS user, initdb) raises; tests/harness.py's PgBouncer error extends it.
    """


def short_tmp() -> Path:
    """/tmp when usable: $TMPDIR can be long enough to break unix socket paths."""
    tmp = Path("/tmp")
    if tmp.is_dir() and os.access(tmp, os.W_OK | os.X_OK):
        return tmp
    return Path(tempfile.gettempdir())


def free_port() -> int:
    """A TCP port on HOST that was free a moment ago (a server may still lose it: see PORT_ATTEMPTS)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def child_env() -> dict[str, str]:
    """The environment for a server or tool we start: ours, in the C locale, without libpq's PG* variables."""
    env = dict(os.environ)
    # Stable English messages (we grep them) and no libpq defaults leaking into initdb/postgres.
    env.update(LC_ALL="C", LANG="C")
    for key in ("PGDATA", "PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGOPTIONS", "PGSERVICE"):
        env.pop(key, None)
    return env


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last `lines` lines of a log file, for error messages."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


def rmtree(path: Path | None) -> None:
    """Remove a directory we made, if there is one; never raises."""
    if path is not None and path.exists():
        shutil.rmtree(path, ignore_errors=True)


def terminate(proc: subprocess.Popen[bytes] | None, sig: signal.Signals, grace: float) -> None:
    """Send `sig`, wait up to `grace` seconds, then SIGKILL the process group we started."""
    if proc is None or proc.poll() is not None:
        if proc is not None:
            proc.wait()
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(sig)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        # start_new_session=True made the server its own group leader: this reaches its
        # children (backends) too, and nothing else.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


class ChildProcess:
    """What LocalPostgres and tests/harness.py's LocalPgBouncer share: a child we own, as a context manager."""

    _proc: subprocess.Popen[bytes] | None

    def start(self, timeout: float = 60) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        if self._proc is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def pid(self) -> int | None:
        """The child's pid while it runs."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    @property
    def running(self) -> bool:
        return self.pid is not None
