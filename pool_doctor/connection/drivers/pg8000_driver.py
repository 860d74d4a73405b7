"""pg8000: pure Python, no libpq. Its own keywords; `timeout` bounds every socket wait; `tcp_keepalive` turns
on the OS's keepalives (no timing of its own), so the server is asked to send them through `startup_params`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from pool_doctor.connection import arguments
from pool_doctor.connection.drivers.base import ServerKeepalivesDriver
from pool_doctor.connection.sessions import Session, in_thread, open_pg8000, pg8000_pid
from pool_doctor.connection.spec import ConnectionSpec

# Seen on real runs through SQLAlchemy 2.1 with pg8000 1.31 against PostgreSQL 18 (tests/test_held.py): a
# connection the server ended fails its next read, which pg8000 reports in two words, whatever the cause.
NETWORK_ERROR = "pg8000's InterfaceError: network error"


@dataclass(frozen=True)
class Pg8000Driver(ServerKeepalivesDriver):
    """pg8000 1.31: pure Python, no libpq; its own keywords; never prepares a named statement through its
    DB-API cursor (execute_unnamed)."""

    # pg8000 1.31's pg8000.connect() keywords (what SQLAlchemy's dialect calls); pg8000 reads no libpq keyword.
    own_keys: ClassVar[frozenset[str]] = frozenset(
        {
            "user",
            "host",
            "database",
            "port",
            "password",
            "source_address",
            "unix_sock",
            "ssl_context",
            "timeout",
            "tcp_keepalive",
            "application_name",
            "replication",
            "startup_params",
        }
    )
    libpq: ClassVar[bool] = False
    session_hint: ClassVar[str] = "session settings as startup_params={...}"
    reads_pgoptions: ClassVar[bool] = False
    exceptions_module: ClassVar[str | None] = "pg8000"
    argument_checks: ClassVar[Mapping[str, arguments.Check]] = arguments.PG8000
    # `timeout` is the socket's (socket.create_connection): a reply's first read waiting longer raises Python's
    # TimeoutError unwrapped (pg8000 1.31's _read), which SQLAlchemy's dialect never sees as a disconnect: a hung
    # pre-ping fails the request (seen through the fault proxy), and the connection is replaced after it.
    hang_key: ClassVar[str] = "timeout"
    timeout_is_disconnect: ClassVar[bool] = False
    # pg8000 sets SO_KEEPALIVE and nothing more (the OS's 2 h): its startup_params ask the server instead.
    keepalive_key: ClassVar[str] = "startup_params.tcp_keepalives_idle"
    settings_table: ClassVar[str] = "startup_params"
    # pg8000 1.31's _read: a reset on the first read of a reply is raised as it is, not as pg8000's error, so
    # SQLAlchemy's dialect never sees a disconnect: the pre-ping's error reaches the request, and without one
    # the dead connection goes back to the pool and fails the next request too (seen on real runs).
    reset_is_disconnect: ClassVar[bool] = False
    # pg8000's errors carry the server's fields as a dict, its SQLSTATE under "C" (no attribute for it).
    sqlstate_of: ClassVar[str] = 'error.args[0].get("C") if error.args and isinstance(error.args[0], dict) else None'
    errors: ClassVar[Mapping[Any, str]] = {
        "close": NETWORK_ERROR,
        "reset": "Python's ConnectionResetError: [Errno 104] Connection reset by peer (pg8000 raises it unwrapped, "
        "so SQLAlchemy keeps the connection, and the request after fails too)",
    }
    held_errors: ClassVar[Mapping[str, str]] = {
        "idle_in_transaction_session_timeout": NETWORK_ERROR,
        "transaction_timeout": NETWORK_ERROR,
        "statement_timeout": "pg8000's ProgrammingError: {'S': 'ERROR', 'V': 'ERROR', 'C': '57014', 'M': "
        "'canceling statement due to statement timeout', ...}",
        "lock_timeout": "pg8000's ProgrammingError: {'S': 'ERROR', 'V': 'ERROR', 'C': '55P03', 'M': "
        "'canceling statement due to lock timeout', ...}",
    }

    def startup_pid(self, conn: Any) -> int | None:
        return pg8000_pid(conn)

    def session_settings(self, spec: ConnectionSpec) -> dict[str, tuple[str, str]]:
        """pg8000 sends its startup_params (and reads no options or PGOPTIONS)."""
        params = spec.connect_args.get("startup_params")
        if not isinstance(params, Mapping):
            return {}
        return {str(name): (str(value), "connect_args startup_params") for name, value in params.items()}

    keepalives_through_pooler: ClassVar[bool] = False  # (a pooler refuses startup parameters it does not know)
    keepalive_note: ClassVar[str] = " pg8000 has no client keepalive timing, so the server sends them."

    def hang_setting(self, seconds: int) -> tuple[Any, str, str]:
        return (
            seconds,
            "Seconds any read of pg8000's socket may wait: a query (or pre-ping) on a silently dropped flow fails "
            "after this many seconds instead of hanging until TCP gives up (~15 min). It bounds every query too: "
            "raise it if the app runs longer queries on purpose.",
            f"a dropped flow fails in {seconds}s, not ~15 min",
        )

    def dialect_class(self) -> Any:
        from sqlalchemy.dialects.postgresql.pg8000 import PGDialect_pg8000

        return PGDialect_pg8000

    async def connect(self, kwargs: dict[str, Any], timeout: float) -> Session:
        return await in_thread(lambda: open_pg8000(kwargs, timeout), timeout)

    def argument_hint(self, name: str) -> str:
        if name in ("sslmode", "sslrootcert", "sslcert", "sslkey"):
            return " (pg8000 takes TLS as connect_args={'ssl_context': ssl.create_default_context()})"
        return " (pg8000 takes session settings as connect_args={'startup_params': {...}})"

    # -- the probe -------------------------------------------------------------------------------------

    connect_timeout_key: ClassVar[str] = "timeout"
    hang_bound_in_kernel: ClassVar[bool] = False  # the socket's timeout is Python's own timer

    def probe_session_args(
        self, args: Mapping[str, Any], settings: Mapping[str, str], application_name: str
    ) -> dict[str, Any]:
        """pg8000 takes session settings as `startup_params`, and application_name as a keyword of its own
        (it refuses it inside startup_params)."""
        params = {**dict(args.get("startup_params") or {}), **settings}
        return {"application_name": application_name, **args, "startup_params": params}

    async def probe_lane(self, dsn: str, kwargs: Mapping[str, Any], timeout: float) -> Any:
        """The probe's own lanes are psycopg's (they wait in the event loop): the settings as `-c` options."""
        params = dict(kwargs.get("startup_params") or {})
        libpq = super().probe_session_args({}, params, str(kwargs.get("application_name") or ""))
        return await super().probe_lane(dsn, libpq, timeout)
