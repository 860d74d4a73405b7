"""Work out, statically, the value an expression has when no environment variable is set.

Each result carries where its value is written (`file:line`) and the variable that would override it.
What cannot be known (a value computed at run time, a required variable with no default) comes back
unknown with its source text: never a guess.

`Evaluator` interprets expressions (literals, operators, f-strings, dicts and `**`, attributes, subscripts,
calls of the project's functions and of Python's casts) and hands the rest to its parts: `Scopes` says what a
name means, `Environment` reads variables and `.env` files, `SettingsClasses` reads the project's classes as
pydantic models, `ConfigSources` reads the config libraries.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

from pool_doctor.scan.environment import Environment
from pool_doctor.scan.finder import Project
from pool_doctor.scan.kinds import (
    MAX_DEPTH,
    SV,
    ClassRef,
    DictV,
    ExternalRef,
    Frame,
    FuncRef,
    InstanceRef,
    ListV,
    MethodRef,
    ModuleRef,
    Thunk,
    env_of,
    is_known,
    returned,
    unknown,
)
from pool_doctor.scan.scopes import Scopes
from pool_doctor.scan.settings import SettingsClasses
from pool_doctor.scan.sources import ConfigRef, ConfigSources, EnvironRef

BINOPS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
COMPARES: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
STR_METHODS = {"lower", "upper", "strip", "lstrip", "rstrip", "title", "casefold"}
CAST_EMPTY: dict[str, Any] = {"int": 0, "float": 0.0, "str": "", "bool": False}  # what `int()` etc. return


class Evaluator:
    def __init__(self, project: Project) -> None:
        self.project = project
        self.depth = 0
        self.scopes = Scopes(project, self)
        self.environment = Environment(project, self)
        self.classes = SettingsClasses(self, self.scopes, self.environment)
        self.sources = ConfigSources(self, self.environment)
        # Library calls the scan reads, by dotted name: one table, each entry owned by the part that knows it.
        self.library_calls: dict[str, Callable[[ast.Call, Frame], Any]] = {
            **self.environment.calls(),
            **{f"builtins.{name}": partial(self.python_cast, name) for name in CAST_EMPTY},
            "builtins.dict": self.dict_call,
            "pydantic_settings.SettingsConfigDict": self.dict_call,
            "pydantic.ConfigDict": self.dict_call,
            **self.sources.calls(),
        }

    # --- entry points --------------------------------------------------------------------------------

    def eval(self, node: ast.expr | None, frame: Frame) -> Any:
        if node is None:
            return SV(None, None)
        if self.depth > MAX_DEPTH:
            return unknown(frame.module, node, why="too deep to follow")
        self.depth += 1
        try:
            method = getattr(self, f"_eval_{type(node).__name__}", None)
            if method is None:
                return unknown(frame.module, node)
            return method(node, frame)
        except RecursionError:
            return unknown(frame.module, node, why="too deep to follow")
        finally:
            self.depth -= 1

    def force(self, value: Any) -> Any:
        if isinstance(value, Thunk):
            if not value.done:
                value.done = True
                value.value = None
                value.value = self.eval(value.node, value.frame)
            return value.value if value.value is not None else SV(None, None, known=False, expr="(cycle)")
        return value

    # --- literals and operators ------------------------------------------------------------------------

    def _eval_Constant(self, node: ast.Constant, frame: Frame) -> Any:
        value = node.value
        if not isinstance(value, (str, int, float, bool, type(None))):
            value = repr(value)
        return SV(value, frame.module.where(node))

    def _eval_Dict(self, node: ast.Dict, frame: Frame) -> Any:
        result = DictV(
            {},
            frame.module.where(node),
            line=node.lineno,
            end_line=node.end_lineno or node.lineno,
            file=frame.module.display,
        )
        for key_node, value_node in zip(node.keys, node.values):
            if key_node is None:  # {**other}
                self.merge(result, self.eval(value_node, frame), frame.module.segment(value_node))
                continue
            key = self.eval(key_node, frame)
            if is_known(key) and isinstance(key.value, (str, int)):
                result.items[str(key.value)] = Thunk(value_node, frame)  # read only if asked for
            else:
                result.opaque.append(frame.module.segment(key_node))
        return result

    def merge(self, into: DictV, value: Any, text: str) -> None:
        """`**value` into a dict: its items (an instance's fields), else `**text` as opaque."""
        value = self.force(value)
        if isinstance(value, DictV):
            into.items.update(value.items)
            into.opaque.extend(value.opaque)
        elif isinstance(value, InstanceRef):
            into.items.update(self.classes.instance_fields(value))
        else:
            into.opaque.append(f"**{text}")

    def _eval_List(self, node: ast.List | ast.Tuple | ast.Set, frame: Frame) -> Any:
        return ListV([self.eval(e, frame) for e in node.elts], frame.module.where(node))

    _eval_Tuple = _eval_List
    _eval_Set = _eval_List

    def _eval_JoinedStr(self, node: ast.JoinedStr, frame: Frame) -> Any:
        pieces: list[str] = []
        env = None
        origin = frame.module.where(node)
        for part in node.values:
            if isinstance(part, ast.Constant):
                pieces.append(str(part.value))
                continue
            assert isinstance(part, ast.FormattedValue)
            value = self.force(self.eval(part.value, frame))
            if not is_known(value):
                return unknown(frame.module, node, env=env or (value.env if isinstance(value, SV) else None))
            env = env or value.env
            if value.env and value.from_:
                origin = value.from_
            try:
                spec = ""
                if part.format_spec is not None:
                    spec_value = self.eval(part.format_spec, frame)
                    spec = spec_value.value if is_known(spec_value) else ""
                pieces.append(format(value.value, spec))
            except (TypeError, ValueError):
                return unknown(frame.module, node, env=env)
        return SV("".join(pieces), origin, env)

    def _eval_BinOp(self, node: ast.BinOp, frame: Frame) -> Any:
        left = self.force(self.eval(node.left, frame))
        right = self.force(self.eval(node.right, frame))
        op = BINOPS.get(type(node.op))
        if op is None or not (is_known(left) and is_known(right)):
            return unknown(frame.module, node, env=env_of(left, right))
        try:
            result = op(left.value, right.value)
        except Exception:
            return unknown(frame.module, node, env=env_of(left, right))
        origin = left.from_ if left.env or not right.env else right.from_
        return SV(result, origin, env_of(left, right))

    def _eval_UnaryOp(self, node: ast.UnaryOp, frame: Frame) -> Any:
        operand = self.force(self.eval(node.operand, frame))
        if not is_known(operand):
            return unknown(frame.module, node, env=env_of(operand))
        try:
            if isinstance(node.op, ast.USub):
                return replace(operand, value=-operand.value)
            if isinstance(node.op, ast.UAdd):
                return replace(operand, value=+operand.value)
            if isinstance(node.op, ast.Not):
                return replace(operand, value=not operand.value)
        except TypeError:
            pass
        return unknown(frame.module, node, env=operand.env)

    def _eval_BoolOp(self, node: ast.BoolOp, frame: Frame) -> Any:
        # `os.getenv("X") or "5"`: with no environment the left side is None, so the right side is in effect.
        env = None
        last: Any = None
        for value_node in node.values:
            value = self.force(self.eval(value_node, frame))
            if not isinstance(value, SV):
                return value if isinstance(node.op, ast.Or) else unknown(frame.module, node)
            env = env or value.env
            if not value.known:
                return unknown(frame.module, node, env=env)
            last = value
            if isinstance(node.op, ast.Or) and value.value:
                break
            if isinstance(node.op, ast.And) and not value.value:
                break
        return replace(last, env=last.env or env) if isinstance(last, SV) else unknown(frame.module, node)

    def _eval_Compare(self, node: ast.Compare, frame: Frame) -> Any:
        left = self.force(self.eval(node.left, frame))
        result = True
        env = env_of(left)
        for op_node, right_node in zip(node.ops, node.comparators):
            right = self.force(self.eval(right_node, frame))
            if isinstance(right, ListV):
                items = [self.force(i) for i in right.items]
                if not all(is_known(i) for i in items):
                    return unknown(frame.module, node, env=env)
                right = SV([i.value for i in items], right.origin)
            env = env or env_of(right)
            op = COMPARES.get(type(op_node))
            if op is None or not (is_known(left) and is_known(right)):
                return unknown(frame.module, node, env=env)
            try:
                result = result and bool(op(left.value, right.value))
            except TypeError:
                return unknown(frame.module, node, env=env)
            left = right
        return SV(result, frame.module.where(node), env)

    def _eval_IfExp(self, node: ast.IfExp, frame: Frame) -> Any:
        test = self.force(self.eval(node.test, frame))
        if is_known(test):
            chosen = self.force(self.eval(node.body if test.value else node.orelse, frame))
            if isinstance(chosen, SV) and test.env and not chosen.env:
                chosen = replace(chosen, env=test.env)
            return chosen
        return unknown(frame.module, node, env=env_of(test))

    def _eval_Lambda(self, node: ast.Lambda, frame: Frame) -> Any:
        return SV("<lambda>", frame.module.where(node))

    def _eval_Name(self, node: ast.Name, frame: Frame) -> Any:
        return self.scopes.lookup(node.id, frame, node)

    # --- attributes, subscripts, calls ---------------------------------------------------------------

    def _eval_Attribute(self, node: ast.Attribute, frame: Frame) -> Any:
        base = self.force(self.eval(node.value, frame))
        return self.attribute(base, node.attr, node, frame)

    def attribute(self, base: Any, attr: str, node: ast.AST | None, frame: Frame) -> Any:
        if isinstance(base, ModuleRef):
            module = base.module
            sub = self.project.module_by_name(f"{module.name}.{attr}", module.path)
            if sub is not None and attr not in module.assigns:
                return ModuleRef(sub)
            return self.scopes.global_value(module, attr, node)
        if isinstance(base, ExternalRef):
            return ExternalRef(f"{base.dotted}.{attr}")
        if isinstance(base, InstanceRef):
            return self.classes.instance_attribute(base, attr, node, frame)
        if isinstance(base, ClassRef):
            value = self.classes.class_attribute(base, attr)
            if value is not None:
                return value
        if isinstance(base, (SV, DictV, ConfigRef, EnvironRef)):
            return MethodRef(base, attr)
        return unknown(frame.module, node) if node is not None else SV(None, None, known=False, expr=attr)

    def _eval_Subscript(self, node: ast.Subscript, frame: Frame) -> Any:
        base = self.force(self.eval(node.value, frame))
        key = self.force(self.eval(node.slice, frame))
        if isinstance(base, ExternalRef) and base.dotted == "os.environ" and is_known(key):
            return self.environment.lookup(str(key.value), None, frame, node)
        if isinstance(base, DictV) and is_known(key) and str(key.value) in base.items:
            return self.force(base.items[str(key.value)])
        if isinstance(base, ListV) and is_known(key) and isinstance(key.value, int):
            try:
                return self.force(base.items[key.value])
            except IndexError:
                pass
        if isinstance(base, SV) and base.known and is_known(key):
            try:
                return SV(base.value[key.value], base.from_, base.env)
            except (TypeError, KeyError, IndexError):
                pass
        return unknown(frame.module, node, env=env_of(base))

    def _eval_Call(self, node: ast.Call, frame: Frame) -> Any:
        func = self.force(self.eval(node.func, frame))
        return self.call(func, node, frame)

    def call(self, func: Any, node: ast.Call, frame: Frame) -> Any:
        if isinstance(func, ExternalRef):
            handler = self.library_calls.get(func.dotted)
            if handler is not None:
                return handler(node, frame)
            return unknown(frame.module, node)
        if isinstance(func, FuncRef):
            return self.call_function(func, node, frame)
        if isinstance(func, ClassRef):
            return self.classes.instantiate(func, node, frame)
        if isinstance(func, MethodRef):
            return self.call_method(func, node, frame)
        if isinstance(func, ConfigRef):
            return self.sources.config_call(func, node, frame)
        if isinstance(func, EnvironRef):
            return self.sources.environ_call(func, None, node, frame)
        return unknown(frame.module, node)

    def arg(self, node: ast.Call, frame: Frame, position: int | None, keyword: str | None) -> Any:
        """The argument at `position` or named `keyword`, evaluated; None when not given."""
        for kw in node.keywords:
            if kw.arg == keyword and keyword is not None:
                return self.force(self.eval(kw.value, frame))
        if (
            position is not None
            and position < len(node.args)
            and not any(isinstance(a, ast.Starred) for a in node.args[: position + 1])
        ):
            return self.force(self.eval(node.args[position], frame))
        return None

    def bind(self, func: FuncRef, node: ast.Call | None, frame: Frame, skip_first: bool = False) -> Frame:
        """A frame for the function's body: its parameters bound to the call's arguments, else their defaults."""
        args = func.node.args
        positional = [*args.posonlyargs, *args.args]
        bindings: dict[str, Any] = {}
        if (skip_first and positional) or (func.bound_self is not None and positional):
            bindings[positional[0].arg] = func.bound_self
            positional = positional[1:]
        defaults = dict(zip([a.arg for a in positional[len(positional) - len(args.defaults) :]], args.defaults))
        defaults.update({a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None})
        names = [a.arg for a in positional] + [a.arg for a in args.kwonlyargs]
        extra_kwargs = DictV({}, frame.module.where(node) if node is not None else None)
        extra_args: list[Any] = []
        opaque_positional = False
        if node is not None:
            for index, value in enumerate(node.args):
                if isinstance(value, ast.Starred):
                    opaque_positional = True
                    break
                if index < len(positional):
                    bindings[positional[index].arg] = Thunk(value, frame)
                else:
                    extra_args.append(Thunk(value, frame))
            for kw in node.keywords:
                if kw.arg is None:
                    spread = self.force(self.eval(kw.value, frame))
                    if isinstance(spread, InstanceRef):
                        spread = DictV(self.classes.instance_fields(spread), None)
                    if isinstance(spread, DictV):
                        for key, value in spread.items.items():
                            if key in names and key not in bindings:
                                bindings[key] = value
                            else:
                                extra_kwargs.items[key] = value
                        extra_kwargs.opaque.extend(spread.opaque)
                    else:
                        extra_kwargs.opaque.append(f"**{frame.module.segment(kw.value)}")
                elif kw.arg in names:
                    bindings[kw.arg] = Thunk(kw.value, frame)
                else:
                    extra_kwargs.items[kw.arg] = Thunk(kw.value, frame)
        inner = Frame(func.module, scope=func.node)
        for name in names:
            if name in bindings:
                continue
            if name in defaults:
                bindings[name] = Thunk(defaults[name], Frame(func.module))
            elif opaque_positional:
                bindings[name] = SV(None, None, known=False, expr="*args")
            else:
                bindings[name] = SV(None, None, known=False, expr=f"{name} (not given)")
        if args.vararg is not None:
            bindings[args.vararg.arg] = ListV(extra_args, None)
        if args.kwarg is not None:
            if node is None:  # no call in the scanned code: whoever calls it may pass anything
                extra_kwargs.opaque.append(f"**{args.kwarg.arg}")
            bindings[args.kwarg.arg] = extra_kwargs
        inner.bindings = bindings
        return inner

    def call_function(self, func: FuncRef, node: ast.Call, frame: Frame) -> Any:
        inner = self.bind(func, node, frame)
        body = returned(func.node)
        if body is None:
            return unknown(frame.module, node)
        return self.force(self.eval(body, inner))

    def call_method(self, method: MethodRef, node: ast.Call, frame: Frame) -> Any:
        base = method.base
        if isinstance(base, SV) and base.known and isinstance(base.value, str) and method.name in STR_METHODS:
            return replace(base, value=getattr(base.value, method.name)())
        if isinstance(base, DictV) and method.name == "get":
            key = self.arg(node, frame, 0, None)
            if is_known(key) and str(key.value) in base.items:
                return self.force(base.items[str(key.value)])
            default = self.arg(node, frame, 1, None)
            return default if default is not None else SV(None, frame.module.where(node))
        if isinstance(base, DictV) and method.name == "copy":
            return DictV(dict(base.items), base.origin, list(base.opaque), base.line, base.end_line, base.file)
        if isinstance(base, EnvironRef):
            return self.sources.environ_call(base, method.name, node, frame)
        return unknown(frame.module, node)

    # --- Python's own calls --------------------------------------------------------------------------

    def python_cast(self, name: str, node: ast.Call, frame: Frame) -> Any:
        if not node.args:
            return SV(CAST_EMPTY[name], frame.module.where(node))
        value = self.force(self.eval(node.args[0], frame))
        if not is_known(value):
            return unknown(frame.module, node, env=env_of(value))
        try:
            if name == "int":
                result: Any = int(value.value) if not isinstance(value.value, str) else int(value.value.strip())
            elif name == "float":
                result = float(value.value)
            elif name == "bool":
                result = bool(value.value)  # Python's own: bool("false") is True, as the app would see it
            else:
                result = str(value.value)
        except (TypeError, ValueError):
            return unknown(frame.module, node, env=value.env)
        return replace(value, value=result)

    def dict_call(self, node: ast.Call, frame: Frame) -> Any:
        """`dict(...)`, `SettingsConfigDict(...)`, `ConfigDict(...)`: its mapping, keyword arguments and `**`, merged."""
        result = DictV(
            {},
            frame.module.where(node),
            line=node.lineno,
            end_line=node.end_lineno or node.lineno,
            file=frame.module.display,
        )
        if node.args:
            self.merge(result, self.eval(node.args[0], frame), frame.module.segment(node.args[0]))
        for kw in node.keywords:
            if kw.arg is None:
                self.merge(result, self.eval(kw.value, frame), frame.module.segment(kw.value))
            else:
                result.items[kw.arg] = Thunk(kw.value, frame)
        return result
