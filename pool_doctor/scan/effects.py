"""What a call of a project function changes in its caller's names, beyond what it returns: the attributes a
method sets on the same instance (`self._setup()`, `super().__init__()`), and a dict it changes in place that
the caller handed it (`maybe_set(settings, "database.url", "DATABASE_URL")`, warehouse's)."""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pool_doctor.scan import containers, matches
from pool_doctor.scan.files import FileV, PathV
from pool_doctor.scan.finder import FunctionNode, Module, dotted_parts, last_name
from pool_doctor.scan.kinds import (
    SV,
    Branches,
    ClassRef,
    DictV,
    Frame,
    FuncRef,
    HolderV,
    InstanceRef,
    Interpreter,
    MethodRef,
    is_known,
    unknown,
)
from pool_doctor.scan.literals import literal, membership_keys
from pool_doctor.scan.model import NOT_SET
from pool_doctor.scan.nodes import MUTATORS, first_parameter, installed_import, instance_writes
from pool_doctor.scan.statements import attribute_set, named_attribute

# A dict's methods that change it in place.
CHANGES = MUTATORS | {"popitem"}
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def self_call(ev: Interpreter, scope: Any, call: ast.Call, state: dict[str, Any], frame: Frame) -> dict[str, Any]:
    """`super().__init__(...)` or `self._setup(...)` in a method: what the called method sets on the same
    instance (`self.x = ...`), as the caller's `self.x`."""
    if not isinstance(call.func, ast.Attribute) or not isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return {}
    params = [*scope.args.posonlyargs, *scope.args.args]
    if not params or params[0].arg not in state:
        return {}
    me = params[0].arg
    instance = ev.force(state[me])
    if not isinstance(instance, InstanceRef):
        return {}
    func = ev.force(ev.eval(call.func, frame))
    if not isinstance(func, FuncRef) or func.bound_self is not instance or isinstance(func.node, ast.Lambda):
        return {}
    callee = [*func.node.args.posonlyargs, *func.node.args.args]
    if not callee:
        return {}
    after = ev.locals_after(func, call, frame)
    prefix = f"{callee[0].arg}."
    out = {f"{me}.{key[len(prefix) :]}": value for key, value in after.items() if key.startswith(prefix)}
    for name, value in out.items():  # a path of it that leaves an attribute nothing else gives unset raises at the
        attr = name.split(".", 1)[1]  # caller's read: no pool is made there (DIRAC's early `return res`)
        unset = isinstance(value, Branches) and any(_is_unset(o) for _, o in value.options)
        if unset and name not in state and "." not in attr and _absent(ev, instance, attr, frame):
            out[name] = _only_set(value)
    return out


def _is_unset(value: Any) -> bool:
    return isinstance(value, SV) and value.expr == NOT_SET


def _absent(ev: Interpreter, instance: InstanceRef, attr: str, frame: Frame) -> bool:
    """Whether nothing but the code the scan follows gives the instance `attr` (no class attribute, no
    `__init__` write, no property): a read of it where that code left it unset raises."""
    for klass in ev.class_chain(instance.cls):  # a library base may give it (socketserver's request_queue_size)
        if any(isinstance(s, FUNCTIONS) and s.name in ("__getattr__", "__getattribute__") for s in klass.node.body):
            return False  # (which gives any attribute)
        for base in klass.node.bases:
            if ast.unparse(base) not in ("object", "ABC", "abc.ABC") and not isinstance(
                ev.force(ev.eval(base, Frame(klass.module))), ClassRef
            ):
                return False
    held = ev.force(ev.attribute(instance, attr, None, frame))
    return isinstance(held, SV) and not held.known and held.expr == attr and held.from_ is None


def _only_set(value: Any) -> Any:
    """A value without its options that leave it unset (one option left: that option)."""
    if not isinstance(value, Branches):
        return value
    kept = [(when, o) for when, o in value.options if not _is_unset(o)]
    if not kept or len(kept) == len(value.options):
        return value
    return kept[0][1] if len(kept) == 1 else Branches(kept)


MAX_FOLLOWED = 3  # helpers handed the app (or dict) inside each other that are followed: each runs the next's body
_following = [0]  # how deep the helper being followed now is (a chain of helpers each calling the next)


def arguments(ev: Interpreter, call: ast.Call, frame: Frame) -> dict[str, Any]:
    """A project function given a dict by name that it changes in place (`settings.setdefault(...)`,
    `settings[key] = ...`), or an app whose config it changes (`configure(app)`: `app.config[...] = ...`,
    `app.config.from_object(...)`, or a helper it hands the app to): the caller's name holds the dict (the app)
    as the function leaves it."""
    given = [(index, arg.id) for index, arg in enumerate(call.args) if isinstance(arg, ast.Name)]
    if not given or not isinstance(call.func, (ast.Name, ast.Attribute)):
        return {}
    func = ev.force(ev.eval(call.func, frame))
    if not isinstance(func, FuncRef) or isinstance(func.node, ast.Lambda) or func.bound_self is not None:
        return {}
    params = [a.arg for a in (*func.node.args.posonlyargs, *func.node.args.args)]
    changed, configured = _changed_params(func.node)
    kinds = {name: ev.force(ev.eval(ast.Name(name, ast.Load()), frame)) for _, name in given}
    wanted = {
        params[index]: name
        for index, name in given
        if index < len(params)
        and (
            (params[index] in changed and _changeable(ev, kinds[name]))
            or (params[index] in configured and isinstance(kinds[name], HolderV))
        )
    }
    if wanted and _registered(func):  # which body runs is the dispatcher's to say: what any of them writes is unknown
        index = {param: params.index(param) for param in wanted}
        return {name: _dispatched(ev, kinds[name], func, index[param], call, frame) for param, name in wanted.items()}
    if not wanted or _following[0] >= MAX_FOLLOWED:
        return {}
    _following[0] += 1
    try:
        after = ev.locals_after(func, call, frame)
    finally:
        _following[0] -= 1
    out = {}
    for param, name in wanted.items():
        attrs = {key[len(param) + 1 :]: item for key, item in after.items() if key.startswith(f"{param}.")}

        def with_attrs(value: Any, attrs: dict[str, Any] = attrs) -> Any:  # `c.pool_size = 99`: on c
            for attr, item in attrs.items() if isinstance(value, InstanceRef) else ():
                value = ev.with_attribute(value, attr, item) if "." not in attr else value
            return value

        value = containers.lift(ev, [ev.force(after.get(param))], with_attrs) if attrs else after.get(param)
        # (Branches the callee's own tests make are not kept: a guarded read leaves the defaults)
        branched = isinstance(ev.force(kinds[name]), Branches) and _changeable(ev, value)
        out.update({name: value} if isinstance(ev.force(value), (DictV, HolderV, InstanceRef)) or branched else {})
        if _sets_by_name(func.node, param):  # `setattr(cfg, key, value)`: any attribute of it may be another now
            out[name] = unknown(frame.module, call, why=f"{name} (what {frame.module.segment(call)} sets by name)")
    return out


def parser_method(ev: Interpreter, call: ast.Call, frame: Frame) -> dict[str, Any]:
    """`config.load_config()`, a project ConfigParser subclass's own method that reads files into `self` (or sets
    options on it): the name holds the parser as the method leaves it."""
    if not (isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name)):
        return {}
    held = ev.force(ev.eval(call.func.value, frame))
    if not isinstance(held, InstanceRef) or held.parser is None:
        return {}
    func = ev.force(ev.eval(call.func, frame))
    if not isinstance(func, FuncRef) or func.bound_self is not held or isinstance(func.node, ast.Lambda):
        return {}
    me = first_parameter(func.node)
    on_me = [n.func for n in ast.walk(func.node) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)]
    reads = any(isinstance(f.value, ast.Name) and f.value.id == me and ev.mutator(f.attr) for f in on_me)
    after = ev.locals_after(func, call, frame) if reads and me is not None else {}
    left = ev.force(after.get(me)) if me is not None else None
    options = [ev.force(o) for _, o in left.options] if isinstance(left, Branches) else [left]  # (its own tests')
    return {call.func.value.id: left} if all(isinstance(o, InstanceRef) for o in options) and left is not held else {}


def changed_by(ev: Interpreter, scope: Any, call: ast.Call, state: dict[str, Any], frame: Frame) -> dict[str, Any]:
    """What a call standing as a statement changes of the caller's names: the method's own instance
    (`self._setup()`), what a project function is handed, or a project parser whose method reads into it."""
    return self_call(ev, scope, call, state, frame) or arguments(ev, call, frame) or parser_method(ev, call, frame)


def _sets_by_name(func: FunctionNode, param: str) -> bool:
    """Whether the function sets an attribute of `param` whose name it computes (`setattr(cfg, key, value)`)."""
    sets = [found for n in ast.walk(func) if (found := attribute_set(n)) is not None]
    return any(holder == param and named_attribute(attr) is None for holder, attr in sets)


def _changeable(ev: Interpreter, value: Any) -> bool:
    """A dict or an instance a function may change in place, on every path (Branches of them too)."""
    value = ev.force(value)
    if isinstance(value, Branches):
        return all(_changeable(ev, option) for _, option in value.options)
    return isinstance(value, (DictV, InstanceRef))


def _registered(func: FuncRef) -> bool:
    """A function defined again under the same name in its module, each with a decorator (oslo.db's
    `@_init_connection_args.dispatch_for("mysql+mysqldb")`): which body a call runs is the dispatcher's to say."""
    same = _definitions(func)
    return len(same) > 1 and all(s.decorator_list for s in same[1:])


def _definitions(func: FuncRef) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    name = getattr(func.node, "name", None)
    return [s for s in func.module.tree.body if isinstance(s, FUNCTIONS) and s.name == name]


def _dispatched(ev: Interpreter, given: Any, func: FuncRef, index: int, call: ast.Call, frame: Frame) -> Any:
    """The dict handed to a dispatched function as its `index`th argument: each key any of its bodies writes
    (`args["connect_args"]["charset"] = ...`: connect_args) unknown, the rest kept; a key none names, any."""
    if not isinstance(given, DictV):
        return unknown(frame.module, call)
    keys, any_key = set(), False
    for body in _definitions(func):
        params = [a.arg for a in (*body.args.posonlyargs, *body.args.args)]
        for node in ast.walk(body) if index < len(params) else ():
            target = node if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store) else None
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in CHANGES:
                target = node.func.value if isinstance(node.func.value, ast.Subscript) else None
                any_key |= isinstance(node.func.value, ast.Name) and node.func.value.id == params[index]
            while isinstance(target, ast.Subscript) and isinstance(target.value, ast.Subscript):
                target = target.value
            if (
                isinstance(target, ast.Subscript)
                and isinstance(target.value, ast.Name)
                and target.value.id == params[index]
            ):
                literal = isinstance(target.slice, ast.Constant) and isinstance(target.slice.value, str)
                keys |= {target.slice.value} if literal else set()  # type: ignore[attr-defined]
                any_key |= not literal
    text = frame.module.segment(call)
    result = DictV(dict(given.items), given.origin, [*given.opaque, *([text] if any_key else [])])
    for key in keys:
        result.items[key] = unknown(
            frame.module, call, why=f"{key} (what {text} sets: which definition runs is decided at run time)"
        )
    return result


def _changed_params(func: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[set[str], set[str]]:
    """The names a function changes in place (`name.update(...)`-like calls, `name[key] = ...`) and never
    rebinds; and those whose `.config` it changes or that it hands to another call (an app)."""
    found, configured, rebound = set(), set(), set()
    loops: list[tuple[str, str]] = []  # (the loop's name for an item, the dict's): `for k, v in d.items():`
    for node in ast.walk(func):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            rebound.add(node.id)  # `options = dict(options)`: what it changes next is a copy
        if isinstance(node, (ast.For, ast.AsyncFor)) and (item := _item_name(node)) is not None:
            loops.append(item)
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and isinstance(node.value, ast.Name):
            found.add(node.value.id)  # `cfg.pool_size = 99` on an instance it is handed
        if (set_on := attribute_set(node)) is not None:  # `setattr(cfg, ...)` on an instance it is handed
            found.add(set_on[0])
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            receiver = _holder(node.func.value)  # `d["default"].update(...)`: d's item, d changed
            if node.func.attr in CHANGES and isinstance(receiver, ast.Name):
                found.add(receiver.id)
            if (
                isinstance(receiver, ast.Attribute)
                and receiver.attr == "config"
                and isinstance(receiver.value, ast.Name)
            ):
                configured.add(receiver.value.id)  # `app.config.from_object(...)`, `.update(...)`
        if isinstance(node, ast.Call):
            configured |= {arg.id for arg in node.args if isinstance(arg, ast.Name)}  # handed on
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
            holder = _holder(node.value)  # `d["default"]["KEY"] = ...`, `d.setdefault("OPTIONS", {})["KEY"] = ...`
            if isinstance(holder, ast.Name):
                found.add(holder.id)
            elif isinstance(holder, ast.Attribute) and isinstance(holder.value, ast.Name):
                configured.add(holder.value.id)  # `app.config["KEY"] = ...`
    found |= {mapping for item, mapping in loops if item in found}  # an item changed in a loop over the dict
    return found - rebound, configured - rebound


def _holder(node: ast.expr) -> ast.expr:
    """What an item reached by subscripts and `.setdefault(...)`/`.get(...)` belongs to: changing the item changes
    it (`d["default"]`, `d.setdefault("OPTIONS", {})`: `d`)."""
    while isinstance(node, (ast.Subscript, ast.Call)):
        if isinstance(node, ast.Subscript):
            node = node.value
        elif isinstance(node.func, ast.Attribute) and node.func.attr in ("setdefault", "get"):
            node = node.func.value
        else:
            break
    return node


def _item_name(loop: ast.For | ast.AsyncFor) -> tuple[str, str] | None:
    """`for v in d.values():`, `for k, v in d.items():`: ("v", "d"), the loop's name for the dict's items."""
    call, target = loop.iter, loop.target
    if not (
        isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name)
    ):
        return None
    if call.func.attr == "items" and isinstance(target, ast.Tuple) and len(target.elts) == 2:
        target = target.elts[1]
    elif call.func.attr != "values":
        return None
    return (target.id, call.func.value.id) if isinstance(target, ast.Name) else None


def sets_names(stmt: ast.Try | ast.TryStar, handler: ast.ExceptHandler) -> bool:
    """A handler that sets names: a path of its own (an exception the scan cannot rule out), unless it takes the
    ImportError of a pool library the app has installed."""
    kinds = (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Import, ast.ImportFrom)
    return not installed_import(stmt, handler) and any(isinstance(s, kinds) for s in handler.body)


def asserted(ev: Interpreter, test: ast.expr, state: dict[str, Any], frame: Frame) -> dict[str, Any]:
    """`assert url is not None` (or `assert url`) where `url` holds what fails it, not by a variable (a
    parameter's `None` default, no caller in sight): past it `url` holds what a caller gives, unknown, not that
    default (swh-storage's proxies: `db = blocking_db` after `assert blocking_db is not None`). Only a name
    tested itself; the rest of the state stays."""
    none_test = isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.IsNot)
    operand = test.left if none_test and isinstance(test, ast.Compare) else test
    if none_test and not (isinstance(test, ast.Compare) and _is_none(test.comparators[0])):
        return state
    if not (isinstance(operand, ast.Name) and operand.id in state):
        return state
    verdict, by_variable = containers.decide(ev, ev.eval(test, frame))
    if verdict is not False or by_variable:
        return state
    why = f"{operand.id} (what `assert {frame.module.segment(test)}` requires)"
    return {**state, operand.id: SV(None, frame.module.where(test), known=False, expr=why)}


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


ABSENCE = {"FileNotFoundError", "OSError", "IOError", "EnvironmentError", "Exception", "BaseException"}
UNSET = {"KeyError", "LookupError", "Exception", "BaseException"}  # what `os.environ["X"]` raises, X unset


def item_test(
    ev: Interpreter, test: ast.expr, read: Callable[[ast.expr], Any], runs: dict[str, int], module: Module
) -> str:
    """A test in an unrolled loop, as this run reads it: what it reads of the item written as its value where that
    is a literal (`'sql_uri' not in config['database']` for `option not in config[key]`, `env["var"]` as 'A_URL'),
    a path as the file it names; else the run's number after it. Each run's test is its own."""
    values = _ItemValues(ev, read, runs)
    written = values.visit(copy.deepcopy(test))
    left = {n.id for n in ast.walk(written) if isinstance(n, ast.Name) and n.id in runs}
    try:
        text = ast.unparse(written) if values.wrote else module.segment(test)
    except ValueError:  # (Python 3.11: a backslash in a value written into an f-string's expression part)
        text, left = module.segment(test), set(runs)
    return f"{text} (run {', '.join(f'{runs[n]} of {n}' for n in sorted(left))})" if left else text


class _ItemValues(ast.NodeTransformer):
    """An item name, or a key or an attribute of one (`env["var"]`), as the literal it holds in this run."""

    def __init__(self, ev: Interpreter, read: Callable[[ast.expr], Any], runs: dict[str, int]) -> None:
        self.ev, self.read, self.runs = ev, read, runs
        self.wrote = False

    def visit(self, node: ast.AST) -> Any:
        if isinstance(node, (ast.Name, ast.Subscript, ast.Attribute)) and self._of_item(node):
            value = self.read(node)
            if is_known(value) and (value.value is None or isinstance(value.value, (str, int, float, bool))):
                self.wrote = True
                return ast.copy_location(ast.Constant(value.value), node)
            if isinstance(value, PathV):
                path, project = Path(value.path), self.ev.project
                self.wrote = True
                shown = project.display(path) if path.is_relative_to(project.base) else str(path)
                return ast.copy_location(ast.Constant(shown), node)
        return super().visit(node)

    def _of_item(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.runs
        if isinstance(node, ast.Subscript) and not isinstance(node.slice, ast.Constant):
            return False
        return isinstance(node, (ast.Subscript, ast.Attribute)) and self._of_item(node.value)


def match_paths(
    ev: Interpreter, stmt: ast.Match, frame: Frame, module: Module
) -> list[tuple[str, list[ast.stmt], bool]]:
    """The ways through a `match`, as try_paths gives them: the case a known subject takes (a literal, `|` of
    literals, `_`), alone; for a subject the environment decides, every case, the default's marked as the one with
    no variable set."""
    subject = module.segment(stmt.subject)
    taken, by_env = matches.case_taken(ev, ev.force(ev.eval(stmt.subject, frame)), stmt.cases, frame)
    if taken is not None and not by_env:
        return [("", stmt.cases[taken].body if taken < len(stmt.cases) else [], True)]
    paths = [
        (f"{subject} matches {module.segment(case.pattern)}", case.body, index == taken)
        for index, case in enumerate(stmt.cases)
    ]
    if not any(isinstance(case.pattern, ast.MatchAs) and case.pattern.pattern is None for case in stmt.cases):
        paths.append((f"{subject} matches no case", [], taken == len(stmt.cases)))
    return paths


def try_paths(stmt: ast.Try | ast.TryStar, module: Module) -> list[tuple[str, list[ast.stmt], bool]]:
    """The ways through a `try` the flow follows, each (its test, its statements, whether it is the way with no
    variable set): the body (and `else`) as the way taken; a handler that sets names (an exception the scan
    cannot rule out). Where the body reads a variable with no default (`environ[setting]`) and a handler takes
    its KeyError, that handler, also when it only returns, is the way with the variable unset (openprescribing's
    `get_env_setting(setting, default)`: the default)."""
    unset = any(
        isinstance(node, ast.Subscript) and dotted_parts(node.value) in (["os", "environ"], ["environ"])
        for part in stmt.body
        for node in ast.walk(part)
    )
    paths, taken = [], False
    for handler in stmt.handlers:
        types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        takes = unset and not taken and any(t is None or last_name(t) in UNSET for t in types)
        if sets_names(stmt, handler) or (takes and any(isinstance(n, ast.Return) for n in ast.walk(handler))):
            caught = module.segment(handler.type) if handler.type is not None else "an exception"
            paths.append((f"{caught} is raised", handler.body, takes))
            taken = taken or takes
    return [("no exception", [*stmt.body, *stmt.orelse], not taken), *paths]


def tolerated_absence(ev: Interpreter, stmt: ast.Try | ast.TryStar, frame: Frame) -> ast.ExceptHandler | None:
    """`try: with open(SETTINGS_FILE) as f: settings = yaml.full_load(f)` / `except FileNotFoundError: print(...)`:
    where the body opens a file the tree lacks (a deploy-time file, `/etc/app/settings.yaml`), the handler that
    runs on without it, as the path taken: the values the code falls back on, as configparser's `fallback=` is
    the value of an option of a file outside the tree. None otherwise, or where the body does more than read the
    file (a few statements at most)."""
    handler = next((h for h in stmt.handlers if catches_absence(h)), None)
    if handler is None or len(stmt.body) > 3 or any(_stops(n, ev, frame) for n in ast.walk(handler)):  # (needed)
        return None
    for node in (n for part in stmt.body for n in ast.walk(part)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "open" and node.args:
            opened = ev.force(ev.eval(node, frame))
            if isinstance(opened, FileV) and opened.path is None:
                return handler
    return None


def _stops(node: ast.AST, ev: Interpreter, frame: Frame) -> bool:
    """A raise, or a call that ends the program (`sys.exit(1)`, `exit()`, `abort()`), or of a project function
    that does (`die(...)`)."""
    if isinstance(node, ast.Raise):
        return True
    func = node.func if isinstance(node, ast.Call) else None
    if func is not None and last_name(func) in ("exit", "_exit", "quit", "abort"):
        return True
    called = ev.force(ev.eval(func, frame)) if func is not None else None
    body = called.node if isinstance(called, FuncRef) and not isinstance(called.node, ast.Lambda) else None
    return body is not None and any(isinstance(n, ast.Raise) or _ends(n) for n in ast.walk(body))


def exits_program(ev: Interpreter, stmt: ast.stmt, scope: ast.AST, frame: Frame) -> bool:
    """`sys.exit(...)`, `exit()`, `quit()`, `os._exit(...)` as a statement: the path ends there. Not the project's
    own `quit()`, not one whose argument runs the project's code first (`sys.exit(main())`: what main() makes, it makes), nor
    one inside a `try` that catches SystemExit."""
    call = stmt.value if isinstance(stmt, ast.Expr) else None
    if not isinstance(call, ast.Call):
        return False
    if dotted_parts(call.func) not in (["sys", "exit"], ["exit"], ["quit"], ["os", "_exit"]):
        return False
    inner = [n.func for a in call.args for n in ast.walk(a) if isinstance(n, ast.Call)]
    if any(_project_code(ev.force(ev.eval(f, frame))) for f in [call.func, *inner]):
        return False  # (`"...".format(x)` or `str(e)` in it runs no code of the app's)
    catching = (
        t for t in ast.walk(scope) if isinstance(t, ast.Try | ast.TryStar) and any(map(_catches_exit, t.handlers))
    )
    return not any(stmt is inner for t in catching for inner in (n for b in t.body for n in ast.walk(b)))


def _project_code(value: Any) -> bool:
    project = FuncRef | ClassRef | InstanceRef
    return isinstance(value, project) or (isinstance(value, MethodRef) and isinstance(value.base, project))


def _catches_exit(handler: ast.ExceptHandler) -> bool:
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(t is None or last_name(t) in ("SystemExit", "BaseException") for t in types)


def _ends(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and last_name(node.func) in ("exit", "_exit", "quit")


def catches_absence(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(t, ast.Name) and t.id in ABSENCE for t in types)


def inner_parts(node: ast.expr, module: Module, me: str | None) -> tuple[list[Any], list[tuple[ast.Call, bool]]]:
    """What an expression does besides giving its value: its `(x := value)`s, and the calls it surely makes that
    may change the caller's names, inner ones first (not a lambda's nor a comprehension's, which run later or per
    item; nor those after the first operand of `and`/`or` or in the arms of `x if t else y`, which may not run):
    of a function by name or of an imported module's handed a name (`helpers.configure(options)`); and (True) of
    a method of `me`, the method's own instance, that its module's classes define to set an attribute of it
    (`res = self._read_conf()`). Not any other method (`x = self.get_y()` in every method, each run again in the
    next, costs more than it finds)."""
    walruses = [n for n in ast.walk(node) if isinstance(n, ast.NamedExpr) and isinstance(n.target, ast.Name)]
    calls: list[tuple[ast.Call, bool]] = []
    setters = _self_setters(module) if me is not None else set()

    def visit(inner: ast.AST) -> None:
        if isinstance(inner, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            return
        for child in _surely_run(inner):
            visit(child)
        if not isinstance(inner, ast.Call):
            return
        func = inner.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == me:
            if func.attr in setters:
                calls.append((inner, True))
        elif any(isinstance(a, ast.Name) for a in inner.args) and _plain(func, module):
            calls.append((inner, False))

    visit(node)
    return walruses, calls


def _surely_run(node: ast.AST) -> list[ast.AST]:
    """The parts of an expression that run whenever it does: of `a or b`, `a`; of `x if t else y`, `t`."""
    if isinstance(node, ast.BoolOp):
        return [node.values[0]]
    if isinstance(node, ast.IfExp):
        return [node.test]
    return list(ast.iter_child_nodes(node))


def calls_made(
    ev: Interpreter,
    scope: Any,
    calls: list[tuple[ast.Call, bool]],
    skip: ast.expr | None,
    state: dict[str, Any],
    frame_of: Callable[[dict[str, Any]], Frame],
) -> dict[str, Any]:
    """The state once an expression's calls (`inner_parts`) ran: what each changes of the caller's names, but for
    the call `skip` (a statement of its own, applied there)."""
    for call, on_self in calls:
        if call is not skip:
            changed = (
                self_call(ev, scope, call, state, frame_of(state)) if on_self else arguments(ev, call, frame_of(state))
            )
            state = {**state, **changed}
    return state


def _self_setters(module: Module) -> set[str]:
    """The methods the module's classes define that set an attribute of their instance (`self.x = ...`)."""
    if module.setters is None:
        module.setters = _setters_in(module)
    return module.setters


def _setters_in(module: Module) -> set[str]:
    return {
        method.name
        for cls in module.classes.values()
        for method in cls.body
        if isinstance(method, FUNCTIONS) and instance_writes(method)
    }


def _plain(func: ast.expr, module: Module) -> bool:
    return isinstance(func, ast.Name) or (
        isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in module.imports
    )


def made_class(ev: Interpreter, scope: object, frame: Frame) -> ClassRef | None:
    """The class of the instance an `__init__` makes (a subclass's that inherits it too), from its own first
    parameter's binding: its attributes read without making the instance again."""
    name = first_parameter(scope) if isinstance(scope, ast.AST) else None
    made = ev.force(ev.eval(ast.Name(name, ast.Load()), frame)) if name else None
    return made.cls if isinstance(made, InstanceRef) else None


def test_text(ev: Interpreter, test: ast.expr, frame: Frame, read: dict[str, int], module: Module) -> str:
    """A test's text: in an unrolled loop, each run's its own (item_test); else, a local holding what a variable
    gives (`raw = os.environ.get(name)` in a settings helper, then `if raw is None:`) named by that variable
    (`$DATABASE_CONN_HEALTH_CHECKS is None`), and one holding a string or a number it is given by that
    (`'DB_USER' in os.environ`, not `environ_key in os.environ`): the helper's own name says nothing where its
    caller's value shows the branch (django-shopman's, pyramid_openshift_starter's)."""
    if read:
        return item_test(ev, test, lambda node: ev.force(ev.eval(node, frame)), read, module)
    swaps: dict[str, str] = {}
    keys = membership_keys(test)
    for node in ast.walk(test):
        if isinstance(node, ast.Name) and node.id in frame.bindings and node.id not in swaps:
            value = ev.force(frame.bindings[node.id])
            exact = isinstance(value, SV) and value.env and (value.expr or "").startswith(f"${value.env}")
            if isinstance(value, SV) and value.env and (exact or (value.known and value.value is None)):
                swaps[node.id] = f"${value.env}"  # (the variable's own value, not a text made of it)
            elif isinstance(value, SV) and value.known and not value.env and literal(value.value) and id(node) in keys:
                swaps[node.id] = repr(value.value)  # (a helper's `environ_key in os.environ`: the key it is given)
    if not swaps:
        return module.segment(test)
    named = copy.deepcopy(test)
    for node in ast.walk(named):
        if isinstance(node, ast.Name) and node.id in swaps:
            node.id = swaps[node.id]
    return ast.unparse(named)
