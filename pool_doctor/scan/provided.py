"""dependency-injector's providers as the calls they make: `providers.Singleton(f, *args, **kw)` calls
`f(*args, **kw)` when the container is first asked for it (finder indexes that call; pycalls gives its value).

dependency-injector 4: calling a provider (`container.db()`) gives what it provides, made with the provider's
arguments and the call's (the call's keywords win); an argument that is itself a provider is given as what it
provides (`Singleton(Database, settings=settings)`), as is `x.provided`. `.override(...)` is not read.
"""

from __future__ import annotations

import ast
import copy

from pool_doctor.scan.names import dotted_parts, last_name

SYNC_RUNNERS = {"async_to_sync", "sync_to_async"}  # asgiref: `async_to_sync(f)(*args)` calls f(*args)

INJECTED = "__pool_doctor_injected__"  # `providers.<INJECTED>(x)`: x, or what x provides when x is a provider
ARGS, KWARGS = "__pool_doctor_args", "__pool_doctor_kwargs"
PROVIDERS = {
    f"dependency_injector.providers.{kind}{name}"
    for kind in ("", "ThreadSafe", "ThreadLocal", "ContextLocal", "Delegated", "Abstract")
    for name in ("Singleton", "Factory", "Callable", "Coroutine", "Resource")
}
INJECTIONS = {f"{owner}.{INJECTED}" for owner in ("dependency_injector.providers", *PROVIDERS)}


def provider_call(call: ast.Call, imports: dict[str, str]) -> ast.Call | None:
    """`providers.Singleton(f, *args, **kw)` as the call `f(*args, **kw)` it makes, each argument given as what
    it provides when it is a provider (INJECTED), `.provided` a call of the provider."""
    func = call.func.value if isinstance(call.func, ast.Subscript) else call.func  # (`Singleton[Database](...)`)
    parts = dotted_parts(func)
    if not parts or not call.args or isinstance(call.args[0], ast.Starred) or parts[0] not in imports:
        return None
    if ".".join([imports[parts[0]], *parts[1:]]) not in PROVIDERS:
        return None
    owner = func.value if isinstance(func, ast.Attribute) else func  # (`providers`, or `Singleton`)
    strip = _Provided()  # on copies: the call itself stays as written

    def given(node: ast.expr) -> ast.expr:
        node = strip.visit(copy.deepcopy(node))
        return node if isinstance(node, ast.Starred) else ast.Call(ast.Attribute(owner, INJECTED), [node], [])

    made = ast.Call(
        call.args[0], [given(a) for a in call.args[1:]], [ast.keyword(k.arg, given(k.value)) for k in call.keywords]
    )
    return ast.fix_missing_locations(ast.copy_location(made, call))


def provider_lambda(made: ast.Call, at: ast.AST) -> ast.Lambda:
    """`lambda *args, **kwargs: f(<the provider's arguments>, *args, **kwargs)`: the provider as a callable."""
    takes = ast.arguments(
        posonlyargs=[], args=[], vararg=ast.arg(ARGS), kwonlyargs=[], kw_defaults=[], kwarg=ast.arg(KWARGS), defaults=[]
    )
    body = ast.Call(
        made.func,
        [*made.args, ast.Starred(ast.Name(ARGS, ast.Load()), ast.Load())],
        [*made.keywords, ast.keyword(None, ast.Name(KWARGS, ast.Load()))],
    )
    made_lambda = ast.fix_missing_locations(ast.copy_location(ast.Lambda(takes, ast.copy_location(body, at)), at))
    made_lambda._pd_provider = True  # type: ignore[attr-defined]  # (is_provider)
    return made_lambda


def is_provider(node: ast.AST) -> bool:
    return getattr(node, "_pd_provider", False) is True


class _Provided(ast.NodeTransformer):
    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        inner: ast.expr = self.visit(node.value)
        if node.attr == "provided":  # what the provider gives: a call of it
            return ast.copy_location(ast.Call(inner, [], []), node)
        return ast.copy_location(ast.Attribute(inner, node.attr, node.ctx), node)


def calls_made(call: ast.Call, imports: dict[str, str], deferred: set[int]) -> list[ast.Call]:
    """The calls of f a call makes that name f elsewhere than as its callee, each as the call of f it is there:
    `functools.partial(f, *args, **kw)` handed to another call (openmaptiles' `io_loop.run_sync(partial(
    create_pool, dsn=...))`), asgiref's `async_to_sync(f)(*args)` / `sync_to_async(f)(*args)`, and
    dependency-injector's `providers.Singleton(f, *args, **kw)` (deferred: made when first asked), and a process's
    or thread's target."""
    if provided := provider_call(call, imports):
        deferred.add(id(provided))
        return [provided]
    made = [
        ast.copy_location(ast.Call(arg.args[0], arg.args[1:], arg.keywords), arg)
        for arg in [*call.args, *(kw.value for kw in call.keywords)]
        if isinstance(arg, ast.Call)
        and last_name(arg.func) == "partial"
        and arg.args
        and not isinstance(arg.args[0], ast.Starred)
    ]
    runner = call.func if isinstance(call.func, ast.Call) else None
    ran = runner.args[0] if runner is not None and len(runner.args) == 1 else None
    if runner is not None and last_name(runner.func) in SYNC_RUNNERS and not isinstance(ran, ast.Starred | None):
        made.append(ast.copy_location(ast.Call(ran, call.args, call.keywords), call))
    made.extend(started_call(call))
    aiohttp = any(dotted.partition(".")[0] == "aiohttp" for dotted in imports.values())
    return [*made, *signal_calls(call)] if aiohttp else made


def started_call(call: ast.Call) -> list[ast.Call]:
    """`Process(target=f, args=(...), kwargs={...})` (multiprocessing's, a context's, a project's `SpawnProcess`)
    and `Thread(...)`: the call `f(*args, **kwargs)` the new process or thread makes (parsl's `dbm_starter`)."""
    name = last_name(call.func) or ""
    given = {kw.arg: kw.value for kw in call.keywords if kw.arg in ("target", "args", "kwargs")}
    target = given.get("target")
    if not (name.endswith("Process") or name == "Thread") or not isinstance(target, ast.Name | ast.Attribute):
        return []
    args = given.get("args")
    positional: list[ast.expr] = list(args.elts) if isinstance(args, ast.Tuple | ast.List) else []
    if args is not None and not isinstance(args, ast.Tuple | ast.List):
        positional.append(ast.Starred(args, ast.Load()))
    spread = [ast.keyword(None, given["kwargs"])] if "kwargs" in given else []
    return [ast.fix_missing_locations(ast.copy_location(ast.Call(target, positional, spread), call))]


# aiohttp's signals: each handler (an on_startup coroutine, a cleanup_ctx async generator) is called with the app
SIGNALS = {"on_startup", "on_shutdown", "on_cleanup", "cleanup_ctx"}


def signal_calls(call: ast.Call) -> list[ast.Call]:
    """`app.on_startup.append(init_pg)`, `app.cleanup_ctx.extend([pg_pool, redis])` in a module importing
    aiohttp: each handler's call with the app, where it is registered (pyslackers' `postgresql_pool(app)`
    reading `app["DATABASE_URL"]`). Starlette's `router.on_startup` handlers take no argument."""
    func = call.func
    signal = func.value if isinstance(func, ast.Attribute) and func.attr in ("append", "extend", "insert") else None
    if not (isinstance(signal, ast.Attribute) and signal.attr in SIGNALS and isinstance(signal.value, ast.Name)):
        return []
    assert isinstance(func, ast.Attribute)
    given = call.args[-1] if call.args else None
    listed = given.elts if isinstance(given, ast.List | ast.Tuple) else []
    handlers = listed if func.attr == "extend" else [given]
    app = ast.copy_location(ast.Name(signal.value.id, ast.Load()), signal.value)
    return [
        ast.copy_location(ast.Call(handler, [app], []), call)
        for handler in handlers
        if isinstance(handler, ast.Name | ast.Attribute)
    ]
