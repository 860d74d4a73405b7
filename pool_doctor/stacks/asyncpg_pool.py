"""asyncpg's own pool (`asyncpg.create_pool`) as a PoolPolicy. Pure: facts in pool_doctor/stacks/FACTS.md.

What it does with an idle connection (asyncpg 0.32.0 pool.py):
- every pooled connection belongs to a holder the event loop watches: when the server closes it
  (idle_session_timeout, pg_terminate_backend) connection_lost runs and the holder drops it, so acquire
  reconnects (`is_closed()` at acquire) and, since 0.32, a background task restores the min_size floor.
  A middlebox's reset or silent drop sends nothing until the next use, so the pool cannot see those.
- no ping: acquire sends nothing to the server.
- `max_inactive_connection_lifetime` (300 s; 0 = off) closes idle connections, but since 0.32 only those
  above `min_size` (`get_size() <= get_min_size()` keeps the floor). Up to 0.31 it closed every idle one.
- `max_queries` (50000) retires a connection after that many queries, on release: not a time.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pool_doctor.connection.drivers.asyncpg_driver import AsyncpgDriver
from pool_doctor.errors import ConfigError
from pool_doctor.path.policy import Knob, PoolPolicy
from pool_doctor.stacks import _values, demotion
from pool_doctor.stacks._code import SECRET_NOTE, code_lines
from pool_doctor.stacks.base import IDENTITY, Bound, Live, PoolModel, Stack, library_version

if TYPE_CHECKING:
    from pool_doctor.connection.drivers import Driver
    from pool_doctor.connection.spec import ConnectionSpec

STACK = "asyncpg"
LIBRARY_VERSION = "asyncpg 0.32.0"

# asyncpg 0.32.0 asyncpg/pool.py create_pool() signature (line 1201).
DEFAULTS: dict[str, object] = {
    "min_size": 10,  # pool.py:1203; since 0.32 the floor the pool keeps and restores
    "max_size": 10,  # pool.py:1204
    "init_size": None,  # pool.py:1202 (new in 0.32); None = min_size
    "max_queries": 50000,  # pool.py:1205; retire after this many queries, checked on release
    "max_inactive_connection_lifetime": 300.0,  # pool.py:1206; 0 disables
}

# create_pool's own keywords (pool.py:1201-1214) and asyncpg.connect()'s, which create_pool passes on.
_POOL_KEYS = frozenset(DEFAULTS) | {
    "dsn",
    "connect",
    "setup",
    "init",
    "reset",
    "loop",
    "connection_class",
    "record_class",
}
# asyncpg.connect()'s keywords, which create_pool passes on to each connection (the driver's own list); the
# ones create_pool also takes itself are its own.
_CONNECT_KEYS = AsyncpgDriver.own_keys - {"dsn", "loop", "connection_class", "record_class"}
KEYS = _POOL_KEYS | _CONNECT_KEYS

# The release in which max_inactive_connection_lifetime stopped closing the min_size floor.
_FLOOR_KEPT_SINCE = (0, 32)


def unknown_keys(values: Mapping[str, object]) -> list[str]:
    """Keys neither create_pool nor asyncpg.connect takes."""
    return _values.unknown(values, KEYS)


def policy(
    values: Mapping[str, object],
    *,
    hang: tuple[float, Knob] | None = None,
    keepalive: tuple[float, Knob] | None = None,
    version: str | None = None,
) -> PoolPolicy:
    """The pool `asyncpg.create_pool(**values)` builds; `version` is the app's asyncpg (default: LIBRARY_VERSION)."""
    merged = _values.merged(DEFAULTS, values)
    min_size, _ = _values.sizes(merged)  # create_pool's own checks (pool.py:416-424)
    lifetime = _values.seconds(merged, "max_inactive_connection_lifetime")
    if lifetime is not None and lifetime < 0:  # create_pool refuses it too (pool.py:443)
        raise ConfigError(f"max_inactive_connection_lifetime must be 0 (off) or more seconds, not {lifetime:g}")
    idle = lifetime if lifetime is not None and lifetime > 0 else None  # 0 turns the timer off
    floor_kept = _values.version_tuple(version or LIBRARY_VERSION) >= _FLOOR_KEPT_SINCE
    return PoolPolicy(
        stack=STACK,
        label="asyncpg's pool",
        reuses=True,
        max_age=None,  # max_queries counts queries, not seconds: no age bound
        max_idle=idle,
        max_idle_knob=Knob("max_inactive_connection_lifetime", merged["max_inactive_connection_lifetime"])
        if idle is not None
        else None,
        spares=min_size if floor_kept else 0,
        notices_close=True,  # connection_lost drops a server-closed connection; acquire reconnects
        ping=False,
        hang_bound=hang[0] if hang else None,
        hang_knob=hang[1] if hang else None,
        keepalive_idle=keepalive[0] if keepalive else None,
        keepalive_knob=keepalive[1] if keepalive else None,
        # No max_age or ping lever: the pool has neither (a `setup=` callback is code, not a setting).
        levers=(
            ("max_idle", "max_inactive_connection_lifetime"),
            ("spares", "min_size"),  # since 0.32 the idle timer spares min_size connections
            ("hang", _values.lever_key(hang, "command_timeout")),
            ("keepalive", _values.lever_key(keepalive, "server_settings.tcp_keepalives_idle")),
        ),
    )


class AsyncpgPoolModel(PoolModel):
    """`[pool] stack = "asyncpg"`: create_pool's and asyncpg.connect()'s own keys, as the app passes them."""

    stack: Literal["asyncpg"]


class AsyncpgStack(Stack):
    name = STACK
    label = "asyncpg's create_pool"
    module = "asyncpg"
    library_version = LIBRARY_VERSION
    defaults = DEFAULTS
    keys = KEYS
    time_keys = ("max_inactive_connection_lifetime",)
    model: ClassVar[type[PoolModel]] = AsyncpgPoolModel
    scanned_as = ("asyncpg",)

    callables = frozenset({"connect", "setup", "init", "reset", "loop", "connection_class", "record_class"})
    code_calls: ClassVar[Mapping[str, tuple[str, frozenset[str]]]] = {
        "asyncpg": ("asyncpg", frozenset({"create_pool"})),
        # buildpg 0.4's `buildpg.asyncpg` is `from asyncpg import *`, and its create_pool_b takes create_pool's
        # arguments with the same defaults (buildpg/asyncpg.py)
        "buildpg": ("asyncpg", frozenset({"create_pool", "create_pool_b"})),
        # asyncpgsa 0.27's create_pool hands every argument (but `dialect`) on to asyncpg.create_pool
        # (asyncpgsa/pool.py); its PG singleton's init() does the same, read as a pool the library makes
        "asyncpgsa": ("asyncpg", frozenset({"create_pool"})),
    }

    def public_call(self, module: str, name: str) -> str:
        return f"buildpg.asyncpg.{name}" if module == "buildpg" else super().public_call(module, name)

    shown = (
        "min_size",
        "max_size",
        "max_inactive_connection_lifetime",
        "max_queries",
        "command_timeout",
        "statement_cache_size",
    )

    def own_driver_args(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """asyncpg.connect()'s keywords among create_pool's: create_pool passes them on."""
        return {key: value for key, value in values.items() if key in _CONNECT_KEYS}

    def driver_name(self, url_driver: str) -> str:
        return "asyncpg"

    def live(self, obj: Any) -> Live | None:
        """An asyncpg Pool: create_pool's sizes and timers, and the connect() arguments it passes on (asyncpg
        keeps them on the pool, with no public reader)."""
        if "asyncpg" not in sys.modules:
            return None
        from asyncpg.pool import Pool

        if not isinstance(obj, Pool):
            return None
        given = dict(obj._connect_kwargs)
        dsn = obj._connect_args[0] if obj._connect_args else given.pop("dsn", None)
        values: dict[str, Any] = {
            "stack": self.name,
            "min_size": obj._minsize,
            "max_size": obj._maxsize,
            "max_queries": obj._max_queries,
            "max_inactive_connection_lifetime": obj._max_inactive_connection_lifetime,
            **{key: value for key, value in given.items() if key in _CONNECT_KEYS and key not in IDENTITY},
        }
        if dsn is None:  # host=, user=, ... instead of a DSN
            parts = {key: given[key] for key in ("host", "port", "user", "password", "database") if key in given}
            dsn = " ".join(f"{'dbname' if key == 'database' else key}={value}" for key, value in parts.items())
        return Live(str(dsn), values)

    def demotion(self, driver: Driver, call: str | None) -> demotion.Demotion | None:
        return demotion.ASYNCPG_POOL

    def python_snippet(
        self, values: Mapping[str, Any], connect_args: Mapping[str, Any], target: ConnectionSpec, call: str | None
    ) -> str:
        dsn = target.with_password(None).render(hide_password=True, driver="")
        lines = [
            "import asyncpg",
            "",
            "",
            "async def make_pool() -> asyncpg.Pool:",
            "    return await asyncpg.create_pool(",
            f"        {SECRET_NOTE}",
            f"        {dsn!r},",
        ]
        for key, value in {**connect_args, **values}.items():
            lines += code_lines(f"{key}=", value, ",", 8)
        return "\n".join([*lines, "    )"]) + "\n"

    def read(self, values: Mapping[str, Any], hang: Bound = None, keepalive: Bound = None) -> PoolPolicy:
        return policy(values, hang=hang, keepalive=keepalive, version=library_version("asyncpg"))

    def max_connections(self, pool: PoolModel) -> tuple[int, str]:
        most = _values.count(_values.merged(DEFAULTS, self.values(pool)), "max_size") or 0
        return most, f"max_size {most}"

    def exhausted(self, pool: PoolModel) -> str | None:
        # pool.py Pool.acquire(timeout=None): no bound unless the app passes one
        return "acquire() waits with no timeout unless the app gives one: requests hang until a connection returns"

    def candidates(self, below: int | None) -> list[tuple[Knob, PoolPolicy]]:
        if not below:
            return []
        built = policy({"max_inactive_connection_lifetime": below, "min_size": 0})
        return [(Knob("max_inactive_connection_lifetime", below), built)]

    # -- the probe: asyncpg.create_pool(dsn, **values), behind the probe's engine calls ------------------------

    def probe_pool_values(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in values.items() if key in DEFAULTS}

    def probe_retirement(self, policy: PoolPolicy) -> float | None:
        """The idle timer (max_inactive_connection_lifetime), though since 0.32 it spares min_size connections."""
        return policy.max_idle

    def probe_pool(
        self,
        target: ConnectionSpec,
        driver: Driver,
        values: Mapping[str, Any],
        args: Mapping[str, Any],
        *,
        read_only_transactions: bool,
    ) -> Any:
        from pool_doctor.probe.pools import AsyncpgPool

        dsn = target.render(hide_password=False, driver="")
        return AsyncpgPool(dsn, {**values, **args}, read_only_transactions)
