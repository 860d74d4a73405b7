"""`--app PATH`: each pool the scan found, as a layer of the app's config (between the config file and the
library's defaults), in the keys `[pool]` and `[connect_args]` take for its stack.

Pure: a ScannedPool in, plain data out. What the scan could not resolve is left out (the library default
stands) and said in a warning naming the key and the pool's `file:line`. The server is the one `--url`
gives: the code's own host, port, user and database never replace it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pool_doctor.errors import UsageError
from pool_doctor.scan.model import ScannedPool, ScanReport
from pool_doctor.scan.rules import driver_of, is_postgres
from pool_doctor.stacks import flatten

# Where the code says which server: --url says it for pool-doctor.
IDENTITY = frozenset(
    {
        "host",
        "hostaddr",
        "port",
        "user",
        "password",
        "passfile",
        "dbname",
        "database",
        "dsn",
        "conninfo",
        "url",
        "service",
        "servicefile",
        "NAME",
        "USER",
        "PASSWORD",
        "HOST",
        "PORT",
    }
)
SQLALCHEMY_POOL_KEYS = (
    "pool_size",
    "max_overflow",
    "pool_recycle",
    "pool_pre_ping",
    "pool_timeout",
    "pool_use_lifo",
    "poolclass",
)
POOLCLASSES = ("QueuePool", "AsyncAdaptedQueuePool", "NullPool", "StaticPool")
# Keys whose values are callables or objects the judge has no use for (asyncpg, psycopg_pool). psycopg_pool's
# `open` is kept though not judged: recommend writes it back as the app gives it.
CALLABLES = frozenset(
    {
        "connect",
        "setup",
        "init",
        "reset",
        "loop",
        "connection_class",
        "record_class",
        "configure",
        "reconnect_failed",
        "name",
    }
)
PSYCOPG2_JUDGED_AS = "psycopg2's pool, judged as a pool with no liveness check and no lifetime"


@dataclass(frozen=True)
class AppLayer:
    """One scanned pool as config: `data` shaped like a config file's tables, each key's origin, what is unknown."""

    pool: ScannedPool
    stack: str  # the core's stack: sqlalchemy, asyncpg, psycopg_pool or django
    data: dict[str, dict[str, Any]]
    origins: dict[str, str]  # dotted key as `sources` names it -> "app/db.py:12" (and the variable overriding it)
    unknown: dict[str, str]  # dotted key -> the source text the scan could not resolve
    driver: str | None  # the driver the code's URL names, when it names one
    warnings: tuple[str, ...]
    judged_as: str | None = None


def pick(report: ScanReport, choice: str | None, app: str) -> tuple[list[ScannedPool], list[str]]:
    """The pools to judge: every PostgreSQL pool, or the one at `--pool FILE:LINE`; and warnings for the rest."""
    warnings = [
        f"{pool.where}: {pool.call} does not connect to PostgreSQL (not judged)"
        for pool in report.pools
        if not is_postgres(pool)
    ]
    pools = [pool for pool in report.pools if is_postgres(pool)]
    if not pools:
        raise UsageError(
            f"--app {app}: no PostgreSQL pool found in the code (pool-doctor scan {app} shows what was read)"
        )
    if choice is None:
        return pools, warnings
    file, sep, line_text = choice.rpartition(":")
    if not sep or not line_text.strip().isdigit():
        raise UsageError(f"--pool {choice!r}: expected FILE:LINE, as pool-doctor scan prints it")
    line = int(line_text)
    wanted = os.path.normpath(file)
    found = [
        pool for pool in pools if _same_file(pool.file, wanted) and pool.line <= line <= max(pool.end_line, pool.line)
    ]
    if not found:
        listed = ", ".join(pool.where for pool in pools)
        raise UsageError(f"--pool {choice}: no pool there; the app's pools: {listed}")
    return found[:1], []


def _same_file(scanned: str, wanted: str) -> bool:
    scanned = os.path.normpath(scanned)
    return scanned == wanted or os.path.abspath(scanned) == os.path.abspath(wanted)


def as_layer(pool: ScannedPool) -> AppLayer:
    """The scanned pool's settings in its stack's config keys."""
    pool_keys: dict[str, Any] = {}
    connect_args: dict[str, Any] = {}
    origins: dict[str, str] = {}
    unknown: dict[str, str] = {}
    warnings: list[str] = []
    judged_as = None

    def take(target: dict[str, Any], key: str, shown: str, value: Any, where: str) -> None:
        node = target
        *parents, last = key.split(".")
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                return  # OPTIONS.pool = True and OPTIONS.pool.min_size together: the flag stands
            node = child
        node[last] = value
        origins[shown] = where

    # Another stack's keys, held back until the stack has read them together (see _refused).
    held: dict[str, tuple[Any, str]] = {}
    if pool.stack in ("sqlalchemy", "flask_sqlalchemy"):
        stack = "sqlalchemy"
    elif pool.stack == "psycopg2":
        stack, judged_as = "sqlalchemy", PSYCOPG2_JUDGED_AS
    else:
        stack = pool.stack
    for key, scanned in pool.settings.items():
        top = key.split(".")[0]
        where = scanned.from_ or pool.where
        if scanned.env:
            where += f", ${scanned.env} overrides it"
        if stack == "sqlalchemy" and pool.stack != "psycopg2":
            if key in SQLALCHEMY_POOL_KEYS:
                section, name, shown = pool_keys, key, key
            elif top == "connect_args" and "." in key:
                name = key.removeprefix("connect_args.")
                section, shown = connect_args, key
            else:
                continue  # url, echo, isolation_level, ...: not what the judge reads
        elif pool.stack == "psycopg2":
            if key in ("minconn", "maxconn") or top in IDENTITY:
                continue
            section, name, shown = connect_args, key, f"connect_args.{key}"
        elif stack == "django":
            if top not in ("CONN_MAX_AGE", "CONN_HEALTH_CHECKS", "ENGINE", "OPTIONS"):
                continue
            if top == "OPTIONS" and "." in key and key.split(".")[1] in IDENTITY:
                continue
            section, name, shown = pool_keys, key, key
        else:  # asyncpg's create_pool, psycopg_pool's ConnectionPool
            if top in IDENTITY or top in CALLABLES:
                continue
            if top == "kwargs" and len(key.split(".")) > 1 and key.split(".")[1] in IDENTITY:
                continue
            section, name, shown = pool_keys, key, key
        if top == "connect_args" and name.split(".")[0] in IDENTITY:
            continue
        if not scanned.known:
            unknown[shown] = scanned.expr or "?"
            warnings.append(
                f"{pool.where}: {shown} is unknown ({scanned.expr or '?'}): judged with the library default"
            )
            continue
        value = _config_value(shown, scanned.value)
        if value is not _SKIP and stack == "sqlalchemy" and section is pool_keys and not _valid(name, value):
            value = _SKIP
        if value is _SKIP:
            warnings.append(f"{pool.where}: {shown} = {scanned.value!r} is not a value pool-doctor can judge (ignored)")
            continue
        if stack != "sqlalchemy":
            held[name] = (value, where)
            continue
        take(section, name, shown, value, where)
    for key, why in _refused(stack, {key: value for key, (value, _) in held.items()}).items():
        # A shape or value the library would refuse (kwargs=[1, 2], OPTIONS=[1], min_size above max_size): the
        # code's value cannot be judged, so it counts as unknown, like one computed at run time.
        unknown[key] = repr(held.pop(key)[0])
        warnings.append(
            f"{pool.where}: {key} = {unknown[key]} cannot be judged ({why}): judged with the library default"
        )
    for key, (value, where) in held.items():
        take(pool_keys, key, key, value, where)
    if pool.stack == "psycopg2":
        maxconn = pool.get("maxconn")
        if maxconn is not None and maxconn.known and _valid("pool_size", maxconn.value):
            take(pool_keys, "pool_size", "pool_size", maxconn.value, maxconn.from_ or pool.where)
        elif maxconn is not None:
            unknown["pool_size"] = maxconn.expr or "?"
            warnings.append(f"{pool.where}: maxconn is unknown ({maxconn.expr or '?'}): judged with pool_size 5")
        for key, value in (("max_overflow", 0), ("pool_pre_ping", False), ("pool_recycle", -1)):
            take(pool_keys, key, key, value, f"{pool.where} ({pool.call} has none)")
    if pool.unresolved:
        warnings.append(
            f"{pool.where}: could not read {', '.join(pool.unresolved)}: any setting may hide there; judged without it"
        )
    data: dict[str, dict[str, Any]] = {"pool": {"stack": stack, **pool_keys}}
    origins.setdefault("stack", f"{pool.where} ({pool.call})")
    if connect_args:
        data["connect_args"] = connect_args
    driver = driver_of(pool) if stack == "sqlalchemy" else None
    return AppLayer(
        pool=pool,
        stack=stack,
        data=data,
        origins=origins,
        unknown=unknown,
        driver=driver,
        warnings=tuple(warnings),
        judged_as=judged_as,
    )


_SKIP = object()


def _valid(key: str, value: Any) -> bool:
    """Whether SQLAlchemy's key takes this value (a number where a number goes), as [pool] would check it."""
    from pydantic import ValidationError

    from pool_doctor.stacks.sqlalchemy import SQLAlchemyPool

    try:
        SQLAlchemyPool.model_validate({key: value})
    except ValidationError:
        return False
    return True


def _refused(stack: str, values: dict[str, Any]) -> dict[str, str]:
    """Keys (dotted) of another stack the stack refuses, each with why, one at a time until the rest is read:
    the first whose removal lets the rest be read (a key wrong on its own, or the one of a pair that cannot
    go together), else the first that is refused on its own (two wrong keys), else all of them."""
    from pool_doctor.errors import ConfigError
    from pool_doctor.stacks import stack_for, unflatten

    def problem(keys: dict[str, Any]) -> str | None:
        try:
            stack_for(stack).check_values(unflatten(keys))
        except ConfigError as exc:
            return str(exc)
        return None

    refused: dict[str, str] = {}
    while True:
        rest = {key: value for key, value in values.items() if key not in refused}
        why = problem(rest)
        if why is None:
            return refused
        blamed = next((key for key in rest if problem({k: v for k, v in rest.items() if k != key}) is None), None)
        if blamed is not None:
            refused[blamed] = why
            continue
        alone = {key: problem({key: rest[key]}) for key in rest}
        blamed = next((key for key, fault in alone.items() if fault is not None), None)
        if blamed is None:  # no one key is to blame: none of them is judged
            return {**refused, **dict.fromkeys(rest, why)}
        refused[blamed] = alone[blamed] or why


def _config_value(key: str, value: Any) -> Any:
    """A scanned value in the form the config takes: class and function references by their short names."""
    if key == "poolclass":
        name = str(value).rsplit(".", 1)[-1]
        return name if name in POOLCLASSES else _SKIP
    if key in ("check", "OPTIONS.pool.check") and isinstance(value, str) and value.endswith("check_connection"):
        from pool_doctor.stacks.psycopg_pool import CLASSES

        owner = value.split(".")[-2] if "." in value else ""
        # The app's own class (AsyncConnectionPool.check_connection), as recommend writes it back.
        return f"{owner}.check_connection" if owner in CLASSES else "ConnectionPool.check_connection"
    if key == "connect_args.prepared_statement_name_func" and value is not None:
        return "unique"  # a callable: what it names is not read; that the app gives one is what counts
    return value


def merge(lower: Mapping[str, Any], higher: Mapping[str, Any]) -> dict[str, Any]:
    """Nested tables merged key by key, `higher` winning (the config file over the scan)."""
    out = dict(lower)
    for key, value in higher.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def sources(
    values: Mapping[str, Any],
    layer: AppLayer,
    flags: Mapping[str, str],
    file_data: Mapping[str, Any],
    file_origin: str | None,
    environ: Mapping[str, str],
) -> dict[str, tuple[Any, str]]:
    """Each judged key (dotted: pool_recycle, connect_args.command_timeout, OPTIONS.sslmode) -> (value, where it
    came from), in the precedence order: flag > environment > config file > the app's code > library default."""
    env_names = {name.upper(): name for name in environ}
    file_pool = flatten(file_data.get("pool") or {})
    file_args = {f"connect_args.{k}": v for k, v in flatten(file_data.get("connect_args") or {}).items()}
    out: dict[str, tuple[Any, str]] = {}
    for key, value in values.items():
        section, name = (
            ("CONNECT_ARGS", key.removeprefix("connect_args.")) if key.startswith("connect_args.") else ("POOL", key)
        )
        env = [
            env_names[n]
            for n in (f"POOL_DOCTOR_{section}__{name.replace('.', '__')}".upper(), f"POOL_DOCTOR_{section}")
            if n in env_names
        ]
        if key in flags:
            where = flags[key]
        elif env:
            where = f"${env[0]}"
        elif key in file_pool or key in file_args:
            where = file_origin or "config file"
        elif key in layer.origins:
            where = layer.origins[key]
        elif key in layer.unknown:
            where = f"unknown in {layer.pool.where} ({layer.unknown[key]}): library default"
        else:
            where = "library default"
        out[key] = (value, where)
    for key, expr in layer.unknown.items():
        out.setdefault(key, (None, f"unknown in {layer.pool.where} ({expr}): library default"))
    return out
