"""Python source as the stacks write it for the app (recommend's snippets): values as literals, laid out as a
formatter would at PEP 8's width, so a snippet fits an 80-column terminal where it can; a literal longer
than that (a URL) stays whole on its line."""

from __future__ import annotations

import json
from typing import Any

from pool_doctor.connection.values import PythonCode

CODE_WIDTH = 79
SECRET_NOTE = "# the password: from your secret store or ~/.pgpass, never in code"
SECRET_NOTE_NO_PGPASS = "# the password: from your secret store, never in code (the driver reads no ~/.pgpass)"


def code_lines(head: str, value: Any, tail: str, indent: int, *, explode: bool = False, quote: str = "'") -> list[str]:
    """`head`, the value as a Python literal, then `tail`, on one line when it fits CODE_WIDTH; otherwise a
    dict or list one item a line, each with a trailing comma, as black would lay it out. `explode` puts the
    items one a line even when they would fit; `quote` is the quote strings take."""
    pad = " " * indent
    flat = f"{pad}{head}{code_literal(value, quote)}{tail}"
    if (len(flat) <= CODE_WIDTH and not explode) or not isinstance(value, dict | list) or not value:
        return [flat]
    opening, closing = ("{", "}") if isinstance(value, dict) else ("[", "]")
    items = value.items() if isinstance(value, dict) else ((None, item) for item in value)
    lines = [f"{pad}{head}{opening}"]
    for key, item in items:
        key_text = "" if key is None else f"{code_literal(key, quote)}: "
        lines += code_lines(key_text, item, ",", indent + 4, quote=quote)
    return [*lines, f"{pad}{closing}{tail}"]


def code_literal(value: Any, quote: str = "'") -> str:
    """A value as Python source: code (PythonCode) as itself, strings in `quote`, containers item by item."""
    if isinstance(value, PythonCode):
        return str(value)
    if isinstance(value, str):
        if quote == '"':
            return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid Python string literal
        return repr(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{code_literal(k, quote)}: {code_literal(v, quote)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(code_literal(item, quote) for item in value) + "]"
    return repr(value)


def holds_code(value: Any) -> bool:
    """Whether a value (or anything nested in it) is code, so the snippet must import what the code uses."""
    if isinstance(value, PythonCode):
        return True
    if isinstance(value, dict):
        return any(holds_code(item) for item in value.values())
    return isinstance(value, list) and any(holds_code(item) for item in value)
