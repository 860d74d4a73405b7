"""What a text's source, as written, surely starts with (a URL's scheme, before what is computed)."""

from __future__ import annotations

import ast

from pool_doctor.scan.composed import composed_passwords
from pool_doctor.scan.model import without


def literal_prefix(text: str | None, operators: bool = False) -> str | None:
    """The text an f-string (as written: `f"sqlite:///{data_dir()}/app.db"`) surely starts with; None for any
    other expression, or one that starts with a placeholder. With `operators`, also what a text written out
    starts with where only the rest is computed: a literal, and a literal's `+`, `%` or `.format(...)` (its
    whole text, placeholders included); not a text a later call rewrites (`"sqlite:///x".replace(...)`), but for
    a `replace` of a text its start does not hold (`.replace(" ", "")`: the scheme stays)."""
    try:
        node = ast.parse(text or "", mode="eval").body
    except (SyntaxError, ValueError, RecursionError):
        return None
    while operators:
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
            node = node.left
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and _keeps_start(node, node.func):
            node = node.func.value
        else:
            break
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        node = node.values[0]
    elif not operators:
        return None
    first = node.value if isinstance(node, ast.Constant) else None
    return first if isinstance(first, str) and first else None


def _keeps_start(node: ast.Call, func: ast.Attribute) -> bool:
    """`x.format(...)`; `x.replace(old, new)` where x's written start has a scheme and `old` (a literal) is neither in that start nor
    begun by its end (no match there, nor one reaching into it from what follows): the start is x's."""
    if func.attr == "format":
        return True
    if func.attr != "replace":
        return False
    old = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else None
    start = literal_prefix(ast.unparse(func.value), operators=True) or ""
    if not (isinstance(old, str) and old and "://" in start):
        return False
    return old not in start and not any(
        old.startswith(start[-size:]) for size in range(1, min(len(old), len(start)) + 1)
    )


def shown(text: str) -> str:
    """A source text as the scan shows it: cut at 120 characters, at 400 for a URL written out (an f-string, or a
    literal's `+`, `%` or `.format(...)`: its scheme names the driver), a password it is composed with masked
    before the cut (the cut text no longer parses: values.mask could not find it there)."""
    keep = 400 if len(text) > 120 and "://" in (literal_prefix(text, operators=True) or "") else 120
    return text if len(text) <= keep else without(text, composed_passwords(text))[: keep - 3] + "..."
