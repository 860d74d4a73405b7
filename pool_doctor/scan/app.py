"""`--app PATH`: each pool the scan found, as a layer of the app's config (between the config file and the
library's defaults), in the keys `[pool]` and `[connect_args]` take for its stack.

Pure: a ScannedPool in, plain data out. What the scan could not resolve is left out (the library default
stands) and said in a warning naming the key and the pool's `file:line`. The server is the one `--url`
gives: the code's own host, port, user and database never replace it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from pool_doctor.errors import UsageError
from pool_doctor.scan.model import ASIDE, NOT_SET, ScannedPool, ScannedValue, ScanReport
from pool_doctor.scan.target import is_postgres, url_driver
from pool_doctor.stacks import flatten, scanned, stack_of
from pool_doctor.stacks.base import CONNECT_ARGS, POOL, SKIP, Stack

if TYPE_CHECKING:
    from pool_doctor.config import AppConfig


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
    """The pools to judge: every PostgreSQL pool of the app's code (not its tests' nor its examples'), or the one at
    `--pool FILE:LINE` (a test's too); and warnings for the rest."""
    warnings = [
        f"{pool.where}: {pool.call} does not connect to PostgreSQL (not judged)"
        for pool in report.pools
        if not is_postgres(pool)
    ]
    every = [pool for pool in report.pools if is_postgres(pool)]
    pools = [pool for pool in every if not pool.aside]
    aside = aside_text([pool for pool in every if pool.aside])
    judge_one = "; --pool FILE:LINE judges one"
    if not (pools if choice is None else every):
        # A file that could not be read may be where the pool is: its reason belongs on the same line.
        more = f" (and {len(report.warnings) - 1} more)" if len(report.warnings) > 1 else ""
        skipped = f"; {report.warnings[0]}{more}" if report.warnings else ""
        raise UsageError(
            f"--app {app}: no PostgreSQL pool found in the app's code{skipped}"
            f"{f'; {aside}{judge_one}' if aside else ''} (pool-doctor scan {app} shows what was read)"
        )
    if choice is None:
        return pools, [*warnings, f"pools not judged: {aside}{judge_one}"] if aside else warnings
    pools = every
    file, sep, line_text = choice.rpartition(":")
    if not sep or not line_text.strip().isdigit():
        raise UsageError(f"--pool {choice!r}: expected FILE:LINE, as pool-doctor scan prints it")
    line = int(line_text)
    wanted = os.path.normpath(file)
    found = [
        pool for pool in pools if _same_file(pool.file, wanted) and pool.line <= line <= max(pool.end_line, pool.line)
    ]
    if not found:  # the library call inside a wrapper: the pools made through it
        found = [pool for pool in pools if any(_at(where, wanted, line) for where in pool.via)]
    if not found:
        listed = ", ".join(pool.where for pool in pools)
        raise UsageError(f"--pool {choice}: no pool there; the app's pools: {listed}")
    return found[:1], []


def aside_text(pools: list[ScannedPool], most: int = 3) -> str:
    """`1 in the tests (tests/conftest.py:5), 2 in examples (...)`: the pools that are not the app's."""
    parts = []
    for kind, label in ASIDE:
        found = [pool.where for pool in pools if pool.aside == kind]
        if found:
            more = f", and {len(found) - most} more" if len(found) > most else ""
            parts.append(f"{len(found)} in {label} ({', '.join(found[:most])}{more})")
    return ", ".join(parts)


def _at(where: str, wanted: str, line: int) -> bool:
    file, _, number = where.rpartition(":")
    return number.isdigit() and int(number) == line and _same_file(file, wanted)


def _same_file(scanned: str, wanted: str) -> bool:
    scanned = os.path.normpath(scanned)
    return scanned == wanted or os.path.abspath(scanned) == os.path.abspath(wanted)


def stack_judging(pool: ScannedPool) -> Stack:
    """The stack that judges a scanned pool (every pool the scan reports has one)."""
    stack = scanned(pool.stack)
    if stack is None:
        raise LookupError(f"no stack judges the scan's {pool.stack!r} pools")
    return stack


def with_branches(pool: ScannedPool, choice: Mapping[str, int]) -> ScannedPool:
    """The pool with each branched setting at the branch `choice` names (a branch that leaves the key unset:
    the key left out, so the library default stands)."""
    settings: dict[str, ScannedValue] = {}
    for key, value in pool.settings.items():
        index = choice.get(key)
        if not value.branches or index is None or not 0 <= index < len(value.branches):
            settings[key] = value
        elif value.branches[index].expr != NOT_SET:
            settings[key] = value.branches[index]
    return replace(pool, settings=settings)


def as_layer(pool: ScannedPool) -> AppLayer:
    """The scanned pool's settings in its stack's config keys: where each goes is the stack's to say. A setting
    with branches is judged at the branch the scan's judge found worst (named in a warning)."""
    notes = [
        f"{pool.where}: {key} depends on a test the scan cannot decide ({pool.settings[key].expr}): judged at "
        f"its worst branch, when {pool.settings[key].branches[index].when}"
        for key, index in pool.judged_branches.items()
    ]
    pool = with_branches(pool, pool.judged_branches)
    stack = stack_judging(pool)
    tables: dict[str, dict[str, Any]] = {POOL: {}, CONNECT_ARGS: {}}
    origins: dict[str, str] = {}
    unknown: dict[str, str] = {}
    warnings: list[str] = list(notes)
    given: dict[str, tuple[str, str, Any, str]] = {}  # shown key -> (table, key there, value, where)
    for key, value in pool.settings.items():
        place = stack.code_place(pool.stack, key)
        if place is None:
            continue
        table, name = place
        shown = name if table == POOL else f"{CONNECT_ARGS}.{name}"
        if not value.known:
            unknown[shown] = value.expr or "?"
            warnings.append(f"{pool.where}: {key} is unknown ({value.expr or '?'}): judged with the library default")
            continue
        coerced = stack.code_value(name, value.value)
        if coerced is SKIP:
            warnings.append(f"{pool.where}: {shown} = {value.value!r} is not a value pool-doctor can judge (ignored)")
            continue
        where = (value.from_ or pool.where) + (f", ${value.env} overrides it" if value.env else "")
        if isinstance(value.value, str) and isinstance(coerced, bool):  # (a string the library tests for truth)
            where += f", the string {value.value!r}: {str(coerced).lower()} to the library"
        given[shown] = (table, name, coerced, where)
    # A shape or value the library would refuse (kwargs=[1, 2], OPTIONS=[1], min_size above max_size): the
    # code's value cannot be judged, so it counts as unknown, like one computed at run time.
    pool_keys = {name: value for table, name, value, _ in given.values() if table == POOL}
    for name, why in stack.refused(pool_keys).items():
        unknown[name] = repr(pool_keys[name])
        warnings.append(
            f"{pool.where}: {name} = {unknown[name]} cannot be judged ({why}): judged with the library default"
        )
        del given[name]
    implied = stack.code_defaults(pool.stack, pool.call, {name: value for _, name, value, _ in given.values()})
    for name, value in implied.items():
        given.setdefault(name, (POOL, name, value, f"what {pool.call} does, at {pool.where}"))  # (no such option)
    for shown, (table, name, value, where) in given.items():
        _put(tables[table], name, value)
        origins[shown] = where
    if pool.unresolved:
        warnings.append(
            f"{pool.where}: could not read {', '.join(pool.unresolved)}: any setting may hide there; judged without it"
        )
    data: dict[str, dict[str, Any]] = {POOL: {"stack": stack.name, **tables[POOL]}}
    origins.setdefault("stack", f"{pool.where} ({pool.call})")
    if tables[CONNECT_ARGS]:
        data[CONNECT_ARGS] = tables[CONNECT_ARGS]
    return AppLayer(
        pool=pool,
        stack=stack.name,
        data=data,
        origins=origins,
        unknown=unknown,
        driver=url_driver(pool),
        warnings=tuple(warnings),
        judged_as=stack.judged_as(pool.stack),
    )


def _put(table: dict[str, Any], key: str, value: Any) -> None:
    """A dotted key into nested tables; OPTIONS.pool = True and OPTIONS.pool.min_size together: the flag stands."""
    node = table
    *parents, last = key.split(".")
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            return
        node = child
    node[last] = value


def judged_values(settings: AppConfig) -> dict[str, Any]:
    """Every value a pool is judged with, dotted as `sources` names them: the stack, its own keys, connect_args."""
    stack = stack_of(settings.pool)
    return {
        "stack": stack.name,
        **flatten(stack.values(settings.pool)),
        **{f"connect_args.{k}": v for k, v in flatten(settings.connect_args).items()},
    }


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
