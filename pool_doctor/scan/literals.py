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
    replaced: list[str] = []  # the literal texts a `.replace(old, ...)` on the way takes out
    while operators:
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
            node = node.left
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
            node = node.func.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and (old := _replaced(node)):
            replaced.append(old)
            node = node.func.value
        else:
            break
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        node = node.values[0]
    elif not operators:
        return None
    first = node.value if isinstance(node, ast.Constant) else None
    start = first if isinstance(first, str) and first else None
    return start if not replaced or (start and all(_kept(start, old) for old in replaced)) else None


def _replaced(node: ast.Call) -> str | None:
    """`x.replace(old, new)`'s old, a literal text; None for any other call."""
    old = node.args[0].value if len(node.args) >= 2 and isinstance(node.args[0], ast.Constant) else None
    return old if isinstance(old, str) and old and getattr(node.func, "attr", None) == "replace" else None


def _kept(start: str, old: str) -> bool:
    """Whether a written start with a scheme stays what it is, `old` replaced: neither in it nor begun by its
    end (no match there, nor one reaching into it from what follows)."""
    overlap = any(old.startswith(start[-size:]) for size in range(1, min(len(old), len(start)) + 1))
    return "://" in start and old not in start and not overlap


def shown(text: str) -> str:
    """A source text as the scan shows it: cut at 120 characters, at 400 for a URL written out (an f-string, or a
    literal's `+`, `%` or `.format(...)`: its scheme names the driver), a password it is composed with masked
    before the cut (the cut text no longer parses: values.mask could not find it there)."""
    keep = 400 if len(text) > 120 and "://" in (literal_prefix(text, operators=True) or "") else 120
    return text if len(text) <= keep else without(text, composed_passwords(text))[: keep - 3] + "..."


def literal(value: object) -> bool:
    """A short string or a number, as a test's text may show it in place of the name holding it."""
    return isinstance(value, str | int | float) and not isinstance(value, bool) and len(repr(value)) <= 60


def membership_keys(test: ast.expr) -> set[int]:
    """The nodes a test asks about with `in` / `not in` (`environ_key in os.environ`): where a name's value reads
    better than the name (not `db_api != "asyncpg"`, whose value would show a test the scan has decided)."""
    compares = (c for c in ast.walk(test) if isinstance(c, ast.Compare))
    return {id(c.left) for c in compares if isinstance(c.ops[0], ast.In | ast.NotIn)}
