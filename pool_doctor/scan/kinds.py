"""What an expression can evaluate to, besides a plain ScannedValue, and what the evaluation's parts ask of it.

The interpreter (`expressions.Evaluator`) and its parts (scopes, the environment, settings classes, config
sources) all speak these kinds; the parts reach the interpreter through the `Interpreter` protocol below.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeGuard

from pool_doctor.scan.conditions import Conditions
from pool_doctor.scan.finder import FunctionNode, Module, Project
from pool_doctor.scan.model import NOT_SET, ScannedValue

MAX_DEPTH = 40  # evaluation depth: deep enough for settings chains, shallow enough to stop at cycles
# Expressions worked out for one module's step: the most any of 110 real projects took is 800,000 (cognee's code
# retriever, 15 s); a module past this (a branchy script whose values the scan keeps splitting) is skipped, with
# a warning, so that the scan ends
MAX_STEPS = 2_000_000


class TooCostly(Exception):
    """One module's step took more than MAX_STEPS expressions."""


class Budget:
    """The expressions one module's step has worked out (Project.fresh_budget starts each step's)."""

    def __init__(self) -> None:
        self.steps = 0

    def spend(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise TooCostly(f"more than {MAX_STEPS:,} expressions")


SV = ScannedValue


@dataclass
class DictV:
    items: dict[str, Any]
    origin: str | None
    opaque: list[str] = field(default_factory=list)  # `**x` that could not be read
    line: int = 0
    end_line: int = 0
    file: str | None = None
    # keys the dict lacks that a set environment variable would give it, by that variable: on the side of a
    # test of the variable no variable set takes (`if config("PG_TIMEOUT", cast=int, default=0) > 0:` then
    # `d["options"] = ...`), options is not set and PG_TIMEOUT is what sets it
    unset_by: dict[str, str] = field(default_factory=dict)
    # `dj_database_url.config()` with no default: `{}` unless the variable is set (the variable, its test's text)
    empty_unless: tuple[str, str] | None = None
    # its opaque part is a function's `**kwargs` no call in the scanned code gives: a key it lacks, asked for with
    # a default (`config.get("max_pool_conns", 10)`), is that default, as an ungiven parameter is its own
    ungiven: bool = False


@dataclass
class ListV:
    items: list[Any]
    origin: str | None


@dataclass(frozen=True)
class ModuleRef:
    module: Module
    namespace: bool = False  # `globals()` (a module's `locals()`, `vars()`): its names, read with dict's methods


@dataclass(frozen=True)
class FuncRef:
    module: Module
    node: FunctionNode | ast.Lambda
    bound_self: Any = None
    closure: Frame | None = None  # the enclosing function's locals, for a function defined inside one
    owner: ClassRef | None = None  # the class a method is defined in (what `super()` starts after)


@dataclass(frozen=True)
class ClassRef:
    module: Module
    node: ast.ClassDef


@dataclass(eq=False)
class InstanceRef:
    cls: ClassRef
    overrides: dict[str, Any]
    env_prefix: str | None = None  # set for a nested model read with env_nested_delimiter
    call: ast.Call | None = None  # the call that made it, and the frame it sits in (its __init__'s arguments)
    frame: Frame | None = None
    attrs: dict[str, Any] | None = None  # what its __init__ sets on self, once run
    root: ClassRef | None = None  # a nested model's settings class, whose env files and case it reads with
    nested_at: tuple[str, ...] = ()  # and the field names it sits at from there (`("database",)`)
    parser: Any = None  # a project ConfigParser subclass's instance: what ConfigParser itself holds (files read)
    given: str | None = None  # a parameter typed with the class that nothing the scan sees gives: its name
    items: DictV | None = None  # a dict subclass's own items, once the code set some (held_items)
    any_subclass: bool = False  # a method's `self` that may be a subclass's instance: what one sets wins


@dataclass(frozen=True)
class ExternalRef:
    """A name from outside the project (a library's class, function or constant): known by name only (and,
    once read from where the code writes it, that place)."""

    dotted: str
    where: str | None = field(default=None, compare=False)


# Libraries' constants the code names (each as the library's source has it): Django's `DEFAULT_DB_ALIAS`
# (django/db/utils.py, re-exported by django.db), dj-database-url 2.x's `DEFAULT_ENV` (the variable config() reads)
LIBRARY_CONSTANTS = {
    "django.db.DEFAULT_DB_ALIAS": "default",
    "django.db.utils.DEFAULT_DB_ALIAS": "default",
    "dj_database_url.DEFAULT_ENV": "DATABASE_URL",
    # the standard library's path constants, as posixpath has them (the scan reads paths as POSIX ones)
    **{
        f"{where}.{name}": value
        for where in ("os", "os.path", "posixpath")
        for name, value in (("pardir", ".."), ("curdir", "."), ("sep", "/"))
    },
}


def external(dotted: str, where: str | None = None) -> Any:
    """A name from outside the project: the constant's value where it is one the scan knows, else a reference."""
    if dotted in LIBRARY_CONSTANTS:
        return ScannedValue(LIBRARY_CONSTANTS[dotted], where, source=dotted)
    return ExternalRef(dotted)


@dataclass(frozen=True)
class MethodRef:
    base: Any
    name: str


@dataclass(eq=False)
class Frame:
    module: Module
    bindings: dict[str, Any] = field(default_factory=dict)
    scope: FunctionNode | ast.ClassDef | ast.Lambda | None = None
    # True: `bindings` are the function's locals at this point of its body, as its statements left them
    # (scan/flow.py), so a local not among them is not set yet; False: a function's parameters only.
    flow: bool = False
    outer: Frame | None = None  # the enclosing function's frame, for a function defined inside one


@dataclass
class Branches:
    """A value that depends on a test: each possible value with the test it holds under, as source text
    (`settings.DEBUG`, `not (settings.DEBUG)`). `default` is the option in effect when no environment variable
    is set, for a test the environment decides; None for a test the scan cannot decide at all."""

    options: list[tuple[str, Any]]
    settled: bool = False  # containers.settle has put it in canonical form
    default: int | None = None
    # what settling it gave, once worked out (a value read again and again, as each block of a branchy script
    # reads the one before it, was settled again each time: exponential in the blocks)
    as_settled: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class SuperRef:
    """`super()` in a method of `owner`, for the instance (or class) `bound`."""

    owner: ClassRef
    bound: Any


@dataclass(frozen=True)
class PropertyV:
    """`property(fget)` made by a call (Langchain-Chatchat's `settings_property(KBSettings())`): read through an
    instance, what `fget(instance)` returns."""

    getter: Any


@dataclass(frozen=True)
class PartialRef:
    """`functools.partial(func, *args, **keywords)`: a callable with some arguments given."""

    func: Any
    args: tuple[Any, ...]
    keywords: dict[str, Any]


@dataclass(frozen=True)
class PoolV:
    """What a library's pool-creating call returns (an engine, a pool): an object, true in a test (none of them
    defines `__bool__` or `__len__`), nothing else known about it."""

    dotted: str


@dataclass(eq=False)
class HolderV:
    """A library object whose parts the scan knows: what some attributes hold (`attrs`), and what some methods
    return, as the path of attributes they read (`returns`). Pyramid's Configurator holds its registry, whose
    `settings` are what the Configurator was made with; `config.get_settings()` reads `registry.settings`.
    Anything else of it is unknown; in a test it is true."""

    dotted: str
    attrs: dict[str, Any] = field(default_factory=dict)
    returns: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class ValidationInfoV:
    """pydantic's ValidationInfo as a validator is given it: `info.data`, the fields validated before."""

    data: DictV


@dataclass
class Thunk:
    """An argument not evaluated yet: evaluated in its caller's frame when (if) it is read (or, with `compute`,
    worked out by it: an import a module's statements leave unread until a name is asked for)."""

    node: ast.expr
    frame: Frame
    value: Any = None
    done: bool = False
    compute: Callable[[], Any] | None = None


class Locals(Protocol):
    """scan/flow.py's Flow, as the parts that read a function's statements ask it."""

    def frame_at(self, scope: FunctionNode | ast.ClassDef, frame: Frame, target: ast.AST) -> Frame: ...


class Variables(Protocol):
    """scan/environment.py's Environment, as a copy of `os.environ` (envkeys) asks it: a variable's value."""

    def lookup(self, name: str, default: Any, frame: Frame, node: ast.AST) -> Any: ...


class Interpreter(Protocol):
    """What scopes, the environment, settings classes and config sources ask of the expression interpreter.

    `expressions.Evaluator` is the one implementation; a protocol, so its parts call back into it without
    importing the module that composes them.
    """

    conditions: Conditions  # the scan's branch conditions: where each test came from, what each text means
    project: Project  # the scanned tree's modules

    @property
    def flow(self) -> Locals: ...  # the locals each statement of a function sees

    @property
    def environment(self) -> Variables: ...  # the variables' values where the code reads them

    def eval(self, node: ast.expr | None, frame: Frame) -> Any: ...

    def force(self, value: Any) -> Any: ...

    def attribute(self, base: Any, attr: str, node: ast.AST | None, frame: Frame) -> Any: ...

    def arg(self, node: ast.Call, frame: Frame, position: int | None, keyword: str | None) -> Any: ...

    def bind(self, func: FuncRef, node: ast.Call | None, frame: Frame, skip_first: bool = False) -> Frame: ...

    def merge(self, into: DictV, value: Any, text: str) -> None: ...

    def truth_of_ref(self, value: Any) -> bool | None: ...

    def augment(self, current: Any, op: ast.operator, value: Any, node: ast.AST, module: Module) -> Any: ...

    def entered(self, value: Any) -> Any: ...

    def imported(
        self, module: Module, node: ast.Import | ast.ImportFrom, lazy: bool = False
    ) -> list[tuple[str, Any]]: ...

    def library_effect(self, dotted: str, state: dict[str, Any], call: ast.Call, frame: Frame) -> dict[str, Any]: ...

    def class_chain(self, cls: ClassRef, seen: int = 0) -> list[ClassRef]: ...

    def mutator(self, method: str) -> bool: ...

    def mutated(self, base: Any, method: str, call: ast.Call, frame: Frame) -> Any: ...

    def call_function(self, func: FuncRef, node: ast.Call | None, frame: Frame) -> Any: ...

    def call_bound(self, func: FuncRef, frame: Frame) -> Any: ...

    def body_state(self, module: Module, scope: ast.Module | ast.ClassDef) -> dict[str, Any] | None: ...

    def local_names(self, scope: FunctionNode | ast.ClassDef | ast.Lambda) -> set[str]: ...

    def assumes_set(self, module: Module, variable: str) -> bool: ...

    def locals_after(self, func: FuncRef, node: ast.Call | None, frame: Frame) -> dict[str, Any]: ...

    def bound_locals(self, func: FuncRef, frame: Frame) -> dict[str, Any]: ...

    def returned_with(self, func: FuncRef, name: str, before: Any) -> Any: ...

    def frame_in(self, module: Module, func: FunctionNode | ast.Lambda, target: ast.AST) -> Frame: ...

    def dict_call(self, node: ast.Call, frame: Frame) -> Any: ...

    def with_attribute(self, holder: Any, attr: str, value: Any) -> Any: ...

    def held_items(self, value: Any) -> DictV | None: ...  # a project dict subclass's items; None for anything else


def unknown(module: Module | None, node: ast.AST | None, env: str | None = None, why: str | None = None) -> SV:
    where = module.where(node) if module is not None and node is not None else None
    expr = why or (module.segment(node) if module is not None and node is not None else None)
    return SV(None, where, env, known=False, expr=expr)


def not_set(env: str | None = None) -> SV:
    """What a path that does not set a name (or a dict key) leaves there; `env`, the variable that would set it."""
    return SV(None, None, env, known=False, expr=NOT_SET)


def unset_as(value: Any, given: Any) -> Any:
    """`value` where every path that leaves it unset has `given` instead (an ini not in the tree may set it;
    `app.config.setdefault(KEY, given)` after a write only some paths make)."""
    if isinstance(value, SV) and not value.known and value.expr == NOT_SET:
        return given
    if isinstance(value, Branches):
        sides = [when for when, _ in value.options]
        if isinstance(given, Branches) and [when for when, _ in given.options] == sides:  # the same test's sides
            paired = [
                (when, unset_as(option, below)) for (when, option), (_, below) in zip(value.options, given.options)
            ]
            return Branches(paired, default=value.default)  # (a dict made from the one below, on each side)
        return Branches([(when, unset_as(option, given)) for when, option in value.options], default=value.default)
    return value


def over(ev: Interpreter, value: Any, below: Any) -> Any:
    """`value` over what was there before, `below`, wherever a path leaves it unset (a branch of it, or all of
    it): a key merged over a dict's (`d.update(e)`, `{**d, **e}`: byceps' `data.update(from_environment())`, whose
    key only a set variable adds), a name a star import sets under a test; worked out when read, for a Thunk."""
    if isinstance(value, Thunk):
        return Thunk(value.node, value.frame, compute=lambda: unset_as(ev.force(value), ev.force(below)))
    unset = isinstance(value, Branches) or (isinstance(value, SV) and value.expr == NOT_SET)
    return unset_as(ev.force(value), ev.force(below)) if unset else value


def is_known(value: Any) -> TypeGuard[SV]:
    return isinstance(value, SV) and value.known


def unset_variable(value: Any) -> TypeGuard[SV]:
    """A variable's value where it is not set and the code gives no default (`os.getenv("HOST")`): None, which
    written into a text is "None", a host no deployment means (emergency-alerts-api's, szurubooru's URLs)."""
    return is_known(value) and value.value is None and bool(value.env)


def assumed_set(name: str) -> str:
    """The binding that says, on one side of a test the environment decides, that variable `name` is set there
    (`if os.getenv("X"):`): a read of it on that side is the variable's value, not the default. Never a name
    the code can use."""
    return f"$set {name}"


def env_of(*values: Any) -> str | None:
    for value in values:
        if isinstance(value, SV) and value.env:
            return value.env
    return None


def keyword(node: ast.Call, name: str) -> ast.expr | None:
    for kw in node.keywords:
        if kw.arg == name:
            return kw.value
    return None


def positional(ev: Interpreter, node: ast.Call, frame: Frame) -> list[Any] | None:
    """A call's positional arguments, each evaluated, a `*` of a list or tuple spread into them (`join(root,
    *fragments)` in a function given `*fragments`); None where a `*` spreads what the scan cannot read."""
    found: list[Any] = []
    for arg in node.args:
        if isinstance(arg, ast.Starred):
            spread = ev.force(ev.eval(arg.value, frame))
            if not isinstance(spread, ListV):
                return None
            found.extend(ev.force(item) for item in spread.items)
        else:
            found.append(ev.force(ev.eval(arg, frame)))
    return found


def read_as_set(value: Any, variable: str) -> Any:
    """A value read on the side of a test only a set variable takes (beacon's `DB_SCHEMA if DB_SCHEMA else
    "public"`): where it is that variable's unset default, the variable's value instead (unknown)."""
    if is_known(value) and value.env == variable:
        return SV(None, value.from_, variable, known=False, expr=f"${variable}")
    return value
