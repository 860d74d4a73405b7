"""Python 2 source made readable to this Python's `ast.parse`: projects still on Python 2 (mozilla's tokenserver,
cuckoo) make pools too, and one `print "..."` or `os.umask(0077)` left the whole file, and its pools, unread.

Rewritten token by token, each on its own line: `print x` / `print >>f, x` and `exec code` as calls, `raise E,
msg` as `raise E(msg)`, `except E, e:` as `except E as e:`, `0777` as `0o777`, `10L` as `10`, `ur"..."` as
`r"..."`, `<>` as `!=`, backquotes as `repr(...)`, and leading tabs mixed with spaces expanded as Python 2 did (to
the next multiple of 8). Lines keep their numbers; the rewritten text (columns moved where a token or an indent
changed) is the module's source, so a value's source text is what its nodes point at (syntax.parse_newer).
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterator

Edit = tuple[int, int, int, str]  # (row, start column, end column, replacement)

STATEMENT_START = {tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT}
NOT_A_STATEMENT = {"(", ")", "[", "]", "}", ",", "=", ".", ":", ";"}  # `print(x)`, `x = print`: a function's
OCTAL = re.compile(r"0[0-7]+")
OPEN, CLOSE = "([{", ")]}"


def rewrite(text: str) -> str | None:
    """The text as Python 3 reads it, or None when it tokenizes as neither."""
    if "\t" in text:
        text = "".join(_expand(line) for line in re.split(r"(?<=\n)", text))
    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type != tokenize.COMMENT]
    except (tokenize.TokenError, SyntaxError):
        return None
    return edited(text, list(_edits(tokens, "print_function" in text)))


def edited(text: str, edits: list[Edit]) -> str:
    """The text with each edit made at its token's row and columns, rows counted as the tokenizer counts them
    (ended by "\n" only: a form feed or U+2028 ends none)."""
    if not edits:
        return text
    rows = re.split(r"(?<=\n)", text)
    for row, start, end, new in sorted(edits, reverse=True):
        if 1 <= row <= len(rows):
            rows[row - 1] = rows[row - 1][:start] + new + rows[row - 1][end:]
    return "".join(rows)


def _expand(line: str) -> str:
    indent = len(line) - len(line.lstrip(" \t"))
    return line[:indent].expandtabs(8) + line[indent:]


def _edits(tokens: list[tokenize.TokenInfo], print_function: bool) -> Iterator[Edit]:
    backquotes = 0
    for i, token in enumerate(tokens):
        before = tokens[i - 1] if i else None
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        starts = before is None or before.type in STATEMENT_START or before.string in (":", ";")
        if token.type == tokenize.NAME and starts and after is not None:
            if token.string in ("print", "exec") and after.string not in NOT_A_STATEMENT:
                yield from [] if token.string == "print" and print_function else _as_call(tokens, i)
            elif token.string == "raise":
                yield from _raise(tokens, i)
            elif token.string == "except":
                yield from _except(tokens, i)
        elif token.type == tokenize.NUMBER and not _joined(before, token):
            yield from _number(tokens, i)
        elif token.type == tokenize.NAME and token.string.lower() == "ur" and after is not None:
            if after.type == tokenize.STRING and after.start == token.end:
                yield (*token.start, token.end[1], "r")
        elif token.string == "<>":  # (one token from Python 3.12 on, two before)
            yield (*token.start, token.end[1], "!=")
        elif token.string == "<" and after is not None and after.string == ">" and _joined(token, after):
            yield (*token.start, after.end[1], "!=")
        elif token.string == "`":  # (an error token before Python 3.12, an operator from then on)
            backquotes += 1
            yield (*token.start, token.end[1], "repr(" if backquotes % 2 else ")")


def _joined(before: tokenize.TokenInfo | None, token: tokenize.TokenInfo) -> bool:
    return before is not None and before.end == token.start and before.type == token.type


def _number(tokens: list[tokenize.TokenInfo], at: int) -> Iterator[Edit]:
    """`0777` as `0o777` (one token, or `0` and `777` before Python 3.12) and `10L` as `10`."""
    end = at
    while end + 1 < len(tokens) and _joined(tokens[end], tokens[end + 1]):
        end += 1
    written = "".join(t.string for t in tokens[at : end + 1])
    if OCTAL.fullmatch(written) and len(written) > 1:
        yield (*tokens[at].start, tokens[end].end[1], "0o" + written[1:])
    after = tokens[end + 1] if end + 1 < len(tokens) else None
    if (
        after is not None
        and after.type == tokenize.NAME
        and after.string in ("l", "L")
        and after.start == tokens[end].end
    ):
        yield (*after.start, after.end[1], "")


def _statement(tokens: list[tokenize.TokenInfo], start: int) -> Iterator[tuple[int, tokenize.TokenInfo, int]]:
    """The tokens of the statement after `start`, each with its index and bracket depth, up to its end (the
    NEWLINE or `;` that ends it, yielded last at depth 0)."""
    depth = 0
    for i in range(start + 1, len(tokens)):
        token = tokens[i]
        if token.type == tokenize.OP and token.string in OPEN:
            depth += 1
        elif token.type == tokenize.OP and token.string in CLOSE:
            depth -= 1
        yield i, token, depth
        if depth <= 0 and (token.type in (tokenize.NEWLINE, tokenize.ENDMARKER) or token.string == ";"):
            return


def _as_call(tokens: list[tokenize.TokenInfo], at: int) -> Iterator[Edit]:
    """`print x, y` as `print(x, y)`; `print >>f, x` as `print(f, x)`; `exec code in ns` as `exec(code in ns)`."""
    name = tokens[at]
    yield (*name.end, name.end[1], "(")
    for i, token, depth in _statement(tokens, at):
        if token.string == ">>" and i == at + 1:
            yield (*token.start, token.end[1], "")
        if depth <= 0 and (token.type in (tokenize.NEWLINE, tokenize.ENDMARKER) or token.string == ";"):
            yield _end_of(tokens[i - 1])
            return


def _raise(tokens: list[tokenize.TokenInfo], at: int) -> Iterator[Edit]:
    """`raise E, msg` as `raise E(msg)`."""
    comma = None
    for i, token, depth in _statement(tokens, at):
        if depth == 0 and token.string == "," and comma is None:
            comma = token
        if depth <= 0 and (token.type in (tokenize.NEWLINE, tokenize.ENDMARKER) or token.string == ";"):
            if comma is not None:
                yield (*comma.start, comma.end[1], "(")
                yield _end_of(tokens[i - 1])
            return


def _except(tokens: list[tokenize.TokenInfo], at: int) -> Iterator[Edit]:
    """`except E, e:` and `except (A, B), e:` as `except ... as e:`."""
    comma = None
    for _, token, depth in _statement(tokens, at):
        if depth == 0 and token.string == ",":
            comma = token
        if depth == 0 and token.string == ":":
            if comma is not None:
                yield (*comma.start, comma.end[1], " as")
            return


def _end_of(last: tokenize.TokenInfo) -> Edit:
    """A statement's closing parenthesis, just after its last token (before a comment)."""
    row, col = last.end
    return row, col, col, ")"
