"""pydantic-settings' sources besides the environment: its env files (model_config's `env_file`), and the files a
settings class's `settings_customise_sources` returns a source for: `YamlConfigSettingsSource(settings_cls,
yaml_file=...)`, its TOML and JSON kin, the file given there or by model_config's `yaml_file` / `toml_file` /
`json_file` (pydantic-settings 2.x reads those only through such a source). A file is read where the tree has it,
from the scan root (the app runs from there: syncmaster's `config.yml`); each value carries its file:line. A
file source after `env_settings` in the returned tuple gives a field its value where no variable does; one before
it, over the variable (the tuple's first source wins)."""

from __future__ import annotations

import ast
import json
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from pool_doctor.scan.fieldtext import env_case
from pool_doctor.scan.files import path_text, plain_document
from pool_doctor.scan.finder import Module, dotted_parts
from pool_doctor.scan.kinds import SV, ClassRef, DictV, Frame, FuncRef, InstanceRef, Interpreter, ListV, keyword
from pool_doctor.scan.textfiles import read_text
from pool_doctor.scan.yamls import shown_at, yaml_document

if TYPE_CHECKING:
    from pool_doctor.scan.environment import Environment

FILE_SOURCES = {
    "YamlConfigSettingsSource": "yaml",
    "TomlConfigSettingsSource": "toml",
    "JsonConfigSettingsSource": "json",
}
CUSTOMISE = "settings_customise_sources"
ENV_SOURCE = "env_settings"  # the keywords the environment's and the env file's sources are passed to the method
DOTENV_SOURCE = "dotenv_settings"  # by (pydantic-settings' main.py)


class Ranks(NamedTuple):
    """Where a file source, env_settings and dotenv_settings sit in the sources' tuple (the first one that has a
    value gives it)."""

    file: int | None
    env: int | None
    dotenv: int | None


DEFAULT_RANKS = Ranks(None, 1, 2)  # pydantic-settings' own order: init, env, dotenv, secrets


class Nested(NamedTuple):
    """Where a nested model sits: its root settings class's sources method and model_config, the field names from
    the root, the module that reads it, and its variables' prefix (with env_nested_delimiter)."""

    method: FuncRef | None
    root: ClassRef
    config: dict[str, Any]
    path: list[str]
    module: Module
    prefix: str | None


def env_file_values(
    ev: Interpreter, environment: Environment, cls: ClassRef, config: dict[str, Any]
) -> dict[str, tuple[str, str]]:
    """The variables model_config's `env_file` gives (one file, or a list: later files win, as in
    pydantic-settings), each with its file:line."""
    env_file = config.get("env_file")
    given = [ev.force(v) for v in env_file.items] if isinstance(env_file, ListV) else [env_file]
    names = [name for name in map(path_text, given) if name]  # `".env"`, `root / ".env"`
    values: dict[str, tuple[str, str]] = {}
    for name in names:
        path = environment.file_for(cls.module, name)
        if path is not None:
            values.update(environment.read_file(path))
    return values


class FileSources:
    def __init__(self, ev: Interpreter, environment: Environment) -> None:
        self.ev = ev
        self.environment = environment
        self._read: dict[int, tuple[list[tuple[Any, int]], Ranks]] = {}  # a settings class's documents, by node

    def variables(
        self, method: FuncRef | None, root: ClassRef, config: dict[str, Any], module: Module, env_name: str | None
    ) -> list[tuple[int | None, tuple[str, str] | None]]:
        """The variable the process sets (python-dotenv's too) and the one model_config's env files set, each
        with the place of its source in the sources' tuple (env_settings, dotenv_settings)."""
        if env_name is None:
            return []
        ranks = self._read_documents(method, root, config)[1]
        matched = case_sensitive(config)
        in_dotenv = env_case(env_file_values(self.ev, self.environment, root, config), env_name, matched)
        in_env = env_case(self.environment.loaded(module), env_name, matched)
        return [(ranks.env, in_env), (ranks.dotenv, in_dotenv)]

    def value(
        self, method: FuncRef | None, root: ClassRef, config: dict[str, Any], path: list[str]
    ) -> tuple[int | None, SV | None]:
        """The value the root settings class's file sources give the field at `path` (its nested models' field
        names, then its own), with the place of its source in the sources' tuple; (None, None): none."""
        for document, at in self._read_documents(method, root, config)[0]:
            found = _lookup(document, path)
            if isinstance(found, SV):
                return at, found
        return None, None

    def _read_documents(
        self, method: FuncRef | None, root: ClassRef, config: dict[str, Any]
    ) -> tuple[list[tuple[Any, int]], Ranks]:
        """The documents of the file sources the method returns, with their places, and the places of the
        environment's sources (no method: none, in pydantic-settings' own order)."""
        if method is None:
            return [], DEFAULT_RANKS
        if id(root.node) not in self._read:
            self._read[id(root.node)] = self._documents(method, config)
        return self._read[id(root.node)]

    def nested(self, cls: ClassRef, made: Any, own: bool, at: Nested) -> InstanceRef:
        """A nested model's instance: the field's default instance (`made`), unless a source gives any of it
        (pydantic-settings then makes it anew from what they give, reading a nested settings class's own
        variables under it: `own`, one with no env_nested_delimiter); checked by real runs of 2.14."""
        method, root, config, path, _, prefix = at
        given = self._gives(at)
        if own:
            documents = self._read_documents(method, root, config)[0] if given else []
            sections = [s for d, _ in documents if isinstance(s := _lookup(d, path), DictV)]
            merged: dict[str, Any] = {}  # (each key from the first source that has it; a table in one is left to
            for section in sections:  # the field's model: its class's defaults)
                merged |= {k: v for k, v in section.items.items() if k not in merged and not isinstance(v, DictV)}
            if sections:
                return InstanceRef(cls, merged)
            return made if isinstance(made, InstanceRef) else InstanceRef(cls, {})
        kept = made if isinstance(made, InstanceRef) and not given else InstanceRef(cls, {})
        return replace(kept, env_prefix=prefix, root=root, nested_at=tuple(path))

    def _gives(self, at: Nested) -> bool:
        """Whether a source gives the nested model at `path` any field: a file source, or a variable of its
        `prefix` the env file or the process sets (pydantic-settings then builds it from what the sources give,
        not from the field's default instance)."""
        method, root, config, path, module, prefix = at
        documents, ranks = self._read_documents(method, root, config)
        variables = {
            **(env_file_values(self.ev, self.environment, root, config) if ranks.dotenv is not None else {}),
            **(self.environment.loaded(module) if ranks.env is not None else {}),
        }
        if prefix and any(name.upper().startswith(prefix.upper()) for name in variables):
            return True
        return any(isinstance(_lookup(d, path), DictV) for d, _ in documents)

    def _documents(self, method: FuncRef, config: dict[str, Any]) -> tuple[list[tuple[Any, int]], Ranks]:
        """Each file source the method returns, read, with its place in the returned tuple; and the places of
        env_settings and dotenv_settings there."""
        func = method.node
        if isinstance(func, ast.Lambda):
            return [], DEFAULT_RANKS
        returned = next((n.value for n in ast.walk(func) if isinstance(n, ast.Return) and n.value is not None), None)
        items = (
            [i for item in returned.elts for i in _expanded(item)] if isinstance(returned, ast.Tuple | ast.List) else []
        )
        assigned = {
            t.id: n.value
            for n in ast.walk(func)
            if isinstance(n, ast.Assign)
            for t in n.targets
            if isinstance(t, ast.Name)
        }
        places = [a.arg for a in (*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs)]
        env_name, dotenv_name = ENV_SOURCE, DOTENV_SOURCE  # (pydantic-settings passes the sources by keyword)
        names = [item.id if isinstance(item, ast.Name) else None for item in items]
        if not items:
            return [], DEFAULT_RANKS
        calls = [assigned.get(item.id) if isinstance(item, ast.Name) else item for item in items]
        known = all(name in places or _file_kind(call) for name, call in zip(names, calls, strict=True))
        # a source a tuple of known sources leaves out is not read at all (one of the project's may read it)
        ranks = Ranks(
            None,
            names.index(env_name) if env_name in names else (None if known else len(items)),
            names.index(dotenv_name) if dotenv_name in names else (None if known else len(items) + 1),
        )
        found = []
        for at, call in enumerate(calls):
            kind = _file_kind(call)
            if kind is None or not isinstance(call, ast.Call):
                continue
            given = keyword(call, f"{kind}_file") or (call.args[1] if len(call.args) > 1 else None)
            frame = self.ev.flow.frame_at(func, Frame(method.module, scope=func), call)
            name = path_text(self.ev.force(self.ev.eval(given, frame))) if given is not None else None
            name = name or path_text(config.get(f"{kind}_file"))
            path = self.environment.file_for(method.module, name) if name else None
            document = self._document(kind, path) if path is not None else None
            if document is not None:
                found.append((document, at))
        return found, ranks

    def _document(self, kind: str, path: Path) -> Any:
        text = read_text(path)
        if text is None:
            return None
        project = self.ev.project
        where = shown_at(project, path, 1)
        if kind == "yaml":
            return yaml_document(project, text, path, where)
        try:
            loaded = json.loads(text) if kind == "json" else tomllib.loads(text)
        except ValueError:
            return None
        return plain_document(project, loaded, text, path, where)


def _expanded(item: ast.expr) -> list[ast.expr]:
    """`*super().settings_customise_sources(...)`: pydantic-settings' own sources, in its order, in its place."""
    call = item.value if isinstance(item, ast.Starred) else None
    if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == CUSTOMISE:
        return [
            ast.Name(name, ast.Load()) for name in ("init_settings", ENV_SOURCE, DOTENV_SOURCE, "file_secret_settings")
        ]
    return [item]


def _lookup(document: Any, path: list[str]) -> Any:
    found = document
    for name in path:
        found = found.items.get(name) if isinstance(found, DictV) else None
    return found


def _file_kind(call: ast.expr | None) -> str | None:
    """ "yaml", "toml" or "json" for a call of pydantic-settings' file source of that kind."""
    return FILE_SOURCES.get((dotted_parts(call.func) or [""])[-1]) if isinstance(call, ast.Call) else None


def first_source(
    variables: list[tuple[int | None, tuple[str, str] | None]],
    file: tuple[int | None, SV | None],
    env_name: str | None,
) -> SV | None:
    """The value of the first source in the tuple that has one: a variable the process or an env file sets
    (`(its place, (value, from))`), or a file source's value; a source of no place is not read."""
    found = [(rank, SV(v[0], v[1], env_name, source=v[0])) for rank, v in variables if v and rank is not None]
    rank, value = file
    if value is not None and rank is not None:
        found.append((rank, replace(value, env=env_name)))
    return min(found, key=lambda ranked: ranked[0])[1] if found else None


def case_sensitive(config: dict[str, Any]) -> bool:
    """model_config's `case_sensitive`, where it sets it."""
    value = config.get("case_sensitive")
    return isinstance(value, SV) and value.known and bool(value.value)


def delimiter_of(config: dict[str, Any]) -> str | None:
    """model_config's `env_nested_delimiter`, where it sets one."""
    value = config.get("env_nested_delimiter")
    return str(value.value) if isinstance(value, SV) and value.known and value.value else None
