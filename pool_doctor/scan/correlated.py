"""A test the scan cannot decide as a whole but can for each value a name it reads may hold (leaderboard's
`if settings['sqlalchemy.url'][0] == '%':`, the URL one per ini file `pserve` may be given): on each side of the
test that name keeps only the values that take that side, so neither side meets a value that never reaches it
(the development URL read as the name of a variable, `'%HEROKU_POSTGRESQL_ORANGE_URL'` as a URL)."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from pool_doctor.scan import containers
from pool_doctor.scan.kinds import Branches, Frame, Interpreter
from pool_doctor.scan.nodes import pseudo_name

MAX_OPTIONS = 8  # values of one name tried against the test: past this, nothing is narrowed
MAX_NODES = 16  # a test's syntax nodes: a longer one is not tried value by value
TEXT_METHODS = frozenset({"startswith", "endswith", "lower", "upper", "strip", "casefold"})
State = dict[str, Any]
Change = Callable[..., State]


def sides(
    ev: Interpreter, test: ast.expr, state: State, frame_of: Callable[[State], Frame], change: Change, run: Any
) -> tuple[State, State]:
    """The state on the side of `test` where it holds, and where it fails (`change(run, node, state, edit)`:
    the flow's write of `edit(value)` to a name, or a dict's item)."""
    if not _simple(test):
        return state, state  # (a call or a membership run once per value costs more than it tells: pgsync's 34 s)
    edit = partial(change, run)
    return _narrowed(ev, test, state, True, frame_of, edit), _narrowed(ev, test, state, False, frame_of, edit)


def _narrowed(
    ev: Interpreter, test: ast.expr, state: State, holds: bool, frame_of: Callable[[State], Frame], change: Change
) -> State:
    """The state on the side of `test` where it `holds`: the first name (a `self.x`, a dict's item the code names)
    the test reads whose values each decide it keeps those that take this side."""
    for node in _reads(test):
        value = ev.force(ev.eval(node, frame_of(state)))
        if not isinstance(value, Branches):
            continue
        options, default = containers.settle_options(ev, value)
        if len(options) > MAX_OPTIONS:
            continue
        kept: list[int] = []
        for index, (_, option) in enumerate(options):
            alone = change(node, state, lambda _, given=option: given)
            verdict, by_env = containers.decide(ev, ev.force(ev.eval(test, frame_of(alone))))
            if verdict is None or by_env:
                break  # (a value that leaves the test to the environment, or undecided: nothing narrowed)
            kept += [index] if verdict == holds else []
        else:
            if kept and len(kept) < len(options):
                chosen = kept.index(default) if default in kept else None
                left = Branches([options[index] for index in kept], default=chosen)
                return change(node, state, lambda _, given=left: given)
    return state


def _simple(test: ast.expr) -> bool:
    """A test of a few names and constants, compared: no membership, no call but a text's own method given
    constants (`url.startswith("postgres://")`), at most MAX_NODES nodes."""
    found = list(ast.walk(test))
    costly = (ast.Lambda, ast.In, ast.NotIn, ast.comprehension)
    calls = [node for node in found if isinstance(node, ast.Call)]
    return (
        len(found) <= MAX_NODES and not any(isinstance(node, costly) for node in found) and all(map(_text_call, calls))
    )


def _text_call(call: ast.Call) -> bool:
    return (
        isinstance(call.func, ast.Attribute)
        and call.func.attr in TEXT_METHODS
        and all(isinstance(arg, ast.Constant) for arg in [*call.args, *(kw.value for kw in call.keywords)])
    )


def _reads(test: ast.expr) -> Iterator[ast.expr]:
    """The names (a `self.x`, a dict's item the code names) the test reads, not a method it calls."""
    methods = {id(node.func) for node in ast.walk(test) if isinstance(node, ast.Call)}
    for node in ast.walk(test):
        if id(node) in methods:
            continue
        if (
            isinstance(node, ast.Name)
            or (isinstance(node, ast.Attribute) and pseudo_name(node))
            or (
                isinstance(node, ast.Subscript)
                and isinstance(node.slice, ast.Constant)
                and isinstance(node.value, ast.Name)
            )
        ):
            yield node
