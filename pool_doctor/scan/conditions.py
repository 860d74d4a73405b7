"""Tests as the scan reports them: source text (`settings.DEBUG`, `not (settings.DEBUG)`), combined.

A branch's condition is built from the tests on its path (`both`) and, where branches with the same value are
merged, from the conditions of each (`either`). Kept as text only, that gave "a and b or not (a) and b" for a
key the first test never touched, and "a or b and c" for "(a or b) and c". Here each combined text is known
as an OR of ANDs of tests, simplified (a term and the same term with one test negated are the term without
it; a term that holds whenever a shorter one does adds nothing), and written back with parentheses where a
test holds an `and` or an `or` of its own.
"""

from __future__ import annotations

Term = tuple[str, ...]  # tests that all hold, in the order they were met
Condition = tuple[Term, ...]  # terms, any of which holds

ALWAYS = "otherwise"  # no test: every path (as a function's last return reads)
MAX_TERMS = 16  # past this the terms are written as met, not simplified
_KNOWN: dict[str, Condition] = {}  # text this module wrote -> what it stands for
_MAX_KNOWN = 4096


def both(first: str, second: str) -> str:
    """`first and second`."""
    terms = []
    for left in _read(first):
        for right in _read(second):
            term = _join(left, right)
            if term is not None:
                terms.append(term)
    return _write(tuple(terms))


def either(first: str, second: str) -> str:
    """`first or second`."""
    return _write((*_read(first), *_read(second)))


def negated(test: str) -> str:
    """A test's other side, as the code's own text: `x` <-> `not (x)`."""
    if test.startswith("not (") and test.endswith(")") and _balanced(test[5:-1]):
        return test[5:-1]
    return f"not ({test})"


def _read(text: str) -> Condition:
    if text in ("", ALWAYS):
        return ((),)
    return _KNOWN.get(text, ((text,),))


def _join(left: Term, right: Term) -> Term | None:
    """Both terms' tests, once each; None when one is the other's negation (no path holds both)."""
    tests = list(left)
    for test in right:
        if negated(test) in tests:
            return None
        if test not in tests:
            tests.append(test)
    return tuple(tests)


def _simplified(terms: Condition) -> Condition:
    out = list(dict.fromkeys(terms))
    if len(out) > MAX_TERMS:
        return tuple(out)
    changed = True
    while changed:
        changed = False
        for i, one in enumerate(out):
            for j, other in enumerate(out):
                if i == j:
                    continue
                if set(one) <= set(other):  # `other` holds only where `one` does: it adds nothing
                    del out[j]
                    changed = True
                    break
                merged = _merge(one, other)
                if merged is not None:
                    out[i] = merged
                    del out[j]
                    changed = True
                    break
            if changed:
                break
    return tuple(out)


def _merge(one: Term, other: Term) -> Term | None:
    """`a and x` with `a and not x`: `a`."""
    if len(one) != len(other):
        return None
    differs = [test for test in one if test not in other]
    if len(differs) != 1 or negated(differs[0]) not in other:
        return None
    return tuple(test for test in one if test != differs[0])


def _write(terms: Condition) -> str:
    terms = _simplified(terms)
    if any(not term for term in terms):
        return ALWAYS
    if not terms:
        return "never"
    several = len(terms) > 1
    text = " or ".join(
        " and ".join(_grouped(test) if len(term) > 1 or several else test for test in term) for term in terms
    )
    if len(_KNOWN) >= _MAX_KNOWN:
        _KNOWN.clear()
    _KNOWN[text] = terms
    return text


def _grouped(test: str) -> str:
    """A test as one operand of `and`/`or`: in parentheses when it has an `and` or an `or` of its own."""
    depth, quote = 0, ""
    for index, char in enumerate(test):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0 and (test.startswith(" and ", index) or test.startswith(" or ", index)):
            return f"({test})"
    return test


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += char == "("
        depth -= char == ")"
        if depth < 0:
            return False
    return depth == 0
