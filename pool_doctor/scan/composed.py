"""The passwords a URL the scan cannot read is composed with, read from its expression's text: a literal that
lands in the URL's password (`"postgresql://app:%s@%s/db" % ("S3cret", os.environ["HOST"])`, `.format(...)`,
`"...:" + "S3cret" + "@" + host`). The URL is unknown, so its value has no password to mask; its text still
writes one. Each piece the code writes as a literal is laid out where Python would put it, anything else as one
placeholder character, and the password's place is read as a URL's (model.passwords_in)."""

from __future__ import annotations

import ast
import re
import string

from pool_doctor.scan.model import passwords_in

HOLE = "\x01"  # what the scan cannot read: one character, no space, no quote, no `@`
Piece = tuple[str, bool]  # text, and whether the code writes it as a literal
PERCENT = re.compile(r"%(?:\((?P<key>\w+)\))?[-#0 +]*(?:\d+|\*)?(?:\.\d+)?[sdirfeEgGxXoc%]")


def composed_passwords(text: str) -> list[str]:
    """The literal pieces (or their parts) that sit in a password of the URL the text composes."""
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError):
        return []
    pieces = _pieces(tree, 0)
    if pieces is None or not any(literal for _, literal in pieces):
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
    return [secret for secret in found if secret]


def _pieces(node: ast.expr, depth: int) -> list[Piece] | None:
    if depth > 20:
        return None
    if isinstance(node, ast.Constant):
        return [(node.value, True)] if isinstance(node.value, str) else [(HOLE, False)]
    if isinstance(node, ast.JoinedStr):
        return [
            (part.value, True) if isinstance(part, ast.Constant) and isinstance(part.value, str) else (HOLE, False)
            for part in node.values
        ]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _pieces(node.left, depth + 1), _pieces(node.right, depth + 1)
        return None if left is None or right is None else [*left, *right]
    template = _template(node)
    if template is not None and isinstance(node, ast.BinOp):
        return _percent(template, node.right, depth)
    if template is not None and isinstance(node, ast.Call):
        return _formatted(template, node, depth)
    return [(HOLE, False)]


def _template(node: ast.expr) -> str | None:
    """The literal of `"..." % x` or `"...".format(...)`."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        written: ast.expr | None = node.left
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        written = node.func.value
    else:
        written = None
    return written.value if isinstance(written, ast.Constant) and isinstance(written.value, str) else None


def _percent(template: str, given: ast.expr, depth: int) -> list[Piece] | None:
    """`template % given`: a tuple's items in turn, a dict's by key, else the one value."""
    items = given.elts if isinstance(given, ast.Tuple) else [given]
    keyed: dict[object, ast.expr] = {}
    if isinstance(given, ast.Dict):
        keyed = {k.value: v for k, v in zip(given.keys, given.values) if isinstance(k, ast.Constant)}
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
        part = _pieces(item, depth + 1) if item is not None else [(HOLE, False)]
        if part is None:
            return None
        pieces.extend(part)
    pieces.append((template[at:], True))
    return pieces


def _formatted(template: str, call: ast.Call, depth: int) -> list[Piece] | None:
    """`template.format(*args, **kwargs)`: each field the argument it names, in turn where it names none."""
    keywords = {kw.arg: kw.value for kw in call.keywords if kw.arg is not None}
    pieces: list[Piece] = []
    auto = 0
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError:
        return None
    for literal, name, _, _ in fields:
        pieces.append((literal, True))
        if name is None:
            continue
        if name == "":
            item: ast.expr | None = call.args[auto] if auto < len(call.args) else None
            auto += 1
        elif name.isdigit():
            item = call.args[int(name)] if int(name) < len(call.args) else None
        else:
            item = keywords.get(name)
        part = _pieces(item, depth + 1) if item is not None else None
        pieces.extend(part if part is not None else [(HOLE, False)])
    return pieces
