"""Layered configuration: `collections.ChainMap(*maps)` and wazo's `xivo.chain_map.ChainMap`, read as one dict.

A key is the first layer's that has it. A layer the scan cannot read (a config file outside the tree, what a
library's call returns, what a dict's `**x` holds) is one the deployment gives, as an unset variable is: a key it
may set has the later layers' value, so `ChainMap(cli, file_config, DEFAULTS)` gives the defaults, each from the
line it is written at (as a `configparser` fallback is, for an option no file in the tree has). `os.environ` as a
layer is the variable of the key's name.

collections.ChainMap keeps a nested dict whole (the first layer's); xivo-lib-python's ChainMap (`chain_map.py`: a
UserDict built by `_deep_update`) merges nested dicts key by key, first layer first, and its
AccumulatingListChainMap joins lists too, the first layer's items first.
"""

from __future__ import annotations

import ast
from functools import partial
from typing import Any, Literal

from pool_doctor.scan.containers import settle
from pool_doctor.scan.kinds import SV, Branches, DictV, ExternalRef, Frame, Interpreter, ListV, unknown, unset_as

Merging = Literal["whole", "nested", "lists"]  # what a layer does to a nested dict (and list) of the layers below

LAYERED: dict[str, Merging] = {
    "collections.ChainMap": "whole",
    "xivo.chain_map.ChainMap": "nested",
    "xivo.chain_map.AccumulatingListChainMap": "lists",
}


def calls(ev: Interpreter) -> dict[str, Any]:
    return {dotted: partial(chain, ev, merging) for dotted, merging in LAYERED.items()}


def chain(ev: Interpreter, merging: Merging, node: ast.Call, frame: Frame) -> Any:
    if node.keywords or any(isinstance(arg, ast.Starred) for arg in node.args):
        return unknown(frame.module, node)
    where = frame.module.where(node)
    result = DictV({}, where, line=node.lineno, end_line=node.end_lineno or node.lineno, file=frame.module.display)
    for arg in reversed(node.args):  # the last layer first: each one before it goes over it
        layer = ev.force(ev.eval(arg, frame))
        if isinstance(layer, Branches):
            layer = settle(ev, layer)  # a dict on every path is one dict whose keys hold each path's value
        if isinstance(layer, ExternalRef) and layer.dotted == "os.environ":
            result.items = {key: _from_environment(ev, key, value) for key, value in result.items.items()}
            result.opaque.append("**os.environ")  # any other key is a variable's
        elif isinstance(layer, DictV):
            result.items = _over(ev, merging, layer, result).items
        # else: a layer the scan cannot read is the deployment's to give (see the module's docstring)
    return result


def _over(ev: Interpreter, merging: Merging, upper: DictV, lower: DictV) -> DictV:
    """`upper`'s keys over `lower`'s; where `upper` leaves a key unset on a path, `lower`'s value there."""
    items = dict(lower.items)
    for key, value in upper.items.items():
        if key not in items:
            items[key] = value
            continue
        value, below = ev.force(value), ev.force(items[key])
        if isinstance(value, Branches) and merging != "whole":  # a nested dict on some paths: each merged
            options = [(when, _one(ev, merging, ev.force(option), below)) for when, option in value.options]
            items[key] = Branches(options, default=value.default)
        else:
            items[key] = _one(ev, merging, value, below)
    return DictV(items, upper.origin, [], upper.line, upper.end_line, upper.file)


def _one(ev: Interpreter, merging: Merging, value: Any, below: Any) -> Any:
    if merging != "whole" and isinstance(value, DictV) and isinstance(below, DictV):
        return _over(ev, merging, value, below)
    if merging == "lists" and isinstance(value, ListV) and isinstance(below, ListV):
        return ListV([*value.items, *below.items], value.origin)
    return unset_as(value, below)


def _from_environment(ev: Interpreter, key: str, value: Any) -> Any:
    value = ev.force(value)
    if isinstance(value, SV) and value.known and value.env is None:
        return SV(value.value, value.from_, key, source=value.source)
    return value
