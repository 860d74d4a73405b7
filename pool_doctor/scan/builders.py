"""Library calls that build a value the pool is given: a URL from its parts (SQLAlchemy's `URL.create`,
`make_url`, pydantic's `PostgresDsn.build`), a config type (`collections.namedtuple`), a module named at run time
(`importlib.import_module`)."""

from __future__ import annotations

import ast
import urllib.parse
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

from pool_doctor.scan import containers, namespaces
from pool_doctor.scan.finder import URL_BUILDERS, URL_CALLS, dotted_parts
from pool_doctor.scan.kinds import (
    SV,
    Branches,
    ClassRef,
    DictV,
    ExternalRef,
    Frame,
    FuncRef,
    InstanceRef,
    Interpreter,
    ListV,
    ModuleRef,
    SuperRef,
    Thunk,
    env_of,
    is_known,
    unknown,
)

URL_PARTS = ("drivername", "username", "password", "host", "port", "database", "query")
# what urllib.parse.urlsplit gives (urlparse the same, and `params`)
URL_FIELDS = ("scheme", "netloc", "path", "query", "fragment", "hostname", "port", "username", "password")
# pydantic's `PostgresDsn.build(scheme=..., username=..., host=..., port=..., path=...)`, keywords only (pydantic 1:
# `user=`, and a path with its leading slash), and pydantic_core's, which pydantic 2's wrap. Its parts by
# URL.create's names.
PYDANTIC_DSN_BUILDERS = frozenset(
    f"{where}.{kind}.build"
    for where in ("pydantic", "pydantic.networks", "pydantic.v1", "pydantic.v1.networks", "pydantic_core")
    for kind in ("PostgresDsn", "AnyUrl", "AnyHttpUrl", "MultiHostUrl", "Url")
)
# The URL types themselves, made from a text (`PostgresDsn("postgresql://...")`, pydantic 2; pydantic 1's take it as
# `url`): that text, as `str()` gives it back
SERVER_PARTS = ("username", "password", "port")  # (with any of them, pydantic's build refuses an empty host)
PYDANTIC_URLS = frozenset(name.removesuffix(".build") for name in PYDANTIC_DSN_BUILDERS)
# traitlets' trait types and what each holds when nothing sets it (Dict and List: empty).
TRAIT_MODULES = ("traitlets", "traitlets.traitlets")
TRAIT_DEFAULTS: dict[str, Any] = {
    "Unicode": "",
    "CUnicode": "",
    "Bool": False,
    "CBool": False,
    "Integer": 0,
    "Int": 0,
    "CInt": 0,
    "Float": 0.0,
    "CFloat": 0.0,
    "Any": None,
}
TRAIT_CONTAINERS = ("Dict", "List")  # empty unless given a default
DSN_PARTS = {"scheme": "drivername", "username": "username", "user": "username", "password": "password"}
DSN_PARTS |= {"host": "host", "port": "port", "path": "database", "query": "query"}


class Builders:
    def __init__(self, ev: Interpreter) -> None:
        self.ev = ev

    def calls(self) -> dict[str, Callable[[ast.Call, Frame], Any]]:
        return {
            **dict.fromkeys(URL_CALLS, self.url_call),
            **dict.fromkeys(URL_BUILDERS, self.url_builder),
            **dict.fromkeys(PYDANTIC_DSN_BUILDERS, self.dsn_builder),
            "yarl.URL.build": self.yarl_build,
            **dict.fromkeys(
                PYDANTIC_URLS, lambda node, frame: self.ev.arg(node, frame, 0, "url") or unknown(frame.module, node)
            ),
            "importlib.import_module": self.import_module,
            "builtins.__import__": self.import_module,
            "collections.namedtuple": self.namedtuple,
            **{f"urllib.parse.{name}": self.url_parts for name in ("urlparse", "urlsplit")},
            **{
                f"{where}.{kind}": self.trait
                for where in TRAIT_MODULES
                for kind in (*TRAIT_DEFAULTS, *TRAIT_CONTAINERS)
            },
            "typing.TypeVar": self.type_var,
            "inspect.getfile": self.source_file,
            "builtins.getattr": self.getattr_call,
            "builtins.globals": lambda node, frame: ModuleRef(frame.module, namespace=True),  # `globals()["DB_URL"]`
            "builtins.locals": namespaces.module_locals,
            "typing_extensions.TypeVar": self.type_var,
        }

    def source_file(self, node: ast.Call, frame: Frame) -> Any:
        """`inspect.getfile(module)` of a project module, function or class: the file it is in."""
        given = self.ev.arg(node, frame, 0, "object")
        module = given.module if isinstance(given, ModuleRef | FuncRef | ClassRef) else None
        return SV(str(module.path), frame.module.where(node)) if module is not None else unknown(frame.module, node)

    def trait(self, node: ast.Call, frame: Frame) -> Any:
        """A traitlets trait (`db_url = Unicode("sqlite:///hub.sqlite").tag(config=True)`, JupyterHub's): an
        instance reads its default until a config file or the command line sets it. Dict and List take their
        default only as `default_value=` (their first argument is the type of their items)."""
        kind = self.ev.force(self.ev.eval(node.func, frame))
        name = kind.dotted.rsplit(".", 1)[-1] if isinstance(kind, ExternalRef) else ""
        first = node.args[0] if node.args else None
        # Dict and List: a first argument that is a dict or list (not a trait) is the default (traitlets 5)
        positional = name not in TRAIT_CONTAINERS or isinstance(first, (ast.Dict, ast.List))
        given = self.ev.arg(node, frame, 0 if positional else None, "default_value")
        if given is not None:
            return given
        empty = TRAIT_DEFAULTS.get(name)
        if name == "Dict":
            return DictV({}, frame.module.where(node))
        if name == "List":
            return ListV([], frame.module.where(node))
        return SV(empty, frame.module.where(node), source=frame.module.segment(node))

    def getattr_call(self, node: ast.Call, frame: Frame) -> Any:
        """`getattr(module, "Settings")` on the project's own module, class or instance (a default when a module
        does not define the name); on anything else, unknown."""
        if len(node.args) < 2:
            return unknown(frame.module, node)
        base, name = self.ev.force(self.ev.eval(node.args[0], frame)), self.ev.eval(node.args[1], frame)
        if isinstance(base, Branches) and any(isinstance(o, InstanceRef) for _, o in base.options):
            return unknown(frame.module, node)  # (an instance's attribute per branch: its __getattr__ each time)
        return containers.lift(self.ev, [base, name], partial(self._getattr, node, frame))  # (a module or class)

    def _getattr(self, node: ast.Call, frame: Frame, base: Any, name: Any) -> Any:
        if not (is_known(name) and isinstance(name.value, str)) or not isinstance(
            base,
            (ModuleRef, ClassRef, InstanceRef, SuperRef),  # (readthedocs' `getattr(super(), "DATABASES", {})`)
        ):
            return unknown(frame.module, node)
        found = self.ev.force(self.ev.attribute(base, name.value, None, frame))
        lacks = isinstance(found, SV) and not found.known and found.expr == name.value  # nothing by that name
        if isinstance(base, ModuleRef) and len(node.args) > 2 and lacks:
            return self.ev.eval(node.args[2], frame)
        return unknown(frame.module, node) if lacks else found

    def type_var(self, node: ast.Call, frame: Frame) -> Any:
        """`DBT = TypeVar("DBT", bound="Bot")`: its bound, the class a parameter typed `type[DBT]` holds."""
        bound = next((kw.value for kw in node.keywords if kw.arg == "bound"), None)
        if isinstance(bound, ast.Constant) and isinstance(bound.value, str):
            try:
                bound = ast.copy_location(ast.parse(bound.value, mode="eval").body, bound)
            except SyntaxError:
                return unknown(frame.module, node)
        found = self.ev.force(self.ev.eval(bound, Frame(frame.module))) if bound is not None else None
        return found if isinstance(found, ClassRef) else unknown(frame.module, node)

    def url_call(self, node: ast.Call, frame: Frame) -> Any:
        """A library's `make_url(text)`: the connection string it is given."""
        value = self.ev.arg(node, frame, 0, "name_or_url")
        return value if value is not None else unknown(frame.module, node)

    def url_builder(self, node: ast.Call, frame: Frame) -> Any:
        """`URL.create(drivername=..., username=..., host=..., ...)`: the URL, when every part given is known;
        else unknown, its text the driver's scheme and the call (the driver is still the code's to say)."""
        if any(isinstance(a, ast.Starred) for a in node.args):
            return unknown(frame.module, node)
        spread: dict[str, Any] = {}  # URL.create(**parts) (zou's DATABASE dict): the parts, when the scan reads them
        for kw in node.keywords:
            if kw.arg is None:
                parts_given = self.ev.force(self.ev.eval(kw.value, frame))
                if not isinstance(parts_given, DictV) or parts_given.opaque:
                    return unknown(frame.module, node)  # parts the scan cannot see
                spread.update({key: self.ev.force(value) for key, value in parts_given.items.items()})
        parts = {
            name: self.ev.arg(node, frame, index, name) or spread.get(name) for index, name in enumerate(URL_PARTS)
        }
        return self.url_of(parts, node, frame)

    def dsn_builder(self, node: ast.Call, frame: Frame) -> Any:
        """pydantic's `PostgresDsn.build(scheme=..., username=..., host=..., path=...)`, as url_builder reads it."""
        given: dict[str, Any] = {}
        for kw in node.keywords:  # `**options`: a dict the scan reads all of
            spread = self.ev.force(self.ev.eval(kw.value, frame)) if kw.arg is None else None
            if isinstance(spread, DictV) and not spread.opaque:
                given.update(spread.items)
            elif kw.arg is not None:
                given[kw.arg] = Thunk(kw.value, frame)
            else:
                return unknown(frame.module, node)
        if any(name not in DSN_PARTS for name in given) or node.args:
            return unknown(frame.module, node)  # hosts=[...], fragment=...: not a URL the scan can write
        parts: dict[str, Any] = dict.fromkeys(URL_PARTS)
        for keyword, value in given.items():
            parts[DSN_PARTS[keyword]] = self.ev.force(value)
        # pydantic 2.13's PostgresDsn (host_required) refuses an empty host too, and so do the others where a user,
        # a password or a port is given; else their Url and MultiHostUrl build one: `sqlite:////app/db.sqlite`
        # from host="" and path="/app/db.sqlite" (TFG-GOLEM-XIV's)
        kind = self.ev.force(self.ev.eval(node.func, frame))
        lax = isinstance(kind, ExternalRef) and ".PostgresDsn." not in kind.dotted
        bare = all(parts[k] is None or (is_known(parts[k]) and parts[k].value is None) for k in SERVER_PARTS)
        refused = (None,) if lax and bare else (None, "")
        path, host = parts["database"], parts["host"]
        built_empty = is_known(host) and host.value == "" and "" not in refused  # (its path as given, "/" and all)
        if is_known(path) and isinstance(path.value, str) and not built_empty:
            parts["database"] = replace(path, value=path.value.removeprefix("/"))
        return self.url_of(parts, node, frame, refused=refused)

    def yarl_build(self, node: ast.Call, frame: Frame) -> Any:
        """yarl's `URL.build(scheme=..., user=..., host=..., port=..., path=...)` (s3rius' FastAPI template's
        `db_url`), as dsn_builder reads pydantic's: yarl 1.25 takes the same parts, and raises for a port that is
        no int."""
        port = self.ev.force(self.ev.arg(node, frame, None, "port"))
        if is_known(port) and port.value is not None and not isinstance(port.value, int):
            return unknown(frame.module, node, env=port.env, why=f"{frame.module.segment(node)} (a port not an int)")
        path = self.ev.force(self.ev.arg(node, frame, None, "path"))  # with a host, a path must start with "/"
        if is_known(path) and isinstance(path.value, str) and path.value and not path.value.startswith("/"):
            return unknown(frame.module, node, env=path.env, why=f"{frame.module.segment(node)} (a path with no /)")
        return self.dsn_builder(node, frame)

    def url_of(self, parts: dict[str, Any], node: ast.Call, frame: Frame, refused: tuple[Any, ...] = ()) -> Any:
        """The URL the parts make; parts that depend on a test (a model validator's fields), one per branch.
        `refused`: the hosts a build raises for (pydantic's: none given, None, and "" for a PostgresDsn), which
        has no URL then."""
        names = [name for name, value in parts.items() if value is not None]
        values = [parts[name] for name in names]
        text = partial(self._url_text, node=node, frame=frame, refused=refused)
        return containers.lift(self.ev, values, lambda *known: text(dict(zip(names, known))))

    def _url_text(self, given: dict[str, Any], node: ast.Call, frame: Frame, refused: tuple[Any, ...] = ()) -> Any:
        driver = given.get("drivername")
        if not is_known(driver) or not isinstance(driver.value, str):
            return unknown(frame.module, node)
        host = given.get("host")
        if refused and (host is None or (is_known(host) and host.value in refused)):
            return unknown(
                frame.module, node, env=env_of(host), why=f"{driver.value}://... (no host: the build raises)"
            )
        env = env_of(*given.values())
        if not all(is_known(value) for value in given.values()) or "query" in given:
            return unknown(frame.module, node, env=env, why=f"{driver.value}://... ({frame.module.segment(node)})")
        text = {name: value.value for name, value in given.items() if value.value is not None}
        user = str(text.get("username", "")) + (f":{text['password']}" if "password" in text else "")
        host = str(text.get("host", "")) + (f":{text['port']}" if "port" in text else "")
        database = f"/{text['database']}" if "database" in text else ""  # none: no "/" (SQLAlchemy 2.1, pydantic 2.13)
        url = f"{driver.value}://{user}{'@' if user else ''}{host}{database}"
        return SV(url, frame.module.where(node), env, source=frame.module.segment(node))

    def url_parts(self, node: ast.Call, frame: Frame) -> Any:
        """`urlparse(url)` / `urlsplit(url)` of a known URL (saq's queue picks its class by the scheme): an object
        with its parts (`scheme`, `hostname`, `port`, ...), each from where the URL is written."""
        url = self.ev.force(self.ev.arg(node, frame, 0, "url"))
        if not (is_known(url) and isinstance(url.value, str)):
            return unknown(frame.module, node, env=env_of(url))
        try:
            parts = urllib.parse.urlsplit(url.value)
            given = {name: getattr(parts, name) for name in URL_FIELDS}
        except ValueError:
            return unknown(frame.module, node, env=url.env)
        body: list[ast.stmt] = [
            ast.AnnAssign(ast.Name(name, ast.Store()), ast.Name("object", ast.Load()), None, 1) for name in given
        ]
        cls = ast.ClassDef("SplitResult", [], [], body, [ast.Name("dataclass", ast.Load())])
        for part in ast.walk(cls):
            ast.copy_location(part, node)
        return InstanceRef(ClassRef(frame.module, cls), {k: SV(v, url.from_, url.env) for k, v in given.items()})

    def namedtuple(self, node: ast.Call, frame: Frame) -> Any:
        """`collections.namedtuple("Config", ["url", "size"], defaults=[5])`: read as the dataclass it acts as
        (its fields in order, the defaults the last ones')."""
        names = self.ev.force(self.ev.arg(node, frame, 1, "field_names"))
        fields = [self.ev.force(item) for item in names.items] if isinstance(names, ListV) else [names]
        if not all(is_known(f) and isinstance(f.value, str) for f in fields):
            return unknown(frame.module, node)
        texts = [part for f in fields for part in str(f.value).replace(",", " ").split()]
        given = next((kw.value for kw in node.keywords if kw.arg == "defaults"), None)
        defaults = list(given.elts) if isinstance(given, (ast.List, ast.Tuple)) else []
        values: list[ast.expr | None] = [None] * (len(texts) - len(defaults)) + defaults[-len(texts) :]
        body: list[ast.stmt] = [
            ast.AnnAssign(ast.Name(name, ast.Store()), ast.Name("object", ast.Load()), value, 1)
            for name, value in zip(texts, values)
        ]
        cls = ast.ClassDef("namedtuple", [], [], body or [ast.Pass()], [ast.Name("dataclass", ast.Load())])
        for part in ast.walk(cls):
            if not hasattr(part, "lineno") or getattr(part, "lineno", None) is None:
                ast.copy_location(part, node)
        return ClassRef(frame.module, cls)

    def import_module(self, node: ast.Call, frame: Frame) -> Any:
        """`importlib.import_module("asyncpg")`: the module, as `import asyncpg` names it."""
        name = self.ev.arg(node, frame, 0, "name")
        return module_named(self.ev, name, node, frame)


def module_named(ev: Interpreter, name: Any, node: ast.AST, frame: Frame) -> Any:
    """The module whose dotted name `name` holds, as `import asyncpg` (or `from a.b import c`) would name it."""
    name = ev.force(name) if name is not None else None
    if not (is_known(name) and isinstance(name.value, str)) or name.value.startswith("."):
        return unknown(frame.module, node)
    parent, _, last = name.value.rpartition(".")
    statement: ast.Import | ast.ImportFrom = (
        ast.ImportFrom(module=parent, names=[ast.alias(name=last)], level=0)
        if parent
        else ast.Import(names=[ast.alias(name=last)])
    )
    found = ev.imported(frame.module, ast.copy_location(statement, node))
    return found[0][1] if found else unknown(frame.module, node)


def lazy_module(ev: Interpreter, init: FuncRef | None, node: ast.Call, frame: Frame) -> Any:
    """A project subclass of `types.ModuleType` made as a lazy import (Piccolo's and TensorFlow's
    `LazyLoader("asyncpg", globals(), "asyncpg")`), whose `__init__` is `init`: the module it stands for, the name
    `__init__` gives `super().__init__(name)` (a module's `__name__`, what the loader imports on first use)."""
    if init is None:
        return module_named(ev, ev.arg(node, frame, 0, "name"), node, frame)
    for part in ast.walk(init.node):
        if (
            isinstance(part, ast.Call)
            and isinstance(part.func, ast.Attribute)
            and part.func.attr == "__init__"
            and isinstance(part.func.value, ast.Call)
            and (dotted_parts(part.func.value.func) or [""])[-1] == "super"
            and len(part.args) + len(part.keywords) >= 1
        ):
            inner = ev.bind(init, node, frame, skip_first=True)
            return module_named(ev, ev.arg(part, inner, 0, "name"), node, frame)
    return unknown(frame.module, node)
