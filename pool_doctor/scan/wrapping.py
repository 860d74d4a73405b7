"""What a pool-making call calls (Target): a library's pool callable, or a project wrapper around one (Wrapper,
pools.PoolFinder learns them)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pool_doctor.scan.finder import CallSite, FunctionNode, Module, Project, library_target
from pool_doctor.scan.kinds import PartialRef
from pool_doctor.scan.localuse import keeps_to_itself
from pool_doctor.scan.model import ScannedPool, Stack
from pool_doctor.scan.names import last_name
from pool_doctor.scan.nodes import own_nodes
from pool_doctor.scan.programs import at_import, served
from pool_doctor.scan.taint import uses_parameters

MAX_DEPTH = 4  # wrappers of wrappers of wrappers of a library call
FIXED_CALLS = 10  # a fixed factory (Wrapper.fixed) called more often than this is one pool at its own line


@dataclass
class Target:
    stack: Stack | None = None  # a library call
    call: str | None = None
    name: str | None = None  # the callable's own name, e.g. "create_engine"
    wrapper: Wrapper | None = None
    bound_self: Any = None  # a method wrapper reached through an instance: that instance
    partial: PartialRef | None = None  # reached through functools.partial: the arguments it already gives


@dataclass(eq=False)  # one per function: the same wrapper is the same object
class Wrapper:
    module: Module
    func: FunctionNode
    inner: list[CallSite] = field(default_factory=list)
    via_class: ast.ClassDef | None = None  # an __init__ wrapper is reached by calling its class
    cls: ast.ClassDef | None = None  # a method's class
    callers: int = 0
    importing: int = 0  # callers at a module's top that run as it is imported (not `__main__`'s)
    test_callers: int = 0  # calls in the tests of a wrapper in the app's code
    instances: list[tuple[Module, CallSite]] = field(default_factory=list)  # where the app makes a `cls`
    depth: int = 1  # a library call's wrapper is 1, a wrapper of that 2, ...
    # A module's function (or a class's class or static method) making its pool from none of its parameters and
    # keeping nothing (taint.keeps) is a pool at each call where two places call it: these inner calls are such.
    fixed: set[int] = field(default_factory=set)
    remakes: int = 0  # callers that make the instance's pool again only when it has none (taint.remade)
    remade: bool = False  # one such caller reported (where only such callers make it: the first of them)
    handed: bool = False  # a pool maker is handed to it (handoffs): its callers are the calls handing one
    # callers that are its module's own `if __name__ == "__main__": main()` (or its package's __main__.py's), with no
    # arguments
    runs_itself: int = 0
    within: list[Wrapper] = field(default_factory=list)  # the wrappers whose bodies call it (`DataAccess.__init__`)
    _keeps: bool | None = None

    @property
    def is_fixed(self) -> bool:
        return all(id(s.call) in self.fixed for s in self.inner)

    @property
    def stays(self) -> bool:
        """A fixed wrapper fewer than two places call (where only tests call it, at theirs: SelfFinance's
        create_test_database): its pool is at its own line, not at its caller; so is a program's
        `main(argv=sys.argv)` that only its own module calls, with no arguments, when it runs (no decorator hands
        it arguments), and its package's `__main__.py` too (MVNHelperBot's two entries)."""
        tests_alone = self.callers == 0 < self.test_callers and not self.decorated  # (a task a decorator registers:
        alone = self.is_fixed and self.callers < 2 and not tests_alone  # the app's, whoever else calls it)
        alone = alone and not any(w.callers >= 2 for w in self.within)  # (its one caller, many: SDI's DataAccess)
        return alone or (self.callers == self.runs_itself > 0 and not self.decorated)

    def count(self, module: Module, site: CallSite, base: Path) -> None:
        """One more call of it in the app's code, at the top of a module a server imports or not."""
        self.callers += 1
        self.importing += at_import(module, site) and served(module, base)

    def importing_made(self, pools: Iterator[ScannedPool]) -> Iterator[ScannedPool]:
        """The pools its own calls make, made at import where it keeps them at its own line and its one caller is at
        a module's top as that is imported (Insomnia's loader.py: `db = loop.run_until_complete(create_pool())`)."""
        once = self.stays and self.callers == self.importing == 1
        return (replace(pool, at_import=True) for pool in pools) if once else pools

    @property
    def keeps_its_pools(self) -> bool:
        """What each of its pool calls gives stays in it (localuse.keeps_to_itself)."""
        if self._keeps is None:
            self._keeps = self.via_class is None and all(
                keeps_to_itself(self.module, self.func, s.call) for s in self.inner
            )
        return self._keeps

    @property
    def fresh(self) -> bool:  # (an __init__ storing its pool on the instance: each instance's own)
        return self.via_class is not None and all(held_by_new_instance(self.func, s.call, self.cls) for s in self.inner)

    @property
    def decorated(self) -> bool:  # (a click command's `main()` is given what click parses: its caller's values)
        return bool(self.func.decorator_list)

    def reaches(self, site: CallSite) -> bool:
        """Whether this wrapper's calls make the pool of its inner `site`: a fixed one where the wrapper is all
        fixed, or where two places call it (each call makes that pool anew, like a fixed wrapper's: autosubmit's
        factories, a PostgreSQL engine from none of their parameters beside a SQLite one from one)."""
        fixed = id(site.call) in self.fixed
        many = 2 <= self.callers <= FIXED_CALLS  # (past that, one pool at the wrapper's line, as a fixed one's)
        return any(s.call is site.call for s in self.inner) and (not fixed or self.is_fixed or many)

    def made_once(self, project: Project) -> bool:
        """A method (not its class's `__init__`) whose pool calls are calls of project factories reading none of its
        own parameters, nor under a test of them, of a class the app makes once (no subclass, not in a function from
        its parameters), that the app calls once: the app's pool is at that factory call, its `self` the one
        instance (my-trade-datacollector's `start()`); a test's call is a test's pool."""
        if not (self.cls is not None and self.via_class is None and len(self.instances) == self.callers == 1):
            return False
        heirs = project.class_bases.get(self.cls.name.encode(), set())  # (a subclass's instances call it too;
        if self.depth == 1 or any(project.aside(path) is None for path in heirs):  # a test's stub is a test's)
            return False
        made = self.instances[0][1]
        maker = made.functions[-1] if made.functions else None
        if isinstance(maker, FunctionNode) and uses_parameters(made.call, maker):
            return False  # (made in a function from its own parameters: one place, an instance per call)
        tests = [n.test for n in ast.walk(self.func) if isinstance(n, ast.If | ast.IfExp | ast.While)]  # (`if ro:`)
        return not any(uses_parameters(s.call, self.func) for s in self.inner) and not uses_parameters(tests, self.func)

    @property
    def name(self) -> str:
        return self.via_class.name if self.via_class is not None else self.func.name


def placed(
    entered: tuple[Wrapper, ...], module: Module, site: CallSite, outer_module: Module, outer: CallSite, via: list[str]
) -> tuple[Module, CallSite, list[str]]:
    """Where a pool the outer call makes through the wrappers `entered` is reported, and the calls it went
    through: at that call; or, where they keep it to themselves (keeps_its_pool), at its own line, reached
    through the outer call and the wrappers' calls of each other."""
    if entered and module.aside == outer_module.aside and keeps_its_pool(entered, outer):
        return module, site, [outer_module.where(outer.call), *via[:-1]]
    return outer_module, outer, via


def keeps_its_pool(entered: tuple[Wrapper, ...], outer: CallSite) -> bool:
    """Whether a pool reached through these wrappers is at its own line, not at the outer call: a function
    calls the first of them by name, each one place calls, and each keeps its pool to itself (FlaskApp's
    `main()` calling `run(url)`, which makes, uses and disposes its engine). A program's `main(...)` run at its
    module's top, a thread's target, keep theirs at that call."""
    func = outer.call.func
    place = (getattr(func, "lineno", None), getattr(func, "col_offset", None))  # (not a thread's run, a made call)
    written = (outer.call.lineno, outer.call.col_offset) == place
    direct = bool(outer.functions) and written and last_name(func) == entered[0].func.name
    return direct and all(w.callers == 1 and w.keeps_its_pools for w in entered)


def library(dotted: str, call: ast.Call, partial: PartialRef | None = None) -> Target | None:
    """A library's pool callable, by its dotted name. Flask-SQLAlchemy's extension made with no `engine_options`
    is none here: its engine comes from app.config, read by flask.py; nor is a `create_engine(url, options)` (no
    SQLAlchemy's takes two positional arguments: Flask-SQLAlchemy 2.x's method, `db.create_engine(url, opts)`)."""
    found, name = library_target(dotted), dotted.rsplit(".", 1)[-1]
    if found is None or (name == "SQLAlchemy" and not any(kw.arg == "engine_options" for kw in call.keywords)):
        return None
    if name == "create_engine" and len([a for a in call.args if not isinstance(a, ast.Starred)]) > 1:
        return None
    return Target(stack=found[0], call=found[1], name=name, partial=partial)  # type: ignore[arg-type]


def held_by_new_instance(func: FunctionNode, call: ast.Call, cls: ast.ClassDef | None) -> bool:
    """Whether an `__init__` stores what the call makes on the instance it makes (`self._engine = factory()`),
    running whole for each instance: each holds a pool of its own, as each call of a function returning it would.
    Not a class that may hand back one instance (a metaclass, a decorator, a `__new__`, a base named for it), nor
    an `__init__` that may return before the store (`if self._ready: return`)."""
    if cls is None or func.name != "__init__" or cls.keywords or cls.decorator_list or _single(cls):
        return False
    stored = any(
        isinstance(node, ast.Assign)
        and node.value is call
        and all(
            isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self"
            for t in node.targets
        )
        for node in own_nodes(func)
    )
    return stored and not any(isinstance(node, ast.Return) for node in own_nodes(func))


def _single(cls: ast.ClassDef) -> bool:
    """A class with its own `__new__`, or a base whose name says it keeps one instance (`SingletonBase`)."""
    own = any(isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef) and s.name == "__new__" for s in cls.body)
    return own or any("singleton" in (last_name(base) or "").lower() for base in cls.bases)
