"""What a text's source, as written, surely starts with (a URL's scheme, before what is computed)."""

from __future__ import annotations

import ast


def literal_prefix(text: str | None, operators: bool = False) -> str | None:
    """The text an f-string (as written: `f"sqlite:///{data_dir()}/app.db"`) surely starts with; None for any
    other expression, or one that starts with a placeholder. With `operators`, also what a text written out
    starts with where only the rest is computed: a literal, and a literal's `+`, `%` or `.format(...)` (its
    whole text, placeholders included); not a text a later call rewrites (`"sqlite:///x".replace(...)`)."""
    try:
        node = ast.parse(text or "", mode="eval").body
    except (SyntaxError, ValueError, RecursionError):
        return None
    while operators:
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
            node = node.left
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
            node = node.func.value
        else:
            break
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        node = node.values[0]
    elif not operators:
        return None
    first = node.value if isinstance(node, ast.Constant) else None
    return first if isinstance(first, str) and first else None
