"""A function's statements run for their effect on its names, without running anything.

`Flow.call(func, frame)` is what a call of a project function returns; `Flow.frame_at(...)` the locals just
before the statement holding a node. Assignments stay lazy (Thunks); a test the scan decides takes its branch,
one it cannot runs both and joins them (a name set differently on each side becomes `Branches`). Dicts are
copied when changed (`kwargs["pool_size"] = 5`, `.update()`), so a value shared with another scope never
changes under it. A loop over a known list runs once per item; any other loop "maybe ran".
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from pool_doctor.scan import changes, containers, correlated, effects, nodes
from pool_doctor.scan.finder import FunctionNode, Module
from pool_doctor.scan.kinds import (
    SV,
    Branches,
    ClassRef,
    Frame,
    FuncRef,
    Interpreter,
    Thunk,
    assumed_set,
    env_of,
    not_set,
    unknown,
)
from pool_doctor.scan.nodes import holds, is_generator, pseudo_name, reads_outer
from pool_doctor.scan.paths import ALWAYS_RAISES, Exits, Guard, State, joined, left_names

SET = assumed_set("")  # the prefix of the bindings that say a variable is set on a path
MAX_STATEMENTS = 3000  # per run, unrolled loops counted each time: past it, the run gives up (unknown)
MAX_BODY = 20_000  # statements a module's own body may run (a settings module of thousands of lines)
_UNSET = object()
Ran = tuple[State | None, Frame | None]  # (run_module's: the state a module's statements leave, a target's frame)
MAX_ITEMS = 256  # a loop over more known items than this is read as "maybe ran"


class Exhausted(Exception):
    """The run took more statements than MAX_STATEMENTS."""


@dataclass
class Run:
    module: Module
    scope: FunctionNode | ast.Lambda | ast.ClassDef | None
    outer: Frame | None
    target: ast.AST | None = None  # stop just before the statement that holds this node
    found: Frame | None = None
    returns: list[tuple[Guard, Any]] = field(default_factory=list)
    budget: int = MAX_STATEMENTS
    loops: list[tuple[list[State], list[State]]] = field(default_factory=list)  # each loop's breaks, continues
    items: dict[str, int] = field(default_factory=dict)  # names an unrolled loop binds to its item: the run (1...)
    body: bool = False  # a module's or a class's own statements, not a function's
    strict: bool = False  # running to a target: a side of an `if` the code rules out is not entered


class Flow:
    def __init__(self, ev: Interpreter) -> None:
        self.ev = ev
        self._inner: dict[int, tuple[ast.expr, list[Any], list[tuple[ast.Call, bool]]]] = {}  # (walrus)

    # --- entry points -----------------------------------------------------------------------------------

    def call(self, func: FuncRef, frame: Frame) -> Any:
        """What the function returns, its parameters bound in `frame` (Branches when that depends on a test)."""
        node = func.node
        if isinstance(node, ast.Lambda):
            return self.ev.force(self.ev.eval(node.body, frame))
        returns = self._exits(func, frame, lambda value, _: value, SV(None, frame.module.where(node)))
        if returns is None:
            return unknown(frame.module, node, why=f"{node.name}(): too long to follow")
        if not returns:
            return unknown(frame.module, node, why=f"{node.name}(){ALWAYS_RAISES}")
        if is_generator(node):
            return unknown(frame.module, node, why=f"{node.name}() is a generator")
        return self.ev.force(joined(returns, self.ev.conditions))

    def returned_with(self, func: FuncRef, frame: Frame, name: str, before: Any) -> Any:
        """What a local (`self.pool_size`) holds where the function returns, each way out's joined: a model
        validator's field as it hands the instance back. `before` where the way out taken with no variable set
        leaves it as it was (polar's `if self.POSTGRES_URL_NON_POOLING is None: return self`)."""
        exits = self._exits(func, frame, lambda _, state: state.get(name, before), None)
        taken = next((value for guard, value in exits or [] if all(chosen for _, chosen in guard)), None)
        while isinstance(taken, Branches) and taken.default is not None:  # an `if` inside, joined: its default side
            taken = taken.options[taken.default][1]
        return self.ev.force(joined(exits, self.ev.conditions)) if exits and taken != before else before

    def _exits(self, func: FuncRef, frame: Frame, read: Callable[[Any, State], Any], fell_off: Any) -> Exits | None:
        """Each way out of the function (its returns, its end) with what `read` takes from the value it returns
        (`fell_off` at its end) and its locals there; None: too long to follow."""
        node = func.node
        assert not isinstance(node, ast.Lambda)
        run = Run(frame.module, node, frame.outer)
        try:
            end, guard = self.block(run, node.body, dict(frame.bindings), ())
        except Exhausted:
            return None
        exits = [(g, read(v, v.frame.bindings if isinstance(v, Thunk) else {})) for g, v in run.returns]
        return exits if end is None else [*exits, (guard, read(fell_off, end))]

    def locals_after(self, func: FuncRef, frame: Frame) -> dict[str, Any]:
        """The function's locals at its end (the paths that reach it, joined; at a return, those it had)."""
        node = func.node
        if isinstance(node, ast.Lambda):
            return {}
        run = Run(frame.module, node, frame.outer)
        try:
            end, _ = self.block(run, node.body, dict(frame.bindings), ())
        except Exhausted:
            return {}
        ends = [("the end", end)] if end is not None else []  # (each way out's: `fill(d): d["x"] = 1; return d`)
        ends += [
            (f"the return at line {v.node.lineno}", v.frame.bindings) for _, v in run.returns if isinstance(v, Thunk)
        ]
        joined = self.join([(t, s, i == 0) for i, (t, s) in enumerate(ends)], run) if len(ends) > 1 else None
        return left_names(joined if joined is not None else ends[0][1] if ends else None)  # (none: all raise)

    def frame_at(self, scope: FunctionNode | ast.ClassDef, frame: Frame, target: ast.AST) -> Frame:
        """The frame a node inside `scope` is evaluated in: the locals its statements set before it."""
        found = self.frame_reaching(scope, frame, target, strict=False)
        return found or self.frame(Run(frame.module, scope, frame.outer), frame.bindings)

    def frame_reaching(
        self, scope: FunctionNode | ast.ClassDef, frame: Frame, target: ast.AST, strict: bool = True
    ) -> Frame | None:
        """frame_at's frame; None when no path reaches the node (`if pool: return pool` before it; `strict`: an
        `if` around it the code decides the other way)."""
        run = Run(frame.module, scope, frame.outer, target=target, strict=strict)
        try:
            self.block(run, scope.body, dict(frame.bindings), ())
        except Exhausted:
            return self.frame(run, frame.bindings)
        return run.found

    def run_module(self, module: Module, state: State, target: ast.AST | None = None) -> Ran:
        """A module's own statements run over `state`, as importing it runs them: what they leave, and (given a
        `target`) the frame a node of them is evaluated in, on the side of each `if` around it; None for what is
        too long to run, or a target no path gets to."""
        run = Run(module, None, None, target=target, body=True, budget=MAX_BODY)
        try:
            end, _ = self.block(run, module.tree.body, state, ())
        except Exhausted:
            return None, None
        return end, run.found

    def body_state(self, module: Module, scope: ast.Module | ast.ClassDef) -> State | None:
        """What a module's (or a class body's) statements leave, as importing it runs them; a `raise` at
        this level ends nothing (what came before is what the scan reads). None: too long to run (the
        names are then read from their assignments alone)."""
        run = Run(module, scope if isinstance(scope, ast.ClassDef) else None, None, body=True, budget=MAX_BODY)
        try:
            end, _ = self.block(run, scope.body, {}, ())
        except Exhausted:
            return None
        return left_names(end, keep_assumed=True)

    # --- statements ---------------------------------------------------------------------------------------

    def frame(self, run: Run, state: State) -> Frame:
        return Frame(run.module, bindings=dict(state), scope=run.scope, flow=True, outer=run.outer)

    def block(self, run: Run, body: list[ast.stmt], state: State, guard: Guard) -> tuple[State | None, Guard]:
        for stmt in body:
            if run.found is not None:
                return None, guard
            run.budget -= 1
            if run.budget < 0:
                raise Exhausted
            if run.target is not None and holds(stmt, run.target):
                inner = self.enter(run, stmt, state, guard)
                if inner is None:  # the node is in the statement itself, not in a block under it
                    run.found = self.frame(run, state)
                return None, guard
            after, guard = self.statement(run, stmt, state, guard)
            if after is None:
                return None, guard
            state = after
        return state, guard

    def enter(self, run: Run, stmt: ast.stmt, state: State, guard: Guard) -> bool | None:
        """Run down to the target inside a compound statement's block; None when the target is not in a block."""
        assert run.target is not None
        for name in ("body", "orelse", "finalbody"):
            block = getattr(stmt, name, None)
            if isinstance(block, list) and any(holds(s, run.target) for s in block if isinstance(s, ast.stmt)):
                if isinstance(stmt, ast.If):  # the side the target is on: not taken, not reached
                    verdict, decided, body, orelse = self.sides(run, stmt, self.walrus(run, stmt.test, state))
                    if decided and verdict != (name == "body") and run.strict:
                        return True
                    state = body if name == "body" else orelse
                elif isinstance(stmt, (ast.With, ast.AsyncWith)):
                    state = self.with_items(run, stmt, state)
                elif isinstance(stmt, (ast.For, ast.AsyncFor)):
                    state = self.assign_target(run, stmt.target, None, state, unknown_why="the loop's item")
                self.block(run, block, state, guard)
                return True
        for handler in getattr(stmt, "handlers", []):
            if any(holds(s, run.target) for s in handler.body):
                self.block(run, handler.body, state, guard)
                return True
        if isinstance(stmt, ast.Match):
            for case in stmt.cases:
                if any(holds(s, run.target) for s in case.body):
                    self.block(run, case.body, state, guard)
                    return True
        return None

    def statement(self, run: Run, stmt: ast.stmt, state: State, guard: Guard) -> tuple[State | None, Guard]:
        ev = self.ev
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            if stmt.value is None:
                return state, guard
            before, state = self.frame(run, state), self.walrus(run, stmt.value, state)  # (its value: before its calls)
            return changes.assigned(
                ev, partial(self.frame, run), stmt, state, partial(self.assign_target, run), before
            ), guard
        if isinstance(stmt, ast.AugAssign):
            current = self.read_target(run, stmt.target, state)
            value = ev.force(ev.eval(stmt.value, self.frame(run, state)))
            return self.assign_target(
                run, stmt.target, ev.augment(current, stmt.op, value, stmt, run.module), state
            ), guard
        if effects.exits_program(self.ev, stmt, run.scope or run.module.tree, self.frame(run, state)):  # (Kurisu's)
            return (state if run.body and not guard else None), guard
        if isinstance(stmt, ast.Expr | ast.Assert):  # `assert (lower := value.lower()) in (...)` binds lower
            state = self.walrus(run, stmt.value if isinstance(stmt, ast.Expr) else stmt.test, state, alone=True)
            if isinstance(stmt, ast.Assert):  # past it, its test holds
                return self.narrowed(
                    run, stmt.test, effects.asserted(ev, stmt.test, state, self.frame(run, state)), True
                ), guard
            called = stmt.value.value if isinstance(stmt.value, ast.Await) else stmt.value
            if isinstance(called, ast.Call):
                state = changes.mutating_call(ev, partial(self.frame, run), called, state)
                state = changes.library_effect(ev, partial(self.frame, run), called, state)
                return self.self_call(run, called, state), guard
            return state, guard
        if isinstance(stmt, ast.If):
            return self.if_(run, stmt, state, guard)
        if isinstance(stmt, (ast.For, ast.AsyncFor)):
            return self.for_(run, stmt, state, guard)
        if isinstance(stmt, ast.While):
            if containers.truth(self.ev, self.ev.eval(stmt.test, self.frame(run, state))) is False:
                return self.block(run, stmt.orelse, state, guard)
            return self.maybe(run, stmt.body, state, guard, f"while {run.module.segment(stmt.test)}"), guard
        if isinstance(stmt, (ast.With, ast.AsyncWith)):
            return self.block(run, stmt.body, self.with_items(run, stmt, state), guard)
        if isinstance(stmt, (ast.Try, ast.TryStar)):
            return self.try_(run, stmt, state, guard)
        if isinstance(stmt, ast.Return):
            value = Thunk(stmt.value, self.frame(run, state)) if stmt.value is not None else SV(None, None)
            run.returns.append((guard, self.after_first(run, stmt.value, state) or value))
            return None, guard
        if isinstance(stmt, ast.Raise):
            return (state if run.body and not guard else None), guard
        if isinstance(stmt, (ast.Break, ast.Continue)) and run.loops:
            run.loops[-1][0 if isinstance(stmt, ast.Break) else 1].append(state)
            return None, guard
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            state = dict(state)
            closure = self.frame(run, state) if not run.body else None  # a module's function reads its globals
            state[stmt.name] = FuncRef(run.module, stmt, closure=closure)
            return state, guard
        if isinstance(stmt, ast.ClassDef):
            state = dict(state)
            state[stmt.name] = ClassRef(run.module, stmt)
            return state, guard
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            return changes.imported(ev, run.module, stmt, state, lazy=run.body), guard
        if isinstance(stmt, ast.Delete):
            return changes.deleted(ev, partial(self.frame, run), stmt, state), guard
        if isinstance(stmt, ast.Match):
            return self.match(run, stmt, state, guard)
        return state, guard  # pass, assert, global, break, continue...: no name changes

    def if_(self, run: Run, stmt: ast.If, state: State, guard: Guard) -> tuple[State | None, Guard]:
        state = self.walrus(run, stmt.test, state)
        verdict, decided, body, orelse = self.sides(run, stmt, state)
        if decided:
            return self.block(run, stmt.body if verdict else stmt.orelse, state, guard)
        text = self.ev.conditions.test(self.test_text(run, stmt.test, state), run.module.origin(stmt.test))
        return self.fork(
            run,
            state,
            guard,
            (text, stmt.body, verdict is True, body),
            (f"not ({text})", stmt.orelse, verdict is False, orelse),
        )

    def test_text(self, run: Run, test: ast.expr, state: State) -> str:
        """The test as written; in an unrolled loop, each run's its own; in a function, a local a variable gives
        named by that variable (effects.test_text)."""
        read = {n.id: run.items[n.id] for n in ast.walk(test) if isinstance(n, ast.Name) and n.id in run.items}
        if not read and (run.body or run.scope is None):
            return run.module.segment(test)
        return effects.test_text(self.ev, test, self.frame(run, state), read, run.module)

    def sides(self, run: Run, stmt: ast.If, state: State) -> tuple[bool | None, bool, State, State]:
        """The test's verdict, whether the code decides it, and the state each side starts from. Undecided, or decided
        by the environment: on each side a name the test reads keeps the values it can have there (`if url:`)."""
        test = self.ev.force(self.ev.eval(stmt.test, self.frame(run, state)))
        if nodes.caches_global(run.scope, stmt, run.module.tree):  # the first call's: every call gets what it made
            return True, True, state, state
        verdict, by_env = containers.decide(self.ev, test)
        if verdict is not None and not by_env:
            return verdict, True, state, state
        body, orelse = self.narrowed(run, stmt.test, state, True), self.narrowed(run, stmt.test, state, False)
        if body is state and orelse is state and isinstance(test, Branches):  # (a name's values, each on its side)
            body, orelse = correlated.sides(self.ev, stmt.test, state, partial(self.frame, run), self.change, run)
        variable = env_of(test) if by_env and verdict is not None else None
        if variable is not None:  # the same test of the same variable again: what an earlier one split keeps its side
            body, orelse = containers.agreeing(body, orelse, run.module.segment(stmt.test), assumed_set(variable))
        rest = run.scope.body if isinstance(run.scope, FunctionNode) else []  # (after an `if` whose other side ends)
        if variable is not None:
            other, side = (stmt.body, stmt.orelse) if verdict else (stmt.orelse, stmt.body)
            after = side + (rest if other and isinstance(other[-1], ast.Return | ast.Raise) else [])
            read = {**self.the_variables(run, stmt.test, orelse if verdict else body, not verdict, after)}
            read[assumed_set(variable)] = True
            body, orelse = (body, read) if verdict else (read, orelse)
        return verdict, False, body, orelse

    def the_variables(self, run: Run, test: ast.expr, state: State, holds: bool, side: list[ast.stmt]) -> State:
        """The side of an env-decided test no default takes: a variable's default it reads, and any other value of
        that variable's read after it (Marzban's URL, tested as `URL.startswith("sqlite")`), is the variable's; where
        each operand of `a and b` holds (`a or b` fails), only an operand's whose defaults do not (`MS > 0 and URL`)."""
        if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And) == holds:
            for operand in test.values:
                found = self.ev.force(self.ev.eval(operand, self.frame(run, state)))
                if containers.decide(self.ev, found)[0] != holds:
                    state = self.the_variables(run, operand, state, holds, side)
            return state
        changed, variables = dict(state), set()  # (a `:=` in the test sets one of its names)
        for node in (n for n in ast.walk(test) if isinstance(n, ast.Name)):
            value = self.ev.force(self.ev.eval(node, self.frame(run, state)))
            variables |= {value.env} if isinstance(value, SV) and value.env else set()
            if containers.variable_text(value) and value.known:
                changed[node.id] = SV(None, value.from_, value.env, known=False, expr=f"${value.env}")
        if not variables:  # (what the side reads is the variables' only where the test reads one)
            return changed
        nodes = [n for s in side for n in ast.walk(s) if isinstance(n, ast.Name | ast.Attribute)]  # (`settings.url`)
        read = {
            name: n for n in nodes if (name := n.id if isinstance(n, ast.Name) else pseudo_name(n)) not in (None, "_")
        }
        for key, read_node in read.items():
            value = self.ev.force(self.ev.eval(read_node, self.frame(run, state)))
            if containers.variable_text(value) and value.known and value.env in variables:
                changed[key] = SV(None, value.from_, value.env, known=False, expr=f"${value.env}")
        return changed

    def narrowed(self, run: Run, test: ast.expr, state: State, holds: bool) -> State:
        """The state on the side of `test` where it `holds`: a name (or `self.x`, or set by `:=`) tested as itself,
        negated or against None keeps the branches of its value that agree (containers.on_side)."""
        if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And) == holds:  # each of `a and b` holds
            for operand in test.values:  # (each of `a or b` fails)
                state = self.narrowed(run, operand, state, holds)
            return state
        if (absent := containers.absent_key(test, holds)) is not None:  # noted for a write of that key (assign_target)
            state = {**state, f"$absent {run.module.segment(absent[1])}": (absent[0], state.get(absent[0]))}
        found = containers.narrowing(self.ev, test, holds)
        if found is None:
            return state
        target, check, holds = found
        name = target.id if isinstance(target, ast.Name) else pseudo_name(target)
        if name is None:
            return state
        value = self.ev.force(self.ev.eval(target, self.frame(run, state)))
        if containers.variable_text(value) and check(value) not in (holds, None):
            state = dict(state)  # only a value of the variable's takes this side
            state[name] = SV(None, value.from_, value.env, known=False, expr=f"${value.env}")
            return state
        if not isinstance(value, Branches):
            return state
        options, default = containers.settle_options(self.ev, value)
        sides = [(at, containers.on_side(option, check, holds, at == default)) for at, option in enumerate(options)]
        kept = [(index, option) for index, option in sides if option is not None]
        if not kept or [option for _, option in kept] == options:
            return state
        state = dict(state)
        new_default = next((at for at, (index, _) in enumerate(kept) if index == default), None)
        state[name] = Branches([option for _, option in kept], default=new_default)
        return state

    def fork(
        self,
        run: Run,
        state: State,
        guard: Guard,
        *paths: tuple[str, list[ast.stmt], bool] | tuple[str, list[ast.stmt], bool, State],
    ) -> tuple[State | None, Guard]:
        """Each path from the same state (or the one given with it), then joined: a name each sets differently
        becomes Branches. A path marked True is the one taken with no environment variable set."""
        ended: list[tuple[str, State, bool]] = []
        for path in paths:
            when, body, chosen = path[0], path[1], path[2]
            start = path[3] if len(path) > 3 else state
            after, _ = self.block(run, body, start, (*guard, (when, chosen)))
            if run.found is not None:
                return None, guard
            if after is not None:
                ended.append((when, after, chosen))
        if not ended:
            return None, guard
        if len(ended) == 1:
            return ended[0][1], (*guard, (ended[0][0], ended[0][2]))
        return self.join(ended, run), guard

    def join(self, states: list[tuple[str, State, bool]], run: Run) -> State:
        out: State = {}
        default = next((index for index, (_, _, chosen) in enumerate(states) if chosen), None)
        names = list(dict.fromkeys(name for _, state, _ in states for name in state))
        deciding = {n for _, s, c in states if not c for n in s if n.startswith(SET)} - set(states[default or 0][1])
        for name in names:
            values = [state.get(name, _UNSET) for _, state, _ in states]
            if _UNSET in values and reads_outer(run.scope, name, self.ev.local_names):  # a global dict changed in place
                was = self.ev.force(self.ev.eval(ast.Name(name, ast.Load()), self.frame(run, {})))
                values = [was if value is _UNSET else value for value in values]
            elif _UNSET in values and "." in name:  # `settings.flag` narrowed on one side: as it is on the others
                holder, attr = name.split(".", 1)  # (an `__init__`'s own instance: its class's, not made again)
                holder = nodes.MADE_CLASS if nodes.own_instance(run.scope, name) else holder
                read = ast.Attribute(ast.Name(holder, ast.Load()), attr, ast.Load(), lineno=0, col_offset=0)
                values = [
                    self._read_back(read, run, state) if value is _UNSET else value
                    for (_, state, _), value in zip(states, values)
                ]
            if all(value is values[0] for value in values):
                out[name] = values[0]
                continue
            if default is not None and len(deciding) == 1 and values[default] is not _UNSET:  # it chose this path
                values[default] = containers.decided_by(self.ev, values, default, next(iter(deciding))[len(SET) :])
            out[name] = Branches(
                [(when, not_set() if value is _UNSET else value) for (when, _, _), value in zip(states, values)],
                default=default,
            )
        return out

    def _read_back(self, read: ast.expr, run: Run, state: State) -> Any:
        """`settings.flag` where a path did not narrow it: as it reads there (not set when nothing holds it; an
        unknown value something holds, such as a parameter nobody gives, stays that)."""
        made = effects.made_class(self.ev, run.scope, self.frame(run, state)) if nodes.made_class_read(read) else None
        state = {**state, nodes.MADE_CLASS: made} if made is not None else state  # (the made one's, a subclass's)
        value = self.ev.force(self.ev.eval(read, self.frame(run, state)))
        held = not isinstance(value, SV) or value.known or value.env or value.expr not in (None, "", ast.unparse(read))
        return value if held else _UNSET

    def maybe(self, run: Run, body: list[ast.stmt], state: State, guard: Guard, text: str) -> State | None:
        """A loop's body that may run or not (a loop the scan cannot unroll): both, joined."""
        run.loops.append(([], []))
        try:
            after, _ = self.fork(run, state, guard, (f"{text} runs", body, False), (f"{text} does not run", [], False))
        finally:
            breaks, continues = run.loops.pop()
        if run.found is not None:
            return None
        ends = [(f"{text} runs through", after, False)] if after is not None else []
        ends += [(f"{text} breaks", s, False) for s in breaks] + [(f"{text} runs", s, False) for s in continues]
        if len(ends) > 1:
            return self.join(ends, run)
        return ends[0][1] if ends else state

    def for_(self, run: Run, stmt: ast.For | ast.AsyncFor, state: State, guard: Guard) -> tuple[State | None, Guard]:
        items = containers.items_of(self.ev, self.ev.eval(stmt.iter, self.frame(run, state)))
        text = f"for {run.module.segment(stmt.target)} in {run.module.segment(stmt.iter)}"
        if items is None or len(items) > MAX_ITEMS:
            state = self.assign_target(run, stmt.target, None, state, unknown_why="the loop's item")
            return self.maybe(run, stmt.body, state, guard, text), guard
        current: State | None = state
        exits: list[State] = []
        back = changes.loop_places(self.ev, self.frame(run, state), stmt, len(items))
        names = {n.id for n in ast.walk(stmt.target) if isinstance(n, ast.Name)}  # (each run's, Run.items)
        for index, item in enumerate(items):
            assert current is not None
            run.loops.append(([], []))
            bound, run.items = run.items, run.items | dict.fromkeys(names, index + 1)
            try:
                after, _ = self.block(run, stmt.body, self.assign_target(run, stmt.target, item, current), guard)
                if (
                    after is not None and back is not None
                ):  # for db in DATABASES.values(): db["X"] = 1 changes DATABASES
                    after = self.assign_target(run, back[index][0], self.read_target(run, back[index][1], after), after)
            finally:
                breaks, continues = run.loops.pop()
                run.items = bound
            if run.found is not None:
                return None, guard
            exits.extend(breaks)
            going = [s for s in (after, *continues) if s is not None]
            if not going:  # every path returned, raised or broke out
                current = None
                break
            current = going[0] if len(going) == 1 else self.join([(f"{text} goes on", s, False) for s in going], run)
        if current is not None:
            current, guard = self.block(run, stmt.orelse, current, guard)
        ends = [(f"{text} runs through", current, True)] if current is not None else []
        ends += [(f"{text} breaks", s, not ends and index == 0) for index, s in enumerate(exits)]
        if not ends:
            return None, guard
        return (ends[0][1] if len(ends) == 1 else self.join(ends, run)), guard

    def try_(self, run: Run, stmt: ast.Try | ast.TryStar, state: State, guard: Guard) -> tuple[State | None, Guard]:
        """The ways effects.try_paths says, joined. A file the body opens that the tree lacks takes the handler
        that runs on."""
        absent = effects.tolerated_absence(self.ev, stmt, self.frame(run, state))
        paths = effects.try_paths(stmt, run.module) if absent is None else [("", absent.body, True)]
        after, guard = (
            self.fork(run, state, guard, *paths) if len(paths) > 1 else self.block(run, paths[0][1], state, guard)
        )
        if after is None:
            return None, guard
        return self.block(run, stmt.finalbody, after, guard)

    def match(self, run: Run, stmt: ast.Match, state: State, guard: Guard) -> tuple[State | None, Guard]:
        paths = effects.match_paths(self.ev, stmt, self.frame(run, state), run.module)
        if len(paths) == 1:
            return self.block(run, paths[0][1], state, guard)
        return self.fork(run, state, guard, *paths)

    def with_items(self, run: Run, stmt: ast.With | ast.AsyncWith, state: State) -> State:
        for item in stmt.items:
            if item.optional_vars is not None:
                value = self.ev.entered(self.ev.eval(item.context_expr, self.frame(run, state)))
                state = self.assign_target(run, item.optional_vars, value, state)
        return state

    # --- names and what they hold -------------------------------------------------------------------------

    def walrus(self, run: Run, node: ast.expr, state: State, alone: bool = False) -> State:
        """`(x := value)` inside an expression binds x for the statements after it (and the expression); a project
        function it surely calls changes what it is handed (`done = set_ping(options)`), but for a call that is a
        statement of its own (`alone`: `statement()` applies that)."""
        if id(node) not in self._inner:  # (its parts, found once: a statement runs again at each call of its function)
            me = nodes.first_parameter(run.scope)
            self._inner[id(node)] = (node, *effects.inner_parts(node, run.module, me))
        _, walruses, calls = self._inner[id(node)]
        for inner in walruses:
            state = dict(changes.unbound(self.ev, partial(self.frame, run), inner.target, state))
            state[inner.target.id] = Thunk(inner.value, self.frame(run, state))
        skip = (node.value if isinstance(node, ast.Await) else node) if alone else None
        return effects.calls_made(self.ev, run.scope, calls, skip, state, partial(self.frame, run))

    def after_first(self, run: Run, node: ast.expr | None, state: State) -> Thunk | None:
        """`return apply_defaults(options) or options`: the operands after the first read what its helper changed
        (the first's value is as it was); None where the first operand changes nothing."""
        if not isinstance(node, ast.BoolOp) or (after := self.walrus(run, node.values[0], state)) is state:
            return None
        first, name = Thunk(node.values[0], self.frame(run, state)), ast.copy_location(ast.Name("$first"), node)
        rest = ast.copy_location(ast.BoolOp(node.op, [name, *node.values[1:]]), node)
        return Thunk(rest, self.frame(run, {**after, "$first": first}))

    def assign_target(
        self, run: Run, target: ast.expr, value: Any, state: State, unknown_why: str | None = None
    ) -> State:
        if value is None:
            value = SV(None, run.module.where(target), known=False, expr=unknown_why or run.module.segment(target))
        state = changes.unbound(self.ev, partial(self.frame, run), target, state)  # (its aliases end)
        if isinstance(target, ast.Name):
            state = dict(state)
            state[target.id] = value
            return state
        name = pseudo_name(target)
        if name is not None:  # self.engine_kwargs = ...: read back as self.engine_kwargs in this function
            state = dict(state)
            state[name] = value
            holder, attr = name.split(".")
            params = run.scope.args.args if isinstance(run.scope, (ast.FunctionDef, ast.AsyncFunctionDef)) else []
            own = bool(params) and params[0].arg == holder  # a method's `self.x = ...`: the pseudo-name says it
            if holder in state and not own:  # `cfg.backend = ...` on an instance it holds: it has it wherever it goes
                state[holder] = self.ev.with_attribute(self.ev.force(state[holder]), attr, value)
            return state
        if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Attribute):  # `settings.db.uri = ...`
            return self.change(run, target.value, state, lambda held: self.ev.with_attribute(held, target.attr, value))
        if isinstance(target, (ast.Tuple, ast.List)):
            items = containers.unpack(self.ev, value, len(target.elts))
            for index, element in enumerate(target.elts):
                item = items[index] if items is not None else None
                state = self.assign_target(run, element, item, state, unknown_why=unknown_why)
            return state
        if isinstance(target, ast.Subscript):  # (`new`: under a test that the key is not in the dict)
            key = self.ev.force(self.ev.eval(target.slice, self.frame(run, state)))
            noted = state.get(f"$absent {run.module.segment(target.value)}")  # (the key's name, bound as it was then)
            new = isinstance(noted, tuple) and noted[0] == ast.unparse(target.slice) and state.get(noted[0]) is noted[1]
            edit = partial(containers.with_item, self.ev, key=key, value=value, node=target, module=run.module, new=new)
            return self.change(run, target.value, state, edit)
        return state

    def read_target(self, run: Run, target: ast.expr, state: State) -> Any:
        return self.ev.force(self.ev.eval(target, self.frame(run, state)))

    def change(self, run: Run, base: ast.expr, state: State, edit: Any) -> State:
        return changes.change(self.ev, partial(self.frame, run), base, state, edit)

    def self_call(self, run: Run, call: ast.Call, state: State) -> State:
        """What a project function the statement calls does to what it is given: the names it changes."""
        frame = self.frame(run, state)
        changed = effects.changed_by(self.ev, run.scope, call, state, frame)
        return {**state, **changed} if changed else state
