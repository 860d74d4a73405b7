"""The exception family and the exit codes: the only vocabulary cli.py needs to report a failure."""

from __future__ import annotations

from enum import IntEnum

# Defined in redact.py; imported from here by older callers.
from pool_doctor.redact import MASK as MASK
from pool_doctor.redact import SHORT_SECRET as SHORT_SECRET
from pool_doctor.redact import scrub as scrub


class ExitCode(IntEnum):
    """Process exit codes, documented in `--help` and the README."""

    OK = 0  # nothing at or above --fail-on
    FINDINGS = 1  # findings at or above --fail-on (or a probe scenario failed with the recommended settings)
    USAGE = 2  # bad usage or bad configuration
    CONNECT = 3  # cannot connect, authenticate, or timed out
    INTERNAL = 4  # an unexpected exception: a bug
    INTERRUPTED = 130  # Ctrl-C


class PoolDoctorError(Exception):
    """Base of every error pool-doctor reports as one line; the message must never hold a password."""

    exit_code: ExitCode = ExitCode.USAGE


class UsageError(PoolDoctorError):
    """A flag, URL or value the user gave is not usable."""

    exit_code = ExitCode.USAGE


class ConfigError(PoolDoctorError):
    """The configuration file or environment holds something unusable."""

    exit_code = ExitCode.USAGE


class ConnectError(PoolDoctorError):
    """The target could not be reached, refused us, or did not answer in time."""

    exit_code = ExitCode.CONNECT


DRIVER_MODULES = ("asyncpg", "psycopg", "psycopg2", "pg8000")


def driver_error(exc: BaseException) -> BaseException:
    """The driver's own exception behind SQLAlchemy's wrappers (DBAPIError.orig, then the adapter's __cause__):
    what the app's logs name, e.g. asyncpg's ConnectionDoesNotExistError rather than sqlalchemy.exc.DBAPIError."""
    inner: BaseException = exc
    seen: set[int] = set()
    while id(inner) not in seen:
        seen.add(id(inner))
        if type(inner).__module__.split(".")[0] in DRIVER_MODULES:
            break
        nxt = getattr(inner, "orig", None) or inner.__cause__
        if nxt is None or not isinstance(nxt, BaseException):
            break
        inner = nxt
    return inner
