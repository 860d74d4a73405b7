"""Run `pool-doctor` the way a user does, with a clean environment: in process (the default) or as a subprocess.

`run_pool_doctor` calls `pool_doctor.cli.main(argv, env)` in this interpreter (~35 ms a run instead of ~0.6 s
for a fresh interpreter) with the same clean environment a subprocess gets, captured stdout/stderr and an empty
stdin. main itself leaves logger levels and handlers, signal handlers and the warning hooks as it found them
(test_cli_process.py proves it); this module puts back what a run is handed (os.environ, cwd, std streams,
the asyncio event loop policy), so runs cannot leak into each other.

`run_in_process` is the same call for a test that builds its own environment, reported the way
`subprocess.run` reports (a CompletedProcess), without the checks below.

`run_pool_doctor_subprocess` starts the installed command: for what only a real process shows (the entry
point itself, signals and Ctrl-C, terminals, start-up time and imports, the demo's cleanup, the proxy in the
foreground).

Both assert the same things: the test's password never printed, no traceback on stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Variables that would point the command elsewhere than the test says: never inherited.
ENV_NAMES = re.compile(r"^(PG[A-Z]+|DATABASE_URL|POOL_DOCTOR_.*)$")


def clean_environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without anything that would steer the command, plus the test's `env`."""
    clean = {k: v for k, v in os.environ.items() if not ENV_NAMES.match(k) and k not in ("COLUMNS", "FORCE_COLOR")}
    clean.update({"NO_COLOR": "1", "COLUMNS": "120", "PGPASSFILE": os.devnull, **(env or {})})
    return clean


def command() -> list[str]:
    """argv[:n] that starts the installed command: the script beside this interpreter, else `python -m`.

    Found through the running interpreter, not PATH: `venv/bin/python -m pytest` without an activated venv
    has no pool-doctor on PATH (or another one).
    """
    beside = Path(sys.executable).parent / "pool-doctor"
    return [str(beside)] if beside.exists() else [sys.executable, "-m", "pool_doctor"]


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str
    seconds: float

    def json(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.stdout)
        return document

    def findings(self) -> dict[str, str]:
        return {f["code"]: f["severity"] for f in self.json()["findings"]}

    def finding(self, code: str) -> dict[str, Any]:
        return next(f for f in self.json()["findings"] if f["code"] == code)


def _checked(run: Run, secret: str) -> Run:
    assert secret not in run.stdout + run.stderr, "a password was printed"
    assert "Traceback" not in run.stderr, run.stderr
    return run


def run_pool_doctor(
    *args: str,
    secret: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 60,
    input: str = "",
) -> Run:
    """Run `pool_doctor.cli.main(args)` in process; fail if `secret` (the test's password) or a traceback shows.

    The environment is `clean_environment(env)`; `input` is stdin's whole content (never the terminal).
    `timeout`: see `run_in_process`.
    """
    started = time.monotonic()
    done = run_in_process(list(args), env=clean_environment(env), cwd=cwd, timeout=timeout, input=input)
    return _checked(Run(done.returncode, done.stdout, done.stderr, time.monotonic() - started), secret)


def run_in_process(
    argv: list[str], *, env: dict[str, str], cwd: Path | None = None, timeout: float = 60, input: str | None = ""
) -> subprocess.CompletedProcess[str]:
    """`main(argv, env)` with exactly `env` as the environment (also as os.environ: pydantic-settings, libpq and
    the drivers read the process's own), as `subprocess.run(..., capture_output=True, text=True)` would report
    it; for tests that build their own environment. No checks of the output here.

    `timeout`: an in-process call cannot be killed, so a run that returns after `timeout` seconds fails the
    test here, and a run that never returns is ended by pytest-timeout's per-test limit (`timeout` in
    pyproject.toml; its signal method raises in the main thread, and the state below is still put back).
    """
    from pool_doctor.cli import main

    stdout, stderr = io.StringIO(), io.StringIO()
    started = time.monotonic()
    with _isolated(env, cwd, io.StringIO(input or ""), stdout, stderr):
        try:
            main(list(argv), env)
        except SystemExit as exc:
            code = _exit_code(exc, stderr)
        else:
            raise AssertionError("pool_doctor.cli.main returned instead of raising SystemExit")
    seconds = time.monotonic() - started
    assert seconds <= timeout, f"pool-doctor {' '.join(argv)} took {seconds:.1f} s (timeout {timeout} s)"
    return subprocess.CompletedProcess(["pool-doctor", *argv], code, stdout.getvalue(), stderr.getvalue())


def run_pool_doctor_subprocess(
    *args: str,
    secret: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 60,
    input: str = "",
) -> Run:
    """Run the installed command in a subprocess (killed after `timeout`); same checks as `run_pool_doctor`."""
    started = time.monotonic()
    done = subprocess.run(
        [*command(), *args],
        capture_output=True,
        text=True,
        env=clean_environment(env),
        cwd=cwd,
        timeout=timeout,
        check=False,
        input=input,
    )
    return _checked(Run(done.returncode, done.stdout, done.stderr, time.monotonic() - started), secret)


def _exit_code(exc: SystemExit, stderr: io.StringIO) -> int:
    """What the interpreter would exit with: None is 0, an int is itself, anything else is printed and 1."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    stderr.write(f"{exc.code}\n")
    return 1


@contextlib.contextmanager
def _isolated(
    environ: dict[str, str], cwd: Path | None, stdin: io.StringIO, stdout: io.StringIO, stderr: io.StringIO
) -> Iterator[None]:
    """The process state one run is handed, put back afterwards (main puts back what it changes itself)."""
    saved_environ = dict(os.environ)
    saved_cwd = os.getcwd()
    saved_streams = (sys.stdin, sys.stdout, sys.stderr)
    saved_policy = asyncio.get_event_loop_policy()
    try:
        os.environ.clear()
        os.environ.update(environ)
        if cwd is not None:
            os.chdir(cwd)
        sys.stdin, sys.stdout, sys.stderr = stdin, stdout, stderr
        yield
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_environ)
        asyncio.set_event_loop_policy(saved_policy)
