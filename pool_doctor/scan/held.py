"""Patterns in the app's own source that hold a connection too long or never give it back (FIELD_NOTES 8),
found by walking each module's syntax tree (stdlib ast; nothing is imported or run):

- a generator dependency that yields a session with no try/finally and no context manager around the yield;
- a route that returns a streaming response while it depends on a database session;
- a transaction (`session.begin()`, `engine.begin()`, asyncpg's `conn.transaction()`) open across a call to
  a known HTTP or LLM client (a conservative list: CLIENT_MODULES);
- `engine.connect()` / `await pool.acquire()` outside a context manager, never released in the function.

Conservative on purpose: a name must look like a session, an engine or a pool, and a client must come from
one of the listed modules, so the correct patterns (`try/finally`, `with Session(engine) as session: yield
session`) and unrelated code are never flagged.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from pool_doctor.model import Finding, Severity
from pool_doctor.rules import codes
from pool_doctor.scan import releases
from pool_doctor.scan.model import Site
from pool_doctor.scan.names import last_name
from pool_doctor.scan.nodes import own_nodes

# Modules whose calls are slow external work: HTTP clients and LLM SDKs.
CLIENT_MODULES = frozenset({"httpx", "aiohttp", "requests", "openai", "anthropic"})
STREAMING_RESPONSES = frozenset({"StreamingResponse", "EventSourceResponse"})
# What the walk takes for a session or a connection, by the name of the call that made it.
SESSION_MAKER = re.compile(r"(?i)session|connect|acquire|getconn")
SESSION_NAME = re.compile(r"(?i)session|(^|_)db($|_)|conn")
POOL_OWNER = re.compile(r"(?i)engine|pool")
TRANSACTION_CALLS = frozenset({"begin", "begin_nested", "transaction"})
RELEASES = frozenset({"close", "release", "putconn", "aclose", "detach", "invalidate"})
# Files worth parsing for one pattern at least: the scan's budget (bench/scan.py) allows parsing few files
# beyond those naming a pool library, so each pattern's words must all show (regular expressions, in C).
_CLIENT_IMPORT = rb"^[ \t]*(?:import|from)[ \t]+(?:" + b"|".join(sorted(n.encode() for n in CLIENT_MODULES)) + rb")\b"
NEEDLES: tuple[tuple[bytes, tuple[re.Pattern[bytes], ...]], ...] = tuple(
    (literal, tuple(re.compile(pattern, re.MULTILINE) for pattern in patterns))
    for literal, patterns in (  # a plain substring first (fast), then the expressions
        (b"yield", (rb"[Ss]ession\w*\(|getconn\(|\.connect\(|\.acquire\(",)),
        (b"Depends", (rb"\b(?:StreamingResponse|EventSourceResponse)\(",)),
        (b"begin", (rb"\.(?:begin|begin_nested)\(", _CLIENT_IMPORT)),
        (b"transaction(", (_CLIENT_IMPORT,)),
        (b".connect()", (rb"(?:[Ee]ngine|[Pp]ool)\w*\.connect\(\)",)),
        (b".acquire()", (rb"[Pp]ool\w*\.acquire\(\)",)),
    )
)

Function = ast.FunctionDef | ast.AsyncFunctionDef


def worth_parsing(data: bytes | str) -> bool:
    text = data if isinstance(data, bytes) else data.encode("utf-8", "replace")
    return any(literal in text and all(p.search(text) for p in patterns) for literal, patterns in NEEDLES)


def held_findings(tree: ast.Module, file: str) -> list[tuple[Site, Finding]]:
    """Every pattern in one module, in line order."""
    clients = _client_names(tree)
    makers = _maker_names(tree)
    found: list[tuple[Site, Finding]] = []
    for function in _functions(tree):
        nodes = list(own_nodes(function))  # walked once, read by each pattern
        found += _yield_without_finally(function, nodes, file, makers)
        found += _streaming_with_session(function, nodes, file)
        if clients:
            found += _transaction_across_call(function, nodes, file, clients)
        found += _never_released(function, nodes, file)
    # As a pool's findings do, each names its place first (SARIF's message gives the rest).
    found = [(site, replace(finding, evidence=[site.where, *finding.evidence])) for site, finding in found]
    return sorted(found, key=lambda pair: (pair[0].line, pair[1].code))


# -- helpers --------------------------------------------------------------------------------------------


def _functions(tree: ast.AST) -> Iterator[Function]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def _callee(node: ast.AST) -> str | None:
    """`a.b.c(...)` -> "c"; `f(...)` -> "f"; `await x(...)` as the call; anything else None."""
    if isinstance(node, ast.Await):
        node = node.value
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None


def _receiver(node: ast.AST) -> str | None:
    """`engine.connect()` -> "engine"; `self.pool.acquire()` -> "pool"."""
    if isinstance(node, ast.Await):
        node = node.value
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        value = node.func.value
        if isinstance(value, ast.Name):
            return value.id
        if isinstance(value, ast.Attribute):
            return value.attr
    return None


def _root(node: ast.AST) -> str | None:
    """The leftmost name of an attribute chain or call: `httpx.AsyncClient().get` -> "httpx"."""
    while True:
        if isinstance(node, ast.Await):
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            node = node.value
        elif isinstance(node, ast.Name):
            return node.id
        else:
            return None


def _client_names(tree: ast.Module) -> set[str]:
    """Names bound to the client modules anywhere in the module (imports, and clients made from them)."""
    names: set[str] = set()
    bindings: list[tuple[str, ast.AST]] = []  # (name, value) of every assignment and `with ... as`
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in CLIENT_MODULES:
                    names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in CLIENT_MODULES:
            names.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.With | ast.AsyncWith):
            pairs: list[tuple[Any, ast.AST]] = []
            if isinstance(node, ast.Assign):
                pairs = [(target, node.value) for target in node.targets]
            elif isinstance(node, ast.AnnAssign):
                pairs = [(node.target, node.value)] if node.value is not None else []
            else:
                pairs = [(item.optional_vars, item.context_expr) for item in node.items if item.optional_vars]
            for target, value in pairs:
                name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", None)
                if name:
                    bindings.append((name, value))
    if not names:
        return names
    # client = httpx.AsyncClient(); llm = OpenAI(); async with aiohttp.ClientSession() as s: a few rounds
    for _ in range(3):
        new = {name for name, value in bindings if name not in names and _root(value) in names}
        if not new:
            break
        names |= new
    return names


def _line_range(node: ast.AST) -> tuple[int, int]:
    line = getattr(node, "lineno", 1)
    return line, getattr(node, "end_lineno", None) or line


def _site(file: str, node: ast.AST) -> Site:
    line, end = _line_range(node)
    return Site(file, line, end)


# -- the patterns ---------------------------------------------------------------------------------------


def _maker_names(tree: ast.Module) -> set[str]:
    """Names the module binds to a session factory (`SyncLocal = sessionmaker(engine)`): calling one makes a
    session whatever it is called."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            callee = _callee(node.value)
            if callee and SESSION_MAKER.search(callee):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names.update(target.id for target in targets if isinstance(target, ast.Name))
    return names


def _session_names(nodes: list[ast.AST], makers: set[str]) -> dict[str, int]:
    """Names the function binds to a session or connection it makes: name -> line."""
    names: dict[str, int] = {}
    for node in nodes:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            value = node.value
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            callee = _callee(value) if value is not None else None
            if callee and (SESSION_MAKER.search(callee) or callee in makers):
                for target in targets:
                    if isinstance(target, ast.Name):
                        names[target.id] = node.lineno
    return names


def _protected_yields(nodes: list[ast.AST]) -> set[int]:
    """ids of the yields inside a `try` with a `finally`, or inside a `with` / `async with` body."""
    protected: set[int] = set()
    for node in nodes:
        guarded: list[ast.stmt] = []
        if isinstance(node, ast.Try | ast.TryStar) and (node.finalbody or _closes_on_error(node)):
            guarded = node.body + [h for handler in node.handlers for h in handler.body] + node.orelse
        elif isinstance(node, ast.With | ast.AsyncWith):
            guarded = node.body
        for statement in guarded:
            for inner in ast.walk(statement):
                if isinstance(inner, ast.Yield):
                    protected.add(id(inner))
    return protected


BROAD = frozenset({"Exception", "BaseException"})


def _closes_on_error(node: ast.Try | ast.TryStar) -> bool:
    """A `try` whose broad `except` (bare, Exception, BaseException) closes something: the session is closed
    when the route raises, as a `finally` would close it (`except Exception: rollback; close; raise`)."""
    for handler in node.handlers:
        broad = handler.type is None or (isinstance(handler.type, ast.Name) and handler.type.id in BROAD)
        if broad and any(_callee(inner) == "close" for statement in handler.body for inner in ast.walk(statement)):
            return True
    return False


def _yield_without_finally(
    function: Function, nodes: list[ast.AST], file: str, makers: set[str]
) -> list[tuple[Site, Finding]]:
    yields = [node for node in nodes if isinstance(node, ast.Yield) and isinstance(node.value, ast.Name)]
    if not yields or any(_is_fixture(d) for d in function.decorator_list):
        return []  # (pytest runs a fixture's code after its yield when the test fails too: fastapi-sqla's)
    sessions = _session_names(nodes, makers)
    if not sessions:
        return []
    protected = _protected_yields(nodes)
    found = []
    for node in yields:
        if not isinstance(node, ast.Yield) or id(node) in protected:
            continue
        value = node.value
        if isinstance(value, ast.Name) and value.id in sessions:
            closed = any(_callee(inner) == "close" and _receiver(inner) == value.id for inner in nodes)
            never = "it is never closed when the route raises" if closed else "it is never closed"
            found.append(
                (
                    _site(file, node),
                    Finding(
                        codes.SESSION_DEPENDENCY_WITHOUT_FINALLY.code,
                        Severity.WARNING,
                        f"{function.name} yields {value.id} with no try/finally: {never}",
                        codes.SESSION_DEPENDENCY_WITHOUT_FINALLY.help,
                        [
                            f"{value.id} made at line {sessions[value.id]}, yielded at line {node.lineno}",
                            "no try/finally and no with around the yield",
                        ],
                    ),
                )
            )
    return found


def _is_fixture(decorator: ast.expr) -> bool:
    """`@pytest.fixture`, `@fixture(scope=...)`, `@pytest_asyncio.fixture`, the older `@pytest.yield_fixture`."""
    named = decorator.func if isinstance(decorator, ast.Call) else decorator
    return (named.attr if isinstance(named, ast.Attribute) else getattr(named, "id", None)) in FIXTURES


FIXTURES = ("fixture", "yield_fixture")


def _depends_on_session(function: Function) -> str | None:
    """The parameter that receives a database session through FastAPI's Depends, if any."""
    arguments = function.args
    params = arguments.posonlyargs + arguments.args + arguments.kwonlyargs
    defaults: list[ast.expr | None] = [None] * (len(arguments.posonlyargs + arguments.args) - len(arguments.defaults))
    defaults += list(arguments.defaults) + list(arguments.kw_defaults)
    for param, default in zip(params, defaults):
        pieces = [node for part in (param.annotation, default) if part is not None for node in ast.walk(part)]
        depends = [node for node in pieces if isinstance(node, ast.Call) and _callee(node) == "Depends"]
        dependency = [last_name(call.args[0]) for call in depends if call.args]
        typed = [node.id for node in pieces if isinstance(node, ast.Name)] + [
            node.attr for node in pieces if isinstance(node, ast.Attribute)
        ]
        if any(name and SESSION_NAME.search(name) for name in dependency):
            return param.arg
        if (depends or any(name.endswith("Dep") for name in typed)) and any(
            re.search(r"(?i)session", name) for name in typed
        ):
            return param.arg
    return None


# FastAPI 0.106.0 until 0.118.0 ran a yield dependency's exit code before sending the response (0.118.0's release
# notes, PR #14099): a StreamingResponse of those releases streams with its session already closed, holding none.
CLOSED_BEFORE_SENDING = ((0, 106), (0, 118))


def session_kept_while_streaming(folder: Path, base: Path) -> bool:
    """Whether the FastAPI the project installs keeps a yield dependency's session open while a response streams:
    false only where the nearest pin names one release from 0.106 until 0.118 (audit-log's fastapi==0.115.14)."""
    release = releases.exact(folder, base, b"fastapi")
    low, high = CLOSED_BEFORE_SENDING
    return release is None or not low <= release[:2] < high


def _streaming_with_session(function: Function, nodes: list[ast.AST], file: str) -> list[tuple[Site, Finding]]:
    returns = [
        node
        for node in nodes
        if isinstance(node, ast.Return)
        and node.value is not None
        and (_callee(node.value) or "") in STREAMING_RESPONSES
    ]
    if not returns:
        return []
    param = _depends_on_session(function)
    if param is None:
        return []
    for node in returns:
        if isinstance(node, ast.Return) and node.value is not None and _callee(node.value) in STREAMING_RESPONSES:
            response = _callee(node.value)
            line, _ = _line_range(function)
            return [
                (
                    Site(file, line, node.lineno),
                    Finding(
                        codes.STREAMING_RESPONSE_HOLDS_SESSION.code,
                        Severity.WARNING,
                        f"{function.name} streams a {response} while its session {param} stays open",
                        codes.STREAMING_RESPONSE_HOLDS_SESSION.help,
                        [f"{param} from Depends(...) at line {line}", f"returns {response} at line {node.lineno}"],
                    ),
                )
            ]
    return []


def _transaction_across_call(
    function: Function, nodes: list[ast.AST], file: str, clients: set[str]
) -> list[tuple[Site, Finding]]:
    found = []
    for node in nodes:
        if not isinstance(node, ast.With | ast.AsyncWith):
            continue
        opened = next((item for item in node.items if _callee(item.context_expr) in TRANSACTION_CALLS), None)
        if opened is None:
            continue
        for statement in node.body:
            call = next(
                (
                    inner
                    for inner in ast.walk(statement)
                    if isinstance(inner, ast.Call) and _root(inner) in clients and _callee(inner) not in RELEASES
                ),
                None,
            )
            if call is None:
                continue
            what = ast.unparse(call.func)
            found.append(
                (
                    _site(file, call),
                    Finding(
                        codes.TRANSACTION_SPANS_EXTERNAL_CALL.code,
                        Severity.WARNING,
                        f"{function.name} calls {what} inside a transaction",
                        codes.TRANSACTION_SPANS_EXTERNAL_CALL.help,
                        [
                            f"transaction opened by {ast.unparse(opened.context_expr)} at line {node.lineno}",
                            f"{what} called at line {call.lineno}",
                        ],
                    ),
                )
            )
            break  # one finding per transaction
    return found


def _never_released(function: Function, nodes: list[ast.AST], file: str) -> list[tuple[Site, Finding]]:
    taken: dict[str, ast.AST] = {}
    for node in nodes:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            value = node.value
            callee, receiver = _callee(value), _receiver(value)
            call = value.value if isinstance(value, ast.Await) else value
            if not isinstance(call, ast.Call) or call.args or receiver is None or not POOL_OWNER.search(receiver):
                continue
            if callee == "connect" or (callee == "acquire" and isinstance(value, ast.Await)):
                taken[node.targets[0].id] = node
    if not taken:
        return []
    used: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Call):
            # x.close(), pool.release(x), or x handed to anything else (its new owner may release it)
            if _callee(node) in RELEASES and _root(node) in taken:
                used.add(str(_root(node)))
            used.update(arg.id for arg in node.args if isinstance(arg, ast.Name))
        elif isinstance(node, ast.Return | ast.Yield | ast.YieldFrom) and node.value is not None:
            # handed to the caller: `return conn`, `yield conn`, `return conn, other`
            value = node.value
            handed = value.elts if isinstance(value, ast.Tuple | ast.List) else [value]
            used.update(n.id for n in handed if isinstance(n, ast.Name))
        elif isinstance(node, ast.Assign | ast.With | ast.AsyncWith):
            # stored elsewhere (self.conn = conn), or entered later (with conn: ...)
            values = [node.value] if isinstance(node, ast.Assign) else [item.context_expr for item in node.items]
            stored = isinstance(node, ast.Assign) and not all(isinstance(t, ast.Name) for t in node.targets)
            for value in values:
                if isinstance(value, ast.Name) and (stored or isinstance(node, ast.With | ast.AsyncWith)):
                    used.add(value.id)
    return [
        (
            _site(file, node),
            Finding(
                codes.CONNECTION_NEVER_RELEASED.code,
                Severity.WARNING,
                f"{function.name} takes {name} with {ast.unparse(node.value)} and never releases it",  # type: ignore[attr-defined]
                codes.CONNECTION_NEVER_RELEASED.help,
                [f"{name} taken at line {node.lineno}, no close() or release() in {function.name}"],  # type: ignore[attr-defined]
            ),
        )
        for name, node in taken.items()
        if name not in used
    ]
