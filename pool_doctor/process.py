"""What one run changes in the process it runs in: the hooks that turn a library's warnings and log records
into scrubbed `pool-doctor: warning:` lines, and `as_found()`, which puts back every logger's level and
handlers, every signal handler, `warnings.showwarning` and the warning filters however the run ends.

cli.main runs each command inside `as_found()`, so a host that calls it (the test suite, in process) gets its
process back as it was: the probe quietens the drivers' loggers, the proxy takes over SIGINT and SIGTERM,
main hooks warnings and the event loop adds a log handler, and none of it outlives the call.

`logging` is imported only once something uses it: `--help` never does, and it costs a tenth of Typer.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import warnings
from collections.abc import Iterable, Iterator
from typing import IO, Any

from pool_doctor.errors import scrub

# logging's root logger before anyone configures it: level WARNING, no handlers.
_ROOT_UNTOUCHED = (30, ())

# Handlers that cannot be read or set from Python.
_UNTOUCHABLE = {signal.SIGKILL, signal.SIGSTOP}


class Process:
    """The process state a run may change, as found when the run began."""

    def __init__(self) -> None:
        self._loggers = _loggers()
        self._signals = _signal_handlers()

    def set_level(self, name: str, level: int) -> None:
        """Set a logger's level for the rest of the run (a library's: it may not exist yet, and is made here)."""
        import logging

        logger = logging.getLogger(name)
        self._loggers.setdefault(name, (logger.level, tuple(logger.handlers)))
        logger.setLevel(level)

    def restore(self) -> None:
        """Every logger and signal handler back as found. A logger an import made during the run (a library's
        own, at the level the library chose) is the library's: left as the import made it."""
        logging = sys.modules.get("logging")
        if logging is not None:
            for name, (level, handlers) in self._loggers.items():
                logger = logging.getLogger(name) if name else logging.getLogger()
                if logger.level != level:  # setLevel clears every logger's cache: only where it changed
                    logger.setLevel(level)
                if tuple(logger.handlers) != handlers:
                    logger.handlers[:] = handlers
        for signum, handler in self._signals.items():
            # None: installed outside Python (nothing to put back); unchanged ones are left alone.
            if handler is not None and signal.getsignal(signum) is not handler:
                signal.signal(signum, handler)


@contextlib.contextmanager
def as_found() -> Iterator[Process]:
    """Run the block, then put back everything it changed in the process, on every way out (return, error,
    Ctrl-C, SystemExit)."""
    process = Process()
    try:
        with warnings.catch_warnings():  # showwarning and the filters (a library may add some on import)
            yield process
    finally:
        process.restore()


def _loggers() -> dict[str, tuple[int, tuple[Any, ...]]]:
    """Each existing logger's own level and handlers, the root's as ""."""
    logging = sys.modules.get("logging")
    if logging is None:  # no logger exists yet but the root, as logging will make it
        return {"": _ROOT_UNTOUCHED}
    root = logging.getLogger()
    found = {"": (root.level, tuple(root.handlers))}
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger):
            found[name] = (logger.level, tuple(logger.handlers))
    return found


def _signal_handlers() -> dict[signal.Signals, Any]:
    """Every signal's Python-level handler (the proxy replaces SIGINT's and SIGTERM's)."""
    return {s: signal.getsignal(s) for s in signal.valid_signals() if s not in _UNTOUCHABLE}


def show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: IO[str] | None = None,
    line: str | None = None,
    *,
    secrets: Iterable[str],
) -> None:
    """`warnings.showwarning` for a run (with `secrets` bound): one scrubbed `pool-doctor: warning:` line. A path
    a library put in its message as a repr (asyncpg: `password file PosixPath('/x')`) reads as the path."""
    import re

    text = re.sub(r"\b(?:Posix|Windows|Pure\w*)?Path\(('[^']*'|\"[^\"]*\")\)", lambda m: m.group(1)[1:-1], str(message))
    text = " ".join(scrub(text, secrets).split())
    sys.stderr.write(f"pool-doctor: warning: {text}\n")


POOL_LETTING_GO = ("Exception terminating connection", "Exception closing connection")  # (a pool's own log)


@contextlib.contextmanager
def log_lines(secrets: Iterable[str]) -> Iterator[None]:
    """Meanwhile, a library's log records at WARNING or above (psycopg: "query not terminated after
    cancellation") are one scrubbed `pool-doctor: warning:` line each, not logging's bare last-resort line."""
    import logging

    class LogLines(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith(POOL_LETTING_GO):
                return  # the probe's pools dropping connections its faults killed (pg8000's close of a dead socket
            try:  # raises; the pool logs it and drops the connection, as it should)
                show_warning(record.getMessage(), UserWarning, record.pathname, record.lineno, secrets=secrets)
            except Exception:  # a library's bad format string, a closed stderr: never the driver's problem
                self.handleError(record)

    handler = LogLines(logging.WARNING)
    logging.getLogger().addHandler(handler)
    try:
        yield
    finally:
        logging.getLogger().removeHandler(handler)
