"""Python's own functions the scan works out on known values: `round`, `math.floor` and `math.ceil`, `len`,
`urllib.parse.quote` and `quote_plus`."""

from __future__ import annotations

import ast
import math
import urllib.parse
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from pool_doctor.scan import containers
from pool_doctor.scan.kinds import SV, Frame, Interpreter, env_of, is_known, unknown

NUMBERS = (int, float)
QUOTES = ("quote", "quote_plus")  # urllib.parse's, on one text with their default safe characters
ROUNDING = (("builtins", round), ("math", math.floor), ("math", math.ceil))


def quoted(ev: Interpreter, name: str, node: ast.Call, frame: Frame) -> Any:
    """`urllib.parse.quote_plus(password)` in a URL (onyx's): the text as it quotes it, over each branch."""
    value = ev.eval(node.args[0], frame) if node.args and not node.keywords else None
    if value is None:
        return unknown(frame.module, node)
    quote = getattr(urllib.parse, name)

    def one(text: Any) -> Any:
        if is_known(text) and isinstance(text.value, str) and len(node.args) == 1:
            return replace(text, value=quote(text.value))
        return unknown(frame.module, node, env=env_of(text))

    return containers.lift(ev, [value], one)


def rounded(ev: Interpreter, how: Callable[..., Any], node: ast.Call, frame: Frame) -> Any:
    """`round(x, n)`, `math.floor(x)`, `math.ceil(x)` (agenta's pool sizes)."""
    value = ev.force(ev.arg(node, frame, 0, "number" if how is round else "x"))
    if not is_known(value) or not isinstance(value.value, NUMBERS):
        return unknown(frame.module, node, env=env_of(value))
    digits = ev.force(ev.arg(node, frame, 1, "ndigits")) if how is round else None
    places = digits.value if is_known(digits) and isinstance(digits.value, int) else None
    return replace(value, value=how(value.value, places) if how is round else how(value.value))


def length(ev: Interpreter, node: ast.Call, frame: Frame) -> Any:
    items = containers.items_of(ev, ev.eval(node.args[0], frame)) if node.args else None
    return SV(len(items), frame.module.where(node)) if items is not None else unknown(frame.module, node)
