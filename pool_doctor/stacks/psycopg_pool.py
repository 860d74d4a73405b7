"""psycopg_pool's `ConnectionPool` / `AsyncConnectionPool` as a PoolPolicy. Pure: facts in FACTS.md.

What it does with an idle connection (psycopg_pool 3.3.3 pool.py; pool.py is generated from pool_async.py,
so both classes behave alike):
- getconn hands out the connection at the front of the queue without looking at it; only `check=`
  (e.g. `ConnectionPool.check_connection`, an empty query) tests it first and replaces a failed one.
  Without it the request gets the server's close (`IdleSessionTimeout`).
- `max_lifetime` (3600 s, minus up to 5 % jitter) is compared only when a connection is *returned*
  (`_return_connection`): a connection returned young and then left idle is handed out however long it
  idled. It bounds neither idle time nor age at checkout, so it retires nothing the judge can count on.
- `max_idle` (600 s) is a shrink task that runs every max_idle seconds and closes *one* connection that
  stayed unused through the last period, and only while the pool is above `min_size`.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pool_doctor.connection.values import PythonCode
from pool_doctor.durations import format_seconds
from pool_doctor.errors import ConfigError
from pool_doctor.path.policy import Knob, PoolPolicy
from pool_doctor.stacks import _values, demotion
from pool_doctor.stacks._code import SECRET_NOTE, code_lines
from pool_doctor.stacks.base import IDENTITY, Bound, Live, PoolModel, Stack

if TYPE_CHECKING:
    from pool_doctor.connection.drivers import Driver
    from pool_doctor.connection.spec import ConnectionSpec

STACK = "psycopg_pool"
LIBRARY_VERSION = "psycopg_pool 3.3.3"

# psycopg_pool 3.3.3 psycopg_pool/pool.py ConnectionPool.__init__ (lines 43-64); pool_async.py matches.
DEFAULTS: dict[str, object] = {
    "min_size": 4,  # pool.py:49; kept open whatever their idle time (the shrink stops at min_size)
    "max_size": None,  # pool.py:50; None = min_size (base.py _check_size)
    "check": None,  # pool.py:53; None: getconn does not test the connection
    "timeout": 30.0,  # pool.py:57; getconn's wait for a free connection, not a query bound
    "max_waiting": 0,  # pool.py:58
    "max_lifetime": 3600.0,  # pool.py:59; compared on return only, minus up to 5 % jitter (base.py:197)
    "max_idle": 600.0,  # pool.py:60; one shrink per period, above min_size only
    "reconnect_timeout": 300.0,  # pool.py:61
    "num_workers": 3,  # pool.py:63
}

# pool-doctor's own key, not the library's: the class the app builds (the scan reads it off the call).
POOL_CLASS = "pool_class"
KEYS = frozenset(DEFAULTS) | {
    "conninfo",
    "connection_class",
    "kwargs",
    "open",
    "configure",
    "reset",
    "name",
    "close_returns",
    "reconnect_failed",
    POOL_CLASS,
}

# The pool classes, which differ in threads or asyncio and in keeping connections, not in their keys.
CLASSES = ("ConnectionPool", "AsyncConnectionPool", "NullConnectionPool", "AsyncNullConnectionPool")
NULL_CLASSES = ("NullConnectionPool", "AsyncNullConnectionPool")  # a new connection per getconn, none kept
DEFAULT_CLASS = "ConnectionPool"

# What `check` may name for the pool's own test (the config holds a name, not a callable).
_CHECK_NAMES = frozenset({"check_connection", *(f"{name}.check_connection" for name in CLASSES)})


def unknown_keys(values: Mapping[str, object]) -> list[str]:
    """Keys ConnectionPool(...) does not take."""
    return _values.unknown(values, KEYS)


def policy(
    values: Mapping[str, object],
    *,
    hang: tuple[float, Knob] | None = None,
    keepalive: tuple[float, Knob] | None = None,
    label: str = "psycopg_pool",
    stack: str = STACK,
    key_prefix: str = "",
    ping_key: str = "check",
    libpq_prefix: str = "kwargs.",
) -> PoolPolicy:
    """The pool `ConnectionPool(**values)` builds.

    `label`, `stack` and the key names (pool keys under `key_prefix`, the ping under `ping_key`, libpq
    parameters under `libpq_prefix`) let Django's OPTIONS["pool"] reuse it in Django's own terms.
    """
    merged = _values.merged(DEFAULTS, values)
    cls = merged.get(POOL_CLASS) or DEFAULT_CLASS
    if cls not in CLASSES:
        raise ConfigError(f"{key_prefix}{POOL_CLASS} must be one of {', '.join(CLASSES)}, not {cls!r}")
    if cls in NULL_CLASSES:
        label = f"psycopg_pool's {cls}"
    # ConnectionPool's own checks (base.py _check_size), named where the user writes them.
    min_size, max_size = _values.sizes(merged, high_default_low=True, prefix=key_prefix)
    check = merged.get("check")
    # Only the pool's own test is known to reach the server; a custom callable's name says nothing.
    checks = check is True or is_pool_check(check)
    idle = _idle_bound(merged, min_size, max_size)
    return PoolPolicy(
        stack=stack,
        label=label,
        reuses=cls not in NULL_CLASSES,
        max_age=None,  # max_lifetime is checked on return, not at getconn: no bound at checkout
        max_idle=idle,
        max_idle_knob=Knob(f"{key_prefix}max_idle", merged["max_idle"]) if idle is not None else None,
        spares=min_size,
        notices_close=False,  # getconn does not look at the socket: it hands out the closed connection
        ping=checks,
        ping_knob=Knob(ping_key, True if ping_key != "check" else "check_connection") if checks else None,
        hang_bound=hang[0] if hang else None,
        hang_knob=hang[1] if hang else None,
        keepalive_idle=keepalive[0] if keepalive else None,
        keepalive_knob=keepalive[1] if keepalive else None,
        # No max_age lever: max_lifetime is checked on return, so it bounds no checkout.
        levers=(
            ("max_idle", f"{key_prefix}max_idle"),
            ("spares", f"{key_prefix}min_size"),
            ("ping", ping_key),
            ("hang", _values.lever_key(hang, f"{libpq_prefix}tcp_user_timeout")),
            ("keepalive", _values.lever_key(keepalive, f"{libpq_prefix}keepalives_idle")),
        ),
    )


def is_pool_check(check: object) -> bool:
    """Whether `check` names psycopg_pool's own test (`ConnectionPool.check_connection`)."""
    return isinstance(check, str) and check.strip() in _CHECK_NAMES


def check_name(value: object) -> object:
    """The app's `check=` as the config names it: the app's own class's check_connection
    (AsyncConnectionPool.check_connection, as recommend writes it back); another callable as given."""
    if not isinstance(value, str) or not value.endswith("check_connection"):
        return value
    owner = value.split(".")[-2] if "." in value else ""
    return f"{owner}.check_connection" if owner in CLASSES else "ConnectionPool.check_connection"


def pool_class(call: str | None) -> str:
    """The class the app's code calls (`psycopg_pool.AsyncConnectionPool` -> AsyncConnectionPool);
    ConnectionPool when no code says."""
    name = (call or "").rsplit(".", 1)[-1]
    return name if name in CLASSES else DEFAULT_CLASS


def is_async(name: str) -> bool:
    """AsyncConnectionPool and AsyncNullConnectionPool: opened and used inside a running event loop."""
    return name.startswith("Async")


def _idle_bound(merged: Mapping[str, object], min_size: int, max_size: int) -> float | None:
    """The longest a connection above min_size can sit idle before the shrink task closes it.

    The task closes one connection per max_idle period, and only after a whole period in which that many
    stayed unused, so with n connections above min_size the last goes after up to (n + 1) periods
    (seen: 3 connections, max_idle 1 s, closed at 2, 3 and 4 s).
    """
    period = _values.seconds(merged, "max_idle")
    if period is None or period <= 0:
        return None
    return period * (max(max_size - min_size, 1) + 1)


def max_idle_for(below: int, values: Mapping[str, object]) -> tuple[float, str]:
    """The max_idle that closes every idle connection within `below` seconds once min_size is 0 (recommend
    drops the floor with it): the shrink task closes one per period (see _idle_bound), so the periods for
    every connection together must stay below it. Tenths of a second: psycopg_pool takes a float."""
    merged = _values.merged(DEFAULTS, values)
    high = _values.count(merged, "max_size") or _values.count(merged, "min_size") or 1
    periods = high + 1
    return max(0.1, math.floor(below / periods * 10) / 10), (
        f"psycopg_pool closes one idle connection above min_size per max_idle period: {periods} periods "
        f"stay below {format_seconds(below + 1)}."
    )


def without_floor(key: str, values: Mapping[str, object]) -> dict[str, object]:
    """min_size 0 (`key`), and the max_size the pool had: ConnectionPool takes max_size = min_size when none is
    given, and refuses min_size = max_size = 0."""
    changes: dict[str, object] = {key: 0}
    if values.get("max_size") is None:
        changes[key.removesuffix("min_size") + "max_size"] = max_size(values)[0] or 1
    return changes


def max_size(values: Mapping[str, object], prefix: str = "") -> tuple[int, str]:
    """The most connections `ConnectionPool(**values)` opens (max_size, else min_size), and the key saying so."""
    merged = _values.merged(DEFAULTS, values)
    low = _values.count(merged, "min_size") or 0
    high = _values.count(merged, "max_size")
    most = low if high is None else high
    return most, f"{prefix}max_size {most}"


class PsycopgPoolModel(PoolModel):
    """`[pool] stack = "psycopg_pool"`: ConnectionPool's own keys; the driver's under `kwargs`."""

    stack: Literal["psycopg_pool"]


class PsycopgPoolStack(Stack):
    name = STACK
    label = "psycopg_pool"
    extra = "psycopg_pool"
    module = "psycopg_pool"
    library_version = LIBRARY_VERSION
    defaults = DEFAULTS
    keys = KEYS
    args_prefix = "kwargs."
    fork_unsafe_at_import = True
    time_keys = ("max_idle", "max_lifetime")
    model: ClassVar[type[PoolModel]] = PsycopgPoolModel
    scanned_as = ("psycopg_pool",)

    callables = frozenset({"connection_class", "configure", "reset", "reconnect_failed", "name"})
    code_calls: ClassVar[Mapping[str, tuple[str, frozenset[str]]]] = {STACK: (STACK, frozenset(CLASSES))}
    shown = (
        "check",
        "min_size",
        "max_size",
        "max_idle",
        "max_lifetime",
        "timeout",
        "kwargs.prepare_threshold",
        "kwargs.tcp_user_timeout",
        "kwargs.keepalives_idle",
    )

    ping_value = "check_connection"

    def own_driver_args(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return _values.table(values, "kwargs")

    def ping_cost(self, driver: Driver) -> str:
        return "check_connection sends an empty query"

    def demotion(self, driver: Driver, call: str | None) -> demotion.Demotion | None:
        return demotion.PSYCOPG_POOL_ASYNC if is_async(pool_class(call)) else demotion.PSYCOPG_POOL_SYNC

    def python_snippet(
        self, values: Mapping[str, Any], connect_args: Mapping[str, Any], target: ConnectionSpec, call: str | None
    ) -> str:
        rest = dict(values)
        if connect_args:
            rest["kwargs"] = {**connect_args, **dict(rest.get("kwargs") or {})}
        # The app's own class: an async pool stays async, a null pool stays a null pool.
        cls = str(rest.pop(POOL_CLASS, None) or pool_class(call))
        check = rest.pop("check", None)
        # An async pool is opened in the running loop (`await pool.open()`): psycopg_pool warns when its
        # constructor opens it. A sync pool says open=True, since an implicit open is deprecated.
        opened = rest.pop("open", not is_async(cls))
        dsn = target.with_password(None).render(hide_password=True, driver="")
        lines = [f"from psycopg_pool import {cls}", "", f"pool = {cls}(", f"    {SECRET_NOTE}", f"    {dsn!r},"]
        if check:
            lines.append(f"    check={cls}.check_connection,")
        for key, value in rest.items():
            lines += code_lines(f"{key}=", value, ",", 4)
        return "\n".join([*lines, f"    open={opened!r},", ")"]) + "\n"

    def max_idle_value(self, below: int, pool: PoolModel) -> tuple[Any, str]:
        return max_idle_for(below, self.values(pool))

    def no_spares(self, key: str, pool: PoolModel) -> dict[str, Any]:
        return without_floor(key, self.values(pool))

    def code_value(self, key: str, value: Any) -> Any:
        return check_name(value) if key == "check" else value

    def code_form(self, key: str, value: Any, call: str) -> Any:
        if key == "check" and is_pool_check(value):
            return PythonCode(f"{pool_class(call)}.check_connection", str(value))
        return value

    def code_defaults(self, scanned_as: str, call: str, values: Mapping[str, Any]) -> dict[str, Any]:
        cls = pool_class(call)
        return {POOL_CLASS: cls} if cls != DEFAULT_CLASS else {}

    def own_pool_args(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in values.items() if key != POOL_CLASS}

    def driver_name(self, url_driver: str) -> str:
        return "psycopg"

    def live(self, obj: Any) -> Live | None:
        """A psycopg_pool pool (sync or async, null or not): its public settings, its check callback by name."""
        if "psycopg_pool" not in sys.modules:
            return None
        from psycopg_pool.base import BasePool

        if not isinstance(obj, BasePool):
            return None
        pool: Any = obj
        check = getattr(pool, "_check", None)  # psycopg_pool keeps check= with no public reader
        values: dict[str, Any] = {
            "stack": self.name,
            "min_size": pool.min_size,
            "max_size": pool.max_size,
            "timeout": pool.timeout,
            "max_lifetime": pool.max_lifetime,
            "max_idle": pool.max_idle,
            "check": None if check is None else check_name(getattr(check, "__qualname__", repr(check))),
            "kwargs": {key: value for key, value in (pool.kwargs or {}).items() if key not in IDENTITY},
        }
        if type(pool).__name__ != DEFAULT_CLASS and type(pool).__name__ in CLASSES:
            values[POOL_CLASS] = type(pool).__name__
        identity = {key: value for key, value in (pool.kwargs or {}).items() if key in IDENTITY}
        conninfo = " ".join([pool.conninfo, *(f"{key}={value}" for key, value in identity.items())]).strip()
        return Live(conninfo, values)

    def read(self, values: Mapping[str, Any], hang: Bound = None, keepalive: Bound = None) -> PoolPolicy:
        return policy(values, hang=hang, keepalive=keepalive)

    def max_connections(self, pool: PoolModel) -> tuple[int, str]:
        return max_size(self.values(pool))

    def exhausted(self, pool: PoolModel) -> str | None:
        timeout = float(_values.merged(DEFAULTS, self.values(pool)).get("timeout") or 30)  # type: ignore[arg-type]
        # pool.py ConnectionPool.getconn
        return f"after {timeout:g}s of waiting, psycopg_pool's PoolTimeout: couldn't get a connection after {timeout:.2f} sec"

    def candidates(self, below: int | None) -> list[tuple[Knob, PoolPolicy]]:
        return [(Knob("check", "ConnectionPool.check_connection"), policy({"check": "check_connection"}))]

    # -- the probe: AsyncConnectionPool(conninfo, kwargs=..., **values), behind the probe's engine calls --------

    # Keys the probe's pool sets itself (conninfo, open; kwargs: the driver's) or a config cannot give (callables).
    _probe_sets = frozenset(
        {"conninfo", "kwargs", "open", "connection_class", "configure", "reset", "reconnect_failed"}
    )
    # Seconds getconn waits after a failed check before it tries the next connection: 1 s, 10 % jitter (3.3).
    getconn_backoff: ClassVar[float] = 1.1
    one_connection_note: ClassVar[str] = (
        "psycopg_pool ran with min_size = max_size = 1 (the scenario uses one connection): after a failed check its "
        "getconn backs off 1, 2, 4, 8 s before the next, so with min_size 4 the connections it adds meanwhile outlive "
        "the time-scaled limit and die too (PoolTimeout), which the real, unscaled limit would not do"
    )

    @staticmethod
    def one_connection(values: Mapping[str, Any]) -> dict[str, Any]:
        """The pool's keys with one connection: see one_connection_note."""
        return {**values, "min_size": 1, "max_size": 1}

    def probe_pool_values(self, values: Mapping[str, Any]) -> dict[str, Any]:
        own = self.own_pool_args(values)
        return {key: value for key, value in own.items() if key in KEYS and key not in self._probe_sets}

    def probe_slack(self, values: Mapping[str, Any], policy: PoolPolicy, driver: Driver, idle: float) -> float:
        return self.getconn_backoff

    def probe_notes(self, values: Mapping[str, Any]) -> list[str]:
        return [self.one_connection_note]

    def probe_pool(
        self,
        target: ConnectionSpec,
        driver: Driver,
        values: Mapping[str, Any],
        args: Mapping[str, Any],
        *,
        read_only_transactions: bool,
    ) -> Any:
        from pool_doctor.probe.pools import CONNECT_TIMEOUT, PsycopgPool

        pool = self.one_connection(values)
        check = pool.pop("check", None)
        conninfo = target.render(hide_password=False, driver="")
        kwargs = {driver.connect_timeout_key: CONNECT_TIMEOUT, **args}
        return PsycopgPool(conninfo, pool, kwargs, read_only_transactions, check=check is True or is_pool_check(check))
