"""Work out, statically, the value an expression has when no environment variable is set.

Each result carries where its value is written (`file:line`) and the variable that would override it.
What cannot be known (a value computed at run time, a required variable with no default) comes back
unknown with its source text: never a guess.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeGuard

from pool_doctor.scan.finder import (
    Assignment,
    FunctionNode,
    Module,
    Project,
    assigned_names,
    dotted_parts,
)
from pool_doctor.scan.model import ScannedValue

MAX_DEPTH = 40  # evaluation depth: deep enough for settings chains, shallow enough to stop at cycles
SV = ScannedValue


# --- what an expression can evaluate to, besides a plain ScannedValue --------------------------------


@dataclass
class DictV:
    items: dict[str, Any]
    origin: str | None
    opaque: list[str] = field(default_factory=list)  # `**x` that could not be read
    line: int = 0
    end_line: int = 0
    file: str | None = None


@dataclass
class ListV:
    items: list[Any]
    origin: str | None


@dataclass(frozen=True)
class ModuleRef:
    module: Module


@dataclass(frozen=True)
class FuncRef:
    module: Module
    node: FunctionNode
    bound_self: Any = None


@dataclass(frozen=True)
class ClassRef:
    module: Module
    node: ast.ClassDef


@dataclass
class InstanceRef:
    cls: ClassRef
    overrides: dict[str, Any]
    env_prefix: str | None = None  # set for a nested model read with env_nested_delimiter


@dataclass(frozen=True)
class ExternalRef:
    """A name from outside the project (a library's class, function or constant): known by name only."""

    dotted: str


@dataclass(frozen=True)
class ConfigRef:
    """Starlette's `Config(".env")` or python-decouple's `config`: call it with a name, default and cast."""

    env_file: Path | None
    module: Module


@dataclass(frozen=True)
class EnvironRef:
    """django-environ's `environ.Env(NAME=(cast, default))`."""

    scheme: dict[str, tuple[str | None, Any]]
    module: Module


@dataclass(frozen=True)
class MethodRef:
    base: Any
    name: str


@dataclass
class Frame:
    module: Module
    bindings: dict[str, Any] = field(default_factory=dict)
    scope: FunctionNode | ast.ClassDef | None = None


@dataclass
class Thunk:
    """An argument not evaluated yet: evaluated in its caller's frame when (if) it is read."""

    node: ast.expr
    frame: Frame
    value: Any = None
    done: bool = False


def unknown(module: Module | None, node: ast.AST | None, env: str | None = None, why: str | None = None) -> SV:
    where = module.where(node) if module is not None and node is not None else None
    expr = why or (module.segment(node) if module is not None and node is not None else None)
    return SV(None, where, env, known=False, expr=expr)


def is_known(value: Any) -> TypeGuard[SV]:
    return isinstance(value, SV) and value.known


# Strings that configuration libraries read as booleans (Starlette, pydantic, django-environ agree on these).
TRUE_WORDS = {"1", "true", "yes", "on", "y", "t"}
FALSE_WORDS = {"0", "false", "no", "off", "n", "f", ""}

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
SETTINGS_BASES = {
    "pydantic_settings.BaseSettings",
    "pydantic.BaseSettings",
    "pydantic.v1.BaseSettings",
    "pydantic_settings.main.BaseSettings",
}
PROPERTY_DECORATORS = {"property", "cached_property", "computed_field"}


class Evaluator:
    def __init__(self, project: Project) -> None:
        self.project = project
        self.depth = 0
        self._env_files: dict[Path, dict[str, tuple[str, str]]] = {}
        self._locals: dict[int, dict[str, list[Assignment]]] = {}

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
                self._merge(result, self.eval(value_node, frame), frame.module.segment(value_node))
                continue
            key = self.eval(key_node, frame)
            if is_known(key) and isinstance(key.value, (str, int)):
                result.items[str(key.value)] = Thunk(value_node, frame)  # read only if asked for
            else:
                result.opaque.append(frame.module.segment(key_node))
        return result

    def _merge(self, into: DictV, value: Any, text: str) -> None:
        value = self.force(value)
        if isinstance(value, DictV):
            into.items.update(value.items)
            into.opaque.extend(value.opaque)
        elif isinstance(value, InstanceRef):
            into.items.update(self.instance_fields(value))
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
            return unknown(frame.module, node, env=_env_of(left, right))
        try:
            result = op(left.value, right.value)
        except Exception:
            return unknown(frame.module, node, env=_env_of(left, right))
        origin = left.from_ if left.env or not right.env else right.from_
        return SV(result, origin, _env_of(left, right))

    def _eval_UnaryOp(self, node: ast.UnaryOp, frame: Frame) -> Any:
        operand = self.force(self.eval(node.operand, frame))
        if not is_known(operand):
            return unknown(frame.module, node, env=_env_of(operand))
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
        env = _env_of(left)
        for op_node, right_node in zip(node.ops, node.comparators):
            right = self.force(self.eval(right_node, frame))
            if isinstance(right, ListV):
                items = [self.force(i) for i in right.items]
                if not all(is_known(i) for i in items):
                    return unknown(frame.module, node, env=env)
                right = SV([i.value for i in items], right.origin)
            env = env or _env_of(right)
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
        return unknown(frame.module, node, env=_env_of(test))

    def _eval_Lambda(self, node: ast.Lambda, frame: Frame) -> Any:
        return SV("<lambda>", frame.module.where(node))

    # --- names ---------------------------------------------------------------------------------------

    def _eval_Name(self, node: ast.Name, frame: Frame) -> Any:
        return self.lookup(node.id, frame, node)

    def lookup(self, name: str, frame: Frame, node: ast.AST) -> Any:
        line = getattr(node, "lineno", 1 << 30)
        if frame.scope is not None:
            assignments = [a for a in self.scope_locals(frame.scope).get(name, []) if a.line < line]
            if assignments:  # a local assigned before this line shadows the parameter of the same name
                return self._from_assignments(assignments, frame, node)
        if name in frame.bindings:
            return self.force(frame.bindings[name])
        return self.global_value(frame.module, name, node)

    def scope_locals(self, scope: FunctionNode | ast.ClassDef) -> dict[str, list[Assignment]]:
        """Names assigned in a function body (or a class body), not in nested functions."""
        cached = self._locals.get(id(scope))
        if cached is not None:
            return cached
        found: dict[str, list[Assignment]] = {}
        todo: list[tuple[ast.AST, tuple[tuple[ast.expr, bool], ...]]] = [(s, ()) for s in scope.body]
        while todo:
            stmt, conditions = todo.pop()
            if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                for target, value in assigned_names(stmt):
                    found.setdefault(target, []).append(Assignment(value, stmt.lineno, conditions))
            elif isinstance(stmt, ast.If):
                todo.extend((s, (*conditions, (stmt.test, True))) for s in stmt.body)
                todo.extend((s, (*conditions, (stmt.test, False))) for s in stmt.orelse)
            elif isinstance(stmt, (ast.With, ast.AsyncWith, ast.For, ast.AsyncFor, ast.While, ast.Try, ast.TryStar)):
                for block in ("body", "orelse", "finalbody"):
                    todo.extend((s, conditions) for s in getattr(stmt, block, []))
                for handler in getattr(stmt, "handlers", []):
                    todo.extend((s, conditions) for s in handler.body)
        for assignments in found.values():
            assignments.sort(key=lambda a: a.line)
        self._locals[id(scope)] = found
        return found

    def _from_assignments(self, assignments: list[Assignment], frame: Frame, node: ast.AST) -> Any:
        """The assignment in effect: the last one whose `if` tests all hold with no environment set."""
        for assignment in reversed(assignments):
            verdict = self.conditions_hold(assignment.conditions, frame)
            if verdict is None:
                return unknown(frame.module, node, why=f"set conditionally at {frame.module.display}:{assignment.line}")
            if verdict:
                return self.force(self.eval(assignment.value, frame))
        return unknown(frame.module, node)

    def conditions_hold(self, conditions: tuple[tuple[ast.expr, bool], ...], frame: Frame) -> bool | None:
        for test, wanted in conditions:
            value = self.force(self.eval(test, frame))
            if not is_known(value):
                return None
            if bool(value.value) != wanted:
                return False
        return True

    def global_value(self, module: Module, name: str, node: ast.AST | None = None, seen: int = 0) -> Any:
        frame = Frame(module)
        if name in module.assigns:
            return self._from_assignments(module.assigns[name], frame, node or module.tree)
        if name in module.functions:
            return FuncRef(module, module.functions[name])
        if name in module.classes:
            return ClassRef(module, module.classes[name])
        target = module.imports.get(name) or module.nested_imports.get(name)
        if target is not None:
            return self.dotted_value(target, module)
        for star in module.star_imports:
            source = self.project.module_by_name(star, module.path)
            if source is not None and source is not module and seen < 5:
                if (
                    name in source.assigns
                    or name in source.functions
                    or name in source.classes
                    or name in source.imports
                ):
                    return self.global_value(source, name, None, seen + 1)
            elif source is None:
                return ExternalRef(f"{star}.{name}")
        if name in BUILTIN_NAMES:
            return ExternalRef(f"builtins.{name}")
        return unknown(module, node) if node is not None else SV(None, None, known=False, expr=name)

    def dotted_value(self, dotted: str, near: Module) -> Any:
        """What `a.b.c` is: a project module, a name inside one, or something outside the project."""
        parts = dotted.split(".")
        if parts[0] in EXTERNAL_ROOTS:
            return ExternalRef(dotted)
        for cut in range(len(parts), 0, -1):
            module = self.project.module_by_name(".".join(parts[:cut]), near.path)
            if module is None:
                continue
            value: Any = ModuleRef(module)
            for attr in parts[cut:]:
                value = self.attribute(value, attr, None, Frame(near))
            return value
        return ExternalRef(dotted)

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
            return self.global_value(module, attr, node)
        if isinstance(base, ExternalRef):
            return ExternalRef(f"{base.dotted}.{attr}")
        if isinstance(base, InstanceRef):
            return self.instance_attribute(base, attr, node, frame)
        if isinstance(base, ClassRef):
            value = self.class_attribute(base, attr)
            if value is not None:
                return value
        if isinstance(base, (SV, DictV, ConfigRef, EnvironRef)):
            return MethodRef(base, attr)
        return unknown(frame.module, node) if node is not None else SV(None, None, known=False, expr=attr)

    def _eval_Subscript(self, node: ast.Subscript, frame: Frame) -> Any:
        base = self.force(self.eval(node.value, frame))
        key = self.force(self.eval(node.slice, frame))
        if isinstance(base, ExternalRef) and base.dotted == "os.environ" and is_known(key):
            return self.env_lookup(str(key.value), None, frame, node)
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
        return unknown(frame.module, node, env=_env_of(base))

    def _eval_Call(self, node: ast.Call, frame: Frame) -> Any:
        func = self.force(self.eval(node.func, frame))
        return self.call(func, node, frame)

    def call(self, func: Any, node: ast.Call, frame: Frame) -> Any:
        if isinstance(func, ExternalRef):
            handler = EXTERNAL_CALLS.get(func.dotted)
            if handler is not None:
                return handler(self, node, frame)
            return unknown(frame.module, node)
        if isinstance(func, FuncRef):
            return self.call_function(func, node, frame)
        if isinstance(func, ClassRef):
            return self.instantiate(func, node, frame)
        if isinstance(func, MethodRef):
            return self.call_method(func, node, frame)
        if isinstance(func, ConfigRef):
            return self.config_call(func, node, frame)
        if isinstance(func, EnvironRef):
            return self.environ_call(func, None, node, frame)
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
                        spread = DictV(self.instance_fields(spread), None)
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
        returned = _returned(func.node)
        if returned is None:
            return unknown(frame.module, node)
        return self.force(self.eval(returned, inner))

    def instantiate(self, cls: ClassRef, node: ast.Call, frame: Frame) -> Any:
        overrides: dict[str, Any] = {}
        for kw in node.keywords:
            if kw.arg is not None:
                overrides[kw.arg] = Thunk(kw.value, frame)
        return InstanceRef(cls, overrides)

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
            return self.environ_call(base, method.name, node, frame)
        return unknown(frame.module, node)

    # --- the environment -----------------------------------------------------------------------------

    def env_files_near(self, module: Module) -> dict[str, tuple[str, str]]:
        """`.env` values beside the code: the nearest `.env` in the module's folder or one above it, up to the
        scan root. Variables: name -> (value, file:line)."""
        directory = module.path.parent
        cached = self._env_files.get(directory)
        if cached is not None:
            return cached
        found: dict[str, tuple[str, str]] = {}
        base = self.project.base
        current = directory
        while True:
            candidate = current / ".env"
            if candidate.is_file():
                found = self.read_env_file(candidate)
                break
            if current == base or base not in current.parents:
                break
            current = current.parent
        self._env_files[directory] = found
        return found

    def read_env_file(self, path: Path) -> dict[str, tuple[str, str]]:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return {}
        shown = self.project.display(path) if self.project.base in path.parents else path.as_posix()
        values: dict[str, tuple[str, str]] = {}
        for number, line in enumerate(text.splitlines()[:5000], 1):
            match = ENV_LINE.match(line)
            if match:
                raw = match.group(2).strip()
                if raw[:1] in ("'", '"') and raw.endswith(raw[:1]) and len(raw) >= 2:
                    raw = raw[1:-1]
                else:
                    raw = raw.split(" #", 1)[0].strip()
                values[match.group(1)] = (raw, f"{shown}:{number}")
        return values

    def env_file_for(self, module: Module, name: Any) -> Path | None:
        """A configured env file (`env_file=".env"`): looked for beside the module, then up to the scan root."""
        if not isinstance(name, str) or not name:
            return None
        current = module.path.parent
        while True:
            candidate = current / name
            if candidate.is_file():
                return candidate
            if current == self.project.base or self.project.base not in current.parents:
                return None
            current = current.parent

    def env_lookup(
        self,
        name: str,
        default: Any,
        frame: Frame,
        node: ast.AST,
        file_values: dict[str, tuple[str, str]] | None = None,
    ) -> Any:
        values = self.env_files_near(frame.module) if file_values is None else file_values
        if name in values:
            raw, where = values[name]
            return SV(raw, where, name)
        if default is None:  # os.environ["X"] with X unset raises: nothing is in effect
            return unknown(frame.module, node, env=name, why=f"${name} (required, no default)")
        default = self.force(default)
        if isinstance(default, SV):
            return replace(default, env=name)
        return default

    def config_call(self, config: ConfigRef, node: ast.Call, frame: Frame) -> Any:
        """Starlette `config("KEY", cast=int, default=5)` / decouple `config("KEY", default=5, cast=int)`."""
        key = self.arg(node, frame, 0, "key")
        if key is None:
            key = self.arg(node, frame, 0, "option")
        if not is_known(key):
            return unknown(frame.module, node)
        cast = self._cast_name(node, frame, 1, "cast")
        default_node = _keyword(node, "default")
        if default_node is None and len(node.args) > 2:
            default_node = node.args[2]
        values = (
            self.read_env_file(config.env_file) if config.env_file is not None else self.env_files_near(config.module)
        )
        default = Thunk(default_node, frame) if default_node is not None else None
        value = self.env_lookup(str(key.value), default, frame, node, values)
        return config_cast(cast, value, frame.module, node)

    def environ_call(self, env: EnvironRef, method: str | None, node: ast.Call, frame: Frame) -> Any:
        """django-environ: `env("X", default=...)`, `env.int("X", default=5)`, `env.db("DATABASE_URL")`."""
        var_default = "DATABASE_URL" if method in ("db", "db_url") else None
        key = self.arg(node, frame, 0, "var")
        name = str(key.value) if is_known(key) else var_default
        if name is None:
            return unknown(frame.module, node)
        cast = method if method in ("int", "float", "bool", "str", "json", "list", "dict") else None
        default_node = _keyword(node, "default")
        if default_node is None and len(node.args) > (2 if method is None else 1):
            default_node = node.args[2 if method is None else 1]
        if method is None:
            cast = self._cast_name(node, frame, 1, "cast")
        scheme_cast, scheme_default = env.scheme.get(name, (None, None))
        cast = cast or scheme_cast
        if default_node is not None:
            default: Any = Thunk(default_node, frame)
        elif name in env.scheme:
            default = scheme_default
        else:
            default = None
        value = self.env_lookup(name, default, frame, node, self.env_files_near(env.module))
        if method in ("db", "db_url"):
            return self.database_dict(value, frame, node, {})
        return config_cast(cast, value, frame.module, node)

    def _cast_name(self, node: ast.Call, frame: Frame, position: int, keyword: str) -> str | None:
        cast_node = _keyword(node, keyword)
        if cast_node is None and position < len(node.args):
            cast_node = node.args[position]
        if cast_node is None:
            return None
        cast = self.force(self.eval(cast_node, frame))
        if isinstance(cast, ExternalRef):
            return cast.dotted.rsplit(".", 1)[-1]
        return None

    # --- settings classes ----------------------------------------------------------------------------

    def class_bases(self, cls: ClassRef) -> list[Any]:
        bases = []
        for base in cls.node.bases:
            bases.append(self.force(self.eval(base, Frame(cls.module))))
        return bases

    def is_settings(self, cls: ClassRef, seen: int = 0) -> bool:
        for base in self.class_bases(cls):
            if isinstance(base, ExternalRef) and base.dotted in SETTINGS_BASES:
                return True
            if isinstance(base, ClassRef) and seen < 8 and self.is_settings(base, seen + 1):
                return True
        return False

    def class_chain(self, cls: ClassRef, seen: int = 0) -> list[ClassRef]:
        """The class and its project base classes, most derived first."""
        chain = [cls]
        if seen < 8:
            for base in self.class_bases(cls):
                if isinstance(base, ClassRef):
                    chain.extend(self.class_chain(base, seen + 1))
        return chain

    def settings_config(self, cls: ClassRef) -> dict[str, Any]:
        """model_config = SettingsConfigDict(...) / dict(...), or pydantic v1's inner `class Config`."""
        config: dict[str, Any] = {}
        for klass in reversed(self.class_chain(cls)):
            frame = Frame(klass.module, scope=klass.node)
            for stmt in klass.node.body:
                for name, value in assigned_names(stmt):
                    if name == "model_config":
                        evaluated = self.force(self.eval(value, frame))
                        if isinstance(evaluated, DictV):
                            for key, item in evaluated.items.items():
                                config[key] = self.force(item)
                if isinstance(stmt, ast.ClassDef) and stmt.name == "Config":
                    for inner in stmt.body:
                        for name, value in assigned_names(inner):
                            config[name] = self.force(self.eval(value, frame))
        return config

    def class_attribute(self, cls: ClassRef, attr: str) -> Any:
        for klass in self.class_chain(cls):
            assignments = self.scope_locals(klass.node).get(attr)
            if assignments:
                return self._from_assignments(assignments, Frame(klass.module, scope=klass.node), klass.node)
            for stmt in klass.node.body:
                if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == attr:
                    return FuncRef(klass.module, stmt)
        return None

    def fields(self, cls: ClassRef) -> dict[str, tuple[ClassRef, ast.stmt]]:
        found: dict[str, tuple[ClassRef, ast.stmt]] = {}
        for klass in reversed(self.class_chain(cls)):
            for stmt in klass.node.body:
                if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                    found[stmt.target.id] = (klass, stmt)
                elif isinstance(stmt, ast.Assign):
                    for target in stmt.targets:
                        if (
                            isinstance(target, ast.Name)
                            and target.id != "model_config"
                            and not target.id.startswith("_")
                        ):
                            found[target.id] = (klass, stmt)
        return found

    def instance_fields(self, instance: InstanceRef) -> dict[str, Any]:
        return {
            name: self.instance_attribute(instance, name, None, Frame(instance.cls.module))
            for name in self.fields(instance.cls)
        }

    def instance_attribute(self, instance: InstanceRef, attr: str, node: ast.AST | None, frame: Frame) -> Any:
        cls = instance.cls
        fields = self.fields(cls)
        if attr in fields:
            return self.field_value(instance, attr, *fields[attr])
        for klass in self.class_chain(cls):
            for stmt in klass.node.body:
                if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == attr:
                    ref = FuncRef(klass.module, stmt, bound_self=instance)
                    decorators = {(dotted_parts(d) or [""])[-1] for d in stmt.decorator_list}
                    if decorators & PROPERTY_DECORATORS:
                        returned = _returned(stmt)
                        if returned is None:
                            return unknown(klass.module, stmt)
                        return self.force(self.eval(returned, self.bind(ref, None, Frame(klass.module))))
                    return ref
        return unknown(frame.module, node) if node is not None else SV(None, None, known=False, expr=attr)

    def field_value(self, instance: InstanceRef, name: str, klass: ClassRef, stmt: ast.stmt) -> Any:
        frame = Frame(klass.module, scope=klass.node)
        value_node = stmt.value if isinstance(stmt, (ast.Assign, ast.AnnAssign)) else None
        annotation = stmt.annotation if isinstance(stmt, ast.AnnAssign) else None
        env_name: str | None = None
        default: Any = None
        explicit_env: str | None = None
        if isinstance(value_node, ast.Call) and (dotted_parts(value_node.func) or [""])[-1] == "Field":
            default_node = value_node.args[0] if value_node.args else _keyword(value_node, "default")
            if default_node is not None and not (
                isinstance(default_node, ast.Constant) and default_node.value is Ellipsis
            ):
                default = Thunk(default_node, frame)
            for key in ("validation_alias", "alias", "env"):
                alias_node = _keyword(value_node, key)
                if alias_node is not None:
                    alias = self.force(self.eval(alias_node, frame))
                    if is_known(alias) and isinstance(alias.value, str):
                        explicit_env = alias.value
                    elif isinstance(alias, ListV) and alias.items and is_known(self.force(alias.items[0])):
                        explicit_env = str(self.force(alias.items[0]).value)
                    break
                if key == "validation_alias" and alias_node is None:
                    continue
        elif value_node is not None:
            default = Thunk(value_node, frame)
        if name in instance.overrides:
            return self.force(instance.overrides[name])
        settings = self.is_settings(klass) or self.is_settings(instance.cls)
        if settings or instance.env_prefix is not None:
            config = self.settings_config(instance.cls)
            prefix_value = config.get("env_prefix")
            prefix = (
                instance.env_prefix
                if instance.env_prefix is not None
                else (str(prefix_value.value) if is_known(prefix_value) and prefix_value.value else "")
            )
            case_value = config.get("case_sensitive")
            case_sensitive = is_known(case_value) and bool(case_value.value)
            env_name = explicit_env or f"{prefix}{name}"
            if not case_sensitive:
                env_name = env_name.upper()
            nested = self._nested_model(annotation, klass)
            if nested is not None:
                delimiter = config.get("env_nested_delimiter")
                sub_prefix = f"{env_name}{delimiter.value}" if is_known(delimiter) and delimiter.value else None
                return InstanceRef(nested, {}, env_prefix=sub_prefix)
            file_values = self._settings_env_values(instance.cls, config)
            found = self._env_case(file_values, env_name, case_sensitive)
            if found is not None:
                raw, where = found
                return config_cast(_annotation_cast(annotation), SV(raw, where, env_name), klass.module, stmt)
            if default is None:
                return unknown(klass.module, stmt, env=env_name, why=f"${env_name} (required, no default)")
            value = self.force(default)
            return replace(value, env=env_name) if isinstance(value, SV) else value
        if default is None:
            nested = self._nested_model(annotation, klass)
            if nested is not None:
                return InstanceRef(nested, {})
            return unknown(klass.module, stmt)
        return self.force(default)

    def _settings_env_values(self, cls: ClassRef, config: dict[str, Any]) -> dict[str, tuple[str, str]]:
        env_file = config.get("env_file")
        names: list[str] = []
        if is_known(env_file) and isinstance(env_file.value, str):
            names = [env_file.value]
        elif isinstance(env_file, ListV):
            names = [str(v.value) for v in map(self.force, env_file.items) if is_known(v)]
        values: dict[str, tuple[str, str]] = {}
        for name in names:  # later files win, as in pydantic-settings
            path = self.env_file_for(cls.module, name)
            if path is not None:
                values.update(self.read_env_file(path))
        return values

    @staticmethod
    def _env_case(values: dict[str, tuple[str, str]], name: str, case_sensitive: bool) -> tuple[str, str] | None:
        if name in values:
            return values[name]
        if not case_sensitive:
            for key, value in values.items():
                if key.upper() == name.upper():
                    return value
        return None

    def _nested_model(self, annotation: ast.expr | None, klass: ClassRef) -> ClassRef | None:
        if annotation is None:
            return None
        value = self.force(self.eval(annotation, Frame(klass.module)))
        if isinstance(value, ClassRef) and self.fields(value):
            return value
        return None

    # --- Django database dicts -----------------------------------------------------------------------

    def database_dict(self, url: Any, frame: Frame, node: ast.AST, extra: dict[str, Any]) -> DictV:
        """What dj_database_url.parse / environ's env.db return: Django's per-database dict, from a URL."""
        from urllib.parse import parse_qsl, urlsplit

        origin = url.from_ if isinstance(url, SV) else frame.module.where(node)
        env = url.env if isinstance(url, SV) else None
        result = DictV(
            {},
            frame.module.where(node),
            line=getattr(node, "lineno", 0),
            end_line=getattr(node, "end_lineno", 0) or 0,
            file=frame.module.display,
        )
        if is_known(url) and isinstance(url.value, str):
            try:
                parts = urlsplit(url.value)
                port = parts.port
            except ValueError:
                parts, port = None, None
            if parts is not None:
                engine = DJANGO_ENGINES.get(parts.scheme.split("+")[0])
                if engine:
                    result.items["ENGINE"] = SV(engine, origin, env)
                result.items["NAME"] = SV(parts.path.lstrip("/"), origin, env)
                if parts.username:
                    result.items["USER"] = SV(parts.username, origin, env)
                if parts.password:
                    result.items["PASSWORD"] = SV("***", origin, env)
                result.items["HOST"] = SV(parts.hostname or "", origin, env)
                result.items["PORT"] = SV(port if port is not None else "", origin, env)
                for key, value in parse_qsl(parts.query):
                    result.items[f"OPTIONS.{key}"] = SV(value, origin, env)
        else:
            for key in ("ENGINE", "NAME", "HOST", "PORT"):
                result.items[key] = unknown(frame.module, node, env=env, why=url.expr if isinstance(url, SV) else None)
        result.items.update(extra)
        return result


ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")
DJANGO_ENGINES = {
    "postgres": "django.db.backends.postgresql",
    "postgresql": "django.db.backends.postgresql",
    "pgsql": "django.db.backends.postgresql",
    "postgis": "django.contrib.gis.db.backends.postgis",
    "sqlite": "django.db.backends.sqlite3",
    "mysql": "django.db.backends.mysql",
}
EXTERNAL_ROOTS = {
    "os",
    "sys",
    "sqlalchemy",
    "sqlmodel",
    "asyncpg",
    "psycopg",
    "psycopg_pool",
    "psycopg2",
    "pydantic",
    "pydantic_settings",
    "starlette",
    "decouple",
    "environ",
    "dj_database_url",
    "django",
    "flask",
    "flask_sqlalchemy",
    "functools",
    "typing",
    "dotenv",
    "builtins",
}
BUILTIN_NAMES = {"int", "float", "str", "bool", "dict", "list", "tuple", "len", "print", "max", "min", "round"}


def _env_of(*values: Any) -> str | None:
    for value in values:
        if isinstance(value, SV) and value.env:
            return value.env
    return None


def _keyword(node: ast.Call, name: str) -> ast.expr | None:
    for kw in node.keywords:
        if kw.arg == name:
            return kw.value
    return None


def _returned(func: FunctionNode) -> ast.expr | None:
    """The expression a simple function returns: its last top-level `return`, else its only one."""
    for stmt in reversed(func.body):
        if isinstance(stmt, ast.Return):
            return stmt.value
    returns = [n for n in ast.walk(func) if isinstance(n, ast.Return)]
    return returns[0].value if len(returns) == 1 else None


def _annotation_cast(annotation: ast.expr | None) -> str | None:
    if annotation is None:
        return None
    text = ast.unparse(annotation)
    for name in ("bool", "float", "int"):
        if re.search(rf"\b{name}\b", text):
            return name
    return None


def config_cast(cast: str | None, value: Any, module: Module, node: ast.AST) -> Any:
    """What a configuration library's cast makes of a value: "5" -> 5, "false" -> False, as they read it."""
    if cast is None or not isinstance(value, SV) or not value.known:
        return value
    raw = value.value
    try:
        if cast == "bool":
            if isinstance(raw, str):
                word = raw.strip().lower()
                if word in TRUE_WORDS:
                    return replace(value, value=True)
                if word in FALSE_WORDS:
                    return replace(value, value=False)
                return unknown(module, node, env=value.env)
            return replace(value, value=bool(raw))
        if cast == "int":
            return replace(value, value=int(raw))
        if cast == "float":
            return replace(value, value=float(raw))
        if cast == "str":
            return replace(value, value=str(raw))
    except (TypeError, ValueError):
        return unknown(module, node, env=value.env)
    return value


def python_cast(name: str) -> Callable[[Evaluator, ast.Call, Frame], Any]:
    def handler(ev: Evaluator, node: ast.Call, frame: Frame) -> Any:
        if not node.args:
            return SV({"int": 0, "float": 0.0, "str": "", "bool": False}[name], frame.module.where(node))
        value = ev.force(ev.eval(node.args[0], frame))
        if not is_known(value):
            return unknown(frame.module, node, env=_env_of(value))
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

    return handler


def _getenv(ev: Evaluator, node: ast.Call, frame: Frame) -> Any:
    key = ev.arg(node, frame, 0, "key")
    if not is_known(key):
        return unknown(frame.module, node)
    default_node = node.args[1] if len(node.args) > 1 else _keyword(node, "default")
    default: Any = Thunk(default_node, frame) if default_node is not None else SV(None, frame.module.where(node))
    return ev.env_lookup(str(key.value), default, frame, node)


def _dict_call(ev: Evaluator, node: ast.Call, frame: Frame) -> Any:
    result = DictV(
        {},
        frame.module.where(node),
        line=node.lineno,
        end_line=node.end_lineno or node.lineno,
        file=frame.module.display,
    )
    if node.args:
        ev._merge(result, ev.eval(node.args[0], frame), frame.module.segment(node.args[0]))
    for kw in node.keywords:
        if kw.arg is None:
            ev._merge(result, ev.eval(kw.value, frame), frame.module.segment(kw.value))
        else:
            result.items[kw.arg] = Thunk(kw.value, frame)
    return result


def _starlette_config(ev: Evaluator, node: ast.Call, frame: Frame) -> Any:
    name = ev.arg(node, frame, 0, "env_file")
    path = ev.env_file_for(frame.module, str(name.value)) if is_known(name) and name.value else None
    return ConfigRef(path, frame.module)


def _decouple_config(ev: Evaluator, node: ast.Call, frame: Frame) -> Any:
    return ev.config_call(ConfigRef(None, frame.module), node, frame)


def _environ_env(ev: Evaluator, node: ast.Call, frame: Frame) -> Any:
    scheme: dict[str, tuple[str | None, Any]] = {}
    for kw in node.keywords:
        if kw.arg is None:
            continue
        value = ev.force(ev.eval(kw.value, frame))
        if isinstance(value, ListV) and len(value.items) >= 2:
            cast = ev.force(value.items[0])
            scheme[kw.arg] = (cast.dotted.rsplit(".", 1)[-1] if isinstance(cast, ExternalRef) else None, value.items[1])
        elif isinstance(value, ExternalRef):
            scheme[kw.arg] = (value.dotted.rsplit(".", 1)[-1], None)
    return EnvironRef(scheme, frame.module)


def _dj_database_url(kind: str) -> Callable[[Evaluator, ast.Call, Frame], Any]:
    def handler(ev: Evaluator, node: ast.Call, frame: Frame) -> Any:
        if kind == "parse":
            url = ev.arg(node, frame, 0, "url")
        else:
            env_name = ev.arg(node, frame, 0, "env")
            name = str(env_name.value) if is_known(env_name) else "DATABASE_URL"
            default_node = _keyword(node, "default")
            if default_node is None and len(node.args) > 1:
                default_node = node.args[1]
            url = ev.env_lookup(
                name,
                Thunk(default_node, frame) if default_node is not None else SV(None, frame.module.where(node)),
                frame,
                node,
            )
        where = frame.module.where(node)
        extra: dict[str, Any] = {}
        for key, django_key, default in (
            ("conn_max_age", "CONN_MAX_AGE", 0),
            ("conn_health_checks", "CONN_HEALTH_CHECKS", False),
        ):
            given = ev.arg(node, frame, None, key)
            extra[django_key] = given if given is not None else SV(default, where)
        ssl = ev.arg(node, frame, None, "ssl_require")
        if is_known(ssl) and ssl.value:
            extra["OPTIONS.sslmode"] = SV("require", ssl.from_, ssl.env)
        return ev.database_dict(url, frame, node, extra)

    return handler


EXTERNAL_CALLS: dict[str, Callable[[Evaluator, ast.Call, Frame], Any]] = {
    "os.getenv": _getenv,
    "os.environ.get": _getenv,
    "os.environ.setdefault": _getenv,
    "builtins.int": python_cast("int"),
    "builtins.float": python_cast("float"),
    "builtins.bool": python_cast("bool"),
    "builtins.str": python_cast("str"),
    "builtins.dict": _dict_call,
    "pydantic_settings.SettingsConfigDict": _dict_call,
    "pydantic.ConfigDict": _dict_call,
    "starlette.config.Config": _starlette_config,
    "decouple.config": _decouple_config,
    "environ.Env": _environ_env,
    "dj_database_url.config": _dj_database_url("config"),
    "dj_database_url.parse": _dj_database_url("parse"),
}


def flatten(
    value: Any, evaluator: Evaluator, prefix: str = "", unresolved: list[str] | None = None, depth: int = 0
) -> dict[str, SV]:
    """A settings value as dotted keys (`connect_args.command_timeout`); unreadable `**x` go to unresolved."""
    value = evaluator.force(value)
    out: dict[str, SV] = {}
    if isinstance(value, DictV) and depth < 6:
        for key, item in value.items.items():
            out.update(flatten(item, evaluator, f"{prefix}.{key}" if prefix else key, unresolved, depth + 1))
        if unresolved is not None:
            unresolved.extend(f"{prefix}: {text}" if prefix else text for text in value.opaque)
        if not value.items and not value.opaque and prefix:
            out[prefix] = SV({}, value.origin)
        return out
    if isinstance(value, InstanceRef) and depth < 6:
        return flatten(DictV(evaluator.instance_fields(value), None), evaluator, prefix, unresolved, depth + 1)
    out[prefix] = leaf(value, evaluator)
    return out


def leaf(value: Any, evaluator: Evaluator) -> SV:
    value = evaluator.force(value)
    if isinstance(value, SV):
        return value
    if isinstance(value, ExternalRef):
        return SV(value.dotted, None)
    if isinstance(value, FuncRef):
        return SV(f"{value.module.name}.{value.node.name}", value.module.where(value.node))
    if isinstance(value, ClassRef):
        return SV(f"{value.module.name}.{value.node.name}", value.module.where(value.node))
    if isinstance(value, ListV):
        items = [leaf(i, evaluator) for i in value.items]
        if all(i.known for i in items):
            return SV([i.value for i in items], value.origin, _env_of(*items))
        return SV(None, value.origin, _env_of(*items), known=False, expr="[...]")
    return SV(None, None, known=False, expr=type(value).__name__)
