"""What every driver answers: how the app's session is opened from a spec (SQLAlchemy's dialect turns the URL
into the driver's keyword arguments, then the app's connect_args are laid over them), its keepalive and
timeout arguments, its statement cache, how its errors read, what the probe's sessions need. Each driver
(asyncpg.py, libpq.py) overrides what differs; nothing outside this package branches on a driver's name.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pool_doctor.connection import arguments
from pool_doctor.connection.address import resolved
from pool_doctor.connection.sessions import Session
from pool_doctor.connection.spec import READS_PGPASS, ConnectionSpec, shown
from pool_doctor.errors import ConnectError, UsageError, driver_error
from pool_doctor.model import Severity
from pool_doctor.path.policy import Knob


@dataclass(frozen=True)
class StatementCache:
    """What a driver's named prepared statements do behind transaction pooling, and what turns them off."""

    title: str  # "asyncpg's prepared statements will collide"
    detail: str  # what the app gets, and the fix
    keys: tuple[str, ...]  # the connect arguments that fix it, as the app passes them to the driver
    adapter_keys: tuple[str, ...] = ()  # more of them through SQLAlchemy's adapter for this driver
    # When the pooler's mode is not known (a pooler port in the code): how likely the break is.
    unknown_mode_severity: Severity = Severity.INFO
    values: Mapping[str, Any] = field(default_factory=dict)  # what recommend sets each key (and adapter key) to
    why: str = ""  # recommend's reason for them
    short: str = ""

    def fix(self, adapter: bool) -> dict[str, Any]:
        """The keys that turn the statements off, with their values (SQLAlchemy's adapter keys too)."""
        keys = self.keys + (self.adapter_keys if adapter else ())
        return {key: self.values[key] for key in keys}


@dataclass(frozen=True)
class Driver:
    """What pool-doctor knows of one driver; each driver below overrides what differs."""

    name: str  # the module: asyncpg, psycopg, psycopg2
    package: str  # what to pip install
    dialect: str  # SQLAlchemy's +driver
    async_: bool
    ping: str  # what SQLAlchemy's pre-ping sends with this driver
    extra: str = ""  # how else to install it, for the "not installed" line

    # The connect argument that bounds a hung query, and the one that asks for TCP keepalives.
    hang_key: ClassVar[str] = "tcp_user_timeout"
    keepalive_key: ClassVar[str] = "keepalives_idle"
    # Whether SQLAlchemy's dialect counts the hang bound's timeout as a disconnect (so a hung pre-ping replaces
    # the connection instead of failing the request).
    timeout_is_disconnect: ClassVar[bool] = True
    # Python reading the SQLSTATE of this driver's `error` (the demoted-primary code: stacks/demotion.py).
    sqlstate_of: ClassVar[str] = 'getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)'
    # Whether a connection reset reaches SQLAlchemy's dialect as the driver's own error, a disconnect (so a
    # pre-ping that meets one replaces the connection instead of failing the request).
    reset_is_disconnect: ClassVar[bool] = True
    reads_pgoptions: ClassVar[bool] = True  # libpq reads PGOPTIONS from the environment
    # Where the driver's exceptions are public, when their classes live deeper (asyncpg.exceptions._base).
    exceptions_module: ClassVar[str | None] = None
    # What its connect arguments accept (connection/arguments.py): checked at load and before connecting.
    argument_checks: ClassVar[Mapping[str, arguments.Check]] = arguments.LIBPQ

    def refused_args(self, args: Mapping[str, Any]) -> list[tuple[str, str]]:
        """(key, what is wrong) for each connect argument this driver would refuse, before any connection."""
        return arguments.problems(args, self.argument_checks)

    # The driver's errors when the next request uses a connection a limit ended, through SQLAlchemy.
    errors: ClassVar[Mapping[Any, str]] = {}
    prepared_statements: ClassVar[StatementCache | None] = None  # None: it prepares nothing by itself
    # What the app's next statement raises after a server limit on a held connection fired, by setting name
    # (seen on real runs with PostgreSQL 15 and 18: tests/test_held.py).
    held_errors: ClassVar[Mapping[str, str]] = {}

    def held_error(self, setting: str) -> str:
        """The app's error when `setting` (idle_in_transaction_session_timeout, ...) ends or cancels its work."""
        return self.held_errors.get(setting, "an error naming the setting")

    @property
    def reads_pgpass(self) -> bool:
        """Whether it finds a password the app leaves out in PGPASSWORD or ~/.pgpass (pg8000 does not)."""
        return self.name in READS_PGPASS

    def startup_pid(self, conn: Any) -> int | None:
        """The backend PID a raw connection of this driver got at startup (BackendKeyData): libpq's."""
        pid = getattr(getattr(conn, "info", None), "backend_pid", None)
        return int(pid) if pid else None

    def session_settings(self, spec: ConnectionSpec) -> dict[str, tuple[str, str]]:
        """What the app's session asks for at startup, as this driver sends it: name -> (value, where)."""
        return spec.session_settings(pgoptions=self.reads_pgoptions)

    # -- what the driver's connect takes ------------------------------------------------------------------

    # The connect call's own keywords besides the server's libpq ones (psycopg's autocommit, asyncpg's all).
    own_keys: ClassVar[frozenset[str]] = frozenset()
    # Keys SQLAlchemy's adapter for this driver takes and keeps (asyncpg's statement cache and names).
    adapter_keys: ClassVar[frozenset[str]] = frozenset()
    libpq: ClassVar[bool] = True  # takes every libpq keyword (passed into the conninfo)
    session_hint: ClassVar[str] = ""  # how this driver takes session settings, for a refused key's message

    def takes(self, key: str, adapter: bool) -> bool:
        """Whether the app's connect call takes this keyword argument (through SQLAlchemy's adapter or not)."""
        if key in self.own_keys or (adapter and key in self.adapter_keys):
            return True
        if not self.libpq:
            return False
        from pool_doctor.connection.spec import libpq_keywords

        return key in libpq_keywords()

    def refused(self, args: Mapping[str, Any], adapter: bool) -> list[str]:
        """The keys of the app's connect arguments its connect call would fail on."""
        return [key for key in args if not self.takes(str(key), adapter)]

    def require(self) -> None:
        """One clear line when the app's driver is missing; never a silent substitute."""
        if importlib.util.find_spec(self.name) is None:
            raise UsageError(f"the app's driver {self.name} is not installed: pip install {self.package}{self.extra}")

    # -- what the driver's arguments do to an idle connection -----------------------------------------

    def hang_bound(self, args: Mapping[str, Any]) -> tuple[float, Knob] | None:
        """What fails a hung query (or ping) on a silently dropped flow, in seconds: libpq's
        tcp_user_timeout, in milliseconds."""
        value = _number(args.get("tcp_user_timeout"))
        if value:
            return value / 1000, Knob("connect_args.tcp_user_timeout", args["tcp_user_timeout"])
        return None

    def keepalive_idle(self, args: Mapping[str, Any]) -> tuple[float, Knob] | None:
        """Seconds of silence before the client's first TCP keepalive, as the app's arguments ask (libpq)."""
        if str(args.get("keepalives", "1")) == "0":
            return None
        value = _number(args.get("keepalives_idle"))
        return (value, Knob("connect_args.keepalives_idle", value)) if value else None

    def statement_cache_off(self, args: Mapping[str, Any], adapter: bool = True) -> bool:
        """Whether named prepared statements stay within one transaction (what transaction pooling needs);
        `adapter`: the connections come through SQLAlchemy's adapter for this driver."""
        return True

    # -- what recommend sets -----------------------------------------------------------------------------

    # Keepalives this driver asks for through a pooler too (asyncpg asks the server, in startup parameters
    # PgBouncer refuses when it does not know them).
    keepalives_through_pooler: ClassVar[bool] = True
    keepalive_note: ClassVar[str] = ""  # what to add to the keepalives' reason

    def hang_setting(self, seconds: int) -> tuple[Any, str, str]:
        """The hang bound recommend sets (libpq's tcp_user_timeout, in milliseconds): value, why, in short."""
        return (
            seconds * 1000,
            "Milliseconds unacknowledged data may wait: a query (or pre-ping) on a silently dropped flow fails "
            f"after {seconds} s instead of ~15 min of TCP retries.",
            f"a dropped flow fails in {seconds}s, not ~15 min",
        )

    def keepalive_settings(self, idle: int, interval: int, count: int) -> dict[str, Any]:
        """The connect arguments (dotted) that ask for TCP keepalives after `idle` seconds of silence."""
        return {"keepalives": 1, "keepalives_idle": idle, "keepalives_interval": interval, "keepalives_count": count}

    def error_text(self, limit: Any) -> str:
        """What the app's log shows when it uses a connection this limit ended (seen on real runs: tests)."""
        shape = limit.shape.value
        if shape == "drop":
            return "a hang, then a timeout"
        return self.errors.get((shape, limit.name)) or self.errors[shape]

    # -- opening -----------------------------------------------------------------------------------

    def connect_kwargs(self, spec: ConnectionSpec) -> dict[str, Any]:
        """The keyword arguments the app's connect call gets: SQLAlchemy's translation of the URL, then
        connect_args over them (SQLAlchemy's create_engine does `cparams.update(connect_args)`)."""
        if spec.form == "url" and spec.opener == "sqlalchemy":
            from sqlalchemy.engine import make_url

            url = make_url(spec.render(hide_password=False, driver=self.dialect))
            kwargs = self._dialect_kwargs(url, spec)
        else:
            kwargs = self.native_kwargs(spec)
        kwargs.update(spec.connect_args)
        for key in ("prepared_statement_cache_size", "prepared_statement_name_func", "async_creator_fn"):
            kwargs.pop(key, None)  # SQLAlchemy's asyncpg adapter consumes these; asyncpg never sees them
        return resolved(kwargs)

    def native_kwargs(self, spec: ConnectionSpec) -> dict[str, Any]:
        """The connect call's arguments when the app's own pool opens connections (no SQLAlchemy): libpq's."""
        kwargs = dict(spec.params)
        if spec.password is not None:
            kwargs["password"] = spec.password.get_secret_value()
        return kwargs

    def dialect_class(self) -> Any:
        """SQLAlchemy's dialect for this driver."""
        raise NotImplementedError

    def _dialect_kwargs(self, url: Any, spec: ConnectionSpec) -> dict[str, Any]:
        """SQLAlchemy's dialect's keyword arguments for `url`; a query value it cannot read is a UsageError
        naming that value (the app's create_engine fails on it the same way)."""
        from sqlalchemy.exc import ArgumentError

        dialect = self.dialect_class()()
        try:
            kwargs: dict[str, Any] = dialect.create_connect_args(url)[1]
            return kwargs
        except (ValueError, TypeError, ArgumentError) as exc:
            problem = str(exc)
        # Which query item: the first one the dialect refuses on its own (a repeated key arrives as a tuple).
        named = "the query"
        for key, value in url.query.items():
            try:
                dialect.create_connect_args(url.set(query={key: value}))
            except (ValueError, TypeError, ArgumentError):
                text = "&".join(f"{key}={item}" for item in (value if isinstance(value, tuple) else (value,)))
                named = f"the query value {shown(text)}"
                break
        raise UsageError(
            f"{spec.display()}: {named} is not one SQLAlchemy's {self.dialect} dialect can read ({problem})"
        ) from None

    async def connect(self, kwargs: dict[str, Any], timeout: float) -> Session:
        """A raw session from the connect call's arguments (the caller bounds it)."""
        raise NotImplementedError

    def argument_hint(self, name: str) -> str:
        """Why the driver refused a keyword argument the app gave, when there is more to say."""
        return ""

    async def open(self, spec: ConnectionSpec, timeout: float) -> Session:
        """A session opened as the app opens it, every failure turned into a one-line ConnectError."""
        self.require()
        kwargs = self.connect_kwargs(spec)
        refused = self.refused_args(kwargs)  # the URL's query's too (the config's were checked at load)
        if refused:
            key, problem = refused[0]
            value = shown(f"{key}={kwargs[key]!r}")[:120]
            raise UsageError(f"{spec.display()}: {self.name} would refuse {value}: {key} {problem}")
        # The bound is --timeout itself: libpq will not wait less than 2 s (connect_timeout), so its own timer
        # cannot be what keeps "timed out after 0.3s" true.
        try:
            return await asyncio.wait_for(self.connect(kwargs, timeout), timeout)
        except TimeoutError:
            raise ConnectError(f"timed out after {timeout:g}s connecting to {spec.display()}") from None
        except TypeError as exc:
            # asyncpg.connect() takes no libpq keywords: SQLAlchemy hands the URL's query items to it as is.
            word = re.search(r"'(\w+)'", str(exc))
            name = word.group(1) if word else "an argument"
            raise UsageError(
                f"{self.name} does not take {name} given in {spec.display()}: "
                f"the app's own connect would fail the same way{self.argument_hint(name)}"
            ) from None
        except Exception as exc:
            if "timeout expired" in str(exc):  # libpq's connect_timeout
                raise ConnectError(f"timed out after {timeout:g}s connecting to {spec.display()}") from None
            if refused_before_connecting(exc):
                raise UsageError(
                    f"{self.name} refused the arguments for {spec.display()} before connecting: {describe_error(exc)}"
                ) from None
            raise ConnectError(
                f"cannot connect to {spec.display()}: {describe_error(exc)}{_startup_hint(exc, spec)}"
            ) from None

    # -- the probe: how its own sessions are made --------------------------------------------------------

    connect_timeout_key: ClassVar[str] = "connect_timeout"  # libpq's, in whole seconds
    # libpq's tcp_user_timeout is a socket option the kernel enforces: the loopback fault proxy emulates it.
    hang_bound_in_kernel: ClassVar[bool] = True
    adapter_close_wait: ClassVar[float] = 0.0  # seconds SQLAlchemy's adapter waits closing a dead connection

    def probe_session_args(
        self, args: Mapping[str, Any], settings: Mapping[str, str], application_name: str
    ) -> dict[str, Any]:
        """The app's arguments with session settings over them and `application_name` unless the app names
        one: libpq takes settings as `-c name=value` in `options`."""
        out = dict(args)
        extra = " ".join(f"-c {name}={value}" for name, value in settings.items())
        if extra:
            out["options"] = f"{out['options']} {extra}" if out.get("options") else extra
        out.setdefault("application_name", application_name)
        return out

    def probe_scaled_args(
        self, args: Mapping[str, Any], scale: Callable[[float], float]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The arguments with the hang bound's seconds through `scale`, and what it became, for the report:
        tcp_user_timeout, in whole milliseconds."""
        if not args.get("tcp_user_timeout"):
            return dict(args), {}
        ms = max(1, round(scale(float(args["tcp_user_timeout"]) / 1000) * 1000))
        return {**args, "tcp_user_timeout": ms}, {"tcp_user_timeout_ms": ms}

    async def probe_lane(self, dsn: str, kwargs: Mapping[str, Any], timeout: float) -> Any:
        """A raw connection of the probe's own, no pool (discovery's lanes); `kwargs` from probe_session_args.
        psycopg's async connection for every libpq driver: lanes wait in the event loop, not in threads."""
        import psycopg

        return await psycopg.AsyncConnection.connect(
            dsn, autocommit=True, connect_timeout=max(1, round(timeout)), **kwargs
        )

    def probe_abandon(self, conn: Any) -> None:
        """Drop a lane without a goodbye: its socket closes, which also ends a query still waiting on it."""
        conn.pgconn.finish()


def describe_error(exc: BaseException) -> str:
    """`ExceptionType: message` on one line, without the driver's multi-line hints; what the server or the
    driver said with its control characters escaped (redact.printable)."""
    from pool_doctor.redact import printable

    exc = driver_error(exc)
    message = " ".join(str(exc).split()) or "no message"
    if isinstance(exc, OSError) and exc.strerror:
        message = exc.strerror
    return printable(f"{type(exc).__name__}: {message}")


# libpq's own words for an option it cannot read (connection options are parsed before any connection).
_LIBPQ_REFUSED = re.compile(r'for connection option|invalid connection option|invalid [\w ]+ value: "')


def refused_before_connecting(exc: BaseException) -> bool:
    """The driver turned the arguments down before opening a socket: asyncpg's ClientConfigurationError and
    other ValueErrors (not an SSL verification failure, which is an OSError too), psycopg's ProgrammingError,
    libpq's complaint about an option's value."""
    inner = driver_error(exc)
    if isinstance(inner, ValueError) and not isinstance(inner, OSError):
        return True
    if type(inner).__name__ == "ProgrammingError":
        return True
    return bool(_LIBPQ_REFUSED.search(str(inner)))


def _startup_hint(exc: BaseException, spec: ConnectionSpec) -> str:
    """A hint when the peer broke the startup protocol (usually: it is not PostgreSQL at all), or asked for
    a password nobody gave."""
    text = str(exc)
    not_postgres = (
        "expected authentication request",
        "received invalid response to SSL negotiation",
        "server closed the connection unexpectedly",
    )
    if (
        type(exc).__name__ == "ConnectionDoesNotExistError"
        or any(words in text for words in not_postgres)
        or ("rejected SSL upgrade" in text and spec.sslmode not in ("require", "verify-ca", "verify-full"))
    ):
        return " (the server broke off the PostgreSQL startup: is PostgreSQL, or a pooler, listening on that port?)"
    from pool_doctor.connection.pgpass import pgpass_file

    # A password file the driver may read itself (asyncpg reads one others can read too) is a password given.
    given = spec.password is not None or spec.service_password is not None or pgpass_file(os.environ, False)
    if not given and ("password authentication failed" in text or "no password supplied" in text):
        return " (no password was given: put it in the URL, or use -W, PGPASSWORD or a pgpass file)"
    if spec.password is None and "'NoneType' object has no attribute 'decode'" in text:  # pg8000 1.31, asked
        return (  # for a password it was not given (the app's own connect fails the same way)
            " (the server asked for a password and none was given: pg8000 reads neither PGPASSWORD nor ~/.pgpass;"
            " put it in the URL, or use -W)"
        )
    if "rejected SSL upgrade" in text or "server does not support SSL" in text:
        return f" (the server does not offer TLS, and sslmode={spec.sslmode} requires it)"
    return ""


def _number(value: Any) -> float | None:
    try:
        number = float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
    return number if number and number > 0 else None


def _is_zero(value: Any) -> bool:
    try:
        return value is not None and int(value) == 0
    except (TypeError, ValueError):
        return False


@dataclass(frozen=True)
class ServerKeepalivesDriver(Driver):
    """A driver with no libpq (asyncpg, pg8000): its hang bound is a number of seconds (`hang_key`), and with no
    client keepalive timing of its own it asks the server to send keepalives, in the table of settings it sends
    at startup (`settings_table`: asyncpg's server_settings, pg8000's startup_params)."""

    settings_table: ClassVar[str] = ""

    def hang_bound(self, args: Mapping[str, Any]) -> tuple[float, Knob] | None:
        value = _number(args.get(self.hang_key))
        return (value, Knob(f"connect_args.{self.hang_key}", args[self.hang_key])) if value else None

    def keepalive_idle(self, args: Mapping[str, Any]) -> tuple[float, Knob] | None:
        settings = args.get(self.settings_table)
        value = _number(settings.get("tcp_keepalives_idle")) if isinstance(settings, Mapping) else None
        return (value, Knob(f"connect_args.{self.settings_table}.tcp_keepalives_idle", value)) if value else None

    def keepalive_settings(self, idle: int, interval: int, count: int) -> dict[str, Any]:
        """The session asks the server to send them (text values, as both drivers take them)."""
        return {
            f"{self.settings_table}.tcp_keepalives_idle": str(idle),
            f"{self.settings_table}.tcp_keepalives_interval": str(interval),
            f"{self.settings_table}.tcp_keepalives_count": str(count),
        }

    def native_kwargs(self, spec: ConnectionSpec) -> dict[str, Any]:
        kwargs = {("database" if key == "dbname" else key): value for key, value in spec.params}
        if spec.password is not None:
            kwargs["password"] = spec.password.get_secret_value()
        return kwargs

    def probe_scaled_args(
        self, args: Mapping[str, Any], scale: Callable[[float], float]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The hang bound, in seconds."""
        if not args.get(self.hang_key):
            return dict(args), {}
        seconds = scale(float(args[self.hang_key]))
        return {**args, self.hang_key: seconds}, {self.hang_key: round(seconds, 3)}
