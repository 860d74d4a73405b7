"""asyncpg: no libpq; its own keywords, no client keepalives (asyncpg #606), a statement cache."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from pool_doctor.connection import arguments
from pool_doctor.connection.address import resolved
from pool_doctor.connection.drivers.base import ServerKeepalivesDriver, StatementCache, _is_zero
from pool_doctor.connection.sessions import Session, open_asyncpg
from pool_doctor.connection.spec import ConnectionSpec
from pool_doctor.connection.values import UNIQUE_NAME
from pool_doctor.model import Severity

CLOSED_HELD = (
    "asyncpg's InterfaceError: connection is closed (a statement it already prepared: cannot call "
    "PreparedStatement.fetch(): the underlying connection is closed)"
)


@dataclass(frozen=True)
class AsyncpgDriver(ServerKeepalivesDriver):
    """asyncpg: no libpq; its own keywords, no client keepalives (asyncpg #606), a statement cache."""

    # asyncpg 0.32.0 asyncpg/connection.py connect() keywords (and `dsn`); asyncpg reads no libpq keyword.
    own_keys: ClassVar[frozenset[str]] = frozenset(
        {
            "dsn",
            "host",
            "port",
            "user",
            "password",
            "passfile",
            "database",
            "loop",
            "timeout",
            "statement_cache_size",
            "max_cached_statement_lifetime",
            "max_cacheable_statement_size",
            "command_timeout",
            "ssl",
            "direct_tls",
            "connection_class",
            "record_class",
            "gsslib",
            "server_settings",
            "target_session_attrs",
            "krbsrvname",
            "service",
            "servicefile",
        }
    )
    # SQLAlchemy's asyncpg dialect (dialects/postgresql/asyncpg.py) takes these and passes the rest on.
    adapter_keys: ClassVar[frozenset[str]] = frozenset(
        {"prepared_statement_cache_size", "prepared_statement_name_func", "async_creator_fn"}
    )
    libpq: ClassVar[bool] = False
    session_hint: ClassVar[str] = "session settings as server_settings={...}"
    hang_key: ClassVar[str] = "command_timeout"
    reads_pgoptions: ClassVar[bool] = False
    exceptions_module: ClassVar[str | None] = "asyncpg.exceptions"
    argument_checks: ClassVar[Mapping[str, arguments.Check]] = arguments.ASYNCPG
    # asyncpg has no client keepalive options: its server_settings ask the server to send them.
    keepalive_key: ClassVar[str] = "server_settings.tcp_keepalives_idle"
    settings_table: ClassVar[str] = "server_settings"
    # SQLAlchemy's asyncpg dialect does not count command_timeout's TimeoutError as a disconnect.
    timeout_is_disconnect: ClassVar[bool] = False
    errors: ClassVar[Mapping[Any, str]] = {
        "close": "asyncpg's InterfaceError: connection is closed",
        "reset": "asyncpg's ConnectionDoesNotExistError: connection was closed in the middle of operation",
    }
    # The FATAL arrives while the connection sits idle: asyncpg drops it unread, so no SQLSTATE reaches the app;
    # a statement already prepared on that connection (SQLAlchemy's cache) says it in asyncpg's longer words.
    held_errors: ClassVar[Mapping[str, str]] = {
        "idle_in_transaction_session_timeout": CLOSED_HELD,
        "transaction_timeout": CLOSED_HELD,
        "statement_timeout": "asyncpg's QueryCanceledError: canceling statement due to statement timeout",
        "lock_timeout": "asyncpg's LockNotAvailableError: canceling statement due to lock timeout",
    }

    def startup_pid(self, conn: Any) -> int | None:
        return int(conn.get_server_pid())

    prepared_statements: ClassVar[StatementCache | None] = StatementCache(
        "asyncpg's prepared statements will collide",
        "asyncpg names its prepared statements __asyncpg_stmt_N__ per client connection, and SQLAlchemy caches "
        "them per connection; under transaction pooling the next transaction runs on a backend that has "
        'another client\'s statements, and the app gets: prepared statement "__asyncpg_stmt_1__" already exists '
        "(or: ... does not exist). Set statement_cache_size=0 (through SQLAlchemy also "
        "prepared_statement_cache_size=0 and a unique prepared_statement_name_func, as SQLAlchemy's asyncpg docs "
        "say), or use session pooling.",
        ("statement_cache_size",),
        ("prepared_statement_cache_size", "prepared_statement_name_func"),
        Severity.WARNING,
        {"statement_cache_size": 0, "prepared_statement_cache_size": 0, "prepared_statement_name_func": UNIQUE_NAME},
        "Transaction pooling runs each transaction on any backend: asyncpg's numbered statement names collide "
        "('prepared statement \"__asyncpg_stmt_1__\" already exists') and cached ones go missing. No caches and "
        "unique names (SQLAlchemy's asyncpg docs) make every statement live within its transaction.",
        "no statement outlives its transaction",
    )

    def statement_cache_off(self, args: Mapping[str, Any], adapter: bool = True) -> bool:
        """No statement cache, and through SQLAlchemy's adapter no adapter cache and unique names either. In a
        config file a Python-only value is a string: prepared_statement_name_func = "uuid4"."""
        if not _is_zero(args.get("statement_cache_size")):
            return False
        return not adapter or (
            _is_zero(args.get("prepared_statement_cache_size")) and bool(args.get("prepared_statement_name_func"))
        )

    keepalives_through_pooler: ClassVar[bool] = False
    keepalive_note: ClassVar[str] = " asyncpg has no client keepalive options, so the server sends them."

    def hang_setting(self, seconds: int) -> tuple[Any, str, str]:
        return (
            seconds,
            "A query (or pre-ping) on a silently dropped flow fails after this many seconds instead of hanging "
            "until TCP gives up (~15 min). Raise it if the app runs longer queries on purpose.",
            f"a dropped flow fails in {seconds}s, not ~15 min",
        )

    def connect_kwargs(self, spec: ConnectionSpec) -> dict[str, Any]:
        if spec.opener == "native":
            # asyncpg.create_pool(dsn, **kwargs): asyncpg parses the DSN itself, as the app's pool does.
            kwargs: dict[str, Any] = {"dsn": spec.render(hide_password=False, driver="")}
            kwargs.update(spec.connect_args)
            # The DSN's one TCP host through the name-resolution seam: host and port given apart win over it.
            if len(spec.hosts) == 1 and not spec.is_unix_socket and "host" not in kwargs:
                routed = resolved({"host": spec.host, "port": spec.port})
                if (routed["host"], routed["port"]) != (spec.host, spec.port):
                    kwargs.update(host=routed["host"], port=routed["port"])
            return resolved(kwargs)
        return super().connect_kwargs(spec)

    def dialect_class(self) -> Any:
        from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg

        return PGDialect_asyncpg

    async def connect(self, kwargs: dict[str, Any], timeout: float) -> Session:
        return await open_asyncpg(kwargs, timeout)

    def argument_hint(self, name: str) -> str:
        if name == "sslmode":
            return " (asyncpg takes TLS as ?ssl=require, not libpq's sslmode)"
        return " (asyncpg takes session settings as connect_args={'server_settings': {...}})"

    # -- the probe -------------------------------------------------------------------------------------

    connect_timeout_key: ClassVar[str] = "timeout"
    hang_bound_in_kernel: ClassVar[bool] = False  # command_timeout is asyncpg's own timer
    adapter_close_wait: ClassVar[float] = 2.0  # SQLAlchemy's asyncpg adapter, on a connection gone dead

    def probe_session_args(
        self, args: Mapping[str, Any], settings: Mapping[str, str], application_name: str
    ) -> dict[str, Any]:
        """asyncpg takes session settings as `server_settings`."""
        server_settings = {"application_name": application_name, **dict(args.get("server_settings") or {})}
        return {**args, "server_settings": {**server_settings, **settings}}

    async def probe_lane(self, dsn: str, kwargs: Mapping[str, Any], timeout: float) -> Any:
        import asyncpg

        return await asyncpg.connect(dsn, timeout=timeout, statement_cache_size=0, **kwargs)

    def probe_abandon(self, conn: Any) -> None:
        conn.terminate()
