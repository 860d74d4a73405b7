"""One object per driver (asyncpg, psycopg 3, psycopg2, pg8000), in one registry: `driver_for(spec)`, `DRIVERS`.

Nothing outside this package branches on a driver's name: a lookup here is the way in.
"""

from __future__ import annotations

from pool_doctor.connection.drivers.asyncpg_driver import AsyncpgDriver
from pool_doctor.connection.drivers.base import Driver, StatementCache, describe_error
from pool_doctor.connection.drivers.libpq import Psycopg2Driver, PsycopgDriver
from pool_doctor.connection.drivers.pg8000_driver import Pg8000Driver
from pool_doctor.connection.spec import ConnectionSpec

DRIVERS: dict[str, Driver] = {
    driver.name: driver
    for driver in (
        AsyncpgDriver("asyncpg", "asyncpg", "asyncpg", True, "';' inside a transaction"),
        PsycopgDriver("psycopg", "psycopg[binary]", "psycopg", True, "SELECT 1"),
        Psycopg2Driver(
            "psycopg2", "psycopg2-binary", "psycopg2", False, "SELECT 1", " (or pip install 'pool-doctor[psycopg2]')"
        ),
        Pg8000Driver("pg8000", "pg8000", "pg8000", False, "SELECT 1", " (or pip install 'pool-doctor[pg8000]')"),
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


def foreign_arg(spec: ConnectionSpec, adapter: bool) -> tuple[str, str] | None:
    """The first connect argument the app's own connect would fail on because this driver does not take it, and
    why, naming the driver that does (server_settings is asyncpg's; options, libpq's); None when all are taken."""
    driver = driver_for(spec)
    for key in driver.refused(spec.connect_args, adapter):
        owners = [other.name for other in DRIVERS.values() if other is not driver and other.takes(key, adapter)]
        whose = f"it is {' and '.join(owners)}'s" if owners else "no driver takes it"
        hint = f"; {driver.name} takes {driver.session_hint}" if owners and driver.session_hint else ""
        return key, f"is not an argument {driver.name} takes: {whose}{hint}"
    return None


__all__ = [
    "DRIVERS",
    "Driver",
    "StatementCache",
    "describe_error",
    "driver_for",
    "foreign_arg",
    "public_module",
]
