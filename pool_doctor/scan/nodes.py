"""What a function's syntax alone says about its names, for the statement-by-statement run (scan/flow.py)."""

from __future__ import annotations

import ast
import functools
import io
import re
import string
import tokenize
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from pool_doctor.scan.finder import (
    CallSite,
    FunctionNode,
    Module,
    Project,
    catches_import_error,
    dotted_parts,
    last_name,
    pool_library,
)
from pool_doctor.scan.literals import literal_prefix

# A dict's or a list's in-place changes (and Flask's `app.config.from_prefixed_env()`, which a variable of each
# key's name overrides)
MUTATORS = {"update", "setdefault", "pop", "append", "extend", "clear", "from_prefixed_env", "load_environment_vars"}


def popped(value: ast.expr) -> list[ast.Call]:
    """`d.pop(...)` / `d.setdefault(...)` calls inside an assigned value, outside lambdas and comprehensions:
    `maxconn = int(params.pop("maxconn"))` also changes `params`."""
    found: list[ast.Call] = []
    stack: list[ast.AST] = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.DictComp, ast.SetComp, ast.GeneratorExp)):
            continue
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("pop", "setdefault")
        ):
            found.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return found


COMPREHENSIONS = (ast.ListComp, ast.DictComp, ast.SetComp, ast.GeneratorExp)


def popped_each_time(
    value: ast.expr,
) -> list[tuple[ast.ListComp | ast.DictComp | ast.SetComp | ast.GeneratorExp, ast.Call]]:
    """`d.pop(key, ...)` once per item of a comprehension in an assigned value, `d` a name the comprehension
    does not bind (`{key: kwargs.pop(key, default) for key, default in DEFAULTS.items()}`): `d` loses each key."""
    found: list[tuple[ast.ListComp | ast.DictComp | ast.SetComp | ast.GeneratorExp, ast.Call]] = []
    for comp in ast.walk(value):
        if not isinstance(comp, COMPREHENSIONS) or len(comp.generators) != 1:
            continue
        bound = {n.id for n in ast.walk(comp.generators[0].target) if isinstance(n, ast.Name)}
        for node in ast.walk(comp):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "pop"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id not in bound
                and node.args
            ):
                found.append((comp, node))
    return found


def holds(stmt: ast.stmt, node: ast.AST) -> bool:
    """Whether `node` sits within the statement's span."""
    start = (stmt.lineno, stmt.col_offset)
    end = (stmt.end_lineno or stmt.lineno, stmt.end_col_offset or 0)
    where = (getattr(node, "lineno", 0), getattr(node, "col_offset", 0))
    return start <= where <= end


def is_generator(func: FunctionNode) -> bool:
    found: bool | None = getattr(func, "_pool_doctor_generator", None)  # asked at every call: walked once
    if found is None:
        found = any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in own_nodes(func))
        setattr(func, "_pool_doctor_generator", found)  # noqa: B010 (an attribute ast does not declare)
    return found


def own_nodes(func: FunctionNode | ast.Module, also: tuple[type[ast.AST], ...] = ()) -> Iterator[ast.AST]:
    """The nodes of the function's (or module's) body, not of functions or classes defined in it (nor of the
    nodes `also` names: a comprehension, whose target is a name of its own)."""
    skipped = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, *also)
    todo: list[ast.AST] = list(func.body)
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue  # (a def of its body: the def, not the statements of the function it defines)
        todo.extend(child for child in ast.iter_child_nodes(node) if not isinstance(child, skipped))


def pseudo_name(node: ast.expr) -> str | None:
    """`self.kwargs` as the name "self.kwargs" (an attribute set and read in the same function)."""
    parts = dotted_parts(node) if isinstance(node, ast.Attribute) else None
    return ".".join(parts) if parts is not None and len(parts) == 2 else None


def reads_outer(scope: object, name: str, local_names: Callable[[FunctionNode], set[str]]) -> bool:
    """A name a function reads from outside itself (a module global, a closure's): not one of its parameters,
    never bound in its body (`local_names`, the scan's own count of a function's locals)."""
    if not isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)) or "." in name:
        return False
    args = scope.args
    params = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg) if a}
    return name not in params and name not in local_names(scope)


def readable_method(expr: str | None, attr: str) -> bool:
    """A method the scan reads on a value it cannot read all of: `startswith` on a text whose start is written
    (f"sqlite:///{...}") and `replace` in its written scheme (pycalls.prefixed), a SQLAlchemy URL's
    `render_as_string()` (the same URL, its written scheme kept) and `set(drivername=...)` (the driver it sets)."""
    if attr == "replace":
        return "://" in (literal_prefix(expr, operators=True) or "")
    return (attr == "startswith" and literal_prefix(expr) is not None) or (
        (attr == "render_as_string" and "://" in (expr or "")) or attr == "set"
    )


def written_start(text: str | None) -> str | None:
    """literal_prefix's with operators, also of a text Module.segment cut short ("..."): what its whole
    literals in front show, where the scheme they start with names its driver (what is cut off may rewrite a
    bare one: `.replace("postgresql://", "postgresql+asyncpg://")`, the usual way to pick a driver)."""
    start = literal_prefix(text, operators=True)
    if start is None and text is not None and text.endswith("..."):
        shown = literal_prefix(leading_literals(text[:-3], operators=True), operators=True) or ""
        start = shown if "+" in shown.partition("://")[0] and "://" in shown else None
    return start


FSTRING = (getattr(tokenize, "FSTRING_START", -1), getattr(tokenize, "FSTRING_END", -1))  # (Python 3.12's tokens)
CUT_LITERAL = re.compile(r"""([rRbBuUfF]{0,2})("|')((?:[^{\\"']|\{\{)*)""")  # a literal cut short: its prefix


def leading_literals(shown: str, operators: bool) -> str | None:
    """What a text Module.segment cut short (`f"postgresql+psycopg2://{user}:{password}@{host}:{po...`) surely
    starts with, as a whole expression: its whole string literals in front, when what follows them is cut off
    or, with `operators`, a `+`, `%` or `.format`; or the part of a first literal before the cut (an f-string's
    before its first placeholder)."""
    tokens: list[tokenize.TokenInfo] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(shown).readline):
            if token.type == tokenize.ERRORTOKEN and token.string in "\"'":
                break  # (a literal cut short: Python 3.11 reads its quote alone)
            tokens.append(token)
    except (tokenize.TokenError, SyntaxError):
        pass  # (the cut: inside a literal, or inside what follows)
    end, depth, after = 0, 0, list[str]()
    for token in tokens:
        if token.type in (tokenize.STRING, *FSTRING) or depth:
            depth += (token.type == FSTRING[0]) - (token.type == FSTRING[1])
            end = token.end[1] if not depth and not after else end
        elif token.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER):
            after.append(token.string)
    if not end:  # the first literal is cut: what it shows, up to a placeholder
        match = CUT_LITERAL.match(shown)
        return f"{match[1]}{match[2]}{match[3]}{match[2]}" if match and match[3] else None
    if after[-1:] and after[-1].lower() in ("f", "r", "b", "u", "rf", "fr", "br", "rb"):
        after.pop()  # (a literal's prefix, the literal cut short: Python 3.11)
    followed = not after or (operators and (after[0] in ("+", "%") or after[:2] == [".", "format"]))
    return shown[:end] if followed else None


def template(node: ast.expr) -> list[str | None]:
    """A text as the code writes it, in parts: each literal, and None for each part it computes (an f-string's
    placeholder, a `.format()` or `%` field, an operand of `+` that is no literal)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return [v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else None for v in node.values]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return template(node.left) + template(node.right)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant):
        texts = re.split(r"%(?:\(\w+\))?[sdr]", str(node.left.value))
        return [part for text in texts for part in (None, text)][1:]
    func = node.func if isinstance(node, ast.Call) else None
    if isinstance(func, ast.Attribute) and func.attr == "format" and isinstance(func.value, ast.Constant):
        try:
            fields = list(string.Formatter().parse(str(func.value.value)))
        except ValueError:
            return [None]
        return [part for text, name, _, _ in fields for part in (text, *([None] if name is not None else []))]
    return [None]


def starts_with(prefix: str, wanted: str) -> bool | None:
    """Whether a text known to start with `prefix` starts with `wanted` (None: the rest decides)."""
    if len(wanted) <= len(prefix):
        return prefix.startswith(wanted)
    return None if wanted.startswith(prefix) else False


def is_dataclass(cls: ast.ClassDef) -> bool:
    """Decorated `@dataclass` (or `@dataclasses.dataclass(...)`): its fields are what `__init__` takes."""
    return any(
        (dotted_parts(d.func if isinstance(d, ast.Call) else d) or [""])[-1] == "dataclass" for d in cls.decorator_list
    )


def installed_import(stmt: ast.Try | ast.TryStar, handler: ast.ExceptHandler) -> bool:
    """`try: from psycopg_pool import ConnectionPool; DRIVER = 3 / except ImportError: ...`: the body only imports
    a pool library (and sets constants), which the app that makes such a pool has installed, so the handler that
    catches the ImportError does not run."""
    if not catches_import_error(handler):
        return False
    for inner in stmt.body:
        if isinstance(inner, ast.Import | ast.ImportFrom):
            if isinstance(inner, ast.ImportFrom) and (inner.level or not inner.module):
                return False
            names = [
                a.name.split(".")[0] if isinstance(inner, ast.Import) else f"{inner.module}.{a.name}"
                for a in inner.names
            ]
            if not all(pool_library(name) for name in names):
                return False
        elif not (isinstance(inner, ast.Assign) and isinstance(inner.value, ast.Constant)):
            return False
    return True


def kwargs_write(stmt: ast.stmt, kwargs: str) -> tuple[str, ast.expr, bool] | None:
    """`kwargs.setdefault("key", value)` (False: a default) or `kwargs["key"] = value` (True: it overrides)."""
    if isinstance(stmt, ast.Expr) and isinstance(call := stmt.value, ast.Call):
        func = call.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr == "setdefault"
            and isinstance(func.value, ast.Name)
            and func.value.id == kwargs
            and len(call.args) == 2
            and isinstance(key := call.args[0], ast.Constant)
            and isinstance(key.value, str)
        ):
            return key.value, call.args[1], False
    if (
        isinstance(stmt, ast.Assign)
        and len(stmt.targets) == 1
        and isinstance(sub := stmt.targets[0], ast.Subscript)
        and isinstance(sub.value, ast.Name)
        and sub.value.id == kwargs
        and isinstance(sub.slice, ast.Constant)
        and isinstance(sub.slice.value, str)
    ):
        return sub.slice.value, stmt.value, True
    return None


def is_classmethod(node: ast.AST) -> bool:
    return _decorated(node, "classmethod")


def is_staticmethod(node: ast.AST) -> bool:
    return _decorated(node, "staticmethod")


def _decorated(node: ast.AST, name: str) -> bool:
    return any((dotted_parts(d) or [""])[-1] == name for d in getattr(node, "decorator_list", []))


def parameter_names(func: ast.AST | None) -> set[str]:
    """Every parameter a function (or lambda) names: positional, keyword-only, `*args`, `**kwargs`."""
    args = func.args if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) else None
    return {a.arg for a in ast.walk(args) if isinstance(a, ast.arg)} if args is not None else set()


def assign_targets(stmt: ast.Assign | ast.AnnAssign) -> list[ast.expr]:
    return stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]


def patched(site: CallSite, name: str) -> bool:
    """A test function (or its class) decorated with `patch("...<name>")`: the library call is a mock there."""
    scopes = [*site.functions, *([site.cls] if site.cls is not None else [])]
    for scope in scopes:
        for decorator in getattr(scope, "decorator_list", []):
            if not (isinstance(decorator, ast.Call) and (dotted_parts(decorator.func) or [""])[-1] == "patch"):
                continue
            given = decorator.args[0] if decorator.args else None
            if isinstance(given, ast.Constant) and isinstance(given.value, str) and given.value.endswith(f".{name}"):
                return True
    return False


def optional_import(tree: ast.Module, stmt: ast.stmt) -> bool:
    """Whether an import sits in a `try:` whose handlers take its failure (ImportError, Exception, bare), or in a
    `with contextlib.suppress(ImportError):` (byro): a `local_settings` the tree lacks is then absent, not
    required."""
    for node in ast.walk(tree):
        suppressing = isinstance(node, ast.With) and any(_suppresses_import_error(i.context_expr) for i in node.items)
        if suppressing and any(inner is stmt for part in getattr(node, "body", []) for inner in ast.walk(part)):
            return True
        if isinstance(node, ast.Try) and any(stmt is inner for part in node.body for inner in ast.walk(part)):
            handlers = node.handlers
            if any(
                h.type is None or catches_import_error(h) or dotted_parts(h.type) == ["Exception"] for h in handlers
            ):
                return True
    return False


def _suppresses_import_error(expr: ast.expr) -> bool:
    """`suppress(ImportError)` / `contextlib.suppress(ModuleNotFoundError, ...)`."""
    if not (isinstance(expr, ast.Call) and (dotted_parts(expr.func) or [""])[-1] == "suppress"):
        return False
    names = {(dotted_parts(arg) or [""])[-1] for arg in expr.args}
    return bool(names & {"ImportError", "ModuleNotFoundError", "Exception"})


def aliases(module: Module, names: set[str]) -> set[str]:
    """Local names bound to one of `names`: `from sqlalchemy import create_engine as ce`, `make = sa.create_engine`,
    `make = functools.partial(create_engine, pool_pre_ping=True)`."""
    found = {
        local
        for imports in (module.imports, module.nested_imports)
        for local, target in imports.items()
        if target.rsplit(".", 1)[-1] in names
    }
    for local, assignments in module.assigns.items():
        value = assignments[-1].value
        if isinstance(value, ast.Call) and (dotted_parts(value.func) or [""])[-1] == "partial" and value.args:
            value = value.args[0]
        parts = dotted_parts(value) if isinstance(value, (ast.Name, ast.Attribute)) else None
        if parts is not None and parts[-1] in names:
            found.add(local)
    return found


def required_absent(project: Project, module: Module, base: str, stmt: ast.stmt) -> bool:
    """A star import of a module of the project's own packages the tree lacks, not in a `try` that lets it fail."""
    parent = base.rpartition(".")[0]
    return (
        bool(parent)
        and project.module_by_name(base, module.path) is None
        and project.module_by_name(parent, module.path) is not None
        and not optional_import(module.tree, stmt)
    )


def takes_keyword(func: FunctionNode, name: str) -> bool:
    """Whether a function takes `name=` as a keyword: a parameter of that name, or one its `**kwargs` gives up
    (`default = kwargs.pop("default", None)`: Tryton's config parser's get)."""
    args = func.args
    if name in {a.arg for a in (*args.args, *args.kwonlyargs)}:
        return True
    rest = args.kwarg.arg if args.kwarg is not None else None
    return rest is not None and any(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("pop", "get")
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == rest
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and node.args[0].value == name
        for node in ast.walk(func)
    )


def key_written(modules: Iterable[Module | None], key: str) -> bool:
    """Whether the app's code (not its tests) gives `key` a value a loader may put in a mapping: a global or class
    attribute of that name (a config module or class, as Flask's `from_object` loads: upper-case names only)."""
    if not key.isupper():
        return False
    for module in modules:
        if module is None or key not in module.source or module.aside:
            continue
        bodies = [module.tree.body, *(n.body for n in ast.walk(module.tree) if isinstance(n, ast.ClassDef))]
        for stmt in (stmt for body in bodies for stmt in body):
            targets = (
                stmt.targets
                if isinstance(stmt, ast.Assign)
                else [stmt.target]
                if isinstance(stmt, ast.AnnAssign)
                else []
            )
            if any(isinstance(t, ast.Name) and t.id == key for t in targets):
                return True
    return False


def global_setter(tree: ast.Module, call: ast.Call) -> list[tuple[str, ast.expr]]:
    """What a call of the module's setter of its globals sets (`set_config(config)`, with `def set_config(c):
    global _config; _config = c`): each global with the argument it is set to; none for any other call."""
    name = call.func.id if isinstance(call.func, ast.Name) else None
    func = next((s for s in tree.body if isinstance(s, ast.FunctionDef) and s.name == name), None)
    body = [s for s in func.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))] if func else []
    if func is None or len(body) < 2 or not isinstance(body[0], ast.Global) or call.keywords:
        return []
    params = [a.arg for a in [*func.args.posonlyargs, *func.args.args]]
    found: list[tuple[str, ast.expr]] = []
    for stmt in body[1:]:
        target = stmt.targets[0] if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 else None
        value = stmt.value if isinstance(stmt, ast.Assign) else None
        if not isinstance(target, ast.Name) or target.id not in body[0].names or not isinstance(value, ast.Name):
            return []
        at = params.index(value.id) if value.id in params else len(call.args)
        if at >= len(call.args) or isinstance(call.args[at], ast.Starred):
            return []
        found.append((target.id, call.args[at]))
    return found


def caches_global(scope: object, stmt: ast.If, tree: ast.Module) -> bool:
    """`global _config` / `if _config is None: _config = Config()`, the module starting it as None: a function
    that makes a global once and hands it back. Every call gets what the first call made, so the test is the
    first call's: it holds. (A global the module starts with a value, `DB_URL = os.getenv(...)`, is no cache.)"""
    test, name = stmt.test, None
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        name = test.operand
    elif isinstance(test, ast.Compare) and isinstance(test.ops[0], ast.Is) and len(test.ops) == 1:
        is_none = isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value is None
        name = test.left if is_none else None
    if not isinstance(name, ast.Name) or not isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    declared = any(isinstance(n, ast.Global) and name.id in n.names for n in ast.walk(scope))
    sets = any(
        isinstance(t, ast.Name) and t.id == name.id for s in stmt.body if isinstance(s, ast.Assign) for t in s.targets
    )
    calls = (s.value for s in stmt.body if isinstance(s, ast.Expr) and isinstance(s.value, ast.Call))
    by_setter = any(set_name == name.id for call in calls for set_name, _ in global_setter(tree, call))
    declared, sets = declared or by_setter, sets or by_setter  # (`set_config(config)`: openml's)
    starts = list(_module_values(tree.body, name.id))
    empty = all(isinstance(v, ast.Constant) and v.value is None for v in starts)  # (`_config: Config | None = None`)
    return declared and sets and not stmt.orelse and bool(starts) and empty


def _module_values(body: list[ast.stmt], name: str) -> Iterator[ast.expr | None]:
    """What the module's own statements (under an `if`, `try` or `with` too) assign to `name`: `X = None`,
    `X: T = None`, `X, Y = None, None` (a target unpacked from something else gives None: not a constant)."""
    for stmt in body:
        for part in ("body", "orelse", "finalbody"):
            if isinstance(stmt, (ast.If, ast.Try, ast.With)) and isinstance(getattr(stmt, part, None), list):
                yield from _module_values(getattr(stmt, part), name)
        for handler in stmt.handlers if isinstance(stmt, ast.Try) else []:
            yield from _module_values(handler.body, name)
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            for target in stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]:
                names = target.elts if isinstance(target, ast.Tuple) else [target]
                at = next((i for i, e in enumerate(names) if isinstance(e, ast.Name) and e.id == name), None)
                if at is None:
                    continue
                value = stmt.value
                if isinstance(target, ast.Tuple):
                    same = isinstance(value, ast.Tuple) and len(value.elts) == len(names)
                    value = value.elts[at] if same and isinstance(value, ast.Tuple) else None
                yield value


def post_init(func: ast.FunctionDef | ast.AsyncFunctionDef, cls: ast.ClassDef) -> bool:
    """A dataclass's `__post_init__`: its generated `__init__` runs it, with the call's fields set."""
    return func.name == "__post_init__" and is_dataclass(cls)


def first_parameter(scope: ast.AST | None) -> str | None:
    """The first parameter of a function (a method's own instance, `self`); None for a module or a class body."""
    if not isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    return next((a.arg for a in (*scope.args.posonlyargs, *scope.args.args)), None)


def instance_writes(method: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """The attributes a method sets on its own instance, its first parameter (`self.x = ...`)."""
    me = first_parameter(method)
    return {
        node.attr
        for node in ast.walk(method)
        if isinstance(node, ast.Attribute)
        and isinstance(node.ctx, ast.Store)
        and isinstance(node.value, ast.Name)
        and node.value.id == me
    }


def handed_to_engines(tree: ast.Module, names: set[str]) -> bool:
    """Each of `names` is an argument of an engine call in the module (`create_engine(url,
    **SQLALCHEMY_ENGINE_OPTIONS)` in ubuntu-com-security-api's database.py): the module's own variables, not a
    config Flask loads (one that only fixes up its own, `re.sub(..., SQLALCHEMY_DATABASE_URI)`, still is)."""
    handed = {
        arg.id
        for call in ast.walk(tree)
        if isinstance(call, ast.Call) and last_name(call.func) in ENGINE_CALLS
        for arg in (*call.args, *(k.value for k in call.keywords))
        if isinstance(arg, ast.Name)
    }
    return bool(names) and names <= handed


ENGINE_CALLS = ("create_engine", "create_async_engine", "engine_from_config", "async_engine_from_config")


def field_statements(cls: ast.ClassDef) -> Iterator[tuple[str, ast.stmt]]:
    """The fields a class body declares, each with its statement: not model_config, a ClassVar, a private name."""
    for stmt in cls.body:
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            name = stmt.target.id
            if name != "model_config" and not name.startswith("_") and "ClassVar" not in ast.unparse(stmt.annotation):
                yield name, stmt
        elif isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                if isinstance(target, ast.Name) and target.id != "model_config" and not target.id.startswith("_"):
                    yield target.id, stmt


def sets_attribute(cls: ast.ClassDef, attr: str) -> bool:
    """Whether the class's code may set an attribute of that name on an instance: `x.attr = ...`, or through
    `__dict__` or `setattr()`, which can name any."""
    for node in ast.walk(cls):
        written = isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and node.attr == attr
        dynamic = isinstance(node, ast.Attribute) and node.attr == "__dict__"
        if written or dynamic or (isinstance(node, ast.Call) and ast.unparse(node.func) == "setattr"):
            return True
    return False


def keyed_items(test: ast.expr, kept: set[str], func: FunctionNode) -> set[str]:
    """The items of what outlives a call (`kept`: `self._engines`) a test reads (`self._engines[index]`), keyed by
    no parameter a caller must give (taint.memoized: one engine per instance, not per key)."""
    args = [*func.args.posonlyargs, *func.args.args]
    required = {a.arg for a in args[: len(args) - len(func.args.defaults)]}
    required |= {a.arg for a, d in zip(func.args.kwonlyargs, func.args.kw_defaults) if d is None}
    return {
        ast.unparse(n)
        for n in ast.walk(test)
        if isinstance(n, ast.Subscript)
        and ast.unparse(n.value) in kept
        and not {x.id for x in ast.walk(n.slice) if isinstance(x, ast.Name)} & required
    }


MADE_CLASS = "__made_class__"  # an `__init__`'s own instance's class, read without making the instance again


def made_class_read(read: ast.expr) -> bool:
    return isinstance(read, ast.Attribute) and isinstance(read.value, ast.Name) and read.value.id == MADE_CLASS


def own_instance(scope: object, name: str) -> bool:
    """`self.x` in an `__init__`: the instance being made, whose attribute a path that does not set it has from its
    class (read back from the instance, it is made again, half made: insights-host-inventory's Config, whose URL
    went unknown where one `if` sets another attribute)."""
    if not isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)) or scope.name != "__init__":
        return False
    return name.split(".", 1)[0] == first_parameter(scope)


def super_init(call: ast.Call) -> bool:
    """`super().__init__(...)` (or `super(Cls, self).__init__(...)`): a subclass's `__init__` running its base's,
    a wrapper of it in turn (raw-data-repository's `_SqlDatabase(Database)`)."""
    func = call.func
    made = func.value if isinstance(func, ast.Attribute) and func.attr == "__init__" else None
    return isinstance(made, ast.Call) and isinstance(made.func, ast.Name) and made.func.id == "super"


def base_inits(module: Module, bases: set[str]) -> set[int]:
    """The module's `super().__init__(...)` sites (ids) in a class that derives from one of `bases` by name, as
    imported (`from db import Database as BaseDb`; the classes whose `__init__` is a wrapper): the only `__init__`
    calls worth reading (cognee's hundreds of others are not)."""
    found = set()
    for site in module.calls.get("__init__", []) if bases else []:
        parts = [dotted_parts(base) or [""] for base in site.cls.bases] if site.cls is not None else []
        named = {module.imports.get(".".join(p), ".".join(p)).rsplit(".", 1)[-1] for p in parts}
        if super_init(site.call) and named & bases:
            found.add(id(site))
    return found


@functools.lru_cache(maxsize=4096)  # (asked at each read of an imported name: the text's hash is kept)
def import_target(source: str, name: str, target: str) -> str:
    """What a module's import of `name` names, for Scopes.dotted_value: `a:a.b` where its top-level `import a.b`
    binds `a` (the package holding `a.b`), else `target`."""
    if target != name or f"import {name}." not in source:
        return target
    found = re.search(rf"^import[ \t]+({re.escape(name)}(?:\.\w+)+)(?![\w.]|[ \t]+as\b)", source, re.M)
    return f"{name}:{found.group(1)}" if found else target


def package_of(project: Project, dotted: str, near: Path) -> Module | None:
    """The `__init__.py` of the package `import a.b` binds to `a`: the one holding the `a.b` found (not a module
    `a` of its own beside the importer: Neutron-Bot's bot/core/bot.py, where bot/core/ imports `bot.config`)."""
    found = project.find_module(dotted, near)
    package = found.parents[dotted.count(".") - (found.name != "__init__.py")] / "__init__.py" if found else None
    return project.parse(package) if package is not None and package.is_file() else None
