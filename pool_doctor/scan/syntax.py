"""Source written for a newer Python than the one running the scan (or an older one, Python 2 included:
scan/python2.py), made readable to this one's `ast.parse`.

Projects move to new syntax before their tools do: `type X = ...` and `def f[T]()` (3.12), f-strings with
nested quotes (3.12), `except A, B:` (3.14); and some stay behind: psycopg2's `async=False` (a keyword since
3.7, read as psycopg2's later name, `async_`). Each is rewritten in place, keeping every line and (but for the
`except` clause and `async_`) every column, so the nodes' positions still point into the file as written and the
source text of every value is the file's own. An f-string this Python cannot read becomes a name the scan cannot
resolve: its value is unknown, never a guess.
"""

from __future__ import annotations

import ast
import io
import itertools
import re
import tokenize

from pool_doctor.scan import python2

MAX_REPAIRS = 50  # f-strings rewritten in one file: past this, the file is left unread
UNREAD = "_pool_doctor_unread_"  # a name nothing defines: called, it stands for an f-string this Python cannot read

TYPE_ALIAS = re.compile(r"^([ \t]*)type[ \t]+([A-Za-z_]\w*)[ \t]*(\[[^\n]*?\])?[ \t]*=", re.MULTILINE)
GENERIC_DEF = re.compile(r"^([ \t]*(?:async[ \t]+)?def[ \t]+\w+|[ \t]*class[ \t]+\w+)\[", re.MULTILINE)
EXCEPT_TUPLE = re.compile(r"^([ \t]*except\*?)[ \t]+([^\s(][^:\n]*,[^:\n]*?)[ \t]*:", re.MULTILINE)
FSTRING_START = re.compile(r"(?<![\w.])(?:[rR][fF]|[fF][rR]?)(\"\"\"|'''|\"|')")


def parse_newer(text: str, filename: str) -> tuple[ast.Module, bool, str]:
    """`ast.parse`, retrying with newer syntax rewritten; True when an f-string was left unread; and the text
    the nodes' positions point into (the file's own, but for a Python 2 module: its rewritten text). Raises the
    first SyntaxError when the rewrites do not help."""
    try:
        return ast.parse(text, filename=filename), False, text
    except SyntaxError as exc:
        first = exc
    rewritten = _rewrite_statements(text)
    unread = False
    for _ in range(MAX_REPAIRS):
        try:
            return ast.parse(rewritten, filename=filename), unread, text
        except SyntaxError as exc:
            line = exc.lineno or 0
        repaired = _unread_fstrings(rewritten, line)
        if repaired == rewritten:
            break
        rewritten, unread = repaired, True
    legacy = python2.rewrite(text)  # (a project still on Python 2: tokenserver's `except ValueError, e:`)
    if legacy is not None and legacy != text:
        try:
            return ast.parse(legacy, filename=filename), False, legacy
        except SyntaxError:
            pass
    raise first from None


def _rewrite_statements(text: str) -> str:
    text = TYPE_ALIAS.sub(lambda m: _type_alias(m), text)
    text = GENERIC_DEF.sub(lambda m: m.group(1) + "\0", text)
    text = _drop_type_params(text)
    text = _old_async(text)
    return EXCEPT_TUPLE.sub(lambda m: f"{m.group(1)}({m.group(2)}):", text)


def _old_async(text: str) -> str:
    """`connect(dsn, async=False)` (psycopg2 before 3.7, when `async` became a keyword) as `async_=False`, its
    later name; a string that holds `async=` is left as it is."""
    if "async" not in text:
        return text
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return text
    edits = [
        (*token.start, token.end[1], "async_")
        for token, after in itertools.pairwise(tokens)
        if token.type == tokenize.NAME and token.string == "async" and after.string == "="
    ]
    return python2.edited(text, edits)  # (rows as the tokenizer counts them: a form feed ends none)


def _type_alias(match: re.Match[str]) -> str:
    """`type Url[T] = str` as `Url         = str`: the value keeps its column."""
    indent, name = match.group(1), match.group(2)
    width = len(match.group(0)) - len(indent) - 1
    return f"{indent}{name.ljust(width)}="


def _drop_type_params(text: str) -> str:
    """`def f\0T](x)` (marked by GENERIC_DEF) as `def f   (x)`: the brackets and what is in them, blanked; a
    bracket over several lines keeps its lines, each ended by a backslash so the statement goes on."""
    out: list[str] = []
    index = 0
    while True:
        mark = text.find("\0", index)
        if mark < 0:
            out.append(text[index:])
            return "".join(out)
        out.append(text[index:mark])
        depth, end = 1, mark + 1
        while end < len(text) and depth:
            depth += {"[": 1, "]": -1}.get(text[end], 0)
            end += 1
        lines = "".join(c if c == "\n" else " " for c in "[" + text[mark + 1 : end]).split("\n")
        lines[:-1] = [line[:-1] + "\\" for line in lines[:-1]]  # an empty line gains the one character
        out.append("\n".join(lines))
        index = end


def _unread_fstrings(text: str, line: int) -> str:
    """The f-strings that start on `line`, each replaced by `UNREAD(   )` of the same length and lines (a call
    whose node spans the f-string, so its source text is the f-string's own)."""
    lines = text.split("\n")
    if not 1 <= line <= len(lines):
        return text
    start = sum(len(part) + 1 for part in lines[: line - 1])
    end = start + len(lines[line - 1])
    out: list[str] = []
    index = 0
    changed = False
    for match in FSTRING_START.finditer(text, start, end):
        if match.start() < index:
            continue
        close = _fstring_end(text, match.end(), match.group(1))
        if close is None:
            continue
        length = close - match.start()
        if length < len(UNREAD) + 2:
            continue
        body = "".join(c if c == "\n" else " " for c in text[match.start() + len(UNREAD) + 1 : close - 1])
        out.append(text[index : match.start()] + UNREAD + "(" + body + ")")
        index = close
        changed = True
    if not changed:
        return text
    out.append(text[index:])
    return "".join(out)


def _fstring_end(text: str, index: int, quote: str) -> int | None:
    """Where an f-string whose body starts at `index` ends (just past its closing quote), PEP 701 rules:
    inside `{...}` any string, even in the same quotes, is a nested literal."""
    depth = 0
    while index < len(text):
        if depth == 0:
            if text.startswith(quote, index):
                return index + len(quote)
            char = text[index]
            if char == "\\":
                index += 2
                continue
            if char == "{":
                if text.startswith("{{", index):
                    index += 2
                    continue
                depth = 1
            elif char == "\n" and len(quote) == 1:
                return None
            index += 1
            continue
        char = text[index]
        if char in "\"'":
            inner = text[index : index + 3] if text.startswith(char * 3, index) else char
            end = text.find(inner, index + len(inner))
            if end < 0:
                return None
            index = end + len(inner)
            continue
        if char in "{[(":
            depth += 1
        elif char in "}])":
            depth -= 1
        index += 1
    return None
