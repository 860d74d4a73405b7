"""dynaconf's own settings object (`Dynaconf(settings_files=[...])`, outside Django: scan/frameworks.py reads the
Django one): the keys its TOML, YAML and JSON files give, each named by the variable that overrides it.

dynaconf 3.3, read in its source: keys are upper-cased (`settings.db_url` is `settings.DB_URL`); with
`environments=True` a file's sections are layered `[default]` (`default_env=`), `[<envvar_prefix>]`, the current
environment (`env=`, else the switcher variable `ENV_FOR_DYNACONF`, else DEVELOPMENT) and `[global]`, later ones
winning (utils.build_env_list), else its top-level keys are the settings; each file's `.local` twin is read after
it (loaders.settings_loader); a variable `<envvar_prefix>_<KEY>` (`DYNACONF_` by default, the bare name with
`envvar_prefix=False`, none with None; a table's key `..._<KEY>__<SUB>`) overrides a key after the files.
dynaconf looks for a file from the folders of the program and of the working directory up (utils/files.find_file):
the scan takes the one the tree holds in one such place only. `settings.KEY` (or `.key`) and
`settings.get("KEY", default)` are read; a key no file gives is unknown (another loader may set it), or `get`'s
default; a file of the tree the scan cannot read (`.py`, `.ini`) may set any key.
"""

from __future__ import annotations

import ast
import json
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pool_doctor.scan.environment import Environment
from pool_doctor.scan.files import ConfigFiles, FileV, path_text
from pool_doctor.scan.kinds import SV, DictV, Frame, HolderV, Interpreter, ListV, is_known, unknown
from pool_doctor.scan.textfiles import read_text

HOLDER = "dynaconf.Dynaconf"
MAKERS = ("dynaconf.Dynaconf", "dynaconf.LazySettings", "dynaconf.base.LazySettings")
READS = {"get", "get_fresh"}  # `settings.get("KEY", default)`
SECTION = re.compile(r"^\s*\[\s*([^\]\s]+)\s*\]")
FOR = "_FOR_DYNACONF"  # the suffix of dynaconf's own settings' upper-case names
PREFIX = "<envvar_prefix>"  # where the holder keeps the prefix its variables have (not an attribute name)


def calls(ev: Interpreter, files: ConfigFiles, environment: Environment) -> dict[str, Callable[[ast.Call, Frame], Any]]:
    def made(node: ast.Call, frame: Frame) -> Any:
        return settings(ev, files, environment, node, frame)

    return dict.fromkeys(MAKERS, made)


def settings(ev: Interpreter, files: ConfigFiles, environment: Environment, node: ast.Call, frame: Frame) -> Any:
    def given(name: str) -> Any:  # `envvar_prefix=`, `ENVVAR_PREFIX=` or `ENVVAR_PREFIX_FOR_DYNACONF=` (dynaconf
        upper = name.upper()  # 3.2's normalize_kwargs: `f"{key.upper()}_FOR_DYNACONF"` if it is one of its own)
        spelled = [kw.arg for kw in node.keywords if kw.arg and (kw.arg.upper() == upper or kw.arg == upper + FOR)]
        value = ev.arg(node, frame, None, spelled[-1]) if spelled else None
        return ev.force(value) if value is not None else None

    prefix = given("envvar_prefix")
    if prefix is not None and not is_known(prefix):
        return unknown(frame.module, node)
    # no prefix given: DYNACONF_; False: the bare name; None: no variable at all
    prefix_text = "DYNACONF" if prefix is None else (str(prefix.value) if prefix.value else "")
    named = prefix is None or prefix.value is not None
    layers = _layers(given, environment, prefix_text, frame, node)
    if layers is False:
        return unknown(frame.module, node)
    keys: dict[str, Any] = {}
    for path in _files(files, frame, _names(ev, given("settings_files") or given("settings_file"))):
        read = _read(path)
        if read is None:  # a file of the tree the scan cannot read (a .py, an .ini) may set any key
            shown = files.shown(path, 0).rsplit(":", 1)[0]
            keys = {key: unknown(frame.module, node, why=f"{key}, or {shown}'s") for key in keys}
            continue
        for key, (value, line) in _layered(read, layers if isinstance(layers, list) else None).items():
            keys[key.upper()] = _valued(value, files.shown(path, line), read[1], line)
    for key, value in list(keys.items()):
        keys[key] = keys[key.lower()] = _named(environment, prefix_text, key, value, frame, node) if named else value
    keys[PREFIX] = SV(prefix_text if named else None, None)
    return HolderV(HOLDER, keys, {name: () for name in READS})  # (its reads: `read`, through scan/calls.py)


def _layers(
    given: Callable[[str], Any], environment: Environment, prefix: str, frame: Frame, node: ast.Call
) -> list[str] | bool | None:
    """The sections a file's settings come from, in order (None: its top-level keys; False: cannot tell). The
    current environment is `env=`, else the switcher's variable (`env_switcher=`, `ENV_FOR_DYNACONF`), else
    DEVELOPMENT; `default_env=` renames [default]."""
    layered = given("environments")
    if layered is None or (is_known(layered) and not layered.value):
        return None
    if not is_known(layered) or not isinstance(layered.value, bool):
        return False  # (a list of environments: the sections it allows)
    texts = {name: given(name) for name in ("env", "env_switcher", "default_env", "force_env")}
    if any(value is not None and not is_known(value) for value in texts.values()):
        return False
    switcher = str(texts["env_switcher"].value) if texts["env_switcher"] else "ENV_FOR_DYNACONF"
    chosen = texts["force_env"] or texts["env"]
    current = chosen or environment.lookup(switcher, SV("DEVELOPMENT", None), frame, node)
    if not is_known(current):
        return False
    default = str(texts["default_env"].value) if texts["default_env"] else "default"
    return [default.lower(), (prefix or "dynaconf").lower(), str(current.value).lower(), "global"]


def _files(files: ConfigFiles, frame: Frame, names: list[str]) -> list[Path]:
    """Each settings file (and the `.local` one beside it, which dynaconf reads after it) the tree holds. dynaconf
    looks from the folder of the program it runs and of the working directory up, in each a `config/` too: the
    scan takes the file the tree holds in one such place only (the scanned folder's, its `config/`, the calling
    module's folder or one above it); where two differ, which one is read depends on where the app is started."""
    found = []
    for text in names:
        places = {files.resolve(frame.module, text), files.resolve(frame.module, f"config/{text}")}
        places |= {p for p in (files.project.base / text, files.project.base / "config" / text) if p.is_file()}
        base = files.project.base.resolve()  # (a file outside the scanned tree is the deployment's, not read)
        distinct = {p.resolve() for p in places if p is not None and p.resolve().is_relative_to(base)}
        if len(distinct) == 1:
            path = distinct.pop()
            local = path.with_name(f"{path.stem}.local{path.suffix}")
            found += [path, local] if local.is_file() else [path]
    return found


def read(ev: Interpreter, environment: Environment, holder: HolderV, node: ast.Call, frame: Frame) -> Any:
    """`settings.get("KEY", default)`: the key's value, else the default (its variable may set it), else unknown."""
    key = ev.force(ev.arg(node, frame, 0, "key"))
    if not (is_known(key) and isinstance(key.value, str)):
        return unknown(frame.module, node)
    parts = key.value.split(".")  # (a dotted key reads into a table: `settings.get("postgres.sslmode")`)
    found = holder.attrs.get(parts[0].upper())
    for part in parts[1:]:
        if isinstance(found, SV) and not found.known:
            return unknown(frame.module, node, why=found.expr)  # (a table a file it cannot read may set)
        items = {k.lower(): v for k, v in found.items.items()} if isinstance(found, DictV) else {}
        found = ev.force(items.get(part.lower())) if items.get(part.lower()) is not None else None
    if found is not None:
        return found
    default = ev.arg(node, frame, 1, "default")
    if default is None:
        return unknown(frame.module, node)
    prefix = holder.attrs[PREFIX].value
    named = "__".join(part.upper() for part in parts)  # (a table's key's variable: `PREFIX_POSTGRES__SSLMODE`)
    return _named(environment, prefix, named, default, frame, node) if prefix is not None else default


def _named(environment: Environment, prefix: str, key: str, value: Any, frame: Frame, node: ast.AST) -> Any:
    """A key as its variable (`DYNACONF_KEY`) leaves it: the files' value, named by it; a table's keys each by
    theirs (`DYNACONF_DATABASE__URL`)."""
    name = f"{prefix}_{key}" if prefix else key
    if isinstance(value, DictV):
        items = {k: _named(environment, name, f"_{k.upper()}", v, frame, node) for k, v in value.items.items()}
        return DictV(items, value.origin)
    return environment.lookup(name, value, frame, node)


def _names(ev: Interpreter, value: Any) -> list[str]:
    """settings_files as given: a list (of texts or paths: `Path(__file__).parent / "settings.yaml"`), or a text of
    names separated by commas or semicolons."""
    if isinstance(value, ListV):
        return [name for item in value.items if (name := _path_of(ev.force(item))) is not None]
    if is_known(value) and isinstance(value.value, str):
        return [name.strip() for name in re.split(r"[,;]", value.value) if name.strip()]
    return []


def _path_of(value: Any) -> str | None:
    if isinstance(value, FileV):
        return str(value.path) if value.path is not None else None
    return path_text(value)


def _read(path: Path) -> tuple[dict[str, Any], list[str]] | None:
    text = read_text(path)
    if text is None:
        return None
    try:
        if path.suffix == ".toml":
            document = tomllib.loads(text)
        elif path.suffix == ".json":
            document = json.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            import yaml  # (PyYAML: the app's dependency; absent here, the file is not read)

            document = yaml.safe_load(text)
        else:
            return None
    except Exception:
        return None
    return (document, text.splitlines()) if isinstance(document, dict) else None


def _layered(read: tuple[dict[str, Any], list[str]], layers: list[str] | None) -> dict[str, tuple[Any, int]]:
    """The settings a file gives, each with its line: its top-level keys, or its sections in `layers`' order."""
    document, lines = read
    if layers is None:
        return {key: (value, _line(lines, None, key)) for key, value in document.items()}
    sections = {str(name).lower(): value for name, value in document.items() if isinstance(value, dict)}
    found: dict[str, tuple[Any, int]] = {}
    for layer in layers:
        for key, value in sections.get(layer, {}).items():
            found[key.upper()] = (value, _line(lines, layer, key))
    return found


def _line(lines: list[str], section: str | None, key: str) -> int:
    """The line a key is written on (in a TOML or YAML section when `section`), or 0."""
    inside = section is None
    for number, line in enumerate(lines, 1):
        header = SECTION.match(line)
        if header is not None:
            inside = section is not None and header.group(1).lower() == section
        elif section is not None and line and not line[0].isspace() and line.rstrip().endswith(":"):
            inside = line.rstrip()[:-1].strip().strip("'\"").lower() == section  # a YAML section
        elif inside and _writes(line, key):
            return number
    return 0


def _valued(value: Any, where: str, lines: list[str], line: int) -> Any:
    """A file's value with its origin; a table's keys each at their own line (the first after the table's)."""
    if isinstance(value, dict):
        items = {}
        for key, item in value.items():
            at = next((n for n, text in enumerate(lines[line:], line + 1) if _writes(text, str(key))), line)
            items[str(key)] = _valued(item, f"{where.rsplit(':', 1)[0]}:{at}", lines, at)
        return DictV(items, where)
    if isinstance(value, list):
        return ListV([_valued(v, where, lines, line) for v in value], where)
    if not isinstance(value, (str, int, float, bool, type(None))):
        value = str(value)
    if isinstance(value, str) and value.startswith("@"):  # `@format {env[X]}`, `@int 5`: worked out when read
        return SV(None, where, known=False, expr=value)
    return SV(value, where, source=json.dumps(value) if not isinstance(value, str) else value)


def _writes(line: str, key: str) -> bool:
    return re.match(rf"\s*['\"]?{re.escape(key)}['\"]?\s*[:=]", line, re.IGNORECASE) is not None
