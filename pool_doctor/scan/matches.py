"""Which case of a `match` statement a subject takes, where the scan can tell."""

from __future__ import annotations

import ast
from typing import Any

from pool_doctor.scan.containers import settle_options
from pool_doctor.scan.kinds import Branches, Frame, Interpreter, is_known


def case_taken(ev: Interpreter, subject: Any, cases: list[ast.match_case], frame: Frame) -> tuple[int | None, bool]:
    """Which case of a `match` a subject takes (len(cases): none), and whether the environment decides it
    (then it is the case with no variable set). None when a case before it cannot be decided: a pattern other
    than literals and `_`, a guard, a subject the scan cannot read."""
    by_env = False
    if isinstance(subject, Branches):  # the value with no variable set picks the default case
        options, default = settle_options(ev, subject)
        subject, by_env = (ev.force(options[default][1]), True) if default is not None else (None, False)
    if not is_known(subject):
        return None, False
    for index, case in enumerate(cases):
        matched = None if case.guard is not None else _matches(ev, subject.value, case.pattern, frame)
        if matched is None:
            return None, False
        if matched:
            return index, by_env or subject.env is not None
    return len(cases), by_env or subject.env is not None


def _matches(ev: Interpreter, value: Any, pattern: ast.pattern, frame: Frame) -> bool | None:
    if isinstance(pattern, ast.MatchAs) and pattern.pattern is None and pattern.name is None:
        return True  # `case _:`
    if isinstance(pattern, ast.MatchSingleton):
        return value is pattern.value
    if isinstance(pattern, ast.MatchValue):
        literal = ev.force(ev.eval(pattern.value, frame))
        return value == literal.value if is_known(literal) else None
    if isinstance(pattern, ast.MatchOr):
        found = [_matches(ev, value, option, frame) for option in pattern.patterns]
        return True if True in found else None if None in found else False
    return None
