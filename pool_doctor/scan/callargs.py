"""How a library pool call's arguments become settings: the callables' positional parameters, what
`engine_from_config` coerces, and what a call refuses to be given."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from pool_doctor.scan import containers
from pool_doctor.scan.finder import POOL_CLASS_KEYS
from pool_doctor.scan.kinds import SV, Branches, ClassRef, Frame, is_known
from pool_doctor.scan.model import ScannedValue, Stack
from pool_doctor.scan.nodes import kwargs_write
from pool_doctor.scan.values import flatten, leaf, mask, one_of, url_text

TEXTS = frozenset({"url", "dsn", "conninfo"})  # the pool calls' connection text
# Positional parameters of each library callable, in order (the rest are keyword arguments).
POSITIONAL: dict[str, tuple[str, ...]] = {
    "create_engine": ("url",),
    "create_async_engine": ("url",),
    "engine_from_config": ("configuration", "prefix"),
    "async_engine_from_config": ("configuration", "prefix"),
    "create_pool": ("dsn",),
    "ConnectionPool": ("conninfo",),
    "AsyncConnectionPool": ("conninfo",),
    "NullConnectionPool": ("conninfo",),
    "AsyncNullConnectionPool": ("conninfo",),
    "SimpleConnectionPool": ("minconn", "maxconn", "dsn"),
    "ThreadedConnectionPool": ("minconn", "maxconn", "dsn"),
    "PersistentConnectionPool": ("minconn", "maxconn", "dsn"),
    "SQLAlchemy": ("app",),
}
# Callables that refuse a None URL (SQLAlchemy 2.1.9: `ArgumentError: Expected string or URL object, got None`).
URL_REQUIRED = frozenset({"create_engine", "create_async_engine"})
# engine_from_config reads strings from an .ini file and coerces these (sqlalchemy engine/create.py).
CONFIG_COERCE = {
    "pool_size": int,
    "max_overflow": int,
    "pool_recycle": int,
    "pool_timeout": float,
    "pool_pre_ping": "bool",
    "pool_use_lifo": "bool",
    "echo": "bool",
    "echo_pool": "bool",
}


def from_config(settings: dict[str, Any], unresolved: list[str]) -> tuple[dict[str, Any], list[str]]:
    prefix_value = settings.pop("prefix", None)
    prefix = str(prefix_value.value) if is_known(prefix_value) else "sqlalchemy."
    out: dict[str, Any] = {}
    rest: dict[str, Any] = {}
    config_unresolved = [u for u in unresolved if u.startswith("configuration")]
    unresolved = [u for u in unresolved if not u.startswith("configuration")]
    if prefix_value is not None and not is_known(prefix_value):  # which keys it takes is unknown (fastapi-sqla's
        prefix = "(under a prefix the scan cannot tell) "  # per-key prefix, in a loop over keys)
        config_unresolved.append(f"configuration: its keys {prefix.strip()}")
        settings = {k: v for k, v in settings.items() if not k.startswith("configuration")}
    for key, value in settings.items():
        if key.startswith("configuration."):
            inner = key[len("configuration.") :]
            if inner.startswith(prefix):
                name = inner[len(prefix) :]
                out[name] = _coerce(name, value)
        elif key == "configuration" and isinstance(value, SV) and value.known and value.value == "os.environ":
            # every key under the prefix is a variable's (opnreco's `engine_from_config(os.environ, prefix)`)
            out["url"] = SV(None, value.from_, f"{prefix}url", known=False, expr=f"os.environ[{prefix + 'url'!r}]")
            config_unresolved.append(f"configuration: os.environ (any {prefix}* variable)")
        elif key == "configuration":
            if not (isinstance(value, SV) and value.known):
                config_unresolved.append(f"configuration: {value.expr if isinstance(value, SV) else '?'}")
        else:
            rest[key] = value
    out.update(rest)  # keyword arguments override the configuration's keys
    if "url" not in out and config_unresolved:  # the one key engine_from_config needs, in what it cannot read
        out["url"] = SV(None, None, known=False, expr=f"{prefix}url of {config_unresolved[0].split(': ', 1)[-1]}")
    return out, [*config_unresolved, *unresolved]


def given_elsewhere(url: SV, call: ast.Call) -> SV:
    """A URL known to be None where the call refuses one is a default no run keeps (a constructor's
    `config=None` that a loader out of sight fills, as privacyidea's audit module; a field `X: str | None = None`
    that the app tests before it makes the pool, as Skyvern's replica): unknown, the variable's or as the call
    writes it."""
    # (a value a test of a variable chose is no variable's default: FallenRobot's `DATABASE_URL = ""` where ENV
    # is not set is not "$ENV")
    chose = [b for b in url.branches or () if (b.value, b.from_, b.expr) == (url.value, url.from_, containers.CHOSEN)]
    own = containers.variable_text(url) and not chose  # (the value in effect is the branch the test chose)
    if url.branches:  # each branch, and the value in effect (the default branch's)
        branches = tuple(given_elsewhere(branch, call) for branch in url.branches)
        url = replace(url, branches=branches, expr=one_of(branches) if url.expr else None)
    refused = url.known and isinstance(url.value, str) and ("://" not in url.value or _bad_port(url.value))
    if not (url.known and url.value is None) and not refused:
        return url
    if refused and not own:  # (`str(None)`: Polar's read-replica DSN where none is configured)
        return replace(url, value=None, known=False, expr=f"{url.value!r} (no URL: create_engine refuses it)")
    if own:  # a variable's default None: the pool is there only when the variable is set
        return replace(url, value=None, known=False, expr=f"${url.env}")
    given = [*call.args[:1], *(k.value for k in call.keywords if k.arg == "url")]
    return replace(url, known=False, expr=ast.unparse(given[0]) if given else "None")


def _bad_port(url: str) -> bool:
    """A port that is no number (`f"...@{HOST}:{PORT}/..."` of unset variables: `None`): SQLAlchemy 2.0's
    make_url raises on it, as on a URL with no `://`."""
    host = url.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0].rpartition("@")[2]
    port = host.rpartition(":")[2] if ":" in host and not host.endswith("]") else ""
    return bool(port) and "," not in host and not port.isdigit()


def _coerce(name: str, value: Any) -> Any:
    if isinstance(value, Branches):  # one .ini file or another
        return replace(value, options=[(when, _coerce(name, option)) for when, option in value.options])
    if isinstance(value, SV) and value.branches:  # (and the value in effect, below)
        value = replace(value, branches=tuple(_coerce(name, branch) for branch in value.branches))
    kind = CONFIG_COERCE.get(name)
    if kind is None or not isinstance(value, SV) or not value.known or not isinstance(value.value, str):
        return value
    try:
        if kind == "bool":
            return replace(value, value=value.value.strip().lower() in ("true", "1", "yes", "on"))
        return replace(value, value=kind(value.value))  # type: ignore[operator]
    except ValueError:
        return value


def pool_class_defaults(ev: Any, poolclass: Any, settings: dict[str, Any], keys: Mapping[str, str]) -> None:
    """A project subclass of a library pool class given as `poolclass` gets the call's pool arguments: what its
    `__init__` (and its project bases', run in turn) sets in them first, `kw.setdefault("pool_size", 25)` or
    `kw["timeout"] = 7`, is the pool's value, under the pool call's name for it."""
    cls = ev.force(poolclass)
    if not isinstance(cls, ClassRef):
        return
    for klass in ev.classes.class_chain(cls):
        init = next((s for s in klass.node.body if isinstance(s, ast.FunctionDef) and s.name == "__init__"), None)
        if init is None or init.args.kwarg is None:
            continue
        kwargs = init.args.kwarg.arg
        for stmt in init.body:
            written = kwargs_write(stmt, kwargs)
            if written is None or written[0] not in keys:
                continue
            name, node, overrides = written
            if overrides or keys[name] not in settings:
                settings[keys[name]] = ev.eval(node, Frame(klass.module))


def pool_settings(
    ev: Any, name: str | None, stack: Stack | None, given: Any, call: ast.Call
) -> tuple[dict[str, ScannedValue], list[str]]:
    """The settings a library pool call (`name`, of `stack`) is given (`given`: its arguments, read), each
    masked as a secret where it is one, and the text of what could hide any of them."""
    settings: dict[str, Any] = {}
    unresolved: list[str] = []
    names = POSITIONAL.get(name or "", ())
    for index, value in enumerate(given.positional):
        key = names[index] if index < len(names) else f"args[{index}]"
        if key in TEXTS:  # a URL or DSN is text: a dict on one path of it is no keys of the pool
            settings[key] = url_text(value, ev)
        elif key != "app":
            settings.update(flatten(value, ev, key, unresolved))
    if given.starred_text is not None:
        unresolved.append(given.starred_text)
    for key, value in given.keywords.items():
        if key in TEXTS:
            settings[key] = url_text(value, ev)
        elif name != "SQLAlchemy":
            settings.update(flatten(value, ev, key, unresolved))
        elif key == "engine_options":
            settings.update(flatten(value, ev, "", unresolved))
    unresolved.extend(given.opaque)  # any setting may hide in what could not be read
    if "poolclass" in given.keywords and stack in POOL_CLASS_KEYS:
        pool_class_defaults(ev, given.keywords["poolclass"], settings, POOL_CLASS_KEYS[stack])
    if name in ("engine_from_config", "async_engine_from_config"):
        settings, unresolved = from_config(settings, unresolved)
    out = {key: mask(key, leaf(value, ev)) for key, value in settings.items()}
    if name in URL_REQUIRED and "url" in out:
        out["url"] = given_elsewhere(out["url"], call)
    return out, unresolved
