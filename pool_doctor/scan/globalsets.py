"""A module global that one of the module's functions sets through `global` (LBGenerator's `set_globals()`,
DeanAgent-Backend's `_connect_kwargs = None` until `init_pool(...)` sets it): where a read runs once that function
ran, what the function leaves there."""

from __future__ import annotations

import ast
from typing import Any

from pool_doctor.scan.appconfig import enclosing_function
from pool_doctor.scan.callers import parse_naming
from pool_doctor.scan.finder import FunctionNode, Module, Project
from pool_doctor.scan.kinds import SV, Branches, DictV, Frame
from pool_doctor.scan.nodes import own_nodes


def set_before_read(module: Module, name: str, node: ast.AST | None) -> bool:
    """Whether a read of a global the module binds only to None is one its setter has run before: a read inside
    one of the module's functions (one at the module's top runs at import, before anything calls the setter)."""
    setter = module.functions.get(module.rebound.get(name, ""))
    placeholder = all(isinstance(a.value, ast.Constant) and a.value.value is None for a in module.assigns[name])
    if setter is None or not placeholder or node is None:
        return False
    return enclosing_function(module.tree, node) is not None


def early_exit(setter: FunctionNode, left: Any, where: str | None) -> Any:
    """What a setter with a `return` before its end leaves (`if not url: return`, before it sets the global): what
    its end sets, or the None it may leave as it was; a read that tests for None first (`if _kwargs is None:
    raise`) keeps the one."""
    last = setter.body[-1]
    if not any(isinstance(n, ast.Return) and n is not last for n in own_nodes(setter)):
        return left
    return Branches([(f"{setter.name}() ran to its end", left), (f"{setter.name}() returned first", SV(None, where))])


def setter_frame(project: Project, module: Module, func: FunctionNode) -> Frame | None:
    """The setter's frame as its calls give it: None where no call the tree holds gives it anything (its
    defaults); else each parameter unknown, a `**kwargs` empty only where no call gives it a keyword."""
    parse_naming(project, func.name.encode())  # (the files that call it, read now: DeanAgent's main.py)
    calls = [s.call for m in list(project.modules.values()) if m for s in m.calls.get(func.name, [])]
    if not any(call.args or call.keywords for call in calls):
        return None
    args = func.args
    named = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)}
    given = named | ({args.vararg.arg} if args.vararg is not None else set())
    bindings: dict[str, Any] = {name: SV(None, None, known=False, expr=name) for name in given}
    if args.kwarg is not None:
        spread = any(k.arg is None or k.arg not in named for call in calls for k in call.keywords)
        bindings[args.kwarg.arg] = DictV({}, None, [f"**{args.kwarg.arg}"] if spread else [])
    return Frame(module, bindings=bindings, scope=func)
