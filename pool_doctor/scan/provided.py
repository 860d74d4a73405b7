"""dependency-injector's providers as the calls they make: `providers.Singleton(f, *args, **kw)` calls
`f(*args, **kw)` when the container is first asked for it (finder indexes that call; pycalls gives its value)."""

from __future__ import annotations

import ast
import copy

from pool_doctor.scan.names import dotted_parts

PROVIDERS = {
    f"dependency_injector.providers.{kind}{name}"
    for kind in ("", "ThreadSafe", "ThreadLocal", "ContextLocal", "Delegated", "Abstract")
    for name in ("Singleton", "Factory", "Callable", "Coroutine", "Resource")
}


def provider_call(call: ast.Call, imports: dict[str, str]) -> ast.Call | None:
    """`providers.Singleton(f, *args, **kw)` as the call `f(*args, **kw)` it makes, another provider's
    `.provided` read as what it provides, a call of it (`settings.provided.database_url`)."""
    parts = dotted_parts(call.func)
    if not parts or not call.args or isinstance(call.args[0], ast.Starred) or parts[0] not in imports:
        return None
    if ".".join([imports[parts[0]], *parts[1:]]) not in PROVIDERS:
        return None
    strip = _Provided()  # on copies: the call itself stays as written
    made = ast.Call(
        call.args[0],
        [strip.visit(copy.deepcopy(a)) for a in call.args[1:]],
        [strip.visit(copy.deepcopy(k)) for k in call.keywords],
    )
    return ast.copy_location(made, call)


class _Provided(ast.NodeTransformer):
    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        inner: ast.expr = self.visit(node.value)
        if node.attr == "provided":  # what the provider gives: a call of it
            return ast.copy_location(ast.Call(inner, [], []), node)
        return ast.copy_location(ast.Attribute(inner, node.attr, node.ctx), node)
