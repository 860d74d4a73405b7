"""From the parsed options to the typed `Inputs` every command runs on: the config file, the environment,
the connection (--url, DATABASE_URL, libpq's PG* and ~/.pgpass, -W) and, with --app, each pool the code creates.

Precedence, for every value: flag > environment > config file > the app's code > library default. The
environment is the mapping the caller hands in (cli.main's `env`), not read from the process here;
pydantic-settings still reads the process's own (see `build_inputs`). Nothing here sees Typer.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pool_doctor.errors import UsageError

if TYPE_CHECKING:
    from pool_doctor.check import AppPool, Inputs
    from pool_doctor.cli_options import CommonArgs
    from pool_doctor.connection.spec import ConnectionSpec
    from pool_doctor.platforms import Runtime
    from pool_doctor.stacks.base import Stack

MAX_PASSWORD = 4096  # characters of a password read from stdin (-W): more is not a password

# The flag that sets each [pool] key, for the report's "from" column.
POOL_FLAGS = {
    "stack": "--stack",
    "pool_size": "--pool-size",
    "max_overflow": "--max-overflow",
    "pool_recycle": "--pool-recycle",
    "pool_pre_ping": "--pool-pre-ping",
    "pool_timeout": "--pool-timeout",
    "pool_use_lifo": "--pool-use-lifo",
}


def build_inputs(
    common: CommonArgs, env: Mapping[str, str], found: Callable[[Iterable[str]], None] = lambda _: None
) -> Inputs:
    """CLI strings and numbers -> typed Inputs (the only place below which nothing sees Typer).

    `env` is read for DATABASE_URL, PG*, PGPASSWORD and ~/.pgpass, the POOL_DOCTOR_* names warned about, the
    runtime and --app's "from" column. The POOL_DOCTOR_* values themselves are read by pydantic-settings,
    which reads os.environ. `found` is handed each secret as soon as it is read (the config file's values
    named like secrets, connect_args' password, a service file's), before anything built from it can be shown."""
    from pool_doctor.check import Inputs
    from pool_doctor.config import config_label, load_settings, read_config_file, unknown_env_keys, unknown_keys
    from pool_doctor.connection.spec import resolve_connection
    from pool_doctor.platforms import chosen, detect_runtime
    from pool_doctor.redact import secret_values

    if common.role is not None and not common.role.strip():
        raise UsageError("--role needs a role name")
    file_data, path = read_config_file(common.config)
    found(secret_values(file_data))
    origin = config_label(path) if path else "settings"
    warnings = tuple(f"unknown key {key!r} in {origin} (ignored)" for key in unknown_keys(file_data))
    overrides = {
        "pool": _given(
            common,
            "stack",
            "pool_size",
            "max_overflow",
            "pool_recycle",
            "pool_pre_ping",
            "pool_timeout",
            "pool_use_lifo",
        ),
        "deployment": _given(common, "replicas", "workers_per_replica", "other_connections"),
        "network": {
            **({"idle_timeout": common.network_idle_timeout} if common.network_idle_timeout is not None else {}),
            **_given(common, "middlebox", "platform"),
        },
    }
    _known_keys(common)
    settings = load_settings(overrides, file_data, origin=origin)
    found(secret_values({"pool": settings.pool.own(), "connect_args": settings.connect_args}))
    from pool_doctor.stacks import stack_of

    stack = stack_of(settings.pool)
    warnings += tuple(
        f"unknown environment variable {name} (ignored)"
        for name in unknown_env_keys(env, None if common.app else type(settings.pool))
    )
    # Declared keys (SQLAlchemy's) are named with the file's other sections; a free-form stack's were dropped.
    warnings += tuple(
        f"[pool] key {key!r} does not belong to stack {stack.name} (ignored)" for key in settings.pool.ignored
    )
    target = stack.connection(resolve_connection(common.url, env))
    # (A password that is also the user or database name is masked only where it is shown as the password.)
    found(secret for secret in target.secrets() if secret not in {target.param("user"), target.param("dbname")})
    target = target.with_connect_args(stack.driver_args(settings.pool, settings.connect_args))
    if common.app is None:  # --app: each pool's own arguments, with its own driver, below
        _check_driver_args(target, stack, origin)
    if common.ask_password:
        target = target.with_password(_prompt_password(target))
    platform = None
    if settings.network.platform:
        platform = chosen(settings.network.platform, "--platform" if common.platform else "[network] platform")
    if common.pool is not None and common.app is None:
        raise UsageError("--pool FILE:LINE picks one of the pools --app PATH finds: give --app too")
    app_pools: tuple[AppPool, ...] = ()
    if common.app is not None:
        app_pools, found_warnings = _app_pools(common, target, overrides, file_data, origin, env)
        warnings += found_warnings
    return Inputs(
        target=target,
        settings=settings,
        role=common.role,
        timeout=common.timeout,
        config_path=origin if path else None,
        warnings=warnings,
        pgbouncer_admin_url=common.pgbouncer_admin_url,
        platform=platform,
        runtime=_runtime(common.runtime) if common.runtime else detect_runtime(env),
        app=str(common.app) if common.app is not None else None,
        app_pools=app_pools,
    )


def _runtime(key: str) -> Runtime:
    """--runtime KEY: an unknown one is a usage error listing the known."""
    from pool_doctor.platforms.runtime import named_runtime

    try:
        return named_runtime(key)
    except ValueError as exc:
        raise UsageError(f"--runtime: {exc}") from None


def one_pool(inputs: Inputs, why: str) -> Inputs:
    """--app with one pool (or --pool): that pool's settings and connection are the inputs."""
    from dataclasses import replace

    if len(inputs.app_pools) > 1:
        listed = ", ".join(pool.where for pool in inputs.app_pools)
        raise UsageError(
            f"--app found {len(inputs.app_pools)} pools and {why}: pick one with --pool FILE:LINE ({listed})"
        )
    pool = inputs.app_pools[0]
    return replace(inputs, target=pool.target, settings=pool.settings)


def _known_keys(common: CommonArgs) -> None:
    """--platform / --middlebox name catalogue entries: an unknown one is a usage error listing the known."""
    from pool_doctor.platforms import by_key, middlebox_preset

    for flag, value, lookup in (
        ("--platform", common.platform, by_key),
        ("--middlebox", common.middlebox, middlebox_preset),
    ):
        if value is not None:
            try:
                lookup(value)
            except ValueError as exc:
                raise UsageError(f"{flag}: {exc}") from None


def _app_pools(
    common: CommonArgs,
    target: ConnectionSpec,
    overrides: dict[str, dict[str, Any]],
    file_data: dict[str, Any],
    origin: str,
    env: Mapping[str, str],
) -> tuple[tuple[AppPool, ...], tuple[str, ...]]:
    """--app: each pool the scan finds as its own settings (flags > environment > file > the code > defaults)."""
    from pool_doctor.check import AppPool
    from pool_doctor.config import load_settings
    from pool_doctor.model import PoolRef
    from pool_doctor.scan import scan_path
    from pool_doctor.scan.app import as_layer, judged_values, merge, pick, sources
    from pool_doctor.stacks import stack_of

    assert common.app is not None
    if not common.app.exists():
        raise UsageError(f"--app {common.app}: no such file or folder")
    report = scan_path(common.app)
    chosen, warnings = pick(report, common.pool, str(common.app))
    warnings = [*report.warnings, *warnings]
    flags = {key: POOL_FLAGS[key] for key in overrides["pool"]}
    pools = []
    for scanned in chosen:
        layer = as_layer(scanned)
        warnings += layer.warnings
        settings = load_settings(overrides, merge(layer.data, file_data), origin=f"{origin} or {scanned.where}")
        stack = stack_of(settings.pool)
        warnings += [
            f"{scanned.where}: [pool] key {key!r} does not belong to stack {stack.name} (ignored)"
            for key in settings.pool.ignored
        ]
        # The server stays --url's; the code's URL may name the driver the app connects with.
        pool_target = stack.connection(target, layer.driver, scanned.where)
        pool_target = pool_target.with_connect_args(stack.driver_args(settings.pool, settings.connect_args))
        _check_driver_args(
            pool_target, stack, scanned.where if origin == "settings" else f"{origin} or {scanned.where}"
        )
        values = judged_values(settings)
        pools.append(
            AppPool(
                ref=PoolRef(scanned.file, scanned.line, scanned.stack),
                end_line=scanned.end_line,
                call=scanned.call,
                settings=settings,
                target=pool_target,
                sources=sources(values, layer, flags, file_data, origin if origin != "settings" else None, env),
                unknown=tuple(layer.unknown.items()),
                judged_as=layer.judged_as,
                at_import=scanned.at_import,
                unresolved=tuple(scanned.unresolved),
                scanned=scanned,
                shared=tuple(
                    other.where
                    for other in report.pools
                    if other is not scanned and scanned.via and other.via[-1:] == scanned.via[-1:]
                ),
            )
        )
    return tuple(pools), tuple(warnings)


def _check_driver_args(target: ConnectionSpec, stack: Stack, origin: str) -> None:
    """A UsageError (exit 2) for a connect argument the app's driver would refuse before connecting (one it
    does not take: asyncpg's server_settings given to psycopg), or take and misbehave on (NaN or infinite
    seconds): the app's own connect would fail the same way, with no server involved."""
    from pool_doctor.config import where_given
    from pool_doctor.connection.drivers import driver_for, foreign_arg
    from pool_doctor.stacks.base import CONNECT_ARGS

    refused = foreign_arg(target, stack.adapts_driver)
    refused = refused or next(iter(driver_for(target).refused_args(target.connect_args)), None)
    if refused:
        key, problem = refused
        prefix = stack.args_prefix
        where = where_given(prefix.removesuffix(".") or "pool", key, origin)
        given = target.connect_args[key]
        value = repr(given) if len(repr(given)) <= 80 else repr(given)[:80] + "..."
        got = "" if isinstance(given, Mapping) else f" (got {value})"
        # connect_args is a section of its own; a stack's driver arguments (kwargs, OPTIONS) live under [pool]
        name = f"{prefix}{key}" if prefix == CONNECT_ARGS + "." else f"pool.{prefix}{key}"
        raise UsageError(f"{where}: {name} {problem}{got}. The app's own connect would fail the same way.")


def _prompt_password(target: ConnectionSpec) -> str:
    """-W: read the password from the terminal (or stdin when there is none); never echoed."""
    import getpass

    if target.password is not None:
        # Two passwords on one command line: refuse to guess which one the user meant.
        raise UsageError("--ask-password conflicts with the password in --url: give one or the other")
    if not sys.stdin.isatty():
        # Scripted use (`pass show db | pool-doctor check -W`): one line from stdin, no prompt, no echo warning.
        line = sys.stdin.readline(MAX_PASSWORD + 1)  # bounded: stdin may be /dev/zero
        if not line:
            raise UsageError("--ask-password: no password could be read (stdin is empty or closed)")
        if len(line.rstrip("\r\n")) > MAX_PASSWORD:
            raise UsageError(f"--ask-password: the line on stdin is longer than {MAX_PASSWORD} characters")
        return line.rstrip("\r\n")
    try:
        return getpass.getpass(f"Password for {target.user}@{target.host}: ", stream=sys.stderr)
    except (EOFError, KeyboardInterrupt) as exc:
        sys.stderr.write("\n")  # end the prompt's line, so the error is a line of its own
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise UsageError("--ask-password: no password was entered") from None


def _given(common: CommonArgs, *names: str) -> dict[str, Any]:
    return {name: getattr(common, name) for name in names if getattr(common, name) is not None}
