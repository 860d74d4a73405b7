"""Calls, as the scan follows them: a project function's body run with its arguments bound (scan/flow.py), a
class made into an instance, a method of a value the scan holds (a string's `.lower()`, a dict's `.get()`), and
Python's own casts and builtins. A library call the scan does not know is unknown, with its source text.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial, reduce
from typing import Any

from pool_doctor.scan import argparsing, clicks, containers, dynaconfs, fieldtext, predicates, pycalls, results
from pool_doctor.scan.builders import lazy_module
from pool_doctor.scan.files import PARSER_READS, ConfigFiles, template_of
from pool_doctor.scan.finder import FunctionNode, library_target
from pool_doctor.scan.flow import Flow
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
    MethodRef,
    ModuleRef,
    PartialRef,
    PoolV,
    PropertyV,
    SuperRef,
    Thunk,
    env_of,
    is_known,
    unknown,
)
from pool_doctor.scan.model import mask_text
from pool_doctor.scan.nodes import takes_keyword
from pool_doctor.scan.paste import PasteSettings
from pool_doctor.scan.settings import SettingsClasses
from pool_doctor.scan.sources import ConfigRef, ConfigSources, EnvironRef

OWNER, FIRST = "__class__", "__self__"  # a method's frame: its class, its first argument (names no code binds)
MAX_CALLS = 12  # project functions calling project functions: deeper than this is not configuration
CAST_EMPTY: dict[str, Any] = {"int": 0, "float": 0.0, "str": "", "bool": False}  # what `int()` etc. return
ENVIRON_ENVS = ("environ.Env", "environ.FileAwareEnv", "environ.environ.Env", "environ.environ.FileAwareEnv")
# the methods of django-environ's Env a value is read through (0.11: each calls get_value, then parse_value)
ENVIRON_READS = {"__init__", "__call__", "get_value", "parse_value", "db", "db_url", "db_url_config"}
ENVIRON_READS |= {"str", "int", "bool", "float", "json", "list", "dict"}
ENV_READERS = ("environs.env", "envparse.env")  # `env(name, default)`, `env.int(name, default=...)` (envparse 0.2)
# (`get_secret_value` and pydantic's Url `unicode_string`: the text the scan already holds, as it is; its
# `encoded_string` too where that text is ASCII, which punycode and percent-encoding leave alone)
STR_METHODS = {
    "lower",
    "upper",
    "capitalize",
    "strip",
    "lstrip",
    "rstrip",
    "title",
    "casefold",
    "get_secret_value",
    "unicode_string",
}
STR_CALLS = {  # (and the STR_METHODS given what to strip: tracardi's `uri.strip(" /")`)
    "strip",
    "lstrip",
    "rstrip",
    "replace",
    "split",
    "rsplit",
    "startswith",
    "endswith",
    "removeprefix",
    "removesuffix",
    "format",
    "join",
    "find",
}
NUMBERS = (int, float)


@dataclass
class Arguments:
    """A call's arguments, unevaluated: positional, keyword, and `**` spreads read into keywords."""

    positional: list[Any] = field(default_factory=list)
    keywords: dict[str, Any] = field(default_factory=dict)
    opaque: list[str] = field(default_factory=list)  # `**x` the scan could not read
    starred: bool = False  # a `*args` the scan could not read
    starred_text: str | None = None
    where: str | None = None


COPIES = ("copy", "deepcopy")


APPLICATIONS = ("aiohttp.web.Application", "aiohttp.web_app.Application")
# Starlette's and FastAPI's app keep what the app sets on `app.state` (a State: attributes set and read back)
STATE_APPS = ("fastapi.FastAPI", "fastapi.applications.FastAPI", "starlette.applications.Starlette")
# Flask-SQLAlchemy 3.x's extension hands out sqlalchemy's names (extension.py `__getattr__`): `db.create_engine(url,
# **options)` is sqlalchemy's (ECS-Discord-Bot's celery workers make their engine again with it)
FLASK_SQLALCHEMY_EXTENSION = "flask_sqlalchemy.SQLAlchemy"
FORWARDED = ("create_engine", "engine_from_config")


class Calls:
    def __init__(
        self,
        ev: Interpreter,
        classes: SettingsClasses,
        sources: ConfigSources,
        files: ConfigFiles,
        flow: Flow,
        library_calls: dict[str, Callable[[ast.Call, Frame], Any]],
    ) -> None:
        self.ev = ev
        self.classes = classes
        self.sources = sources
        self.files = files
        self.flow = flow
        self.library_calls = library_calls
        self.depth = 0
        self.naming: set[int] = set()  # parser calls whose own get() is being run for the variable it reads
        self.memo = results.Memo()
        self.paste = PasteSettings(files.project)

    def builtin_calls(self) -> dict[str, Callable[[ast.Call, Frame], Any]]:
        """Python's own calls the scan reads, by dotted name."""
        return {
            **{f"builtins.{name}": partial(self.python_cast, name) for name in CAST_EMPTY},
            "builtins.dict": self.dict_call,
            "pydantic_settings.SettingsConfigDict": self.dict_call,
            "pydantic.ConfigDict": self.dict_call,
            "builtins.list": self.sequence,
            "builtins.tuple": self.sequence,
            **dict.fromkeys(("builtins.set", "builtins.frozenset"), partial(self.sequence, unordered=True)),
            "builtins.max": partial(self.extreme, max),
            "builtins.min": partial(self.extreme, min),
            **{f"{owner}.{how.__name__}": partial(pycalls.rounded, self.ev, how) for owner, how in pycalls.ROUNDING},
            "builtins.len": partial(pycalls.length, self.ev),
            "builtins.range": partial(pycalls.range_call, self.ev),
            "builtins.type": self.type_call,
            "builtins.super": self.super_call,
            "builtins.isinstance": partial(pycalls.isinstance_call, self.ev),
            **predicates.calls(self.ev),
            "builtins.property": lambda node, frame: PropertyV(self.ev.arg(node, frame, 0, "fget")),
            "django.utils.functional.SimpleLazyObject": partial(pycalls.lazy_object, self.ev),
            "functools.partial": self.partial_call,
            "re.sub": partial(pycalls.regex_sub, self.ev),
            # aiohttp's Application is a mapping the app fills (`app["DATABASE_URL"] = ...`, `app.update(...)`)
            **dict.fromkeys(APPLICATIONS, lambda node, frame: DictV({}, frame.module.where(node))),
            **{app: partial(pycalls.state_app, app) for app in STATE_APPS},
            **pycalls.provider_calls(self.ev),
            "pydantic.AliasChoices": self.alias_choices,
            "pydantic.aliases.AliasChoices": self.alias_choices,
            "typing.cast": lambda node, frame: self.ev.arg(node, frame, 1, "val") or unknown(frame.module, node),
            **{  # a secret held as its text (`.get_secret_value()` gives it back)
                f"pydantic{at}.SecretStr": lambda node, frame: (
                    self.ev.arg(node, frame, 0, "secret_value") or unknown(frame.module, node)
                )
                for at in ("", ".types")
            },
            # The scan's dicts are values (a change makes a new one), so a copy is the value itself.
            **{
                f"copy.{n}": lambda node, frame: self.ev.arg(node, frame, 0, "x") or unknown(frame.module, node)
                for n in COPIES
            },
            **{f"urllib.parse.{name}": partial(pycalls.quoted, self.ev, name) for name in pycalls.QUOTES},
        }

    # --- the call -------------------------------------------------------------------------------------

    def call(self, func: Any, node: ast.Call, frame: Frame) -> Any:
        if isinstance(func, ExternalRef):
            handler = self.library_calls.get(func.dotted)
            if handler is not None:
                return handler(node, frame)
            if func.dotted == FLASK_SQLALCHEMY_EXTENSION:  # 3.x's __getattr__ gives sqlalchemy's names
                return HolderV(func.dotted, {name: ExternalRef(f"sqlalchemy.{name}") for name in FORWARDED})
            if library_target(func.dotted) is not None:
                return PoolV(func.dotted)  # `if pool:` on the caller's pool is true
            root = next((r for r in ENV_READERS if func.dotted == r or func.dotted.startswith(f"{r}.")), None)
            if root is not None:  # environs' or envparse's own `env = Env()` (`from envparse import env`)
                reader = EnvironRef({}, frame.module, environs=True, envparse=root.startswith("envparse"))
                return self.sources.environ_call(reader, func.dotted[len(root) + 1 :] or None, node, frame)
            one = node.args[0] if len(node.args) == 1 and not node.keywords else None  # (`unquote(os.environ[v])`)
            return unknown(frame.module, node, env=env_of(self.ev.force(self.ev.eval(one, frame))) if one else None)
        if isinstance(func, FuncRef):
            return self.call_function(func, node, frame)
        if isinstance(func, ClassRef):
            if self.classes.is_module_type(func):
                return lazy_module(self.ev, self.classes.init_of(func), node, frame)
            if self.classes.is_parser(func) and not self.classes.reads_its_own_way(func):
                return self.files.parser_call(node, frame)  # a subclass that adds nothing to how options are read
            if self._library_env(func):  # (aurora's SmartEnv(environ.Env) adding a cache_url of its own)
                return self.sources.environ_env(node, frame)
            made = self.classes.instantiate(func, node, frame)
            if isinstance(made, InstanceRef) and self.classes.is_parser(func):
                made.parser = self.files.parser_call(node, frame)  # the files it is seen reading, as read()
            return made
        if isinstance(func, MethodRef):
            return self.call_method(func, node, frame)
        if isinstance(func, InstanceRef) and isinstance(called := self._dunder_call(func, frame), FuncRef):
            return self.call_function(called, node, frame)  # an instance of a project class with its own `__call__`
        if isinstance(func, PartialRef):
            inner = self.ev.force(func.func)
            if isinstance(inner, FuncRef):
                given = self.arguments(node, frame)
                given.positional = [*func.args, *given.positional]
                given.keywords = {**func.keywords, **given.keywords}
                return self._run(inner, self.bind_arguments(inner, given, frame), frame, node)
            return unknown(frame.module, node)
        if isinstance(func, ConfigRef):
            return self.sources.config_call(func, node, frame)
        if isinstance(func, EnvironRef):
            return self.sources.environ_call(func, None, node, frame)
        # `os.environ["URL"].replace(...)`: a method of a variable's value the scan cannot read keeps its variable;
        # `config.get("url", os.environ.get("GRAPH_URL"))` on a mapping it cannot read, its default's (txtai)
        env = func.env if isinstance(func, SV) else None
        if env is None and isinstance(node.func, ast.Attribute) and node.func.attr == "get" and len(node.args) == 2:
            env = env_of(self.ev.force(self.ev.eval(node.args[1], frame)))
        elif env is None and len(node.args) == 1 and not node.keywords:  # a cast the scan cannot name (artemis'
            env = env_of(self.ev.force(self.ev.eval(node.args[0], frame)))  # knob's `cast_from_str(os.environ[v])`)
        return unknown(frame.module, node, env=env)

    def _dunder_call(self, instance: InstanceRef, frame: Frame) -> Any:
        """The class's own `__call__` (Python looks it up on the type, never the instance), bound as it says."""
        method = self.classes.own_method(instance.cls, "__call__", instance)
        decorators = (
            {ast.unparse(d).rpartition(".")[2] for d in getattr(method.node, "decorator_list", [])} if method else set()
        )
        if method is None or decorators - {"classmethod", "staticmethod"}:
            return None  # (a property, a cached wrapper: what it gives is not this function)
        bound = method.owner if "classmethod" in decorators else None if "staticmethod" in decorators else instance
        return replace(method, bound_self=bound)

    def arg(self, node: ast.Call, frame: Frame, position: int | None, keyword: str | None) -> Any:
        """The argument at `position` or named `keyword`, evaluated; None when not given."""
        for kw in node.keywords:
            if kw.arg == keyword and keyword is not None:
                return self.ev.force(self.ev.eval(kw.value, frame))
        if (
            position is not None
            and position < len(node.args)
            and not any(isinstance(a, ast.Starred) for a in node.args[: position + 1])
        ):
            return self.ev.force(self.ev.eval(node.args[position], frame))
        return None

    def arguments(self, node: ast.Call, frame: Frame) -> Arguments:
        given = Arguments(where=frame.module.where(node))
        for value in node.args:
            if isinstance(value, ast.Starred):
                spread = self.ev.force(self.ev.eval(value.value, frame))
                if isinstance(spread, ListV) and not given.starred:
                    given.positional.extend(spread.items)
                elif not given.starred:
                    given.starred = True
                    given.starred_text = f"*{frame.module.segment(value.value)}"
                continue
            if not given.starred:
                given.positional.append(Thunk(value, frame))
        for kw in node.keywords:
            if kw.arg is not None:
                given.keywords[kw.arg] = Thunk(kw.value, frame)
                continue
            spread = self.ev.force(self.ev.eval(kw.value, frame))
            if isinstance(spread, InstanceRef) and self.classes.is_model(spread.cls):
                spread = DictV(self.classes.instance_fields(spread), None)
            if isinstance(spread, DictV):
                given.keywords.update(spread.items)
                given.opaque.extend(spread.opaque)
            elif not (is_known(spread) and spread.value is None):
                given.opaque.append(f"**{frame.module.segment(kw.value)}")
        return given

    def bind(self, func: FuncRef, node: ast.Call | None, frame: Frame, skip_first: bool = False) -> Frame:
        """A frame for the function's body: its parameters bound to the call's arguments, else their defaults."""
        given = self.arguments(node, frame) if node is not None else None
        return self.bind_arguments(func, given, frame, skip_first)

    def bind_arguments(
        self, func: FuncRef, given: Arguments | None, frame: Frame, skip_first: bool = False, spreads: bool = False
    ) -> Frame:
        args = func.node.args
        positional = [*args.posonlyargs, *args.args]
        bindings: dict[str, Any] = {}
        if (skip_first and positional) or (func.bound_self is not None and positional):
            bindings[positional[0].arg] = func.bound_self
            positional = positional[1:]
        defaults = dict(zip([a.arg for a in positional[len(positional) - len(args.defaults) :]], args.defaults))
        defaults.update({a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None})
        names = [a.arg for a in positional] + [a.arg for a in args.kwonlyargs]
        annotations = {a.arg: a.annotation for a in [*positional, *args.kwonlyargs] if a.annotation is not None}
        extra_kwargs = DictV({}, given.where if given is not None else None)
        extra_args: list[Any] = []
        if given is not None:
            for index, value in enumerate(given.positional):
                if index < len(positional):
                    bindings[positional[index].arg] = value
                else:
                    extra_args.append(value)
            for key, value in given.keywords.items():
                if key in names and key not in bindings:
                    bindings[key] = value
                else:
                    extra_kwargs.items[key] = value
            extra_kwargs.opaque.extend(given.opaque)
        definition = Frame(func.module, scope=None, outer=func.closure)
        keyable = {a.arg for a in [*args.args, *args.kwonlyargs]}
        for name in names:
            if name in bindings:
                continue
            if spreads and given is not None and given.opaque and name in keyable:  # `make(**opts)`: opts may give it
                bindings[name] = SV(None, None, known=False, expr=f"{name}, or {given.opaque[0]}")
            elif spreads and given is not None and given.starred and name not in {a.arg for a in args.kwonlyargs}:
                bindings[name] = SV(None, None, known=False, expr="*args")  # (`make(url, *opts)`: its default too)
            elif name in defaults:
                bindings[name] = Thunk(defaults[name], func.closure or definition)
            else:
                clicked = clicks.command_parameter(self.ev, self.sources.environment, func, name)  # (`main()`: argv)
                bindings[name] = (
                    clicked
                    or fieldtext.of_its_type(self.ev, annotations.get(name), definition, name)
                    or SV(None, None, known=False, expr=f"{name} (not given)")
                )
        if args.vararg is not None:  # (what an unread `*x` spreads: unknown, not an empty tuple)
            starred = given is not None and given.starred
            spread = SV(None, None, known=False, expr=given.starred_text if given is not None else None)
            bindings[args.vararg.arg] = spread if starred else ListV(extra_args, None)
        if args.kwarg is not None:
            if given is None:  # no call in the scanned code: whoever calls it may pass anything
                extra_kwargs.opaque.append(f"**{args.kwarg.arg}")
                extra_kwargs.ungiven = True
            bindings[args.kwarg.arg] = extra_kwargs
            bindings.update(self.paste.bound(func.node) if given is None else {})  # (`pserve app.ini`)
        if func.owner is not None and (args.posonlyargs or args.args):
            bindings[OWNER] = func.owner  # for super(): Python's own __class__ cell
            bindings[FIRST] = bindings.get([*args.posonlyargs, *args.args][0].arg)
        scope = func.node
        return Frame(func.module, bindings=bindings, scope=scope, flow=True, outer=func.closure)

    def call_function(self, func: FuncRef, node: ast.Call | None, frame: Frame) -> Any:
        return self._run(func, self.bind(func, node, frame), frame, node)

    def _run(self, func: FuncRef, inner: Frame, frame: Frame, node: ast.Call | None) -> Any:
        if self.depth >= MAX_CALLS:
            return (
                unknown(frame.module, node, why="calls nested too deeply to follow")
                if node
                else SV(None, None, known=False)
            )
        memo = self.memo.get(func, inner)  # reflex's `EnvVar.get()` behind every pool's six settings: run once
        if memo is not None:
            return memo
        self.depth += 1
        try:
            result = self.flow.call(func, inner)
        finally:
            self.depth -= 1
        # kept when worked out close to the top (never cut short by MAX_CALLS) from finished state: no instance
        # half made by its __init__, no module body half run
        if self.depth <= results.MEMO_DEPTH and not self.classes.building and not self.classes.scopes.running:
            self.memo.keep(func, inner, result)
        result = results.settings_instead(self.ev, self.classes, func, result)
        if isinstance(result, SV) and not result.known and result.env is None:
            result = replace(result, env=results.one_variable(self.ev, inner))  # what it made of its variable
        if isinstance(result, SV) and not result.known and node is not None and result.expr is None:
            return unknown(frame.module, node, env=result.env)
        return result

    def _library_env(self, cls: ClassRef) -> bool:
        """A project subclass of django-environ's Env that reads values as the library does: none of its classes
        has its own `__init__` or a method of those the scan reads values through."""
        if not self.classes.derives_from(cls, lambda dotted: dotted in ENVIRON_ENVS):
            return False
        own = {s.name for k in self.classes.class_chain(cls) for s in k.node.body if isinstance(s, FunctionNode)}
        return not own & ENVIRON_READS

    # --- methods of values --------------------------------------------------------------------------

    def call_method(self, method: MethodRef, node: ast.Call, frame: Frame) -> Any:
        base = self.ev.force(method.base)
        name = method.name
        if name == "tag" and isinstance(base, (SV, DictV, ListV)):  # a traitlets trait's .tag(config=True): itself
            return base
        if isinstance(base, SV) and base.known and isinstance(base.value, str):
            return self._str_method(base, name, node, frame)
        if isinstance(base, SV) and name == "render_as_string" and "://" in (base.expr or ""):  # (a URL the scan
            return base  # could not read all of: the same URL, whose scheme it may show)
        if isinstance(base, SV) and not base.known and name == "set":  # (`make_url(x).set(drivername=...)`)
            driven = any(kw.arg == "drivername" for kw in node.keywords)
            return pycalls.url_set(self.ev, base, node, frame) if driven else unknown(frame.module, node, env=base.env)
        if name == "format" and (template := template_of(base)) is not None:  # (an ini option's, filled here)
            return pycalls.formatted(self.ev, replace(base, value=template, known=True), node, frame)
        if isinstance(base, SV) and (read := pycalls.prefixed(self.ev, base, name, node, frame)) is not None:
            return read  # (a text whose start is written: f"postgresql+asyncpg://{user}@db/app")
        if isinstance(base, DictV | ModuleRef):  # (a module's names: `globals().get(...)`)
            return pycalls.dict_method(self.ev, base, name, node, frame)
        if isinstance(base, ClassRef):  # `Settings.model_validate(mapping)`
            return self.classes.validated(base, node, frame)
        if isinstance(base, InstanceRef) and self.classes.is_parser(base.cls):
            # The files such a parser reads are its class's business at run time, but for the ones the code is seen
            # giving its read(): an option is theirs, else its fallback (what the code gives when no file sets
            # it), or unknown.
            seen = base.parser if base.parser is not None and base.parser.read else None
            parser = seen or self.files.unread_parser(f"the files {base.cls.node.name} reads")
            own = self.classes.own_method(base.cls, name, None)  # (Tryton's getint(section, option, default=1))
            takes = own is not None and not isinstance(own.node, ast.Lambda) and takes_keyword(own.node, "default")
            value = self.files.parser_method(parser, name, node, frame, "default" if takes else "fallback")
            return self._named_by_own_get(base, name, value, node, frame)
        if isinstance(base, InstanceRef):
            return self.classes.builtin_method(base, name, node, frame)
        if isinstance(base, EnvironRef):
            return self.sources.environ_call(base, name, node, frame)
        if isinstance(base, HolderV) and base.dotted == argparsing.PARSER and (node.args or node.keywords):
            return unknown(frame.module, node)  # `parse_args(["--pool-size", "30"])`: not the command line's
        if isinstance(base, HolderV) and base.dotted == dynaconfs.HOLDER and name in dynaconfs.READS:
            return dynaconfs.read(self.ev, self.sources.environment, base, node, frame)
        if isinstance(base, HolderV) and name in base.returns:  # `config.get_settings()`: `registry.settings`
            return reduce(lambda value, attr: self.ev.attribute(value, attr, node, frame), base.returns[name], base)
        if self.files.owns(base):
            return self.files.call_method(base, name, node, frame)
        return unknown(frame.module, node, env=env_of(base))

    def _named_by_own_get(self, base: InstanceRef, name: str, value: Any, node: ast.Call, frame: Frame) -> Any:
        """An option a parser subclass's own `get()` (or `getint()`...) looks up in the environment first
        (Airflow's `AIRFLOW__{SECTION}__{KEY}`; `getint()` and the rest go through `get()`): the option as the
        files give it, named by that variable. The override is run with the call's arguments only to find it."""
        if name not in PARSER_READS:
            return value
        own = self.classes.own_method(base.cls, name, base) or self.classes.own_method(base.cls, "get", base)
        if own is None or not is_known(value) or value.env or id(node) in self.naming:
            return value
        self.naming.add(id(node))
        try:
            found = self.ev.force(self.call_function(own, node, frame))
        finally:
            self.naming.discard(id(node))
        options = [self.ev.force(o) for _, o in found.options] if isinstance(found, Branches) else [found]
        env = env_of(*(o for o in options if isinstance(o, SV) and not o.known))
        return replace(value, env=env) if env else value

    def _str_method(self, base: SV, name: str, node: ast.Call, frame: Frame) -> Any:
        text: str = base.value
        if name == "encoded_string" and not node.args and text.isascii():
            return base
        if name in STR_METHODS and not node.args:
            return replace(base, value=getattr(text, name)()) if hasattr(text, name) else base
        if name == "set" and "://" in text:  # a SQLAlchemy URL's `.set(drivername=...)` (exposurelog's)
            return pycalls.url_set(self.ev, base, node, frame)
        if name == "render_as_string":  # a SQLAlchemy URL's text (the scan holds URLs as their text)
            shown = self.ev.arg(node, frame, 0, "hide_password")
            return base if is_known(shown) and shown.value is False else replace(base, value=mask_text(text))
        if name not in STR_CALLS:
            return unknown(frame.module, node, env=base.env)
        if name == "format":
            return pycalls.formatted(self.ev, base, node, frame)
        values = [self.ev.force(self.ev.eval(a, frame)) for a in node.args]
        if any(isinstance(v, Branches) for v in values) and name != "join":  # `"...{}...".format(a if X else b)`
            return containers.lift(self.ev, values, lambda *vs: self._str_call(base, name, list(vs), node, frame))
        return self._str_call(base, name, values, node, frame)

    def _str_call(self, base: SV, name: str, values: list[Any], node: ast.Call, frame: Frame) -> Any:
        text: str = base.value
        if name == "join" and len(values) == 1:
            items = containers.items_of(self.ev, values[0])
            forced = [self.ev.force(i) for i in items] if items is not None else None
            if forced is not None and any(isinstance(i, Branches) for i in forced):  # an item a test decides
                return containers.lift(self.ev, forced, lambda *each: self._joined(text, list(each), node, frame))
            return self._joined(text, forced, node, frame)
        if not all(is_known(v) for v in values) or node.keywords:
            return unknown(frame.module, node, env=env_of(base, *values))
        try:
            result = getattr(text, name)(*(v.value for v in values))
        except (TypeError, ValueError, IndexError, KeyError):
            return unknown(frame.module, node, env=base.env)
        if isinstance(result, list):
            return ListV([SV(item, base.from_, base.env) for item in result], base.from_)
        return replace(base, value=result, env=base.env or env_of(*values))

    def _joined(self, text: str, items: list[Any] | None, node: ast.Call, frame: Frame) -> Any:
        if items is None or not all(is_known(i) for i in items):
            return unknown(frame.module, node, env=env_of(*(items or [])))
        return SV(text.join(str(i.value) for i in items), frame.module.where(node), env_of(*items))

    # --- Python's own calls --------------------------------------------------------------------------

    def python_cast(self, name: str, node: ast.Call, frame: Frame) -> Any:
        if not node.args:
            return SV(CAST_EMPTY[name], frame.module.where(node), source=frame.module.segment(node))
        value = self.ev.eval(node.args[0], frame)
        return containers.lift(self.ev, [value], lambda v: self._cast(name, v, node, frame))

    def _cast(self, name: str, value: Any, node: ast.Call, frame: Frame) -> Any:
        if name == "str" and self.files.owns(value):
            return self.files.as_text(value, node, frame)
        if name == "bool" and not isinstance(value, SV):
            verdict = containers.truth(self.ev, value)
            return SV(verdict, frame.module.where(node)) if verdict is not None else unknown(frame.module, node)
        if not is_known(value):
            kept = (
                value.expr if name == "str" and isinstance(value, SV) and value.expr and "://" in value.expr else None
            )
            return unknown(frame.module, node, env=env_of(value), why=kept)  # str(url): still its driver's scheme
        try:
            if name == "int":
                result: Any = int(value.value) if not isinstance(value.value, str) else int(value.value.strip())
            elif name == "float":
                result = float(value.value)
            elif name == "bool":
                result = bool(value.value)  # Python's own: bool("false") is True, as the app would see it
            else:
                result = str(value.value)
        except (TypeError, ValueError):
            return unknown(frame.module, node, env=value.env)
        return replace(value, value=result)

    def dict_call(self, node: ast.Call, frame: Frame) -> Any:
        """`dict(...)`, `SettingsConfigDict(...)`, `ConfigDict(...)`: its mapping, keyword arguments and `**`, merged."""
        result = DictV(
            {},
            frame.module.where(node),
            line=node.lineno,
            end_line=node.end_lineno or node.lineno,
            file=frame.module.display,
        )
        if node.args:
            self.ev.merge(result, self.ev.eval(node.args[0], frame), frame.module.segment(node.args[0]))
        for kw in node.keywords:
            if kw.arg is None:
                self.ev.merge(result, self.ev.eval(kw.value, frame), frame.module.segment(kw.value))
            else:
                result.items[kw.arg] = Thunk(kw.value, frame)
        return result

    def sequence(self, node: ast.Call, frame: Frame, unordered: bool = False) -> Any:
        """list(x), tuple(x); set(x) too where its order cannot matter (no item or one: Geotrek's empty schemas)."""
        if not node.args:
            return ListV([], frame.module.where(node))
        items = containers.items_of(self.ev, self.ev.eval(node.args[0], frame))
        if items is None or (unordered and len(items) > 1):
            return unknown(frame.module, node)
        return ListV(items, frame.module.where(node))

    def extreme(self, pick: Callable[..., Any], node: ast.Call, frame: Frame) -> Any:
        values = [self.ev.eval(a, frame) for a in node.args]
        if len(values) == 1:
            items = containers.items_of(self.ev, values[0])
            values = items if items is not None else values
        return containers.lift(self.ev, values, lambda *vs: self._extreme(pick, node, frame, vs))

    def _extreme(self, pick: Callable[..., Any], node: ast.Call, frame: Frame, values: tuple[Any, ...]) -> Any:
        if not values or not all(is_known(v) and isinstance(v.value, NUMBERS) for v in values):
            return unknown(frame.module, node, env=env_of(*values))
        chosen = pick(values, key=lambda v: v.value)
        return SV(chosen.value, frame.module.where(node), env_of(*values), source=frame.module.segment(node))

    def alias_choices(self, node: ast.Call, frame: Frame) -> Any:
        """`AliasChoices("DATABASE_URL", AliasPath(...))`: its choices (the strings are variables' names)."""
        return ListV([self.ev.eval(arg, frame) for arg in node.args], frame.module.where(node))

    def super_call(self, node: ast.Call, frame: Frame) -> Any:
        """`super()` in a method: the method's class and its first argument, as bound when it was called."""
        current: Frame | None = frame
        while current is not None and OWNER not in current.bindings:
            current = current.outer
        if current is None:
            return unknown(frame.module, node)
        owner, first = current.bindings[OWNER], current.bindings.get(FIRST)
        if not isinstance(owner, ClassRef) or first is None:
            return unknown(frame.module, node)
        return SuperRef(owner, self.ev.force(first))

    def type_call(self, node: ast.Call, frame: Frame) -> Any:
        value = self.arg(node, frame, 0, None) if len(node.args) == 1 else None
        if is_known(value):
            return ExternalRef(f"builtins.{type(value.value).__name__}")
        if isinstance(value, (DictV, ListV)):
            return ExternalRef("builtins.dict" if isinstance(value, DictV) else "builtins.list")
        return unknown(frame.module, node)

    def partial_call(self, node: ast.Call, frame: Frame) -> Any:
        if not node.args:
            return unknown(frame.module, node)
        given = self.arguments(node, frame)
        return PartialRef(self.ev.eval(node.args[0], frame), tuple(given.positional[1:]), dict(given.keywords))
