"""Edits applied to one file's source with libcst: everything the edits do not name stays byte for byte, the
layout of a call or dict that gains a key follows its own (one item a line, or inline), and code values
bring their imports."""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import MetadataWrapper, PositionProvider

from pool_doctor.connection.values import PythonCode
from pool_doctor.edit.plan import DICT, OPTIONS, Edit
from pool_doctor.errors import UsageError
from pool_doctor.stacks._code import code_literal

Operation = Callable[[cst.CSTNode], cst.CSTNode]
WIDTH = 88  # black's line length: a call the edits make longer than this is laid out one argument a line
# What a piece of recommended code needs imported (a pool class's own check_connection needs nothing new).
CODE_IMPORTS = {"uuid4(": ("uuid", "uuid4"), "NullPool": ("sqlalchemy.pool", "NullPool")}


@dataclass(frozen=True)
class Applied:
    source: str
    missed: list[str]  # edits that found nothing to change, said as a note
    skipped: list[Edit] = field(default_factory=list)  # those edits


def apply(source: str, edits: Sequence[Edit], display: str) -> Applied:
    """The source with the edits made; a file libcst cannot parse is refused (UsageError)."""
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        raise UsageError(
            f"{display} cannot be edited: it does not parse ({exc.message}, line {exc.raw_line})"
        ) from None
    wrapper = MetadataWrapper(module)
    finder = _Finder()
    wrapper.visit(finder)
    operations: dict[cst.CSTNode, list[Operation]] = {}
    missed: list[str] = []
    skipped: list[Edit] = []
    quote = _quote(source)
    # Keys added under one parent the code does not give yet (kwargs, server_settings) are one new dict.
    added: dict[tuple[cst.CSTNode, str], Any] = {}
    pools: set[cst.CSTNode] = set()  # the calls (or dicts) that gain keys, laid out again once they have them
    for edit in edits:
        if edit.kind == "replace":
            done = _replace(finder, edit, operations, quote)
        else:
            place = _placement(finder, edit)
            done = place is not None
            if place is not None:
                top, node, keys = place
                pools.add(top)
                _merge(added, (node, keys[0]), keys[1:], edit.new)
        if not done:
            missed.append(_missed(display, edit))
            skipped.append(edit)
    for (node, key), value in added.items():
        operations.setdefault(node, []).append(_adding(key, cst.parse_expression(code_literal(value, quote)), quote))
    lines = source.splitlines()
    for top in pools:  # after the keys nested in it: on_leave runs inner nodes first
        column, indent = finder.place_of(top, lines)
        operations.setdefault(top, []).append(lambda node, column=column, indent=indent: _layout(node, column, indent))  # type: ignore[misc]
    changed = wrapper.module.visit(_Apply(operations))
    imports = {CODE_IMPORTS[code] for edit in edits for code in CODE_IMPORTS if code in _code_text(edit.new)}
    if imports:
        context = CodemodContext()
        for module_name, name in sorted(imports):
            AddImportsVisitor.add_needed_import(context, module_name, name)
        changed = AddImportsVisitor(context).transform_module(changed)
    return Applied(changed.code, missed, skipped)


class _Finder(cst.CSTVisitor):
    """Every call, dict and literal of the module with the lines it spans."""

    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self) -> None:
        super().__init__()
        self.containers: list[tuple[int, int, cst.Call | cst.Dict]] = []
        self.columns: dict[cst.CSTNode, int] = {}
        self.literals: list[tuple[int, cst.BaseExpression, Any]] = []
        self.aliases: dict[str, str] = {}  # `from sqlalchemy import create_engine as ce`: ce -> create_engine

    def visit_ImportAlias(self, node: cst.ImportAlias) -> None:
        if node.asname is not None and isinstance(node.asname.name, cst.Name):
            name = node.name
            self.aliases[node.asname.name.value] = name.attr.value if isinstance(name, cst.Attribute) else name.value

    def visit_Call(self, node: cst.Call) -> None:
        self._container(node)

    def visit_Dict(self, node: cst.Dict) -> None:
        self._container(node)

    def _container(self, node: cst.Call | cst.Dict) -> None:
        where = self.get_metadata(PositionProvider, node)
        self.containers.append((where.start.line, where.end.line, node))
        self.columns[node] = where.start.column

    def place_of(self, node: cst.CSTNode, lines: list[str]) -> tuple[int, int]:
        """(the column a container starts at, the indentation of the line it starts on)."""
        start = next(begin for begin, _, found in self.containers if found is node)
        line = lines[start - 1] if start <= len(lines) else ""
        return self.columns[node], len(line) - len(line.lstrip())

    def on_visit(self, node: cst.CSTNode) -> bool:
        value = _literal(node)
        if value is not _NOT:
            assert isinstance(node, cst.BaseExpression)
            self.literals.append((self.get_metadata(PositionProvider, node).start.line, node, value))
        return super().on_visit(node)


class _Apply(cst.CSTTransformer):
    def __init__(self, operations: dict[cst.CSTNode, list[Operation]]) -> None:
        super().__init__()
        self.operations = operations

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> Any:
        for operation in self.operations.get(original_node, ()):
            updated_node = operation(updated_node)
        return updated_node


_NOT = object()


def _literal(node: cst.CSTNode) -> Any:
    """A literal's Python value (numbers, strings, True/False/None, -1), else _NOT."""
    if isinstance(node, cst.Integer | cst.Float | cst.SimpleString):
        return ast.literal_eval(node.value)
    if isinstance(node, cst.Name) and node.value in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[node.value]
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        inner = _literal(node.expression)
        return -inner if isinstance(inner, int | float) and not isinstance(inner, bool) else _NOT
    return _NOT


def _replace(finder: _Finder, edit: Edit, operations: dict[cst.CSTNode, list[Operation]], quote: str) -> bool:
    """The literal on the edit's line that holds the value now: the environment variable's default in
    `int(os.getenv("X", "3600"))` keeps its call around it, a string stays a string."""
    found = [node for line, node, value in finder.literals if line == edit.line and _equal(value, edit.old)]
    if not found:
        return False
    node = found[-1]  # the default, after the variable's name
    text = str(edit.new) if isinstance(_literal(node), str) and not isinstance(edit.new, str) else edit.new
    new = cst.parse_expression(code_literal(text, quote))
    operations.setdefault(node, []).append(lambda _: new)
    return True


def _missed(display: str, edit: Edit) -> str:
    setting = f"{'.'.join(edit.keys)} = {_shown(edit.new)}"
    if edit.into not in (None, DICT, OPTIONS):  # a wrapper's engine call with `**` arguments, or not found by name
        return f"{display}:{edit.line}: set {setting} where the arguments of {edit.into}() here are built"
    elsewhere = f" (set it in {edit.elsewhere})" if edit.elsewhere else ""
    return f"{display}:{edit.line}: found no place to set {setting}{elsewhere}"


def _placement(finder: _Finder, edit: Edit) -> tuple[cst.CSTNode, cst.CSTNode, list[str]] | None:
    """Where a key is added: the pool's call (or dict), or the dict literal under it that already holds the
    key's parent (connect_args={"server_settings": {...}}), with the keys still to create there. An edit `into`
    a dict takes only the one dict literal spanning its lines that names a "url" (a bind's, an engine entry's:
    not the mapping of them around it, on the same line); `into` a name, only the one call of that name (or of
    a name imported as it) starting at its line, with no `**` argument (what it unpacks may hold the key)."""
    spans = [
        (start, end, node) for start, end, node in finder.containers if start >= edit.line and end <= edit.end_line
    ]
    if edit.into == OPTIONS:  # (the smallest dict literal around the line that holds the key beside it)
        spans = [
            (s, e, n)
            for s, e, n in finder.containers
            if s <= edit.line <= e and isinstance(n, cst.Dict) and _value_of(n, edit.beside or "") is not None
        ]
        spans = [min(spans, key=lambda span: span[1] - span[0])] if spans else []
    elif edit.into == DICT:
        # (two on one line both holding it, one as a variable's default: which is this pool's is not told: none)
        spans = [
            (s, e, n)
            for s, e, n in spans
            if (s, e) == (edit.line, edit.end_line) and isinstance(n, cst.Dict) and _holds_url(n, edit.url)
        ]
    elif edit.into is not None:  # (the engine call in a wrapper)
        spans = [
            (s, e, n)
            for s, e, n in finder.containers
            if s == edit.line and edit.into in (_callee(n), finder.aliases.get(_callee(n) or ""))
        ]
    if len(spans) != 1 and edit.into is not None:
        return None  # none, or more than one it could be (`a(...) if x else b(...)`)
    if not spans:
        return None
    top: cst.CSTNode = min(spans, key=lambda span: (span[0], -span[1]))[2]
    if edit.into not in (None, DICT, OPTIONS) and isinstance(top, cst.Call) and any(a.star == "**" for a in top.args):
        return None
    node, keys = top, list(edit.keys)
    while len(keys) > 1:
        inner = _value_of(node, keys[0])
        if not isinstance(inner, cst.Dict):
            break  # absent (added whole below) or not a literal the edit can reach
        node, keys = inner, keys[1:]
    if len(keys) > 1 and _value_of(node, keys[0]) is not None:
        return None  # the parent is given, but not as a literal: a name or call this edit cannot reach into
    return top, node, keys


def _holds_url(node: cst.Dict, url: str | None) -> bool:
    """Whether the dict names a "url", written as `url` is (when the scan read its source), or holding it (a
    default: `os.getenv("URL", "postgresql://...")`)."""
    given = _value_of(node, "url")
    return given is not None and (url is None or url in _code(given))


def _callee(node: cst.CSTNode) -> str | None:
    """The name a call calls (`create_engine` of `sqlalchemy.create_engine(...)`)."""
    if not isinstance(node, cst.Call):
        return None
    func = node.func
    return func.value if isinstance(func, cst.Name) else func.attr.value if isinstance(func, cst.Attribute) else None


def _merge(
    added: dict[tuple[cst.CSTNode, str], Any], where: tuple[cst.CSTNode, str], keys: list[str], value: Any
) -> None:
    """One more key into what is added at `where`, nested under the keys still to create."""
    if not keys:
        added[where] = value
        return
    table = added.setdefault(where, {})
    for key in keys[:-1]:
        table = table.setdefault(key, {})
    table[keys[-1]] = value


def _adding(key: str, expression: cst.BaseExpression, quote: str) -> Operation:
    return lambda updated: _appended(updated, key, expression, quote)


def _layout(node: cst.CSTNode, column: int, indent: int) -> cst.CSTNode:
    """A call or dict the edits made longer than WIDTH on its one line: one item a line, a trailing comma, the
    closing bracket under its line's start, and so on down for an item still too long (as black would write
    it). One the code lays out on several lines keeps its layout; only its items are looked at."""
    if not isinstance(node, cst.Call | cst.Dict):
        return node
    code = _code(node)
    if "\n" not in code and column + len(code) <= WIDTH:
        return node
    if isinstance(node, cst.Call) and _hugged(node) and any(len(line) > WIDTH for line in code.splitlines()):
        return _one_a_line(node, indent)
    exploding = "\n" not in code
    inner, closing = _break(indent + 4), _break(indent)
    if isinstance(node, cst.Call):
        args = []
        for arg in node.args:
            prefix = len(arg.keyword.value) + 1 if arg.keyword is not None else len(arg.star)
            arg = arg.with_changes(value=_layout(arg.value, indent + 4 + prefix, indent + 4))
            if exploding:
                arg = arg.with_changes(
                    comma=cst.Comma(whitespace_after=inner), whitespace_after_arg=cst.SimpleWhitespace("")
                )
            args.append(arg)
        if not exploding:
            return node.with_changes(args=args)
        args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=closing))
        return node.with_changes(whitespace_before_args=inner, args=args)
    elements = []
    for element in node.elements:
        if isinstance(element, cst.DictElement):
            prefix = len(_code(element.key)) + 2
            element = element.with_changes(value=_layout(element.value, indent + 4 + prefix, indent + 4))
        if exploding:
            element = element.with_changes(comma=cst.Comma(whitespace_after=inner))
        elements.append(element)
    if not exploding:
        return node.with_changes(elements=elements)
    elements[-1] = elements[-1].with_changes(comma=cst.Comma(whitespace_after=closing))
    return node.with_changes(
        lbrace=cst.LeftCurlyBrace(whitespace_after=inner), elements=elements, rbrace=cst.RightCurlyBrace()
    )


def _hugged(node: cst.Call) -> bool:
    """`f(<newline>    a, b=1, c=2<newline>)`: the arguments on one line of their own."""
    ends = [arg.comma.whitespace_after for arg in node.args[:-1] if isinstance(arg.comma, cst.Comma)]
    return bool(node.args) and _newline(node.whitespace_before_args) and not any(_newline(w) for w in ends)


def _one_a_line(node: cst.Call, indent: int) -> cst.Call:
    """A hugged call whose line the edits made too long: each argument on its own line, indented as that line
    was (its block's indentation, `indent` of the line the call starts on, and then its own), a trailing comma,
    the closing bracket where it was (as black writes it)."""
    before = node.whitespace_before_args
    assert isinstance(before, cst.ParenthesizedWhitespace)
    line = before.with_changes(first_line=cst.TrailingWhitespace(), empty_lines=[])  # (as the arguments' line)
    column = (indent if before.indent else 0) + len(before.last_line.value)
    args = []
    for arg in node.args:  # (on one line: no comment ends a line between them)
        prefix = len(arg.keyword.value) + 1 if arg.keyword is not None else len(arg.star)
        value = _layout(arg.value, column + prefix, column)
        args.append(arg.with_changes(value=value, comma=cst.Comma(whitespace_after=line)))
    last = node.args[-1]  # (the break before the bracket, with the comment ending the line, after the last comma)
    ending = last.comma if isinstance(last.comma, cst.Comma) else cst.Comma(whitespace_after=last.whitespace_after_arg)
    args[-1] = args[-1].with_changes(comma=ending, whitespace_after_arg=cst.SimpleWhitespace(""))
    return node.with_changes(args=args)


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


def _break(indent: int) -> cst.ParenthesizedWhitespace:
    """A line break inside brackets, then `indent` spaces."""
    return cst.ParenthesizedWhitespace(
        first_line=cst.TrailingWhitespace(), empty_lines=[], indent=False, last_line=cst.SimpleWhitespace(" " * indent)
    )


def _value_of(node: cst.CSTNode, key: str) -> cst.BaseExpression | None:
    if isinstance(node, cst.Call):
        return next((arg.value for arg in node.args if arg.keyword is not None and arg.keyword.value == key), None)
    if isinstance(node, cst.Dict):
        for element in node.elements:
            if isinstance(element, cst.DictElement) and _literal(element.key) == key:
                return element.value
    return None


def _appended(node: cst.CSTNode, key: str, value: cst.BaseExpression, quote: str) -> cst.CSTNode:
    """The call (or dict) with one more keyword (or key) last, laid out as its other items are."""
    if isinstance(node, cst.Call):
        argument = cst.Arg(
            value=value,
            keyword=cst.Name(key),
            equal=cst.AssignEqual(
                whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
            ),
        )
        args = list(node.args)
        if not args:
            return node.with_changes(args=[argument])
        last = args[-1]
        between = args[-2].comma.whitespace_after if len(args) > 1 and isinstance(args[-2].comma, cst.Comma) else None
        if between is None:
            between = (
                node.whitespace_before_args if _newline(node.whitespace_before_args) else cst.SimpleWhitespace(" ")
            )
        between = _bare(between)  # the line break and indent between items, never another item's comment
        if isinstance(last.comma, cst.Comma):  # a trailing comma: the new item takes it, the last gets a separator
            kept, moved = _split_comma(last.comma, between)
            argument = argument.with_changes(comma=moved)
            args[-1] = last.with_changes(comma=kept)
        else:
            after = last.whitespace_after_arg  # the closing line's break, and the last line's comment if any
            same_line = not isinstance(between, cst.ParenthesizedWhitespace)  # (its comment then ends the new one's)
            argument = argument.with_changes(whitespace_after_arg=after if same_line else _bare(after))
            line_end = between
            if isinstance(after, cst.ParenthesizedWhitespace) and isinstance(between, cst.ParenthesizedWhitespace):
                line_end = after.with_changes(last_line=between.last_line, indent=between.indent)
            args[-1] = last.with_changes(
                comma=cst.Comma(whitespace_after=line_end), whitespace_after_arg=cst.SimpleWhitespace("")
            )
        return node.with_changes(args=[*args, argument])
    assert isinstance(node, cst.Dict)
    element = cst.DictElement(
        key=cst.parse_expression(code_literal(key, quote)),
        value=value,
        whitespace_before_colon=cst.SimpleWhitespace(""),
        whitespace_after_colon=cst.SimpleWhitespace(" "),
    )
    elements = list(node.elements)
    if not elements:
        return node.with_changes(elements=[element])
    last_element = elements[-1]
    between = (
        elements[-2].comma.whitespace_after if len(elements) > 1 and isinstance(elements[-2].comma, cst.Comma) else None
    )
    if between is None:
        opening = node.lbrace.whitespace_after
        between = opening if _newline(opening) else cst.SimpleWhitespace(" ")
    between = _bare(between)
    closing = node.rbrace.whitespace_before  # a dict keeps its last line's comment before the closing brace
    if isinstance(closing, cst.ParenthesizedWhitespace) and isinstance(between, cst.ParenthesizedWhitespace):
        # The comment stays on the last element's line; the new element's line ends bare.
        line_end = closing.with_changes(last_line=between.last_line, indent=between.indent)
        last_comma = last_element.comma if isinstance(last_element.comma, cst.Comma) else cst.Comma()
        elements[-1] = last_element.with_changes(comma=last_comma.with_changes(whitespace_after=line_end))
        if isinstance(last_element.comma, cst.Comma):
            element = element.with_changes(comma=cst.Comma())
        node = node.with_changes(rbrace=node.rbrace.with_changes(whitespace_before=_bare(closing)))
    elif isinstance(last_element.comma, cst.Comma):
        kept, moved = _split_comma(last_element.comma, between)
        element = element.with_changes(comma=moved)
        elements[-1] = last_element.with_changes(comma=kept)
    else:
        elements[-1] = last_element.with_changes(comma=cst.Comma(whitespace_after=between))
    return node.with_changes(elements=[*elements, element])


def _bare(whitespace: cst.BaseParenthesizableWhitespace) -> cst.BaseParenthesizableWhitespace:
    """A line break and its indent without the comment that ended the line it was copied from."""
    if isinstance(whitespace, cst.ParenthesizedWhitespace):
        return whitespace.with_changes(first_line=cst.TrailingWhitespace(), empty_lines=[])
    return whitespace


def _split_comma(comma: cst.Comma, between: cst.BaseParenthesizableWhitespace) -> tuple[cst.Comma, cst.Comma]:
    """The last item's trailing comma, split for an item appended after it: the last item keeps its own line's
    comment and breaks to the new item's line; the new item's comma breaks to the closing bracket, as the
    last one did."""
    after = comma.whitespace_after
    if not isinstance(after, cst.ParenthesizedWhitespace) or not isinstance(between, cst.ParenthesizedWhitespace):
        return cst.Comma(whitespace_after=between), comma
    kept = comma.with_changes(whitespace_after=after.with_changes(last_line=between.last_line, indent=between.indent))
    moved = comma.with_changes(whitespace_after=_bare(after))
    return kept, moved


def _newline(whitespace: cst.BaseParenthesizableWhitespace) -> bool:
    return isinstance(whitespace, cst.ParenthesizedWhitespace)


def _equal(literal: Any, value: Any) -> bool:
    """A literal holds the scanned value: the same, or its text (an environment default is a string)."""
    if isinstance(literal, bool) or isinstance(value, bool):
        return literal is value
    if literal == value:
        return True
    return isinstance(literal, str) and not isinstance(value, str) and value is not None and literal == str(value)


def _quote(source: str) -> str:
    """The quote the file writes strings with, so an added one looks like its neighbours."""
    return '"' if source.count('"') >= source.count("'") else "'"


def _code_text(value: Any) -> str:
    if isinstance(value, PythonCode):
        return str(value)
    if isinstance(value, dict):
        return " ".join(_code_text(item) for item in value.values())
    return ""


def _shown(value: Any) -> str:
    return str(value) if isinstance(value, PythonCode) else repr(value)
