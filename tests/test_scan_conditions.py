"""How the scan writes a branch's condition: the tests on its path, joined, simplified, grouped right."""

from __future__ import annotations

from pool_doctor.scan.conditions import ALWAYS, both, either, negated


def test_a_test_that_does_not_matter_drops_out() -> None:
    """`a and b or not (a) and b` is `b`: a key the first test never touched (was the whole text)."""
    a, b = "settings.ssl is not None", "timeout is not None"
    assert either(both(a, b), both(negated(a), b)) == b
    assert either(both(a, negated(b)), both(negated(a), negated(b))) == "not (timeout is not None)"


def test_an_or_inside_an_and_keeps_its_parentheses() -> None:
    """(a or b) and c, written with the precedence Python reads it with (was "a or b and c")."""
    assert both(either("a", "b"), "c") == "a and c or b and c"
    assert both("x or y", "z") == "(x or y) and z"
    assert either("DEBUG and CI", "LOCAL") == "(DEBUG and CI) or LOCAL"
    assert both("f(a or b)", "'x and y' in s") == "f(a or b) and 'x and y' in s"


def test_absorbed_contradictory_and_complete_conditions() -> None:
    assert either("a", both("a", "b")) == "a"  # a and b holds only where a does
    assert both("a", negated("a")) == "never"
    assert either("a", negated("a")) == ALWAYS
    assert both(ALWAYS, "a") == "a" and both("a", "") == "a"
    assert negated(negated("x is None")) == "x is None"
    assert negated("not (a) and not (b)") == "not (not (a) and not (b))"
