"""A wrapper's two library calls on the two sides of one `if` (aurweb's `get_engine`: a traced engine or a plain
one, into the same memo): one call of the wrapper runs one of them, so it makes one pool, not two. That pool's
settings are each side's, a setting the sides give alike being one value."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import replace

from pool_doctor.scan.conditions import all_of
from pool_doctor.scan.containers import decide
from pool_doctor.scan.finder import CallSite, Module
from pool_doctor.scan.kinds import Frame, Interpreter, assumed_set
from pool_doctor.scan.model import ScannedPool
from pool_doctor.scan.values import branched

Made = tuple[CallSite, Frame, list[ScannedPool]]  # a wrapper's call, the frame it runs in, the pools it made
SET = assumed_set("")  # a frame's binding saying a variable is set, on its test's side
Tests = Callable[[Module, CallSite, Frame], list[str]]  # the tests around a call its frame leaves undecided


def one_per_run(
    ev: Interpreter, module: Module, made: list[Made], head: list[str], open_tests: Tests
) -> Iterator[ScannedPool]:
    """The pools the wrapper's calls made, a pair of library calls on the two sides of one test as one pool
    (`head`: the tests outside the wrapper, which the joined pool's condition keeps)."""
    joined: set[int] = set()
    for index, (site, frame, pools) in enumerate(made):
        if index in joined:
            continue
        for other in range(index + 1, len(made)):
            test = _opposite(site, made[other][0]) if other not in joined else None
            if (
                test is None
                or not _one_library_pool(module, site, pools)
                or not _one_library_pool(module, made[other][0], made[other][2])
            ):
                continue
            first, second = pools[0], made[other][2][0]
            if (first.stack, first.call) != (second.stack, second.call):
                continue
            text = module.segment(test[0])
            sides = (text, f"not ({text})") if test[1] else (f"not ({text})", text)
            unset = replace(frame, bindings={k: v for k, v in frame.bindings.items() if not k.startswith(SET)})
            verdict, _ = decide(ev, ev.eval(test[0], unset))  # (with no variable set, not as on its side)
            default = None if verdict is None else 0 if verdict == test[1] else 1
            keys = dict.fromkeys([*first.settings, *second.settings])
            settings = {
                key: branched(
                    [(sides[0], first.settings.get(key)), (sides[1], second.settings.get(key))],
                    default,
                    ev.conditions,
                )
                for key in keys
            }
            outside = replace(site, conditions=tuple(c for c in site.conditions if c[0] is not test[0]))
            condition = all_of(list(dict.fromkeys(t for t in (*head, *open_tests(module, outside, frame)) if t)))
            unresolved = list(dict.fromkeys([*first.unresolved, *second.unresolved]))
            pools = [replace(first, settings=settings, unresolved=unresolved, condition=condition or None)]
            joined.add(other)
            break
        yield from pools


def _opposite(a: CallSite, b: CallSite) -> tuple[ast.expr, bool] | None:
    """The test the two calls sit on opposite sides of (and a's side), if they do."""
    taken = {id(test): side for test, side in b.conditions}
    return next(((test, side) for test, side in a.conditions if taken.get(id(test)) == (not side)), None)


def _one_library_pool(module: Module, site: CallSite, pools: list[ScannedPool]) -> bool:
    """The call is the library's own (not a wrapper's), and made one pool."""
    return len(pools) == 1 and bool(pools[0].via) and pools[0].via[-1] == module.where(site.call)
