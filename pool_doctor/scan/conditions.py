"""Tests as the scan reports them: source text (`settings.DEBUG`, `not (settings.DEBUG)`), combined.

A branch's condition is built from the tests on its path (`both`) and, where branches with the same value are
merged, from the conditions of each (`either`). Kept as text only, that gave "a and b or not (a) and b" for a
key the first test never touched, and "a or b and c" for "(a or b) and c". Here each combined text is known
as an OR of ANDs of tests, simplified, and written back with parentheses where a test holds an `and` or an
`or` of its own.

Text alone does not say which test it is: a caller's and its callee's `ssl is None`, or `if not url:` before
and after `url = ...`, read the same. So a test is simplified only when it is *clear*: the scan saw that text
at one place in the code only (`Conditions.test`). Then a term with it and the same term with its negation
are the term without it, and a term that holds wherever a shorter term of clear tests holds adds nothing.
Anything else is written as met, never dropped.
"""

from __future__ import annotations

import ast
import io
import tokenize
from functools import lru_cache

Term = tuple[str, ...]  # tests that all hold, in the order they were met
Condition = tuple[Term, ...]  # terms, any of which holds
Origin = tuple[str, int, int]  # file, line, column of the test in the code

ALWAYS = "otherwise"  # no test: every path (as a function's last return reads)
MAX_TERMS = 16  # past this the terms are written as met, not simplified
MAX_TESTS = 48  # past this a condition is written short, and read as one test


class Conditions:
    """The conditions of one scan: the combined texts it wrote, and where each test came from."""

    def __init__(self) -> None:
        self._known: dict[str, Condition] = {}  # text written here -> what it stands for
        self._origins: dict[str, set[Origin]] = {}
        self._combined: dict[tuple[str, str, str], str] = {}  # (how, first, second) -> its text, once worked out

    def test(self, text: str, origin: Origin) -> str:
        """A test met in the code at `origin`; its text, as the branch's condition."""
        seen = self._origins.setdefault(text, set())
        if origin not in seen:
            seen.add(origin)
            if len(seen) <= 2:  # now clear, or no longer: what was combined with it is worked out again
                self._combined.clear()
        return text

    def both(self, first: str, second: str) -> str:
        """`first and second`."""
        key = ("and", first, second)
        if key not in self._combined:  # (the same pairs recur as branches are combined again and again)
            terms = [self._join(left, right) for left in self._read(first) for right in self._read(second)]
            self._combined[key] = self._write(tuple(terms))
        return self._combined[key]

    def either(self, first: str, second: str) -> str:
        """`first or second`."""
        key = ("or", first, second)
        if key not in self._combined:
            self._combined[key] = self._write((*self._read(first), *self._read(second)))
        return self._combined[key]

    def all(self, tests: list[str]) -> str:
        """Tests that all hold, as one condition (read again as its tests where it is combined)."""
        return self._write((tuple(tests),)) if tests else ""

    def clear(self, test: str) -> bool:
        """Seen at one place in the code: its text is that test (a negation, if its test is clear)."""
        inner = _negated_of(test)
        return len(self._origins.get(inner if inner is not None else test, ())) == 1

    def impossible(self, text: str) -> bool:
        """Whether no path meets the condition: each of its terms holds a test of environment variables alone and,
        in it or in an `and` of the code's own (`if A and B:`), that test's negation (leftbookclub's `not
        (os.getenv("SKIP_DB") != "1") and (os.getenv("SKIP_DB") != "1" and ...)`: a variable reads the same
        wherever it is read; a text of another kind may stand for two tests, a loop's runs)."""
        terms = self._read(text)
        return bool(terms) and all(self._contradictory(term) for term in terms)

    def _contradictory(self, term: Term) -> bool:
        facts = {fact for test in term for fact in _conjuncts(test)}
        return any(negated(fact) in facts and _environmental(fact) for fact in facts)

    def _read(self, text: str) -> Condition:
        if text in ("", ALWAYS):
            return ((),)
        return self._known.get(text, ((text,),))

    def _join(self, left: Term, right: Term) -> Term:
        tests = list(left)
        for test in right:
            if test not in tests or not self.clear(test):
                tests.append(test)
        return tuple(tests)

    def _simplified(self, terms: Condition) -> Condition:
        out = list(dict.fromkeys(terms))
        changed = len(out) <= MAX_TERMS
        while changed:
            changed = False
            for i, one in enumerate(out):
                for j, other in enumerate(out):
                    if i == j:
                        continue
                    if all(self.clear(test) for test in one) and set(one) <= set(other):
                        del out[j]  # `other` holds only where `one` does
                    elif (merged := self._merge(one, other)) is not None:
                        out[i] = merged
                        del out[j]
                    else:
                        continue
                    changed = True
                    break
                if changed:
                    break
        return tuple(out)

    def _merge(self, one: Term, other: Term) -> Term | None:
        """`a and x` with `a and not x`: `a`, when every test in them is clear."""
        if len(one) != len(other) or not all(self.clear(test) for test in (*one, *other)):
            return None
        differs = [test for test in one if test not in other]
        if len(differs) != 1 or negated(differs[0]) not in other:
            return None
        return tuple(test for test in one if test != differs[0])

    def _write(self, terms: Condition) -> str:
        terms = self._simplified(terms)
        if any(not term for term in terms):
            return ALWAYS
        size = sum(len(term) for term in terms)
        if size > MAX_TESTS:  # one test from here on (a branchy script's conditions grew with every block)
            return f"({' and '.join(terms[0])[:120]}... or another of {len(terms)} ways, {size} tests)"
        several = len(terms) > 1
        text = " or ".join(
            " and ".join(_grouped(test) if len(term) > 1 or several else test for test in term) for term in terms
        )
        self._known[text] = terms
        return text


def negated(test: str) -> str:
    """A test's other side, as the code's own text: `x` <-> `not (x)`."""
    inner = _negated_of(test)
    return inner if inner is not None else f"not ({test})"


@lru_cache(maxsize=8192)  # texts recur across branches: each is parsed once
def _negated_of(test: str) -> str | None:
    """`x` for `not (x)`, as Python reads it (a text that is no Python alone, a loop's `x (run 2 of item)`, by its
    parentheses); else None."""
    if not (test.startswith("not (") and test.endswith(")")):
        return None
    tree = _expression(test)
    if tree is not None and not (isinstance(tree, ast.UnaryOp) and isinstance(tree.op, ast.Not)):
        return None
    return test[5:-1] if _closes_at_end(test) else None


def _closes_at_end(test: str) -> bool:
    """The parenthesis after `not ` is closed by the text's last one (`not (a) + (b)` is no negation of one test;
    `not (x := f())` is, though `x := f()` alone does not parse)."""
    depth = 0
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(test).readline))
    except (tokenize.TokenError, SyntaxError):
        return False
    for token in tokens:
        if token.type != tokenize.OP or token.string not in "()":
            continue
        depth += 1 if token.string == "(" else -1
        if depth == 0:
            lines = test.split("\n")
            return token.end == (len(lines), len(lines[-1]))
    return False


def all_of(tests: list[str]) -> str:
    """Tests that all hold, as one text: `a and (b or c)`, never `a and b or c`, which reads otherwise."""
    return " and ".join(_conjunct(test) if len(tests) > 1 else test for test in tests)


def _conjunct(test: str) -> str:
    tree = _expression(test)
    if tree is None and test.startswith("(") and test.endswith(")"):
        return test  # a condition written short, in its parentheses already
    if tree is None or isinstance(tree, (ast.IfExp, ast.NamedExpr, ast.Lambda)):
        return f"({test})"
    return f"({test})" if isinstance(tree, ast.BoolOp) and isinstance(tree.op, ast.Or) else test


@lru_cache(maxsize=8192)
def _grouped(test: str) -> str:
    """A test as one operand of `and`/`or`: in parentheses unless Python would read it as one operand."""
    tree = _expression(test)
    if tree is None or isinstance(tree, (ast.BoolOp, ast.IfExp, ast.NamedExpr, ast.Lambda)):
        return f"({test})"  # a text the scan cut ("...") is grouped too: what was cut may have had an or
    return test


def _expression(text: str) -> ast.expr | None:
    try:
        return ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError):
        return None


@lru_cache(maxsize=8192)
def _conjuncts(test: str) -> tuple[str, ...]:
    """A test's own `and`s as their texts (`A and B`: A, B), each as the code writes it; else the test."""
    tree = _expression(test)
    if not (isinstance(tree, ast.BoolOp) and isinstance(tree.op, ast.And)):
        return (test,)
    parts = [ast.get_source_segment(test.strip(), value) for value in tree.values]
    return (test, *(part for part in parts if part))


ENV_READS = {"os.getenv", "os.environ.get", "getenv", "environ.get"}  # calls that read a variable, as written


@lru_cache(maxsize=8192)
def _environmental(test: str) -> bool:
    """A test of environment variables and literals alone (`os.getenv("SKIP_DB") != "1"`, `"X" in os.environ`)."""
    tree = _expression(test)
    if tree is None or not ("os.environ" in test or "getenv(" in test):
        return False
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    return names <= {"os", "getenv"} and all(ast.unparse(c.func) in ENV_READS for c in calls)
