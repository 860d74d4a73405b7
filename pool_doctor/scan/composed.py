"""The passwords a URL the scan cannot read is composed with, read from its expression's text: a literal that
lands in the URL's password (`"postgresql://app:%s@%s/db" % ("S3cret", os.environ["HOST"])`, `.format(...)`,
`.format_map({...})`, `"...:" + "S3cret" + "@" + host`, `f"...:{'S3cret'}@{host}"`). The URL is unknown, so its
value has no password to mask; its text still writes one. Each piece the code writes as a literal is laid out
where Python would put it, anything else as one placeholder character, and the password's place is read as a
URL's (model.passwords_in). Each password is given as its value and as a literal writes it (`\\` escapes)."""

from __future__ import annotations

import ast
import re
import string

from pool_doctor.scan.model import passwords_in

HOLE = "\x01"  # what the scan cannot read: one character, no space, no quote, no `@`
Piece = tuple[str, bool]  # text, and whether the code writes it as a literal
PERCENT = re.compile(r"%(?:\((?P<key>\w+)\))?[-#0 +]*(?:\d+|\*)?(?:\.\d+)?[sdirfeEgGxXoc%]")
MAX_DEPTH = 20  # nested templates, dicts and calls (a `+` chain is read flat, however long)


def composed_passwords(text: str) -> list[str]:
    """The literal pieces (or their parts) that sit in a password of the URL the text composes."""
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError):
        return []
    pieces = _pieces(tree, 0)
    if not any(literal for _, literal in pieces):
        return []
    shape = "".join(piece for piece, _ in pieces)
    found: list[str] = []
    for password in passwords_in(shape):
        start = shape.index(password)
        at = 0
        for piece, literal in pieces:  # each literal's part inside the password's place
            low, high = max(at, start), min(at + len(piece), start + len(password))
            if literal and low < high:
                found.append(piece[low - at : high - at])
            at += len(piece)
    written = [secret.encode("unicode_escape").decode("ascii") for secret in found]
    return list(dict.fromkeys(secret for secret in (*found, *written) if secret))


def _pieces(node: ast.expr | None, depth: int) -> list[Piece]:
    if node is None or depth > MAX_DEPTH:
        return [(HOLE, False)]
    if isinstance(node, ast.Constant):
        return [(node.value, True)] if isinstance(node.value, str) else [(HOLE, False)]
    if isinstance(node, ast.JoinedStr):
        return [piece for part in node.values for piece in _pieces(_field(part), depth + 1)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return [piece for operand in _added(node) for piece in _pieces(operand, depth + 1)]
    template = _template(node)
    if template is not None and isinstance(node, ast.BinOp):
        return _percent(template, node.right, depth)
    if template is not None and isinstance(node, ast.Call):
        return _formatted(template, node, depth)
    return [(HOLE, False)]


def _field(part: ast.expr) -> ast.expr | None:
    """An f-string's part: its literal text, or a field that is a literal alone (`{'S3cret'}`); else None."""
    if isinstance(part, ast.FormattedValue):
        plain = part.conversion == -1 and part.format_spec is None
        return part.value if plain and isinstance(part.value, ast.Constant) else None
    return part


def _added(node: ast.BinOp) -> list[ast.expr]:
    """The operands of a chain of `+`, left to right."""
    operands: list[ast.expr] = []
    pending: list[ast.expr] = [node]
    while pending:
        item = pending.pop()
        if isinstance(item, ast.BinOp) and isinstance(item.op, ast.Add):
            pending.extend([item.right, item.left])
        else:
            operands.append(item)
    return operands


def _template(node: ast.expr) -> str | None:
    """The literal of `"..." % x`, `"...".format(...)` or `"...".format_map(...)`."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        written: ast.expr | None = node.left
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in FORMATS:
        written = node.func.value
    else:
        written = None
    return written.value if isinstance(written, ast.Constant) and isinstance(written.value, str) else None


FORMATS = ("format", "format_map")


def _keyed(node: ast.expr | None) -> dict[str, ast.expr] | None:
    """A dict literal's (or `dict(...)`'s keywords') items by their literal keys; None for anything else."""
    if isinstance(node, ast.Dict):
        return {
            k.value: v
            for k, v in zip(node.keys, node.values)
            if isinstance(k, ast.Constant) and isinstance(k.value, str)
        }
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict" and not node.args:
        return {kw.arg: kw.value for kw in node.keywords if kw.arg is not None}
    return None


def _percent(template: str, given: ast.expr, depth: int) -> list[Piece]:
    """`template % given`: a tuple's items in turn, a dict's by key, else the one value."""
    items = given.elts if isinstance(given, ast.Tuple) else [given]
    keyed = _keyed(given) or {}
    pieces: list[Piece] = []
    at, index = 0, 0
    for match in PERCENT.finditer(template):
        pieces.append((template[at : match.start()], True))
        at = match.end()
        if match.group() == "%%":
            pieces.append(("%", True))
            continue
        key = match.group("key")
        item = keyed.get(key) if key is not None else (items[index] if index < len(items) else None)
        index += key is None
        pieces.extend(_pieces(item, depth + 1))
    pieces.append((template[at:], True))
    return pieces


def _formatted(template: str, call: ast.Call, depth: int) -> list[Piece]:
    """`template.format(*args, **kwargs)` (or `.format_map(mapping)`): each field the argument it names, in turn
    where it names none."""
    assert isinstance(call.func, ast.Attribute)
    keywords = {kw.arg: kw.value for kw in call.keywords if kw.arg is not None}
    for spread in [kw.value for kw in call.keywords if kw.arg is None] + (
        call.args[:1] if call.func.attr == "format_map" else []
    ):
        keywords.update(_keyed(spread) or {})
    args = call.args if call.func.attr == "format" else []
    pieces: list[Piece] = []
    auto = 0
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError:
        return [(HOLE, False)]
    for literal, name, _, _ in fields:
        pieces.append((literal, True))
        if name is None:
            continue
        if name == "":
            item: ast.expr | None = args[auto] if auto < len(args) else None
            auto += 1
        elif name.isdigit():
            item = args[int(name)] if int(name) < len(args) else None
        else:
            item = keywords.get(name)
        pieces.extend(_pieces(item, depth + 1))
    return pieces
