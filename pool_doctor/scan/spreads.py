"""What `**value` spreads into a dict literal or a call: a dict; `{}` unless a variable is set
(dj_database_url's, only_where_set); a dict on each side of a test (crt-portal's `{**DATABASES["default"],
...}` where `DATABASES` is set under an `if`), each key its value on each side."""

from __future__ import annotations

import ast
from dataclasses import replace
from typing import Any

from pool_doctor.scan import containers
from pool_doctor.scan.kinds import Branches, DictV, Interpreter, not_set
from pool_doctor.scan.model import NOT_SET


def as_dict(ev: Interpreter, value: Any) -> Any:
    value = only_where_set(value)
    if not isinstance(value, Branches):
        return value
    options, default = containers.settle_options(ev, value)
    sides = [(when, option) for when, option in options if getattr(option, "expr", None) != NOT_SET]
    # (a side with no dict raises KeyError there: no pool is made on it)
    if not sides or not all(isinstance(option, DictV) for _, option in sides):
        return value
    chosen = next((at for at, side in enumerate(sides) if default is not None and side[1] is options[default][1]), None)
    return containers.dict_of_branches(sides, chosen) if len(sides) > 1 else sides[0][1]


def optional_section(node: ast.expr) -> bool:
    """`config.get("database", {})`, `section or {}`: a part of a file the code expects may be absent, the model's
    defaults then (fides' `DatabaseSettings.model_validate(config_dict.get(key, {}))`), unlike a part it requires
    (`settings["general"]`)."""
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
        return _empty(node.values[-1])
    given = node.args[1] if isinstance(node, ast.Call) and len(node.args) == 2 else None
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and _empty(given)
    )


def _empty(node: ast.expr | None) -> bool:
    return (isinstance(node, ast.Dict) and not node.keys) or (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict" and not node.args
    )


def defaults_stand(spread: Any) -> bool:
    """Whether a model made with `**spread` keeps the defaults of the fields the scan sees no key for: a dict
    whose unread parts are keys it cannot name (set in a loop over variables), or a `**kwargs` no call gives;
    not what the scan cannot read at all (a file's section), nor a dict a mapping it cannot read is merged into
    (`cfg.update(json.load(f))`)."""
    if not isinstance(spread, DictV):
        return False
    merged = [text for text in spread.opaque if text.startswith("**")]
    return not merged or (spread.ungiven and len(spread.opaque) == 1)


def only_where_set(value: Any) -> Any:
    """A dict that is `{}` unless a variable is set (`dj_database_url.config()` with no default), as merged into
    another: each of its keys set only where the variable is, so the other dict's own value stands elsewhere."""
    if not isinstance(value, DictV) or value.empty_unless is None:
        return value
    name, test = value.empty_unless
    only = {k: Branches([(f"not ({test})", not_set(name)), (test, v)], default=0) for k, v in value.items.items()}
    return replace(value, items=only, empty_unless=None)
