"""Config libraries that read the environment for the app: Starlette's `Config`, python-decouple's `config`,
django-environ's `Env` and dj-database-url, each read the way the library reads it (name, default, cast)."""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from pool_doctor.scan.changes import CONFIGMANAGER
from pool_doctor.scan.containers import decided_by, dict_of_branches, settle_options
from pool_doctor.scan.environment import Environment, Words, config_cast
from pool_doctor.scan.files import path_text
from pool_doctor.scan.finder import Module, dotted_parts
from pool_doctor.scan.kinds import (
    SV,
    Branches,
    DictV,
    ExternalRef,
    Frame,
    HolderV,
    Interpreter,
    ListV,
    Thunk,
    is_known,
    keyword,
    unknown,
)
from pool_doctor.scan.target import written_scheme

ENVIRON_TOP = {"CONN_MAX_AGE", "ATOMIC_REQUESTS", "AUTOCOMMIT", "CONN_HEALTH_CHECKS", "DISABLE_SERVER_SIDE_CURSORS"}
ENVIRON_TRUE = {"true", "on", "ok", "y", "yes", "1"}  # django-environ's BOOLEAN_TRUE_STRINGS
# django-environ 0.11 `Env.email_url_config`: the keys of the dict `env.email_url()` gives (its URL's query: an
# EMAIL_USE_TLS / EMAIL_USE_SSL, else OPTIONS), which `vars().update(...)` makes settings of (timed-backend)
EMAIL_KEYS = ["EMAIL_FILE_PATH", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_BACKEND"]
EMAIL_KEYS += ["EMAIL_USE_TLS", "EMAIL_USE_SSL", "OPTIONS"]
# marshmallow 4's fields.Boolean truthy and falsy strings (environs' env.bool), case as written there
MARSHMALLOW_WORDS = {
    **dict.fromkeys(["t", "T", "true", "True", "TRUE", "on", "On", "ON", "y", "Y", "yes", "Yes", "YES", "1"], True),
    **dict.fromkeys(["f", "F", "false", "False", "FALSE", "off", "Off", "OFF", "n", "N", "no", "No", "NO", "0"], False),
}
DJANGO_ENGINES = {
    "postgres": "django.db.backends.postgresql",
    "postgresql": "django.db.backends.postgresql",
    "pgsql": "django.db.backends.postgresql",
    "postgis": "django.contrib.gis.db.backends.postgis",
    "sqlite": "django.db.backends.sqlite3",
    "mysql": "django.db.backends.mysql",
}
ENVIRON_ENGINES = {**DJANGO_ENGINES, "psql": "django.db.backends.postgresql"}  # django-environ's also (0.14)


# The strings each library reads as a bool (starlette/config.py, decouple.py, environ/environ.py).
STARLETTE_WORDS: Words = ({"true", "1"}, {"false", "0"})
EVERETT_WORDS: Words = ({"t", "true", "yes", "y", "1", "on"}, {"f", "false", "no", "n", "0", "off"})  # parse_bool
EVERETT_PARSERS = {"int": "int", "float": "float", "str": "str", "bool": "bool", "parse_bool": "bool"}
DECOUPLE_WORDS: Words = ({"1", "yes", "true", "on"}, {"0", "no", "false", "off", ""})


@dataclass(frozen=True)
class ConfigRef:
    """Starlette's `Config(".env")` or python-decouple's `config`: call it with a name, default and cast.

    Starlette reads only the env file it is given (none: only the environment); decouple looks for a `.env`
    beside the code and up. Their arguments come in different orders: Starlette's `(key, cast, default)`,
    decouple's `(option, default, cast)`.
    """

    env_file: Path | None
    module: Module
    decouple: bool = False
    everett: bool = False  # everett's ConfigManager: `config(key, namespace=None, default=None, parser=str)`
    unread: bool = False  # it reads sources the scan does not (an everett ConfigIniEnv): every value unknown


@dataclass(frozen=True)
class EnvironRef:
    """django-environ's `environ.Env(NAME=(cast, default))`."""

    scheme: dict[str, tuple[str | None, Any]]
    module: Module
    environs: bool = False  # environs' Env: `env("X", default)`, marshmallow's words for a bool
    envparse: bool = False  # envparse's Env: as environs', but django-environ's words (not stripped)
    prefixes: tuple[tuple[int, str], ...] = ()  # `env.prefix = "APP_"` after it is made, by line: reads after start so

    def prefix_at(self, module: Module, node: ast.AST) -> str:
        """The prefix in effect where `node` reads (another module's read runs after this one's import)."""
        line = getattr(node, "lineno", 0) if module is self.module else None
        return next((p for at, p in reversed(self.prefixes) if line is None or at < line), "")


# django-configurations' values read as their variable, else their default (`Value` as given; the typed ones cast)
VALUES = {"Value": None, "IntegerValue": "int", "PositiveIntegerValue": "int", "FloatValue": "float"}
VALUES |= {"BooleanValue": "bool"}


class ConfigSources:
    def __init__(self, ev: Interpreter, environment: Environment) -> None:
        self.ev = ev
        self.environment = environment

    def calls(self) -> dict[str, Callable[[ast.Call, Frame], Any]]:
        """The library calls read here, by dotted name."""
        return {
            "starlette.config.Config": self.starlette_config,
            "decouple.config": self.decouple_config,
            "decouple.Config": self.decouple_repository,
            "decouple.AutoConfig": lambda node, frame: ConfigRef(None, frame.module, decouple=True),
            "environ.Env": self.environ_env,
            # reads NAME_FILE's file first when that is set (environ/environ.py FileAwareEnv.ENVIRON), else NAME
            "environ.FileAwareEnv": self.environ_env,
            "environs.Env": lambda node, frame: EnvironRef({}, frame.module, environs=True),
            "environs.FileAwareEnv": lambda node, frame: EnvironRef({}, frame.module, environs=True),
            # envparse's `Env(**schema)`: a default hands back as given, as environs'; a schema may give defaults
            "envparse.Env": lambda node, frame: (
                unknown(frame.module, node)
                if node.args or node.keywords
                else EnvironRef({}, frame.module, environs=True, envparse=True)
            ),
            "dj_database_url.config": self.dj_database_url_config,
            "everett.manager.ConfigManager": partial(self.everett_config, basic=False),
            "everett.manager.ConfigManager.basic_config": partial(self.everett_config, basic=True),
            "dj_database_url.parse": self.dj_database_url_parse,
            "configmanager.Config": self.configmanager_config,
            "configurations.values.DatabaseURLValue": self.database_url_value,
            **{
                f"configurations.values.{kind}": partial(self.configurations_value, cast)
                for kind, cast in VALUES.items()
            },
            "env_config.values.DatabaseURLValue": self.environment_database_url_value,
        }

    def config_call(self, config: ConfigRef, node: ast.Call, frame: Frame) -> Any:
        """Starlette `config("KEY", cast=int, default=5)` / decouple `config("KEY", default=5, cast=int)`."""
        if config.everett:
            return self._everett_call(config, node, frame)
        key = self.ev.arg(node, frame, 0, "option" if config.decouple else "key")
        if not is_known(key):
            return unknown(frame.module, node)
        if config.unread:  # (the variable, else a file the scan cannot name, else the default)
            return unknown(frame.module, node, env=str(key.value))
        cast_at, default_at = (2, 1) if config.decouple else (1, 2)
        cast = self._cast_name(node, frame, cast_at, "cast")
        default_node = keyword(node, "default")
        if default_node is None and len(node.args) > default_at:
            default_node = node.args[default_at]
        if config.decouple and config.env_file is None:
            values = self.environment.near(config.module)
        else:
            values = self.environment.read_file(config.env_file) if config.env_file is not None else {}
        default = Thunk(default_node, frame) if default_node is not None else None
        value = self.environment.lookup(str(key.value), default, frame, node, values)
        cast_ref = self._cast_ref(node, frame, cast_at, "cast")
        if cast_ref is not None and cast_ref.dotted == "dj_database_url.parse":  # kitsune's DATABASES
            where = frame.module.where(node)  # parse()'s own defaults, as dj_database_url.config's
            extra = {"CONN_MAX_AGE": SV(0, where), "CONN_HEALTH_CHECKS": SV(False, where)}
            return self.database_dict(value, frame, node, extra)
        words = DECOUPLE_WORDS if config.decouple else STARLETTE_WORDS
        return config_cast(cast, value, frame.module, node, words)

    def environ_call(self, env: EnvironRef, method: str | None, node: ast.Call, frame: Frame) -> Any:
        """django-environ: `env("X", default=...)`, `env.int("X", default=5)`, `env.db("DATABASE_URL")`;
        `env.db_url_config(url)` parses a URL the code gives (treeherder's replica alias)."""
        if method == "db_url_config" and not env.environs:
            engine = self.ev.arg(node, frame, 1, "engine")
            given = self.ev.arg(node, frame, 0, "url")
            url = given if given is not None else unknown(frame.module, node)
            return self.database_dict(url, frame, node, {"ENGINE": engine} if engine else {}, top_options=True)
        if method in ("email", "email_url") and not env.environs:  # (each key's value: what the URL says)
            where = frame.module.where(node)
            return DictV({k: unknown(frame.module, node, why=f"{k} of env.{method}()") for k in EMAIL_KEYS}, where)
        var_default = "DATABASE_URL" if method in ("db", "db_url") and not env.environs else None
        key = self.ev.arg(node, frame, 0, "var")
        name = str(key.value) if is_known(key) else var_default
        if name is None:
            return unknown(frame.module, node)
        name = env.prefix_at(frame.module, node) + name  # django-environ 0.11: f"{self.prefix}{var}", scheme too
        cast = method if method in ("int", "float", "bool", "str", "json", "list", "dict") else None
        default_node = keyword(node, "default")
        at = 2 if method is None and not env.environs else 1  # django-environ's `env(var, cast, default)`
        if default_node is None and len(node.args) > at:
            default_node = node.args[at]
        if method is None and not env.environs:
            cast = self._cast_name(node, frame, 1, "cast")
        scheme_cast, scheme_default = env.scheme.get(name, (None, None))
        cast = cast or scheme_cast
        if default_node is not None:
            default: Any = Thunk(default_node, frame)
        elif name in env.scheme:
            default = scheme_default
        else:
            default = None
        value = self.environment.lookup(name, default, frame, node, self.environment.near(env.module))
        if method in ("db", "db_url", "dj_db_url"):  # (environs' dj_db_url: dj_database_url.parse)
            engine = self.ev.arg(node, frame, None, "engine")  # `engine="django_prometheus..."` wins the scheme's
            return self.database_dict(value, frame, node, {"ENGINE": engine} if engine else {}, top_options=True)
        given = name in self.environment.near(env.module) or self.environment.is_set(name, frame)
        # environs and django-environ hand back a default as given: only a variable's text is cast, or (django-environ
        # 0.14 Env.get_value: `if value != default or (parse_default and value is not None)`) a default it is asked to
        parse = self.ev.arg(node, frame, None, "parse_default") if not env.environs else None
        if is_known(value) and not given and not (is_known(parse) and parse.value):
            return value
        if cast == "bool" and is_known(value) and isinstance(value.value, str) and env.environs and not env.envparse:
            word = MARSHMALLOW_WORDS.get(value.value)  # marshmallow's Boolean: any other word is an error
            return replace(value, value=word) if word is not None else unknown(frame.module, node, env=value.env)
        if cast == "bool" and is_known(value) and isinstance(value.value, str):  # any other word is False
            text = value.value if env.envparse else value.value.strip()  # (envparse 0.2's Env.cast: `.lower() in`)
            return replace(value, value=text.lower() in ENVIRON_TRUE)
        return config_cast(cast, value, frame.module, node)

    def _cast_name(self, node: ast.Call, frame: Frame, position: int, keyword_name: str) -> str | None:
        cast = self._cast_ref(node, frame, position, keyword_name)
        return cast.dotted.rsplit(".", 1)[-1] if cast is not None else None

    def _cast_ref(self, node: ast.Call, frame: Frame, position: int, keyword_name: str) -> ExternalRef | None:
        cast_node = keyword(node, keyword_name)
        if cast_node is None and position < len(node.args):
            cast_node = node.args[position]
        if cast_node is None:
            return None
        cast = self.ev.force(self.ev.eval(cast_node, frame))
        return cast if isinstance(cast, ExternalRef) else None

    def _everett_call(self, config: ConfigRef, node: ast.Call, frame: Frame) -> Any:
        """everett 3.5 `config("url", namespace="db", default="...", parser=int)`: the variable DB_URL (the
        namespace's parts and the key, joined by "_", upper-cased), else the default (a string the parser reads:
        int, float, str, bool as its parse_bool); with neither, a required key (it raises)."""
        key, space = self.ev.arg(node, frame, 0, "key"), self.ev.arg(node, frame, 1, "namespace")
        parts = space.value if is_known(space) else None if space is not None else []
        parts = [parts] if isinstance(parts, str) else parts
        if not is_known(key) or not isinstance(parts, list) or not all(isinstance(p, str) for p in parts):
            return unknown(frame.module, node)
        name = "_".join([*(p for p in parts if p), str(key.value)]).upper()
        if config.unread:
            return unknown(frame.module, node, env=name)
        default_node = keyword(node, "default") or (node.args[2] if len(node.args) > 2 else None)
        values = self.environment.read_file(config.env_file) if config.env_file is not None else {}
        default = Thunk(default_node, frame) if default_node is not None else None
        value = self.environment.lookup(name, default, frame, node, values)
        parser = self._cast_name(node, frame, 6, "parser")
        if keyword(node, "parser") is not None and parser not in EVERETT_PARSERS:
            return unknown(frame.module, node, env=name)  # a parser of the project's or everett's lists
        return config_cast(EVERETT_PARSERS.get(parser or "str"), value, frame.module, node, EVERETT_WORDS)

    def everett_config(self, node: ast.Call, frame: Frame, basic: bool) -> Any:
        """everett's `ConfigManager.basic_config(env_file=".env")`: the environment, then that file (where the app
        starts: the scan's nearest); `ConfigManager([...])`: its environments, read as the environment alone."""
        name = path_text(self.ev.arg(node, frame, 0, "env_file")) if basic else None
        path = self.environment.file_for(frame.module, name or ".env") if basic else None
        given = None if basic else self.ev.force(self.ev.arg(node, frame, 0, "environments"))
        kinds = [
            self.ev.force(self.ev.eval(item.node, item.frame)) if isinstance(item, Thunk) else item
            for item in (given.items if isinstance(given, ListV) else [])
        ]
        alone = basic or (bool(kinds) and all(isinstance(k, SV) and k.expr and "ConfigOSEnv" in k.expr for k in kinds))
        return ConfigRef(path, frame.module, everett=True, unread=not alone)  # (an ini, a dict: not read)

    def starlette_config(self, node: ast.Call, frame: Frame) -> Any:
        name = path_text(self.ev.arg(node, frame, 0, "env_file"))
        path = self.environment.file_for(frame.module, name) if name else None
        return ConfigRef(path, frame.module)

    def decouple_config(self, node: ast.Call, frame: Frame) -> Any:
        return self.config_call(ConfigRef(None, frame.module, decouple=True), node, frame)

    def decouple_repository(self, node: ast.Call, frame: Frame) -> Any:
        """decouple's `Config(RepositoryEnv(path))`: a variable, else that file's line, else the default; a file
        the scan cannot name (django-configuration's `f".{os.environ.get('ENVIRONMENT')}"` folder) or another
        repository leaves each value unknown, named by its own variable."""
        given = node.args[0] if node.args else keyword(node, "repository")
        call = given if isinstance(given, ast.Call) else None
        made = self.ev.force(self.ev.eval(call.func, frame)) if call is not None else None
        env_file = call is not None and getattr(made, "dotted", None) == "decouple.RepositoryEnv"
        name = path_text(self.ev.arg(call, frame, 0, "source")) if call is not None and env_file else None
        path = self.environment.file_for(frame.module, name) if name else None
        return ConfigRef(path, frame.module, decouple=True, unread=path is None)

    def environ_env(self, node: ast.Call, frame: Frame) -> Any:
        scheme: dict[str, tuple[str | None, Any]] = {}
        for kw in node.keywords:  # (`**MANDATORY`, a dict of them: aurora's)
            given = self.ev.force(self.ev.eval(kw.value, frame))
            entries = {kw.arg: given} if kw.arg is not None else given.items if isinstance(given, DictV) else {}
            for name, entry in entries.items():
                value = self.ev.force(entry)
                if isinstance(value, ListV) and len(value.items) >= 2:
                    cast = self.ev.force(value.items[0])
                    scheme[name] = (
                        cast.dotted.rsplit(".", 1)[-1] if isinstance(cast, ExternalRef) else None,
                        value.items[1],
                    )
                elif isinstance(value, ExternalRef):
                    scheme[name] = (value.dotted.rsplit(".", 1)[-1], None)
        return EnvironRef(scheme, frame.module, prefixes=environ_prefixes(frame.module))

    def dj_database_url_parse(self, node: ast.Call, frame: Frame) -> Any:
        return self._dj_database_url(self.ev.arg(node, frame, 0, "url"), node, frame)

    def dj_database_url_config(self, node: ast.Call, frame: Frame) -> Any:
        env_name = self.ev.arg(node, frame, 0, "env")
        if isinstance(env_name, SV) and not env_name.known:  # the variable's name read at run time (afex_app's
            why = f"the variable {frame.module.segment(node.args[0] if node.args else node)} names"  # config(...))
            return self._dj_database_url(unknown(frame.module, node, why=why), node, frame)
        name = str(env_name.value) if is_known(env_name) else "DATABASE_URL"
        default_node = keyword(node, "default")
        if default_node is None and len(node.args) > 1:
            default_node = node.args[1]
        url = self.environment.lookup(
            name,
            Thunk(default_node, frame) if default_node is not None else SV(None, frame.module.where(node)),
            frame,
            node,
        )
        parsed = self._dj_database_url(url, node, frame)
        if default_node is None and not self.environment.is_set(name, frame):  # (3.1: `if s: return parse(...)`,
            test = self.ev.conditions.test(f'"{name}" in os.environ', frame.module.origin(node))  # else `{}`: merged
            parsed.empty_unless = (name, test)  # into a dict, it changes nothing while the variable is unset)
        return parsed

    def database_url_value(self, node: ast.Call, frame: Frame) -> Any:
        """django-configurations 2.5's `values.DatabaseURLValue(default, alias="default", environ_name=
        "DATABASE_URL", environ_prefix=None)`: `{alias: dj_database_url.parse(the variable, else default)}` (its
        caster given the keywords parse takes); with neither, `{}`."""
        given = {kw: self.ev.arg(node, frame, None, kw) for kw in ("alias", "environ_name", "environ_prefix")}
        alias, name, prefix = (str(v.value) if is_known(v) and v.value else None for v in given.values())
        if given["environ_name"] is not None and name is None:  # `environ_name=None`: the setting's own name
            name = "DATABASES"
        name = f"{prefix.rstrip('_')}_{name or 'DATABASE_URL'}" if prefix else name or "DATABASE_URL"
        default_node = node.args[0] if node.args else keyword(node, "default")
        if isinstance(default_node, ast.Constant) and default_node.value is None:  # (meet's `DatabaseURLValue(None,
            default_node = None  # ...)`: with the variable unset, `{}`, false: `... if DatabaseURLValue(...) else`)
        read = self.ev.arg(node, frame, None, "environ")
        if read is not None and is_known(read) and not read.value:  # `environ=False`: the default, no variable
            url = self.ev.force(self.ev.eval(default_node, frame)) if default_node else SV(None, None)
        else:
            url = self.environment.lookup(name, Thunk(default_node, frame) if default_node else None, frame, node)
        where, line, file = frame.module.where(node), node.lineno, frame.module.display
        databases = DictV({alias or "default": self._dj_database_url(url, node, frame)}, where, line=line, file=file)
        if default_node is not None or self.environment.is_set(name, frame) or (is_known(read) and not read.value):
            return databases
        none = DictV({}, where, line=line, file=file)  # (no default: a database only where the variable is set)
        return Branches([(f'"{name}" in os.environ', databases), (f'"{name}" not in os.environ', none)], default=1)

    def configurations_value(self, cast: str | None, node: ast.Call, frame: Frame) -> Any:
        """django-configurations 2.5's `values.Value(default, environ_name="DB_HOST", environ_prefix=None)` (and
        its typed kin): given `environ_name`, `Value.__new__` sets it up at once, the variable (`DJANGO_DB_HOST`
        with the default prefix) or the default (joanie's DATABASES). Without one it is set up late, under the
        setting's own name: unknown here."""
        name, prefix = self.ev.arg(node, frame, None, "environ_name"), self.ev.arg(node, frame, None, "environ_prefix")
        read = self.ev.arg(node, frame, None, "environ")
        if not (is_known(name) and isinstance(name.value, str)) or (read is not None and not is_known(read)):
            return unknown(frame.module, node)
        given = "DJANGO" if prefix is None else prefix.value if is_known(prefix) else False
        if given is False:
            return unknown(frame.module, node)
        variable = f"{str(given).rstrip('_')}_{name.value}" if given else name.value
        default_node = node.args[0] if node.args else keyword(node, "default")
        default = Thunk(default_node, frame) if default_node is not None else SV(None, frame.module.where(node))
        if read is not None and not read.value:  # `environ=False`: the default alone
            return self.ev.force(default)
        value = self.ev.force(self.environment.lookup(variable, default, frame, node))
        if cast is not None and is_known(value) and isinstance(value.value, str) and value.from_ and value.env:
            return config_cast(cast, value, frame.module, node)
        return value

    def configmanager_config(self, node: ast.Call, frame: Frame) -> Any:
        """configmanager 1.35's `Config(schema)`: its sections and items read as attributes, each item its schema
        default (`config.postgres.pool_size.value`, `.get()`, pyaleph's) until the code sets or loads one
        (changes.configmanager_load); with `load_sources` it loads at once (managers.py: `auto_load`)."""
        schema = self.ev.force(self.ev.arg(node, frame, 0, "schema"))
        if not isinstance(schema, DictV) or schema.opaque or keyword(node, "load_sources") is not None:
            return unknown(frame.module, node)

        def tree(section: DictV) -> HolderV:
            items = {key: self.ev.force(item) for key, item in section.items.items()}
            leaves = {
                k: v if isinstance(v, DictV) else HolderV(CONFIGMANAGER, {"value": v}, {"get": ("value",)})
                for k, v in items.items()
            }
            return HolderV(
                CONFIGMANAGER, {k: tree(v) if isinstance(v, DictV) and not v.opaque else v for k, v in leaves.items()}
            )

        return tree(schema)

    def environment_database_url_value(self, node: ast.Call, frame: Frame) -> Any:
        """django-environment-config 0.2's `values.DatabaseURLValue(*, db_alias="default", default=..., env_name=
        "DATABASE_URL", **params)`: `{db_alias: dj_database_url.parse(the variable, else default, **params)}` (a
        dict default as it is, values.py `convert`);
        `env_name=None`: the default alone; neither a default nor the variable: MissingEnvValueError at import."""
        alias, env_name = self.ev.arg(node, frame, None, "db_alias"), self.ev.arg(node, frame, None, "env_name")
        default_node = keyword(node, "default")
        if is_known(env_name) and env_name.value is None:
            url = self.ev.force(self.ev.eval(default_node, frame)) if default_node else SV(None, None)
        else:
            name = str(env_name.value) if is_known(env_name) and env_name.value else "DATABASE_URL"
            url = self.environment.lookup(name, Thunk(default_node, frame) if default_node else None, frame, node)
        key = str(alias.value) if is_known(alias) and alias.value else "default"
        where, line, file = frame.module.where(node), node.lineno, frame.module.display
        url = self.ev.force(url)  # (a dict default is the alias's as it is: only a URL goes through parse)
        config = url if isinstance(url, DictV) else self._dj_database_url(url, node, frame)
        return DictV({key: config}, where, line=line, file=file)

    def _dj_database_url(self, url: Any, node: ast.Call, frame: Frame) -> DictV:
        where = frame.module.where(node)
        extra: dict[str, Any] = {}
        for key, django_key, default in (
            ("conn_max_age", "CONN_MAX_AGE", 0),
            ("conn_health_checks", "CONN_HEALTH_CHECKS", False),
        ):
            given = self.ev.arg(node, frame, None, key)
            extra[django_key] = given if given is not None else SV(default, where)
        engine = self.ev.arg(node, frame, None, "engine")  # the backend the URL's scheme would name, replaced
        if engine is not None:
            extra["ENGINE"] = engine
        ssl = self.ev.arg(node, frame, None, "ssl_require")
        if is_known(ssl) and ssl.value:
            extra["OPTIONS.sslmode"] = SV("require", ssl.from_, ssl.env)
        return self.database_dict(url, frame, node, extra)

    def heroku_settings(self, current: Any, node: ast.Call, frame: Frame) -> Any:
        """`django_heroku.settings(locals())` (django-heroku 0.3.1, core.settings): where DATABASE_URL is set,
        DATABASES' default is dj_database_url.config(conn_max_age=600, ssl_require=True) (DATABASES made if the
        module has none); unset, or with databases=False, DATABASES stays as the module wrote it."""
        databases = self.ev.arg(node, frame, None, "databases")
        if databases is not None and not (is_known(databases) and databases.value):
            return current
        where = frame.module.where(node)
        is_set = self.environment.is_set("DATABASE_URL", frame)
        url = self.environment.lookup("DATABASE_URL", None, frame, node) if is_set else None
        if not is_known(url):
            url = unknown(frame.module, node, env="DATABASE_URL", why="$DATABASE_URL")
        extra = {"CONN_MAX_AGE": SV(600, where), "CONN_HEALTH_CHECKS": SV(False, where)}
        default = self.database_dict(url, frame, node, {**extra, "OPTIONS.sslmode": SV("require", where)})
        forced = self.ev.force(current)
        made = DictV({**forced.items, "default": default}, where) if isinstance(forced, DictV) else None
        made = made or DictV({"default": default}, where, line=node.lineno, file=frame.module.display)
        colors = self.ev.arg(node, frame, None, "db_colors")
        if colors is not None and not (is_known(colors) and not colors.value):  # an alias per HEROKU_POSTGRESQL_*
            made.opaque.append("HEROKU_POSTGRESQL_<COLOR>_URL (db_colors=True)")
        if is_set:
            return made
        test = self.ev.conditions.test('"DATABASE_URL" in os.environ', frame.module.origin(node))
        return Branches(
            [(f"not ({test})", decided_by(self.ev, [current, made], 0, "DATABASE_URL")), (test, made)], default=0
        )

    def database_dict(
        self, url: Any, frame: Frame, node: ast.AST, extra: dict[str, Any], top_options: bool = False
    ) -> DictV:
        """What dj_database_url.parse / environ's env.db return: Django's per-database dict, from a URL
        (`top_options`: django-environ lifts ?conn_max_age=... and its like out of OPTIONS); a URL with branches
        (`"...@{}:5432/app".format("localhost" if IS_WINDOWS else "127.0.0.1")`) gives each key's per branch."""
        forced = self.ev.force(url)
        if isinstance(forced, Branches):
            options, default = settle_options(self.ev, forced)
            parsed = [(when, self.database_dict(option, frame, node, extra, top_options)) for when, option in options]
            return dict_of_branches(parsed, default)
        origin = url.from_ if isinstance(url, SV) else frame.module.where(node)
        env = url.env if isinstance(url, SV) else None
        result = DictV(
            {},
            frame.module.where(node),
            line=getattr(node, "lineno", 0),
            end_line=getattr(node, "end_lineno", 0) or 0,
            file=frame.module.display,
        )
        if is_known(forced) and isinstance(forced.value, str):
            try:
                parts = urlsplit(forced.value)
                port = parts.port
            except ValueError:
                parts, port = None, None
            if parts is not None:
                engine = (ENVIRON_ENGINES if top_options else DJANGO_ENGINES).get(parts.scheme.split("+")[0])
                if top_options and not parts.scheme and not extra:  # django-environ 0.14: "Engine not
                    if forced.env:  # recognized from url" and {} (`TEST_DATABASE_URL=(str, "")`: a false `if`),
                        test = self.ev.conditions.test(f'"{forced.env}" in os.environ', frame.module.origin(node))
                        result.empty_unless = (forced.env, test)  # which the variable fills (kukkuu's DATABASES)
                    return result
                if engine:
                    result.items["ENGINE"] = SV(engine, origin, env)
                elif top_options:  # django-environ 0.14: the scheme itself (`config['ENGINE'] = url.scheme`)
                    result.items["ENGINE"] = SV(parts.scheme, origin, env)
                else:  # dj-database-url's own table of schemes is longer than the scan's
                    result.items["ENGINE"] = SV(None, origin, env, known=False, expr=f"the engine of {parts.scheme}://")
                # dj-database-url takes the path less its first "/" (`sqlite:////srv/app.db` is "/srv/app.db")
                result.items["NAME"] = SV(parts.path.removeprefix("/"), origin, env)
                # both libraries give "" where the URL has no user or password (dj-database-url 3.1, environ 0.14)
                result.items["USER"] = SV(parts.username or "", origin, env)
                result.items["PASSWORD"] = SV("***" if parts.password else "", origin, env)
                result.items["HOST"] = SV(parts.hostname or "", origin, env)
                result.items["PORT"] = SV(port if port is not None else "", origin, env)
                for key, value in parse_qsl(parts.query):
                    if top_options and key.upper() in ENVIRON_TOP:
                        top: Any = int(value) if key.upper() == "CONN_MAX_AGE" and value.isdigit() else value
                        result.items[key.upper()] = SV(top, origin, env)
                    else:
                        result.items[f"OPTIONS.{key}"] = SV(value, origin, env)
        else:
            for key in ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT"):  # '' when the URL has none
                result.items[key] = unknown(frame.module, node, env=env, why=url.expr if isinstance(url, SV) else None)
            scheme = (written_scheme(url.expr) or "").split("+")[0] if isinstance(url, SV) else ""
            engine = (ENVIRON_ENGINES if top_options else DJANGO_ENGINES).get(scheme)
            if engine:  # `"sqlite:///" + os.path.join(os.getcwd(), "app.db")`: the run's path, the code's backend
                result.items["ENGINE"] = SV(engine, origin, env)
        result.items.update(extra)
        return result


def environ_prefixes(module: Module) -> tuple[tuple[int, str], ...]:
    """The `prefix` the module gives the django-environ Env it makes at its top level (`env = environ.Env()`, then
    `env.prefix = "OPENCVE_"`), each with its line."""
    made = {
        target.id
        for stmt in module.tree.body
        if isinstance(stmt, ast.Assign)
        and isinstance(stmt.value, ast.Call)
        and (dotted_parts(stmt.value.func) or [""])[-1] == "Env"
        for target in stmt.targets
        if isinstance(target, ast.Name)
    }
    found = []
    for stmt in module.tree.body:
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1):
            continue
        target, value = stmt.targets[0], stmt.value
        if (
            isinstance(target, ast.Attribute)
            and target.attr == "prefix"
            and isinstance(target.value, ast.Name)
            and target.value.id in made
            and isinstance(value, ast.Constant)
            and isinstance(value.value, str)
        ):
            found.append((stmt.lineno, value.value))
    return tuple(found)
