"""A wrapper's library calls on the sides of its tests (aurweb's `get_engine`: a traced engine or a plain one, into
the same memo; an `if`/`elif`/`else` of three): one call of the wrapper runs one of them, so it makes one pool,
not one per call. That pool's settings are each side's, a setting the sides give alike being one value.

Two calls are joined where they sit under the same tests but one, on its two sides (an `elif`'s pair first, then
with the `if`'s own side), each made one pool of the same library call, and that test is in no loop of the
function (each run of a loop may take the other side: two pools).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import replace

from pool_doctor.scan.conditions import all_of
from pool_doctor.scan.containers import decide
from pool_doctor.scan.finder import CallSite, FunctionNode, Module, catches_import_error
from pool_doctor.scan.kinds import Frame, Interpreter, assumed_set
from pool_doctor.scan.model import ScannedPool
from pool_doctor.scan.values import branched

Made = tuple[CallSite, Frame, list[ScannedPool]]  # a wrapper's call, the frame it runs in, the pools it made
SET = assumed_set("")  # a frame's binding saying a variable is set, on its test's side
Tests = Callable[[Module, CallSite, Frame], list[str]]  # the tests around a call its frame leaves undecided
LOOPS = (ast.For, ast.AsyncFor, ast.While, ast.comprehension)


def one_per_run(
    ev: Interpreter, module: Module, func: FunctionNode, made: list[Made], head: list[str], open_tests: Tests
) -> Iterator[ScannedPool]:
    """The pools the wrapper's calls made, those on the sides of its tests joined into one (`head`: the tests
    outside the wrapper, which a joined pool's condition keeps)."""
    looped = {id(n) for loop in ast.walk(func) if isinstance(loop, LOOPS) for n in ast.walk(loop)}
    made = list(made)
    joined = True
    while joined:
        joined = False
        for first in range(len(made)):
            for second in range(first + 1, len(made)):
                test = _opposite(made[first][0], made[second][0])
                if test is None or id(test[0]) in looped or not _joinable(module, made[first], made[second]):
                    continue
                made[first] = _join(ev, module, made[first], made[second], test, head, open_tests)
                del made[second]
                joined = True
                break
            if joined:
                break
    for _, _, pools in made:
        yield from pools


def _join(
    ev: Interpreter, module: Module, a: Made, b: Made, test: tuple[ast.expr, bool], head: list[str], open_tests: Tests
) -> Made:
    site, frame, pools = a
    first, second = pools[0], b[2][0]
    text = module.segment(test[0])
    sides = (text, f"not ({text})") if test[1] else (f"not ({text})", text)
    unset = replace(frame, bindings={k: v for k, v in frame.bindings.items() if not k.startswith(SET)})
    verdict, _ = decide(ev, ev.eval(test[0], unset))  # (with no variable set, not as on its side)
    default = None if verdict is None else 0 if verdict == test[1] else 1
    keys = dict.fromkeys([*first.settings, *second.settings])
    settings = {
        key: branched(
            [(sides[0], first.settings.get(key)), (sides[1], second.settings.get(key))], default, ev.conditions
        )
        for key in keys
    }
    outside = replace(site, conditions=tuple(c for c in site.conditions if c[0] is not test[0]))
    condition = all_of(list(dict.fromkeys(t for t in (*head, *open_tests(module, outside, frame)) if t)))
    unresolved = list(dict.fromkeys([*first.unresolved, *second.unresolved]))
    pool = replace(first, settings=settings, unresolved=unresolved, condition=condition or None)
    return outside, frame, [pool]


def _opposite(a: CallSite, b: CallSite) -> tuple[ast.expr, bool] | None:
    """The one test the two calls sit on opposite sides of, under the same tests otherwise (and a's side)."""
    sides = {id(test): side for test, side in b.conditions}
    differ = [(test, side) for test, side in a.conditions if sides.get(id(test)) != side]
    same = {id(test) for test, _ in a.conditions} == set(sides)
    return differ[0] if same and len(differ) == 1 else None


def _joinable(module: Module, a: Made, b: Made) -> bool:
    """Each made one pool, of the same library call, at the call itself (not a wrapper's)."""
    if len(a[2]) != 1 or len(b[2]) != 1:
        return False
    first, second = a[2][0], b[2][0]
    own = first.via[-1:] == [module.where(a[0].call)] and second.via[-1:] == [module.where(b[0].call)]
    return own and (first.stack, first.call) == (second.stack, second.call)


def without_fallbacks(func: FunctionNode, made: list[Made]) -> list[Made]:
    """The wrapper's pools but those an `except` handler makes where its `try` made one already: the handler
    runs only where that call failed, so the call made one pool, not two (baltrad-exchange's `except:
    create_engine(url)` after the `create_engine(url, pool_size=...)` it falls back from). An `except ImportError`
    handler's is an alternative (one catching it among other types, where the try imports): the try's library is
    missing, so its pool never is."""
    making = {id(site.call) for site, _, pools in made if pools}
    dropped: set[int] = set()
    for node in ast.walk(func):
        if isinstance(node, ast.Try | ast.TryStar) and making & {id(n) for s in node.body for n in ast.walk(s)}:
            imports = any(isinstance(n, ast.Import | ast.ImportFrom) for s in node.body for n in ast.walk(s))
            handlers = [h for h in node.handlers if not catches_import_error(h, alone=not imports)]  # (alternatives)
            dropped |= {id(n) for handler in handlers for n in ast.walk(handler)}
    return [entry for entry in made if id(entry[0].call) not in dropped]
