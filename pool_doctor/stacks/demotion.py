"""What each pool library can do about a demoted primary: the code that makes its pool notice.

After a failover or switchover the old primary may stay reachable read-only: `SELECT 1` (pre-ping, psycopg_pool's
check_connection, Django's CONN_HEALTH_CHECKS) passes and every write fails with SQLSTATE 25006. No pool
treats that as a dead connection, so the app's own code has to: each stack below names its seam, checked
against the library's source (SQLAlchemy's handle_error `ExceptionContext.is_disconnect`, asyncpg's
`Pool.expire_connections`, psycopg_pool's `check=` and `_return_connection`, Django's `is_usable`). Each
code is plain text a test executes against a real server switched read-only (tests/test_failover_code.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from pool_doctor.connection.drivers.base import Driver

# The SQLSTATEs after which a connection must not go back to the pool: 25006 (read_only_sql_transaction: a
# demoted primary), 57P01 (admin_shutdown: the server, or a failover, ended the session), 57P03
# (cannot_connect_now: the server is starting or shutting down).
DEMOTED_SQLSTATES = ("25006", "57P01", "57P03")
READ_ONLY = "25006"

# What the checks below send: one round trip, answered `on` by a standby in recovery and by a server whose
# default_transaction_read_only is on (either is what a write meets as 25006).
READ_ONLY_QUERY = "SHOW transaction_read_only"


@dataclass(frozen=True)
class Demotion:
    """One stack's answer: what it can do, in words, and the code (to paste after the pool is created)."""

    words: str  # for check's finding: what the app's stack can do
    code: str  # Python, complete but for the pool object's name (`engine`, `pool`)
    where: str  # where the code goes
    cost: str  # what it costs per checkout or per error


_STATES = ", ".join(f'"{state}"' for state in DEMOTED_SQLSTATES)


def sqlalchemy_demotion(async_: bool, sqlstate_of: str = Driver.sqlstate_of) -> Demotion:
    """SQLAlchemy's handle_error seam, on the engine's sync engine when it is an AsyncEngine; `sqlstate_of`:
    the driver's way to its errors' SQLSTATE (Driver.sqlstate_of)."""
    target = "engine.sync_engine" if async_ else "engine"
    return Demotion(
        words="a handle_error event that marks SQLSTATE 25006 (and 57P01, 57P03) as a disconnect, so SQLAlchemy "
        "invalidates the connection and every pooled connection older than it",
        code=f"""from sqlalchemy import event

# 25006: the server turned read-only under the pool (a demoted primary);
# 57P01, 57P03: it is shutting down. None of these connections should be reused.
DEMOTED = {{{_STATES}}}


@event.listens_for({target}, "handle_error")
def _demoted_primary_is_a_disconnect(context):
    error = context.original_exception
    state = {sqlstate_of}
    if state in DEMOTED:
        context.is_disconnect = True  # invalidates it, and the pool's older connections
""",
        where="right after create_async_engine(...)" if async_ else "right after create_engine(...)",
        cost="nothing per checkout; the failed request still fails, the next one gets a new connection",
    )


SQLALCHEMY_SYNC = sqlalchemy_demotion(False)
SQLALCHEMY_ASYNC = sqlalchemy_demotion(True)

ASYNCPG_POOL = Demotion(
    words="catching asyncpg.ReadOnlySQLTransactionError (25006) and awaiting pool.expire_connections(), so every "
    "pooled connection is replaced at its next acquire",
    code='''import asyncpg


async def execute_write(pool, query, *args):
    """pool.execute for writes: a demoted primary (25006) expires the whole pool."""
    try:
        return await pool.execute(query, *args)
    except asyncpg.ReadOnlySQLTransactionError:
        await pool.expire_connections()  # each is replaced at its next acquire
        raise
''',
    where="around the app's writes (or in its error middleware, with the pool at hand)",
    cost="nothing per acquire; the failed write still fails, the next one gets a new connection",
)

PSYCOPG_POOL_SYNC = Demotion(
    words="a check= function that also asks SHOW transaction_read_only and closes a read-only connection, so the "
    "pool discards it and connects anew",
    code=f'''def check_writable(conn):
    """ConnectionPool(check=check_writable): a demoted primary answers SELECT 1, not writes."""
    autocommit = conn.autocommit
    conn.autocommit = True
    try:
        row = conn.execute("{READ_ONLY_QUERY}").fetchone()
    finally:
        if not conn.closed:
            conn.autocommit = autocommit
    if row is None or row[0] != "off":
        conn.close()  # an open connection that fails check= goes back to the pool
        raise RuntimeError("read-only server (a demoted primary)")
''',
    where="pass it as ConnectionPool(..., check=check_writable)",
    cost="one round trip per getconn (what check=ConnectionPool.check_connection costs)",
)

PSYCOPG_POOL_ASYNC = Demotion(
    words=PSYCOPG_POOL_SYNC.words,
    code=f'''async def check_writable(conn):
    """AsyncConnectionPool(check=check_writable): a demoted primary answers SELECT 1, not writes."""
    autocommit = conn.autocommit
    await conn.set_autocommit(True)
    try:
        row = await (await conn.execute("{READ_ONLY_QUERY}")).fetchone()
    finally:
        if not conn.closed:
            await conn.set_autocommit(autocommit)
    if row is None or row[0] != "off":
        await conn.close()  # an open connection that fails check= goes back to the pool
        raise RuntimeError("read-only server (a demoted primary)")
''',
    where="pass it as AsyncConnectionPool(..., check=check_writable)",
    cost=PSYCOPG_POOL_SYNC.cost,
)

DJANGO = Demotion(
    words="a database backend whose is_usable() also asks SHOW transaction_read_only, with CONN_HEALTH_CHECKS on, "
    "so a read-only connection is closed at the start of the next request",
    code=f'''# yourproject/db/base.py, with DATABASES["default"]["ENGINE"] = "yourproject.db"
from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self):
        if self.connection is None:
            return False
        try:
            with self.connection.cursor() as cursor:
                cursor.execute("{READ_ONLY_QUERY}")
                row = cursor.fetchone()
        except base.Database.Error:
            return False
        return row is not None and row[0] == "off"
''',
    where="a module of its own, named by DATABASES[...]['ENGINE'] (CONN_HEALTH_CHECKS = True)",
    cost="one round trip per request that reuses a connection (what CONN_HEALTH_CHECKS costs)",
)
