"""How the scan writes a branch's condition: the tests on its path, joined, simplified where that is sound,
grouped as Python reads them."""

from __future__ import annotations

from pool_doctor.scan.conditions import ALWAYS, Conditions, negated


def seen(*tests: str) -> Conditions:
    """Conditions where each test was met once, at a place of its own."""
    conds = Conditions()
    for line, test in enumerate(tests, 1):
        conds.test(test, ("db.py", line, 4))
    return conds


def test_a_test_that_does_not_matter_drops_out() -> None:
    """`a and b or not (a) and b` is `b`: a key the first test never touched (was the whole text)."""
    a, b = "settings.ssl is not None", "timeout is not None"
    conds = seen(a, b)
    assert conds.either(conds.both(a, b), conds.both(negated(a), b)) == b
    assert conds.either(conds.both(a, negated(b)), conds.both(negated(a), negated(b))) == "not (timeout is not None)"
    assert conds.either("a", conds.both("a", "b")) == "a or a and b"  # unseen tests: written as met
    conds.test("a", ("db.py", 9, 4))
    assert conds.either("a", conds.both("a", "b")) == "a"  # a and b holds only where a does


def test_tests_that_read_the_same_at_two_places_are_not_simplified() -> None:
    """A caller's and its callee's `ssl is None`, or `if not url:` before and after `url = ...`: the same
    text, two tests. Nothing is merged or dropped on the strength of the text alone (was: "when never")."""
    conds = seen("ssl is None")
    conds.test("ssl is None", ("db.py", 20, 8))
    both_sides = conds.both("ssl is None", negated("ssl is None"))
    assert both_sides == "ssl is None and not (ssl is None)"
    assert conds.either(conds.both("x", "ssl is None"), conds.both("x", negated("ssl is None"))) == (
        "x and ssl is None or x and not (ssl is None)"
    )


def test_an_or_inside_an_and_keeps_its_parentheses() -> None:
    """(a or b) and c, written with the precedence Python reads it with (was "a or b and c")."""
    conds = seen("a", "b", "c")
    assert conds.both(conds.either("a", "b"), "c") == "a and c or b and c"
    assert conds.both("x or y", "z") == "(x or y) and z"
    assert conds.either("DEBUG and CI", "LOCAL") == "(DEBUG and CI) or LOCAL"
    assert conds.both("f(a or b)", "'x and y' in s") == "f(a or b) and 'x and y' in s"
    assert conds.both("a if c else b", "d") == "(a if c else b) and d"
    assert conds.both("x == 'a\\'' or y", "c") == "(x == 'a\\'' or y) and c"
    assert conds.both("settings.url is not N...", "c") == "(settings.url is not N...) and c"  # cut: grouped


def test_complete_conditions_and_negations() -> None:
    conds = seen("a")
    assert conds.either("a", negated("a")) == ALWAYS
    assert conds.both(ALWAYS, "a") == "a" and conds.both("a", "") == "a"
    assert negated(negated("x is None")) == "x is None"
    assert negated("not (a) and not (b)") == "not (not (a) and not (b))"
    assert negated('not (a == "(") or (b == ")")') == 'not (not (a == "(") or (b == ")"))'


def test_a_walrus_test_and_its_negation_cancel() -> None:
    """`if env := os.getenv("X"):` writes `not (env := ...)` for its other side, though `env := ...` alone is
    no expression Python parses: the two still cancel (was: every later key carried both)."""
    walrus, other = 'env := os.environ.get("DB_COMMAND_TIMEOUT")', 'os.environ.get("DB_TIMEOUT") is not None'
    conds = seen(other, walrus)
    assert negated(negated(walrus)) == walrus
    assert conds.either(conds.both(other, walrus), conds.both(other, negated(walrus))) == other
    assert negated("not (a) + (b)") == "not (not (a) + (b))"  # not one test's negation
