"""Django's DATABASES given an alias a variable names (django-bims's `DATABASES[os.getenv(
'DEFAULT_BACKEND_DATASTORE')] = dj_database_url.parse(...)`): the item is held as `$NAME`, present where the
variable names none of the aliases already there (one of those it replaces instead), so it is read as an alias
of its own; read back (`DATABASES[os.getenv(...)]`) and written again, it is the same item.

A copy of the environment (`dict(os.environ)`, `os.environ.copy()`, a ChainMap over it) is a dict whose items,
but those the code sets in it, are the variables': `env["DATABASE_URL"]` reads DATABASE_URL (personal-finance-bot's
`env = env if env is not None else dict(os.environ)`)."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from typing import Any

from pool_doctor.scan.kinds import SV, Branches, DictV, ExternalRef, Frame, Interpreter, is_known, not_set
from pool_doctor.scan.names import last_name

ENVIRON = "**os.environ"  # what a dict holds beyond its own items: the environment's


def environ_copy(frame: Frame, node: ast.AST) -> DictV:
    """`os.environ.copy()`: a dict of the environment's items."""
    return DictV({}, frame.module.where(node), [ENVIRON], getattr(node, "lineno", 0), file=frame.module.display)


def drop(base: DictV, key: str) -> None:
    """`del d[key]` / `d.pop(key)` on a copy: gone; from a copy of the environment, for good (not the variable's)."""
    if base.opaque == [ENVIRON]:
        base.items[key] = not_set()
    else:
        base.items.pop(key, None)


def spread(value: Any, text: str) -> str:
    """What `**value` (or `dict(value)`) adds to a dict's opaque part: ENVIRON for the environment itself."""
    return ENVIRON if isinstance(value, ExternalRef) and value.dotted == "os.environ" else f"**{text}"


def keyed(ev: Interpreter, base: Any, key: Any, frame: Frame, node: ast.AST) -> Any:
    """`d[os.getenv(NAME)]`: the item a write under the same variable's key gave; `dict(os.environ)[NAME]`: the
    variable's value; else None."""
    copied = from_environment(ev, base, key, None, frame, node)
    return copied if copied is not None else read(base, key, ev.force)


def from_environment(ev: Interpreter, base: Any, key: Any, default: Any, frame: Frame, node: ast.AST) -> Any:
    """A key a copy of the environment does not hold of its own: the variable's value (`default` where it is
    unset; None: it is required); None where `base` is no such copy."""
    own = isinstance(base, DictV) and base.opaque == [ENVIRON] and is_known(key) and str(key.value) not in base.items
    return ev.environment.lookup(str(key.value), default, frame, node) if own else None


def env_key(key: Any, base: DictV, target: ast.expr, value: Any, force: Callable[[Any], Any]) -> str | None:
    """`$NAME` for a key only a variable's value gives, in Django's DATABASES (`target`, the dict written to),
    whose items and the new one are dicts."""
    if not (_named_by_variable(key) and (last_name(target) or "") == "DATABASES" and list(_dicts(value, force))):
        return None
    assert isinstance(key, SV)
    if f"${key.env}" in base.items:
        return f"${key.env}"  # (written again: `DATABASES[os.getenv(NAME)] = _geo_db`)
    others = [item for name, item in base.items.items() if not name.startswith("$")]
    return f"${key.env}" if others and all(list(_dicts(item, force)) for item in others) else None


def put(base: DictV, name: str, value: Any, text: str) -> None:
    """The item under `$NAME`: present where `text` (the key's code) names no key already there."""
    others = [key for key in base.items if not key.startswith("$")]
    named = " or ".join(f"{text} == {key!r}" for key in others)
    base.items[name] = Branches([(named, not_set()), (f"not ({named})", value)], default=1)


def read(base: DictV, key: Any, force: Callable[[Any], Any]) -> Any:
    """The `$NAME` item a read of the same variable's key finds; None: none."""
    own = base.items.get(f"${key.env}") if isinstance(base, DictV) and _named_by_variable(key) else None
    present = list(_dicts(own, force))
    return present[0] if len(present) == 1 else own  # (where it is there)


def _dicts(value: Any, force: Callable[[Any], Any], depth: int = 0) -> Iterator[DictV]:
    value = force(value)
    if isinstance(value, DictV):
        yield value
    elif isinstance(value, Branches) and depth < 8:
        for _, option in value.options:
            yield from _dicts(option, force, depth + 1)


def _named_by_variable(key: Any) -> bool:
    """A variable's value with no default (None with none set: `os.getenv(NAME)`), or one unknown."""
    return isinstance(key, SV) and bool(key.env) and (not key.known or key.value is None)
