"""The statements a Flask app's code configures it with, read from the syntax alone: what loads `app.config`
(`from_object`, `from_pyfile`), what writes it (`app.config[...] =`, `.update()`, `.setdefault()`), what changes a
dict inside it (`app.config["SQLALCHEMY_ENGINE_OPTIONS"]["k"] = v`), and what binds an extension to the app
(`db.init_app(app)`, `SQLAlchemy(app)`). scan/flask.py gives them their values.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final
from weakref import WeakKeyDictionary

from pool_doctor.scan import fieldtext
from pool_doctor.scan.conditions import Conditions
from pool_doctor.scan.finder import FunctionNode, Module, dotted_parts
from pool_doctor.scan.kinds import (
    SV,
    Branches,
    ClassRef,
    DictV,
    ExternalRef,
    Frame,
    FuncRef,
    Interpreter,
    ModuleRef,
    Thunk,
    is_known,
    not_set,
    unknown,
)
from pool_doctor.scan.model import NOT_SET

PREFIX = "SQLALCHEMY_"
# Flask-SQLAlchemy 2.x config keys and the create_engine argument each became (3.0 removed them).
LEGACY_KEYS = {
    "SQLALCHEMY_POOL_SIZE": "pool_size",
    "SQLALCHEMY_POOL_TIMEOUT": "pool_timeout",
    "SQLALCHEMY_POOL_RECYCLE": "pool_recycle",
    "SQLALCHEMY_MAX_OVERFLOW": "max_overflow",
}
OPTIONS: Final = "SQLALCHEMY_ENGINE_OPTIONS"
BIND_OPTIONS: Final = "(SQLALCHEMY_ENGINE_OPTIONS, as the binds get it)"  # (flaskext.for_release: 2.x gives it them)
UNDER_EXTENSION: Final = "(Flask-SQLAlchemy 2, whose extension's engine_options win)"  # (for_release: a pinned 2)
BINDS: Final = "SQLALCHEMY_BINDS"
URI: Final = "SQLALCHEMY_DATABASE_URI"
# Flask-SQLAlchemy-Lite 0.2's (_make.py `_make_engines`): each entry a URL or a dict of engine_from_config's options
ENGINES: Final = "SQLALCHEMY_ENGINES"
ASYNC_ENGINES: Final = "SQLALCHEMY_ASYNC_ENGINES"
LITE_KEYS = (ENGINES, ASYNC_ENGINES)
POOL_KEYS = {URI, OPTIONS, BINDS, *LEGACY_KEYS, *LITE_KEYS}  # the keys Flask-SQLAlchemy (and -Lite) makes engines from
ENGINE_NAMES = {*POOL_KEYS, "SQLALCHEMY_ECHO"}  # (and its 2.x echo)
LOADERS = {"from_object", "from_pyfile", "from_envvar", "from_file"}  # flask.Config's: each loads a source
WRITERS = ("update", "from_mapping", "setdefault")


Keys = dict[str, Any]  # SQLALCHEMY_* name -> its value, as the configuration leaves it
Guard = tuple[tuple[str, bool], ...]  # the tests a write runs under that the scan cannot decide, as text
Split = list[tuple[Guard, Any]]  # a key's values, each with the tests it holds under


@dataclass
class AppConfig:
    """What one function (or module body) leaves in an app's config, and where it binds the extension."""

    module: Module
    frame: Frame  # the one its writes are read in
    scope: FunctionNode | None
    keys: Keys
    lines: list[int]  # the statements that load or write it
    bind: ast.Call | None = None  # SQLAlchemy(app) / db.init_app(app)
    extension: tuple[Module, ast.Call] | None = None  # the SQLAlchemy(...) call the bound extension is made by
    bind_module: Module | None = None  # where the bind call is, when a helper the function calls makes it
    also: list[tuple[Module, ast.Call]] = field(default_factory=list)  # other callers' binds: an engine each
    unresolved: list[str] = field(default_factory=list)
    running: bool | None = None  # True: every write is on `current_app`, a running app's (no engine of its own)
    deferred: bool = False  # a module's app bound in one of its functions: the engines are made when that runs
    absent: bool = False  # it loads a file the code names that is not in the tree (written at deploy time)
    unread: bool = False  # it loads config the scan cannot read (from_envvar, a TOML file, a variable's file)
    prefixed: SV | None = None  # from_prefixed_env(): the URL its variable gives, unless the app sets one
    unseen: SV | None = None  # a key not set yet, once an installed package's function was given the app
    guard: Guard = ()  # the tests the statement read now runs under (scan/guards.py)
    # each test's side with no variable set; under `guards.DEAD + test`, the side of it that never goes on
    verdicts: dict[str, bool] = field(default_factory=dict)
    splits: dict[str, tuple[Split, Any]] = field(default_factory=dict)  # a key's values by test, and that value
    conditions: Conditions = field(default_factory=Conditions)  # the scan's: a split's tests are written there


@dataclass(frozen=True)
class NestedWrite:
    """A change inside a config key's dict: `app.config[name][key] = value`, or `app.config[name].update(...)` /
    `.setdefault(...)` (`call`); through `app.config.setdefault(name, default)` the key starts as `default`."""

    name: str
    default: ast.expr | None
    key: str | None = None
    value: ast.expr | None = None
    call: ast.Call | None = None


def scopes(tree: ast.Module) -> Iterator[tuple[FunctionNode | None, list[ast.stmt]]]:
    """The module's own statements, then each function's, in the order they run (blocks flattened), never
    descending into a nested function."""
    todo: list[tuple[FunctionNode | None, list[ast.stmt]]] = [(None, tree.body)]
    while todo:
        scope, body = todo.pop()
        flat: list[ast.stmt] = []
        stack = list(body)
        while stack:
            stmt = stack.pop(0)
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                todo.append((stmt, stmt.body))
                continue
            if isinstance(stmt, ast.ClassDef):
                todo.extend((None, [s]) for s in stmt.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)))
                continue
            flat.append(stmt)
            inner: list[ast.stmt] = []
            for block in ("body", "handlers", "orelse", "finalbody"):
                for item in getattr(stmt, block, []):
                    inner.extend(item.body if isinstance(item, ast.ExceptHandler) else [item])
            stack[0:0] = inner
        yield scope, flat


def configures(stmt: ast.stmt, own: str | None = None) -> bool:
    """A statement that loads an app's config, or writes (or changes in place) one of its SQLALCHEMY_* keys."""
    return (
        loader(stmt, own) is not None
        or any(config_writes(stmt))
        or any(nested_writes(stmt))
        or prefixed_env(stmt) is not None
    )


def configures_engine(stmt: ast.stmt) -> bool:
    """Whether the statement configures what the engine is made with: loads a source, or writes a key the
    extension reads for it (not `SQLALCHEMY_TRACK_MODIFICATIONS`)."""
    if not configures(stmt):
        return False
    if loader(stmt) is not None or prefixed_env(stmt) is not None:
        return True
    writes = [name for name, _ in config_writes(stmt)] + [write.name for write in nested_writes(stmt)]
    return not writes or any(name in ENGINE_NAMES for name in writes)


def prefixed_env(stmt: ast.stmt) -> str | None:
    """`app.config.from_prefixed_env()` (Flask 2.1+): the prefix of the variables that override each key
    then (`FLASK_` by default, `prefix="APP"` gives `APP_`); None for any other statement."""
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
        return None
    call = stmt.value
    if not (
        isinstance(call.func, ast.Attribute) and call.func.attr == "from_prefixed_env" and is_config(call.func.value)
    ):
        return None
    given = call.args[0] if call.args else next((kw.value for kw in call.keywords if kw.arg == "prefix"), None)
    if given is None:
        return "FLASK_"
    return f"{given.value}_" if isinstance(given, ast.Constant) and isinstance(given.value, str) else None


def loader(stmt: ast.stmt, own: str | None = None) -> ast.Call | None:
    """`app.config.from_object(x)` and its kin; `own`: a name whose `.config` is a dict of its own (`self`)."""
    if isinstance(stmt, ast.For):
        return copied(stmt)
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
        return None
    call = stmt.value
    if isinstance(call.func, ast.Attribute) and call.func.attr in LOADERS and is_config(call.func.value):
        return call
    mapping = loaded_mapping(call)
    if (  # `app.config.update(self.config)`: a mapping built elsewhere (Mailu's ConfigManager), loaded
        isinstance(call.func, ast.Attribute)
        and call.func.attr in ("update", "from_mapping")
        and is_config(call.func.value)
        and mapping is not None
        and not isinstance(mapping, ast.Dict)
        and not (is_config(mapping) and receivers(mapping) != {own})  # (`x.config.update(app.config)`)
    ):
        return call
    return None


_COPIES: WeakKeyDictionary[ast.For, ast.Call | None] = WeakKeyDictionary()  # each loop's update(), made once


def copied(loop: ast.For) -> ast.Call | None:
    """`for key, value in obj.items(): app.config[key] = value` as the `app.config.update(obj)` it is (koup-api's
    config_parser), at the loop's line."""
    if loop in _COPIES:
        return _COPIES[loop]
    names = [n.id for n in loop.target.elts if isinstance(n, ast.Name)] if isinstance(loop.target, ast.Tuple) else []
    over = loop.iter.func if isinstance(loop.iter, ast.Call) and not loop.iter.args else None
    found = None
    if len(names) == 2 and isinstance(over, ast.Attribute) and over.attr == "items" and len(loop.body) == 1:
        write = loop.body[0] if isinstance(loop.body[0], ast.Assign) else None
        target = write.targets[0] if write is not None and len(write.targets) == 1 else None
        if (
            write is not None
            and isinstance(target, ast.Subscript)
            and is_config(target.value)
            and isinstance(target.slice, ast.Name)
            and target.slice.id == names[0]
            and isinstance(write.value, ast.Name)
            and write.value.id == names[1]
        ):
            update = ast.Attribute(target.value, "update", ast.Load())
            found = ast.copy_location(ast.Call(ast.copy_location(update, loop), [over.value], []), loop)
            found.end_lineno, found.end_col_offset = loop.end_lineno, loop.end_col_offset
    _COPIES[loop] = found
    return found


def loaded_mapping(call: ast.Call) -> ast.expr | None:
    """The one mapping `update`/`from_mapping` is given: its argument, or a `**` of it (ecology_bot's
    `app.config.update(**config)`)."""
    if len(call.args) == 1:  # (its keywords, `from_mapping(DB, SECRET_KEY="dev")`, are writes of their own)
        return call.args[0]
    spread = call.keywords[0] if len(call.keywords) == 1 and not call.args else None
    return spread.value if spread is not None and spread.arg is None else None


def bind_call(stmt: ast.stmt) -> ast.Call | None:
    """`db.init_app(app)`, or `db = SQLAlchemy(app)` (a call given an app): whether the object is Flask-SQLAlchemy's
    extension, the caller works out."""
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        call = stmt.value
        return call if isinstance(call.func, ast.Attribute) and call.func.attr == "init_app" else None
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1):
        return None
    if not isinstance(stmt.targets[0], ast.Name | ast.Attribute):  # (GeoHealthCheck's `App.db_instance = ...`)
        return None
    value = stmt.value
    if isinstance(value, ast.Call) and (value.args or any(kw.arg == "app" for kw in value.keywords)):
        return value
    return None


def defaults_only(stmt: ast.stmt) -> bool:
    """`app.config.setdefault(...)`: it writes a key only where none is set."""
    call = stmt.value if isinstance(stmt, ast.Expr) else None
    return isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "setdefault"


def config_writes(stmt: ast.stmt) -> Iterator[tuple[str, ast.expr]]:
    """`app.config["SQLALCHEMY_X"] = v`, `app.config.update(SQLALCHEMY_X=v)` / `({...})`, `.from_mapping(...)`,
    `.setdefault("SQLALCHEMY_X", v)`: each key with its value."""
    if isinstance(stmt, ast.Assign):
        for target in stmt.targets:
            if isinstance(target, ast.Subscript) and is_config(target.value) and (name := key_name(target.slice)):
                yield name, stmt.value
    elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        call = stmt.value
        if isinstance(call.func, ast.Attribute) and call.func.attr in WRITERS and is_config(call.func.value):
            if call.func.attr == "setdefault" and len(call.args) == 2 and isinstance(call.args[0], ast.Constant):
                if str(call.args[0].value).startswith(PREFIX):
                    yield str(call.args[0].value), call.args[1]
                return
            for kw in call.keywords:
                if kw.arg and kw.arg.startswith(PREFIX):
                    yield kw.arg, kw.value
            for arg in call.args:
                if isinstance(arg, ast.Dict):
                    for key, value in zip(arg.keys, arg.values):
                        if isinstance(key, ast.Constant) and str(key.value).startswith(PREFIX):
                            yield str(key.value), value


def nested_writes(stmt: ast.stmt) -> Iterator[NestedWrite]:
    if isinstance(stmt, ast.Assign):
        for target in stmt.targets:
            if not isinstance(target, ast.Subscript):
                continue
            found = entry(target.value)
            if found is not None and isinstance(target.slice, ast.Constant) and isinstance(target.slice.value, str):
                yield NestedWrite(*found, key=target.slice.value, value=stmt.value)
    elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        call = stmt.value
        method = call.func
        if isinstance(method, ast.Attribute) and method.attr in ("update", "setdefault"):
            found = entry(method.value)
            if found is not None:
                yield NestedWrite(*found, call=call)


def entry(node: ast.expr) -> tuple[str, ast.expr | None] | None:
    """`app.config["SQLALCHEMY_X"]` -> ("SQLALCHEMY_X", None); `app.config.setdefault("SQLALCHEMY_X", d)` ->
    ("SQLALCHEMY_X", d); else None."""
    if isinstance(node, ast.Subscript) and is_config(node.value) and (name := key_name(node.slice)):
        return name, None
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "setdefault"
        and is_config(node.func.value)
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and str(node.args[0].value).startswith(PREFIX)
    ):
        return str(node.args[0].value), node.args[1] if len(node.args) > 1 else None
    return None


def key_name(key: ast.expr) -> str | None:
    """A SQLALCHEMY_* key as written: `"SQLALCHEMY_X"`, or a constant named for it (`ConfigKey.SQLALCHEMY_X`,
    privacyidea's table of the keys' names)."""
    if isinstance(key, ast.Constant) and isinstance(key.value, str) and key.value.startswith(PREFIX):
        return key.value
    if isinstance(key, ast.Attribute) and key.attr.startswith(PREFIX):
        return key.attr
    return None


def handed_over(
    ev: Interpreter, stmt: ast.stmt, apps: set[str], frame: Frame, extension: Callable[[ast.expr], bool]
) -> ast.Call | None:
    """A call of a function from outside the project that is given the app and the extension (digitalmarketplace's
    `init_app(application, configs[name], db=db)` from an installed package): it binds it, and may configure
    the app any way."""
    call = stmt.value if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) else None
    given = [*call.args, *(kw.value for kw in call.keywords)] if call is not None else []
    if call is None or not any(isinstance(arg, ast.Name) and arg.id in apps for arg in given):
        return None
    if not any(extension(arg) for arg in given):
        return None
    func = ev.force(ev.eval(call.func, frame))  # a function, not an extension's class (`Migrate(app, db)`)
    named = func.dotted.rsplit(".", 1)[-1] if isinstance(func, ExternalRef) else ""
    outside = named[:1].islower() and func.dotted.split(".", 1)[0] not in ("flask", "builtins", "flask_migrate")
    return call if outside else None


FSA_LAZY = "Flask-SQLAlchemy 2 (its engines made when first used)"
FSA_EAGER = "Flask-SQLAlchemy 3 (its engines made at init_app)"


def after_bind(keys: dict[str, Any], bound: dict[str, Any], major: int | None) -> dict[str, Any]:
    """The keys, where the app's config changed after the bind in the same function (openFEC's
    `from_prefixed_env()` after `db.init_app(app)`): Flask-SQLAlchemy 3 made the engine with the value before,
    2 makes it when first used, with the value after; both, when the project pins neither."""
    if major == 2:
        return keys
    if major == 3:
        return bound
    return {
        key: value
        if value is bound.get(key)
        else Branches([(FSA_LAZY, value), (FSA_EAGER, bound[key] if key in bound else not_set())])
        for key, value in keys.items()
    }


def receivers(stmt: ast.AST) -> set[str]:
    """The names whose `.config` a statement reads or writes (`app` in `app.config[...] = x`)."""
    parts = (dotted_parts(n) for n in ast.walk(stmt) if isinstance(n, ast.Attribute) and is_config(n))
    return {found[0] for found in parts if found}


def only_own(stmt: ast.stmt, own: str) -> bool:
    """Every `.config` the statement reads or writes is `own.config` (a config manager's dict), not an app it
    holds (`self.app.config`, flask_covid19's)."""
    parts = [dotted_parts(n) for n in ast.walk(stmt) if isinstance(n, ast.Attribute) and is_config(n)]
    return bool(parts) and all(found == [own, "config"] for found in parts)


def is_config(node: ast.expr) -> bool:
    parts = dotted_parts(node)
    return parts is not None and len(parts) >= 2 and parts[-1] == "config"


def enclosing_function(tree: ast.Module, node: ast.AST) -> FunctionNode | None:
    """The innermost function whose body holds `node`."""
    found: FunctionNode | None = None
    line = getattr(node, "lineno", 0)
    for func in ast.walk(tree):
        if (
            isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef))
            and func.lineno <= line <= (func.end_lineno or func.lineno)
            and any(inner is node for inner in ast.walk(func))
        ):
            found = func  # ast.walk reaches outer functions first
    return found


def same_known(values: list[Any]) -> bool:
    """Every call gives the same known value: a constant, or the same module, class or function (zou's
    `create_app(config_object=config)`, called with none from two places)."""
    keys = {_known_key(v) for v in values}
    return len(keys) == 1 and None not in keys


def each_given(ev: Interpreter, name: str, given: list[Any]) -> Any:
    """Config classes the factory's callers each give it (dribdat's `init_app(DevConfig)` / `init_app(ProdConfig)`):
    one of them, each under its own test; so with constants, and with dicts, each where it is written (one dict
    when every caller gives the one a function returns: lando-api's `construct_app(load_config())`); None where a
    caller gives something else."""
    given = [ev.force(o) for v in given for _, o in (v.options if isinstance(v, Branches) else [("", v)])]
    if given and all(isinstance(value, DictV) and value.file and value.line for value in given):
        written = {f"{value.file}:{value.line}": value for value in given if isinstance(value, DictV)}
        if len(written) == 1 and len({_items_key(ev, value) for value in given}) == 1:
            return given[0]
        return Branches([(f"{name} is call {at + 1}'s dict", value) for at, value in enumerate(given)])
    if all(is_known(value) for value in given):  # constants: ras-secure-message's `create_app("DevConfig")` and
        constants = {repr(value.value): value for value in given if is_known(value)}  # `create_app()`
        return Branches([(f"{name} == {text}", value) for text, value in constants.items()])
    if not all(isinstance(value, (ClassRef, ModuleRef)) for value in given):
        return None
    named = {
        f"{value.module.name}.{value.node.name}" if isinstance(value, ClassRef) else value.module.name: value
        for value in given
    }
    return Branches([(f"{name} is {text}", value) for text, value in named.items()])


def _items_key(ev: Interpreter, value: DictV) -> tuple[Any, ...]:
    """A dict's items as their values read (an unknown one by its text): equal for dicts that hold the same."""
    forced = {key: ev.force(item) for key, item in value.items.items()}
    return tuple((key, repr(v.value) if is_known(v) else repr(v)) for key, v in forced.items())


def _known_key(value: Any) -> tuple[str, Any] | None:
    if isinstance(value, SV):
        return ("value", (type(value.value), repr(value.value))) if value.known else None
    if isinstance(value, ModuleRef):
        return "module", id(value.module)
    if isinstance(value, ClassRef) or (isinstance(value, FuncRef) and value.bound_self is None):
        return "definition", id(value.node)
    return None


def names_itself(name: str, value: Any) -> bool:
    return isinstance(value, SV) and value.known and value.value == name


def own_helper(scope: FunctionNode | None) -> bool:
    """Whether a function calls a function of its own that configures an app (koup-api's create_app calling its
    nested `config_parser(app, config_object)`): its helper, read in its place."""
    if scope is None:
        return False
    nested = [f for f in scope.body if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)]
    names = {f.name for f in nested if any(configures(s) for _, body in scopes(alone(f)) for s in body)}
    return bool(names) and any(
        isinstance(n, ast.Call) and getattr(n.func, "id", None) in names for n in ast.walk(scope)
    )


def alone(func: FunctionNode) -> ast.Module:
    """A function as a module of its own, for appconfig.scopes to read its body."""
    return ast.Module(body=[func], type_ignores=[])


def place(value: Any) -> tuple[str, int, int] | None:
    """Where a bind's entry is written (its dict, or its URL's string): the pool of that bind is placed there, so
    each bind's engine has a place of its own."""
    if isinstance(value, DictV) and value.file is not None and value.line:
        return value.file, value.line, value.end_line or value.line
    if isinstance(value, SV) and value.from_ is not None:
        file, _, line = value.from_.rpartition(":")
        if file and line.isdigit():
            return file, int(line), int(line)
    return None


def options_node(call: ast.Call) -> ast.expr | None:
    return next((kw.value for kw in call.keywords if kw.arg == "engine_options"), None)


def by_variable(value: Any, env: str, ev: Interpreter, module: Module) -> Thunk:
    """A config key that a variable overrides (`FLASK_SQLALCHEMY_DATABASE_URI`), worked out when read."""
    return Thunk(ast.Constant(None), Frame(module), compute=lambda: fieldtext.named(ev.force(value), env))


def changed(ev: Interpreter, value: Any, change: Callable[[DictV], None], start: Any = None) -> Any:
    """A dict value changed in place, as a copy (each branch's, for a value with branches); a branch that does
    not set it starts as `start` (setdefault's default) when there is one."""
    value = ev.force(value)
    if isinstance(value, SV) and value.expr == NOT_SET and start is not None:
        value = ev.force(start)
    if isinstance(value, DictV):
        copy = DictV(dict(value.items), value.origin, list(value.opaque), value.line, value.end_line, value.file)
        change(copy)
        return copy
    if isinstance(value, Branches):
        options = [(when, changed(ev, option, change, start)) for when, option in value.options]
        return Branches(options, False, value.default)
    return value  # not a dict the scan can read: stays what it is


def change_of(ev: Interpreter, write: NestedWrite, frame: Frame) -> Callable[[DictV], None]:
    """What a write inside a config key's dict does to that dict (a copy, appconfig.changed)."""

    def change(into: DictV) -> None:
        call = write.call
        if write.key is not None and write.value is not None:
            into.items[write.key] = Thunk(write.value, frame)
        elif call is not None and isinstance(call.func, ast.Attribute) and call.func.attr == "setdefault":
            if len(call.args) == 2 and isinstance(call.args[0], ast.Constant):
                into.items.setdefault(str(call.args[0].value), Thunk(call.args[1], frame))
        elif call is not None:  # .update(...)
            for arg in call.args:
                ev.merge(into, ev.eval(arg, frame), frame.module.segment(arg))
            for kw in call.keywords:
                if kw.arg is not None:
                    into.items[kw.arg] = Thunk(kw.value, frame)
                else:
                    ev.merge(into, ev.eval(kw.value, frame), frame.module.segment(kw.value))

    return change


def frame_of_caller(ev: Interpreter, module: Module, site: ast.Call) -> Frame:
    """The caller's frame at the call: its own parameters at their defaults (one level: no call chain is followed
    further), and the locals its statements set before the call (an app it made and loaded a config into)."""
    func = enclosing_function(module.tree, site)
    if func is None:
        return Frame(module)
    bound = ev.bind(FuncRef(module, func), None, Frame(module))
    return ev.flow.frame_at(func, Frame(module, bindings=bound.bindings, scope=func), site)


def calls_of(ev: Interpreter, module: Module, func: FunctionNode) -> list[tuple[Module, ast.Call]]:
    """The app's calls of a module-level function (calls in tests do not count), in the files read."""
    found = []
    for other in list(ev.project.modules.values()):  # (reading a call may parse a module)
        if other is None or other.aside:
            continue
        for site in other.calls.get(func.name, []):
            called = ev.force(ev.eval(site.call.func, Frame(other)))
            if isinstance(called, FuncRef) and called.node is func:
                found.append((other, site.call))
    return found


MIGRATE = "flask.current_app.extensions['migrate'].db"  # the extension Flask-Migrate was given (its env.py's)


def running_reads(
    ev: Interpreter,
    running: Callable[[], list[AppConfig]],
    calls: dict[str, Callable[[ast.Call, Frame], Any]],
    values: dict[str, Callable[[ast.AST, Frame], Any]],
) -> None:
    """The running app's configuration as code only a running app runs reads it (Flask-Migrate's env.py):
    `current_app.config.get(KEY)`, and the URL of the engine Flask-Migrate was given, `current_app.extensions[
    'migrate'].db.engine.url` (its templates: through `db.get_engine()` for Flask-SQLAlchemy 2; a bind's,
    `get_engine(bind=key)` of its multi-database template, is another engine: unknown)."""
    calls["flask.current_app.config.get"] = lambda node, frame: running_value(
        ev, running, ev.arg(node, frame, 0, None), node, frame
    )
    calls[f"{MIGRATE}.get_engine"] = lambda node, frame: (
        unknown(frame.module, node) if node.args or node.keywords else ExternalRef(f"{MIGRATE}.engine")
    )
    values[f"{MIGRATE}.engine.url"] = lambda node, frame: running_value(ev, running, SV(URI, None), node, frame)


def running_value(
    ev: Interpreter, running: Callable[[], list[AppConfig]], key: Any, node: ast.AST, frame: Frame
) -> Any:
    """The project's one running app's value of a Flask-SQLAlchemy key, in code only a running app runs (of
    several apps, the one whose package holds the code: knowledge-repo's app/migrations/env.py); unknown where
    that is not one, or while they are read."""
    bound = [a for a in running() if a.bind is not None and not a.module.aside]
    shared = [len(os.path.commonpath([a.module.path, frame.module.path])) for a in bound]
    bound = [a for a, length in zip(bound, shared) if length == max(shared)] if len(set(shared)) > 1 else bound
    if len(bound) != 1 or not is_known(key) or str(key.value) not in bound[0].keys:
        return unknown(frame.module, node)
    value = ev.force(bound[0].keys[str(key.value)])
    if is_known(value) and value.value is None:  # (no URL: the app does not start; a variable's, when it has one)
        return unknown(frame.module, node, env=value.env, why=f"${value.env}" if value.env else None)
    return value


def never_bound(
    module: Module, app_scope: Any, callers: list[tuple[Module, ast.Call]], other: Callable[[Module, ast.Call], bool]
) -> bool:
    """A factory that makes a Flask app of its own (`app = Flask(__name__)`) and calls no `init_app`, where no
    caller's body calls one either (listenbrainz's docs-only app): its configuration makes no engine. `other`: an
    `init_app` of another library's extension (eq-survey-runner's Flask-Caching `cache.init_app(app)`), no bind."""
    if not isinstance(app_scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    if not any(
        isinstance(n, ast.Call) and (dotted_parts(n.func) or [""])[-1].endswith("Flask") for n in ast.walk(app_scope)
    ):
        return False
    bodies = [(module, app_scope), *((m, enclosing_function(m.tree, site) or m.tree) for m, site in callers)]
    return not any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "init_app" and not other(m, n)
        for m, body in bodies
        for n in ast.walk(body)
    )
