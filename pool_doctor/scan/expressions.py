"""Work out, statically, the value an expression has when no environment variable is set.

Each result carries where its value is written (`file:line`), its source text there, and the variable that
would override it. What cannot be known comes back unknown with its source text: never a guess. A value that
depends on a test the scan cannot decide is `Branches`, one value per side; operators and calls apply to each.
`Evaluator` interprets expressions and hands the rest to its parts: `Calls` (functions), `Scopes` (names),
`Environment` (variables), `SettingsClasses` (classes), `ConfigSources` (config libraries), `ConfigFiles`."""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from pool_doctor.scan import (
    appstate,
    argparsing,
    chainmaps,
    comprehensions,
    containers,
    dotenvs,
    envkeys,
    existing,
    flaskconfig,
    predicates,
    pycalls,
    pyramid,
    splitsettings,
    spreads,
)
from pool_doctor.scan.alembic import AlembicConfig
from pool_doctor.scan.builders import Builders
from pool_doctor.scan.calls import MAX_CALLS, Calls
from pool_doctor.scan.conditions import Conditions
from pool_doctor.scan.environment import Environment
from pool_doctor.scan.files import ConfigFiles
from pool_doctor.scan.finder import FunctionNode, Module, Project
from pool_doctor.scan.flow import Flow
from pool_doctor.scan.kinds import (
    MAX_DEPTH,
    SV,
    Branches,
    Budget,
    ClassRef,
    DictV,
    ExternalRef,
    Frame,
    FuncRef,
    HolderV,
    InstanceRef,
    ListV,
    MethodRef,
    ModuleRef,
    PartialRef,
    PoolV,
    SuperRef,
    Thunk,
    ValidationInfoV,
    assumed_set,
    env_of,
    external,
    is_known,
    not_set,
    over,
    read_as_set,
    unknown,
)
from pool_doctor.scan.nodes import readable_method
from pool_doctor.scan.osloconfig import OsloOptions
from pool_doctor.scan.paths import raises
from pool_doctor.scan.scopes import Scopes
from pool_doctor.scan.settings import SettingsClasses
from pool_doctor.scan.sources import ConfigRef, ConfigSources, EnvironRef

FALSE_NAMES = {"typing.TYPE_CHECKING", "typing_extensions.TYPE_CHECKING"}  # `if TYPE_CHECKING:` never runs
IN_OPS = (ast.In, ast.NotIn)


class Evaluator:
    def __init__(self, project: Project) -> None:
        self.project = project
        self.depth = 0
        self.budget = Budget()
        self.conditions = Conditions()
        self.scopes = Scopes(project, self)
        self.environment = Environment(project, self)
        self.classes = SettingsClasses(self, self.scopes, self.environment)
        self.class_chain = self.classes.class_chain  # (the Interpreter's, for the parts that read class bodies)
        self.sources = ConfigSources(self, self.environment)
        self.files = ConfigFiles(self, project)
        self.flow = Flow(self)
        self.oslo = OsloOptions(self, project)
        # Library calls the scan reads, by dotted name: one table, each entry owned by the part that knows it.
        self.arguments = argparsing.ArgParsers(self, self.environment)  # a script's command-line options
        self.library_calls: dict[str, Callable[[ast.Call, Frame], Any]] = {}
        self.library_values: dict[str, Callable[[ast.AST, Frame], Any]] = {}  # library attributes read, the same
        self.calls = Calls(self, self.classes, self.sources, self.files, self.flow, self.library_calls)
        self.library_calls.update(
            {
                **self.environment.calls(),
                **self.calls.builtin_calls(),
                **self.sources.calls(),
                **self.files.calls(),
                **AlembicConfig(self, self.files).calls(),
                **Builders(self).calls(),
                **pyramid.calls(self, self.calls.paste),
                **dotenvs.calls(self, self.files, self.environment),
                **flaskconfig.calls(self),
                **chainmaps.calls(self),
                **existing.calls(self, project.base),
                **self.arguments.calls(),
            }
        )

    # --- entry points --------------------------------------------------------------------------------

    def eval(self, node: ast.expr | None, frame: Frame) -> Any:
        if node is None:
            return SV(None, None)
        if self.depth > MAX_DEPTH:
            return unknown(frame.module, node, why="too deep to follow")
        self.budget.spend()
        self.depth += 1
        try:
            method = getattr(self, f"_eval_{type(node).__name__}", None)
            return method(node, frame) if method is not None else unknown(frame.module, node)
        except RecursionError:
            return unknown(frame.module, node, why="too deep to follow")
        finally:
            self.depth -= 1

    def force(self, value: Any) -> Any:
        if isinstance(value, Thunk):
            if not value.done:
                value.done = True
                value.value = None
                value.value = value.compute() if value.compute is not None else self.eval(value.node, value.frame)
                if isinstance(value.value, ExternalRef) and value.compute is None and value.value.where is None:
                    value.value = replace(value.value, where=value.frame.module.where(value.node))  # `poolclass=X`
            value = value.value if value.value is not None else SV(None, None, known=False, expr="(cycle)")
            if isinstance(value, Thunk):
                return self.force(value)
        if isinstance(value, Branches) and not value.settled:  # (settled once: read again, it is the same)
            value.as_settled = value.as_settled if value.as_settled is not None else containers.settle(self, value)
            return value.as_settled
        return value

    def lift(self, values: list[Any], fn: Callable[..., Any]) -> Any:
        return containers.lift(self, values, fn)

    # --- literals and operators ------------------------------------------------------------------------

    def _eval_Constant(self, node: ast.Constant, frame: Frame) -> Any:
        value = node.value
        if not isinstance(value, (str, int, float, bool, type(None))):
            value = repr(value)
        return SV(value, frame.module.where(node), source=frame.module.segment(node))

    def _eval_Dict(self, node: ast.Dict, frame: Frame) -> Any:
        where, end = frame.module.where(node), node.end_lineno or node.lineno
        result = DictV({}, where, line=node.lineno, end_line=end, file=frame.module.display)
        for key_node, value_node in zip(node.keys, node.values):
            if key_node is None:  # {**other}
                self.merge(result, self.eval(value_node, frame), frame.module.segment(value_node))
                continue
            key = self.force(self.eval(key_node, frame))
            if is_known(key) and isinstance(key.value, (str, int)):
                result.items[str(key.value)] = Thunk(value_node, frame)  # read only if asked for
            else:
                result.opaque.append(frame.module.segment(key_node))
        return result

    _eval_DictComp = comprehensions.dict_comprehension  # (called as a method: the evaluator first)

    def merge(self, into: DictV, value: Any, text: str) -> None:
        """`**value` into a dict: its items (an instance's fields), else `**text` as opaque."""
        value = spreads.as_dict(self, self.files.as_mapping(self.force(value)))  # (dj_database_url.config()'s)
        pairs = containers.pairs(self, value)
        if isinstance(value, DictV):
            had = into.items.keys() if not into.opaque else value.items.keys()  # (a key new to it stays as it is)
            into.items.update(
                {k: over(self, v, containers.held(into, k)) if k in had else v for k, v in value.items.items()}
            )
            into.opaque.extend(value.opaque)
            into.unset_by = {**value.unset_by, **into.unset_by}
        elif pairs is not None:  # dict([(key, value), ...]), dict(parser.items(section))
            into.items.update(pairs)
        elif isinstance(value, InstanceRef) and self.classes.is_model(value.cls):
            into.items.update(self.classes.instance_fields(value))
        elif not (is_known(value) and value.value is None):  # `**(options or {})`-style None: nothing
            into.opaque.append(envkeys.spread(value, text))

    def _eval_List(self, node: ast.List | ast.Tuple | ast.Set, frame: Frame) -> Any:
        items: list[Any] = []
        for element in node.elts:
            if isinstance(element, ast.Starred):
                spread = self.force(self.eval(element.value, frame))
                if isinstance(spread, ListV):
                    items.extend(spread.items)
                    continue
                return unknown(frame.module, node)
            items.append(self.eval(element, frame))
        return ListV(items, frame.module.where(node))

    _eval_Tuple = _eval_Set = _eval_List

    def _eval_JoinedStr(self, node: ast.JoinedStr, frame: Frame) -> Any:
        parts: list[Any] = []
        for part in node.values:
            if isinstance(part, ast.Constant):
                parts.append(SV(str(part.value), None))
            else:
                assert isinstance(part, ast.FormattedValue)
                spec = self.eval(part.format_spec, frame) if part.format_spec is not None else SV("", None)
                parts.append(self.lift([self.eval(part.value, frame), spec], lambda v, s: (v, s)))
        return self.lift(parts, lambda *pieces: pycalls.joined(node, frame, pieces))

    def _eval_BinOp(self, node: ast.BinOp, frame: Frame) -> Any:
        left, right = self.eval(node.left, frame), self.eval(node.right, frame)
        return self.lift([left, right], lambda a, b: self.binop(a, node.op, b, node, frame.module))

    def binop(self, left: Any, op: ast.operator, right: Any, node: ast.AST, module: Module) -> Any:
        if isinstance(op, ast.BitOr) and isinstance(left, DictV) and isinstance(right, DictV):
            merged = containers.copy_dict(left)
            self.merge(merged, right, module.segment(node))
            return merged
        special = self.files.binop(left, op, right, node, module)
        if special is not None:
            return special
        function = pycalls.BINOPS.get(type(op))
        right = pycalls.format_args(self, op, node, right, module.where(node))
        if function is None or not (is_known(left) and is_known(right)):
            return pycalls.unknown_sum(module, node, op, left, right)
        try:
            result = function(left.value, right.value)
        except Exception:
            return unknown(module, node, env=env_of(left, right))
        if left.env or right.env:  # the default a variable overrides is where it is written
            side = left if left.env else right
            return SV(result, side.from_, side.env, source=side.source)
        return SV(result, module.where(node), source=module.segment(node))

    def augment(self, current: Any, op: ast.operator, value: Any, node: ast.AST, module: Module) -> Any:
        """`current op= value` (`kwargs |= extra`, `size += 2`)."""
        return self.lift([current, value], lambda a, b: self.binop(a, op, b, node, module))

    def _eval_UnaryOp(self, node: ast.UnaryOp, frame: Frame) -> Any:
        return self.lift([self.eval(node.operand, frame)], lambda operand: self._unary(node, frame, operand))

    def _unary(self, node: ast.UnaryOp, frame: Frame, operand: Any) -> Any:
        if isinstance(node.op, ast.Not):
            verdict = containers.truth(self, operand)
            if verdict is not None:
                return SV(not verdict, frame.module.where(node), env_of(operand), source=frame.module.segment(node))
        if not is_known(operand):
            return unknown(frame.module, node, env=env_of(operand))
        try:
            if isinstance(node.op, ast.USub):
                return replace(operand, value=-operand.value, source=frame.module.segment(node))
            if isinstance(node.op, ast.UAdd):
                return replace(operand, value=+operand.value)
        except TypeError:
            pass
        return unknown(frame.module, node, env=operand.env)

    def _eval_BoolOp(self, node: ast.BoolOp, frame: Frame) -> Any:  # `os.getenv("X") or "5"`: "5" when X is unset
        return self._boolop(node, frame, 0, None, {})

    def _boolop(self, node: ast.BoolOp, frame: Frame, index: int, env: str | None, memo: dict[Any, Any]) -> Any:
        if (index, env) in memo:  # (each tail once: each side of an operand the scan cannot decide reads it)
            return memo[index, env]
        value = self.force(self.eval(node.values[index], frame))
        if isinstance(value, Branches):
            options = [(when, self._boolop_step(node, frame, index, env, o, memo)) for when, o in value.options]
            return memo.setdefault((index, env), Branches(options, default=value.default))
        return memo.setdefault((index, env), self._boolop_step(node, frame, index, env, value, memo))

    def _boolop_step(self, node: ast.BoolOp, frame: Frame, index: int, env: str | None, value: Any, memo: Any) -> Any:
        env = env or env_of(value)
        if index == len(node.values) - 1:
            return self._with_env(node, frame, value, env)
        verdict = containers.truth(self, value)
        if verdict is None:  # (`not TESTING and X in os.environ`: false where a later operand is, whatever TESTING is)
            rest = lambda: self._boolop(node, frame, index + 1, env, memo)  # noqa: E731
            return pycalls.undecided(self, node, index, frame, value, rest) or unknown(frame.module, node, env=env)
        if verdict == isinstance(node.op, ast.Or):  # `x or ...` with x true, `x and ...` with x false: x
            return self._with_env(node, frame, value, env)
        return self._boolop(node, frame, index + 1, env, memo)

    @staticmethod
    def _with_env(node: ast.BoolOp, frame: Frame, value: Any, env: str | None) -> Any:
        """`os.getenv("URL") or f"...{USER}..."`: the variable an earlier operand reads replaces the whole value."""
        if isinstance(value, SV) and env and value.env != env and (not value.env or isinstance(node.op, ast.Or)):
            return replace(value, env=env, from_=frame.module.where(node) if value.env else value.from_)
        return value

    def _eval_Compare(self, node: ast.Compare, frame: Frame) -> Any:
        operands = [self.eval(node.left, frame), *(self.eval(c, frame) for c in node.comparators)]
        return self.lift(operands, lambda *values: predicates.keyed(self, node, frame, values, self._compare))

    def _compare(self, node: ast.Compare, frame: Frame, values: tuple[Any, ...]) -> Any:
        left = values[0]
        result = True
        env = env_of(left)
        for op_node, right in zip(node.ops, values[1:]):
            if isinstance(right, ExternalRef) and right.dotted == "os.environ" and isinstance(op_node, IN_OPS):
                if not (is_known(left) and isinstance(left.value, str)):
                    return unknown(frame.module, node)
                found = self.environment.is_set(left.value, frame)  # "X" in os.environ: the environment decides
                held = found if isinstance(op_node, ast.In) else not found
                return SV(result and held, frame.module.where(node), left.value, source=frame.module.segment(node))
            if isinstance(right, ListV):
                items = [pycalls.as_member(self.force(i), left) for i in right.items]  # (`None in (value, int)`)
                if not all(is_known(i) for i in items):
                    return unknown(frame.module, node, env=env)
                right = SV([i.value for i in items], right.origin, env_of(*items))  # (a variable's item decides)
            elif isinstance(right, DictV) and not right.opaque:
                right = SV(list(right.items), right.origin)
            env = env or env_of(right)
            function = pycalls.COMPARES.get(type(op_node))
            same = pycalls.identical(left, right) if isinstance(op_node, (ast.Is, ast.IsNot)) else None
            if same is not None:  # `default is _MISSING`
                result, left = result and same == isinstance(op_node, ast.Is), right
                continue
            if isinstance(left, ExternalRef) and isinstance(right, ExternalRef) and function is not None:
                same = left.dotted == right.dotted  # type(x) is bool
                result = result and (same if isinstance(op_node, (ast.Is, ast.Eq)) else not same)
                left = right
                continue
            is_none_test = isinstance(op_node, (ast.Is, ast.IsNot)) and is_known(right) and right.value is None
            if is_none_test and self._is_object(left):  # a dict, an instance, a function `is None`: no
                result = result and isinstance(op_node, ast.IsNot)
                left = right
                continue
            if is_none_test and len(node.ops) == 1 and is_known(left) and left.value is not None:
                # Not None with no variable set, and a variable that is set gives a value (its text, or what a
                # cast or a settings field made of it): the environment cannot change this test.
                held = isinstance(op_node, ast.IsNot)
                return SV(held, frame.module.where(node), None, source=frame.module.segment(node))
            if function is None or not (is_known(left) and is_known(right)):
                return unknown(frame.module, node, env=env)
            try:
                result = result and bool(function(left.value, right.value))
            except TypeError:
                return unknown(frame.module, node, env=env)
            left = right
        return SV(result, frame.module.where(node), env, source=frame.module.segment(node))

    def _is_object(self, value: Any) -> bool:
        kinds = (DictV, ListV, InstanceRef, ClassRef, FuncRef, ModuleRef, PartialRef, MethodRef, PoolV)
        return isinstance(value, kinds) or self.files.owns(value)

    def _eval_IfExp(self, node: ast.IfExp, frame: Frame) -> Any:  # undecided or by a variable: both sides
        test = self.force(self.eval(node.test, frame))
        verdict, by_env = containers.decide(self, test)
        if verdict is not None and not by_env:
            return self.force(self.eval(node.body if verdict else node.orelse, frame))
        text = self.conditions.test(frame.module.segment(node.test), frame.module.origin(node.test))
        default = None if verdict is None else (0 if verdict else 1)
        variable = env_of(test) if by_env and default is not None else None
        body, orelse = Thunk(node.body, frame), Thunk(node.orelse, frame)
        if variable and default is not None:  # the side only a set variable takes reads it as set (`f"_{os.getenv(
            taken, other = (body, orelse)[default], (body, orelse)[1 - default]  # 'W')}"`, beacon's `X if X else`)
            other.frame = replace(frame, bindings={**frame.bindings, assumed_set(variable): True})
            taken.compute = lambda: containers.decided_by(self, [self.eval(taken.node, taken.frame)], 0, variable)
            other.compute = lambda: read_as_set(self.force(self.eval(other.node, other.frame)), variable)
        return Branches([(text, body), (f"not ({text})", orelse)], default=default)

    def _eval_Lambda(self, node: ast.Lambda, frame: Frame) -> Any:
        return FuncRef(frame.module, node, closure=frame if frame.scope is not None else None)

    def _eval_Await(self, node: ast.Await | ast.NamedExpr, frame: Frame) -> Any:
        return self.eval(node.value, frame)  # `await make_pool()`: what the coroutine returns; `(x := v)`: v

    _eval_NamedExpr = _eval_Await

    def _eval_Name(self, node: ast.Name, frame: Frame) -> Any:
        return self.scopes.lookup(node.id, frame, node)

    # --- attributes, subscripts, calls ---------------------------------------------------------------

    def _eval_Attribute(self, node: ast.Attribute, frame: Frame) -> Any:
        if isinstance(node.value, ast.Name):
            pseudo = f"{node.value.id}.{node.attr}"  # self.x set earlier in this function (scan/flow.py)
            current: Frame | None = frame
            while current is not None and current.flow:
                if pseudo in current.bindings:
                    return self.force(current.bindings[pseudo])
                current = current.outer
        base = self.eval(node.value, frame)
        if isinstance(node.value, ast.Name) and frame.flow:  # `self.retry()` under `if self.ro:`
            base = self.classes.as_tested(self.force(base), node.value.id, frame)
        return self.lift([base], lambda b: self.attribute(b, node.attr, node, frame))

    def attribute(self, base: Any, attr: str, node: ast.AST | None, frame: Frame) -> Any:
        if isinstance(base, ModuleRef) and not base.namespace:  # (`globals()`: dict's methods, namespaces.py)
            if (found := self.scopes.submodule(base.module, attr, frame.module)) is not None:
                return found
            value = self.scopes.global_value(base.module, attr, None)
            if isinstance(value, SV) and not value.known and node is not None and value.expr == attr:
                return unknown(frame.module, node)  # named as the reader wrote it, in the reader's file
            return value
        if isinstance(base, ExternalRef):  # (an oslo.config option's default, `CONF.database.max_pool_size`)
            if (read := self.library_values.get(f"{base.dotted}.{attr}")) is not None:
                return read(node or ast.Constant(attr), frame)
            found = self.scopes.external(base.dotted, attr, frame.module)
            return found or self.oslo.read(base.dotted, attr, node, frame) or external(f"{base.dotted}.{attr}")
        if isinstance(base, InstanceRef):
            return self.classes.instance_attribute(base, attr, node, frame)
        if isinstance(base, SuperRef):
            return self.classes.super_attribute(base, attr)
        if isinstance(base, ValidationInfoV) and attr == "data":
            return base.data
        if isinstance(base, HolderV):
            if attr in base.attrs:
                return base.attrs[attr]
            return MethodRef(base, attr) if attr in base.returns else unknown(frame.module, node)
        if isinstance(base, ClassRef):
            value = self.classes.class_attribute(base, attr)
            if value is not None:
                return value
        if isinstance(base, (ClassRef, FuncRef)) and attr == "__name__" and not isinstance(base.node, ast.Lambda):
            return SV(base.node.name, base.module.where(base.node))  # its name as its `class`/`def` writes it
        special = self.files.attribute(base, attr, node, frame) or appstate.read(self, base, attr, frame.module)
        if special is not None:
            return special
        if isinstance(base, SV) and not base.known and readable_method(base.expr, attr):
            return MethodRef(base, attr)  # `url.startswith("postgresql")` on f"sqlite:///{...}": decided
        if isinstance(base, SV) and not base.known:  # an attribute of what the scan cannot read
            return unknown(frame.module, node, env=base.env) if node is not None else base
        if isinstance(base, SV) and attr == "value":  # an enum member, read as its value (`Env.prod.value`)
            return base
        if isinstance(base, DictV) and attr.isupper():  # an attribute-dict's key (Sanic's Config: `config.DB_URL`)
            return self.subscript(base, SV(attr, None), node or ast.Constant(attr), frame)
        if isinstance(base, (SV, DictV, ListV, ConfigRef, EnvironRef, FuncRef, ModuleRef)) or self.files.owns(base):
            return MethodRef(base, attr)
        return unknown(frame.module, node) if node is not None else SV(None, None, known=False, expr=attr)

    def _eval_Slice(self, node: ast.Slice, frame: Frame) -> Any:  # `name[:63]` of a known text
        parts = [self.force(self.eval(p, frame)) if p else SV(None, None) for p in (node.lower, node.upper, node.step)]
        known = all(is_known(p) and isinstance(p.value, (int, type(None))) for p in parts)
        return SV(slice(*(p.value for p in parts)), None) if known else unknown(frame.module, node)

    def _eval_Subscript(self, node: ast.Subscript, frame: Frame) -> Any:
        base, key = self.eval(node.value, frame), self.eval(node.slice, frame)
        return self.lift([base, key], lambda b, k: self.subscript(b, k, node, frame))

    def subscript(self, base: Any, key: Any, node: ast.AST, frame: Frame) -> Any:
        held = self.held_items(base)
        base = held if held is not None else base  # (a project dict subclass: its items)
        if isinstance(base, ExternalRef) and base.dotted == "os.environ" and is_known(key):
            return self.environment.lookup(str(key.value), None, frame, node)
        if isinstance(base, DictV) and is_known(key) and str(key.value) in base.items:
            return self.force(base.items[str(key.value)])
        item = f"{base.dotted}[{key.value!r}]" if isinstance(base, ExternalRef) and is_known(key) else None
        if item is not None and any(name.startswith(f"{item}.") for name in self.library_values):  # (on the way)
            return ExternalRef(item)
        if isinstance(base, ListV) and is_known(key) and isinstance(key.value, int):
            try:
                return self.force(base.items[key.value])
            except IndexError:
                pass
        special = envkeys.keyed(self, base, key, frame, node) or self.files.subscript(base, key, node, frame)
        if special is None and isinstance(base, InstanceRef | ModuleRef):  # a class's `__getitem__`; `globals()[x]`
            special = self.classes.dunders.getitem_read(base, key)
        if special is not None:
            return special
        if isinstance(base, SV) and base.known and is_known(key):
            try:
                return SV(base.value[key.value], base.from_, base.env, source=base.source)
            except (TypeError, KeyError, IndexError):
                pass
        return unknown(frame.module, node, env=env_of(base))

    def _eval_Call(self, node: ast.Call, frame: Frame) -> Any:
        if isinstance(node.func, ast.Attribute) and node.func.attr == "total_seconds":  # `timedelta(...).total_...`
            seconds = pycalls.total_seconds(self, node, frame)
            if seconds is not None:
                return seconds
        func = self.force(self.eval(node.func, frame))
        if isinstance(func, Branches):
            result = self.lift([func], lambda f: self.calls.call(f, node, frame))
            if isinstance(result, Branches):  # a path whose callee always raises gives nothing to the code after
                kept = [(when, option) for when, option in result.options if not raises(self.force(option))]
                if len(kept) == 1:
                    return kept[0][1]
            return result
        return self.calls.call(func, node, frame)

    # --- what the other parts ask of the interpreter -------------------------------------------------------

    def arg(self, node: ast.Call, frame: Frame, position: int | None, keyword: str | None) -> Any:
        return self.calls.arg(node, frame, position, keyword)

    def bind(self, func: FuncRef, node: ast.Call | None, frame: Frame, skip_first: bool = False) -> Frame:
        return self.calls.bind(func, node, frame, skip_first)

    def call_function(self, func: FuncRef, node: ast.Call | None, frame: Frame) -> Any:
        return self.calls.call_function(func, node, frame)

    def call_bound(self, func: FuncRef, frame: Frame) -> Any:  # in a frame whose parameters are already bound
        return self.flow.call(func, frame)

    def body_state(self, module: Module, scope: ast.Module | ast.ClassDef) -> dict[str, Any] | None:
        return self.flow.body_state(module, scope)

    def local_names(self, scope: FunctionNode | ast.ClassDef | ast.Lambda) -> set[str]:
        return self.scopes.local_names(scope)

    def assumes_set(self, module: Module, variable: str) -> bool:
        """Whether importing the module needs the variable set (`if not os.getenv("X"): raise` at its top)."""
        state = self.scopes.body_state(module, module.tree)  # None while it runs: its own reads use the frame
        return state is not None and state.get(assumed_set(variable)) is True

    def locals_after(self, func: FuncRef, node: ast.Call | None, frame: Frame) -> dict[str, Any]:
        """The function's locals when it returns (`self.x`), bound to the call's arguments; bounded by MAX_CALLS."""
        return self.bound_locals(func, self.bind(func, node, frame))

    def frame_in(self, module: Module, func: FunctionNode | ast.Lambda, target: ast.AST) -> Frame:
        """The frame `target` in `func` is evaluated in: the locals set before it; its parameters unknown."""
        if isinstance(func, ast.Lambda):
            return Frame(module)
        params = [a.arg for a in (*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs)]
        given = {name: SV(None, None, known=False, expr=name) for name in params}
        return self.flow.frame_at(func, Frame(module, bindings=given, scope=func), target)

    def bound_locals(self, func: FuncRef, frame: Frame) -> dict[str, Any]:
        """`locals_after`, in a frame whose parameters are already bound."""
        if self.calls.depth >= MAX_CALLS:
            return {}
        self.calls.depth += 1
        try:
            return self.flow.locals_after(func, frame)
        finally:
            self.calls.depth -= 1

    def returned_with(self, func: FuncRef, name: str, before: Any) -> Any:
        """What a local (`self.x`) holds where a function called with no arguments returns; else `before`."""
        if isinstance(func.node, ast.Lambda):
            return before
        return self.flow.returned_with(func, self.bind(func, None, Frame(func.module)), name, before)

    def dict_call(self, node: ast.Call, frame: Frame) -> Any:
        return self.calls.dict_call(node, frame)

    def with_attribute(self, holder: Any, attr: str, value: Any) -> Any:  # `holder.attr = value`: the object with it
        if isinstance(holder, Branches):  # (each of the objects a test leaves there: server-litestar's settings)
            return self.lift([holder], lambda one: self.with_attribute(one, attr, value))
        if isinstance(holder, HolderV):
            return replace(holder, attrs={**holder.attrs, attr: pycalls.held_value(self.project, holder, attr, value)})
        return self.classes.with_attribute(holder, attr, value) if isinstance(holder, InstanceRef) else holder

    def held_items(self, value: Any) -> DictV | None:
        return self.classes.held_items(value) if isinstance(value, InstanceRef) else None

    def truth_of_ref(self, value: Any) -> bool | None:
        if isinstance(value, ExternalRef):
            return False if value.dotted in FALSE_NAMES else None
        if isinstance(value, (FuncRef, ClassRef, ModuleRef, MethodRef, PartialRef, InstanceRef, PoolV, HolderV)):
            return True
        return self.files.truth(value)

    def entered(self, value: Any) -> Any:  # what `with value as x` binds x to: an open file stays the file
        return self.force(value)

    def imported(self, module: Module, node: ast.Import | ast.ImportFrom, lazy: bool = False) -> list[tuple[str, Any]]:
        return self.scopes.imported(module, node, lazy)

    def library_effect(self, dotted: str, state: dict[str, Any], call: ast.Call, frame: Frame) -> dict[str, Any]:
        """A library call handed a module's own names (`django_heroku.settings(locals())`): the names it sets."""
        if dotted == splitsettings.INCLUDE:
            return splitsettings.include(self, self.flow, state, call, frame)
        if dotted != "django_heroku.settings":
            return {}
        current = state["DATABASES"] if "DATABASES" in state else not_set()
        return {"DATABASES": self.sources.heroku_settings(current, call, frame)}

    def mutator(self, method: str) -> bool:
        return self.files.mutator(method) or method in {*pyramid.MUTATORS, *flaskconfig.LOADERS, *argparsing.ADDERS}

    def mutated(self, base: Any, method: str, call: ast.Call, frame: Frame) -> Any:
        if isinstance(base, HolderV) and base.dotted == argparsing.PARSER:
            return self.arguments.mutated(base, method, call, frame)
        if isinstance(base, HolderV) and base.dotted == flaskconfig.SANIC and method == "update_config":
            config = base.attrs["config"]  # (the app's, on its config)
            return replace(base, attrs={**base.attrs, "config": flaskconfig.loaded(self, config, method, call, frame)})
        if isinstance(base, HolderV):
            return pyramid.mutated(self, base, method, call, frame)
        if self.files.owns(base):
            return self.files.mutated(base, method, call, frame)
        if isinstance(base, DictV) and method in flaskconfig.LOADERS:  # a flask.Config the code made
            return flaskconfig.loaded(self, base, method, call, frame)
        if isinstance(base, InstanceRef) and base.parser is not None and self.files.mutator(method):
            return replace(base, parser=self.files.mutated(base.parser, method, call, frame))
        held = self.held_items(base)  # a project dict subclass's items
        if held is not None:
            changed = containers.mutated(self, held, method, call, frame)
            return replace(base, items=changed) if isinstance(changed, DictV) else base
        return containers.mutated(self, base, method, call, frame)
