"""Each pool stack's own keys and defaults, mapped to the stack-neutral PoolPolicy the judge reads.

One module per stack holds its library's defaults in one table, with the version they come from. This
registry says, for each stack, which driver it uses, where its driver arguments live among its own keys,
and how the judge's levers are named in its terms.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pool_doctor.path.policy import Knob, PoolPolicy
from pool_doctor.stacks import _values

if TYPE_CHECKING:
    from pool_doctor.config import AppConfig
    from pool_doctor.connection.drivers import Driver

STACKS = ("sqlalchemy", "asyncpg", "psycopg_pool", "django")
SQLALCHEMY_KEYS = (
    "pool_size",
    "max_overflow",
    "pool_recycle",
    "pool_pre_ping",
    "pool_timeout",
    "pool_use_lifo",
    "poolclass",
)


@dataclass(frozen=True)
class Stack:
    name: str
    label: str
    extra: str | None  # the pool-doctor extra that installs its library
    module: str | None  # the library's import name
    args_prefix: str  # where the driver's keyword arguments live among the stack's keys

    def values(self, settings: AppConfig) -> dict[str, Any]:
        """The stack's own keys as given under [pool] (library names), nothing else."""
        if self.name == "sqlalchemy":
            return settings.pool.model_dump(exclude_none=True, exclude={"stack"})
        return dict(settings.pool.model_extra or {})

    def driver_args(self, settings: AppConfig) -> dict[str, Any]:
        """The driver's keyword arguments as this stack passes them ([connect_args] for SQLAlchemy)."""
        values = self.values(settings)
        if self.name == "asyncpg":
            from pool_doctor.stacks import asyncpg_pool

            own = {k: v for k, v in values.items() if k in asyncpg_pool.KEYS and k not in asyncpg_pool.DEFAULTS}
        elif self.name == "psycopg_pool":
            own = _values.table(values, "kwargs")
        elif self.name == "django":
            own = {k: v for k, v in _values.table(values, "OPTIONS").items() if k != "pool"}
        else:
            own = {}
        return {**settings.connect_args, **own}

    def check_values(self, values: Mapping[str, Any]) -> None:
        """A ConfigError for a key of this stack its library would refuse (a table that is not one, min_size
        above max_size, a negative age, ...): the stack's policy read once, with no driver. SQLAlchemy's keys
        are PoolConfig's own fields, checked by pydantic."""
        if self.name == "sqlalchemy":
            return
        if self.args_prefix:  # where the driver's arguments live must be a table (kwargs, OPTIONS)
            _values.table(values, self.args_prefix.removesuffix("."))
        if self.name == "asyncpg":
            from pool_doctor.stacks import asyncpg_pool as module
        elif self.name == "psycopg_pool":
            from pool_doctor.stacks import psycopg_pool as module  # type: ignore[no-redef]
        else:
            from pool_doctor.stacks import django as module  # type: ignore[no-redef]
        module.policy(values)

    def driver_name(self, url_driver: str) -> str:
        """The driver the stack's connections come from."""
        if self.name == "asyncpg":
            return "asyncpg"
        if self.name == "psycopg_pool":
            return "psycopg"
        if self.name == "django":
            # Django's postgresql backend takes psycopg 3 when it is importable, else psycopg2.
            return "psycopg" if importlib.util.find_spec("psycopg") is not None else "psycopg2"
        return url_driver

    def policy(self, settings: AppConfig, driver: Driver) -> PoolPolicy:
        args = self.driver_args(settings)
        hang = self._rekey(driver.hang_bound(args))
        keepalive = self._rekey(driver.keepalive_idle(args))
        if self.name == "sqlalchemy":
            from pool_doctor.stacks import sqlalchemy

            return sqlalchemy.policy(settings.pool, driver, args)
        values = self.values(settings)
        if self.name == "asyncpg":
            from pool_doctor.stacks import asyncpg_pool

            return asyncpg_pool.policy(values, hang=hang, keepalive=keepalive, version=_version("asyncpg"))
        if self.name == "psycopg_pool":
            from pool_doctor.stacks import psycopg_pool

            return psycopg_pool.policy(values, hang=hang, keepalive=keepalive)
        from pool_doctor.stacks import django

        return django.policy(values, hang=hang, keepalive=keepalive)

    def max_connections(self, settings: AppConfig) -> tuple[int, str]:
        """The most connections one pool of this stack opens, and the keys that say so (for evidence)."""
        pool = settings.pool
        if self.name == "sqlalchemy":
            return pool.max_connections, f"pool_size {pool.pool_size} + max_overflow {pool.max_overflow}"
        values = self.values(settings)
        if self.name == "asyncpg":
            from pool_doctor.stacks import asyncpg_pool

            most = _values.count(_values.merged(asyncpg_pool.DEFAULTS, values), "max_size") or 0
            return most, f"max_size {most}"
        if self.name == "django":
            options = values.get("OPTIONS")
            sizes = options.get("pool") if isinstance(options, dict) else None
            if not isinstance(sizes, dict):
                return 1, "one connection per worker"  # Django without OPTIONS["pool"]: one per thread
            values, prefix = sizes, "OPTIONS.pool."
        else:
            prefix = ""
        from pool_doctor.stacks import psycopg_pool

        merged = _values.merged(psycopg_pool.DEFAULTS, values)
        low = _values.count(merged, "min_size") or 0
        high = _values.count(merged, "max_size")
        most = low if high is None else high
        return most, f"{prefix}max_size {most}"

    def unknown_keys(self, settings: AppConfig) -> list[str]:
        """[pool] keys that do not belong to this stack, and SQLAlchemy's keys given for another stack."""
        if self.name == "sqlalchemy":
            return sorted(settings.pool.model_extra or {})
        given = sorted(set(settings.pool.model_fields_set) & set(SQLALCHEMY_KEYS))
        values = self.values(settings)
        if self.name == "asyncpg":
            from pool_doctor.stacks import asyncpg_pool as module
        elif self.name == "psycopg_pool":
            from pool_doctor.stacks import psycopg_pool as module  # type: ignore[no-redef]
        else:
            from pool_doctor.stacks import django as module  # type: ignore[no-redef]
        return given + module.unknown_keys(values)

    def _rekey(self, bound: tuple[float, Knob] | None) -> tuple[float, Knob] | None:
        """A driver bound named where this stack takes it (connect_args.X -> kwargs.X, OPTIONS.X, X)."""
        if bound is None or self.name == "sqlalchemy":
            return bound
        key = bound[1].key.removeprefix("connect_args.")
        return bound[0], Knob(self.args_prefix + key, bound[1].value)


REGISTRY: dict[str, Stack] = {
    "sqlalchemy": Stack("sqlalchemy", "SQLAlchemy", None, "sqlalchemy", "connect_args."),
    "asyncpg": Stack("asyncpg", "asyncpg's create_pool", None, "asyncpg", ""),
    "psycopg_pool": Stack("psycopg_pool", "psycopg_pool", "psycopg_pool", "psycopg_pool", "kwargs."),
    "django": Stack("django", "Django", "django", "django", "OPTIONS."),
}


def stack_for(name: str) -> Stack:
    return REGISTRY[name]


def _version(module: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(module)
    except PackageNotFoundError:
        return None


def flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested keys as dots: {"kwargs": {"tcp_user_timeout": 1}} -> {"kwargs.tcp_user_timeout": 1}."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def unflatten(values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        node = out
        *parents, last = key.split(".")
        for part in parents:
            if not isinstance(node.get(part), dict):
                # Keys under it make it a table: Django's OPTIONS["pool"] = True (psycopg_pool's defaults), or
                # kwargs=None in the app's code with a recommended kwargs.tcp_user_timeout.
                node[part] = {}
            node = node[part]
        if isinstance(node.get(last), dict) and value is True:
            continue  # the same `pool = true` after its keys: the dict already says it
        node[last] = value
    return out


def candidates(stack: str, below: int | None) -> list[tuple[Knob, PoolPolicy]]:
    """One lever at a time, set as a user of the stack would set it, with the policy the stack then builds:
    a ping at checkout, and (when `below`, whole seconds under a limit, is given) a lifetime or idle timer
    reaching every connection. What explain offers against a limit the judge says these beat."""
    if stack == "sqlalchemy":
        from pool_doctor.config import PoolConfig
        from pool_doctor.connection.drivers import DRIVERS
        from pool_doctor.stacks import sqlalchemy

        options = [PoolConfig(pool_pre_ping=True)] + ([PoolConfig(pool_recycle=below)] if below else [])
        built = [sqlalchemy.policy(pool, DRIVERS["psycopg"], {}) for pool in options]
        found: list[tuple[Knob, PoolPolicy]] = []
        for policy in built:
            knob = policy.ping_knob if policy.ping else policy.max_age_knob
            if knob is not None:
                found.append((knob, policy))
        return found
    if stack == "asyncpg":
        from pool_doctor.stacks import asyncpg_pool

        if not below:
            return []
        policy = asyncpg_pool.policy({"max_inactive_connection_lifetime": below, "min_size": 0})
        return [(Knob("max_inactive_connection_lifetime", below), policy)]
    if stack == "psycopg_pool":
        from pool_doctor.stacks import psycopg_pool

        return [(Knob("check", "ConnectionPool.check_connection"), psycopg_pool.policy({"check": "check_connection"}))]
    if stack == "django":
        from pool_doctor.stacks import django

        found = [(Knob("CONN_HEALTH_CHECKS", True), django.policy({"CONN_MAX_AGE": 600, "CONN_HEALTH_CHECKS": True}))]
        if below:
            found.append((Knob("CONN_MAX_AGE", below), django.policy({"CONN_MAX_AGE": below})))
        return found
    return []
