"""Python's own functions the scan works out on known values: a dict's methods, f-strings, `round`, `math.floor` and
`math.ceil`, `len`, `urllib.parse.quote` and `quote_plus`, `timedelta(...).total_seconds()`, `str.format(...)`
with keywords, `isinstance(...)` of Python's types and the project's classes."""

from __future__ import annotations

import ast
import datetime
import math
import operator
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

from pool_doctor.scan import containers, envkeys, namespaces
from pool_doctor.scan.files import PathV
from pool_doctor.scan.finder import Module, Project
from pool_doctor.scan.kinds import (
    SV,
    Branches,
    ClassRef,
    DictV,
    ExternalRef,
    Frame,
    FuncRef,
    HolderV,
    InstanceRef,
    Interpreter,
    ListV,
    ModuleRef,
    env_of,
    is_known,
    unknown,
    unset_as,
    unset_variable,
)
from pool_doctor.scan.literals import literal_prefix
from pool_doctor.scan.names import last_name
from pool_doctor.scan.nodes import starts_with
from pool_doctor.scan.provided import INJECTIONS, PROVIDERS, is_provider, provider_call, provider_lambda
from pool_doctor.scan.pyramid import CONFIGURATOR, REGISTRY
from pool_doctor.scan.target import SCHEME, written_scheme

NUMBERS = (int, float)
QUOTES = ("quote", "quote_plus")  # urllib.parse's, on one text with their default safe characters
ROUNDING = (("builtins", round), ("math", math.floor), ("math", math.ceil))

BINOPS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
    ast.BitOr: operator.or_,
}
COMPARES: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}


def quoted(ev: Interpreter, name: str, node: ast.Call, frame: Frame) -> Any:
    """`urllib.parse.quote_plus(password)` in a URL (onyx's): the text as it quotes it, over each branch."""
    value = ev.eval(node.args[0], frame) if node.args and not node.keywords else None
    if value is None:
        return unknown(frame.module, node)
    quote = getattr(urllib.parse, name)

    def one(text: Any) -> Any:
        if is_known(text) and isinstance(text.value, str) and len(node.args) == 1:
            return replace(text, value=quote(text.value))
        return unknown(frame.module, node, env=env_of(text))

    return containers.lift(ev, [value], one)


def rounded(ev: Interpreter, how: Callable[..., Any], node: ast.Call, frame: Frame) -> Any:
    """`round(x, n)`, `math.floor(x)`, `math.ceil(x)` (agenta's pool sizes), over each branch of x
    (eventsourcing's `round(pool_timeout)`, 30.0 unless a variable is set)."""
    digits = ev.force(ev.arg(node, frame, 1, "ndigits")) if how is round else None
    places = digits.value if is_known(digits) and isinstance(digits.value, int) else None

    def one(value: Any) -> Any:
        if not is_known(value) or not isinstance(value.value, NUMBERS):
            return unknown(frame.module, node, env=env_of(value))
        return replace(value, value=how(value.value, places) if how is round else how(value.value))

    return containers.lift(ev, [ev.arg(node, frame, 0, "number" if how is round else "x")], one)


def length(ev: Interpreter, node: ast.Call, frame: Frame) -> Any:
    items = containers.items_of(ev, ev.eval(node.args[0], frame)) if node.args else None
    return SV(len(items), frame.module.where(node)) if items is not None else unknown(frame.module, node)


RANGE_MAX = 16  # numbers a range() may give to be read: loops over it nest (16 x 16 runs, not 256 x 256)


def range_call(ev: Interpreter, node: ast.Call, frame: Frame) -> Any:
    """`range(3)`: its numbers, where the arguments are integers the code writes (not a variable's: how many
    replicas a loop adds is the deployment's) and they are RANGE_MAX or fewer (frepple's DATABASES, one alias
    per `i` of a dict comprehension over `range(3)`)."""
    args = [ev.force(ev.eval(arg, frame)) for arg in node.args]
    numbers = [a.value for a in args if is_known(a) and type(a.value) is int and a.env is None]
    try:  # (`range(0, 3, 0)`, `range(10**20)`: Python's own errors)
        count = len(range(*numbers)) if len(numbers) == len(args) and 1 <= len(args) <= 3 else None
    except (ValueError, OverflowError):
        count = None
    if node.keywords or count is None or count > RANGE_MAX:
        return unknown(frame.module, node, env=env_of(*args))
    where = frame.module.where(node)
    return ListV([SV(number, where) for number in range(*numbers)], where)


TIMEDELTA_UNITS = ("days", "seconds", "microseconds", "milliseconds", "minutes", "hours", "weeks")  # its order


def total_seconds(ev: Interpreter, node: ast.Call, frame: Frame) -> Any | None:
    """`timedelta(minutes=10).total_seconds()` (dandi-archive's CONN_MAX_AGE): the seconds, when every part is a
    known number; None when the call is not that."""
    inner = node.func.value if isinstance(node.func, ast.Attribute) else None
    if not isinstance(inner, ast.Call) or node.args or node.keywords:
        return None
    made = ev.force(ev.eval(inner.func, frame))
    if getattr(made, "dotted", None) != "datetime.timedelta" or len(inner.args) > len(TIMEDELTA_UNITS):
        return None
    given = {**dict(zip(TIMEDELTA_UNITS, inner.args)), **{kw.arg: kw.value for kw in inner.keywords if kw.arg}}
    parts = {unit: ev.force(ev.eval(value, frame)) for unit, value in given.items()}
    if len(given) != len(inner.args) + len(inner.keywords) or not set(parts) <= set(TIMEDELTA_UNITS):
        return unknown(frame.module, node)
    if not all(is_known(part) and isinstance(part.value, NUMBERS) for part in parts.values()):
        return unknown(frame.module, node, env=env_of(*parts.values()))
    seconds = datetime.timedelta(**{unit: part.value for unit, part in parts.items()}).total_seconds()
    return SV(seconds, frame.module.where(node), env_of(*parts.values()), source=frame.module.segment(node))


def formatted(ev: Interpreter, base: SV, node: ast.Call, frame: Frame) -> Any:
    """`"postgresql://{user}@{host}/{db}".format(user=..., **parts)` (reana-db's URL): the text, over each branch
    of what it is given; unknown, named by a variable a part reads, when a part or a `**` mapping is not known."""
    given: list[tuple[str | None, Any]] = [(None, ev.eval(arg, frame)) for arg in node.args]
    for kw in node.keywords:
        if kw.arg is not None:
            given.append((kw.arg, ev.eval(kw.value, frame)))
            continue
        spread = ev.force(ev.eval(kw.value, frame))
        if not isinstance(spread, DictV) or spread.opaque:
            return unknown(frame.module, node, env=base.env)
        given.extend(spread.items.items())

    def one(*values: Any) -> Any:
        if not all(is_known(value) and not unset_variable(value) for value in values):  # (a variable's None: unknown)
            return unknown(frame.module, node, env=env_of(base, *values))
        positional = [value.value for (name, _), value in zip(given, values) if name is None]
        named = {name: value.value for (name, _), value in zip(given, values) if name is not None}
        try:
            text = base.value.format(*positional, **named)
        except (IndexError, KeyError, ValueError, AttributeError, TypeError):
            return unknown(frame.module, node, env=base.env)
        return SV(text, frame.module.where(node), base.env or env_of(*values), source=frame.module.segment(node))

    return containers.lift(ev, [value for _, value in given], one)


# The abstract classes a dict is an instance of, and no other of Python's values the scan holds (mlrun's
# `isinstance(val, Mapping)`): read as `dict`.
MAPPINGS = dict.fromkeys(
    ("collections.abc.Mapping", "collections.abc.MutableMapping", "typing.Mapping", "typing.MutableMapping"),
    "builtins.dict",
)


def isinstance_call(ev: Interpreter, node: ast.Call, frame: Frame) -> Any:
    """`isinstance(x, T)` with T (or each of a tuple) one of Python's types or a project class."""
    if len(node.args) != 2:
        return unknown(frame.module, node)
    kinds = ev.force(ev.eval(node.args[1], frame))
    options = [ev.force(k) for k in kinds.items] if isinstance(kinds, ListV) else [kinds]
    dotted = [MAPPINGS.get(o.dotted, o.dotted) for o in options if isinstance(o, ExternalRef)]
    python = [name for name in dotted if name.startswith("builtins.")]
    library = [name for name in dotted if not name.startswith("builtins.")]
    classes = [o for o in options if isinstance(o, ClassRef)]
    if len(dotted) + len(classes) != len(options):  # what the scan cannot name
        return unknown(frame.module, node)
    names = {name.removeprefix("builtins.") for name in python}
    value = ev.eval(node.args[0], frame)

    def test(v: Any) -> Any:
        if isinstance(v, HolderV) and v.dotted in HOLDER_BASES:  # (Magpie's get_registry(config))
            return SV(bool({*python, *library} & HOLDER_BASES[v.dotted]), frame.module.where(node))
        # A dict is no instance of a library class the scan knows is none (Magpie's `isinstance(container,
        # Registry)` of a **settings dict: a subclass of dict, so a plain one is not one).
        if library and not (isinstance(v, DictV) and set(library) <= NOT_DICT):
            return unknown(frame.module, node)
        return _isinstance(ev, v, names, classes, node, frame)

    return containers.lift(ev, [value], test)


# The classes an instance of a library class the scan holds (HolderV) is an instance of: Pyramid 2.0's
# `Configurator` and its `Registry(Components, dict)`, by the names code imports them under
HOLDER_BASES = {
    CONFIGURATOR: {CONFIGURATOR, "builtins.object"},
    REGISTRY: {REGISTRY, "zope.interface.registry.Components", "builtins.dict", "builtins.object"},
}

# Library classes no dict the scan holds is an instance of: Pyramid 2.0's (its Registry is a subclass of dict, so a
# plain dict is none), and the request and response objects helpers test for
NOT_DICT = {
    *HOLDER_BASES,
    *(f"pyramid.{at}" for at in ("request.Request", "response.Response")),
    *(f"webob.{at}" for at in ("Request", "Response", "request.Request", "response.Response")),
}


def _isinstance(
    ev: Interpreter, value: Any, types: set[str], classes: list[ClassRef], node: ast.Call, frame: Frame
) -> Any:
    where = frame.module.where(node)
    if is_known(value):
        found = {cls.__name__ for cls in type(value.value).__mro__} & (types | {"object"})
        return SV(bool(found & types), where)
    if isinstance(value, DictV):
        return SV("dict" in types, where)
    if isinstance(value, InstanceRef):  # a project class is none of Python's own; of the project's, its bases
        mine = {id(ref.node) for ref in ev.class_chain(value.cls)}
        if any(id(cls.node) in mine for cls in classes):
            return SV(True, where)
        return SV(False, where) if value.given is None else unknown(frame.module, node)  # (a subclass's, given)
    return unknown(frame.module, node)


def lazy_object(ev: Interpreter, node: ast.Call, frame: Frame) -> Any:
    """Django's `SimpleLazyObject(func)`: what func() returns, made when first used (kolibri's conf.OPTIONS)."""
    func = ev.force(ev.eval(node.args[0], frame)) if len(node.args) == 1 else None
    return ev.call_function(func, None, frame) if isinstance(func, FuncRef) else unknown(frame.module, node)


def provider_calls(ev: Interpreter) -> dict[str, Callable[[ast.Call, Frame], Any]]:
    """dependency-injector's providers and their arguments (provided.py), and a result type's Ok, by dotted name."""
    oks = {dotted: partial(_ok, ev, dotted, *reads) for dotted, reads in RESULT_OKS.items()}
    return {
        **dict.fromkeys(PROVIDERS, partial(provided, ev)),
        **dict.fromkeys(INJECTIONS, partial(injected, ev)),
        **oks,
    }


# A result type's successful value, by what makes one: the attributes and the methods that give the value back
# (gluetool 2.0's result.py, where Ok(v) is Result(True, v); rustedpy's result 0.17; returns 0.30's Success)
_GLUETOOL = ({"value", "ok", "_value"}, {"unwrap", "expect", "unwrap_or"})
_RUSTEDPY = ({"value", "ok_value", "_value"}, {"unwrap", "expect", "unwrap_or", "unwrap_or_else", "ok"})
RESULT_OKS = {
    "gluetool.result.Ok": _GLUETOOL,
    "result.Ok": _RUSTEDPY,
    "result.result.Ok": _RUSTEDPY,
    "returns.result.Success": ({"_inner_value"}, {"unwrap", "value_or"}),
}


def _ok(ev: Interpreter, dotted: str, attrs: set[str], methods: set[str], node: ast.Call, frame: Frame) -> Any:
    """`Ok(value)`: `.unwrap()` (and its kin) is the value it holds."""
    value = ev.arg(node, frame, 0, "inner_value" if dotted.startswith("returns.") else "value")
    value = unknown(frame.module, node) if value is None else value
    return HolderV(dotted, {"_held": value, **dict.fromkeys(attrs, value)}, dict.fromkeys(methods, ("_held",)))


def provided(ev: Interpreter, node: ast.Call, frame: Frame) -> Any:
    """dependency-injector's `providers.Singleton(f, *args, **kw)`: a callable that gives `f(*args, **kw)`
    (provided.py), as `container.db()` and `settings.provided.x` call it."""
    made = provider_call(node, frame.module.imports)
    if made is None or overridden(ev, node, frame.module):
        return unknown(frame.module, node)
    return FuncRef(frame.module, provider_lambda(made, node), closure=frame)


def overridden(ev: Interpreter, node: ast.Call, module: Module) -> bool:
    """Whether the app's code may replace the provider: `container.<name>.override(...)` in a module of the app
    (not of its tests), `<name>` the attribute it is assigned to."""
    names = {
        t.id
        for n in ast.walk(module.tree)
        if isinstance(n, ast.Assign) and n.value is node
        for t in n.targets
        if isinstance(t, ast.Name)
    }
    needles = [f".{name}.override(" for name in names]
    sources = (m.source for m in ev.project.modules.values() if m is not None and not m.aside)
    return any(needle in source for source in sources for needle in needles)


def injected(ev: Interpreter, node: ast.Call, frame: Frame) -> Any:
    """A provider's argument: what it provides when it is a provider itself, else the value."""
    value = ev.force(ev.eval(node.args[0], frame)) if node.args else None
    if isinstance(value, FuncRef) and is_provider(value.node):
        return ev.call_function(value, None, frame)
    return value if value is not None else unknown(frame.module, node)


def undecided(ev: Interpreter, node: ast.BoolOp, index: int, frame: Frame, value: Any, rest: Callable[[], Any]) -> Any:
    """A `BoolOp` whose operand at `index` the scan cannot decide:
    - `A and B`: B's value where B is false with no variable set (helios' `not TESTING and var in os.environ`),
      since the whole is false either way; else None;
    - `A or B`: each side, A where it is true and what the rest gives where it is not (morpheus'
      `ctx.get("settings") or Settings()`: the settings' class defaults where the worker's context has none)."""
    if isinstance(node.op, ast.Or):  # (where the rest is not known either, one unknown says as much)
        part, otherwise = node.values[index], ev.force(rest())
        text = ev.conditions.test(frame.module.segment(part), frame.module.origin(part))
        return Branches([(text, value), (f"not ({text})", otherwise)]) if _known(ev, otherwise) else None
    for later in node.values[index + 1 :]:
        found = ev.force(ev.eval(later, frame))
        if containers.truth(ev, found) is False:
            return found
    return None


# a pattern of literal text and anchors only (`^postgres:`): read without running a regex an untrusted tree wrote
LITERAL_PATTERN = re.compile(r"^\^?(?:[^\\.^$*+?{}\[\]()|]|\\[^\w])*\$?$")


def regex_sub(ev: Interpreter, node: ast.Call, frame: Frame) -> Any:
    """`re.sub(pattern, repl, string)` of a literal pattern (no repetition, class or group) and replacement on a
    known string: the string it gives (pulseguardian's `re.sub("^postgres:", "postgresql:", url)`)."""
    pattern, repl, text = (
        ev.force(ev.arg(node, frame, at, name)) for at, name in enumerate(("pattern", "repl", "string"))
    )
    texts = [v.value if is_known(v) and isinstance(v.value, str) else None for v in (pattern, repl, text)]
    if None in texts or len(node.args) + len(node.keywords) != 3 or not LITERAL_PATTERN.match(str(texts[0])):
        return unknown(frame.module, node, env=env_of(text))
    if "\\" in str(texts[1]):
        return unknown(frame.module, node, env=env_of(text))  # (a group reference the pattern has none of)
    result = re.sub(str(texts[0]), str(texts[1]), str(texts[2]))
    return replace(text, value=result) if isinstance(text, SV) else unknown(frame.module, node)


URL_SET = {"drivername", "username", "password", "host", "port", "database"}


def prefixed(ev: Interpreter, base: SV, name: str, node: ast.Call, frame: Frame) -> Any | None:
    """A method of a text whose start is written (f"postgresql+asyncpg://{user}@db/app"): `startswith`, as that
    start decides it (whatever the variables its placeholders name give the rest; a variable whose default it is
    can change it); `replace`, see _replaced. None: not read here."""
    if node.keywords or len(node.args) != (1 if name == "startswith" else 2) or name not in ("startswith", "replace"):
        return None
    prefix = literal_prefix(base.expr)  # (parsed only for these two)
    texts = [ev.force(ev.eval(arg, frame)) for arg in node.args]
    if not all(is_known(t) and isinstance(t.value, str) for t in texts) or not texts[0].value:
        return unknown(frame.module, node) if name == "startswith" and prefix else None
    if name == "replace":
        return _replaced(base, prefix, texts[0].value, texts[1].value, node, frame)
    found = starts_with(prefix, texts[0].value) if prefix else None
    env = base.env if base.env and base.env not in (base.expr or "") else None  # (a variable's default's start:
    return SV(found, frame.module.where(node), env) if found is not None else unknown(frame.module, node)  # its)


def _replaced(base: SV, prefix: str | None, old: str, new: str, node: ast.Call, frame: Frame) -> SV | None:
    """`replace` of a text in an f-string's scheme: the same f-string with its written parts replaced, so its
    scheme (and the driver it names) is the new one (cu_gymclub_bot's alembic env: `.replace("postgresql+asyncpg",
    "postgresql+psycopg2")`); of a text its written start does not hold (`.replace(" ", "")`: pylau-app-flask's),
    the call written after it, the scheme kept (literals.literal_prefix). None: neither."""
    where, source = frame.module.where(node), frame.module.segment(node)
    if prefix and 0 <= prefix.find(old) <= prefix.find("://") - len(old):
        tree = ast.parse(base.expr or "", mode="eval").body
        for part in (p for p in ast.walk(tree) if isinstance(p, ast.Constant)):
            part.value = part.value.replace(old, new) if isinstance(part.value, str) else part.value  # (a placeholder:
        return replace(base, expr=ast.unparse(tree), from_=where, source=source)  # unknown, as it was)
    text = f"({base.expr}).replace({old!r}, {new!r})"  # (of the whole: `a + b` replaced is not `a + b.replace`)
    return replace(base, expr=text, from_=where, source=source) if "://" in (literal_prefix(text, True) or "") else None


def url_set(ev: Interpreter, base: SV, node: ast.Call, frame: Frame) -> Any:
    """SQLAlchemy's `URL.set(drivername=..., host=..., ...)` (sqlalchemy/engine/url.py, 1.4+) of a URL the scan
    holds as its text: the text with those parts replaced (a user and a password quoted, an IPv6 host bracketed,
    the query kept); a part the scan cannot read, or a port that is no number, unknown."""
    given = {kw.arg: ev.force(ev.eval(kw.value, frame)) for kw in node.keywords}
    driver = given.get("drivername")
    if not base.known and is_known(driver) and isinstance(driver.value, str):  # (a URL read from a variable: its
        why = f"{driver.value}://... ({frame.module.segment(node)})"  # driver is the one set here: olmo-api's)
        return unknown(frame.module, node, env=base.env, why=why)
    if node.args or not given.keys() <= URL_SET or not all(is_known(v) for v in given.values()):
        return unknown(frame.module, node, env=base.env)
    text = {name: value.value for name, value in given.items() if value.value is not None}
    where, env = frame.module.where(node), base.env or env_of(*given.values())
    if text.keys() == {"drivername"}:  # (the rest as written: an IPv6 host, an escaped password)
        url = f"{text['drivername']}{base.value[base.value.index('://') :]}"
        return replace(base, value=url, from_=where, env=env)
    try:
        parts = urllib.parse.urlsplit(base.value)
        port = text.get("port", parts.port)
    except ValueError:  # (a placeholder's `host:port`)
        return unknown(frame.module, node, env=env)
    quote = partial(urllib.parse.quote, safe="")  # (as SQLAlchemy writes a user and a password it is given)
    user = quote(str(text["username"])) if "username" in text else parts.username or ""
    password = quote(str(text["password"])) if "password" in text else parts.password
    hostname = str(text["host"]) if "host" in text else parts.hostname or ""
    host = (f"[{hostname}]" if ":" in hostname else hostname) + (f":{port}" if port is not None else "")
    login = user + (f":{password}" if password is not None else "")
    path = f"/{text['database']}" if "database" in text else parts.path
    netloc = f"{login}@{host}" if login else host
    url = f"{text.get('drivername', parts.scheme)}://{netloc}{path}{'?' if parts.query else ''}{parts.query}"
    return replace(base, value=url, from_=where, env=env)


def _known(ev: Interpreter, value: Any) -> bool:
    if isinstance(value, Branches):
        return all(_known(ev, ev.force(option)) for _, option in value.options)
    return not isinstance(value, SV) or value.known


def dict_method(ev: Interpreter, base: DictV | ModuleRef, name: str, node: ast.Call, frame: Frame) -> Any:
    """A dict's own methods: `get`, `pop` and `setdefault` of a key (its default where a path leaves the key
    unset), `copy`, `items`, `keys`, `values`; a module's names' (`globals()`: namespaces.py)."""
    if isinstance(base, ModuleRef):
        return namespaces.method(ev, base, name, node, frame)
    if name in ("get", "pop", "setdefault"):
        key = ev.arg(node, frame, 0, None)
        given = ev.arg(node, frame, 1, None)
        default = given if given is not None else SV(None, frame.module.where(node))
        if is_known(key) and str(key.value) in base.items:
            found = ev.force(base.items[str(key.value)])
            # a path that leaves the key unset has the default (`pop` with none raises there)
            return unset_as(found, default) if given is not None or name != "pop" else found
        if (
            copied := envkeys.from_environment(ev, base, key, given if name == "pop" else default, frame, node)
        ) is not None:
            return copied  # (a copy of the environment: the variable's)
        ungiven = base.ungiven and len(base.opaque) == 1  # (not once it is updated from what the scan cannot read)
        if base.opaque and not (ungiven and given is not None):  # the key may be in what it could not read
            return unknown(frame.module, node)
        return default
    if name == "copy":
        return containers.copy_dict(base)
    if name == "items":
        return containers.dict_items(base) if not base.opaque else unknown(frame.module, node)
    if name == "keys":
        return (
            ListV([SV(k, base.origin) for k in base.items], base.origin)
            if not base.opaque
            else unknown(frame.module, node)
        )
    if name == "values":
        return ListV(list(base.items.values()), base.origin) if not base.opaque else unknown(frame.module, node)
    return unknown(frame.module, node)


CONVERSIONS: dict[int, Callable[[Any], str]] = {ord("r"): repr, ord("s"): str, ord("a"): ascii}  # f"{x!r}"


def joined(node: ast.JoinedStr, frame: Frame, pieces: tuple[Any, ...]) -> Any:
    """An f-string of known pieces: its text (each value formatted with its spec), from the variable's line when
    one gives a piece (from its own line when several do, as `%` and `.format` are); unknown when a piece is."""
    text: list[str] = []
    env = None
    origin = frame.module.where(node)
    for part, piece in zip(node.values, pieces, strict=True):
        if isinstance(piece, SV):
            text.append(str(piece.value))
            continue
        value, spec = piece
        conversion = part.conversion if isinstance(part, ast.FormattedValue) else -1  # `!r`, `!s`, `!a`, or none
        if isinstance(value, PathV) and not value.cwd and conversion == -1:  # f"sqlite:///{DATA / 'app.db'}"
            value = SV(value.path, value.origin, value.env)  # (`!r` of a path: PosixPath('...'), not read)
        if not is_known(value) or unset_variable(value):  # (`f"{os.getenv('HOST')}"`: the variable's, not "None")
            env = env or (value.env if isinstance(value, SV) else None)
            scheme, found, _ = "".join(text).partition(
                "://"
            )  # (a scheme a known piece gives, `f"{self.driver}://..."`:
            first = node.values[0] if node.values else None  # shown, where no literal in front writes one)
            if found and not (isinstance(first, ast.Constant) and "://" in str(first.value)):
                return unknown(frame.module, node, env=env, why=f"{scheme}://... ({frame.module.segment(node)})")
            return unknown(frame.module, node, env=env)  # (its text kept: a literal scheme still names the driver)
        if value.env and value.from_:  # one variable's: its line; several variables': the f-string's own line
            origin = value.from_ if not env else frame.module.where(node)
        env = env or value.env  # (named by the first)
        convert = CONVERSIONS.get(conversion)
        converted = convert(value.value) if convert is not None else value.value
        try:
            text.append(format(converted, spec.value if is_known(spec) else ""))
        except (TypeError, ValueError):
            return unknown(frame.module, node, env=env)
    return SV("".join(text), origin, env, source=frame.module.segment(node))


SENTINEL = "object()"  # a fresh object's text: identical to itself only


OBJECT = object()  # an item `in` compares with: a function, a class, a module, a dict (never None)
OBJECTS = (ExternalRef, FuncRef, ClassRef, ModuleRef, InstanceRef, DictV, ListV, HolderV)


def as_member(item: Any, left: Any) -> Any:
    """An item of a tuple `left in (...)` tests, as compared with `left`: a function, a class or another object
    where `left` is None (madnoberson's `None not in (value, result_factory)`, `result_factory` being `int`)."""
    return SV(OBJECT, None) if isinstance(item, OBJECTS) and is_known(left) and left.value is None else item


def identical(left: Any, right: Any) -> bool | None:
    """`left is right` where the scan can tell: the one object it read twice, or a sentinel (`_MISSING =
    object()`) and anything else (a helper's `if default is _MISSING: raise`); None otherwise."""
    if left is right:
        return True
    texts = [v.expr for v in (left, right) if isinstance(v, SV) and not v.known]
    return False if SENTINEL in texts else None


def format_args(ev: Interpreter, op: ast.operator, node: ast.AST, right: Any, where: str) -> Any:
    """The right side of `"postgresql://%s@%s" % (user, host)` as the tuple `%` formats with (unknown, with a
    variable its items read, when one is); anything else as it is (`% [a, b]` is one argument, as in Python)."""
    digits = isinstance(right, DictV) and any(key.isdigit() for key in right.items)  # (an int key: not a field's)
    if isinstance(op, ast.Mod) and isinstance(right, DictV) and not right.opaque and not digits:  # `"%(user)s" % d`
        values = [ev.force(item) for item in right.items.values()]
        if not all(is_known(item) and not unset_variable(item) for item in values):
            return SV(None, where, env_of(*values), known=False, expr=ast.unparse(getattr(node, "right", node)))
        return SV({key: item.value for key, item in zip(right.items, values)}, where, env_of(*values))
    if not (isinstance(op, ast.Mod) and isinstance(node, ast.BinOp) and isinstance(node.right, ast.Tuple)):
        unset = isinstance(op, ast.Mod) and unset_variable(right)  # (a variable's None: "None" is no host)
        return SV(None, where, right.env, known=False, expr=f"${right.env}") if unset else right
    if not isinstance(right, ListV):
        return right
    items = [ev.force(item) for item in right.items]
    if not all(is_known(item) and not unset_variable(item) for item in items):
        return SV(None, where, env_of(*items), known=False, expr=ast.unparse(node.right))
    return SV(tuple(item.value for item in items), where, env_of(*items))


STATE = "starlette.datastructures.State"


def state_app(dotted: str, node: ast.Call, frame: Frame) -> HolderV:
    """Starlette's or FastAPI's app: what the code sets on its `state` is read back (`app.state.settings`)."""
    return HolderV(dotted, {"state": HolderV(STATE)})


def held_value(project: Project, holder: HolderV, attr: str, value: Any) -> Any:
    """What `holder.attr = value` leaves there: the value, but for an app state's attribute the project writes in
    more than one place (a default at import, what a startup hook sets), read back where another write may
    have replaced it: unknown."""
    if holder.dotted != STATE:
        return value
    text = f".state.{attr}"
    writes = [
        node
        for module in project.modules.values()
        if module is not None and text in module.source
        for node in ast.walk(module.tree)
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Attribute) and target.attr == attr and last_name(target.value) == "state"
    ]
    return (
        value
        if len(writes) < 2
        else SV(None, None, known=False, expr=f"app.state.{attr} (set in {len(writes)} places)")
    )


def unknown_sum(module: Module, node: ast.AST, op: ast.operator, left: Any, right: Any) -> SV:
    """What the scan cannot work out of `left op right`: unknown, naming their variables; a URL whose known start
    writes its scheme (`_SA_PREFIX + rest`, asyncpg-datalayer's) keeps that scheme in its text, as a URL builder's
    does (target.written_scheme reads it); so does an unknown start written out with its scheme (a settings
    property's f-string, then `+ "?async_fallback=True"`: postgres-fastapi's)."""
    start = left.value if isinstance(op, ast.Add) and is_known(left) and isinstance(left.value, str) else ""
    written = SCHEME.match(start)
    why = f"{written.group(1)}://... ({module.segment(node)})" if written else None
    chained = isinstance(node, ast.BinOp) and isinstance(node.left, ast.BinOp)  # (a `+` chain's text is its own)
    if why is None and isinstance(op, ast.Add) and not chained and isinstance(left, SV) and not left.known:
        why = f"{left.expr} + ..." if written_scheme(left.expr) else None  # (what is added may hold a password)
    return unknown(module, node, env=env_of(left, right), why=why)
