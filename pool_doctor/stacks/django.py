"""Django's database connections (one `DATABASES` entry) as a PoolPolicy. Pure: facts in FACTS.md.

What Django does with the connection a thread keeps between requests (Django 5.2.19):
- `close_old_connections` runs on request_started and request_finished (db/__init__.py:57-63) and closes a
  connection whose `CONN_MAX_AGE` (seconds since connect; 0 = close after every request; None = never)
  has passed: an age checked at checkout. Outside the request cycle (management commands, Celery tasks)
  nothing runs it.
- `CONN_HEALTH_CHECKS` (4.1+) runs `SELECT 1` before the first query of a request and reconnects when it
  fails (base/base.py `close_if_health_check_failed`, postgresql/base.py `is_usable`).
- Without it, a connection the server closed fails that request with OperationalError; the error marks
  it, request_finished finds it unusable and closes it, so only the next request is healthy again.
- 5.1+: `OPTIONS["pool"]` is a psycopg_pool ConnectionPool (postgresql/base.py:185-223) built with
  `check=ConnectionPool.check_connection` when CONN_HEALTH_CHECKS is on; CONN_MAX_AGE must then be 0.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pool_doctor.errors import ConfigError
from pool_doctor.path.policy import Knob, PoolPolicy
from pool_doctor.stacks import _values, demotion
from pool_doctor.stacks import psycopg_pool as psycopg_pool_stack
from pool_doctor.stacks._code import code_lines, code_literal
from pool_doctor.stacks.base import IDENTITY, POOL, Bound, PoolModel, Stack

if TYPE_CHECKING:
    from pool_doctor.connection.drivers import Driver
    from pool_doctor.connection.spec import ConnectionSpec

STACK = "django"
LIBRARY_VERSION = "Django 5.2.19"

# django/db/utils.py ConnectionHandler.configure_settings (lines 160-170): a DATABASES entry's defaults.
DEFAULTS: dict[str, object] = {
    "CONN_MAX_AGE": 0,  # utils.py:165; 0 = a new connection per request, None = persistent forever
    "CONN_HEALTH_CHECKS": False,  # utils.py:166; True = SELECT 1 before a request's first query
    "OPTIONS": {},  # utils.py:167; OPTIONS["pool"] (5.1+, psycopg 3) turns on psycopg_pool
}

KEYS = frozenset(DEFAULTS) | {
    "ENGINE",
    "NAME",
    "USER",
    "PASSWORD",
    "HOST",
    "PORT",
    "ATOMIC_REQUESTS",
    "AUTOCOMMIT",
    "TIME_ZONE",
    "TEST",
    "DISABLE_SERVER_SIDE_CURSORS",
}
# The DATABASES keys the judge reads; NAME, USER, HOST, ... say which server, which --url says.
_JUDGED = frozenset({"CONN_MAX_AGE", "CONN_HEALTH_CHECKS", "ENGINE", "OPTIONS"})
# Django passes `check` itself (from CONN_HEALTH_CHECKS): naming it in OPTIONS["pool"] is a TypeError.
_POOL_KEYS_DJANGO_SETS = frozenset({"check", "kwargs", "open", "configure"})


def unknown_keys(values: Mapping[str, object]) -> list[str]:
    """Keys a DATABASES entry does not take, and OPTIONS["pool"] keys that psycopg_pool does not take or
    that Django sets itself, named `OPTIONS.pool.<key>`."""
    found = _values.unknown(values, KEYS)
    pool = _pool_options(values)
    if pool:
        strangers = set(psycopg_pool_stack.unknown_keys(pool)) | (set(pool) & _POOL_KEYS_DJANGO_SETS)
        found += [f"OPTIONS.pool.{key}" for key in sorted(strangers)]
    return found


def policy(
    values: Mapping[str, object],
    *,
    hang: tuple[float, Knob] | None = None,
    keepalive: tuple[float, Knob] | None = None,
) -> PoolPolicy:
    """What a DATABASES entry with these keys does between requests."""
    merged = _values.merged(DEFAULTS, values)
    health = _values.flag(merged, "CONN_HEALTH_CHECKS")
    age = _values.seconds(merged, "CONN_MAX_AGE")  # None = persistent forever
    if age is not None and age < 0:
        raise ConfigError(f"CONN_MAX_AGE must be 0 (close after each request), more seconds, or None, not {age:g}")
    pool = _pool_options(merged)
    if pool is not None:
        return _pooled(merged, pool, health, hang, keepalive)
    return PoolPolicy(
        stack=STACK,
        label="Django" if age != 0 else "Django (CONN_MAX_AGE = 0)",
        reuses=age != 0,  # 0: closed at the end of every request
        max_age=age if age else None,
        max_age_knob=Knob("CONN_MAX_AGE", merged["CONN_MAX_AGE"]) if age else None,
        notices_close=False,  # the first query of the request meets the server's close
        ping=health,
        ping_knob=Knob("CONN_HEALTH_CHECKS", True) if health else None,
        hang_bound=hang[0] if hang else None,
        hang_knob=hang[1] if hang else None,
        keepalive_idle=keepalive[0] if keepalive else None,
        keepalive_knob=keepalive[1] if keepalive else None,
        levers=(
            ("max_age", "CONN_MAX_AGE"),
            ("ping", "CONN_HEALTH_CHECKS"),
            ("hang", _values.lever_key(hang, "OPTIONS.tcp_user_timeout")),
            ("keepalive", _values.lever_key(keepalive, "OPTIONS.keepalives_idle")),
        ),
    )


def _pooled(
    merged: Mapping[str, object],
    pool: Mapping[str, object],
    health: bool,
    hang: tuple[float, Knob] | None,
    keepalive: tuple[float, Knob] | None,
) -> PoolPolicy:
    if _values.seconds(merged, "CONN_MAX_AGE") != 0:
        # Django refuses this combination itself (postgresql/base.py:191-194).
        raise ConfigError(
            "Django: OPTIONS['pool'] needs CONN_MAX_AGE = 0 (\"Pooling doesn't support persistent connections\")"
        )
    # Django builds ConnectionPool(check=check_connection if CONN_HEALTH_CHECKS else None, **pool).
    options = {key: value for key, value in pool.items() if key not in _POOL_KEYS_DJANGO_SETS}
    options["check"] = "check_connection" if health else None
    # The lever a Django user turns is CONN_HEALTH_CHECKS, not psycopg_pool's `check`.
    return psycopg_pool_stack.policy(
        options,
        hang=_in_options(hang),
        keepalive=_in_options(keepalive),
        label='Django\'s psycopg_pool (OPTIONS["pool"])',
        stack=STACK,
        key_prefix="OPTIONS.pool.",
        ping_key="CONN_HEALTH_CHECKS",
        libpq_prefix="OPTIONS.",
    )


def _in_options(bound: tuple[float, Knob] | None) -> tuple[float, Knob] | None:
    """A libpq bound as a Django user sets it: in OPTIONS, which Django passes to psycopg as-is."""
    if bound is None or bound[1].key.startswith("OPTIONS."):
        return bound
    key = bound[1].key.removeprefix("connect_args.").removeprefix("kwargs.")
    return bound[0], Knob(f"OPTIONS.{key}", bound[1].value)


def _pool_options(values: Mapping[str, object]) -> dict[str, object] | None:
    """OPTIONS["pool"] as psycopg_pool keys: True means the defaults; absent or false means no pool."""
    pool = _values.table(values, "OPTIONS").get("pool")
    if pool is True:
        return {}
    if isinstance(pool, Mapping) and pool:
        return {str(key): value for key, value in pool.items()}
    if pool is None or pool is False or isinstance(pool, Mapping):
        return None
    raise ConfigError(f"OPTIONS.pool must be true, false or a table of psycopg_pool keys, not {pool!r}")


class DjangoDatabase(PoolModel):
    """`[pool] stack = "django"`: one DATABASES entry's keys (CONN_MAX_AGE, CONN_HEALTH_CHECKS, OPTIONS)."""

    stack: Literal["django"]


class DjangoStack(Stack):
    name = STACK
    label = "Django"
    extra = "django"
    module = "django"
    library_version = LIBRARY_VERSION
    defaults = DEFAULTS
    keys = KEYS
    args_prefix = "OPTIONS."
    # django/db/__init__.py connects close_old_connections to request_started and request_finished only.
    age_enforced_by = "close_old_connections"
    time_keys = ("CONN_MAX_AGE", "OPTIONS.pool.max_idle", "OPTIONS.pool.max_lifetime")
    model: ClassVar[type[PoolModel]] = DjangoDatabase
    scanned_as = ("django",)

    required: ClassVar[Mapping[str, Any]] = {"ENGINE": "django.db.backends.postgresql"}

    @staticmethod
    def postgres_backend(engine: str) -> bool:
        """Whether a DATABASES ENGINE is PostgreSQL's (Django's own, or a wrapper named after it: PostGIS,
        django-tenants' postgresql_backend, django-postgres-extra's psqlextra.backend)."""
        return "postg" in engine or "psycopg" in engine or engine.startswith("psqlextra.")

    def own_driver_args(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in _values.table(values, "OPTIONS").items() if key != "pool"}

    def ping_cost(self, driver: Driver) -> str:
        return "SELECT 1 before a request's first query"

    def demotion(self, driver: Driver, call: str | None) -> demotion.Demotion | None:
        return demotion.DJANGO

    def python_snippet(
        self, values: Mapping[str, Any], connect_args: Mapping[str, Any], target: ConnectionSpec, call: str | None
    ) -> str:
        entry: dict[str, Any] = {
            "ENGINE": self.required["ENGINE"],
            "NAME": target.database,
            "USER": target.user,
            "HOST": target.host,
            "PORT": str(target.port),
        }
        entry.update({key: value for key, value in values.items() if key != "ENGINE"})
        if connect_args:
            entry["OPTIONS"] = {**connect_args, **dict(entry.get("OPTIONS") or {})}
        lines = ["DATABASES = {", '    "default": {']
        for key, value in entry.items():  # Django's settings quote with double quotes
            lines += code_lines(code_literal(key, '"') + ": ", value, ",", 8, quote='"')
        lines += ['        # "PASSWORD": from your secret store or ~/.pgpass, never in code', "    },", "}"]
        return "\n".join(lines) + "\n"

    def max_idle_value(self, below: int, pool: PoolModel) -> tuple[Any, str]:
        return psycopg_pool_stack.max_idle_for(below, _pool_options(self.values(pool)) or {})

    def no_spares(self, key: str, pool: PoolModel) -> dict[str, Any]:
        return psycopg_pool_stack.without_floor(key, _pool_options(self.values(pool)) or {})

    def driver_name(self, url_driver: str) -> str:
        # Django's postgresql backend takes psycopg 3 when it is importable, else psycopg2.
        return "psycopg" if importlib.util.find_spec("psycopg") is not None else "psycopg2"

    def unknown_keys(self, pool: PoolModel) -> list[str]:
        return unknown_keys(self.values(pool))

    shown = (
        "CONN_MAX_AGE",
        "CONN_HEALTH_CHECKS",
        "OPTIONS.pool",
        "OPTIONS.pool.min_size",
        "OPTIONS.pool.max_size",
        "OPTIONS.pool.max_idle",
        "OPTIONS.pool.max_lifetime",
        "OPTIONS.keepalives_idle",
        "OPTIONS.tcp_user_timeout",
    )

    def any_database(self, scanned_as: str) -> bool:
        return True  # (ENGINE picks the backend)

    def code_place(self, scanned_as: str, key: str) -> tuple[str, str] | None:
        parts = key.split(".")
        if parts[0] not in _JUDGED or (parts[0] == "OPTIONS" and len(parts) > 1 and parts[1] in IDENTITY):
            return None
        return POOL, key

    def code_value(self, key: str, value: Any) -> Any:
        if key == "CONN_HEALTH_CHECKS" and isinstance(value, str):  # `if self.health_check_enabled` (5.2
            return bool(value)  # BaseDatabaseWrapper): "False" is a string, true (recommandationsystem's)
        return psycopg_pool_stack.check_name(value) if key == "OPTIONS.pool.check" else value

    def read(self, values: Mapping[str, Any], hang: Bound = None, keepalive: Bound = None) -> PoolPolicy:
        return policy(values, hang=hang, keepalive=keepalive)

    def max_connections(self, pool: PoolModel) -> tuple[int, str]:
        sizes = _pool_options(self.values(pool))
        if sizes is None:
            return 1, "one connection per worker"  # Django without OPTIONS["pool"]: one per thread
        return psycopg_pool_stack.max_size(sizes, "OPTIONS.pool.")

    def candidates(self, below: int | None) -> list[tuple[Knob, PoolPolicy]]:
        found = [(Knob("CONN_HEALTH_CHECKS", True), policy({"CONN_MAX_AGE": 600, "CONN_HEALTH_CHECKS": True}))]
        if below:
            found.append((Knob("CONN_MAX_AGE", below), policy({"CONN_MAX_AGE": below})))
        return found

    # -- the probe: the DATABASES entry under a probe-only alias, one request per checkout --------------------

    one_connection_per_thread = "Django keeps one connection per alias and thread"
    # The entry's keys the probe passes, OPTIONS["pool"] apart: the others say which server, or are the driver's.
    _probe_entry_keys = KEYS - IDENTITY - {"ENGINE", "TEST", "OPTIONS"}

    def probe_pool_values(self, values: Mapping[str, Any]) -> dict[str, Any]:
        pool = {key: value for key, value in values.items() if key in self._probe_entry_keys}
        options = _values.table(values, "OPTIONS")
        if options.get("pool"):
            pool["OPTIONS"] = {"pool": options["pool"]}
        return pool

    def probe_slack(self, values: Mapping[str, Any], policy: PoolPolicy, driver: Driver, idle: float) -> float:
        return psycopg_pool_stack.PsycopgPoolStack.getconn_backoff if _pool_options(values) is not None else 0.0

    def probe_notes(self, values: Mapping[str, Any]) -> list[str]:
        return [psycopg_pool_stack.PsycopgPoolStack.one_connection_note] if _pool_options(values) is not None else []

    def probe_threads(self, values: Mapping[str, Any]) -> str | None:
        # OPTIONS["pool"] is psycopg_pool's ConnectionPool: its scheduler thread retires idle connections.
        return "psycopg_pool's scheduler thread (OPTIONS pool)" if _pool_options(values) is not None else None

    def probe_pool(
        self,
        target: ConnectionSpec,
        driver: Driver,
        values: Mapping[str, Any],
        args: Mapping[str, Any],
        *,
        read_only_transactions: bool,
    ) -> Any:
        from pool_doctor.probe.pools import CONNECT_TIMEOUT, DjangoPool, django_entry

        entry = dict(values)
        pool = _pool_options(values)
        if pool is not None:
            one = psycopg_pool_stack.PsycopgPoolStack.one_connection(pool)
            entry["OPTIONS"] = {**_values.table(values, "OPTIONS"), "pool": one}
        options = {driver.connect_timeout_key: CONNECT_TIMEOUT, **args}
        return DjangoPool(django_entry(target, entry, options), read_only_transactions)
