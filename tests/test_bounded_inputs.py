"""Inputs that never end or never arrive, through the real command in a subprocess (killed if it hangs): a FIFO
nobody writes, /dev/zero as a config file, as a log and as stdin, a log far larger than memory would like. Each
ends in bounded time with exit 2 and one line, or (a large log) with the report, in bounded memory; the child's
peak memory is read from the kernel (its own ru_maxrss, reported by a wrapper process that ran only it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import pytest
from cli_runner import clean_environment, command

# Runs the command as its only child and reports that child's peak resident memory (KiB on Linux).
MEASURE = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:])\n"
    "sys.stderr.write(f'MAXRSS {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}\\n')\n"
    "sys.exit(done.returncode)\n"
)
TIME_LIMIT = 20.0


def measured(
    args: list[str], cwd: Path, stdin: IO[bytes] | int | None = subprocess.DEVNULL
) -> tuple[int, str, str, float, int]:
    """(exit code, stdout, stderr without the report line, seconds, peak memory in MiB)."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *command(), *args],
        stdin=stdin,
        capture_output=True,
        env=clean_environment(),
        cwd=cwd,
        timeout=TIME_LIMIT * 3,
        check=False,
    )
    seconds = time.monotonic() - started
    err = done.stderr.decode("utf-8", "replace")
    lines = err.splitlines()
    peak = int(lines[-1].split()[1]) // 1024
    return done.returncode, done.stdout.decode("utf-8", "replace"), "\n".join(lines[:-1]), seconds, peak


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe"
    os.mkfifo(path)  # nothing ever writes to it: an open() for reading would wait forever
    return path


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["check", "--config", "{fifo}"], "config file {fifo} is a FIFO (named pipe), not a regular file"),
        (["check", "--config", "/dev/zero"], "config file /dev/zero is a character device, not a regular file"),
        (["explain", "{fifo}"], "log {fifo} is a FIFO (named pipe), not a regular file"),
        (["explain", "/dev/zero"], "log /dev/zero is a character device, not a regular file"),
        (["recommend", "--config", "{dir}"], "config file {dir} is a directory, not a regular file"),
    ],
    ids=["config-fifo", "config-dev-zero", "explain-fifo", "explain-dev-zero", "config-directory"],
)
def test_a_file_that_is_not_a_file_is_refused_at_once(args: list[str], says: str, fifo: Path, tmp_path: Path) -> None:
    values = {"fifo": str(fifo), "dir": str(tmp_path)}
    code, out, err, seconds, peak = measured([arg.format(**values) for arg in args], tmp_path)
    assert code == 2 and out == "", err
    assert err.splitlines() == [f"pool-doctor: error: {says.format(**values)}"]
    assert seconds < TIME_LIMIT and peak < 250, (seconds, peak)


def test_explain_reads_dev_zero_through_stdin_in_bounded_memory(tmp_path: Path) -> None:
    """stdin is read line by line, none longer than 1 MiB: /dev/zero is one endless line."""
    with open("/dev/zero", "rb") as zero:
        code, out, err, seconds, peak = measured(["explain", "-"], tmp_path, stdin=zero)
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "pool-doctor: error: stdin line 1 is longer than 1024 KiB: not a pool_doctor.monitor log"
    ]
    assert seconds < TIME_LIMIT and peak < 250, (seconds, peak)


def death(number: int) -> str:
    record = {
        "schema_version": 1,
        "event": "death",
        "at": "2025-01-01T00:00:00.000Z",
        "stack": "sqlalchemy",
        "pool": "AsyncAdaptedQueuePool",
        "driver": "asyncpg",
        "target": "postgresql+asyncpg://app:***@db:5432/app",
        "pool_settings": {"pool_pre_ping": False, "pool_recycle": -1},
        "connection": number,
        "age_s": 400.0 + number % 100,
        "idle_s": 300.0 + number % 50,
        "request_failed": number % 3 != 0,
        "noticed_by": "request",
        "error": {"type": "asyncpg.exceptions.ConnectionDoesNotExistError", "message": "connection was closed " * 8},
        "cause": {
            "name": "idle_session_timeout",
            "what": "idle_session_timeout = 5min, set by ALTER ROLE app",
            "explained": True,
            "limit": {"name": "idle_session_timeout", "seconds": 300.0, "shape": "close", "kind": "idle"},
            "candidates": [{"what": "x" * 200, "short_by_s": 1.0}],
        },
        "pre_ping_would_catch": True,
        "recycle_would_catch": True,
    }
    return json.dumps(record, separators=(",", ":")) + "\n"


def test_explain_streams_a_large_log_in_bounded_memory(tmp_path: Path) -> None:
    """A 40 MB log (50 000 deaths) costs about what 50 deaths cost: the records are read one at a time, and
    only what the report holds stays (8 bytes of idle time each). Read whole, it took 6x the file."""
    small, large = tmp_path / "small.jsonl", tmp_path / "large.jsonl"
    small.write_text("".join(death(n) for n in range(50)))
    with large.open("w") as stream:
        for start in range(0, 50_000, 1000):
            stream.write("".join(death(n) for n in range(start, start + 1000)))
    assert large.stat().st_size > 40_000_000
    code, out, _, _, baseline = measured(["explain", str(small), "--json"], tmp_path)
    assert code == 0 and json.loads(out)["deaths"] == 50
    code, out, err, seconds, peak = measured(["explain", str(large), "--json"], tmp_path)
    assert code == 0, err
    report = json.loads(out)
    assert report["deaths"] == 50_000 and report["failed_requests"] == 33_333
    assert peak < baseline + 40, f"{peak} MiB for 40 MB of log, {baseline} MiB for 50 records"
    assert seconds < 60


def test_output_in_an_ascii_locale_is_ascii(tmp_path: Path) -> None:
    """PYTHONIOENCODING=ascii (was exit 4, UnicodeEncodeError on the report's middle dot): the report is spelt
    in ASCII. `explain` shows the same report in any encoding."""
    log = tmp_path / "deaths.jsonl"
    log.write_text("".join(death(n) for n in range(5)))
    env = clean_environment({"PYTHONIOENCODING": "ascii"})
    for args in (["explain", str(log)], ["--help"], ["check", "--help"]):
        done = subprocess.run([*command(), *args], capture_output=True, env=env, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        assert done.stdout.decode("ascii")  # raises if any byte is not ASCII
        assert b"Traceback" not in done.stderr
