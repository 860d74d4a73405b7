"""A pool kept per event loop (`_pools[id(asyncio.get_running_loop())]`, DRoASMS' `_POOLS.get(loop)`,
DeanAgent-Backend's `if id(loop) in _pools: return`): the callers in one process run in its one loop (a scheduler
started in the app's loop, a coordinator's `start()`), so they share one pool, as callers of a key every one of them
gives the same. A program of its own runs its own loop (pools.PoolFinder._first_for_key keeps those apart)."""

from __future__ import annotations

import ast

LOOP_CALLS = ("get_running_loop", "get_event_loop")
THE_LOOP = "the running event loop"


def per_loop(func: ast.AST, key: ast.expr | None) -> ast.expr | None:
    """`key`, or one key for every caller where it is the running loop (or its id()), read in `func`."""
    inner = key.args[0] if isinstance(key, ast.Call) and ast.unparse(key.func) == "id" and key.args else key
    if isinstance(inner, ast.Name):  # (a local set from the loop: `loop = asyncio.get_running_loop()`)
        sets = [n.value for n in ast.walk(func) if isinstance(n, ast.Assign) for t in n.targets if _names(t, inner.id)]
        inner = sets[0] if len(sets) == 1 else inner
    if isinstance(inner, ast.Call) and ast.unparse(inner.func).rsplit(".", 1)[-1] in LOOP_CALLS:
        return ast.Constant(THE_LOOP)
    return key


def _names(target: ast.expr, name: str) -> bool:
    return isinstance(target, ast.Name) and target.id == name
