"""What a statement does to the names it touches, read from its syntax alone: the names it assigns, and the
one it changes in place."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import TypeGuard

from pool_doctor.scan.names import dotted_parts

LOCALS = "locals()"  # a statement handing its module's names to a call (Module.mutations' key for it)

# Methods that change their object in place: a dict's, a list's, a ConfigParser's.
MUTATING_METHODS = frozenset(
    {"update", "setdefault", "pop", "append", "extend", "clear", "read", "read_file", "read_string", "read_dict", "set"}
)


def changed_name(stmt: ast.stmt) -> str | None:
    """The name a statement changes in place (`X["a"]["b"] = v`, `X |= {...}`, `X.update(...)`, `del X["a"]`)."""
    target: ast.AST | None = None
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Subscript):
        target = stmt.targets[0]
    elif isinstance(stmt, ast.AugAssign):
        target = stmt.target
    elif isinstance(stmt, ast.Delete) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Subscript):
        target = stmt.targets[0]
    elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and updates_names(stmt.value):
        return LOCALS
    elif (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Call)
        and isinstance(stmt.value.func, ast.Attribute)
        and stmt.value.func.attr in MUTATING_METHODS
    ):
        target = stmt.value.func.value
    elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        return LOCALS if hands_names(stmt.value) else None
    while isinstance(target, ast.Subscript) or _setdefault_of(target) is not None:
        target = target.value if isinstance(target, ast.Subscript) else _setdefault_of(target)
    return target.id if isinstance(target, ast.Name) else None


def _setdefault_of(node: ast.AST | None) -> ast.expr | None:
    """`d` of `d.setdefault(key, ...)`, a part of `d` (kpi's `database.setdefault("OPTIONS", {})["options"] = ...`)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "setdefault":
        return node.func.value
    return None


def hands_names(call: ast.Call) -> bool:
    """A call that may change any of the module's names: one handed `locals()` (django_heroku.settings), or an
    `include(...)` (django-split-settings' runs files in them). Which library it is, the caller works out."""
    handed = bool(call.args) and ast.unparse(call.args[0]) == LOCALS
    return handed or ast.unparse(call.func).rpartition(".")[2] == "include"


ANY_SETTING = "*"  # Module.rebound's key for a function that may set any of the module's names (globals().update)


def updates_names(call: ast.Call, scopes: tuple[str, ...] = ("vars", "globals", "locals")) -> bool:
    """`vars().update(config)`, `globals().update(config)`: the names of the scope it runs in (at a module's top,
    `locals()` too), each key one."""
    inner = call.func.value if isinstance(call.func, ast.Attribute) and call.func.attr == "update" else None
    named = isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name) and inner.func.id in scopes
    return named and not inner.args and len(call.args) == 1 and not call.keywords  # type: ignore[union-attr]


def globals_update(call: ast.Call) -> bool:
    """`globals().update(config)`, which sets the module's names from inside a function too."""
    return updates_names(call, ("globals",))


def attribute_set(node: ast.AST) -> tuple[str, ast.expr] | None:
    """`setattr(obj, attr, v)`, `object.__setattr__(obj, attr, v)` on a name: that name and the attribute's
    expression (a literal name, or one the code computes)."""
    if not (isinstance(node, ast.Call) and ast.unparse(node.func) in ("setattr", "object.__setattr__")):
        return None
    if len(node.args) != 3 or not isinstance(node.args[0], ast.Name):
        return None
    return node.args[0].id, node.args[1]


def named_attribute(node: ast.expr) -> str | None:
    """The attribute a setattr names as a literal (`setattr(cfg, "pool_size", v)`), else None."""
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def assigned_names(stmt: ast.stmt) -> list[tuple[str, ast.expr]]:
    """`a = b = value`, `a: int = value`: each plain name with its value; `a, b = value` (patchew's `DEBUG,
    DATA_DIR, DATABASES = env_detect()`): each name with its item of the value, `value[i]` (a literal's own)."""
    if isinstance(stmt, ast.Assign):
        found = [(t.id, stmt.value) for t in stmt.targets if isinstance(t, ast.Name)]
        for target in (t for t in stmt.targets if isinstance(t, (ast.Tuple, ast.List))):
            if any(not isinstance(e, ast.Name) for e in target.elts):
                continue  # (`a, *rest = ...`, `a.b, c = ...`: not followed)
            value = stmt.value
            items = (
                value.elts if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts) else None
            )
            for index, element in enumerate(target.elts):
                assert isinstance(element, ast.Name)
                found.append((element.id, items[index] if items is not None else _item(stmt, index, element)))
        return found
    if isinstance(stmt, ast.AnnAssign) and stmt.value is not None and isinstance(stmt.target, ast.Name):
        return [(stmt.target.id, stmt.value)]
    return []


def _item(stmt: ast.Assign, index: int, near: ast.AST) -> ast.expr:
    """`value[index]`, written where the target is: the same node each time (kept on the statement)."""
    items: dict[int, ast.expr] = stmt.__dict__.setdefault("_pool_doctor_items", {})
    if index not in items:
        items[index] = ast.copy_location(ast.Subscript(stmt.value, ast.Constant(index), ast.Load()), near)
    return items[index]


def env_sets(stmt: ast.stmt, sets: dict[str, ast.expr], conditions: tuple[tuple[ast.expr, bool], ...] = ()) -> None:
    """`os.environ.setdefault("X", v)` (X is v unless set: a value set before stays) and `os.environ["X"] = v`
    (X is v), at import: each variable with the value it is given, into `sets`. Not under `if __name__ ==
    "__main__":`, which runs only in that program (mobility-feed-api's export_csv local run)."""
    if any(taken and is_main_test(test) for test, taken in conditions):
        return
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        call = stmt.value
        name = call.args[0].value if len(call.args) == 2 and isinstance(call.args[0], ast.Constant) else None
        if (dotted_parts(call.func) or [])[-2:] == ["environ", "setdefault"] and isinstance(name, str):
            sets.setdefault(name, call.args[1])
    elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Subscript):
        target = stmt.targets[0]
        key = target.slice.value if isinstance(target.slice, ast.Constant) else None
        if (dotted_parts(target.value) or [])[-1:] == ["environ"] and isinstance(key, str):
            sets[key] = stmt.value


IMPORTERS = (["pytest", "importorskip"], ["importlib", "import_module"], ["import_module"], ["__import__"])


def imported_by_call(stmt: ast.stmt) -> dict[str, str]:
    """`name = pytest.importorskip("psycopg_pool")` (or `importlib.import_module("...")`, `__import__("...")` of a
    literal): the module the name is bound to, as `import psycopg_pool as name` binds it (`__import__("a.b")`
    gives `a`, as `import a.b` binds it)."""
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.value, ast.Call)):
        return {}
    call, target = stmt.value, stmt.targets[0]
    if dotted_parts(call.func) not in IMPORTERS or len(call.args) != 1:
        return {}
    module = call.args[0]
    name = module.value if isinstance(module, ast.Constant) and isinstance(module.value, str) else "."
    name = name.split(".")[0] if dotted_parts(call.func) == ["__import__"] else name
    return {target.id: name} if isinstance(target, ast.Name) and not name.startswith(".") else {}


def added_keys(stmt: ast.stmt) -> tuple[str, list[str] | None] | None:
    """The name of the dict a statement may add keys to in place, and those keys (None: keys the code computes):
    `NAME[key] = v` (or `NAME[key][...] = v`, which changes that key's value), `NAME.update({...})`,
    `NAME.setdefault(key, v)`, `NAME |= ...`; not `pop`, `del` or `clear`, which add none."""
    target: ast.expr | None = None
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Subscript):
        target = stmt.targets[0]
        while isinstance(target, ast.Subscript) and isinstance(target.value, ast.Subscript):
            target = target.value
    if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
        key = target.slice
        return target.value.id, [key.value] if isinstance(key, ast.Constant) and isinstance(key.value, str) else None
    if isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name) and isinstance(stmt.op, ast.BitOr):
        return stmt.target.id, None
    call = stmt.value if isinstance(stmt, ast.Expr) else None
    if not (
        isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name)
    ):
        return None
    name, method = call.func.value.id, call.func.attr
    if method == "setdefault" and call.args and isinstance(call.args[0], ast.Constant):
        return name, [str(call.args[0].value)]
    if method != "update":
        return None
    given = call.args[0] if len(call.args) == 1 and not call.keywords else None
    if isinstance(given, ast.Dict) and all(isinstance(k, ast.Constant) for k in given.keys):
        return name, [str(k.value) for k in given.keys if isinstance(k, ast.Constant)]
    if not call.args and all(kw.arg for kw in call.keywords):
        return name, [str(kw.arg) for kw in call.keywords]
    return name, None


def memo_fills(body: list[ast.stmt], name: str) -> set[int]:
    """The statements of an `if key not in NAME:` or `if not NAME:` (a cache filled on its first use, read after):
    not a fill that leaves a key of NAME unknown to the code that reads it (the cache's own lookup reads it)."""
    found: set[int] = set()
    for node in (n for stmt in body for n in ast.walk(stmt)):
        test = node.test if isinstance(node, ast.If) else None
        empty = isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not) and _is_name(test.operand, name)
        absent = (
            isinstance(test, ast.Compare)
            and len(test.ops) == 1
            and isinstance(test.ops[0], ast.NotIn)
            and _is_name(test.comparators[0], name)
        )
        if isinstance(node, ast.If) and (empty or absent):
            found |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return found


def _is_name(node: ast.expr, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def is_main_test(test: ast.expr) -> bool:
    """`__name__ == "__main__"`."""
    return (
        isinstance(test, ast.Compare)
        and any(isinstance(n, ast.Name) and n.id == "__name__" for n in ast.walk(test))
        and any(isinstance(n, ast.Constant) and n.value == "__main__" for n in ast.walk(test))
    )


def looped_item(stmt: ast.For | ast.AsyncFor | ast.While) -> tuple[ast.Name, ast.expr] | None:
    """`for v in d.values()` (or `for k, v in d.items()`) whose body never binds `v` again: the loop's name for
    each item and the dict (`v = dict(v)` in the body makes a copy, no part of `d`)."""
    call = stmt.iter if isinstance(stmt, (ast.For, ast.AsyncFor)) else None
    if not (isinstance(call, ast.Call) and not call.args and isinstance(call.func, ast.Attribute)):
        return None
    target = stmt.target if isinstance(stmt, (ast.For, ast.AsyncFor)) else None
    name = target if call.func.attr == "values" else None
    if call.func.attr == "items" and isinstance(target, ast.Tuple) and len(target.elts) == 2:
        name = target.elts[1]
    if not isinstance(name, ast.Name):
        return None
    stores = (n for b in stmt.body for n in ast.walk(b) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
    return None if any(n.id == name.id for n in stores) else (name, call.func.value)


def loop_changes(stmt: ast.For | ast.AsyncFor | ast.While) -> Iterator[tuple[str, ast.stmt]]:
    """The names a loop at a module's top changes in place, each with the statement that does: the loop's item
    of `for item in d.values()` (`for key, item in d.items()`) is `d`'s (open-forms' `for db_config in
    DATABASES.values(): db_config["CONN_MAX_AGE"] = 60` changes DATABASES), and so is a name bound to a part of it
    (kpi's `options = database.setdefault("OPTIONS", {})`)."""
    looped = looped_item(stmt)
    items = {looped[0].id: looped[1].id} if looped is not None and isinstance(looped[1], ast.Name) else {}
    for inner in (n for n in ast.walk(stmt) if isinstance(n, ast.stmt) and n is not stmt):
        part = part_of = inner.value if isinstance(inner, ast.Assign) and len(inner.targets) == 1 else None
        while isinstance(part, ast.Subscript) or _setdefault_of(part) is not None:  # `options = item.setdefault(..)`
            part = part.value if isinstance(part, ast.Subscript) else _setdefault_of(part)
        bound = inner.targets[0] if isinstance(inner, ast.Assign) else None
        if isinstance(bound, ast.Name) and isinstance(part, ast.Name) and part.id in items and part is not part_of:
            items[bound.id] = items[part.id]
        if (changed := changed_name(inner)) is not None:
            yield items.get(changed, changed), inner


def decorator_names(func: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """The last names of a function's decorators (`staticmethod`, `cached_property`; "" for a call's)."""
    return {(dotted_parts(d) or [""])[-1] for d in func.decorator_list}


def defines(stmt: ast.stmt, name: str) -> TypeGuard[ast.FunctionDef | ast.AsyncFunctionDef]:
    """A class body's `def name` that is the method, not an @overload's stub (waseem-django-template's Env.int);
    the first such: a property's getter, not the setter after it."""
    return (
        isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef)
        and stmt.name == name
        and "overload" not in decorator_names(stmt)
    )
