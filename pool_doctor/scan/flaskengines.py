"""Flask-SQLAlchemy's engines (and Flask-SQLAlchemy-Lite's) from an app's configuration as scan/flask.py reads it:
the default engine from SQLALCHEMY_DATABASE_URI and SQLALCHEMY_ENGINE_OPTIONS over the extension's engine_options,
one engine per SQLALCHEMY_BINDS entry (and per SQLALCHEMY_ENGINES / SQLALCHEMY_ASYNC_ENGINES entry), each placed at
its entry."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from pool_doctor.scan.appconfig import (
    BIND_OPTIONS,
    BINDS,
    LEGACY_KEYS,
    LITE_KEYS,
    OPTIONS,
    UNDER_EXTENSION,
    URI,
    place,
)
from pool_doctor.scan.containers import settle_options
from pool_doctor.scan.expressions import Evaluator
from pool_doctor.scan.finder import Module
from pool_doctor.scan.flaskext import ENGINE_KEYS, FLASK_SQLALCHEMY, UNREAD, extension_library
from pool_doctor.scan.kinds import SV, Branches, DictV, Thunk
from pool_doctor.scan.model import NOT_SET, ScannedPool
from pool_doctor.scan.values import flatten, leaf, mask

LITE = "flask_sqlalchemy_lite"

Engine = tuple[tuple[str, int, int], str, dict[str, SV], list[str], str | None]  # place, label, settings, own, test


def engines(
    ev: Evaluator,
    place: tuple[str, int, int],
    call: str,
    defaults: Any,
    keys: dict[str, Any],
    unresolved: list[str],
    at_import: bool,
    extension: tuple[Module, ast.Call] | None = None,
) -> Iterator[ScannedPool]:
    """An app's engines: the default one (when it has a URL, may have one in a config the scan cannot read, or no
    binds say otherwise: pybossa's replica bind copies the URL from a file named by a variable) and one per bind,
    each placed at its entry. Flask-SQLAlchemy-Lite's (the `extension`'s library; with none seen, when the keys are
    its) are one per entry of its own two keys alone (it reads no other), or one unread where they are not read."""
    if not isinstance(ev.force(defaults), (DictV, Branches)):  # `SQLAlchemy(engine_options=extra_options())`
        shown = defaults.expr if isinstance(defaults, SV) and defaults.expr else "?"
        defaults, unresolved = DictV({}, None), [*unresolved, f"engine_options: {shown}"]
    lite = extension_library(ev, *extension) == LITE if extension is not None else None
    lite_keys = [name for name in LITE_KEYS if name in keys]
    read_as_lite = bool(lite or (lite is None and lite_keys))  # (Flask-SQLAlchemy's app ignores Lite's keys)
    made = lite_engines(ev, place, defaults, keys, unresolved, lite_keys) if read_as_lite else []
    if not read_as_lite:
        binds = ev.force(keys[BINDS]) if BINDS in keys else None
        if not isinstance(binds, DictV) or URI in keys or any(u.endswith(UNREAD) for u in unresolved):
            own = list(unresolved)
            default_keys = {name: value for name, value in keys.items() if not (name == BINDS and binds is not None)}
            made.append((place, call, engine_settings(ev, defaults, default_keys, own), own, None))
        shared = {name: value for name, value in keys.items() if name in LEGACY_KEYS or name == BIND_OPTIONS}
        made.extend(bind_engines(ev, defaults, binds, place, unresolved, shared=shared))
    for (file, line, end_line), label, settings, own, when in made:
        yield ScannedPool(
            file=file,
            line=line,
            end_line=end_line,
            stack=FLASK_SQLALCHEMY,
            call=label,
            settings=settings,
            unresolved=list(dict.fromkeys(own)),  # (each side of a source it cannot read says so)
            at_import=at_import,
            condition=when,
        )


def lite_engines(
    ev: Evaluator,
    place: tuple[str, int, int],
    defaults: Any,
    keys: dict[str, Any],
    unresolved: list[str],
    named: list[str],
) -> list[Engine]:
    """Flask-SQLAlchemy-Lite 0.2.1's engines (_make.py `_make_engines`): each entry of SQLALCHEMY_ENGINES and
    SQLALCHEMY_ASYNC_ENGINES, over the extension's engine_options; a key the scan cannot read (or none, where a
    config it cannot read may set them) is one engine at the bind, unread."""
    made: list[Engine] = []
    for name in named:
        entries = ev.force(keys[name])
        if isinstance(entries, DictV | Branches):
            made.extend(bind_engines(ev, defaults, entries, place, unresolved, name))
        else:
            text = entries.expr if isinstance(entries, SV) and entries.expr else "?"
            made.append((place, name, flatten(defaults, ev, "", []), [*unresolved, f"{name}: {text}"], None))
    if not named and any(u.endswith(UNREAD) for u in unresolved):
        made.append((place, "SQLALCHEMY_ENGINES", flatten(defaults, ev, "", []), list(unresolved), None))
    return made


def replaced(base: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """`dict.update` of engine options, flattened: a key the given options name replaces the base's whole (their
    `connect_args` is all the engine gets), as Flask-SQLAlchemy 3.1 (`engine_options[key].update(value)`) and
    Flask-SQLAlchemy-Lite 0.2.1 (`base | engine_config`) merge them."""
    named = {key.split(".", 1)[0] for key in given}
    return {**{key: value for key, value in base.items() if key.split(".", 1)[0] not in named}, **given}


def bind_engines(
    ev: Evaluator,
    defaults: Any,
    binds: Any,
    at: tuple[str, int, int],
    unresolved: list[str],
    key: str = BINDS,
    shared: dict[str, Any] | None = None,
) -> list[Engine]:
    """One engine per SQLALCHEMY_BINDS entry, placed at its entry, with the app's engine options under its own
    (and the `shared` keys 2.x gives every engine: the pool keys, SQLALCHEMY_ENGINE_OPTIONS); binds set only
    under a test (a reader replica's variable: `if READER_URI: SQLALCHEMY_BINDS = {...}`) each under that test."""
    sides: list[tuple[str | None, Any]] = [(None, binds)]
    if isinstance(binds, Branches):
        options, _ = settle_options(ev, binds)
        unset = all(isinstance(o, DictV) or (isinstance(o, SV) and o.expr == NOT_SET) for _, o in options)
        sides = [(when, o) for when, o in options if isinstance(o, DictV)] if unset else []
    engines: list[Engine] = []
    for when, side in sides:
        entries = side.items if isinstance(side, DictV) else {}
        if any(isinstance(ev.force(value), DictV) for value in entries.values()):
            shared = {}  # a bind's own options: 3.0 on (2.5.1's `get_uri` reads a URL alone), which shares neither
        for name, value in entries.items():
            own = list(unresolved)
            given = flatten(value, ev, "", own)
            if "" in given:  # a URL
                given["url"] = given.pop("")
            parts = [part for part in given if part.startswith("url.")]  # (Lite's `"url": {...}`: URL.create(**it))
            for part in parts:
                given.pop(part)
            if parts:
                given["url"] = SV(None, None, known=False, expr="URL.create(...)")
            # (2.5.1's get_options: the pool keys, SQLALCHEMY_ENGINE_OPTIONS, then the extension's engine_options,
            # which "Give options set in SQLAlchemy.__init__() ultimate priority")
            base = replaced(_shared_options(ev, shared or {}, own), flatten(defaults, ev, "", own))
            settings = replaced(base, given)
            where = _entry(value) or place(ev.force(value)) or at
            engines.append((where, f"{key}[{name!r}]", {k: mask(k, v) for k, v in settings.items()}, own, when))
    return engines


def _shared_options(ev: Evaluator, shared: dict[str, Any], unresolved: list[str]) -> dict[str, SV]:
    """The options 2.x gives every engine, a bind's too: the pool keys, then SQLALCHEMY_ENGINE_OPTIONS."""
    given = _config_options(ev, shared[BIND_OPTIONS], unresolved) if BIND_OPTIONS in shared else {}
    return replaced(_pool_keys(ev, shared), given)


def _pool_keys(ev: Evaluator, keys: dict[str, Any]) -> dict[str, SV]:
    """The 2.x pool keys as create_engine's arguments (2.5.1's apply_pool_defaults skips a None)."""
    options: dict[str, SV] = {}
    for name, value in keys.items():
        if name in LEGACY_KEYS and not ((value := leaf(value, ev)).known and value.value is None):
            options[LEGACY_KEYS[name]] = value
    return options


def _config_options(ev: Evaluator, value: Any, unresolved: list[str]) -> dict[str, SV]:
    """SQLALCHEMY_ENGINE_OPTIONS flattened; one the scan cannot read is unresolved."""
    given = ev.force(value)
    if isinstance(given, (DictV, Branches)):
        return flatten(given, ev, "", unresolved)
    unresolved.append(f"{OPTIONS}: {given.expr if isinstance(given, SV) else '?'}")
    return {}


def _entry(value: Any) -> tuple[str, int, int] | None:
    """Where a dict's entry is written, when it is written in the dict itself (not its URL's variable's line)."""
    node = value.node if isinstance(value, Thunk) and value.compute is None else None
    if node is None or not getattr(node, "lineno", None):
        return None
    return value.frame.module.display, node.lineno, node.end_lineno or node.lineno


def one_engine_per_bind(pools: list[ScannedPool]) -> list[ScannedPool]:
    """An app's engine seen from each function that configures it (the factory, and a helper it hands the app to
    that loads a module the scan cannot read: spiff-arena's `load_config_file(app, name)`) is one engine where they
    meet at the same bind under the same test: the one with settings, with every part's unread loads. Two with
    settings of their own are two apps bound by one helper: both stay."""
    kept: dict[tuple[str, int, str, str | None], int] = {}
    result: list[ScannedPool] = []
    for pool in pools:
        key = (pool.file, pool.line, pool.call, pool.condition)
        if pool.stack != FLASK_SQLALCHEMY or key not in kept:
            kept.setdefault(key, len(result))
            result.append(pool)
            continue
        first = result[kept[key]]
        best, other = (first, pool) if len(first.settings) >= len(pool.settings) else (pool, first)
        if other.settings and not _helpers_view(other, best):  # two apps configured each their own way (a shared
            result.append(pool)  # helper's bind)
            continue
        unresolved = list(dict.fromkeys([*best.unresolved, *other.unresolved]))
        result[kept[key]] = replace(best, unresolved=unresolved)
    return result


def _helpers_view(some: ScannedPool, other: ScannedPool) -> bool:
    """Whether `some` is a helper's own view of the app it binds (Gold's `init_extensions(app)`): no URL, and the
    rest of `other`'s, the same value from the same place (the extension's engine_options alone)."""
    if "url" in some.settings or "url" not in other.settings:
        return False
    mine, theirs = some.settings, other.settings
    return all(
        key in theirs and (v.value, v.from_) == (theirs[key].value, theirs[key].from_) for key, v in mine.items()
    )


def engine_settings(ev: Evaluator, defaults: Any, keys: dict[str, Any], unresolved: list[str]) -> dict[str, SV]:
    """The default engine's create_engine arguments: the extension's engine_options, the 2.x pool keys, then
    SQLALCHEMY_ENGINE_OPTIONS over them; the URL and the other keys as they are."""
    extension = flatten(defaults, ev, "", unresolved)
    if UNDER_EXTENSION in keys:  # a pinned 2.x: as its binds are made
        settings = replaced(_shared_options(ev, keys, unresolved), extension)
    else:  # 3.x: SQLALCHEMY_ENGINE_OPTIONS over the extension's (the 2.x keys, only 2.x's, under them)
        settings = replaced(_pool_keys(ev, keys), extension)
        if OPTIONS in keys:
            settings = replaced(settings, _config_options(ev, keys[OPTIONS], unresolved))
    for name, value in keys.items():
        if name not in LEGACY_KEYS and name not in (OPTIONS, BIND_OPTIONS, UNDER_EXTENSION) and name not in LITE_KEYS:
            settings[ENGINE_KEYS.get(name, name)] = leaf(value, ev)
    return {key: mask(key, leaf(value, ev)) for key, value in settings.items()}
