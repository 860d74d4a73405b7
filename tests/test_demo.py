"""`pool-doctor demo` end to end, as a new user runs it: the story, and nothing left behind."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from cli_runner import command

pytestmark = pytest.mark.slow  # the whole story, on a real server, several times

INCIDENT = "ConnectionDoesNotExistError: connection was closed in the middle of operation"


def postmasters_using(path: str) -> set[int]:
    """PIDs of postgres processes whose command line names `path` (their data directory)."""
    pids = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmdline and cmdline[0].endswith(b"/postgres") and any(path.encode() in part for part in cmdline):
            pids.add(int(proc.name))
    return pids


def server_files(out: str) -> str:
    """The demo names its cluster's directory in the setup panel."""
    return re.search(r"files in (/\S+?)[,)]", out).group(1)  # type: ignore[union-attr]


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_demo_tells_the_story_and_cleans_up(pg_bindirs: list[Path]) -> None:
    started = time.monotonic()
    result = subprocess.run(
        [*command(), "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "80", "NO_COLOR": "1"},
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    out = result.stdout
    lines = out.splitlines()
    assert len(lines) <= 150, out  # the story, told at a glance
    assert max(len(line) for line in lines) <= 80, out
    text = " ".join(out.split())
    assert INCIDENT in text  # the naive pool meets the NAT reset
    assert re.search(r"recommended \(scaled\): ok", out)
    # check's finding, its code whole on one line, and where the limit was set
    assert any(
        re.fullmatch(r"critical\s+idle-session-timeout\s+idle_session_timeout = 5min\s*", line) for line in lines
    )
    assert "ALTER ROLE app IN DATABASE chat" in text
    assert ("PostgreSQL refuses root: it runs as" in text) == (os.geteuid() == 0)  # root: says what it changed
    assert "    pool_recycle=270," in lines and "    pool_pre_ping=True," in lines  # recommend's paste-ready block
    assert any(re.fullmatch(r"server_idle_timeout\s+InterfaceError\s+ok\s*", line) for line in lines), out
    assert any(re.fullmatch(r"network_reset\s+ConnectionDoesNotExistError\s+ok\s*", line) for line in lines), out
    # stderr is piped: the slow steps as plain lines, not a spinner's escape codes
    assert "pool-doctor: demo: starting a throwaway PostgreSQL" in result.stderr and "\x1b[" not in result.stderr
    assert elapsed < 60, f"demo took {elapsed:.0f}s"
    port = int(re.search(r"PostgreSQL \d+ on 127\.0\.0\.1:(\d+)", out).group(1))  # type: ignore[union-attr]
    assert not port_open(port)
    files = server_files(out)
    assert not Path(files).exists() and not postmasters_using(files)


@pytest.mark.parametrize("inherited", ["default", "ignored"])
def test_demo_interrupted_still_cleans_up(pg_bindirs: list[Path], inherited: str) -> None:
    """Also when started the way a script's `cmd &` starts it, SIGINT ignored (a background job's)."""
    ignore = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if inherited == "ignored" else None
    proc = subprocess.Popen(
        [*command(), "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        preexec_fn=ignore,
    )
    assert proc.stdout is not None
    seen = ""
    for line in proc.stdout:  # wait until the server is up and the story has begun
        seen += line
        if "The incident" in line:
            break
    files = server_files(seen)
    assert Path(files).exists()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "pool-doctor: error: interrupted" in err
    assert not Path(files).exists() and not postmasters_using(files)


def test_demo_keep_leaves_a_server_to_experiment_with(pg_bindirs: list[Path]) -> None:
    result = subprocess.run(
        [*command(), "demo", "--keep"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    url = re.search(r"pool-doctor check --url (\S+)", out).group(1)  # type: ignore[union-attr]
    passfile = re.search(r"export PGPASSFILE=(\S+)", out).group(1)  # type: ignore[union-attr]
    stop = re.search(r"Stop it and remove its files:\n  (.+)", out).group(1)  # type: ignore[union-attr]
    assert ":" not in url.split("://", 1)[1].split("@", 1)[0]  # no password in the URL
    try:
        check = subprocess.run(
            [*command(), "check", "--url", url, "--json"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PGPASSFILE": passfile},
        )
        assert check.returncode == 1, check.stderr  # the incident's settings are still there
        codes = {f["code"] for f in json.loads(check.stdout)["findings"]}
        assert "idle-session-timeout" in codes
        # The second line it suggests is the demo's own check: the story's NAT gateway on the path too.
        story = re.search(rf"pool-doctor check --url {re.escape(url)} (--network-idle-timeout \S+)", out)
        assert story is not None, out
        with_nat = subprocess.run(
            [*command(), "check", "--url", url, *story.group(1).split(), "--json"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PGPASSFILE": passfile},
        )
        found = {f["code"]: f["severity"] for f in json.loads(with_nat.stdout)["findings"]}
        assert found["network-idle-timeout"] == found["idle-session-timeout"] == "critical", found
    finally:
        subprocess.run(["bash", "-c", stop], check=True, timeout=30)
    # The command returns once the server has exited, and only then removes its files.
    port = int(url.rsplit(":", 1)[1].split("/", 1)[0])
    assert not port_open(port)
    assert not Path(passfile).parent.exists()
    assert not Path(passfile).exists()
