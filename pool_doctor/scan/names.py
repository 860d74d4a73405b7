"""Names in the code, as plain dotted parts (no module, no scope: finder resolves them)."""

from __future__ import annotations

import ast

# Python's own names the scan reads as builtins.NAME where nothing in the module binds them
BUILTIN_NAMES = {
    "int",
    "float",
    "bytes",
    "object",
    "str",
    "bool",
    "dict",
    "list",
    "tuple",
    "set",
    "frozenset",
    "len",
    "range",
    "print",
    "max",
    "min",
    "round",
    "open",
    "type",
    "isinstance",
    "super",
    "getattr",
    "vars",
    "globals",
    "locals",
    "property",
    "hasattr",
    "any",
    "all",
}

DJANGO = b"django"  # a word every Django project's code has (scanner notes it: Project.mentions)


def last_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def dotted_parts(node: ast.expr) -> list[str] | None:
    """`a.b.c` as ["a", "b", "c"]; None for anything that is not a plain dotted name."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return parts[::-1]
