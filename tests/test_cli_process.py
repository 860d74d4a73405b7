"""main(argv, env) leaves the process it runs in as it found it: logger levels and handlers, signal handlers,
`warnings.showwarning` and the warning filters, after a run that changes them (the probe quietens the drivers'
loggers, the proxy takes over SIGINT and SIGTERM, main hooks warnings and the event loop adds a log handler)
and on every way out: success, error, Ctrl-C, SystemExit. In process, through main itself: this is what lets
cli_runner.run_in_process put back only what a run is handed (environment, cwd, std streams)."""

from __future__ import annotations

import io
import logging
import os
import signal
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from cli_runner import clean_environment, run_in_process

SECRET = "st4te-Pw-9"
UNTOUCHABLE = {signal.SIGKILL, signal.SIGSTOP}


@dataclass(frozen=True)
class State:
    root: tuple[int, list[logging.Handler]]
    loggers: dict[str, tuple[int, list[logging.Handler]]]
    signals: dict[signal.Signals, Any]
    showwarning: Any
    filters: Any


def state() -> State:
    root = logging.getLogger()
    return State(
        root=(root.level, list(root.handlers)),
        loggers={
            name: (logger.level, list(logger.handlers))
            for name, logger in logging.Logger.manager.loggerDict.items()
            if isinstance(logger, logging.Logger)
        },
        signals={s: signal.getsignal(s) for s in signal.valid_signals() if s not in UNTOUCHABLE},
        showwarning=warnings.showwarning,
        filters=warnings.filters,
    )


def assert_as_found(before: State, after: State) -> None:
    assert after.root == before.root
    assert after.signals == before.signals
    assert after.showwarning is before.showwarning
    assert after.filters is before.filters and after.filters == before.filters
    for name, found in before.loggers.items():
        assert after.loggers[name] == found, f"logger {name!r}"
    # Loggers an import made during the run are the library's own, as the import left them: no handler of ours.
    for name in after.loggers.keys() - before.loggers.keys():
        assert not any(type(h).__name__ == "LogLines" for h in after.loggers[name][1]), name


@pytest.fixture
def sentinels() -> Iterator[None]:
    """Something of the host's own in every place a run touches, so a change that is not undone shows: a level
    on the loggers the probe quietens, a handler on the root, handlers for SIGINT and SIGTERM (the latter also
    keeps a stray SIGTERM from ending the test worker), and a showwarning hook."""
    import asyncpg  # noqa: F401  # their loggers exist before the run, as in a host that uses them
    import psycopg  # noqa: F401
    import sqlalchemy  # noqa: F401

    levels = {name: logging.getLogger(name).level for name in ("psycopg", "asyncpg")}
    handler = logging.NullHandler()
    saved_signals = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    saved_showwarning = warnings.showwarning

    def host_handler(signum: int, frame: Any) -> None:
        pass

    def host_showwarning(*args: Any, **kwargs: Any) -> None:
        pass

    logging.getLogger("psycopg").setLevel(logging.INFO)
    logging.getLogger("asyncpg").setLevel(logging.DEBUG)
    logging.getLogger().addHandler(handler)
    signal.signal(signal.SIGINT, host_handler)
    signal.signal(signal.SIGTERM, host_handler)
    warnings.showwarning = host_showwarning
    try:
        yield
    finally:
        warnings.showwarning = saved_showwarning
        for signum, saved in saved_signals.items():
            signal.signal(signum, saved)
        logging.getLogger().removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_probe_like_run_leaves_the_process_as_found(sentinels: None) -> None:
    """probe quietens psycopg and asyncpg and runs the event loop (with main's log handler), then cannot
    connect: exit 3, and nothing it changed survives."""
    before = state()
    url = f"postgresql://app:{SECRET}@127.0.0.1:{closed_port()}/appdb"
    done = run_in_process(["probe", "--url", url, "--timeout", "2", "--quiet"], env=clean_environment(), timeout=30)
    assert done.returncode == 3, done.stderr
    assert "pool-doctor: error: cannot connect" in done.stderr and SECRET not in done.stderr
    assert_as_found(before, state())


def test_a_proxy_like_run_leaves_the_process_as_found(sentinels: None) -> None:
    """proxy installs its SIGINT and SIGTERM handlers and serves until SIGTERM: exit 0, the host's handlers back."""
    upstream = socket.create_server(("127.0.0.1", 0))
    port = closed_port()
    stop = threading.Thread(target=_terminate_once_listening, args=(port,), daemon=True)
    before = state()
    stop.start()
    argv = ["proxy", "--listen", str(port), "--upstream", f"127.0.0.1:{upstream.getsockname()[1]}"]
    done = run_in_process([*argv, "--idle-timeout", "5"], env=clean_environment(), timeout=30)
    stop.join(timeout=10)
    upstream.close()
    assert done.returncode == 0, done.stderr
    assert f"listening on 127.0.0.1:{port}" in done.stderr
    assert_as_found(before, state())


def _terminate_once_listening(port: int) -> None:
    """SIGTERM to this process once the proxy accepts on `port` (its handler is in place by then)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        except OSError:
            time.sleep(0.05)
            continue
        os.kill(os.getpid(), signal.SIGTERM)
        return


def test_a_proxy_that_cannot_listen_leaves_the_process_as_found(sentinels: None) -> None:
    """The error path after the proxy has taken over the signals: its port is taken, exit 2."""
    taken = socket.create_server(("127.0.0.1", 0))
    port = taken.getsockname()[1]
    before = state()
    argv = ["proxy", "--listen", str(port), "--upstream", "127.0.0.1:5432", "--idle-timeout", "5"]
    done = run_in_process(argv, env=clean_environment(), timeout=30)
    taken.close()
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"pool-doctor: error: cannot listen on 127.0.0.1:{port}")
    assert_as_found(before, state())


def test_an_error_leaves_the_process_as_found(sentinels: None) -> None:
    before = state()
    done = run_in_process(["check", "--url", "mysql://app@db/appdb"], env=clean_environment(), timeout=30)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("pool-doctor: error: ")
    assert_as_found(before, state())


class _Stdin(io.StringIO):
    """stdin whose first read ends the run as `raised` does (-W reads the password from it)."""

    def __init__(self, raised: Callable[[], BaseException]) -> None:
        super().__init__()
        self.raised = raised

    def readline(self, size: int | None = -1) -> str:
        raise self.raised()


@pytest.mark.parametrize(
    ("raised", "code", "said"),
    [
        (KeyboardInterrupt, 130, "pool-doctor: error: interrupted\n"),
        (lambda: SystemExit(7), 7, ""),
    ],
    ids=["ctrl-c", "system-exit"],
)
def test_ctrl_c_and_system_exit_leave_the_process_as_found(
    sentinels: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    raised: Callable[[], BaseException],
    code: int,
    said: str,
) -> None:
    from pool_doctor.cli import main

    monkeypatch.setattr("sys.stdin", _Stdin(raised))
    before = state()
    with pytest.raises(SystemExit) as exited:
        main(["check", "-W", "--url", "postgresql://app@127.0.0.1:1/appdb"], clean_environment())
    assert exited.value.code == code
    assert capsys.readouterr().err == said
    assert_as_found(before, state())


def test_main_reads_the_environment_it_is_handed(monkeypatch: pytest.MonkeyPatch) -> None:
    """DATABASE_URL from `env`, not from os.environ; and its password is scrubbed as one from the environment."""
    from pool_doctor.cli import main

    monkeypatch.delenv("DATABASE_URL", raising=False)
    port = closed_port()
    env = clean_environment({"DATABASE_URL": f"postgresql://app:{SECRET}@127.0.0.1:{port}/appdb"})
    stderr = io.StringIO()
    monkeypatch.setattr("sys.stderr", stderr)
    with pytest.raises(SystemExit) as exited:
        main(["check", "--timeout", "2"], env)
    assert exited.value.code == 3, stderr.getvalue()
    assert f"cannot connect to postgresql://app:***@127.0.0.1:{port}/appdb" in stderr.getvalue()
    assert SECRET not in stderr.getvalue()
