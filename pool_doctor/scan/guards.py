"""What an app's configuration holds when its writes sit under tests: Flask's `app.config[...] = ...` in the arms
of an `if` (openFEC's `if test_config is None: ... else: ...`). The writes are read from a function's statements
in order (scan/flask.py); here each statement gets the tests it runs under, a test the code decides drops out (a
statement it rules out never runs), and each key keeps its values by the tests they hold under: a write under a
test the scan cannot decide, or one the environment decides, splits the key, never overwrites it.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from pool_doctor.scan.appconfig import AppConfig, Guard, Split
from pool_doctor.scan.conditions import negated
from pool_doctor.scan.containers import decide
from pool_doctor.scan.expressions import Evaluator
from pool_doctor.scan.finder import FunctionNode, Module
from pool_doctor.scan.kinds import Branches, Frame, Interpreter, not_set

Tests = tuple[tuple[ast.If, bool], ...]  # the `if`s a statement runs under, each with the side it is on
DEAD = "$ends "  # a verdicts entry: the side of that test that never goes on (returns, raises, exits)


def tests_of(body: list[ast.stmt]) -> dict[int, Tests]:
    """Every statement of a body (blocks entered, functions and classes not) by id, with its `if` tests."""
    found: dict[int, Tests] = {}

    def walk(statements: list[ast.stmt], tests: Tests) -> None:
        for stmt in statements:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            found[id(stmt)] = tests
            if isinstance(stmt, ast.If):
                walk(stmt.body, (*tests, (stmt, True)))
                walk(stmt.orelse, (*tests, (stmt, False)))
                if ends(stmt.body) != ends(stmt.orelse):  # what follows runs on the side that goes on
                    tests = (*tests, (stmt, ends(stmt.orelse)))
                continue
            for block in ("body", "handlers", "orelse", "finalbody"):
                for item in getattr(stmt, block, []):
                    walk(item.body if isinstance(item, ast.ExceptHandler) else [item], tests)

    walk(body, ())
    return found


def ends(block: list[ast.stmt]) -> bool:
    """A block that never goes on to the statement after it: it returns, raises, or exits (`exit(-1)`)."""
    last = block[-1] if block else None
    if isinstance(last, ast.If):
        return ends(last.body) and ends(last.orelse)
    call = last.value if isinstance(last, ast.Expr) and isinstance(last.value, ast.Call) else None
    name = ast.unparse(call.func) if call is not None else ""
    return isinstance(last, (ast.Return, ast.Raise)) or name in ("exit", "quit", "sys.exit", "os._exit")


def guard_of(
    ev: Interpreter, tests: Tests, frame_at: Callable[[ast.stmt], Frame], module: Module
) -> tuple[Guard, dict[str, bool]] | None:
    """The tests a statement runs under that the code does not decide, as text, with the side each takes when no
    variable is set (for those the environment decides); None when the code rules the statement out. Each test
    is read in the frame just before its `if` (`frame_at`)."""
    guard: list[tuple[str, bool]] = []
    verdicts: dict[str, bool] = {}
    for statement, taken in tests:
        test = statement.test
        verdict, by_env = decide(ev, ev.force(ev.eval(test, frame_at(statement))))
        if verdict is not None and not by_env:
            if verdict != taken:
                return None
            continue
        text = ev.conditions.test(module.segment(test), module.origin(test))
        guard.append((text, taken))
        if verdict is not None:
            verdicts[text] = verdict
        if ends(statement.orelse if taken else statement.body):  # the other side never goes on to the app
            verdicts[f"{DEAD}{text}"] = not taken
    return tuple(guard), verdicts


def written(split: Split, guard: Guard, value: Any, verdicts: dict[str, bool]) -> Split:
    """A key's values after `value` is written under `guard`: where the guard holds, the value; elsewhere (one
    of its tests fails) what was there, unless that side of the test returns, raises or exits (`else: exit(-1)`):
    no app is made there."""
    if not guard:
        return [((), value)]
    out: Split = []
    for tests, old in split:
        if any((text, not taken) in tests for text, taken in guard):
            out.append((tests, old))  # a path the write is never on
            continue
        missing = [test for test in guard if test not in tests]
        for at, (text, taken) in enumerate(missing):
            if verdicts.get(f"{DEAD}{text}") is not (not taken):
                out.append(((*tests, *missing[:at], (text, not taken)), old))
        out.append(((*tests, *missing), value))
    return out


def as_value(split: Split, app: AppConfig) -> Any:
    """The key's value: the one value, or each with its condition (the default: the one whose tests all go the
    way they do with no variable set)."""
    verdicts = app.verdicts
    if len(split) == 1 and not split[0][0]:
        return split[0][1]
    options, default = [], None
    for index, (tests, value) in enumerate(split):
        options.append((app.conditions.all([text if taken else negated(text) for text, taken in tests]), value))
        if all(verdicts.get(text) is taken or verdicts.get(f"{DEAD}{text}") is (not taken) for text, taken in tests):
            default = index  # (a test whose other side never goes on holds wherever the app is made)
    return Branches([(when, not_set() if value is None else value) for when, value in options], default=default)


def seeing(frame: Frame, names: dict[str, Any]) -> Frame:
    """The frame with `names` bound as given (the app whose config the writes so far leave)."""
    return replace(frame, bindings={**frame.bindings, **names}) if names else frame


def before(ev: Evaluator, scope: FunctionNode | None, frame: Frame, seen: dict[str, Any], at: ast.stmt) -> Frame:
    """The frame just before statement `at`, with `seen` bound (a test of `app.config[...]` reads it)."""
    return seeing(ev.flow.frame_at(scope, frame, at) if scope else frame, seen)


def put(app: AppConfig, name: str, value: Any) -> None:
    """`name` written under the tests the statement runs under: where they hold (`written`)."""
    split, made = app.splits.get(name, (None, None))
    if split is None or made is not app.keys.get(name):  # (written since without a split)
        split = [((), app.keys.get(name, app.unseen))]
    split = written(split, app.guard, value, app.verdicts)
    app.keys[name] = made = as_value(split, app)
    app.splits[name] = (split, made)


def within(app: AppConfig, guard: Guard) -> None:
    """The app's keys where its bind runs (`if sql_connection is not None: ... db.init_app(app)`): a value on
    a path that never binds makes no engine, and the bind's own tests hold for the rest."""
    for name, (split, made) in list(app.splits.items()):
        if made is not app.keys.get(name):
            continue
        kept = [
            (tuple(test for test in tests if test not in guard), value)
            for tests, value in split
            if not any((text, not taken) in tests for text, taken in guard)
        ]
        if kept:
            app.keys[name] = as_value(kept, app)
