"""What to change where in the app's own code, for one scanned pool: pure, no files read.

Each recommended value becomes one edit: a literal replaced where the code writes the value now (in the
call, or where a setting, a constant or an environment variable's default defines it), or a key added to
the call (or to the dict the call gets it from). A value the code computes at run time is never replaced by
a literal: it is a note that says what to set it to, and where.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pool_doctor.connection.values import PythonCode
from pool_doctor.scan.model import ScannedPool, ScannedValue
from pool_doctor.stacks.base import CONNECT_ARGS, POOL, Stack


@dataclass(frozen=True)
class Edit:
    """One change to one file."""

    file: str
    line: int  # "replace": where the value is written; "add": the pool's first line (the call, or its dict)
    kind: str  # "replace" a literal, or "add" a key to the call (or a dict it holds)
    keys: tuple[str, ...]  # the key as the code names it, split: ("connect_args", "server_settings", "x")
    new: Any
    old: Any = None  # "replace": the value the literal holds now
    end_line: int = 0  # "add": the pool's last line
    env: str | None = None  # "replace": the environment variable that overrides this default
    # "add": what takes the key at `line`. None: the pool's call or dict (or a dict under it that holds the key's
    # parent); DICT: only a dict literal spanning line..end_line (a framework's entry of an engine's arguments); a
    # name: the call of that name starting at `line` (the engine call in a project wrapper), when it takes no `**`
    into: str | None = None
    elsewhere: str | None = None  # "add": where the key is set when nothing here takes it, for the note
    url: str | None = None  # "add" into DICT: the source of the "url" the dict holds (which entry's dict it is)
    beside: str | None = None  # "add" into OPTIONS: a key the dict holds already (which dict it is)


DICT = "{}"
OPTIONS = "{options}"  # the dict literal on `line` holding `beside`: a config class's SQLALCHEMY_ENGINE_OPTIONS


@dataclass
class PoolPlan:
    pool: ScannedPool
    edits: list[Edit] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what no edit could do, and what a deployment must change


def plan(
    pool: ScannedPool,
    stack: Stack,
    changes: Mapping[str, Any],
    shared: Sequence[str] = (),
    agreed: Collection[str] = (),
) -> PoolPlan:
    """The edits that give the pool these values (config keys, dotted: `pool_recycle`,
    `connect_args.server_settings.tcp_keepalives_idle`, `kwargs.tcp_user_timeout`); `shared`: the other pools
    made by the engine call of the project wrapper this one is made through, which a key added there would
    change too; `agreed`: the keys each of them is to get with the same value (added there for all)."""
    found = PoolPlan(pool)
    for config_key, value in changes.items():
        table, name = _table(config_key)
        key = stack.code_key(pool.stack, table, name)
        if key is None:
            found.notes.append(
                f"{pool.where}: {pool.call} takes no {name}: its pool cannot do what {name}={_shown(value)} "
                "would (use a pool that can: psycopg_pool with check=, or SQLAlchemy's pool_pre_ping)"
            )
            continue
        value = stack.code_form(key, value, pool.call)
        current = pool.get(key)
        if current is not None and _same(current, value):
            continue
        if current is None:
            added = _added(pool, stack, key, value, found, () if config_key in agreed else shared)
            if added is not None:
                found.edits.append(added)
        elif not current.known:
            found.notes.append(
                f"{pool.where}: {key} is computed when the app runs ({current.expr or '?'}): set it to "
                f"{_shown(value)} there"
            )
        elif isinstance(value, PythonCode) or _callable(current):
            continue  # the app gives its own callable (a unique statement name): it stays the app's
        elif current.from_ is None:
            found.notes.append(
                f"{pool.where}: {key} is not written in the code pool-doctor read: set it to {_shown(value)}"
            )
        else:
            file, _, line = current.from_.rpartition(":")
            found.edits.append(
                Edit(file, int(line), "replace", tuple(key.split(".")), value, current.value, 0, current.env)
            )
            if current.env:
                found.notes.append(
                    f"{current.from_}: {key} defaults to {_shown(value)} now; a deployment that sets ${current.env} "
                    f"must set it to {_shown(value)} too"
                )
    return found


def _added(
    pool: ScannedPool, stack: Stack, key: str, value: Any, found: PoolPlan, shared: Sequence[str]
) -> Edit | None:
    if pool.unresolved and "." not in key:
        # A keyword the app's `**x` may already pass: adding it would fail with "multiple values for keyword".
        found.notes.append(
            f"{pool.where}: could not read {', '.join(pool.unresolved)}: set {key}={_shown(value)} where it is built"
        )
        return None
    keys = tuple(key.split("."))
    if pool.via and shared:  # (another caller's NullPool would refuse a size this one needs)
        found.notes.append(
            f"{pool.via[-1]}: this engine call also makes the pool{'s' if len(shared) > 1 else ''} at "
            f"{', '.join(shared[:3])}{' ...' if len(shared) > 3 else ''}: set {key}={_shown(value)} for "
            f"{pool.where} where its arguments are built"
        )
        return None
    if pool.via:  # made in a project wrapper: its call takes the key (the wrapper's own call may not: TypeError)
        file, _, line = pool.via[-1].rpartition(":")
        callee = pool.call.rsplit(".", 1)[-1]
        return Edit(file, int(line), "add", keys, value, end_line=int(line), into=callee)
    framework = stack.added_where(pool.stack, pool.call)  # (`db.init_app(app)` takes the app alone)
    end_line = max(pool.end_line, pool.line)
    sibling = _options_sibling(pool) if framework is not None else None
    if sibling is not None:  # (a config class's SQLALCHEMY_ENGINE_OPTIONS, elsewhere: the dict its keys are in)
        (file, _, line), beside = sibling[0].rpartition(":"), sibling[1]
        return Edit(file, int(line), "add", keys, value, end_line=int(line), into=OPTIONS, beside=beside)
    if framework is not None:
        url = pool.get("url")
        file, _, line = url.from_.rpartition(":") if url is not None and url.from_ else ("", "", "0")
        here = file == pool.file and line.isdigit() and pool.line <= int(line) <= end_line  # (written in the entry)
        source = url.source if url is not None and here else None
        return Edit(
            pool.file, pool.line, "add", keys, value, end_line=end_line, into=DICT, elsewhere=framework, url=source
        )
    return Edit(pool.file, pool.line, "add", keys, value, end_line=end_line)


def _options_sibling(pool: ScannedPool) -> tuple[str, str] | None:
    """Where the engine options the app's config gives are written, when not at the pool's own lines (a config
    class's `SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 5}`): the file:line of a key of them the code sets, and
    that key."""
    for key, value in pool.settings.items():
        plain = value.known and not value.branches and "." not in key and not key.isupper() and key != "url"
        file, _, line = (value.from_ or "").rpartition(":") if plain else ("", "", "")
        if file and line.isdigit() and not (file == pool.file and pool.line <= int(line) <= pool.end_line):
            return f"{file}:{line}", key
    return None


def _table(config_key: str) -> tuple[str, str]:
    prefix = CONNECT_ARGS + "."
    return (CONNECT_ARGS, config_key.removeprefix(prefix)) if config_key.startswith(prefix) else (POOL, config_key)


def _same(current: ScannedValue, value: Any) -> bool:
    if not current.known:
        return False
    if isinstance(value, bool) or isinstance(current.value, bool):
        return current.value is value
    if isinstance(value, int | float) and isinstance(current.value, int | float):
        return float(current.value) == float(value)
    return bool(current.value == value)


def _callable(current: ScannedValue) -> bool:
    """A value the code gives as a function (the scan reads a lambda as `<lambda>`)."""
    return isinstance(current.value, str) and current.value.startswith("<")


def _shown(value: Any) -> str:
    return str(value) if isinstance(value, PythonCode) else repr(value)
