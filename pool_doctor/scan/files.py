"""Files the code reads its configuration from: ini and cfg through `configparser`, YAML, JSON and TOML, at paths
built with `os.path` or `pathlib` (`Path(__file__).parent / "config.ini"`).

Only files inside the scanned tree are read (a path outside it, or one the scan cannot work out, gives unknown
values); each value carries its `file:line`. A relative path is looked for beside the module, then in each
folder above it up to the scan root, as the app is usually run from its project folder.
"""

from __future__ import annotations

import ast
import json
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from pool_doctor.scan import kinds
from pool_doctor.scan.conditions import ENV_READS
from pool_doctor.scan.containers import dict_items, lift
from pool_doctor.scan.finder import Module, Project
from pool_doctor.scan.interpolation import Option, find, interpolate, interpolate_extended, merge_ini, unfilled
from pool_doctor.scan.kinds import SV, Branches, DictV, Frame, Interpreter, ListV, env_of, is_known, positional, unknown
from pool_doctor.scan.model import NOT_SET
from pool_doctor.scan.textfiles import read_text
from pool_doctor.scan.yamls import shown_at, yaml_document

PARSER_READS = ("get", "getint", "getfloat", "getboolean")  # a parser's (or a section's) option reads
TEMPLATE = re.compile(r"\{[A-Za-z_]\w*\}")  # a str.format placeholder: `{db_url}`
FILLED_LATER = ", a template filled at run time"  # an option with str.format placeholders, as read
BOOLEAN_STATES = {word: True for word in ("1", "yes", "true", "on")} | {w: False for w in ("0", "no", "false", "off")}
PARSERS = ("ConfigParser", "RawConfigParser", "SafeConfigParser")
PARSER_CLASSES = {f"{lib}.{name}" for lib in ("configparser", "ConfigParser") for name in PARSERS}  # (Python 2's)


@dataclass(frozen=True)
class PathV:
    """A `pathlib.Path` the scan can name; `cwd`: made absolute from the working directory (`.resolve()` of a
    relative one), so a file it names is looked for as a relative one is, but its text is known at run time only."""

    path: str
    origin: str | None
    cwd: bool = False
    env: str | None = None  # the variable that gives (a part of) it: `Path(os.environ.get("DATA", "/srv"))`


@dataclass(frozen=True)
class FileV:
    """An open file (or its path, read whole by a loader)."""

    path: Path | None
    shown: str


@dataclass(frozen=True)
class ParserV:
    """A `configparser.ConfigParser` and the sections the files it read give (option names as written)."""

    sections: dict[str, dict[str, Option]] = field(default_factory=dict)
    read: tuple[str, ...] = ()  # files named to read, found or not, as shown
    interpolation: str = "basic"  # "basic" (%(x)s), "extended" (${x}, ${section:x}), "none", or "custom"
    env_by_option: bool = False  # an empty option is the variable of its name (a project Interpolation reads it)
    opaque: bool = False  # what it reads is not in sight: whether an option is there is unknown
    set_by_code: tuple[tuple[str, str, Any], ...] = ()  # (section, option, value) the code sets, unknown ones too


@dataclass(frozen=True)
class SectionV:
    parser: ParserV
    name: str


class ConfigFiles:
    def __init__(self, ev: Interpreter, project: Project) -> None:
        self.ev = ev
        self.project = project

    def calls(self) -> dict[str, Callable[[ast.Call, Frame], Any]]:
        """The library calls read here, by dotted name."""
        calls: dict[str, Callable[[ast.Call, Frame], Any]] = {
            "builtins.open": self.open_call,
            "io.open": self.open_call,
            "pathlib.Path": self.path_call,
            "pathlib.PurePath": self.path_call,
            **{f"yaml.{name}": partial(self.load_call, "yaml") for name in ("safe_load", "load", "full_load")},
            **{f"json.{name}": partial(self.load_call, "json") for name in ("load", "loads")},
            **{
                f"{lib}.{name}": partial(self.load_call, "toml")
                for lib in ("tomllib", "tomli", "toml", "tomlkit")
                for name in ("load", "loads")
            },
            "toml.load": partial(self.load_call, "toml", by_path=True),  # (the toml package's takes a path too)
            "tomlkit.parse": partial(self.load_call, "toml"),
        }
        for name in ("join", "dirname", "abspath", "realpath", "normpath", "basename", "expanduser", "expandvars"):
            calls[f"os.path.{name}"] = self.os_path
        for dotted in PARSER_CLASSES:  # (atmcraft's `from ConfigParser import SafeConfigParser`)
            calls[dotted] = self.parser_call
        return calls

    def owns(self, value: Any) -> bool:
        return isinstance(value, (PathV, FileV, ParserV, SectionV))

    def truth(self, value: Any) -> bool | None:
        if isinstance(value, SectionV):
            return bool(self._section(value))
        return True if self.owns(value) else None

    def mutator(self, method: str) -> bool:
        return method in ("read", "read_file", "read_string", "read_dict", "set")

    # --- paths ----------------------------------------------------------------------------------------

    def os_path(self, node: ast.Call, frame: Frame) -> Any:
        name = _called(node)
        if name == "expandvars" and len(node.args) == 1:  # (of each branch's text)
            return lift(self.ev, [self.ev.eval(node.args[0], frame)], partial(_expandvars, node, frame))
        parts = positional(self.ev, node, frame) or []
        texts = [path_text(p) for p in parts]
        if not parts or any(t is None for t in texts):
            return unknown(frame.module, node, env=env_of(*parts))
        first, rest = texts[0], texts[1:]
        assert first is not None
        if name == "expanduser" and first.startswith("~"):  # the home directory of whoever runs it
            return unknown(frame.module, node, env=env_of(*parts))
        if name == "join":
            result = os.path.join(first, *(t for t in rest if t is not None))
        elif name == "dirname":
            result = os.path.dirname(first)
        elif name == "basename":
            result = os.path.basename(first)
        elif name in ("abspath", "realpath", "normpath"):
            result = os.path.normpath(first) if os.path.isabs(first) or name != "normpath" else first
        else:
            result = first
        cwd = getattr(parts[0], "cwd", False) or (name in ("abspath", "realpath") and not os.path.isabs(first))
        if cwd and name != "basename":  # (the working directory's: a file it names is looked for, its text unknown)
            return PathV(result, frame.module.where(node), cwd=True)
        return SV(result, frame.module.where(node), env_of(*parts), source=frame.module.segment(node))

    def path_call(self, node: ast.Call, frame: Frame) -> Any:
        given = positional(self.ev, node, frame)  # (each side of a test: KoalaBot's `X = X or "/config"`)
        return unknown(frame.module, node) if given is None else lift(self.ev, given, partial(self._path, node, frame))

    def _path(self, node: ast.Call, frame: Frame, *parts: Any) -> Any:
        texts = [path_text(p) for p in parts]
        if any(t is None for t in texts):
            return unknown(frame.module, node, env=env_of(*parts))
        joined = os.path.join(*(t for t in texts if t is not None)) if texts else "."
        return PathV(joined, frame.module.where(node), env=env_of(*parts))

    def binop(self, left: Any, op: ast.operator, right: Any, node: ast.AST, module: Module) -> Any:
        if isinstance(op, ast.Div) and isinstance(left, PathV):
            text = path_text(right)
            if not text:
                return unknown(module, node)
            return PathV(os.path.join(left.path, text), left.origin, left.cwd, left.env or env_of(right))
        return None

    def attribute(self, base: Any, attr: str, node: ast.AST | None, frame: Frame) -> Any:
        if isinstance(base, PathV):
            path = Path(base.path)
            if attr == "parent":
                return PathV(str(path.parent), base.origin, base.cwd, base.env)
            if attr == "parents":
                return ListV([PathV(str(p), base.origin, base.cwd, base.env) for p in path.parents], base.origin)
            if attr in ("name", "stem", "suffix"):
                return SV(getattr(path, attr), base.origin, base.env)
        if attr == "format" and template_of(base) is not None:  # (the code's own `.format(**params)` fills it)
            return kinds.MethodRef(base, attr)
        return None

    def subscript(self, base: Any, key: Any, node: ast.AST, frame: Frame) -> Any:
        if isinstance(base, ParserV) and is_known(key):
            return SectionV(base, str(key.value))
        if isinstance(base, SectionV) and is_known(key):
            return self.option(base.parser, base.name, str(key.value), None, None, frame, node)
        return None

    def as_text(self, value: Any, node: ast.AST, frame: Frame) -> Any:
        if isinstance(value, PathV):
            return SV(value.path, frame.module.where(node), value.env)
        return unknown(frame.module, node)

    def resolve(self, module: Module, text: str) -> Path | None:
        """The file a path in the code names, when it is inside the scanned tree."""
        project = module.path.parent
        base = self._base(module)
        candidate = Path(text)
        if candidate.is_absolute():
            found = candidate if candidate.is_file() else None
        else:
            found = None
            current = project
            while True:
                if (current / text).is_file():
                    found = current / text
                    break
                if current == base or base not in current.parents:
                    break
                current = current.parent
        if found is None:
            return None
        found = Path(os.path.normpath(found))
        return found if base == found.parent or base in found.parents else None

    def _base(self, module: Module) -> Path:
        return self.project.base

    # --- files and loaders -----------------------------------------------------------------------------

    def open_call(self, node: ast.Call, frame: Frame) -> Any:
        name = self.ev.force(self.ev.eval(node.args[0], frame)) if node.args else None
        text = path_text(name)
        if text is None:
            return unknown(frame.module, node)
        return FileV(self.resolve(frame.module, text), text)

    def call_method(self, base: Any, name: str, node: ast.Call, frame: Frame) -> Any:
        if isinstance(base, PathV):
            if name == "expanduser" and base.path.startswith("~"):
                return unknown(frame.module, node)
            if name == "resolve":  # (`Path(__file__) / ".." / "settings"`: its `..` taken away; a relative path is
                return PathV(os.path.normpath(base.path), base.origin, not os.path.isabs(base.path))  # the cwd's)
            if name in ("absolute", "expanduser"):
                return base
            if name == "joinpath":
                parts = [path_text(self.ev.force(self.ev.eval(a, frame))) for a in node.args]
                if any(p is None for p in parts):
                    return unknown(frame.module, node)
                return PathV(os.path.join(base.path, *(p for p in parts if p is not None)), base.origin, base.cwd)
            if name in ("open", "read_text", "read_bytes"):
                opened = FileV(self.resolve(frame.module, base.path), base.path)
                return opened if name == "open" else self.text_of(opened, frame, node)
        if isinstance(base, FileV) and name == "read":
            return self.text_of(base, frame, node)
        if isinstance(base, ParserV):
            return self.parser_method(base, name, node, frame)
        if isinstance(base, SectionV):
            return self.section_method(base, name, node, frame)
        return unknown(frame.module, node)

    def text_of(self, file: FileV, frame: Frame, node: ast.AST) -> Any:
        data = read_text(file.path)
        if data is None:
            return unknown(frame.module, node, why=f"{file.shown} (not in the scanned tree)")
        return SV(data, self.shown(file.path, 1))

    def load_call(self, loader: str, node: ast.Call, frame: Frame, by_path: bool = False) -> Any:
        """yaml.safe_load / json.load / tomllib.load of a file (or of its text; `by_path`: or of a path, as
        toml.load takes one): the document, each value with its file:line."""
        if not node.args:
            return unknown(frame.module, node)
        source = self.ev.force(self.ev.eval(node.args[0], frame))
        if by_path and not isinstance(source, FileV) and path_text(source) is not None:
            source = self.open_call(node, frame)
        if isinstance(source, FileV):
            text, path = read_text(source.path), source.path
        elif is_known(source) and isinstance(source.value, str) and source.from_:
            text, path = source.value, None
        else:
            return unknown(frame.module, node)
        if text is None:
            why = source.shown if isinstance(source, FileV) else None
            return unknown(frame.module, node, why=f"{why} (not in the scanned tree)" if why else None)
        try:
            if loader == "yaml":
                return self._yaml_document(text, path, frame, node)
            document = json.loads(text) if loader == "json" else tomllib.loads(text)
        except Exception:
            return unknown(frame.module, node, why="a file that does not parse")
        if document in ({}, []) and isinstance(source, SV) and source.env:  # `json.loads(os.getenv("X") or "{}")`
            return SV(document, source.from_, source.env, source=source.source)
        return plain_document(self.project, document, text, path, frame.module.where(node))

    def _yaml_document(self, text: str, path: Path | None, frame: Frame, node: ast.AST) -> Any:
        document = yaml_document(self.project, text, path, frame.module.where(node))
        return document if document is not None else unknown(frame.module, node, why="a YAML file it cannot read")

    def shown(self, path: Path | None, line: int) -> str:
        return shown_at(self.project, path, line)

    # --- configparser ---------------------------------------------------------------------------------

    def parser_call(self, node: ast.Call, frame: Frame) -> Any:
        given = next((kw for kw in node.keywords if kw.arg == "interpolation"), None)
        interpolation = given.value if given is not None else None
        if given is None:
            kind = "none" if _called(node) == "RawConfigParser" else "basic"
        elif isinstance(interpolation, ast.Constant) and interpolation.value is None:
            kind = "none"
        elif isinstance(interpolation, ast.Call):
            name = ast.unparse(interpolation.func).rsplit(".", 1)[-1]
            kind = {"BasicInterpolation": "basic", "ExtendedInterpolation": "extended"}.get(name, "custom")
        else:
            kind = "custom"
        sections: dict[str, dict[str, Option]] = {}
        defaults = self.ev.force(self.ev.arg(node, frame, 0, "defaults"))
        if isinstance(defaults, DictV):  # ConfigParser(defaults={...}): every section's, under the files'
            known = {key: self.ev.force(value) for key, value in defaults.items.items()}
            sections["DEFAULT"] = {k: (str(v.value), v.from_ or "?") for k, v in known.items() if is_known(v)}
        return ParserV(sections, interpolation=kind, env_by_option=self._reads_env(interpolation, frame))

    def _reads_env(self, interpolation: ast.expr | None, frame: Frame) -> bool:
        """A project Interpolation whose methods read the variable named as the option (`os.getenv(option)`):
        an option left empty in the file is then the environment's to give."""
        if interpolation is None:
            return False
        value = self.ev.force(self.ev.eval(interpolation, frame))
        cls = getattr(value, "cls", None)
        node = getattr(cls, "node", None)
        if not isinstance(node, ast.ClassDef):
            return False
        return any(
            isinstance(call, ast.Call)
            and ast.unparse(call.func) in ENV_READS
            and any(isinstance(arg, ast.Name) and arg.id == "option" for arg in call.args)
            for call in ast.walk(node)
        )

    @staticmethod
    def unread_parser(what: str) -> ParserV:
        return ParserV(read=(what,), opaque=True)

    def mutated(self, base: Any, method: str, call: ast.Call, frame: Frame) -> Any:
        if not isinstance(base, ParserV):
            return base
        sections = {name: dict(options) for name, options in base.sections.items()}
        read, opaque = list(base.read), base.opaque
        if method in ("read", "read_file") and call.args:
            value = self.ev.force(self.ev.eval(call.args[0], frame))
            values = value.items if isinstance(value, ListV) else [value]
            unnamed = [not isinstance(f := self.ev.force(i), FileV) and path_text(f) is None for i in values]
            if values and all(unnamed):  # only files the run names (atmcraft's command-line argument): any option
                read, opaque = [*read, *(getattr(self.ev.force(i), "expr", None) or "?" for i in values)], True
            for item in values:  # (one beside files it names is an optional override: `~/.app.ini`, ignored)
                item = self.ev.force(item)
                if isinstance(item, FileV):
                    path, shown = item.path, item.shown
                else:
                    text = path_text(item)
                    if text is None:
                        continue
                    path, shown = self.resolve(frame.module, text), text
                read.append(shown)
                data = read_text(path)
                if data is not None and path is not None:
                    merge_ini(sections, data, self.shown(path, 0).rsplit(":", 1)[0])
        elif method == "read_string" and call.args:
            value = self.ev.force(self.ev.eval(call.args[0], frame))
            if is_known(value) and isinstance(value.value, str):
                merge_ini(sections, value.value, (value.from_ or "?").rsplit(":", 1)[0])
        elif method == "read_dict" and call.args:
            value = self.ev.force(self.ev.eval(call.args[0], frame))
            if isinstance(value, DictV):
                for section, options in value.items.items():
                    options = self.ev.force(options)
                    if isinstance(options, DictV):
                        for key, item in options.items.items():
                            item = self.ev.force(item)
                            if is_known(item):
                                sections.setdefault(section, {})[key] = (str(item.value), item.from_ or "?")
        elif method == "set" and len(call.args) == 3:
            section, option, item = (self.ev.force(self.ev.eval(a, frame)) for a in call.args)
            if is_known(section) and is_known(option) and is_known(item):
                sections.setdefault(str(section.value), {})[str(option.value)] = (str(item.value), item.from_ or "?")
            elif is_known(section) and is_known(option):  # a value only the run knows: what get() gives
                return replace(
                    base, read=tuple(read), set_by_code=(*base.set_by_code, (section.value, option.value, item))
                )
            else:  # an option the scan cannot name (a loop over the options): any of them may be this
                anyone = unknown(frame.module, call, env=env_of(item))
                return replace(base, read=tuple(read), set_by_code=(*base.set_by_code, ("*", "*", anyone)))
        return replace(base, sections=sections, read=tuple(read), opaque=opaque)

    def parser_method(self, parser: ParserV, name: str, node: ast.Call, frame: Frame, also: str = "fallback") -> Any:
        """`also`: the keyword a project subclass's own get() takes as its fallback (Tryton's `default=`)."""
        if name in PARSER_READS and len(node.args) >= 2:
            section, option = (self.ev.force(self.ev.eval(a, frame)) for a in node.args[:2])
            if not (is_known(section) and is_known(option)):
                return unknown(frame.module, node)
            fallback = next((kw.value for kw in node.keywords if kw.arg in ("fallback", also)), None)
            found = self.option(parser, str(section.value), str(option.value), name, fallback, frame, node)
            picked = section.env or option.env  # (`config.get(env, "DSN")`, a section a variable picks: `ENV`)
            return replace(found, env=picked) if picked and isinstance(found, SV) and not found.env else found
        if name in ("has_section", "has_option"):
            keys = [self.ev.force(self.ev.eval(a, frame)) for a in node.args]
            if not all(is_known(k) for k in keys) or not keys or parser.opaque:
                return unknown(frame.module, node)
            section = find(parser.sections, str(keys[0].value))
            if name == "has_section" or section is None:
                return SV(section is not None, frame.module.where(node))
            return SV(len(keys) > 1 and find(section, str(keys[1].value)) is not None, frame.module.where(node))
        if name == "items" and node.args:  # [(option, value), ...]
            section = self.ev.force(self.ev.eval(node.args[0], frame))
            if is_known(section):
                made = self.section_dict(SectionV(parser, str(section.value)), frame, node)
                return dict_items(made) if not made.opaque else unknown(frame.module, node, why=made.opaque[0])
        return unknown(frame.module, node)

    def section_method(self, section: SectionV, name: str, node: ast.Call, frame: Frame) -> Any:
        if name in PARSER_READS and node.args:
            option = self.ev.force(self.ev.eval(node.args[0], frame))
            if not is_known(option):
                return unknown(frame.module, node)
            fallback = node.args[1] if len(node.args) > 1 else None
            fallback = next((kw.value for kw in node.keywords if kw.arg in ("fallback", "default")), fallback)
            cast = None if name == "get" else name
            return self.option(section.parser, section.name, str(option.value), cast, fallback, frame, node, True)
        if name in ("items", "copy"):
            return self.section_dict(section, frame, node)
        return unknown(frame.module, node)

    def option(
        self,
        parser: ParserV,
        section: str,
        option: str,
        cast: str | None,
        fallback: ast.expr | None,
        frame: Frame,
        node: ast.AST,
        none_default: bool = False,
    ) -> Any:
        options = self._section(SectionV(parser, section))
        found = find(options, option)
        given = _set_by_code(parser, section, option)
        if isinstance(given, Branches):  # set on one side of an `if`: the file's value on the other
            rest = tuple(entry for entry in parser.set_by_code if entry[2] is not given)
            found_value = self.option(replace(parser, set_by_code=rest), section, option, cast, fallback, frame, node)
            return _filled(given, found_value)
        if given is not None and not is_known(given):
            return given
        if found is None:
            if fallback is not None:
                return self.ev.force(self.ev.eval(fallback, frame))
            if none_default:  # a section proxy's get() with no default: None
                return SV(None, frame.module.where(node))
            return unknown(frame.module, node, why=f"[{section}] {option} (not in {_files_read(parser)})")
        raw, where = found
        basic = parser.interpolation == "basic"
        if basic and (late := unfilled(section, option, raw, where, options, _given(parser, section))) is not None:
            return late
        if basic:
            raw = interpolate(raw, options)
        elif parser.interpolation == "extended":
            raw = interpolate_extended(raw, options, parser.sections)
        elif parser.interpolation == "custom" and ("%" in raw or "$" in raw):  # the project's own rules
            return unknown(frame.module, node, why=f"[{section}] {option} = {raw}, through the parser's interpolation")
        if TEMPLATE.search(raw):
            return _as_written(section, option, raw, where)
        env = option if parser.env_by_option and raw == "" else None
        value = SV(raw, where, env, source=raw)
        if cast == "getint":
            return _cast(value, int, frame, node)
        if cast == "getfloat":
            return _cast(value, float, frame, node)
        if cast == "getboolean":
            word = BOOLEAN_STATES.get(raw.strip().lower())
            return SV(word, where, source=raw) if word is not None else unknown(frame.module, node)
        return value

    def _section(self, section: SectionV) -> dict[str, Option]:
        found = find(section.parser.sections, section.name) or {}
        defaults = find(section.parser.sections, "DEFAULT") or {}
        given = {
            o: (str(v.value), v.from_ or "?")
            for s, o, v in section.parser.set_by_code
            if s == section.name and is_known(v)
        }
        return {**defaults, **found, **given}

    def as_mapping(self, value: Any) -> Any:
        """A section proxy where a dict is wanted (`dict(parser["app:main"])`, `**section`): its options."""
        return self.section_dict(value, None, None) if isinstance(value, SectionV) else value

    def section_dict(self, section: SectionV, frame: Frame | None, node: ast.AST | None) -> DictV:
        options = self._section(section)
        by_env = section.parser.env_by_option  # an empty option is its variable's (a project Interpolation)
        given = _given(section.parser, section.name)
        items: dict[str, Any] = {}
        basic = section.parser.interpolation == "basic"  # items() fills `%(name)s` as get() does
        for key, (raw, where) in options.items():
            late = unfilled(section.name, key, raw, where, options, given) if basic else None
            text = interpolate(raw, options) if basic else raw
            items[key] = late or _as_written(section.name, key, text, where, key if by_env and raw == "" else None)
        for name, option, value in section.parser.set_by_code:
            if name == section.name:
                items[option] = _filled(value, items.get(option))  # with its variable, or unknown: as given
        made = DictV(items, frame.module.where(node) if frame is not None and node is not None else None)
        if find(section.parser.sections, section.name) is None and section.name != "DEFAULT" and not given:
            # configparser raises for a section no file gives: read, it is in a file the scan does not see
            made.opaque.append(f"[{section.name}] (not in {_files_read(section.parser)})")
        elif section.parser.opaque:  # any option may be in a file the scan cannot name
            made.opaque.append(f"[{section.name}] of {_files_read(section.parser)}")
        return made


def _files_read(parser: ParserV) -> str:
    return ", ".join(name for name in parser.read if name) or "no file"  # (`os.environ.get("CONF", "")` gives "")


def _as_written(section: str, option: str, raw: str, where: str, env: str | None = None) -> SV:
    """An option's text (`env`: the variable that replaces it); one holding a str.format placeholder
    (`sqlalchemy.url = {db_url}`) is a template the code fills in at run time, so what it holds then is unknown."""
    if TEMPLATE.search(raw):  # (its text kept: the code's own `.format(**params)` fills it, calls.py)
        return SV(None, where, known=False, expr=f"[{section}] {option} = {raw}{FILLED_LATER}", source=raw)
    return SV(raw, where, env, source=raw)


def _called(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def template_of(value: Any) -> str | None:
    """The text of an option holding str.format placeholders, as _as_written read it (unknown until filled)."""
    filled_later = isinstance(value, SV) and not value.known and (value.expr or "").endswith(FILLED_LATER)
    return value.source if filled_later else None


def path_text(value: Any) -> str | None:
    if isinstance(value, PathV):
        return value.path
    if is_known(value) and isinstance(value.value, str):
        return value.value
    return None


def _filled(value: Any, current: Any) -> Any:
    """A value the code sets on one side of an `if` only: on the other, the file's (`current`)."""
    if not isinstance(value, Branches) or current is None:
        return value
    options = [(when, current if isinstance(o, SV) and o.expr == NOT_SET else o) for when, o in value.options]
    return Branches(options, default=value.default)


def _given(parser: ParserV, section: str) -> dict[str, Any]:
    return {key: value for name, key, value in parser.set_by_code if name == section}


def _set_by_code(parser: ParserV, section: str, option: str) -> Any:
    found = [v for name, key, v in parser.set_by_code if (name, key.lower()) in ((section, option.lower()), ("*", "*"))]
    return found[-1] if found else None


def _cast(value: SV, kind: Callable[[str], Any], frame: Frame, node: ast.AST) -> Any:
    try:
        return SV(kind(str(value.value).strip()), value.from_, value.env, source=value.source)
    except ValueError:
        return unknown(frame.module, node)


def plain_document(
    project: Project, value: Any, text: str, path: Path | None, where: str, depth: int = 0, start: int = 0
) -> Any:
    """A JSON or TOML document as the scan holds one: each key's value at the line the key is written on, looked
    for after where the dict it is in starts (a TOML table's header; a text with no file, or a key not found, at
    `where`)."""
    if isinstance(value, dict) and depth < 20:
        items = {}
        for key, item in value.items():
            at = _place_of(text, str(key), start)
            origin = shown_at(project, path, text.count("\n", 0, at) + 1) if path is not None and at >= 0 else where
            inner = at if at >= 0 else start
            items[str(key)] = plain_document(project, item, text, path, origin, depth + 1, inner)
        return DictV(items, where)
    if isinstance(value, list) and depth < 20:
        return ListV([plain_document(project, v, text, path, where, depth + 1, start) for v in value], where)
    if not isinstance(value, (str, int, float, bool, type(None))):
        value = str(value)
    return SV(value, where)


def _expandvars(node: ast.Call, frame: Frame, value: Any) -> Any:
    """`os.path.expandvars(text)`: a `$NAME` / `${NAME}` of a variable not set stays as written (posixpath's);
    a text with none is itself."""
    if not (is_known(value) and isinstance(value.value, str)):
        return unknown(frame.module, node, env=env_of(value))
    named = re.search(r"\$(\w+|\{([^}]*)\})", value.value)
    if named is None:
        return value
    return SV(value.value, frame.module.where(node), named.group(2) or named.group(1), source=value.value)


def _place_of(text: str, key: str, start: int) -> int:
    """Where a key is written, from `start` on: JSON's `"key"`, TOML's `key =` or a table's `[....key]` header at
    a line's start; -1: nowhere."""
    quoted = text.find(f'"{key}"', start)
    written = re.compile(rf"^[ \t]*(?:{re.escape(key)}[ \t]*=|\[+[^\]\n]*\b{re.escape(key)}[ \t]*\]+)", re.MULTILINE)
    match = written.search(text, start)
    found = [at for at in (quoted, match.start() if match else -1) if at >= 0]
    return min(found) if found else -1
