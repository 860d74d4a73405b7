"""A method's own instance, as a Flask app's configuration reads it: what an object a statement calls a method of
was made by, where the receiver is not a module's global (an attribute a method of the class sets, `self.db =
SQLAlchemy()` in a helper `__init__` calls, or a loop's variable over a list written out, `for oo in [self.db,
self.cors]: oo.init_app(self.app)`: flask_covid19's); the method a call on `self` runs (`self.__init_db()`); and
the one call of the class the app makes, which its `self` is (none where it is made nowhere or in several places)."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from pool_doctor.scan.finder import FunctionNode, Module
from pool_doctor.scan.kinds import ClassRef, Frame, FuncRef, Interpreter
from pool_doctor.scan.nodes import own_nodes

COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)  # (each target a name of its own)


def made_by(module: Module, scope: ast.AST | None, receiver: ast.expr, depth: int = 0) -> Iterator[ast.expr]:
    """Each expression the receiver may hold: the values a class's methods set its `self.x` to; a loop
    variable's items (each followed in turn); the call a local bound once is made by; a name the scope does not
    set itself, as it is (a global's)."""
    if depth > 3 or not isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef):
        yield receiver
        return
    if isinstance(receiver, ast.Attribute) and _is_self(scope, receiver.value):
        klass = class_of(module, scope)
        for method in klass.body if klass is not None else []:
            if isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield from _sets(method, receiver.attr)
        return
    items = _loop_items(scope, receiver.id) if isinstance(receiver, ast.Name) else None
    if items is None:
        made = _local_call(scope, receiver.id) if isinstance(receiver, ast.Name) else None
        yield made if made is not None else receiver
        return
    for item in items:
        yield from made_by(module, scope, item, depth + 1)


def nested(frame: Frame, call: ast.Call) -> FuncRef | None:
    """The function of the frame's own that a call by name runs (koup-api's `config_parser(app, obj)`, defined in
    create_app)."""
    name = call.func.id if isinstance(call.func, ast.Name) else None
    body = frame.scope.body if isinstance(frame.scope, ast.FunctionDef | ast.AsyncFunctionDef) else []
    found = [f for f in body if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef) and f.name == name]
    return FuncRef(frame.module, found[-1]) if found else None


def call_frame(ev: Interpreter, helper: FuncRef, stmt: ast.stmt, frame: Frame) -> Frame | None:
    """A nested helper's frame as the statement's call gives its parameters (`config_parser(app, config_object)`:
    `obj` is create_app's `config_object`); None for any other helper (read as the app's one call gives them)."""
    call = stmt.value if isinstance(stmt, ast.Expr | ast.Assign) and isinstance(stmt.value, ast.Call) else None
    scope = frame.scope
    if call is None or not isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef) or helper.node not in scope.body:
        return None
    bound = ev.bind(helper, call, ev.flow.frame_at(scope, frame, stmt))
    return Frame(helper.module, bindings=bound.bindings, scope=helper.node)


def own_method(module: Module, scope: ast.AST | None, call: ast.Call) -> FuncRef | None:
    """The method of the scope's own class a call on its own instance runs (`self.__init_db()`)."""
    func = call.func
    if not isinstance(scope, ast.FunctionDef) or not isinstance(func, ast.Attribute) or not _is_self(scope, func.value):
        return None
    klass = class_of(module, scope)
    methods = [s for s in klass.body if isinstance(s, ast.FunctionDef)] if klass is not None else []
    return next((FuncRef(module, m) for m in methods if m.name == func.attr), None)


def made_once(ev: Interpreter, module: Module, scope: FunctionNode) -> tuple[ClassRef, Module, ast.Call] | None:
    """The one call of the class a method is written in that the app makes (calls in tests do not count): what
    its `self` is, and, for `__init__`, its arguments; None for a class made nowhere or in several places, or a
    class's classmethod or staticmethod."""
    klass = class_of(module, scope)
    plain = not any(isinstance(d, ast.Name) and d.id in ("classmethod", "staticmethod") for d in scope.decorator_list)
    if klass is None or not plain:
        return None
    found = []
    modules = [m for m in list(ev.project.modules.values()) if m is not None and not m.aside]  # (a read may parse)
    for other in modules:
        for site in other.calls.get(klass.name, []):
            made = ev.force(ev.eval(site.call.func, Frame(other)))
            if isinstance(made, ClassRef) and made.node is klass:
                found.append((made, other, site.call))
    return found[0] if len(found) == 1 else None


def _is_self(scope: FunctionNode, node: ast.expr) -> bool:
    params = [*scope.args.posonlyargs, *scope.args.args]
    return bool(params) and isinstance(node, ast.Name) and node.id == params[0].arg


def class_of(module: Module, scope: ast.AST | None) -> ast.ClassDef | None:
    """The class whose body the function is written in (a method's)."""
    return next(
        (n for n in ast.walk(module.tree) if isinstance(n, ast.ClassDef) and any(s is scope for s in n.body)), None
    )


def _sets(method: FunctionNode, attr: str) -> Iterator[ast.expr]:
    params = [*method.args.posonlyargs, *method.args.args]
    me = params[0].arg if params else None
    for node in ast.walk(method):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Attribute) and target.attr == attr and _named(target.value, me):
                yield node.value


def _named(node: ast.expr, name: str | None) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def _loop_items(scope: FunctionNode, name: str) -> list[ast.expr] | None:
    """The items of the list (or tuple) a `for name in ...` of the scope runs over, written there or assigned
    to a name once before."""
    lists = {
        n.targets[0].id: n.value
        for n in ast.walk(scope)
        if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name)
    }
    for node in ast.walk(scope):
        if isinstance(node, ast.For) and _named(node.target, name):
            over = lists.get(node.iter.id) if isinstance(node.iter, ast.Name) else node.iter
            return list(over.elts) if isinstance(over, ast.List | ast.Tuple) else None
    return None


def _local_call(scope: FunctionNode, name: str) -> ast.Call | None:
    """The call a local the scope binds once is made by (ecology_bot's `db = get_db()` in create_app, a factory
    returning `SQLAlchemy(...)`); None for a global, a parameter, or a name bound more than once."""
    own = list(own_nodes(scope, also=COMPREHENSIONS))  # (a nested teardown's `db = g.pop(...)` is its own `db`)
    binds = [n for n in own if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store)]
    params = {a.arg for a in (*scope.args.posonlyargs, *scope.args.args, *scope.args.kwonlyargs)}
    if len(binds) != 1 or name in params or any(name in n.names for n in own if isinstance(n, ast.Global)):
        return None
    made = next((n.value for n in own if isinstance(n, ast.Assign) and binds[0] in n.targets), None)
    return made if isinstance(made, ast.Call) else None
