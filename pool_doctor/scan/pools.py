"""Pool-creating calls: the library's own (through aliases and re-exports) and the project's wrappers.

A wrapper is a project function whose pool call uses its parameters (`def make_engine(url, **kw): return
create_engine(url, **kw)`): each call of the wrapper is a pool, with the wrapper's parameters bound to that call's
arguments, so the values come from where the app really gives them. A wrapper of a wrapper is one too, MAX_DEPTH
deep: past that a function taking a tenant or a shard's name and reaching a cached engine (`get_session(tenant)`)
would make each of its hundreds of callers a pool. A function whose pool call takes none of its parameters and
keeps nothing is a wrapper too where the app calls it from two places or more (Wrapper.fixed).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pool_doctor.scan import callers, dunders, fallbacks, handoffs, pyramid, sides, taint
from pool_doctor.scan.callargs import pool_settings
from pool_doctor.scan.conditions import all_of
from pool_doctor.scan.containers import decide
from pool_doctor.scan.expressions import Evaluator
from pool_doctor.scan.factories import factory_names
from pool_doctor.scan.finder import CALL_NAMES, CallSite, FunctionNode, Module, dotted_parts, library_target
from pool_doctor.scan.keyed import KeptPools
from pool_doctor.scan.kinds import Branches, ClassRef, ExternalRef, Frame, FuncRef, InstanceRef, PartialRef
from pool_doctor.scan.model import ScannedPool, ScannedValue
from pool_doctor.scan.nodes import aliases, base_inits, is_dataclass, patched, post_init, super_init
from pool_doctor.scan.programs import at_import, own_process, runs_as_main
from pool_doctor.scan.scopes import condition_text
from pool_doctor.scan.statements import decorator_names
from pool_doctor.scan.taint import init_attributes, keeps, kept_under, memo_key, memoized, remade, uses_parameters
from pool_doctor.scan.values import CALLABLES, callable_of, makes_none
from pool_doctor.scan.wrapping import MAX_DEPTH, Target, Wrapper, held_by_new_instance, library, placed

MAX_MADE = 3  # a class the app makes in more places: its methods' `self` is what a caller gives, unknown
NOT_SELF = {"classmethod", "staticmethod"}
MODULE_RUNS = 16  # a module's pool calls under an `if` read as on their side of it (each runs the module's body)


class PoolFinder:
    def __init__(self, evaluator: Evaluator) -> None:
        self.ev = evaluator
        self.wrappers: dict[int, Wrapper] = {}  # by the function's node
        # the project's subclasses of a library's pool class (class AppDB(SQLAlchemy)): calling one is the library's
        self.subclasses: dict[int, tuple[str, ast.ClassDef]] = {}
        self._called: dict[int, Any] = {}  # what each call site calls, once worked out
        self._frames: dict[int, Frame] = {}  # each site's frame, once worked out
        self._makers: dict[int, list[tuple[Module, CallSite]]] = {}  # each class's instances the app makes (_made)
        self._counted = False
        self._heirs_made: dict[int, list[tuple[Module, CallSite]]] = {}  # a class's subclasses' instances (_self_for)
        self._all_read = False  # every module the scan reads is parsed (count_callers on): callers can be looked up
        self._asking: set[int] = set()  # functions whose callers are being read for a parameter (_given_by_callers)
        self._unreached: set[int] = set()  # sites no path reaches, whatever their functions are given
        self._mentions = taint.ClassMentions(evaluator.project)  # what the project's files say of its classes
        self._kept = KeptPools()  # pools kept by key (taint.memo_key): one per known key (and program)
        self.factories: set[str] = set()  # names a library pool class is passed in as (learn_factories)
        self._tests = taint.TestReads()
        self.heirs: set[str] = set()  # subclasses of a class whose __init__ is a wrapper, that keep that __init__
        self._includes: dict[int, ast.Call] = {}  # `config.include(f)` as the call `f(config)` it makes, once made
        self._included_funcs: dict[int, FuncRef] = {}  # and the includeme a module's dotted name includes
        self._module_runs: dict[int, int] = {}  # module-level sites under an `if` read by running the module to them
        # classes a method of which makes the pool once and keeps it (taint.memoized), with the instances made
        self.keepers: dict[int, tuple[ast.ClassDef, list[tuple[Module, CallSite]]]] = {}
        self.handoffs = handoffs.Handoffs()  # pool makers handed to project functions that call them

    def wrapper_names(self) -> set[str]:
        """The wrappers the app calls by name (a handed one's callers are the calls handing it a maker)."""
        return {w.name for w in self.wrappers.values() if not w.handed}

    def names(self) -> set[str]:
        return (
            set(CALL_NAMES)
            | self.wrapper_names()
            | {c.name for _, c in self.subclasses.values()}
            | self.heirs
            | self.factories
            # a classmethod's `cls(url=url)` makes what the class's __init__ wrapper makes (saq's from_url)
            | ({"cls", "__init__"} if any(w.via_class is not None for w in self.wrappers.values()) else set())
        )

    def learn_factories(self, module: Module) -> list[str]:
        """Parameters whose default is a library's pool class (`pool_factory=psycopg_pool.AsyncConnectionPool`) or
        a project wrapper (oslo.db's `_engine_target=_create_engine`), and the attributes `__init__` keeps them
        in: a call through one of those names may make a pool."""
        makers = {*CALL_NAMES, *(w.func.name for w in self.wrappers.values() if w.via_class is None and not w.handed)}
        new = [name for name in factory_names(module, makers) if name not in self.factories]
        self.factories.update(new)
        return new

    def called(self, module: Module, site: CallSite) -> Any:
        """What the site calls: read from the module's names, else (a local, `self.make`, a name its function
        imports: jobseek's `from pkg.occupation import run_from_args` on one side of an `elif`) in the site's frame."""
        if (key := id(site.call)) in self._called or key in self._included_funcs:  # (config.include's includeme)
            return self._called[key] if key in self._called else self._included_funcs[key]
        self._called[key] = None  # a site whose callee leads back to itself
        own = any(getattr(site.call.func, "id", None) in self.ev.local_names(f) for f in site.functions)
        func = None if own else callable_of(self.ev, self.ev.eval(site.call.func, Frame(module)))
        name = (dotted_parts(site.call.func) or [""])[-1]  # (a name only fixed wrappers have, the module's names do
        if not isinstance(func, CALLABLES) and site.functions and (own or not self.only_fixed(name)):  # not resolve)
            func = callable_of(self.ev, self.ev.eval(site.call.func, self.site_frame(module, site)))
        self._called[key] = func
        return func

    def only_fixed(self, name: str) -> bool:
        """Whether the name is only fixed wrappers' (and no library's or other wrapper's)."""
        named = [w for w in self.wrappers.values() if w.name == name]
        if not named or not all(w.is_fixed for w in named) or name in CALL_NAMES or name in self.factories:
            return False
        return name not in self.heirs and all(c.name != name for _, c in self.subclasses.values())

    def unfix(self, over: set[tuple[str, Path]]) -> list[tuple[str, str, Path]]:
        """These fixed wrappers (name, module's path) are none: each is one pool at its own line (scanner: too many
        callers to read). Each one's name, where it is and its module's path, but the tests'."""
        unfixed = [(k, w) for k, w in self.wrappers.items() if (w.name, w.module.path) in over and w.is_fixed]
        for key, _ in unfixed:
            del self.wrappers[key]
        return [(w.name, w.module.where(w.func), w.module.path) for _, w in unfixed if not w.module.aside]

    def target(self, module: Module, site: CallSite) -> Target | None:
        func = callers.base_init(self.ev, module, site.cls) if super_init(site.call) else None  # (whatever `self`)
        return self.target_of(func or self.called(module, site), site.call, super_init(site.call))

    def target_of(self, func: Any, call: ast.Call, by_super: bool = False) -> Target | None:
        partial_ref = None
        if isinstance(func, PartialRef):
            partial_ref, func = func, self.ev.force(func.func)
        if isinstance(func, ExternalRef):
            return library(func.dotted, call, partial_ref)
        if isinstance(func, FuncRef):
            wrapper = self.wrappers.get(id(func.node))
            if wrapper is not None and (wrapper.via_class is None or by_super):
                return Target(wrapper=wrapper, bound_self=func.bound_self, partial=partial_ref)
        if isinstance(func, ClassRef) and id(func.node) in self.subclasses:
            dotted = self.subclasses[id(func.node)][0]
            if library_target(dotted) is not None:
                return library(dotted, call)
        if isinstance(func, ClassRef):
            init = self._maker(func)
            wrapper = self.wrappers.get(id(init.node)) if init is not None else None
            if wrapper is not None:
                return Target(wrapper=wrapper)
        return None

    def calls_any(self, module: Module, names: set[str]) -> bool:
        """Whether the module calls one of `names`, by that name or a local alias of it."""
        named = bool((names | aliases(module, names)) & module.calls.keys()) or bool(self._included(module, names))
        return named or next(handoffs.handing(module, names), None) is not None  # (`get(KEY, Database)`)

    def sites(self, module: Module, names: set[str]) -> Iterator[tuple[CallSite, Target]]:
        inits = base_inits(module, {w.name for w in self.wrappers.values() if w.via_class is not None} | self.heirs)
        seen: set[int] = set()
        for name in sorted((names | aliases(module, names)) & module.calls.keys()):
            sites = [s for s in module.calls[name] if name != "__init__" or id(s) in inits]
            yield from ((site, t) for site in sites if (t := self.target(module, site)) is not None)
            seen.update(id(site.call) for site in sites)
        handing = [site for m, site, _ in self.handoffs.handing.values() if m is module and id(site.call) not in seen]
        for site in [*self._included(module, names), *handing]:
            yield from [(site, t)] if (t := self.target(module, site)) is not None else []

    def _included(self, module: Module, names: set[str]) -> list[CallSite]:
        """Pyramid's `config.include(configure_db)`, which calls configure_db(config): that call, at the include
        (`config.include("pkg.models")`: that module's includeme, which called() gives); a directive's too."""
        found = []
        for site in pyramid.include_sites(self.ev.project, module):
            given, included = pyramid.included(self.ev.project, module, names, site.call)
            if isinstance(site.call.func, ast.Attribute) and given is not None:
                made = self._includes.setdefault(
                    id(site.call), ast.copy_location(ast.Call(given, [site.call.func.value], []), site.call)
                )
                self._included_funcs.update({id(made): included} if included else {})
                found.append(CallSite(made, site.functions, site.cls, site.conditions))
        return found

    def learn(self, module: Module) -> list[str]:
        """What this module adds to the callables that make pools (its wrappers, its subclasses of a library's
        pool class), by name: their callers may sit in modules not read yet."""
        factories = self.learn_factories(module)
        keepers = len(self.keepers)
        wrappers = self.learn_wrappers(module)
        while True:  # a wrapper of one learned just now in the same module, or a parameter whose default is one:
            more = self.learn_wrappers(module) + self.handoffs.learn(self, module)  # (the order names are read in
            given = self.learn_factories(module)
            more += self.learn_wrappers(module) if given else []
            if not more and not given:
                break
            wrappers, factories = wrappers + more, factories + given
        makers = [w.cls.name for w in wrappers if w.cls is not None and w.via_class is None]  # who makes the instance
        makers += ["cls"] if any(w.via_class is not None for w in wrappers) else []  # a classmethod's `cls(...)`
        makers += [cls.name for cls, _ in list(self.keepers.values())[keepers:]]
        named = [wrapper.name for wrapper in wrappers if not wrapper.handed]  # (a handed one's callers are read)
        return [*self.learn_subclasses(module), *factories, *named, *makers]

    def learn_subclasses(self, module: Module) -> list[str]:
        """The module's classes that subclass a library's pool class (directly or through the project's), or a
        class whose `__init__` is a wrapper, inheriting it (gramps' DbUndoSQLWeb(DbUndoSQL))."""
        new = []
        inits = {id(w.via_class) for w in self.wrappers.values() if w.via_class is not None}
        for cls in module.classes.values():
            if id(cls) in self.subclasses or cls.name in self.heirs:
                continue
            chain = self.ev.classes.class_chain(ClassRef(module, cls))
            init = self._maker(ClassRef(module, cls)) if any(id(k.node) in inits for k in chain[1:]) else None
            if init is not None and id(init.node) in self.wrappers and init.node not in cls.body:
                self.heirs.add(cls.name)
                new.append(cls.name)
            for klass in chain:
                bases = [b for b in self.ev.classes.class_bases(klass) if isinstance(b, ExternalRef)]
                library = next((b.dotted for b in bases if library_target(b.dotted) is not None), None)
                if library is not None:
                    self.subclasses[id(cls)] = (library, cls)
                    new.append(cls.name)
                    break
        return new

    def _tested(self) -> set[str]:  # what the project's tests read, the modules parsed since (callers') included
        return self._tests.names(self.ev.project.modules.values())

    def learn_wrappers(self, module: Module) -> list[Wrapper]:
        """Functions and methods of this module whose pool call (or call of another wrapper) takes a value
        from their parameters: each call of them is a pool, with the caller's arguments."""
        new: list[Wrapper] = []
        for site, target in self.sites(module, self.names()):
            if not site.functions or isinstance(site.functions[-1], ast.Lambda) or len(site.functions) != 1:
                continue
            func = site.functions[-1]
            assert isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef))
            given_at_init = init_attributes(site.cls) if site.cls is not None and func.name != "__init__" else set()
            if site.cls is not None and memoized(func, site.call, site.cls):  # one pool per instance, made at its line
                self.keepers.setdefault(id(site.cls), (site.cls, []))
                continue
            fixed = not uses_parameters(site.call, func, given_at_init) and not _init_runs(func, site, target.wrapper)
            fresh = fixed and target.wrapper is not None and held_by_new_instance(func, site.call, site.cls)
            if memoized(func, site.call) or (fixed and not fresh and keeps(func, site.cls, module, self._tested)):
                continue
            lone = fixed and not fresh and target.wrapper is not None and target.wrapper.is_fixed  # (an __init__'s
            if lone and not taint.returned(func, site.call):  # instances hold their own: SDI-Search-Engine's)
                continue  # a fixed wrapper's caller is not one too (mathesar's 21 callers of a dialect-only engine)
            via_class = cls = None
            if module.functions.get(func.name) is func:
                pass
            elif site.cls is not None and module.classes.get(site.cls.name) is site.cls and func in site.cls.body:
                cls = site.cls
                via_class = site.cls if func.name == "__init__" or post_init(func, site.cls) else None
            else:
                continue
            depth = 1 if target.wrapper is None else target.wrapper.depth + 1
            wrapper = self.wrappers.get(id(func))
            if wrapper is None and depth > MAX_DEPTH:  # (one already a wrapper through another call takes it in)
                continue
            if wrapper is None:
                wrapper = self.wrappers[id(func)] = Wrapper(module, func, via_class=via_class, cls=cls, depth=depth)
                new.append(wrapper)
            wrapper.depth = min(wrapper.depth, depth)
            if all(s.call is not site.call for s in wrapper.inner):
                wrapper.inner.append(site)
                wrapper.handed = False  # (a function handed makers that makes pools itself: called by name too)
                wrapper.fixed |= {id(site.call)} if fixed else set()
        return new

    def count_callers(self, module: Module) -> None:
        """How often the app calls each wrapper (calls in tests do not count: a wrapper only tests call is
        reported at its own call too, as the app's code has it; a test's own helper, which only tests call, is
        reported at those calls)."""
        aside, self._all_read = module.aside, True
        names = self.wrapper_names() | (self.names() & {"cls", "__init__"}) | self.factories | self.heirs
        for site, target in self.sites(module, names):
            if target.wrapper is not None and aside and not target.wrapper.module.aside:
                target.wrapper.test_callers += 1
            elif target.wrapper is not None:
                target.wrapper.count(module, site, self.ev.project.base)
                outer = self.wrappers.get(id(site.functions[-1])) if site.functions else None  # (the one caller's)
                target.wrapper.within += [outer] if outer is not None and outer is not target.wrapper else []
                if (handed := self.handoffs.handing.get(id(site.call), (None, None, None))[2]) is not None:
                    handed.callers += 1  # its pool is made through this call
                target.wrapper.remakes += bool(site.functions) and remade(site.functions[-1], site.call, site.cls)
                given = site.call.args or site.call.keywords  # (its own `main()` run as a program: no arguments)
                target.wrapper.runs_itself += runs_as_main(module, target.wrapper.module, site) and not given
        if aside:
            return
        holders = [(w.cls, w.instances) for w in self.wrappers.values() if w.cls is not None and w.via_class is None]
        for cls, instances in [*holders, *self.keepers.values()]:
            instances.extend((module, site) for site in taint.made_in(module, cls, self.called))

    def counted(self) -> None:
        """Every caller and instance is known: the frames worked out while learning (a method's `self` made with
        no arguments then) are worked out again."""
        self._frames.clear()
        self._called.clear()  # a method found through `self` holds the instance the app makes, now known
        self._counted = True
        for key, wrapper in list(self.wrappers.items()):  # a fixed one whose store a caller tests (`if DB.pool is
            kept = wrapper.is_fixed and not wrapper.fresh  # None:`) keeps its pool: one, at its own line
            if kept and keeps(wrapper.func, wrapper.cls, wrapper.module, self._tested):
                del self.wrappers[key]

    def pools(self, module: Module) -> Iterator[ScannedPool]:
        """Every pool whose values start in this module: library calls and wrapper calls not inside a
        wrapper that is itself called from somewhere (those are reported at that caller instead)."""
        for site, target in sorted(self.sites(module, self.names()), key=lambda st: st[0].call.lineno):
            if target.wrapper is not None and target.wrapper.stays:
                continue  # reported at the fixed wrapper's own line
            enclosing = self.wrappers.get(id(site.functions[-1])) if site.functions else None
            if enclosing is not None and self._at_callers_only(enclosing, site):
                continue
            wrapper = target.wrapper  # `if self.pool is None: await self.connect()`: the instance's pool, which
            if wrapper and site.functions and remade(site.functions[-1], site.call, site.cls):  # another caller makes
                if wrapper.callers > wrapper.remakes or wrapper.remade:  # (or, where all are such, the first of them)
                    continue
                wrapper.remade = True
            kept = self._kept_by_instances(module, site)  # (one per instance, at the line making it)
            for maker_module, maker, instance in kept:
                frame = self.site_frame(module, site, instance)
                yield from self._emit(module, site, target, frame, [module.where(site.call)], (), maker_module, maker)
            if kept:
                continue
            frame = self.site_frame(module, site)  # (unreached: mem0's psycopg2 fallback; monty's `engine or`)
            if id(site.call) not in self._unreached and not fallbacks.never_made(self, module, site):
                made = self._emit(module, site, target, frame, [], (), module, site)
                yield from enclosing.importing_made(made) if enclosing is not None else made

    def _kept_by_instances(self, module: Module, site: CallSite) -> list[tuple[Module, CallSite, InstanceRef]]:
        """The instances the app makes of a class whose method makes its pool once and keeps it (`if self._pool
        is None: self._pool = await create_pool(dsn=self._dsn)`, bazarvpn's), each with where it is made: one
        pool each. None for one instance (its pool at the call that makes it, with its arguments), nor where the
        app makes it in more than MAX_MADE places (there, `self` unknown)."""
        func = site.functions[-1] if len(site.functions) == 1 else None
        if site.cls is None or id(site.cls) not in self.keepers or func not in site.cls.body:
            return []
        assert isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef))
        cls, instances = ClassRef(module, site.cls), self.keepers[id(site.cls)][1]
        if not (self._counted and 2 <= len(instances) <= MAX_MADE and memoized(func, site.call, site.cls, own=True)):
            return []  # (kept on the instance: not in a global, on the class, by a singleton's `__new__`)
        news = [s for k in self.ev.class_chain(cls) for s in k.node.body if isinstance(s, FunctionNode)]
        if any(dunders.singleton(n) for n in news if n.name == "__new__") or decorator_names(func) & NOT_SELF:
            return []
        return [(m, s, self._instance(cls, m, s)) for m, s in instances]

    def _at_callers_only(self, wrapper: Wrapper, site: CallSite) -> bool:
        """A wrapper's call reported at its callers alone (a fixed wrapper's where two places call it or more); a
        PasteDeploy app's factory is also started by `pserve app.ini`, a caller of its own."""
        if wrapper.callers == 0 or wrapper.stays or not wrapper.reaches(site):
            return False
        return not self.ev.calls.paste.starts(wrapper.func)

    def site_frame(self, module: Module, site: CallSite, instance: InstanceRef | None = None) -> Frame:
        """The frame the site's call is evaluated in: the locals its function(s) set before it, the
        parameters at their defaults (the call that would give them is not in the scanned code); a method's
        `self` the `instance` given, else the instances the app makes."""
        cached = self._frames.get(id(site.call)) if instance is None else None
        if cached is not None:
            return cached
        frame = Frame(module, scope=site.cls) if site.cls is not None and not site.functions else Frame(module)
        runs = self._module_runs.get(id(module), 0)  # (the module run up to each: at most MODULE_RUNS sites a module)
        if site.conditions and site.cls is None and not site.functions and runs < MODULE_RUNS:  # as on that side
            self._module_runs[id(module)] = runs + 1
            frame = self.ev.flow.run_module(module, {}, site.call)[1] or frame
        outer: Frame | None = None
        functions = [f for f in site.functions if not isinstance(f, ast.Lambda)]
        for index, func in enumerate(functions):
            assert isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef))
            bound_self = (instance or self._self_for(module, site, func)) if index == 0 else None
            made = bound_self if func.name == "__init__" and isinstance(bound_self, InstanceRef) else None
            by = (made.call, made.frame) if made is not None and made.frame is not None else (None, Frame(module))
            owner = ClassRef(module, site.cls) if site.cls is not None and func in site.cls.body else None  # (super())
            made_by = FuncRef(module, func, bound_self, outer, owner)
            bound = self._given_by_callers(made_by, site, self.ev.bind(made_by, *by))  # (its maker's)
            target: ast.AST = functions[index + 1] if index + 1 < len(functions) else site.call
            reached = self.ev.flow.frame_reaching(func, bound, target)
            if reached is None:  # the defaults never get there (`if url is None: raise`): a caller's values, unknown
                params = [a.arg for a in (*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs)]
                given = params[1:] if bound_self is not None else params  # a method's self stays what it is
                bound, reached = callers.given_by_callers(func, bound, given, target, self.ev.flow.frame_reaching)
                ruled_out = reached is None and taint.decided_by_globals(site, self.ev.local_names(func))
                if ruled_out:  # the module's own constants rule it out, whatever the callers give (mem0's else: ...)
                    self._unreached.add(id(site.call))
                if reached is None:
                    reached = self.ev.flow.frame_at(func, bound, target)
            frame = outer = reached
        if instance is None:
            self._frames[id(site.call)] = frame
        return frame

    def _self_for(self, module: Module, site: CallSite, func: FunctionNode) -> Any:
        """What a method's first parameter holds when no caller is in sight: the class for a classmethod; the
        instances the app makes (of a wrapper's class, or of any once every module is read: `Server(host="db")
        .serve()`), one per side; else one built with no arguments, but for a class the project names
        (guillotina's `_manager_class = ConnManager`): its maker's arguments, which the scan does not link."""
        if site.cls is None or func not in site.cls.body or not (func.args.posonlyargs or func.args.args):
            return None
        decorators = decorator_names(func)
        if "staticmethod" in decorators:
            return None
        cls = ClassRef(module, site.cls)
        if "classmethod" in decorators:
            return cls
        wrapper = self.wrappers.get(id(func))
        if wrapper is None:  # any other method (`fetch()` calling `await self.connect()`): the class's instances
            wrapper = next((w for w in self.wrappers.values() if w.cls is site.cls and w.instances), None)
        instances = wrapper.instances if wrapper is not None else self.keepers.get(id(site.cls), (None, []))[1]
        instances = instances or (self._made(site.cls) if self._counted else [])
        exact = bool(instances)  # (made of the class itself, each: not of a subclass that may set what it reads)
        if not instances and self._counted:  # (AstrBot's BaseDatabase(abc.ABC), nutshell's LedgerWatchdog: the
            if id(site.cls) not in self._heirs_made:  # one subclass instance made runs it; once per class)
                heir = callers.runs_as_heir(self.ev.project, site.cls, self.called)
                subclasses = callers.subclasses(self.ev.project, site.cls, self.ev.class_chain) if heir else []
                handed = any(callers.handed(self.ev.project, sub.name) for sub in subclasses)  # (`KINDS[k]()`)
                self._heirs_made[id(site.cls)] = [] if handed else [m for sub in subclasses for m in self._made(sub)]
            instances = self._heirs_made[id(site.cls)]
        if len(instances) == 1 or (exact and 1 < len(instances) <= MAX_MADE):  # (their arguments: quarry's Connections)
            made = [(f"self made at {m.where(s.call)}", self._instance(cls, m, s)) for m, s in instances]
            return made[0][1] if len(made) == 1 else Branches(made)
        own_init = self.ev.classes.init_of(cls) is not None  # (a dataclass's fields are linked to their maker later)
        handed = self._mentions.made_elsewhere(cls.node.name, own_init)
        return InstanceRef(cls, {}, given="self" if handed else None, any_subclass=not exact)

    def _instance(self, cls: ClassRef, maker_module: Module, maker: CallSite) -> InstanceRef:
        frame, made_of = self.site_frame(maker_module, maker), self.called(maker_module, maker)
        made = self.ev.classes.instantiate(made_of if isinstance(made_of, ClassRef) else cls, maker.call, frame)
        return made if isinstance(made, InstanceRef) else InstanceRef(cls, {}, call=maker.call, frame=frame)

    def _given_by_callers(self, func: FuncRef, site: CallSite, bound: Frame) -> Frame:
        """What the function's callers in the app give a parameter nothing else does (callers.given_by_the_app)."""
        if not self._all_read or id(func.node) in self._asking:
            return callers.given_by_listener(self.ev, func.node, bound)
        self._asking.add(id(func.node))
        try:
            return callers.given_by_the_app(self.ev, func, site, bound, self.called, self.site_frame)
        finally:
            self._asking.discard(id(func.node))

    def _made(self, cls: ast.ClassDef) -> list[tuple[Module, CallSite]]:
        """Where the app makes instances of a class no wrapper of which is called (tux's DatabaseSetup, made with
        the service whose method makes the pool): once every module is read."""
        if id(cls) not in self._makers:
            self._makers[id(cls)] = []  # (one made while its maker's frame is worked out: none)
            self._makers[id(cls)] = taint.instances_made(self.ev.project, cls, self.called)
        return self._makers[id(cls)]

    def _emit(
        self,
        module: Module,
        site: CallSite,
        target: Target,
        frame: Frame,
        via: list[str],
        entered: tuple[Wrapper, ...],  # the wrappers this call is inside: a recursive call of one makes no new pool
        outer_module: Module,
        outer_site: CallSite,
        inner_tests: tuple[str, ...] = (),
    ) -> Iterator[ScannedPool]:
        if target.wrapper is not None:
            wrapper = target.wrapper
            retested = wrapper.is_fixed and outer_module.aside and not wrapper.module.aside
            retested = retested and (wrapper.callers > 0 or wrapper.decorated)
            if len(entered) > 6 or retested:
                return  # (a test reaching the app's fixed wrapper makes its pool again; one only tests call, theirs)
            bound_self = target.bound_self
            after_init = wrapper.via_class is not None and post_init(wrapper.func, wrapper.via_class)
            if after_init and wrapper.via_class:  # a dataclass's Class(...): the call's fields, then __post_init__
                bound_self = self.ev.classes.instantiate(ClassRef(wrapper.module, wrapper.via_class), site.call, frame)
            elif wrapper.via_class is not None:  # Class(...): a new instance, made by this call
                bound_self = InstanceRef(ClassRef(wrapper.module, wrapper.via_class), {}, call=site.call, frame=frame)
            elif bound_self is None and wrapper.cls is not None:
                bound_self = self._self_for(
                    wrapper.module, CallSite(site.call, (wrapper.func,), wrapper.cls, ()), wrapper.func
                )
            func = FuncRef(wrapper.module, wrapper.func, bound_self=bound_self)
            given = None if after_init else self._arguments(site.call, frame, target.partial)
            # (a parameter an unread `*args` / `**kwargs` may give is unknown, not its default: only in a pool
            # wrapper's call, elsewhere the defaults keep a class's many `x=None` decided: meltano's took 300 s)
            bound = self.ev.calls.bind_arguments(func, given, frame, spreads=True)
            ran: list[sides.Made] = []
            inside = (
                not entered
                and not outer_module.aside
                and bool(outer_site.functions)
                and wrapper.made_once(self.ev.project)
            )
            for inner in (s for s in wrapper.inner if wrapper.reaches(s)):
                applies, made = self._through(bound_self, wrapper, inner)
                inner_frame = self.ev.flow.frame_reaching(wrapper.func, bound, inner.call)
                inner_target = made if applies else self.target(wrapper.module, inner)
                if inner_frame is not None and (
                    id(inner.call) in self.handoffs.calls or _init_runs(wrapper.func, inner)
                ):
                    handed = callable_of(self.ev, self.ev.eval(inner.call.func, inner_frame))  # (what this caller
                    inner_target = self.target_of(handed, inner.call)  # hands it; the method of the instance made)
                inner_wrapper = inner_target.wrapper if inner_target is not None else None
                again = inner_wrapper in (*entered, wrapper) and not (inner_wrapper and inner_wrapper.handed)
                if inner_frame is None or inner_target is None or again:  # (a handed one: handed another maker)
                    continue  # None: not made with these arguments
                if inner_target.wrapper is not None and inner_target.wrapper.stays:
                    continue  # a fixed wrapper one place calls: its pool is at its own line
                if inner_target.wrapper is not None and not self._first_for_key(
                    wrapper.func, inner, inner_frame, outer_module, outer_site
                ):
                    continue  # a wrapper's call kept by key (onyx's ShardRegistry.get_engine): made at its first caller
                tests = (*inner_tests, *self._open_tests(wrapper.module, inner, inner_frame))
                through = [] if inside else [*via, wrapper.module.where(inner.call)]
                at_module, at_site = (wrapper.module, inner) if inside else (outer_module, outer_site)
                args = (wrapper.module, inner, inner_target, inner_frame, through, (*entered, wrapper), at_module)
                ran.append((inner, inner_frame, list(self._emit(*args, at_site, tests))))
            head = [condition_text(outer_module, outer_site.conditions), *inner_tests]
            ran = sides.without_fallbacks(wrapper.func, ran)
            yield from sides.one_per_run(self.ev, wrapper.module, wrapper.func, ran, head, self._open_tests)
            return
        assert target.stack is not None and target.call is not None and target.name is not None
        if outer_module.aside and patched(outer_site, target.name):
            return  # `@patch("app.store.ConnectionPool")` on the test: the call makes a MagicMock (mem0's tests)
        if site.functions and not self._first_for_key(site.functions[-1], site, frame, outer_module, outer_site):
            return  # one pool per key
        settings, unresolved = self.settings(target, site.call, frame)
        if makes_none(settings):
            return  # a test's mock handed to the app's code (h's streamer); SQLAlchemy's mock engine (rucio's)
        at_module, at_site, via = placed(entered, module, site, outer_module, outer_site, via)
        yield ScannedPool(
            file=at_module.display,
            line=at_site.call.lineno,
            end_line=at_site.call.end_lineno or at_site.call.lineno,
            stack=target.stack,
            call=target.call,
            settings=settings,
            unresolved=unresolved,
            at_import=at_import(outer_module, outer_site),
            via=via,
            condition=all_of(
                list(dict.fromkeys(t for t in (condition_text(outer_module, outer_site.conditions), *inner_tests) if t))
            )
            or None,
        )

    def _first_for_key(
        self, func: ast.AST, site: CallSite, frame: Frame, outer_module: Module, outer: CallSite
    ) -> bool:
        """Whether this call makes its pool: not when its function keeps one per key (taint.memo_key) and an
        earlier caller's call made the one for the same key (keyed.KeptPools)."""
        key = memo_key(func, site.call, site.cls)
        kept = kept_under(self.ev.force(self.ev.eval(key, frame))) if key is not None else None
        if kept is None:
            return True
        program = outer_module.display if own_process(self.ev.project, outer_module) else None  # (its own process)
        return self._kept.first((id(site.call), kept, outer_module.aside, program), outer)

    def _through(self, bound_self: Any, wrapper: Wrapper, inner: CallSite) -> tuple[bool, Target | None]:
        """A classmethod's `cls(...)`, the method read through a class (saq's `PgQueue.from_url`, or a subclass's):
        what that class's own `__init__` makes, none when it is no wrapper (a subclass reusing a pool it is
        handed). (False, None): not such a call."""
        params = [*wrapper.func.args.posonlyargs, *wrapper.func.args.args]
        func = inner.call.func
        if not (
            isinstance(bound_self, ClassRef) and params and isinstance(func, ast.Name) and func.id == params[0].arg
        ):
            return False, None
        init = self._maker(bound_self)
        made = self.wrappers.get(id(init.node)) if init is not None else None
        return True, (Target(wrapper=made) if made is not None and made.via_class is not None else None)

    def _maker(self, cls: ClassRef) -> FuncRef | None:
        """What a call of the class runs with its arguments: its `__init__`, else a dataclass's `__post_init__`."""
        init = self.ev.classes.init_of(cls)
        post = self.ev.classes.own_method(cls, "__post_init__", None) if init is None else None
        if init is None and post is not None and post.owner is not None and is_dataclass(post.owner.node):
            return post
        return init

    def _open_tests(self, module: Module, site: CallSite, frame: Frame) -> list[str]:
        """The tests around a wrapper's own pool call that its caller's arguments leave undecided (`if pool:` with
        a library's object): the pool is made only when they hold."""
        tests = []
        for test, taken in site.conditions:
            verdict, by_env = decide(self.ev, self.ev.eval(test, frame))
            if verdict is None or by_env:
                text = module.segment(test)
                tests.append(text if taken else f"not ({text})")
        return tests

    def _arguments(self, call: ast.Call, frame: Frame, partial_ref: PartialRef | None) -> Any:
        given = self.ev.calls.arguments(call, frame)
        if partial_ref is not None:
            given.positional = [*partial_ref.args, *given.positional]
            given.keywords = {**partial_ref.keywords, **given.keywords}
        return given

    def settings(self, target: Target, call: ast.Call, frame: Frame) -> tuple[dict[str, ScannedValue], list[str]]:
        given = self._arguments(call, frame, target.partial)
        return pool_settings(self.ev, target.name, target.stack, given, call)


def _init_runs(func: FunctionNode, site: CallSite, wrapper: Wrapper | None = None) -> bool:
    """Whether the call is an `__init__`'s of a method of its own instance (`self.init()`), one that is a
    wrapper reading what `__init__` sets where given: the instance made is the pool's (TimeInData's manager)."""
    call, params = site.call.func, [*func.args.posonlyargs, *func.args.args]
    if func.name != "__init__" or not params or not isinstance(call, ast.Attribute):
        return False
    on_self = isinstance(call.value, ast.Name) and call.value.id == params[0].arg
    if wrapper is None or not on_self:
        return on_self
    given = init_attributes(site.cls) if site.cls is not None else set()  # (the pool call reads what it sets)
    reads = any(uses_parameters(s.call, wrapper.func, given, params=False) for s in wrapper.inner)
    return reads and wrapper.cls is site.cls and not wrapper.is_fixed
