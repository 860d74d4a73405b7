"""One object per driver (asyncpg, psycopg 3, psycopg2), in one registry: `driver_for(spec)`, `DRIVERS`.

Nothing outside this package branches on a driver's name: a lookup here is the way in.
"""

from __future__ import annotations

from pool_doctor.connection.drivers.asyncpg_driver import AsyncpgDriver
from pool_doctor.connection.drivers.base import Driver, StatementCache, describe_error
from pool_doctor.connection.drivers.libpq import Psycopg2Driver, PsycopgDriver
from pool_doctor.connection.spec import ConnectionSpec

DRIVERS: dict[str, Driver] = {
    driver.name: driver
    for driver in (
        AsyncpgDriver("asyncpg", "asyncpg", "asyncpg", True, "';' inside a transaction"),
        PsycopgDriver("psycopg", "psycopg[binary]", "psycopg", True, "SELECT 1"),
        Psycopg2Driver(
            "psycopg2", "psycopg2-binary", "psycopg2", False, "SELECT 1", " (or pip install 'pool-doctor[psycopg2]')"
        ),
    )
}


def public_module(module: str) -> str:
    """An exception class's module as its driver documents it: asyncpg.exceptions, not asyncpg.exceptions._base."""
    for driver in DRIVERS.values():
        public = driver.exceptions_module
        if public is not None and (module == public or module.startswith(public + ".")):
            return public
    return module


def driver_for(spec: ConnectionSpec) -> Driver:
    return DRIVERS[spec.driver]


__all__ = ["DRIVERS", "Driver", "StatementCache", "describe_error", "driver_for", "public_module"]
