"""Pools a function keeps by key (taint.memo_key): the first caller's call makes the one for a key, a later
caller's gets it back, but a call on the other side of a test in the same function as the first (DeanAgent-
Backend's lifespan: `init_pool(dsn=...)` if a DSN is set, else `init_pool(host=...)`), one of them runs."""

from __future__ import annotations

import ast

from pool_doctor.scan.finder import CallSite

Shared = tuple[int, str, str | None, str | None]  # the pool call, its key, the tests' or not, the program's


class KeptPools:
    def __init__(self) -> None:
        self._callers: dict[Shared, tuple[int, str]] = {}  # each key's first caller: its function, its tests

    def first(self, shared: Shared, outer: CallSite) -> bool:
        """Whether `outer`'s call makes the pool kept under `shared`."""
        tests = repr([(ast.dump(test), holds) for test, holds in outer.conditions])
        caller = (id(outer.functions[-1]) if outer.functions else 0, tests)
        earlier = self._callers.setdefault(shared, caller)
        return earlier is caller or (earlier[0] == caller[0] and earlier[1] != caller[1])
